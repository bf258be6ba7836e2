//! Which file a data block belongs to: a map from byte ranges of the data device to files, read from the
//! filesystem's own metadata, for the filesystems `yardstick image build` makes (ext4 with extents, erofs
//! uncompressed, squashfs 4.0 with gzip or uncompressed blocks). `verity verify` uses it to name the file
//! behind a bad data block.
//!
//! The map is all or nothing: a filesystem that is not one of these, or whose metadata does not read
//! cleanly (including metadata inside the corrupted blocks themselves), gives no map, and the bad blocks are
//! reported without file names. A name given is never a guess.
//!
//! Where a block holds compressed file data (squashfs), the whole span of the file that block decompresses
//! to is named, since any byte of it can spoil the whole; a squashfs fragment block names every file whose
//! tail it holds.
//!
//! ```
//! use yardstick_verity::fsmap::FsMap;
//! // Not a filesystem: no map, so no names.
//! assert!(FsMap::read(&vec![0u8; 65536]).is_none());
//! ```

mod erofs;
mod ext4;
mod squashfs;

use std::collections::BTreeMap;

/// Random-access reads of the data device, bounded by its size.
pub trait ReadAt {
    /// The device's size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from byte `offset`; false when that is not possible (past the end, an I/O error).
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> bool;
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> bool {
        let Ok(start) = usize::try_from(offset) else {
            return false;
        };
        match start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
        {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}

/// A file (or device) of a known size, read with positioned reads.
pub struct FileAt<'a> {
    /// The open file.
    pub file: &'a std::fs::File,
    /// The bytes of it that belong to the filesystem (the verity data area).
    pub size: u64,
}

impl ReadAt for FileAt<'_> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> bool {
        use std::os::unix::fs::FileExt as _;
        offset
            .checked_add(buf.len() as u64)
            .is_some_and(|end| end <= self.size)
            && self.file.read_exact_at(buf, offset).is_ok()
    }
}

/// A device some of whose blocks failed verification: a read that touches one of them fails, so that no
/// map is built from metadata that did not verify (a corrupted inode or directory could name the wrong file).
pub struct Verified<'a> {
    /// The device.
    pub dev: &'a dyn ReadAt,
    /// The indexes of the blocks that failed, sorted.
    pub bad: &'a [u64],
    /// The size of those blocks in bytes.
    pub block_size: u64,
}

impl ReadAt for Verified<'_> {
    fn size(&self) -> u64 {
        self.dev.size()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> bool {
        if self.block_size == 0 {
            return false;
        }
        if let Some(end) = offset.checked_add(buf.len() as u64) {
            let (first, last) = (
                offset / self.block_size,
                end.saturating_sub(1) / self.block_size,
            );
            let i = self.bad.partition_point(|b| *b < first);
            if buf.is_empty() || self.bad.get(i).is_none_or(|b| *b > last) {
                return self.dev.read_exact_at(buf, offset);
            }
        }
        false
    }
}

/// The most bytes one metadata read asks for (a directory or a block list is read in pieces of this).
const MAX_READ: usize = 16 << 20;
/// The most files (and directories) a map holds: far above any root filesystem.
const MAX_FILES: usize = 1 << 22;
/// The deepest directory nesting followed.
const MAX_DEPTH: usize = 512;

/// File type bits of an inode's mode (erofs and ext4 store the POSIX ones).
const S_IFMT: u16 = 0xf000;
const S_IFREG: u16 = 0x8000;
const S_IFDIR: u16 = 0x4000;
const S_IFLNK: u16 = 0xa000;

/// The name a file of this type is mapped under: a directory's blocks are named apart from its files.
fn mapped_name(kind: u16, path: &str) -> String {
    if kind == S_IFDIR {
        format!("{path} (directory)")
    } else {
        path.to_string()
    }
}

/// Reads `len` bytes at `offset`, `None` if they are not all there.
pub(crate) fn bytes_at(dev: &dyn ReadAt, offset: u64, len: usize) -> Option<Vec<u8>> {
    if len > MAX_READ {
        return None;
    }
    let mut buf = vec![0; len];
    dev.read_exact_at(&mut buf, offset).then_some(buf)
}

