//! A reproducible writer for "newc" cpio archives (the format the Linux kernel unpacks as an initramfs, see
//! `Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Every header field that could carry build-host state is fixed: mtime 0, uid/gid 0, inode numbers counted
//! from 1 in the order entries are added, no device numbers for the archive itself. The same entries in the
//! same order always give the same bytes. [`CpioWriter::entry`] writes a member with caller-chosen owner,
//! mode and mtime (an image packed from a tree keeps its owners and sets every mtime to
//! `SOURCE_DATE_EPOCH`); inode numbers and the archive's own device numbers stay fixed.
//!
//! Hand-written for bit-exactness: the archive must not depend on the build host (inode numbers, device
//! numbers, owners and times are fixed), so the same tree always gives the same initrd and the same measured
//! digest; busybox `cpio` reads it back in `tests/cpio.rs`.
//!
//! ```
//! use yardstick_image::cpio::CpioWriter;
//! let mut w = CpioWriter::new(Vec::new());
//! w.dir("bin", 0o755).unwrap();
//! w.file("init", 0o755, b"#!/bin/sh\n").unwrap();
//! w.symlink("bin/sh", "busybox").unwrap();
//! let archive = w.finish().unwrap();
//! assert!(archive.starts_with(b"070701"));
//! assert_eq!(archive.len() % 4, 0);
//! ```

use std::io::{self, Read, Write};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;
const TRAILER: &str = "TRAILER!!!";

/// A member with explicit metadata, for [`CpioWriter::entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path inside the archive, without a leading `/`.
    pub name: &'a str,
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time in seconds.
    pub mtime: u32,
    /// Device number (major, minor) of a character or block device member; `(0, 0)` otherwise.
    pub rdev: (u32, u32),
}

/// Writes a newc archive entry by entry; call [`CpioWriter::finish`] to append the trailer.
#[derive(Debug)]
pub struct CpioWriter<W: Write> {
    out: W,
    next_ino: u32,
    written: u64,
}

struct Header<'a> {
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u32,
    nlink: u32,
    size: u32,
    rdev_major: u32,
    rdev_minor: u32,
    name: &'a str,
}

