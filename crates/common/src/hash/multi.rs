//! Many equal-length messages hashed at once: multi-buffer SHA-256.
//!
//! dm-verity hashes every data block as `salt || block` (format 1) or `block || salt` (format 0): millions of
//! independent, equal-length messages. A CPU without SHA-NI hashes one SHA-256 stream at about 330 MB/s per
//! core (ring's AVX2 code), but the same CPU can run 8 (AVX2) or 16 (AVX-512) independent SHA-256
//! computations side by side in the lanes of one vector register, several times faster in total. This module
//! does exactly that for a batch of messages framed as `prefix || message || suffix`:
//!
//! * the whole 64-byte blocks of the common prefix are compressed once (a "midstate") and shared by all lanes;
//! * message blocks that lie entirely inside the message are read straight from the caller's buffer (AVX-512:
//!   16 row loads and a 16×16 word transpose; AVX2: gathers);
//! * the few blocks that mix prefix, message, suffix and padding are assembled in a small staging area.
//!
//! Backend choice, made once at run time ([`Backend::detect`]): SHA-NI present → ring (its SHA-NI code beats
//! multi-buffer); otherwise AVX-512 (16 lanes), else AVX2 (8 lanes), else ring. `YARDSTICK_HASH_BACKEND` =
//! `ring`, `avx2` or `avx512` forces one (for tests and benchmarks); an unavailable choice falls back to detection.
//! SHA-1, SHA-384 and SHA-512 always use ring, one message at a time, with the prefix absorbed once.
//!
//! ```
//! use yardstick_common::hash::{Algorithm, multi::BatchHasher};
//! let salt = [7u8; 32];
//! let blocks = vec![0xabu8; 4 * 4096];
//! let h = BatchHasher::new(Algorithm::Sha256, &salt, &[], 4096);
//! let mut out = vec![Algorithm::Sha256.zero(); 4];
//! h.digest_chunks(&blocks, &mut out);
//! assert_eq!(out[3], Algorithm::Sha256.digest_parts(&[&salt, &blocks[..4096]]));
//! ```

use super::{Algorithm, Digest, MAX_DIGEST_LEN};

/// How a [`BatchHasher`] computes SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// ring, one message at a time (ring uses SHA-NI when the CPU has it).
    Ring,
    /// 8 SHA-256 computations in the lanes of AVX2 registers.
    Avx2,
    /// 16 SHA-256 computations in the lanes of AVX-512 registers.
    Avx512,
}

impl Backend {
    /// Every backend, for tests that exercise them all.
    pub const ALL: [Backend; 3] = [Backend::Ring, Backend::Avx2, Backend::Avx512];

    /// Whether this CPU can run the backend.
    pub fn available(self) -> bool {
        match self {
            Backend::Ring => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Messages hashed per step.
    pub const fn lanes(self) -> usize {
        match self {
            Backend::Ring => 1,
            Backend::Avx2 => 8,
            Backend::Avx512 => 16,
        }
    }

    /// Lower-case name, as accepted by `YARDSTICK_HASH_BACKEND`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Ring => "ring",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
        }
    }

    /// The fastest SHA-256 backend for this CPU (see the module docs), unless `YARDSTICK_HASH_BACKEND` forces an
    /// available one. Detected once per process.
    pub fn detect() -> Backend {
        static CHOICE: std::sync::OnceLock<Backend> = std::sync::OnceLock::new();
        *CHOICE.get_or_init(|| {
            let forced = std::env::var("YARDSTICK_HASH_BACKEND").ok().and_then(|v| {
                Backend::ALL
                    .into_iter()
                    .find(|b| b.name() == v.trim().to_ascii_lowercase())
            });
            if let Some(b) = forced.filter(|b| b.available()) {
                return b;
            }
            if sha_ni() {
                Backend::Ring
            } else if Backend::Avx512.available() {
                Backend::Avx512
            } else if Backend::Avx2.available() {
                Backend::Avx2
            } else {
                Backend::Ring
            }
        })
    }
}

fn sha_ni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Hashes many messages of one length, each framed as `prefix || message || suffix`, using every vector lane
/// the CPU offers (see the module docs). Cheap to clone; share one per thread.
#[derive(Clone)]
pub struct BatchHasher {
    alg: Algorithm,
    msg_len: usize,
    suffix: Vec<u8>,
    /// ring context with the prefix absorbed: used for [`Backend::Ring`] and for odd-sized messages.
    ring_ctx: ring::digest::Context,
    simd: Option<Sha256Simd>,
}

