//! Shared helpers for the integration tests: where the fixtures, peer tools and the `yardstick` binary are.
//!
//! Peer tools are required, never optional: a missing one fails the test with a message naming
//! `scripts/setup.sh`, which installs it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `../shared/fixtures` beside the checkout, or `$YARDSTICK_FIXTURES`.
pub fn fixtures() -> PathBuf {
    let p = std::env::var_os("YARDSTICK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/fixtures"));
    assert!(
        p.is_dir(),
        "fixtures not found at {} (set YARDSTICK_FIXTURES)",
        p.display()
    );
    p
}

/// The fixture at `rel` under [`fixtures`]; panics if it is missing.
pub fn fixture(rel: &str) -> PathBuf {
    let p = fixtures().join(rel);
    assert!(p.exists(), "fixture {} missing", p.display());
    p
}

/// `.tools` in the checkout (made by `scripts/setup.sh`), or `$YARDSTICK_TOOLS`.
pub fn tools() -> PathBuf {
    std::env::var_os("YARDSTICK_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".tools"))
}

/// A peer tool: an absolute path under [`tools`], or a program name looked up on `PATH`.
/// Panics (the test fails) when it is missing.
pub fn peer(name_or_rel: &str) -> PathBuf {
    let candidate = tools().join(name_or_rel);
    if candidate.exists() {
        return candidate;
    }
    if !name_or_rel.contains('/')
        && let Some(paths) = std::env::var_os("PATH")
    {
        {
            for dir in std::env::split_paths(&paths)
                .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
            {
                let p = dir.join(name_or_rel);
                if p.is_file() {
                    return p;
                }
            }
        }
    }
    panic!(
        "peer tool {name_or_rel} is missing: run scripts/setup.sh (it installs every peer the tests use)"
    );
}

/// A `Command` for the `yardstick` binary under test.
pub fn yardstick() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yardstick"))
}

/// Runs a command and returns its output, panicking with stderr if it could not be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command that must succeed; returns stdout as a string.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Asserts that a command failed with `code` and printed exactly one non-empty line on stderr, and no panic.
pub fn assert_clean_failure(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    stderr
}
