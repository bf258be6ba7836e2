//! Shared helpers for the CLI's integration tests: the workspace's test kit (fixtures, peer tools, swtpm) and
//! the `yardstick` binary under test.
#![allow(dead_code, unused_imports)]

use std::path::Path;
use std::process::Command;

pub use yardstick_testkit::*;

/// `n` pseudo-random bytes (xorshift64 from `seed`): test data whose content does not matter, only its size.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A `Command` for the `yardstick` binary under test.
pub fn yardstick() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yardstick"))
}

/// Builds `out` with `yardstick uki build --stub STUB ARGS`; `--devicetree` in `args` is passed as `--dtb`.
pub fn yardstick_uki_build(stub: &Path, args: &[String], out: &Path) {
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub)
            .args(respell(args, "--devicetree", "--dtb"))
            .arg("--output")
            .arg(out),
    );
}
