//! Test support shared by every crate's integration tests (not a published crate): where the real-world
//! fixtures and the peer tools are, and running them.
//!
//! Peer tools are required, never optional: a missing one fails the test with a message naming
//! `scripts/setup.sh`, which installs it.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod swtpm;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The real-world fixtures: `tests/fixtures` in the checkout (see its README for provenance), or
/// `$YARDSTICK_FIXTURES`.
pub fn fixtures() -> PathBuf {
    let p = std::env::var_os("YARDSTICK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("tests/fixtures"));
    assert!(
        p.is_dir(),
        "fixtures not found at {} (set YARDSTICK_FIXTURES)",
        p.display()
    );
    p
}

/// The fixture at `rel` under [`fixtures`]; panics if it is missing.
///
/// Large binary fixtures are stored gzipped (`rel` + `.gz`); those are unpacked once into
/// `target/fixtures/` (by `gzip`, an essential Debian package) and that path is returned.
pub fn fixture(rel: &str) -> PathBuf {
    let p = fixtures().join(rel);
    if p.exists() {
        return p;
    }
    let gz = fixtures().join(format!("{rel}.gz"));
    assert!(
        gz.exists(),
        "fixture {} missing (nor {})",
        p.display(),
        gz.display()
    );
    let out = workspace().join("target/fixtures").join(rel);
    if out.exists() {
        return out;
    }
    let parent = out.parent().expect("fixture path has a parent");
    std::fs::create_dir_all(parent).expect("create target/fixtures");
    // Unpack to a private temporary file and rename: test binaries run concurrently.
    let tmp = tempfile::NamedTempFile::new_in(parent).expect("temporary fixture file");
    let status = Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .stdout(tmp.reopen().expect("reopen temporary fixture file"))
        .status()
        .expect("run gzip (Debian package gzip)");
    assert!(status.success(), "gzip -dc {} failed", gz.display());
    tmp.persist(&out).expect("rename unpacked fixture");
    out
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

/// Finishes a QEMU command line for a test boot: no network, display or monitor, no reboot (a guest reset
/// ends QEMU), the serial console written to `serial_log`; stdin and stdout closed, stderr piped for the
/// error report.
pub fn qemu_headless<'a>(qemu: &'a mut Command, serial_log: &Path) -> &'a mut Command {
    qemu.args([
        "-nic",
        "none",
        "-display",
        "none",
        "-monitor",
        "none",
        "-no-reboot",
    ])
    .arg("-serial")
    .arg(format!("file:{}", serial_log.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
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

/// A command's stdout as text (lossy).
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts that evidence was rejected: exit 1 with a FAIL line, or exit 2 with one clean error line; never
/// 0, never a panic.
pub fn assert_rejected(o: &Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{what}: panic: {err}");
    match o.status.code() {
        Some(1) => assert!(
            stdout(o).contains("FAIL"),
            "{what}: exit 1 without a FAIL line"
        ),
        Some(2) => {
            assert_clean_failure(o, 2);
        }
        c => panic!("{what}: accepted or crashed ({c:?}):\n{}\n{err}", stdout(o)),
    }
}

/// The Debian kernel unpacked by scripts/setup.sh.
pub fn kernel() -> PathBuf {
    peer("kernel/vmlinuz")
}

/// The systemd-stub 254 unpacked by scripts/setup.sh.
pub fn stub_254() -> PathBuf {
    peer("systemd-254/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
}

/// The systemd-stub 257 (Debian 13's `systemd-boot-efi`) unpacked by scripts/setup.sh.
pub fn stub_257() -> PathBuf {
    peer("systemd-257/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
}

/// ukify 257 (Debian 13's `systemd-ukify`, unpacked by scripts/setup.sh), run by the tools venv's Python,
/// which has the `pefile` module it needs.
pub fn ukify_257() -> Command {
    let mut c = Command::new(peer("venv/bin/python"));
    c.arg(peer("systemd-257/usr/lib/systemd/ukify"));
    c
}

/// systemd-measure 254 (bookworm-backports, unpacked by scripts/setup.sh) with the library path it needs.
pub fn systemd_measure() -> Command {
    let mut c = Command::new(peer("systemd-254/lib/systemd/systemd-measure"));
    c.env(
        "LD_LIBRARY_PATH",
        peer("systemd-254/usr/lib/x86_64-linux-gnu/systemd"),
    );
    c
}

/// The sections systemd-measure 254 takes, each as `--<name without dot>=FILE`.
pub const MEASURE_SECTIONS: [&str; 8] = [
    ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat",
];

/// `systemd-measure calculate` arguments for the sections of `uki` (extracted into `dir` with binutils'
/// objcopy, an independent PE reader) and the sha1, sha256 and sha384 banks.
pub fn systemd_measure_args(uki: &Path, dir: &Path) -> Vec<String> {
    let sections = run_ok(Command::new(peer("objdump")).arg("-h").arg(uki));
    let mut args = vec!["calculate".to_string()];
    for s in MEASURE_SECTIONS {
        if !sections.split_whitespace().any(|w| w == s) {
            continue;
        }
        let out = dir.join(format!("section{s}"));
        run_ok(
            Command::new(peer("objcopy"))
                .args(["-O", "binary", &format!("--only-section={s}")])
                .arg(uki)
                .arg(&out),
        );
        args.push(format!("--{}={}", &s[1..], out.display()));
    }
    for b in ["sha1", "sha256", "sha384"] {
        args.push(format!("--bank={b}"));
    }
    args
}

/// `args` with every `from` flag spelled `to` (ukify's `--devicetree` is yardstick's `--dtb`).
pub fn respell(args: &[String], from: &str, to: &str) -> Vec<String> {
    args.iter()
        .map(|a| if a == from { to.into() } else { a.clone() })
        .collect()
}

/// Builds `out` with ukify 254 (`ukify build --stub STUB ARGS`), or ukify 257 when `stub` is [`stub_257`];
/// `--dtb` in `args` is passed as ukify's `--devicetree`.
pub fn ukify_build(stub: &Path, args: &[String], out: &Path) {
    run_ok(
        Command::new(peer("venv/bin/python"))
            .arg(if stub == stub_257() {
                peer("systemd-257/usr/lib/systemd/ukify")
            } else {
                peer("systemd-254/lib/systemd/ukify")
            })
            .arg("build")
            .arg("--stub")
            .arg(stub)
            .args(respell(args, "--dtb", "--devicetree"))
            .arg("--output")
            .arg(out),
    );
}

/// The payload of a Trustee RVPS message (`refvals export --format rvps`), base64-decoded.
pub fn rvps_payload(msg: &serde_json::Value) -> serde_json::Value {
    use base64::Engine as _;
    let b64 = msg["payload"].as_str().expect("RVPS payload");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("RVPS payload base64");
    serde_json::from_slice(&bytes).expect("RVPS payload JSON")
}
