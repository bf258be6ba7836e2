//! GUIDs as they are written (`8-4-4-4-12` hex) and as GPT stores them (first three fields little-endian).

use std::fmt;
use std::str::FromStr;

use yardstick_common::hash::Algorithm;

/// A 128-bit GUID / UUID, held in the byte order of its textual form (`00112233-4455-...` is
/// `[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, ...]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

/// The text was not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
pub struct BadGuid(pub String);

impl Guid {
    /// The all-zero GUID (an unused GPT entry).
    pub const NIL: Guid = Guid([0; 16]);

    /// The 16 bytes as GPT and the UEFI specification store an `EFI_GUID`: the first three fields
    /// (`u32`, `u16`, `u16`) little-endian, the last eight bytes as they are.
    pub fn to_mixed_endian(self) -> [u8; 16] {
        let b = self.0;
        [
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ]
    }

    /// The inverse of [`Guid::to_mixed_endian`].
    pub fn from_mixed_endian(b: [u8; 16]) -> Guid {
        Guid([
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ])
    }

    /// A GUID derived from a seed and a purpose, stable across runs: the first 16 bytes of
    /// SHA-256(`yardstick-guid\0` || purpose || `\0` || seed), made an RFC 4122 version 4 / variant 1 UUID
    /// (as systemd's `sd_id128_make_v4_uuid` does) so tools that check the version accept it.
    pub fn derive(seed: &[u8], purpose: &str) -> Guid {
        let d =
            Algorithm::Sha256.digest_parts(&[b"yardstick-guid\0", purpose.as_bytes(), b"\0", seed]);
        let mut b = [0u8; 16];
        b.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Guid(b)
    }

    /// The GUID made of the first 16 bytes of `bytes` (systemd derives the verity data partition's UUID from
    /// the root hash this way), or `None` if fewer than 16 bytes are given.
    pub fn from_prefix(bytes: &[u8]) -> Option<Guid> {
        bytes
            .get(..16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(Guid)
    }

    /// The GUID made of the last 16 bytes of `bytes` (systemd's verity hash partition UUID).
    pub fn from_suffix(bytes: &[u8]) -> Option<Guid> {
        let start = bytes.len().checked_sub(16)?;
        Guid::from_prefix(bytes.get(start..)?)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = yardstick_common::hex::encode(&self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl FromStr for Guid {
    type Err = BadGuid;

    fn from_str(s: &str) -> Result<Guid, BadGuid> {
        let bad = || BadGuid(s.to_string());
        let parts: Vec<&str> = s.split('-').collect();
        if parts.len() != 5 || parts.iter().map(|p| p.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12]
        {
            return Err(bad());
        }
        yardstick_common::hex::decode_array::<16>(&parts.concat())
            .map(Guid)
            .map_err(|_| bad())
    }
}

/// Partition type GUIDs of the UAPI Discoverable Partitions Specification (x86-64) and the UEFI
/// specification (ESP).
pub mod types {
    use super::Guid;

    const fn g(b: [u8; 16]) -> Guid {
        Guid(b)
    }

    /// EFI System Partition `c12a7328-f81f-11d2-ba4b-00a0c93ec93b`.
    pub const ESP: Guid = g([
        0xc1, 0x2a, 0x73, 0x28, 0xf8, 0x1f, 0x11, 0xd2, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9,
        0x3b,
    ]);
    /// Root partition (x86-64) `4f68bce3-e8cd-4db1-96e7-fbcaf984b709`.
    pub const ROOT_X86_64: Guid = g([
        0x4f, 0x68, 0xbc, 0xe3, 0xe8, 0xcd, 0x4d, 0xb1, 0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7,
        0x09,
    ]);
    /// Root verity partition (x86-64) `2c7357ed-ebd2-46d9-aec1-23d437ec2bf5`.
    pub const ROOT_VERITY_X86_64: Guid = g([
        0x2c, 0x73, 0x57, 0xed, 0xeb, 0xd2, 0x46, 0xd9, 0xae, 0xc1, 0x23, 0xd4, 0x37, 0xec, 0x2b,
        0xf5,
    ]);
    /// Root verity signature partition (x86-64) `41092b05-9fc8-4523-994f-2def0408b176`.
    pub const ROOT_VERITY_SIG_X86_64: Guid = g([
        0x41, 0x09, 0x2b, 0x05, 0x9f, 0xc8, 0x45, 0x23, 0x99, 0x4f, 0x2d, 0xef, 0x04, 0x08, 0xb1,
        0x76,
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_mixed_endian() {
        let g: Guid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b".parse().unwrap();
        assert_eq!(g, types::ESP);
        assert_eq!(g.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        // UEFI spec: the ESP type GUID is stored as 28 73 2a c1 1f f8 d2 11 ba 4b ...
        assert_eq!(
            g.to_mixed_endian()[..8],
            [0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11]
        );
        assert_eq!(Guid::from_mixed_endian(g.to_mixed_endian()), g);
        assert_eq!(
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
                .parse::<Guid>()
                .unwrap(),
            g
        );
        for bad in [
            "",
            "c12a7328f81f11d2ba4b00a0c93ec93b",
            "c12a7328-f81f-11d2-ba4b-00a0c93ec93",
            "g12a7328-f81f-11d2-ba4b-00a0c93ec93b",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad}");
        }
        assert_eq!(
            types::ROOT_VERITY_SIG_X86_64.to_string(),
            "41092b05-9fc8-4523-994f-2def0408b176"
        );
    }

    #[test]
    fn derived_guids() {
        let a = Guid::derive(b"seed", "disk");
        assert_eq!(a, Guid::derive(b"seed", "disk"));
        assert_ne!(a, Guid::derive(b"seed", "esp"));
        assert_eq!(a.0[6] >> 4, 4);
        assert_eq!(a.0[8] >> 6, 2);
        let rh: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            Guid::from_prefix(&rh).unwrap().to_string(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert_eq!(
            Guid::from_suffix(&rh).unwrap().to_string(),
            "10111213-1415-1617-1819-1a1b1c1d1e1f"
        );
        assert!(Guid::from_suffix(&rh[..15]).is_none());
    }
}
