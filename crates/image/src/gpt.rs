//! GUID Partition Tables (UEFI 2.10 chapter 5.3): protective MBR, primary header and entry array at LBA 1,
//! backup entry array and header at the end of the disk.
//!
//! Defaults follow libfdisk (sfdisk, systemd-repart), so that a table built here is byte-identical to one
//! `sfdisk` writes for the same partitions, disk GUID and names: 128 entries of 128 bytes, first usable LBA
//! 2048, last usable LBA = last LBA - 33 (the `tables` integration test compares with sfdisk byte for byte).
//!
//! The on-disk structures are written by the `gptman` crate; this module keeps the layout rules yardstick
//! enforces before writing (names of at most 36 UTF-16 units, no nil type GUID, partitions inside the usable
//! area and not overlapping) and clears the sectors gptman writes only in part (it sets the fields it knows and
//! leaves the rest of the protective MBR and header sectors as they were).

use std::fs::File;
use std::os::unix::fs::FileExt as _;

use crate::guid::Guid;
use crate::mbr::SECTOR;

/// Entries in the partition array.
pub const ENTRIES: u32 = 128;
/// Size of one entry.
pub const ENTRY_SIZE: u32 = 128;
/// Sectors the entry array takes (128 × 128 B = 16 KiB).
const ARRAY_SECTORS: u64 = (ENTRIES as u64 * ENTRY_SIZE as u64) / SECTOR;
/// Longest partition name, in UTF-16 code units.
pub const NAME_UNITS: usize = 36;

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GptPartition {
    /// Partition type GUID.
    pub type_guid: Guid,
    /// Unique partition GUID (`PARTUUID`).
    pub uuid: Guid,
    /// Name (`PARTLABEL`), at most 36 UTF-16 code units.
    pub name: String,
    /// First sector.
    pub first_lba: u64,
    /// Last sector, inclusive.
    pub last_lba: u64,
    /// Attribute bits (bit 60 read-only, 62 hidden, 63 no-auto in the Discoverable Partitions Spec).
    pub attributes: u64,
}

/// A GPT to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpt {
    /// Disk GUID (`label-id`).
    pub disk_guid: Guid,
    /// Partitions in entry order (entry `i` is `/dev/vda{i+1}`).
    pub partitions: Vec<GptPartition>,
    /// First usable LBA (2048 as libfdisk).
    pub first_usable_lba: u64,
}

/// Why a GPT could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GptError {
    /// The disk is too small for the table itself.
    #[error("a {0}-byte disk is too small for a GPT")]
    DiskTooSmall(u64),
    /// The disk size is not a whole number of sectors.
    #[error("disk size {0} is not a multiple of 512")]
    Unaligned(u64),
    /// More partitions than entries.
    #[error("{0} partitions, a GPT here holds at most 128")]
    TooMany(usize),
    /// A partition outside the usable area, or empty.
    #[error(
        "partition {index} (LBA {first}..={last}) is outside the usable LBAs {usable_first}..={usable_last}"
    )]
    OutOfRange {
        /// 1-based partition number.
        index: usize,
        /// Its first LBA.
        first: u64,
        /// Its last LBA.
        last: u64,
        /// First usable LBA.
        usable_first: u64,
        /// Last usable LBA.
        usable_last: u64,
    },
    /// Two partitions overlap.
    #[error("partitions {0} and {1} overlap")]
    Overlap(usize, usize),
    /// A name longer than 36 UTF-16 units.
    #[error("partition {0}: name longer than 36 UTF-16 code units")]
    NameTooLong(usize),
    /// A partition with the nil type GUID (that marks an unused entry).
    #[error("partition {0}: type GUID is all zero (that marks an unused entry)")]
    NilType(usize),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The GPT writer refused the table.
    #[error("GPT")]
    Table(#[from] gptman::Error),
}

impl Gpt {
    /// A table with libfdisk's defaults and no partitions.
    pub fn new(disk_guid: Guid) -> Gpt {
        Gpt {
            disk_guid,
            partitions: Vec::new(),
            first_usable_lba: 2048,
        }
    }

    /// Last usable LBA on a disk of `disk_size` bytes (room for the backup array and header).
    pub fn last_usable_lba(disk_size: u64) -> Option<u64> {
        (disk_size / SECTOR).checked_sub(2 + ARRAY_SECTORS)
    }

