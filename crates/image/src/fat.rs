//! A reproducible FAT32 writer for EFI System Partitions.
//!
//! Layout per Microsoft's FAT specification (fatgen103, "FAT32 File System Specification"): 32 reserved
//! sectors (boot sector, FSInfo at 1, backup boot sector at 6, backup FSInfo at 7), two FATs, then the data
//! clusters starting with the root directory at cluster 2. The FAT type is decided by the cluster count alone
//! (a reader such as EDK2's FAT driver calls anything with fewer than 65525 clusters FAT16), so the volume must
//! be at least [`MIN_SIZE`] bytes. Sectors per cluster follow the specification's FAT32 table.
//!
//! Reproducible by construction: every timestamp is the given epoch (clamped to the FAT epoch 1980-01-01),
//! directory entries are sorted, clusters are allocated in a fixed order, and nothing random is written.
//! Names must be 8.3 upper case (`EFI/BOOT/BOOTX64.EFI`); long names are not written.
//!
//! Hand-written for bit-exactness: every byte of the volume follows from the inputs (timestamps from
//! `SOURCE_DATE_EPOCH`, the volume id from the seed, entries in sorted order), so rebuilds are byte-identical;
//! `fsck.vfat` and mtools check the result in `tests/tables.rs`.
//!
//! ```no_run
//! use yardstick_image::fat::{FatBuilder, FileSource};
//! let mut fat = FatBuilder::new(0x1234_5678, "ESP");
//! fat.add_file("EFI/BOOT/BOOTX64.EFI", FileSource::Path("uki.efi".into()))?;
//! let size = fat.min_size()?.max(64 << 20);
//! let out = std::fs::File::create("esp.img")?;
//! out.set_len(size)?;
//! fat.write(&out, 0, size)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use yardstick_common::time::Civil;

const SECTOR: u64 = 512;
const RESERVED_SECTORS: u64 = 32;
const NUM_FATS: u64 = 2;
const FAT32_MIN_CLUSTERS: u64 = 65525;
/// FAT32 cluster numbers are 28 bits; values from 0x0FFFFFF7 up are reserved.
const FAT32_MAX_CLUSTERS: u64 = 0x0FFF_FFF5;
const EOC: u32 = 0x0FFF_FFFF;
const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_ARCHIVE: u8 = 0x20;

/// Smallest volume written: the specification's smallest FAT32 volume (66600 sectors), rounded up to 33 MiB.
pub const MIN_SIZE: u64 = 33 << 20;

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// Read from this file when writing.
    Path(PathBuf),
    /// These bytes.
    Bytes(Vec<u8>),
}

/// Why a FAT volume could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FatError {
    /// A path component that is not an upper-case 8.3 name.
    #[error("{0:?}: not an upper-case 8.3 FAT name (long names are not supported)")]
    BadName(String),
    /// The same path twice, or a file where a directory is needed.
    #[error("{0:?}: already present (as a file or directory)")]
    Duplicate(String),
    /// A file of 4 GiB or more.
    #[error("{0:?}: FAT files must be smaller than 4 GiB")]
    TooLarge(String),
    /// The volume is too small (or too large) for FAT32 with this content.
    #[error("a {size}-byte FAT32 volume cannot hold this content (needs at least {needed} bytes)")]
    NoSpace {
        /// Size asked for.
        size: u64,
        /// Smallest size that works.
        needed: u64,
    },
    /// A source file changed size between planning and writing, or could not be read.
    // The cause is the error's source: `{:#}` (the CLI's one-line printer) appends it after ": ".
    #[error("{path}")]
    Source {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Writing the volume failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug)]
enum Node {
    Dir(BTreeMap<[u8; 11], Node>),
    File { source: FileSource, size: u64 },
}

/// Builds a FAT32 volume from a list of files.
#[derive(Debug)]
pub struct FatBuilder {
    volume_id: u32,
    label: [u8; 11],
    epoch: u64,
    root: BTreeMap<[u8; 11], Node>,
}

