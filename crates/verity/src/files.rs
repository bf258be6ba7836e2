//! Whole operations on named files, as `veritysetup` runs them: the rules a command line needs but that belong
//! to dm-verity, not to a particular front end.
//!
//! * [`ParamsSpec::resolve`]: veritysetup's parameter defaulting (data blocks from the device size, a random
//!   32-byte salt for a new tree) and validation;
//! * [`format_files`]: which paths are the same device (compared by device and inode, so a tree in the data file
//!   or FEC in the hash file is written in place), output through a temporary file renamed into place unless it
//!   must be written in place (a block device, or the data file itself), the optional root-hash file;
//! * [`verify_files`], [`dump_file`], [`kernel_params_files`] (and, in `signing`, `sign_files` and
//!   `check_signature_files`): the
//!   other commands, each returning a typed result that serializes to the command's `--json` output and renders
//!   its text output.
//!
//! [`RootHashInput`] reads a root hash given as text or in a file. [`DmNames`] names the devices in the kernel
//! command-line forms, including the FEC device's default.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use yardstick_common::fs::{AtomicFile, OutputSet};
use yardstick_common::guid::Guid;
use yardstick_common::hash::{Algorithm, Digest};
use yardstick_common::progress::Progress;

use crate::kernel::{self, DmDevices, DmFec, KernelParams};
use crate::params::{Geometry, HashType, Salt, VerityParams};
use crate::report::Report;
use crate::superblock::{self, Superblock};
use crate::tree::BadBlock;
use crate::volume::{self, Checked, Dev, FecSetup, Volume};
use crate::{Error, device_size};

/// Tree parameters as a user gives them (veritysetup's option names), before defaults apply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamsSpec {
    /// Hash algorithm name as spelled by the user (`--hash`; veritysetup prints it verbatim).
    pub hash: String,
    /// `--data-block-size`.
    pub data_block_size: u32,
    /// `--hash-block-size`.
    pub hash_block_size: u32,
    /// `--data-blocks`; `None` (or 0): the data device size divided by the data block size.
    pub data_blocks: Option<u64>,
    /// `--salt` in hex, `-` for none; `None`: random for a new tree, empty otherwise.
    pub salt: Option<String>,
    /// `--format`: 1 normal, 0 Chrome OS.
    pub format: u32,
    /// `--hash-offset`.
    pub hash_offset: u64,
    /// Whether the hash area starts with a superblock (not `--no-superblock`).
    pub superblock: bool,
}

impl Default for ParamsSpec {
    /// veritysetup's defaults: sha256, 4096-byte blocks, format 1, a superblock at offset 0.
    fn default() -> Self {
        ParamsSpec {
            hash: "sha256".into(),
            data_block_size: 4096,
            hash_block_size: 4096,
            data_blocks: None,
            salt: None,
            format: 1,
            hash_offset: 0,
            superblock: true,
        }
    }
}

/// Whether a missing salt means a random one (a new tree) or none (describing an existing tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaltDefault {
    /// 32 random bytes, as `veritysetup format` chooses.
    Random,
    /// No salt.
    Empty,
}

