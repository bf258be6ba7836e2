//! Many equal-length messages hashed at once: multi-buffer SHA-256.
//!
//! dm-verity hashes every data block as `salt || block` (format 1) or `block || salt` (format 0): millions of
//! independent, equal-length messages. A CPU without SHA-NI hashes one SHA-256 stream at about 330 MB/s per
//! core (ring's AVX2 code), but the same CPU can run 8 (AVX2) or 16 (AVX-512) independent SHA-256
//! computations side by side in the lanes of one vector register, several times faster in total.
//! [`BatchHasher`] does that for a batch of messages framed as `prefix || message || suffix`, with the kernels
//! of `yardstick_simd::sha256` (the prefix's whole blocks compressed once and shared by all lanes, message
//! blocks read straight from the caller's buffer).
//!
//! Backend choice, made once per process by measurement ([`Choice`]): every backend the CPU can run hashes a
//! small batch of the real shape and the fastest is kept, because which one wins depends on the
//! microarchitecture (ring's SHA-NI code against 16-lane AVX-512, whose speed differs between Intel and
//! double-pumped Zen 4), not on a CPUID rule. `YARDSTICK_HASH_BACKEND` = `ring`, `avx2` or `avx512` forces
//! one (for tests and benchmarks); an unavailable choice falls back to measurement.
//! SHA-1, SHA-384 and SHA-512 always use [`Algorithm::hasher`], one message at a time, with the prefix absorbed once.
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

use yardstick_simd::Isa;
use yardstick_simd::sha256::Batch;

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
        self.isa().is_none_or(Isa::available)
    }

    /// The multi-buffer kernel's instruction set; `None` for ring.
    fn isa(self) -> Option<Isa> {
        match self {
            Backend::Ring => None,
            Backend::Avx2 => Some(Isa::Avx2),
            Backend::Avx512 => Some(Isa::Avx512),
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

    /// The SHA-256 backend of this process: the one `YARDSTICK_HASH_BACKEND` forces, else the fastest one
    /// measured on this CPU (see [`Choice`]). Decided once per process, on the shape of the first batch.
    pub fn detect() -> Backend {
        Choice::get(&[0; 32], &[], 4096).backend
    }

    /// The backend named by `YARDSTICK_HASH_BACKEND`, if it names one this CPU can run.
    fn forced() -> Option<Backend> {
        let v = std::env::var("YARDSTICK_HASH_BACKEND").ok()?;
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == v.trim().to_ascii_lowercase())
            .filter(|b| b.available())
    }
}

/// How the process's SHA-256 backend was chosen: no CPUID rule is right on every CPU (SHA-NI beats 16-lane
/// AVX-512 on some microarchitectures and loses on others), so at first use every available backend hashes a
/// small batch of the real shape (the prefix, suffix and message length of the first [`BatchHasher`]), about
/// 1 MiB each, best of three, and the fastest is kept for the process. `YARDSTICK_HASH_BACKEND` skips the
/// measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The backend in use.
    pub backend: Backend,
    /// Whether `YARDSTICK_HASH_BACKEND` chose it.
    pub forced: bool,
    /// Each available backend's measured rate in bytes per second (empty when forced).
    pub rates: Vec<(Backend, f64)>,
}

impl Choice {
    /// The process's choice, measured on this shape if it is the first call.
    pub fn get(prefix: &[u8], suffix: &[u8], msg_len: usize) -> &'static Choice {
        static CHOICE: std::sync::OnceLock<Choice> = std::sync::OnceLock::new();
        CHOICE.get_or_init(|| match Backend::forced() {
            Some(backend) => Choice {
                backend,
                forced: true,
                rates: Vec::new(),
            },
            None => Choice::measure(prefix, suffix, msg_len),
        })
    }

    /// Times every available backend on messages of this shape and picks the fastest.
    pub fn measure(prefix: &[u8], suffix: &[u8], msg_len: usize) -> Choice {
        // A message length the verity formats use; an odd one is measured as 4 KiB blocks.
        let len = if (64..=(1 << 20)).contains(&msg_len) {
            msg_len
        } else {
            4096
        };
        let count = ((256 << 10) / len).max(16);
        // Pseudo-random message bytes (an xorshift stream): content does not change SHA-256's speed, but
        // zeros could flatter a future backend that special-cases them.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let buf: Vec<u8> = (0..len * count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let mut out = vec![Algorithm::Sha256.zero(); count];
        let mut rates = Vec::new();
        for b in Backend::ALL.into_iter().filter(|b| b.available()) {
            let h = BatchHasher::with_backend(Algorithm::Sha256, prefix, suffix, len, b);
            h.digest_chunks(&buf, &mut out); // warm-up: caches, frequency
            let best = (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    h.digest_chunks(&buf, &mut out);
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
                .max(1e-9);
            rates.push((b, (buf.len() as f64) / best));
        }
        let backend = rates
            .iter()
            .fold(None::<(Backend, f64)>, |best, &(b, r)| match best {
                Some((_, br)) if br >= r => best,
                _ => Some((b, r)),
            })
            .map_or(Backend::Ring, |(b, _)| b);
        Choice {
            backend,
            forced: false,
            rates,
        }
    }

    /// One line for people: `sha256 backend avx512 (measured: ring 1650 MB/s, avx2 980 MB/s, avx512 2110 MB/s)`
    /// or `sha256 backend ring (forced by YARDSTICK_HASH_BACKEND)`.
    pub fn describe(&self) -> String {
        if self.forced {
            return format!(
                "sha256 backend {} (forced by YARDSTICK_HASH_BACKEND)",
                self.backend.name()
            );
        }
        let rates: Vec<String> = self
            .rates
            .iter()
            .map(|(b, r)| format!("{} {:.0} MB/s", b.name(), r / 1e6))
            .collect();
        format!(
            "sha256 backend {} (measured per core: {})",
            self.backend.name(),
            rates.join(", ")
        )
    }
}

