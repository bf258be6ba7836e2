//! Multi-buffer SHA-256: many equal-length messages, each framed as `prefix || message || suffix`, hashed
//! side by side in the lanes of vector registers (8 with AVX2, 16 with AVX-512), plus the portable
//! compression function (FIPS 180-4 §6.2.2) they are checked against.
//!
//! * The whole 64-byte blocks of the common prefix are compressed once (a "midstate") and shared by all lanes.
//! * Message blocks that lie entirely inside the message are read straight from the caller's buffer: one
//!   64-byte row per lane, transposed into words (AVX-512: a 16×16 word transpose; AVX2: two 8×8).
//! * The few blocks that mix prefix, message, suffix and padding are assembled in a small staging area.
//!
//! Users that hash one message at a time, or use SHA-NI, want ring (through `yardstick_common::hash`); this
//! module is the engine behind `yardstick_common::hash::multi`.

use crate::{Isa, Unavailable};

/// The initial hash value H⁽⁰⁾ (FIPS 180-4 §5.3.3).
pub const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// FIPS 180-4 §4.2.2 round constants.
pub(crate) const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// One SHA-256 compression (FIPS 180-4 §6.2.2), portable.
pub fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [0u32; 64];
    for (t, c) in block.chunks_exact(4).enumerate() {
        w[t] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
    for t in 16..64 {
        let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16]
            .wrapping_add(s0)
            .wrapping_add(w[t - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K256[t])
            .wrapping_add(w[t]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}

/// The digest (big-endian bytes) of a final state.
pub fn state_bytes(st: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(st) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Hashes many messages of one length, each framed as `prefix || message || suffix`, with the kernel of one
/// instruction set (see the module docs). Cheap to clone; share one per thread.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Checked to be available on this CPU by [`Batch::new`]; the dispatch relies on it.
    isa: Isa,
    /// State after compressing the prefix's whole 64-byte blocks.
    midstate: [u32; 8],
    /// The rest of the prefix (< 64 bytes), hashed in every lane.
    tail: Vec<u8>,
    /// Prefix bytes already compressed into `midstate`.
    absorbed: usize,
    msg_len: usize,
    suffix: Vec<u8>,
}

impl Batch {
    /// A batch hasher for `msg_len`-byte messages framed by `prefix` and `suffix`, using `isa`'s kernel; an
    /// error if the CPU cannot run it.
    pub fn new(
        isa: Isa,
        prefix: &[u8],
        suffix: &[u8],
        msg_len: usize,
    ) -> Result<Batch, Unavailable> {
        let isa = isa.check()?;
        let whole = prefix.len() / 64 * 64;
        let mut midstate = H0;
        for block in prefix[..whole].as_chunks::<64>().0 {
            compress(&mut midstate, block);
        }
        Ok(Batch {
            isa,
            midstate,
            tail: prefix[whole..].to_vec(),
            absorbed: whole,
            msg_len,
            suffix: suffix.to_vec(),
        })
    }

    /// The instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Messages hashed per step (1, 8 or 16); batches that are a multiple of this waste no lanes.
    pub fn lanes(&self) -> usize {
        match self.isa {
            Isa::Scalar => 1,
            Isa::Avx2 => 8,
            Isa::Avx512 => 16,
        }
    }

    /// The message length this batch hasher was built for.
    pub fn msg_len(&self) -> usize {
        self.msg_len
    }

    /// Digests consecutive `msg_len`-byte messages of `buf` into `out` (message `i` is
    /// `buf[i * msg_len..(i + 1) * msg_len]`). Processes `min(out.len(), buf.len() / msg_len)` messages (all of
    /// `out` for empty messages) and returns that count.
    pub fn digest_chunks(&self, buf: &[u8], out: &mut [[u8; 32]]) -> usize {
        let count = match buf.len().checked_div(self.msg_len) {
            Some(n) => out.len().min(n),
            None => out.len(),
        };
        let frame = Frame::new(self);
        // Gather offsets are 32-bit: keep each window well inside i32 range.
        let per_window = (1usize << 30)
            .checked_div(self.msg_len)
            .unwrap_or(count)
            .max(1);
        let mut done = 0;
        while done < count {
            let n = per_window.min(count - done);
            let window = buf
                .get(done * self.msg_len..(done + n) * self.msg_len)
                .unwrap_or(&[]);
            self.dispatch(&frame, window, &mut out[done..done + n]);
            done += n;
        }
        count
    }

    fn dispatch(&self, frame: &Frame<'_>, buf: &[u8], out: &mut [[u8; 32]]) {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                for (i, chunk) in out.chunks_mut(16).enumerate() {
                    // SAFETY: `self.isa` is `Avx512` only if `Batch::new` found AVX-512F and AVX-512BW on this
                    // CPU (`Isa::check`), the features `sha256` is compiled for.
                    unsafe {
                        crate::x86::avx512::sha256(&self.midstate, frame, buf, i * 16, chunk)
                    };
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                for (i, chunk) in out.chunks_mut(8).enumerate() {
                    // SAFETY: `self.isa` is `Avx2` only if `Batch::new` found AVX2 on this CPU.
                    unsafe { crate::x86::avx2::sha256(&self.midstate, frame, buf, i * 8, chunk) };
                }
            }
            _ => {
                let mut block = [0u8; 64];
                for (i, o) in out.iter_mut().enumerate() {
                    let m = buf
                        .get(i * frame.msg_len..(i + 1) * frame.msg_len)
                        .unwrap_or(&[]);
                    let mut st = self.midstate;
                    for j in 0..frame.blocks {
                        frame.fill(j, m, &mut block);
                        compress(&mut st, &block);
                    }
                    *o = state_bytes(&st);
                }
            }
        }
    }
}