impl ParamsSpec {
    /// The validated parameters: data blocks default to `data_size` / data block size. `file` names the
    /// device in error messages.
    pub fn resolve(
        &self,
        data_size: Option<u64>,
        salt_default: SaltDefault,
        file: &Path,
    ) -> Result<VerityParams, Error> {
        let option = |option: &'static str| {
            move |e: Error| Error::Option {
                option,
                source: Box::new(e),
            }
        };
        let algorithm = self
            .hash
            .parse::<Algorithm>()
            .map_err(|e| option("--hash")(e.into()))?;
        let hash_type = HashType::from_number(self.format).ok_or_else(|| {
            option("--format")(Error::UnsupportedFormat {
                format: self.format,
            })
        })?;
        let salt = match &self.salt {
            Some(s) => Salt::from_hex(s).map_err(option("--salt"))?,
            None if salt_default == SaltDefault::Random => {
                Salt::random(32).map_err(|e| e.at(file))?
            }
            None => Salt::default(),
        };
        let data_blocks = match (self.data_blocks, data_size) {
            (Some(n), _) if n > 0 => n,
            (_, Some(size)) => size / u64::from(self.data_block_size.max(1)),
            _ => 0,
        };
        let p = VerityParams {
            hash_type,
            algorithm,
            data_block_size: self.data_block_size,
            hash_block_size: self.hash_block_size,
            data_blocks,
            salt,
            hash_offset: self.hash_offset,
            superblock: self.superblock,
            data_offset: 0,
        };
        p.validate().map_err(|e| match e {
            Error::BadBlockSize { which: "data", .. } => option("--data-block-size")(e),
            Error::BadBlockSize { .. } | Error::HashBlockTooSmall { .. } => {
                option("--hash-block-size")(e)
            }
            Error::MisalignedOffset { which: "hash", .. } => option("--hash-offset")(e),
            e => e.at(file),
        })?;
        Ok(p)
    }

    /// The parameters of an existing tree: from its superblock (with the raw superblock, for reserved-byte
    /// checks), or from this spec without one.
    fn existing(
        &self,
        hash: Dev<'_>,
        data_size: Option<u64>,
    ) -> Result<(VerityParams, Option<ReadSuperblock>), Error> {
        if !self.superblock {
            let p = self.resolve(data_size, SaltDefault::Empty, hash.path)?;
            return Ok((p, None));
        }
        let (sb, raw) =
            volume::read_superblock(hash, self.hash_offset).map_err(|e| e.at(hash.path))?;
        Ok((
            volume::params_from_superblock(&sb, self.hash_offset),
            Some((sb, raw)),
        ))
    }
}

/// A superblock and its raw bytes.
type ReadSuperblock = (Superblock, [u8; 512]);

/// Where FEC parity lives (`--fec-device`, `--fec-roots`, `--fec-offset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FecSpec {
    /// The FEC device or file.
    pub device: PathBuf,
    /// Parity bytes per 255-byte codeword (2..=24).
    pub roots: u32,
    /// Byte offset of the parity on the device.
    pub offset: u64,
}

/// Device names in the dm table and `dm-mod.create`, as the booted guest sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmNames {
    /// Data device (default `/dev/vda1`).
    pub data: String,
    /// Hash device (default `/dev/vda2`).
    pub hash: String,
    /// FEC device; `None`: the hash or data device when FEC shares it, else `/dev/vda3`.
    pub fec: Option<String>,
    /// Device-mapper name (default `dm-verity`).
    pub name: String,
}

impl Default for DmNames {
    fn default() -> Self {
        DmNames {
            data: "/dev/vda1".into(),
            hash: "/dev/vda2".into(),
            fec: None,
            name: "dm-verity".into(),
        }
    }
}

impl DmNames {
    /// The FEC device name: given, or the name of the device FEC shares.
    pub fn fec_device(&self, same_as_hash: bool, same_as_data: bool) -> String {
        self.fec.clone().unwrap_or_else(|| {
            if same_as_hash {
                self.hash.clone()
            } else if same_as_data {
                self.data.clone()
            } else {
                "/dev/vda3".into()
            }
        })
    }

    /// The kernel command-line forms for a tree; `fec` is the FEC layout (offset, shares the hash device,
    /// shares the data device) when the report has FEC.
    fn kernel_params(
        &self,
        p: &VerityParams,
        root: &[u8],
        report: &Report,
        fec: Option<(u64, bool, bool)>,
    ) -> KernelParams {
        let dm_fec = report.fec.as_ref().zip(fec).map(|(f, (offset, sh, sd))| {
            (
                DmFec {
                    roots: f.roots,
                    start_block: offset / u64::from(p.hash_block_size),
                    blocks: f.covered_blocks,
                },
                self.fec_device(sh, sd),
            )
        });
        let devices = DmDevices {
            data: self.data.clone(),
            hash: self.hash.clone(),
            fec: dm_fec.as_ref().map(|(_, d)| d.clone()),
        };
        kernel::kernel_params(p, root, &devices, dm_fec.map(|(f, _)| f), &self.name)
    }
}

