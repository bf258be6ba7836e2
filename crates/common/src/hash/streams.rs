//! Several independent long messages in one algorithm, hashed two at a time.
//!
//! PCR prediction hashes the same UKI twice per bank (its Authenticode image hash for PCR 4, its sections for
//! PCR 11): unrelated messages of tens of MiB. One message at a time, SHA-NI waits on its own latency and
//! SHA-512's 64-bit rounds use one scalar lane; two messages interleaved ([`yardstick_simd::pair`]) fill the
//! idle slots. [`digest_streams`] runs the messages on two lanes, each lane taking the next message when its
//! current one ends (longest first), and returns the digests in input order.
//!
//! Whether pairing pays is measured once per process and algorithm ([`PairChoice`]): the pair kernel and the
//! one-at-a-time hasher ([`Algorithm::hasher`]) each hash two 32 KiB messages, in alternating rounds, and
//! pairing is kept when it is at least 20% faster (a tie is better spent as two streams on two cores), because
//! the gain depends on the microarchitecture (SHA-NI's latency against its throughput, how many vector
//! rotates a core issues per cycle), not on a CPUID rule. Measured on an AMD EPYC with SHA-NI and AVX-512:
//! SHA-1 1.7x, SHA-256 1.4x, SHA-512 1.0x (kept one at a time). Work too small to pay for the measurement
//! (under 4 MiB) uses the hasher. `YARDSTICK_HASH_STREAMS` = `pair` or `single` forces the choice (for
//! tests and benchmarks).
//!
//! ```
//! use yardstick_common::hash::{Algorithm, streams::digest_streams};
//! let a = vec![1u8; 300];
//! let b = vec![2u8; 70];
//! let d = digest_streams(Algorithm::Sha384, &[&[&a[..100], &a[100..]], &[&b[..]]]);
//! assert_eq!(d[0], Algorithm::Sha384.digest(&a));
//! assert_eq!(d[1], Algorithm::Sha384.digest(&b));
//! ```

use std::sync::OnceLock;

use yardstick_simd::pair::{Function, Kernel, State};

use super::{Algorithm, Digest};

/// One message: its parts, in order.
pub type Stream<'a> = &'a [&'a [u8]];

/// Work below this many bytes in total is hashed one message at a time without measuring.
const MEASURE_THRESHOLD: usize = 4 << 20;

/// Digests of `streams` (each the concatenation of its parts) in `alg`, in input order.
pub fn digest_streams(alg: Algorithm, streams: &[Stream<'_>]) -> Vec<Digest> {
    let total: usize = streams.iter().flat_map(|s| s.iter()).map(|p| p.len()).sum();
    let kernel = if streams.len() >= 2 && total >= MEASURE_THRESHOLD {
        PairChoice::get(alg).kernel()
    } else {
        None
    };
    match kernel {
        Some(k) => paired(alg, k, streams).unwrap_or_else(|| one_at_a_time(alg, streams)),
        None => one_at_a_time(alg, streams),
    }
}

/// Digests of independent jobs (an algorithm and one message each), on every core: the jobs of an algorithm
/// whose pairing pays ([`PairChoice`]) are hashed two at a time, the others one at a time; the resulting
/// tasks run on up to as many threads as there are cores, costliest first (a greedy schedule that keeps the
/// cores evenly loaded). The digests come back in job order.
pub fn digest_jobs(jobs: &[(Algorithm, Stream<'_>)]) -> Vec<Digest> {
    let bytes = |s: Stream<'_>| s.iter().map(|p| p.len()).sum::<usize>();
    // Tasks: (algorithm, job indices, estimated cost).
    let mut tasks: Vec<(Algorithm, Vec<usize>, f64)> = Vec::new();
    for alg in Algorithm::ALL {
        let mut mine: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs.get(i).is_some_and(|j| j.0 == alg))
            .collect();
        let len = |i: usize| jobs.get(i).map_or(0, |j| bytes(j.1));
        let total: usize = mine.iter().map(|&i| len(i)).sum();
        // Relative cost per byte: SHA-512's rounds run on 64-bit words without CPU hash instructions.
        let per_byte = match alg {
            Algorithm::Sha1 | Algorithm::Sha256 => 1.0,
            Algorithm::Sha384 | Algorithm::Sha512 => 2.0,
        };
        let choice = PairChoice::get_if(alg, mine.len() >= 2 && total >= MEASURE_THRESHOLD);
        // Paired: the longest two streams form one task, the next two the next, and so on, so that tasks
        // stay small enough to balance the cores.
        let (group, speedup) = match choice {
            Some(c) if c.pair => (2, c.rates.map_or(1.4, |(s, p)| p / s.max(1.0))),
            _ => (1, 1.0),
        };
        mine.sort_by_key(|&i| std::cmp::Reverse(len(i)));
        for chunk in mine.chunks(group) {
            let cost: usize = chunk.iter().map(|&i| len(i)).sum();
            tasks.push((alg, chunk.to_vec(), cost as f64 * per_byte / speedup));
        }
    }
    tasks.sort_by(|a, b| b.2.total_cmp(&a.2));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        while let Some((alg, idx, _)) =
            tasks.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        {
            let streams: Vec<Stream<'_>> = idx
                .iter()
                .filter_map(|&i| jobs.get(i).map(|j| j.1))
                .collect();
            let digests = digest_streams(*alg, &streams);
            done.extend(idx.iter().copied().zip(digests));
        }
        done
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tasks.len())
        .max(1);
    let mut out: Vec<Option<Digest>> = vec![None; jobs.len()];
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mine = work();
        for (i, d) in helpers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .chain(mine)
        {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(d);
            }
        }
    });
    // Every job belongs to exactly one task, and every task was taken by exactly one worker.
    out.into_iter()
        .zip(jobs)
        .map(|(d, (alg, s))| d.unwrap_or_else(|| alg.digest_parts(s)))
        .collect()
}

