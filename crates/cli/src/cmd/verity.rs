//! `yardstick verity`: veritysetup-compatible dm-verity formatting, verification and dumps, root-hash
//! signatures and kernel command-line parameters. Flags map onto `yardstick_verity` parameters; the work and
//! the byte layouts live in that crate.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use yardstick_verity::{
    DmNames, FecSpec, FormatRequest, ParamsSpec, RootHashInput, SignRequest, SignatureCheck,
    VerifyRequest,
};

use crate::ui;

/// Subcommands of `yardstick verity`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute a hash tree (and FEC parity), exactly like `veritysetup format`
    #[command(after_help = FORMAT_EXAMPLES)]
    Format(Box<FormatArgs>),
    /// Check data against a hash tree and root hash, naming every bad block
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),
    /// Print the superblock of a hash device, exactly like `veritysetup dump`
    #[command(after_help = DUMP_EXAMPLES)]
    Dump(Box<DumpArgs>),
    /// Sign a root hash (detached PKCS#7, for `veritysetup --root-hash-signature`)
    #[command(after_help = SIGN_EXAMPLES)]
    Sign(Box<SignArgs>),
    /// Check a root-hash signature against a certificate (as the kernel does)
    #[command(after_help = CHECK_EXAMPLES)]
    CheckSignature(Box<CheckSignatureArgs>),
    /// Print the kernel command-line forms of a root hash: Kata, dm-mod.create, systemd
    #[command(after_help = KERNEL_EXAMPLES)]
    KernelParams(Box<KernelParamsArgs>),
}

const FORMAT_EXAMPLES: &str = "\
Examples:
  yardstick verity format rootfs.img rootfs.hash
  yardstick verity format --no-superblock --salt - rootfs.img rootfs.hash --json
  yardstick verity format disk.img disk.img --hash-offset 1073741824   # tree in the same file
  yardstick verity format rootfs.img rootfs.hash --fec-device rootfs.fec --fec-roots 2

Output: the lines veritysetup prints (same labels, spacing and order), or with --json one object
that also holds the kernel command-line forms (see `yardstick verity kernel-params`).";

const VERIFY_EXAMPLES: &str = "\
Examples:
  yardstick verity verify rootfs.img rootfs.hash 4392fe...e1
  yardstick verity verify rootfs.img rootfs.hash --root-hash-file roothash.txt --all
  yardstick verity verify --no-superblock --salt 00ff rootfs.img rootfs.hash 4392fe...e1

A bad data block of an ext4, erofs or squashfs filesystem (as `image build` makes
them) also names the file(s) whose bytes it holds and which bytes:
  data block 492 (/etc/marker, bytes 0-4095) at byte offset 2015232 of rootfs.img: ...
read from the filesystem's own metadata in blocks that verified (--json: \"files\");
other content, or metadata in a bad block, gives no names.

Exit status: 0 intact, 1 corruption found (the bad blocks are listed: data or hash,
block index and byte offset), 2 bad input.";

const DUMP_EXAMPLES: &str = "\
Examples:
  yardstick verity dump rootfs.hash
  yardstick verity dump disk.img --hash-offset 1073741824 --json";

const SIGN_EXAMPLES: &str = "\
Examples:
  yardstick verity sign --key signing.key --cert signing.crt --out roothash.p7s 4392fe...e1
  yardstick verity sign --key signing.key --cert signing.crt --out roothash.p7s --root-hash-file roothash.txt

The signed text is the lower-case hex root hash without newline; the output is DER, as from
`openssl smime -sign -nocerts -noattr -binary -outform der` (identical bytes for RSA keys).";

const CHECK_EXAMPLES: &str = "\
Examples:
  yardstick verity check-signature roothash.p7s --cert signing.crt 4392fe...e1
  yardstick verity check-signature roothash.p7s --cert signing.crt --root-hash-file roothash.txt

Exit status: 0 valid, 1 the signature does not verify for this root hash and certificate, 2 bad input.";

const KERNEL_EXAMPLES: &str = "\
Examples:
  yardstick verity kernel-params rootfs.hash --root-hash 4392fe...e1
  yardstick verity kernel-params --no-superblock --data-blocks 25600 --salt 00ff --root-hash 4392fe...e1
  yardstick verity kernel-params rootfs.hash --root-hash 4392fe...e1 --dm-data-device /dev/sda3 --dm-hash-device /dev/sda4 --json";

