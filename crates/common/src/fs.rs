//! File output that is all-or-nothing and never overwrites an input, bounded input (see [`InputKind`] for
//! the size limits and [`InputFile`] for how an input is read once), and sparse-file extents.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

mod input;
pub use input::{InputError, InputFile, InputKind, TooLarge, read_input, read_input_text};

/// An output file written under a temporary name in the destination's directory and renamed over the
/// destination by [`AtomicFile::commit`]. Dropping it without committing removes the temporary file, so a
/// failed run never leaves a half-written output behind and never touches an existing file.
///
/// Two kinds of destination are not replaced by a rename:
/// - a symbolic link is followed: the file it points to is replaced and the link stays;
/// - an existing file that is not a regular file (a character or block device such as `/dev/null` or a
///   partition, a FIFO, a socket) is opened and written in place, as `cp` or `veritysetup` would; replacing
///   it would destroy the device node. Such output is not atomic (a device cannot be staged).
#[derive(Debug)]
pub struct AtomicFile {
    target: Target,
    dest: PathBuf,
}

/// Where an [`AtomicFile`]'s bytes go until the commit.
#[derive(Debug)]
enum Target {
    /// A temporary file beside the (symlink-resolved) destination, renamed over it by the commit.
    Temp {
        tmp: crate::scratch::Scratch<tempfile::NamedTempFile>,
        /// The path the rename goes to: the destination with symbolic links resolved.
        real: PathBuf,
    },
    /// The destination itself, an existing non-regular file, written in place.
    InPlace(File),
}

impl AtomicFile {
    /// Starts writing `dest`. The temporary file is created next to it (next to the file a symbolic link
    /// points to) so that the final rename stays on one filesystem. A directory is refused.
    pub fn create(dest: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let dest = dest.as_ref().to_path_buf();
        match std::fs::metadata(&dest) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                ));
            }
            Ok(m) if !m.is_file() => {
                let f = open_in_place(&dest)?;
                return Ok(AtomicFile {
                    target: Target::InPlace(f),
                    dest,
                });
            }
            _ => {}
        }
        let real = resolve_links(&dest)?;
        let dir = match real.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = crate::scratch::file_in(&dir, &name, ".tmp")?;
        Ok(AtomicFile {
            target: Target::Temp { tmp, real },
            dest,
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        match &mut self.target {
            Target::Temp { tmp, .. } => tmp.as_file_mut(),
            Target::InPlace(f) => f,
        }
    }

    /// The final path, as given.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Whether the output is written in place (the destination is a device, FIFO or socket) rather than
    /// renamed into place.
    pub fn is_in_place(&self) -> bool {
        matches!(self.target, Target::InPlace(_))
    }

    /// Flushes the bytes to storage (a device that cannot be synced, such as `/dev/null` or a pipe, is fine).
    fn flush_to_storage(&self) -> io::Result<()> {
        match &self.target {
            Target::Temp { tmp, .. } => tmp.as_file().sync_data(),
            Target::InPlace(f) => sync_in_place(f),
        }
    }

    /// Moves the bytes into place: renames the temporary file over the destination (a no-op in place).
    fn place(self) -> io::Result<()> {
        match self.target {
            Target::Temp { tmp, real } => tmp
                .into_inner()
                .persist(&real)
                .map(drop)
                .map_err(|e| e.error),
            Target::InPlace(_) => Ok(()),
        }
    }

    /// The path a commit renames to (the destination with links resolved); `None` in place.
    fn rename_target(&self) -> Option<&Path> {
        match &self.target {
            Target::Temp { real, .. } => Some(real),
            Target::InPlace(_) => None,
        }
    }

    /// Flushes and renames the temporary file over the destination.
    pub fn commit(self) -> io::Result<()> {
        self.flush_to_storage()?;
        self.place()
    }
}

