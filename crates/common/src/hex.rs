//! Lower-case hex encoding and strict decoding.

use std::fmt::Write as _;

/// Why a hex string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string has an odd number of digits.
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
    /// A character that is not a hex digit.
    #[error("invalid hex character {ch:?} at position {pos}")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its position (in characters) in the input.
        pos: usize,
    },
    /// The decoded value does not have the required length.
    #[error("expected {expected} bytes ({} hex digits), got {actual} bytes", expected * 2)]
    WrongLength {
        /// Required length in bytes.
        expected: usize,
        /// Decoded length in bytes.
        actual: usize,
    },
}

/// Encodes bytes as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes a hex string (either case). Surrounding whitespace is not accepted: trim first.
pub fn decode(s: &str) -> Result<Vec<u8>, HexError> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(HexError::OddLength(bytes.len()));
    }
    let nibble = |pos: usize, c: u8| -> Result<u8, HexError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(HexError::InvalidChar {
                // Every byte before `pos` is an ASCII hex digit, so `pos` is on a character boundary.
                ch: s.get(pos..).and_then(|t| t.chars().next()).unwrap_or('?'),
                pos: s.get(..pos).map_or(pos, |t| t.chars().count()),
            }),
        }
    };
    bytes
        .chunks_exact(2)
        .zip((0..).step_by(2))
        .map(|(pair, pos)| {
            let (hi, lo) = match *pair {
                [hi, lo] => (hi, lo),
                _ => (0, 0), // chunks_exact(2): never taken
            };
            Ok((nibble(pos, hi)? << 4) | nibble(pos + 1, lo)?)
        })
        .collect()
}

/// Decodes a hex string that must decode to exactly `N` bytes.
pub fn decode_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let v = decode(s)?;
    v.as_slice().try_into().map_err(|_| HexError::WrongLength {
        expected: N,
        actual: v.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = [0u8, 1, 0xab, 0xff];
        assert_eq!(encode(&v), "0001abff");
        assert_eq!(decode("0001ABff").unwrap(), v);
    }

    #[test]
    fn rejects() {
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
        assert_eq!(decode("0g"), Err(HexError::InvalidChar { ch: 'g', pos: 1 }));
        assert!(matches!(
            decode("é00"),
            Err(HexError::InvalidChar { pos: 0, .. })
        ));
        assert_eq!(
            decode_array::<2>("00"),
            Err(HexError::WrongLength {
                expected: 2,
                actual: 1
            })
        );
    }
}