/// Options shared by every command that describes a tree (veritysetup names).
#[derive(Debug, Args)]
pub struct TreeOpts {
    /// Also say on stderr which SHA-256 backend hashed the blocks, and each backend's measured rate
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Hash algorithm (sha1, sha256, sha384, sha512)
    #[arg(long = "hash", value_name = "ALG", default_value = "sha256")]
    pub hash_alg: String,
    /// Block size on the data device, bytes (power of two, 512..524288)
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub data_block_size: u32,
    /// Block size on the hash device, bytes (power of two, 512..524288)
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub hash_block_size: u32,
    /// Number of data blocks to protect (default: data device size / data block size)
    #[arg(long, value_name = "BLOCKS")]
    pub data_blocks: Option<u64>,
    /// Salt in hex, or `-` for none (default for format: 32 random bytes)
    #[arg(long, short = 's', value_name = "HEX", allow_hyphen_values = true)]
    pub salt: Option<String>,
    /// Format type: 1 normal, 0 original Chrome OS
    #[arg(long, value_name = "0|1", default_value_t = 1)]
    pub format: u32,
}

/// Where the hash area and FEC live.
#[derive(Debug, Args)]
pub struct LayoutOpts {
    /// Byte offset of the hash area (superblock or tree) on the hash device; multiple of 512
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub hash_offset: u64,
    /// Do not use a superblock (parameters come from the command line)
    #[arg(long)]
    pub no_superblock: bool,
    /// Device or file with FEC parity
    #[arg(long, value_name = "PATH")]
    pub fec_device: Option<PathBuf>,
    /// FEC parity bytes per 255-byte codeword (2..24)
    #[arg(long, value_name = "BYTES", default_value_t = 2)]
    pub fec_roots: u32,
    /// Byte offset of the parity on the FEC device; multiple of 512
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub fec_offset: u64,
}

/// Device names used in the dm table and `dm-mod.create` (as the booted guest sees them).
#[derive(Debug, Args)]
pub struct DmOpts {
    /// Data device in the dm table
    #[arg(long, value_name = "DEV", default_value = "/dev/vda1")]
    pub dm_data_device: String,
    /// Hash device in the dm table
    #[arg(long, value_name = "DEV", default_value = "/dev/vda2")]
    pub dm_hash_device: String,
    /// FEC device in the dm table (default: the dm hash or data device when FEC shares it, else /dev/vda3)
    #[arg(long, value_name = "DEV")]
    pub dm_fec_device: Option<String>,
    /// Device-mapper name in `dm-mod.create`
    #[arg(long, value_name = "NAME", default_value = "dm-verity")]
    pub dm_name: String,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Data device or image file
    pub data: PathBuf,
    /// Hash device or file (created if missing; may be the data file with --hash-offset)
    pub hash: PathBuf,
    #[command(flatten)]
    pub tree: TreeOpts,
    #[command(flatten)]
    pub layout: LayoutOpts,
    /// UUID for the superblock (default: random)
    #[arg(long, value_name = "UUID")]
    pub uuid: Option<String>,
    /// Also write the root hash (hex, no newline) to this file
    #[arg(long, value_name = "PATH")]
    pub root_hash_file: Option<PathBuf>,
    #[command(flatten)]
    pub dm: DmOpts,
    /// Print one JSON object instead of veritysetup's lines
    #[arg(long)]
    pub json: bool,
}

/// The root hash to check against: an argument, or `--root-hash-file`.
#[derive(Debug, Args)]
pub struct RootHashArgs {
    /// Root hash in hex
    pub root_hash: Option<String>,
    /// Read the root hash from this file instead
    #[arg(long, value_name = "PATH")]
    pub root_hash_file: Option<PathBuf>,
}

impl RootHashArgs {
    fn input(&self) -> RootHashInput<'_> {
        RootHashInput {
            text: self.root_hash.as_deref(),
            file: self.root_hash_file.as_deref(),
        }
    }
}