#[derive(Clone)]
struct Sha256Simd {
    backend: Backend,
    /// State after compressing the prefix's whole 64-byte blocks.
    midstate: [u32; 8],
    /// The rest of the prefix (< 64 bytes), hashed in every lane.
    tail: Vec<u8>,
    /// Prefix bytes already compressed into `midstate`.
    absorbed: usize,
}

impl BatchHasher {
    /// A hasher for messages of `msg_len` bytes with the best backend for this CPU.
    pub fn new(alg: Algorithm, prefix: &[u8], suffix: &[u8], msg_len: usize) -> BatchHasher {
        BatchHasher::with_backend(alg, prefix, suffix, msg_len, Backend::detect())
    }

    /// A hasher using `backend` for SHA-256 if the CPU supports it (otherwise ring). Other algorithms always
    /// use ring.
    pub fn with_backend(
        alg: Algorithm,
        prefix: &[u8],
        suffix: &[u8],
        msg_len: usize,
        backend: Backend,
    ) -> BatchHasher {
        let mut ring_ctx = alg.hasher().ctx;
        ring_ctx.update(prefix);
        let simd = (alg == Algorithm::Sha256 && backend != Backend::Ring && backend.available())
            .then(|| {
                let whole = prefix.len() / 64 * 64;
                let mut midstate = SHA256_H0;
                for block in prefix[..whole].chunks_exact(64) {
                    let mut b = [0u8; 64];
                    b.copy_from_slice(block);
                    compress_scalar(&mut midstate, &b);
                }
                Sha256Simd {
                    backend,
                    midstate,
                    tail: prefix[whole..].to_vec(),
                    absorbed: whole,
                }
            });
        BatchHasher {
            alg,
            msg_len,
            suffix: suffix.to_vec(),
            ring_ctx,
            simd,
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The backend actually in use.
    pub fn backend(&self) -> Backend {
        self.simd.as_ref().map_or(Backend::Ring, |s| s.backend)
    }

    /// The message length this hasher was built for.
    pub fn msg_len(&self) -> usize {
        self.msg_len
    }

    /// How many messages one step hashes; batches that are a multiple of this waste no lanes.
    pub fn lanes(&self) -> usize {
        self.backend().lanes()
    }

    /// Digest of `prefix || msg || suffix` for one message of any length.
    pub fn digest_one(&self, msg: &[u8]) -> Digest {
        let mut ctx = self.ring_ctx.clone();
        ctx.update(msg);
        ctx.update(&self.suffix);
        Digest::from_ring(self.alg, ctx.finish())
    }

    /// Digests consecutive `msg_len`-byte messages of `buf` into `out` (message `i` is
    /// `buf[i * msg_len..(i + 1) * msg_len]`). Processes `min(out.len(), buf.len() / msg_len)` messages and
    /// returns that count.
    pub fn digest_chunks(&self, buf: &[u8], out: &mut [Digest]) -> usize {
        let count = match buf.len().checked_div(self.msg_len) {
            Some(n) => out.len().min(n),
            None => out.len(),
        };
        let Some(simd) = &self.simd else {
            for (i, o) in out.iter_mut().enumerate().take(count) {
                let m = buf
                    .get(i * self.msg_len..(i + 1) * self.msg_len)
                    .unwrap_or(&[]);
                *o = self.digest_one(m);
            }
            return count;
        };
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
            let frame = Frame::new(simd, self.msg_len, &self.suffix);
            let outs = &mut out[done..done + n];
            simd_dispatch(simd.backend, &simd.midstate, &frame, window, outs);
            done += n;
        }
        count
    }
}

/// The byte stream one lane hashes after the midstate: `tail || message || suffix || padding`.
struct Frame<'a> {
    tail: &'a [u8],
    msg_len: usize,
    suffix: &'a [u8],
    /// `tail + message + suffix` bytes.
    len: usize,
    /// 64-byte blocks including padding.
    blocks: usize,
    /// Total message length in bits (prefix included), as stored in the padding.
    bits: u64,
}

