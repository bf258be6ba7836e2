//! Two independent messages compressed together: SHA-1 and SHA-256 with the SHA extensions (SHA-NI), SHA-512
//! (and SHA-384, which shares its compression) with AVX-512VL, each hashing two unrelated messages in one
//! instruction stream.
//!
//! One SHA-NI message is latency-bound: each `SHA256RNDS2` / `SHA1RNDS4` waits for the previous one, while the
//! unit could start another every cycle or two. Interleaving a second, independent message fills those slots
//! (ISA-L crypto's `sha256_ni_x2` does the same): on an AMD EPYC with SHA-NI two SHA-256 messages take about
//! 0.7 of the time of hashing them one after the other. SHA-512 has no CPU instructions; its 64-bit rounds run
//! in the two lanes of a 128-bit register, with AVX-512VL's rotate (`VPRORQ`) and three-input logic
//! (`VPTERNLOGQ`) doing in one instruction what takes three without them.
//!
//! Whether a pair beats one-at-a-time hashing on a given CPU is measured by the caller
//! (`yardstick_common::hash::streams`), never assumed from the feature flags: these kernels only promise to be
//! correct where [`Kernel::new`] succeeds.
//!
//! The compression functions are FIPS 180-4's: §6.1.2 (SHA-1), §6.2.2 (SHA-256), §6.4.2 (SHA-512). Padding,
//! lengths and output truncation are the caller's; here are only whole blocks.

/// The CPU lacks a feature a kernel needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("CPU lacks {feature}")]
pub struct Missing {
    /// The first missing feature, as `/proc/cpuinfo` spells it.
    pub feature: &'static str,
}

/// Which compression function a [`Kernel`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// SHA-1 with SHA-NI (state: 5 words, 64-byte blocks).
    Sha1,
    /// SHA-256 with SHA-NI (state: 8 words, 64-byte blocks).
    Sha256,
    /// SHA-512 / SHA-384 with AVX-512VL (state: 8 double words, 128-byte blocks).
    Sha512,
}

impl Function {
    /// Bytes per block: 64, or 128 for SHA-512.
    pub const fn block_len(self) -> usize {
        match self {
            Function::Sha1 | Function::Sha256 => 64,
            Function::Sha512 => 128,
        }
    }

    /// The first CPU feature the kernel needs and this CPU lacks, or `None`.
    pub fn missing_feature(self) -> Option<&'static str> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Function::Sha1 | Function::Sha256 => [
                    ("sha_ni", has!("sha")),
                    ("ssse3", has!("ssse3")),
                    ("sse4_1", has!("sse4.1")),
                ]
                .into_iter()
                .find_map(|(name, ok)| (!ok).then_some(name)),
                Function::Sha512 => [("avx512f", has!("avx512f")), ("avx512vl", has!("avx512vl"))]
                    .into_iter()
                    .find_map(|(name, ok)| (!ok).then_some(name)),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Some(match self {
                Function::Sha1 | Function::Sha256 => "sha_ni",
                Function::Sha512 => "avx512vl",
            })
        }
    }
}

/// A compression state: SHA-1 uses the first 5 words of `Words32`, SHA-256 all 8; SHA-512 and SHA-384 use
/// `Words64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// SHA-1 (`h0..h4`, rest unused) or SHA-256 (`h0..h7`).
    Words32([u32; 8]),
    /// SHA-512 family (`h0..h7`).
    Words64([u64; 8]),
}

/// A pair kernel, built only on a CPU that can run it (the check every call relies on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel {
    function: Function,
}

impl Kernel {
    /// The kernel for `function`, if this CPU has what it needs.
    pub fn new(function: Function) -> Result<Kernel, Missing> {
        match function.missing_feature() {
            None => Ok(Kernel { function }),
            Some(feature) => Err(Missing { feature }),
        }
    }

    /// The compression function.
    pub fn function(&self) -> Function {
        self.function
    }