/// A run of a file's bytes on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First byte on the device.
    pub dev_start: u64,
    /// Bytes on the device.
    pub dev_len: u64,
    /// The file (an index into [`FsMap::paths`]).
    pub file: usize,
    /// First byte of the file these device bytes hold.
    pub file_start: u64,
    /// Bytes of the file they hold (for plain data, `dev_len` or less at the file's end).
    pub file_len: u64,
    /// Compressed: any device byte affects all `file_len` bytes.
    pub compressed: bool,
}

/// Files' bytes on the device, built while reading a filesystem.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    paths: Vec<String>,
    extents: Vec<Extent>,
}

impl Builder {
    /// A new file; `None` when the map is full.
    pub fn file(&mut self, path: String) -> Option<usize> {
        (self.paths.len() < MAX_FILES).then(|| {
            self.paths.push(path);
            self.paths.len() - 1
        })
    }

    /// Device bytes `dev_start..+dev_len` hold the file's bytes `file_start..+file_len`.
    pub fn extent(
        &mut self,
        file: usize,
        dev_start: u64,
        dev_len: u64,
        file_start: u64,
        file_len: u64,
        compressed: bool,
    ) -> Option<()> {
        if dev_len == 0 || file_len == 0 {
            return Some(());
        }
        dev_start.checked_add(dev_len)?;
        file_start.checked_add(file_len)?;
        (self.extents.len() < 4 * MAX_FILES).then_some(())?;
        self.extents.push(Extent {
            dev_start,
            dev_len,
            file,
            file_start,
            file_len,
            compressed,
        });
        Some(())
    }

    fn finish(mut self, kind: &'static str) -> FsMap {
        self.extents.sort_by_key(|e| e.dev_start);
        let longest = self.extents.iter().map(|e| e.dev_len).max().unwrap_or(0);
        FsMap {
            kind,
            paths: self.paths,
            extents: self.extents,
            longest,
        }
    }
}

/// Joins a directory path and a name (`/` + `etc` = `/etc`).
pub(crate) fn join(dir: &str, name: &[u8]) -> Option<String> {
    let name = String::from_utf8_lossy(name);
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    Some(if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    })
}

/// Byte ranges of the data device mapped to files.
#[derive(Debug)]
pub struct FsMap {
    kind: &'static str,
    paths: Vec<String>,
    extents: Vec<Extent>,
    longest: u64,
}

/// Part of a file behind a range of the device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRange {
    /// The file's path in the filesystem (`/etc/marker`).
    pub path: String,
    /// Its first byte affected.
    pub first: u64,
    /// Its last byte affected (inclusive).
    pub last: u64,
}

impl std::fmt::Display for FileRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, bytes {}-{}", self.path, self.first, self.last)
    }
}

impl FsMap {
    /// Reads the filesystem on `dev` (ext4, erofs or squashfs, told by their magic numbers); `None` for any
    /// other content or metadata that does not read cleanly.
    pub fn read(dev: &dyn ReadAt) -> Option<FsMap> {
        let (kind, b) = if let Some(b) = ext4::read(dev) {
            ("ext4", b)
        } else if let Some(b) = erofs::read(dev) {
            ("erofs", b)
        } else {
            ("squashfs", squashfs::read(dev)?)
        };
        Some(b.finish(kind))
    }

