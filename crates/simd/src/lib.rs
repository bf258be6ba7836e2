//! The one room with `unsafe` code in yardstick: the x86-64 SIMD kernels, behind safe APIs.
//!
//! Every other crate of the workspace has `#![forbid(unsafe_code)]`. This one holds the hot loops that need
//! vector or hash intrinsics:
//!
//! * [`sha256`]: many equal-length messages hashed at once (multi-buffer SHA-256), 8 lanes with AVX2 or 16
//!   with AVX-512, for dm-verity's hash tree;
//! * [`gf256`]: the Reed-Solomon encoder step over GF(2⁸) for thousands of codewords at once (nibble tables
//!   looked up with `PSHUFB`), for dm-verity's FEC;
//! * [`pair`]: two unrelated long messages compressed together (SHA-1 and SHA-256 with SHA-NI, SHA-512 with
//!   AVX-512VL), for PCR prediction's streams; checked against RustCrypto/ring by
//!   `yardstick_common::hash::streams`' tests.
//!
//! Both vector widths come from one definition: each kernel is written once (a `macro_rules!` body in the
//! private `x86` module) against a small set of primitive operations (add, rotate-based σ functions, table
//! shuffle, load, store, ...) that a per-width module provides as `#[target_feature]` functions. The kernels
//! are safe functions with `#[target_feature]`; the only `unsafe` operations are the calls into them, made
//! after run-time feature detection, the vector loads and stores, each from or to a `&[u8; N]` of exactly
//! the vector's size, and the conversion of a vector to the array of its lanes. Each `unsafe` block states why it is sound in a `// SAFETY:` comment.
//!
//! The public types are safe to use on any CPU: a [`sha256::Batch`] or [`gf256::RsStep`] is built for an
//! [`Isa`] only after the CPU was found to support it ([`Unavailable`] otherwise), and that check is what
//! every dispatch relies on.
//!
//! ```
//! use yardstick_simd::{Isa, sha256::Batch};
//! let isa = Isa::best();
//! let batch = Batch::new(isa, b"salt", &[], 4096).unwrap();
//! let blocks = vec![0x5a; 3 * 4096];
//! let mut out = [[0u8; 32]; 3];
//! assert_eq!(batch.digest_chunks(&blocks, &mut out), 3);
//! let scalar = Batch::new(Isa::Scalar, b"salt", &[], 4096).unwrap();
//! let mut want = [[0u8; 32]; 3];
//! scalar.digest_chunks(&blocks, &mut want);
//! assert_eq!(out, want);
//! ```

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
// Kernels over fixed-size blocks, states and lanes (`[u32; 8]`, `[u8; 64]`, lane `i < LANES`), indexed by
// constants or loop counters bounded by those sizes; the public entry points check every caller length first.
#![allow(clippy::indexing_slicing)]

/// `$round!(0); $round!(1); ... $round!(15);`: sixteen SHA-2 rounds written out, each with a constant message
/// schedule index, so that the 16 schedule words can live in registers.
macro_rules! unroll16 {
    ($round:ident) => {
        $round!(0);
        $round!(1);
        $round!(2);
        $round!(3);
        $round!(4);
        $round!(5);
        $round!(6);
        $round!(7);
        $round!(8);
        $round!(9);
        $round!(10);
        $round!(11);
        $round!(12);
        $round!(13);
        $round!(14);
        $round!(15);
    };
}

pub mod gf256;
pub mod pair;
pub mod sha256;

#[cfg(target_arch = "x86_64")]
mod x86;

/// An instruction set a kernel is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, any CPU.
    Scalar,
    /// x86-64 AVX2 (256-bit vectors).
    Avx2,
    /// x86-64 AVX-512F and AVX-512BW (512-bit vectors).
    Avx512,
}

impl Isa {
    /// Every instruction set, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// Lower-case name: `scalar`, `avx2`, `avx512`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The first CPU feature this instruction set needs and the CPU lacks (as `/proc/cpuinfo`-like names
    /// `avx2`, `avx512f`, `avx512bw`), or `None` when the CPU can run it. Detected at run time.
    pub fn missing_feature(self) -> Option<&'static str> {
        match self {
            Isa::Scalar => None,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => (!std::arch::is_x86_feature_detected!("avx2")).then_some("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                if !std::arch::is_x86_feature_detected!("avx512f") {
                    Some("avx512f")
                } else if !std::arch::is_x86_feature_detected!("avx512bw") {
                    Some("avx512bw")
                } else {
                    None
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 => Some("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 => Some("avx512f"),
        }
    }

    /// Whether this CPU can run the instruction set.
    pub fn available(self) -> bool {
        self.missing_feature().is_none()
    }

    /// Ok if this CPU can run the instruction set.
    pub fn check(self) -> Result<Isa, Unavailable> {
        match self.missing_feature() {
            None => Ok(self),
            Some(feature) => Err(Unavailable { isa: self, feature }),
        }
    }

    /// The widest instruction set this CPU can run.
    pub fn best() -> Isa {
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|i| i.available())
            .unwrap_or(Isa::Scalar)
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The CPU cannot run a kernel for the requested instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("CPU lacks {feature}")]
pub struct Unavailable {
    /// The instruction set asked for.
    pub isa: Isa,
    /// The first CPU feature it needs that is missing.
    pub feature: &'static str,
}

/// Whether the CPU has the SHA extensions (SHA-NI), with which one-message-at-a-time SHA-256 (ring) beats
/// multi-buffer hashing.
pub fn has_sha_ni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
