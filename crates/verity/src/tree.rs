//! Hash tree creation and verification (cryptsetup `lib/verity/verity_hash.c`), on all cores.
//!
//! Byte layout (what `create_or_verify()` writes): levels are stored top level first, starting at the
//! hash-start block, the leaf level (digests of the data blocks) last. Every hash block of a level holds up to
//! [`Geometry::per_block`] digests, each in a slot of [`Geometry::slot_len`] bytes (format 1 pads digests to a
//! power of two with zeros); unused slots and the rest of the block are zero. The root hash is the digest of
//! the single top-level block, or of the only data block when there is just one (then there is no tree).
//!
//! Work is split into independent windows of a few MiB that rayon spreads over the cores; each window is read
//! with `pread` into a per-thread buffer, so memory stays bounded whatever the image size. Data-device holes
//! (`SEEK_DATA`/`SEEK_HOLE`) are never read and all-zero data blocks are never hashed: both take one
//! precomputed digest.
//!
//! Hand-written for bit-exactness and speed: no crate builds dm-verity trees; this one is byte-identical with
//! veritysetup 2.6.1 and hashes data blocks in multi-buffer batches on every core (see `scripts/bench-verity.sh`).

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;
use yardstick_common::hash::Digest;
use yardstick_common::hash::multi::BatchHasher;
use yardstick_common::progress::Progress;

use crate::Error;
use crate::params::{Geometry, HashType, VerityParams};

/// Bytes of child blocks one window reads and hashes: small enough that the kernel's copy into the window
/// and the hashing of it stay in the core's L2 cache (measured on an AMD EPYC Zen 4, 1 GiB: 256 KiB windows
/// 6% faster than 4 MiB ones, whose copy went out to L3 and memory and back).
const WINDOW_BYTES: usize = 256 << 10;
/// Bytes of child blocks per task (one write of the hash blocks they make).
const TASK_BYTES: usize = 4 << 20;

/// The data and hash devices of a tree.
#[derive(Clone, Copy)]
pub struct Devices<'a> {
    /// Data device.
    pub data: &'a File,
    /// Its path, for messages.
    pub data_path: &'a Path,
    /// Hash device.
    pub hash: &'a File,
    /// Its path.
    pub hash_path: &'a Path,
}

/// One input to a tree level: consecutive equal-size blocks of a file.
struct Source<'a> {
    file: &'a File,
    path: &'a Path,
    /// Byte offset of block 0.
    start: u64,
    block_size: usize,
    /// Data extents (`SEEK_DATA`), when holes may be skipped; `None` means "read everything".
    extents: Option<&'a [(u64, u64)]>,
    /// Digest of an all-zero block, when zero blocks may be skipped.
    zero: Option<Digest>,
}

/// A hasher for blocks of `len` bytes in the given format.
pub fn block_hasher(p: &VerityParams, len: usize) -> BatchHasher {
    let salt = p.salt.as_bytes();
    match p.hash_type {
        HashType::Normal => BatchHasher::new(p.algorithm, salt, &[], len),
        HashType::ChromeOs => BatchHasher::new(p.algorithm, &[], salt, len),
    }
}