/// The tree parameters as given on the command line.
fn spec(t: &TreeOpts, l: &LayoutOpts) -> ParamsSpec {
    let mut s = ParamsSpec::default();
    s.hash = t.hash_alg.clone();
    s.data_block_size = t.data_block_size;
    s.hash_block_size = t.hash_block_size;
    s.data_blocks = t.data_blocks;
    s.salt = t.salt.clone();
    s.format = t.format;
    s.hash_offset = l.hash_offset;
    s.superblock = !l.no_superblock;
    s
}

fn fec_spec(device: &Option<PathBuf>, roots: u32, offset: u64) -> Option<FecSpec> {
    device.as_ref().map(|d| FecSpec {
        device: d.clone(),
        roots,
        offset,
    })
}

impl LayoutOpts {
    fn fec(&self) -> Option<FecSpec> {
        fec_spec(&self.fec_device, self.fec_roots, self.fec_offset)
    }
}

impl DmOpts {
    fn names(&self) -> DmNames {
        DmNames {
            data: self.dm_data_device.clone(),
            hash: self.dm_hash_device.clone(),
            fec: self.dm_fec_device.clone(),
            name: self.dm_name.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Data device or image file
    pub data: PathBuf,
    /// Hash device or file
    pub hash: PathBuf,
    #[command(flatten)]
    pub root_hash: RootHashArgs,
    #[command(flatten)]
    pub tree: TreeOpts,
    #[command(flatten)]
    pub layout: LayoutOpts,
    /// List every bad block, not just the first
    #[arg(long)]
    pub all: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Hash device or file
    pub hash: PathBuf,
    /// Byte offset of the superblock
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub hash_offset: u64,
    /// Device or file with FEC parity
    #[arg(long, value_name = "PATH")]
    pub fec_device: Option<PathBuf>,
    /// FEC parity bytes per codeword
    #[arg(long, value_name = "BYTES", default_value_t = 2)]
    pub fec_roots: u32,
    /// Byte offset of the parity on the FEC device
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub fec_offset: u64,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub root_hash: RootHashArgs,
    /// Private key (PEM or DER; RSA, EC P-256 or P-384; unencrypted)
    #[arg(long, value_name = "PATH")]
    pub key: PathBuf,
    /// Signer certificate (PEM or DER), matching the key
    #[arg(long, value_name = "PATH")]
    pub cert: PathBuf,
    /// Where to write the DER signature
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: PathBuf,
    /// Digest (sha256, sha384, sha512)
    #[arg(long, value_name = "ALG", default_value = "sha256")]
    pub digest: String,
    /// Also write systemd-repart's Verity=signature JSON ({"rootHash", "certificateFingerprint", "signature"})
    #[arg(long, value_name = "PATH")]
    pub systemd_json: Option<PathBuf>,
    /// Print details as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckSignatureArgs {
    /// DER signature file
    pub signature: PathBuf,
    #[command(flatten)]
    pub root_hash: RootHashArgs,
    /// Certificate whose key must have made the signature (PEM or DER)
    #[arg(long, value_name = "PATH")]
    pub cert: PathBuf,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KernelParamsArgs {
    /// Hash device with a superblock to read the parameters from (omit with --no-superblock)
    pub hash: Option<PathBuf>,
    /// Root hash in hex
    #[arg(long, value_name = "HEX")]
    pub root_hash: Option<String>,
    /// Read the root hash from this file instead
    #[arg(long, value_name = "PATH")]
    pub root_hash_file: Option<PathBuf>,
    #[command(flatten)]
    pub tree: TreeOpts,
    #[command(flatten)]
    pub layout: LayoutOpts,
    #[command(flatten)]
    pub dm: DmOpts,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs a subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Format(a) => format(*a),
        Command::Verify(a) => verify(*a),
        Command::Dump(a) => dump(*a),
        Command::Sign(a) => sign(*a),
        Command::CheckSignature(a) => check_signature(*a),
        Command::KernelParams(a) => kernel_params(*a),
    }
}

fn format(a: FormatArgs) -> anyhow::Result<ExitCode> {
    let params = spec(&a.tree, &a.layout);
    let fec = a.layout.fec();
    let dm = a.dm.names();
    let req = FormatRequest {
        data: &a.data,
        hash: &a.hash,
        params: &params,
        fec: fec.as_ref(),
        uuid: a.uuid.as_deref(),
        root_hash_file: a.root_hash_file.as_deref(),
        dm: &dm,
    };
    let bar = ui::Bar::bytes("hashing");
    let result = yardstick_verity::format_files(&req, &bar);
    bar.finish();
    let formatted = result?;
    if a.tree.verbose {
        ui::print_backend();
    }
    if a.json {
        ui::print_json(&formatted)?;
    } else {
        ui::print_text(&formatted.report.to_veritysetup_text())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let params = spec(&a.tree, &a.layout);
    let fec = a.layout.fec();
    let req = VerifyRequest {
        data: &a.data,
        hash: &a.hash,
        root_hash: a.root_hash.input(),
        params: &params,
        fec: fec.as_ref(),
    };
    let bar = ui::Bar::bytes("verifying");
    let result = yardstick_verity::verify_files(&req, &bar);
    bar.finish();
    if a.tree.verbose {
        ui::print_backend();
    }
    let outcome = result?;
    let lines = &outcome.findings;
    // A closed pipe must not turn a failed check into success: the output is best effort, the verdict is not.
    let printed = if a.json {
        ui::print_json(&outcome)
    } else if outcome.ok {
        ui::print_line(&outcome.success_line())
    } else {
        let shown = if a.all { lines.len() } else { 1 };
        let mut text = String::new();
        for l in lines.iter().take(shown) {
            text.push_str(&format!("{l}\n"));
        }
        if lines.len() > shown {
            text.push_str(&format!(
                "... and {} more (use --all to list them)\n",
                lines.len() - shown
            ));
        }
        ui::print_text(&text)
    };
    ui::quiet_broken_pipe(printed)?;
    if outcome.ok {
        Ok(ExitCode::SUCCESS)
    } else {
        // The verdict only: the findings themselves are the output above, never repeated here.
        let n = lines.len();
        let _ = writeln!(
            std::io::stderr(),
            "yardstick: verification failed: {n} problem{} (listed on standard output)",
            if n == 1 { "" } else { "s" }
        );
        Ok(ExitCode::from(1))
    }
}

fn dump(a: DumpArgs) -> anyhow::Result<ExitCode> {
    let fec = fec_spec(&a.fec_device, a.fec_roots, a.fec_offset);
    let report = yardstick_verity::dump_file(&a.hash, a.hash_offset, fec.as_ref())?;
    if a.json {
        ui::print_json(&report)?;
    } else {
        ui::print_text(&report.to_veritysetup_text())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn sign(a: SignArgs) -> anyhow::Result<ExitCode> {
    let out = yardstick_verity::sign_files(&SignRequest {
        root_hash: a.root_hash.input(),
        key: &a.key,
        cert: &a.cert,
        out: &a.out,
        digest: &a.digest,
        systemd_json: a.systemd_json.as_deref(),
    })?;
    if a.json {
        ui::print_json(&out)?;
    } else {
        ui::print_line(&out.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn check_signature(a: CheckSignatureArgs) -> anyhow::Result<ExitCode> {
    let check =
        yardstick_verity::check_signature_files(&a.signature, &a.cert, a.root_hash.input())?;
    if a.json {
        // Best effort into a closed pipe; the exit status still says whether the signature is valid.
        ui::quiet_broken_pipe(ui::print_json(&check))?;
    }
    match &check {
        SignatureCheck::Valid {
            info, signed_text, ..
        } => {
            if !a.json {
                ui::print_line(&format!(
                    "Signature valid: {} signed root hash {signed_text} ({}{}).",
                    a.cert.display(),
                    info.digest,
                    if info.signed_attributes {
                        ", signed attributes"
                    } else {
                        ""
                    }
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SignatureCheck::Invalid { error, .. } => {
            let _ = writeln!(
                std::io::stderr(),
                "yardstick: signature check failed: {}: {error}",
                a.signature.display()
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn kernel_params(a: KernelParamsArgs) -> anyhow::Result<ExitCode> {
    let out = yardstick_verity::kernel_params_files(
        a.hash.as_deref(),
        &spec(&a.tree, &a.layout),
        a.layout.fec().as_ref(),
        RootHashInput {
            text: a.root_hash.as_deref(),
            file: a.root_hash_file.as_deref(),
        },
        &a.dm.names(),
    )?;
    if a.json {
        ui::print_json(&out)?;
    } else {
        ui::print_text(&out.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}
