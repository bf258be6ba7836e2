//! DOS / MBR partition tables, and the protective MBR in front of a GPT.
//!
//! CHS fields follow libfdisk (what `sfdisk` and `parted` write for an image file): geometry 255 heads × 63
//! sectors, and `(1023, 254, 63)` for addresses past cylinder 1023. Byte-for-byte equality with sfdisk is
//! checked by the `image_tables` integration test.

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
}

/// A DOS partition table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mbr {
    /// Disk signature at offset 440 (`label-id` in sfdisk).
    pub disk_signature: u32,
    /// Up to four primary partitions, in slot order.
    pub partitions: Vec<MbrPartition>,
}

/// CHS triple encoded as the three bytes of a partition entry.
fn chs(lba: u64) -> [u8; 3] {
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
    [
        h as u8,
        ((s as u8) & 0x3f) | (((c >> 8) as u8 & 0x03) << 6),
        c as u8,
    ]
}

impl Mbr {
    /// The 512-byte sector 0.
    pub fn to_sector(&self) -> Result<[u8; 512], MbrError> {
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
            for (j, q) in self.partitions.iter().enumerate().skip(i + 1) {
                let (a0, a1) = (
                    u64::from(p.first_lba),
                    u64::from(p.first_lba) + u64::from(p.sectors),
                );
                let (b0, b1) = (
                    u64::from(q.first_lba),
                    u64::from(q.first_lba) + u64::from(q.sectors),
                );
                if a0 < b1 && b0 < a1 {
                    return Err(MbrError::Overlap(i + 1, j + 1));
                }
            }
        }
        let mut s = [0u8; 512];
        s[440..444].copy_from_slice(&self.disk_signature.to_le_bytes());
        for (i, p) in self.partitions.iter().enumerate() {
            let e = &mut s[446 + 16 * i..446 + 16 * (i + 1)];
            e[0] = if p.bootable { 0x80 } else { 0 };
            e[1..4].copy_from_slice(&chs(u64::from(p.first_lba)));
            e[4] = p.type_id;
            let last = u64::from(p.first_lba) + u64::from(p.sectors) - 1;
            e[5..8].copy_from_slice(&chs(last));
            e[8..12].copy_from_slice(&p.first_lba.to_le_bytes());
            e[12..16].copy_from_slice(&p.sectors.to_le_bytes());
        }
        s[510] = 0x55;
        s[511] = 0xaa;
        Ok(s)
    }

    /// The protective MBR of a GPT disk of `total_sectors` (UEFI 2.10 §5.2.3): one 0xEE partition from LBA 1
    /// covering the disk (capped at 0xFFFFFFFF sectors). CHS start `00 02 00` and end `ff ff ff`, as libfdisk
    /// writes them.
    pub fn protective_sector(total_sectors: u64) -> [u8; 512] {
        let mut s = [0u8; 512];
        let e = &mut s[446..462];
        e[1..4].copy_from_slice(&[0x00, 0x02, 0x00]);
        e[4] = 0xee;
        e[5..8].copy_from_slice(&[0xff, 0xff, 0xff]);
        e[8..12].copy_from_slice(&1u32.to_le_bytes());
        let size = total_sectors.saturating_sub(1).min(u64::from(u32::MAX)) as u32;
        e[12..16].copy_from_slice(&size.to_le_bytes());
        s[510] = 0x55;
        s[511] = 0xaa;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CHS bytes sfdisk 2.38 wrote for these LBAs on a 255/63 geometry image (see module docs).
    #[test]
    fn chs_like_libfdisk() {
        assert_eq!(chs(2048), [0x20, 0x21, 0x00]);
        assert_eq!(chs(22527), [0x66, 0x25, 0x01]);
        assert_eq!(chs(6022527), [0xe1, 0x6b, 0x76]);
        assert_eq!(chs(20001047), [0xfe, 0xff, 0xff]);
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
