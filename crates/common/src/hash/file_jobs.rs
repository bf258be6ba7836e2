//! Many digests over one file, the file read once.
//!
//! PCR prediction hashes the bytes of one UKI six times and more: its Authenticode image hash and its section
//! contents, in every bank. [`digest_file_jobs`] takes the jobs as byte ranges of the file (plus bytes in
//! memory, e.g. zero padding) and reads the file once, front to back, in [`CHUNK`]-byte chunks through a few
//! recycled buffers: every job hashes the part of a chunk it covers while the chunk is hot in cache, no
//! whole-file buffer is allocated (on a VM, faulting in tens of MiB of fresh memory costs as much CPU as
//! hashing them twice), and memory stays bounded whatever the file's size.
//!
//! The jobs are spread over the cores as tasks (one job, or two jobs of an algorithm whose pairing pays, see
//! [`PairChoice`]), longest-processing-time first onto the least loaded worker by their measured rates. The
//! workers share a window of chunks: whoever first needs a chunk reads it (no extra thread competes for the
//! cores), at most [`DEPTH`] chunks ahead of the slowest worker, and each hashes its tasks' share of every
//! chunk; a pair hashes the equal-length stretches its two
//! jobs have in a chunk together (`Kernel::compress2`) and the rest one at a time.
//!
//! A job's file ranges must run forward (each starts at or after the end of the previous one), as Authenticode
//! and section contents do; ranges that would make a job go backwards are read into memory first (the small
//! ones around the large ranges that run forward, each range once for all jobs). The digests are
//! those of the concatenated parts, exactly as [`Algorithm::digest_parts`] would give (checked by the tests
//! against it on random layouts).

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::sync::{Arc, Condvar, Mutex};

use yardstick_simd::pair::{Kernel, State};

use super::streams::{self, PairChoice};
use super::{Algorithm, Digest, Hasher};

/// Bytes per chunk: small enough that a chunk stays in a core's L2 cache while its jobs hash it.
pub const CHUNK: usize = 512 << 10;
/// Chunks the reader may run ahead of the slowest worker.
pub const DEPTH: usize = 24;
/// Work (file bytes times jobs) below which pairing is not measured (as in `streams`).
const MEASURE_THRESHOLD: u64 = 4 << 20;

/// A piece of a message: bytes in memory, or `len` bytes of the file at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Bytes in memory.
    Mem(&'a [u8]),
    /// A byte range of the file.
    File {
        /// Start.
        offset: u64,
        /// Length.
        len: u64,
    },
}

impl Part<'_> {
    fn len(&self) -> u64 {
        match self {
            Part::Mem(m) => m.len() as u64,
            Part::File { len, .. } => *len,
        }
    }
}

