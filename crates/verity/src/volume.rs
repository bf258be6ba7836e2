//! Whole operations on a verity volume (data device, hash device, optional FEC device), in the order
//! `_crypt_format_verity()` (cryptsetup `lib/setup.c`) performs them: validate, hash, FEC, superblock.
//!
//! Devices are open files supplied by the caller, who decides where output goes (a temporary file renamed
//! into place, or the device itself) and tells which devices are the same file, because that changes both
//! validation and the area FEC covers.

use std::fs::File;
use std::path::Path;

use yardstick_common::guid::Guid;
use yardstick_common::hash::Digest;
use yardstick_common::progress::Progress;

use crate::fec::{self, FecInput, ParityMismatch};
use crate::params::{Geometry, VerityParams};
use crate::report::{FecReport, Report};
use crate::superblock::{self, Superblock};
use crate::tree::{self, Verification};
use crate::{Error, device_size};

/// A device: open file and the path it was named by.
#[derive(Clone, Copy)]
pub struct Dev<'a> {
    /// Open file (read-only for inputs, read-write for outputs).
    pub file: &'a File,
    /// Path as given (used in messages and in the report header).
    pub path: &'a Path,
}

/// FEC settings (`--fec-device`, `--fec-roots`, `--fec-offset`).
#[derive(Clone, Copy)]
pub struct FecSetup<'a> {
    /// The FEC device.
    pub dev: Dev<'a>,
    /// Parity bytes per codeword (2..=24).
    pub roots: u32,
    /// Byte offset of the parity on the FEC device.
    pub offset: u64,
    /// The FEC device is the hash device (then FEC covers the hash device up to `offset`).
    pub same_as_hash: bool,
    /// The FEC device is the data device.
    pub same_as_data: bool,
}

/// The devices of one volume: [`Volume::new`], then [`Volume::hash_in_data`] / [`Volume::with_fec`].
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Volume<'a> {
    /// Data device.
    pub data: Dev<'a>,
    /// Hash device.
    pub hash: Dev<'a>,
    /// The hash device is the data device (tree past the data, at `--hash-offset`).
    pub hash_is_data: bool,
    /// FEC, if any.
    pub fec: Option<FecSetup<'a>>,
}

impl<'a> Volume<'a> {
    /// Data and hash on separate devices, no FEC.
    pub fn new(data: Dev<'a>, hash: Dev<'a>) -> Volume<'a> {
        Volume {
            data,
            hash,
            hash_is_data: false,
            fec: None,
        }
    }

    /// The same, saying whether the hash device is the data device (the tree past the data).
    pub fn hash_in_data(mut self, hash_is_data: bool) -> Volume<'a> {
        self.hash_is_data = hash_is_data;
        self
    }

    /// The same with FEC.
    pub fn with_fec(mut self, fec: Option<FecSetup<'a>>) -> Volume<'a> {
        self.fec = fec;
        self
    }

    fn tree_devices(&self) -> tree::Devices<'a> {
        tree::Devices {
            data: self.data.file,
            data_path: self.data.path,
            hash: self.hash.file,
            hash_path: self.hash.path,
        }
    }
}

/// The result of [`format()`].
#[derive(Debug, Clone)]
pub struct Formatted {
    /// Root hash.
    pub root: Digest,
    /// Tree layout.
    pub geometry: Geometry,
    /// What veritysetup prints.
    pub report: Report,
}

fn check_fec(p: &VerityParams, fec: Option<&FecSetup<'_>>, geo: &Geometry) -> Result<(), Error> {
    let Some(f) = fec else { return Ok(()) };
    if p.data_block_size != p.hash_block_size {
        return Err(Error::FecBlockSizes {
            data: p.data_block_size,
            hash: p.hash_block_size,
        });
    }
    if !(fec::MIN_ROOTS..=fec::MAX_ROOTS).contains(&f.roots) {
        return Err(Error::FecRoots(f.roots));
    }
    if !f.offset.is_multiple_of(512) {
        return Err(Error::MisalignedOffset {
            which: "FEC",
            offset: f.offset,
        });
    }
    // cryptsetup compares against the tree size without the superblock block; mirrored as is.
    let hash_end = p
        .hash_offset
        .checked_add(geo.hash_blocks * u64::from(p.hash_block_size))
        .ok_or(Error::Overflow)?;
    if f.same_as_hash && hash_end > f.offset {
        return Err(Error::FecOverlap {
            what: "hash",
            fec_offset: f.offset,
            end: hash_end,
        });
    }
    let data_end = p.data_size()?;
    if f.same_as_data && data_end > f.offset {
        return Err(Error::FecOverlap {
            what: "data",
            fec_offset: f.offset,
            end: data_end,
        });
    }
    Ok(())
}