/// Formats `name` as the 11-byte directory-entry name, or `None` if it is not upper-case 8.3.
fn short_name(name: &str) -> Option<[u8; 11]> {
    let ok =
        |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit() || b"$%'-_@~`!(){}^#&".contains(&c);
    let (base, ext) = match name.split_once('.') {
        Some((b, e)) => (b, e),
        None => (name, ""),
    };
    if base.is_empty()
        || base.len() > 8
        || ext.len() > 3
        || !base.bytes().all(ok)
        || !ext.bytes().all(ok)
    {
        return None;
    }
    let mut out = [b' '; 11];
    // base.len() <= 8 and ext.len() <= 3, checked above.
    for (d, s) in out[..8].iter_mut().zip(base.bytes()) {
        *d = s;
    }
    for (d, s) in out[8..].iter_mut().zip(ext.bytes()) {
        *d = s;
    }
    // 0xE5 marks a deleted entry; a name starting with that byte is stored as 0x05 (fatgen103 §6.1).
    if out[0] == 0xe5 {
        out[0] = 0x05;
    }
    Some(out)
}

fn label_bytes(label: &str) -> [u8; 11] {
    let mut out = [b' '; 11];
    let clean: Vec<u8> = label
        .bytes()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.is_ascii_graphic() || *c == b' ')
        .take(11)
        .collect();
    if clean.is_empty() {
        return *b"NO NAME    ";
    }
    for (d, s) in out.iter_mut().zip(clean) {
        *d = s;
    }
    out
}

/// FAT date and time of a Unix time (UTC), clamped to 1980-01-01 00:00:00 .. 2107-12-31.
fn fat_datetime(epoch: u64) -> (u16, u16) {
    let t = Civil::from_unix(epoch);
    if t.year < 1980 {
        return ((1 << 5) | 1, 0);
    }
    if t.year > 2107 {
        return ((127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29);
    }
    let date = (((t.year - 1980) as u16) << 9) | ((t.month as u16) << 5) | t.day as u16;
    let time = ((t.hour as u16) << 11) | ((t.minute as u16) << 5) | (t.second / 2) as u16;
    (date, time)
}

/// Geometry of one volume.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    total_sectors: u64,
    sectors_per_cluster: u64,
    fat_sectors: u64,
    clusters: u64,
}

impl Geometry {
    fn for_size(size: u64) -> Option<Geometry> {
        let total_sectors = size / SECTOR;
        if total_sectors > u64::from(u32::MAX) || total_sectors < 66_600 {
            return None;
        }
        // fatgen103's FAT32 cluster-size table.
        let sectors_per_cluster = match total_sectors {
            0..=532_480 => 1,
            532_481..=16_777_216 => 8,
            16_777_217..=33_554_432 => 16,
            33_554_433..=67_108_864 => 32,
            _ => 64,
        };
        // fatgen103's FAT size computation (RootDirSectors = 0 on FAT32).
        let tmp1 = total_sectors - RESERVED_SECTORS;
        let tmp2 = (256 * sectors_per_cluster + NUM_FATS) / 2;
        let fat_sectors = tmp1.div_ceil(tmp2);
        let data_sectors = total_sectors.checked_sub(RESERVED_SECTORS + NUM_FATS * fat_sectors)?;
        let clusters = data_sectors / sectors_per_cluster;
        if !(FAT32_MIN_CLUSTERS..=FAT32_MAX_CLUSTERS).contains(&clusters)
            || fat_sectors * SECTOR / 4 < clusters + 2
        {
            return None;
        }
        Some(Geometry {
            total_sectors,
            sectors_per_cluster,
            fat_sectors,
            clusters,
        })
    }

    fn cluster_bytes(&self) -> u64 {
        self.sectors_per_cluster * SECTOR
    }

    fn cluster_offset(&self, cluster: u64) -> u64 {
        (RESERVED_SECTORS + NUM_FATS * self.fat_sectors + (cluster - 2) * self.sectors_per_cluster)
            * SECTOR
    }
}

