//! ext4 (and ext2/3 layouts with extent-mapped files): the superblock, group descriptors, inodes, extent
//! trees and linear directory blocks (htree index blocks read as empty entries, as the kernel allows).
//! Files mapped by block lists (no `EXTENTS_FL`), inline data and fast symlinks have no data blocks of their
//! own that are mapped: those blocks are left unnamed.

use std::collections::HashSet;

use yardstick_common::bytes::{le16, le32};

use super::{
    Builder, MAX_DEPTH, ReadAt, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, bytes_at, join, mapped_name,
};

const MAGIC: u16 = 0xef53;
const ROOT_INO: u32 = 2;
const EXTENTS_FL: u32 = 0x8_0000;
const INLINE_DATA_FL: u32 = 0x1000_0000;
const EXTENT_MAGIC: u16 = 0xf30a;
const INCOMPAT_64BIT: u32 = 0x80;

struct Fs<'a> {
    dev: &'a dyn ReadAt,
    block: u64,
    inodes_per_group: u32,
    inode_size: u64,
    inodes: u32,
    desc_size: u64,
    gdt: u64,
}

pub(super) fn read(dev: &dyn ReadAt) -> Option<Builder> {
    let sb = bytes_at(dev, 1024, 1024)?;
    if le16(&sb, 56)? != MAGIC {
        return None;
    }
    let log = le32(&sb, 24)?;
    if log > 6 {
        return None;
    }
    let block = 1024u64 << log;
    let rev = le32(&sb, 76)?;
    let inode_size = if rev == 0 {
        128
    } else {
        u64::from(le16(&sb, 88)?)
    };
    let incompat = le32(&sb, 96)?;
    let desc_size = if incompat & INCOMPAT_64BIT != 0 {
        u64::from(le16(&sb, 254)?).max(32)
    } else {
        32
    };
    let first_data_block = u64::from(le32(&sb, 20)?);
    let fs = Fs {
        dev,
        block,
        inodes_per_group: le32(&sb, 40)?,
        inode_size,
        inodes: le32(&sb, 0)?,
        desc_size,
        gdt: (first_data_block + 1) * block,
    };
    if fs.inodes_per_group == 0 || fs.inode_size < 128 || fs.inode_size > block {
        return None;
    }
    let mut b = Builder::default();
    let mut seen = HashSet::new();
    fs.walk(&mut b, ROOT_INO, "/", 0, &mut seen)?;
    Some(b)
}

/// The fields of an inode used here.
struct Inode {
    mode: u16,
    size: u64,
    flags: u32,
    i_block: Vec<u8>,
}

