//! Reading partition tables: GPT (UEFI 2.10 §5.3: primary header and entry array checked by their CRC32s,
//! the backup at the end of the disk when the primary is bad) and DOS/MBR (four primary entries).
//!
//! Hand-written and bounded: the writer side ([`crate::gpt`], [`crate::mbr`]) uses `gptman`/`mbrman`, which
//! trust what they read (`gptman` allocates whatever entry count a header claims); here every field from the
//! disk is checked before it is used, the entry array is at most [`MAX_ARRAY`] bytes, and 512-byte logical
//! sectors are assumed (what image files and virtio disks have).

use yardstick_common::bytes;

use crate::guid::Guid;
use crate::guid::types::{self, Discoverable};

use super::{Disk, InspectError};

/// Logical sector size assumed.
pub const SECTOR: u64 = 512;
/// Largest GPT entry array read (the usual one is 16 KiB).
pub const MAX_ARRAY: u64 = 1 << 20;

/// Which table the disk has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// GUID Partition Table.
    Gpt,
    /// DOS partition table.
    Mbr,
}

/// One partition found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundPartition {
    /// 1-based number (`/dev/vdaN`): the GPT entry index + 1, or the MBR slot.
    pub number: u32,
    /// Type: a GUID (GPT) or `0xNN` (MBR).
    pub type_id: String,
    /// The Discoverable Partitions Specification name of the type (`root-x86-64-verity`), if it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<&'static str>,
    /// Partition UUID (GPT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Name (GPT `PARTLABEL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Byte offset on the disk.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// GPT attribute bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<u64>,
    /// MBR boot indicator.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bootable: bool,
    #[serde(skip)]
    pub(crate) dps: Option<&'static Discoverable>,
    #[serde(skip)]
    pub(crate) type_guid: Option<Guid>,
}

impl FoundPartition {
    /// The discoverable type, if any.
    pub fn discoverable_type(&self) -> Option<&'static Discoverable> {
        self.dps
    }
}

/// A partition table read from a disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// GPT or MBR.
    pub kind: Kind,
    /// Disk GUID (GPT) or `0x`-signature (MBR).
    pub disk_id: String,
    /// Partitions in entry order (empty entries left out).
    pub partitions: Vec<FoundPartition>,
    /// Problems that did not stop the reading (a bad primary GPT, a backup that differs, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The little-endian field at `at`, 0 past the end of `b`.
fn u16_at(b: &[u8], at: usize) -> u16 {
    bytes::le16(b, at).unwrap_or(0)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    bytes::le32(b, at).unwrap_or(0)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    bytes::le64(b, at).unwrap_or(0)
}

/// The GUID stored in EFI order at `at`, all zeros past the end of `b`.
fn guid_at(b: &[u8], at: usize) -> Guid {
    Guid::read_efi(b, at).unwrap_or(Guid::from_efi_bytes([0; 16]))
}

/// Reads the partition table of `disk`: a GPT when the protective MBR says so (or a GPT header is there),
/// else an MBR.
pub fn read(disk: &dyn Disk) -> Result<Table, InspectError> {
    let size = disk.size();
    if size < SECTOR * 2 {
        return Err(InspectError::Table(format!(
            "{size} bytes: too small for a partition table"
        )));
    }
    let mut mbr = [0u8; SECTOR as usize];
    disk.read_at(&mut mbr, 0)?;
    let has_sig = mbr.get(510..512) == Some(&[0x55, 0xaa][..]);
    let protective = has_sig && (0..4).any(|i| mbr.get(446 + i * 16 + 4).copied() == Some(0xee));
    let mut lba1 = [0u8; SECTOR as usize];
    disk.read_at(&mut lba1, SECTOR)?;
    if protective || lba1.starts_with(b"EFI PART") {
        return read_gpt(disk, has_sig && protective);
    }
    if !has_sig {
        return Err(InspectError::Table(
            "no partition table: neither a GPT nor an MBR boot signature 55 aa at byte 510".into(),
        ));
    }
    read_mbr(&mbr)
}