/// Clusters a directory with `entries` entries (plus `.`/`..` or the label) takes.
fn dir_clusters(entries: u64, cluster_bytes: u64) -> u64 {
    (entries * 32).div_ceil(cluster_bytes).max(1)
}

/// The file allocation table being filled: clusters are handed out in order, each run chained to its end.
struct Allocator {
    fat: Vec<u32>,
    next_free: u64,
}

impl Allocator {
    fn new(clusters: u64) -> Allocator {
        // Entries 0 (the media byte) and 1 (end of chain), then one free entry per cluster.
        let mut fat = vec![0x0FFF_FF00 | 0xF8, EOC];
        fat.resize((clusters + 2) as usize, 0);
        Allocator { fat, next_free: 2 }
    }

    /// Allocates `n` consecutive clusters as one chain; returns the first.
    fn alloc(&mut self, n: u64) -> u64 {
        let first = self.next_free;
        for c in first..first + n {
            let v = if c + 1 < first + n {
                (c + 1) as u32
            } else {
                EOC
            };
            if let Some(slot) = self.fat.get_mut(c as usize) {
                *slot = v;
            }
        }
        self.next_free += n;
        first
    }
}

/// The FAT date and time written into every directory entry.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    date: u16,
    time: u16,
}

impl Stamp {
    fn of(epoch: u64) -> Stamp {
        let (date, time) = fat_datetime(epoch);
        Stamp { date, time }
    }

