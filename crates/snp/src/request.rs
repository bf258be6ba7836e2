//! The `yardstick snp` commands as sev-snp-measure 0.0.13 defines them: the flags as given, their parsing and
//! compatibility rules, and typed results.
//!
//! A [`MeasureRequest`] holds `snp measure`'s flags in sev-snp-measure's vocabulary, as strings: reading them
//! the way its argparse does (Python's `int(s, 0)` and `int(s)`, [`parse_auto_int`], [`parse_dec_int`]) is part
//! of the compatibility. [`measure`] checks them, always in the same order (so the first error reported for a
//! command line with several mistakes does not change), opens the inputs, measures and returns a
//! [`MeasureOutcome`], which serializes to `--json`'s object and renders the plain output
//! ([`MeasureOutcome::to_text`]). [`id_block`] and [`ovmf_metadata`] do the same for `snp id-block`
//! (snp-create-id-block's flags) and `snp ovmf-metadata`.
//!
//! Every [`RequestError`] names the flag or file it is about; its sources carry the cause.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;
use yardstick_common::fs::{InputFile, InputKind, read_input_text};
use yardstick_common::hex::{self, HexError};
use yardstick_common::progress::Progress;

use crate::gctx::LaunchDigest;
use crate::guest::{self, DirectBoot, Firmware, Guest, MeasureError, Measurement, Subject, Svsm};
use crate::id_block::{IdBlock, IdBlockError, IdKey, IdOutput};
use crate::ovmf::{Ovmf, OvmfError, OvmfMetadata};
use crate::sev_hashes::Blob;
use crate::sev_mode::{SevMode, UnknownMode};
use crate::vcpu_types::{self, Vcpu, VcpuError, VcpuSpec};
use crate::vmm_types::{UnknownVmmType, VmmType};

/// The mode that hashes the firmware pages alone (what `--snp-ovmf-hash` takes back).
pub const OVMF_HASH_MODE: &str = "snp:ovmf-hash";

/// `snp measure`'s flags as given on the command line (sev-snp-measure 0.0.13's, plus hash-only inputs).
///
/// [`Default`] gives sev-snp-measure's defaults: VMM type `QEMU`, guest features `0x1`, output format `hex`.
#[derive(Debug, Clone)]
pub struct MeasureRequest {
    /// `--mode`: a [`SevMode`] spelling or [`OVMF_HASH_MODE`].
    pub mode: String,
    /// `--vcpus` (decimal).
    pub vcpus: Option<String>,
    /// `--vcpu-type`.
    pub vcpu_type: Option<String>,
    /// `--vcpu-sig` (`int(s, 0)`).
    pub vcpu_sig: Option<String>,
    /// `--vcpu-family` (decimal).
    pub vcpu_family: Option<String>,
    /// `--vcpu-model` (decimal).
    pub vcpu_model: Option<String>,
    /// `--vcpu-stepping` (decimal).
    pub vcpu_stepping: Option<String>,
    /// `--vmm-type`.
    pub vmm_type: String,
    /// `--ovmf`: the firmware image.
    pub ovmf: Option<PathBuf>,
    /// `--ovmf-metadata`: `snp ovmf-metadata` JSON instead of the image (with `--snp-ovmf-hash`).
    pub ovmf_metadata: Option<PathBuf>,
    /// `--kernel`.
    pub kernel: Option<PathBuf>,
    /// `--kernel-hash`: the kernel's SHA-256 in hex, instead of the file.
    pub kernel_hash: Option<String>,
    /// `--initrd`.
    pub initrd: Option<PathBuf>,
    /// `--initrd-hash`: the initrd's SHA-256 in hex, instead of the file.
    pub initrd_hash: Option<String>,
    /// `--append`: the kernel command line, as bytes.
    pub append: Option<OsString>,
    /// `--guest-features` (`int(s, 0)`).
    pub guest_features: String,
    /// `--output-format`: `hex` or `base64`.
    pub output_format: String,
    /// `--snp-ovmf-hash`: the SNP OVMF hash in hex (mode snp only).
    pub snp_ovmf_hash: Option<String>,
    /// `--dump-vmsa`: write each measured VMSA to `vmsa<N>.bin` in the current directory.
    pub dump_vmsa: bool,
    /// `--svsm`: the Coconut SVSM image (mode snp:svsm).
    pub svsm: Option<PathBuf>,
    /// `--vars-size` (decimal; mode snp:svsm).
    pub vars_size: Option<String>,
    /// `--vars-file`: the OVMF_VARS file whose size is used (mode snp:svsm).
    pub vars_file: Option<PathBuf>,
}

