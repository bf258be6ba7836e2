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

/// The fw_cfg name of the table loader.
pub const LOADER: &str = "etc/table-loader";
/// The fw_cfg files a loader may allocate that are modelled (QEMU q35 with or without a vTPM); others (e.g.
/// vmgenid's) are refused.
pub const ALLOCATED: [&str; 3] = ["etc/acpi/rsdp", "etc/acpi/tables", "etc/tpm/log"];
/// One loader command (`BiosLinkerLoaderEntry`).
const COMMAND_LEN: usize = 128;
/// The file-name field of a loader command (`BIOS_LINKER_LOADER_FILESZ`).
const FILE_NAME_LEN: usize = 56;
/// `BIOS_LINKER_LOADER_COMMAND_ALLOCATE`.
const ALLOCATE: u32 = 1;
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
    /// Reads a copy of a guest's `/sys/firmware/qemu_fw_cfg/by_name`: `DIR/etc/table-loader/raw`, then the
    /// `raw` file of each blob its ALLOCATE commands name. An unreadable file, a loader that is not QEMU's or
    /// one allocating a blob outside [`ALLOCATED`] is an error.
    pub fn read_dir(dir: &Path) -> Result<FwCfgAcpi, FwCfgError> {
        let read = |name: &str| {
            let path = dir.join(name).join("raw");
            read_input(&path, InputKind::ACPI_BLOB).map_err(|e| FwCfgError::Read {
                path,
                source: e.into_io(),
            })
        };
        let loader = read(LOADER)?;
        let names = match allocations(&loader) {
            Ok(n) => n,
            Err(why) => {
                return Err(FwCfgError::Loader {
                    path: dir.join(LOADER).join("raw"),
                    why,
                });
            }
        };
        let mut blobs = vec![(LOADER, loader)];
        for name in names {
            let Some(&known) = ALLOCATED.iter().find(|&&k| k == name) else {
                return Err(FwCfgError::NotModelled {
                    path: dir.join(LOADER).join("raw"),
                    name,
                    modelled: ALLOCATED.join(", "),
                });
            };
            blobs.push((known, read(known)?));
        }
        Ok(FwCfgAcpi { blobs })
    }
}

/// The file names of a loader's ALLOCATE commands, in order. A loader is 128-byte commands, zero-padded (a
/// command of kind 0 is padding); the first must be an allocation, and there must be one.
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
    let mut names = Vec::new();
    for cmd in loader.chunks_exact(COMMAND_LEN) {
        if le32(cmd, 0) != Some(ALLOCATE) {
            continue;
        }
        let field = cmd.get(4..4 + FILE_NAME_LEN).unwrap_or_default();
        let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        let name = std::str::from_utf8(field.get(..len).unwrap_or_default())
            .map_err(|_| "an allocation's file name is not UTF-8".to_string())?;
        if name.is_empty() {
            return Err("an allocation names no file".into());
        }
        if names.iter().any(|n| n == name) {
            return Err(format!("{name:?} is allocated twice"));
        }
        names.push(name.to_string());
    }
    Ok(names)
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
