//! squashfs 4.0 (as `mksquashfs` writes it; metadata gzip-compressed or stored): the superblock, the inode
//! and directory tables, the fragment table, and regular files' block lists. Directories and symlinks live in
//! the (compressed) metadata tables, not in data blocks, and are not named.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use yardstick_common::bytes::{le16, le32, le64};

use super::{Builder, MAX_DEPTH, ReadAt, bytes_at, join};

const MAGIC: u32 = 0x7371_7368;
const GZIP: u16 = 1;
const NO_FRAGMENT: u32 = 0xffff_ffff;
const DATA_UNCOMPRESSED: u32 = 1 << 24;
const META_UNCOMPRESSED: u16 = 0x8000;
const META_MAX: usize = 8192;

struct Fs<'a> {
    dev: &'a dyn ReadAt,
    block_size: u64,
    compression: u16,
    inode_table: u64,
    dir_table: u64,
    fragments: Vec<(u64, u32)>,
    /// Decompressed metadata blocks by position: (bytes, position of the next block).
    cache: RefCell<HashMap<u64, (Vec<u8>, u64)>>,
}

pub(super) fn read(dev: &dyn ReadAt) -> Option<Builder> {
    let sb = bytes_at(dev, 0, 96)?;
    if le32(&sb, 0)? != MAGIC || le16(&sb, 28)? != 4 {
        return None;
    }
    let block_size = u64::from(le32(&sb, 12)?);
    if !(4096..=1 << 20).contains(&block_size) || !block_size.is_power_of_two() {
        return None;
    }
    let mut fs = Fs {
        dev,
        block_size,
        compression: le16(&sb, 20)?,
        inode_table: le64(&sb, 64)?,
        dir_table: le64(&sb, 72)?,
        fragments: Vec::new(),
        cache: RefCell::new(HashMap::new()),
    };
    fs.fragments = fs.fragment_table(le32(&sb, 16)?, le64(&sb, 80)?)?;
    let root = le64(&sb, 32)?;
    let mut b = Builder::default();
    let mut seen = HashSet::new();
    fs.walk(&mut b, root, "/", 0, &mut seen)?;
    Some(b)
}

/// A position in a metadata table: the block's byte position on the device, and an offset into its
/// decompressed bytes.
#[derive(Clone, Copy)]
struct Cursor {
    block: u64,
    offset: usize,
}