    /// A 32-byte directory entry.
    fn entry(&self, name: &[u8; 11], attr: u8, cluster: u64, size: u64) -> [u8; 32] {
        let (date, time) = (self.date, self.time);
        let mut e = [0u8; 32];
        e[..11].copy_from_slice(name);
        e[11] = attr;
        e[14..16].copy_from_slice(&time.to_le_bytes());
        e[16..18].copy_from_slice(&date.to_le_bytes());
        e[18..20].copy_from_slice(&date.to_le_bytes());
        e[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
        e[22..24].copy_from_slice(&time.to_le_bytes());
        e[24..26].copy_from_slice(&date.to_le_bytes());
        e[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
        e[28..32].copy_from_slice(&(size as u32).to_le_bytes());
        e
    }
}

/// Writes a file's `size` bytes at byte `at`; a source file must still have exactly that size.
fn write_file(out: &File, at: u64, source: &FileSource, size: u64) -> Result<(), FatError> {
    match source {
        FileSource::Bytes(b) => out.write_all_at(b, at)?,
        FileSource::Path(p) => {
            let err = |e: std::io::Error| FatError::Source {
                path: p.display().to_string(),
                source: e,
            };
            let mut f = File::open(p).map_err(err)?;
            let mut buf = vec![0u8; 1 << 20];
            let mut done = 0u64;
            loop {
                let n = f.read(&mut buf).map_err(err)?;
                if n == 0 {
                    break;
                }
                if done + n as u64 > size {
                    break;
                }
                out.write_all_at(buf.get(..n).unwrap_or_default(), at + done)?;
                done += n as u64;
            }
            if done != size {
                return Err(err(std::io::Error::other(format!(
                    "changed size while being copied ({size} bytes expected)"
                ))));
            }
        }
    }
    Ok(())
}

impl FatBuilder {
    /// An empty volume with this serial number and label (upper-cased, at most 11 characters; empty gives
    /// `NO NAME`). Timestamps default to `SOURCE_DATE_EPOCH` 0; see [`FatBuilder::epoch`].
    pub fn new(volume_id: u32, label: &str) -> FatBuilder {
        FatBuilder {
            volume_id,
            label: label_bytes(label),
            epoch: 0,
            root: BTreeMap::new(),
        }
    }

    /// Sets the Unix time written into every timestamp.
    pub fn epoch(mut self, epoch: u64) -> FatBuilder {
        self.epoch = epoch;
        self
    }

    /// Adds a file at `path` (`/`-separated, upper-case 8.3 components), creating directories on the way.
    pub fn add_file(&mut self, path: &str, source: FileSource) -> Result<(), FatError> {
        let size = match &source {
            FileSource::Bytes(b) => b.len() as u64,
            FileSource::Path(p) => std::fs::metadata(p)
                .map_err(|e| FatError::Source {
                    path: p.display().to_string(),
                    source: e,
                })?
                .len(),
        };
        if size >= 1 << 32 {
            return Err(FatError::TooLarge(path.to_string()));
        }
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (file, dirs) = parts
            .split_last()
            .ok_or_else(|| FatError::BadName(path.to_string()))?;
        let mut cur = &mut self.root;
        for d in dirs {
            let n = short_name(d).ok_or_else(|| FatError::BadName(d.to_string()))?;
            let node = cur.entry(n).or_insert_with(|| Node::Dir(BTreeMap::new()));
            cur = match node {
                Node::Dir(m) => m,
                Node::File { .. } => return Err(FatError::Duplicate(path.to_string())),
            };
        }
        let n = short_name(file).ok_or_else(|| FatError::BadName(file.to_string()))?;
        if cur.contains_key(&n) {
            return Err(FatError::Duplicate(path.to_string()));
        }
        cur.insert(n, Node::File { source, size });
        Ok(())
    }

    /// Clusters the content needs with `cluster_bytes` clusters.
    fn clusters_needed(&self, cluster_bytes: u64) -> u64 {
        fn walk(m: &BTreeMap<[u8; 11], Node>, cb: u64, extra: u64) -> u64 {
            let mut n = dir_clusters(m.len() as u64 + extra, cb);
            for node in m.values() {
                n += match node {
                    Node::Dir(sub) => walk(sub, cb, 2),
                    Node::File { size, .. } => size.div_ceil(cb),
                };
            }
            n
        }
        walk(&self.root, cluster_bytes, 1)
    }

    /// The smallest volume size (whole MiB) that holds the content.
    pub fn min_size(&self) -> Result<u64, FatError> {
        let mut size = MIN_SIZE;
        loop {
            if let Some(g) = Geometry::for_size(size)
                && self.clusters_needed(g.cluster_bytes()) <= g.clusters
            {
                return Ok(size);
            }
            // Grow by about 1/8 each step, in whole MiB.
            size = (size + size / 8).div_ceil(1 << 20) * (1 << 20);
            if size > u64::from(u32::MAX) * SECTOR {
                return Err(FatError::NoSpace { size, needed: size });
            }
        }
    }

    /// Writes the volume into `out` at byte `offset`, `size` bytes long (a multiple of 512). Only the table
    /// areas, directories and file data are written; free clusters are left as they are (zero in a new file).
    pub fn write(&self, out: &File, offset: u64, size: u64) -> Result<(), FatError> {
        let g = match Geometry::for_size(size) {
            Some(g) if self.clusters_needed(g.cluster_bytes()) <= g.clusters => g,
            _ => {
                return Err(FatError::NoSpace {
                    size,
                    needed: self.min_size()?,
                });
            }
        };
        let mut fat = Allocator::new(g.clusters);
        let files = self.write_dirs(out, offset, &g, &mut fat)?;
        for (source, cluster, size) in files {
            write_file(out, offset + g.cluster_offset(cluster), source, size)?;
        }
        let mut fat_bytes = vec![0u8; (g.fat_sectors * SECTOR) as usize];
        for (slot, v) in fat_bytes.chunks_exact_mut(4).zip(&fat.fat) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
        for i in 0..NUM_FATS {
            out.write_all_at(
                &fat_bytes,
                offset + (RESERVED_SECTORS + i * g.fat_sectors) * SECTOR,
            )?;
        }
        self.write_boot_records(out, offset, &g, &fat)
    }

    /// Allocates and writes the directories breadth-first (a directory, then its children in name order),
    /// allocating the files' clusters on the way; returns the files with their first cluster.
    fn write_dirs<'a>(
        &'a self,
        out: &File,
        offset: u64,
        g: &Geometry,
        fat: &mut Allocator,
    ) -> Result<Vec<(&'a FileSource, u64, u64)>, FatError> {
        struct Pending<'a> {
            map: &'a BTreeMap<[u8; 11], Node>,
            cluster: u64,
            parent: u64,
            is_root: bool,
        }
        let cb = g.cluster_bytes();
        let stamp = Stamp::of(self.epoch);
        let root_clusters = dir_clusters(self.root.len() as u64 + 1, cb);
        let root_cluster = fat.alloc(root_clusters);
        let mut queue = std::collections::VecDeque::new();
        queue.push_back((
            Pending {
                map: &self.root,
                cluster: root_cluster,
                parent: 0,
                is_root: true,
            },
            root_clusters,
        ));
        let mut files: Vec<(&FileSource, u64, u64)> = Vec::new();
        while let Some((dir, nclusters)) = queue.pop_front() {
            let mut bytes = vec![0u8; (nclusters * cb) as usize];
            let mut entries: Vec<[u8; 32]> = Vec::new();
            if dir.is_root {
                if &self.label != b"NO NAME    " {
                    entries.push(stamp.entry(&self.label, ATTR_VOLUME_ID, 0, 0));
                }
            } else {
                entries.push(stamp.entry(b".          ", ATTR_DIRECTORY, dir.cluster, 0));
                // ".." of a directory in the root points at cluster 0 (fatgen103 §6.1).
                entries.push(stamp.entry(b"..         ", ATTR_DIRECTORY, dir.parent, 0));
            }
            for (name, node) in dir.map {
                match node {
                    Node::Dir(sub) => {
                        let n = dir_clusters(sub.len() as u64 + 2, cb);
                        let c = fat.alloc(n);
                        entries.push(stamp.entry(name, ATTR_DIRECTORY, c, 0));
                        queue.push_back((
                            Pending {
                                map: sub,
                                cluster: c,
                                parent: if dir.is_root { 0 } else { dir.cluster },
                                is_root: false,
                            },
                            n,
                        ));
                    }
                    Node::File { source, size } => {
                        let n = size.div_ceil(cb);
                        let c = if n == 0 { 0 } else { fat.alloc(n) };
                        entries.push(stamp.entry(name, ATTR_ARCHIVE, c, *size));
                        if n > 0 {
                            files.push((source, c, *size));
                        }
                    }
                }
            }
            for (slot, e) in bytes.chunks_exact_mut(32).zip(&entries) {
                slot.copy_from_slice(e);
            }
            out.write_all_at(&bytes, offset + g.cluster_offset(dir.cluster))?;
        }
        Ok(files)
    }