impl Fs<'_> {
    fn inode(&self, ino: u32) -> Option<Inode> {
        if ino == 0 || ino > self.inodes {
            return None;
        }
        let group = u64::from((ino - 1) / self.inodes_per_group);
        let index = u64::from((ino - 1) % self.inodes_per_group);
        let desc = bytes_at(
            self.dev,
            self.gdt.checked_add(group.checked_mul(self.desc_size)?)?,
            usize::try_from(self.desc_size).ok()?,
        )?;
        let lo = u64::from(le32(&desc, 8)?);
        let hi = if self.desc_size >= 64 {
            u64::from(le32(&desc, 0x28)?)
        } else {
            0
        };
        let table = (hi << 32 | lo).checked_mul(self.block)?;
        let raw = bytes_at(self.dev, table.checked_add(index * self.inode_size)?, 128)?;
        Some(Inode {
            mode: le16(&raw, 0)?,
            size: u64::from(le32(&raw, 4)?) | u64::from(le32(&raw, 0x6c)?) << 32,
            flags: le32(&raw, 0x20)?,
            i_block: raw.get(0x28..0x28 + 60)?.to_vec(),
        })
    }

    /// The inode's extents as (file block, device block, blocks), in file order.
    fn extents(
        &self,
        node: &[u8],
        depth_left: usize,
        out: &mut Vec<(u64, u64, u64)>,
    ) -> Option<()> {
        if le16(node, 0)? != EXTENT_MAGIC || depth_left == 0 {
            return None;
        }
        let entries = usize::from(le16(node, 2)?);
        let depth = le16(node, 6)?;
        for i in 0..entries {
            let at = 12 + i * 12;
            if depth == 0 {
                let lblk = u64::from(le32(node, at)?);
                let len = u64::from(le16(node, at + 4)?);
                if len > 32768 {
                    continue; // uninitialized: reads as zeros, no data of the file on disk yet
                }
                let start = u64::from(le16(node, at + 6)?) << 32 | u64::from(le32(node, at + 8)?);
                if len > 0 {
                    out.push((lblk, start, len));
                }
            } else {
                let leaf = u64::from(le16(node, at + 8)?) << 32 | u64::from(le32(node, at + 4)?);
                let child = bytes_at(
                    self.dev,
                    leaf.checked_mul(self.block)?,
                    usize::try_from(self.block).ok()?,
                )?;
                self.extents(&child, depth_left - 1, out)?;
            }
            if out.len() > 1 << 22 {
                return None;
            }
        }
        Some(())
    }

    fn walk(
        &self,
        b: &mut Builder,
        ino: u32,
        path: &str,
        depth: usize,
        seen: &mut HashSet<u32>,
    ) -> Option<()> {
        if depth > MAX_DEPTH || !seen.insert(ino) {
            return None;
        }
        let inode = self.inode(ino)?;
        let kind = inode.mode & S_IFMT;
        let extent_mapped = inode.flags & EXTENTS_FL != 0 && inode.flags & INLINE_DATA_FL == 0;
        let mut extents = Vec::new();
        if extent_mapped {
            self.extents(&inode.i_block, 8, &mut extents)?;
        }
        if matches!(kind, S_IFREG | S_IFLNK | S_IFDIR) && !extents.is_empty() {
            let f = b.file(mapped_name(kind, path))?;
            for &(lblk, start, len) in &extents {
                let file_start = lblk.checked_mul(self.block)?;
                let dev_len = len.checked_mul(self.block)?;
                let file_len = inode.size.saturating_sub(file_start).min(dev_len);
                b.extent(
                    f,
                    start.checked_mul(self.block)?,
                    dev_len,
                    file_start,
                    file_len,
                    false,
                )?;
            }
        }
        if kind != S_IFDIR {
            return Some(());
        }
        if !extent_mapped {
            // A directory this reader cannot list: a map without its files would name too few, so none.
            return None;
        }
        for &(_, start, len) in &extents {
            for k in 0..len {
                let blk = bytes_at(
                    self.dev,
                    start.checked_add(k)?.checked_mul(self.block)?,
                    usize::try_from(self.block).ok()?,
                )?;
                self.entries(b, &blk, path, depth, seen)?;
            }
        }
        Some(())
    }

    /// The entries of one directory block, walked.
    fn entries(
        &self,
        b: &mut Builder,
        blk: &[u8],
        path: &str,
        depth: usize,
        seen: &mut HashSet<u32>,
    ) -> Option<()> {
        let mut at = 0usize;
        while at + 8 <= blk.len() {
            let ino = le32(blk, at)?;
            let rec_len = usize::from(le16(blk, at + 4)?);
            let name_len = usize::from(*blk.get(at + 6)?);
            if rec_len < 8 || at + rec_len > blk.len() || name_len + 8 > rec_len {
                return None;
            }
            let name = blk.get(at + 8..at + 8 + name_len)?;
            if ino != 0 && name != b"." && name != b".." {
                let child = join(path, name)?;
                // Hard links: a second name of a file already mapped adds nothing.
                if !seen.contains(&ino) {
                    self.walk(b, ino, &child, depth + 1, seen)?;
                }
            }
            at += rec_len;
        }
        Some(())
    }
}
