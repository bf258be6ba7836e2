//! `yardstick snp`: SEV / SEV-ES / SEV-SNP launch measurement, a drop-in for sev-snp-measure 0.0.13 (same flag
//! names and meanings, same output), plus hash-only inputs, firmware metadata export and ID blocks.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use serde::Serialize;
use yardstick_common::hex;
use yardstick_snp::gctx::LaunchDigest;
use yardstick_snp::guest::{self, DirectBoot, Firmware, Guest, MeasureError, Subject, Svsm};
use yardstick_snp::id_block::{IdBlock, IdKey, IdOutput};
use yardstick_snp::ovmf::{Ovmf, OvmfMetadata};
use yardstick_snp::sev_hashes::Blob;
use yardstick_snp::sev_mode::SevMode;
use yardstick_snp::vcpu_types::{self, Vcpu, VcpuError, VcpuSpec};
use yardstick_snp::vmm_types::VmmType;

use crate::ui;

const MEASURE_AFTER_HELP: &str = "\
Choosing --guest-features (SEV_FEATURES in every VMSA): it must equal what the HOST
kernel's KVM enables, which depends on the host kernel version, not on the guest:
  host Linux before 6.6   0x1   (SNP active only)
  host Linux 6.6 to 6.9   0x21  (SNP active + DebugSwap, which KVM turned on by default)
  host Linux 6.10 and on  0x1   (KVM_SEV_INIT2: the VMM picks features; QEMU adds none)
When in doubt, compare with SEV_FEATURES in a real attestation report from that host.

Which firmware: SEV-SNP needs an OVMF with SEV metadata; measuring --kernel/--initrd/--append
needs the AmdSev build (edk2 OvmfPkg/AmdSev/AmdSevX64.dsc), which has the kernel-hashes
section. Debian's /usr/share/ovmf/OVMF.fd has SEV metadata but no hashes section;
OVMF_CODE_4M.fd has no SEV metadata. QEMU 7.2 broke kernel hashes (measure with machine type
pc-q35-7.1 or use QEMU >= 8.0).

Output: only the digest on stdout, like sev-snp-measure (--json: the digest and every input).
Exit status: 0 ok, 2 bad input or usage (one line on stderr).

Examples:
  yardstick snp measure --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.fd \\
      --kernel vmlinuz --initrd initrd.img --append 'console=ttyS0'
  yardstick snp measure --mode snp:ovmf-hash --ovmf OVMF.fd
  yardstick snp measure --mode snp --vcpus 4 --vcpu-type EPYC-Genoa --ovmf-metadata ovmf.json \\
      --snp-ovmf-hash <HEX> --kernel-hash <SHA256> --initrd-hash <SHA256> --append 'console=ttyS0'
  yardstick snp measure --mode snp:svsm --vcpus 2 --vcpu-type EPYC-Milan --ovmf OVMF.fd \\
      --svsm svsm.bin --vars-size 540672
  yardstick snp measure --mode seves --vcpus 2 --vcpu-sig 0xa00f11 --ovmf OVMF.fd --dump-vmsa";

const METADATA_AFTER_HELP: &str = "\
Prints the firmware's SEV metadata sections (in table order, which is measurement order),
the SEV-ES AP reset EIP and the SEV hashes table address, as JSON. Together with the SNP OVMF
hash (`measure --mode snp:ovmf-hash`) this is all `measure --ovmf-metadata` needs to compute
digests without the firmware file.

Examples:
  yardstick snp ovmf-metadata --ovmf OVMF.fd > ovmf.json
  yardstick snp measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf-metadata ovmf.json \\
      --snp-ovmf-hash $(yardstick snp measure --mode snp:ovmf-hash --ovmf OVMF.fd)";

