//! Bad input for `eventlog show`, `eventlog replay` and `pcr compare`: truncated logs, absurd sizes and
//! counts, unknown algorithms, empty and foreign files. Always one error line naming the file and the
//! problem, exit status 2, no panic; a truncated log says which event at which byte offset stopped parsing.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};

use support::*;
use yardstick_tpm::testutil::agile_log;

fn cos101() -> Vec<u8> {
    std::fs::read(fixture("eventlogs/go-tpm-tools/cos-101-amd-sev.bin")).unwrap()
}

/// Byte offset of each record, from `show --json` of the intact log.
fn offsets() -> Vec<usize> {
    let v: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["eventlog", "show", "--json"])
            .arg(fixture("eventlogs/go-tpm-tools/cos-101-amd-sev.bin")),
    ))
    .unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["offset"].as_u64().unwrap() as usize)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn replay_fails(p: &Path) -> String {
    let out = run(yardstick().args(["eventlog", "replay"]).arg(p));
    let err = assert_clean_failure(&out, 2);
    assert!(out.stdout.is_empty(), "replay printed values for a bad log");
    assert!(err.contains(&p.display().to_string()), "{err}");
    err
}

#[test]
fn truncated_log_names_event_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let raw = cos101();
    let off = offsets();
    // Cut 10 bytes into event #20 (its PCR index, type and part of the digest count are there).
    let p = write(dir.path(), "cut.bin", &raw[..off[20] + 10]);
    let err = replay_fails(&p);
    assert!(
        err.contains(&format!("event #20 at byte offset {}", off[20])),
        "{err}"
    );
    assert!(err.contains("truncated"), "{err}");

    // show prints the 20 events before the damage, then the same single error line.
    let out = run(yardstick().args(["eventlog", "show"]).arg(&p));
    let err2 = assert_clean_failure(&out, 2);
    assert_eq!(err, err2);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(numbers.first(), Some(&"#0"));
    assert_eq!(numbers.last(), Some(&"#19"));
    assert_eq!(numbers.len(), 20);

    // --json: the events before the damage and the error, and still exit 2.
    let out = run(yardstick().args(["eventlog", "show", "--json"]).arg(&p));
    assert_clean_failure(&out, 2);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"].as_array().unwrap().len(), 20);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("event #20 at byte offset")
    );
}

