//! File output that is all-or-nothing, bounded input, and sparse-file extents.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// An output file written under a temporary name in the destination's directory and renamed over the
/// destination by [`AtomicFile::commit`]. Dropping it without committing removes the temporary file, so a
/// failed run never leaves a half-written output behind and never touches an existing file.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// Starts writing `dest`. The temporary file is created next to it so that the final rename stays on one
    /// filesystem.
    pub fn create(dest: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let dest = dest.as_ref().to_path_buf();
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(dir)?;
        Ok(AtomicFile { tmp, dest })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes and renames the temporary file over the destination.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_data()?;
        self.tmp.persist(&self.dest).map_err(|e| e.error)?;
        Ok(())
    }
}

impl io::Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Writes `bytes` to `dest` atomically (see [`AtomicFile`]).
pub fn write_atomic(dest: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    use io::Write as _;
    let mut f = AtomicFile::create(dest)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Why [`read_input`] failed. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file could not be opened, sized or read.
    #[error("{path}: {what}")]
    Io {
        /// The file.
        path: PathBuf,
        /// "cannot open", "cannot stat" or "cannot read".
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The file is larger than anything of its kind can be.
    #[error("{path}: {len} bytes is too large for {kind} (limit {} MiB)", limit >> 20)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
        /// What it should be ("an event log or PCR list").
        kind: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
}

/// Reads an input file whole, refusing one larger than `limit` bytes (`kind` names what the file should be, for
/// the message). A file that grows while being read is cut at `limit + 1` bytes, never read without bound.
pub fn read_input(path: &Path, limit: u64, kind: &'static str) -> Result<Vec<u8>, InputError> {
    use io::Read as _;
    let io = |what: &'static str| {
        move |source| InputError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    };
    let f = File::open(path).map_err(io("cannot open"))?;
    let len = f.metadata().map_err(io("cannot stat"))?.len();
    if len > limit {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            len,
            kind,
            limit,
        });
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(io("cannot read"))?;
    Ok(buf)
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
}
