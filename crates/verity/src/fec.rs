//! dm-verity forward error correction: Reed-Solomon parity over the data and hash areas
//! (cryptsetup `lib/verity/verity_fec.c`, `rs_encode_char.c`; Linux `drivers/md/dm-verity-fec.c`).
//!
//! The code is RS(255, 255 − roots) over GF(2⁸) with field polynomial 0x11d, first consecutive root 0 and
//! primitive element 1 (Phil Karn's `init_rs_char(8, 0x11d, 0, 1, roots, 0)`), 2 ≤ roots ≤ 24.
//!
//! Interleaving: the covered area (the data blocks, then the hash device from the first tree block to its end,
//! or to the FEC offset when the FEC area shares that device) is `blocks` blocks; with
//! `rsn = 255 − roots` and `rounds = ⌈blocks / rsn⌉`, the codeword for byte `b` of round `n` takes byte `b` of
//! blocks `n, n + rounds, n + 2·rounds, …` (`rsn` of them; blocks past the end read as zeros). Its `roots`
//! parity bytes are stored at `((n · block_size) + b) · roots` in the FEC area. There is no header.
//!
//! The encoder runs all 4096 (block size) codewords of a round at once: each step consumes one whole block
//! and updates `roots` parity rows with table-driven GF multiplication ([`yardstick_simd::gf256::RsStep`]:
//! 16-entry nibble tables looked up with `PSHUFB` on AVX2/AVX-512, 256-entry tables otherwise). Consecutive
//! rounds read consecutive blocks, so rounds are processed in groups with one `pread` per step, and groups run
//! in parallel.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;
use yardstick_common::progress::Progress;
use yardstick_simd::gf256::{self, RsStep};

use crate::Error;

/// Symbols per codeword.
pub const RS_N: u32 = 255;
/// Fewest parity bytes veritysetup accepts.
pub const MIN_ROOTS: u32 = 2;
/// Most parity bytes veritysetup accepts.
pub const MAX_ROOTS: u32 = 24;

/// The generator polynomial `∏ (x − αⁱ)`, i = 0..roots, over GF(2⁸)/0x11d in `init_rs_char`'s coefficient
/// order (`g[roots] = 1`).
// `g` has `roots + 1` coefficients and every index is at most `i + 1 <= roots`.
#[allow(clippy::indexing_slicing)]
fn generator(roots: usize) -> Vec<u8> {
    let mut g = vec![0u8; roots + 1];
    g[0] = 1;
    for i in 0..roots {
        let root = gf256::exp(i);
        g[i + 1] = 1;
        for j in (1..=i).rev() {
            g[j] = g[j - 1] ^ gf256::mul(g[j], root);
        }
        g[0] = gf256::mul(g[0], root);
    }
    g
}

/// The encoder step's constants for `roots` parity bytes: parity row `j` (1..roots) is multiplied by
/// `g[roots − j]`, row 0 (the new last row) by `g[0]`.
// `g` has `roots + 1` coefficients and `roots - j` is in `1..roots` for `j` in `1..roots`.
#[allow(clippy::indexing_slicing)]
fn step_consts(roots: usize) -> Vec<u8> {
    let g = generator(roots);
    (0..roots)
        .map(|j| if j == 0 { g[0] } else { g[roots - j] })
        .collect()
}

/// The encoder step for `roots` parity bytes with the widest kernel this CPU runs.
fn encoder(roots: usize) -> RsStep {
    RsStep::with_best_isa(&step_consts(roots))
}

/// Parity state of one round: `roots` rows of `block_size` bytes used as a ring (`head` is parity byte 0).
struct Lfsr<'a> {
    rows: &'a [u8],
    bs: usize,
    head: usize,
}

impl Lfsr<'_> {
    /// Parity byte `j` of codeword `o`.
    // Hot loop: `rows` holds `roots * bs` bytes and `o < bs` for every caller (codeword offsets within a block).
    #[allow(clippy::indexing_slicing)]
    fn parity(&self, j: usize, o: usize, roots: usize) -> u8 {
        self.rows[((self.head + j) % roots) * self.bs + o]
    }
}

