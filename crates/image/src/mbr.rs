//! DOS / MBR partition tables, and the protective MBR in front of a GPT.
//!
//! CHS fields follow libfdisk (what `sfdisk` and `parted` write for an image file): geometry 255 heads × 63
//! sectors, and `(1023, 254, 63)` for addresses past cylinder 1023. Byte-for-byte equality with sfdisk is
//! checked by the `tables` integration test.
//!
//! The sector is encoded by the `mbrman` crate; this module keeps the checks yardstick makes first (at most four
//! primaries, none empty, overlapping, starting in sector 0 or ending past 2 TiB) and libfdisk's CHS values
//! (mbrman leaves primary partitions' CHS empty unless given, and refuses rather than clamps past cylinder
//! 1023). The protective MBR of a GPT is written by `gptman` (see [`crate::gpt`]).

/// Sector size every table here assumes.
pub const SECTOR: u64 = 512;

const HEADS: u64 = 255;
const SECTORS_PER_TRACK: u64 = 63;

/// One primary partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbrPartition {
    /// Boot indicator (0x80).
    pub bootable: bool,
    /// Partition type byte (0x83 Linux, 0xef EFI System, 0xee GPT protective).
    pub type_id: u8,
    /// First sector.
    pub first_lba: u32,
    /// Length in sectors.
    pub sectors: u32,
}

/// Why a table could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MbrError {
    /// More than four primary partitions.
    #[error("an MBR holds at most 4 primary partitions, {0} given")]
    TooMany(usize),
    /// A partition of zero length or starting in the MBR sector.
    #[error("partition {0}: empty or overlaps the MBR sector")]
    Bad(usize),
    /// Two partitions overlap.
    #[error("partitions {0} and {1} overlap")]
    Overlap(usize, usize),
    /// Past the 2 TiB an MBR can address.
    #[error("partition {0} ends past 2 TiB, which an MBR cannot address")]
    TooLarge(usize),
    /// The MBR encoder refused the table.
    #[error("MBR: {0}")]
    Encode(String),
}

/// A DOS partition table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mbr {
    /// Disk signature at offset 440 (`label-id` in sfdisk).
    pub disk_signature: u32,
    /// Up to four primary partitions, in slot order.
    pub partitions: Vec<MbrPartition>,
}

/// The CHS address libfdisk writes for `lba`.
fn chs(lba: u64) -> mbrman::CHS {
    let spc = HEADS * SECTORS_PER_TRACK;
    let (c, h, s) = if lba / spc > 1023 {
        (1023, HEADS - 1, SECTORS_PER_TRACK)
    } else {
        (
            lba / spc,
            (lba % spc) / SECTORS_PER_TRACK,
            lba % SECTORS_PER_TRACK + 1,
        )
    };
    // In range by construction: c <= 1023, h < 255, 1 <= s <= 63.
    mbrman::CHS::new(c as u16, h as u8, s as u8)
}

impl Mbr {
    fn check(&self) -> Result<(), MbrError> {
        if self.partitions.len() > 4 {
            return Err(MbrError::TooMany(self.partitions.len()));
        }
        for (i, p) in self.partitions.iter().enumerate() {
            if p.sectors == 0 || p.first_lba == 0 {
                return Err(MbrError::Bad(i + 1));
            }
            if u64::from(p.first_lba) + u64::from(p.sectors) > 1 << 32 {
                return Err(MbrError::TooLarge(i + 1));
            }
            let span = |p: &MbrPartition| {
                let start = u64::from(p.first_lba);
                (start, start + u64::from(p.sectors))
            };
            for (j, q) in self.partitions.iter().enumerate().skip(i + 1) {
                let ((a0, a1), (b0, b1)) = (span(p), span(q));
                if a0 < b1 && b0 < a1 {
                    return Err(MbrError::Overlap(i + 1, j + 1));
                }
            }
        }
        Ok(())
    }

    /// The 512-byte sector 0.
    pub fn to_sector(&self) -> Result<[u8; 512], MbrError> {
        self.check()?;
        let mut buf = std::io::Cursor::new(vec![0u8; SECTOR as usize]);
        let mut mbr =
            mbrman::MBR::new_from(&mut buf, SECTOR as u32, self.disk_signature.to_le_bytes())
                .map_err(|e| MbrError::Encode(e.to_string()))?;
        for (i, p) in self.partitions.iter().enumerate() {
            let last = u64::from(p.first_lba) + u64::from(p.sectors) - 1;
            // check() allows at most 4 partitions, the slots every MBR has (1..=4).
            let slot = mbr.get_mut(i + 1).ok_or(MbrError::TooMany(i + 1))?;
            *slot = mbrman::MBRPartitionEntry {
                boot: if p.bootable {
                    mbrman::BOOT_ACTIVE
                } else {
                    mbrman::BOOT_INACTIVE
                },
                first_chs: chs(u64::from(p.first_lba)),
                sys: p.type_id,
                last_chs: chs(last),
                starting_lba: p.first_lba,
                sectors: p.sectors,
            };
        }
        mbr.write_into(&mut buf)
            .map_err(|e| MbrError::Encode(e.to_string()))?;
        let mut s = [0u8; 512];
        s.copy_from_slice(buf.get_ref().get(..512).unwrap_or(&[0; 512]));
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CHS bytes sfdisk 2.38 wrote for these LBAs on a 255/63 geometry image (see module docs).
    #[test]
    fn chs_like_libfdisk() {
        // The start CHS bytes of a one-sector partition at `lba`, as written in the sector.
        let start_chs = |lba: u32| {
            let m = Mbr {
                disk_signature: 1,
                partitions: vec![MbrPartition {
                    bootable: false,
                    type_id: 0x83,
                    first_lba: lba,
                    sectors: 1,
                }],
            };
            let s = m.to_sector().unwrap();
            [s[447], s[448], s[449]]
        };
        assert_eq!(start_chs(2048), [0x20, 0x21, 0x00]);
        assert_eq!(start_chs(22527), [0x66, 0x25, 0x01]);
        assert_eq!(start_chs(6022527), [0xe1, 0x6b, 0x76]);
        assert_eq!(start_chs(20001047), [0xfe, 0xff, 0xff]);
    }

    #[test]
    fn rejects_bad_tables() {
        let p = |a, n| MbrPartition {
            bootable: false,
            type_id: 0x83,
            first_lba: a,
            sectors: n,
        };
        let m = Mbr {
            disk_signature: 1,
            partitions: vec![p(2048, 100), p(2100, 10)],
        };
        assert_eq!(m.to_sector(), Err(MbrError::Overlap(1, 2)));
        let m = Mbr {
            disk_signature: 1,
            partitions: vec![p(0, 100)],
        };
        assert_eq!(m.to_sector(), Err(MbrError::Bad(1)));
        let m = Mbr {
            disk_signature: 1,
            partitions: vec![p(2048, 1); 5],
        };
        assert_eq!(m.to_sector(), Err(MbrError::TooMany(5)));
        let m = Mbr {
            disk_signature: 1,
            partitions: vec![p(u32::MAX, 2)],
        };
        assert_eq!(m.to_sector(), Err(MbrError::TooLarge(1)));
    }
}
