//! A read-only FAT12/16/32 reader with long file names (Microsoft's FAT specification, fatgen103), for the
//! files on an ESP or XBOOTLDR partition.
//!
//! Hand-written and bounded for hostile input: the boot sector's geometry is checked against the partition
//! before anything else is read; the FAT type follows from the cluster count alone (as the specification and
//! EDK2's driver decide it); the first FAT is read once (at most [`MAX_FAT`] bytes); every cluster chain is
//! followed at most as many steps as the volume has clusters (a loop is an error, not a hang); a directory
//! holds at most [`MAX_DIR_ENTRIES`] entries and a file read is capped by the caller's limit. Long names
//! are used only when their checksum matches the short entry that follows (else the 8.3 name counts, as
//! the specification says). Lookups are case-insensitive, as UEFI's are.

use yardstick_common::bytes;

use super::{Disk, InspectError};

/// Largest FAT read (a 4 GiB FAT32 ESP with 4 KiB clusters has a 4 MiB FAT).
pub const MAX_FAT: u64 = 64 << 20;
/// Most entries read from one directory (the specification's limit: 65536 32-byte entries).
pub const MAX_DIR_ENTRIES: usize = 65536;

const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_LONG_NAME: u8 = 0x0f;

/// The FAT variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FatType {
    /// 12-bit FAT entries.
    Fat12,
    /// 16-bit.
    Fat16,
    /// 32-bit (28 used).
    Fat32,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The long name if there is a valid one, else the 8.3 name (lower-cased where its case bits say so).
    pub name: String,
    /// A directory.
    pub dir: bool,
    /// Size in bytes (0 for directories).
    pub size: u32,
    first_cluster: u32,
}

/// An open FAT volume on part of a disk.
pub struct Volume<'a> {
    disk: &'a dyn Disk,
    /// Byte offset of the volume on the disk.
    base: u64,
    /// FAT variant.
    pub fat_type: FatType,
    cluster_size: u64,
    /// Byte offset (in the volume) of cluster 2.
    data_start: u64,
    /// Clusters in the data area.
    clusters: u32,
    /// FAT12/16 fixed root directory: byte offset and entry count; FAT32: root cluster.
    root: Root,
    fat: Vec<u8>,
}

enum Root {
    Fixed { offset: u64, entries: u32 },
    Cluster(u32),
}

impl std::fmt::Display for FatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FatType::Fat12 => "FAT12",
            FatType::Fat16 => "FAT16",
            FatType::Fat32 => "FAT32",
        })
    }
}

fn bad(what: impl std::fmt::Display) -> InspectError {
    InspectError::Fat(what.to_string())
}

/// The little-endian field at `at`, 0 past the end of `b`.
fn le16(b: &[u8], at: usize) -> u16 {
    bytes::le16(b, at).unwrap_or(0)
}

fn le32(b: &[u8], at: usize) -> u32 {
    bytes::le32(b, at).unwrap_or(0)
}

