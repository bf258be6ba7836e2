//! A reproducible newc ("070701") cpio writer for the `initrd` layout, and the tree walk that feeds it.
//!
//! TODO(merge): the `uki` branch adds `yardstick_common::cpio` (the same format, for systemd-stub's
//! credential/sysext blobs). When both are on main, [`NewcWriter`] should become a thin call into that module;
//! [`pack_tree`] is the image-side code and stays.
//!
//! Format (Linux `Documentation/driver-api/early-userspace/buffer-format.rst`, `usr/gen_init_cpio.c`): a
//! 110-byte ASCII header of 13 eight-digit hex fields after the magic, the NUL-terminated name padded to a
//! multiple of 4 (header included), the data padded to 4, and a final `TRAILER!!!` entry.
//! Reproducible: inode numbers count up from 1 in write order, every mtime is the given epoch, device
//! numbers of the archive itself are 0, entries are written in sorted depth-first order.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// Writes a newc archive to `out`.
#[derive(Debug)]
pub struct NewcWriter<W: Write> {
    out: W,
    next_ino: u32,
    offset: u64,
}

/// One archive member's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewcEntry {
    /// Path inside the archive, without a leading `/`.
    pub name: String,
    /// `st_mode` (file type and permission bits).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time (seconds).
    pub mtime: u32,
    /// Data length (regular files; symlink target length for symlinks).
    pub size: u32,
    /// Device number of a character or block device member.
    pub rdev: (u32, u32),
}

impl<W: Write> NewcWriter<W> {
    /// Starts an archive.
    pub fn new(out: W) -> NewcWriter<W> {
        NewcWriter {
            out,
            next_ino: 1,
            offset: 0,
        }
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.offset % 4)) % 4;
        self.out.write_all(&[0u8; 3][..n as usize])?;
        self.offset += n;
        Ok(())
    }

    fn header(&mut self, e: &NewcEntry, ino: u32, nlink: u32) -> io::Result<()> {
        let h = format!(
            "070701{ino:08x}{:08x}{:08x}{:08x}{nlink:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            e.mode,
            e.uid,
            e.gid,
            e.mtime,
            e.size,
            0,
            0,
            e.rdev.0,
            e.rdev.1,
            e.name.len() + 1,
            0
        );
        self.out.write_all(h.as_bytes())?;
        self.out.write_all(e.name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.offset += h.len() as u64 + e.name.len() as u64 + 1;
        self.pad()
    }

    /// Appends a member; `data` must yield exactly `e.size` bytes (nothing for directories and devices).
    pub fn add(&mut self, e: &NewcEntry, data: &mut dyn Read) -> io::Result<()> {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.wrapping_add(1);
        let nlink = if e.mode & 0o170000 == 0o040000 { 2 } else { 1 };
        self.header(e, ino, nlink)?;
        let copied = io::copy(&mut data.take(u64::from(e.size)), &mut self.out)?;
        if copied != u64::from(e.size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: changed size while being archived", e.name),
            ));
        }
        self.offset += copied;
        self.pad()
    }

    /// Writes the trailer and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let t = NewcEntry {
            name: "TRAILER!!!".into(),
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            size: 0,
            rdev: (0, 0),
        };
        self.header(&t, 0, 1)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Packs the tree at `root` (not following symlinks) into `out`, every mtime set to `epoch`; owners and
/// modes as on disk. Returns the number of members written.
pub fn pack_tree<W: Write>(root: &Path, epoch: u32, out: W) -> io::Result<(W, u64)> {
    let mut w = NewcWriter::new(out);
    let mut count = 0u64;
    fn walk<W: Write>(
        w: &mut NewcWriter<W>,
        dir: &Path,
        prefix: &str,
        epoch: u32,
        count: &mut u64,
    ) -> io::Result<()> {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        // Byte order, independent of locale and of the order the filesystem returns.
        names.sort_by(|a, b| {
            use std::os::unix::ffi::OsStrExt as _;
            a.as_bytes().cmp(b.as_bytes())
        });
        for n in names {
            let path = dir.join(&n);
            let name_str = n.to_str().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: file name is not UTF-8", path.display()),
                )
            })?;
            let name = if prefix.is_empty() {
                name_str.to_string()
            } else {
                format!("{prefix}/{name_str}")
            };
            let md = std::fs::symlink_metadata(&path)?;
            let ft = md.file_type();
            let mut e = NewcEntry {
                name,
                mode: md.mode(),
                uid: md.uid(),
                gid: md.gid(),
                mtime: epoch,
                size: 0,
                rdev: (rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev())),
            };
            let too_big = || {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: 4 GiB or larger, too big for newc", path.display()),
                )
            };
            if ft.is_file() {
                e.size = u32::try_from(md.len()).map_err(|_| too_big())?;
                let mut f = File::open(&path)?;
                w.add(&e, &mut f)?;
            } else if ft.is_symlink() {
                use std::os::unix::ffi::OsStrExt as _;
                let target = std::fs::read_link(&path)?;
                let t = target.as_os_str().as_bytes().to_vec();
                e.size = u32::try_from(t.len()).map_err(|_| too_big())?;
                w.add(&e, &mut t.as_slice())?;
            } else {
                w.add(&e, &mut io::empty())?;
            }
            *count += 1;
            if ft.is_dir() {
                let p = e.name.clone();
                walk(w, &path, &p, epoch, count)?;
            }
        }
        Ok(())
    }
    walk(&mut w, root, "", epoch, &mut count)?;
    Ok((w.finish()?, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header laid out as gen_init_cpio writes it: magic, 13 fields of 8 hex digits, name, NUL, padding.
    #[test]
    fn header_layout() {
        let mut w = NewcWriter::new(Vec::new());
        let e = NewcEntry {
            name: "init".into(),
            mode: 0o100755,
            uid: 0,
            gid: 0,
            mtime: 0x10,
            size: 3,
            rdev: (0, 0),
        };
        w.add(&e, &mut &b"abc"[..]).unwrap();
        let out = w.finish().unwrap();
        let s = String::from_utf8_lossy(&out);
        assert!(s.starts_with("07070100000001000081ed"), "{s}");
        // 110 header + "init\0" = 115, padded to 116; data 3 padded to 4.
        assert_eq!(&out[110..115], b"init\0");
        assert_eq!(&out[116..119], b"abc");
        assert!(s[120..].starts_with("07070100000000"));
        assert!(s.contains("TRAILER!!!"));
        assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn short_data_is_an_error() {
        let mut w = NewcWriter::new(Vec::new());
        let e = NewcEntry {
            name: "f".into(),
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime: 0,
            size: 10,
            rdev: (0, 0),
        };
        assert!(w.add(&e, &mut &b"abc"[..]).is_err());
    }
}
