//! QEMU's ACPI fw_cfg blobs as edk2 2025.02's OVMF measures them into PCR 1 (`OvmfPkg/Library/AcpiPlatformLib/
//! QemuFwCfgAcpi.c`): `etc/table-loader` as downloaded, then every blob the loader's ALLOCATE commands name, in
//! their order, each as downloaded (before the loader patches pointers and checksums), each an
//! `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA" event. With a vTPM QEMU's loader allocates `etc/acpi/rsdp`,
//! `etc/tpm/log` (the TPM2 table's log area) and `etc/acpi/tables`.
//!
//! QEMU rebuilds `etc/acpi/tables` when the firmware first reads it, from the PCI resources the firmware
//! programmed, so the blobs must come from a guest of the same VM booted with the same firmware: a copy of its
//! `/sys/firmware/qemu_fw_cfg/by_name` (kernel module `qemu_fw_cfg`; each file is `<name>/raw`), which
//! [`FwCfgAcpi::read_dir`] reads. Hand-written: a loader command is a fixed 128-byte record (QEMU's
//! `BiosLinkerLoaderEntry`) and no crate reads it.

use std::path::Path;

use yardstick_common::bytes::le32;
use yardstick_common::fs::{InputKind, read_input};

// QEMU's table-loader format (`hw/acpi/bios-linker-loader.c`), also written by `yardstick_tdx::acpi`.

/// The fw_cfg name of the table loader.
pub const LOADER: &str = "etc/table-loader";
/// The fw_cfg name of QEMU's RSDP blob.
pub const RSDP: &str = "etc/acpi/rsdp";
/// The fw_cfg name of QEMU's ACPI tables blob.
pub const TABLES: &str = "etc/acpi/tables";
/// The fw_cfg name of the TPM2 table's log area.
pub const TPM_LOG: &str = "etc/tpm/log";
/// The fw_cfg files a loader may allocate that are modelled (QEMU q35 with or without a vTPM); others (e.g.
/// vmgenid's) are refused.
pub const ALLOCATED: [&str; 3] = [RSDP, TABLES, TPM_LOG];
/// One loader command (`BiosLinkerLoaderEntry`).
pub const COMMAND_LEN: usize = 128;
/// The file-name field of a loader command (`BIOS_LINKER_LOADER_FILESZ`).
pub const FILE_NAME_LEN: usize = 56;
/// `BIOS_LINKER_LOADER_COMMAND_ALLOCATE`.
pub const ALLOCATE: u32 = 1;
/// `BIOS_LINKER_LOADER_COMMAND_ADD_POINTER`.
pub const ADD_POINTER: u32 = 2;
/// `BIOS_LINKER_LOADER_COMMAND_ADD_CHECKSUM`.
pub const ADD_CHECKSUM: u32 = 3;
/// `BIOS_LINKER_LOADER_COMMAND_WRITE_POINTER`.
pub const WRITE_POINTER: u32 = 4;
/// The largest loader read (QEMU's is 4 KiB per 32 commands; bounded like the other ACPI blobs).
const MAX_COMMANDS: usize = 64 * 1024;

/// Why the fw_cfg blobs could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FwCfgError {
    /// A blob could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The loader allocates a blob that is not modelled.
    #[error(
        "{path}: QEMU's table loader allocates {name:?}, which is not modelled (modelled: {modelled})"
    )]
    NotModelled {
        /// The loader file.
        path: std::path::PathBuf,
        /// The blob.
        name: String,
        /// The modelled blobs.
        modelled: String,
    },
    /// The loader is not one QEMU serves.
    #[error("{path}: {why}")]
    Loader {
        /// The loader file.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// The blobs OVMF measures into PCR 1, in measurement order: the loader, then each allocated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwCfgAcpi {
    /// (fw_cfg name, contents), the loader first.
    pub blobs: Vec<(&'static str, Vec<u8>)>,
}

impl FwCfgAcpi {
    /// Reads a copy of a guest's `/sys/firmware/qemu_fw_cfg/by_name` (`cp -rL`: its entries are symbolic
    /// links): `DIR/etc/table-loader/raw`, then the `raw` file of each blob its ALLOCATE commands name, and
    /// replays the checks edk2's first pass over the loader makes, since a loader that
    /// fails them stops OVMF after measuring only some blobs. An unreadable or empty file, a loader that is not
    /// QEMU's or fails those checks, or one allocating a blob outside [`ALLOCATED`], is an error.
    pub fn read_dir(dir: &Path) -> Result<FwCfgAcpi, FwCfgError> {
        let read = |name: &str| {
            let path = dir.join(name).join("raw");
            let data = read_input(&path, InputKind::ACPI_BLOB).map_err(|e| FwCfgError::Read {
                path: path.clone(),
                source: e.into_io(),
            })?;
            if data.is_empty() {
                // OVMF cannot allocate an empty blob and stops there; an empty copy is also what tar makes of
                // sysfs files.
                return Err(FwCfgError::Read {
                    path,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "empty (copy the blobs with cp -rL, as root)",
                    ),
                });
            }
            Ok(data)
        };
        let loader_path = dir.join(LOADER).join("raw");
        let loader = read(LOADER)?;
        let names = allocations(&loader).map_err(|why| FwCfgError::Loader {
            path: loader_path.clone(),
            why,
        })?;
        let mut allocated = Vec::new();
        for name in names {
            let Some(&known) = ALLOCATED.iter().find(|&&k| k == name) else {
                return Err(FwCfgError::NotModelled {
                    path: loader_path,
                    name,
                    modelled: ALLOCATED.join(", "),
                });
            };
            allocated.push((known, read(known)?));
        }
        check_commands(&loader, &allocated).map_err(|why| FwCfgError::Loader {
            path: loader_path,
            why: format!(
                "{why}: OVMF would stop after measuring only part of the blobs; not modelled"
            ),
        })?;
        let mut blobs = vec![(LOADER, loader)];
        blobs.extend(allocated);
        Ok(FwCfgAcpi { blobs })
    }
}

