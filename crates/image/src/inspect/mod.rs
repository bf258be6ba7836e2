//! `image inspect` and `refvals create --disk`: what a disk image made by any tool (yardstick, mkosi,
//! systemd-repart, Kata's image builder) boots, read without mounting it or attaching a loop device, and the
//! reference values that follow.
//!
//! The steps, each bounded and hostile-input safe:
//! 1. the partition table ([`table`]: GPT with CRC checks and the backup header as a fallback, or MBR), the
//!    partitions named by their Discoverable Partitions Specification types ([`crate::guid::types`], the
//!    same constants `image build` writes);
//! 2. on the ESP (and XBOOTLDR) the FAT file system ([`fatfs`]), the binary the firmware starts
//!    (`\EFI\BOOT\BOOTX64.EFI` or `BOOTAA64.EFI`): a UKI, or systemd-boot, whose `loader.conf` `default`
//!    pattern picks a type-2 entry in `\EFI\Linux\`; the UKI's addons and the extras systemd-stub loads
//!    beside it (listed, not predicted);
//! 3. the UKI's `.cmdline` (`yardstick_pe`), its `roothash=`/`usrhash=` (`yardstick_verity::kernel`);
//! 4. the verity partitions: the superblock, then a full verification of data and tree against the cmdline's
//!    root hash (`yardstick_verity::volume::verify` with the partitions at their offsets of the disk); for a
//!    Kata disk (MBR, no superblock) the `kernel_verity_params` given, with the tree on the second partition
//!    or appended to the data;
//! 5. the verity signature partition's JSON (root hash, certificate fingerprint, signature present);
//! 6. [`disk_manifest`]: the manifest `image build` writes, from what was found.
//!
//! A mismatch (the cmdline's root hash is not the tree's, the tree is not the data's, a partition UUID
//! systemd would not match) is a [`Finding`] in [`DiskInspection::problems`], not an error: the command
//! exits 1 with it. Unreadable or malformed input is an [`InspectError`].

pub mod fatfs;
pub mod table;

use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use yardstick_common::hash::Algorithm;
use yardstick_common::progress::Progress;
use yardstick_pe::uki::{EspFile as StubFile, StubExtras, Uki};
use yardstick_refvals::{
    Component, ImageInfo, Layout, Manifest, Partition, PartitionRole, PartitionTable, TableKind,
    VerityKernelParams, VerityRefs,
};
use yardstick_verity::BadBlock;
use yardstick_verity::kernel::{DmDevices, KataVerityParams};
use yardstick_verity::params::VerityParams;
use yardstick_verity::volume::{self, Dev, Volume};

use crate::guid::types::{Arch, Designator};
use table::{FoundPartition, Kind, Table};

/// Largest file read from an ESP (a UKI, an addon).
pub const MAX_EFI_FILE: u64 = 512 << 20;
/// Largest `loader.conf` read.
const MAX_LOADER_CONF: u64 = 64 << 10;
/// Largest verity signature partition content read (the JSON is a few KiB).
const MAX_SIG_JSON: u64 = 1 << 20;

/// Random access to a disk image: a file, a block device, or bytes in memory (tests, fuzzing).
pub trait Disk: Sync {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from byte `offset`; reading past the end is an error.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl Disk for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "read past the end of the disk",
                )
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A disk image file or block device, opened read-only.
pub struct DiskFile {
    file: File,
    size: u64,
}

impl DiskFile {
    /// Opens `path` (a regular file or a block device).
    pub fn open(path: &Path) -> Result<DiskFile, InspectError> {
        let file = File::open(path)?;
        let ft = file.metadata()?.file_type();
        use std::os::unix::fs::FileTypeExt as _;
        if !(ft.is_file() || ft.is_block_device()) {
            return Err(InspectError::Input(
                "not a disk image (a regular file or a block device)".into(),
            ));
        }
        let size = yardstick_verity::device_size(&file, path)
            .map_err(|e| InspectError::Input(e.to_string()))?;
        Ok(DiskFile { file, size })
    }

    /// The open file, for the verity check in place (`inspect`'s `file`).
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Disk for DiskFile {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.size)
        {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the disk",
            ));
        }
        self.file.read_exact_at(buf, offset)
    }
}

/// Why a disk could not be inspected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The partition table is malformed.
    #[error("partition table: {0}")]
    Table(String),
    /// A FAT file system is malformed.
    #[error("FAT: {0}")]
    Fat(String),
    /// Something else about the input (a UKI that does not parse, bad `--verity-params`, ...).
    #[error("{0}")]
    Input(String),
}

/// What to inspect and how.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// Kata's `kernel_verity_params` (`--verity-params`), for a disk whose root hash is not on a UKI's cmdline.
    pub verity_params: Option<String>,
}

/// A file found on an ESP or XBOOTLDR partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EspFile {
    /// Partition number.
    pub partition: u32,
    /// Path on it, `/`-separated, as the directory entries spell it.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// What it is: `uki`, `addon`, `credential`, `sysext`, `confext`.
    pub kind: &'static str,
}

/// The UKI the firmware boots.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundUki {
    /// Partition number.
    pub partition: u32,
    /// Path on the partition.
    pub path: String,
    /// How it was chosen (`\EFI\BOOT\BOOTX64.EFI is a UKI`, `systemd-boot default "..."`, ...).
    pub chosen_by: String,
    /// Size.
    pub size: u64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Authenticode SHA-256 (what the firmware measures into PCR 4).
    pub authenticode_sha256: String,
    /// systemd-stub version from `.sdmagic`.
    pub stub_version: Option<String>,
    /// The `.cmdline` text.
    pub cmdline: Option<String>,
    /// Its addons (`<uki>.extra.d/*.addon.efi`, `/loader/addons/*.addon.efi`) and the extras systemd-stub
    /// passes to the kernel (credentials, system and configuration extensions).
    pub extras: Vec<EspFile>,
}

/// What was found on the boot partitions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BootFound {
    /// The ESP's partition number.
    pub esp: u32,
    /// Its FAT type.
    pub fat_type: fatfs::FatType,
    /// The XBOOTLDR partition, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xbootldr: Option<u32>,
    /// The removable-media path the firmware starts (`EFI/BOOT/BOOTX64.EFI`).
    pub firmware_path: Option<String>,
    /// What that binary is: `uki`, `systemd-boot <version>` or `other`.
    pub firmware_binary: Option<String>,
    /// Type-2 boot loader entries (`EFI/Linux/*.efi`) on the ESP and XBOOTLDR.
    pub type2_entries: Vec<EspFile>,
    /// systemd-boot's `loader.conf` `default` pattern, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loader_default: Option<String>,
    /// The UKI booted.
    pub uki: Option<FoundUki>,
}

