//! Streaming file digests with bounded memory (kernel, initrd, firmware).

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

use yardstick_common::fs::{InputError, InputFile, InputKind};
use yardstick_common::hash::{Algorithm, Digest};
use yardstick_common::progress::Progress;

/// Read size: large enough that syscalls cost nothing, small enough to stay in L2 while it is hashed.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Tells the kernel the file is read once from start to end (larger readahead on a cold cache).
pub(crate) fn advise_sequential(file: &File) {
    // Advice only: a filesystem that ignores it changes nothing.
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::Sequential);
}

/// The digest of a whole file, read once in [`CHUNK`]-sized pieces under the size limit of `kind` (a pipe
/// is read like a file; a stream longer than the limit, such as `/dev/zero`, is an error), reporting bytes
/// to `progress`.
pub(crate) fn digest_file(
    alg: Algorithm,
    path: &Path,
    kind: InputKind,
    progress: &dyn Progress,
) -> io::Result<Digest> {
    let mut file = InputFile::open(path, kind).map_err(InputError::into_io)?;
    advise_sequential(file.as_file());
    let mut h = alg.hasher();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let data = buf.get(..n).unwrap_or_default();
        h.update(data);
        progress.advance(n as u64);
    }
    Ok(h.finish())
}