    /// The boot sector, FSInfo and signature sector, and their backups at sector 6.
    fn write_boot_records(
        &self,
        out: &File,
        offset: u64,
        g: &Geometry,
        fat: &Allocator,
    ) -> Result<(), FatError> {
        let used = fat.next_free - 2;
        let boot = self.boot_sector(g, offset / SECTOR);
        let fsinfo = fs_info(g.clusters - used, fat.next_free);
        for base in [0u64, 6] {
            out.write_all_at(&boot, offset + base * SECTOR)?;
            out.write_all_at(&fsinfo, offset + (base + 1) * SECTOR)?;
            // The third sector of each boot record carries only the signature (fatgen103 §3.5).
            let mut third = [0u8; 512];
            third[510] = 0x55;
            third[511] = 0xaa;
            out.write_all_at(&third, offset + (base + 2) * SECTOR)?;
        }
        Ok(())
    }

    fn boot_sector(&self, g: &Geometry, hidden_sectors: u64) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..3].copy_from_slice(&[0xeb, 0x58, 0x90]);
        b[3..11].copy_from_slice(b"MSWIN4.1");
        b[11..13].copy_from_slice(&(SECTOR as u16).to_le_bytes());
        b[13] = g.sectors_per_cluster as u8;
        b[14..16].copy_from_slice(&(RESERVED_SECTORS as u16).to_le_bytes());
        b[16] = NUM_FATS as u8;
        b[21] = 0xf8;
        b[24..26].copy_from_slice(&63u16.to_le_bytes());
        b[26..28].copy_from_slice(&255u16.to_le_bytes());
        b[28..32].copy_from_slice(&(hidden_sectors.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        b[32..36].copy_from_slice(&(g.total_sectors as u32).to_le_bytes());
        b[36..40].copy_from_slice(&(g.fat_sectors as u32).to_le_bytes());
        b[44..48].copy_from_slice(&2u32.to_le_bytes());
        b[48..50].copy_from_slice(&1u16.to_le_bytes());
        b[50..52].copy_from_slice(&6u16.to_le_bytes());
        b[64] = 0x80;
        b[66] = 0x29;
        b[67..71].copy_from_slice(&self.volume_id.to_le_bytes());
        b[71..82].copy_from_slice(&self.label);
        b[82..90].copy_from_slice(b"FAT32   ");
        b[510] = 0x55;
        b[511] = 0xaa;
        b
    }
}