/// A root hash given as text (an argument) or in a file (`--root-hash-file`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RootHashInput<'a> {
    /// The hex text.
    pub text: Option<&'a str>,
    /// A file holding the hex text (surrounding white space ignored).
    pub file: Option<&'a Path>,
}

impl RootHashInput<'_> {
    /// The root hash: `alg`'s digest length, or without `alg` (signing does not know the algorithm) any length
    /// of a digest dm-verity supports.
    pub fn bytes(&self, alg: Option<Algorithm>) -> Result<Vec<u8>, Error> {
        let (text, origin) = match (self.text, self.file) {
            (Some(t), None) => (t.to_string(), "root hash argument".to_string()),
            (None, Some(f)) => (read_root_hash_file(f)?, f.display().to_string()),
            (Some(_), Some(_)) => return Err(Error::RootHashTwice),
            (None, None) => return Err(Error::RootHashMissing),
        };
        let invalid = |reason: String| Error::RootHashInput {
            origin: origin.clone(),
            reason,
        };
        let bytes =
            yardstick_common::hex::decode(text.trim()).map_err(|e| invalid(e.to_string()))?;
        match alg {
            Some(alg) if bytes.len() != alg.digest_len() => Err(invalid(format!(
                "{} bytes, {alg} needs {}",
                bytes.len(),
                alg.digest_len()
            ))),
            None if ![20, 32, 48, 64].contains(&bytes.len()) => Err(invalid(format!(
                "{} bytes is no sha1/sha256/sha384/sha512 digest",
                bytes.len()
            ))),
            _ => Ok(bytes),
        }
    }
}

/// The text of a `--root-hash-file` (bounded: a root hash is at most 128 hex digits).
fn read_root_hash_file(f: &Path) -> Result<String, Error> {
    yardstick_common::fs::read_input_text(f, yardstick_common::fs::InputKind::ROOT_HASH)
        .map_err(|e| Error::io(f, "cannot read")(e.into_io()))
}

/// Identity of an existing file (device, inode), for "is this the same device" checks.
fn identity(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

fn open_read(p: &Path) -> Result<File, Error> {
    File::open(p).map_err(Error::io(p, "cannot open"))
}

fn open_write(p: &Path) -> Result<File, Error> {
    File::options()
        .read(true)
        .write(true)
        .open(p)
        .map_err(Error::io(p, "cannot open for writing"))
}

/// Opens the optional FEC device of an existing volume.
fn open_fec<'a>(
    fec: Option<&'a FecSpec>,
    file: Option<&'a File>,
    hash: &Path,
    data: Option<&Path>,
) -> Option<FecSetup<'a>> {
    let (spec, file) = (fec?, file?);
    Some(FecSetup {
        dev: Dev {
            file,
            path: &spec.device,
        },
        roots: spec.roots,
        offset: spec.offset,
        same_as_hash: identity(&spec.device) == identity(hash),
        same_as_data: data.is_some_and(|d| identity(&spec.device) == identity(d)),
    })
}

/// Opens an output (hash or FEC file) for writing. An existing regular file's contents are copied into the
/// temporary file first, so bytes outside what is written survive, exactly as when veritysetup writes the file
/// in place. A symbolic link is written through, and a block device (or any non-regular file) is written in
/// place, as veritysetup does (see [`AtomicFile`]).
fn open_output(dest: &Path) -> Result<AtomicFile, Error> {
    let mut a = AtomicFile::create(dest)
        .map_err(Error::io(dest, "cannot create a temporary file beside it"))?;
    if !a.is_in_place()
        && let Ok(mut old) = File::open(dest)
    {
        std::io::copy(&mut old, a.file())
            .map_err(Error::io(dest, "cannot copy the existing contents"))?;
    }
    Ok(a)
}

/// The outputs renamed into place together (hash, FEC, root-hash file), with the paths their errors name.
#[derive(Default)]
struct Outputs<'a> {
    set: OutputSet,
    names: Vec<&'a Path>,
}

