//! The root filesystem input: a directory used as it is, or a tar archive extracted safely into a scratch
//! directory.
//!
//! Extraction never leaves the scratch directory: every path is walked one component at a time with
//! `openat(O_NOFOLLOW | O_DIRECTORY)`, so a symlink or a non-directory on the way is an error rather than
//! something followed; absolute paths and `..` components are rejected outright; device nodes are rejected
//! unless the caller may create them (root). Symlinks themselves are stored as they are, whatever they point
//! at: they are data in the image, never followed here.

use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};

/// Where the root filesystem comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsSource {
    /// A directory tree, used in place.
    Dir(PathBuf),
    /// An uncompressed tar archive (ustar, GNU or PAX).
    Tar(PathBuf),
}

/// Why the root filesystem could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootfsError {
    /// The path does not exist or cannot be read.
    // The cause is the error's source: `{:#}` (the CLI's one-line printer) appends it after ": ".
    #[error("{path}")]
    Io {
        /// The input path.
        path: String,
        /// What went wrong.
        source: io::Error,
    },
    /// A pipe, FIFO, socket or device: an archive must be a regular file (it is opened once to be recognized
    /// and once to be extracted).
    #[error(
        "{0}: not a directory or a regular file (a tar archive from a pipe or device must be saved to a file first)"
    )]
    NotAFile(String),
    /// Neither a directory nor a tar archive.
    #[error("{0}: not a directory or an uncompressed tar archive")]
    NotRootfs(String),
    /// The tree holds more bytes than the image can be given here (see the message).
    #[error("{path}: {reason}")]
    TooBig {
        /// The rootfs as given.
        path: String,
        /// The sizes involved.
        reason: String,
    },
    /// A compressed archive.
    #[error("{path}: {format}-compressed; decompress it first (e.g. `{tool} -dk`)")]
    Compressed {
        /// The archive.
        path: String,
        /// Compression format.
        format: &'static str,
        /// Tool that decompresses it.
        tool: &'static str,
    },
    /// A member that would land outside the tree or cannot be created safely.
    #[error("{archive}: member {member:?}: {reason}")]
    Escape {
        /// The archive.
        archive: String,
        /// The member's path as stored.
        member: String,
        /// Why it was refused.
        reason: String,
    },
    /// A malformed archive.
    #[error("{archive}: {reason}")]
    BadArchive {
        /// The archive.
        archive: String,
        /// What is wrong.
        reason: String,
    },
}

/// A root filesystem tree ready to be packed; removes its scratch directory when dropped.
#[derive(Debug)]
pub struct StagedRoot {
    path: PathBuf,
    _scratch: Option<tempfile::TempDir>,
}

impl StagedRoot {
    /// The directory holding the tree.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RootfsSource {
    /// Classifies `path`: a directory, or a file that must be an uncompressed tar archive.
    pub fn detect(path: &Path) -> Result<RootfsSource, RootfsError> {
        let io_err = |e| RootfsError::Io {
            path: path.display().to_string(),
            source: e,
        };
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if meta.is_dir() {
            return Ok(RootfsSource::Dir(path.to_path_buf()));
        }
        if !meta.is_file() {
            return Err(RootfsError::NotAFile(path.display().to_string()));
        }
        let mut head = [0u8; 512];
        let n = read_up_to(&mut File::open(path).map_err(io_err)?, &mut head).map_err(io_err)?;
        let compressed: &[(&[u8], &str, &str)] = &[
            (b"\x1f\x8b", "gzip", "gzip"),
            (b"\xfd7zXZ\0", "xz", "xz"),
            (b"\x28\xb5\x2f\xfd", "zstd", "zstd"),
            (b"BZh", "bzip2", "bzip2"),
        ];
        for (magic, format, tool) in compressed {
            if head.get(..n).is_some_and(|h| h.starts_with(magic)) {
                return Err(RootfsError::Compressed {
                    path: path.display().to_string(),
                    format,
                    tool,
                });
            }
        }
        // ustar magic at offset 257 ("ustar\0" POSIX, "ustar  " GNU).
        if n == 512 && &head[257..262] == b"ustar" {
            return Ok(RootfsSource::Tar(path.to_path_buf()));
        }
        Err(RootfsError::NotRootfs(path.display().to_string()))
    }