fn fs_info(free: u64, next_free: u64) -> [u8; 512] {
    let mut s = [0u8; 512];
    s[0..4].copy_from_slice(&0x4161_5252u32.to_le_bytes());
    s[484..488].copy_from_slice(&0x6141_7272u32.to_le_bytes());
    s[488..492].copy_from_slice(&(free as u32).to_le_bytes());
    s[492..496].copy_from_slice(&(next_free as u32).to_le_bytes());
    s[508..512].copy_from_slice(&0xAA55_0000u32.to_le_bytes());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(&short_name("BOOTX64.EFI").unwrap(), b"BOOTX64 EFI");
        assert_eq!(&short_name("EFI").unwrap(), b"EFI        ");
        for bad in [
            "bootx64.efi",
            "TOOLONGNAME.EFI",
            "A.EFIX",
            ".EFI",
            "A B",
            "A.B.C",
            "",
        ] {
            assert!(short_name(bad).is_none(), "{bad}");
        }
    }

    /// 2000-01-01 00:00:00 UTC is Unix 946684800; FAT date = (20 << 9) | (1 << 5) | 1.
    #[test]
    fn datetime() {
        assert_eq!(fat_datetime(946_684_800), ((20 << 9) | (1 << 5) | 1, 0));
        assert_eq!(fat_datetime(0), ((1 << 5) | 1, 0));
        // 2024-02-29 13:45:58
        assert_eq!(
            fat_datetime(1_709_214_358),
            ((44 << 9) | (2 << 5) | 29, (13 << 11) | (45 << 5) | 29)
        );
    }

    #[test]
    fn geometry_is_fat32() {
        assert!(Geometry::for_size(32 << 20).is_none());
        for size in [MIN_SIZE, 64 << 20, 300 << 20, 1 << 30] {
            let g = Geometry::for_size(size).unwrap();
            assert!(g.clusters >= FAT32_MIN_CLUSTERS, "{size}");
            assert!(g.cluster_offset(g.clusters + 2) <= size, "{size}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut f = FatBuilder::new(1, "x");
        f.add_file("EFI/BOOT/A.EFI", FileSource::Bytes(vec![1]))
            .unwrap();
        assert!(matches!(
            f.add_file("EFI/BOOT/A.EFI", FileSource::Bytes(vec![])),
            Err(FatError::Duplicate(_))
        ));
        assert!(matches!(
            f.add_file("EFI/BOOT/A.EFI/B", FileSource::Bytes(vec![])),
            Err(FatError::Duplicate(_))
        ));
        assert!(matches!(
            f.add_file("efi/x", FileSource::Bytes(vec![])),
            Err(FatError::BadName(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        let out = File::create(dir.path().join("v")).unwrap();
        assert!(matches!(
            f.write(&out, 0, 1 << 20),
            Err(FatError::NoSpace { .. })
        ));
    }
}
