//! Validated dm-verity parameters and the tree geometry they imply.
//!
//! Mirrors cryptsetup 2.6.1: `VERITY_BLOCK_SIZE_OK` (lib/verity/verity.h), `hash_levels()` and
//! `VERITY_hash_offset_block()` (lib/verity/verity_hash.c, verity.c), and the checks of
//! `_crypt_format_verity()` (lib/setup.c).

use yardstick_common::hash::Algorithm;

use crate::Error;

/// Size of the on-disk superblock.
pub const SUPERBLOCK_SIZE: u64 = 512;
/// Longest salt the superblock can hold.
pub const MAX_SALT_LEN: usize = 256;
/// Smallest block size veritysetup accepts.
pub const MIN_BLOCK_SIZE: u32 = 512;
/// Largest block size veritysetup accepts.
pub const MAX_BLOCK_SIZE: u32 = 512 * 1024;
/// cryptsetup's `VERITY_MAX_LEVELS`.
pub const MAX_LEVELS: usize = 63;

/// The hash format (`--format`): how a block and the salt are combined, and how digests are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum HashType {
    /// Format 0, the original Chrome OS layout: digest = H(block || salt), digests packed.
    ChromeOs,
    /// Format 1, the normal layout: digest = H(salt || block), each digest padded to a power of two.
    Normal,
}

impl HashType {
    /// The number veritysetup uses (`--format`, superblock `hash_type`, dm table version).
    pub const fn number(self) -> u32 {
        match self {
            HashType::ChromeOs => 0,
            HashType::Normal => 1,
        }
    }

    /// The format for a number, if known.
    pub const fn from_number(n: u32) -> Option<HashType> {
        match n {
            0 => Some(HashType::ChromeOs),
            1 => Some(HashType::Normal),
            _ => None,
        }
    }
}

/// A salt of at most [`MAX_SALT_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Salt(Vec<u8>);

impl Salt {
    /// A salt; fails if longer than 256 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Salt, Error> {
        if bytes.len() > MAX_SALT_LEN {
            return Err(Error::SaltTooLong(bytes.len()));
        }
        Ok(Salt(bytes))
    }

    /// Parses veritysetup's `--salt` syntax: hex digits, or `-` for an empty salt.
    pub fn from_hex(s: &str) -> Result<Salt, Error> {
        if s == "-" {
            return Ok(Salt(Vec::new()));
        }
        let bytes = yardstick_common::hex::decode(s).map_err(Error::BadSalt)?;
        Salt::new(bytes)
    }

    /// `len` random bytes (veritysetup's default salt is 32 random bytes).
    pub fn random(len: usize) -> Result<Salt, Error> {
        use ring::rand::SecureRandom as _;
        let mut b = vec![0u8; len.min(MAX_SALT_LEN)];
        ring::rand::SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| Error::Random)?;
        Salt::new(b)
    }

    /// The salt bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Hex as veritysetup prints it: lower-case, or `-` when empty.
    pub fn display(&self) -> String {
        if self.0.is_empty() {
            "-".into()
        } else {
            yardstick_common::hex::encode(&self.0)
        }
    }
}

/// Everything that determines a hash tree, validated as veritysetup validates it. Made with
/// [`VerityParams::new`] (veritysetup's defaults for the rest) and the `with_*` methods; the fields are there to
/// read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerityParams {
    /// Format 0 or 1.
    pub hash_type: HashType,
    /// Digest algorithm.
    pub algorithm: Algorithm,
    /// Data block size in bytes.
    pub data_block_size: u32,
    /// Hash block size in bytes.
    pub hash_block_size: u32,
    /// Number of data blocks covered.
    pub data_blocks: u64,
    /// Salt.
    pub salt: Salt,
    /// Byte offset of the hash area (superblock or first hash block) on the hash device.
    pub hash_offset: u64,
    /// Whether a superblock precedes the tree.
    pub superblock: bool,
    /// Byte offset of data block 0 on the data device: a partition read from a whole disk image (the kernel's
    /// dm table has no such field: there the data device is the partition). Not used with FEC.
    pub data_offset: u64,
}

