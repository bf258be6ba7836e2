//! x86-64 kernels, written once for both vector widths.
//!
//! [`avx2`] (256-bit) and [`avx512`] (512-bit) each provide the same small set of primitive operations as
//! safe `#[inline]` functions with `#[target_feature]`; the kernels are the bodies of the macros below, which
//! each width module expands once, with its primitives in scope. The kernels are safe `#[target_feature]`
//! functions too: calling them is `unsafe` only from code not compiled for those features, which
//! `crate::sha256` and `crate::gf256` do after run-time detection.
//!
//! Primitives for `sha256_kernel!`, on a vector `U32s` of `LANES` 32-bit words:
//! `splat`, `add`, `big_sigma0`, `big_sigma1`, `small_sigma0`, `small_sigma1`, `ch`, `maj` (FIPS 180-4
//! §4.1.2), `to_words`, and `block_words`, which loads one 64-byte block per lane (straight from the caller's
//! buffer, or from a staging array) and transposes them into the 16 big-endian message words of every lane,
//! word `t` of all lanes in vector `t`.
//!
//! Primitives for `rs_kernel!`, on a vector `Bytes` of `WIDTH` bytes: `splat8`, `table16` (a 16-byte table
//! in every 128-bit lane), `xor`, `and`, `shr4` (each 16-bit lane shifted right by 4), `shuffle` (`PSHUFB`),
//! `load` and `store` (of a `[u8; WIDTH]`).

/// Multi-buffer SHA-256 over `LANES` lanes: expands to `pub(crate) fn sha256` (see [`avx512::sha256`]).
macro_rules! sha256_kernel {
    ($feature:literal) => {
        /// Hashes messages `first ..` of `buf` (up to `LANES` of them, one per lane, `out.len()` of them)
        /// through `frame`, every lane starting from `midstate`. Lanes beyond `out.len()` repeat the last
        /// message; their results are dropped.
        #[target_feature(enable = $feature)]
        pub(crate) fn sha256(
            midstate: &[u32; 8],
            frame: &$crate::sha256::Frame<'_>,
            buf: &[u8],
            first: usize,
            out: &mut [[u8; 32]],
        ) {
            let n = out.len().clamp(1, LANES);
            let mut offs = [0usize; LANES];
            for (l, o) in offs.iter_mut().enumerate() {
                *o = (first + l.min(n - 1)) * frame.msg_len;
            }
            let mut st = [splat(0); 8];
            for (s, &h) in st.iter_mut().zip(midstate) {
                *s = splat(h);
            }
            let mut staging = [[0u8; 64]; LANES];
            for j in 0..frame.blocks {
                let direct = match frame.direct(j) {
                    Some(moff) => $crate::x86::direct_blocks(buf, &offs, moff),
                    None => None,
                };
                let mut w = match direct {
                    Some(blocks) => block_words(&blocks),
                    None => {
                        for (dst, &m) in staging.iter_mut().zip(&offs) {
                            let msg = buf.get(m..m + frame.msg_len).unwrap_or(&[]);
                            frame.fill(j, msg, dst);
                        }
                        block_words(&core::array::from_fn(|l| &staging[l]))
                    }
                };
                compress(&mut st, &mut w);
            }
            let mut words = [[0u32; LANES]; 8];
            for (s, dst) in st.iter().zip(words.iter_mut()) {
                *dst = to_words(*s);
            }
            for (l, o) in out.iter_mut().enumerate().take(n) {
                let lane: [u32; 8] = core::array::from_fn(|i| words[i][l]);
                *o = $crate::sha256::state_bytes(&lane);
            }
        }

        /// 64 rounds over `LANES` lanes; `w` is the message schedule window (consumed).
        #[inline]
        #[target_feature(enable = $feature)]
        fn compress(st: &mut [U32s; 8], w: &mut [U32s; 16]) {
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *st;
            // Four passes of 16 rounds. With 32 vector registers (UNROLL), each round is written out with a
            // constant schedule index so that the 16 schedule words stay in registers (measured on an AMD EPYC
            // Zen 4: 3% faster); with 16 (AVX2) they spill either way and the loop measured 8% faster.
            for pass in 0..4 {
                macro_rules! round {
                    ($i:expr) => {{
                        if pass > 0 {
                            let s0 = small_sigma0(w[($i + 1) & 15]);
                            let s1 = small_sigma1(w[($i + 14) & 15]);
                            w[$i] = add(add(w[$i], s0), add(w[($i + 9) & 15], s1));
                        }
                        let t1 = add(
                            add(h, big_sigma1(e)),
                            add(ch(e, f, g), add(w[$i], splat($crate::sha256::K256[pass * 16 + $i]))),
                        );
                        let t2 = add(big_sigma0(a), maj(a, b, c));
                        h = g;
                        g = f;
                        f = e;
                        e = add(d, t1);
                        d = c;
                        c = b;
                        b = a;
                        a = add(t1, t2);
                    }};
                }
                if UNROLL {
                    unroll16!(round);
                } else {
                    for i in 0..16 {
                        round!(i);
                    }
                }
            }
            for (s, v) in st.iter_mut().zip([a, b, c, d, e, f, g, h]) {
                *s = add(*s, v);
            }
        }
    };
}