const ID_BLOCK_AFTER_HELP: &str = "\
Prints, like sev-snp-measure's snp-create-id-block:
  id-block=<base64>,id-auth=<base64>      (paste into QEMU's -object sev-snp-guest,...)
  id_key_hash: <base64>                   (ID_KEY_DIGEST in the attestation report)
  author_key: <base64>                    (AUTHOR_KEY_DIGEST in the attestation report)
Signatures are deterministic (RFC 6979), unlike snp-create-id-block's; both verify the same way.

Examples:
  yardstick snp id-block --measurement $(yardstick snp measure --mode snp --vcpus 1 \\
      --vcpu-type EPYC-Milan --ovmf OVMF.fd --output-format base64) \\
      --idkey id_key.pem --authorkey author_key.pem
  yardstick snp id-block --measurement <96 hex digits> --idkey id.pem --authorkey author.pem \\
      --policy 0x30000 --json";

/// Subcommands of this group.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compute an SEV, SEV-ES or SEV-SNP launch measurement (drop-in for sev-snp-measure)
    #[command(after_help = MEASURE_AFTER_HELP)]
    Measure(Box<MeasureArgs>),
    /// Print a firmware's SEV metadata as JSON (input for `measure --ovmf-metadata`)
    #[command(name = "ovmf-metadata", after_help = METADATA_AFTER_HELP)]
    OvmfMetadata {
        /// OVMF firmware image
        #[arg(long, value_name = "PATH")]
        ovmf: PathBuf,
    },
    /// Create an SEV-SNP ID block and ID auth structure (like snp-create-id-block)
    #[command(name = "id-block", after_help = ID_BLOCK_AFTER_HELP)]
    IdBlock(IdBlockArgs),
}

/// `yardstick snp measure` flags: sev-snp-measure 0.0.13's, plus hash-only inputs.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// Guest mode: sev, seves, snp, snp:ovmf-hash, snp:svsm (aliases: SEV, sev-es, SEV-ES, SEVES, sev-snp, SNP,
    /// SEV-SNP, sev-snp:svsm)
    #[arg(long, value_name = "MODE")]
    mode: String,
    /// Number of guest vCPUs (required except in modes sev and snp:ovmf-hash)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    vcpus: Option<String>,
    /// Guest vCPU type (EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome[-v1..v3], EPYC-Milan[-v1,-v2],
    /// EPYC-Genoa[-v1], EPYC-Turin)
    #[arg(long, value_name = "CPUTYPE")]
    vcpu_type: Option<String>,
    /// Guest vCPU signature value (CPUID Fn0000_0001_EAX; 0x prefix for hex)
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true)]
    vcpu_sig: Option<String>,
    /// Guest vCPU family (with --vcpu-model and --vcpu-stepping)
    #[arg(long, value_name = "FAMILY", allow_negative_numbers = true)]
    vcpu_family: Option<String>,
    /// Guest vCPU model
    #[arg(long, value_name = "MODEL", allow_negative_numbers = true)]
    vcpu_model: Option<String>,
    /// Guest vCPU stepping
    #[arg(long, value_name = "STEPPING", allow_negative_numbers = true)]
    vcpu_stepping: Option<String>,
    /// Type of VMM: QEMU, ec2, gce
    #[arg(long, value_name = "VMMTYPE", default_value = "QEMU")]
    vmm_type: String,
    /// OVMF firmware image
    #[arg(long, value_name = "PATH", required_unless_present = "ovmf_metadata")]
    ovmf: Option<PathBuf>,
    /// Firmware metadata JSON from `yardstick snp ovmf-metadata`, instead of --ovmf (needs --snp-ovmf-hash)
    #[arg(long, value_name = "FILE", conflicts_with = "ovmf")]
    ovmf_metadata: Option<PathBuf>,
    /// Kernel to measure (QEMU -kernel)
    #[arg(long, value_name = "PATH", conflicts_with = "kernel_hash")]
    kernel: Option<PathBuf>,
    /// SHA-256 of the kernel (hex), instead of --kernel
    #[arg(long, value_name = "HEX")]
    kernel_hash: Option<String>,
    /// Initrd to measure (QEMU -initrd; needs a kernel)
    #[arg(long, value_name = "PATH", conflicts_with = "initrd_hash")]
    initrd: Option<PathBuf>,
    /// SHA-256 of the initrd (hex), instead of --initrd
    #[arg(long, value_name = "HEX")]
    initrd_hash: Option<String>,
    /// Kernel command line (QEMU -append; needs a kernel)
    #[arg(long, value_name = "CMDLINE", allow_hyphen_values = true)]
    append: Option<OsString>,
    /// SEV_FEATURES of the VMSAs (0x prefix for hex); see below for the value your host kernel needs
    #[arg(
        long,
        value_name = "VALUE",
        default_value = "0x1",
        allow_negative_numbers = true
    )]
    guest_features: String,
    /// Measurement output format: hex or base64
    #[arg(long, value_name = "FORMAT", default_value = "hex")]
    output_format: String,
    /// Precalculated SNP OVMF hash (hex, from `--mode snp:ovmf-hash`): the firmware pages are not read
    #[arg(long, value_name = "HASH")]
    snp_ovmf_hash: Option<String>,
    /// Write the measured VMSAs to vmsa<N>.bin in the current directory (modes seves, snp, snp:svsm)
    #[arg(long)]
    dump_vmsa: bool,
    /// Coconut SVSM image (mode snp:svsm)
    #[arg(long, value_name = "PATH")]
    svsm: Option<PathBuf>,
    /// Size of the OVMF_VARS file in bytes (mode snp:svsm)
    #[arg(
        long,
        value_name = "SIZE",
        conflicts_with = "vars_file",
        allow_negative_numbers = true
    )]
    vars_size: Option<String>,
    /// OVMF_VARS file, whose size is used (mode snp:svsm)
    #[arg(long, value_name = "PATH")]
    vars_file: Option<PathBuf>,
    /// Print "Calculated <MODE> guest measurement: <digest>" like sev-snp-measure -v
    #[arg(short, long)]
    verbose: bool,
    /// Print a JSON object with the digest and every input that produced it
    #[arg(long)]
    json: bool,
}

