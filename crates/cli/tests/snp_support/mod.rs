//! Helpers shared by the `snp_*` tests: the sev-snp-measure oracle, deterministic test inputs, a small thread
//! pool for running many `yardstick` processes.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support;

/// The installed sev-snp-measure 0.0.13 (scripts/setup.sh puts it in `.tools/venv`).
pub fn sev_snp_measure() -> PathBuf {
    support::peer("venv/bin/sev-snp-measure")
}

/// The venv's Python, which imports the same sevsnpmeasure package the `sev-snp-measure` script runs.
pub fn venv_python() -> PathBuf {
    // Fails (never skips) when the tool is missing.
    let _ = sev_snp_measure();
    support::peer("venv/bin/python")
}

/// Runs a batch of cases through `tests/snp_oracle.py` (sev-snp-measure's own `cli.main`, one interpreter for
/// the whole batch) and returns one result per case.
pub fn oracle(cases: &[Value]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snp_oracle.py");
    let mut child = Command::new(venv_python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sev-snp-measure oracle");
    let input = serde_json::to_vec(cases).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    assert_eq!(v.len(), cases.len());
    v
}

/// Deterministic pseudo-random bytes (xorshift64*), so inputs are the same on every run.
pub fn prng_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Runs `f` over `items` on `threads` threads, returning results in order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// The `yardstick` binary with `args`, run in `cwd`.
pub fn yardstick_in(cwd: &Path, args: &[String]) -> Output {
    support::run(support::yardstick().args(args).current_dir(cwd))
}

/// A 4 MiB firmware with SEV metadata and a kernel-hashes table: 4 MiB - 4 KiB of pseudo-random bytes followed
/// by the last 4 KiB of a real AmdSevX64 build (whose footer table and metadata are addressed from the end of
/// the file, so they stay valid at any length).
pub fn big_amdsev_firmware(dir: &Path) -> PathBuf {
    let suffix = std::fs::read(support::fixture("snp/ovmf_AmdSev_suffix.bin")).unwrap();
    let mut fw = prng_bytes(0x5eed, (4 << 20) - suffix.len());
    fw.extend_from_slice(&suffix);
    let p = dir.join("amdsev-4m.fd");
    std::fs::write(&p, fw).unwrap();
    p
}

/// Lists `vmsa*.bin` in `dir`, sorted, with contents.
pub fn vmsa_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with("vmsa") && name.ends_with(".bin"))
                .then(|| (name, std::fs::read(e.path()).unwrap()))
        })
        .collect();
    v.sort();
    v
}