impl<'a> Volume<'a> {
    /// Opens the FAT volume at `offset` (`size` bytes) of `disk`.
    pub fn open(disk: &'a dyn Disk, offset: u64, size: u64) -> Result<Volume<'a>, InspectError> {
        let mut bs = [0u8; 512];
        if size < 512 {
            return Err(bad("partition smaller than a boot sector"));
        }
        disk.read_at(&mut bs, offset)?;
        if bs.get(510..512) != Some(&[0x55, 0xaa][..]) {
            return Err(bad(
                "no boot sector signature 55 aa (not a FAT file system)",
            ));
        }
        let bps = u64::from(le16(&bs, 11));
        let spc = u64::from(bs.get(13).copied().unwrap_or(0));
        let reserved = u64::from(le16(&bs, 14));
        let nfats = u64::from(bs.get(16).copied().unwrap_or(0));
        let root_entries = u64::from(le16(&bs, 17));
        let total16 = u64::from(le16(&bs, 19));
        let fatsz16 = u64::from(le16(&bs, 22));
        let total32 = u64::from(le32(&bs, 32));
        let fatsz32 = u64::from(le32(&bs, 36));
        if !matches!(bps, 512 | 1024 | 2048 | 4096) {
            return Err(bad(format!("{bps} bytes per sector")));
        }
        if spc == 0 || !spc.is_power_of_two() || spc * bps > 1 << 21 {
            return Err(bad(format!("{spc} sectors per cluster")));
        }
        if reserved == 0 || nfats == 0 {
            return Err(bad("no reserved sectors or no FAT"));
        }
        let fat_sectors = if fatsz16 != 0 { fatsz16 } else { fatsz32 };
        let total = if total16 != 0 { total16 } else { total32 };
        let root_sectors = (root_entries * 32).div_ceil(bps);
        let meta = reserved + nfats * fat_sectors + root_sectors;
        if fat_sectors == 0 || total <= meta {
            return Err(bad(format!(
                "{total} sectors, {meta} of them reserved, FATs and root directory"
            )));
        }
        if total * bps > size {
            return Err(bad(format!(
                "the file system's {} bytes do not fit its {size}-byte partition",
                total * bps
            )));
        }
        let clusters64 = (total - meta) / spc;
        let fat_type = if clusters64 < 4085 {
            FatType::Fat12
        } else if clusters64 < 65525 {
            FatType::Fat16
        } else {
            FatType::Fat32
        };
        let clusters = u32::try_from(clusters64)
            .ok()
            .filter(|&c| c < 0x0fff_fff5)
            .ok_or_else(|| bad(format!("{clusters64} clusters")))?;
        // Bytes of FAT that cover every cluster (entries 0..clusters + 2).
        let needed = match fat_type {
            FatType::Fat12 => (u64::from(clusters) + 2) * 3 / 2 + 1,
            FatType::Fat16 => (u64::from(clusters) + 2) * 2,
            FatType::Fat32 => (u64::from(clusters) + 2) * 4,
        };
        let fat_bytes = fat_sectors * bps;
        if needed > fat_bytes {
            return Err(bad(format!(
                "a {fat_bytes}-byte FAT cannot map {clusters} clusters"
            )));
        }
        if needed > MAX_FAT {
            return Err(bad(format!("FAT of {needed} bytes: more than {MAX_FAT}")));
        }
        let mut fat = vec![0u8; needed as usize];
        disk.read_at(&mut fat, offset + reserved * bps)?;
        let root = match fat_type {
            FatType::Fat32 => {
                if root_entries != 0 {
                    return Err(bad("FAT32 with a fixed root directory"));
                }
                Root::Cluster(le32(&bs, 44))
            }
            _ => Root::Fixed {
                offset: (reserved + nfats * fat_sectors) * bps,
                entries: root_entries as u32,
            },
        };
        Ok(Volume {
            disk,
            base: offset,
            fat_type,
            cluster_size: spc * bps,
            data_start: meta * bps,
            clusters,
            root,
            fat,
        })
    }

    /// The FAT entry of `cluster`.
    fn next(&self, cluster: u32) -> u32 {
        let c = cluster as usize;
        match self.fat_type {
            FatType::Fat12 => {
                let v = le16(&self.fat, c + c / 2) as u32;
                if c % 2 == 1 { v >> 4 } else { v & 0xfff }
            }
            FatType::Fat16 => le16(&self.fat, c * 2) as u32,
            FatType::Fat32 => le32(&self.fat, c * 4) & 0x0fff_ffff,
        }
    }

    fn is_end(&self, v: u32) -> bool {
        match self.fat_type {
            FatType::Fat12 => v >= 0xff8,
            FatType::Fat16 => v >= 0xfff8,
            FatType::Fat32 => v >= 0x0fff_fff8,
        }
    }

    /// The clusters of the chain starting at `first`, at most `max` of them (`None`: the whole chain).
    fn chain(&self, first: u32, max: Option<u64>) -> Result<Vec<u32>, InspectError> {
        let mut out = Vec::new();
        let mut c = first;
        loop {
            if c < 2 || c >= self.clusters + 2 {
                return Err(bad(format!(
                    "cluster chain points to cluster {c}, outside the volume"
                )));
            }
            out.push(c);
            if out.len() as u64 > u64::from(self.clusters) {
                return Err(bad(format!("the cluster chain from {first} loops")));
            }
            if max.is_some_and(|m| out.len() as u64 >= m) {
                return Ok(out);
            }
            let n = self.next(c);
            if self.is_end(n) {
                return Ok(out);
            }
            c = n;
        }
    }

    fn read_cluster(&self, c: u32, buf: &mut [u8]) -> Result<(), InspectError> {
        let off = self.data_start + u64::from(c - 2) * self.cluster_size;
        self.disk.read_at(buf, self.base + off)?;
        Ok(())
    }

    /// The entries of the root directory.
    pub fn root(&self) -> Result<Vec<Entry>, InspectError> {
        match self.root {
            Root::Fixed { offset, entries } => {
                let mut raw = vec![0u8; entries as usize * 32];
                self.disk.read_at(&mut raw, self.base + offset)?;
                parse_dir(&raw)
            }
            Root::Cluster(c) => self.dir_at(c),
        }
    }

    fn dir_at(&self, first: u32) -> Result<Vec<Entry>, InspectError> {
        let max = (MAX_DIR_ENTRIES as u64 * 32).div_ceil(self.cluster_size);
        let chain = self.chain(first, Some(max))?;
        let mut raw = vec![0u8; chain.len() * self.cluster_size as usize];
        for (c, buf) in chain.iter().zip(raw.chunks_mut(self.cluster_size as usize)) {
            self.read_cluster(*c, buf)?;
        }
        parse_dir(&raw)
    }

    /// The entries of directory `e`.
    pub fn list(&self, e: &Entry) -> Result<Vec<Entry>, InspectError> {
        if !e.dir {
            return Err(bad(format!("{} is not a directory", e.name)));
        }
        if e.first_cluster == 0 {
            return self.root();
        }
        self.dir_at(e.first_cluster)
    }

    /// The entry at `path` (`/`-separated, case-insensitive), if any.
    pub fn lookup(&self, path: &str) -> Result<Option<Entry>, InspectError> {
        let mut dir = self.root()?;
        let mut found = None;
        for (i, part) in path.split('/').filter(|p| !p.is_empty()).enumerate() {
            if i > 0 {
                match &found {
                    Some(e @ Entry { dir: true, .. }) => dir = self.list(e)?,
                    _ => return Ok(None),
                }
            }
            found = dir.iter().find(|e| same_name(&e.name, part)).cloned();
            if found.is_none() {
                return Ok(None);
            }
        }
        Ok(found)
    }

    /// The entries of the directory at `path`, or `None` when there is no such directory.
    pub fn list_path(&self, path: &str) -> Result<Option<Vec<Entry>>, InspectError> {
        match self.lookup(path)? {
            Some(e) if e.dir => self.list(&e).map(Some),
            _ => Ok(None),
        }
    }

    /// The bytes of the data area: no set of distinct files holds more.
    pub fn data_bytes(&self) -> u64 {
        u64::from(self.clusters) * self.cluster_size
    }

    /// The bytes of file `e`, refused when it is larger than `limit`.
    pub fn read(&self, e: &Entry, limit: u64) -> Result<Vec<u8>, InspectError> {
        if e.dir {
            return Err(bad(format!("{} is a directory", e.name)));
        }
        let size = u64::from(e.size);
        if size > limit {
            return Err(bad(format!("{}: {size} bytes, more than {limit}", e.name)));
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        let n = size.div_ceil(self.cluster_size);
        let chain = self.chain(e.first_cluster, Some(n))?;
        if (chain.len() as u64) < n {
            return Err(bad(format!(
                "{}: {size} bytes, but its cluster chain ends after {} clusters",
                e.name,
                chain.len()
            )));
        }
        let mut out = vec![0u8; chain.len() * self.cluster_size as usize];
        for (c, buf) in chain.iter().zip(out.chunks_mut(self.cluster_size as usize)) {
            self.read_cluster(*c, buf)?;
        }
        out.truncate(size as usize);
        Ok(out)
    }
}

/// Case-insensitive name comparison (ASCII and simple Unicode lower case).
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// The checksum of an 8.3 name that long-name entries carry.
fn short_checksum(name: &[u8]) -> u8 {
    name.iter().fold(0u8, |s, &c| {
        ((s & 1) << 7).wrapping_add(s >> 1).wrapping_add(c)
    })
}

fn short_name(e: &[u8]) -> String {
    let base = e.get(..8).unwrap_or(&[]);
    let ext = e.get(8..11).unwrap_or(&[]);
    let trim = |b: &[u8]| {
        let s: String = b.iter().map(|&c| char::from(c)).collect();
        s.trim_end_matches(' ').to_string()
    };
    let mut b = trim(base);
    if b.starts_with('\u{5}') {
        b.replace_range(..1, "\u{e5}");
    }
    let mut x = trim(ext);
    // DIR_NTRes case bits (Windows NT, mtools, Linux vfat and EDK2's FAT driver honour them): a name that fits
    // 8.3 in lower case is stored upper case with these bits set and no long name.
    let nt = e.get(12).copied().unwrap_or(0);
    if nt & 0x08 != 0 {
        b = b.to_ascii_lowercase();
    }
    if nt & 0x10 != 0 {
        x = x.to_ascii_lowercase();
    }
    if x.is_empty() { b } else { format!("{b}.{x}") }
}

/// Parses raw directory entries (32 bytes each) up to the end marker.
fn parse_dir(raw: &[u8]) -> Result<Vec<Entry>, InspectError> {
    let mut out = Vec::new();
    // Pending long name: (checksum, expected next sequence number, UTF-16 units by slot).
    let mut lfn: Option<(u8, u8, Vec<[u16; 13]>)> = None;
    for e in raw.chunks_exact(32).take(MAX_DIR_ENTRIES) {
        let first = e.first().copied().unwrap_or(0);
        if first == 0 {
            break;
        }
        if first == 0xe5 {
            lfn = None;
            continue;
        }
        let attr = e.get(11).copied().unwrap_or(0);
        if attr & 0x3f == ATTR_LONG_NAME {
            let seq = first & 0x1f;
            let sum = e.get(13).copied().unwrap_or(0);
            let mut units = [0u16; 13];
            for (k, at) in [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30]
                .iter()
                .enumerate()
            {
                if let Some(u) = units.get_mut(k) {
                    *u = le16(e, *at);
                }
            }
            lfn = if first & 0x40 != 0 && seq >= 1 {
                Some((sum, seq - 1, vec![units]))
            } else {
                match lfn.take() {
                    Some((s, next, mut parts)) if s == sum && seq == next && seq >= 1 => {
                        parts.push(units);
                        Some((s, seq - 1, parts))
                    }
                    _ => None,
                }
            };
            continue;
        }
        let name11 = e.get(..11).unwrap_or(&[]);
        let long = lfn.take().and_then(|(sum, next, parts)| {
            (next == 0 && sum == short_checksum(name11)).then(|| {
                let units: Vec<u16> = parts
                    .iter()
                    .rev()
                    .flat_map(|p| p.iter().copied())
                    .take_while(|&u| u != 0 && u != 0xffff)
                    .collect();
                String::from_utf16_lossy(&units)
            })
        });
        if attr & ATTR_VOLUME_ID != 0 {
            continue;
        }
        let name = long.unwrap_or_else(|| short_name(e));
        if name == "." || name == ".." {
            continue;
        }
        let hi = u32::from(le16(e, 20));
        let lo = u32::from(le16(e, 26));
        let dir = attr & ATTR_DIRECTORY != 0;
        out.push(Entry {
            name,
            dir,
            size: if dir { 0 } else { le32(e, 28) },
            first_cluster: (hi << 16) | lo,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fat::{FatBuilder, FileSource};

    fn volume(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut fat = FatBuilder::new(0x1234_5678, "ESP");
        for (p, b) in files {
            fat.add_file(p, FileSource::Bytes(b.clone())).unwrap();
        }
        let size = fat.min_size().unwrap();
        let f = tempfile::tempfile().unwrap();
        f.set_len(size).unwrap();
        fat.write(&f, 0, size).unwrap();
        let mut v = vec![0u8; size as usize];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut v, 0).unwrap();
        v
    }

    #[test]
    fn reads_the_writers_fat32() {
        let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let d = volume(&[
            ("EFI/BOOT/BOOTX64.EFI", big.clone()),
            ("EFI/LINUX/A.EFI", b"a".to_vec()),
            ("LOADER/LOADER.CON", vec![]),
        ]);
        let disk: &[u8] = &d;
        let v = Volume::open(&disk, 0, d.len() as u64).unwrap();
        assert_eq!(v.fat_type, FatType::Fat32);
        let e = v.lookup("/efi/boot/bootx64.efi").unwrap().unwrap();
        assert_eq!(v.read(&e, 1 << 20).unwrap(), big);
        assert!(
            v.read(&e, 10)
                .unwrap_err()
                .to_string()
                .contains("more than 10")
        );
        let linux = v.list_path("EFI/Linux").unwrap().unwrap();
        assert_eq!(linux.len(), 1);
        assert_eq!(linux[0].name, "A.EFI");
        assert!(v.lookup("EFI/nope").unwrap().is_none());
        assert!(v.lookup("EFI/BOOT/BOOTX64.EFI/x").unwrap().is_none());
        assert_eq!(
            v.read(&v.lookup("LOADER/LOADER.CON").unwrap().unwrap(), 9)
                .unwrap(),
            b""
        );
    }

    /// mkfs.fat (dosfstools) and mtools as the oracle for FAT12, FAT16 and long names (what other tools
    /// write); a missing tool fails the test.
    #[test]
    fn reads_mkfs_fat_with_long_names() {
        let dir = tempfile::tempdir().unwrap();
        for (bits, kib) in [(12, 2048), (16, 32768), (32, 40960)] {
            let img = dir.path().join(format!("fat{bits}.img"));
            let status = std::process::Command::new("mkfs.fat")
                .args(["-C", "-F", &bits.to_string()])
                .arg(&img)
                .arg(kib.to_string())
                .stdout(std::process::Stdio::null())
                .status()
                .expect("mkfs.fat (dosfstools) runs");
            assert!(status.success());
            let src = dir.path().join("Long File Name.addon.efi");
            let content: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
            std::fs::write(&src, &content).unwrap();
            let mt = |args: &[&str]| {
                let s = std::process::Command::new(args[0])
                    .args(&args[1..])
                    .env("MTOOLS_SKIP_CHECK", "1")
                    .status()
                    .expect("mtools runs");
                assert!(s.success(), "{args:?}");
            };
            let i = img.to_str().unwrap();
            mt(&[
                "mmd",
                "-i",
                i,
                "::EFI",
                "::EFI/Linux",
                "::EFI/Linux/my uki.efi.extra.d",
            ]);
            mt(&[
                "mcopy",
                "-i",
                i,
                src.to_str().unwrap(),
                "::EFI/Linux/my uki.efi.extra.d/",
            ]);
            let d = std::fs::read(&img).unwrap();
            let disk: &[u8] = &d;
            let v = Volume::open(&disk, 0, d.len() as u64).unwrap();
            let want = match bits {
                12 => FatType::Fat12,
                16 => FatType::Fat16,
                _ => FatType::Fat32,
            };
            assert_eq!(v.fat_type, want);
            let l = v
                .list_path("efi/linux/MY UKI.EFI.EXTRA.D")
                .unwrap()
                .unwrap();
            assert_eq!(l.len(), 1);
            assert_eq!(l[0].name, "Long File Name.addon.efi");
            assert_eq!(v.read(&l[0], 1 << 20).unwrap(), content);
            // Names that fit 8.3: mtools stores "tools.raw" as TOOLS.RAW with the NT lower-case bits and no long
            // name (EDK2's FAT driver, which systemd-stub reads through, gives "tools.raw" back), "UP.RAW" as is.
            for name in ["tools.raw", "UP.RAW", "base.TXT"] {
                mt(&[
                    "mcopy",
                    "-i",
                    i,
                    src.to_str().unwrap(),
                    &format!("::{name}"),
                ]);
            }
            let root: Vec<String> = v_names(&std::fs::read(&img).unwrap());
            for name in ["tools.raw", "UP.RAW", "base.TXT"] {
                assert!(root.iter().any(|n| n == name), "{name} not in {root:?}");
            }
        }
    }

    fn v_names(d: &[u8]) -> Vec<String> {
        let disk: &[u8] = d;
        let v = Volume::open(&disk, 0, d.len() as u64).unwrap();
        v.root().unwrap().into_iter().map(|e| e.name).collect()
    }

    #[test]
    fn hostile_volumes() {
        let d = volume(&[("A/B.EFI", vec![1; 5000])]);
        let disk: &[u8] = &d;
        let n = d.len() as u64;
        // Not FAT.
        assert!(Volume::open(&&[0u8; 1024][..], 0, 1024).is_err());
        // A volume larger than its partition.
        let e = Volume::open(&disk, 0, n / 2).err().unwrap().to_string();
        assert!(e.contains("do not fit"), "{e}");
        // Bad geometry fields.
        for (at, val) in [(11usize, 0x33u8), (13, 3), (13, 0), (16, 0)] {
            let mut b = d.clone();
            b[at] = val;
            let bb: &[u8] = &b;
            assert!(Volume::open(&bb, 0, n).is_err(), "byte {at} = {val}");
        }
        // A cluster chain that loops onto itself: found, not followed forever.
        let v = Volume::open(&disk, 0, n).unwrap();
        let e = v.lookup("A/B.EFI").unwrap().unwrap();
        let fat_off = 32 * 512 + e.first_cluster as usize * 4;
        let mut b = d.clone();
        b[fat_off..fat_off + 4].copy_from_slice(&e.first_cluster.to_le_bytes());
        let bb: &[u8] = &b;
        let v = Volume::open(&bb, 0, n).unwrap();
        assert!(v.read(&e, 1 << 20).is_ok(), "5000 bytes fit in one cluster");
        let root = v.root().unwrap();
        let a = root.iter().find(|e| e.name == "A").unwrap().clone();
        let a_off = 32 * 512 + a.first_cluster as usize * 4;
        b[a_off..a_off + 4].copy_from_slice(&a.first_cluster.to_le_bytes());
        let bb: &[u8] = &b;
        let v = Volume::open(&bb, 0, n).unwrap();
        // The directory chain loops: capped (at the directory limit) or an error, never a hang.
        let _ = v.list(&a);
        // A file claiming more bytes than its chain holds.
        let mut big = e.clone();
        big.size = 1 << 30;
        let bb: &[u8] = &d;
        let v = Volume::open(&bb, 0, n).unwrap();
        assert!(
            v.read(&big, u64::MAX)
                .unwrap_err()
                .to_string()
                .contains("chain")
        );
    }
}