impl<'a> Outputs<'a> {
    fn push(&mut self, file: AtomicFile, name: &'a Path) {
        self.set.push(file);
        self.names.push(name);
    }

    fn commit(self) -> Result<(), Error> {
        let names = self.names;
        self.set.commit().map_err(|e| {
            let name = names.get(e.index).copied().unwrap_or(e.dest.as_path());
            Error::io(name, "cannot write")(e.source)
        })
    }
}

/// What `veritysetup format` is asked to do.
#[derive(Debug, Clone)]
pub struct FormatRequest<'a> {
    /// Data device or image file.
    pub data: &'a Path,
    /// Hash device or file: created if missing, may be the data file (with a hash offset past the data).
    pub hash: &'a Path,
    /// Tree parameters.
    pub params: &'a ParamsSpec,
    /// FEC, if any.
    pub fec: Option<&'a FecSpec>,
    /// Superblock UUID as given; `None`: random.
    pub uuid: Option<&'a str>,
    /// Also write the root hash (hex, no newline) to this file.
    pub root_hash_file: Option<&'a Path>,
    /// Device names for the kernel command-line forms in the result.
    pub dm: &'a DmNames,
}

/// The result of [`format_files`]: what veritysetup prints, plus the kernel command-line forms (its `--json`
/// output).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FormatOutcome {
    /// What veritysetup prints.
    #[serde(flatten)]
    pub report: Report,
    /// The kernel command-line forms of the new tree.
    pub kernel_params: KernelParams,
    /// The root hash.
    #[serde(skip)]
    pub root: Digest,
    /// The parameters used.
    #[serde(skip)]
    pub params: VerityParams,
}

/// Which paths of a [`FormatRequest`] are the same device (compared by device and inode; the FEC path also by
/// name, as it may not exist yet).
#[derive(Debug, Clone, Copy)]
struct SharedDevices {
    hash_is_data: bool,
    fec_is_hash: bool,
    fec_is_data: bool,
}

impl SharedDevices {
    /// Compares the request's paths.
    fn of(req: &FormatRequest<'_>) -> SharedDevices {
        let data_id = identity(req.data);
        let hash_is_data = data_id.is_some() && identity(req.hash) == data_id;
        let fec_path = req.fec.map(|f| f.device.as_path());
        let fec_is_hash = fec_path.is_some_and(|f| {
            f == req.hash || (identity(f).is_some() && identity(f) == identity(req.hash))
        });
        let fec_is_data = fec_path.is_some_and(|f| data_id.is_some() && identity(f) == data_id);
        SharedDevices {
            hash_is_data,
            fec_is_hash,
            fec_is_data,
        }
    }

    /// Whether the data device is written (it holds the tree or the FEC).
    fn data_rw(self) -> bool {
        self.hash_is_data || self.fec_is_data
    }
}

