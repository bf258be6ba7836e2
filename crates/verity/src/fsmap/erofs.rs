//! erofs, uncompressed (as `mkfs.erofs` writes it without `-z`): the superblock, compact and extended
//! inodes, flat data (plain, or with its last block inline after the inode) and directory blocks. Compressed
//! and chunk-based files are left unnamed.

use std::collections::HashSet;

use yardstick_common::bytes::{le16, le32, le64};

use super::{
    Builder, MAX_DEPTH, ReadAt, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, bytes_at, join, mapped_name,
};

const MAGIC: u32 = 0xe0f5_e1e2;
const FLAT_PLAIN: u16 = 0;
const FLAT_INLINE: u16 = 2;

struct Fs<'a> {
    dev: &'a dyn ReadAt,
    blksz: u64,
    meta: u64,
}

/// Where an inode's data lies: `blocks` whole blocks from `start`, then `tail` bytes at `tail_at`.
struct Layout {
    mode: u16,
    size: u64,
    start: u64,
    blocks: u64,
    tail_at: u64,
    tail: u64,
}

pub(super) fn read(dev: &dyn ReadAt) -> Option<Builder> {
    let sb = bytes_at(dev, 1024, 128)?;
    if le32(&sb, 0)? != MAGIC {
        return None;
    }
    let bits = *sb.get(12)?;
    if !(9..=16).contains(&bits) {
        return None;
    }
    let fs = Fs {
        dev,
        blksz: 1 << bits,
        meta: u64::from(le32(&sb, 40)?) << bits,
    };
    let mut b = Builder::default();
    let mut seen = HashSet::new();
    fs.walk(&mut b, u64::from(le16(&sb, 14)?), "/", 0, &mut seen)?;
    Some(b)
}

impl Fs<'_> {
    /// The inode at `nid`; `None` for a layout this reader does not map (compressed, chunk-based).
    fn inode(&self, nid: u64) -> Option<Option<Layout>> {
        let at = self.meta.checked_add(nid.checked_mul(32)?)?;
        let raw = bytes_at(self.dev, at, 32)?;
        let format = le16(&raw, 0)?;
        let extended = format & 1 == 1;
        let layout = (format >> 1) & 7;
        let icount = u64::from(le16(&raw, 2)?);
        let mode = le16(&raw, 4)?;
        let (isize, size) = if extended {
            (64, le64(&bytes_at(self.dev, at, 64)?, 8)?)
        } else {
            (32, u64::from(le32(&raw, 8)?))
        };
        let xattrs = if icount == 0 {
            0
        } else {
            12 + (icount - 1) * 4
        };
        let blkaddr = u64::from(le32(&raw, 16)?);
        let nblocks = size.div_ceil(self.blksz);
        let (blocks, tail) = match layout {
            FLAT_PLAIN => (nblocks, 0),
            FLAT_INLINE if nblocks > 0 => (nblocks - 1, size - (nblocks - 1) * self.blksz),
            FLAT_INLINE => (0, 0),
            _ => return Some(None),
        };
        Some(Some(Layout {
            mode,
            size,
            start: blkaddr.checked_mul(self.blksz)?,
            blocks,
            tail_at: at.checked_add(isize + xattrs)?,
            tail,
        }))
    }

    fn walk(
        &self,
        b: &mut Builder,
        nid: u64,
        path: &str,
        depth: usize,
        seen: &mut HashSet<u64>,
    ) -> Option<()> {
        if depth > MAX_DEPTH || !seen.insert(nid) {
            return None;
        }
        let Some(l) = self.inode(nid)? else {
            // A compressed or chunk-based file: unnamed. A directory so stored cannot be listed.
            let is_dir = self.inode_mode(nid)? & S_IFMT == S_IFDIR;
            return (!is_dir).then_some(());
        };
        let kind = l.mode & S_IFMT;
        if !matches!(kind, S_IFREG | S_IFLNK | S_IFDIR) {
            return Some(());
        }
        let f = b.file(mapped_name(kind, path))?;
        let whole = l.blocks.checked_mul(self.blksz)?;
        b.extent(f, l.start, whole, 0, whole.min(l.size), false)?;
        b.extent(f, l.tail_at, l.tail, whole, l.tail, false)?;
        if kind != S_IFDIR {
            return Some(());
        }
        // The directory's bytes, block by block (the tail is a block's worth too).
        let mut chunks = Vec::new();
        for k in 0..l.blocks {
            chunks.push(bytes_at(
                self.dev,
                l.start.checked_add(k * self.blksz)?,
                usize::try_from(self.blksz).ok()?,
            )?);
        }
        if l.tail > 0 {
            chunks.push(bytes_at(
                self.dev,
                l.tail_at,
                usize::try_from(l.tail).ok()?,
            )?);
        }
        let last = chunks.len().saturating_sub(1);
        for (i, mut chunk) in chunks.into_iter().enumerate() {
            if i == last && l.tail == 0 {
                let used = l.size - (last as u64) * self.blksz;
                chunk.truncate(usize::try_from(used).ok()?);
            }
            self.entries(b, &chunk, path, depth, seen)?;
        }
        Some(())
    }

    fn inode_mode(&self, nid: u64) -> Option<u16> {
        let at = self.meta.checked_add(nid.checked_mul(32)?)?;
        le16(&bytes_at(self.dev, at, 32)?, 4)
    }

    /// The entries of one directory block, walked.
    fn entries(
        &self,
        b: &mut Builder,
        blk: &[u8],
        path: &str,
        depth: usize,
        seen: &mut HashSet<u64>,
    ) -> Option<()> {
        if blk.is_empty() {
            return Some(());
        }
        let first = usize::from(le16(blk, 8)?);
        if first % 12 != 0 || first == 0 || first > blk.len() {
            return None;
        }
        let n = first / 12;
        for i in 0..n {
            let nid = le64(blk, i * 12)?;
            let off = usize::from(le16(blk, i * 12 + 8)?);
            let end = if i + 1 < n {
                usize::from(le16(blk, (i + 1) * 12 + 8)?)
            } else {
                blk.len()
            };
            let raw = blk.get(off..end)?;
            let name = raw.split(|c| *c == 0).next().unwrap_or_default();
            if name == b"." || name == b".." {
                continue;
            }
            let child = join(path, name)?;
            if !seen.contains(&nid) {
                self.walk(b, nid, &child, depth + 1, seen)?;
            }
        }
        Some(())
    }
}
