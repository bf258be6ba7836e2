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
//! GUID constants are written as their text, exactly as the UEFI and UAPI specifications print them, with the
//! [`guid!`](crate::guid!) macro: it parses at compile time (a malformed literal does not compile) with the
//! same parser as [`str::parse`], [`Guid::try_parse`].
//!
//! ```
//! use yardstick_common::guid;
//! use yardstick_common::guid::Guid;
//! // EFI_GLOBAL_VARIABLE, as the UEFI specification writes it.
//! const GLOBAL: Guid = guid!("8be4df61-93ca-11d2-aa0d-00e098032b8c");
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

/// The value of one hex digit of either case.
const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A [`Guid`] constant written as its text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case), parsed
/// at compile time by [`Guid::try_parse`]: a malformed literal is a compile error.
///
/// ```
/// use yardstick_common::guid;
/// use yardstick_common::guid::Guid;
/// const ESP: Guid = guid!("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
/// assert_eq!(ESP.to_efi_bytes()[..4], [0x28, 0x73, 0x2a, 0xc1]);
/// ```
///
/// ```compile_fail
/// const BAD: yardstick_common::guid::Guid = yardstick_common::guid!("c12a7328f81f11d2ba4b00a0c93ec93b");
/// ```
#[macro_export]
macro_rules! guid {
    ($text:literal) => {
        const {
            match $crate::guid::Guid::try_parse($text) {
                ::core::option::Option::Some(g) => g,
                ::core::option::Option::None => ::core::panic!(::core::concat!(
                    "guid!: ",
                    $text,
                    " is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
                )),
            }
        }
    };
}

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

    /// Parses the text form the way libuuid's `uuid_parse()` does: exactly 36 characters, hex digits of either
    /// case, dashes at positions 8, 13, 18 and 23; `None` for anything else.
    ///
    /// A `const fn`, so the [`guid!`](crate::guid!) macro checks constants at compile time; [`str::parse`]
    /// goes through it too.
    // A const fn cannot use iterators or `get`: every index is in bounds because `s.len() == 36` is checked,
    // `pos < 36` (and `pos + 1 < 36`, as no pair starts at 35), and 32 hex digits fill `out` exactly.
    #[allow(clippy::indexing_slicing)]
    pub const fn try_parse(text: &str) -> Option<Guid> {
        let s = text.as_bytes();
        if s.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut pos = 0;
        let mut byte = 0;
        while pos < 36 {
            if matches!(pos, 8 | 13 | 18 | 23) {
                if s[pos] != b'-' {
                    return None;
                }
                pos += 1;
                continue;
            }
            let (Some(hi), Some(lo)) = (hex_digit(s[pos]), hex_digit(s[pos + 1])) else {
                return None;
            };
            out[byte] = (hi << 4) | lo;
            byte += 1;
            pos += 2;
        }
        Some(Guid(out))
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

    /// Parses the text form with [`Guid::try_parse`].
    fn from_str(s: &str) -> Result<Guid, ParseGuidError> {
        Guid::try_parse(s).ok_or_else(|| ParseGuidError(s.to_string()))
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
    const ESP: Guid = crate::guid!("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");

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

    /// `try_parse` (and so `parse` and `guid!`) accepts exactly what the split-and-hex-decode parser it
    /// replaced accepted: five dash-separated groups of 8, 4, 4, 4 and 12 bytes of hex digits.
    #[test]
    fn try_parse_matches_group_parser() {
        fn groups(s: &str) -> Option<[u8; 16]> {
            let parts: Vec<&str> = s.split('-').collect();
            if parts.iter().map(|p| p.len()).ne([8, 4, 4, 4, 12]) {
                return None;
            }
            crate::hex::decode_array::<16>(&parts.concat()).ok()
        }
        let good = "0123abcd-EF45-6789-aBcD-0123456789ef";
        assert_eq!(
            Guid::try_parse(good).map(|g| *g.as_bytes()),
            Some([
                0x01, 0x23, 0xab, 0xcd, 0xef, 0x45, 0x67, 0x89, 0xab, 0xcd, 0x01, 0x23, 0x45, 0x67,
                0x89, 0xef
            ])
        );
        let mut inputs = vec![
            good.to_string(),
            "é".repeat(18),
            format!("{}é", &good[..34]),
        ];
        for pos in 0..good.len() {
            for c in ["-", "0", "F", "g", " ", "é", "\0"] {
                inputs.push(format!("{}{c}{}", &good[..pos], &good[pos + 1..]));
                inputs.push(format!("{}{c}{}", &good[..pos], &good[pos..]));
            }
            inputs.push(format!("{}{}", &good[..pos], &good[pos + 1..]));
        }
        for s in &inputs {
            assert_eq!(
                Guid::try_parse(s).map(|g| *g.as_bytes()),
                groups(s),
                "{s:?}"
            );
        }
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