    fn check(&self, disk_size: u64) -> Result<u64, GptError> {
        if !disk_size.is_multiple_of(SECTOR) {
            return Err(GptError::Unaligned(disk_size));
        }
        let last_usable =
            Gpt::last_usable_lba(disk_size).ok_or(GptError::DiskTooSmall(disk_size))?;
        if last_usable < self.first_usable_lba || self.first_usable_lba < 2 + ARRAY_SECTORS {
            return Err(GptError::DiskTooSmall(disk_size));
        }
        if self.partitions.len() > ENTRIES as usize {
            return Err(GptError::TooMany(self.partitions.len()));
        }
        for (i, p) in self.partitions.iter().enumerate() {
            if p.type_guid == Guid::NIL {
                return Err(GptError::NilType(i + 1));
            }
            if p.first_lba < self.first_usable_lba
                || p.last_lba > last_usable
                || p.last_lba < p.first_lba
            {
                return Err(GptError::OutOfRange {
                    index: i + 1,
                    first: p.first_lba,
                    last: p.last_lba,
                    usable_first: self.first_usable_lba,
                    usable_last: last_usable,
                });
            }
            if p.name.encode_utf16().count() > NAME_UNITS {
                return Err(GptError::NameTooLong(i + 1));
            }
            for (j, q) in self.partitions.iter().enumerate().skip(i + 1) {
                if p.first_lba <= q.last_lba && q.first_lba <= p.last_lba {
                    return Err(GptError::Overlap(i + 1, j + 1));
                }
            }
        }
        Ok(last_usable)
    }

    /// Writes the protective MBR, both headers and both entry arrays into `file`, a disk of `disk_size` bytes
    /// (extended to that length if shorter). Partition contents and the gaps between the table areas are not
    /// touched.
    pub fn write(&self, file: &File, disk_size: u64) -> Result<(), GptError> {
        self.check(disk_size)?;
        if file.metadata()?.len() < disk_size {
            file.set_len(disk_size)?;
        }
        let last_lba = disk_size / SECTOR - 1;
        // Whole sectors, as sfdisk leaves them: bootstrap area and header padding zero.
        let zero = [0u8; SECTOR as usize];
        for lba in [0, 1, last_lba] {
            file.write_all_at(&zero, lba * SECTOR)?;
        }
        let mut w = file;
        let mut gpt = gptman::GPT::new_from(&mut w, SECTOR, self.disk_guid.to_efi_bytes())?;
        gpt.header.first_usable_lba = self.first_usable_lba;
        for (i, p) in (1u32..).zip(&self.partitions) {
            gpt[i] = gptman::GPTPartitionEntry {
                partition_type_guid: p.type_guid.to_efi_bytes(),
                unique_partition_guid: p.uuid.to_efi_bytes(),
                starting_lba: p.first_lba,
                ending_lba: p.last_lba,
                attribute_bits: p.attributes,
                partition_name: p.name.as_str().into(),
            };
        }
        gptman::GPT::write_protective_mbr_into(&mut w, SECTOR)?;
        gpt.write_into(&mut w)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guid::{self, types};

    fn part(first: u64, last: u64) -> GptPartition {
        GptPartition {
            type_guid: types::ROOT_X86_64,
            uuid: guid::derive(b"t", "p"),
            name: "root".into(),
            first_lba: first,
            last_lba: last,
            attributes: 0,
        }
    }

    #[test]
    fn headers_are_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d");
        let f = File::create(&p).unwrap();
        let size = 8 << 20;
        f.set_len(size).unwrap();
        let mut g = Gpt::new(guid::derive(b"t", "disk"));
        g.partitions.push(part(2048, 4095));
        g.write(&f, size).unwrap();
        let d = std::fs::read(&p).unwrap();
        let h = &d[512..1024];
        assert_eq!(&h[..8], b"EFI PART");
        let mut z = h[..92].to_vec();
        z[16..20].fill(0);
        assert_eq!(crc32fast::hash(&z).to_le_bytes(), h[16..20]);
        let last = size / 512 - 1;
        let b = &d[(last * 512) as usize..];
        assert_eq!(&b[..8], b"EFI PART");
        assert_eq!(u64::from_le_bytes(b[24..32].try_into().unwrap()), last);
        assert_eq!(u64::from_le_bytes(b[32..40].try_into().unwrap()), 1);
        assert_eq!(
            d[1024..1024 + 16384],
            d[((last - 32) * 512) as usize..(last * 512) as usize]
        );
    }

    #[test]
    fn rejects_bad_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::create(dir.path().join("d")).unwrap();
        let size = 8 << 20;
        let mut g = Gpt::new(Guid::NIL);
        g.partitions.push(part(100, 4095));
        assert!(matches!(
            g.write(&f, size),
            Err(GptError::OutOfRange { index: 1, .. })
        ));
        g.partitions = vec![part(2048, 4095), part(4000, 5000)];
        assert!(matches!(g.write(&f, size), Err(GptError::Overlap(1, 2))));
        g.partitions = vec![part(2048, 4095)];
        g.partitions[0].name = "x".repeat(37);
        assert!(matches!(g.write(&f, size), Err(GptError::NameTooLong(1))));
        assert!(matches!(g.write(&f, 1000), Err(GptError::Unaligned(1000))));
        assert!(matches!(g.write(&f, 4096), Err(GptError::DiskTooSmall(_))));
    }
}