fn one_at_a_time(alg: Algorithm, streams: &[Stream<'_>]) -> Vec<Digest> {
    streams.iter().map(|s| alg.digest_parts(s)).collect()
}

/// The pair kernel's compression function for `alg`.
pub(super) fn function(alg: Algorithm) -> Function {
    match alg {
        Algorithm::Sha1 => Function::Sha1,
        Algorithm::Sha256 => Function::Sha256,
        Algorithm::Sha384 | Algorithm::Sha512 => Function::Sha512,
    }
}

/// How one algorithm's streams are hashed in this process.
#[derive(Debug, Clone, PartialEq)]
pub struct PairChoice {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Whether two messages are hashed together.
    pub pair: bool,
    /// Whether `YARDSTICK_HASH_STREAMS` decided.
    pub forced: bool,
    /// Why pairing is not possible (the CPU feature missing), if so.
    pub unavailable: Option<&'static str>,
    /// Measured rates in bytes per second, one at a time and paired (both `None` when not measured).
    pub rates: Option<(f64, f64)>,
}

impl PairChoice {
    /// The process's choice for `alg`, measured at the first call.
    pub fn get(alg: Algorithm) -> &'static PairChoice {
        static CHOICES: [OnceLock<PairChoice>; 4] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        let slot = match alg {
            Algorithm::Sha1 => &CHOICES[0],
            Algorithm::Sha256 => &CHOICES[1],
            Algorithm::Sha384 => &CHOICES[2],
            Algorithm::Sha512 => &CHOICES[3],
        };
        slot.get_or_init(|| PairChoice::decide(alg))
    }

    /// Makes the choices for `algs` (each once per process), one after the other on this thread: a caller
    /// can run this on a second thread while it reads its input, so that the few milliseconds each measurement
    /// takes do not add up before the work starts. (Not two measurements at once: with other work running,
    /// two measuring threads on two cores would time each other's interruptions.)
    pub fn prepare(algs: &[Algorithm]) {
        for &a in algs {
            PairChoice::get(a);
        }
    }

    /// [`PairChoice::get`] when `worth_it` (enough work to pay for a measurement), else `None`.
    fn get_if(alg: Algorithm, worth_it: bool) -> Option<&'static PairChoice> {
        worth_it.then(|| PairChoice::get(alg))
    }

    pub(super) fn kernel(&self) -> Option<Kernel> {
        if self.pair {
            Kernel::new(function(self.algorithm)).ok()
        } else {
            None
        }
    }

    fn decide(alg: Algorithm) -> PairChoice {
        let kernel = Kernel::new(function(alg));
        let mut choice = PairChoice {
            algorithm: alg,
            pair: false,
            forced: false,
            unavailable: kernel.err().map(|m| m.feature),
            rates: None,
        };
        let Ok(kernel) = kernel else {
            return choice;
        };
        match std::env::var("YARDSTICK_HASH_STREAMS")
            .ok()
            .as_deref()
            .map(str::trim)
        {
            Some("pair") => {
                choice.pair = true;
                choice.forced = true;
                return choice;
            }
            Some("single") => {
                choice.forced = true;
                return choice;
            }
            _ => {}
        }
        let (single, pair) = measure(alg, kernel);
        // Pairing must win clearly: a tie (SHA-512 where vector rotates are scarce) keeps two streams free to
        // run on two cores instead of one.
        choice.pair = pair > single * 1.2;
        choice.rates = Some((single, pair));
        choice
    }

    /// One line for people: `sha384 streams paired (measured: one at a time 1003 MB/s, paired 1650 MB/s)`.
    pub fn describe(&self) -> String {
        let how = if self.pair { "paired" } else { "one at a time" };
        let why = match (self.unavailable, self.forced, self.rates) {
            (Some(f), _, _) => format!("CPU lacks {f}"),
            (None, true, _) => "forced by YARDSTICK_HASH_STREAMS".to_string(),
            (None, false, Some((s, p))) => format!(
                "measured per core: one at a time {:.0} MB/s, paired {:.0} MB/s",
                s / 1e6,
                p / 1e6
            ),
            (None, false, None) => "not measured".to_string(),
        };
        format!("{} streams {how} ({why})", self.algorithm.name())
    }
}