/// Checks everything that can be checked before writing: parameters, sizes, overlaps.
pub fn precheck(p: &VerityParams, v: &Volume<'_>) -> Result<Geometry, Error> {
    p.validate()?;
    let geo = Geometry::new(p)?;
    let data_end = p.data_size()?;
    let size = device_size(v.data.file, v.data.path)?;
    if size < data_end.saturating_add(p.data_offset) {
        return Err(Error::DataTooSmall {
            path: v.data.path.to_path_buf(),
            size,
            blocks: p.data_blocks,
            block_size: p.data_block_size,
        });
    }
    if v.hash_is_data && data_end.saturating_add(p.data_offset) > p.hash_offset {
        return Err(Error::HashOverlapsData {
            hash_offset: p.hash_offset,
            data_end,
        });
    }
    if v.fec.is_some() && p.data_offset != 0 {
        return Err(Error::Usage(
            "FEC over data at an offset of the data device is not supported",
        ));
    }
    check_fec(p, v.fec.as_ref(), &geo)?;
    Ok(geo)
}

/// Blocks FEC covers now (`VERITY_FEC_blocks`): the data blocks plus the hash device from the first tree
/// block to its end, or to the FEC offset when FEC shares the hash device.
fn fec_covered(p: &VerityParams, hash: Dev<'_>, f: &FecSetup<'_>) -> Result<u64, Error> {
    let end = if f.same_as_hash {
        f.offset
    } else {
        device_size(hash.file, hash.path)?
    };
    let hob = p.hash_start_block();
    fec::covered_blocks(p.data_blocks, hob, p.data_block_size, end).ok_or_else(|| {
        Error::HashTooSmall {
            path: hash.path.to_path_buf(),
            size: end,
            needed: hob * u64::from(p.hash_block_size),
        }
    })
}

/// The FEC input as it is now.
fn fec_input<'a>(
    p: &VerityParams,
    v: &Volume<'a>,
    f: &FecSetup<'a>,
) -> Result<FecInput<'a>, Error> {
    let covered = fec_covered(p, v.hash, f)?;
    Ok(FecInput {
        data: v.data.file,
        data_path: v.data.path,
        data_blocks: p.data_blocks,
        hash: v.hash.file,
        hash_path: v.hash.path,
        hash_start: p.hash_start_block() * u64::from(p.data_block_size),
        hash_blocks: covered - p.data_blocks,
        block_size: p.data_block_size,
    })
}

/// Builds the report veritysetup prints for the volume as it is now (`VERITY_dump`).
pub fn report(
    p: &VerityParams,
    hash: Dev<'_>,
    fec: Option<&FecSetup<'_>>,
    geo: &Geometry,
    uuid: Option<String>,
    algorithm_name: &str,
    root: Option<&Digest>,
) -> Result<Report, Error> {
    let hbs = u64::from(p.hash_block_size);
    let fec_report = match fec {
        Some(f) if check_fec(p, Some(f), geo).is_ok() => {
            let covered = fec_covered(p, hash, f)?;
            let blocks = fec::rs_blocks(covered, f.roots);
            (covered > 0).then_some(FecReport {
                roots: f.roots,
                blocks,
                covered_blocks: covered,
                device_size: (f.offset == 0 && !f.same_as_hash)
                    .then_some(blocks * u64::from(p.data_block_size)),
            })
        }
        _ => None,
    };
    let mut verity_blocks = p.hash_start_block() + geo.hash_blocks;
    if let (Some(f), Some(r)) = (fec, &fec_report)
        && f.same_as_hash
    {
        verity_blocks += r.blocks;
    }
    Ok(Report {
        device: hash.path.display().to_string(),
        uuid: if p.superblock { uuid } else { None },
        hash_type: p.hash_type.number(),
        data_blocks: p.data_blocks,
        data_block_size: p.data_block_size,
        hash_blocks: geo.hash_blocks,
        hash_block_size: p.hash_block_size,
        hash_algorithm: algorithm_name.to_string(),
        salt: yardstick_common::hex::encode(p.salt.as_bytes()),
        root_hash: root.map(|r| r.to_hex()),
        hash_device_size: (p.hash_offset == 0).then_some(verity_blocks * hbs),
        fec: fec_report,
    })
}