impl<'a> Frame<'a> {
    fn new(simd: &'a Sha256Simd, msg_len: usize, suffix: &'a [u8]) -> Frame<'a> {
        let len = simd.tail.len() + msg_len + suffix.len();
        Frame {
            tail: &simd.tail,
            msg_len,
            suffix,
            len,
            blocks: (len + 9).div_ceil(64),
            bits: ((simd.absorbed + len) as u64).wrapping_mul(8),
        }
    }

    /// Where block `j` starts inside the message if it lies entirely inside it.
    fn direct(&self, j: usize) -> Option<usize> {
        let start = j * 64;
        (start >= self.tail.len() && start + 64 <= self.tail.len() + self.msg_len)
            .then(|| start - self.tail.len())
    }

    /// Assembles block `j` of the stream whose message is `m`.
    fn fill(&self, j: usize, m: &[u8], dst: &mut [u8]) {
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

#[allow(unsafe_code)]
fn simd_dispatch(
    backend: Backend,
    midstate: &[u32; 8],
    frame: &Frame<'_>,
    buf: &[u8],
    out: &mut [Digest],
) {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => {
            for (i, chunk) in out.chunks_mut(16).enumerate() {
                // SAFETY: a `Sha256Simd` with this backend is only built after `Backend::available()` confirmed
                // AVX-512F and AVX-512BW at run time.
                unsafe { x86::sha256_x16(midstate, frame, buf, i * 16, chunk) };
            }
        }
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => {
            for (i, chunk) in out.chunks_mut(8).enumerate() {
                // SAFETY: built only after `Backend::available()` confirmed AVX2 at run time.
                unsafe { x86::sha256_x8(midstate, frame, buf, i * 8, chunk) };
            }
        }
        _ => {
            // Not reachable: other backends never build a `Sha256Simd`. Portable fallback for completeness.
            let mut block = [0u8; 64];
            for (i, o) in out.iter_mut().enumerate() {
                let m = buf
                    .get(i * frame.msg_len..(i + 1) * frame.msg_len)
                    .unwrap_or(&[]);
                let mut st = *midstate;
                for j in 0..frame.blocks {
                    frame.fill(j, m, &mut block);
                    compress_scalar(&mut st, &block);
                }
                *o = state_digest(&st);
            }
        }
    }
}

