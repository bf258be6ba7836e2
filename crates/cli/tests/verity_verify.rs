//! `yardstick verity verify` on trees made by the real `veritysetup format`: intact volumes pass (as with
//! `veritysetup verify`), and each kind of corruption is caught and the exact block is named (data or hash
//! block, index, byte offset), where veritysetup only reports a position. Offsets expected below are computed
//! from the on-disk layout (cryptsetup `hash_levels()`: superblock block, then the top level first).
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;
mod verity_util;

use std::path::Path;
use std::process::Command;

use verity_util::*;

const UUID: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";

struct Vol {
    dir: tempfile::TempDir,
    root: String,
}

impl Vol {
    fn p(&self, n: &str) -> std::path::PathBuf {
        self.dir.path().join(n)
    }
}

/// Formats `blocks` 4 KiB blocks with veritysetup and returns the volume and its root hash.
fn make(blocks: u64, extra: &[&str]) -> Vol {
    let dir = tempfile::tempdir().unwrap();
    write_image(&dir.path().join("data"), blocks * 4096, blocks + 17);
    let mut args = vec!["format", "data", "hash", "--salt", "a1b2", "--uuid", UUID];
    args.extend_from_slice(extra);
    let out = support::run_ok(
        Command::new(veritysetup())
            .args(&args)
            .current_dir(dir.path()),
    );
    Vol {
        root: field(&out, "Root hash:"),
        dir,
    }
}

fn flip(path: &Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x5a;
    f.write_all_at(&b, offset).unwrap();
}