    /// A tree for the mkfs tools: the directory itself, or the archive extracted under `scratch_parent`.
    /// `allow_devices` permits character and block device members (creating them needs CAP_MKNOD).
    pub fn stage(
        &self,
        scratch_parent: &Path,
        allow_devices: bool,
    ) -> Result<StagedRoot, RootfsError> {
        match self {
            RootfsSource::Dir(p) => Ok(StagedRoot {
                path: p.clone(),
                _scratch: None,
            }),
            RootfsSource::Tar(archive) => {
                let scratch = tempfile::Builder::new()
                    .prefix(".yardstick-rootfs.")
                    .tempdir_in(scratch_parent)
                    .map_err(|e| RootfsError::Io {
                        path: scratch_parent.display().to_string(),
                        source: e,
                    })?;
                extract_tar(archive, scratch.path(), allow_devices)?;
                Ok(StagedRoot {
                    path: scratch.path().to_path_buf(),
                    _scratch: Some(scratch),
                })
            }
        }
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// True when this process may create device nodes and set owners (effective uid 0).
pub fn privileged() -> bool {
    rustix::process::geteuid().is_root()
}

/// Splits a member path into validated components; `Err(reason)` for absolute paths and `..`.
fn components(raw: &[u8]) -> Result<Vec<&[u8]>, String> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path".into());
    }
    let mut out = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("path contains \"..\"".into()),
            c if c.contains(&0) => return Err("NUL in path".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn os(c: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt as _;
    std::ffi::OsStr::from_bytes(c)
}

/// Opens directory `dirs` below `root` one component at a time without following symlinks; creates missing
/// components (mode 0755) when `create`.
fn walk(root: &OwnedFd, dirs: &[&[u8]], create: bool) -> Result<OwnedFd, String> {
    let mut cur = rustix::fs::openat(
        root,
        ".",
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| e.to_string())?;
    for d in dirs {
        let flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC;
        let next = match rustix::fs::openat(&cur, os(d), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) if create => {
                rustix::fs::mkdirat(&cur, os(d), Mode::from_raw_mode(0o755))
                    .map_err(|e| e.to_string())?;
                rustix::fs::openat(&cur, os(d), flags, Mode::empty()).map_err(|e| e.to_string())?
            }
            Err(rustix::io::Errno::LOOP) | Err(rustix::io::Errno::NOTDIR) => {
                return Err(format!(
                    "{:?} on its path is a symlink or not a directory; refusing to follow it",
                    String::from_utf8_lossy(d)
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        cur = next;
    }
    Ok(cur)
}

/// Removes whatever is at `name` in `dir` (keeping a directory if `keep_dir`); returns true if a directory
/// was kept.
fn clear(dir: &OwnedFd, name: &[u8], keep_dir: bool) -> Result<bool, String> {
    match rustix::fs::statat(dir, os(name), AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(e) => Err(e.to_string()),
        Ok(st) => {
            let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
            if is_dir && keep_dir {
                return Ok(true);
            }
            let flags = if is_dir {
                AtFlags::REMOVEDIR
            } else {
                AtFlags::empty()
            };
            rustix::fs::unlinkat(dir, os(name), flags).map_err(|e| {
                if is_dir {
                    format!("replaces a non-empty directory: {e}")
                } else {
                    e.to_string()
                }
            })?;
            Ok(false)
        }
    }
}

fn extract_tar(archive: &Path, dest: &Path, allow_devices: bool) -> Result<(), RootfsError> {
    let aname = archive.display().to_string();
    let file = File::open(archive).map_err(|e| RootfsError::Io {
        path: aname.clone(),
        source: e,
    })?;
    let root: OwnedFd = File::open(dest)
        .map_err(|e| RootfsError::Io {
            path: dest.display().to_string(),
            source: e,
        })?
        .into();
    let mut x = Extraction {
        archive: aname,
        root,
        allow_devices,
        owners: privileged(),
        dir_times: Vec::new(),
    };
    let mut ar = tar::Archive::new(io::BufReader::new(file));
    let entries = ar.entries().map_err(|e| x.bad(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| x.bad(e.to_string()))?;
        x.member(entry)?;
    }
    x.set_dir_times()
}

/// An archive being extracted below `root`, one member at a time.
struct Extraction {
    /// The archive, as named in errors.
    archive: String,
    /// The destination directory.
    root: OwnedFd,
    /// Character and block devices may be created.
    allow_devices: bool,
    /// Owners are set (running as root).
    owners: bool,
    /// Directory mtimes, set last: creating entries inside a directory changes its mtime.
    dir_times: Vec<(Vec<Vec<u8>>, u64)>,
}

/// The member being extracted: where it goes and its permission bits.
struct Member<'a> {
    /// Its path as stored in the archive.
    path: &'a [u8],
    /// Its parent directory, opened.
    dir: &'a OwnedFd,
    /// Its name in `dir`.
    name: &'a [u8],
    /// Its permission bits (with set-id and sticky bits).
    mode: u32,
}

impl Extraction {
    fn escape_err(&self, member: &[u8], reason: String) -> RootfsError {
        RootfsError::Escape {
            archive: self.archive.clone(),
            member: String::from_utf8_lossy(member).into_owned(),
            reason,
        }
    }

    fn bad(&self, reason: String) -> RootfsError {
        RootfsError::BadArchive {
            archive: self.archive.clone(),
            reason,
        }
    }

    /// A system call on `m` that failed.
    fn fail(&self, m: &Member<'_>) -> impl Fn(rustix::io::Errno) -> RootfsError {
        let archive = self.archive.clone();
        let member = String::from_utf8_lossy(m.path).into_owned();
        move |e| RootfsError::Escape {
            archive: archive.clone(),
            member: member.clone(),
            reason: e.to_string(),
        }
    }

    /// Removes what is at `m`'s name (see [`clear`]).
    fn clear(&self, m: &Member<'_>, keep_dir: bool) -> Result<bool, RootfsError> {
        clear(m.dir, m.name, keep_dir).map_err(|r| self.escape_err(m.path, r))
    }

    /// Extracts one member: creates it, then sets its owner (as root) and mtime.
    fn member<R: io::Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), RootfsError> {
        let raw_path = entry.path_bytes().into_owned();
        let parts = components(&raw_path).map_err(|r| self.escape_err(&raw_path, r))?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let mode = header.mode().map_err(|e| self.bad(e.to_string()))? & 0o7777;
        let mtime = header.mtime().unwrap_or(0);
        let Some((name, dirs)) = parts.split_last() else {
            // "./" itself: the root directory's own metadata.
            if kind.is_dir() {
                rustix::fs::chmodat(&self.root, ".", Mode::from_raw_mode(mode), AtFlags::empty())
                    .map_err(|e| self.escape_err(&raw_path, e.to_string()))?;
                self.dir_times.push((Vec::new(), mtime));
            }
            return Ok(());
        };
        let dir = walk(&self.root, dirs, true).map_err(|r| self.escape_err(&raw_path, r))?;
        let m = Member {
            path: &raw_path,
            dir: &dir,
            name,
            mode,
        };
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => self.file(&m, &mut entry)?,
            tar::EntryType::Directory => {
                self.directory(&m)?;
                self.dir_times
                    .push((parts.iter().map(|c| c.to_vec()).collect(), mtime));
            }
            tar::EntryType::Symlink => self.symlink(&m, &entry)?,
            // Shares the target's inode and metadata.
            tar::EntryType::Link => return self.hard_link(&m, &entry),
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                self.node(&m, kind, &header)?
            }
            tar::EntryType::XGlobalHeader => return Ok(()),
            other => {
                return Err(
                    self.escape_err(&raw_path, format!("unsupported member type {other:?}"))
                );
            }
        }
        if self.owners {
            self.set_owner(&m, kind, &header)?;
        }
        set_mtime(&dir, name, mtime).map_err(self.fail(&m))
    }

    fn file(&self, m: &Member<'_>, data: &mut impl io::Read) -> Result<(), RootfsError> {
        self.clear(m, false)?;
        let fd = rustix::fs::openat(
            m.dir,
            os(m.name),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(self.fail(m))?;
        let mut f = File::from(fd);
        io::copy(data, &mut f)
            .map_err(|e| self.bad(format!("member {:?}: {e}", String::from_utf8_lossy(m.path))))?;
        rustix::fs::fchmod(&f, Mode::from_raw_mode(m.mode)).map_err(self.fail(m))
    }

    fn directory(&self, m: &Member<'_>) -> Result<(), RootfsError> {
        if !self.clear(m, true)? {
            rustix::fs::mkdirat(m.dir, os(m.name), Mode::from_raw_mode(0o700))
                .map_err(self.fail(m))?;
        }
        rustix::fs::chmodat(
            m.dir,
            os(m.name),
            Mode::from_raw_mode(m.mode),
            AtFlags::empty(),
        )
        .map_err(self.fail(m))
    }

    fn symlink<R: io::Read>(
        &self,
        m: &Member<'_>,
        entry: &tar::Entry<'_, R>,
    ) -> Result<(), RootfsError> {
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| self.escape_err(m.path, "symlink without a target".into()))?
            .into_owned();
        self.clear(m, false)?;
        rustix::fs::symlinkat(os(&target), m.dir, os(m.name)).map_err(self.fail(m))
    }

    /// A hard link to a member extracted before, found without following symlinks.
    fn hard_link<R: io::Read>(
        &self,
        m: &Member<'_>,
        entry: &tar::Entry<'_, R>,
    ) -> Result<(), RootfsError> {
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| self.escape_err(m.path, "hard link without a target".into()))?
            .into_owned();
        let tparts = components(&target)
            .map_err(|r| self.escape_err(m.path, format!("hard link target: {r}")))?;
        let (tname, tdirs) = tparts
            .split_last()
            .ok_or_else(|| self.escape_err(m.path, "hard link to the root".into()))?;
        let tdir = walk(&self.root, tdirs, false)
            .map_err(|r| self.escape_err(m.path, format!("hard link target: {r}")))?;
        self.clear(m, false)?;
        rustix::fs::linkat(&tdir, os(tname), m.dir, os(m.name), AtFlags::empty())
            .map_err(|e| self.escape_err(m.path, format!("hard link target: {e}")))
    }

