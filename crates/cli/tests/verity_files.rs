//! `yardstick verity verify` names the file behind a bad data block, for the filesystems `image build`
//! makes: a root tree of known files is built into a kata disk (erofs, ext4, squashfs), a byte inside a
//! file's data is flipped in the extracted data partition, and the bad block must name that file and the
//! range of its bytes the block holds, in text and in `--json`.
//!
//! Oracles: where the file's bytes lie is found by searching the partition for the file's own (random,
//! unique) bytes; for ext4 `debugfs` (e2fsprogs) says which inode uses the block (`icheck`), its path
//! (`ncheck`) and the file block's physical block (`bmap`); for erofs `dump.erofs -e` (erofs-utils) lists
//! the file's extents.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::*;

/// Deterministic, incompressible bytes (xorshift64*), different per `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// The files of the test tree: path, content.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("/etc/marker", noise(10_000, 1)),
        ("/usr/lib/big", noise(200_000, 2)),
        ("/usr/share/doc/deep/small", noise(300, 3)),
        (
            "/usr/share/text",
            b"a compressible line of text\n".repeat(12_000),
        ),
    ]
}

fn tree(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    for (path, content) in files() {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
    }
    std::os::unix::fs::symlink("../etc/marker", root.join("usr/link")).unwrap();
    root
}

struct Built {
    data: PathBuf,
    hash: PathBuf,
    verity: Value,
}

/// Builds the tree as a kata disk with `fs` and extracts its data and hash partitions.
fn build(dir: &Path, root: &Path, fs: &str) -> Built {
    let disk = dir.join(format!("{fs}.img"));
    run_ok(
        yardstick()
            .args(["image", "build", "--layout", "kata", "--fs", fs, "--output"])
            .arg(&disk)
            .arg(root)
            .env("YARDSTICK_TOOLS", tools()),
    );
    let m: Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("{fs}.img.manifest.json"))).unwrap(),
    )
    .unwrap();
    let parts = m["image"]["partition_table"]["partitions"]
        .as_array()
        .unwrap();
    let part = |n: u64| {
        let p = parts.iter().find(|p| p["number"] == n).unwrap();
        (p["offset"].as_u64().unwrap(), p["size"].as_u64().unwrap())
    };
    let bytes = std::fs::read(&disk).unwrap();
    let v = m["verity"].clone();
    let data_len = v["data_blocks"].as_u64().unwrap() * 4096;
    let ((d_off, _), (h_off, h_len)) = (part(1), part(2));
    let data = dir.join(format!("{fs}.data"));
    let hash = dir.join(format!("{fs}.hash"));
    std::fs::write(&data, &bytes[d_off as usize..(d_off + data_len) as usize]).unwrap();
    std::fs::write(&hash, &bytes[h_off as usize..(h_off + h_len) as usize]).unwrap();
    Built {
        data,
        hash,
        verity: v,
    }
}

/// `yardstick verity verify` (JSON or text) on the data partition `data`.
fn verify(b: &Built, data: &Path, json: bool) -> (Option<i32>, String) {
    let v = &b.verity;
    let mut cmd = yardstick();
    cmd.args(["verity", "verify", "--no-superblock"])
        .arg(format!("--salt={}", v["salt"].as_str().unwrap()))
        .arg(data)
        .arg(&b.hash)
        .arg(v["root_hash"].as_str().unwrap());
    if json {
        cmd.arg("--json");
    }
    let o = run(&mut cmd);
    (o.status.code(), stdout(&o))
}

/// The position in `data` of the file's bytes from `k` (64 of them, found exactly once).
fn locate(data: &[u8], content: &[u8], k: usize) -> usize {
    let needle = &content[k..(k + 64).min(content.len())];
    let hits: Vec<usize> = data
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "file bytes from {k} must be stored once, as they are"
    );
    hits[0]
}

fn debugfs(image: &Path, request: &str) -> String {
    let o = run(Command::new(peer("debugfs"))
        .arg("-R")
        .arg(request)
        .arg(image));
    assert!(o.status.success(), "debugfs {request}");
    stdout(&o)
}

/// The last whitespace-separated word of the last non-empty line.
fn last_word(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_default()
        .to_string()
}