thread_local! {
    static WINDOW: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn is_zero(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(16);
    let body = chunks.by_ref().all(|c| {
        let mut a = [0u8; 16];
        a.copy_from_slice(c);
        u128::from_ne_bytes(a) == 0
    });
    body && chunks.remainder().iter().all(|&x| x == 0)
}

/// Whether `[s, e)` overlaps any extent (sorted, disjoint).
fn overlaps(extents: &[(u64, u64)], s: u64, e: u64) -> bool {
    let i = extents.partition_point(|&(_, end)| end <= s);
    extents.get(i).is_some_and(|&(start, _)| start < e)
}

/// Digests of blocks `first..first + out.len()` of `src`.
// Hot loop: `buf` holds `out.len() * bs` bytes, and `i <= j <= out.len()`, so every block range is inside it.
#[allow(clippy::indexing_slicing)]
fn digest_window(
    src: &Source<'_>,
    hasher: &BatchHasher,
    first: u64,
    out: &mut [Digest],
    progress: &dyn Progress,
) -> Result<(), Error> {
    let bs = src.block_size;
    let bytes = out.len() * bs;
    let off = src.start + first * bs as u64;
    progress.advance(bytes as u64);
    if let (Some(ext), Some(zero)) = (src.extents, src.zero)
        && !overlaps(ext, off, off + bytes as u64)
    {
        out.fill(zero);
        return Ok(());
    }
    WINDOW.with(|w| {
        let mut buf = w.borrow_mut();
        if buf.len() < bytes {
            buf.resize(bytes, 0);
        }
        let buf = &mut buf[..bytes];
        src.file
            .read_exact_at(buf, off)
            .map_err(Error::io(src.path, "cannot read"))?;
        match src.zero {
            None => {
                hasher.digest_chunks(buf, out);
            }
            Some(zero) => {
                // Hash runs of non-zero blocks in batches; zero blocks take the precomputed digest.
                let mut i = 0;
                while i < out.len() {
                    if is_zero(&buf[i * bs..(i + 1) * bs]) {
                        out[i] = zero;
                        i += 1;
                        continue;
                    }
                    let mut j = i + 1;
                    while j < out.len() && !is_zero(&buf[j * bs..(j + 1) * bs]) {
                        j += 1;
                    }
                    hasher.digest_chunks(&buf[i * bs..j * bs], &mut out[i..j]);
                    i = j;
                }
            }
        }
        Ok(())
    })
}

/// Digests of children `c0..c0 + out.len()`, windows in parallel.
fn digest_range(
    src: &Source<'_>,
    hasher: &BatchHasher,
    c0: u64,
    out: &mut [Digest],
    progress: &dyn Progress,
) -> Result<(), Error> {
    let per_window = (WINDOW_BYTES / src.block_size).max(1);
    out.par_chunks_mut(per_window)
        .enumerate()
        .try_for_each(|(w, ds)| {
            digest_window(src, hasher, c0 + (w * per_window) as u64, ds, progress)
        })
}

/// How many hash blocks of a level one task produces: enough for about [`TASK_BYTES`] of children.
fn blocks_per_task(geo: &Geometry, child_size: usize) -> u64 {
    let per_block_bytes = geo.per_block.saturating_mul(child_size as u64);
    (TASK_BYTES as u64 / per_block_bytes.max(1)).max(1)
}

/// Serializes the digests of consecutive children into hash blocks (zero-padded slots and spare areas).
// Hot loop: `out` holds `nblocks * hbs` bytes and slot `i % per` of block `i / per` ends within its block
// (`per * slot_len <= hbs`, `digest_len <= slot_len` by Geometry), so no index can be out of bounds.
#[allow(clippy::indexing_slicing)]
fn pack(geo: &Geometry, hbs: usize, digests: &[Digest]) -> Vec<u8> {
    let per = geo.per_block as usize;
    let nblocks = digests.len().div_ceil(per);
    let mut out = vec![0u8; nblocks * hbs];
    for (i, d) in digests.iter().enumerate() {
        let at = (i / per) * hbs + (i % per) * geo.slot_len;
        out[at..at + geo.digest_len].copy_from_slice(d);
    }
    out
}

/// Where the children of level `i` come from.
// `i` walks `geo.levels` (index 1.. for `i - 1`).
#[allow(clippy::indexing_slicing)]
fn level_source<'a>(
    p: &VerityParams,
    geo: &Geometry,
    i: usize,
    dev: Devices<'a>,
    extents: &'a [(u64, u64)],
    zero: Digest,
) -> Source<'a> {
    if i == 0 {
        Source {
            file: dev.data,
            path: dev.data_path,
            start: p.data_offset,
            block_size: p.data_block_size as usize,
            extents: Some(extents),
            zero: Some(zero),
        }
    } else {
        Source {
            file: dev.hash,
            path: dev.hash_path,
            start: geo.levels[i - 1].first_block * u64::from(p.hash_block_size),
            block_size: p.hash_block_size as usize,
            extents: None,
            zero: None,
        }
    }
}

/// The data extents of the data area, when the file reports holes.
fn data_extents(p: &VerityParams, data: &File, path: &Path) -> Result<Vec<(u64, u64)>, Error> {
    let end = p
        .data_size()?
        .checked_add(p.data_offset)
        .ok_or(Error::Overflow)?;
    yardstick_common::fs::data_extents(data, p.data_offset, end)
        .map_err(Error::io(path, "cannot list data extents"))
}