/// One dm-verity volume checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VerityFound {
    /// `root` or `usr`.
    pub target: &'static str,
    /// Where the parameters came from: `superblock`, `kernel_verity_params`.
    pub params_from: &'static str,
    /// Data partition number.
    pub data_partition: u32,
    /// Hash partition number (the data partition when the tree is appended to the data).
    pub hash_partition: u32,
    /// Byte offset of the hash area (superblock or first tree block) in the hash partition.
    pub hash_offset: u64,
    /// Root hash the cmdline (or the Kata parameters) names.
    pub expected_root_hash: Option<String>,
    /// Whether the tree's top block matches that root hash and every block below verified.
    pub verified: bool,
    /// The parameters.
    pub algorithm: Algorithm,
    /// Salt, hex.
    pub salt: String,
    /// Data block size.
    pub data_block_size: u32,
    /// Hash block size.
    pub hash_block_size: u32,
    /// Data blocks.
    pub data_blocks: u64,
    /// First tree block on the hash partition.
    pub hash_start_block: u64,
    /// Superblock UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superblock_uuid: Option<String>,
    /// The blocks that failed, top of the tree first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bad_blocks: Vec<BadBlock>,
    #[serde(skip)]
    params: Option<VerityParams>,
    #[serde(skip)]
    root: Vec<u8>,
}

/// A root hash signature partition's JSON (the Discoverable Partitions Specification's `-verity-sig`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureFound {
    /// Partition number.
    pub partition: u32,
    /// `rootHash`.
    pub root_hash: Option<String>,
    /// `certificateFingerprint` (SHA-256 of the signing certificate, DER).
    pub certificate_fingerprint: Option<String>,
    /// Whether a `signature` (base64 PKCS#7) is present.
    pub signature_present: bool,
}

/// A check that failed: exit 1.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What it concerns (`root`, `usr`, `partition 2`, `root-x86-64-verity-sig`).
    pub subject: String,
    /// Why, naming the block or value.
    pub reason: String,
}

/// What `image inspect` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiskInspection {
    /// Disk size in bytes.
    pub size: u64,
    /// The partition table.
    pub table: Table,
    /// The boot partitions and the UKI, for a disk with an ESP.
    pub boot: Option<BootFound>,
    /// `roothash=` / `usrhash=` from the UKI's cmdline.
    pub cmdline_hashes: yardstick_verity::kernel::CmdlineHashes,
    /// The dm-verity volumes checked.
    pub verity: Vec<VerityFound>,
    /// Root hash signature partitions.
    pub signatures: Vec<SignatureFound>,
    /// Failed checks (the command exits 1 when there is any).
    pub problems: Vec<Finding>,
    /// What could not be checked or is not predicted, said plainly.
    pub notes: Vec<String>,
    #[serde(skip)]
    uki: Option<Vec<u8>>,
    #[serde(skip)]
    stub_extras: StubExtras,
}

impl DiskInspection {
    /// No failed check.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The UKI's bytes, when one was found.
    pub fn uki_bytes(&self) -> Option<&[u8]> {
        self.uki.as_deref()
    }

    /// What systemd-stub 257 picks up beside the UKI found (addons, credentials, system and configuration
    /// extensions, read from the UKI's partition); empty for other stub generations, whose extras are listed
    /// only.
    pub fn stub_extras(&self) -> &StubExtras {
        &self.stub_extras
    }
}

fn hex(b: &[u8]) -> String {
    yardstick_common::hex::encode(b)
}

/// Reads `disk` (`path` for messages) and checks what it boots.
pub fn inspect(
    disk: &dyn Disk,
    disk_file: Option<(&File, &Path)>,
    o: &InspectOptions,
    progress: &dyn Progress,
) -> Result<DiskInspection, InspectError> {
    let table = table::read(disk)?;
    let mut insp = DiskInspection {
        size: disk.size(),
        table,
        boot: None,
        cmdline_hashes: Default::default(),
        verity: Vec::new(),
        signatures: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        uki: None,
        stub_extras: StubExtras::default(),
    };
    for p in &insp.table.partitions {
        if p.offset.checked_add(p.size).is_none_or(|e| e > disk.size()) {
            return Err(InspectError::Table(format!(
                "partition {} ends past the end of the disk ({} bytes)",
                p.number,
                disk.size()
            )));
        }
    }
    let by = |d: Designator| -> Vec<FoundPartition> {
        insp.table
            .partitions
            .iter()
            .filter(|p| p.dps.is_some_and(|t| t.designator == d))
            .cloned()
            .collect()
    };
    let esp = by(Designator::Esp).into_iter().next();
    let xbootldr = by(Designator::Xbootldr).into_iter().next();
    if let Some(esp) = &esp {
        let (boot, uki, extras) = find_boot(disk, esp, xbootldr.as_ref(), &mut insp.notes)?;
        if let Some(u) = &boot.uki
            && let Some(c) = &u.cmdline
        {
            insp.cmdline_hashes = yardstick_verity::kernel::cmdline_hashes(c)
                .map_err(|e| InspectError::Input(format!("{}: .cmdline: {e}", u.path)))?;
        }
        if boot.uki.as_ref().is_some_and(|u| !u.extras.is_empty()) {
            if let Some(extras) = extras {
                insp.notes.push(
                    "systemd-stub 257: the addons, credentials and extensions it picks up are part of the prediction (PCR 4, 9, 12, 13); /loader/extensions is not read by this stub"
                        .into(),
                );
                insp.stub_extras = extras;
            } else {
                insp.notes.push(
                    "addons, credentials and extensions are listed, not predicted (modelled for systemd-stub 257): PCR 9, 12 and 13 assume none"
                        .into(),
                );
            }
        }
        insp.boot = Some(boot);
        insp.uki = uki;
    } else if insp.table.kind == Kind::Gpt {
        insp.notes.push("no EFI System Partition".into());
    }

    let Some((file, path)) = disk_file else {
        return Ok(insp);
    };
    // The root and /usr volumes of the architecture the firmware boots (x86-64 unless BOOTAA64.EFI).
    let arch = match insp.boot.as_ref().and_then(|b| b.firmware_path.as_deref()) {
        Some(p) if p.to_ascii_uppercase().ends_with("BOOTAA64.EFI") => Arch::Arm64,
        _ => Arch::X86_64,
    };
    let pick = |d: Designator| {
        insp.table
            .partitions
            .iter()
            .find(|p| {
                p.dps
                    .is_some_and(|t| t.designator == d && t.arch == Some(arch))
            })
            .cloned()
    };
    if insp.table.kind == Kind::Gpt {
        for (target, data_d, hash_d, sig_d, want) in [
            (
                "root",
                Designator::Root,
                Designator::RootVerity,
                Designator::RootVeritySig,
                insp.cmdline_hashes.roothash.clone(),
            ),
            (
                "usr",
                Designator::Usr,
                Designator::UsrVerity,
                Designator::UsrVeritySig,
                insp.cmdline_hashes.usrhash.clone(),
            ),
        ] {
            let (data, hash) = (pick(data_d), pick(hash_d));
            if let Some(sig) = pick(sig_d) {
                let s = read_signature(disk, &sig)?;
                if let (Some(r), Some(w)) = (&s.root_hash, &want)
                    && *r != hex(w)
                {
                    insp.problems.push(Finding {
                        subject: sig.discoverable.unwrap_or("verity-sig").into(),
                        reason: format!(
                            "rootHash {r} is not the cmdline's {target}hash= {}",
                            hex(w)
                        ),
                    });
                }
                insp.notes.push(format!(
                    "{target}: the signature in partition {} is not verified (no certificate given)",
                    sig.number
                ));
                insp.signatures.push(s);
            }
            match (data, hash, want) {
                (Some(d), Some(h), Some(root)) => {
                    let v = check_superblock_volume(
                        file, path, target, &d, &h, &root, &mut insp.problems, progress,
                    )?;
                    insp.verity.push(v);
                }
                (Some(_), Some(_), None) => insp.notes.push(format!(
                    "{target}: verity partitions but no {target}hash= on the UKI's cmdline: not verified"
                )),
                (Some(_), None, Some(_)) | (None, _, Some(_)) => insp.problems.push(Finding {
                    subject: target.into(),
                    reason: format!(
                        "the cmdline has {target}hash= but the disk has no {target} and {target}-verity partitions for {arch:?}"
                    ),
                }),
                _ => {}
            }
        }
    }
    if let Some(kv) = &o.verity_params {
        let k = KataVerityParams::parse(kv)
            .map_err(|e| InspectError::Input(format!("--verity-params: {e}")))?;
        let v = check_kata_volume(file, path, &insp.table, &k, &mut insp.problems, progress)?;
        insp.verity.push(v);
    } else if insp.table.kind == Kind::Mbr {
        insp.notes.push(
            "an MBR disk (Kata layout?): no superblock, the root hash and tree parameters are not on the disk; \
             give Kata's kernel_verity_params with --verity-params to verify it"
                .into(),
        );
    }
    Ok(insp)
}