/// What the peers say about the data block at `pos`, the position of byte `k` of `path`.
fn check_oracle(fs: &str, b: &Built, path: &str, k: usize, pos: usize) {
    let block = pos / 4096;
    match fs {
        "ext4" => {
            let ino = last_word(&debugfs(&b.data, &format!("icheck {block}")));
            let named = debugfs(&b.data, &format!("ncheck {ino}"));
            assert!(named.contains(path), "debugfs ncheck {ino}: {named}");
            let phys = last_word(&debugfs(&b.data, &format!("bmap {path} {}", k / 4096)));
            assert_eq!(phys, block.to_string(), "debugfs bmap {path}");
        }
        "erofs" => {
            let o = run(Command::new(peer("dump.erofs"))
                .arg(format!("--path={path}"))
                .arg("-e")
                .arg(&b.data));
            // " 0:        0..  200704 |  200704 :      16384..    217088 |  200704"
            let found = stdout(&o).lines().any(|l| {
                let nums: Vec<u64> = l
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| s.parse().ok())
                    .collect();
                l.contains('|')
                    && nums.len() == 7
                    && (nums[4]..nums[5]).contains(&(pos as u64))
                    && nums[1] + (pos as u64 - nums[4]) == k as u64
            });
            assert!(found, "dump.erofs -e {path}: {}", stdout(&o));
        }
        _ => {}
    }
}

#[test]
fn bad_blocks_name_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = tree(dir.path());
    let cases: [(&str, usize); 5] = [
        ("/etc/marker", 10),
        ("/etc/marker", 9_990),
        ("/usr/lib/big", 5_000),
        ("/usr/lib/big", 150_000),
        ("/usr/share/doc/deep/small", 100),
    ];
    for fs in ["erofs", "ext4", "squashfs"] {
        let b = build(dir.path(), &root, fs);
        let clean = std::fs::read(&b.data).unwrap();
        let (code, _) = verify(&b, &b.data, false);
        assert_eq!(code, Some(0), "{fs}: intact");
        let mut named_cases = 0;
        for (path, k) in cases {
            let content = files().into_iter().find(|(p, _)| *p == path).unwrap().1;
            let pos = locate(&clean, &content, k);
            check_oracle(fs, &b, path, k, pos);
            let mut bad = clean.clone();
            bad[pos] ^= 0x01;
            let corrupt = dir.path().join(format!("{fs}.bad"));
            std::fs::write(&corrupt, &bad).unwrap();
            // The block holds the file's bytes from `start` (where the block begins, counted in the file's
            // bytes) to its end or the file's end: the file is stored contiguously around `pos`.
            let block = pos / 4096;
            let start = (block * 4096) as i64 - (pos as i64 - k as i64);
            let first = start.max(0) as u64;
            let last = ((start + 4096).min(content.len() as i64) - 1) as u64;
            let what = format!("{fs} {path} byte {k}");

            let (code, text) = verify(&b, &corrupt, false);
            assert_eq!(code, Some(1), "{what}: {text}");
            // squashfs writes its inode table right after the last data (superblock field at byte 64): a
            // block that holds both is metadata that did not verify, and nothing is named.
            if fs == "squashfs" {
                let inode_table = u64::from_le_bytes(clean[64..72].try_into().unwrap());
                if (block as u64 + 1) * 4096 > inode_table {
                    assert!(
                        text.starts_with(&format!("data block {block} at byte offset")),
                        "{what}: {text}"
                    );
                    continue;
                }
            }
            let want = format!("{path}, bytes {first}-{last}");
            assert!(
                text.starts_with(&format!("data block {block} (")) && text.contains(&want),
                "{what}: want {want:?} in {text}"
            );

            let (code, out) = verify(&b, &corrupt, true);
            assert_eq!(code, Some(1), "{what}");
            let j: Value = serde_json::from_str(&out).unwrap();
            let bad = j["tree"]["bad"].as_array().unwrap();
            assert_eq!(bad.len(), 1, "{what}: {j}");
            assert_eq!(bad[0]["index"], block as u64, "{what}");
            let named = bad[0]["files"].as_array().unwrap();
            assert!(
                named
                    .iter()
                    .any(|f| f["path"] == path && f["first"] == first && f["last"] == last),
                "{what}: want {path} {first}-{last} in {named:?}"
            );
            // ext4 and erofs keep every file in blocks of its own; squashfs packs file tails together.
            if fs != "squashfs" {
                assert_eq!(named.len(), 1, "{what}: {named:?}");
            }
            named_cases += 1;
        }
        assert!(
            named_cases >= 3,
            "{fs}: only {named_cases} cases named a file"
        );
    }
}