/// Total bytes hashed, for progress bars.
pub fn work_bytes(p: &VerityParams, geo: &Geometry) -> u64 {
    let data = p.data_blocks.saturating_mul(u64::from(p.data_block_size));
    let tree = geo.hash_blocks.saturating_mul(u64::from(p.hash_block_size));
    data.saturating_add(tree)
}

/// One task's share of a tree level: the child digests of hash blocks `first_block..first_block + blocks` of
/// level `level` (entries `first_entry..`, at most `blocks * per_block` of them).
struct Task {
    level: usize,
    first_block: u64,
    blocks: u64,
    first_entry: u64,
    digests: Vec<Digest>,
}

/// Walks the tree bottom-up, level by level (each level reads the one below it, so levels run in order), and
/// within a level digests the children of `blocks_per_task` hash blocks per rayon task, handing each task's
/// digests to `visit`. Holes and all-zero data blocks cost one precomputed digest.
fn walk_levels<F>(
    p: &VerityParams,
    geo: &Geometry,
    dev: Devices<'_>,
    progress: &dyn Progress,
    visit: F,
) -> Result<(), Error>
where
    F: Fn(Task) -> Result<(), Error> + Sync,
{
    let dbs = p.data_block_size as usize;
    let hbs = p.hash_block_size as usize;
    let extents = data_extents(p, dev.data, dev.data_path)?;
    let data_hasher = block_hasher(p, dbs);
    let zero = data_hasher.digest_one(&vec![0u8; dbs]);
    let hash_hasher = block_hasher(p, hbs);
    for (i, level) in geo.levels.iter().enumerate() {
        let src = level_source(p, geo, i, dev, &extents, zero);
        let hasher = if i == 0 { &data_hasher } else { &hash_hasher };
        let per_task = blocks_per_task(geo, src.block_size);
        let tasks = level.blocks.div_ceil(per_task);
        (0..tasks).into_par_iter().try_for_each(|t| {
            let b0 = t * per_task;
            let c0 = b0 * geo.per_block;
            let c1 = ((b0 + per_task) * geo.per_block).min(level.entries);
            let mut digests = vec![p.algorithm.zero(); (c1 - c0) as usize];
            digest_range(&src, hasher, c0, &mut digests, progress)?;
            visit(Task {
                level: i,
                first_block: b0,
                blocks: per_task.min(level.blocks - b0),
                first_entry: c0,
                digests,
            })
        })?;
    }
    Ok(())
}

/// Builds the tree of `data` into `hash` (at the positions of `geo`) and returns the root hash.
/// The caller has validated the parameters and checked that `data` holds the data area.
// `task.level` is an index into `geo.levels` produced by walk_levels.
#[allow(clippy::indexing_slicing)]
pub fn build(
    p: &VerityParams,
    geo: &Geometry,
    dev: Devices<'_>,
    progress: &dyn Progress,
) -> Result<Digest, Error> {
    let hbs = p.hash_block_size as usize;
    walk_levels(p, geo, dev, progress, |task| {
        let out = pack(geo, hbs, &task.digests);
        let at = (geo.levels[task.level].first_block + task.first_block) * hbs as u64;
        dev.hash
            .write_all_at(&out, at)
            .map_err(Error::io(dev.hash_path, "cannot write"))
    })?;
    root_digest(p, geo, dev)
}

/// The root hash from what is on the devices now: the digest of the top hash block, or of the only data
/// block when there is no tree.
pub fn root_digest(p: &VerityParams, geo: &Geometry, dev: Devices<'_>) -> Result<Digest, Error> {
    let Devices {
        data,
        data_path,
        hash,
        hash_path,
    } = dev;
    match geo.levels.last() {
        None => {
            let mut b = vec![0u8; p.data_block_size as usize];
            data.read_exact_at(&mut b, p.data_offset)
                .map_err(Error::io(data_path, "cannot read"))?;
            Ok(block_hasher(p, b.len()).digest_one(&b))
        }
        Some(top) => {
            let mut b = vec![0u8; p.hash_block_size as usize];
            hash.read_exact_at(&mut b, top.first_block * u64::from(p.hash_block_size))
                .map_err(Error::io(hash_path, "cannot read"))?;
            Ok(block_hasher(p, b.len()).digest_one(&b))
        }
    }
}