impl VerityParams {
    /// A tree over `data_blocks` blocks of `data_block_size` bytes hashed with `algorithm` into blocks of
    /// `hash_block_size` bytes, salted with `salt`: format 1, a superblock, the hash area at offset 0 (as
    /// `veritysetup format` does by default).
    pub fn new(
        algorithm: Algorithm,
        data_block_size: u32,
        hash_block_size: u32,
        data_blocks: u64,
        salt: Salt,
    ) -> VerityParams {
        VerityParams {
            hash_type: HashType::Normal,
            algorithm,
            data_block_size,
            hash_block_size,
            data_blocks,
            salt,
            hash_offset: 0,
            superblock: true,
            data_offset: 0,
        }
    }

    /// The same with data block 0 at byte `offset` of the data device (a partition inside a disk image).
    pub fn with_data_offset(mut self, offset: u64) -> VerityParams {
        self.data_offset = offset;
        self
    }

    /// The same with another format (`--format`).
    pub fn with_hash_type(mut self, hash_type: HashType) -> VerityParams {
        self.hash_type = hash_type;
        self
    }

    /// The same with the hash area at byte `offset` of the hash device (`--hash-offset`).
    pub fn with_hash_offset(mut self, offset: u64) -> VerityParams {
        self.hash_offset = offset;
        self
    }

    /// The same with or without a superblock (`--no-superblock`).
    pub fn with_superblock(mut self, superblock: bool) -> VerityParams {
        self.superblock = superblock;
        self
    }

    /// Checks what veritysetup checks before it touches a device.
    pub fn validate(&self) -> Result<(), Error> {
        for (which, size) in [
            ("data", self.data_block_size),
            ("hash", self.hash_block_size),
        ] {
            if !block_size_ok(size) {
                return Err(Error::BadBlockSize { which, size });
            }
        }
        if !self.hash_offset.is_multiple_of(512) {
            return Err(Error::MisalignedOffset {
                which: "hash",
                offset: self.hash_offset,
            });
        }
        if self.data_blocks == 0 {
            return Err(Error::NoDataBlocks);
        }
        Geometry::new(self).map(|_| ())
    }

    /// Size of the protected data area in bytes.
    pub fn data_size(&self) -> Result<u64, Error> {
        self.data_blocks
            .checked_mul(u64::from(self.data_block_size))
            .ok_or(Error::Overflow)
    }

    /// Index of the first tree block on the hash device (`VERITY_hash_offset_block`): the dm table's
    /// `hash_start`.
    pub fn hash_start_block(&self) -> u64 {
        let hbs = u64::from(self.hash_block_size);
        if self.superblock {
            (self.hash_offset + SUPERBLOCK_SIZE).div_ceil(hbs)
        } else {
            self.hash_offset / hbs
        }
    }
}

/// Whether veritysetup accepts a block size: a power of two from 512 bytes to 512 KiB.
pub fn block_size_ok(size: u32) -> bool {
    (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&size) && size.is_power_of_two()
}

/// One level of the tree. Level 0 holds the digests of the data blocks; the last level is one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Absolute index (in hash blocks) of the level's first block on the hash device.
    pub first_block: u64,
    /// Number of hash blocks in the level.
    pub blocks: u64,
    /// Number of digests it holds (the number of blocks of the level below, or data blocks).
    pub entries: u64,
}

/// The shape of a hash tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Digest length.
    pub digest_len: usize,
    /// Bytes each stored digest occupies: the digest length rounded up to a power of two (format 1) or the
    /// digest length itself (format 0).
    pub slot_len: usize,
    /// Digests per hash block: `2^floor(log2(hash_block_size / digest_len))` (note: the *unpadded* digest
    /// length, as cryptsetup computes it).
    pub per_block: u64,
    /// Levels, leaf level first (cryptsetup's level 0). Empty for a single data block.
    pub levels: Vec<Level>,
    /// First tree block on the hash device (see [`VerityParams::hash_start_block`]).
    pub hash_start: u64,
    /// Number of tree blocks ("Hash blocks" in veritysetup's output).
    pub hash_blocks: u64,
}