/// `dest` with symbolic links resolved, for a destination that may not exist yet: a dangling link resolves to
/// the path it names (relative to the link's directory), so the link is kept and its target created.
fn resolve_links(dest: &Path) -> io::Result<PathBuf> {
    let mut p = dest.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

impl io::Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

/// Writes `bytes` to `dest` atomically (see [`AtomicFile`]).
pub fn write_atomic(dest: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    use io::Write as _;
    let mut f = AtomicFile::create(dest)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Several output files made visible together: every temporary is written first, then [`OutputSet::commit`]
/// renames them all into place; if one rename fails, those already done are undone (a destination that
/// existed is first renamed aside and put back), so the destinations are either all new or all as they were.
/// A destination that is a device, FIFO or socket is written in place (see [`AtomicFile`]) and is outside
/// this guarantee.
#[derive(Debug, Default)]
pub struct OutputSet {
    outputs: Vec<Staged>,
}

/// One member of an [`OutputSet`].
#[derive(Debug)]
enum Staged {
    /// A temporary file beside its destination.
    Atomic(AtomicFile),
    /// A finished file elsewhere on the destination's filesystem (the caller owns its lifetime).
    Path {
        /// The finished file.
        from: PathBuf,
        /// Where it goes.
        dest: PathBuf,
    },
}

impl Staged {
    fn dest(&self) -> &Path {
        match self {
            Staged::Atomic(a) => a.dest(),
            Staged::Path { dest, .. } => dest,
        }
    }
}

/// Why [`OutputSet::commit`] failed: the output that could not be moved into place (the others are as they
/// were).
#[derive(Debug, thiserror::Error)]
#[error("{}", dest.display())]
pub struct CommitError {
    /// Its position in the set (in the order added).
    pub index: usize,
    /// Its destination.
    pub dest: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// A destination done by the commit, for the rollback: its previous file (renamed aside), if it had one.
struct Done {
    dest: PathBuf,
    aside: Option<tempfile::TempPath>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> OutputSet {
        OutputSet::default()
    }

    /// Adds a temporary file; its position (from 0) is the index a [`CommitError`] reports.
    pub fn push(&mut self, file: AtomicFile) {
        self.outputs.push(Staged::Atomic(file));
    }

    /// Adds a finished, flushed file `from` to be renamed to `dest` (same filesystem).
    pub fn push_path(&mut self, from: PathBuf, dest: PathBuf) {
        self.outputs.push(Staged::Path { from, dest });
    }

    /// Flushes the temporaries, then renames every output into place, in the order added; on failure puts back
    /// what was there before.
    pub fn commit(self) -> Result<(), CommitError> {
        let fail = |index: usize, dest: &Path| {
            let dest = dest.to_path_buf();
            move |source| CommitError {
                index,
                dest,
                source,
            }
        };
        for (i, o) in self.outputs.iter().enumerate() {
            if let Staged::Atomic(a) = o {
                a.flush_to_storage().map_err(fail(i, a.dest()))?;
            }
        }
        let mut done: Vec<Done> = Vec::new();
        for (i, o) in self.outputs.into_iter().enumerate() {
            let given = o.dest().to_path_buf();
            // Where a rename would go; `None` for a device, FIFO or socket, which is written in place.
            let real = match &o {
                Staged::Atomic(a) => Ok(a.rename_target().map(Path::to_path_buf)),
                Staged::Path { dest, .. } => match std::fs::metadata(dest) {
                    Ok(m) if !m.is_file() && !m.is_dir() => Ok(None),
                    _ => resolve_links(dest).map(Some),
                },
            };
            let real = match real {
                Ok(r) => r,
                Err(e) => {
                    roll_back(done);
                    return Err(fail(i, &given)(e));
                }
            };
            let Some(real) = real else {
                let written = match o {
                    Staged::Atomic(_) => Ok(()),
                    Staged::Path { from, dest } => copy_in_place(&from, &dest),
                };
                if let Err(e) = written {
                    roll_back(done);
                    return Err(fail(i, &given)(e));
                }
                continue;
            };
            let aside = match set_aside(&real) {
                Ok(a) => a,
                Err(e) => {
                    roll_back(done);
                    return Err(fail(i, &given)(e));
                }
            };
            let moved = match o {
                Staged::Atomic(a) => a.place(),
                Staged::Path { from, .. } => std::fs::rename(from, &real),
            };
            if let Err(e) = moved {
                if let Some(a) = &aside {
                    let _ = std::fs::rename(a, &real);
                }
                roll_back(done);
                return Err(fail(i, &given)(e));
            }
            done.push(Done { dest: real, aside });
        }
        // The previous files, renamed aside, are removed as the `TempPath`s drop.
        Ok(())
    }
}

/// Renames an existing file (not a directory) at `dest` to a fresh name beside it; `None` if there is none.
fn set_aside(dest: &Path) -> io::Result<Option<tempfile::TempPath>> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if !m.is_dir() => {}
        _ => return Ok(None),
    }
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let aside = tempfile::Builder::new()
        .prefix(&crate::scratch::prefix(&name))
        .suffix(".old")
        .tempfile_in(dir)?
        .into_temp_path();
    std::fs::rename(dest, &aside)?;
    Ok(Some(aside))
}

/// Opens an existing device, FIFO or socket for writing in place: read-write where allowed (a verity hash
/// device is read back), else write-only. Nothing is truncated.
fn open_in_place(dest: &Path) -> io::Result<File> {
    match File::options().read(true).write(true).open(dest) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            File::options().write(true).open(dest)
        }
        r => r,
    }
}