    /// A FIFO, or a character or block device (if allowed).
    fn node(
        &self,
        m: &Member<'_>,
        kind: tar::EntryType,
        header: &tar::Header,
    ) -> Result<(), RootfsError> {
        let ft = match kind {
            tar::EntryType::Char => FileType::CharacterDevice,
            tar::EntryType::Block => FileType::BlockDevice,
            _ => FileType::Fifo,
        };
        if ft != FileType::Fifo && !self.allow_devices {
            return Err(self.escape_err(
                m.path,
                "device node; creating it needs root (extract as root, or drop device nodes \
                 from the archive: /dev is populated at boot)"
                    .into(),
            ));
        }
        let major = header.device_major().ok().flatten().unwrap_or(0);
        let minor = header.device_minor().ok().flatten().unwrap_or(0);
        self.clear(m, false)?;
        rustix::fs::mknodat(
            m.dir,
            os(m.name),
            ft,
            Mode::from_raw_mode(m.mode),
            rustix::fs::makedev(major, minor),
        )
        .map_err(self.fail(m))?;
        rustix::fs::chmodat(
            m.dir,
            os(m.name),
            Mode::from_raw_mode(m.mode),
            AtFlags::empty(),
        )
        .map_err(self.fail(m))
    }

    /// The member's owner from the header (as root).
    fn set_owner(
        &self,
        m: &Member<'_>,
        kind: tar::EntryType,
        header: &tar::Header,
    ) -> Result<(), RootfsError> {
        let uid = header
            .uid()
            .ok()
            .and_then(|u| u32::try_from(u).ok())
            .unwrap_or(0);
        let gid = header
            .gid()
            .ok()
            .and_then(|g| u32::try_from(g).ok())
            .unwrap_or(0);
        // SYMLINK_NOFOLLOW: a symlink member gets its own owner; its target is never touched.
        rustix::fs::chownat(
            m.dir,
            os(m.name),
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(self.fail(m))?;
        if kind == tar::EntryType::Regular && m.mode & 0o6000 != 0 {
            // chown clears set-id bits; restore them.
            rustix::fs::chmodat(
                m.dir,
                os(m.name),
                Mode::from_raw_mode(m.mode),
                AtFlags::empty(),
            )
            .map_err(self.fail(m))?;
        }
        Ok(())
    }

    /// The directories' mtimes, deepest first.
    fn set_dir_times(mut self) -> Result<(), RootfsError> {
        self.dir_times
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (parts, mtime) in &self.dir_times {
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let r = match refs.split_last() {
                Some((name, dirs)) => walk(&self.root, dirs, false)
                    .map_err(io::Error::other)
                    .and_then(|d| set_mtime(&d, name, *mtime).map_err(io::Error::from)),
                None => set_mtime(&self.root, b".", *mtime).map_err(io::Error::from),
            };
            r.map_err(|e| self.bad(format!("setting directory times: {e}")))?;
        }
        Ok(())
    }
}

fn set_mtime(dir: &impl AsFd, name: &[u8], mtime: u64) -> rustix::io::Result<()> {
    let t = Timespec {
        tv_sec: mtime.min(i64::MAX as u64) as i64,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        dir,
        os(name),
        &Timestamps {
            last_access: t,
            last_modification: t,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_rules() {
        assert_eq!(components(b"./a/b/").unwrap(), vec![&b"a"[..], b"b"]);
        assert!(components(b"/etc/passwd").is_err());
        assert!(components(b"a/../../x").is_err());
        assert!(components(b"..").is_err());
        assert!(components(b"./").unwrap().is_empty());
    }

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn header(kind: tar::EntryType, path: &str, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        // set_path refuses ".." and absolute paths; write the name bytes directly like a hostile archive.
        let name = &mut h.as_old_mut().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(1000);
        h.set_cksum();
        h
    }

    fn extract(
        bytes: &[u8],
        allow_devices: bool,
    ) -> (tempfile::TempDir, Result<StagedRoot, RootfsError>) {
        let dir = tempfile::tempdir().unwrap();
        let ar = dir.path().join("a.tar");
        std::fs::write(&ar, bytes).unwrap();
        let src = RootfsSource::detect(&ar).unwrap();
        let r = src.stage(dir.path(), allow_devices);
        (dir, r)
    }

    #[test]
    fn extracts_files_links_and_times() {
        let bytes = tar_with(|b| {
            b.append(&header(tar::EntryType::Directory, "./etc/", 0), &[][..])
                .unwrap();
            b.append(
                &header(tar::EntryType::Regular, "etc/hello", 5),
                &b"hello"[..],
            )
            .unwrap();
            let mut l = header(tar::EntryType::Symlink, "etc/abs", 0);
            l.set_link_name("/etc/hello").unwrap();
            l.set_cksum();
            b.append(&l, &[][..]).unwrap();
            let mut h = header(tar::EntryType::Link, "hard", 0);
            h.set_link_name("etc/hello").unwrap();
            h.set_cksum();
            b.append(&h, &[][..]).unwrap();
            b.append(&header(tar::EntryType::Regular, "deep/er/f", 1), &b"x"[..])
                .unwrap();
        });
        let (_d, r) = extract(&bytes, false);
        let st = r.unwrap();
        let p = st.path();
        assert_eq!(std::fs::read(p.join("etc/hello")).unwrap(), b"hello");
        assert_eq!(
            std::fs::read_link(p.join("etc/abs")).unwrap(),
            Path::new("/etc/hello")
        );
        assert_eq!(std::fs::read(p.join("hard")).unwrap(), b"hello");
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(std::fs::metadata(p.join("etc")).unwrap().mtime(), 1000);
        assert_eq!(
            std::fs::metadata(p.join("etc/hello")).unwrap().mtime(),
            1000
        );
        assert_eq!(std::fs::read(p.join("deep/er/f")).unwrap(), b"x");
    }

    #[test]
    fn refuses_escapes() {
        for bad in ["/etc/passwd", "../x", "a/../../x"] {
            let bytes = tar_with(|b| {
                b.append(&header(tar::EntryType::Regular, bad, 1), &b"x"[..])
                    .unwrap();
            });
            let (_d, r) = extract(&bytes, false);
            assert!(matches!(r, Err(RootfsError::Escape { .. })), "{bad}: {r:?}");
        }
        // A symlink to the outside, then a file "through" it: must not be written outside.
        let outside = tempfile::tempdir().unwrap();
        let bytes = tar_with(|b| {
            let mut l = header(tar::EntryType::Symlink, "esc", 0);
            l.set_link_name(outside.path()).unwrap();
            l.set_cksum();
            b.append(&l, &[][..]).unwrap();
            b.append(&header(tar::EntryType::Regular, "esc/owned", 1), &b"x"[..])
                .unwrap();
        });
        let (_d, r) = extract(&bytes, false);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("symlink"), "{e}");
        assert!(!outside.path().join("owned").exists());
        // A hard link to a file outside through a symlinked directory.
        let bytes = tar_with(|b| {
            let mut l = header(tar::EntryType::Symlink, "esc", 0);
            l.set_link_name("/etc").unwrap();
            l.set_cksum();
            b.append(&l, &[][..]).unwrap();
            let mut h = header(tar::EntryType::Link, "pw", 0);
            h.set_link_name("esc/passwd").unwrap();
            h.set_cksum();
            b.append(&h, &[][..]).unwrap();
        });
        let (_d, r) = extract(&bytes, false);
        assert!(matches!(r, Err(RootfsError::Escape { .. })), "{r:?}");
    }

    #[test]
    fn device_nodes_need_permission() {
        let bytes = tar_with(|b| {
            let mut h = header(tar::EntryType::Char, "dev/null", 0);
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
            h.set_cksum();
            b.append(&h, &[][..]).unwrap();
        });
        let (_d, r) = extract(&bytes, false);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("device node"), "{e}");
    }

    #[test]
    fn detects_formats() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("x.tar.gz");
        std::fs::write(&gz, b"\x1f\x8b\x08\0rest").unwrap();
        assert!(matches!(
            RootfsSource::detect(&gz),
            Err(RootfsError::Compressed { format: "gzip", .. })
        ));
        let junk = dir.path().join("junk");
        std::fs::write(&junk, vec![1u8; 1000]).unwrap();
        assert!(matches!(
            RootfsSource::detect(&junk),
            Err(RootfsError::NotRootfs(_))
        ));
        assert!(matches!(
            RootfsSource::detect(&dir.path().join("missing")),
            Err(RootfsError::Io { .. })
        ));
        assert_eq!(
            RootfsSource::detect(dir.path()).unwrap(),
            RootfsSource::Dir(dir.path().to_path_buf())
        );
    }
}
