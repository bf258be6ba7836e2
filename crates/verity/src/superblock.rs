//! The 512-byte verity superblock: parsing, serializing, writing (cryptsetup `lib/verity/verity.c`,
//! `struct verity_sb`, `VERITY_read_sb`, `VERITY_write_sb`).
//!
//! | offset | field |
//! |---|---|
//! | 0 | signature `verity\0\0` |
//! | 8 | u32 version = 1 |
//! | 12 | u32 hash_type (0 Chrome OS, 1 normal) |
//! | 16 | uuid, 16 bytes |
//! | 32 | algorithm name, 32 bytes, NUL padded |
//! | 64 | u32 data_block_size |
//! | 68 | u32 hash_block_size |
//! | 72 | u64 data_blocks |
//! | 80 | u16 salt_size |
//! | 82 | 6 bytes padding |
//! | 88 | salt, 256 bytes |
//! | 344 | 168 bytes padding |
//!
//! All integers little-endian. The root hash, FEC parameters and offsets are not stored.

use std::fs::File;
use std::os::unix::fs::FileExt as _;

use yardstick_common::guid::Guid;
use yardstick_common::hash::Algorithm;

use crate::params::{HashType, MAX_SALT_LEN, SUPERBLOCK_SIZE, Salt, block_size_ok};

const SIGNATURE: &[u8; 8] = b"verity\0\0";

/// Why 512 bytes are not a usable verity superblock. The variants follow `VERITY_read_sb`'s checks, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuperblockError {
    /// The device is shorter than offset + 512 bytes.
    #[error("no verity superblock at byte {offset}: the device is only {size} bytes")]
    Truncated {
        /// Superblock offset.
        offset: u64,
        /// Device size.
        size: u64,
    },
    /// The first 8 bytes are not `verity\0\0`.
    #[error("not a verity superblock at byte {offset} (no \"verity\" signature)")]
    BadSignature {
        /// Superblock offset.
        offset: u64,
    },
    /// Version other than 1.
    #[error("unsupported verity superblock version {0}")]
    Version(u32),
    /// Hash type other than 0 or 1.
    #[error("unsupported verity hash type {0}")]
    HashType(u32),
    /// A block size veritysetup rejects.
    #[error("unsupported {which} block size {size} in the superblock")]
    BlockSize {
        /// "data" or "hash".
        which: &'static str,
        /// The value found.
        size: u32,
    },
    /// An algorithm name yardstick does not implement.
    #[error("unsupported hash algorithm {0:?} in the superblock")]
    Algorithm(String),
    /// Salt size over 256.
    #[error("verity superblock corrupted: salt size {0} exceeds 256")]
    SaltSize(u16),
}

/// A parsed superblock. The algorithm name is kept as stored (veritysetup prints it verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Format.
    pub hash_type: HashType,
    /// UUID of the hash device (stored in text byte order, as libuuid stores it).
    pub uuid: Guid,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Algorithm name as stored.
    pub algorithm_name: String,
    /// Data block size.
    pub data_block_size: u32,
    /// Hash block size.
    pub hash_block_size: u32,
    /// Data blocks.
    pub data_blocks: u64,
    /// Salt.
    pub salt: Salt,
}

/// A field of the 512-byte superblock, at a constant offset inside it.
fn le32(b: &[u8; 512], at: usize) -> u32 {
    yardstick_common::bytes::le32(b, at).unwrap_or(0)
}

