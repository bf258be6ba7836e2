//! The reference-value manifest: one JSON document per image, covering every trust path that applies to it.
//!
//! The schema is documented for people in `docs/manifest.md`; this module is its single definition. Parse with
//! [`Manifest::from_json`], which checks the version and every cross-field constraint (digest lengths against
//! their algorithms, block sizes, PCR indices), so that code downstream works on validated values only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use yardstick_common::hash::Algorithm;
use yardstick_snp::sev_mode::SevMode;
use yardstick_snp::vmm_types::VmmType;
use yardstick_tpm::PcrBanks;

use crate::hexfmt::{HexArray, HexBytes, digest_len_ok};

/// The manifest schema version this crate writes and the only one it reads. Bumped on any change a reader
/// of the previous version would misinterpret (a renamed or re-typed field); new optional fields do not bump it.
pub const MANIFEST_VERSION: u32 = 1;

/// The `generator` string written by this build.
pub const GENERATOR: &str = concat!("yardstick ", env!("CARGO_PKG_VERSION"));

/// Why a manifest was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON, or a field of the wrong type. (Not a `#[source]`: the message already carries it, and
    /// error chains printed with `{:#}` would repeat it.)
    #[error("not a yardstick manifest: {0}")]
    Json(serde_json::Error),
    /// A `version` this build does not know.
    #[error(
        "manifest version {found} is not supported (this yardstick reads version {MANIFEST_VERSION})"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// A value that is well-formed JSON but inconsistent or out of range.
    #[error("{field}: {reason}")]
    Invalid {
        /// JSON path of the offending field, e.g. `verity.root_hash`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<serde_json::Error> for ManifestError {
    fn from(e: serde_json::Error) -> ManifestError {
        ManifestError::Json(e)
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Reference values for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema version, [`MANIFEST_VERSION`].
    pub version: u32,
    /// The tool that wrote the manifest, e.g. `yardstick 0.1.0`. Informational.
    pub generator: String,
    /// The disk image (absent for manifests that only describe boot components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    /// SHA-256 and SHA-384 of every input and intermediate artefact, in build order.
    #[serde(default)]
    pub components: Vec<Component>,
    /// dm-verity parameters of the root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verity: Option<VerityRefs>,
    /// SEV / SEV-SNP launch digests for direct boot (OVMF + kernel + initrd + cmdline), one per parameter set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snp: Vec<SnpLaunch>,
    /// vTPM measured boot: predicted PCRs and the measurements that produce them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmRefs>,
    /// Intel TDX: MRTD and RTMR0-2 of a direct boot, one per VM configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tdx: Vec<TdxLaunch>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest::new()
    }
}