/// What [`find_boot`] finds: the boot chain, the UKI's bytes, the extras systemd-stub 257 picks up beside it.
type FoundBoot = (BootFound, Option<Vec<u8>>, Option<StubExtras>);

/// The ESP and XBOOTLDR: the binary the firmware starts, the UKI it boots and, for a systemd-stub 257 UKI, the
/// extras the stub picks up beside it (`None` for other generations: they are listed only).
fn find_boot(
    disk: &dyn Disk,
    esp: &FoundPartition,
    xbootldr: Option<&FoundPartition>,
    notes: &mut Vec<String>,
) -> Result<FoundBoot, InspectError> {
    let fat = |p: &FoundPartition| {
        fatfs::Volume::open(disk, p.offset, p.size).map_err(|e| match e {
            InspectError::Fat(m) => InspectError::Fat(format!("partition {}: {m}", p.number)),
            e => e,
        })
    };
    let ev = fat(esp)?;
    let xv = match xbootldr {
        Some(x) => Some((x.number, fat(x)?)),
        None => None,
    };
    let mut boot = BootFound {
        esp: esp.number,
        fat_type: ev.fat_type,
        xbootldr: xbootldr.map(|x| x.number),
        firmware_path: None,
        firmware_binary: None,
        type2_entries: Vec::new(),
        loader_default: None,
        uki: None,
    };
    // Type-2 entries on the ESP, then XBOOTLDR (systemd-boot reads both).
    let mut vols: Vec<(u32, &fatfs::Volume<'_>)> = vec![(esp.number, &ev)];
    if let Some((n, v)) = &xv {
        vols.push((*n, v));
    }
    let mut entries: Vec<(u32, &fatfs::Volume<'_>, fatfs::Entry)> = Vec::new();
    for (n, v) in &vols {
        for e in v.list_path("EFI/Linux")?.unwrap_or_default() {
            if !e.dir && e.name.to_ascii_lowercase().ends_with(".efi") && !e.name.starts_with('.') {
                boot.type2_entries.push(EspFile {
                    partition: *n,
                    path: format!("EFI/Linux/{}", e.name),
                    size: u64::from(e.size),
                    kind: "uki",
                });
                entries.push((*n, *v, e));
            }
        }
    }
    let mut fw = None;
    for name in ["BOOTX64.EFI", "BOOTAA64.EFI"] {
        if let Some(e) = ev.lookup(&format!("EFI/BOOT/{name}"))?
            && !e.dir
        {
            fw = Some((format!("EFI/BOOT/{}", e.name), e));
            break;
        }
    }
    let Some((fw_path, fw_entry)) = fw else {
        notes.push("no EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI on the ESP: which UKI boots depends on the firmware's boot entries".into());
        return Ok((boot, None, None));
    };
    let fw_bytes = ev.read(&fw_entry, MAX_EFI_FILE)?;
    boot.firmware_path = Some(fw_path.clone());
    let chosen: Option<(u32, String, String, Vec<u8>, &fatfs::Volume<'_>)> = if Uki::parse(
        &fw_bytes,
    )
    .is_ok()
    {
        boot.firmware_binary = Some("uki".into());
        Some((
            esp.number,
            fw_path.clone(),
            "the firmware's default boot path holds a UKI".into(),
            fw_bytes,
            &ev,
        ))
    } else if let Some(v) = systemd_boot_version(&fw_bytes) {
        boot.firmware_binary = Some(format!("systemd-boot {v}"));
        let conf = match ev.lookup("loader/loader.conf")? {
            Some(e) if !e.dir => Some(ev.read(&e, MAX_LOADER_CONF)?),
            _ => None,
        };
        let pattern = conf.as_deref().and_then(loader_default);
        boot.loader_default.clone_from(&pattern);
        notes.push(
            "systemd-boot: the EFI variables LoaderEntryDefault / LoaderEntryOneShot (not on the disk) override loader.conf; \
             entries are ordered by file name (newest version first), not by .osrel sort keys or boot counting"
                .into(),
        );
        let mut cands: Vec<&(u32, &fatfs::Volume<'_>, fatfs::Entry)> = entries
            .iter()
            .filter(|(_, _, e)| pattern.as_deref().is_none_or(|p| glob_match(p, &e.name)))
            .collect();
        cands.sort_by(|a, b| version_cmp(&b.2.name, &a.2.name));
        match cands.first() {
            Some((n, v, e)) => {
                let bytes = v.read(e, MAX_EFI_FILE)?;
                Some((
                    *n,
                    format!("EFI/Linux/{}", e.name),
                    match &pattern {
                        Some(p) => format!("systemd-boot loader.conf default {p:?}"),
                        None => "systemd-boot: the first type-2 entry (no default in loader.conf)"
                            .into(),
                    },
                    bytes,
                    *v,
                ))
            }
            None => {
                notes.push(match &pattern {
                    Some(p) => {
                        format!("systemd-boot: no type-2 entry matches loader.conf default {p:?}")
                    }
                    None => "systemd-boot: no type-2 entries in EFI/Linux".into(),
                });
                None
            }
        }
    } else {
        boot.firmware_binary = Some("other".into());
        notes.push(format!(
            "{fw_path} is neither a UKI nor systemd-boot (shim? GRUB?): which UKI it starts is not known"
        ));
        None
    };
    let Some((n, path, chosen_by, bytes, vol)) = chosen else {
        return Ok((boot, None, None));
    };
    let uki = Uki::parse(&bytes).map_err(|e| InspectError::Input(format!("{path}: {e}")))?;
    let authenticode = yardstick_pe::authenticode_digest(&bytes, Algorithm::Sha256)
        .map(|d| hex(&d))
        .map_err(|e| InspectError::Input(format!("{path}: {e}")))?;
    let mut extras = Vec::new();
    // Only systemd-stub 257's extras are modelled: the files are read for the prediction only then.
    let stub257 = uki.generation() == yardstick_pe::StubGeneration::Systemd257;
    let mut stub_extras = StubExtras::default();
    // The files read can add up to no more than the partition holds (cross-linked entries could repeat one).
    let mut budget = vol.data_bytes();
    let extra_d = format!("{path}.extra.d");
    for e in vol.list_path(&extra_d)?.unwrap_or_default() {
        if let Some(kind) = extra_kind(&e.name, true)
            && !e.dir
        {
            extras.push(EspFile {
                partition: n,
                path: format!("{extra_d}/{}", e.name),
                size: u64::from(e.size),
                kind,
            });
            if stub257 && let Some(list) = stub_list(&mut stub_extras, kind, &e.name, None) {
                list.push(read_extra(vol, &e, &extra_d, &mut budget)?);
            }
        }
    }
    // systemd-stub looks for the global ones on the partition it was loaded from (its DeviceHandle).
    for dir in ["loader/addons", "loader/credentials", "loader/extensions"] {
        for e in vol.list_path(dir)?.unwrap_or_default() {
            if let Some(kind) = extra_kind(&e.name, false)
                && !e.dir
            {
                extras.push(EspFile {
                    partition: n,
                    path: format!("{dir}/{}", e.name),
                    size: u64::from(e.size),
                    kind,
                });
                if stub257 && let Some(list) = stub_list(&mut stub_extras, kind, &e.name, Some(dir))
                {
                    list.push(read_extra(vol, &e, dir, &mut budget)?);
                }
            }
        }
    }
    boot.uki = Some(FoundUki {
        partition: n,
        path,
        chosen_by,
        size: bytes.len() as u64,
        sha256: hex(&Algorithm::Sha256.digest(&bytes)),
        authenticode_sha256: authenticode,
        stub_version: uki.stub_version().map(str::to_string),
        cmdline: uki.cmdline(),
        extras,
    });
    Ok((boot, Some(bytes), stub257.then_some(stub_extras)))
}

/// The list of [`StubExtras`] a file of `kind` (an [`extra_kind`]) named `name` goes to: per-UKI (`global`
/// `None`) or in a global directory, which systemd-stub 257 reads only for addons (`/loader/addons`) and
/// credentials (`/loader/credentials`); `None` for what the stub skips (hidden, non-ASCII, long names).
fn stub_list<'x>(
    x: &'x mut StubExtras,
    kind: &str,
    name: &str,
    global: Option<&str>,
) -> Option<&'x mut Vec<StubFile>> {
    if !yardstick_pe::uki::stub_reads_name(name) {
        return None;
    }
    Some(match (kind, global) {
        ("addon", None) => &mut x.addons,
        ("addon", Some("loader/addons")) => &mut x.global_addons,
        ("credential", None) => &mut x.credentials,
        ("credential", Some("loader/credentials")) => &mut x.global_credentials,
        ("sysext", None) => &mut x.sysexts,
        ("confext", None) => &mut x.confexts,
        _ => return None,
    })
}

/// Reads an extra for the prediction, counting its size against `budget` (what is left of the partition's data
/// area): a FAT whose entries share clusters cannot make the reader hold more than the partition's size.
fn read_extra(
    vol: &fatfs::Volume<'_>,
    e: &fatfs::Entry,
    dir: &str,
    budget: &mut u64,
) -> Result<StubFile, InspectError> {
    *budget = budget.checked_sub(u64::from(e.size)).ok_or_else(|| {
        InspectError::Fat(format!(
            "{dir}/{}: the files beside the UKI add up to more than the partition holds (entries sharing \
             clusters?)",
            e.name
        ))
    })?;
    Ok(StubFile {
        name: e.name.clone(),
        data: vol.read(e, MAX_EFI_FILE).map_err(|err| match err {
            InspectError::Fat(m) => InspectError::Fat(format!("{dir}/{}: {m}", e.name)),
            err => err,
        })?,
    })
}

/// What an ESP file next to a UKI is, by its name (systemd-stub's suffixes).
fn extra_kind(name: &str, per_uki: bool) -> Option<&'static str> {
    let l = name.to_ascii_lowercase();
    if l.ends_with(".addon.efi") {
        Some("addon")
    } else if l.ends_with(".cred") {
        Some("credential")
    } else if l.ends_with(".confext.raw") {
        Some("confext")
    } else if l.ends_with(".sysext.raw") || (per_uki && l.ends_with(".raw")) {
        Some("sysext")
    } else {
        None
    }
}

