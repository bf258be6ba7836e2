//! GUIDs / UUIDs: one type for every trust path.
//!
//! A [`Guid`] holds its 16 bytes in the order of its text form (RFC 4122 network order:
//! `00112233-4455-6677-8899-aabbccddeeff` is `[0x00, 0x11, 0x22, ...]`). That is how libuuid stores a UUID (the
//! dm-verity superblock), how systemd derives partition UUIDs from a root hash, and where the RFC 4122 version
//! and variant bits sit. EFI structures store the same GUID differently (`EFI_GUID`: the first three fields
//! little-endian, the last eight bytes as written); GPT headers and entries, EFI variables and signature lists,
//! TCG event logs and the OVMF footer table all use that order, so parsers and writers of those formats go
//! through [`Guid::from_efi_bytes`] and [`Guid::to_efi_bytes`].
//!
//! ```
//! use yardstick_common::guid::Guid;
//! // EFI_GLOBAL_VARIABLE, as the UEFI specification writes it.
//! const GLOBAL: Guid = Guid::from_fields(0x8be4df61, 0x93ca, 0x11d2, [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c]);
//! assert_eq!(GLOBAL.to_string(), "8be4df61-93ca-11d2-aa0d-00e098032b8c");
//! assert_eq!(GLOBAL.to_efi_bytes()[..4], [0x61, 0xdf, 0xe4, 0x8b]);
//! assert_eq!("8BE4DF61-93CA-11D2-AA0D-00E098032B8C".parse::<Guid>().unwrap(), GLOBAL);
//! ```

use std::fmt;
use std::str::FromStr;

/// A 128-bit GUID / UUID, held in the byte order of its text form (see the [module docs](self)).
///
/// Displays as lower-case `8-4-4-4-12` hex, parses from that form in either case, and serializes (serde) as
/// that string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid([u8; 16]);

/// The text was not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
pub struct ParseGuidError(pub String);

/// Swaps between text order and EFI order: the same permutation both ways.
const fn swap_efi(b: [u8; 16]) -> [u8; 16] {
    [
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15],
    ]
}

impl Guid {
    /// The all-zero GUID (an unused GPT entry).
    pub const NIL: Guid = Guid([0; 16]);

    /// Builds a GUID from the fields of its text form `d1-d2-d3-d4[0..2]-d4[2..8]`, the way C sources and
    /// specifications write GUID constants.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_be_bytes();
        let b = d2.to_be_bytes();
        let c = d3.to_be_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// Wraps 16 bytes in text order.
    pub const fn from_bytes(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }

    /// The 16 bytes in text order.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Reads an `EFI_GUID` as EFI structures store it: the first three fields (`u32`, `u16`, `u16`)
    /// little-endian, the last eight bytes as they are.
    pub const fn from_efi_bytes(bytes: [u8; 16]) -> Guid {
        Guid(swap_efi(bytes))
    }

    /// The 16 bytes as EFI structures (GPT, EFI variables, event logs, the OVMF footer) store them; the inverse
    /// of [`Guid::from_efi_bytes`].
    pub const fn to_efi_bytes(self) -> [u8; 16] {
        swap_efi(self.0)
    }

    /// The GUID stored in EFI order at byte offset `at` of `bytes`, or `None` if `bytes` ends before
    /// `at + 16`.
    pub fn read_efi(bytes: &[u8], at: usize) -> Option<Guid> {
        let b: [u8; 16] = bytes.get(at..at.checked_add(16)?)?.try_into().ok()?;
        Some(Guid::from_efi_bytes(b))
    }

    /// The bytes made an RFC 4122 version 4 (random), variant 1 UUID: the top nibble of byte 6 becomes 4 and
    /// the top two bits of byte 8 become `10`, as libuuid's `uuid_generate()` and systemd's
    /// `sd_id128_make_v4_uuid()` do, so tools that check the version accept it.
    pub const fn v4_from_bytes(mut bytes: [u8; 16]) -> Guid {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Guid(bytes)
    }