impl Manifest {
    /// An empty manifest of the current version.
    pub fn new() -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            generator: GENERATOR.to_string(),
            image: None,
            components: Vec::new(),
            verity: None,
            snp: Vec::new(),
            tpm: None,
            tdx: Vec::new(),
        }
    }

    /// Parses and validates a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        // Read the version first so that a future manifest gets "unsupported version", not a confusing
        // field error.
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly = serde_json::from_slice(bytes)?;
        if v.version != MANIFEST_VERSION {
            return Err(ManifestError::UnsupportedVersion { found: v.version });
        }
        let m: Manifest = serde_json::from_slice(bytes)?;
        m.validate()?;
        Ok(m)
    }

    /// Pretty JSON with a trailing newline; field order is fixed by the types, so equal manifests serialize to
    /// equal bytes.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string and no custom serializer errors.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The component called `name`, if present.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Records a TDX prediction (`tdx measure`'s result): its `tdx` entry ([`TdxLaunch::from_measurement`]) and
    /// the TDVF as the component `tdx-firmware` (after SEV-SNP's `firmware`, when there is one; once, when
    /// several configurations of the same firmware are recorded). What `image build` and `refvals create` do
    /// with `--tdx-firmware`.
    pub fn push_tdx(
        &mut self,
        firmware: Component,
        m: &yardstick_tdx::TdxMeasurement,
    ) -> Result<(), ManifestError> {
        let launch = TdxLaunch::from_measurement(m)?;
        match self.component(TDX_FIRMWARE) {
            Some(c) if *c == firmware => {}
            Some(_) => {
                return Err(invalid(
                    "components",
                    "a tdx-firmware component of another file is already recorded",
                ));
            }
            None => {
                let at = usize::from(self.component("firmware").is_some());
                self.components.insert(at, firmware);
            }
        }
        self.tdx.push(launch);
        Ok(())
    }

    /// Checks every constraint the types alone do not express.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.version != MANIFEST_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                found: self.version,
            });
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in self.components.iter().enumerate() {
            if c.name.is_empty() {
                return Err(invalid(format!("components[{i}].name"), "empty"));
            }
            if !names.insert(c.name.as_str()) {
                return Err(invalid(
                    format!("components[{i}].name"),
                    format!("duplicate component {:?}", c.name),
                ));
            }
        }
        if let Some(v) = &self.verity {
            v.validate()?;
        }
        for (i, s) in self.snp.iter().enumerate() {
            s.validate(&format!("snp[{i}]"))?;
        }
        if let Some(t) = &self.tpm {
            t.validate()?;
        }
        for (i, t) in self.tdx.iter().enumerate() {
            t.validate(&format!("tdx[{i}]"))?;
        }
        if let Some(img) = &self.image {
            img.validate()?;
        }
        Ok(())
    }
}

/// The component name of the TDX firmware (`--tdx-firmware`).
pub const TDX_FIRMWARE: &str = "tdx-firmware";

/// How the image is laid out (`yardstick image build --layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// GPT: ESP with a UKI, root partition, verity hash partition (systemd Discoverable Partitions).
    Uki,
    /// MBR: rootfs partition and hash partition, no superblock (Kata Containers osbuilder).
    Kata,
    /// No disk: the tree packed into a newc cpio initrd.
    Initrd,
}

/// Root filesystem type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsType {
    /// EROFS (erofs-utils `mkfs.erofs`).
    Erofs,
    /// ext4 (e2fsprogs `mkfs.ext4 -d`).
    Ext4,
    /// SquashFS (squashfs-tools `mksquashfs`).
    Squashfs,
}

/// Partition table kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    /// GUID Partition Table (UEFI spec chapter 5).
    Gpt,
    /// DOS / MBR partition table.
    Mbr,
}

/// The disk image and how it is laid out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// Layout used to build it.
    pub layout: Layout,
    /// Root filesystem type (absent for the `initrd` layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FsType>,
    /// UUID given to the root filesystem (ext4, erofs; squashfs has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem_uuid: Option<String>,
    /// Size of the output file in bytes.
    pub size: u64,
    /// `SOURCE_DATE_EPOCH` used for every timestamp written (0 when the variable was unset).
    pub source_date_epoch: u64,
    /// Partition table (absent for the `initrd` layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_table: Option<PartitionTable>,
}

