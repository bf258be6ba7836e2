//! 256-bit primitives (AVX2) and the kernels expanded from them: [`sha256`] (8 lanes) and [`rs_step`]
//! (32 bytes at a time).

use std::arch::x86_64::*;

use super::{BSWAP, lane128};

sha256_kernel!("avx2");
rs_kernel!("avx2");

/// Eight 32-bit words.
type U32s = __m256i;
/// Whether `sha256`'s rounds are written out one by one (16 registers: the schedule spills anyway).
const UNROLL: bool = false;
/// SHA-256 messages per vector.
const LANES: usize = 8;

/// `x` in every lane.
#[inline]
#[target_feature(enable = "avx2")]
fn splat(x: u32) -> U32s {
    _mm256_set1_epi32(x as i32)
}

/// Lane-wise `a + b` (mod 2³²).
#[inline]
#[target_feature(enable = "avx2")]
fn add(a: U32s, b: U32s) -> U32s {
    _mm256_add_epi32(a, b)
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

#[inline]
#[target_feature(enable = "avx2")]
fn xor3(a: U32s, b: U32s, c: U32s) -> U32s {
    _mm256_xor_si256(_mm256_xor_si256(a, b), c)
}

/// Σ₀(a).
#[inline]
#[target_feature(enable = "avx2")]
fn big_sigma0(a: U32s) -> U32s {
    xor3(ror!(a, 2), ror!(a, 13), ror!(a, 22))
}

/// Σ₁(e).
#[inline]
#[target_feature(enable = "avx2")]
fn big_sigma1(e: U32s) -> U32s {
    xor3(ror!(e, 6), ror!(e, 11), ror!(e, 25))
}

/// σ₀(w).
#[inline]
#[target_feature(enable = "avx2")]
fn small_sigma0(w: U32s) -> U32s {
    xor3(ror!(w, 7), ror!(w, 18), _mm256_srli_epi32::<3>(w))
}

/// σ₁(w).
#[inline]
#[target_feature(enable = "avx2")]
fn small_sigma1(w: U32s) -> U32s {
    xor3(ror!(w, 17), ror!(w, 19), _mm256_srli_epi32::<10>(w))
}

/// Ch(e, f, g) = (e ∧ f) ⊕ (¬e ∧ g).
#[inline]
#[target_feature(enable = "avx2")]
fn ch(e: U32s, f: U32s, g: U32s) -> U32s {
    _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g))
}

/// Maj(a, b, c) = (a ∧ b) ∨ (c ∧ (a ∨ b)).
#[inline]
#[target_feature(enable = "avx2")]
fn maj(a: U32s, b: U32s, c: U32s) -> U32s {
    _mm256_or_si256(
        _mm256_and_si256(a, b),
        _mm256_and_si256(c, _mm256_or_si256(a, b)),
    )
}

/// The lanes as an array.
#[inline]
#[target_feature(enable = "avx2")]
fn to_words(v: U32s) -> [u32; LANES] {
    // SAFETY: `__m256i` and `[u32; 8]` are both 32 bytes of plain data; every bit pattern is valid for both.
    unsafe { core::mem::transmute::<U32s, [u32; LANES]>(v) }
}

/// One 8×8 transpose of 32-bit words: `r[l]` word `t` to `w[t]` lane `l`. Two unpack stages within 128-bit
/// lanes, then one 128-bit lane permute.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose8(r: &[U32s; 8]) -> [U32s; 8] {
    let mut t = [_mm256_setzero_si256(); 8];
    for i in 0..4 {
        t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4j + k], 128-bit lane L: word 4L + k of rows 4j..4j+3.
    let mut u = [_mm256_setzero_si256(); 8];
    for j in 0..2 {
        u[4 * j] = _mm256_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 1] = _mm256_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 2] = _mm256_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
        u[4 * j + 3] = _mm256_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
    }
    let mut w = [_mm256_setzero_si256(); 8];
    for k in 0..4 {
        w[k] = _mm256_permute2x128_si256::<0x20>(u[k], u[4 + k]);
        w[4 + k] = _mm256_permute2x128_si256::<0x31>(u[k], u[4 + k]);
    }
    w
}

/// The 16 big-endian message words of every lane's block, word `t` of all lanes in vector `t`.
#[inline]
#[target_feature(enable = "avx2")]
fn block_words(blocks: &[&[u8; 64]; LANES]) -> [U32s; 16] {
    let mut lo = [_mm256_setzero_si256(); 8];
    let mut hi = [_mm256_setzero_si256(); 8];
    for ((l, h), b) in lo.iter_mut().zip(hi.iter_mut()).zip(blocks) {
        let halves = b.as_chunks::<32>().0;
        *l = load(&halves[0]);
        *h = load(&halves[1]);
    }
    let (lo, hi) = (transpose8(&lo), transpose8(&hi));
    let bswap = _mm256_broadcastsi128_si256(lane128(&BSWAP));
    let mut w = [_mm256_setzero_si256(); 16];
    for (wt, v) in w.iter_mut().zip(lo.iter().chain(&hi)) {
        *wt = _mm256_shuffle_epi8(*v, bswap);
    }
    w
}

/// 32 bytes.
type Bytes = __m256i;
/// Bytes per vector.
const WIDTH: usize = 32;

/// `x` in every byte.
#[inline]
#[target_feature(enable = "avx2")]
fn splat8(x: u8) -> Bytes {
    _mm256_set1_epi8(x as i8)
}

/// A 16-byte table in both 128-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn table16(t: &[u8; 16]) -> Bytes {
    _mm256_broadcastsi128_si256(lane128(t))
}

#[inline]
#[target_feature(enable = "avx2")]
fn xor(a: Bytes, b: Bytes) -> Bytes {
    _mm256_xor_si256(a, b)
}

#[inline]
#[target_feature(enable = "avx2")]
fn and(a: Bytes, b: Bytes) -> Bytes {
    _mm256_and_si256(a, b)
}

/// Each 16-bit lane shifted right by 4 (mask afterwards for the high nibble of each byte).
#[inline]
#[target_feature(enable = "avx2")]
fn shr4(a: Bytes) -> Bytes {
    _mm256_srli_epi16::<4>(a)
}

/// `table[idx]` per byte, within each 128-bit lane (`idx` < 16).
#[inline]
#[target_feature(enable = "avx2")]
fn shuffle(table: Bytes, idx: Bytes) -> Bytes {
    _mm256_shuffle_epi8(table, idx)
}

/// 32 bytes as a vector.
#[inline]
#[target_feature(enable = "avx2")]
fn load(src: &[u8; WIDTH]) -> Bytes {
    // SAFETY: `src` is 32 readable bytes; the load is unaligned.
    unsafe { _mm256_loadu_si256(src.as_ptr().cast()) }
}

/// A vector to 32 bytes.
#[inline]
#[target_feature(enable = "avx2")]
fn store(dst: &mut [u8; WIDTH], v: Bytes) {
    // SAFETY: `dst` is 32 writable bytes; the store is unaligned.
    unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) }
}