/// Blocks covered by FEC (`VERITY_FEC_blocks`): the data blocks plus the hash device's blocks from the first
/// tree block up to `hash_area_end` bytes (the hash device size, or the FEC offset when FEC shares the hash
/// device). `None` when `hash_area_end` ends before the tree starts (cryptsetup would wrap around).
pub fn covered_blocks(
    data_blocks: u64,
    hash_start_block: u64,
    block_size: u32,
    hash_area_end: u64,
) -> Option<u64> {
    let mut blocks = hash_area_end / u64::from(block_size);
    if blocks > 0 {
        blocks = blocks.checked_sub(hash_start_block)?;
    }
    blocks.checked_add(data_blocks)
}

/// Blocks of parity for `blocks` covered blocks (`VERITY_FEC_RS_blocks`).
pub fn rs_blocks(blocks: u64, roots: u32) -> u64 {
    blocks.div_ceil(u64::from(RS_N - roots)) * u64::from(roots)
}

/// The area FEC covers: data blocks, then the hash device from `hash_start`.
pub struct FecInput<'a> {
    /// Data device.
    pub data: &'a File,
    /// Its path (for messages).
    pub data_path: &'a Path,
    /// Data blocks covered.
    pub data_blocks: u64,
    /// Hash device.
    pub hash: &'a File,
    /// Its path.
    pub hash_path: &'a Path,
    /// Byte offset of the first covered hash-device block.
    pub hash_start: u64,
    /// Covered hash-device blocks.
    pub hash_blocks: u64,
    /// Block size (data and hash block sizes are equal under FEC).
    pub block_size: u32,
}

impl FecInput<'_> {
    fn total_blocks(&self) -> u64 {
        self.data_blocks + self.hash_blocks
    }

    /// Reads virtual blocks `v0..v0 + buf.len()/bs`; blocks past the covered area are zeros.
    // `buf` holds `n * bs` bytes and `at = (v - v0) * bs` with `v + k <= v0 + n`, so every range is inside it.
    #[allow(clippy::indexing_slicing)]
    fn read(&self, v0: u64, buf: &mut [u8]) -> Result<(), Error> {
        let bs = u64::from(self.block_size);
        let n = buf.len() as u64 / bs;
        let mut v = v0;
        let mut at = 0usize;
        while v < v0 + n {
            let left = v0 + n - v;
            let (len, res) = if v < self.data_blocks {
                let k = left.min(self.data_blocks - v);
                let b = &mut buf[at..at + (k * bs) as usize];
                (
                    k,
                    self.data
                        .read_exact_at(b, v * bs)
                        .map_err(Error::io(self.data_path, "cannot read")),
                )
            } else if v < self.total_blocks() {
                let k = left.min(self.total_blocks() - v);
                let b = &mut buf[at..at + (k * bs) as usize];
                let off = self.hash_start + (v - self.data_blocks) * bs;
                (
                    k,
                    self.hash
                        .read_exact_at(b, off)
                        .map_err(Error::io(self.hash_path, "cannot read")),
                )
            } else {
                buf[at..].fill(0);
                (left, Ok(()))
            };
            res?;
            v += len;
            at += (len * bs) as usize;
        }
        Ok(())
    }
}

/// Receives parity pieces: byte offset within the parity area, bytes.
type Sink<'s> = dyn FnMut(u64, &[u8]) -> Result<(), Error> + 's;

/// Parity layout for an input.
struct Plan {
    bs: usize,
    roots: usize,
    rsn: u64,
    rounds: u64,
    /// Rounds per parallel group.
    group: u64,
}

impl Plan {
    fn new(input: &FecInput<'_>, roots: u32) -> Result<Plan, Error> {
        if !(MIN_ROOTS..=MAX_ROOTS).contains(&roots) {
            return Err(Error::FecRoots(roots));
        }
        let bs = input.block_size as usize;
        let rsn = u64::from(RS_N - roots);
        let rounds = input.total_blocks().div_ceil(rsn);
        // Keep each group's parity state around 1 MiB so it stays in cache.
        let group = ((1usize << 20) / (bs * roots as usize)).clamp(1, 32) as u64;
        Ok(Plan {
            bs,
            roots: roots as usize,
            rsn,
            rounds,
            group,
        })
    }

    /// Bytes of parity.
    fn size(&self) -> u64 {
        self.rounds * (self.bs * self.roots) as u64
    }