impl Superblock {
    /// Parses and validates 512 bytes read at byte `offset` (used in messages only).
    pub fn parse(b: &[u8; 512], offset: u64) -> Result<Superblock, SuperblockError> {
        if &b[0..8] != SIGNATURE {
            return Err(SuperblockError::BadSignature { offset });
        }
        let version = le32(b, 8);
        if version != 1 {
            return Err(SuperblockError::Version(version));
        }
        let ht = le32(b, 12);
        let hash_type = HashType::from_number(ht).ok_or(SuperblockError::HashType(ht))?;
        let data_block_size = le32(b, 64);
        let hash_block_size = le32(b, 68);
        for (which, size) in [("data", data_block_size), ("hash", hash_block_size)] {
            if !block_size_ok(size) {
                return Err(SuperblockError::BlockSize { which, size });
            }
        }
        let mut db = [0u8; 8];
        db.copy_from_slice(&b[72..80]);
        let data_blocks = u64::from_le_bytes(db);
        let name_field = &b[32..64];
        let name = name_field.split(|&c| c == 0).next().unwrap_or_default();
        let algorithm_name = String::from_utf8_lossy(name).into_owned();
        let algorithm = algorithm_name
            .parse::<Algorithm>()
            .map_err(|_| SuperblockError::Algorithm(algorithm_name.clone()))?;
        let salt_size = u16::from_le_bytes([b[80], b[81]]);
        if usize::from(salt_size) > MAX_SALT_LEN {
            return Err(SuperblockError::SaltSize(salt_size));
        }
        let salt = b
            .get(88..88 + usize::from(salt_size))
            .and_then(|s| Salt::new(s.to_vec()).ok())
            .ok_or(SuperblockError::SaltSize(salt_size))?;
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[16..32]);
        let uuid = Guid::from_bytes(uuid);
        Ok(Superblock {
            hash_type,
            uuid,
            algorithm,
            algorithm_name,
            data_block_size,
            hash_block_size,
            data_blocks,
            salt,
        })
    }

    /// The 512 bytes veritysetup writes: the algorithm name lower-cased, unused bytes zero.
    pub fn to_bytes(&self) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..8].copy_from_slice(SIGNATURE);
        b[8..12].copy_from_slice(&1u32.to_le_bytes());
        b[12..16].copy_from_slice(&self.hash_type.number().to_le_bytes());
        b[16..32].copy_from_slice(self.uuid.as_bytes());
        let name = self.algorithm_name.to_ascii_lowercase();
        // At most 31 bytes: the field keeps its terminating NUL.
        for (d, s) in b[32..63].iter_mut().zip(name.as_bytes()) {
            *d = *s;
        }
        b[64..68].copy_from_slice(&self.data_block_size.to_le_bytes());
        b[68..72].copy_from_slice(&self.hash_block_size.to_le_bytes());
        b[72..80].copy_from_slice(&self.data_blocks.to_le_bytes());
        let salt = self.salt.as_bytes();
        b[80..82].copy_from_slice(&(salt.len() as u16).to_le_bytes());
        for (d, s) in b[88..].iter_mut().zip(salt) {
            *d = *s;
        }
        b
    }

    /// Byte ranges (relative to the superblock start) of bytes veritysetup always writes as zero but finds
    /// non-zero here: the padding fields and the salt area past `salt_size`. veritysetup ignores them when
    /// reading; `verify` reports them.
    pub fn nonzero_reserved(b: &[u8; 512]) -> Vec<(usize, usize)> {
        let salt_size = usize::from(u16::from_le_bytes([b[80], b[81]])).min(MAX_SALT_LEN);
        let name_len = b[32..64].iter().position(|&c| c == 0).unwrap_or(32);
        let ranges = [
            (32 + name_len, 64),
            (82, 88),
            (88 + salt_size, 344),
            (344, 512),
        ];
        ranges
            .into_iter()
            .filter(|&(s, e)| b.get(s..e).is_some_and(|r| r.iter().any(|&c| c != 0)))
            .collect()
    }
}

/// A random (version 4) UUID, as libuuid's `uuid_generate()` makes for veritysetup.
pub fn random_uuid() -> Result<Guid, crate::Error> {
    use ring::rand::SecureRandom as _;
    let mut u = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut u)
        .map_err(|_| crate::Error::Random)?;
    Ok(Guid::v4_from_bytes(u))
}

/// Reads and parses the superblock at `offset`.
pub fn read(
    file: &File,
    offset: u64,
    size: u64,
) -> Result<(Superblock, [u8; 512]), SuperblockError> {
    let mut b = [0u8; 512];
    if size < offset.saturating_add(SUPERBLOCK_SIZE) || file.read_exact_at(&mut b, offset).is_err()
    {
        return Err(SuperblockError::Truncated { offset, size });
    }
    Ok((Superblock::parse(&b, offset)?, b))
}