fn state_digest(st: &[u32; 8]) -> Digest {
    let mut bytes = [0u8; MAX_DIGEST_LEN];
    for (i, w) in st.iter().enumerate() {
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    Digest {
        alg: Algorithm::Sha256,
        bytes,
    }
}

const SHA256_H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// FIPS 180-4 §4.2.2 round constants.
const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// One SHA-256 compression (FIPS 180-4 §6.2.2), portable. Used for the shared prefix midstate.
fn compress_scalar(state: &mut [u32; 8], block: &[u8; 64]) {
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

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    //! The SIMD kernels. Every `unsafe` here is a memory access through a raw pointer (load, gather) whose
    //! bounds are established right before it; the arithmetic intrinsics are safe inside `#[target_feature]`
    //! functions.

    use super::{Digest, Frame, K256, state_digest};
    use std::arch::x86_64::*;

    /// Byte order of each 32-bit word reversed (SHA-256 is big-endian), per 128-bit lane.
    const BSWAP: [i8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

    /// Hashes messages `first ..` of `buf` (up to 16, one per lane, `out.len()` of them) through `frame`.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn sha256_x16(
        midstate: &[u32; 8],
        frame: &Frame<'_>,
        buf: &[u8],
        first: usize,
        out: &mut [Digest],
    ) {
        let n = out.len().clamp(1, 16);
        // Lanes beyond `n` repeat the last message; their results are dropped.
        let mut offs = [0i32; 16];
        for (l, o) in offs.iter_mut().enumerate() {
            *o = ((first + l.min(n - 1)) * frame.msg_len) as i32;
        }
        let bswap = _mm512_broadcast_i32x4(_mm_loadu_si128_arr(&BSWAP));
        let mut st = [_mm512_setzero_si512(); 8];
        for (s, &h) in st.iter_mut().zip(midstate) {
            *s = _mm512_set1_epi32(h as i32);
        }
        let mut staging = [0u8; 16 * 64];
        for j in 0..frame.blocks {
            let mut rows = [_mm512_setzero_si512(); 16];
            match frame.direct(j) {
                Some(moff) if !buf.is_empty() => {
                    for (l, row) in rows.iter_mut().enumerate() {
                        let at = offs[l] as usize + moff;
                        let src = &buf[at..at + 64];
                        // SAFETY: `src` is a 64-byte slice: block `j` lies inside each lane's message
                        // (`Frame::direct`), which lies inside `buf`.
                        *row = unsafe { _mm512_loadu_si512(src.as_ptr().cast()) };
                    }
                }
                _ => {
                    for (l, dst) in staging.chunks_exact_mut(64).enumerate() {
                        let m = (first + l.min(n - 1)) * frame.msg_len;
                        let msg = buf.get(m..m + frame.msg_len).unwrap_or(&[]);
                        frame.fill(j, msg, dst);
                    }
                    for (row, src) in rows.iter_mut().zip(staging.chunks_exact(64)) {
                        // SAFETY: `src` is a 64-byte slice of the staging array.
                        *row = unsafe { _mm512_loadu_si512(src.as_ptr().cast()) };
                    }
                }
            }
            let mut w = transpose16(&rows);
            for wt in w.iter_mut() {
                *wt = _mm512_shuffle_epi8(*wt, bswap);
            }
            compress16(&mut st, &mut w);
        }
        let mut words = [[0u32; 16]; 8];
        for (s, dst) in st.iter().zip(words.iter_mut()) {
            // SAFETY: `__m512i` and `[u32; 16]` are both 64 bytes of plain data.
            *dst = unsafe { core::mem::transmute::<__m512i, [u32; 16]>(*s) };
        }
        for (l, o) in out.iter_mut().enumerate().take(n) {
            let lane: [u32; 8] = core::array::from_fn(|i| words[i][l]);
            *o = state_digest(&lane);
        }
    }

    /// Rows (one 64-byte message block per lane) to columns (word `t` of every lane), a 16×16 transpose of
    /// 32-bit words: two unpack stages within 128-bit lanes, then two 128-bit lane shuffles.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose16(r: &[__m512i; 16]) -> [__m512i; 16] {
        let mut t = [_mm512_setzero_si512(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
        }
        // u[4j + k], 128-bit lane L: word 4L + k of rows 4j..4j+3.
        let mut u = [_mm512_setzero_si512(); 16];
        for j in 0..4 {
            u[4 * j] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
            u[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
            u[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
            u[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
        }
        let mut w = [_mm512_setzero_si512(); 16];
        for k in 0..4 {
            let v0 = _mm512_shuffle_i32x4::<0x44>(u[k], u[4 + k]);
            let v1 = _mm512_shuffle_i32x4::<0xEE>(u[k], u[4 + k]);
            let v2 = _mm512_shuffle_i32x4::<0x44>(u[8 + k], u[12 + k]);
            let v3 = _mm512_shuffle_i32x4::<0xEE>(u[8 + k], u[12 + k]);
            w[k] = _mm512_shuffle_i32x4::<0x88>(v0, v2);
            w[4 + k] = _mm512_shuffle_i32x4::<0xDD>(v0, v2);
            w[8 + k] = _mm512_shuffle_i32x4::<0x88>(v1, v3);
            w[12 + k] = _mm512_shuffle_i32x4::<0xDD>(v1, v3);
        }
        w
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn _mm_loadu_si128_arr(v: &[i8; 16]) -> __m128i {
        // SAFETY: `[i8; 16]` and `__m128i` are both 16 bytes of plain data.
        unsafe { core::mem::transmute::<[i8; 16], __m128i>(*v) }
    }

    /// 64 rounds over 16 lanes; `w` is the message schedule window (consumed).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn compress16(st: &mut [__m512i; 8], w: &mut [__m512i; 16]) {
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *st;
        for t in 0..64 {
            let wt = if t < 16 {
                w[t]
            } else {
                let w15 = w[(t - 15) & 15];
                let w2 = w[(t - 2) & 15];
                let s0 = _mm512_ternarylogic_epi32::<0x96>(
                    _mm512_ror_epi32::<7>(w15),
                    _mm512_ror_epi32::<18>(w15),
                    _mm512_srli_epi32::<3>(w15),
                );
                let s1 = _mm512_ternarylogic_epi32::<0x96>(
                    _mm512_ror_epi32::<17>(w2),
                    _mm512_ror_epi32::<19>(w2),
                    _mm512_srli_epi32::<10>(w2),
                );
                let v = _mm512_add_epi32(
                    _mm512_add_epi32(w[t & 15], s0),
                    _mm512_add_epi32(w[(t - 7) & 15], s1),
                );
                w[t & 15] = v;
                v
            };
            let s1 = _mm512_ternarylogic_epi32::<0x96>(
                _mm512_ror_epi32::<6>(e),
                _mm512_ror_epi32::<11>(e),
                _mm512_ror_epi32::<25>(e),
            );
            // Ch(e, f, g) = e ? f : g
            let ch = _mm512_ternarylogic_epi32::<0xCA>(e, f, g);
            let t1 = _mm512_add_epi32(
                _mm512_add_epi32(h, s1),
                _mm512_add_epi32(ch, _mm512_add_epi32(wt, _mm512_set1_epi32(K256[t] as i32))),
            );
            let s0 = _mm512_ternarylogic_epi32::<0x96>(
                _mm512_ror_epi32::<2>(a),
                _mm512_ror_epi32::<13>(a),
                _mm512_ror_epi32::<22>(a),
            );
            // Maj(a, b, c): majority vote
            let maj = _mm512_ternarylogic_epi32::<0xE8>(a, b, c);
            let t2 = _mm512_add_epi32(s0, maj);
            h = g;
            g = f;
            f = e;
            e = _mm512_add_epi32(d, t1);
            d = c;
            c = b;
            b = a;
            a = _mm512_add_epi32(t1, t2);
        }
        for (s, v) in st.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = _mm512_add_epi32(*s, v);
        }
    }

    /// AVX2 has no rotate instruction: two shifts and an or.
    macro_rules! ror {
        ($x:expr, $n:literal) => {
            _mm256_or_si256(
                _mm256_srli_epi32::<$n>($x),
                _mm256_slli_epi32::<{ 32 - $n }>($x),
            )
        };
    }

    /// Like [`sha256_x16`] with 8 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sha256_x8(
        midstate: &[u32; 8],
        frame: &Frame<'_>,
        buf: &[u8],
        first: usize,
        out: &mut [Digest],
    ) {
        let n = out.len().clamp(1, 8);
        let mut offs = [0i32; 8];
        for (l, o) in offs.iter_mut().enumerate() {
            *o = ((first + l.min(n - 1)) * frame.msg_len) as i32;
        }
        // SAFETY: `[i32; 8]` and `__m256i` are both 32 bytes of plain data.
        let lane_base = unsafe { core::mem::transmute::<[i32; 8], __m256i>(offs) };
        let staged_idx = _mm256_setr_epi32(0, 64, 128, 192, 256, 320, 384, 448);
        let bswap = {
            let mut v = [0i8; 32];
            v[..16].copy_from_slice(&BSWAP);
            v[16..].copy_from_slice(&BSWAP);
            // SAFETY: 32 bytes of plain data each.
            unsafe { core::mem::transmute::<[i8; 32], __m256i>(v) }
        };
        let mut st = [_mm256_setzero_si256(); 8];
        for (s, &h) in st.iter_mut().zip(midstate) {
            *s = _mm256_set1_epi32(h as i32);
        }
        let mut staging = [0u8; 8 * 64];
        for j in 0..frame.blocks {
            let mut w = [_mm256_setzero_si256(); 16];
            match frame.direct(j) {
                Some(moff) if !buf.is_empty() => {
                    let idx = _mm256_add_epi32(lane_base, _mm256_set1_epi32(moff as i32));
                    for (t, wt) in w.iter_mut().enumerate() {
                        let it = _mm256_add_epi32(idx, _mm256_set1_epi32(4 * t as i32));
                        // SAFETY: as in `sha256_x16`: block `j` lies inside each lane's message, which lies
                        // inside `buf`.
                        let g = unsafe { _mm256_i32gather_epi32::<1>(buf.as_ptr().cast(), it) };
                        *wt = _mm256_shuffle_epi8(g, bswap);
                    }
                }
                _ => {
                    for (l, dst) in staging.chunks_exact_mut(64).enumerate() {
                        let m = (first + l.min(n - 1)) * frame.msg_len;
                        let msg = buf.get(m..m + frame.msg_len).unwrap_or(&[]);
                        frame.fill(j, msg, dst);
                    }
                    for (t, wt) in w.iter_mut().enumerate() {
                        let it = _mm256_add_epi32(staged_idx, _mm256_set1_epi32(4 * t as i32));
                        // SAFETY: indices `l*64 + 4t + [0,4)`, l < 8, t < 16: inside the 512-byte staging array.
                        let g = unsafe { _mm256_i32gather_epi32::<1>(staging.as_ptr().cast(), it) };
                        *wt = _mm256_shuffle_epi8(g, bswap);
                    }
                }
            }
            compress8(&mut st, &mut w);
        }
        let mut words = [[0u32; 8]; 8];
        for (s, dst) in st.iter().zip(words.iter_mut()) {
            // SAFETY: 32 bytes of plain data each.
            *dst = unsafe { core::mem::transmute::<__m256i, [u32; 8]>(*s) };
        }
        for (l, o) in out.iter_mut().enumerate().take(n) {
            let lane: [u32; 8] = core::array::from_fn(|i| words[i][l]);
            *o = state_digest(&lane);
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn compress8(st: &mut [__m256i; 8], w: &mut [__m256i; 16]) {
        let x3 = |a: __m256i, b: __m256i, c: __m256i| _mm256_xor_si256(_mm256_xor_si256(a, b), c);
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *st;
        for t in 0..64 {
            let wt = if t < 16 {
                w[t]
            } else {
                let w15 = w[(t - 15) & 15];
                let w2 = w[(t - 2) & 15];
                let s0 = x3(ror!(w15, 7), ror!(w15, 18), _mm256_srli_epi32::<3>(w15));
                let s1 = x3(ror!(w2, 17), ror!(w2, 19), _mm256_srli_epi32::<10>(w2));
                let v = _mm256_add_epi32(
                    _mm256_add_epi32(w[t & 15], s0),
                    _mm256_add_epi32(w[(t - 7) & 15], s1),
                );
                w[t & 15] = v;
                v
            };
            let s1 = x3(ror!(e, 6), ror!(e, 11), ror!(e, 25));
            let ch = _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g));
            let t1 = _mm256_add_epi32(
                _mm256_add_epi32(h, s1),
                _mm256_add_epi32(ch, _mm256_add_epi32(wt, _mm256_set1_epi32(K256[t] as i32))),
            );
            let s0 = x3(ror!(a, 2), ror!(a, 13), ror!(a, 22));
            // Maj(a, b, c) = (a & b) | (c & (a | b))
            let maj = _mm256_or_si256(
                _mm256_and_si256(a, b),
                _mm256_and_si256(c, _mm256_or_si256(a, b)),
            );
            let t2 = _mm256_add_epi32(s0, maj);
            h = g;
            g = f;
            f = e;
            e = _mm256_add_epi32(d, t1);
            d = c;
            c = b;
            b = a;
            a = _mm256_add_epi32(t1, t2);
        }
        for (s, v) in st.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = _mm256_add_epi32(*s, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Every backend this CPU has, against ring's one-shot digest of the concatenation: message lengths
    /// around every block boundary, prefixes (salts) of 0..=256 bytes, suffixes, batch sizes that do and do not
    /// fill the lanes, including a single message (a 1-block verity image).
    #[test]
    fn matches_ring_for_all_shapes() {
        let backends: Vec<Backend> = Backend::ALL.into_iter().filter(|b| b.available()).collect();
        let mut seed = 1;
        let lens = [
            0usize, 1, 23, 55, 56, 63, 64, 65, 119, 120, 128, 512, 1000, 4096,
        ];
        let prefixes = [0usize, 1, 20, 32, 55, 56, 63, 64, 65, 100, 128, 200, 256];
        for &msg_len in &lens {
            for &pl in &prefixes {
                for &(sl, count) in &[(0usize, 1usize), (0, 17), (32, 9), (7, 33)] {
                    seed += 1;
                    let prefix = bytes(seed, pl);
                    let suffix = bytes(seed + 1000, sl);
                    let buf = bytes(seed + 2000, msg_len * count);
                    for alg in [Algorithm::Sha256, Algorithm::Sha1, Algorithm::Sha512] {
                        for &b in &backends {
                            let h = BatchHasher::with_backend(alg, &prefix, &suffix, msg_len, b);
                            let mut out = vec![alg.zero(); count];
                            assert_eq!(h.digest_chunks(&buf, &mut out), count);
                            for (i, d) in out.iter().enumerate() {
                                let m = &buf[i * msg_len..(i + 1) * msg_len];
                                let want = alg.digest_parts(&[&prefix, m, &suffix]);
                                assert_eq!(
                                    *d, want,
                                    "{alg} {b:?} msg_len {msg_len} prefix {pl} suffix {sl} message {i}/{count}"
                                );
                            }
                            assert_eq!(
                                h.digest_one(&buf[..msg_len]),
                                alg.digest_parts(&[&prefix, &buf[..msg_len], &suffix])
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn scalar_compress_is_fips_abc() {
        // FIPS 180-2 "abc", padded by hand.
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        let mut st = SHA256_H0;
        compress_scalar(&mut st, &block);
        assert_eq!(
            state_digest(&st).to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn detect_prefers_an_available_backend() {
        assert!(Backend::detect().available());
    }
}