/// At most this many allocations (QEMU's q35 loader has three).
const MAX_ALLOCATIONS: usize = 16;

/// A file-name field of a loader command; its last byte must be NUL, as edk2 checks.
fn file_name(field: &[u8]) -> Result<&str, String> {
    if field.len() != FILE_NAME_LEN || field.last() != Some(&0) {
        return Err("a file name without its NUL".to_string());
    }
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    std::str::from_utf8(field.get(..len).unwrap_or_default())
        .map_err(|_| "a file name that is not UTF-8".to_string())
}

/// The file names of a loader's ALLOCATE commands, in order. A loader is 128-byte commands, zero-padded (a
/// command of kind 0 is padding); the first must be an allocation, and there are at most
/// 16, each with an alignment edk2 accepts (at most a page).
pub fn allocations(loader: &[u8]) -> Result<Vec<String>, String> {
    if loader.is_empty() || !loader.len().is_multiple_of(COMMAND_LEN) {
        return Err(format!(
            "{} bytes, not a whole number of 128-byte loader commands",
            loader.len()
        ));
    }
    if loader.len() / COMMAND_LEN > MAX_COMMANDS {
        return Err("more loader commands than any QEMU machine emits".into());
    }
    if le32(loader, 0) != Some(ALLOCATE) {
        return Err("its first command is not an allocation".into());
    }
    let mut names: Vec<String> = Vec::new();
    for cmd in loader.chunks_exact(COMMAND_LEN) {
        if le32(cmd, 0) != Some(ALLOCATE) {
            continue;
        }
        let name = file_name(cmd.get(4..4 + FILE_NAME_LEN).unwrap_or_default())?;
        if name.is_empty() {
            return Err("an allocation names no file".into());
        }
        if names.len() == MAX_ALLOCATIONS {
            return Err(format!("more than {MAX_ALLOCATIONS} allocations"));
        }
        if names.iter().any(|n| n == name) {
            return Err(format!("{name:?} is allocated twice"));
        }
        let alignment = le32(cmd, 4 + FILE_NAME_LEN).unwrap_or_default();
        if alignment > 4096 {
            return Err(format!("{name:?} asks for a {alignment}-byte alignment"));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// The checks edk2's first pass over the loader makes while it downloads the blobs (`ProcessCmdAddPointer`,
/// `ProcessCmdAddChecksum` in edk2 2025.02's `QemuFwCfgAcpi.c`), against the allocated blobs: file names
/// NUL-terminated and allocated before the command, pointer sizes 1, 2, 4 or 8, pointers and checksums inside
/// their blobs, a pointer's value (an offset into the pointee) inside the pointee. WRITE_POINTER (a pointer
/// written back to a QEMU fw_cfg file, e.g. vmgenid's) is not modelled. Other command kinds are skipped, as edk2
/// skips them. `blobs` are the allocated files (fw_cfg name, contents); [`FwCfgAcpi::read_dir`] runs this.
pub fn check_commands<'a>(
    loader: &[u8],
    blobs: &'a [(&'static str, Vec<u8>)],
) -> Result<(), String> {
    // The blobs allocated so far, as edk2's tracker holds them.
    let mut allocated: Vec<(&str, &[u8])> = Vec::new();
    let blob =
        |allocated: &[(&str, &'a [u8])], cmd: &[u8], at: usize| -> Result<&'a [u8], String> {
            let name = file_name(cmd.get(at..at + FILE_NAME_LEN).unwrap_or_default())?;
            allocated
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, d)| d)
                .ok_or_else(|| format!("a command refers to {name:?} before it is allocated"))
        };
    let u32_at = |cmd: &[u8], at: usize| le32(cmd, at).unwrap_or_default() as usize;
    for cmd in loader.chunks_exact(COMMAND_LEN) {
        match le32(cmd, 0).unwrap_or_default() {
            ALLOCATE => {
                let name = file_name(cmd.get(4..4 + FILE_NAME_LEN).unwrap_or_default())?;
                if let Some((n, data)) = blobs.iter().find(|(n, _)| *n == name) {
                    allocated.push((n, data));
                }
            }
            // Pointer file, pointee file, offset, size.
            ADD_POINTER => {
                let dst = blob(&allocated, cmd, 4)?;
                let src = blob(&allocated, cmd, 60)?;
                let (offset, size) = (
                    u32_at(cmd, 116),
                    usize::from(cmd.get(120).copied().unwrap_or_default()),
                );
                let value = dst
                    .get(offset..offset.saturating_add(size))
                    .filter(|_| [1, 2, 4, 8].contains(&size))
                    .ok_or_else(|| {
                        format!("a pointer of {size} bytes at {offset:#x} outside its blob")
                    })?
                    .iter()
                    .rev()
                    .fold(0u64, |v, &b| (v << 8) | u64::from(b));
                if value >= src.len() as u64 {
                    return Err(format!(
                        "a pointer value {value:#x} outside the blob it points into"
                    ));
                }
            }
            // File, result offset, start, length.
            ADD_CHECKSUM => {
                let len = blob(&allocated, cmd, 4)?.len();
                let (result, start, length) = (u32_at(cmd, 60), u32_at(cmd, 64), u32_at(cmd, 68));
                if result >= len || length > len || start > len - length {
                    return Err("a checksum outside its blob".into());
                }
            }
            WRITE_POINTER => {
                return Err("a WRITE_POINTER command (a pointer written back to QEMU)".into());
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(kind: u32, name: &str) -> Vec<u8> {
        let mut c = vec![0u8; COMMAND_LEN];
        c[..4].copy_from_slice(&kind.to_le_bytes());
        c[4..4 + name.len()].copy_from_slice(name.as_bytes());
        c
    }

    fn loader(cmds: &[(u32, &str)]) -> Vec<u8> {
        let mut l: Vec<u8> = cmds.iter().flat_map(|&(k, n)| command(k, n)).collect();
        l.resize(l.len().div_ceil(4096) * 4096, 0);
        l
    }

    #[test]
    fn allocation_order_as_the_loader_lists_it() {
        // QEMU 10.0.2's q35 loader with a TPM (scripts/qemu-acpi-capture.sh): rsdp, tpm log, tables.
        let l = loader(&[
            (1, "etc/acpi/rsdp"),
            (1, "etc/tpm/log"),
            (1, "etc/acpi/tables"),
            (3, "etc/acpi/tables"),
            (2, "etc/acpi/tables"),
        ]);
        assert_eq!(
            allocations(&l).unwrap(),
            ["etc/acpi/rsdp", "etc/tpm/log", "etc/acpi/tables"]
        );
    }

    #[test]
    fn refuses_what_qemu_does_not_serve() {
        assert!(allocations(&[]).is_err());
        assert!(allocations(&[0u8; 100]).is_err());
        assert!(allocations(&loader(&[(3, "etc/acpi/tables")])).is_err());
        assert!(allocations(&loader(&[(1, "")])).is_err());
        let twice = loader(&[(1, "etc/acpi/rsdp"), (1, "etc/acpi/rsdp")]);
        assert!(allocations(&twice).unwrap_err().contains("twice"));
        let mut bad = loader(&[(1, "etc/acpi/rsdp")]);
        bad[4] = 0xff;
        assert!(allocations(&bad).unwrap_err().contains("UTF-8"));
    }

    /// A command of `kind` with its fields at their byte offsets.
    fn raw(kind: u32, fields: &[(usize, &[u8])]) -> Vec<u8> {
        let mut c = vec![0u8; COMMAND_LEN];
        c[..4].copy_from_slice(&kind.to_le_bytes());
        for (at, b) in fields {
            c[*at..*at + b.len()].copy_from_slice(b);
        }
        c
    }

    #[test]
    fn first_pass_checks_as_edk2() {
        let tables = vec![0u8; 256];
        let rsdp = {
            let mut r = vec![0u8; 20];
            r[16..20].copy_from_slice(&200u32.to_le_bytes()); // RSDT at 200 in the tables
            r
        };
        let blobs: Vec<(&'static str, Vec<u8>)> =
            vec![("etc/acpi/rsdp", rsdp), ("etc/acpi/tables", tables)];
        let alloc = |n: &str| raw(1, &[(4, n.as_bytes())]);
        let pointer = |offset: u32, size: u8| {
            raw(
                2,
                &[
                    (4, b"etc/acpi/rsdp"),
                    (60, b"etc/acpi/tables"),
                    (116, &offset.to_le_bytes()),
                    (120, &[size]),
                ],
            )
        };
        let checksum = |result: u32, start: u32, length: u32| {
            raw(
                3,
                &[
                    (4, b"etc/acpi/tables"),
                    (60, &result.to_le_bytes()),
                    (64, &start.to_le_bytes()),
                    (68, &length.to_le_bytes()),
                ],
            )
        };
        let run = |cmds: &[Vec<u8>]| check_commands(&cmds.concat(), &blobs);
        let base = [alloc("etc/acpi/rsdp"), alloc("etc/acpi/tables")];
        assert!(
            run(&[
                base[0].clone(),
                base[1].clone(),
                pointer(16, 4),
                checksum(8, 0, 20)
            ])
            .is_ok()
        );
        // A pointer outside its blob, of an odd size, or whose value is outside the pointee.
        assert!(run(&[base[0].clone(), base[1].clone(), pointer(18, 4)]).is_err());
        assert!(run(&[base[0].clone(), base[1].clone(), pointer(16, 3)]).is_err());
        let mut far = blobs.clone();
        far[0].1[16..20].copy_from_slice(&300u32.to_le_bytes());
        let cmds = [base[0].clone(), base[1].clone(), pointer(16, 4)].concat();
        assert!(
            check_commands(&cmds, &far)
                .unwrap_err()
                .contains("pointer value")
        );
        // A command before its blob is allocated.
        assert!(
            run(&[base[0].clone(), pointer(16, 4), base[1].clone()])
                .unwrap_err()
                .contains("before it is allocated")
        );
        // A checksum outside its blob.
        assert!(run(&[base[0].clone(), base[1].clone(), checksum(256, 0, 1)]).is_err());
        assert!(run(&[base[0].clone(), base[1].clone(), checksum(0, 200, 57)]).is_err());
        // WRITE_POINTER is not modelled; a name filling its field without a NUL is malformed.
        assert!(run(&[base[0].clone(), raw(4, &[(4, b"etc/vmgenid_addr")])]).is_err());
        let long = [b'a'; FILE_NAME_LEN];
        assert!(run(&[base[0].clone(), raw(1, &[(4, &long)])]).is_err());
        // Allocations: an alignment above a page, more than MAX_ALLOCATIONS.
        let big = raw(1, &[(4, b"etc/acpi/rsdp"), (60, &8192u32.to_le_bytes())]);
        assert!(
            allocations(&loader_of(&[big]))
                .unwrap_err()
                .contains("alignment")
        );
        let many: Vec<Vec<u8>> = (0..=MAX_ALLOCATIONS)
            .map(|i| alloc(&format!("f{i}")))
            .collect();
        assert!(
            allocations(&loader_of(&many))
                .unwrap_err()
                .contains("more than")
        );
    }

    fn loader_of(cmds: &[Vec<u8>]) -> Vec<u8> {
        let mut l = cmds.concat();
        l.resize(l.len().div_ceil(4096) * 4096, 0);
        l
    }

    #[test]
    fn reads_a_by_name_copy_and_refuses_unknown_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let put = |name: &str, data: &[u8]| {
            let d = dir.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("raw"), data).unwrap();
        };
        let l = loader(&[(1, "etc/acpi/rsdp"), (1, "etc/acpi/tables")]);
        put(LOADER, &l);
        put("etc/acpi/rsdp", b"RSD PTR rest");
        // A missing blob is an error naming it.
        let e = FwCfgAcpi::read_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("etc/acpi/tables/raw"), "{e}");
        // An empty blob (what tar makes of sysfs files) is refused.
        put("etc/acpi/tables", b"");
        let e = FwCfgAcpi::read_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        put("etc/acpi/tables", b"tables");
        let a = FwCfgAcpi::read_dir(dir.path()).unwrap();
        let names: Vec<&str> = a.blobs.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [LOADER, "etc/acpi/rsdp", "etc/acpi/tables"]);
        assert_eq!(a.blobs[2].1, b"tables");
        // vmgenid's blob is not modelled.
        put(
            LOADER,
            &loader(&[(1, "etc/acpi/rsdp"), (1, "etc/vmgenid_guid")]),
        );
        let why = FwCfgAcpi::read_dir(dir.path()).unwrap_err().to_string();
        assert!(
            why.contains("etc/vmgenid_guid") && why.contains("not modelled"),
            "{why}"
        );
    }
}