fn read_mbr(mbr: &[u8]) -> Result<Table, InspectError> {
    let mut partitions = Vec::new();
    let mut notes = Vec::new();
    for slot in 0..4u32 {
        let e = mbr
            .get(446 + slot as usize * 16..446 + (slot as usize + 1) * 16)
            .unwrap_or(&[0; 16]);
        let boot = e.first().copied().unwrap_or(0);
        let ty = e.get(4).copied().unwrap_or(0);
        let first = u64::from(u32_at(e, 8));
        let sectors = u64::from(u32_at(e, 12));
        if ty == 0 || sectors == 0 {
            continue;
        }
        if boot != 0 && boot != 0x80 {
            return Err(InspectError::Table(format!(
                "MBR partition {}: boot indicator {boot:#04x} is neither 0x00 nor 0x80 (not an MBR?)",
                slot + 1
            )));
        }
        if first == 0 {
            return Err(InspectError::Table(format!(
                "MBR partition {}: starts in sector 0",
                slot + 1
            )));
        }
        if matches!(ty, 0x05 | 0x0f | 0x85) {
            notes.push(format!(
                "MBR partition {}: extended partition (type {ty:#04x}); logical partitions are not read",
                slot + 1
            ));
        }
        // 0xef is the EFI System Partition on an MBR disk (UEFI 2.10 §5.2.2).
        let dps = (ty == 0xef).then(|| types::lookup(types::ESP)).flatten();
        partitions.push(FoundPartition {
            number: slot + 1,
            type_id: format!("{ty:#04x}"),
            discoverable: dps.map(|d| d.name),
            uuid: None,
            label: None,
            offset: first * SECTOR,
            size: sectors * SECTOR,
            attributes: None,
            bootable: boot == 0x80,
            dps,
            type_guid: None,
        });
    }
    Ok(Table {
        kind: Kind::Mbr,
        disk_id: format!("{:#010x}", u32_at(mbr, 440)),
        partitions,
        notes,
    })
}

/// A GPT header that passed its checks.
struct Header {
    my_lba: u64,
    alternate_lba: u64,
    first_usable: u64,
    last_usable: u64,
    disk_guid: Guid,
    entries_lba: u64,
    entries: u32,
    entry_size: u32,
    entries_crc: u32,
}

/// Checks the header sector at `lba`; the reason when it is not a valid GPT header.
fn header_at(disk: &dyn Disk, lba: u64) -> Result<Header, String> {
    let mut b = [0u8; SECTOR as usize];
    disk.read_at(&mut b, lba * SECTOR)
        .map_err(|e| format!("cannot read LBA {lba}: {e}"))?;
    if !b.starts_with(b"EFI PART") {
        return Err(format!("no \"EFI PART\" signature at LBA {lba}"));
    }
    let header_size = u32_at(&b, 12) as usize;
    if !(92..=SECTOR as usize).contains(&header_size) {
        return Err(format!("header size {header_size} at LBA {lba}"));
    }
    let stored = u32_at(&b, 16);
    let mut h = b.get(..header_size).unwrap_or(&[]).to_vec();
    if let Some(c) = h.get_mut(16..20) {
        c.fill(0);
    }
    let crc = crc32fast::hash(&h);
    if crc != stored {
        return Err(format!(
            "header CRC32 at LBA {lba} is {stored:08x}, the header's bytes give {crc:08x}"
        ));
    }
    let hd = Header {
        my_lba: u64_at(&b, 24),
        alternate_lba: u64_at(&b, 32),
        first_usable: u64_at(&b, 40),
        last_usable: u64_at(&b, 48),
        disk_guid: guid_at(&b, 56),
        entries_lba: u64_at(&b, 72),
        entries: u32_at(&b, 80),
        entry_size: u32_at(&b, 84),
        entries_crc: u32_at(&b, 88),
    };
    let sectors = disk.size() / SECTOR;
    if hd.my_lba != lba {
        return Err(format!(
            "header at LBA {lba} says it is at LBA {}",
            hd.my_lba
        ));
    }
    if hd.entry_size < 128 || !hd.entry_size.is_power_of_two() {
        return Err(format!("entry size {} at LBA {lba}", hd.entry_size));
    }
    let array = u64::from(hd.entries) * u64::from(hd.entry_size);
    if array > MAX_ARRAY {
        return Err(format!(
            "entry array of {} × {} bytes at LBA {lba}: more than {MAX_ARRAY} bytes",
            hd.entries, hd.entry_size
        ));
    }
    let array_end = hd
        .entries_lba
        .checked_mul(SECTOR)
        .and_then(|o| o.checked_add(array));
    if hd.entries_lba < 2 || array_end.is_none_or(|e| e > disk.size()) {
        return Err(format!(
            "entry array at LBA {} is outside the disk ({sectors} sectors)",
            hd.entries_lba
        ));
    }
    if hd.first_usable > hd.last_usable || hd.last_usable >= sectors {
        return Err(format!(
            "usable LBAs {}..={} do not fit the disk ({sectors} sectors)",
            hd.first_usable, hd.last_usable
        ));
    }
    Ok(hd)
}