/// The Reed-Solomon step over `WIDTH` bytes at a time: expands to `pub(crate) fn rs_step` (see
/// [`avx512::rs_step`]).
macro_rules! rs_kernel {
    ($feature:literal) => {
        /// [`crate::gf256::RsStep::step`] for `bs` a multiple of `WIDTH`, head row `h < lo.len()`, with the
        /// nibble tables `lo` and `hi` of each constant. (Other `bs` leave the bytes past the last whole
        /// `WIDTH` of each block unprocessed.)
        #[target_feature(enable = $feature)]
        pub(crate) fn rs_step(
            state: &mut [u8],
            data: &[u8],
            bs: usize,
            h: usize,
            lo: &[[u8; 16]],
            hi: &[[u8; 16]],
        ) {
            let n = lo.len();
            if n == 0 || bs == 0 {
                return;
            }
            let mask = splat8(0x0f);
            let mut lo_v = Vec::with_capacity(n);
            let mut hi_v = Vec::with_capacity(n);
            for (tl, th) in lo.iter().zip(hi) {
                lo_v.push(table16(tl));
                hi_v.push(table16(th));
            }
            // Chunk index of each parity row (head first) within a group, in WIDTH-byte chunks.
            let per_row = bs / WIDTH;
            let mut row_at = Vec::with_capacity(n);
            for j in 0..n {
                row_at.push(((h + j) % n) * per_row);
            }
            for (rows, d) in state.chunks_exact_mut(n * bs).zip(data.chunks_exact(bs)) {
                let rows = rows.as_chunks_mut::<WIDTH>().0;
                for (k, dk) in d.as_chunks::<WIDTH>().0.iter().enumerate() {
                    let head = row_at[0] + k;
                    let fb = xor(load(dk), load(&rows[head]));
                    let lo_nib = and(fb, mask);
                    let hi_nib = and(shr4(fb), mask);
                    for j in 1..n {
                        let r = row_at[j] + k;
                        let prod = xor(shuffle(lo_v[j], lo_nib), shuffle(hi_v[j], hi_nib));
                        let v = xor(load(&rows[r]), prod);
                        store(&mut rows[r], v);
                    }
                    let prod = xor(shuffle(lo_v[0], lo_nib), shuffle(hi_v[0], hi_nib));
                    store(&mut rows[head], prod);
                }
            }
        }
    };
}

pub(crate) mod avx2;
pub(crate) mod avx512;

use std::arch::x86_64::{__m128i, _mm_set_epi64x};

/// `PSHUFB` indices that reverse the bytes of each 32-bit word (SHA-256 words are big-endian).
const BSWAP: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

/// The 64-byte block at `offs[l] + moff` of `buf` for every lane `l`, or `None` if one of them is not
/// entirely inside `buf`.
#[inline(always)]
fn direct_blocks<'a, const L: usize>(
    buf: &'a [u8],
    offs: &[usize; L],
    moff: usize,
) -> Option<[&'a [u8; 64]; L]> {
    let mut blocks = [&[0u8; 64]; L];
    for (b, &off) in blocks.iter_mut().zip(offs) {
        *b = buf.get(off.checked_add(moff)?..)?.first_chunk::<64>()?;
    }
    Some(blocks)
}

/// 16 bytes as a 128-bit vector (byte `i` in lane byte `i`), built without a memory load.
#[inline]
#[target_feature(enable = "sse2")]
fn lane128(t: &[u8; 16]) -> __m128i {
    let x = u128::from_le_bytes(*t);
    _mm_set_epi64x((x >> 64) as u64 as i64, x as u64 as i64)
}
