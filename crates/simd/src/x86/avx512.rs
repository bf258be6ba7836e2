//! 512-bit primitives (AVX-512F, AVX-512BW) and the kernels expanded from them: [`sha256`] (16 lanes) and
//! [`rs_step`] (64 bytes at a time).

use std::arch::x86_64::*;

use super::{BSWAP, lane128};

sha256_kernel!("avx512f,avx512bw");
rs_kernel!("avx512f,avx512bw");

/// Sixteen 32-bit words.
type U32s = __m512i;
/// Whether `sha256`'s rounds are written out one by one (32 registers hold the schedule).
const UNROLL: bool = true;
/// SHA-256 messages per vector.
const LANES: usize = 16;

/// `x` in every lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn splat(x: u32) -> U32s {
    _mm512_set1_epi32(x as i32)
}

/// Lane-wise `a + b` (mod 2³²).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn add(a: U32s, b: U32s) -> U32s {
    _mm512_add_epi32(a, b)
}

/// `a ⊕ b ⊕ c` in one instruction (truth table 0x96).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn xor3(a: U32s, b: U32s, c: U32s) -> U32s {
    _mm512_ternarylogic_epi32::<0x96>(a, b, c)
}

/// Σ₀(a).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn big_sigma0(a: U32s) -> U32s {
    xor3(
        _mm512_ror_epi32::<2>(a),
        _mm512_ror_epi32::<13>(a),
        _mm512_ror_epi32::<22>(a),
    )
}

/// Σ₁(e).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn big_sigma1(e: U32s) -> U32s {
    xor3(
        _mm512_ror_epi32::<6>(e),
        _mm512_ror_epi32::<11>(e),
        _mm512_ror_epi32::<25>(e),
    )
}

/// σ₀(w).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn small_sigma0(w: U32s) -> U32s {
    xor3(
        _mm512_ror_epi32::<7>(w),
        _mm512_ror_epi32::<18>(w),
        _mm512_srli_epi32::<3>(w),
    )
}

/// σ₁(w).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn small_sigma1(w: U32s) -> U32s {
    xor3(
        _mm512_ror_epi32::<17>(w),
        _mm512_ror_epi32::<19>(w),
        _mm512_srli_epi32::<10>(w),
    )
}

/// Ch(e, f, g) = e ? f : g (truth table 0xCA).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn ch(e: U32s, f: U32s, g: U32s) -> U32s {
    _mm512_ternarylogic_epi32::<0xCA>(e, f, g)
}

/// Maj(a, b, c): majority vote (truth table 0xE8).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn maj(a: U32s, b: U32s, c: U32s) -> U32s {
    _mm512_ternarylogic_epi32::<0xE8>(a, b, c)
}

/// The lanes as an array.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn to_words(v: U32s) -> [u32; LANES] {
    // SAFETY: `__m512i` and `[u32; 16]` are both 64 bytes of plain data; every bit pattern is valid for both.
    unsafe { core::mem::transmute::<U32s, [u32; LANES]>(v) }
}

/// Rows (one 64-byte message block per lane) to byte-swapped columns (word `t` of every lane), a 16×16
/// transpose of 32-bit words: two unpack stages within 128-bit lanes, then two 128-bit lane shuffles.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn rows_to_words(r: &[U32s; 16]) -> [U32s; 16] {
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
    let bswap = _mm512_broadcast_i32x4(lane128(&BSWAP));
    for wt in w.iter_mut() {
        *wt = _mm512_shuffle_epi8(*wt, bswap);
    }
    w
}

/// The 16 big-endian message words of every lane's block, word `t` of all lanes in vector `t`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn block_words(blocks: &[&[u8; 64]; LANES]) -> [U32s; 16] {
    let mut rows = [_mm512_setzero_si512(); 16];
    for (row, block) in rows.iter_mut().zip(blocks) {
        *row = load(block);
    }
    rows_to_words(&rows)
}

/// 64 bytes.
type Bytes = __m512i;
/// Bytes per vector.
const WIDTH: usize = 64;

/// `x` in every byte.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn splat8(x: u8) -> Bytes {
    _mm512_set1_epi8(x as i8)
}

/// A 16-byte table in all four 128-bit lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn table16(t: &[u8; 16]) -> Bytes {
    _mm512_broadcast_i32x4(lane128(t))
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn xor(a: Bytes, b: Bytes) -> Bytes {
    _mm512_xor_si512(a, b)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn and(a: Bytes, b: Bytes) -> Bytes {
    _mm512_and_si512(a, b)
}

/// Each 16-bit lane shifted right by 4 (mask afterwards for the high nibble of each byte).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn shr4(a: Bytes) -> Bytes {
    _mm512_srli_epi16::<4>(a)
}

/// `table[idx]` per byte, within each 128-bit lane (`idx` < 16).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn shuffle(table: Bytes, idx: Bytes) -> Bytes {
    _mm512_shuffle_epi8(table, idx)
}

/// 64 bytes as a vector.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load(src: &[u8; WIDTH]) -> Bytes {
    // SAFETY: `src` is 64 readable bytes; the load is unaligned.
    unsafe { _mm512_loadu_si512(src.as_ptr().cast()) }
}

/// A vector to 64 bytes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn store(dst: &mut [u8; WIDTH], v: Bytes) {
    // SAFETY: `dst` is 64 writable bytes; the store is unaligned.
    unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), v) }
}
