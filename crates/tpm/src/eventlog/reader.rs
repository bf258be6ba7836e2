//! A bounds-checked little-endian cursor over untrusted bytes: every read either returns the value or says how
//! many bytes were wanted and how many were left, never panics.

/// Not enough bytes left for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    /// Bytes the field needs.
    pub wanted: u64,
    /// Bytes left in the input.
    pub left: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Offset of the next byte, from the start of the buffer.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes `n` bytes. `n` is a u64 so that a 32- or 64-bit length field read from the input can be passed
    /// unchecked: anything longer than the input is an error, not a truncation or an overflow.
    pub fn take(&mut self, n: u64) -> Result<&'a [u8], Short> {
        let short = Short {
            wanted: n,
            left: self.remaining(),
        };
        let n = usize::try_from(n).map_err(|_| short)?;
        let end = self.pos.checked_add(n).ok_or(short)?;
        let s = self.buf.get(self.pos..end).ok_or(short)?;
        self.pos = end;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let s = self.take(N as u64)?;
        // `take` returned exactly N bytes.
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Short> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, Short> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, Short> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 0, 9]);
        assert_eq!(r.u16(), Ok(1));
        assert_eq!(r.u32(), Ok(2));
        assert_eq!(r.pos(), 6);
        assert_eq!(r.u16(), Err(Short { wanted: 2, left: 1 }));
        assert_eq!(
            r.take(u64::MAX),
            Err(Short {
                wanted: u64::MAX,
                left: 1
            })
        );
        assert_eq!(r.u8(), Ok(9));
        assert!(r.is_empty());
    }
}