    /// Computes the parity of rounds `n0..n0 + g` and passes it, in on-disk order, to `sink` in pieces of at
    /// most 1 MiB: `sink(byte offset within the parity area, bytes)`.
    fn group(
        &self,
        input: &FecInput<'_>,
        enc: &RsStep,
        n0: u64,
        progress: &dyn Progress,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        let g = self.group.min(self.rounds - n0) as usize;
        let (bs, roots) = (self.bs, self.roots);
        let mut state = vec![0u8; g * roots * bs];
        let mut buf = vec![0u8; g * bs];
        let mut head = 0;
        for i in 0..self.rsn {
            input.read(n0 + i * self.rounds, &mut buf)?;
            enc.step(&mut state, &buf, bs, head);
            head = (head + 1) % roots;
            progress.advance(buf.len() as u64);
        }
        // Interleave: codeword byte b of round n → parity bytes at ((n·bs) + b)·roots.
        let piece_codewords = ((1usize << 20) / roots).max(1);
        let mut out = Vec::with_capacity(piece_codewords.min(g * bs) * roots);
        for (r, rows) in state.chunks_exact(roots * bs).enumerate() {
            let l = Lfsr { rows, bs, head };
            let mut b = 0;
            while b < bs {
                let e = (b + piece_codewords).min(bs);
                out.clear();
                for o in b..e {
                    for j in 0..roots {
                        out.push(l.parity(j, o, roots));
                    }
                }
                let at = ((n0 as usize + r) * bs + b) as u64 * roots as u64;
                sink(at, &out)?;
                b = e;
            }
        }
        Ok(())
    }

    fn groups(&self) -> u64 {
        self.rounds.div_ceil(self.group)
    }
}

/// Total bytes read by [`encode`] or [`verify`], for progress bars.
pub fn work_bytes(input: &FecInput<'_>, roots: u32) -> u64 {
    let rsn = u64::from(RS_N.saturating_sub(roots).max(1));
    input.total_blocks().div_ceil(rsn) * rsn * u64::from(input.block_size)
}

/// Computes the parity of `input` and writes it to `out` at byte `offset`. Returns the parity size in bytes.
pub fn encode(
    input: &FecInput<'_>,
    roots: u32,
    out: &File,
    out_path: &Path,
    offset: u64,
    progress: &dyn Progress,
) -> Result<u64, Error> {
    let plan = Plan::new(input, roots)?;
    let enc = encoder(plan.roots);
    (0..plan.groups()).into_par_iter().try_for_each(|gi| {
        plan.group(input, &enc, gi * plan.group, progress, &mut |at, bytes| {
            out.write_all_at(bytes, offset + at)
                .map_err(Error::io(out_path, "cannot write"))
        })
    })?;
    Ok(plan.size())
}

/// A stretch of stored parity that does not match the data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParityMismatch {
    /// RS round (codeword group) index.
    pub round: u64,
    /// Byte offset of the first differing parity byte on the FEC device.
    pub offset: u64,
}