/// Formats a volume like `veritysetup format`: writes the tree (and FEC parity, and the superblock) and returns
/// the root hash and the report. `uuid` is the UUID string to print (as given) and its bytes; `algorithm_name`
/// the algorithm as the user spelled it (veritysetup prints it verbatim and stores it lower-cased), or `None`
/// for the canonical name.
pub fn format(
    p: &VerityParams,
    v: &Volume<'_>,
    uuid: Option<(String, Guid)>,
    algorithm_name: Option<&str>,
    progress: &dyn Progress,
) -> Result<Formatted, Error> {
    let algorithm_name = algorithm_name.unwrap_or(p.algorithm.name());
    let geo = precheck(p, v)?;
    progress.set_phase("hashing");
    progress.set_total(tree::work_bytes(p, &geo));
    let root = tree::build(p, &geo, v.tree_devices(), progress)?;
    if let Some(f) = &v.fec {
        let input = fec_input(p, v, f)?;
        progress.set_phase("FEC");
        progress.set_total(fec::work_bytes(&input, f.roots));
        fec::encode(&input, f.roots, f.dev.file, f.dev.path, f.offset, progress)?;
    }
    let uuid_text = match (&uuid, p.superblock) {
        (Some((text, guid)), true) => {
            let sb = Superblock {
                hash_type: p.hash_type,
                uuid: *guid,
                algorithm: p.algorithm,
                algorithm_name: algorithm_name.to_string(),
                data_block_size: p.data_block_size,
                hash_block_size: p.hash_block_size,
                data_blocks: p.data_blocks,
                salt: p.salt.clone(),
            };
            let g = superblock::write_granularity(v.hash.file, p.hash_block_size);
            superblock::write(v.hash.file, p.hash_offset, &sb, g)
                .map_err(Error::io(v.hash.path, "cannot write the superblock"))?;
            Some(text.clone())
        }
        _ => None,
    };
    let report = report(
        p,
        v.hash,
        v.fec.as_ref(),
        &geo,
        uuid_text,
        algorithm_name,
        Some(&root),
    )?;
    Ok(Formatted {
        root,
        geometry: geo,
        report,
    })
}

/// The root hash the tree on the devices gives now (the digest of its top block; of the only data block when
/// there is no tree), without verifying anything below: cheap, to tell which of several candidate places holds
/// a tree.
pub fn stored_root(p: &VerityParams, v: &Volume<'_>) -> Result<Digest, Error> {
    let geo = precheck(p, v)?;
    tree::root_digest(p, &geo, v.tree_devices())
}

/// Parameters read from the superblock at `offset`, plus the raw bytes (for reserved-byte checks).
pub fn read_superblock(hash: Dev<'_>, offset: u64) -> Result<(Superblock, [u8; 512]), Error> {
    if !offset.is_multiple_of(512) {
        return Err(Error::MisalignedOffset {
            which: "hash",
            offset,
        });
    }
    let size = device_size(hash.file, hash.path)?;
    superblock::read(hash.file, offset, size).map_err(|source| Error::Superblock {
        path: hash.path.to_path_buf(),
        source,
    })
}

/// The parameters a superblock describes, with the hash area at `offset`.
pub fn params_from_superblock(sb: &Superblock, offset: u64) -> VerityParams {
    VerityParams {
        hash_type: sb.hash_type,
        algorithm: sb.algorithm,
        data_block_size: sb.data_block_size,
        hash_block_size: sb.hash_block_size,
        data_blocks: sb.data_blocks,
        salt: sb.salt.clone(),
        hash_offset: offset,
        superblock: true,
        data_offset: 0,
    }
}

/// What [`verify()`] found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    /// The tree.
    pub tree: Verification,
    /// Reserved superblock bytes that are not zero (byte offsets on the hash device).
    pub superblock_reserved: Vec<u64>,
    /// FEC parity that does not match.
    pub fec: Vec<ParityMismatch>,
}

impl Checked {
    /// Nothing wrong.
    pub fn ok(&self) -> bool {
        self.tree.ok() && self.superblock_reserved.is_empty() && self.fec.is_empty()
    }
}

/// Verifies a volume against `root`: the tree (naming the exact bad blocks), reserved superblock bytes
/// (`raw_superblock`), and FEC parity when an FEC device is given.
pub fn verify(
    p: &VerityParams,
    v: &Volume<'_>,
    root: &[u8],
    raw_superblock: Option<&[u8; 512]>,
    progress: &dyn Progress,
) -> Result<Checked, Error> {
    if root.len() != p.algorithm.digest_len() {
        return Err(Error::BadRootHash(format!(
            "{} bytes, {} needs {}",
            root.len(),
            p.algorithm,
            p.algorithm.digest_len()
        )));
    }
    let geo = precheck(p, v)?;
    let hbs = u64::from(p.hash_block_size);
    let needed = geo.tree_end_block() * hbs;
    let size = device_size(v.hash.file, v.hash.path)?;
    if size < needed {
        return Err(Error::HashTooSmall {
            path: v.hash.path.to_path_buf(),
            size,
            needed,
        });
    }
    progress.set_phase("verifying");
    progress.set_total(tree::work_bytes(p, &geo));
    let tree = tree::verify(p, &geo, v.tree_devices(), root, progress)?;
    let superblock_reserved = raw_superblock
        .map(|b| {
            Superblock::nonzero_reserved(b)
                .into_iter()
                .map(|(s, _)| p.hash_offset + s as u64)
                .collect()
        })
        .unwrap_or_default();
    let fec = match &v.fec {
        Some(f) => {
            let input = fec_input(p, v, f)?;
            progress.set_phase("FEC");
            progress.set_total(fec::work_bytes(&input, f.roots));
            fec::verify(&input, f.roots, f.dev.file, f.dev.path, f.offset, progress)?
        }
        None => Vec::new(),
    };
    Ok(Checked {
        tree,
        superblock_reserved,
        fec,
    })
}