/// `yardstick snp id-block` flags (snp-create-id-block's, plus the ID block fields it leaves at defaults).
#[derive(Debug, clap::Args)]
pub struct IdBlockArgs {
    /// Expected launch measurement: base64 (as snp-create-id-block takes it) or 96 hex digits
    #[arg(long, value_name = "VALUE")]
    measurement: String,
    /// ID private key (EC P-384, PEM)
    #[arg(long, value_name = "PATH")]
    idkey: PathBuf,
    /// Author private key (EC P-384, PEM)
    #[arg(long, value_name = "PATH")]
    authorkey: PathBuf,
    /// Guest policy (default 0x30000, snp-create-id-block's)
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true)]
    policy: Option<String>,
    /// Family ID, 32 hex digits (default zeros)
    #[arg(long, value_name = "HEX")]
    family_id: Option<String>,
    /// Image ID, 32 hex digits (default zeros)
    #[arg(long, value_name = "HEX")]
    image_id: Option<String>,
    /// Guest SVN (default 0)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    guest_svn: Option<String>,
    /// Print JSON instead of snp-create-id-block's text
    #[arg(long)]
    json: bool,
}

/// Runs a subcommand of this group.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Measure(a) => measure(&a),
        Command::OvmfMetadata { ovmf } => ovmf_metadata(&ovmf),
        Command::IdBlock(a) => id_block(&a),
    }
}

/// Python's `int(s, 0)`: optional sign, `0x`/`0o`/`0b` prefixes, `_` between digits; negative values rejected.
fn parse_auto_int(flag: &str, s: &str) -> anyhow::Result<u64> {
    parse_int(flag, s, true)
}

/// Python's `int(s)` (decimal), as argparse `type=int` parses; negative values rejected.
fn parse_dec_int(flag: &str, s: &str) -> anyhow::Result<u64> {
    parse_int(flag, s, false)
}

fn parse_int(flag: &str, s: &str, auto_base: bool) -> anyhow::Result<u64> {
    let bad = || anyhow!("{flag}: invalid integer {s:?}");
    let t = s.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
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
            anyhow!("{flag}: {s} does not fit in 64 bits")
        } else {
            bad()
        }
    })?;
    if neg && v != 0 {
        bail!("{flag}: must not be negative ({s})");
    }
    Ok(v)
}

fn parse_sha256(flag: &str, s: &str) -> anyhow::Result<[u8; 32]> {
    hex::decode_array::<32>(s.trim()).with_context(|| format!("{flag}: not a SHA-256 hex value"))
}