/// Every cut inside the log (not on a record boundary) is an error naming the record it falls in; no cut
/// panics.
#[test]
fn every_cut_point_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let raw = cos101();
    let off = offsets();
    for (i, w) in off.windows(2).enumerate().step_by(4) {
        let cut = (w[0] + w[1]) / 2;
        let p = write(dir.path(), &format!("cut{i}.bin"), &raw[..cut]);
        let err = replay_fails(&p);
        assert!(
            err.contains(&format!("event #{i} at byte offset {}", w[0])),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn absurd_sizes_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let off = offsets();
    // Event #5's data size field: after PCR, type, count (12 bytes) and sha1/sha256/sha384 digests with
    // their algorithm ids (22 + 34 + 50 bytes).
    let mut raw = cos101();
    let at = off[5] + 12 + 22 + 34 + 50;
    raw[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let err = replay_fails(&write(dir.path(), "size.bin", &raw));
    assert!(err.contains("event #5 at byte offset"), "{err}");
    assert!(err.contains("event data"), "{err}");
    assert!(err.contains("needs 4294967280 bytes"), "{err}");

    let mut raw = cos101();
    raw[off[7] + 8..off[7] + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let err = replay_fails(&write(dir.path(), "count.bin", &raw));
    assert!(err.contains("event #7"), "{err}");
    assert!(err.contains("absurd digest count 2147483647"), "{err}");

    // The Spec ID header declaring 2^32-1 algorithms (go-attestation's "malicious_number_of_algs").
    let mut raw = cos101();
    raw[32 + 24..32 + 28].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = replay_fails(&write(dir.path(), "algs.bin", &raw));
    assert!(err.contains("Spec ID Event03"), "{err}");
    assert!(err.contains("4294967295 algorithms"), "{err}");
}

fn openssl_sha256(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut c = std::process::Command::new(peer("openssl"))
        .args(["dgst", "-sha256", "-binary"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(data).unwrap();
    c.wait_with_output().unwrap().stdout
}

/// SM3_256 (TPM_ALG_ID 0x0012) declared in the header: parsed with the header's size, shown, and skipped
/// in replay with a note; the SHA-256 bank still replays (checked with openssl). An undeclared, unknown
/// algorithm has no size, so parsing stops there.
#[test]
fn unknown_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    let d = openssl_sha256(b"hello");
    let raw = agile_log(
        &[(0x000b, 32), (0x0012, 32)],
        &[(
            4,
            0x8000_0007,
            vec![(0x000b, d.clone()), (0x0012, vec![0x5a; 32])],
            b"hello",
        )],
    );
    let p = write(dir.path(), "sm3.bin", &raw);
    let out = run(yardstick().args(["eventlog", "replay", "--json"]).arg(&p));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bank sm3_256 (32-byte digests) skipped"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut cat = vec![0u8; 32];
    cat.extend(&d);
    let want: String = openssl_sha256(&cat)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v, serde_json::json!({ "sha256": { "4": want } }));
    let shown = run_ok(yardstick().args(["eventlog", "show"]).arg(&p));
    assert!(
        shown.contains(&format!("sm3_256 {}", "5a".repeat(32))),
        "{shown}"
    );

    let raw = agile_log(
        &[(0x000b, 32)],
        &[(4, 0x8000_0007, vec![(0x4242, vec![0; 32])], b"hello")],
    );
    // Header record: 32 bytes + a 33-byte Spec ID event with one bank.
    let err = replay_fails(&write(dir.path(), "undeclared.bin", &raw));
    assert!(err.contains("event #1 at byte offset 65"), "{err}");
    assert!(
        err.contains("digest algorithm 0x4242 is not declared"),
        "{err}"
    );

    let raw = agile_log::<&[u8]>(&[(0x000b, 20)], &[]);
    let err = replay_fails(&write(dir.path(), "badsize.bin", &raw));
    assert!(
        err.contains("sha256 declared with digest size 20, must be 32"),
        "{err}"
    );
}

#[test]
fn empty_foreign_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.bin", b"", "empty file, not a TCG event log"),
        (
            "text.txt",
            b"hello, this is not an event log\n",
            "not a TCG event log",
        ),
        (
            "png.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa",
            "not a TCG event log",
        ),
        ("tiny.bin", b"\0\0\0", "shorter than one event header"),
    ];
    for (name, bytes, msg) in cases {
        let p = write(dir.path(), name, bytes);
        for sub in ["replay", "show"] {
            let out = run(yardstick().args(["eventlog", sub]).arg(&p));
            let err = assert_clean_failure(&out, 2);
            assert!(err.contains(msg), "{name} {sub}: {err}");
            assert!(err.contains(name), "{err}");
        }
    }
    let missing = dir.path().join("nope.bin");
    let err = assert_clean_failure(
        &run(yardstick().args(["eventlog", "replay"]).arg(&missing)),
        2,
    );
    assert!(err.contains("nope.bin: cannot open"), "{err}");
    let err = assert_clean_failure(
        &run(yardstick().args(["eventlog", "show"]).arg(dir.path())),
        2,
    );
    assert!(err.contains("cannot read"), "{err}");
}

/// Flipped bytes anywhere in real logs: exit 0 or 2, never a panic, always at most one error line.
#[test]
fn corrupted_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for rel in [
        "go-tpm-tools/debian-10.bin",
        "go-tpm-tools/ubuntu-2404-amd-sevsnp.bin",
        "go-attestation/option_rom_eventlog",
        "keylime/binary_bios_measurements",
    ] {
        let orig = std::fs::read(fixture(&format!("eventlogs/{rel}"))).unwrap();
        for i in 0..12 {
            let mut raw = orig.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let pos = (seed % raw.len() as u64) as usize;
                raw[pos] = (seed >> 32) as u8;
            }
            let p = write(dir.path(), &format!("m{i}.bin"), &raw);
            for sub in ["replay", "show"] {
                let out = run(yardstick().args(["eventlog", sub, "--json"]).arg(&p));
                let code = out.status.code();
                assert!(
                    code == Some(0) || code == Some(2),
                    "{rel} #{i} {sub}: {code:?}"
                );
                if code == Some(2) {
                    assert_clean_failure(&out, 2);
                }
                assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
            }
        }
    }
}

