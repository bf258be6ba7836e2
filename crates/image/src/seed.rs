//! The default seed of a build: a digest of everything the image is made from, so that a rebuild of the same
//! inputs gives the same identifiers (reproducible) while two different images never share a dm-verity salt
//! or filesystem UUID (which a fixed default seed would make public and common to every image).
//!
//! The seed is SHA-256, in hex, over a length-prefixed list of: a version tag, the layout, the filesystem,
//! `SOURCE_DATE_EPOCH`, the command line, the SHA-256 of each of kernel, initrd, stub and os-release (or their
//! absence), and the digest of the root filesystem tree. The tree digest covers, for every entry in sorted
//! path order, its relative path, type, permission bits, owner, group, and its content (SHA-256 of a regular
//! file, the target of a symbolic link, the device number of a device node); it leaves out timestamps, which
//! the build replaces with `SOURCE_DATE_EPOCH` anyway. A tar rootfs is digested after extraction, so a tar and
//! the directory it unpacks to give the same seed.

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use yardstick_common::hash::{Algorithm, Hasher};

/// What the seed is derived from (the input files' digests; the tree as walked by [`walk`]).
pub(crate) struct SeedInputs<'a> {
    pub layout: &'a str,
    pub fs: &'a str,
    pub epoch: u64,
    pub cmdline: &'a str,
    /// Each input file's name and SHA-256 (`None`: not given).
    pub files: [(&'static str, Option<[u8; 32]>); 4],
    pub tree: &'a [Entry],
}

/// Appends `part` to `h` with its length first, so that no two lists of parts hash alike.
fn put(h: &mut Hasher, part: &[u8]) {
    h.update(&(part.len() as u64).to_le_bytes());
    h.update(part);
}

/// SHA-256 of the file at `path`, streamed.
fn file_digest(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Algorithm::Sha256.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    Ok(out)
}

/// The seed for `inputs`, as 64 hex digits. An error names the file that could not be read.
pub(crate) fn derive(inputs: &SeedInputs) -> Result<String, (PathBuf, std::io::Error)> {
    let mut h = Algorithm::Sha256.hasher();
    put(&mut h, b"yardstick-image-seed-v1");
    put(&mut h, inputs.layout.as_bytes());
    put(&mut h, inputs.fs.as_bytes());
    put(&mut h, &inputs.epoch.to_le_bytes());
    put(&mut h, inputs.cmdline.as_bytes());
    for (name, digest) in inputs.files {
        put(&mut h, name.as_bytes());
        match digest {
            Some(d) => put(&mut h, &d),
            None => put(&mut h, b""),
        }
    }
    put(&mut h, &tree_digest(inputs.tree)?);
    Ok(h.finish().to_hex())
}

/// One entry of the tree, in walk order.
pub(crate) struct Entry {
    /// The path relative to the tree's root, `/`-separated.
    pub rel: Vec<u8>,
    /// The path.
    pub path: PathBuf,
    /// Its metadata (symbolic links not followed).
    pub meta: std::fs::Metadata,
}

/// Lists the tree under `root` (not following symbolic links), every directory's entries sorted by name.
pub(crate) fn walk(root: &Path) -> Result<Vec<Entry>, (PathBuf, std::io::Error)> {
    use std::os::unix::ffi::OsStrExt as _;
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| (dir.clone(), e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| (dir.clone(), e))?;
        names.sort();
        // Children are pushed in reverse so that they are visited in order (depth first, sorted).
        let mut subdirs = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let meta = std::fs::symlink_metadata(&path).map_err(|e| (path.clone(), e))?;
            let mut r = rel.clone();
            if !r.is_empty() {
                r.push(b'/');
            }
            r.extend_from_slice(name.as_bytes());
            if meta.is_dir() {
                subdirs.push((path.clone(), r.clone()));
            }
            out.push(Entry { rel: r, path, meta });
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// Why a rootfs cannot become an image here: its files hold more bytes than the output's filesystem has free.
#[derive(Debug)]
pub(crate) struct TooBig {
    /// The total of the regular files' sizes.
    pub total: u64,
    /// The free space where the image is written.
    pub free: u64,
    /// The largest file: its path in the tree, its size, and the bytes it really occupies (less when sparse).
    pub largest: (String, u64, u64),
}

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, size, allocated) = &self.largest;
        let sparse = if allocated < size {
            format!(", a sparse file occupying {}", human(*allocated))
        } else {
            String::new()
        };
        write!(
            f,
            "its files hold {} (largest: /{path}, {}{sparse}), more than the {} free where the image is \
             written; the image stores every byte (holes included)",
            human(self.total),
            human(*size),
            human(self.free)
        )
    }
}

/// A byte count for people: `1.5 GiB`.
fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS.get(u).copied().unwrap_or("TiB"))
    }
}

/// Checks, before anything is read or written, that the tree's regular files fit in `free` bytes (the free
/// space of the filesystem the image is written to). A huge sparse file would otherwise be read (and, for
/// erofs, written densely) until the disk is full or the user gives up.
pub(crate) fn check_fits(entries: &[Entry], free: u64) -> Result<(), TooBig> {
    let mut total = 0u64;
    let mut largest: Option<&Entry> = None;
    for e in entries.iter().filter(|e| e.meta.is_file()) {
        total = total.saturating_add(e.meta.len());
        if largest.is_none_or(|l| e.meta.len() > l.meta.len()) {
            largest = Some(e);
        }
    }
    match largest {
        Some(l) if total > free => Err(TooBig {
            total,
            free,
            largest: (
                String::from_utf8_lossy(&l.rel).into_owned(),
                l.meta.len(),
                l.meta.blocks().saturating_mul(512),
            ),
        }),
        _ => Ok(()),
    }
}

