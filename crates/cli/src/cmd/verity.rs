//! `yardstick verity`: veritysetup-compatible dm-verity formatting, verification and dumps, root-hash
//! signatures and kernel command-line parameters. Flags map onto `yardstick_verity` parameters; the work and
//! the byte layouts live in that crate.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use yardstick_common::fs::AtomicFile;
use yardstick_common::guid::Guid;
use yardstick_common::hash::Algorithm;
use yardstick_verity::kernel::{self, DmDevices, DmFec, KernelParams};
use yardstick_verity::params::{Geometry, HashType, Salt, VerityParams};
use yardstick_verity::report::Report;
use yardstick_verity::signature::{self, SigDigest, SigningKey};
use yardstick_verity::superblock;
use yardstick_verity::tree::BadBlock;
use yardstick_verity::volume::{self, Dev, FecSetup, Volume};

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
    /// The root hash: `alg`'s digest length, or without `alg` (signing does not know the algorithm) any
    /// supported digest length.
    fn bytes(&self, alg: Option<Algorithm>) -> anyhow::Result<Vec<u8>> {
        root_hash_arg(
            self.root_hash.as_deref(),
            self.root_hash_file.as_deref(),
            alg,
        )
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

/// Adds the file name to library errors that do not carry it already.
fn at(path: &Path) -> impl FnOnce(yardstick_verity::Error) -> anyhow::Error + '_ {
    move |e| {
        if e.names_file() {
            anyhow!(e)
        } else {
            anyhow!(e).context(path.display().to_string())
        }
    }
}

/// Identity of an existing file (device, inode), for "is this the same device" checks.
fn identity(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

fn is_block_device(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.file_type().is_block_device())
        .unwrap_or(false)
}

fn algorithm(name: &str, file: &Path) -> anyhow::Result<Algorithm> {
    name.parse::<Algorithm>()
        .map_err(|e| anyhow!(e).context(file.display().to_string()))
}

fn hash_type(n: u32, file: &Path) -> anyhow::Result<HashType> {
    HashType::from_number(n)
        .ok_or_else(|| anyhow!("{}: unsupported format {n} (use 0 or 1)", file.display()))
}

fn open_read(p: &Path) -> anyhow::Result<File> {
    File::open(p).with_context(|| format!("{}: cannot open", p.display()))
}

fn device_size(f: &File, p: &Path) -> anyhow::Result<u64> {
    yardstick_verity::device_size(f, p).map_err(at(p))
}

/// Parameters from the command line (for format, and for --no-superblock elsewhere).
fn params_from_opts(
    t: &TreeOpts,
    l: &LayoutOpts,
    data_size: Option<u64>,
    file: &Path,
    default_salt: bool,
) -> anyhow::Result<VerityParams> {
    let algorithm = algorithm(&t.hash_alg, file)?;
    let hash_type = hash_type(t.format, file)?;
    let salt = match &t.salt {
        Some(s) => Salt::from_hex(s).map_err(at(file))?,
        None if default_salt => Salt::random(32).map_err(at(file))?,
        None => Salt::default(),
    };
    let data_blocks = match (t.data_blocks, data_size) {
        (Some(n), _) if n > 0 => n,
        (_, Some(size)) => size / u64::from(t.data_block_size.max(1)),
        _ => 0,
    };
    let p = VerityParams {
        hash_type,
        algorithm,
        data_block_size: t.data_block_size,
        hash_block_size: t.hash_block_size,
        data_blocks,
        salt,
        hash_offset: l.hash_offset,
        superblock: !l.no_superblock,
    };
    p.validate().map_err(at(file))?;
    Ok(p)
}

/// An output file: a temporary file renamed over the destination on success, or the device itself when it must
/// be written in place (a block device, or the data file holding the tree past its data).
enum Output {
    Atomic(AtomicFile),
    InPlace(File),
}