/// A data device that holds no filesystem yardstick reads: the bad block is named without a file.
#[test]
fn unknown_content_names_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, noise(64 * 4096, 9)).unwrap();
    let hash = dir.path().join("hash");
    let out = run_ok(
        yardstick()
            .args(["verity", "format", "--json"])
            .arg(&data)
            .arg(&hash),
    );
    let root = serde_json::from_str::<Value>(&out).unwrap()["root_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[5 * 4096 + 7] ^= 1;
    std::fs::write(&data, bytes).unwrap();
    let o = run(yardstick()
        .args(["verity", "verify", "--json"])
        .arg(&data)
        .arg(&hash)
        .arg(&root));
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let bad = &j["tree"]["bad"][0];
    assert_eq!(bad["index"], 5);
    assert!(bad.get("files").is_none(), "{j}");
    let o = run(yardstick()
        .args(["verity", "verify"])
        .arg(&data)
        .arg(&hash)
        .arg(&root));
    assert!(
        stdout(&o).starts_with("data block 5 at byte offset 20480 of "),
        "{}",
        stdout(&o)
    );
}

/// Metadata that did not verify is not read: a bad block holding the superblock (block 0 for all three) or
/// a directory leaves every bad block unnamed rather than named from corrupted metadata.
#[test]
fn unverified_metadata_names_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = tree(dir.path());
    for fs in ["erofs", "ext4", "squashfs"] {
        let b = build(dir.path(), &root, fs);
        let mut bad = std::fs::read(&b.data).unwrap();
        let marker = files()[0].1.clone();
        let pos = locate(&bad, &marker, 10);
        bad[pos] ^= 1;
        // The superblock's block, at a byte no reader looks at but that dm-verity covers.
        bad[4000] ^= 1;
        let corrupt = dir.path().join(format!("{fs}.bad"));
        std::fs::write(&corrupt, &bad).unwrap();
        let (code, out) = verify(&b, &corrupt, true);
        assert_eq!(code, Some(1), "{fs}");
        let j: Value = serde_json::from_str(&out).unwrap();
        let bad = j["tree"]["bad"].as_array().unwrap();
        assert_eq!(bad.len(), 2, "{fs}: {j}");
        assert!(
            bad.iter().all(|b| b.get("files").is_none()),
            "{fs}: named from unverified metadata: {j}"
        );
    }
}

/// The readers on hostile bytes: every byte of the first 64 KiB of each image changed in turn (stride 3),
/// and the images cut short, give a map or none, never a panic; a map still names only files of the tree.
#[test]
fn hostile_metadata_never_panics() {
    use yardstick_verity::fsmap::FsMap;
    let dir = tempfile::tempdir().unwrap();
    let root = tree(dir.path());
    let known: Vec<&str> = files().iter().map(|(p, _)| *p).collect();
    for fs in ["erofs", "ext4", "squashfs"] {
        let b = build(dir.path(), &root, fs);
        let clean = std::fs::read(&b.data).unwrap();
        let map = FsMap::read(&clean).unwrap_or_else(|| panic!("{fs}: the intact image reads"));
        assert_eq!(map.kind(), fs);
        for pos in (0..clean.len().min(65536)).step_by(3) {
            let mut m = clean.clone();
            m[pos] = m[pos].wrapping_add(0x41);
            if let Some(map) = FsMap::read(&m) {
                // Whatever it maps, the block with the marker's first bytes is some file's.
                let _ = map.files_at(0, m.len() as u64);
            }
        }
        for len in [0, 100, 1024, 1100, 4096, 8192, 65536, clean.len() / 2] {
            let _ = FsMap::read(&clean[..len.min(clean.len())].to_vec());
        }
        let all = map.files_at(0, clean.len() as u64);
        for f in &all {
            assert!(
                known.iter().any(|k| f.path == *k)
                    || f.path.ends_with(" (directory)")
                    || f.path == "/usr/link",
                "{fs}: {f:?}"
            );
        }
        for k in &known {
            assert!(all.iter().any(|f| f.path == *k), "{fs}: {k} not mapped");
        }
    }
}
