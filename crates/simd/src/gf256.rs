//! GF(2⁸) with the field polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11d) and primitive element α = 2, and the
//! systematic Reed-Solomon encoder step run over many codewords at once.
//!
//! [`RsStep::step`] is the loop body of Phil Karn's `encode_rs_char` (the encoder dm-verity FEC uses) applied to
//! every byte position of a block at the same time: byte `o` of a block is the next message symbol of codeword
//! `o`. Multiplication by a constant `c` uses tables: one 256-entry table (scalar), or two 16-entry tables
//! `c·x = lo[x & 15] ⊕ hi[x >> 4]` (multiplication is linear over GF(2)) looked up 32 or 64 bytes at a time
//! with `PSHUFB` (AVX2, AVX-512BW).

use crate::{Isa, Unavailable};

/// The field polynomial.
pub const POLY: u16 = 0x11d;

const fn tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLY;
        }
        i += 1;
    }
    while i < 512 {
        exp[i] = exp[i - 255];
        i += 1;
    }
    (exp, log)
}

const EXP_LOG: ([u8; 512], [u8; 256]) = tables();

/// αⁱ.
pub fn exp(i: usize) -> u8 {
    EXP_LOG.0[i % 255]
}

/// The product `a · b`.
pub fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        let (exp, log) = &EXP_LOG;
        exp[usize::from(log[usize::from(a)]) + usize::from(log[usize::from(b)])]
    }
}

/// The parity update of a Reed-Solomon encoder with `roots` parity bytes per codeword, for many codewords at
/// once, with the kernel of one instruction set.
///
/// The state of a codeword is its `roots` parity bytes `p[0..roots]`. A step with message byte `d` computes
/// `fb = d ⊕ p[0]`, then `p[j] ← p[j + 1] ⊕ consts[j + 1]·fb` for `j < roots − 1` and
/// `p[roots − 1] ← consts[0]·fb`; that is `encode_rs_char` with `consts[0] = g₀` and `consts[j] = g_{roots − j}`
/// for the generator polynomial `g`.
#[derive(Debug, Clone)]
pub struct RsStep {
    /// Available on this CPU: checked by [`RsStep::new`], or [`Isa::best`]. The dispatch relies on it.
    isa: Isa,
    /// Multiplication by `consts[j]`: the whole table, and by low and high nibble.
    full: Vec<[u8; 256]>,
    lo: Vec<[u8; 16]>,
    hi: Vec<[u8; 16]>,
}

impl RsStep {
    /// A step for `consts.len()` parity bytes (see the type docs) using `isa`'s kernel; an error if the CPU
    /// cannot run it.
    pub fn new(isa: Isa, consts: &[u8]) -> Result<RsStep, Unavailable> {
        Ok(RsStep::build(isa.check()?, consts))
    }

    /// A step with the widest kernel this CPU runs ([`Isa::best`]).
    pub fn with_best_isa(consts: &[u8]) -> RsStep {
        // `Isa::best()` only returns instruction sets the CPU runs: no check can fail.
        RsStep::build(Isa::best(), consts)
    }

    fn build(isa: Isa, consts: &[u8]) -> RsStep {
        let full: Vec<[u8; 256]> = consts
            .iter()
            .map(|&c| core::array::from_fn(|x| mul(c, x as u8)))
            .collect();
        let lo = full
            .iter()
            .map(|t| core::array::from_fn(|x| t[x]))
            .collect();
        let hi = full
            .iter()
            .map(|t| core::array::from_fn(|x| t[x << 4]))
            .collect();
        RsStep { isa, full, lo, hi }
    }

    /// The instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Parity bytes per codeword.
    pub fn roots(&self) -> usize {
        self.full.len()
    }

    /// Feeds one block of `bs` message bytes into each of several groups of `bs` codewords.
    ///
    /// `state` holds, per group, `roots` rows of `bs` bytes: byte `o` of row `(head + j) % roots` is parity
    /// byte `p[j]` of codeword `o` (the rows form a ring so that the shift costs nothing: after the step,
    /// the caller advances `head` by one). `data` holds one `bs`-byte block per group. Groups are processed
    /// while both `state` and `data` last. All instruction sets give the same bytes.
    pub fn step(&self, state: &mut [u8], data: &[u8], bs: usize, head: usize) {
        let n = self.full.len();
        if n == 0 || bs == 0 {
            return;
        }
        let h = head % n;
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if bs.is_multiple_of(64) => {
                // SAFETY: `self.isa` is `Avx512` only if `RsStep::new` found AVX-512F and AVX-512BW on this CPU
                // (`Isa::check`), the features `rs_step` is compiled for.
                unsafe { crate::x86::avx512::rs_step(state, data, bs, h, &self.lo, &self.hi) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 if bs.is_multiple_of(32) => {
                // SAFETY: `self.isa` is `Avx2` only if `RsStep::new` found AVX2 on this CPU.
                unsafe { crate::x86::avx2::rs_step(state, data, bs, h, &self.lo, &self.hi) }
            }
            _ => step_scalar(state, data, bs, h, &self.full),
        }
    }
}

fn step_scalar(state: &mut [u8], data: &[u8], bs: usize, h: usize, full: &[[u8; 256]]) {
    let n = full.len();
    for (rows, d) in state.chunks_exact_mut(n * bs).zip(data.chunks_exact(bs)) {
        for o in 0..bs {
            let fb = d[o] ^ rows[h * bs + o];
            for j in 1..n {
                rows[((h + j) % n) * bs + o] ^= full[j][usize::from(fb)];
            }
            rows[h * bs + o] = full[0][usize::from(fb)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_basics() {
        assert_eq!(exp(0), 1);
        assert_eq!(exp(8), 0x1d, "α⁸ = x⁴ + x³ + x² + 1");
        assert_eq!(exp(255), 1);
        for a in 0..=255u8 {
            assert_eq!(mul(a, 1), a);
            assert_eq!(mul(a, 0), 0);
            for b in [2u8, 3, 0x53, 0xca, 0xff] {
                assert_eq!(mul(a, b), mul(b, a));
                // Russian-peasant multiplication, reduced by the polynomial.
                let (mut x, mut y, mut p) = (u16::from(a), b, 0u16);
                while y != 0 {
                    if y & 1 != 0 {
                        p ^= x;
                    }
                    x <<= 1;
                    if x & 0x100 != 0 {
                        x ^= POLY;
                    }
                    y >>= 1;
                }
                assert_eq!(u16::from(mul(a, b)), p, "{a} * {b}");
            }
        }
    }
}