/// Formats a volume like `veritysetup format`, refusing before anything is created when the parameters, sizes
/// or overlaps are wrong. New output files appear whole or not at all.
pub fn format_files(
    req: &FormatRequest<'_>,
    progress: &dyn Progress,
) -> Result<FormatOutcome, Error> {
    if let Some(rf) = req.root_hash_file {
        let fec = req.fec.map(|f| f.device.as_path());
        let inputs: Vec<&Path> = [Some(req.data), Some(req.hash), fec]
            .into_iter()
            .flatten()
            .collect();
        yardstick_common::fs::refuse_clobber(&[rf], &inputs)?;
    }
    let shared = SharedDevices::of(req);
    let data_rw = shared.data_rw();
    let data = if data_rw {
        open_write(req.data)?
    } else {
        open_read(req.data)?
    };
    let size = device_size(&data, req.data).map_err(|e| e.at(req.data))?;
    let p = req
        .params
        .resolve(Some(size), SaltDefault::Random, req.hash)?;
    let uuid = superblock_uuid(&p, req)?;
    // Refuse before creating anything.
    let check_vol = Volume {
        data: Dev {
            file: &data,
            path: req.data,
        },
        hash: Dev {
            file: &data,
            path: req.hash,
        },
        hash_is_data: shared.hash_is_data,
        fec: None,
    };
    volume::precheck(&p, &check_vol).map_err(|e| e.at(req.hash))?;

    let mut outputs = Outputs::default();
    let formatted = write_outputs(req, &p, &data, shared, uuid, progress, &mut outputs)?;
    if data_rw {
        data.sync_data()
            .map_err(Error::io(req.data, "cannot flush"))?;
    }
    if let Some(rf) = req.root_hash_file {
        use std::io::Write as _;
        let mut f = AtomicFile::create(rf).map_err(Error::io(rf, "cannot write"))?;
        f.write_all(formatted.root.to_hex().as_bytes())
            .map_err(Error::io(rf, "cannot write"))?;
        outputs.push(f, rf);
    }
    // All or none of the hash file, the FEC file and the root-hash file appear.
    outputs.commit()?;
    let kernel_params = req.dm.kernel_params(
        &p,
        &formatted.root,
        &formatted.report,
        req.fec
            .map(|f| (f.offset, shared.fec_is_hash, shared.fec_is_data)),
    );
    Ok(FormatOutcome {
        report: formatted.report,
        kernel_params,
        root: formatted.root,
        params: p,
    })
}

/// The superblock's UUID (as given, and parsed), random when none is given; `None` without a superblock.
fn superblock_uuid(
    p: &VerityParams,
    req: &FormatRequest<'_>,
) -> Result<Option<(String, Guid)>, Error> {
    if !p.superblock {
        return Ok(None);
    }
    Ok(Some(match req.uuid {
        Some(u) => (
            u.to_string(),
            u.parse::<Guid>()
                .map_err(|_| Error::BadUuid(u.to_string()).at(req.hash))?,
        ),
        None => {
            let b = superblock::random_uuid().map_err(|e| e.at(req.hash))?;
            (b.to_string(), b)
        }
    }))
}

/// Opens the hash and FEC outputs that are not the data device, writes the tree (and FEC), and stages those
/// outputs in `outputs` (in-place ones are flushed).
fn write_outputs<'a>(
    req: &FormatRequest<'a>,
    p: &VerityParams,
    data: &File,
    shared: SharedDevices,
    uuid: Option<(String, Guid)>,
    progress: &dyn Progress,
    outputs: &mut Outputs<'a>,
) -> Result<volume::Formatted, Error> {
    let fec_path = req.fec.map(|f| f.device.as_path());
    let mut hash_out = if shared.hash_is_data {
        None
    } else {
        Some(open_output(req.hash)?)
    };
    let mut fec_out = match fec_path {
        Some(f) if !shared.fec_is_hash && !shared.fec_is_data => Some(open_output(f)?),
        _ => None,
    };
    let hash_file: &File = match &mut hash_out {
        Some(o) => o.file(),
        None => data,
    };
    let fec = match (req.fec, &mut fec_out) {
        (Some(spec), out) => Some(FecSetup {
            dev: Dev {
                file: match out {
                    Some(o) => o.file(),
                    None if shared.fec_is_hash => hash_file,
                    None => data,
                },
                path: &spec.device,
            },
            roots: spec.roots,
            offset: spec.offset,
            same_as_hash: shared.fec_is_hash,
            same_as_data: shared.fec_is_data,
        }),
        _ => None,
    };
    let vol = Volume {
        data: Dev {
            file: data,
            path: req.data,
        },
        hash: Dev {
            file: hash_file,
            path: req.hash,
        },
        hash_is_data: shared.hash_is_data,
        fec,
    };
    let formatted = volume::format(p, &vol, uuid, Some(&req.params.hash), progress)
        .map_err(|e| e.at(req.hash))?;
    if let Some(o) = hash_out {
        outputs.push(o, req.hash);
    }
    if let (Some(o), Some(path)) = (fec_out, fec_path) {
        outputs.push(o, path);
    }
    Ok(formatted)
}