/// The byte stream one lane hashes after the midstate: `tail || message || suffix || padding`.
pub(crate) struct Frame<'a> {
    tail: &'a [u8],
    pub(crate) msg_len: usize,
    suffix: &'a [u8],
    /// `tail + message + suffix` bytes.
    len: usize,
    /// 64-byte blocks including padding.
    pub(crate) blocks: usize,
    /// Total message length in bits (prefix included), as stored in the padding.
    bits: u64,
}

impl<'a> Frame<'a> {
    fn new(b: &'a Batch) -> Frame<'a> {
        let len = b.tail.len() + b.msg_len + b.suffix.len();
        Frame {
            tail: &b.tail,
            msg_len: b.msg_len,
            suffix: &b.suffix,
            len,
            blocks: (len + 9).div_ceil(64),
            bits: ((b.absorbed + len) as u64).wrapping_mul(8),
        }
    }

    /// Where block `j` starts inside the message if it lies entirely inside it.
    pub(crate) fn direct(&self, j: usize) -> Option<usize> {
        let start = j * 64;
        (start >= self.tail.len() && start + 64 <= self.tail.len() + self.msg_len)
            .then(|| start - self.tail.len())
    }

    /// Assembles block `j` of the stream whose message is `m`.
    pub(crate) fn fill(&self, j: usize, m: &[u8], dst: &mut [u8; 64]) {
        let start = j * 64;
        dst.fill(0);
        let mut put = |at: usize, src: &[u8]| {
            let lo = at.max(start);
            let hi = (at + src.len()).min(start + 64);
            if lo < hi {
                dst[lo - start..hi - start].copy_from_slice(&src[lo - at..hi - at]);
            }
        };
        put(0, self.tail);
        put(self.tail.len(), m);
        put(self.tail.len() + self.msg_len, self.suffix);
        if (start..start + 64).contains(&self.len) {
            dst[self.len - start] = 0x80;
        }
        if j + 1 == self.blocks {
            dst[56..64].copy_from_slice(&self.bits.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_is_fips_abc() {
        // FIPS 180-2 "abc", padded by hand.
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        let mut st = H0;
        compress(&mut st, &block);
        let hex: String = state_bytes(&st)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