/// Rates (bytes per second) of hashing two 32 KiB messages one at a time and paired: four rounds that
/// alternate the two ways (so a clock ramping up or a neighbour's burst hits both), the best of each kept.
fn measure(alg: Algorithm, kernel: Kernel) -> (f64, f64) {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let buf: Vec<u8> = (0..64 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    let (a, b) = buf.split_at(buf.len() / 2);
    let streams: [Stream<'_>; 2] = [&[a], &[b]];
    let time = |f: &dyn Fn() -> Vec<Digest>| {
        let t = std::time::Instant::now();
        std::hint::black_box(f());
        t.elapsed().as_secs_f64().max(1e-9)
    };
    let single_way = || one_at_a_time(alg, &streams);
    let pair_way = || paired(alg, kernel, &streams).unwrap_or_default();
    // Warm-up: caches, the vector unit's power state.
    time(&single_way);
    time(&pair_way);
    let (mut single, mut pair) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..4 {
        single = single.min(time(&single_way));
        pair = pair.min(time(&pair_way));
    }
    let n = buf.len() as f64;
    (n / single, n / pair)
}

/// The streams on two lanes of `kernel`; `None` if the kernel made no progress (a state/kernel mismatch,
/// which construction rules out), so the caller falls back.
fn paired(alg: Algorithm, kernel: Kernel, streams: &[Stream<'_>]) -> Option<Vec<Digest>> {
    let bl = kernel.function().block_len();
    // Longest first, so the lanes end close together.
    let mut order: Vec<usize> = (0..streams.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(
            streams
                .get(i)
                .map_or(0, |s| s.iter().map(|p| p.len()).sum::<usize>()),
        )
    });
    let mut queue = order.into_iter();
    let mut out: Vec<Option<Digest>> = vec![None; streams.len()];
    let next = |queue: &mut std::vec::IntoIter<usize>| {
        queue
            .next()
            .and_then(|i| streams.get(i).map(|s| (i, Cursor::new(alg, bl, s))))
    };
    let mut lanes = [next(&mut queue), next(&mut queue)];
    loop {
        for lane in lanes.iter_mut() {
            while let Some((i, c)) = lane {
                c.prepare();
                if !c.finished() {
                    break;
                }
                if let Some(slot) = out.get_mut(*i) {
                    *slot = Some(c.digest());
                }
                *lane = next(&mut queue);
            }
        }
        let n = match &mut lanes {
            [Some((_, a)), Some((_, b))] => {
                let (sa, da) = a.view();
                let (sb, db) = b.view();
                let n = kernel.compress2(sa, da, sb, db);
                a.consume(n * bl);
                b.consume(n * bl);
                n
            }
            [Some((_, c)), None] | [None, Some((_, c))] => {
                let (s, d) = c.view();
                let n = kernel.compress(s, d);
                c.consume(n * bl);
                n
            }
            [None, None] => break,
        };
        if n == 0 {
            return None;
        }
    }
    out.into_iter().collect()
}

/// One message fed to a lane: whole blocks straight from its parts, and the blocks that straddle parts or
/// carry the padding assembled in a small staging area.
struct Cursor<'a> {
    alg: Algorithm,
    bl: usize,
    parts: Stream<'a>,
    part: usize,
    off: usize,
    len: u128,
    state: State,
    stage: [u8; 256],
    stage_pos: usize,
    stage_len: usize,
    padded: bool,
}

impl<'a> Cursor<'a> {
    fn new(alg: Algorithm, bl: usize, parts: Stream<'a>) -> Cursor<'a> {
        let len = parts.iter().map(|p| p.len() as u128).sum();
        Cursor {
            alg,
            bl,
            parts,
            part: 0,
            off: 0,
            len,
            state: initial(alg),
            stage: [0; 256],
            stage_pos: 0,
            stage_len: 0,
            padded: false,
        }
    }

    fn remaining_in_part(&self) -> usize {
        self.parts
            .get(self.part)
            .map_or(0, |p| p.len().saturating_sub(self.off))
    }

    /// Makes sure a whole block is ready (staged or in the current part) unless the message is done.
    fn prepare(&mut self) {
        if self.stage_pos < self.stage_len {
            return;
        }
        self.stage_pos = 0;
        self.stage_len = 0;
        while self.part < self.parts.len() && self.remaining_in_part() == 0 {
            self.part += 1;
            self.off = 0;
        }
        if self.remaining_in_part() >= self.bl || self.padded {
            return;
        }
        // Fewer than a block left in this part: gather across parts.
        while self.stage_len < self.bl {
            let Some(p) = self.parts.get(self.part) else {
                break;
            };
            let take = (self.bl - self.stage_len).min(p.len().saturating_sub(self.off));
            if let (Some(dst), Some(src)) = (
                self.stage.get_mut(self.stage_len..self.stage_len + take),
                p.get(self.off..self.off + take),
            ) {
                dst.copy_from_slice(src);
            }
            self.stage_len += take;
            self.off += take;
            if self.off >= p.len() {
                self.part += 1;
                self.off = 0;
            }
        }
        if self.stage_len == self.bl {
            return;
        }
        // The end of the message: 0x80, zeros, and the length in bits (8 bytes for 64-byte blocks, 16 for
        // 128-byte ones), big-endian, ending a block.
        let len_field = self.bl / 8;
        let mut end = self.stage_len + 1 + len_field;
        end = end.div_ceil(self.bl) * self.bl;
        if let Some(b) = self.stage.get_mut(self.stage_len) {
            *b = 0x80;
        }
        if let Some(z) = self.stage.get_mut(self.stage_len + 1..end) {
            z.fill(0);
        }
        let bits = self.len.wrapping_mul(8).to_be_bytes();
        if let (Some(dst), Some(src)) = (
            self.stage.get_mut(end - len_field..end),
            bits.get(16 - len_field..),
        ) {
            dst.copy_from_slice(src);
        }
        self.stage_len = end;
        self.padded = true;
    }

    fn finished(&self) -> bool {
        self.padded && self.stage_pos >= self.stage_len
    }

    /// The state and the whole blocks ready now (after [`Cursor::prepare`]).
    fn view(&mut self) -> (&mut State, &[u8]) {
        let bl = self.bl;
        let data: &[u8] = if self.stage_pos < self.stage_len {
            self.stage
                .get(self.stage_pos..self.stage_len)
                .unwrap_or(&[])
        } else {
            let rem = self.remaining_in_part();
            self.parts
                .get(self.part)
                .and_then(|p| p.get(self.off..self.off + rem / bl * bl))
                .unwrap_or(&[])
        };
        (&mut self.state, data)
    }

    fn consume(&mut self, n: usize) {
        if self.stage_pos < self.stage_len {
            self.stage_pos += n;
        } else {
            self.off += n;
        }
    }

    fn digest(&self) -> Digest {
        state_digest(self.alg, &self.state)
    }
}

/// The digest a final compression state gives (big-endian words, truncated to the algorithm's length).
pub(super) fn state_digest(alg: Algorithm, state: &State) -> Digest {
    let mut bytes = [0u8; 64];
    let n = match *state {
        State::Words32(w) => {
            for (dst, word) in bytes.chunks_exact_mut(4).zip(w) {
                dst.copy_from_slice(&word.to_be_bytes());
            }
            alg.digest_len()
        }
        State::Words64(w) => {
            for (dst, word) in bytes.chunks_exact_mut(8).zip(w) {
                dst.copy_from_slice(&word.to_be_bytes());
            }
            alg.digest_len()
        }
    };
    Digest::from_raw(alg, bytes.get(..n).unwrap_or(&[]))
}

/// The initial hash value (FIPS 180-4 §5.3).
pub(super) fn initial(alg: Algorithm) -> State {
    match alg {
        Algorithm::Sha1 => State::Words32([
            0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0, 0, 0, 0,
        ]),
        Algorithm::Sha256 => State::Words32(yardstick_simd::sha256::H0),
        Algorithm::Sha384 => State::Words64([
            0xcbbb9d5dc1059ed8,
            0x629a292a367cd507,
            0x9159015a3070dd17,
            0x152fecd8f70e5939,
            0x67332667ffc00b31,
            0x8eb44a8768581511,
            0xdb0c2e0d64f98fa7,
            0x47b5481dbefa4fa4,
        ]),
        Algorithm::Sha512 => State::Words64([
            0x6a09e667f3bcc908,
            0xbb67ae8584caa73b,
            0x3c6ef372fe94f82b,
            0xa54ff53a5f1d36f1,
            0x510e527fade682d1,
            0x9b05688c2b3e6c1f,
            0x1f83d9abfb41bd6b,
            0x5be0cd19137e2179,
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Every length around block and padding boundaries, parts split at awkward places, both lanes busy
    /// and one lane alone: the paired digests equal the one-at-a-time ones (RustCrypto / ring).
    #[test]
    fn paired_equals_one_at_a_time() {
        let mut kernels = 0;
        for alg in Algorithm::ALL {
            let Ok(kernel) = Kernel::new(function(alg)) else {
                eprintln!("{alg}: pair kernel not runnable on this CPU");
                continue;
            };
            kernels += 1;
            let a = bytes(5000, 1);
            let b = bytes(4000, 2);
            for la in [
                0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 129, 255, 256, 1000, 5000,
            ] {
                for split in [0, 1, 17, 64, 100] {
                    let a = &a[..la];
                    let s = split.min(la);
                    let parts_a: Vec<&[u8]> = vec![&a[..s], &[], &a[s..]];
                    let parts_b: Vec<&[u8]> = vec![&b[..3], &b[3..130], &b[130..]];
                    let c = &b[..la / 3];
                    let parts_c: Vec<&[u8]> = vec![c];
                    let streams: Vec<Stream<'_>> = vec![&parts_a, &parts_b, &parts_c];
                    let got = paired(alg, kernel, &streams).expect("progress");
                    assert_eq!(
                        got,
                        one_at_a_time(alg, &streams),
                        "{alg} len {la} split {split}"
                    );
                }
            }
        }
        eprintln!("{kernels} of 4 algorithms checked with their pair kernel");
    }

    #[test]
    fn forced_single_and_small_work_use_the_hasher() {
        let a = bytes(1000, 3);
        let (p, q): ([&[u8]; 1], [&[u8]; 1]) = ([&a[..]], [&a[..10]]);
        let streams: Vec<Stream<'_>> = vec![&p, &q];
        for alg in Algorithm::ALL {
            assert_eq!(digest_streams(alg, &streams), one_at_a_time(alg, &streams));
        }
    }
}