/// A block that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BadBlock {
    /// A data block whose digest differs from its entry in a verified hash block.
    Data {
        /// Data block index.
        index: u64,
        /// Byte offset on the data device.
        offset: u64,
        /// The files whose bytes the block holds, when the data device holds a filesystem yardstick reads
        /// ([`crate::fsmap`]); empty otherwise (and then left out of the JSON).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        files: Vec<crate::fsmap::FileRange>,
    },
    /// A hash block whose digest differs from its entry in a verified parent block (or from the root hash, for
    /// the top block), or whose spare area is not zero.
    Hash {
        /// Tree level (0 = the leaf level holding data-block digests).
        level: usize,
        /// Index of the block within its level.
        index: u64,
        /// Byte offset on the hash device.
        offset: u64,
        /// Why: "digest mismatch", "does not match the root hash" or "spare area not zeroed".
        reason: String,
        /// First non-zero spare byte, as a byte offset on the hash device.
        #[serde(skip_serializing_if = "Option::is_none")]
        spare_at: Option<u64>,
    },
    /// Every digest at every level mismatches: the salt, algorithm, format, block sizes or data block count
    /// do not belong to this tree (a corrupted superblock, or wrong parameters).
    Parameters {
        /// Byte offset of the superblock, when there is one.
        #[serde(skip_serializing_if = "Option::is_none")]
        superblock_offset: Option<u64>,
    },
}

/// What verifying a tree against a root hash found ([`volume::verify`](crate::volume::verify)).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Verification {
    /// Whether the top hash block (or the only data block) matches the root hash.
    pub root_ok: bool,
    /// Bad blocks, top of the tree first, then data blocks in order.
    pub bad: Vec<BadBlock>,
    /// Data blocks that mismatch under a verified hash block but were not listed (the list is capped).
    pub unlisted: u64,
    /// Data blocks checked.
    pub data_blocks: u64,
    /// Hash blocks checked.
    pub hash_blocks: u64,
}

impl Verification {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.root_ok && self.bad.is_empty() && self.unlisted == 0
    }
}

/// Data-block mismatches kept for blame; beyond this only a count.
const MAX_LISTED: usize = 1 << 20;

/// Per-level findings before blame.
#[derive(Default)]
struct LevelCheck {
    /// Children whose digest differs from their stored entry (capped for level 0).
    mismatched: Vec<u64>,
    mismatch_count: u64,
    /// Hash blocks of this level (index within level) with non-zero spare bytes, and the first such offset.
    dirty_spare: Vec<(u64, u64)>,
}

/// Checks the spare bytes of stored hash blocks `b0..` of a level holding `entries` digests.
// Hot loop over hash blocks: `blk` is an `hbs`-byte chunk and `used <= per` slots of `slot_len` bytes fit in it
// (`per * slot_len <= hbs` by Geometry).
#[allow(clippy::indexing_slicing)]
fn spare_defects(
    geo: &Geometry,
    hbs: usize,
    stored: &[u8],
    b0: u64,
    first_child: u64,
    entries: u64,
    base_offset: u64,
) -> Vec<(u64, u64)> {
    let per = geo.per_block;
    let mut out = Vec::new();
    for (k, blk) in stored.chunks_exact(hbs).enumerate() {
        let c_start = first_child + k as u64 * per;
        let used = entries.saturating_sub(c_start).min(per) as usize;
        let mut first_bad = None;
        for slot in 0..used {
            let s = slot * geo.slot_len;
            if let Some(z) = blk[s + geo.digest_len..s + geo.slot_len]
                .iter()
                .position(|&c| c != 0)
            {
                first_bad = Some(s + geo.digest_len + z);
                break;
            }
        }
        if first_bad.is_none() {
            let tail = used * geo.slot_len;
            first_bad = blk[tail..].iter().position(|&c| c != 0).map(|z| tail + z);
        }
        if let Some(at) = first_bad {
            let index = b0 + k as u64;
            out.push((index, base_offset + k as u64 * hbs as u64 + at as u64));
        }
    }
    out
}