impl ImageInfo {
    fn validate(&self) -> Result<(), ManifestError> {
        if let Some(t) = &self.partition_table {
            for (i, p) in t.partitions.iter().enumerate() {
                let end = p.offset.checked_add(p.size);
                if end.is_none_or(|e| e > self.size) {
                    return Err(invalid(
                        format!("image.partition_table.partitions[{i}]"),
                        format!("extends past the end of the {}-byte image", self.size),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A partition table and its entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionTable {
    /// GPT or MBR.
    pub kind: TableKind,
    /// GPT disk GUID (`8-4-4-4-12` lower-case) or MBR disk signature (`0x` + 8 hex digits).
    pub disk_id: String,
    /// Logical sector size in bytes (512).
    pub sector_size: u32,
    /// Entries in table order.
    pub partitions: Vec<Partition>,
}

/// What a partition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionRole {
    /// EFI System Partition (FAT) with the UKI.
    Esp,
    /// The root filesystem (dm-verity data device).
    Root,
    /// The dm-verity hash tree of the root filesystem.
    RootVerity,
    /// A root-hash signature (systemd `Verity=signature`).
    RootVeritySig,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based partition number (`/dev/vda<number>`).
    pub number: u32,
    /// What it holds.
    pub role: PartitionRole,
    /// GPT partition type GUID (lower case) or MBR type byte (`0x83`).
    #[serde(rename = "type")]
    pub type_id: String,
    /// GPT unique partition GUID (lower case, as `/dev/disk/by-partuuid/` shows it); absent for MBR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// GPT partition name; absent for MBR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Byte offset from the start of the disk.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A file that went into the image or its boot chain, by digest. `name` is the role (`kernel`, `initrd`,
/// `cmdline`, `uki`, `stub`, `firmware`, `rootfs`, `verity-hash`, `esp`, `disk`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Role of the component, unique within a manifest.
    pub name: String,
    /// File name the component was read from or written to (no directory: manifests do not depend on where
    /// the build ran). Absent for values given on the command line (`cmdline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: HexArray<32>,
    /// SHA-384 of the bytes.
    pub sha384: HexArray<48>,
    /// The bytes themselves when they are short text (the kernel command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Component {
    /// Digests `bytes` under the role `name`.
    pub fn from_bytes(name: &str, file: Option<&str>, bytes: &[u8]) -> Component {
        let s256 = Algorithm::Sha256.digest(bytes);
        let s384 = Algorithm::Sha384.digest(bytes);
        Component {
            name: name.to_string(),
            file: file.map(str::to_string),
            size: bytes.len() as u64,
            sha256: HexArray::from_digest(&s256).unwrap_or(HexArray([0; 32])),
            sha384: HexArray::from_digest(&s384).unwrap_or(HexArray([0; 48])),
            text: None,
        }
    }

    /// Digests everything `reader` yields under the role `name`, streaming.
    pub fn from_reader(
        name: &str,
        file: Option<&str>,
        mut reader: impl std::io::Read,
    ) -> std::io::Result<Component> {
        let mut h256 = Algorithm::Sha256.hasher();
        let mut h384 = Algorithm::Sha384.hasher();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            h256.update(chunk);
            h384.update(chunk);
            size += n as u64;
        }
        Ok(Component {
            name: name.to_string(),
            file: file.map(str::to_string),
            size,
            sha256: HexArray::from_digest(&h256.finish()).unwrap_or(HexArray([0; 32])),
            sha384: HexArray::from_digest(&h384.finish()).unwrap_or(HexArray([0; 48])),
            text: None,
        })
    }
}

/// dm-verity parameters: everything `veritysetup open` / the dm table / the kernel command line needs, and
/// what `veritysetup format` printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerityRefs {
    /// Root hash (the value on the measured command line).
    pub root_hash: HexBytes,
    /// Salt; `""` for none (veritysetup's `-`).
    pub salt: HexBytes,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Hash format: 1 (normal) or 0 (Chrome OS).
    pub hash_type: u32,
    /// Data block size in bytes.
    pub data_block_size: u32,
    /// Hash block size in bytes.
    pub hash_block_size: u32,
    /// Number of data blocks covered.
    pub data_blocks: u64,
    /// Byte offset of the superblock (or of the tree, without superblock) on the hash device.
    pub hash_offset: u64,
    /// First hash-tree block on the hash device, in hash blocks (the dm table's `hash_start`).
    pub hash_start_block: u64,
    /// Whether a veritysetup superblock precedes the tree.
    pub superblock: bool,
    /// Superblock UUID, when a superblock is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// How the kernel is told about the device.
    pub kernel_params: VerityKernelParams,
}

impl VerityRefs {
    fn validate(&self) -> Result<(), ManifestError> {
        if !digest_len_ok(self.algorithm, &self.root_hash) {
            return Err(invalid(
                "verity.root_hash",
                format!(
                    "{} bytes, {} needs {}",
                    self.root_hash.0.len(),
                    self.algorithm,
                    self.algorithm.digest_len()
                ),
            ));
        }
        if self.salt.0.len() > 256 {
            return Err(invalid("verity.salt", "longer than 256 bytes"));
        }
        if self.hash_type > 1 {
            return Err(invalid("verity.hash_type", "must be 0 or 1"));
        }
        for (field, v) in [
            ("verity.data_block_size", self.data_block_size),
            ("verity.hash_block_size", self.hash_block_size),
        ] {
            if !v.is_power_of_two() || !(512..=512 * 1024).contains(&v) {
                return Err(invalid(
                    field,
                    format!("{v} is not a power of two between 512 and 524288"),
                ));
            }
        }
        if !self.hash_offset.is_multiple_of(512) {
            return Err(invalid("verity.hash_offset", "not a multiple of 512"));
        }
        Ok(())
    }
}

/// Kernel command-line fragments and dm tables for the verity device. Each is exactly what goes on the
/// command line (or to `dmsetup create --table`), so a relying party can compare strings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VerityKernelParams {
    /// The dm-verity table (`0 <sectors> verity 1 <data> <hash> ...`) with the device names of this layout.
    pub dm_table: String,
    /// What the build appended to the kernel command line (`roothash=<hex>` for `uki`;
    /// `dm-mod.create="..." root=/dev/dm-0` for `kata`).
    pub cmdline: String,
    /// Kata Containers `kernel_verity_params` (`root_hash=...,salt=...,data_blocks=...,...`), for `kata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kata_verity_params: Option<String>,
}

/// One launch digest and every parameter that produced it (sev-snp-measure's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnpLaunch {
    /// SEV, SEV-ES or SEV-SNP (`sev`, `sev-es`, `snp`: [`SevMode`]'s serde names; an SVSM launch cannot be
    /// recorded).
    pub mode: SevMode,
    /// Launch digest (48 bytes for SNP, 32 for SEV / SEV-ES).
    pub measurement: HexBytes,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// QEMU CPU model name the signature was taken from (`EPYC-v4`), if given by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpu_type: Option<String>,
    /// CPUID signature (family/model/stepping) written into the VMSAs.
    pub vcpu_sig: u32,
    /// Hypervisor (`qemu`, `ec2`, `gce`).
    pub vmm_type: VmmType,
    /// SEV_FEATURES of the VMSAs (SNP guest features).
    pub guest_features: u64,
    /// Whether the kernel/initrd/cmdline hashes table was measured (direct boot with `kernel-hashes=on`).
    pub kernel_hashes: bool,
    /// The components the digest covers, by [`Component::name`] (`firmware`, `kernel`, `initrd`, `cmdline`).
    pub components: Vec<String>,
}

impl SnpLaunch {
    fn validate(&self, field: &str) -> Result<(), ManifestError> {
        if self.mode == SevMode::SevSnpSvsm {
            return Err(invalid(
                format!("{field}.mode"),
                "an SEV-SNP launch with an SVSM cannot be recorded in a manifest",
            ));
        }
        if self.measurement.0.len() != self.mode.digest_len() {
            return Err(invalid(
                format!("{field}.measurement"),
                format!(
                    "{} bytes, {} launch digests have {}",
                    self.measurement.0.len(),
                    self.mode.title(),
                    self.mode.digest_len()
                ),
            ));
        }
        if self.vcpus == 0 {
            return Err(invalid(format!("{field}.vcpus"), "must be at least 1"));
        }
        Ok(())
    }
}

/// The order in which the VMM issues TDH.MEM.PAGE.ADD and TDH.MR.EXTEND for the TDVF sections, which MRTD
/// depends on: `yardstick_tdx`'s [`PageOrder`](yardstick_tdx::PageOrder) (`single-pass`, `two-pass`), the one
/// definition.
pub use yardstick_tdx::PageOrder as MrtdOrder;

/// The TDX measurements of one VM configuration: MRTD (the TDVF firmware as the TDX module measured it) and
/// the RTMRs of its boot chain (`None` where not predicted). All values are SHA-384 (48 bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TdxLaunch {
    /// MRTD.
    pub mrtd: HexArray<48>,
    /// RTMR0: firmware configuration (TD HOB, CFV, ACPI tables, boot variables).
    #[serde(default)]
    pub rtmr0: Option<HexArray<48>>,
    /// RTMR1: the kernel (boot loader) and the firmware's boot events.
    #[serde(default)]
    pub rtmr1: Option<HexArray<48>>,
    /// RTMR2: the kernel command line and the initrd.
    #[serde(default)]
    pub rtmr2: Option<HexArray<48>>,
    /// Guest memory, MiB.
    pub memory_mib: u64,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// The page order MRTD was computed for.
    pub mrtd_order: MrtdOrder,
    /// The QEMU version the RTMRs were modelled for, if they depend on it.
    #[serde(default)]
    pub qemu_version: Option<String>,
}

impl TdxLaunch {
    fn validate(&self, field: &str) -> Result<(), ManifestError> {
        if self.vcpus == 0 {
            return Err(invalid(format!("{field}.vcpus"), "must be at least 1"));
        }
        if self.memory_mib == 0 {
            return Err(invalid(format!("{field}.memory_mib"), "must be at least 1"));
        }
        Ok(())
    }