/// What `verify` is asked to check.
#[derive(Debug, Clone)]
pub struct VerifyRequest<'a> {
    /// Data device or image file.
    pub data: &'a Path,
    /// Hash device or file.
    pub hash: &'a Path,
    /// The root hash to check against.
    pub root_hash: RootHashInput<'a>,
    /// Parameters (read from the superblock unless `superblock` is false).
    pub params: &'a ParamsSpec,
    /// FEC parity to check too.
    pub fec: Option<&'a FecSpec>,
}

/// The result of [`verify_files`] (its `--json` output), with every problem described in one line each.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyOutcome {
    /// Nothing wrong.
    pub ok: bool,
    /// The root hash checked against, hex.
    pub root_hash: String,
    /// What was found.
    #[serde(flatten)]
    pub checked: Checked,
    /// One line per problem, in order: bad blocks, then superblock and FEC findings.
    #[serde(skip)]
    pub findings: Vec<String>,
}

impl VerifyOutcome {
    /// The line printed when everything matches.
    pub fn success_line(&self) -> String {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        format!(
            "Verification succeeded: {} and {} match root hash {}.",
            plural(self.checked.tree.data_blocks, "data block"),
            plural(self.checked.tree.hash_blocks, "hash block"),
            self.root_hash
        )
    }
}