/// Verifies `data` against the tree in `hash` and `root`, naming the exact bad blocks.
///
/// Every digest is recomputed and compared with its stored entry (like `veritysetup verify`), then blame is
/// assigned top-down like the kernel does: a block is reported bad only when its parent verified, so a
/// corrupted hash block is named instead of the data blocks below it.
// `task.level` indexes `geo.levels` and `found` (one entry per level); `stored` holds `task.blocks * hbs`
// bytes, which cover every slot of `task.digests` (Geometry), so the per-digest comparisons stay in bounds.
#[allow(clippy::indexing_slicing)]
pub fn verify(
    p: &VerityParams,
    geo: &Geometry,
    dev: Devices<'_>,
    root: &[u8],
    progress: &dyn Progress,
) -> Result<Verification, Error> {
    let hbs = p.hash_block_size as usize;
    let per = geo.per_block as usize;
    let found: Vec<Mutex<LevelCheck>> = geo.levels.iter().map(|_| Mutex::default()).collect();
    walk_levels(p, geo, dev, progress, |task| {
        let level = &geo.levels[task.level];
        let mut stored = vec![0u8; task.blocks as usize * hbs];
        let at = (level.first_block + task.first_block) * hbs as u64;
        dev.hash
            .read_exact_at(&mut stored, at)
            .map_err(Error::io(dev.hash_path, "cannot read"))?;
        let c0 = task.first_entry;
        let mismatched: Vec<u64> = task
            .digests
            .iter()
            .enumerate()
            .filter(|(k, d)| {
                let s = (k / per) * hbs + (k % per) * geo.slot_len;
                stored[s..s + geo.digest_len] != d[..]
            })
            .map(|(k, _)| c0 + k as u64)
            .collect();
        let spare = spare_defects(geo, hbs, &stored, task.first_block, c0, level.entries, at);
        let mut f = found[task.level].lock().unwrap_or_else(|e| e.into_inner());
        f.mismatch_count += mismatched.len() as u64;
        let room = if task.level == 0 {
            MAX_LISTED.saturating_sub(f.mismatched.len())
        } else {
            usize::MAX
        };
        f.mismatched.extend(mismatched.into_iter().take(room));
        f.dirty_spare.extend(spare);
        Ok(())
    })?;
    let checks: Vec<LevelCheck> = found
        .into_iter()
        .map(|m| {
            let mut c = m.into_inner().unwrap_or_else(|e| e.into_inner());
            c.mismatched.sort_unstable();
            c.dirty_spare.sort_unstable();
            c
        })
        .collect();
    let actual_root = root_digest(p, geo, dev)?;
    let root_ok = actual_root[..] == *root;
    Ok(blame(p, geo, &checks, root_ok))
}

/// Assigns blame top-down (see [`verify`]).
// `checks` has one entry per level and `levels > 0` here (a geometry has at least one level).
#[allow(clippy::indexing_slicing)]
fn blame(p: &VerityParams, geo: &Geometry, checks: &[LevelCheck], root_ok: bool) -> Verification {
    let mut v = Verification {
        root_ok,
        data_blocks: p.data_blocks,
        hash_blocks: geo.hash_blocks,
        ..Default::default()
    };
    let levels = geo.levels.len();
    if levels == 0 {
        if !root_ok {
            v.bad.push(BadBlock::Data {
                index: 0,
                offset: 0,
                files: Vec::new(),
            });
        }
        return v;
    }
    // Everything wrong everywhere: not a corruption of some blocks but of the parameters themselves.
    if !root_ok && every_digest_mismatches(geo, checks) {
        v.bad.push(BadBlock::Parameters {
            superblock_offset: p.superblock.then_some(p.hash_offset),
        });
        return v;
    }
    // The sorted indices of the level's hash blocks that did not verify (everything below them cannot be
    // judged). Start at the top.
    let mut untrusted: Vec<u64> = Vec::new();
    for i in (0..levels).rev() {
        untrusted = blame_hash_level(p, geo, checks, i, root_ok, &untrusted, &mut v.bad);
    }
    blame_data_blocks(p, geo, &checks[0], &untrusted, &mut v);
    v
}