    /// The manifest entry of a prediction (`tdx measure`'s result): MRTD, the RTMRs it computed (the others
    /// `None`), the configuration, and the QEMU version when the RTMRs depend on it (a direct boot). The one
    /// conversion, used by `image build` and `refvals create`.
    pub fn from_measurement(m: &yardstick_tdx::TdxMeasurement) -> Result<TdxLaunch, ManifestError> {
        fn reg(name: &str, hex: &str) -> Result<HexArray<48>, ManifestError> {
            yardstick_common::hex::decode(hex)
                .ok()
                .and_then(|b| <[u8; 48]>::try_from(b).ok())
                .map(HexArray)
                .ok_or_else(|| invalid(format!("tdx.{name}"), "not 48 bytes of hex"))
        }
        let opt = |name: &str, v: &Option<String>| v.as_deref().map(|h| reg(name, h)).transpose();
        Ok(TdxLaunch {
            mrtd: reg("mrtd", &m.mrtd)?,
            rtmr0: opt("rtmr0", &m.rtmr0)?,
            rtmr1: opt("rtmr1", &m.rtmr1)?,
            rtmr2: opt("rtmr2", &m.rtmr2)?,
            memory_mib: m.config.memory_mib,
            vcpus: m.config.vcpus,
            mrtd_order: m.config.mrtd_order,
            qemu_version: m
                .config
                .kernel_load
                .is_some()
                .then(|| m.config.qemu_version.clone()),
        })
    }

