//! Fixed-size fields read out of byte buffers without panicking: each accessor returns `None` when the field
//! does not fit in the buffer (or its end overflows `usize`), so a parser turns a short input into its own error.
//!
//! ```
//! use yardstick_common::bytes;
//! let b = [0x34, 0x12, 0xff];
//! assert_eq!(bytes::le16(&b, 0), Some(0x1234));
//! assert_eq!(bytes::le16(&b, 2), None);
//! assert_eq!(bytes::array::<2>(&b, 1), Some([0x12, 0xff]));
//! ```

/// The `N` bytes at `at`.
pub fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The little-endian `u16` at `at`.
pub fn le16(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_le_bytes)
}

/// The little-endian `u32` at `at`.
pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    array(b, at).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `at`.
pub fn le64(b: &[u8], at: usize) -> Option<u64> {
    array(b, at).map(u64::from_le_bytes)
}

/// The big-endian `u16` at `at`.
pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_be_bytes)
}

/// The big-endian `u32` at `at`.
pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    array(b, at).map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_none() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(le32(&b, 1), Some(0x0504_0302));
        assert_eq!(be32(&b, 0), Some(0x0102_0304));
        assert_eq!(be16(&b, 3), Some(0x0405));
        assert_eq!(le32(&b, 2), None);
        assert_eq!(le64(&b, 0), None);
        assert_eq!(le16(&b, usize::MAX), None);
        assert_eq!(array::<0>(&b, 5), Some([]));
        assert_eq!(array::<0>(&b, 6), None);
    }
}