impl Output {
    /// Opens `dest` for writing. An existing regular file's contents are copied into the temporary file first,
    /// so bytes outside what is written survive, exactly as when veritysetup writes the file in place.
    fn open(dest: &Path, in_place: bool) -> anyhow::Result<Output> {
        if in_place || is_block_device(dest) {
            let f = File::options()
                .read(true)
                .write(true)
                .open(dest)
                .with_context(|| format!("{}: cannot open for writing", dest.display()))?;
            return Ok(Output::InPlace(f));
        }
        // Write through a symlink, as veritysetup does, instead of replacing it.
        let real = std::fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf());
        let dest = real.as_path();
        let mut a = AtomicFile::create(dest).with_context(|| {
            format!(
                "{}: cannot create a temporary file beside it",
                dest.display()
            )
        })?;
        if let Ok(mut old) = File::open(dest) {
            std::io::copy(&mut old, a.file()).with_context(|| {
                format!("{}: cannot copy the existing contents", dest.display())
            })?;
        }
        Ok(Output::Atomic(a))
    }

    fn file(&mut self) -> &mut File {
        match self {
            Output::Atomic(a) => a.file(),
            Output::InPlace(f) => f,
        }
    }

    fn commit(self, dest: &Path) -> anyhow::Result<()> {
        match self {
            Output::Atomic(a) => a
                .commit()
                .with_context(|| format!("{}: cannot write", dest.display())),
            Output::InPlace(f) => f
                .sync_data()
                .with_context(|| format!("{}: cannot flush", dest.display())),
        }
    }
}

/// The dm FEC device name: given, or the dm name of the device FEC shares.
fn dm_fec_device(dm: &DmOpts, same_as_hash: bool, same_as_data: bool) -> String {
    dm.dm_fec_device.clone().unwrap_or_else(|| {
        if same_as_hash {
            dm.dm_hash_device.clone()
        } else if same_as_data {
            dm.dm_data_device.clone()
        } else {
            "/dev/vda3".into()
        }
    })
}

fn kparams(
    p: &VerityParams,
    root: &[u8],
    report: &Report,
    dm: &DmOpts,
    fec: Option<(u64, bool, bool)>,
) -> KernelParams {
    let dm_fec = report.fec.as_ref().zip(fec).map(|(f, (offset, sh, sd))| {
        (
            DmFec {
                roots: f.roots,
                start_block: offset / u64::from(p.hash_block_size),
                blocks: f.covered_blocks,
            },
            dm_fec_device(dm, sh, sd),
        )
    });
    let devices = DmDevices {
        data: dm.dm_data_device.clone(),
        hash: dm.dm_hash_device.clone(),
        fec: dm_fec.as_ref().map(|(_, d)| d.clone()),
    };
    kernel::kernel_params(p, root, &devices, dm_fec.map(|(f, _)| f), &dm.dm_name)
}

#[derive(serde::Serialize)]
struct FormatJson<'a> {
    #[serde(flatten)]
    report: &'a Report,
    kernel_params: KernelParams,
}