    /// The predicted RTMRs 0-2, `None` where not predicted.
    pub fn rtmrs(&self) -> [Option<&HexArray<48>>; 3] {
        [
            self.rtmr0.as_ref(),
            self.rtmr1.as_ref(),
            self.rtmr2.as_ref(),
        ]
    }
}

/// vTPM reference values for a UKI booted by OVMF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TpmRefs {
    /// Predicted PCR values as firmware and systemd-stub leave them, before any userspace phase measurement
    /// (PCR 11 here is the stub-only value, phase `""`). Same JSON shape as `yardstick pcr predict`.
    pub pcrs: PcrBanks,
    /// PCR 11 after each boot phase path (systemd-pcrphase), in boot order; the first entry (`""`) equals
    /// `pcrs`' PCR 11.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pcr11_phases: Vec<PhaseValue>,
    /// Every measurement behind the predictions, in the order the TPM receives them; the input for
    /// `refvals export --format pcrlock`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<MeasuredEvent>,
    /// What the prediction assumes about the platform (firmware, Secure Boot state, boot order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
    /// PCRs the firmware or the stub measures that are not in `pcrs`, with why (`{"1": "<why>"}`): written
    /// with the firmware PCRs (`--firmware`), where what is not modelled for the given firmware and VM is
    /// refused, never guessed. Absent otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_predicted: BTreeMap<u32, String>,
}