/// The free space (for an unprivileged writer) of the filesystem holding `dir`; `u64::MAX` if unknown.
pub(crate) fn free_space(dir: &Path) -> u64 {
    match rustix::fs::statvfs(dir) {
        Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
        Err(_) => u64::MAX,
    }
}

/// The digest of the tree under `root` (see the module docs); regular files are hashed on all cores.
fn tree_digest(entries: &[Entry]) -> Result<[u8; 32], (PathBuf, std::io::Error)> {
    let contents: Vec<Vec<u8>> = entries
        .par_iter()
        .map(|e| {
            let t = e.meta.file_type();
            if t.is_file() {
                file_digest(&e.path)
                    .map(|d| d.to_vec())
                    .map_err(|err| (e.path.clone(), err))
            } else if t.is_symlink() {
                use std::os::unix::ffi::OsStrExt as _;
                std::fs::read_link(&e.path)
                    .map(|l| l.as_os_str().as_bytes().to_vec())
                    .map_err(|err| (e.path.clone(), err))
            } else if t.is_block_device() || t.is_char_device() {
                Ok(e.meta.rdev().to_le_bytes().to_vec())
            } else {
                Ok(Vec::new())
            }
        })
        .collect::<Result<_, _>>()?;
    let mut h = Algorithm::Sha256.hasher();
    for (e, content) in entries.iter().zip(&contents) {
        let t = e.meta.file_type();
        let kind: &[u8] = match () {
            _ if t.is_dir() => b"d",
            _ if t.is_file() => b"f",
            _ if t.is_symlink() => b"l",
            _ if t.is_block_device() => b"b",
            _ if t.is_char_device() => b"c",
            _ if t.is_fifo() => b"p",
            _ => b"s",
        };
        put(&mut h, &e.rel);
        put(&mut h, kind);
        put(&mut h, &(e.meta.mode() & 0o7777).to_le_bytes());
        put(&mut h, &e.meta.uid().to_le_bytes());
        put(&mut h, &e.meta.gid().to_le_bytes());
        put(&mut h, content);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_of(tree: &Path, cmdline: &str) -> String {
        let tree = &walk(tree).unwrap();
        derive(&SeedInputs {
            layout: "uki",
            fs: "erofs",
            epoch: 0,
            cmdline,
            files: [
                ("kernel", None),
                ("initrd", None),
                ("stub", None),
                ("os-release", None),
            ],
            tree,
        })
        .unwrap()
    }

    #[test]
    fn a_sparse_file_larger_than_the_free_space_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let p = a.path();
        std::fs::create_dir(p.join("var")).unwrap();
        std::fs::write(p.join("small"), vec![1u8; 8192]).unwrap();
        let f = std::fs::File::create(p.join("var/big")).unwrap();
        f.set_len(1 << 40).unwrap();
        let entries = walk(p).unwrap();
        let e = check_fits(&entries, 10 << 30).unwrap_err();
        assert_eq!(e.total, (1 << 40) + 8192);
        assert_eq!(e.largest.0, "var/big");
        let msg = e.to_string();
        assert!(msg.starts_with("its files hold 1.0 TiB (largest: /var/big, 1.0 TiB, a sparse file occupying 0 bytes), more than the 10.0 GiB free"), "{msg}");
        check_fits(&entries, (1 << 40) + 8192).unwrap();
    }

    #[test]
    fn seed_follows_content_not_timestamps() {
        let a = tempfile::tempdir().unwrap();
        let p = a.path();
        std::fs::create_dir_all(p.join("etc/x")).unwrap();
        std::fs::write(p.join("etc/hostname"), "guest\n").unwrap();
        std::os::unix::fs::symlink("hostname", p.join("etc/link")).unwrap();
        let s0 = seed_of(p, "console=ttyS0");
        assert_eq!(s0.len(), 64);
        // Same content, new timestamps: same seed.
        std::fs::write(p.join("etc/hostname"), "guest\n").unwrap();
        assert_eq!(seed_of(p, "console=ttyS0"), s0);
        // Any change of content, name, mode, link target or cmdline: another seed.
        assert_ne!(seed_of(p, "console=ttyS1"), s0);
        std::fs::write(p.join("etc/hostname"), "guest2\n").unwrap();
        let s1 = seed_of(p, "console=ttyS0");
        assert_ne!(s1, s0);
        std::fs::rename(p.join("etc/x"), p.join("etc/y")).unwrap();
        let s2 = seed_of(p, "console=ttyS0");
        assert_ne!(s2, s1);
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            p.join("etc/hostname"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let s3 = seed_of(p, "console=ttyS0");
        assert_ne!(s3, s2);
        std::fs::remove_file(p.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("other", p.join("etc/link")).unwrap();
        assert_ne!(seed_of(p, "console=ttyS0"), s3);
    }
}
