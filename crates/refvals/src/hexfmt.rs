//! Byte strings that appear in the manifest as lower-case hex, validated when parsed.

use std::fmt;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_common::hex;

/// Bytes of any length, written as lower-case hex (`""` for none). Lengths that depend on another field
/// (a root hash and its algorithm) are checked by [`crate::Manifest::validate`].
#[derive(Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct HexBytes(pub Vec<u8>);

impl HexBytes {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// True if no bytes are held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&[u8]> for HexBytes {
    fn from(b: &[u8]) -> Self {
        HexBytes(b.to_vec())
    }
}

impl From<Vec<u8>> for HexBytes {
    fn from(b: Vec<u8>) -> Self {
        HexBytes(b)
    }
}

impl From<&Digest> for HexBytes {
    fn from(d: &Digest) -> Self {
        HexBytes(d.as_ref().to_vec())
    }
}

impl std::str::FromStr for HexBytes {
    type Err = hex::HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        hex::decode(s).map(HexBytes)
    }
}

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexBytes({})", self.to_hex())
    }
}

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        hex::decode(s.trim())
            .map(HexBytes)
            .map_err(serde::de::Error::custom)
    }
}

/// Exactly `N` bytes written as lower-case hex: SHA-256 (`N = 32`) and SHA-384 (`N = 48`) file digests.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HexArray<const N: usize>(pub [u8; N]);

impl<const N: usize> HexArray<N> {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The digest's bytes as a [`HexArray`]; `None` if the length differs.
    pub fn from_digest(d: &Digest) -> Option<Self> {
        <[u8; N]>::try_from(d.as_ref()).ok().map(HexArray)
    }
}

impl<const N: usize> fmt::Debug for HexArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> fmt::Display for HexArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl<const N: usize> serde::Serialize for HexArray<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for HexArray<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        hex::decode_array::<N>(s.trim())
            .map(HexArray)
            .map_err(serde::de::Error::custom)
    }
}

/// A digest whose algorithm is named by the surrounding JSON key (`{"sha256": "<hex>"}`), checked for length
/// when a manifest is validated.
pub(crate) fn digest_len_ok(alg: Algorithm, bytes: &HexBytes) -> bool {
    bytes.0.len() == alg.digest_len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects() {
        let h: HexBytes = serde_json::from_str("\"00ABff\"").unwrap();
        assert_eq!(h.as_bytes(), &[0, 0xab, 0xff]);
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"00abff\"");
        assert!(serde_json::from_str::<HexBytes>("\"0g\"").is_err());
        let e: HexBytes = serde_json::from_str("\"\"").unwrap();
        assert!(e.is_empty());
        assert!(serde_json::from_str::<HexArray<2>>("\"0001\"").is_ok());
        assert!(serde_json::from_str::<HexArray<2>>("\"000102\"").is_err());
    }
}