/// The version of a systemd-boot binary from its `.sdmagic` (`#### LoaderInfo: systemd-boot 254 ####`).
fn systemd_boot_version(pe: &[u8]) -> Option<String> {
    let h = yardstick_pe::pe::PeHeaders::parse(pe).ok()?;
    let i = h
        .sections
        .iter()
        .position(|s| s.name == yardstick_pe::uki::SDMAGIC)?;
    let b = yardstick_pe::pe::loaded_section_bytes(pe, &h, i)?;
    let t = String::from_utf8_lossy(&b);
    let rest = t.split("systemd-boot ").nth(1)?;
    Some(
        rest.chars()
            .take_while(|c| !c.is_whitespace() && *c != '#' && *c != '\0')
            .collect(),
    )
}

/// The `default` of a `loader.conf` (the last one counts, as systemd-boot overwrites it).
fn loader_default(conf: &[u8]) -> Option<String> {
    String::from_utf8_lossy(conf)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (k, v) = l.split_once(|c: char| c.is_ascii_whitespace())?;
            (k == "default").then(|| v.trim().to_string())
        })
        .next_back()
}

/// systemd-boot's glob (`*`, `?`, `[...]` as fnmatch without flags), case-insensitive on ASCII. Linear in
/// practice whatever the pattern (a hostile `loader.conf` of many `*` cannot make it exponential): on a
/// mismatch only the last `*` is retried, one character further.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // One pattern token at `i`: how long it is, and whether it matches character `c`.
    let token = |i: usize, c: char| -> (usize, bool) {
        match p.get(i) {
            Some('?') => (1, true),
            Some('[') => {
                let body_start = i + 1;
                let close = p
                    .iter()
                    .enumerate()
                    .skip(body_start + 1)
                    .find(|(_, ch)| **ch == ']')
                    .map(|(k, _)| k);
                let Some(close) = close else {
                    return (1, c == '[');
                };
                let mut set = p.get(body_start..close).unwrap_or(&[]);
                let neg = matches!(set.first(), Some('!' | '^'));
                if neg {
                    set = set.get(1..).unwrap_or(&[]);
                }
                let mut hit = false;
                let mut k = 0;
                while let Some(&a) = set.get(k) {
                    if set.get(k + 1) == Some(&'-')
                        && let Some(&b) = set.get(k + 2)
                    {
                        hit |= a <= c && c <= b;
                        k += 3;
                    } else {
                        hit |= a == c;
                        k += 1;
                    }
                }
                (close + 1 - i, hit != neg)
            }
            Some(&x) => (1, x.eq_ignore_ascii_case(&c)),
            None => (0, false),
        }
    };
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if p.get(pi) == Some(&'*') {
            star = Some((pi, ni));
            pi += 1;
            continue;
        }
        if let Some(&c) = n.get(ni) {
            let (len, ok) = token(pi, c);
            if len > 0 && ok {
                pi += len;
                ni += 1;
                continue;
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|&c| c == '*')
}