impl Default for MeasureRequest {
    fn default() -> Self {
        MeasureRequest {
            mode: String::new(),
            vcpus: None,
            vcpu_type: None,
            vcpu_sig: None,
            vcpu_family: None,
            vcpu_model: None,
            vcpu_stepping: None,
            vmm_type: VmmType::Qemu.as_str().to_string(),
            ovmf: None,
            ovmf_metadata: None,
            kernel: None,
            kernel_hash: None,
            initrd: None,
            initrd_hash: None,
            append: None,
            guest_features: "0x1".to_string(),
            output_format: "hex".to_string(),
            snp_ovmf_hash: None,
            dump_vmsa: false,
            svsm: None,
            vars_size: None,
            vars_file: None,
        }
    }
}

/// `snp id-block`'s flags as given (snp-create-id-block's, plus the ID block fields it leaves at defaults).
#[derive(Debug, Clone)]
pub struct IdBlockRequest {
    /// `--measurement`: base64 (as snp-create-id-block takes it) or 96 hex digits.
    pub measurement: String,
    /// `--idkey`: the ID private key (EC P-384, PEM).
    pub idkey: PathBuf,
    /// `--authorkey`: the author private key (EC P-384, PEM).
    pub authorkey: PathBuf,
    /// `--policy` (`int(s, 0)`; default [`IdBlock::new`]'s).
    pub policy: Option<String>,
    /// `--family-id`: 32 hex digits.
    pub family_id: Option<String>,
    /// `--image-id`: 32 hex digits.
    pub image_id: Option<String>,
    /// `--guest-svn` (`int(s, 0)`, 32 bits).
    pub guest_svn: Option<String>,
}

