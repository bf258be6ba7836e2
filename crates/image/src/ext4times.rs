//! Sets every timestamp of an ext4 image's inodes to one value.
//!
//! `mke2fs -d` copies each inode's atime, ctime and mtime (with nanoseconds) from `lstat` of the source tree
//! (e2fsprogs `misc/create_inode.c`), and ctime cannot be set on a source file, so two copies of the same tree
//! would give different images. This pass rewrites the times in the inode tables afterwards, so that ext4
//! images are as reproducible as erofs (`-T`) and squashfs (`-all-time`) ones.
//!
//! Layout (kernel `Documentation/filesystems/ext4/`): superblock at byte 1024, group descriptors in the block
//! after it, per group an inode bitmap and an inode table. The image is made without `metadata_csum`, so
//! inodes carry no checksum to update (the whole filesystem is covered by dm-verity, which makes metadata
//! checksums redundant); an image with checksums is refused.
//!
//! Hand-written because no tool or crate does it: mke2fs stamps inodes with the current time, and a
//! reproducible image needs every inode time set to `SOURCE_DATE_EPOCH` after the fact.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;

const EXT4_MAGIC: u16 = 0xEF53;
const INCOMPAT_64BIT: u32 = 0x80;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
const RO_COMPAT_GDT_CSUM: u32 = 0x10;
const BG_INODE_UNINIT: u16 = 0x1;

fn u16_at(b: &[u8], o: usize) -> io::Result<u16> {
    yardstick_common::bytes::le16(b, o).ok_or_else(|| bad("truncated structure"))
}

fn u32_at(b: &[u8], o: usize) -> io::Result<u32> {
    yardstick_common::bytes::le32(b, o).ok_or_else(|| bad("truncated structure"))
}

/// Writes a 32-bit inode field; an `i_extra_isize` larger than the inode is a malformed image, not a panic.
fn put32(inode: &mut [u8], off: usize, v: u32) -> io::Result<()> {
    inode
        .get_mut(off..off + 4)
        .ok_or_else(|| bad("inode shorter than its i_extra_isize"))?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("ext4 image: {what}"))
}

/// Seconds as the 32-bit field plus the two epoch bits of the `*_extra` field (nanoseconds 0).
fn encode(epoch: u64) -> (u32, u32) {
    let lo = epoch as u32;
    let hi = ((epoch as i64 - i64::from(lo as i32)) >> 32) as u32 & 3;
    (lo, hi)
}