/// Version-aware comparison of entry names (digit runs compared as numbers), as systemd-boot orders
/// entries without sort keys.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.to_ascii_lowercase().chars() {
            let d = c.is_ascii_digit();
            match out.last_mut() {
                Some((ld, t)) if *ld == d => t.push(c),
                _ => out.push((d, c.to_string())),
            }
        }
        out
    };
    let (x, y) = (split(a), split(b));
    for (p, q) in x.iter().zip(&y) {
        let o = if p.0 && q.0 {
            let (pt, qt) = (p.1.trim_start_matches('0'), q.1.trim_start_matches('0'));
            pt.len().cmp(&qt.len()).then_with(|| pt.cmp(qt))
        } else {
            p.1.cmp(&q.1)
        };
        if o.is_ne() {
            return o;
        }
    }
    x.len().cmp(&y.len())
}

/// Reads a `-verity-sig` partition's JSON (NUL-padded).
fn read_signature(disk: &dyn Disk, p: &FoundPartition) -> Result<SignatureFound, InspectError> {
    let n = p.size.min(MAX_SIG_JSON);
    let mut b = vec![0u8; n as usize];
    disk.read_at(&mut b, p.offset)?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let v: serde_json::Value =
        serde_json::from_slice(b.get(..end).unwrap_or(&[])).map_err(|e| {
            InspectError::Input(format!(
                "partition {} ({}): not a verity signature JSON object: {e}",
                p.number,
                p.discoverable.unwrap_or("verity-sig")
            ))
        })?;
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_ascii_lowercase)
    };
    Ok(SignatureFound {
        partition: p.number,
        root_hash: s("rootHash"),
        certificate_fingerprint: s("certificateFingerprint"),
        signature_present: v
            .get("signature")
            .and_then(|x| x.as_str())
            .is_some_and(|x| !x.is_empty()),
    })
}

fn verity_err(e: yardstick_verity::Error) -> InspectError {
    InspectError::Input(yardstick_common::error_chain(&e))
}