/// The vCPU flags, parsed as sev-snp-measure's argparse parses them (all of them, whatever the mode), then
/// resolved by [`vcpu_types::resolve`].
fn vcpu(a: &MeasureArgs, mode: SevMode, vmm: VmmType) -> anyhow::Result<Vcpu> {
    let dec =
        |flag: &str, v: &Option<String>| v.as_deref().map(|s| parse_dec_int(flag, s)).transpose();
    let spec = VcpuSpec {
        family: dec("--vcpu-family", &a.vcpu_family)?,
        model: dec("--vcpu-model", &a.vcpu_model)?,
        stepping: dec("--vcpu-stepping", &a.vcpu_stepping)?,
        vcpu_sig: a
            .vcpu_sig
            .as_deref()
            .map(|s| parse_auto_int("--vcpu-sig", s))
            .transpose()?,
        vcpu_type: a.vcpu_type.as_deref(),
    };
    vcpu_types::resolve(mode, vmm, &spec).map_err(|e| match e {
        // The mode as the user spelled it, like sev-snp-measure's message.
        VcpuError::MissingSignature { .. } => VcpuError::MissingSignature {
            mode: a.mode.clone(),
        }
        .into(),
        e => e.into(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Hex,
    Base64,
}

impl OutputFormat {
    fn render(self, d: &[u8]) -> String {
        match self {
            OutputFormat::Hex => hex::encode(d),
            OutputFormat::Base64 => base64::engine::general_purpose::STANDARD.encode(d),
        }
    }
}

#[derive(Serialize)]
struct MeasureJson<'a> {
    measurement: String,
    mode: &'a str,
    vcpus: Option<u32>,
    vcpu_sig: Option<u64>,
    vmm_type: &'a str,
    guest_features: Option<u64>,
    ovmf: Option<String>,
    ovmf_metadata: Option<String>,
    /// SNP modes: the SNP OVMF hash; SEV/SEV-ES: SHA-256 of the firmware.
    ovmf_hash: String,
    svsm: Option<String>,
    kernel_hash: Option<String>,
    initrd_hash: Option<String>,
    cmdline_hash: Option<String>,
    cmdline: Option<String>,
}

fn open_firmware(path: &Path) -> anyhow::Result<Ovmf> {
    Ovmf::open(path).with_context(|| format!("{}", path.display()))
}

fn measure(a: &MeasureArgs) -> anyhow::Result<ExitCode> {
    let output = match a.output_format.as_str() {
        "hex" => OutputFormat::Hex,
        "base64" => OutputFormat::Base64,
        other => bail!("--output-format: unknown format {other:?} (valid: hex, base64)"),
    };

    if a.mode == "snp:ovmf-hash" {
        let Some(path) = &a.ovmf else {
            bail!("mode snp:ovmf-hash hashes the firmware file: give --ovmf (not --ovmf-metadata)");
        };
        let fw = open_firmware(path)?;
        let bar = ui::Bar::bytes("hashing");
        bar_total(&bar, fw.len());
        let h = guest::snp_ovmf_hash(&fw, &bar).with_context(|| format!("{}", path.display()));
        bar.finish();
        let h = h?;
        // Like sev-snp-measure, always hex: this is the form --snp-ovmf-hash takes back.
        if a.json {
            ui::print_json(&serde_json::json!({
                "mode": "snp:ovmf-hash",
                "ovmf": path.display().to_string(),
                "ovmf_hash": hex::encode(&h),
            }))?;
        } else {
            println!("{}", hex::encode(&h));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mode: SevMode = a.mode.parse()?;

    let has_kernel = a.kernel.is_some() || a.kernel_hash.is_some();
    if (a.initrd.is_some() || a.initrd_hash.is_some()) && !has_kernel {
        bail!("--kernel (or --kernel-hash) required when using --initrd");
    }
    if a.append.as_ref().is_some_and(|s| !s.is_empty()) && !has_kernel {
        bail!("--kernel (or --kernel-hash) required when using --append");
    }
    let vcpus = match (&a.vcpus, mode) {
        (Some(s), _) => {
            let n = parse_dec_int("--vcpus", s)?;
            u32::try_from(n)
                .map_err(|_| anyhow!("--vcpus: {n} is more vCPUs than any guest has"))?
        }
        (None, SevMode::Sev) => 0,
        (None, _) => bail!("missing --vcpus N in guest mode '{}'", a.mode),
    };
    if mode.has_vmsas() && vcpus == 0 {
        bail!("--vcpus must be at least 1 in guest mode '{}'", a.mode);
    }
    let vmm: VmmType = a.vmm_type.parse()?;
    let vcpu = vcpu(a, mode, vmm)?;
    let guest_features = parse_auto_int("--guest-features", &a.guest_features)?;

    let vars_size = if mode == SevMode::SevSnpSvsm {
        if let Some(f) = &a.vars_file {
            std::fs::metadata(f)
                .with_context(|| format!("{}: cannot read OVMF_VARS file", f.display()))?
                .len()
        } else if let Some(s) = &a.vars_size {
            match parse_dec_int("--vars-size", s)? {
                0 => bail!(
                    "snp:svsm mode requires --vars-size or --vars-file (a size of 0 is not a variable store)"
                ),
                n => n,
            }
        } else {
            bail!("snp:svsm mode requires --vars-size or --vars-file");
        }
    } else {
        if a.vars_file.is_some() || a.vars_size.is_some() {
            bail!("--vars-size/--vars-file are only used in mode snp:svsm");
        }
        0
    };
    if a.dump_vmsa && !mode.has_vmsas() {
        bail!(
            "--dump-vmsa is not available in guest mode '{}' (SEV measures no VMSAs)",
            a.mode
        );
    }
    let seed: Option<LaunchDigest> = a
        .snp_ovmf_hash
        .as_deref()
        .map(|s| {
            hex::decode_array::<48>(s.trim()).context("--snp-ovmf-hash: not a SHA-384 hex value")
        })
        .transpose()?;
    if seed.is_some() && mode != SevMode::SevSnp {
        bail!("--snp-ovmf-hash only works in mode snp, not '{}'", a.mode);
    }
    if a.svsm.is_some() != (mode == SevMode::SevSnpSvsm) {
        bail!("--svsm goes with mode snp:svsm, and mode snp:svsm needs --svsm");
    }

    // Firmware: the image, or metadata JSON plus a precomputed hash.
    let (fw, json_meta, fw_path) = match (&a.ovmf, &a.ovmf_metadata) {
        (Some(p), _) => (Some(open_firmware(p)?), None, p.clone()),
        (None, Some(p)) => {
            if mode != SevMode::SevSnp || seed.is_none() {
                bail!(
                    "--ovmf-metadata works only with --mode snp and --snp-ovmf-hash (other modes hash the firmware file itself)"
                );
            }
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            let m: OvmfMetadata = serde_json::from_str(&text).with_context(|| {
                format!("{}: not `yardstick snp ovmf-metadata` JSON", p.display())
            })?;
            (None, Some(m), p.clone())
        }
        (None, None) => bail!("--ovmf (or --ovmf-metadata) is required"),
    };
    let svsm_image = a.svsm.as_deref().map(open_firmware).transpose()?;

    let firmware = match (&fw, &json_meta, seed) {
        (Some(fw), _, Some(h)) => Firmware::Precomputed {
            metadata: fw.metadata(),
            snp_ovmf_hash: h,
        },
        (Some(fw), _, None) => Firmware::Image(fw),
        (None, Some(m), Some(h)) => Firmware::Precomputed {
            metadata: m,
            snp_ovmf_hash: h,
        },
        _ => bail!("--ovmf (or --ovmf-metadata with --snp-ovmf-hash) is required"),
    };
    let kernel = match (&a.kernel, &a.kernel_hash) {
        (Some(p), _) => Some(Blob::File(p.clone())),
        (None, Some(h)) => Some(Blob::Sha256(parse_sha256("--kernel-hash", h)?)),
        (None, None) => None,
    };
    let initrd = match (&a.initrd, &a.initrd_hash) {
        (Some(p), _) => Some(Blob::File(p.clone())),
        (None, Some(h)) => Some(Blob::Sha256(parse_sha256("--initrd-hash", h)?)),
        (None, None) => None,
    };
    let cmdline = a.append.as_ref().map(|s| s.as_bytes());
    let g = Guest {
        mode,
        vcpus,
        vcpu_sig: vcpu.sig,
        vmm,
        guest_features,
        firmware,
        direct_boot: kernel.map(|kernel| DirectBoot {
            kernel,
            initrd,
            cmdline,
        }),
        svsm: svsm_image.as_ref().map(|image| Svsm { image, vars_size }),
    };

    let bar = ui::Bar::bytes("measuring");
    let result = guest::measure(&g, &bar);
    bar.finish();
    let m = result.map_err(|e| {
        let ctx = match e.subject() {
            Subject::Firmware => Some(fw_path.display().to_string()),
            Subject::Svsm => a.svsm.as_ref().map(|p| p.display().to_string()),
            Subject::Blob | Subject::Parameters => None,
        };
        let e = anyhow::Error::from(e);
        match ctx {
            Some(c) => e.context(c),
            None => e,
        }
    })?;

    if a.dump_vmsa {
        for i in 0..m.vcpus {
            if let Some(page) = m.vmsa(i) {
                let p = PathBuf::from(format!("vmsa{i}.bin"));
                yardstick_common::fs::write_atomic(&p, &page[..])
                    .with_context(|| format!("{}: cannot write", p.display()))?;
            }
        }
    }

    let rendered = output.render(&m.digest);
    if a.json {
        let has_vmsas = mode.has_vmsas();
        let j = MeasureJson {
            measurement: rendered,
            mode: mode.as_str(),
            vcpus: has_vmsas.then_some(vcpus),
            vcpu_sig: has_vmsas.then_some(vcpu.sig),
            vmm_type: vmm.as_str(),
            guest_features: mode.vmsa_features(guest_features),
            ovmf: a.ovmf.as_ref().map(|p| p.display().to_string()),
            ovmf_metadata: a.ovmf_metadata.as_ref().map(|p| p.display().to_string()),
            ovmf_hash: hex::encode(&m.firmware_hash),
            svsm: a.svsm.as_ref().map(|p| p.display().to_string()),
            kernel_hash: m.hashes.map(|h| hex::encode(&h.kernel)),
            initrd_hash: m.hashes.map(|h| hex::encode(&h.initrd)),
            cmdline_hash: m.hashes.map(|h| hex::encode(&h.cmdline)),
            cmdline: m
                .hashes
                .map(|_| String::from_utf8_lossy(cmdline.unwrap_or_default()).into_owned()),
        };
        ui::print_json(&j)?;
    } else if a.verbose {
        println!(
            "Calculated {} guest measurement: {rendered}",
            mode.upstream_name()
        );
    } else {
        println!("{rendered}");
    }
    Ok(ExitCode::SUCCESS)
}

fn bar_total(bar: &ui::Bar, total: u64) {
    use yardstick_common::progress::Progress as _;
    bar.set_total(total);
}

fn ovmf_metadata(path: &Path) -> anyhow::Result<ExitCode> {
    let fw = open_firmware(path)?;
    if !fw.metadata().has_sev_metadata() {
        return Err(
            anyhow::Error::from(MeasureError::NoSevMetadata).context(path.display().to_string())
        );
    }
    ui::print_json(fw.metadata())?;
    Ok(ExitCode::SUCCESS)
}

fn decode_measurement(s: &str) -> anyhow::Result<LaunchDigest> {
    let s = s.trim();
    let bytes = if s.len() == 96 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(s)?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| anyhow!("--measurement: neither 96 hex digits nor base64 ({e})"))?
    };
    bytes.as_slice().try_into().map_err(|_| {
        anyhow!(
            "--measurement: {} bytes, an SEV-SNP launch digest has 48",
            bytes.len()
        )
    })
}

fn read_key(path: &Path) -> anyhow::Result<IdKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read key", path.display()))?;
    IdKey::from_pem(&pem).with_context(|| path.display().to_string())
}

fn id_block(a: &IdBlockArgs) -> anyhow::Result<ExitCode> {
    let mut block = IdBlock::new(decode_measurement(&a.measurement)?);
    if let Some(p) = &a.policy {
        block.policy = parse_auto_int("--policy", p)?;
    }
    if let Some(s) = &a.family_id {
        block.family_id = hex::decode_array::<16>(s.trim()).context("--family-id")?;
    }
    if let Some(s) = &a.image_id {
        block.image_id = hex::decode_array::<16>(s.trim()).context("--image-id")?;
    }
    if let Some(s) = &a.guest_svn {
        let v = parse_auto_int("--guest-svn", s)?;
        block.guest_svn =
            u32::try_from(v).map_err(|_| anyhow!("--guest-svn: {v} does not fit in 32 bits"))?;
    }
    let id_key = read_key(&a.idkey)?;
    let author_key = read_key(&a.authorkey)?;
    let out = IdOutput::create(&block, &id_key, &author_key)?;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    if a.json {
        ui::print_json(&serde_json::json!({
            "id_block": b64(&out.id_block),
            "id_auth": b64(&out.id_auth[..]),
            "id_key_digest": hex::encode(&out.id_key_digest),
            "author_key_digest": hex::encode(&out.author_key_digest),
            "launch_digest": hex::encode(&block.launch_digest),
            "policy": block.policy,
        }))?;
    } else {
        println!(
            "id-block={},id-auth={}\nid_key_hash: {}\nauthor_key: {}",
            b64(&out.id_block),
            b64(&out.id_auth[..]),
            b64(&out.id_key_digest),
            b64(&out.author_key_digest)
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
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