/// One line for a bad block.
fn describe(b: &BadBlock, data: &Path, hash: &Path) -> String {
    match b {
        BadBlock::Data {
            index,
            offset,
            files,
        } => {
            let named = if files.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = files.iter().map(ToString::to_string).collect();
                format!(" ({})", list.join("; "))
            };
            format!(
                "data block {index}{named} at byte offset {offset} of {}: digest mismatch",
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

/// Names the files behind bad data blocks, when the data device holds a filesystem [`fsmap`] reads from
/// blocks that verified (every bad block listed, none of them holding the metadata read).
fn name_files(v: &mut crate::tree::Verification, data: &File, p: &VerityParams) {
    let mut bad: Vec<u64> = v
        .bad
        .iter()
        .filter_map(|b| match b {
            BadBlock::Data { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    // A bad hash block leaves its data blocks unverified, and blocks past the list are not known: no names.
    if bad.is_empty() || bad.len() != v.bad.len() || v.unlisted > 0 {
        return;
    }
    bad.sort_unstable();
    let dbs = u64::from(p.data_block_size);
    let file = crate::fsmap::FileAt {
        file: data,
        size: p.data_blocks.saturating_mul(dbs),
    };
    let dev = crate::fsmap::Verified {
        dev: &file,
        bad: &bad,
        block_size: dbs,
    };
    let Some(map) = crate::fsmap::FsMap::read(&dev) else {
        return;
    };
    for b in &mut v.bad {
        if let BadBlock::Data { offset, files, .. } = b {
            *files = map.files_at(*offset, dbs);
        }
    }
}

/// Checks data against a tree and root hash, naming every bad block (and reserved superblock bytes and FEC
/// parity that do not match).
pub fn verify_files(
    req: &VerifyRequest<'_>,
    progress: &dyn Progress,
) -> Result<VerifyOutcome, Error> {
    let data = open_read(req.data)?;
    let hash = open_read(req.hash)?;
    let data_size = device_size(&data, req.data).map_err(|e| e.at(req.data))?;
    let hash_dev = Dev {
        file: &hash,
        path: req.hash,
    };
    let (p, sb) = req.params.existing(hash_dev, Some(data_size))?;
    let root = req.root_hash.bytes(Some(p.algorithm))?;
    let fec_file = req.fec.map(|f| open_read(&f.device)).transpose()?;
    let vol = Volume {
        data: Dev {
            file: &data,
            path: req.data,
        },
        hash: hash_dev,
        hash_is_data: identity(req.data) == identity(req.hash),
        fec: open_fec(req.fec, fec_file.as_ref(), req.hash, Some(req.data)),
    };
    let mut checked = volume::verify(&p, &vol, &root, sb.as_ref().map(|(_, raw)| raw), progress)
        .map_err(|e| e.at(req.hash))?;
    name_files(&mut checked.tree, &data, &p);
    let mut findings: Vec<String> = checked
        .tree
        .bad
        .iter()
        .map(|b| describe(b, req.data, req.hash))
        .collect();
    if !checked.tree.root_ok && checked.tree.bad.is_empty() {
        findings.push("root hash mismatch".into());
    }
    if checked.tree.unlisted > 0 {
        findings.push(format!(
            "{} more mismatching data blocks not listed",
            checked.tree.unlisted
        ));
    }
    findings.extend(checked.superblock_reserved.iter().map(|o| {
        format!(
            "superblock of {}: reserved byte at offset {o} is not zero",
            req.hash.display()
        )
    }));
    let fec_name = req.fec.map_or(Path::new("?"), |f| f.device.as_path());
    findings.extend(checked.fec.iter().map(|m| {
        format!(
            "FEC parity of round {} at byte offset {} of {}: does not match the data",
            m.round,
            m.offset,
            fec_name.display()
        )
    }));
    Ok(VerifyOutcome {
        ok: checked.ok(),
        root_hash: yardstick_common::hex::encode(&root),
        checked,
        findings,
    })
}

/// The report `veritysetup dump` prints for the superblock at `hash_offset` of `hash`.
pub fn dump_file(hash: &Path, hash_offset: u64, fec: Option<&FecSpec>) -> Result<Report, Error> {
    let file = open_read(hash)?;
    let dev = Dev {
        file: &file,
        path: hash,
    };
    let (sb, _) = volume::read_superblock(dev, hash_offset).map_err(|e| e.at(hash))?;
    let p = volume::params_from_superblock(&sb, hash_offset);
    let geo = Geometry::new(&p).map_err(|e| e.at(hash))?;
    let fec_file = fec.map(|f| open_read(&f.device)).transpose()?;
    let fec = open_fec(fec, fec_file.as_ref(), hash, None);
    volume::report(
        &p,
        dev,
        fec.as_ref(),
        &geo,
        Some(sb.uuid.to_string()),
        &sb.algorithm_name,
        None,
    )
    .map_err(|e| e.at(hash))
}

/// The kernel command-line forms of a root hash (its `--json` output: the root hash and every form).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelParamsOutcome {
    /// The root hash, hex.
    pub root_hash: String,
    /// Every form.
    #[serde(flatten)]
    pub params: KernelParams,
}

impl KernelParamsOutcome {
    /// The text output: one labelled line per form.
    pub fn to_text(&self) -> String {
        let k = &self.params;
        let na = "(not applicable)";
        format!(
            "Kata kernel_verity_params: {}\n\
             dm table:                  {}\n\
             dm-mod.create:             {} root=/dev/dm-0\n\
             systemd:                   {}\n\
             systemd data PARTUUID:     {}\n\
             systemd hash PARTUUID:     {}\n",
            k.kata_verity_params.as_deref().unwrap_or(
                "(not applicable: Kata assumes --no-superblock, --hash-offset 0, format 1 and sha256)"
            ),
            k.dm_table,
            k.dm_mod_create,
            k.systemd_roothash,
            k.systemd_data_partuuid.as_deref().unwrap_or(na),
            k.systemd_hash_partuuid.as_deref().unwrap_or(na),
        )
    }
}

/// The kernel command-line forms for a tree: parameters from the hash device's superblock (`hash`), or from
/// `params` alone without a superblock (then `data_blocks` is required and FEC cannot be sized).
pub fn kernel_params_files(
    hash: Option<&Path>,
    params: &ParamsSpec,
    fec: Option<&FecSpec>,
    root_hash: RootHashInput<'_>,
    dm: &DmNames,
) -> Result<KernelParamsOutcome, Error> {
    let hash_file = hash.map(open_read).transpose()?;
    let (p, report) = match (hash, &hash_file) {
        (Some(path), Some(file)) => {
            let dev = Dev { file, path };
            let (p, _) = params.existing(dev, None)?;
            let geo = Geometry::new(&p).map_err(|e| e.at(path))?;
            let fec_file = fec.map(|f| open_read(&f.device)).transpose()?;
            let fec_setup = open_fec(fec, fec_file.as_ref(), path, None);
            let r = volume::report(
                &p,
                dev,
                fec_setup.as_ref(),
                &geo,
                None,
                p.algorithm.name(),
                None,
            )
            .map_err(|e| e.at(path))?;
            (p, Some(r))
        }
        _ => {
            if params.superblock {
                return Err(Error::Usage(
                    "give the hash device (to read its superblock), or --no-superblock with the parameters",
                ));
            }
            if fec.is_some() {
                return Err(Error::Usage(
                    "--fec-device needs the hash device, to size the area FEC covers",
                ));
            }
            if params.data_blocks.is_none() {
                return Err(Error::Usage(
                    "--no-superblock without a hash device needs --data-blocks",
                ));
            }
            let label = Path::new("kernel-params");
            (params.resolve(None, SaltDefault::Empty, label)?, None)
        }
    };
    let root = root_hash.bytes(Some(p.algorithm))?;
    let k = match &report {
        Some(r) => dm.kernel_params(
            &p,
            &root,
            r,
            fec.map(|f| {
                (
                    f.offset,
                    hash.is_some_and(|h| identity(&f.device) == identity(h)),
                    false,
                )
            }),
        ),
        None => kernel::kernel_params(
            &p,
            &root,
            &DmDevices {
                data: dm.data.clone(),
                hash: dm.hash.clone(),
                fec: None,
            },
            None,
            &dm.name,
        ),
    };
    Ok(KernelParamsOutcome {
        root_hash: yardstick_common::hex::encode(&root),
        params: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fec_device_defaults_to_the_shared_device() {
        let dm = DmNames::default();
        assert_eq!(dm.fec_device(true, false), "/dev/vda2");
        assert_eq!(dm.fec_device(false, true), "/dev/vda1");
        assert_eq!(dm.fec_device(false, false), "/dev/vda3");
        let given = DmNames {
            fec: Some("/dev/sdb".into()),
            ..DmNames::default()
        };
        assert_eq!(given.fec_device(true, true), "/dev/sdb");
    }

    #[test]
    fn resolve_defaults_data_blocks_and_salt() {
        let spec = ParamsSpec::default();
        let p = spec
            .resolve(Some(10 * 4096 + 7), SaltDefault::Random, Path::new("h"))
            .unwrap();
        assert_eq!(p.data_blocks, 10);
        assert_eq!(p.salt.as_bytes().len(), 32);
        let p = spec
            .resolve(Some(4096), SaltDefault::Empty, Path::new("h"))
            .unwrap();
        assert!(p.salt.as_bytes().is_empty());
        let bad = ParamsSpec {
            format: 7,
            ..ParamsSpec::default()
        };
        let e = bad
            .resolve(Some(4096), SaltDefault::Empty, Path::new("h"))
            .unwrap_err();
        // A flag's error names the flag, not a file.
        let cause = std::error::Error::source(&e).unwrap();
        assert_eq!(
            format!("{e}: {cause}"),
            "--format: unsupported format 7 (use 0 or 1)"
        );
    }

    #[test]
    fn root_hash_input_rules() {
        let both = RootHashInput {
            text: Some("00"),
            file: Some(Path::new("f")),
        };
        assert!(matches!(both.bytes(None), Err(Error::RootHashTwice)));
        assert!(matches!(
            RootHashInput::default().bytes(None),
            Err(Error::RootHashMissing)
        ));
        let short = RootHashInput {
            text: Some("00ff"),
            file: None,
        };
        assert_eq!(
            short.bytes(None).unwrap_err().to_string(),
            "root hash argument: invalid root hash: 2 bytes is no sha1/sha256/sha384/sha512 digest"
        );
        let h = "ab".repeat(32);
        let ok = RootHashInput {
            text: Some(&h),
            file: None,
        };
        assert_eq!(ok.bytes(Some(Algorithm::Sha256)).unwrap().len(), 32);
        assert!(ok.bytes(Some(Algorithm::Sha512)).is_err());
    }
}