#[test]
fn pcr_compare_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("eventlogs/go-tpm-tools/cos-101-amd-sev.bin");
    let raw = cos101();
    let cut = write(dir.path(), "cut.bin", &raw[..raw.len() - 3]);
    let err = assert_clean_failure(
        &run(yardstick().args(["pcr", "compare"]).arg(&good).arg(&cut)),
        2,
    );
    assert!(err.contains("cut.bin: event log: event #48"), "{err}");

    let list = write(
        dir.path(),
        "list.txt",
        b"  sha256:\n    0 : 0x00\n    1 : 0x3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969\n",
    );
    let err = assert_clean_failure(
        &run(yardstick().args(["pcr", "compare"]).arg(&list).arg(&good)),
        2,
    );
    assert!(
        err.contains("list.txt: PCR list: line 2: sha256 PCR 0: 1 bytes"),
        "{err}"
    );

    // No PCR in common (the log is SHA-1 only, the list SHA-256 only): an error, not "all agree".
    let sha256_only = write(
        dir.path(),
        "sha256.json",
        format!("{{\"sha256\":{{\"7\":\"{}\"}}}}", "00".repeat(32)).as_bytes(),
    );
    let err = assert_clean_failure(
        &run(yardstick()
            .args(["pcr", "compare"])
            .arg(fixture("eventlogs/go-tpm-tools/debian-10.bin"))
            .arg(&sha256_only)),
        2,
    );
    assert!(err.contains("no PCR in common"), "{err}");
}

/// TDX CCEL areas (fixtures/tdx-ccel, from confidential-containers/trustee) are 64 KiB with the unused rest
/// erased to 0xFF: the records before it parse, the padding is reported, not taken for a corrupt record.
#[test]
fn ccel_area_padding() {
    for name in ["CCEL_data_ovmf", "CCEL_data_grub"] {
        let p = fixture(&format!("tdx-ccel/{name}"));
        let raw = std::fs::read(&p).unwrap();
        let v: serde_json::Value = serde_json::from_str(&run_ok(
            yardstick().args(["eventlog", "show", "--json"]).arg(&p),
        ))
        .unwrap();
        let events = v["events"].as_array().unwrap();
        let last = events.last().unwrap();
        let end = last["offset"].as_u64().unwrap() as usize
            + 4
            + 4
            + 4
            + (2 + 48)
            + 4
            + last["data_size"].as_u64().unwrap() as usize;
        assert!(raw[end..].iter().all(|b| *b == 0xff), "{name}");
        assert_eq!(v["trailing_padding"], raw.len() - end, "{name}");
        assert_eq!(v["banks"], serde_json::json!(["sha384"]));
        run_ok(yardstick().args(["eventlog", "replay"]).arg(&p));
    }
}

/// `show | head` closes stdout early: no error message. (The JSON of this log is 180 KB, more than a pipe
/// buffer holds, so the write does hit the closed pipe.)
#[test]
fn broken_pipe_is_quiet() {
    use std::io::Read as _;
    let mut child = yardstick()
        .args(["eventlog", "show", "--json"])
        .arg(fixture("eventlogs/go-attestation/option_rom_eventlog"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
