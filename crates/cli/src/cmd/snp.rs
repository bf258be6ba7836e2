//! `yardstick snp`: SEV / SEV-ES / SEV-SNP launch measurement, a drop-in for sev-snp-measure 0.0.13 (same flag
//! names and meanings, same output), plus hash-only inputs, firmware metadata export and ID blocks.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use yardstick_snp::request::{self, IdBlockRequest, MeasureOutcome, MeasureRequest};

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
        Command::Measure(a) => measure(*a),
        Command::OvmfMetadata { ovmf } => ovmf_metadata(&ovmf),
        Command::IdBlock(a) => id_block(a),
    }
}

fn measure(a: MeasureArgs) -> anyhow::Result<ExitCode> {
    let (json, verbose) = (a.json, a.verbose);
    let req = MeasureRequest {
        mode: a.mode,
        vcpus: a.vcpus,
        vcpu_type: a.vcpu_type,
        vcpu_sig: a.vcpu_sig,
        vcpu_family: a.vcpu_family,
        vcpu_model: a.vcpu_model,
        vcpu_stepping: a.vcpu_stepping,
        vmm_type: a.vmm_type,
        ovmf: a.ovmf,
        ovmf_metadata: a.ovmf_metadata,
        kernel: a.kernel,
        kernel_hash: a.kernel_hash,
        initrd: a.initrd,
        initrd_hash: a.initrd_hash,
        append: a.append,
        guest_features: a.guest_features,
        output_format: a.output_format,
        snp_ovmf_hash: a.snp_ovmf_hash,
        dump_vmsa: a.dump_vmsa,
        svsm: a.svsm,
        vars_size: a.vars_size,
        vars_file: a.vars_file,
    };
    let bar = ui::Bar::bytes("measuring");
    let outcome = request::measure(&req, &bar);
    bar.finish();
    let outcome: MeasureOutcome = outcome?;
    if json {
        ui::print_json(&outcome)?;
    } else {
        ui::print_line(&outcome.to_text(verbose))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ovmf_metadata(path: &Path) -> anyhow::Result<ExitCode> {
    let fw = request::ovmf_metadata(path)?;
    ui::print_json(fw.metadata())?;
    Ok(ExitCode::SUCCESS)
}

fn id_block(a: IdBlockArgs) -> anyhow::Result<ExitCode> {
    let report = request::id_block(&IdBlockRequest {
        measurement: a.measurement,
        idkey: a.idkey,
        authorkey: a.authorkey,
        policy: a.policy,
        family_id: a.family_id,
        image_id: a.image_id,
        guest_svn: a.guest_svn,
    })?;
    if a.json {
        ui::print_json(&report)?;
    } else {
        ui::print_line(&report.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}