/// Digests of `jobs` (an algorithm and a message made of parts each), in job order, reading `file` once.
/// An error is the file's read error (e.g. the file is shorter than a range).
pub fn digest_file_jobs(file: &File, jobs: &[(Algorithm, &[Part<'_>])]) -> io::Result<Vec<Digest>> {
    // File ranges that would make a job go backwards are read into memory first: the small ones around the
    // large ranges that run forward (systemd-stub 257's `.ucode` stored after `.initrd` but hashed first).
    // A range is read once whatever the number of jobs that need it, so memory stays within the file's size.
    let keep: Vec<Vec<bool>> = jobs.iter().map(|(_, parts)| streamable(parts)).collect();
    let mut owned: std::collections::HashMap<(u64, u64), Vec<u8>> = Default::default();
    for ((_, parts), keep) in jobs.iter().zip(&keep) {
        for (p, &k) in parts.iter().zip(keep) {
            if let (Part::File { offset, len }, false) = (*p, k)
                && !owned.contains_key(&(offset, len))
            {
                let mut b = vec![0u8; usize::try_from(len).map_err(|_| too_long())?];
                file.read_exact_at(&mut b, offset)?;
                owned.insert((offset, len), b);
            }
        }
    }
    let jobs: Vec<(Algorithm, Vec<Part<'_>>)> = jobs
        .iter()
        .zip(&keep)
        .map(|((alg, parts), keep)| {
            let parts = parts
                .iter()
                .zip(keep)
                .map(|(p, &k)| match *p {
                    Part::File { offset, len } if !k => {
                        Part::Mem(owned.get(&(offset, len)).map_or(&[][..], |b| &b[..]))
                    }
                    p => p,
                })
                .collect();
            (*alg, parts)
        })
        .collect();

    let (lo, hi) = span(&jobs);
    let workers = plan(&jobs);
    let jobs = &jobs;
    let mut states: Vec<Vec<TaskState>> = workers
        .iter()
        .map(|tasks| tasks.iter().map(|t| TaskState::new(t, jobs)).collect())
        .collect();

    // The workers share a window of chunks: whoever first needs a chunk not yet read reads it, at most DEPTH
    // chunks ahead of the slowest worker; a chunk every worker is done with hands its buffer to the next read.
    let ring = Ring::new(file, lo, hi, states.len());
    std::thread::scope(|s| {
        let ring = &ring;
        let mut all = states.iter_mut().enumerate();
        let mine = all.next();
        let handles: Vec<_> = all
            .map(|(w, st)| s.spawn(move || ring.work(w, st, jobs)))
            .collect();
        if let Some((w, st)) = mine {
            ring.work(w, st, jobs);
        }
        for h in handles {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
    if let Some(e) = ring.into_error() {
        return Err(e);
    }
    let mut out: Vec<Option<Digest>> = vec![None; jobs.len()];
    for st in states.into_iter().flatten() {
        for (i, d) in st.finish(jobs)? {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(d);
            }
        }
    }
    out.into_iter()
        .zip(jobs.iter())
        .map(|(d, (alg, _))| d.ok_or_else(|| internal(*alg)))
        .collect()
}

fn too_long() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "range too long for memory")
}

fn internal(alg: Algorithm) -> io::Error {
    io::Error::other(format!("{alg} job left unfinished"))
}

/// File ranges of at least this many bytes are streamed whenever their order allows.
const LARGE: u64 = 1 << 20;

/// Which of a job's parts are read from the file in the one pass (`true`), the others being read into memory
/// first: the large ranges that run forward (in order, each kept if it starts at or after the end of the last
/// one kept), then every small range that fits in order between its kept neighbours. The kept ranges run
/// forward, as the pass needs.
fn streamable(parts: &[Part<'_>]) -> Vec<bool> {
    let range = |p: &Part<'_>| match *p {
        Part::File { offset, len } => offset.checked_add(len).map(|end| (offset, end)),
        Part::Mem(_) => None,
    };
    let mut keep = vec![false; parts.len()];
    let mut end = 0u64;
    for (p, k) in parts.iter().zip(keep.iter_mut()) {
        if let Some((s, e)) = range(p)
            && e - s >= LARGE
            && s >= end
        {
            *k = true;
            end = e;
        }
    }
    // The start of the next kept range after each part (u64::MAX when none).
    let mut next_start = vec![u64::MAX; parts.len()];
    let mut next = u64::MAX;
    for i in (0..parts.len()).rev() {
        if let Some(slot) = next_start.get_mut(i) {
            *slot = next;
        }
        if keep.get(i).copied().unwrap_or(false) {
            next = parts.get(i).and_then(range).map_or(next, |(s, _)| s);
        }
    }
    let mut prev_end = 0u64;
    for i in 0..parts.len() {
        let Some((s, e)) = parts.get(i).and_then(range) else {
            continue;
        };
        if keep.get(i).copied().unwrap_or(false) {
            prev_end = e;
        } else if s >= prev_end && e <= next_start.get(i).copied().unwrap_or(0) {
            if let Some(k) = keep.get_mut(i) {
                *k = true;
            }
            prev_end = e;
        }
    }
    keep
}

/// The smallest and largest file offsets any job reads (`(0, 0)` when none).
fn span(jobs: &[(Algorithm, Vec<Part<'_>>)]) -> (u64, u64) {
    let ranges = jobs.iter().flat_map(|(_, parts)| {
        parts.iter().filter_map(|p| match *p {
            Part::File { offset, len } if len > 0 => Some((offset, offset.saturating_add(len))),
            _ => None,
        })
    });
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for (s, e) in ranges {
        lo = lo.min(s);
        hi = hi.max(e);
    }
    if lo > hi { (0, 0) } else { (lo, hi) }
}

/// One worker's unit: one job, or two of the same algorithm hashed together by `kernel`.
struct Task {
    jobs: Vec<usize>,
    kernel: Option<Kernel>,
    cost: f64,
}

/// Tasks per worker: jobs of an algorithm whose pairing pays paired longest with next longest, then the
/// tasks, costliest first, each onto the least loaded of up to as many workers as there are cores.
fn plan(jobs: &[(Algorithm, Vec<Part<'_>>)]) -> Vec<Vec<Task>> {
    let len = |i: usize| {
        jobs.get(i)
            .map_or(0, |(_, p)| p.iter().map(Part::len).sum::<u64>())
    };
    let mine = |alg: Algorithm| -> Vec<usize> {
        (0..jobs.len())
            .filter(|&i| jobs.get(i).is_some_and(|j| j.0 == alg))
            .collect()
    };
    let worth_measuring = |alg: Algorithm| {
        let m = mine(alg);
        m.len() >= 2 && m.iter().map(|&i| len(i)).sum::<u64>() >= MEASURE_THRESHOLD
    };
    let measured: Vec<Algorithm> = Algorithm::ALL
        .into_iter()
        .filter(|&a| worth_measuring(a))
        .collect();
    PairChoice::prepare(&measured);
    let mut tasks = Vec::new();
    for alg in Algorithm::ALL {
        let mut mine = mine(alg);
        let choice = measured.contains(&alg).then(|| PairChoice::get(alg));
        let kernel = choice.and_then(|c| c.kernel());
        // Bytes per second, one at a time and paired (a guess relative to SHA-256 when not measured).
        let guess = match alg {
            Algorithm::Sha1 | Algorithm::Sha256 => 1.0,
            Algorithm::Sha384 | Algorithm::Sha512 => 0.5,
        };
        let (single, pair) = choice.and_then(|c| c.rates).unwrap_or((guess, guess * 1.4));
        mine.sort_by_key(|&i| std::cmp::Reverse(len(i)));
        let group = if kernel.is_some() { 2 } else { 1 };
        for chunk in mine.chunks(group) {
            let bytes: u64 = chunk.iter().map(|&i| len(i)).sum();
            let rate = if chunk.len() == 2 { pair } else { single };
            tasks.push(Task {
                jobs: chunk.to_vec(),
                kernel: if chunk.len() == 2 { kernel } else { None },
                cost: bytes as f64 / rate.max(1e-9),
            });
        }
    }
    tasks.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    let n = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tasks.len())
        .max(1);
    let mut workers: Vec<(f64, Vec<Task>)> = (0..n).map(|_| (0.0, Vec::new())).collect();
    for t in tasks {
        if let Some(w) = workers.iter_mut().min_by(|a, b| a.0.total_cmp(&b.0)) {
            w.0 += t.cost;
            w.1.push(t);
        }
    }
    workers.into_iter().map(|(_, t)| t).collect()
}

/// `data` bytes of the file starting at `offset`.
struct Chunk {
    offset: u64,
    data: Vec<u8>,
}

/// The chunks of `[lo, hi)` the workers share.
struct Ring<'f> {
    file: &'f File,
    lo: u64,
    count: usize,
    hi: u64,
    state: Mutex<RingState>,
    changed: Condvar,
}

struct RingState {
    /// Index of `chunks[0]`.
    first: usize,
    chunks: VecDeque<Arc<Chunk>>,
    /// The next chunk each worker needs.
    next: Vec<usize>,
    /// A worker is reading the chunk after the last one.
    reading: bool,
    /// Buffers of chunks every worker is done with.
    spare: Vec<Vec<u8>>,
    /// A read failed, or a worker panicked: everyone stops.
    stop: bool,
    error: Option<io::Error>,
}

impl<'f> Ring<'f> {
    fn new(file: &'f File, lo: u64, hi: u64, workers: usize) -> Ring<'f> {
        let count =
            usize::try_from(hi.saturating_sub(lo).div_ceil(CHUNK as u64)).unwrap_or(usize::MAX);
        Ring {
            file,
            lo,
            count,
            hi,
            state: Mutex::new(RingState {
                first: 0,
                chunks: VecDeque::new(),
                next: vec![0; workers],
                reading: false,
                spare: Vec::new(),
                stop: false,
                error: None,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RingState> {
        // A worker that panicked while holding the lock left consistent state (it only ever sets fields).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'g>(
        &self,
        g: std::sync::MutexGuard<'g, RingState>,
    ) -> std::sync::MutexGuard<'g, RingState> {
        self.changed.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    /// Worker `w`: every chunk in order, hashed by its tasks.
    fn work(&self, w: usize, tasks: &mut [TaskState], jobs: &[(Algorithm, Vec<Part<'_>>)]) {
        // Unwinding out of here (a panic in a kernel) stops the others instead of leaving them waiting.
        struct StopOnPanic<'a, 'f>(&'a Ring<'f>);
        impl Drop for StopOnPanic<'_, '_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.lock().stop = true;
                    self.0.changed.notify_all();
                }
            }
        }
        let _guard = StopOnPanic(self);
        for k in 0..self.count {
            let Some(chunk) = self.get(k) else {
                return;
            };
            for t in tasks.iter_mut() {
                t.feed_chunk(jobs, Some(&chunk));
            }
            drop(chunk);
            self.done(w, k);
        }
    }

    /// Chunk `k`, read by this worker if nobody has yet; `None` when the work stopped.
    fn get(&self, k: usize) -> Option<Arc<Chunk>> {
        let mut g = self.lock();
        loop {
            if g.stop {
                return None;
            }
            let have = g.first + g.chunks.len();
            if k < have {
                return g.chunks.get(k.checked_sub(g.first)?).cloned();
            }
            let slowest = g.next.iter().copied().min().unwrap_or(k);
            if !g.reading && k == have && k.saturating_sub(slowest) < DEPTH {
                g.reading = true;
                let buf = g.spare.pop().unwrap_or_default();
                drop(g);
                let read = self.read(k, buf);
                g = self.lock();
                g.reading = false;
                match read {
                    Ok(c) => g.chunks.push_back(Arc::new(c)),
                    Err(e) => {
                        g.stop = true;
                        g.error = Some(e);
                    }
                }
                self.changed.notify_all();
                continue;
            }
            g = self.wait(g);
        }
    }

    fn read(&self, k: usize, mut data: Vec<u8>) -> io::Result<Chunk> {
        let offset = self.lo + (k as u64) * CHUNK as u64;
        let n = usize::try_from((self.hi - offset).min(CHUNK as u64)).unwrap_or(CHUNK);
        data.resize(n, 0);
        self.file.read_exact_at(&mut data, offset)?;
        Ok(Chunk { offset, data })
    }

    /// Worker `w` is done with chunk `k`: chunks every worker is done with give their buffers back.
    fn done(&self, w: usize, k: usize) {
        let mut g = self.lock();
        if let Some(n) = g.next.get_mut(w) {
            *n = k + 1;
        }
        let slowest = g.next.iter().copied().min().unwrap_or(0);
        while g.first < slowest {
            let Some(c) = g.chunks.pop_front() else {
                break;
            };
            g.first += 1;
            if let Some(c) = Arc::into_inner(c) {
                g.spare.push(c.data);
            }
        }
        self.changed.notify_all();
    }

    fn into_error(self) -> Option<io::Error> {
        self.state
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .error
    }
}

/// Where a job is in its parts.
#[derive(Clone, Copy, Default)]
struct Cursor {
    part: usize,
    off: u64,
}

impl Cursor {
    /// The job's bytes up to the end of `chunk` (all remaining when `None`: only memory parts may remain
    /// then), in order, advancing past them.
    fn take<'d>(
        &mut self,
        parts: &'d [Part<'d>],
        chunk: Option<&'d Chunk>,
        out: &mut Vec<&'d [u8]>,
    ) {
        while let Some(p) = parts.get(self.part) {
            match *p {
                Part::Mem(m) => {
                    out.push(m);
                    self.part += 1;
                    self.off = 0;
                }
                Part::File { offset, len } => {
                    let start = offset + self.off;
                    let end = offset + len;
                    if start >= end {
                        self.part += 1;
                        self.off = 0;
                        continue;
                    }
                    let Some(c) = chunk else { return };
                    let c_end = c.offset + c.data.len() as u64;
                    if start >= c_end || start < c.offset {
                        // Not yet (or never: the reader covers every range, so only a bug gets here).
                        return;
                    }
                    let stop = end.min(c_end);
                    let (a, b) = ((start - c.offset) as usize, (stop - c.offset) as usize);
                    if let Some(bytes) = c.data.get(a..b) {
                        out.push(bytes);
                    }
                    self.off += stop - start;
                    if stop < end {
                        return;
                    }
                }
            }
        }
    }

    fn done(&self, parts: &[Part<'_>]) -> bool {
        self.part >= parts.len()
    }
}

/// A task in progress: a lane per job.
struct TaskState {
    jobs: Vec<usize>,
    lanes: Vec<Lane>,
    cursors: Vec<Cursor>,
    kernel: Option<Kernel>,
}

impl TaskState {
    fn new(task: &Task, jobs: &[(Algorithm, Vec<Part<'_>>)]) -> TaskState {
        let lanes = task
            .jobs
            .iter()
            .map(|&i| {
                let alg = jobs.get(i).map_or(Algorithm::Sha256, |j| j.0);
                match task.kernel {
                    Some(k) => Lane::Kernel(KLane::new(alg, k)),
                    None => Lane::Plain(alg.hasher()),
                }
            })
            .collect();
        TaskState {
            jobs: task.jobs.clone(),
            lanes,
            cursors: vec![Cursor::default(); task.jobs.len()],
            kernel: task.kernel,
        }
    }

    /// Hashes every lane's bytes up to the end of `chunk` (the remaining memory parts when `None`).
    fn feed_chunk(&mut self, jobs: &[(Algorithm, Vec<Part<'_>>)], chunk: Option<&Chunk>) {
        let mut pieces: Vec<Vec<&[u8]>> = Vec::with_capacity(self.jobs.len());
        for (&i, cur) in self.jobs.iter().zip(self.cursors.iter_mut()) {
            let mut v = Vec::new();
            if let Some((_, parts)) = jobs.get(i) {
                cur.take(parts, chunk, &mut v);
            }
            pieces.push(v);
        }
        match (self.kernel, &mut self.lanes[..], &pieces[..]) {
            (Some(k), [Lane::Kernel(a), Lane::Kernel(b)], [pa, pb]) => feed_pair(k, a, pa, b, pb),
            _ => {
                for (lane, ps) in self.lanes.iter_mut().zip(&pieces) {
                    for p in ps {
                        lane.feed(p);
                    }
                }
            }
        }
    }

    /// The digests, by job index, after the last chunk.
    fn finish(mut self, jobs: &[(Algorithm, Vec<Part<'_>>)]) -> io::Result<Vec<(usize, Digest)>> {
        self.feed_chunk(jobs, None);
        let mut out = Vec::with_capacity(self.jobs.len());
        for ((&i, cur), lane) in self.jobs.iter().zip(&self.cursors).zip(self.lanes) {
            let complete = jobs.get(i).is_some_and(|(_, parts)| cur.done(parts));
            if !complete {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file ended before a hashed range",
                ));
            }
            out.push((i, lane.finish()));
        }
        Ok(out)
    }
}

/// Feeds two lanes their pieces of a chunk: equal-length stretches together, the rest one at a time.
fn feed_pair(k: Kernel, a: &mut KLane, pa: &[&[u8]], b: &mut KLane, pb: &[&[u8]]) {
    let (mut ia, mut ib) = (0, 0);
    let (mut ra, mut rb): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while ra.is_empty() && ia < pa.len() {
            ra = pa.get(ia).copied().unwrap_or(&[]);
            ia += 1;
        }
        while rb.is_empty() && ib < pb.len() {
            rb = pb.get(ib).copied().unwrap_or(&[]);
            ib += 1;
        }
        if ra.is_empty() || rb.is_empty() {
            break;
        }
        let n = ra.len().min(rb.len());
        let (xa, ya) = ra.split_at(n);
        let (xb, yb) = rb.split_at(n);
        KLane::feed2(k, a, xa, b, xb);
        (ra, rb) = (ya, yb);
    }
    a.feed(ra);
    b.feed(rb);
    for p in pa.get(ia..).unwrap_or(&[]) {
        a.feed(p);
    }
    for p in pb.get(ib..).unwrap_or(&[]) {
        b.feed(p);
    }
}

/// One message being hashed: by the algorithm's usual hasher, or block by block by a pair kernel.
enum Lane {
    Plain(Hasher),
    Kernel(KLane),
}

impl Lane {
    fn feed(&mut self, data: &[u8]) {
        match self {
            Lane::Plain(h) => h.update(data),
            Lane::Kernel(k) => k.feed(data),
        }
    }

    fn finish(self) -> Digest {
        match self {
            Lane::Plain(h) => h.finish(),
            Lane::Kernel(k) => k.finish(),
        }
    }
}

/// A message fed to a pair kernel: its state, the bytes of an unfinished block, the length so far.
struct KLane {
    alg: Algorithm,
    kernel: Kernel,
    bl: usize,
    state: State,
    pending: [u8; 128],
    plen: usize,
    total: u128,
}

impl KLane {
    fn new(alg: Algorithm, kernel: Kernel) -> KLane {
        KLane {
            alg,
            kernel,
            bl: kernel.function().block_len(),
            state: streams::initial(alg),
            pending: [0; 128],
            plen: 0,
            total: 0,
        }
    }

    /// Completes the pending block from the head of `data`; returns the rest.
    fn head<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        self.total += data.len() as u128;
        if self.plen == 0 {
            return data;
        }
        let take = (self.bl - self.plen).min(data.len());
        let (h, rest) = data.split_at(take);
        if let Some(dst) = self.pending.get_mut(self.plen..self.plen + take) {
            dst.copy_from_slice(h);
        }
        self.plen += take;
        if self.plen == self.bl {
            let block = self.pending;
            self.kernel
                .compress(&mut self.state, block.get(..self.bl).unwrap_or(&[]));
            self.plen = 0;
        }
        rest
    }

    /// Keeps the bytes after the whole blocks of `data` (fewer than a block; the pending block is empty).
    fn tail(&mut self, data: &[u8]) {
        let whole = data.len() / self.bl * self.bl;
        let rest = data.get(whole..).unwrap_or(&[]);
        if let Some(dst) = self.pending.get_mut(self.plen..self.plen + rest.len()) {
            dst.copy_from_slice(rest);
            self.plen += rest.len();
        }
    }

    fn feed(&mut self, data: &[u8]) {
        let data = self.head(data);
        if data.is_empty() {
            return;
        }
        self.kernel.compress(&mut self.state, data);
        self.tail(data);
    }

    /// Feeds `da` to `a` and `db` to `b`, their whole blocks together as far as both have them.
    fn feed2(k: Kernel, a: &mut KLane, da: &[u8], b: &mut KLane, db: &[u8]) {
        let da = a.head(da);
        let db = b.head(db);
        let n = k.compress2(&mut a.state, da, &mut b.state, db) * a.bl;
        for (lane, d) in [(a, da), (b, db)] {
            // Whole blocks one lane has beyond the other's, then the bytes of an unfinished block. (When the
            // head left a block unfinished, `d` is empty.)
            let rest = d.get(n..).unwrap_or(&[]);
            lane.kernel.compress(&mut lane.state, rest);
            lane.tail(rest);
        }
    }

    /// Pads (FIPS 180-4 §5.1) and returns the digest.
    fn finish(mut self) -> Digest {
        let bl = self.bl;
        let len_field = bl / 8;
        let mut last = [0u8; 256];
        let plen = self.plen;
        if let (Some(dst), Some(src)) = (last.get_mut(..plen), self.pending.get(..plen)) {
            dst.copy_from_slice(src);
        }
        if let Some(b) = last.get_mut(plen) {
            *b = 0x80;
        }
        let end = (plen + 1 + len_field).div_ceil(bl) * bl;
        let bits = self.total.wrapping_mul(8).to_be_bytes();
        if let (Some(dst), Some(src)) = (
            last.get_mut(end - len_field..end),
            bits.get(16 - len_field..),
        ) {
            dst.copy_from_slice(src);
        }
        self.kernel
            .compress(&mut self.state, last.get(..end).unwrap_or(&[]));
        streams::state_digest(self.alg, &self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn noise(n: usize, mut x: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect()
    }

    /// Random layouts (ranges crossing chunk edges, backwards jobs, memory parts, empty parts) against
    /// `digest_parts` of the same bytes, forced paired and one at a time.
    #[test]
    fn matches_digest_parts_on_random_layouts() {
        let data = noise(5 * CHUNK + 12345, 7);
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        let mem = noise(777, 9);
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m.max(1)
        };
        for round in 0..6 {
            let mut jobs: Vec<(Algorithm, Vec<Part<'_>>)> = Vec::new();
            for j in 0..7 {
                let alg = Algorithm::ALL[(j + round) % 4];
                let mut parts = Vec::new();
                let mut at = next(1000);
                for _ in 0..1 + next(5) {
                    if next(4) == 0 {
                        let s = next(mem.len() as u64) as usize;
                        parts.push(Part::Mem(&mem[s..]));
                    }
                    let len = next(data.len() as u64 / 3);
                    let start = if round % 2 == 1 && next(3) == 0 {
                        next(data.len() as u64 - len) // may go backwards
                    } else {
                        at.min(data.len() as u64 - len)
                    };
                    parts.push(Part::File { offset: start, len });
                    at = start + len + next(3000);
                }
                jobs.push((alg, parts));
            }
            // Two long jobs per algorithm so that pairing is measured.
            for alg in Algorithm::ALL {
                jobs.push((
                    alg,
                    vec![Part::File {
                        offset: 3,
                        len: data.len() as u64 - 3,
                    }],
                ));
                jobs.push((
                    alg,
                    vec![
                        Part::Mem(&mem),
                        Part::File {
                            offset: 64,
                            len: data.len() as u64 - 100,
                        },
                    ],
                ));
            }
            let refs: Vec<(Algorithm, &[Part<'_>])> =
                jobs.iter().map(|(a, p)| (*a, &p[..])).collect();
            let got = digest_file_jobs(&f, &refs).unwrap();
            for ((alg, parts), d) in jobs.iter().zip(&got) {
                let bytes: Vec<&[u8]> = parts
                    .iter()
                    .map(|p| match *p {
                        Part::Mem(m) => m,
                        Part::File { offset, len } => {
                            &data[offset as usize..(offset + len) as usize]
                        }
                    })
                    .collect();
                assert_eq!(
                    *d,
                    alg.digest_parts(&bytes),
                    "round {round} {alg} {parts:?}"
                );
            }
        }
    }

    #[test]
    fn pair_lanes_agree_with_the_hasher_at_every_split() {
        let data = noise(1000, 3);
        for alg in Algorithm::ALL {
            let Ok(k) = Kernel::new(streams::function(alg)) else {
                continue;
            };
            for split in [0, 1, 63, 64, 65, 127, 128, 129, 500, 999, 1000] {
                let (x, y) = data.split_at(split);
                let mut a = KLane::new(alg, k);
                let mut b = KLane::new(alg, k);
                KLane::feed2(k, &mut a, x, &mut b, y);
                a.feed(y);
                b.feed(x);
                let mut c = KLane::new(alg, k);
                c.feed(x);
                c.feed(y);
                assert_eq!(a.finish(), alg.digest(&data), "{alg} split {split}");
                assert_eq!(c.finish(), alg.digest(&data), "{alg} split {split}");
                assert_eq!(b.finish(), alg.digest_parts(&[y, x]), "{alg} split {split}");
            }
        }
    }

    /// systemd-stub 257's initrd: `.ucode` (small, stored after `.initrd`) first, then `.initrd` (large), then
    /// archives in memory: only `.ucode` is read into memory. A small range in order between large ones stays
    /// in the pass; a large range going backwards does not.
    #[test]
    fn only_what_breaks_the_order_is_read_into_memory() {
        let mem = [0u8; 4];
        let f = |offset: u64, len: u64| Part::File { offset, len };
        let parts = [f(60 << 20, 4096), f(10 << 20, 48 << 20), Part::Mem(&mem)];
        assert_eq!(streamable(&parts), [false, true, false]);
        let parts = [
            f(0, 2 << 20),
            f(3 << 20, 10),
            f(4 << 20, 2 << 20),
            f(1 << 20, 2 << 20),
        ];
        assert_eq!(streamable(&parts), [true, true, true, false]);
        let parts = [f(0, 100), f(50, 100), f(u64::MAX, 2)];
        assert_eq!(streamable(&parts), [true, false, false]);
    }

    #[test]
    fn a_short_file_is_an_error() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[1u8; 1000]).unwrap();
        let parts = [Part::File {
            offset: 0,
            len: 2000,
        }];
        let e = digest_file_jobs(&f, &[(Algorithm::Sha256, &parts[..])]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