/// One line per failed block, naming it by partition and disk offset.
fn blame(
    target: &str,
    p: &VerityParams,
    data: &FoundPartition,
    hash: &FoundPartition,
    bad: &[BadBlock],
    problems: &mut Vec<Finding>,
) {
    for b in bad.iter().take(20) {
        let reason = match b {
            BadBlock::Data { index, .. } => {
                let at = index * u64::from(p.data_block_size);
                format!(
                    "data block {index} (byte {at} of partition {}, byte {} of the disk) does not match the hash tree",
                    data.number,
                    data.offset + at
                )
            }
            BadBlock::Hash {
                level,
                index,
                offset,
                reason,
                ..
            } => format!(
                "hash block {index} of level {level} (byte {} of partition {}, byte {offset} of the disk): {reason}",
                offset.saturating_sub(hash.offset),
                hash.number
            ),
            other => format!("{other:?}"),
        };
        problems.push(Finding {
            subject: target.into(),
            reason,
        });
    }
    if bad.len() > 20 {
        problems.push(Finding {
            subject: target.into(),
            reason: format!("... and {} more bad blocks", bad.len() - 20),
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn run_verify(
    file: &File,
    path: &Path,
    target: &'static str,
    params_from: &'static str,
    p: VerityParams,
    data: &FoundPartition,
    hash: &FoundPartition,
    root: &[u8],
    raw_sb: Option<&[u8; 512]>,
    superblock_uuid: Option<String>,
    problems: &mut Vec<Finding>,
    progress: &dyn Progress,
) -> Result<VerityFound, InspectError> {
    // The tree's blocks are counted from the start of the hash device; on the whole disk that holds only when
    // the hash area starts on a hash-block boundary (partitions are MiB-aligned in practice).
    if !p.hash_offset.is_multiple_of(u64::from(p.hash_block_size)) {
        return Err(InspectError::Input(format!(
            "{target}: the hash area at byte {} of the disk (partition {}) is not aligned to the {}-byte hash blocks: not supported",
            p.hash_offset, hash.number, p.hash_block_size
        )));
    }
    let dev = Dev { file, path };
    let vol = Volume::new(dev, dev);
    let geo = volume::precheck(&p, &vol).map_err(verity_err)?;
    let tree_end = geo.tree_end_block() * u64::from(p.hash_block_size);
    let data_end = p.data_size().map_err(verity_err)?;
    if data.offset + data_end > data.offset + data.size {
        return Err(InspectError::Input(format!(
            "{target}: {} data blocks of {} bytes do not fit partition {} ({} bytes)",
            p.data_blocks, p.data_block_size, data.number, data.size
        )));
    }
    if tree_end > hash.offset + hash.size {
        return Err(InspectError::Input(format!(
            "{target}: the hash tree ends past partition {}",
            hash.number
        )));
    }
    let checked = volume::verify(&p, &vol, root, raw_sb, progress).map_err(verity_err)?;
    if !checked.tree.root_ok {
        problems.push(Finding {
            subject: target.into(),
            reason: format!(
                "the root hash {} ({}) is not the hash tree's: the top hash block in partition {} does not match it",
                hex(root),
                if params_from == "superblock" { "from the UKI's cmdline" } else { "from --verity-params" },
                hash.number
            ),
        });
    }
    blame(target, &p, data, hash, &checked.tree.bad, problems);
    for at in &checked.superblock_reserved {
        problems.push(Finding {
            subject: target.into(),
            reason: format!("superblock reserved byte at byte {at} of the disk is not zero"),
        });
    }
    Ok(VerityFound {
        target,
        params_from,
        data_partition: data.number,
        hash_partition: hash.number,
        hash_offset: p.hash_offset.saturating_sub(hash.offset),
        expected_root_hash: Some(hex(root)),
        verified: checked.ok(),
        algorithm: p.algorithm,
        salt: hex(p.salt.as_bytes()),
        data_block_size: p.data_block_size,
        hash_block_size: p.hash_block_size,
        data_blocks: p.data_blocks,
        hash_start_block: p
            .clone()
            .with_hash_offset(p.hash_offset.saturating_sub(hash.offset))
            .hash_start_block(),
        superblock_uuid,
        bad_blocks: checked.tree.bad.clone(),
        params: Some(p),
        root: root.to_vec(),
    })
}

/// A systemd-style volume: the superblock at the start of the hash partition, the root hash from the cmdline,
/// and the partition UUIDs systemd matches against the root hash.
#[allow(clippy::too_many_arguments)]
fn check_superblock_volume(
    file: &File,
    path: &Path,
    target: &'static str,
    data: &FoundPartition,
    hash: &FoundPartition,
    root: &[u8],
    problems: &mut Vec<Finding>,
    progress: &dyn Progress,
) -> Result<VerityFound, InspectError> {
    let dev = Dev { file, path };
    let (sb, raw) = volume::read_superblock(dev, hash.offset).map_err(|e| {
        InspectError::Input(format!(
            "{target}: partition {}: {}",
            hash.number,
            yardstick_common::error_chain(&e)
        ))
    })?;
    let p = volume::params_from_superblock(&sb, hash.offset).with_data_offset(data.offset);
    // systemd-veritysetup-generator / dissect: the data partition's UUID is the root hash's first 128 bits, the
    // hash partition's its last 128 bits.
    for (part, want, which) in [
        (
            data,
            yardstick_common::guid::Guid::from_prefix(root),
            "first",
        ),
        (
            hash,
            yardstick_common::guid::Guid::from_suffix(root),
            "last",
        ),
    ] {
        if let Some(w) = want
            && part.uuid.as_deref() != Some(w.to_string().as_str())
        {
            problems.push(Finding {
                subject: target.into(),
                reason: format!(
                    "partition {} has UUID {}, not {w} (the {which} 128 bits of the root hash): systemd will not find it",
                    part.number,
                    part.uuid.as_deref().unwrap_or("-")
                ),
            });
        }
    }
    run_verify(
        file,
        path,
        target,
        "superblock",
        p,
        data,
        hash,
        root,
        Some(&raw),
        Some(sb.uuid.to_string()),
        problems,
        progress,
    )
}

/// A Kata volume: parameters from `kernel_verity_params`, data on partition 1, the tree at the start of
/// partition 2 (yardstick's and Kata's two-partition layout) or appended to the data in partition 1.
fn check_kata_volume(
    file: &File,
    path: &Path,
    table: &Table,
    k: &KataVerityParams,
    problems: &mut Vec<Finding>,
    progress: &dyn Progress,
) -> Result<VerityFound, InspectError> {
    let base = k.params().map_err(|e| {
        InspectError::Input(format!(
            "--verity-params: {}",
            yardstick_common::error_chain(&e)
        ))
    })?;
    let data = table.partitions.first().ok_or_else(|| {
        InspectError::Input("the disk has no partition for the root file system".into())
    })?;
    let data_end = base.data_size().map_err(verity_err)?;
    // Candidates: the next partition at its start; the tree right after the data (hash block aligned).
    let mut cands: Vec<(&FoundPartition, u64)> = Vec::new();
    if let Some(h) = table.partitions.get(1) {
        cands.push((h, h.offset));
    }
    let hbs = u64::from(base.hash_block_size);
    cands.push((data, data.offset + data_end.div_ceil(hbs) * hbs));
    let dev = Dev { file, path };
    let mut chosen = None;
    for (h, off) in &cands {
        let p = base
            .clone()
            .with_hash_offset(*off)
            .with_data_offset(data.offset);
        let vol = Volume::new(dev, dev);
        let Ok(geo) = volume::precheck(&p, &vol) else {
            continue;
        };
        if geo.tree_end_block() * hbs > h.offset + h.size {
            continue;
        }
        if volume::stored_root(&p, &vol).is_ok_and(|r| r.as_ref() == k.root_hash.as_slice()) {
            chosen = Some((*h, p));
            break;
        }
    }
    let (hash, p) = match chosen {
        Some(c) => c,
        None => {
            // No top block matches: verify where the tree should be (the second partition, else appended), so
            // the report names the block.
            let (h, off) = cands
                .first()
                .copied()
                .ok_or_else(|| InspectError::Input("no hash tree".into()))?;
            (
                h,
                base.clone()
                    .with_hash_offset(off)
                    .with_data_offset(data.offset),
            )
        }
    };
    run_verify(
        file,
        path,
        "root",
        "kernel_verity_params",
        p,
        data,
        hash,
        &k.root_hash,
        None,
        None,
        problems,
        progress,
    )
}

impl DiskInspection {
    /// A text report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let t = &self.table;
        let _ = writeln!(
            s,
            "disk:       {} bytes, {} {}",
            self.size,
            match t.kind {
                Kind::Gpt => "GPT",
                Kind::Mbr => "MBR",
            },
            t.disk_id
        );
        for p in &t.partitions {
            let _ = writeln!(
                s,
                "  {:>2}  {:<24} offset {:>12}  size {:>12}{}",
                p.number,
                p.discoverable
                    .map(str::to_string)
                    .unwrap_or_else(|| p.type_id.clone()),
                p.offset,
                p.size,
                p.label
                    .as_deref()
                    .map(|l| format!("  \"{l}\""))
                    .unwrap_or_default()
            );
        }
        if let Some(b) = &self.boot {
            let _ = writeln!(
                s,
                "esp:        partition {} ({}){}",
                b.esp,
                b.fat_type,
                b.xbootldr
                    .map(|x| format!(", xbootldr partition {x}"))
                    .unwrap_or_default()
            );
            if let (Some(p), Some(k)) = (&b.firmware_path, &b.firmware_binary) {
                let _ = writeln!(s, "firmware:   {p} ({k})");
            }
            for e in &b.type2_entries {
                let _ = writeln!(s, "entry:      partition {} {}", e.partition, e.path);
            }
            if let Some(u) = &b.uki {
                let _ = writeln!(
                    s,
                    "uki:        partition {} {} ({})",
                    u.partition, u.path, u.chosen_by
                );
                let _ = writeln!(s, "  sha256        {}", u.sha256);
                let _ = writeln!(s, "  authenticode  {}", u.authenticode_sha256);
                if let Some(v) = &u.stub_version {
                    let _ = writeln!(s, "  stub          systemd-stub {v}");
                }
                if let Some(c) = &u.cmdline {
                    let _ = writeln!(s, "  cmdline       {c}");
                }
                for e in &u.extras {
                    let _ = writeln!(
                        s,
                        "  {:<13} {} ({} bytes, not predicted)",
                        e.kind, e.path, e.size
                    );
                }
            }
        }
        for v in &self.verity {
            let _ = writeln!(
                s,
                "verity:     {} data partition {}, hash partition {} (offset {}), parameters from the {}: {}",
                v.target,
                v.data_partition,
                v.hash_partition,
                v.hash_offset,
                v.params_from,
                if v.verified { "verified" } else { "FAILED" }
            );
            if let Some(r) = &v.expected_root_hash {
                let _ = writeln!(s, "  root hash     {r}");
            }
            let _ = writeln!(
                s,
                "  tree          {} salt {} data blocks {} × {} hash blocks {}",
                v.algorithm,
                if v.salt.is_empty() { "-" } else { &v.salt },
                v.data_blocks,
                v.data_block_size,
                v.hash_block_size
            );
        }
        for g in &self.signatures {
            let _ = writeln!(
                s,
                "signature:  partition {} rootHash {} certificate {} signature {}",
                g.partition,
                g.root_hash.as_deref().unwrap_or("-"),
                g.certificate_fingerprint.as_deref().unwrap_or("-"),
                if g.signature_present {
                    "present"
                } else {
                    "absent"
                }
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note:       {n}");
        }
        for p in &self.problems {
            let _ = writeln!(s, "FAILED:     {}: {}", p.subject, p.reason);
        }
        s
    }
}

/// How to predict the PCRs for [`disk_manifest`].
#[derive(Debug, Clone)]
pub struct ManifestOptions<'a> {
    /// The platform (Secure Boot variables, boot retries, stub generation override).
    pub platform: yardstick_tpm::predict::Platform,
    /// The banks.
    pub banks: Vec<Algorithm>,
    /// The VARS file the Secure Boot variables came from, for the assumptions.
    pub secure_boot_vars: Option<&'a str>,
    /// The guest's name for the disk (`/dev/vda`).
    pub disk_device: &'a str,
    /// The SEV-SNP launch of the firmware that loads the UKI from the disk, if wanted.
    pub snp: Option<crate::SnpParams>,
    /// The firmware PCRs (0-3, 5, 6) of a QEMU + OVMF boot of the UKI from this disk, if wanted, and the disk
    /// as the firmware reads it (the image file or device inspected).
    pub firmware_pcrs: Option<(crate::steps::FirmwarePcrs, &'a std::path::Path)>,
}

/// The manifest `image build` would have written for this disk: the UKI's components (kernel, initrd,
/// os-release, cmdline and the UKI as `.linux`, `.initrd`, `.osrel`, `.cmdline` hold them), the verity section,
/// the TPM prediction for the UKI found, the image's partition table. Call only when
/// [`DiskInspection::ok`].
pub fn disk_manifest(
    insp: &DiskInspection,
    o: &ManifestOptions<'_>,
) -> Result<Manifest, InspectError> {
    let mut m = Manifest::new();
    let root = insp.verity.iter().find(|v| v.target == "root");
    let layout = if insp.table.kind == Kind::Mbr {
        Layout::Kata
    } else {
        Layout::Uki
    };
    if let Some(v) = root
        && let Some(p) = &v.params
    {
        let disk = o.disk_device;
        let dev = DmDevices {
            data: format!("{disk}{}", v.data_partition),
            hash: format!("{disk}{}", v.hash_partition),
            fec: None,
        };
        // The dm table is for the partitions as the guest sees them: offsets relative to each partition.
        let rel = p
            .clone()
            .with_data_offset(0)
            .with_hash_offset(v.hash_offset);
        let k = yardstick_verity::kernel::kernel_params(&rel, &v.root, &dev, None, "dm-verity");
        let kernel_params = match layout {
            Layout::Kata => VerityKernelParams {
                dm_table: k.dm_table.clone(),
                cmdline: format!("{} root=/dev/dm-0", k.dm_mod_create),
                kata_verity_params: k.kata_verity_params.clone(),
            },
            _ => VerityKernelParams {
                dm_table: k.dm_table.clone(),
                cmdline: k.systemd_roothash.clone(),
                kata_verity_params: None,
            },
        };
        m.verity = Some(VerityRefs {
            root_hash: v.root.clone().into(),
            salt: p.salt.as_bytes().to_vec().into(),
            algorithm: p.algorithm,
            hash_type: match p.hash_type {
                yardstick_verity::params::HashType::Normal => 1,
                _ => 0,
            },
            data_block_size: p.data_block_size,
            hash_block_size: p.hash_block_size,
            data_blocks: p.data_blocks,
            hash_offset: v.hash_offset,
            hash_start_block: rel.hash_start_block(),
            superblock: p.superblock,
            uuid: v.superblock_uuid.clone(),
            kernel_params,
        });
    }
    if let (Some(uki), Some(found)) = (
        insp.uki_bytes(),
        insp.boot.as_ref().and_then(|b| b.uki.as_ref()),
    ) {
        let u = Uki::parse(uki).map_err(|e| InspectError::Input(format!("{}: {e}", found.path)))?;
        let file = found.path.rsplit('/').next().unwrap_or(&found.path);
        for (name, section) in [
            ("kernel", ".linux"),
            ("initrd", ".initrd"),
            ("os-release", ".osrel"),
        ] {
            if let Some(b) = u.section_bytes(section) {
                m.components.push(Component::from_bytes(name, None, &b));
            }
        }
        if let Some(c) = u.cmdline() {
            let mut comp = Component::from_bytes("cmdline", None, c.as_bytes());
            comp.text = Some(c);
            m.components.push(comp);
        }
        m.components
            .push(Component::from_bytes("uki", Some(file), uki));
        let mut platform = o.platform.clone();
        if platform.stub_extras.is_empty() {
            platform.stub_extras = insp.stub_extras.clone();
        }
        let step = |e: crate::StepError| InspectError::Input(e.to_string());
        let p = crate::steps::predict_uki(uki, &platform, &o.banks).map_err(step)?;
        let mut refs = crate::steps::tpm_refs(&p, &platform, o.secure_boot_vars);
        if let Some((fw, disk)) = &o.firmware_pcrs {
            crate::steps::add_firmware_pcrs(&mut refs, &p, fw, Some(disk), &o.banks)
                .map_err(step)?;
        }
        m.tpm = Some(refs);
    } else if o.firmware_pcrs.is_some() {
        return Err(InspectError::Input(
            "--firmware: the disk has no UKI the firmware boots: the firmware PCRs are modelled for a UKI \
             loaded from the disk"
                .into(),
        ));
    }
    if let Some(s) = &o.snp {
        if layout != Layout::Uki {
            return Err(InspectError::Input(
                "--ovmf: a Kata disk is booted directly: its launch digest needs the kernel and initrd, which are not on the disk (use `yardstick snp measure`)".into(),
            ));
        }
        let bytes =
            yardstick_common::fs::read_input(&s.ovmf, yardstick_common::fs::InputKind::FIRMWARE)
                .map_err(|e| {
                    InspectError::Input(format!("{}: {}", s.ovmf.display(), e.into_io()))
                })?;
        let name = s.ovmf.file_name().map(|f| f.to_string_lossy().into_owned());
        let c = Component::from_bytes("firmware", name.as_deref(), &bytes);
        let fw = crate::steps::snp_preflight(s, bytes, false)
            .map_err(|e| InspectError::Input(e.to_string()))?;
        m.components.insert(0, c);
        m.snp.push(
            crate::steps::snp_launch(s, &fw, None, &yardstick_common::progress::NoProgress)
                .map_err(|e| InspectError::Input(e.to_string()))?,
        );
    }
    m.image = Some(ImageInfo {
        layout,
        filesystem: None,
        filesystem_uuid: None,
        size: insp.size,
        source_date_epoch: 0,
        partition_table: Some(PartitionTable {
            kind: match insp.table.kind {
                Kind::Gpt => TableKind::Gpt,
                Kind::Mbr => TableKind::Mbr,
            },
            disk_id: insp.table.disk_id.clone(),
            sector_size: table::SECTOR as u32,
            partitions: insp
                .table
                .partitions
                .iter()
                .filter_map(|p| {
                    let role = role_of(insp, p)?;
                    Some(Partition {
                        number: p.number,
                        role,
                        type_id: p.type_id.clone(),
                        uuid: p.uuid.clone(),
                        label: p.label.clone(),
                        offset: p.offset,
                        size: p.size,
                    })
                })
                .collect(),
        }),
    });
    m.validate()
        .map_err(|e| InspectError::Input(format!("manifest: {e}")))?;
    Ok(m)
}

/// The manifest role of a partition: by its discoverable type, or (MBR) by the verity volume found on it.
fn role_of(insp: &DiskInspection, p: &FoundPartition) -> Option<PartitionRole> {
    if let Some(t) = p.dps {
        return match t.designator {
            Designator::Esp => Some(PartitionRole::Esp),
            Designator::Root => Some(PartitionRole::Root),
            Designator::RootVerity => Some(PartitionRole::RootVerity),
            _ => None,
        };
    }
    let v = insp.verity.iter().find(|v| v.target == "root")?;
    if v.data_partition == p.number {
        Some(PartitionRole::Root)
    } else if v.hash_partition == p.number {
        Some(PartitionRole::RootVerity)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries that share a cluster chain repeat one file: what is read for the prediction adds up to at most the
    /// partition's data area, then the disk is refused (one error naming the file), never read without end.
    #[test]
    fn extras_read_at_most_the_partition() {
        let mut fat = crate::fat::FatBuilder::new(1, "ESP");
        fat.add_file("X/A.RAW", crate::fat::FileSource::Bytes(vec![7; 300_000]))
            .unwrap();
        let size = fat.min_size().unwrap();
        let f = tempfile::tempfile().unwrap();
        f.set_len(size).unwrap();
        fat.write(&f, 0, size).unwrap();
        let mut d = vec![0u8; size as usize];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut d, 0).unwrap();
        let disk: &[u8] = &d;
        let vol = fatfs::Volume::open(&disk, 0, size).unwrap();
        let e = vol.lookup("X/A.RAW").unwrap().unwrap();
        let mut budget = vol.data_bytes();
        assert!(budget >= 300_000 && budget <= size);
        let mut reads = 0u64;
        let err = loop {
            match read_extra(&vol, &e, "X", &mut budget) {
                Ok(f) => assert_eq!(f.data.len(), 300_000),
                Err(err) => break err.to_string(),
            }
            reads += 1;
            assert!(
                reads <= size / 300_000,
                "{reads} reads of a {size}-byte volume"
            );
        };
        assert!(
            err.contains("X/A.RAW") && err.contains("more than the partition holds"),
            "{err}"
        );
    }

    #[test]
    fn globs_like_fnmatch() {
        assert!(glob_match("debian-*.efi", "debian-6.1.0.efi"));
        assert!(glob_match("DEBIAN-*", "debian-x"));
        assert!(!glob_match("debian-*.efi", "fedora.efi"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*x*", "abxcd"));
        assert!(!glob_match("*x*y", "abxcd"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("[x", "[x"));
        // Many stars against a long near-miss: answered at once, not in exponential time.
        let pattern = "*a".repeat(30) + "b";
        let name = "a".repeat(255);
        let t = std::time::Instant::now();
        assert!(!glob_match(&pattern, &name));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn versions_order_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("linux-6.10.efi", "linux-6.9.efi"), Greater);
        assert_eq!(version_cmp("a-1", "a-1"), Equal);
        assert_eq!(version_cmp("a-01", "a-2"), Less);
    }

    #[test]
    fn loader_conf_default() {
        assert_eq!(
            loader_default(b"timeout 3\ndefault  debian-*  \n#default x\n").as_deref(),
            Some("debian-*")
        );
        assert_eq!(loader_default(b"timeout 3\n"), None);
    }

    #[test]
    fn extras_by_suffix() {
        assert_eq!(extra_kind("x.addon.efi", true), Some("addon"));
        assert_eq!(extra_kind("A.CRED", false), Some("credential"));
        assert_eq!(extra_kind("etc.confext.raw", true), Some("confext"));
        assert_eq!(extra_kind("tools.raw", true), Some("sysext"));
        assert_eq!(extra_kind("tools.raw", false), None);
    }
}