fn y_verify(v: &Vol, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["verity", "verify", "data", "hash", v.root.as_str()];
    args.extend_from_slice(extra);
    let out = support::run(support::yardstick().args(&args).current_dir(v.dir.path()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn v_verify(v: &Vol, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify", "data", "hash", v.root.as_str()];
    args.extend_from_slice(extra);
    let out = support::run(
        Command::new(veritysetup())
            .args(&args)
            .current_dir(v.dir.path()),
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Intact volumes of every shape verify with both tools.
#[test]
fn intact_volumes_verify() {
    let shapes: Vec<(u64, Vec<&str>)> = vec![
        (1, vec![]),
        (128, vec![]),
        (300, vec![]),
        (300, vec!["--hash", "sha1", "--format", "0"]),
        (1000, vec!["--hash-block-size", "512", "--hash", "sha512"]),
        (300, vec!["--fec-device", "fec", "--fec-roots", "3"]),
    ];
    for (blocks, extra) in shapes {
        let v = make(blocks, &extra);
        let fec: Vec<&str> = extra
            .windows(2)
            .filter(|w| w[0].starts_with("--fec"))
            .flatten()
            .copied()
            .collect();
        let (vc, verr) = v_verify(&v, &fec);
        assert_eq!(vc, 0, "veritysetup verify {blocks} {extra:?}: {verr}");
        let (yc, yout, yerr) = y_verify(&v, &fec);
        assert_eq!(yc, 0, "{blocks} {extra:?}: {yout}{yerr}");
        assert!(yout.starts_with("Verification succeeded"), "{yout}");
    }
}

/// Without a superblock the parameters come from the command line, like `veritysetup verify --no-superblock`.
#[test]
fn no_superblock_verify() {
    let v = make(200, &["--no-superblock"]);
    let extra = ["--no-superblock", "--salt", "a1b2"];
    assert_eq!(v_verify(&v, &extra).0, 0);
    assert_eq!(y_verify(&v, &extra).0, 0);
    // A wrong salt: every digest mismatches, which points at the parameters.
    let (c, out, _) = y_verify(&v, &["--no-superblock", "--salt", "a1b3"]);
    assert_eq!(c, 1);
    assert!(out.contains("every digest mismatches"), "{out}");
}

/// A flipped byte in data block 77 names data block 77 at byte 77·4096, as veritysetup's position does.
#[test]
fn corrupt_data_block_is_named() {
    let v = make(300, &[]);
    flip(&v.p("data"), 77 * 4096 + 123);
    let (vc, verr) = v_verify(&v, &[]);
    assert_ne!(vc, 0);
    assert!(verr.contains(&format!("position {}", 77 * 4096)), "{verr}");
    let (c, out, err) = y_verify(&v, &[]);
    assert_eq!(c, 1, "{out}{err}");
    assert_eq!(
        out.lines().next().unwrap(),
        format!(
            "data block 77 at byte offset {} of data: digest mismatch",
            77 * 4096
        )
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A flipped digest byte in leaf hash block 1 (digests of data blocks 128..255) names that hash block, not
/// the data block below it. Layout for 300 blocks: superblock block 0, top level block 1, leaf level blocks
/// 2..4, so leaf block 1 is hash block 3 at byte 12288.
#[test]
fn corrupt_hash_block_is_named() {
    let v = make(300, &[]);
    flip(&v.p("hash"), 3 * 4096 + 5 * 32 + 7);
    let (vc, _) = v_verify(&v, &[]);
    assert_ne!(vc, 0);
    let (c, out, _) = y_verify(&v, &["--all"]);
    assert_eq!(c, 1);
    assert_eq!(
        out.trim(),
        "hash block 1 of level 0 at byte offset 12288 of hash: digest mismatch"
    );
    // The top block (hash block 1) is checked against the root hash.
    let v = make(300, &[]);
    flip(&v.p("hash"), 4096 + 10);
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert!(
        out.starts_with(
            "hash block 0 of level 1 at byte offset 4096 of hash: does not match the root hash"
        ),
        "{out}"
    );
}

/// Non-zero spare bytes: the zero padding after a SHA-1 digest in format 1 (20 of 32 bytes used) and the
/// unused tail of the last leaf block. veritysetup fails with "Spare area is not zeroed"; yardstick names
/// the hash block and the first non-zero byte.
#[test]
fn spare_padding_is_checked() {
    // sha1, 300 blocks: 128 slots of 32 bytes per block; tree: block 1 top, blocks 2..4 leaves.
    let v = make(300, &["--hash", "sha1"]);
    let at = 2 * 4096 + 3 * 32 + 25; // inside the padding of slot 3 of the first leaf block
    flip(&v.p("hash"), at);
    let (vc, verr) = v_verify(&v, &[]);
    assert_ne!(vc, 0);
    assert!(verr.contains("Spare area is not zeroed"), "{verr}");
    let (c, out, _) = y_verify(&v, &["--all"]);
    assert_eq!(c, 1);
    assert_eq!(
        out.trim(),
        format!(
            "hash block 0 of level 0 at byte offset 8192 of hash: spare area not zeroed (first non-zero spare byte at offset {at})"
        )
    );
    // Tail of the last leaf block (300 - 256 = 44 digests used).
    let v = make(300, &[]);
    let at = 4 * 4096 + 44 * 32 + 100;
    flip(&v.p("hash"), at);
    assert_ne!(v_verify(&v, &[]).0, 0);
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert!(
        out.starts_with(&format!(
            "hash block 2 of level 0 at byte offset 16384 of hash: spare area not zeroed (first non-zero spare byte at offset {at})"
        )),
        "{out}"
    );
}

/// Superblock corruption: a changed salt makes every digest mismatch and is blamed on the superblock; a
/// non-zero reserved byte (which veritysetup ignores) is reported too.
#[test]
fn superblock_corruption_is_named() {
    let v = make(300, &[]);
    flip(&v.p("hash"), 88); // first salt byte
    let (vc, _) = v_verify(&v, &[]);
    assert_ne!(vc, 0);
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert!(
        out.starts_with("superblock at byte offset 0 of hash: every digest mismatches"),
        "{out}"
    );

    let v = make(300, &[]);
    flip(&v.p("hash"), 400);
    assert_eq!(
        v_verify(&v, &[]).0,
        0,
        "veritysetup ignores the reserved area"
    );
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert_eq!(
        out.trim(),
        "superblock of hash: reserved byte at offset 344 is not zero"
    );
}

/// `--all` lists every bad block in order; without it the first one and a count.
#[test]
fn all_lists_every_bad_block() {
    let v = make(600, &[]);
    for b in [3u64, 130, 599] {
        flip(&v.p("data"), b * 4096 + 1);
    }
    let (c, out, err) = y_verify(&v, &["--all"]);
    assert_eq!(c, 1);
    let want: Vec<String> = [3u64, 130, 599]
        .iter()
        .map(|b| {
            format!(
                "data block {b} at byte offset {} of data: digest mismatch",
                b * 4096
            )
        })
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    // stderr gives the verdict and the count, never a finding again.
    assert_eq!(
        err.trim(),
        "yardstick: verification failed: 3 problems (listed on standard output)"
    );
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert_eq!(out.lines().next().unwrap(), want[0]);
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "... and 2 more (use --all to list them)"
    );
}

/// The only data block of a 1-block image has no tree: its digest is the root hash.
#[test]
fn single_block_image() {
    let v = make(1, &[]);
    flip(&v.p("data"), 9);
    assert_ne!(v_verify(&v, &[]).0, 0);
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert_eq!(
        out.trim(),
        "data block 0 at byte offset 0 of data: digest mismatch"
    );
}

/// With FEC present, intact volumes pass and corrupted parity is found (round and byte offset).
#[test]
fn fec_parity_is_checked() {
    let fec = ["--fec-device", "fec", "--fec-roots", "2"];
    let v = make(300, &fec);
    assert_eq!(y_verify(&v, &fec).0, 0);
    flip(&v.p("fec"), 5000);
    let (c, out, _) = y_verify(&v, &fec);
    assert_eq!(c, 1);
    // 300 + 4 covered blocks, 253 per codeword: 2 rounds of 4096·2 parity bytes; byte 5000 is in round 0.
    assert_eq!(
        out.trim(),
        "FEC parity of round 0 at byte offset 5000 of fec: does not match the data"
    );
}

/// A wrong root hash with an intact tree blames the top block "or the root hash given".
#[test]
fn wrong_root_hash() {
    let mut v = make(300, &[]);
    v.root = format!("{}00", &v.root[..62]);
    let (vc, verr) = v_verify(&v, &[]);
    assert_ne!(vc, 0);
    assert!(verr.contains("Verification of root hash failed"), "{verr}");
    let (c, out, _) = y_verify(&v, &[]);
    assert_eq!(c, 1);
    assert!(out.contains("(or the root hash given is wrong)"), "{out}");
}

/// Sparse images (holes) verify, and JSON output carries the findings.
#[test]
fn sparse_image_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = std::fs::File::create(d.join("data")).unwrap();
    f.set_len(64 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(&bytes(5, 8192), 10 << 20).unwrap();
    let out = support::run_ok(
        Command::new(veritysetup())
            .args(["format", "data", "hash"])
            .current_dir(d),
    );
    let root = field(&out, "Root hash:");
    let y = support::run_ok(
        support::yardstick()
            .args(["verity", "verify", "data", "hash", &root, "--json"])
            .current_dir(d),
    );
    let j: serde_json::Value = serde_json::from_str(&y).unwrap();
    assert_eq!(j["ok"], true);
    assert_eq!(j["tree"]["data_blocks"], 16384);
    f.write_all_at(&[1], (20 << 20) + 7).unwrap();
    let out = support::run(
        support::yardstick()
            .args(["verity", "verify", "data", "hash", &root, "--json"])
            .current_dir(d),
    );
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["ok"], false);
    assert_eq!(j["tree"]["bad"][0]["kind"], "data");
    assert_eq!(j["tree"]["bad"][0]["index"], 5120);
}