impl Fs<'_> {
    /// The metadata block at `pos`, decompressed, and where the next one starts.
    fn meta_block(&self, pos: u64) -> Option<(Vec<u8>, u64)> {
        if let Some(hit) = self.cache.borrow().get(&pos) {
            return Some(hit.clone());
        }
        let header = le16(&bytes_at(self.dev, pos, 2)?, 0)?;
        let len = usize::from(header & !META_UNCOMPRESSED);
        if len == 0 || len > META_MAX {
            return None;
        }
        let raw = bytes_at(self.dev, pos.checked_add(2)?, len)?;
        let bytes = if header & META_UNCOMPRESSED != 0 {
            raw
        } else {
            self.inflate(&raw, META_MAX)?
        };
        let next = pos.checked_add(2 + len as u64)?;
        if self.cache.borrow().len() > 1 << 16 {
            self.cache.borrow_mut().clear();
        }
        self.cache.borrow_mut().insert(pos, (bytes.clone(), next));
        Some((bytes, next))
    }

    fn inflate(&self, raw: &[u8], limit: usize) -> Option<Vec<u8>> {
        if self.compression != GZIP {
            return None;
        }
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(raw, limit).ok()
    }

    /// `len` bytes of metadata from `at`, across blocks; moves `at` past them.
    fn take(&self, at: &mut Cursor, len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(len.min(META_MAX));
        while out.len() < len {
            let (bytes, next) = self.meta_block(at.block)?;
            if at.offset >= bytes.len() {
                at.block = next;
                at.offset -= bytes.len();
                continue;
            }
            let n = (len - out.len()).min(bytes.len() - at.offset);
            out.extend(bytes.get(at.offset..at.offset + n)?);
            at.offset += n;
            if out.len() > super::MAX_READ {
                return None;
            }
        }
        Some(out)
    }

    /// The fragment table: each fragment block's position and on-disk size word.
    fn fragment_table(&self, count: u32, start: u64) -> Option<Vec<(u64, u32)>> {
        if count == 0 || count == NO_FRAGMENT {
            return Some(Vec::new());
        }
        let count = usize::try_from(count).ok()?;
        let index_len = count.div_ceil(512);
        let index = bytes_at(self.dev, start, index_len.checked_mul(8)?)?;
        let mut out = Vec::with_capacity(count.min(1 << 20));
        for i in 0..index_len {
            let mut at = Cursor {
                block: le64(&index, i * 8)?,
                offset: 0,
            };
            let n = (count - i * 512).min(512);
            let entries = self.take(&mut at, n * 16)?;
            for k in 0..n {
                out.push((le64(&entries, k * 16)?, le32(&entries, k * 16 + 8)?));
            }
        }
        Some(out)
    }

    fn inode_cursor(&self, inode_ref: u64) -> Option<Cursor> {
        Some(Cursor {
            block: self.inode_table.checked_add(inode_ref >> 16)?,
            offset: usize::try_from(inode_ref & 0xffff).ok()?,
        })
    }

    fn walk(
        &self,
        b: &mut Builder,
        inode_ref: u64,
        path: &str,
        depth: usize,
        seen: &mut HashSet<u64>,
    ) -> Option<()> {
        if depth > MAX_DEPTH || !seen.insert(inode_ref) {
            return None;
        }
        let mut at = self.inode_cursor(inode_ref)?;
        let head = self.take(&mut at, 16)?;
        match le16(&head, 0)? {
            1 => {
                let d = self.take(&mut at, 16)?;
                let (block, size, offset) = (le32(&d, 0)?, le16(&d, 8)?, le16(&d, 10)?);
                self.directory(b, path, depth, seen, block, u32::from(size), offset)
            }
            8 => {
                let d = self.take(&mut at, 24)?;
                let (size, block, offset) = (le32(&d, 4)?, le32(&d, 8)?, le16(&d, 18)?);
                self.directory(b, path, depth, seen, block, size, offset)
            }
            2 => {
                let d = self.take(&mut at, 16)?;
                let (start, frag, frag_off, size) = (
                    u64::from(le32(&d, 0)?),
                    le32(&d, 4)?,
                    le32(&d, 8)?,
                    u64::from(le32(&d, 12)?),
                );
                self.file(b, path, &mut at, start, size, frag, frag_off)
            }
            9 => {
                let d = self.take(&mut at, 40)?;
                let (start, size, frag, frag_off) =
                    (le64(&d, 0)?, le64(&d, 8)?, le32(&d, 28)?, le32(&d, 32)?);
                self.file(b, path, &mut at, start, size, frag, frag_off)
            }
            // Symlinks, devices, FIFOs, sockets: no data blocks.
            3..=7 | 10..=14 => Some(()),
            _ => None,
        }
    }

    #[allow(clippy::too_many_arguments)] // the fields of a file inode, basic or extended
    fn file(
        &self,
        b: &mut Builder,
        path: &str,
        at: &mut Cursor,
        start: u64,
        size: u64,
        frag: u32,
        frag_off: u32,
    ) -> Option<()> {
        let bs = self.block_size;
        let blocks = if frag == NO_FRAGMENT {
            size.div_ceil(bs)
        } else {
            size / bs
        };
        let words = self.take(at, usize::try_from(blocks.checked_mul(4)?).ok()?)?;
        let f = b.file(path.to_string())?;
        let mut pos = start;
        for i in 0..blocks {
            let w = le32(&words, usize::try_from(i * 4).ok()?)?;
            let on_disk = u64::from(w & (DATA_UNCOMPRESSED - 1));
            let file_start = i * bs;
            let file_len = (size - file_start).min(bs);
            // A size of 0 is a sparse block: zeros, nothing on the device.
            b.extent(
                f,
                pos,
                on_disk,
                file_start,
                file_len,
                w & DATA_UNCOMPRESSED == 0,
            )?;
            pos = pos.checked_add(on_disk)?;
        }
        if frag != NO_FRAGMENT {
            let &(frag_start, word) = self.fragments.get(usize::try_from(frag).ok()?)?;
            let tail_start = blocks * bs;
            let tail = size.checked_sub(tail_start)?;
            if word & DATA_UNCOMPRESSED != 0 {
                b.extent(
                    f,
                    frag_start.checked_add(u64::from(frag_off))?,
                    tail,
                    tail_start,
                    tail,
                    false,
                )?;
            } else {
                let on_disk = u64::from(word & (DATA_UNCOMPRESSED - 1));
                b.extent(f, frag_start, on_disk, tail_start, tail, true)?;
            }
        }
        Some(())
    }

    #[allow(clippy::too_many_arguments)] // the fields of a directory inode, basic or extended
    fn directory(
        &self,
        b: &mut Builder,
        path: &str,
        depth: usize,
        seen: &mut HashSet<u64>,
        block: u32,
        size: u32,
        offset: u16,
    ) -> Option<()> {
        // The listing's size counts 3 bytes more than it holds.
        let len = usize::try_from(size.saturating_sub(3)).ok()?;
        let mut at = Cursor {
            block: self.dir_table.checked_add(u64::from(block))?,
            offset: usize::from(offset),
        };
        let listing = self.take(&mut at, len)?;
        let mut p = 0usize;
        while p < listing.len() {
            let count = usize::try_from(le32(&listing, p)?).ok()? + 1;
            let start = u64::from(le32(&listing, p + 4)?);
            p += 12;
            if count > 256 {
                return None;
            }
            for _ in 0..count {
                let off = u64::from(le16(&listing, p)?);
                let name_len = usize::from(le16(&listing, p + 6)?) + 1;
                let name = listing.get(p + 8..p + 8 + name_len)?;
                p += 8 + name_len;
                let child = join(path, name)?;
                let inode_ref = start << 16 | off;
                if !seen.contains(&inode_ref) {
                    self.walk(b, inode_ref, &child, depth + 1, seen)?;
                }
            }
        }
        Some(())
    }
}