/// Hashes many messages of one length, each framed as `prefix || message || suffix`, using every vector lane
/// the CPU offers (see the module docs). Cheap to clone; share one per thread.
#[derive(Clone)]
pub struct BatchHasher {
    alg: Algorithm,
    msg_len: usize,
    suffix: Vec<u8>,
    /// Single-message hasher with the prefix absorbed: used for [`Backend::Ring`] and for odd-sized messages.
    ring_ctx: super::Hasher,
    /// The multi-buffer kernel for SHA-256 with a vector backend the CPU supports.
    simd: Option<(Backend, Batch)>,
}

impl BatchHasher {
    /// A hasher for messages of `msg_len` bytes with the process's backend ([`Choice`]; SHA-256 only: the
    /// other algorithms need no choice).
    pub fn new(alg: Algorithm, prefix: &[u8], suffix: &[u8], msg_len: usize) -> BatchHasher {
        let backend = match alg {
            Algorithm::Sha256 => Choice::get(prefix, suffix, msg_len).backend,
            _ => Backend::Ring,
        };
        BatchHasher::with_backend(alg, prefix, suffix, msg_len, backend)
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
        let mut ring_ctx = alg.hasher();
        ring_ctx.update(prefix);
        let simd = match (alg, backend.isa()) {
            (Algorithm::Sha256, Some(isa)) => Batch::new(isa, prefix, suffix, msg_len)
                .ok()
                .map(|b| (backend, b)),
            _ => None,
        };
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
        self.simd.as_ref().map_or(Backend::Ring, |(b, _)| *b)
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
        ctx.finish()
    }

    /// Digests consecutive `msg_len`-byte messages of `buf` into `out` (message `i` is
    /// `buf[i * msg_len..(i + 1) * msg_len]`). Processes `min(out.len(), buf.len() / msg_len)` messages and
    /// returns that count.
    pub fn digest_chunks(&self, buf: &[u8], out: &mut [Digest]) -> usize {
        let count = match buf.len().checked_div(self.msg_len) {
            Some(n) => out.len().min(n),
            None => out.len(),
        };
        let Some((_, simd)) = &self.simd else {
            for (i, o) in out.iter_mut().enumerate().take(count) {
                let m = buf
                    .get(i * self.msg_len..(i + 1) * self.msg_len)
                    .unwrap_or(&[]);
                *o = self.digest_one(m);
            }
            return count;
        };
        // The kernels write plain 32-byte digests: hash a slice of messages at a time into a small buffer (a
        // multiple of every lane count) and wrap them.
        const STEP: usize = 128;
        let mut raw = [[0u8; 32]; STEP];
        let mut done = 0;
        while done < count {
            let n = STEP.min(count - done);
            let window = buf
                .get(done * self.msg_len..(done + n) * self.msg_len)
                .unwrap_or(&[]);
            // n <= STEP and done + n <= count <= out.len(): both windows are whole.
            let raw = raw.get_mut(..n).unwrap_or_default();
            simd.digest_chunks(window, raw);
            let outs = out.get_mut(done..done + n).unwrap_or_default();
            for (o, r) in outs.iter_mut().zip(raw.iter()) {
                let mut bytes = [0u8; MAX_DIGEST_LEN];
                bytes[..32].copy_from_slice(r);
                *o = Digest {
                    alg: Algorithm::Sha256,
                    bytes,
                };
            }
            done += n;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_choice_is_the_fastest_available_backend() {
        let c = Choice::measure(&[1; 32], &[], 4096);
        assert!(!c.forced);
        let available: Vec<Backend> = Backend::ALL.into_iter().filter(|b| b.available()).collect();
        let measured: Vec<Backend> = c.rates.iter().map(|(b, _)| *b).collect();
        assert_eq!(measured, available);
        let best = c.rates.iter().map(|(_, r)| *r).fold(0.0, f64::max);
        assert!(c.rates.contains(&(c.backend, best)), "{c:?}");
        assert!(
            c.rates.iter().all(|(_, r)| r.is_finite() && *r > 0.0),
            "{c:?}"
        );
        assert!(c.describe().starts_with(&format!(
            "sha256 backend {} (measured per core: ring ",
            c.backend.name()
        )));
    }

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
    fn detect_prefers_an_available_backend() {
        assert!(Backend::detect().available());
    }
}