/// The granularity of veritysetup's superblock write (`VERITY_write_sb` → `write_lseek_blockwise`): the
/// device's I/O block size (file system block size for files, at most a page; logical sector size for block
/// devices), capped at the hash block size.
pub fn write_granularity(file: &File, hash_block_size: u32) -> u64 {
    let page = rustix::param::page_size() as u64;
    let dev = match rustix::fs::fstat(file) {
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::BlockDevice =>
        {
            rustix::fs::ioctl_blksszget(file)
                .map(u64::from)
                .unwrap_or(page)
        }
        _ => match rustix::fs::fstatvfs(file) {
            Ok(v) if v.f_bsize > 0 && v.f_bsize <= page => v.f_bsize,
            _ => page,
        },
    };
    dev.min(u64::from(hash_block_size)).max(512)
}

/// Writes `sb` at `offset` the way veritysetup does: the whole aligned block of `granularity` bytes around it
/// is read, patched and written back, so a short file grows to the end of that block.
pub fn write(file: &File, offset: u64, sb: &Superblock, granularity: u64) -> std::io::Result<()> {
    let start = offset / granularity * granularity;
    let mut block = vec![0u8; granularity as usize];
    let mut got = 0;
    while got < block.len() {
        let rest = block.get_mut(got..).unwrap_or_default();
        match file.read_at(rest, start + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let at = (offset - start) as usize;
    block
        .get_mut(at..at + 512)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a {granularity}-byte block cannot hold the 512-byte superblock at {offset}"
                ),
            )
        })?
        .copy_from_slice(&sb.to_bytes());
    file.write_all_at(&block, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Superblock {
        Superblock {
            hash_type: HashType::Normal,
            uuid: Guid::from_bytes(*b"0123456789abcdef"),
            algorithm: Algorithm::Sha256,
            algorithm_name: "SHA256".into(),
            data_block_size: 4096,
            hash_block_size: 512,
            data_blocks: 12345,
            salt: Salt::new(vec![0xaa; 256]).unwrap(),
        }
    }

    #[test]
    fn round_trip_and_layout() {
        let sb = sample();
        let b = sb.to_bytes();
        assert_eq!(&b[0..8], b"verity\0\0");
        assert_eq!(&b[32..39], b"sha256\0", "name lower-cased like _to_lower()");
        assert_eq!(u16::from_le_bytes([b[80], b[81]]), 256);
        let back = Superblock::parse(&b, 0).unwrap();
        assert_eq!(back.algorithm_name, "sha256");
        assert_eq!(back.salt, sb.salt);
        assert!(Superblock::nonzero_reserved(&b).is_empty());
    }

    #[test]
    fn rejects_like_veritysetup() {
        let good = sample().to_bytes();
        let mut b = good;
        b[0] = b'V';
        assert_eq!(
            Superblock::parse(&b, 4096),
            Err(SuperblockError::BadSignature { offset: 4096 })
        );
        let mut b = good;
        b[8] = 2;
        assert_eq!(Superblock::parse(&b, 0), Err(SuperblockError::Version(2)));
        let mut b = good;
        b[12] = 7;
        assert_eq!(Superblock::parse(&b, 0), Err(SuperblockError::HashType(7)));
        let mut b = good;
        b[64..68].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            Superblock::parse(&b, 0),
            Err(SuperblockError::BlockSize {
                which: "data",
                size: 1000
            })
        ));
        let mut b = good;
        b[32..38].copy_from_slice(b"md5\0\0\0");
        assert!(matches!(
            Superblock::parse(&b, 0),
            Err(SuperblockError::Algorithm(_))
        ));
        let mut b = good;
        b[80..82].copy_from_slice(&257u16.to_le_bytes());
        assert_eq!(
            Superblock::parse(&b, 0),
            Err(SuperblockError::SaltSize(257))
        );
        let mut b = good;
        b[400] = 1;
        assert_eq!(Superblock::nonzero_reserved(&b), vec![(344, 512)]);
    }

    #[test]
    fn uuids() {
        let u = random_uuid().unwrap();
        assert_eq!(u.as_bytes()[6] >> 4, 4);
        assert_eq!(u.as_bytes()[8] >> 6, 2);
        let mut s = sample();
        s.uuid = "12345678-1234-1234-1234-123456789ABC".parse().unwrap();
        let b = s.to_bytes();
        assert_eq!(
            b[16..32],
            [
                0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x12, 0x34, 0x12, 0x34, 0x12, 0x34, 0x56, 0x78,
                0x9a, 0xbc
            ]
        );
        assert_eq!(
            Superblock::parse(&b, 0).unwrap().uuid.to_string(),
            "12345678-1234-1234-1234-123456789abc"
        );
    }
}
