//! Streaming file digests with bounded memory (kernel, initrd, firmware).

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_common::progress::Progress;

/// Read size: large enough that syscalls cost nothing, small enough to stay in L2 while it is hashed.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Tells the kernel the file is read once from start to end (larger readahead on a cold cache).
pub(crate) fn advise_sequential(file: &File) {
    // Advice only: a filesystem that ignores it changes nothing.
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::Sequential);
}

/// The digest of a whole file, read in [`CHUNK`]-sized pieces, reporting bytes to `progress`.
pub(crate) fn digest_file(
    alg: Algorithm,
    path: &Path,
    progress: &dyn Progress,
) -> io::Result<Digest> {
    let mut file = File::open(path)?;
    advise_sequential(&file);
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
