//! Bad input to `yardstick verity`: every case listed in issue 2 fails with one line on stderr naming the
//! file and the problem, exit status 2, no panic, no output file left behind and existing outputs untouched.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;
mod verity_util;

use std::collections::BTreeMap;
use std::path::Path;

use support::*;
use verity_util::*;

/// Every file in `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let content = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), content)
        })
        .collect()
}

/// Runs `yardstick verity <args>` in a fresh directory holding `data` (4 KiB × 64 random blocks), `small`
/// (100 bytes), `junk` (8 KiB random, not a verity device) and an existing `hash` output; asserts a clean
/// failure mentioning `needle` and that the directory is unchanged.
fn fails(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_image(&d.join("data"), 64 * 4096, 1);
    std::fs::write(d.join("small"), bytes(2, 100)).unwrap();
    std::fs::write(d.join("junk"), bytes(3, 8192)).unwrap();
    std::fs::write(d.join("hash"), b"existing output that must survive").unwrap();
    std::fs::write(d.join("key.pem"), b"not a key").unwrap();
    let before = snapshot(d);
    let out = run(yardstick().arg("verity").args(args).current_dir(d));
    let err = assert_clean_failure(&out, 2);
    assert!(
        err.starts_with("yardstick: error: "),
        "{args:?}: error line format: {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in: {err}"
    );
    let after = snapshot(d);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{args:?}: files were created or removed"
    );
    assert!(before == after, "{args:?}: an existing file was modified");
}

#[test]
fn missing_and_unreadable_files() {
    fails(&["format", "nosuch", "hash"], "nosuch: cannot open");
    fails(&["format", "data", "nodir/hash"], "nodir/hash");
    fails(&["verify", "data", "nosuch", "00"], "nosuch: cannot open");
    fails(&["dump", "nosuch"], "nosuch: cannot open");
    // A directory is not a data device.
    fails(&["format", ".", "newhash"], ".");
}

#[test]
fn data_smaller_than_one_block() {
    fails(&["format", "small", "newhash"], "smaller than one block");
    fails(
        &["format", "data", "newhash", "--data-blocks", "65"],
        "data: data device is 262144 bytes, smaller than 65 blocks of 4096 bytes",
    );
}

#[test]
fn bad_block_sizes() {
    for (flag, v) in [
        ("--data-block-size", "1000"),
        ("--data-block-size", "256"),
        ("--hash-block-size", "1048576"),
        ("--hash-block-size", "3072"),
    ] {
        fails(
            &["format", "data", "newhash", flag, v],
            // A flag's error names the flag.
            &format!(
                "yardstick: error: {flag}: {} block size {v} is not a power of two between 512 and 524288 bytes",
                &flag[2..6]
            ),
        );
    }
}

#[test]
fn bad_offsets() {
    fails(
        &["format", "data", "data", "--hash-offset", "4096"],
        "overlaps the data area",
    );
    fails(
        &["format", "data", "newhash", "--hash-offset", "1000"],
        "yardstick: error: --hash-offset: hash offset 1000 is not a multiple of 512 bytes",
    );
    fails(
        &[
            "format",
            "data",
            "newhash",
            "--fec-device",
            "newfec",
            "--fec-offset",
            "100",
        ],
        "yardstick: error: --fec-offset: FEC offset 100 is not a multiple of 512 bytes",
    );
}

#[test]
fn bad_salts() {
    fails(
        &["format", "data", "newhash", "--salt", "zz"],
        "yardstick: error: --salt: invalid salt",
    );
    fails(
        &["format", "data", "newhash", "--salt", "abc"],
        "odd number of hex digits",
    );
    let long = "ab".repeat(257);
    fails(
        &["format", "data", "newhash", "--salt", &long],
        "salt is 257 bytes, at most 256 are allowed",
    );
}

#[test]
fn unknown_algorithm_and_format() {
    fails(
        &["format", "data", "newhash", "--hash", "md5"],
        "unknown hash algorithm \"md5\"",
    );
    fails(
        &["format", "data", "newhash", "--format", "2"],
        "unsupported format 2",
    );
    fails(
        &["format", "data", "newhash", "--uuid", "not-a-uuid"],
        "invalid UUID",
    );
}

#[test]
fn bad_fec_parameters() {
    fails(
        &[
            "format",
            "data",
            "newhash",
            "--fec-device",
            "newfec",
            "--fec-roots",
            "25",
        ],
        "FEC roots must be between 2 and 24",
    );
    fails(
        &[
            "format",
            "data",
            "newhash",
            "--fec-device",
            "newfec",
            "--hash-block-size",
            "512",
        ],
        "FEC needs equal data and hash block sizes",
    );
}

#[test]
fn not_a_verity_superblock() {
    fails(&["dump", "junk"], "junk: not a verity superblock at byte 0");
    fails(&["dump", "small"], "small: no verity superblock at byte 0");
    fails(
        &["verify", "data", "junk", &"00".repeat(32)],
        "junk: not a verity superblock",
    );
    fails(
        &["kernel-params", "junk", "--root-hash", &"00".repeat(32)],
        "junk: not a verity superblock",
    );
}

#[test]
fn bad_root_hash_and_truncated_tree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_image(&d.join("data"), 300 * 4096, 9);
    run_ok(
        yardstick()
            .args(["verity", "format", "data", "hash"])
            .current_dir(d),
    );
    let out = run(yardstick()
        .args(["verity", "verify", "data", "hash", "xyz"])
        .current_dir(d));
    assert!(assert_clean_failure(&out, 2).contains("invalid root hash"));
    let out = run(yardstick()
        .args(["verity", "verify", "data", "hash", "0011"])
        .current_dir(d));
    assert!(assert_clean_failure(&out, 2).contains("2 bytes, sha256 needs 32"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("hash"))
        .unwrap()
        .set_len(8192)
        .unwrap();
    let out = run(yardstick()
        .args(["verity", "verify", "data", "hash", &"00".repeat(32)])
        .current_dir(d));
    assert!(
        assert_clean_failure(&out, 2)
            .contains("hash: hash device is 8192 bytes, the hash tree needs 20480")
    );
}

#[test]
fn bad_signature_inputs() {
    let rh = "00".repeat(32);
    fails(
        &[
            "sign", "--key", "key.pem", "--cert", "junk", "--out", "sig", &rh,
        ],
        "key.pem: not a supported private key",
    );
    fails(
        &["check-signature", "junk", "--cert", "nosuch.crt", &rh],
        "nosuch.crt: cannot read",
    );
}