fn entries_of(disk: &dyn Disk, h: &Header) -> Result<Vec<u8>, String> {
    let len = u64::from(h.entries) * u64::from(h.entry_size);
    let mut a = vec![0u8; usize::try_from(len).map_err(|_| "entry array too large".to_string())?];
    disk.read_at(&mut a, h.entries_lba * SECTOR)
        .map_err(|e| format!("cannot read the entry array: {e}"))?;
    let crc = crc32fast::hash(&a);
    if crc != h.entries_crc {
        return Err(format!(
            "entry array CRC32 at LBA {} is {:08x}, the entries give {crc:08x}",
            h.entries_lba, h.entries_crc
        ));
    }
    Ok(a)
}

fn read_gpt(disk: &dyn Disk, protective: bool) -> Result<Table, InspectError> {
    let mut notes = Vec::new();
    if !protective {
        notes.push("no protective MBR (type 0xee) in sector 0".into());
    }
    let last = disk.size() / SECTOR - 1;
    let primary = header_at(disk, 1).and_then(|h| entries_of(disk, &h).map(|a| (h, a)));
    let (h, array) = match primary {
        Ok(p) => {
            // The backup is checked too: a mismatch is worth saying, not fatal.
            match header_at(disk, p.0.alternate_lba.min(last)) {
                Ok(b) if b.entries_crc != p.0.entries_crc => notes.push(format!(
                    "the backup GPT at LBA {} lists other partitions than the primary",
                    b.my_lba
                )),
                Ok(_) => {}
                Err(e) => notes.push(format!("backup GPT: {e}")),
            }
            p
        }
        Err(why) => {
            let backup = header_at(disk, last).and_then(|h| entries_of(disk, &h).map(|a| (h, a)));
            match backup {
                Ok(b) => {
                    notes.push(format!(
                        "primary GPT is bad ({why}); read the backup GPT at LBA {last}"
                    ));
                    b
                }
                Err(bwhy) => {
                    return Err(InspectError::Table(format!(
                        "GPT: primary: {why}; backup: {bwhy}"
                    )));
                }
            }
        }
    };
    let mut partitions = Vec::new();
    let es = h.entry_size as usize;
    for (i, e) in array.chunks_exact(es).enumerate() {
        let ty = guid_at(e, 0);
        if ty == Guid::NIL {
            continue;
        }
        let n = i + 1;
        let first = u64_at(e, 32);
        let end = u64_at(e, 40);
        if first > end || first < h.first_usable || end > h.last_usable {
            return Err(InspectError::Table(format!(
                "GPT partition {n}: LBAs {first}..={end} are outside the usable LBAs {}..={}",
                h.first_usable, h.last_usable
            )));
        }
        let units: Vec<u16> = (0..36)
            .map(|k| u16_at(e, 56 + 2 * k))
            .take_while(|&u| u != 0)
            .collect();
        let dps = types::lookup(ty);
        partitions.push(FoundPartition {
            number: u32::try_from(n).unwrap_or(u32::MAX),
            type_id: ty.to_string(),
            discoverable: dps.map(|d| d.name),
            uuid: Some(guid_at(e, 16).to_string()),
            label: Some(String::from_utf16_lossy(&units)),
            offset: first * SECTOR,
            size: (end - first + 1) * SECTOR,
            attributes: Some(u64_at(e, 48)),
            bootable: false,
            dps,
            type_guid: Some(ty),
        });
    }
    for (i, p) in partitions.iter().enumerate() {
        for q in partitions.iter().skip(i + 1) {
            if p.offset < q.offset + q.size && q.offset < p.offset + p.size {
                return Err(InspectError::Table(format!(
                    "GPT partitions {} and {} overlap",
                    p.number, q.number
                )));
            }
        }
    }
    Ok(Table {
        kind: Kind::Gpt,
        disk_id: h.disk_guid.to_string(),
        partitions,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpt::{Gpt, GptPartition};
    use crate::mbr::{Mbr, MbrPartition};

    fn gpt_disk() -> Vec<u8> {
        let f = tempfile::tempfile().unwrap();
        let size = 4 << 20;
        f.set_len(size).unwrap();
        let mut g = Gpt::new(crate::guid::derive(b"t", "disk"));
        g.partitions.push(GptPartition {
            type_guid: types::ESP,
            uuid: crate::guid::derive(b"t", "esp"),
            name: "esp".into(),
            first_lba: 2048,
            last_lba: 4095,
            attributes: 0,
        });
        g.partitions.push(GptPartition {
            type_guid: types::ROOT_VERITY_ARM64,
            uuid: crate::guid::derive(b"t", "v"),
            name: "root-arm64-verity".into(),
            first_lba: 4096,
            last_lba: 6000,
            attributes: 1 << 60,
        });
        g.write(&f, size).unwrap();
        let mut v = vec![0u8; size as usize];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut v, 0).unwrap();
        v
    }

    #[test]
    fn reads_what_the_writer_wrote() {
        let d = gpt_disk();
        let t = read(&d.as_slice()).unwrap();
        assert_eq!(t.kind, Kind::Gpt);
        assert!(t.notes.is_empty(), "{:?}", t.notes);
        assert_eq!(t.disk_id, crate::guid::derive(b"t", "disk").to_string());
        assert_eq!(t.partitions.len(), 2);
        let v = &t.partitions[1];
        assert_eq!(v.number, 2);
        assert_eq!(v.discoverable, Some("root-arm64-verity"));
        assert_eq!(v.label.as_deref(), Some("root-arm64-verity"));
        assert_eq!((v.offset, v.size), (4096 * 512, (6001 - 4096) * 512));
        assert_eq!(v.attributes, Some(1 << 60));
    }

    #[test]
    fn falls_back_to_the_backup() {
        let mut d = gpt_disk();
        // A flipped byte in the primary header: its CRC fails, the backup is read and the note says so.
        d[512 + 60] ^= 1;
        let t = read(&d.as_slice()).unwrap();
        assert_eq!(t.partitions.len(), 2);
        assert!(
            t.notes[0].contains("primary GPT is bad (header CRC32"),
            "{:?}",
            t.notes
        );
        // A flipped byte in the primary entry array: the same.
        let mut d = gpt_disk();
        d[1024 + 130] ^= 1;
        let t = read(&d.as_slice()).unwrap();
        assert!(t.notes[0].contains("entry array CRC32"), "{:?}", t.notes);
        // Both bad: one error naming both.
        let n = d.len();
        d[n - 512 + 60] ^= 1;
        let e = read(&d.as_slice()).unwrap_err().to_string();
        assert!(e.contains("primary:") && e.contains("backup:"), "{e}");
    }

    #[test]
    fn hostile_headers() {
        // A header claiming a huge entry array, with a correct CRC: refused, nothing allocated.
        let mut d = gpt_disk();
        d[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut h = d[512..512 + 92].to_vec();
        h[16..20].fill(0);
        let crc = crc32fast::hash(&h);
        d[512 + 16..512 + 20].copy_from_slice(&crc.to_le_bytes());
        let t = read(&d.as_slice()).unwrap();
        assert!(t.notes[0].contains("more than"), "{:?}", t.notes);
        // Truncated disk: the backup is gone too.
        let e = read(&d[..8192].as_ref()).unwrap_err().to_string();
        assert!(e.contains("GPT"), "{e}");
        assert!(read(&[0u8; 100].as_ref()).is_err());
        assert!(read(&vec![0u8; 4096].as_slice()).is_err());
    }

    #[test]
    fn mbr() {
        let m = Mbr {
            disk_signature: 0x1234_5678,
            partitions: vec![
                MbrPartition {
                    bootable: true,
                    type_id: 0x83,
                    first_lba: 2048,
                    sectors: 100,
                },
                MbrPartition {
                    bootable: false,
                    type_id: 0x83,
                    first_lba: 4096,
                    sectors: 10,
                },
            ],
        };
        let mut d = m.to_sector().unwrap().to_vec();
        d.resize(1 << 20, 0);
        let t = read(&d.as_slice()).unwrap();
        assert_eq!(t.kind, Kind::Mbr);
        assert_eq!(t.disk_id, "0x12345678");
        assert_eq!(t.partitions.len(), 2);
        assert!(t.partitions[0].bootable);
        assert_eq!(t.partitions[1].offset, 4096 * 512);
        assert_eq!(t.partitions[1].size, 10 * 512);
        d[446 + 16 + 4] = 0xef;
        let t = read(&d.as_slice()).unwrap();
        assert_eq!(t.partitions[1].discoverable, Some("esp"));
        d[446] = 0x12;
        assert!(read(&d.as_slice()).is_err());
    }
}