    /// The filesystem's name (`ext4`, `erofs`, `squashfs`).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The files whose bytes lie in device bytes `start..start + len`, each with the range of its bytes
    /// affected, by path.
    pub fn files_at(&self, start: u64, len: u64) -> Vec<FileRange> {
        let end = start.saturating_add(len);
        let upto = self.extents.partition_point(|e| e.dev_start < end);
        let from = self
            .extents
            .partition_point(|e| e.dev_start.saturating_add(self.longest) <= start);
        let mut by_file: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
        for e in self.extents.get(from..upto).unwrap_or_default() {
            let e_end = e.dev_start + e.dev_len;
            if e_end <= start {
                continue;
            }
            let (first, last) = if e.compressed {
                (e.file_start, e.file_start + e.file_len - 1)
            } else {
                let lo = start.max(e.dev_start) - e.dev_start;
                let hi = end.min(e_end) - e.dev_start;
                if lo >= e.file_len {
                    continue; // the zero padding after a file's last byte
                }
                (e.file_start + lo, e.file_start + hi.min(e.file_len) - 1)
            };
            by_file.entry(e.file).or_default().push((first, last));
        }
        let mut out = Vec::new();
        for (f, mut ranges) in by_file {
            let Some(path) = self.paths.get(f) else {
                continue;
            };
            // Ranges that touch are one; ranges apart stay apart (a file's block and its tail elsewhere).
            ranges.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::new();
            for (first, last) in ranges {
                match merged.last_mut() {
                    Some(m) if first <= m.1.saturating_add(1) => m.1 = m.1.max(last),
                    _ => merged.push((first, last)),
                }
            }
            out.extend(merged.into_iter().map(|(first, last)| FileRange {
                path: path.clone(),
                first,
                last,
            }));
        }
        out.sort_by(|a, b| (&a.path, a.first).cmp(&(&b.path, b.first)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz seeds (`fuzz/corpus/fsmap`), made by the filesystems' own tools from a tree of `/d/f` (12
    /// bytes), `/g` (5000 bytes) and the symlink `/l`: `mkfs.erofs -T0 -Enoinline_data`, `mksquashfs
    /// -mkfs-time 0 -all-time 0` (squashfs-tools 4.5.1), and `mkfs.ext4 -b 1024 -N 16 -O
    /// ^has_journal,^metadata_csum,^resize_inode -d` on a 64 KiB file (e2fsprogs 1.47.0).
    #[test]
    fn tiny_images_of_each_filesystem() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/fsmap");
        for kind in ["erofs", "ext4", "squashfs"] {
            let img = std::fs::read(format!("{dir}/{kind}.img")).unwrap();
            let map = FsMap::read(&img).unwrap();
            assert_eq!(map.kind(), kind);
            let all = map.files_at(0, img.len() as u64);
            let find = |p: &str| all.iter().find(|f| f.path == p).cloned();
            assert_eq!(
                find("/d/f").map(|f| (f.first, f.last)),
                Some((0, 11)),
                "{kind}: {all:?}"
            );
            assert_eq!(
                find("/g").map(|f| (f.first, f.last)),
                Some((0, 4999)),
                "{kind}: {all:?}"
            );
        }
    }

    #[test]
    fn ranges_by_file() {
        let mut b = Builder::default();
        let a = b.file("/a".into()).unwrap();
        let z = b.file("/z".into()).unwrap();
        // /a: 6000 bytes in two runs; /z: a compressed block decompressing to 10000 bytes.
        b.extent(a, 4096, 4096, 0, 4096, false).unwrap();
        b.extent(a, 16384, 4096, 4096, 1904, false).unwrap();
        b.extent(z, 8192, 100, 0, 10000, true).unwrap();
        let m = b.finish("test");
        let r = |s, l| {
            m.files_at(s, l)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(r(4096, 4096), ["/a, bytes 0-4095"]);
        assert_eq!(r(16384, 4096), ["/a, bytes 4096-5999"]);
        assert_eq!(r(8192, 4096), ["/z, bytes 0-9999"]);
        assert_eq!(r(4096, 8192), ["/a, bytes 0-4095", "/z, bytes 0-9999"]);
        assert!(r(0, 4096).is_empty());
        assert!(r(12288, 4096).is_empty());
        // Past /a's last byte in its last block: the padding belongs to no file.
        assert!(r(16384 + 1904, 100).is_empty());
        assert_eq!(r(16384 + 1000, 1), ["/a, bytes 5096-5096"]);
    }
}