/// Sets atime, ctime, mtime and crtime of every in-use inode of the ext4 image `f` to `epoch` (nanoseconds 0).
pub fn set_all_inode_times(f: &File, epoch: u64) -> io::Result<()> {
    let mut sb = [0u8; 1024];
    f.read_exact_at(&mut sb, 1024)?;
    if u16_at(&sb, 56)? != EXT4_MAGIC {
        return Err(bad("no ext4 superblock"));
    }
    let ro_compat = u32_at(&sb, 100)?;
    if ro_compat & (RO_COMPAT_METADATA_CSUM | RO_COMPAT_GDT_CSUM) != 0 {
        return Err(bad("has metadata checksums; made without them on purpose"));
    }
    let inodes_count = u64::from(u32_at(&sb, 0)?);
    let first_data_block = u64::from(u32_at(&sb, 20)?);
    let log_block = u32_at(&sb, 24)?;
    if log_block > 6 {
        return Err(bad("block size out of range"));
    }
    let block = 1024u64 << log_block;
    let per_group = u64::from(u32_at(&sb, 40)?);
    let first_ino = u64::from(u32_at(&sb, 84)?);
    let inode_size = u64::from(u16_at(&sb, 88)?);
    let incompat = u32_at(&sb, 96)?;
    let desc_size = if incompat & INCOMPAT_64BIT != 0 {
        u64::from(u16_at(&sb, 254)?)
    } else {
        32
    };
    if per_group == 0 || !(128..=block).contains(&inode_size) || desc_size < 32 {
        return Err(bad("inconsistent superblock"));
    }
    let groups = inodes_count.div_ceil(per_group);
    let mut descs = vec![0u8; (groups * desc_size) as usize];
    f.read_exact_at(&mut descs, (first_data_block + 1) * block)?;
    let (lo, hi) = encode(epoch);
    let mut bitmap = vec![0u8; block as usize];
    let mut table = vec![0u8; (per_group * inode_size) as usize];
    for g in 0..groups {
        let d = descs
            .get((g * desc_size) as usize..((g + 1) * desc_size) as usize)
            .ok_or_else(|| bad("truncated group descriptors"))?;
        if u16_at(d, 18)? & BG_INODE_UNINIT != 0 {
            continue;
        }
        let wide = desc_size >= 64;
        let bitmap_blk = u64::from(u32_at(d, 4)?)
            | if wide {
                u64::from(u32_at(d, 0x24)?) << 32
            } else {
                0
            };
        let table_blk = u64::from(u32_at(d, 8)?)
            | if wide {
                u64::from(u32_at(d, 0x28)?) << 32
            } else {
                0
            };
        f.read_exact_at(&mut bitmap, bitmap_blk * block)?;
        f.read_exact_at(&mut table, table_blk * block)?;
        let mut dirty = false;
        for i in 0..per_group {
            let ino = g * per_group + i + 1;
            let used = bitmap
                .get((i / 8) as usize)
                .is_some_and(|b| b & (1 << (i % 8)) != 0);
            // Root (2) and ordinary inodes; the other reserved ones (journal, resize, ...) keep their times.
            if !used || (ino != 2 && ino < first_ino) || ino > inodes_count {
                continue;
            }
            let at = (i * inode_size) as usize;
            let inode = table
                .get_mut(at..at + inode_size as usize)
                .ok_or_else(|| bad("truncated inode table"))?;
            for off in [8usize, 12, 16] {
                put32(inode, off, lo)?;
            }
            let extra = if inode_size > 128 {
                u16_at(inode, 128)? as usize
            } else {
                0
            };
            // i_ctime_extra 132, i_mtime_extra 136, i_atime_extra 140, i_crtime 144, i_crtime_extra 148:
            // present when i_extra_isize covers them.
            for (off, end) in [(132usize, 136usize), (136, 140), (140, 144), (148, 152)] {
                if 128 + extra >= end {
                    put32(inode, off, hi)?;
                }
            }
            if 128 + extra >= 148 {
                put32(inode, 144, lo)?;
            }
            dirty = true;
        }
        if dirty {
            f.write_all_at(&table, table_blk * block)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_encoding() {
        assert_eq!(encode(0), (0, 0));
        assert_eq!(encode(1_700_000_000), (1_700_000_000, 0));
        // 2^31 .. 2^32-1 is stored as a negative 32-bit value plus epoch bits 1.
        assert_eq!(encode(1 << 31), (1 << 31, 1));
        assert_eq!(encode((1 << 32) + 5), (5, 1));
    }

    #[test]
    fn refuses_non_ext4() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, vec![0u8; 8192]).unwrap();
        let f = File::options().read(true).write(true).open(&p).unwrap();
        assert!(set_all_inode_times(&f, 0).is_err());
    }

    /// An image whose i_extra_isize claims more than its (odd, 130-byte) inodes hold is an error, not a panic.
    #[test]
    fn refuses_extra_isize_past_the_inode() {
        let mut img = vec![0u8; 8 * 1024];
        let sb = 1024;
        let put32 = |img: &mut Vec<u8>, at: usize, v: u32| {
            img[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        put32(&mut img, sb, 16); // s_inodes_count
        put32(&mut img, sb + 20, 1); // s_first_data_block
        put32(&mut img, sb + 24, 0); // s_log_block_size: 1 KiB blocks
        put32(&mut img, sb + 40, 16); // s_inodes_per_group
        put32(&mut img, sb + 84, 11); // s_first_ino
        img[sb + 56..sb + 58].copy_from_slice(&EXT4_MAGIC.to_le_bytes());
        img[sb + 88..sb + 90].copy_from_slice(&130u16.to_le_bytes()); // s_inode_size
        // Group descriptor 0 (block 2): inode bitmap at block 4, inode table at block 5.
        put32(&mut img, 2048 + 4, 4);
        put32(&mut img, 2048 + 8, 5);
        img[4096] = 0b10; // inode 2 (the root) in use
        // Root inode (index 1): i_extra_isize 32, so fields up to byte 160 of a 130-byte inode.
        img[5 * 1024 + 130 + 128] = 32;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, &img).unwrap();
        let f = File::options().read(true).write(true).open(&p).unwrap();
        let e = set_all_inode_times(&f, 0).unwrap_err();
        assert!(e.to_string().contains("i_extra_isize"), "{e}");
    }
}
