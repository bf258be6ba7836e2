//! The `initrd` layout: a directory tree packed into a reproducible newc ("070701") cpio archive.
//!
//! The archive format itself is `yardstick_common::cpio` (the writer systemd-stub's credential and sysext
//! blobs use too); this module is the tree walk that feeds it. Reproducible: entries are written in sorted
//! depth-first order (byte order of the names, independent of locale and of the order the filesystem
//! returns them), inode numbers count up from 1 in write order, every mtime is the given epoch, owners and
//! modes are kept as on disk.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use crate::cpio::{CpioWriter, Entry};

/// Packs the tree at `root` (not following symlinks) into `out`, every mtime set to `epoch`; owners and
/// modes as on disk. Returns the output and the number of members written.
pub fn pack_tree<W: Write>(root: &Path, epoch: u32, out: W) -> io::Result<(W, u64)> {
    let mut w = CpioWriter::new(out);
    let mut count = 0u64;
    walk(&mut w, root, "", epoch, &mut count)?;
    Ok((w.finish()?, count))
}

fn walk<W: Write>(
    w: &mut CpioWriter<W>,
    dir: &Path,
    prefix: &str,
    epoch: u32,
    count: &mut u64,
) -> io::Result<()> {
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
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
        let e = Entry {
            name: &name,
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            mtime: epoch,
            rdev: if ft.is_file() || ft.is_dir() || ft.is_symlink() {
                (0, 0)
            } else {
                (rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()))
            },
        };
        let at = |err: io::Error| io::Error::new(err.kind(), format!("{}: {err}", path.display()));
        if ft.is_file() {
            let mut f = File::open(&path).map_err(at)?;
            w.entry(&e, md.len(), &mut f).map_err(at)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(at)?;
            let t = target.as_os_str().as_bytes();
            w.entry(&e, t.len() as u64, &mut &t[..]).map_err(at)?;
        } else {
            w.entry(&e, 0, &mut io::empty()).map_err(at)?;
        }
        *count += 1;
        if ft.is_dir() {
            walk(w, &path, &name, epoch, count)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small tree: sorted order, the epoch as every mtime, symlink targets as data, and the trailer.
    #[test]
    fn packs_sorted_with_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir(r.join("b")).unwrap();
        std::fs::write(r.join("b/f"), b"abc").unwrap();
        std::fs::write(r.join("a"), b"").unwrap();
        std::os::unix::fs::symlink("b/f", r.join("c")).unwrap();
        let (out, n) = pack_tree(r, 0x1234, Vec::new()).unwrap();
        assert_eq!(n, 4);
        let text = String::from_utf8_lossy(&out);
        let names: Vec<&str> = ["a\0", "b\0", "b/f\0", "c\0", "TRAILER!!!\0"]
            .into_iter()
            .filter(|n| text.contains(n))
            .collect();
        assert_eq!(names.len(), 5, "{text}");
        let pos = |s: &str| text.find(s).unwrap();
        assert!(pos("a\0") < pos("b\0") && pos("b\0") < pos("b/f\0") && pos("b/f\0") < pos("c\0"));
        // Header of the first member: mtime field (7th) is the epoch.
        assert_eq!(&out[46..54], b"00001234");
        assert!(text.contains("c\0") && text.contains("b/f"));
    }
}
