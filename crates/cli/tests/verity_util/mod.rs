//! Helpers for the dm-verity tests: deterministic images and running veritysetup and yardstick side by side.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support;

/// veritysetup 2.6.1 (cryptsetup-bin, installed by scripts/setup.sh).
pub fn veritysetup() -> PathBuf {
    support::peer("veritysetup")
}

/// Deterministic pseudo-random bytes (xorshift64), so every run checks the same images.
pub fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}

/// Writes an image of `size` bytes: random content, with an all-zero stretch and a hole in the middle when
/// the image is large enough (so the zero-block and hole shortcuts are exercised).
pub fn write_image(path: &Path, size: u64, seed: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::File::create(path).unwrap();
    let mut data = bytes(seed, size as usize);
    if size >= 64 * 1024 {
        let q = (size / 4) as usize;
        data[q..q + (size as usize) / 8].fill(0);
    }
    f.write_all(&data).unwrap();
    if size >= 1 << 20 {
        // Punch a hole: rewrite the file sparsely around its middle.
        let mid = size / 2 / 65536 * 65536;
        f.set_len(mid).unwrap();
        f.seek(SeekFrom::Start(mid + 256 * 1024)).unwrap();
        f.write_all(&data[(mid + 256 * 1024) as usize..]).unwrap();
    }
}

/// One side-by-side run.
pub struct Pair {
    pub vs: Output,
    pub ys: Output,
}

/// Runs `veritysetup <args>` in `vdir` and `yardstick verity <args>` in `ydir`.
pub fn run_both(vdir: &Path, ydir: &Path, args: &[String]) -> Pair {
    let vs = Command::new(veritysetup())
        .args(args)
        .current_dir(vdir)
        .output()
        .expect("run veritysetup");
    let ys = support::yardstick()
        .arg("verity")
        .args(args)
        .current_dir(ydir)
        .output()
        .expect("run yardstick");
    Pair { vs, ys }
}

/// Asserts that two directories hold the same files with the same bytes.
pub fn assert_same_files(vdir: &Path, ydir: &Path, names: &[&str], what: &str) {
    for n in names {
        let v = std::fs::read(vdir.join(n));
        let y = std::fs::read(ydir.join(n));
        match (v, y) {
            (Ok(v), Ok(y)) => {
                if v != y {
                    let first = v.iter().zip(&y).position(|(a, b)| a != b);
                    panic!(
                        "{what}: {n} differs (veritysetup {} bytes, yardstick {} bytes, first difference at {:?})",
                        v.len(),
                        y.len(),
                        first
                    );
                }
            }
            (Err(_), Err(_)) => {}
            (v, y) => panic!(
                "{what}: {n} exists for one tool only (veritysetup: {}, yardstick: {})",
                v.is_ok(),
                y.is_ok()
            ),
        }
    }
}

/// The value of a `Label:  \tvalue` line in veritysetup-style output.
pub fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {label} in {out}"))
}

pub fn s(x: impl ToString) -> String {
    x.to_string()
}