/// Writes the finished file `from` into the existing device, FIFO or socket `dest`, then removes `from`.
fn copy_in_place(from: &Path, dest: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let mut out = open_in_place(dest)?;
    io::copy(&mut src, &mut out)?;
    sync_in_place(&out)?;
    std::fs::remove_file(from)
}

/// Flushes a destination written in place; one that cannot be synced (`/dev/null`, a pipe: EINVAL) is fine.
fn sync_in_place(f: &File) -> io::Result<()> {
    match f.sync_data() {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => Ok(()),
        r => r,
    }
}

/// Undoes the renames done so far, newest first: the previous file goes back, or the new one is removed.
fn roll_back(done: Vec<Done>) {
    for d in done.into_iter().rev() {
        let _ = match &d.aside {
            Some(a) => std::fs::rename(a, &d.dest),
            None => std::fs::remove_file(&d.dest),
        };
    }
}

/// An output path names one of the command's inputs (see [`refuse_clobber`]).
#[derive(Debug, thiserror::Error)]
#[error("{}: output would overwrite the input {}", output.display(), input.display())]
pub struct ClobberError {
    /// The output as given.
    pub output: PathBuf,
    /// The input it names, as given.
    pub input: PathBuf,
}

/// Refuses, before any work, outputs that would destroy an input: an output that is the same file as an input
/// file (same device and inode, through symbolic links and hard links), or that lies inside an input directory
/// (compared by canonical path). Outputs and inputs that do not exist yet cannot collide and pass.
pub fn refuse_clobber(outputs: &[&Path], inputs: &[&Path]) -> Result<(), ClobberError> {
    use std::os::unix::fs::MetadataExt as _;
    for &output in outputs {
        let out_id = std::fs::metadata(output).ok().map(|m| (m.dev(), m.ino()));
        let out_canon = canonical_output(output);
        for &input in inputs {
            let Ok(m) = std::fs::metadata(input) else {
                continue;
            };
            let clobbers = if m.is_dir() {
                match (&out_canon, std::fs::canonicalize(input)) {
                    (Some(o), Ok(i)) => o.starts_with(i),
                    _ => false,
                }
            } else {
                out_id == Some((m.dev(), m.ino()))
            };
            if clobbers {
                return Err(ClobberError {
                    output: output.to_path_buf(),
                    input: input.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// The canonical path of an output that may not exist yet: its directory's canonical path and its name.
fn canonical_output(output: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(output) {
        return Some(p);
    }
    let name = output.file_name()?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir).ok().map(|d| d.join(name))
}

/// The byte ranges `[start, end)` of `file` within `[from, to)` that may hold data, as reported by
/// `SEEK_DATA`/`SEEK_HOLE`. Everything outside the returned ranges is a hole and reads as zeros. On
/// filesystems without hole reporting the whole range is returned.
pub fn data_extents(file: &File, from: u64, to: u64) -> io::Result<Vec<(u64, u64)>> {
    use rustix::fs::{SeekFrom, seek};
    let mut out = Vec::new();
    let mut pos = from;
    while pos < to {
        let start = match seek(file, SeekFrom::Data(pos)) {
            Ok(s) => s,
            Err(rustix::io::Errno::NXIO) => break,
            Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::OPNOTSUPP) => {
                out.push((pos, to));
                break;
            }
            Err(e) => return Err(e.into()),
        };
        if start >= to {
            break;
        }
        let end = match seek(file, SeekFrom::Hole(start)) {
            Ok(e) => e.min(to),
            Err(rustix::io::Errno::NXIO) => to,
            Err(e) => return Err(e.into()),
        };
        if end <= start {
            out.push((start, to));
            break;
        }
        out.push((start, end));
        pos = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    #[test]
    fn atomic_commit_and_abort() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        std::fs::write(&p, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
            // dropped: not committed
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn extents_of_sparse_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sparse");
        let mut f = File::create(&p).unwrap();
        f.set_len(64 << 20).unwrap();
        f.seek(io::SeekFrom::Start(8 << 20)).unwrap();
        f.write_all(&[1u8; 4096]).unwrap();
        f.sync_all().unwrap();
        let ext = data_extents(&f, 0, 64 << 20).unwrap();
        // Whatever granularity the filesystem reports, the written block is covered and most is hole.
        assert!(
            ext.iter()
                .any(|&(s, e)| s <= 8 << 20 && e >= (8 << 20) + 4096)
        );
        let covered: u64 = ext.iter().map(|(s, e)| e - s).sum();
        assert!(covered < 64 << 20, "{ext:?}");
    }

    #[test]
    fn output_set_commits_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        std::fs::write(&a, b"old a").unwrap();
        let set = |last: &Path| {
            let mut set = OutputSet::new();
            for (p, text) in [
                (a.as_path(), "new a"),
                (b.as_path(), "new b"),
                (last, "new c"),
            ] {
                let mut f = AtomicFile::create(p).unwrap();
                f.write_all(text.as_bytes()).unwrap();
                set.push(f);
            }
            set
        };
        // The last rename fails (a non-empty directory got in the way after the outputs were started): a is
        // put back, b removed.
        let staged = set(&c);
        std::fs::create_dir(&c).unwrap();
        std::fs::write(c.join("keep"), b"x").unwrap();
        let e = staged.commit().unwrap_err();
        assert_eq!(e.index, 2);
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        assert!(!b.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "temporaries left: {left:?}");
        // Without the obstacle all three appear and nothing else is left.
        let d = dir.path().join("d");
        set(&d).commit().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert_eq!(std::fs::read(&b).unwrap(), b"new b");
        assert_eq!(std::fs::read(&d).unwrap(), b"new c");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    /// A FIFO (as a device would be) is written in place, inside an output set too, and stays a FIFO.
    #[test]
    fn non_regular_destinations_are_written_in_place() {
        use rustix::fs::{Mode, OFlags};
        use std::io::Read as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let fd = rustix::fs::open(&fifo, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()).unwrap();
        let mut reader = File::from(fd);
        let mut a = AtomicFile::create(&fifo).unwrap();
        assert!(a.is_in_place());
        a.write_all(b"one ").unwrap();
        let staged = dir.path().join("staged");
        std::fs::write(&staged, b"two").unwrap();
        let mut set = OutputSet::new();
        set.push(a);
        set.push_path(staged.clone(), fifo.clone());
        set.commit().unwrap();
        let mut got = Vec::new();
        match reader.read_to_end(&mut got) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => panic!("{e}"),
            _ => {}
        }
        assert_eq!(got, b"one two");
        assert!(!staged.exists());
        use std::os::unix::fs::FileTypeExt as _;
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert!(AtomicFile::create(dir.path()).is_err());
    }

    #[test]
    fn clobber_is_same_file_or_inside_an_input_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("in"), b"x").unwrap();
        std::fs::hard_link(d.join("in"), d.join("hard")).unwrap();
        std::os::unix::fs::symlink("in", d.join("soft")).unwrap();
        std::fs::create_dir(d.join("tree")).unwrap();
        let input = d.join("in");
        let tree = d.join("tree");
        for out in ["in", "hard", "soft", "tree/new", "tree"] {
            let e = refuse_clobber(&[&d.join(out)], &[&input, &tree]).unwrap_err();
            assert_eq!(e.output, d.join(out));
        }
        for out in ["new", "other"] {
            std::fs::write(d.join("other"), b"x").unwrap();
            refuse_clobber(&[&d.join(out)], &[&input, &tree]).unwrap();
        }
    }
}