    /// The GUID made of the first 16 bytes of `bytes` (systemd derives the verity data partition's UUID from
    /// the root hash this way), or `None` if fewer than 16 bytes are given.
    pub fn from_prefix(bytes: &[u8]) -> Option<Guid> {
        bytes
            .get(..16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(Guid)
    }

    /// The GUID made of the last 16 bytes of `bytes` (systemd's verity hash partition UUID), or `None` if
    /// fewer than 16 bytes are given.
    pub fn from_suffix(bytes: &[u8]) -> Option<Guid> {
        let start = bytes.len().checked_sub(16)?;
        Guid::from_prefix(bytes.get(start..)?)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = crate::hex::encode(&self.0);
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
    type Err = ParseGuidError;

    /// Parses the text form the way libuuid's `uuid_parse()` does: exactly 36 characters, hex digits of either
    /// case, dashes at positions 8, 13, 18 and 23.
    fn from_str(s: &str) -> Result<Guid, ParseGuidError> {
        let bad = || ParseGuidError(s.to_string());
        let parts: Vec<&str> = s.split('-').collect();
        if parts.iter().map(|p| p.len()).ne([8, 4, 4, 4, 12]) {
            return Err(bad());
        }
        crate::hex::decode_array::<16>(&parts.concat())
            .map(Guid)
            .map_err(|_| bad())
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Guid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Guid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ESP type GUID `c12a7328-f81f-11d2-ba4b-00a0c93ec93b`: the UEFI specification (§5.3.3) lists its
    /// on-disk bytes as `28 73 2a c1 1f f8 d2 11 ba 4b 00 a0 c9 3e c9 3b`.
    const ESP: Guid = Guid::from_fields(
        0xc12a7328,
        0xf81f,
        0x11d2,
        [0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b],
    );

    #[test]
    fn text_and_efi_order() {
        assert_eq!(ESP.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        assert_eq!(
            format!("{ESP:?}"),
            "Guid(c12a7328-f81f-11d2-ba4b-00a0c93ec93b)"
        );
        assert_eq!(
            ESP.as_bytes()[..8],
            [0xc1, 0x2a, 0x73, 0x28, 0xf8, 0x1f, 0x11, 0xd2]
        );
        let efi = [
            0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
            0xc9, 0x3b,
        ];
        assert_eq!(ESP.to_efi_bytes(), efi);
        assert_eq!(Guid::from_efi_bytes(efi), ESP);
        assert_eq!(Guid::from_bytes(*ESP.as_bytes()), ESP);
        let mut buf = vec![0xee; 3];
        buf.extend_from_slice(&efi);
        assert_eq!(Guid::read_efi(&buf, 3), Some(ESP));
        assert_eq!(Guid::read_efi(&buf, 4), None);
        assert_eq!(Guid::read_efi(&buf, usize::MAX), None);
    }

    #[test]
    fn parse() {
        assert_eq!(
            "c12a7328-f81f-11d2-ba4b-00a0c93ec93b".parse::<Guid>(),
            Ok(ESP)
        );
        assert_eq!(
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".parse::<Guid>(),
            Ok(ESP)
        );
        for bad in [
            "",
            "c12a7328f81f11d2ba4b00a0c93ec93b",
            "c12a7328-f81f-11d2-ba4b-00a0c93ec93",
            "c12a7328-f81f-11d2-ba4b-00a0c93ec93b0",
            "c12a7328-f81f-11d2-ba4b00a0-c93ec93b",
            "g12a7328-f81f-11d2-ba4b-00a0c93ec93b",
            "+12a7328-f81f-11d2-ba4b-00a0c93ec93b",
            "c12a7328-f81f-11d2-ba4b-00a0c93ec93b-",
        ] {
            assert_eq!(
                bad.parse::<Guid>(),
                Err(ParseGuidError(bad.to_string())),
                "{bad}"
            );
        }
        assert_eq!(
            ParseGuidError("x".into()).to_string(),
            "\"x\" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
        );
    }

    #[test]
    fn v4_prefix_suffix() {
        let g = Guid::v4_from_bytes([0xff; 16]);
        assert_eq!(g.to_string(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let g = Guid::v4_from_bytes([0; 16]);
        assert_eq!(g.to_string(), "00000000-0000-4000-8000-000000000000");
        let rh: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            Guid::from_prefix(&rh).unwrap().to_string(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert_eq!(
            Guid::from_suffix(&rh).unwrap().to_string(),
            "10111213-1415-1617-1819-1a1b1c1d1e1f"
        );
        assert!(Guid::from_prefix(&rh[..15]).is_none());
        assert!(Guid::from_suffix(&rh[..15]).is_none());
    }

    #[test]
    fn serde_as_string() {
        use serde::Deserialize as _;
        use serde::de::IntoDeserializer as _;
        use serde::de::value::{Error, StrDeserializer};
        let d: StrDeserializer<'_, Error> =
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".into_deserializer();
        assert_eq!(Guid::deserialize(d), Ok(ESP));
        let d: StrDeserializer<'_, Error> = "c12a7328".into_deserializer();
        assert!(Guid::deserialize(d).is_err());
    }
}