fn format(a: FormatArgs) -> anyhow::Result<ExitCode> {
    let data_id = identity(&a.data);
    let hash_is_data = data_id.is_some() && identity(&a.hash) == data_id;
    let fec_path = a.layout.fec_device.clone();
    let fec_is_hash = fec_path.as_deref().is_some_and(|f| {
        f == a.hash || (identity(f).is_some() && identity(f) == identity(&a.hash))
    });
    let fec_is_data = fec_path
        .as_deref()
        .is_some_and(|f| data_id.is_some() && identity(f) == data_id);
    let data_rw = hash_is_data || fec_is_data;
    let data = if data_rw {
        File::options()
            .read(true)
            .write(true)
            .open(&a.data)
            .with_context(|| format!("{}: cannot open for writing", a.data.display()))?
    } else {
        open_read(&a.data)?
    };
    let size = device_size(&data, &a.data)?;
    let p = params_from_opts(&a.tree, &a.layout, Some(size), &a.hash, true)?;
    let uuid = if p.superblock {
        Some(match &a.uuid {
            Some(u) => (
                u.clone(),
                u.parse::<Guid>().map_err(|_| {
                    anyhow!(yardstick_verity::Error::BadUuid(u.clone()))
                        .context(a.hash.display().to_string())
                })?,
            ),
            None => {
                let b = superblock::random_uuid().map_err(at(&a.hash))?;
                (b.to_string(), b)
            }
        })
    } else {
        None
    };
    // Refuse before creating anything.
    let check_vol = Volume {
        data: Dev {
            file: &data,
            path: &a.data,
        },
        hash: Dev {
            file: &data,
            path: &a.hash,
        },
        hash_is_data,
        fec: None,
    };
    volume::precheck(&p, &check_vol).map_err(at(&a.hash))?;

    let mut hash_out = if hash_is_data {
        None
    } else {
        Some(Output::open(&a.hash, false)?)
    };
    let mut fec_out = match &fec_path {
        Some(f) if !fec_is_hash && !fec_is_data => Some(Output::open(f, false)?),
        _ => None,
    };
    let hash_file: &File = match &mut hash_out {
        Some(o) => o.file(),
        None => &data,
    };
    let fec_file: Option<&File> = match (&fec_path, &mut fec_out) {
        (Some(_), Some(o)) => Some(o.file()),
        (Some(_), None) if fec_is_hash => Some(hash_file),
        (Some(_), None) => Some(&data),
        _ => None,
    };
    let fec = match (&fec_path, fec_file) {
        (Some(path), Some(file)) => Some(FecSetup {
            dev: Dev { file, path },
            roots: a.layout.fec_roots,
            offset: a.layout.fec_offset,
            same_as_hash: fec_is_hash,
            same_as_data: fec_is_data,
        }),
        _ => None,
    };
    let vol = Volume {
        data: Dev {
            file: &data,
            path: &a.data,
        },
        hash: Dev {
            file: hash_file,
            path: &a.hash,
        },
        hash_is_data,
        fec,
    };
    let bar = ui::Bar::bytes("hashing");
    let result = volume::format(&p, &vol, uuid, Some(&a.tree.hash_alg), &bar);
    bar.finish();
    let formatted = result.map_err(at(&a.hash))?;
    if let Some(o) = hash_out {
        o.commit(&a.hash)?;
    }
    if let (Some(o), Some(path)) = (fec_out, &fec_path) {
        o.commit(path)?;
    }
    if data_rw {
        data.sync_data()
            .with_context(|| format!("{}: cannot flush", a.data.display()))?;
    }
    if let Some(rf) = &a.root_hash_file {
        yardstick_common::fs::write_atomic(rf, formatted.root.to_hex().as_bytes())
            .with_context(|| format!("{}: cannot write", rf.display()))?;
    }
    if a.json {
        let k = kparams(
            &p,
            &formatted.root,
            &formatted.report,
            &a.dm,
            fec_path
                .as_ref()
                .map(|_| (a.layout.fec_offset, fec_is_hash, fec_is_data)),
        );
        ui::print_json(&FormatJson {
            report: &formatted.report,
            kernel_params: k,
        })?;
    } else {
        print!("{}", formatted.report.to_veritysetup_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// Root hash from the argument or `--root-hash-file`: `alg`'s digest length, or without `alg` any length of a
/// digest dm-verity supports.
fn root_hash_arg(
    arg: Option<&str>,
    file: Option<&Path>,
    alg: Option<Algorithm>,
) -> anyhow::Result<Vec<u8>> {
    let (text, origin) = match (arg, file) {
        (Some(t), None) => (t.to_string(), "root hash argument".to_string()),
        (None, Some(f)) => (
            std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?,
            f.display().to_string(),
        ),
        (Some(_), Some(_)) => {
            bail!("give the root hash either as argument or with --root-hash-file, not both")
        }
        (None, None) => bail!("missing root hash (argument or --root-hash-file)"),
    };
    let bytes = yardstick_common::hex::decode(text.trim())
        .map_err(|e| anyhow!("{origin}: invalid root hash: {e}"))?;
    match alg {
        Some(alg) if bytes.len() != alg.digest_len() => bail!(
            "{origin}: invalid root hash: {} bytes, {alg} needs {}",
            bytes.len(),
            alg.digest_len()
        ),
        None if ![20, 32, 48, 64].contains(&bytes.len()) => bail!(
            "{origin}: invalid root hash: {} bytes is no sha1/sha256/sha384/sha512 digest",
            bytes.len()
        ),
        _ => Ok(bytes),
    }
}

/// A superblock and its raw bytes.
type ReadSuperblock = (superblock::Superblock, [u8; 512]);

/// Parameters of an existing tree: from its superblock, or from the command line with --no-superblock.
fn existing_params(
    t: &TreeOpts,
    l: &LayoutOpts,
    hash: Dev<'_>,
    data_size: Option<u64>,
) -> anyhow::Result<(VerityParams, Option<ReadSuperblock>)> {
    if l.no_superblock {
        let p = params_from_opts(t, l, data_size, hash.path, false)?;
        return Ok((p, None));
    }
    let (sb, raw) = volume::read_superblock(hash, l.hash_offset).map_err(at(hash.path))?;
    Ok((
        volume::params_from_superblock(&sb, l.hash_offset),
        Some((sb, raw)),
    ))
}

#[derive(serde::Serialize)]
struct VerifyJson<'a> {
    ok: bool,
    root_hash: String,
    #[serde(flatten)]
    checked: &'a volume::Checked,
}

fn describe(b: &BadBlock, data: &Path, hash: &Path) -> String {
    match b {
        BadBlock::Data { index, offset } => {
            format!(
                "data block {index} at byte offset {offset} of {}: digest mismatch",
                data.display()
            )
        }
        BadBlock::Hash {
            level,
            index,
            offset,
            reason,
            spare_at,
        } => {
            let spare = spare_at
                .map(|s| format!(" (first non-zero spare byte at offset {s})"))
                .unwrap_or_default();
            format!(
                "hash block {index} of level {level} at byte offset {offset} of {}: {reason}{spare}",
                hash.display()
            )
        }
        BadBlock::Parameters { superblock_offset } => match superblock_offset {
            Some(o) => format!(
                "superblock at byte offset {o} of {}: every digest mismatches: the salt, algorithm, format, block sizes or data block count it holds are corrupted",
                hash.display()
            ),
            None => format!(
                "{}: every digest mismatches: the salt, algorithm, format, block sizes or data block count given do not belong to this tree",
                hash.display()
            ),
        },
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let data = open_read(&a.data)?;
    let hash = open_read(&a.hash)?;
    let data_size = device_size(&data, &a.data)?;
    let hash_dev = Dev {
        file: &hash,
        path: &a.hash,
    };
    let (p, sb) = existing_params(&a.tree, &a.layout, hash_dev, Some(data_size))?;
    let root = a.root_hash.bytes(Some(p.algorithm))?;
    let fec_file = match &a.layout.fec_device {
        Some(f) => Some(open_read(f)?),
        None => None,
    };
    let fec = match (&a.layout.fec_device, &fec_file) {
        (Some(path), Some(file)) => Some(FecSetup {
            dev: Dev { file, path },
            roots: a.layout.fec_roots,
            offset: a.layout.fec_offset,
            same_as_hash: identity(path) == identity(&a.hash),
            same_as_data: identity(path) == identity(&a.data),
        }),
        _ => None,
    };
    let vol = Volume {
        data: Dev {
            file: &data,
            path: &a.data,
        },
        hash: hash_dev,
        hash_is_data: identity(&a.data) == identity(&a.hash),
        fec,
    };
    let bar = ui::Bar::bytes("verifying");
    let result = volume::verify(&p, &vol, &root, sb.as_ref().map(|(_, raw)| raw), &bar);
    bar.finish();
    let checked = result.map_err(at(&a.hash))?;
    let ok = checked.ok();
    let mut lines: Vec<String> = checked
        .tree
        .bad
        .iter()
        .map(|b| describe(b, &a.data, &a.hash))
        .collect();
    if !checked.tree.root_ok && checked.tree.bad.is_empty() {
        lines.push("root hash mismatch".into());
    }
    if checked.tree.unlisted > 0 {
        lines.push(format!(
            "{} more mismatching data blocks not listed",
            checked.tree.unlisted
        ));
    }
    lines.extend(checked.superblock_reserved.iter().map(|o| {
        format!(
            "superblock of {}: reserved byte at offset {o} is not zero",
            a.hash.display()
        )
    }));
    lines.extend(checked.fec.iter().map(|m| {
        format!(
            "FEC parity of round {} at byte offset {} of {}: does not match the data",
            m.round,
            m.offset,
            a.layout
                .fec_device
                .as_deref()
                .unwrap_or(Path::new("?"))
                .display()
        )
    }));
    if a.json {
        ui::print_json(&VerifyJson {
            ok,
            root_hash: yardstick_common::hex::encode(&root),
            checked: &checked,
        })?;
    } else if ok {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        println!(
            "Verification succeeded: {} and {} match root hash {}.",
            plural(checked.tree.data_blocks, "data block"),
            plural(checked.tree.hash_blocks, "hash block"),
            yardstick_common::hex::encode(&root)
        );
    } else {
        let mut out = std::io::stdout().lock();
        let shown = if a.all { lines.len() } else { 1 };
        for l in lines.iter().take(shown) {
            writeln!(out, "{l}")?;
        }
        if lines.len() > shown {
            writeln!(
                out,
                "... and {} more (use --all to list them)",
                lines.len() - shown
            )?;
        }
    }
    if ok {
        Ok(ExitCode::SUCCESS)
    } else {
        let first = lines.first().cloned().unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "yardstick: verification failed: {first}{}",
            if lines.len() > 1 {
                format!(" (+{} more)", lines.len() - 1)
            } else {
                String::new()
            }
        );
        Ok(ExitCode::from(1))
    }
}

fn dump(a: DumpArgs) -> anyhow::Result<ExitCode> {
    let hash = open_read(&a.hash)?;
    let dev = Dev {
        file: &hash,
        path: &a.hash,
    };
    let (sb, _) = volume::read_superblock(dev, a.hash_offset).map_err(at(&a.hash))?;
    let p = volume::params_from_superblock(&sb, a.hash_offset);
    let geo = Geometry::new(&p).map_err(at(&a.hash))?;
    let fec_file = match &a.fec_device {
        Some(f) => Some(open_read(f)?),
        None => None,
    };
    let fec = match (&a.fec_device, &fec_file) {
        (Some(path), Some(file)) => Some(FecSetup {
            dev: Dev { file, path },
            roots: a.fec_roots,
            offset: a.fec_offset,
            same_as_hash: identity(path) == identity(&a.hash),
            same_as_data: false,
        }),
        _ => None,
    };
    let report = volume::report(
        &p,
        dev,
        fec.as_ref(),
        &geo,
        Some(sb.uuid.to_string()),
        &sb.algorithm_name,
        None,
    )
    .map_err(at(&a.hash))?;
    if a.json {
        ui::print_json(&report)?;
    } else {
        print!("{}", report.to_veritysetup_text());
    }
    Ok(ExitCode::SUCCESS)
}

fn read_file(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()))
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SystemdSignature {
    root_hash: String,
    certificate_fingerprint: String,
    signature: String,
}

fn sign(a: SignArgs) -> anyhow::Result<ExitCode> {
    use base64::Engine as _;
    let digest: SigDigest = a
        .digest
        .parse()
        .map_err(|e| anyhow!("{}: {e}", a.out.display()))?;
    let key = SigningKey::from_bytes(&read_file(&a.key)?)
        .map_err(|e| anyhow!("{}: {e}", a.key.display()))?;
    let cert = signature::parse_certificate(&read_file(&a.cert)?)
        .map_err(|e| anyhow!("{}: {e}", a.cert.display()))?;
    let root = a.root_hash.bytes(None)?;
    let text = signature::signed_text(&root);
    let der = signature::sign(text.as_bytes(), &key, &cert, digest)
        .map_err(|e| anyhow!("{}: {e}", a.key.display()))?;
    yardstick_common::fs::write_atomic(&a.out, &der)
        .with_context(|| format!("{}: cannot write", a.out.display()))?;
    let fp = signature::certificate_fingerprint(&cert)
        .map_err(|e| anyhow!("{}: {e}", a.cert.display()))?;
    let sd = SystemdSignature {
        root_hash: text.clone(),
        certificate_fingerprint: yardstick_common::hex::encode(&fp),
        signature: base64::engine::general_purpose::STANDARD.encode(&der),
    };
    if let Some(j) = &a.systemd_json {
        let body = serde_json::to_string(&sd)?;
        yardstick_common::fs::write_atomic(j, body.as_bytes())
            .with_context(|| format!("{}: cannot write", j.display()))?;
    }
    if a.json {
        ui::print_json(&serde_json::json!({
            "signature_file": a.out.display().to_string(),
            "signed_text": text,
            "digest": digest.name(),
            "certificate_fingerprint": sd.certificate_fingerprint,
            "signature_base64": sd.signature,
        }))?;
    } else {
        println!(
            "Signed root hash {text} ({}, {} bytes of DER) -> {}",
            digest.name(),
            der.len(),
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check_signature(a: CheckSignatureArgs) -> anyhow::Result<ExitCode> {
    let sig = read_file(&a.signature)?;
    let cert = signature::parse_certificate(&read_file(&a.cert)?)
        .map_err(|e| anyhow!("{}: {e}", a.cert.display()))?;
    let root = a.root_hash.bytes(None)?;
    let text = signature::signed_text(&root);
    match signature::verify(text.as_bytes(), &sig, &cert) {
        Ok(info) => {
            if a.json {
                ui::print_json(
                    &serde_json::json!({ "ok": true, "signed_text": text, "info": info }),
                )?;
            } else {
                println!(
                    "Signature valid: {} signed root hash {text} ({}{}).",
                    a.cert.display(),
                    info.digest,
                    if info.signed_attributes {
                        ", signed attributes"
                    } else {
                        ""
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_check_failure() => {
            if a.json {
                ui::print_json(
                    &serde_json::json!({ "ok": false, "signed_text": text, "error": e.to_string() }),
                )?;
            }
            let _ = writeln!(
                std::io::stderr(),
                "yardstick: signature check failed: {}: {e}",
                a.signature.display()
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(anyhow!("{}: {e}", a.signature.display())),
    }
}

#[derive(serde::Serialize)]
struct KernelJson {
    root_hash: String,
    #[serde(flatten)]
    params: KernelParams,
}

fn kernel_params(a: KernelParamsArgs) -> anyhow::Result<ExitCode> {
    let hash_file = match &a.hash {
        Some(h) => Some(open_read(h)?),
        None => None,
    };
    let label = a
        .hash
        .clone()
        .unwrap_or_else(|| PathBuf::from("kernel-params"));
    let (p, report_fec) = match (&a.hash, &hash_file) {
        (Some(path), Some(file)) => {
            let dev = Dev { file, path };
            let (p, _) = existing_params(&a.tree, &a.layout, dev, None)?;
            let geo = Geometry::new(&p).map_err(at(path))?;
            let fec_file = match &a.layout.fec_device {
                Some(f) => Some(open_read(f)?),
                None => None,
            };
            let fec = match (&a.layout.fec_device, &fec_file) {
                (Some(fp), Some(ff)) => Some(FecSetup {
                    dev: Dev { file: ff, path: fp },
                    roots: a.layout.fec_roots,
                    offset: a.layout.fec_offset,
                    same_as_hash: identity(fp) == identity(path),
                    same_as_data: false,
                }),
                _ => None,
            };
            let r = volume::report(&p, dev, fec.as_ref(), &geo, None, p.algorithm.name(), None)
                .map_err(at(path))?;
            (p, Some(r))
        }
        _ => {
            if !a.layout.no_superblock {
                bail!(
                    "give the hash device (to read its superblock), or --no-superblock with the parameters"
                );
            }
            if a.layout.fec_device.is_some() {
                bail!("--fec-device needs the hash device, to size the area FEC covers");
            }
            if a.tree.data_blocks.is_none() {
                bail!("--no-superblock without a hash device needs --data-blocks");
            }
            (
                params_from_opts(&a.tree, &a.layout, None, &label, false)?,
                None,
            )
        }
    };
    let root = root_hash_arg(
        a.root_hash.as_deref(),
        a.root_hash_file.as_deref(),
        Some(p.algorithm),
    )?;
    let k = match &report_fec {
        Some(r) => kparams(
            &p,
            &root,
            r,
            &a.dm,
            a.layout.fec_device.as_ref().map(|f| {
                (
                    a.layout.fec_offset,
                    a.hash
                        .as_deref()
                        .is_some_and(|h| identity(f) == identity(h)),
                    false,
                )
            }),
        ),
        None => kernel::kernel_params(
            &p,
            &root,
            &DmDevices {
                data: a.dm.dm_data_device.clone(),
                hash: a.dm.dm_hash_device.clone(),
                fec: None,
            },
            None,
            &a.dm.dm_name,
        ),
    };
    if a.json {
        ui::print_json(&KernelJson {
            root_hash: yardstick_common::hex::encode(&root),
            params: k,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let na = "(not applicable)";
    println!(
        "Kata kernel_verity_params: {}",
        k.kata_verity_params.as_deref().unwrap_or(
            "(not applicable: Kata assumes --no-superblock, --hash-offset 0, format 1 and sha256)"
        )
    );
    println!("dm table:                  {}", k.dm_table);
    println!(
        "dm-mod.create:             {} root=/dev/dm-0",
        k.dm_mod_create
    );
    println!("systemd:                   {}", k.systemd_roothash);
    println!(
        "systemd data PARTUUID:     {}",
        k.systemd_data_partuuid.as_deref().unwrap_or(na)
    );
    println!(
        "systemd hash PARTUUID:     {}",
        k.systemd_hash_partuuid.as_deref().unwrap_or(na)
    );
    Ok(ExitCode::SUCCESS)
}