impl<W: Write> CpioWriter<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> CpioWriter<W> {
        CpioWriter {
            out,
            next_ino: 1,
            written: 0,
        }
    }

    fn pad(&mut self) -> io::Result<()> {
        let pad = (4 - (self.written % 4) as usize) % 4;
        self.put([0u8; 3].get(..pad).unwrap_or_default())
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn header(&mut self, h: Header<'_>) -> io::Result<()> {
        if h.name.is_empty() || h.name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid cpio entry name {:?}", h.name),
            ));
        }
        let namesize = u32::try_from(h.name.len() + 1)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "cpio name too long"))?;
        let fields = [
            h.ino,
            h.mode,
            h.uid,
            h.gid,
            h.nlink,
            h.mtime,
            h.size,
            0, // devmajor
            0, // devminor
            h.rdev_major,
            h.rdev_minor,
            namesize,
            0, // check
        ];
        let mut s = String::with_capacity(110);
        s.push_str("070701");
        for f in fields {
            s.push_str(&format!("{f:08X}"));
        }
        self.put(s.as_bytes())?;
        self.put(h.name.as_bytes())?;
        self.put(&[0])?;
        self.pad()
    }

    fn ino(&mut self) -> u32 {
        let i = self.next_ino;
        self.next_ino += 1;
        i
    }

    /// Any member (directory, file, symlink, device, fifo, socket) with the metadata in `e`: `data` must yield
    /// exactly `size` bytes (a symlink's target; nothing for members other than files and symlinks). Directories
    /// get a link count of 2, everything else 1.
    pub fn entry(&mut self, e: &Entry<'_>, size: u64, data: &mut dyn Read) -> io::Result<()> {
        let size32 = u32::try_from(size).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: newc entries are limited to 4 GiB", e.name),
            )
        })?;
        let ino = self.ino();
        self.header(Header {
            ino,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
            nlink: if e.mode & 0o170000 == S_IFDIR { 2 } else { 1 },
            size: size32,
            rdev_major: e.rdev.0,
            rdev_minor: e.rdev.1,
            name: e.name,
        })?;
        self.data(e.name, size, data)
    }

    fn data(&mut self, path: &str, len: u64, r: &mut dyn Read) -> io::Result<()> {
        let copied = io::copy(&mut r.take(len), &mut self.out)?;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: expected {len} bytes, got {copied}"),
            ));
        }
        self.written += len;
        self.pad()
    }

    /// A directory. Parents must be added before their children (the kernel does not create them).
    pub fn dir(&mut self, path: &str, perm: u32) -> io::Result<()> {
        let ino = self.ino();
        self.header(Header {
            ino,
            mode: S_IFDIR | (perm & 0o7777),
            uid: 0,
            gid: 0,
            mtime: 0,
            nlink: 2,
            size: 0,
            rdev_major: 0,
            rdev_minor: 0,
            name: path,
        })
    }

    /// A regular file with the given contents.
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.file_from_reader(path, perm, data.len() as u64, &mut &data[..])
    }

    /// A regular file of `len` bytes streamed from `r` (which must yield exactly `len` bytes).
    pub fn file_from_reader(
        &mut self,
        path: &str,
        perm: u32,
        len: u64,
        r: &mut dyn Read,
    ) -> io::Result<()> {
        let size = u32::try_from(len).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: newc entries are limited to 4 GiB"),
            )
        })?;
        let ino = self.ino();
        self.header(Header {
            ino,
            mode: S_IFREG | (perm & 0o7777),
            uid: 0,
            gid: 0,
            mtime: 0,
            nlink: 1,
            size,
            rdev_major: 0,
            rdev_minor: 0,
            name: path,
        })?;
        self.data(path, len, r)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        let ino = self.ino();
        self.header(Header {
            ino,
            mode: S_IFLNK | 0o777,
            uid: 0,
            gid: 0,
            mtime: 0,
            nlink: 1,
            size: target.len() as u32,
            rdev_major: 0,
            rdev_minor: 0,
            name: path,
        })?;
        self.put(target.as_bytes())?;
        self.pad()
    }

    /// A character device node (e.g. `dev/console` 5:1).
    pub fn char_device(&mut self, path: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        let ino = self.ino();
        self.header(Header {
            ino,
            mode: S_IFCHR | (perm & 0o7777),
            uid: 0,
            gid: 0,
            mtime: 0,
            nlink: 1,
            size: 0,
            rdev_major: major,
            rdev_minor: minor,
            name: path,
        })
    }

    /// Appends the `TRAILER!!!` entry and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.header(Header {
            ino: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            nlink: 1,
            size: 0,
            rdev_major: 0,
            rdev_minor: 0,
            name: TRAILER,
        })?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layout checked by hand against buffer-format.rst: 110-byte header, name + NUL padded to 4, data padded
    /// to 4. (The CLI tests also unpack yardstick's archives with `busybox cpio -i` as an independent reader.)
    #[test]
    fn header_layout() {
        let mut w = CpioWriter::new(Vec::new());
        w.file("ab", 0o644, b"hello").unwrap();
        let a = w.finish().unwrap();
        let h = std::str::from_utf8(&a[..110]).unwrap();
        assert_eq!(&h[..6], "070701");
        assert_eq!(&h[6..14], "00000001"); // ino
        assert_eq!(&h[14..22], "000081A4"); // S_IFREG | 0644
        assert_eq!(&h[54..62], "00000005"); // filesize
        assert_eq!(&h[94..102], "00000003"); // namesize incl. NUL
        // 110 + "ab\0" = 113 -> padded to 116, then data at 116.
        assert_eq!(&a[110..113], b"ab\0");
        assert_eq!(&a[116..121], b"hello");
        let trailer_at = 124;
        assert_eq!(&a[trailer_at..trailer_at + 6], b"070701");
        assert_eq!(&a[trailer_at + 110..trailer_at + 120], b"TRAILER!!!");
        assert_eq!(a.len() % 4, 0);
    }

    /// `entry` writes the metadata given (owner, mtime, device numbers) and the same bytes as the typed
    /// helpers when that metadata is the helpers' fixed one.
    #[test]
    fn entry_with_metadata() {
        let mut w = CpioWriter::new(Vec::new());
        let e = Entry {
            name: "dev/sda",
            mode: 0o060640,
            uid: 1000,
            gid: 6,
            mtime: 0x5f5e100,
            rdev: (8, 0),
        };
        w.entry(&e, 0, &mut io::empty()).unwrap();
        let a = w.finish().unwrap();
        let h = std::str::from_utf8(&a[..110]).unwrap();
        assert_eq!(&h[14..22], "000061A0"); // S_IFBLK | 0640
        assert_eq!(&h[22..30], "000003E8"); // uid 1000
        assert_eq!(&h[30..38], "00000006"); // gid
        assert_eq!(&h[46..54], "05F5E100"); // mtime
        assert_eq!(&h[78..86], "00000008"); // rdevmajor
        let mut typed = CpioWriter::new(Vec::new());
        typed.file("f", 0o644, b"abc").unwrap();
        typed.symlink("l", "f").unwrap();
        let mut generic = CpioWriter::new(Vec::new());
        let meta = |name, mode| Entry {
            name,
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            rdev: (0, 0),
        };
        generic
            .entry(&meta("f", S_IFREG | 0o644), 3, &mut &b"abc"[..])
            .unwrap();
        generic
            .entry(&meta("l", S_IFLNK | 0o777), 1, &mut &b"f"[..])
            .unwrap();
        assert_eq!(typed.finish().unwrap(), generic.finish().unwrap());
    }

    #[test]
    fn rejects_short_reader_and_bad_names() {
        let mut w = CpioWriter::new(Vec::new());
        assert!(
            w.file_from_reader("x", 0o644, 10, &mut &b"abc"[..])
                .is_err()
        );
        let mut w = CpioWriter::new(Vec::new());
        assert!(w.file("", 0o644, b"").is_err());
    }
}