/// A flag value that is not an integer as Python reads it, or a negative one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntError {
    /// Not an integer literal.
    #[error("{flag}: invalid integer {value:?}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// More than 64 bits.
    #[error("{flag}: {value} does not fit in 64 bits")]
    TooLarge {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// Below zero.
    #[error("{flag}: must not be negative ({value})")]
    Negative {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
}

/// Why a `yardstick snp` command cannot run: the message names the flag or file; sources carry the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// `--output-format` is neither `hex` nor `base64`.
    #[error("--output-format: unknown format {0:?} (valid: hex, base64)")]
    OutputFormat(String),
    /// Mode snp:ovmf-hash without a firmware file.
    #[error("mode snp:ovmf-hash hashes the firmware file: give --ovmf (not --ovmf-metadata)")]
    OvmfHashNeedsImage,
    /// An unknown `--mode`.
    #[error("--mode")]
    Mode(#[from] UnknownMode),
    /// `--initrd` or `--append` without a kernel.
    #[error("--kernel (or --kernel-hash) required when using {0}")]
    NeedsKernel(&'static str),
    /// An integer flag that does not parse.
    #[error(transparent)]
    Int(#[from] IntError),
    /// `--vcpus` above 32 bits.
    #[error("--vcpus: {0} is more vCPUs than any guest has")]
    TooManyVcpus(u64),
    /// No `--vcpus` in a mode with VMSAs.
    #[error("missing --vcpus N in guest mode '{0}'")]
    MissingVcpus(String),
    /// `--vcpus 0` in a mode with VMSAs.
    #[error("--vcpus must be at least 1 in guest mode '{0}'")]
    NoVcpus(String),
    /// An unknown `--vmm-type`.
    #[error("--vmm-type")]
    Vmm(#[from] UnknownVmmType),
    /// The vCPU flags give no signature.
    #[error(transparent)]
    Vcpu(#[from] VcpuError),
    /// `--vars-file` cannot be read.
    #[error("{}: cannot read OVMF_VARS file", path.display())]
    VarsFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An empty `--vars-file`.
    #[error("{}: an empty file is not an OVMF_VARS file", .0.display())]
    VarsFileEmpty(PathBuf),
    /// Mode snp:svsm without a variable store size.
    #[error("snp:svsm mode requires --vars-size or --vars-file")]
    VarsMissing,
    /// Mode snp:svsm with `--vars-size 0`.
    #[error(
        "snp:svsm mode requires --vars-size or --vars-file (a size of 0 is not a variable store)"
    )]
    VarsSizeZero,
    /// `--vars-size` or `--vars-file` outside mode snp:svsm.
    #[error("--vars-size/--vars-file are only used in mode snp:svsm")]
    VarsOutsideSvsm,
    /// `--dump-vmsa` in mode sev.
    #[error("--dump-vmsa is not available in guest mode '{0}' (SEV measures no VMSAs)")]
    DumpVmsaWithoutVmsas(String),
    /// `--snp-ovmf-hash` is not 96 hex digits.
    #[error("--snp-ovmf-hash: not a SHA-384 hex value")]
    SnpOvmfHash(#[source] HexError),
    /// `--snp-ovmf-hash` outside mode snp.
    #[error("--snp-ovmf-hash only works in mode snp, not '{0}'")]
    SnpOvmfHashMode(String),
    /// `--svsm` without mode snp:svsm, or the reverse.
    #[error("--svsm goes with mode snp:svsm, and mode snp:svsm needs --svsm")]
    SvsmFlag,
    /// `--ovmf-metadata` without mode snp and `--snp-ovmf-hash`.
    #[error(
        "--ovmf-metadata works only with --mode snp and --snp-ovmf-hash (other modes hash the firmware file itself)"
    )]
    MetadataNeedsHash,
    /// The `--ovmf-metadata` file cannot be read.
    #[error("{}: cannot read", path.display())]
    MetadataRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The `--ovmf-metadata` file is not `snp ovmf-metadata` JSON.
    #[error("{}: not `yardstick snp ovmf-metadata` JSON", path.display())]
    MetadataJson {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// Neither `--ovmf` nor `--ovmf-metadata`.
    #[error("--ovmf (or --ovmf-metadata) is required")]
    NoFirmware,
    /// Firmware metadata without a hash to resume from.
    #[error("--ovmf (or --ovmf-metadata with --snp-ovmf-hash) is required")]
    NoFirmwareHash,
    /// A firmware or SVSM image that cannot be opened.
    #[error("{path}")]
    Open {
        /// The file, as displayed.
        path: String,
        /// The cause.
        source: OvmfError,
    },
    /// A `--kernel-hash` or `--initrd-hash` that is not 64 hex digits.
    #[error("{flag}: not a SHA-256 hex value")]
    Sha256 {
        /// The flag.
        flag: &'static str,
        /// The cause.
        source: HexError,
    },
    /// The measurement failed because of the named file (firmware or SVSM image).
    #[error("{path}")]
    MeasureFile {
        /// The file, as displayed.
        path: String,
        /// The cause.
        source: MeasureError,
    },
    /// The measurement failed (the message names the file, if any).
    #[error(transparent)]
    Measure(MeasureError),
    /// A `vmsa<N>.bin` would replace an input.
    #[error(transparent)]
    Clobber(#[from] yardstick_common::fs::ClobberError),
    /// A `vmsa<N>.bin` cannot be written.
    #[error("{}: cannot write", path.display())]
    DumpWrite {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Hex that does not decode.
    #[error(transparent)]
    Hex(#[from] HexError),
    /// `--measurement` is neither hex nor base64.
    #[error("--measurement: neither 96 hex digits nor base64 ({0})")]
    MeasurementEncoding(base64::DecodeError),
    /// `--measurement` is not 48 bytes.
    #[error("--measurement: {0} bytes, an SEV-SNP launch digest has 48")]
    MeasurementLength(usize),
    /// `--family-id` or `--image-id` is not 32 hex digits.
    #[error("{flag}")]
    IdField {
        /// The flag.
        flag: &'static str,
        /// The cause.
        source: HexError,
    },
    /// `--guest-svn` above 32 bits.
    #[error("--guest-svn: {0} does not fit in 32 bits")]
    GuestSvn(u64),
    /// A key file cannot be read.
    #[error("{}: cannot read key", path.display())]
    KeyRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file holds no usable key.
    #[error("{}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: IdBlockError,
    },
    /// Signing the ID block failed.
    #[error(transparent)]
    IdBlock(IdBlockError),
}

/// Python's `int(s, 0)`: optional sign, `0x`/`0o`/`0b` prefixes, `_` between digits; negative values rejected.
pub fn parse_auto_int(flag: &'static str, s: &str) -> Result<u64, IntError> {
    parse_int(flag, s, true)
}

/// Python's `int(s)` (decimal), as argparse `type=int` parses; negative values rejected.
pub fn parse_dec_int(flag: &'static str, s: &str) -> Result<u64, IntError> {
    parse_int(flag, s, false)
}

fn parse_int(flag: &'static str, s: &str, auto_base: bool) -> Result<u64, IntError> {
    let bad = || IntError::Invalid {
        flag,
        value: s.to_string(),
    };
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (radix, digits) = if !auto_base {
        (10, lower.as_str())
    } else if let Some(d) = lower.strip_prefix("0x") {
        (16, d.strip_prefix('_').unwrap_or(d))
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.strip_prefix('_').unwrap_or(d))
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.strip_prefix('_').unwrap_or(d))
    } else {
        // int(s, 0) refuses leading zeros in decimal ("010"), but accepts "0" and "00".
        if lower.len() > 1
            && lower.starts_with('0')
            && lower.bytes().any(|c| c != b'0' && c != b'_')
        {
            return Err(bad());
        }
        (10, lower.as_str())
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return Err(bad());
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let v = u64::from_str_radix(&clean, radix).map_err(|_| {
        if clean.chars().all(|c| c.is_digit(radix)) {
            IntError::TooLarge {
                flag,
                value: s.to_string(),
            }
        } else {
            bad()
        }
    })?;
    if neg && v != 0 {
        return Err(IntError::Negative {
            flag,
            value: s.to_string(),
        });
    }
    Ok(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Hex,
    Base64,
}

impl OutputFormat {
    fn parse(s: &str) -> Result<OutputFormat, RequestError> {
        match s {
            "hex" => Ok(OutputFormat::Hex),
            "base64" => Ok(OutputFormat::Base64),
            other => Err(RequestError::OutputFormat(other.to_string())),
        }
    }

    fn render(self, d: &[u8]) -> String {
        match self {
            OutputFormat::Hex => hex::encode(d),
            OutputFormat::Base64 => base64::engine::general_purpose::STANDARD.encode(d),
        }
    }
}

/// What `snp measure` computed.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum MeasureOutcome {
    /// Mode snp:ovmf-hash: the SNP OVMF hash.
    OvmfHash(OvmfHashReport),
    /// A launch measurement.
    Measured(MeasureReport),
}

impl MeasureOutcome {
    /// The plain output line (without newline), like sev-snp-measure's: the digest, or with `verbose`
    /// `Calculated <MODE> guest measurement: <digest>`. The SNP OVMF hash is always bare hex, the form
    /// `--snp-ovmf-hash` takes back.
    pub fn to_text(&self, verbose: bool) -> String {
        match self {
            MeasureOutcome::OvmfHash(h) => h.ovmf_hash.clone(),
            MeasureOutcome::Measured(m) if verbose => format!(
                "Calculated {} guest measurement: {}",
                m.mode.upstream_name(),
                m.measurement
            ),
            MeasureOutcome::Measured(m) => m.measurement.clone(),
        }
    }
}

/// Mode snp:ovmf-hash's result (`--json`'s object).
#[derive(Debug, Clone, Serialize)]
pub struct OvmfHashReport {
    /// Always [`OVMF_HASH_MODE`].
    pub mode: &'static str,
    /// The firmware file, as displayed.
    pub ovmf: String,
    /// The SNP OVMF hash, in hex.
    pub ovmf_hash: String,
}

/// A launch measurement and every input that produced it (`--json`'s object, fields in this order).
#[derive(Debug, Clone, Serialize)]
pub struct MeasureReport {
    /// The launch digest, in the requested output format.
    pub measurement: String,
    /// The mode, in its canonical command-line spelling.
    #[serde(serialize_with = "mode_name")]
    pub mode: SevMode,
    /// The number of vCPUs (modes with VMSAs).
    pub vcpus: Option<u32>,
    /// The vCPU signature in the VMSAs (modes with VMSAs).
    pub vcpu_sig: Option<u64>,
    /// The VMM type, in its command-line spelling.
    #[serde(serialize_with = "vmm_name")]
    pub vmm_type: VmmType,
    /// SEV_FEATURES in the VMSAs (modes with VMSAs).
    pub guest_features: Option<u64>,
    /// The firmware file, as displayed.
    pub ovmf: Option<String>,
    /// The firmware metadata file, as displayed.
    pub ovmf_metadata: Option<String>,
    /// SNP modes: the SNP OVMF hash; SEV/SEV-ES: SHA-256 of the firmware.
    pub ovmf_hash: String,
    /// The SVSM image, as displayed.
    pub svsm: Option<String>,
    /// SHA-256 of the kernel (direct boot).
    pub kernel_hash: Option<String>,
    /// SHA-256 of the initrd (direct boot).
    pub initrd_hash: Option<String>,
    /// SHA-256 of the cmdline and its NUL (direct boot).
    pub cmdline_hash: Option<String>,
    /// The cmdline (direct boot; invalid UTF-8 replaced).
    pub cmdline: Option<String>,
}

fn mode_name<S: serde::Serializer>(m: &SevMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

fn vmm_name<S: serde::Serializer>(v: &VmmType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn open_firmware(path: &Path) -> Result<Ovmf, RequestError> {
    Ovmf::open(path).map_err(|source| RequestError::Open {
        path: display(path),
        source,
    })
}

/// `snp measure`: checks `req`, opens its inputs, measures (reporting bytes hashed to `progress`) and, with
/// `--dump-vmsa`, writes the VMSAs to `vmsa<N>.bin` in the current directory.
pub fn measure(
    req: &MeasureRequest,
    progress: &dyn Progress,
) -> Result<MeasureOutcome, RequestError> {
    let format = OutputFormat::parse(&req.output_format)?;
    if req.mode == OVMF_HASH_MODE {
        return ovmf_hash(req, progress).map(MeasureOutcome::OvmfHash);
    }
    let p = Params::parse(req)?;
    let fw = FirmwareSource::load(req, &p)?;
    let svsm_image = req.svsm.as_deref().map(open_firmware).transpose()?;
    let firmware = fw.firmware(p.seed)?;
    let kernel = blob(&req.kernel, &req.kernel_hash, "--kernel-hash")?;
    let initrd = blob(&req.initrd, &req.initrd_hash, "--initrd-hash")?;
    let cmdline = req.append.as_ref().map(|s| s.as_bytes());
    let g = Guest {
        mode: p.mode,
        vcpus: p.vcpus,
        vcpu_sig: p.vcpu.sig,
        vmm: p.vmm,
        guest_features: p.guest_features,
        firmware,
        direct_boot: kernel.map(|kernel| DirectBoot {
            kernel,
            initrd,
            cmdline,
        }),
        svsm: svsm_image.as_ref().map(|image| Svsm {
            image,
            vars_size: p.vars_size,
        }),
    };
    progress.set_phase("measuring");
    let m = guest::measure(&g, progress).map_err(|e| {
        let path = match e.subject() {
            Subject::Firmware => Some(display(&fw.path)),
            Subject::Svsm => req.svsm.as_deref().map(display),
            Subject::Blob | Subject::Parameters => None,
        };
        match path {
            Some(path) => RequestError::MeasureFile { path, source: e },
            None => RequestError::Measure(e),
        }
    })?;
    if req.dump_vmsa {
        dump_vmsas(&m)?;
    }
    Ok(MeasureOutcome::Measured(MeasureReport::new(
        req, &p, format, &m, cmdline,
    )))
}

/// Mode snp:ovmf-hash.
fn ovmf_hash(
    req: &MeasureRequest,
    progress: &dyn Progress,
) -> Result<OvmfHashReport, RequestError> {
    let Some(path) = &req.ovmf else {
        return Err(RequestError::OvmfHashNeedsImage);
    };
    let fw = open_firmware(path)?;
    progress.set_phase("hashing");
    progress.set_total(fw.len());
    let h = guest::snp_ovmf_hash(&fw, progress).map_err(|source| RequestError::MeasureFile {
        path: display(path),
        source,
    })?;
    Ok(OvmfHashReport {
        mode: OVMF_HASH_MODE,
        ovmf: display(path),
        ovmf_hash: hex::encode(&h),
    })
}

/// The parameters, parsed and checked (everything but the files).
struct Params {
    mode: SevMode,
    vcpus: u32,
    vmm: VmmType,
    vcpu: Vcpu,
    guest_features: u64,
    vars_size: u64,
    seed: Option<LaunchDigest>,
}

impl Params {
    /// The checks in their fixed order: mode, kernel-less initrd/cmdline, vCPUs, VMM, vCPU signature, guest
    /// features, variable store, `--dump-vmsa`, `--snp-ovmf-hash`, `--svsm`.
    fn parse(req: &MeasureRequest) -> Result<Params, RequestError> {
        let mode: SevMode = req.mode.parse()?;
        let has_kernel = req.kernel.is_some() || req.kernel_hash.is_some();
        if (req.initrd.is_some() || req.initrd_hash.is_some()) && !has_kernel {
            return Err(RequestError::NeedsKernel("--initrd"));
        }
        if req.append.as_ref().is_some_and(|s| !s.is_empty()) && !has_kernel {
            return Err(RequestError::NeedsKernel("--append"));
        }
        let vcpus = match (&req.vcpus, mode) {
            (Some(s), _) => {
                let n = parse_dec_int("--vcpus", s)?;
                u32::try_from(n).map_err(|_| RequestError::TooManyVcpus(n))?
            }
            (None, SevMode::Sev) => 0,
            (None, _) => return Err(RequestError::MissingVcpus(req.mode.clone())),
        };
        if mode.has_vmsas() && vcpus == 0 {
            return Err(RequestError::NoVcpus(req.mode.clone()));
        }
        let vmm: VmmType = req.vmm_type.parse()?;
        let vcpu = vcpu(req, mode, vmm)?;
        let guest_features = parse_auto_int("--guest-features", &req.guest_features)?;
        let vars_size = vars_size(req, mode)?;
        if req.dump_vmsa && !mode.has_vmsas() {
            return Err(RequestError::DumpVmsaWithoutVmsas(req.mode.clone()));
        }
        if req.dump_vmsa {
            // `vmsa<N>.bin` must not replace an input.
            let outputs: Vec<PathBuf> = (0..vcpus)
                .map(|i| PathBuf::from(format!("vmsa{i}.bin")))
                .collect();
            let outputs: Vec<&std::path::Path> = outputs.iter().map(PathBuf::as_path).collect();
            let inputs: Vec<&std::path::Path> = [
                &req.ovmf,
                &req.ovmf_metadata,
                &req.kernel,
                &req.initrd,
                &req.vars_file,
                &req.svsm,
            ]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect();
            yardstick_common::fs::refuse_clobber(&outputs, &inputs)?;
        }
        let seed: Option<LaunchDigest> = req
            .snp_ovmf_hash
            .as_deref()
            .map(|s| hex::decode_array::<48>(s.trim()).map_err(RequestError::SnpOvmfHash))
            .transpose()?;
        if seed.is_some() && mode != SevMode::SevSnp {
            return Err(RequestError::SnpOvmfHashMode(req.mode.clone()));
        }
        if req.svsm.is_some() != (mode == SevMode::SevSnpSvsm) {
            return Err(RequestError::SvsmFlag);
        }
        Ok(Params {
            mode,
            vcpus,
            vmm,
            vcpu,
            guest_features,
            vars_size,
            seed,
        })
    }
}

/// The vCPU flags, parsed as sev-snp-measure's argparse parses them (all of them, whatever the mode), then
/// resolved by [`vcpu_types::resolve`].
fn vcpu(req: &MeasureRequest, mode: SevMode, vmm: VmmType) -> Result<Vcpu, RequestError> {
    let dec = |flag: &'static str, v: &Option<String>| {
        v.as_deref().map(|s| parse_dec_int(flag, s)).transpose()
    };
    let spec = VcpuSpec {
        family: dec("--vcpu-family", &req.vcpu_family)?,
        model: dec("--vcpu-model", &req.vcpu_model)?,
        stepping: dec("--vcpu-stepping", &req.vcpu_stepping)?,
        vcpu_sig: req
            .vcpu_sig
            .as_deref()
            .map(|s| parse_auto_int("--vcpu-sig", s))
            .transpose()?,
        vcpu_type: req.vcpu_type.as_deref(),
    };
    vcpu_types::resolve(mode, vmm, &spec).map_err(|e| match e {
        // The mode as the user spelled it, like sev-snp-measure's message.
        VcpuError::MissingSignature { .. } => VcpuError::MissingSignature {
            mode: req.mode.clone(),
        }
        .into(),
        e => e.into(),
    })
}

/// The OVMF variable store size of mode snp:svsm (`--vars-file` before `--vars-size`); 0 in other modes,
/// which take neither flag.
fn vars_size(req: &MeasureRequest, mode: SevMode) -> Result<u64, RequestError> {
    if mode != SevMode::SevSnpSvsm {
        if req.vars_file.is_some() || req.vars_size.is_some() {
            return Err(RequestError::VarsOutsideSvsm);
        }
        return Ok(0);
    }
    if let Some(f) = &req.vars_file {
        // Only the size is used; a stream (a pipe) is read once to learn it, a directory or a device that
        // never ends is refused.
        let size = InputFile::open(f, InputKind::OVMF_VARS)
            .and_then(InputFile::into_len)
            .map_err(|e| RequestError::VarsFile {
                path: f.clone(),
                source: e.into_io(),
            })?;
        match size {
            0 => Err(RequestError::VarsFileEmpty(f.clone())),
            n => Ok(n),
        }
    } else if let Some(s) = &req.vars_size {
        match parse_dec_int("--vars-size", s)? {
            0 => Err(RequestError::VarsSizeZero),
            n => Ok(n),
        }
    } else {
        Err(RequestError::VarsMissing)
    }
}

/// The firmware: the image, or metadata JSON (which needs mode snp and a precomputed hash).
struct FirmwareSource {
    image: Option<Ovmf>,
    metadata: Option<OvmfMetadata>,
    /// The file the firmware came from, named in measurement errors about it.
    path: PathBuf,
}

impl FirmwareSource {
    fn load(req: &MeasureRequest, p: &Params) -> Result<FirmwareSource, RequestError> {
        match (&req.ovmf, &req.ovmf_metadata) {
            (Some(path), _) => Ok(FirmwareSource {
                image: Some(open_firmware(path)?),
                metadata: None,
                path: path.clone(),
            }),
            (None, Some(path)) => {
                if p.mode != SevMode::SevSnp || p.seed.is_none() {
                    return Err(RequestError::MetadataNeedsHash);
                }
                let text = read_input_text(path, InputKind::OVMF_METADATA).map_err(|e| {
                    RequestError::MetadataRead {
                        path: path.clone(),
                        source: e.into_io(),
                    }
                })?;
                let m: OvmfMetadata =
                    serde_json::from_str(&text).map_err(|source| RequestError::MetadataJson {
                        path: path.clone(),
                        source,
                    })?;
                Ok(FirmwareSource {
                    image: None,
                    metadata: Some(m),
                    path: path.clone(),
                })
            }
            (None, None) => Err(RequestError::NoFirmware),
        }
    }

    fn firmware(&self, seed: Option<LaunchDigest>) -> Result<Firmware<'_>, RequestError> {
        match (&self.image, &self.metadata, seed) {
            (Some(fw), _, Some(h)) => Ok(Firmware::Precomputed {
                metadata: fw.metadata(),
                snp_ovmf_hash: h,
            }),
            (Some(fw), _, None) => Ok(Firmware::Image(fw)),
            (None, Some(m), Some(h)) => Ok(Firmware::Precomputed {
                metadata: m,
                snp_ovmf_hash: h,
            }),
            _ => Err(RequestError::NoFirmwareHash),
        }
    }
}

/// A kernel or initrd: the file, else its hash (`flag`), else none.
fn blob(
    file: &Option<PathBuf>,
    hash: &Option<String>,
    flag: &'static str,
) -> Result<Option<Blob>, RequestError> {
    Ok(match (file, hash) {
        (Some(p), _) => Some(Blob::File(p.clone())),
        (None, Some(h)) => Some(Blob::Sha256(
            hex::decode_array::<32>(h.trim())
                .map_err(|source| RequestError::Sha256 { flag, source })?,
        )),
        (None, None) => None,
    })
}

/// `--dump-vmsa`: one `vmsa<N>.bin` per measured vCPU, in the current directory.
/// The files appear together (all of them or none).
fn dump_vmsas(m: &Measurement) -> Result<(), RequestError> {
    use std::io::Write as _;
    let mut set = yardstick_common::fs::OutputSet::new();
    for i in 0..m.vcpus {
        if let Some(page) = m.vmsa(i) {
            let path = PathBuf::from(format!("vmsa{i}.bin"));
            let staged = yardstick_common::fs::AtomicFile::create(&path).and_then(|mut f| {
                f.write_all(&page[..])?;
                Ok(f)
            });
            match staged {
                Ok(f) => set.push(f),
                Err(source) => return Err(RequestError::DumpWrite { path, source }),
            }
        }
    }
    set.commit().map_err(|e| RequestError::DumpWrite {
        path: e.dest,
        source: e.source,
    })
}

impl MeasureReport {
    fn new(
        req: &MeasureRequest,
        p: &Params,
        format: OutputFormat,
        m: &Measurement,
        cmdline: Option<&[u8]>,
    ) -> MeasureReport {
        let has_vmsas = p.mode.has_vmsas();
        MeasureReport {
            measurement: format.render(&m.digest),
            mode: p.mode,
            vcpus: has_vmsas.then_some(p.vcpus),
            vcpu_sig: has_vmsas.then_some(p.vcpu.sig),
            vmm_type: p.vmm,
            guest_features: p.mode.vmsa_features(p.guest_features),
            ovmf: req.ovmf.as_deref().map(display),
            ovmf_metadata: req.ovmf_metadata.as_deref().map(display),
            ovmf_hash: hex::encode(&m.firmware_hash),
            svsm: req.svsm.as_deref().map(display),
            kernel_hash: m.hashes.map(|h| hex::encode(&h.kernel)),
            initrd_hash: m.hashes.map(|h| hex::encode(&h.initrd)),
            cmdline_hash: m.hashes.map(|h| hex::encode(&h.cmdline)),
            cmdline: m
                .hashes
                .map(|_| String::from_utf8_lossy(cmdline.unwrap_or_default()).into_owned()),
        }
    }
}

/// `snp ovmf-metadata`: the firmware image, refused without SEV metadata (an export would be empty).
pub fn ovmf_metadata(path: &Path) -> Result<Ovmf, RequestError> {
    let fw = open_firmware(path)?;
    if !fw.metadata().has_sev_metadata() {
        return Err(RequestError::MeasureFile {
            path: display(path),
            source: MeasureError::NoSevMetadata,
        });
    }
    Ok(fw)
}

/// `snp id-block`'s result (`--json`'s object).
#[derive(Debug, Clone, Serialize)]
pub struct IdBlockReport {
    /// AUTHOR_KEY_DIGEST, in hex.
    pub author_key_digest: String,
    /// The ID authentication structure, in base64.
    pub id_auth: String,
    /// The ID block, in base64.
    pub id_block: String,
    /// ID_KEY_DIGEST, in hex.
    pub id_key_digest: String,
    /// The launch digest in the block, in hex.
    pub launch_digest: String,
    /// The guest policy in the block.
    pub policy: u64,
    #[serde(skip)]
    output: IdOutput,
}

impl IdBlockReport {
    /// The structures and key digests.
    pub fn output(&self) -> &IdOutput {
        &self.output
    }

    /// snp-create-id-block's output (without the final newline): `id-block=<base64>,id-auth=<base64>`, then
    /// `id_key_hash: <base64>` and `author_key: <base64>`.
    pub fn to_text(&self) -> String {
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        format!(
            "id-block={},id-auth={}\nid_key_hash: {}\nauthor_key: {}",
            self.id_block,
            self.id_auth,
            b64(&self.output.id_key_digest),
            b64(&self.output.author_key_digest)
        )
    }
}

/// `snp id-block`: parses the flags (in order: measurement, policy, family ID, image ID, guest SVN), reads
/// the ID key and then the author key, and signs.
pub fn id_block(req: &IdBlockRequest) -> Result<IdBlockReport, RequestError> {
    let mut block = IdBlock::new(decode_measurement(&req.measurement)?);
    if let Some(p) = &req.policy {
        block.policy = parse_auto_int("--policy", p)?;
    }
    let id_field = |flag: &'static str, s: &str| {
        hex::decode_array::<16>(s.trim()).map_err(|source| RequestError::IdField { flag, source })
    };
    if let Some(s) = &req.family_id {
        block.family_id = id_field("--family-id", s)?;
    }
    if let Some(s) = &req.image_id {
        block.image_id = id_field("--image-id", s)?;
    }
    if let Some(s) = &req.guest_svn {
        let v = parse_auto_int("--guest-svn", s)?;
        block.guest_svn = u32::try_from(v).map_err(|_| RequestError::GuestSvn(v))?;
    }
    let id_key = read_key(&req.idkey)?;
    let author_key = read_key(&req.authorkey)?;
    let output = IdOutput::create(&block, &id_key, &author_key).map_err(RequestError::IdBlock)?;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    Ok(IdBlockReport {
        author_key_digest: hex::encode(&output.author_key_digest),
        id_auth: b64(&output.id_auth[..]),
        id_block: b64(&output.id_block),
        id_key_digest: hex::encode(&output.id_key_digest),
        launch_digest: hex::encode(&block.launch_digest),
        policy: block.policy,
        output,
    })
}

/// A launch digest given as 96 hex digits or as base64.
fn decode_measurement(s: &str) -> Result<LaunchDigest, RequestError> {
    let s = s.trim();
    let bytes = if s.len() == 96 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(s)?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(RequestError::MeasurementEncoding)?
    };
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| RequestError::MeasurementLength(bytes.len()))
}

fn read_key(path: &Path) -> Result<IdKey, RequestError> {
    let pem = read_input_text(path, InputKind::KEY).map_err(|e| RequestError::KeyRead {
        path: path.to_path_buf(),
        source: e.into_io(),
    })?;
    IdKey::from_pem(&pem).map_err(|source| RequestError::Key {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Python `int(s, 0)` / `int(s)` semantics (as argparse applies them in sev-snp-measure).
    #[test]
    fn python_int_parsing() {
        for (s, v) in [
            ("0x1", 1),
            ("0X21", 0x21),
            ("33", 33),
            ("0", 0),
            ("00", 0),
            ("0b101", 5),
            ("0o17", 15),
            ("1_000", 1000),
            ("0x_ff", 255),
            (" 7 ", 7),
            ("+3", 3),
        ] {
            assert_eq!(parse_auto_int("f", s).unwrap(), v, "{s}");
        }
        for s in [
            "010",
            "",
            "0x",
            "1__0",
            "_1",
            "1_",
            "abc",
            "-1",
            "0x1g",
            "99999999999999999999",
        ] {
            assert!(parse_auto_int("f", s).is_err(), "{s}");
        }
        assert_eq!(parse_dec_int("f", "010").unwrap(), 10);
        assert!(parse_dec_int("f", "0x10").is_err());
    }
}