impl TpmRefs {
    fn validate(&self) -> Result<(), ManifestError> {
        for (i, p) in self.pcr11_phases.iter().enumerate() {
            if p.pcrs.iter().any(|(_, pcr, _)| pcr != 11) {
                return Err(invalid(
                    format!("tpm.pcr11_phases[{i}].pcrs"),
                    "holds a PCR other than 11",
                ));
            }
        }
        for pcr in self.not_predicted.keys() {
            if *pcr > yardstick_tpm::pcr::MAX_PCR {
                return Err(invalid(
                    format!("tpm.not_predicted.{pcr}"),
                    format!("{pcr} is not a PCR index (0..=23)"),
                ));
            }
            if self.pcrs.iter().any(|(_, p, _)| p == *pcr) {
                return Err(invalid(
                    format!("tpm.not_predicted.{pcr}"),
                    "the PCR also has a predicted value",
                ));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if e.pcr > yardstick_tpm::pcr::MAX_PCR {
                return Err(invalid(
                    format!("tpm.events[{i}].pcr"),
                    format!("{} is not a PCR index (0..=23)", e.pcr),
                ));
            }
            if e.digests.is_empty() {
                return Err(invalid(format!("tpm.events[{i}].digests"), "empty"));
            }
            for (alg, d) in &e.digests {
                if !digest_len_ok(*alg, d) {
                    return Err(invalid(
                        format!("tpm.events[{i}].digests.{alg}"),
                        format!("{} bytes, {alg} needs {}", d.0.len(), alg.digest_len()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// PCR 11 after a phase path such as `enter-initrd:leave-initrd:sysinit:ready`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseValue {
    /// Colon-separated phase words measured after the stub (`""` for none).
    pub phase: String,
    /// PCR 11 per bank.
    pub pcrs: PcrBanks,
}

/// One measurement (TPM2_PCR_Extend) in every bank predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredEvent {
    /// PCR extended.
    pub pcr: u32,
    /// Which boot component makes the measurement (`firmware`, `uki`, `kernel`, `phase`), for grouping
    /// into pcrlock components.
    pub component: String,
    /// What was measured (`.linux section`, `EV_EFI_BOOT_SERVICES_APPLICATION`, `enter-initrd`).
    pub description: String,
    /// The digest extended, per bank.
    pub digests: BTreeMap<Algorithm, HexBytes>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m = Manifest::new();
        m.components
            .push(Component::from_bytes("cmdline", None, b"console=ttyS0"));
        m.verity = Some(VerityRefs {
            root_hash: HexBytes(vec![0xab; 32]),
            salt: HexBytes(vec![1; 32]),
            algorithm: Algorithm::Sha256,
            hash_type: 1,
            data_block_size: 4096,
            hash_block_size: 4096,
            data_blocks: 10,
            hash_offset: 0,
            hash_start_block: 1,
            superblock: true,
            uuid: None,
            kernel_params: VerityKernelParams::default(),
        });
        m
    }

    #[test]
    fn round_trip() {
        let m = sample();
        let j = m.to_json();
        let back = Manifest::from_json(j.as_bytes()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_json(), j);
    }

    /// The `tdx` section: absent from the JSON when empty (existing manifests keep their bytes), written
    /// with null RTMRs and kebab-case page order, read back equal; a short register or 0 vCPUs is refused.
    #[test]
    fn tdx_section() {
        let m = sample();
        assert!(!m.to_json().contains("\"tdx\""));
        let mut m = sample();
        m.tdx.push(TdxLaunch {
            mrtd: HexArray([0xab; 48]),
            rtmr0: None,
            rtmr1: Some(HexArray([1; 48])),
            rtmr2: None,
            memory_mib: 2048,
            vcpus: 2,
            mrtd_order: MrtdOrder::TwoPass,
            qemu_version: Some("10.0".into()),
        });
        let j = m.to_json();
        assert!(j.contains("\"rtmr0\": null"), "{j}");
        assert!(j.contains("\"mrtd_order\": \"two-pass\""), "{j}");
        assert!(j.contains(&"ab".repeat(48)), "{j}");
        assert_eq!(Manifest::from_json(j.as_bytes()).unwrap(), m);
        let short = j.replace(&"ab".repeat(48), &"ab".repeat(47));
        assert!(Manifest::from_json(short.as_bytes()).is_err());
        let zero = j.replace("\"vcpus\": 2", "\"vcpus\": 0");
        let e = Manifest::from_json(zero.as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "tdx[0].vcpus: must be at least 1");
        // RTMRs and qemu_version may be left out: null.
        let sparse = serde_json::json!({"version": 1, "generator": "g", "tdx": [
            {"mrtd": "00".repeat(48), "memory_mib": 1, "vcpus": 1, "mrtd_order": "single-pass"}]});
        let m = Manifest::from_json(sparse.to_string().as_bytes()).unwrap();
        assert_eq!(m.tdx[0].rtmrs(), [None, None, None]);
    }

    /// `tpm.not_predicted`: absent when empty (manifests without the firmware PCRs keep their bytes), read
    /// back with numeric keys; a PCR above 23, or one that also has a value, is refused.
    #[test]
    fn tpm_not_predicted() {
        let tpm = |not_predicted: BTreeMap<u32, String>| {
            let mut pcrs = PcrBanks::new();
            pcrs.set(4, Algorithm::Sha256.digest(b"4"));
            let mut m = sample();
            m.tpm = Some(TpmRefs {
                pcrs,
                pcr11_phases: vec![],
                events: vec![],
                assumptions: vec![],
                not_predicted,
            });
            m
        };
        let j = tpm(BTreeMap::new()).to_json();
        assert!(!j.contains("not_predicted"), "{j}");
        let m = tpm(BTreeMap::from([(1, "why".to_string())]));
        let j = m.to_json();
        assert!(
            j.contains("\"not_predicted\": {\n      \"1\": \"why\""),
            "{j}"
        );
        assert_eq!(Manifest::from_json(j.as_bytes()).unwrap(), m);
        let e = Manifest::from_json(j.replace("\"1\": \"why\"", "\"24\": \"why\"").as_bytes())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tpm.not_predicted.24: 24 is not a PCR index (0..=23)"
        );
        let e = Manifest::from_json(j.replace("\"1\": \"why\"", "\"4\": \"why\"").as_bytes())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tpm.not_predicted.4: the PCR also has a predicted value"
        );
    }

    #[test]
    fn rejects_wrong_version_and_lengths() {
        let mut m = sample();
        m.version = 2;
        let e = Manifest::from_json(serde_json::to_vec(&m).unwrap().as_slice()).unwrap_err();
        assert!(
            matches!(e, ManifestError::UnsupportedVersion { found: 2 }),
            "{e}"
        );

        let mut m = sample();
        if let Some(v) = m.verity.as_mut() {
            v.root_hash = HexBytes(vec![0; 31]);
        }
        let e = Manifest::from_json(m.to_json().as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("verity.root_hash"), "{e}");

        let mut m = sample();
        if let Some(v) = m.verity.as_mut() {
            v.data_block_size = 3000;
        }
        assert!(Manifest::from_json(m.to_json().as_bytes()).is_err());

        let mut m = sample();
        m.components.push(m.components[0].clone());
        assert!(Manifest::from_json(m.to_json().as_bytes()).is_err());

        assert!(matches!(
            Manifest::from_json(b"{\"version\":1}"),
            Err(ManifestError::Json(_))
        ));
        assert!(Manifest::from_json(b"[]").is_err());
    }

    /// The `snp` section's spellings, as manifests written before the mode and VMM types moved to
    /// yardstick-snp have them: they parse, and serialize back byte for byte.
    #[test]
    fn snp_section_spellings() {
        let entry = |mode: &str, len: usize, vmm: &str| {
            format!(
                r#"    {{
      "mode": "{mode}",
      "measurement": "{}",
      "vcpus": 2,
      "vcpu_type": "EPYC-v4",
      "vcpu_sig": 8392466,
      "vmm_type": "{vmm}",
      "guest_features": 1,
      "kernel_hashes": true,
      "components": [
        "firmware",
        "kernel"
      ]
    }}"#,
                "ab".repeat(len)
            )
        };
        let entries = [
            entry("snp", 48, "qemu"),
            entry("sev-es", 32, "ec2"),
            entry("sev", 32, "qemu"),
            entry("snp", 48, "gce"),
        ];
        let j = format!(
            "{{\n  \"version\": 1,\n  \"generator\": \"yardstick 0.1.0\",\n  \"components\": [],\n  \"snp\": [\n{}\n  ]\n}}\n",
            entries.join(",\n")
        );
        let m = Manifest::from_json(j.as_bytes()).unwrap();
        let modes: Vec<_> = m.snp.iter().map(|s| (s.mode, s.vmm_type)).collect();
        assert_eq!(
            modes,
            [
                (SevMode::SevSnp, VmmType::Qemu),
                (SevMode::SevEs, VmmType::Ec2),
                (SevMode::Sev, VmmType::Qemu),
                (SevMode::SevSnp, VmmType::Gce),
            ]
        );
        assert_eq!(m.to_json(), j);

        // Other spellings of the same modes (sev-snp-measure's --mode names, upper case) are not manifest
        // spellings, and an SVSM launch has none.
        for (from, to) in [
            ("\"mode\": \"snp\"", "\"mode\": \"SNP\""),
            ("\"mode\": \"snp\"", "\"mode\": \"snp:svsm\""),
            ("\"mode\": \"sev-es\"", "\"mode\": \"seves\""),
            ("\"vmm_type\": \"qemu\"", "\"vmm_type\": \"QEMU\""),
        ] {
            let bad = j.replacen(from, to, 1);
            let e = Manifest::from_json(bad.as_bytes()).unwrap_err();
            assert!(matches!(e, ManifestError::Json(_)), "{to}: {e}");
            assert!(e.to_string().contains("unknown variant"), "{to}: {e}");
        }
        let mut svsm = m.clone();
        svsm.snp[0].mode = SevMode::SevSnpSvsm;
        assert_eq!(
            svsm.validate().unwrap_err().to_string(),
            "snp[0].mode: an SEV-SNP launch with an SVSM cannot be recorded in a manifest"
        );
        let mut short = m;
        short.snp[1].measurement = HexBytes(vec![0; 48]);
        assert_eq!(
            short.validate().unwrap_err().to_string(),
            "snp[1].measurement: 48 bytes, SEV-ES launch digests have 32"
        );
    }

    /// SHA-256 / SHA-384 of "abc" are the FIPS 180-2 appendix vectors.
    #[test]
    fn component_digests() {
        let c = Component::from_bytes("x", Some("f"), b"abc");
        assert!(c.sha256.to_hex().starts_with("ba7816bf"));
        assert!(c.sha384.to_hex().starts_with("cb00753f"));
        let r = Component::from_reader("x", Some("f"), &b"abc"[..]).unwrap();
        assert_eq!(r, c);
    }
}