/// Whether every stored digest at every level mismatches.
fn every_digest_mismatches(geo: &Geometry, checks: &[LevelCheck]) -> bool {
    let all_entries: u64 = geo.levels.iter().map(|l| l.entries).sum();
    let all_mismatch: u64 = checks.iter().map(|c| c.mismatch_count).sum();
    all_mismatch == all_entries
}

/// Reports the bad hash blocks of level `i` whose parent verified (`untrusted_above`: the sorted untrusted
/// blocks of level `i + 1`) into `bad`; returns the sorted untrusted blocks of level `i`.
// `i < levels` (callers walk the levels), `checks` has one entry per level, and `k` comes from a binary
// search in `spare`.
#[allow(clippy::indexing_slicing)]
fn blame_hash_level(
    p: &VerityParams,
    geo: &Geometry,
    checks: &[LevelCheck],
    i: usize,
    root_ok: bool,
    untrusted_above: &[u64],
    bad: &mut Vec<BadBlock>,
) -> Vec<u64> {
    let hbs = u64::from(p.hash_block_size);
    let levels = geo.levels.len();
    let level = geo.levels[i];
    let spare = &checks[i].dirty_spare;
    let spare_at = |b: u64| {
        spare
            .binary_search_by_key(&b, |&(k, _)| k)
            .ok()
            .map(|k| spare[k].1)
    };
    let mut untrusted: Vec<u64> = Vec::new();
    let parent_trusted = |b: u64, untrusted_above: &[u64]| {
        untrusted_above.binary_search(&(b / geo.per_block)).is_err()
    };
    // Blocks of level i that mismatch their parent's entry (for the top: the root hash).
    let mismatched: &[u64] = if i + 1 == levels {
        if root_ok { &[] } else { &[0] }
    } else {
        &checks[i + 1].mismatched
    };
    for &b in mismatched {
        let trusted_parent = i + 1 == levels || parent_trusted(b, untrusted_above);
        untrusted.push(b);
        if trusted_parent {
            let sa = spare_at(b);
            let reason = if sa.is_some() {
                "spare area not zeroed"
            } else if i + 1 == levels {
                "does not match the root hash (or the root hash given is wrong)"
            } else {
                "digest mismatch"
            };
            bad.push(BadBlock::Hash {
                level: i,
                index: b,
                offset: (level.first_block + b) * hbs,
                reason: reason.into(),
                spare_at: sa,
            });
        }
    }
    // Spare defects in blocks not already reported.
    for &(b, at) in spare {
        if mismatched.binary_search(&b).is_err() {
            untrusted.push(b);
            bad.push(BadBlock::Hash {
                level: i,
                index: b,
                offset: (level.first_block + b) * hbs,
                reason: "spare area not zeroed".into(),
                spare_at: Some(at),
            });
        }
    }
    // Blocks below an untrusted block are untrusted too.
    untrusted.extend(
        untrusted_above
            .iter()
            .flat_map(|&u| u * geo.per_block..((u + 1) * geo.per_block).min(level.blocks)),
    );
    untrusted.sort_unstable();
    untrusted.dedup();
    untrusted
}

/// Reports the mismatching data blocks whose leaf hash block verified (not in `untrusted_leaves`), and counts
/// the mismatches not listed.
fn blame_data_blocks(
    p: &VerityParams,
    geo: &Geometry,
    leaf: &LevelCheck,
    untrusted_leaves: &[u64],
    v: &mut Verification,
) {
    let dbs = u64::from(p.data_block_size);
    for &d in &leaf.mismatched {
        if untrusted_leaves
            .binary_search(&(d / geo.per_block))
            .is_err()
        {
            v.bad.push(BadBlock::Data {
                index: d,
                offset: d * dbs,
                files: Vec::new(),
            });
        }
    }
    v.unlisted = leaf.mismatch_count - leaf.mismatched.len() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_detection_and_extents() {
        assert!(is_zero(&[0u8; 4096]));
        let mut b = vec![0u8; 4097];
        b[4096] = 1;
        assert!(!is_zero(&b));
        let ext = [(4096, 8192), (65536, 70000)];
        assert!(!overlaps(&ext, 0, 4096));
        assert!(overlaps(&ext, 0, 4097));
        assert!(overlaps(&ext, 69999, 80000));
        assert!(!overlaps(&ext, 70000, 80000));
    }
}