impl Geometry {
    /// Computes the layout like cryptsetup's `hash_levels()`: the top level is stored first, right at
    /// `hash_start`, the leaf level last.
    pub fn new(p: &VerityParams) -> Result<Geometry, Error> {
        let digest_len = p.algorithm.digest_len();
        let per_block_bits = floor_log2(u64::from(p.hash_block_size) / digest_len as u64);
        if per_block_bits == 0 {
            return Err(Error::HashBlockTooSmall {
                size: p.hash_block_size,
                digest: digest_len,
            });
        }
        let slot_len = match p.hash_type {
            HashType::Normal => digest_len.next_power_of_two(),
            HashType::ChromeOs => digest_len,
        };
        let n = p.data_blocks;
        if n == 0 {
            return Err(Error::NoDataBlocks);
        }
        let mut levels = 0usize;
        while per_block_bits as usize * levels < 64
            && (n - 1) >> (per_block_bits as usize * levels) != 0
        {
            levels += 1;
        }
        if levels > MAX_LEVELS {
            return Err(Error::Overflow);
        }
        let hash_start = p.hash_start_block();
        let mut pos = hash_start;
        let mut out = vec![
            Level {
                first_block: 0,
                blocks: 0,
                entries: 0
            };
            levels
        ];
        for (i, level) in out.iter_mut().enumerate().rev() {
            let shift = (i as u32 + 1) * per_block_bits;
            if shift > 63 {
                return Err(Error::Overflow);
            }
            let blocks = n.div_ceil(1u64 << shift);
            let entries = if i == 0 {
                n
            } else {
                n.div_ceil(1u64 << (i as u32 * per_block_bits))
            };
            *level = Level {
                first_block: pos,
                blocks,
                entries,
            };
            pos = pos.checked_add(blocks).ok_or(Error::Overflow)?;
        }
        // The whole tree must be addressable in bytes.
        pos.checked_mul(u64::from(p.hash_block_size))
            .ok_or(Error::Overflow)?;
        Ok(Geometry {
            digest_len,
            slot_len,
            per_block: 1 << per_block_bits,
            levels: out,
            hash_start,
            hash_blocks: pos - hash_start,
        })
    }

    /// One past the last tree block on the hash device.
    pub fn tree_end_block(&self) -> u64 {
        self.hash_start + self.hash_blocks
    }
}

fn floor_log2(x: u64) -> u32 {
    if x == 0 { 0 } else { 63 - x.leading_zeros() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(alg: Algorithm, hbs: u32, n: u64) -> VerityParams {
        VerityParams {
            hash_type: HashType::Normal,
            algorithm: alg,
            data_block_size: 4096,
            hash_block_size: hbs,
            data_blocks: n,
            salt: Salt::default(),
            hash_offset: 0,
            superblock: true,
            data_offset: 0,
        }
    }

    /// The 256-block image veritysetup 2.6.1 formats with "Hash blocks: 3" (level 0: 2 blocks, level 1: 1).
    #[test]
    fn levels_like_cryptsetup() {
        let g = Geometry::new(&p(Algorithm::Sha256, 4096, 256)).unwrap();
        assert_eq!(g.per_block, 128);
        assert_eq!(g.hash_start, 1);
        assert_eq!(g.hash_blocks, 3);
        assert_eq!(g.levels.len(), 2);
        assert_eq!(g.levels[1].first_block, 1);
        assert_eq!(g.levels[0].first_block, 2);
        assert_eq!(g.levels[0].blocks, 2);
        // Exactly 128 digests fit one block: one level.
        let g = Geometry::new(&p(Algorithm::Sha256, 4096, 128)).unwrap();
        assert_eq!(g.levels.len(), 1);
        assert_eq!(g.hash_blocks, 1);
        // A single data block has no tree at all.
        let g = Geometry::new(&p(Algorithm::Sha256, 4096, 1)).unwrap();
        assert!(g.levels.is_empty());
        assert_eq!(g.hash_blocks, 0);
        // sha1 at 512-byte hash blocks: 512/20 = 25 -> 16 digests per block, each in a 32-byte slot.
        let g = Geometry::new(&p(Algorithm::Sha1, 512, 17)).unwrap();
        assert_eq!((g.per_block, g.slot_len), (16, 32));
    }

    #[test]
    fn block_sizes() {
        assert!(block_size_ok(512) && block_size_ok(4096) && block_size_ok(512 * 1024));
        assert!(!block_size_ok(256) && !block_size_ok(1536) && !block_size_ok(1024 * 1024));
        assert!(!block_size_ok(0));
    }

    #[test]
    fn salt_syntax() {
        assert_eq!(Salt::from_hex("-").unwrap().as_bytes(), b"");
        assert_eq!(Salt::from_hex("00ff").unwrap().display(), "00ff");
        assert!(matches!(Salt::from_hex("0g"), Err(Error::BadSalt(_))));
        assert!(matches!(
            Salt::from_hex(&"00".repeat(257)),
            Err(Error::SaltTooLong(257))
        ));
    }
}