/// Recomputes the parity of `input` and compares it with what `fec` holds at `offset`; returns the rounds
/// whose parity differs (at most one entry per round, in order).
pub fn verify(
    input: &FecInput<'_>,
    roots: u32,
    fec: &File,
    fec_path: &Path,
    offset: u64,
    progress: &dyn Progress,
) -> Result<Vec<ParityMismatch>, Error> {
    let plan = Plan::new(input, roots)?;
    let size = fec
        .metadata()
        .map_err(Error::io(fec_path, "cannot stat"))?
        .len();
    let fec_len = crate::device_size(fec, fec_path).unwrap_or(size);
    if fec_len < offset.saturating_add(plan.size()) {
        return Err(Error::FecTooSmall {
            path: fec_path.to_path_buf(),
            size: fec_len,
            needed: offset.saturating_add(plan.size()),
        });
    }
    let enc = encoder(plan.roots);
    let found = Mutex::new(Vec::new());
    let round_bytes = (plan.bs * plan.roots) as u64;
    (0..plan.groups()).into_par_iter().try_for_each(|gi| {
        let mut stored = Vec::new();
        let mut local: Vec<ParityMismatch> = Vec::new();
        plan.group(input, &enc, gi * plan.group, progress, &mut |at, bytes| {
            stored.resize(bytes.len(), 0);
            fec.read_exact_at(&mut stored, offset + at)
                .map_err(Error::io(fec_path, "cannot read"))?;
            if let Some(i) = stored.iter().zip(bytes).position(|(a, b)| a != b) {
                let round = at / round_bytes;
                if local.last().is_none_or(|m| m.round != round) {
                    local.push(ParityMismatch {
                        round,
                        offset: offset + at + i as u64,
                    });
                }
            }
            Ok(())
        })?;
        found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(local);
        Ok::<(), Error>(())
    })?;
    let mut v = found.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|m| m.offset);
    v.dedup_by_key(|m| m.round);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Karn's `encode_rs_char` with index-form tables, transcribed as a reference for one codeword.
    fn reference_parity(msg: &[u8], roots: usize) -> Vec<u8> {
        let g = generator(roots);
        let mut p = vec![0u8; roots];
        for &d in msg {
            let fb = d ^ p[0];
            for j in 1..roots {
                p[j] ^= gf256::mul(fb, g[roots - j]);
            }
            p.rotate_left(1);
            p[roots - 1] = gf256::mul(fb, g[0]);
        }
        p
    }

    /// The generator for 2 roots is (x − 1)(x − α) = x² + 3x + 2 over GF(2⁸)/0x11d.
    #[test]
    fn generator_two_roots() {
        assert_eq!(generator(2), vec![2, 3, 1]);
    }

    /// A codeword (message followed by parity) evaluates to zero at every root αⁱ, i < roots.
    #[test]
    fn parity_makes_codewords() {
        for roots in [2usize, 3, 8, 24] {
            let msg: Vec<u8> = (0..255 - roots).map(|i| (i * 37 + 11) as u8).collect();
            let par = reference_parity(&msg, roots);
            let cw: Vec<u8> = msg.iter().chain(&par).copied().collect();
            for i in 0..roots {
                let x = gf256::exp(i);
                let v = cw.iter().fold(0u8, |acc, &c| gf256::mul(acc, x) ^ c);
                assert_eq!(v, 0, "roots {roots} root {i}");
            }
        }
    }

    /// Every kernel this CPU has equals the one-codeword reference on every byte lane.
    #[test]
    fn kernels_match_reference() {
        let bs = 512;
        for roots in [2usize, 5, 24] {
            // Every kernel this CPU runs (the others are covered, and reported, by yardstick-simd's tests).
            let kernels: Vec<RsStep> = yardstick_simd::Isa::ALL
                .into_iter()
                .filter_map(|isa| RsStep::new(isa, &step_consts(roots)).ok())
                .collect();
            let steps = 255 - roots;
            let data: Vec<Vec<u8>> = (0..steps)
                .map(|i| {
                    (0..bs)
                        .map(|o| ((i * 131 + o * 7) ^ (o >> 3)) as u8)
                        .collect()
                })
                .collect();
            for k in &kernels {
                let mut rows = vec![0u8; roots * bs];
                let mut head = 0;
                for d in &data {
                    k.step(&mut rows, d, bs, head);
                    head = (head + 1) % roots;
                }
                let l = Lfsr {
                    rows: &rows,
                    bs,
                    head,
                };
                for o in [0, 1, 63, 64, 300, 511] {
                    let msg: Vec<u8> = data.iter().map(|d| d[o]).collect();
                    let want = reference_parity(&msg, roots);
                    let got: Vec<u8> = (0..roots).map(|j| l.parity(j, o, roots)).collect();
                    assert_eq!(got, want, "{} roots {roots} byte {o}", k.isa());
                }
            }
        }
    }

    #[test]
    fn sizes_like_cryptsetup() {
        // 256 data blocks + 3 hash blocks (hash device 16384 bytes, tree from block 1), 5 roots:
        // veritysetup 2.6.1 prints "FEC blocks: 10" and "FEC device size: 40960".
        let blocks = covered_blocks(256, 1, 4096, 16384).unwrap();
        assert_eq!(blocks, 259);
        assert_eq!(rs_blocks(blocks, 5), 10);
        assert_eq!(covered_blocks(1, 1, 4096, 0), Some(1));
        assert_eq!(covered_blocks(1, 3, 4096, 8192), None);
    }
}
