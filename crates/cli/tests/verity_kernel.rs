//! Kernel command-line forms of a root hash, checked against the tools that produce them today:
//! Kata's image builder (values taken from real `veritysetup format --no-superblock` output, composed the way
//! `tools/osbuilder` and runtime-rs `kernel_param.rs` compose them) and systemd-repart 254 (which names the
//! data and hash partitions after the root hash).
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;
mod verity_util;

use std::process::Command;

use support::*;
use verity_util::*;

/// Kata: `root_hash=..,salt=..,data_blocks=..,data_block_size=..,hash_block_size=..` and its dm-mod.create
/// line, from the fields of veritysetup's output.
#[test]
fn kata_params_match_veritysetup_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_image(&d.join("rootfs"), 2000 * 4096, 77);
    let v = run_ok(
        Command::new(verity_util::veritysetup())
            .args(["format", "--no-superblock", "rootfs", "rootfs.hash"])
            .current_dir(d),
    );
    let (root, salt, blocks, dbs, hbs) = (
        field(&v, "Root hash:"),
        field(&v, "Salt:"),
        field(&v, "Data blocks:"),
        field(&v, "Data block size:"),
        field(&v, "Hash block size:"),
    );
    let kata = format!(
        "root_hash={root},salt={salt},data_blocks={blocks},data_block_size={dbs},hash_block_size={hbs}"
    );
    let sectors = blocks.parse::<u64>().unwrap() * dbs.parse::<u64>().unwrap() / 512;
    let dm = format!(
        "dm-mod.create=\"dm-verity,,,ro,0 {sectors} verity 1 /dev/vda1 /dev/vda2 {dbs} {hbs} {blocks} 0 sha256 {root} {salt}\""
    );
    let y = run_ok(
        yardstick()
            .args([
                "verity",
                "kernel-params",
                "--no-superblock",
                "--salt",
                &salt,
                "--data-blocks",
                &blocks,
                "--root-hash",
                &root,
                "--json",
            ])
            .current_dir(d),
    );
    let j: serde_json::Value = serde_json::from_str(&y).unwrap();
    assert_eq!(j["kata_verity_params"], kata.as_str());
    assert_eq!(j["dm_mod_create"], dm.as_str());
    assert_eq!(j["systemd_roothash"], format!("roothash={root}").as_str());
    // format --json carries the same object.
    let f = run_ok(
        yardstick()
            .args([
                "verity",
                "format",
                "--no-superblock",
                "--salt",
                &salt,
                "rootfs",
                "y.hash",
                "--json",
            ])
            .current_dir(d),
    );
    let fj: serde_json::Value = serde_json::from_str(&f).unwrap();
    for key in [
        "uuid",
        "hash_type",
        "data_blocks",
        "data_block_size",
        "hash_blocks",
        "hash_block_size",
        "hash_algorithm",
        "salt",
        "root_hash",
        "hash_device_size",
        "kernel_params",
    ] {
        assert!(fj.get(key).is_some(), "format --json lacks {key}: {f}");
    }
    assert_eq!(fj["root_hash"], root.as_str());
    assert_eq!(fj["kernel_params"]["kata_verity_params"], kata.as_str());
    // With a superblock the tree starts at block 1 and Kata's fixed layout does not apply.
    let s = run_ok(
        yardstick()
            .args(["verity", "format", "rootfs", "z.hash", "--json"])
            .current_dir(d),
    );
    let sj: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert!(sj["kernel_params"]["kata_verity_params"].is_null());
    assert!(
        sj["kernel_params"]["dm_table"]
            .as_str()
            .unwrap()
            .contains(" 2000 1 sha256 "),
        "{s}"
    );
}

/// systemd-repart 254 (`Verity=data`/`Verity=hash`) formats a real image with libcryptsetup; yardstick must
/// (a) derive exactly the partition UUIDs repart gave the data and hash partitions from the root hash, and
/// (b) verify repart's tree with repart's root hash.
#[test]
fn systemd_partition_uuids_match_repart_254() {
    let tools = tools();
    let sd = tools.join("systemd-254");
    let repart = peer("systemd-254/bin/systemd-repart");
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("tree/etc")).unwrap();
    std::fs::write(d.join("tree/etc/marker"), "CoCo\n").unwrap();
    std::fs::write(d.join("tree/blob"), bytes(3, 300_000)).unwrap();
    std::fs::create_dir_all(d.join("defs")).unwrap();
    std::fs::write(
        d.join("defs/10-root.conf"),
        format!(
            "[Partition]\nType=root\nCopyFiles={}:/\nFormat=erofs\nVerity=data\nVerityMatchKey=root\n",
            d.join("tree").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("defs/20-verity.conf"),
        "[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=root\n",
    )
    .unwrap();
    let libdir = format!(
        "{}:{}",
        sd.join("usr/lib/x86_64-linux-gnu/systemd").display(),
        sd.join("lib/x86_64-linux-gnu").display()
    );
    let out = run(Command::new(&repart)
        .env("LD_LIBRARY_PATH", libdir)
        .args([
            "--definitions=defs",
            "--empty=create",
            "--size=auto",
            "--dry-run=no",
            "--json=short",
        ])
        .arg(d.join("img.raw"))
        .current_dir(d));
    assert!(
        out.status.success(),
        "systemd-repart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = &parts[0];
    let hash = &parts[1];
    let root = data["roothash"].as_str().unwrap().to_string();
    // Cut the partitions out of the image.
    let img = std::fs::read(d.join("img.raw")).unwrap();
    for (p, name) in [(data, "p1"), (hash, "p2")] {
        let off = p["offset"].as_u64().unwrap() as usize;
        let len = p["raw_size"].as_u64().unwrap() as usize;
        std::fs::write(d.join(name), &img[off..off + len]).unwrap();
    }
    let y = run_ok(
        yardstick()
            .args([
                "verity",
                "kernel-params",
                "p2",
                "--root-hash",
                &root,
                "--json",
            ])
            .current_dir(d),
    );
    let j: serde_json::Value = serde_json::from_str(&y).unwrap();
    assert_eq!(j["systemd_data_partuuid"], data["uuid"], "{y}");
    assert_eq!(j["systemd_hash_partuuid"], hash["uuid"], "{y}");
    assert_eq!(j["systemd_roothash"], format!("roothash={root}").as_str());
    run_ok(
        yardstick()
            .args(["verity", "verify", "p1", "p2", &root])
            .current_dir(d),
    );
}