    /// Compresses the whole blocks of `blocks` into `state`; returns the number of blocks (trailing bytes
    /// that make no whole block are ignored). A state of the wrong kind for the function is left alone (0).
    pub fn compress(&self, state: &mut State, blocks: &[u8]) -> usize {
        let n = blocks.len() / self.function.block_len();
        #[cfg(target_arch = "x86_64")]
        match (self.function, state) {
            // SAFETY: `Kernel::new` checked that the CPU has every feature the kernel is compiled for; the
            // kernels read only `n` whole blocks of `blocks`.
            (Function::Sha1, State::Words32(s)) => unsafe { x86::sha1_x1(s, blocks, n) },
            // SAFETY: as above.
            (Function::Sha256, State::Words32(s)) => unsafe { x86::sha256_x1(s, blocks, n) },
            // SAFETY: as above.
            (Function::Sha512, State::Words64(s)) => unsafe { x86::sha512_x1(s, blocks, n) },
            _ => return 0,
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = state;
        n
    }

    /// Compresses the same number of whole blocks of `blocks_a` into `a` and of `blocks_b` into `b`, the two
    /// messages interleaved: as many blocks as the shorter of the two has. Returns that number (0 when a
    /// state is of the wrong kind).
    pub fn compress2(
        &self,
        a: &mut State,
        blocks_a: &[u8],
        b: &mut State,
        blocks_b: &[u8],
    ) -> usize {
        let bl = self.function.block_len();
        let n = (blocks_a.len() / bl).min(blocks_b.len() / bl);
        #[cfg(target_arch = "x86_64")]
        match (self.function, a, b) {
            // SAFETY: `Kernel::new` checked the CPU; both slices hold at least `n` whole blocks.
            (Function::Sha1, State::Words32(sa), State::Words32(sb)) => unsafe {
                x86::sha1_x2(sa, blocks_a, sb, blocks_b, n)
            },
            // SAFETY: as above.
            (Function::Sha256, State::Words32(sa), State::Words32(sb)) => unsafe {
                x86::sha256_x2(sa, blocks_a, sb, blocks_b, n)
            },
            // SAFETY: as above.
            (Function::Sha512, State::Words64(sa), State::Words64(sb)) => unsafe {
                x86::sha512_x2(sa, blocks_a, sb, blocks_b, n)
            },
            _ => return 0,
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (a, b);
        n
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The kernels. Each is generic over the number of interleaved messages `N` (1 or 2): the loop bodies
    //! do the same step for every message before the next step, so the independent dependency chains sit
    //! side by side in the instruction stream.
    //!
    //! Memory is touched only by `_mm_loadu_si128` of 16 bytes at `block + 16 * i` for `i < BLOCK / 16` of a
    //! block `j < n`, where every caller guarantees `n * BLOCK <= len` of that message's slice.

    use std::arch::x86_64::*;

    use crate::sha256::K256;

    /// Byte order of the message words: big-endian 32-bit words into little-endian lanes.
    const BSWAP32: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
    /// SHA-1's message layout for SHA1RNDS4: the whole 16 bytes reversed (word 0 in the top lane).
    const REVERSE: [u8; 16] = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    /// Big-endian 64-bit words into little-endian lanes.
    const BSWAP64: [u8; 16] = [7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8];

    #[inline(always)]
    fn mask(m: &[u8; 16]) -> __m128i {
        // SAFETY: reads exactly the 16 bytes of `m`.
        unsafe { _mm_loadu_si128(m.as_ptr().cast()) }
    }

    /// 16 bytes at `offset` of `blocks`.
    ///
    /// # Safety
    /// `offset + 16 <= blocks.len()`.
    #[inline(always)]
    unsafe fn load(blocks: &[u8], offset: usize) -> __m128i {
        debug_assert!(offset + 16 <= blocks.len());
        // SAFETY: the caller keeps `offset + 16` within `blocks`.
        unsafe { _mm_loadu_si128(blocks.as_ptr().add(offset).cast()) }
    }

    // ---- SHA-256 -----------------------------------------------------------------------------------------

    /// The state as SHA256RNDS2 wants it: (ABEF, CDGH).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn sha256_unpack(s: &[u32; 8]) -> [__m128i; 2] {
        let abcd = _mm_set_epi32(s[0] as i32, s[1] as i32, s[2] as i32, s[3] as i32);
        let efgh = _mm_set_epi32(s[4] as i32, s[5] as i32, s[6] as i32, s[7] as i32);
        // abcd lanes (low to high): d c b a; ABEF wants f e b a, CDGH wants h g d c.
        let abef = _mm_unpackhi_epi64(efgh, abcd);
        let cdgh = _mm_unpacklo_epi64(efgh, abcd);
        [abef, cdgh]
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn sha256_pack(st: [__m128i; 2], s: &mut [u32; 8]) {
        let [abef, cdgh] = st;
        let mut l = [0u32; 4];
        let mut h = [0u32; 4];
        // SAFETY: 16-byte stores into 16-byte arrays.
        unsafe {
            _mm_storeu_si128(l.as_mut_ptr().cast(), abef);
            _mm_storeu_si128(h.as_mut_ptr().cast(), cdgh);
        }
        // abef lanes: f e b a; cdgh lanes: h g d c.
        *s = [l[3], l[2], h[3], h[2], l[1], l[0], h[1], h[0]];
    }

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn sha256_n<const N: usize>(states: [&mut [u32; 8]; N], msgs: [&[u8]; N], n: usize) {
        let order = mask(&BSWAP32);
        let mut st: [[__m128i; 2]; N] = [[_mm_setzero_si128(); 2]; N];
        for (l, s) in states.iter().enumerate() {
            st[l] = sha256_unpack(s);
        }
        for j in 0..n {
            let save = st;
            let mut w = [[_mm_setzero_si128(); 16]; N];
            for l in 0..N {
                for (g, word) in w[l].iter_mut().take(4).enumerate() {
                    // SAFETY: block j < n of message l, bytes 16g..16g+16 of it.
                    *word = _mm_shuffle_epi8(unsafe { load(msgs[l], j * 64 + g * 16) }, order);
                }
            }
            for g in 0..16 {
                // SAFETY: K256 has 64 words; g * 4 + 4 <= 64.
                let k = unsafe { _mm_loadu_si128(K256.as_ptr().add(g * 4).cast()) };
                if g >= 4 {
                    for wl in w.iter_mut() {
                        let t = _mm_add_epi32(
                            _mm_sha256msg1_epu32(wl[g - 4], wl[g - 3]),
                            _mm_alignr_epi8(wl[g - 1], wl[g - 2], 4),
                        );
                        wl[g] = _mm_sha256msg2_epu32(t, wl[g - 1]);
                    }
                }
                let mut kw = [_mm_setzero_si128(); N];
                for l in 0..N {
                    kw[l] = _mm_add_epi32(w[l][g], k);
                    st[l][1] = _mm_sha256rnds2_epu32(st[l][1], st[l][0], kw[l]);
                }
                for l in 0..N {
                    st[l][0] =
                        _mm_sha256rnds2_epu32(st[l][0], st[l][1], _mm_shuffle_epi32(kw[l], 0x0e));
                }
            }
            for l in 0..N {
                st[l][0] = _mm_add_epi32(st[l][0], save[l][0]);
                st[l][1] = _mm_add_epi32(st[l][1], save[l][1]);
            }
        }
        for (l, s) in states.into_iter().enumerate() {
            sha256_pack(st[l], s);
        }
    }

    /// # Safety
    /// The CPU has SHA-NI, SSSE3 and SSE4.1; `n * 64 <= m.len()`.
    pub(super) unsafe fn sha256_x1(s: &mut [u32; 8], m: &[u8], n: usize) {
        // SAFETY: the caller's contract.
        unsafe { sha256_n::<1>([s], [m], n) }
    }

    /// # Safety
    /// The CPU has SHA-NI, SSSE3 and SSE4.1; `n * 64` is within both `ma` and `mb`.
    pub(super) unsafe fn sha256_x2(
        a: &mut [u32; 8],
        ma: &[u8],
        b: &mut [u32; 8],
        mb: &[u8],
        n: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe { sha256_n::<2>([a, b], [ma, mb], n) }
    }

    // ---- SHA-1 -------------------------------------------------------------------------------------------

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn sha1_n<const N: usize>(states: [&mut [u32; 8]; N], msgs: [&[u8]; N], n: usize) {
        let order = mask(&REVERSE);
        let mut abcd = [_mm_setzero_si128(); N];
        let mut e0 = [_mm_setzero_si128(); N];
        for (l, s) in states.iter().enumerate() {
            // SHA1RNDS4 keeps a in the top lane: (a, b, c, d) high to low; e in the top lane of its own.
            abcd[l] = _mm_set_epi32(s[0] as i32, s[1] as i32, s[2] as i32, s[3] as i32);
            e0[l] = _mm_set_epi32(s[4] as i32, 0, 0, 0);
        }
        for j in 0..n {
            let save_abcd = abcd;
            let save_e = e0;
            let mut w = [[_mm_setzero_si128(); 20]; N];
            for l in 0..N {
                for (g, word) in w[l].iter_mut().take(4).enumerate() {
                    // SAFETY: block j < n of message l, bytes 16g..16g+16 of it.
                    *word = _mm_shuffle_epi8(unsafe { load(msgs[l], j * 64 + g * 16) }, order);
                }
            }
            // `prev` is abcd before the latest SHA1RNDS4: the next group's e comes from its a.
            let mut prev = abcd;
            for g in 0..20 {
                if g >= 4 {
                    for wl in w.iter_mut() {
                        let t = _mm_xor_si128(_mm_sha1msg1_epu32(wl[g - 4], wl[g - 3]), wl[g - 2]);
                        wl[g] = _mm_sha1msg2_epu32(t, wl[g - 1]);
                    }
                }
                for l in 0..N {
                    let e = if g == 0 {
                        _mm_add_epi32(e0[l], w[l][0])
                    } else {
                        _mm_sha1nexte_epu32(prev[l], w[l][g])
                    };
                    prev[l] = abcd[l];
                    abcd[l] = match g / 5 {
                        0 => _mm_sha1rnds4_epu32(abcd[l], e, 0),
                        1 => _mm_sha1rnds4_epu32(abcd[l], e, 1),
                        2 => _mm_sha1rnds4_epu32(abcd[l], e, 2),
                        _ => _mm_sha1rnds4_epu32(abcd[l], e, 3),
                    };
                }
            }
            for l in 0..N {
                e0[l] = _mm_sha1nexte_epu32(prev[l], save_e[l]);
                abcd[l] = _mm_add_epi32(abcd[l], save_abcd[l]);
            }
        }
        for (l, s) in states.into_iter().enumerate() {
            let mut v = [0u32; 4];
            let mut e = [0u32; 4];
            // SAFETY: 16-byte stores into 16-byte arrays.
            unsafe {
                _mm_storeu_si128(v.as_mut_ptr().cast(), abcd[l]);
                _mm_storeu_si128(e.as_mut_ptr().cast(), e0[l]);
            }
            s[0] = v[3];
            s[1] = v[2];
            s[2] = v[1];
            s[3] = v[0];
            s[4] = e[3];
        }
    }

    /// # Safety
    /// The CPU has SHA-NI, SSSE3 and SSE4.1; `n * 64 <= m.len()`.
    pub(super) unsafe fn sha1_x1(s: &mut [u32; 8], m: &[u8], n: usize) {
        // SAFETY: the caller's contract.
        unsafe { sha1_n::<1>([s], [m], n) }
    }

    /// # Safety
    /// The CPU has SHA-NI, SSSE3 and SSE4.1; `n * 64` is within both `ma` and `mb`.
    pub(super) unsafe fn sha1_x2(
        a: &mut [u32; 8],
        ma: &[u8],
        b: &mut [u32; 8],
        mb: &[u8],
        n: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe { sha1_n::<2>([a, b], [ma, mb], n) }
    }

    // ---- SHA-512 -----------------------------------------------------------------------------------------

    /// FIPS 180-4 §4.2.3.
    const K512: [u64; 80] = [
        0x428a2f98d728ae22,
        0x7137449123ef65cd,
        0xb5c0fbcfec4d3b2f,
        0xe9b5dba58189dbbc,
        0x3956c25bf348b538,
        0x59f111f1b605d019,
        0x923f82a4af194f9b,
        0xab1c5ed5da6d8118,
        0xd807aa98a3030242,
        0x12835b0145706fbe,
        0x243185be4ee4b28c,
        0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f,
        0x80deb1fe3b1696b1,
        0x9bdc06a725c71235,
        0xc19bf174cf692694,
        0xe49b69c19ef14ad2,
        0xefbe4786384f25e3,
        0x0fc19dc68b8cd5b5,
        0x240ca1cc77ac9c65,
        0x2de92c6f592b0275,
        0x4a7484aa6ea6e483,
        0x5cb0a9dcbd41fbd4,
        0x76f988da831153b5,
        0x983e5152ee66dfab,
        0xa831c66d2db43210,
        0xb00327c898fb213f,
        0xbf597fc7beef0ee4,
        0xc6e00bf33da88fc2,
        0xd5a79147930aa725,
        0x06ca6351e003826f,
        0x142929670a0e6e70,
        0x27b70a8546d22ffc,
        0x2e1b21385c26c926,
        0x4d2c6dfc5ac42aed,
        0x53380d139d95b3df,
        0x650a73548baf63de,
        0x766a0abb3c77b2a8,
        0x81c2c92e47edaee6,
        0x92722c851482353b,
        0xa2bfe8a14cf10364,
        0xa81a664bbc423001,
        0xc24b8b70d0f89791,
        0xc76c51a30654be30,
        0xd192e819d6ef5218,
        0xd69906245565a910,
        0xf40e35855771202a,
        0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8,
        0x1e376c085141ab53,
        0x2748774cdf8eeb99,
        0x34b0bcb5e19b48a8,
        0x391c0cb3c5c95a63,
        0x4ed8aa4ae3418acb,
        0x5b9cca4f7763e373,
        0x682e6ff3d6b2b8a3,
        0x748f82ee5defb2fc,
        0x78a5636f43172f60,
        0x84c87814a1f0ab72,
        0x8cc702081a6439ec,
        0x90befffa23631e28,
        0xa4506cebde82bde9,
        0xbef9a3f7b2c67915,
        0xc67178f2e372532b,
        0xca273eceea26619c,
        0xd186b8c721c0c207,
        0xeada7dd6cde0eb1e,
        0xf57d4f7fee6ed178,
        0x06f067aa72176fba,
        0x0a637dc5a2c898a6,
        0x113f9804bef90dae,
        0x1b710b35131c471b,
        0x28db77f523047d84,
        0x32caab7b40c72493,
        0x3c9ebe0a15c9bebc,
        0x431d67c49c100d4c,
        0x4cc5d4becb3e42b6,
        0x597f299cfc657e2a,
        0x5fcb6fab3ad6faec,
        0x6c44198c4a475817,
    ];

    /// Three-input XOR, `VPTERNLOGQ` truth table 0x96.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    fn xor3(a: __m128i, b: __m128i, c: __m128i) -> __m128i {
        _mm_ternarylogic_epi64::<0x96>(a, b, c)
    }

    /// Lane-wise SHA-512 compression of `L` ≤ 2 messages: each 64-bit lane of a 128-bit register is one
    /// message (lane 1 repeats message 0 when `N` = 1, and its result is dropped).
    #[target_feature(enable = "avx512f,avx512vl,sse2,ssse3")]
    unsafe fn sha512_n<const N: usize>(states: [&mut [u64; 8]; N], msgs: [&[u8]; N], n: usize) {
        let order = mask(&BSWAP64);
        let lane = |l: usize| l.min(N - 1);
        let mut v = [_mm_setzero_si128(); 8];
        for (i, vi) in v.iter_mut().enumerate() {
            *vi = _mm_set_epi64x(states[lane(1)][i] as i64, states[0][i] as i64);
        }
        for j in 0..n {
            let save = v;
            let mut w = [_mm_setzero_si128(); 16];
            for p in 0..8 {
                let off = j * 128 + p * 16;
                // SAFETY: block j < n of each message, bytes 16p..16p+16 of it.
                let x0 = _mm_shuffle_epi8(unsafe { load(msgs[0], off) }, order);
                // SAFETY: as above, for the second message (the first again when N = 1).
                let x1 = _mm_shuffle_epi8(unsafe { load(msgs[lane(1)], off) }, order);
                // x0 = (m0[2p], m0[2p+1]); x1 = (m1[2p], m1[2p+1]) -> lanes (m0, m1) per word.
                w[2 * p] = _mm_unpacklo_epi64(x0, x1);
                w[2 * p + 1] = _mm_unpackhi_epi64(x0, x1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = v;
            // 80 rounds as 5 groups of 16, each round written out with a constant message index, so the
            // 16 schedule words stay in registers.
            for grp in 0..5 {
                macro_rules! round {
                    ($i:literal) => {{
                        if grp > 0 {
                            let w15 = w[($i + 1) & 15];
                            let w2 = w[($i + 14) & 15];
                            let s0 = xor3(
                                _mm_ror_epi64::<1>(w15),
                                _mm_ror_epi64::<8>(w15),
                                _mm_srli_epi64::<7>(w15),
                            );
                            let s1 = xor3(
                                _mm_ror_epi64::<19>(w2),
                                _mm_ror_epi64::<61>(w2),
                                _mm_srli_epi64::<6>(w2),
                            );
                            w[$i] = _mm_add_epi64(
                                _mm_add_epi64(w[$i], s0),
                                _mm_add_epi64(w[($i + 9) & 15], s1),
                            );
                        }
                        let kw = _mm_add_epi64(w[$i], _mm_set1_epi64x(K512[grp * 16 + $i] as i64));
                        let s1 = xor3(
                            _mm_ror_epi64::<14>(e),
                            _mm_ror_epi64::<18>(e),
                            _mm_ror_epi64::<41>(e),
                        );
                        // Ch(e, f, g) = (e & f) ^ (!e & g): truth table 0xca over (e, f, g).
                        let ch = _mm_ternarylogic_epi64::<0xca>(e, f, g);
                        let t1 = _mm_add_epi64(_mm_add_epi64(h, s1), _mm_add_epi64(ch, kw));
                        let s0 = xor3(
                            _mm_ror_epi64::<28>(a),
                            _mm_ror_epi64::<34>(a),
                            _mm_ror_epi64::<39>(a),
                        );
                        // Maj(a, b, c): truth table 0xe8.
                        let maj = _mm_ternarylogic_epi64::<0xe8>(a, b, c);
                        h = g;
                        g = f;
                        f = e;
                        e = _mm_add_epi64(d, t1);
                        d = c;
                        c = b;
                        b = a;
                        a = _mm_add_epi64(t1, _mm_add_epi64(s0, maj));
                    }};
                }
                unroll16!(round);
            }
            let out = [a, b, c, d, e, f, g, h];
            for i in 0..8 {
                v[i] = _mm_add_epi64(out[i], save[i]);
            }
        }
        let mut lanes = [[0u64; 2]; 8];
        for (i, vi) in v.iter().enumerate() {
            // SAFETY: 16-byte store into a 16-byte array.
            unsafe { _mm_storeu_si128(lanes[i].as_mut_ptr().cast(), *vi) };
        }
        for (l, s) in states.into_iter().enumerate() {
            for i in 0..8 {
                s[i] = lanes[i][l];
            }
        }
    }

    /// # Safety
    /// The CPU has AVX-512F and AVX-512VL; `n * 128 <= m.len()`.
    pub(super) unsafe fn sha512_x1(s: &mut [u64; 8], m: &[u8], n: usize) {
        // SAFETY: the caller's contract.
        unsafe { sha512_n::<1>([s], [m], n) }
    }

    /// # Safety
    /// The CPU has AVX-512F and AVX-512VL; `n * 128` is within both `ma` and `mb`.
    pub(super) unsafe fn sha512_x2(
        a: &mut [u64; 8],
        ma: &[u8],
        b: &mut [u64; 8],
        mb: &[u8],
        n: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe { sha512_n::<2>([a, b], [ma, mb], n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SHA-256 pair equals the portable compression on both messages, blocks of distinct content.
    #[test]
    fn sha256_pair_equals_portable() {
        let Ok(k) = Kernel::new(Function::Sha256) else {
            eprintln!("SHA-NI not available on this CPU: pair kernel not runnable");
            return;
        };
        let a: Vec<u8> = (0..640u32).map(|i| (i * 7 + 3) as u8).collect();
        let b: Vec<u8> = (0..640u32).map(|i| (i * 13 + 5) as u8).collect();
        let (mut sa, mut sb) = (
            State::Words32(crate::sha256::H0),
            State::Words32([1, 2, 3, 4, 5, 6, 7, 8]),
        );
        assert_eq!(k.compress2(&mut sa, &a, &mut sb, &b[..576]), 9);
        let (mut ra, mut rb) = (crate::sha256::H0, [1, 2, 3, 4, 5, 6, 7, 8]);
        for (ca, cb) in a.chunks_exact(64).zip(b[..576].chunks_exact(64)) {
            crate::sha256::compress(&mut ra, ca.try_into().unwrap());
            crate::sha256::compress(&mut rb, cb.try_into().unwrap());
        }
        assert_eq!((sa, sb), (State::Words32(ra), State::Words32(rb)));
        // A state of the wrong kind is left alone.
        let mut w = State::Words64([0; 8]);
        assert_eq!(k.compress(&mut w, &a), 0);
        assert_eq!(w, State::Words64([0; 8]));
    }
}
