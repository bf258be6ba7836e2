//! `yardstick image inspect` and `yardstick refvals create --disk` on disks made by `image build` (uki layout:
//! GPT + ESP; kata layout: MBR) and by `veritysetup format --no-superblock` with the tree appended to the data
//! (Kata's image builder's way): the partitions, the UKI, the root hash are found; the manifest from the disk
//! equals the one `image build` wrote (verity and tpm sections, components, partition table); a flipped byte
//! is exit 1 naming the block veritysetup names; bad input is exit 2.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

mod image_guest;
mod support;

use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::process::Command;

use image_guest::*;
use support::*;

fn inspect_json(disk: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = run(yardstick()
        .args(["image", "inspect", "--json"])
        .arg(disk)
        .args(extra));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let j =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stderr}"));
    (out.status.code(), j, stderr)
}

fn component<'a>(m: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    m["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
}

#[test]
fn uki_disk_is_found_and_gives_image_builds_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(dir.path(), "uki.img", &["--layout", "uki"]);
    let (code, j, err) = inspect_json(&disk, &[]);
    assert_eq!(code, Some(0), "{err}\n{j:#}");
    let parts = j["table"]["partitions"].as_array().unwrap();
    let names: Vec<&str> = parts
        .iter()
        .map(|p| p["discoverable"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["esp", "root-x86-64", "root-x86-64-verity"]);
    assert_eq!(j["table"]["kind"], "gpt");
    assert_eq!(
        j["table"]["disk_id"],
        m["image"]["partition_table"]["disk_id"]
    );
    let uki = &j["boot"]["uki"];
    assert_eq!(uki["path"], "EFI/BOOT/BOOTX64.EFI");
    assert_eq!(j["boot"]["firmware_binary"], "uki");
    assert_eq!(uki["sha256"], component(&m, "uki").unwrap()["sha256"]);
    assert_eq!(uki["cmdline"].as_str().unwrap(), cmdline(&m));
    assert_eq!(j["cmdline_hashes"]["roothash"], m["verity"]["root_hash"]);
    let v = &j["verity"][0];
    assert_eq!(v["verified"], true, "{j:#}");
    assert_eq!(v["params_from"], "superblock");
    assert_eq!(
        (v["data_partition"].as_u64(), v["hash_partition"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(v["expected_root_hash"], m["verity"]["root_hash"]);

    // Text form names the same things.
    let text = run_ok(yardstick().args(["image", "inspect"]).arg(&disk));
    assert!(
        text.contains("uki:        partition 1 EFI/BOOT/BOOTX64.EFI"),
        "{text}"
    );
    assert!(text.contains(": verified"), "{text}");

    let out = dir.path().join("disk.manifest.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(&disk)
            .arg("--output")
            .arg(&out),
    );
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(d["verity"], m["verity"], "verity sections differ");
    assert_eq!(d["tpm"], m["tpm"], "tpm sections differ");
    assert_eq!(
        d["image"]["partition_table"], m["image"]["partition_table"],
        "partition tables differ"
    );
    // The UKI's inputs, as its sections hold them, are the files image build was given.
    for name in ["kernel", "initrd", "cmdline", "uki"] {
        let (a, b) = (component(&d, name).unwrap(), component(&m, name).unwrap());
        assert_eq!(a["sha256"], b["sha256"], "component {name}");
        assert_eq!(a["sha384"], b["sha384"], "component {name}");
    }
    // refvals show accepts it.
    run_ok(yardstick().args(["refvals", "show"]).arg(&out));

    // A bad primary GPT header: the backup is read, and the report says so.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&disk)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, 512 + 40).unwrap();
    f.write_all_at(&[b[0] ^ 0xff], 512 + 40).unwrap();
    let (code, j, err) = inspect_json(&disk, &[]);
    assert_eq!(code, Some(0), "{err}");
    let notes = j["table"]["notes"].to_string();
    assert!(
        notes.contains("primary GPT is bad (header CRC32"),
        "{notes}"
    );
    assert_eq!(j["verity"][0]["verified"], true);
}

/// A byte flipped in the root partition: exit 1, naming the data block veritysetup verify names on the
/// extracted partitions; `refvals create --disk` writes no manifest.
#[test]
fn flipped_byte_in_root_is_exit_1_naming_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(dir.path(), "uki.img", &["--layout", "uki"]);
    let (root_off, root_len) = partition(&m, 2);
    let (hash_off, hash_len) = partition(&m, 3);
    flip_marker(&disk, root_off, root_len);
    let data = dir.path().join("data");
    let hash = dir.path().join("hash");
    extract(&disk, root_off, root_len, &data);
    extract(&disk, hash_off, hash_len, &hash);
    let block = veritysetup_failing_block(&data, &hash, &m);

    let (code, j, err) = inspect_json(&disk, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("check failed"), "{err}");
    let problems = j["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{j:#}");
    let reason = problems[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "data block {block} (byte {} of partition 2",
            block * 4096
        )),
        "{reason}"
    );
    assert_eq!(j["verity"][0]["verified"], false);

    let out = dir.path().join("m.json");
    let r = run(yardstick()
        .args(["refvals", "create", "--disk"])
        .arg(&disk)
        .arg("--output")
        .arg(&out));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stdout).contains(&format!("data block {block} ")));
    assert!(
        !out.exists(),
        "no manifest for a disk that fails its checks"
    );
}

/// A cmdline root hash that is not the tree's: the UKI of one build on the disk of another.
#[test]
fn cmdline_root_hash_not_the_trees_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (a, ma) = build_example(dir.path(), "a.img", &["--layout", "uki"]);
    let (b, _) = build_example(dir.path(), "b.img", &["--layout", "uki", "--seed", "other"]);
    // b's ESP (and UKI) onto a's disk: same layout sizes, other salt and root hash.
    let (esp_off, esp_len) = partition(&ma, 1);
    let mut esp = vec![0u8; esp_len as usize];
    std::fs::File::open(&b)
        .unwrap()
        .read_exact_at(&mut esp, esp_off)
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&a)
        .unwrap()
        .write_all_at(&esp, esp_off)
        .unwrap();
    let (code, j, _) = inspect_json(&a, &[]);
    assert_eq!(code, Some(1));
    let all = j["problems"].to_string();
    assert!(all.contains("is not the hash tree's"), "{all}");
    assert!(all.contains("systemd will not find it"), "{all}");
}

/// The kata layout (MBR, tree on partition 2, no superblock): verified with --verity-params, and without it
/// the report says what is missing.
#[test]
fn kata_disk_with_and_without_verity_params() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(
        dir.path(),
        "kata.img",
        &["--layout", "kata", "--fs", "ext4"],
    );
    let kvp = m["verity"]["kernel_params"]["kata_verity_params"]
        .as_str()
        .unwrap();
    let (code, j, err) = inspect_json(&disk, &["--verity-params", kvp]);
    assert_eq!(code, Some(0), "{err}\n{j:#}");
    assert_eq!(j["table"]["kind"], "mbr");
    let v = &j["verity"][0];
    assert_eq!(v["verified"], true);
    assert_eq!(
        (v["data_partition"].as_u64(), v["hash_partition"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(v["expected_root_hash"], m["verity"]["root_hash"]);

    let out = dir.path().join("k.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(&disk)
            .args(["--verity-params", kvp, "--output"])
            .arg(&out),
    );
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(d["verity"], m["verity"], "verity sections differ");
    assert_eq!(d["image"]["partition_table"], m["image"]["partition_table"]);

    let (code, j, _) = inspect_json(&disk, &[]);
    assert_eq!(code, Some(0));
    assert!(j["notes"].to_string().contains("--verity-params"), "{j:#}");
    let r = run(yardstick().args(["refvals", "create", "--disk"]).arg(&disk));
    assert_eq!(r.status.code(), Some(2));

    // A wrong root hash in the parameters: exit 1.
    let bad = format!(
        "root_hash={}{}",
        "0".repeat(64),
        &kvp[kvp.find(",salt=").unwrap()..]
    );
    let (code, j, _) = inspect_json(&disk, &["--verity-params", &bad]);
    assert_eq!(code, Some(1), "{j:#}");
    assert!(j["problems"].to_string().contains("is not the hash tree's"));
    // Malformed parameters: exit 2, one line.
    let r = run(yardstick()
        .args(["image", "inspect"])
        .arg(&disk)
        .args(["--verity-params", "root_hash=zz"]));
    assert_eq!(r.status.code(), Some(2));
    let e = String::from_utf8_lossy(&r.stderr);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("--verity-params"), "{e}");
}

/// Kata's image builder's way: `veritysetup format --no-superblock` with the tree appended to the data in
/// one partition. veritysetup's root hash is the one image build computed for the same data and salt, and
/// `image inspect --verity-params` verifies the appended tree.
#[test]
fn kata_tree_appended_by_veritysetup() {
    let dir = tempfile::tempdir().unwrap();
    let (kata, m) = build_example(
        dir.path(),
        "kata.img",
        &["--layout", "kata", "--fs", "ext4"],
    );
    let v = &m["verity"];
    let blocks = v["data_blocks"].as_u64().unwrap();
    let salt = v["salt"].as_str().unwrap();
    let data_len = blocks * 4096;
    let (root_off, _) = partition(&m, 1);
    let part = dir.path().join("part");
    extract(&kata, root_off, data_len, &part);
    let out = run_ok(
        Command::new(peer("veritysetup"))
            .args(["format", "--no-superblock", "--salt", salt])
            .arg(format!("--hash-offset={data_len}"))
            .arg(format!("--data-blocks={blocks}"))
            .arg(&part)
            .arg(&part),
    );
    let root = out
        .lines()
        .find_map(|l| l.strip_prefix("Root hash:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        root,
        v["root_hash"].as_str().unwrap(),
        "veritysetup and image build disagree"
    );
    // The disk: an MBR (sfdisk) with one partition at 1 MiB holding data + tree.
    let disk = dir.path().join("appended.img");
    let part_len = std::fs::metadata(&part).unwrap().len().div_ceil(1 << 20) << 20;
    let f = std::fs::File::create(&disk).unwrap();
    f.set_len((1 << 20) + part_len).unwrap();
    f.write_all_at(&std::fs::read(&part).unwrap(), 1 << 20)
        .unwrap();
    drop(f);
    let mut sf = Command::new(peer("sfdisk"));
    sf.arg("--quiet")
        .arg(&disk)
        .stdin(std::process::Stdio::piped());
    let mut child = sf.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\n2048,,83,*\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let kvp = format!(
        "root_hash={root},salt={salt},data_blocks={blocks},data_block_size=4096,hash_block_size=4096"
    );
    let (code, j, err) = inspect_json(&disk, &["--verity-params", &kvp]);
    assert_eq!(code, Some(0), "{err}\n{j:#}");
    let found = &j["verity"][0];
    assert_eq!(found["verified"], true);
    assert_eq!(
        (
            found["data_partition"].as_u64(),
            found["hash_partition"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(found["hash_offset"].as_u64(), Some(data_len));
    assert_eq!(found["expected_root_hash"].as_str(), Some(root.as_str()));
}

/// Not a disk, too small, garbage: exit 2 with one line.
#[test]
fn bad_input_is_exit_2_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.img");
    std::fs::write(&junk, vec![0x5au8; 1 << 20]).unwrap();
    let tiny = dir.path().join("tiny.img");
    std::fs::write(&tiny, b"x").unwrap();
    for (args, what) in [
        (vec![junk.as_os_str()], "no partition table"),
        (vec![tiny.as_os_str()], "too small"),
        (vec![dir.path().as_os_str()], "not a disk image"),
        (
            vec![dir.path().join("nope").into_os_string().leak() as &std::ffi::OsStr],
            "No such file",
        ),
    ] {
        for cmd in [
            &["image", "inspect"][..],
            &["refvals", "create", "--disk"][..],
        ] {
            let r = run(yardstick().args(cmd).args(&args));
            assert_eq!(r.status.code(), Some(2), "{cmd:?} {args:?}");
            let e = String::from_utf8_lossy(&r.stderr);
            assert_eq!(e.lines().count(), 1, "{e}");
            assert!(e.contains(what), "{cmd:?}: {e}");
        }
    }
}

/// systemd-boot as the firmware's binary (the ESP rewritten with mtools, an independent FAT writer with long
/// names): loader.conf's `default` glob picks among the type-2 entries in EFI/Linux; the addons, credentials
/// and extensions beside the UKI are listed and said not to be predicted.
#[test]
fn systemd_boot_default_entry_and_extras() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(dir.path(), "sdboot.img", &["--layout", "uki"]);
    let (esp_off, _) = partition(&m, 1);
    let img = format!("{}@@{esp_off}", disk.display());
    let mt = |args: &[&str]| {
        run_ok(
            Command::new(peer(args[0]))
                .args(&args[1..])
                .env("MTOOLS_SKIP_CHECK", "1"),
        );
    };
    let uki = dir.path().join("uki.efi");
    mt(&[
        "mcopy",
        "-i",
        &img,
        "::EFI/BOOT/BOOTX64.EFI",
        uki.to_str().unwrap(),
    ]);
    let sdboot = peer("systemd-254/usr/lib/systemd/boot/efi/systemd-bootx64.efi");
    mt(&[
        "mcopy",
        "-o",
        "-i",
        &img,
        sdboot.to_str().unwrap(),
        "::EFI/BOOT/BOOTX64.EFI",
    ]);
    mt(&[
        "mmd",
        "-i",
        &img,
        "::EFI/Linux",
        "::EFI/Linux/debian-6.1.0-amd64.efi.extra.d",
        "::loader",
        "::loader/credentials",
    ]);
    for name in [
        "debian-6.1.0-amd64.efi",
        "debian-6.10.0-amd64.efi",
        "fedora-6.9.efi",
    ] {
        mt(&[
            "mcopy",
            "-i",
            &img,
            uki.to_str().unwrap(),
            &format!("::EFI/Linux/{name}"),
        ]);
    }
    let small = dir.path().join("small");
    std::fs::write(&small, b"x").unwrap();
    let s = small.to_str().unwrap();
    for to in [
        "::EFI/Linux/debian-6.1.0-amd64.efi.extra.d/Console Settings.addon.efi",
        "::EFI/Linux/debian-6.1.0-amd64.efi.extra.d/passwd.cred",
        "::EFI/Linux/debian-6.1.0-amd64.efi.extra.d/tools.sysext.raw",
        "::loader/credentials/global.cred",
    ] {
        mt(&["mcopy", "-i", &img, s, to]);
    }
    let conf = dir.path().join("loader.conf");
    let with_default = |pattern: &str| {
        std::fs::write(&conf, format!("timeout 0\ndefault {pattern}\n")).unwrap();
        mt(&[
            "mcopy",
            "-o",
            "-i",
            &img,
            conf.to_str().unwrap(),
            "::loader/loader.conf",
        ]);
        let (code, j, err) = inspect_json(&disk, &[]);
        assert_eq!(code, Some(0), "{err}\n{j:#}");
        j
    };
    // Two debian entries match: the newer version (6.10 > 6.1) is the default.
    let j = with_default("debian-*");
    assert!(
        j["boot"]["firmware_binary"]
            .as_str()
            .unwrap()
            .starts_with("systemd-boot 254"),
        "{j:#}"
    );
    assert_eq!(j["boot"]["type2_entries"].as_array().unwrap().len(), 3);
    assert_eq!(j["boot"]["loader_default"], "debian-*");
    assert_eq!(
        j["boot"]["uki"]["path"],
        "EFI/Linux/debian-6.10.0-amd64.efi"
    );
    let j = with_default("debian-6.1.0-*");
    let u = &j["boot"]["uki"];
    assert_eq!(u["path"], "EFI/Linux/debian-6.1.0-amd64.efi");
    assert_eq!(j["verity"][0]["verified"], true);
    let extras: Vec<(String, String)> = u["extras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().into(),
                e["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        (
            "addon",
            "EFI/Linux/debian-6.1.0-amd64.efi.extra.d/Console Settings.addon.efi",
        ),
        (
            "credential",
            "EFI/Linux/debian-6.1.0-amd64.efi.extra.d/passwd.cred",
        ),
        (
            "sysext",
            "EFI/Linux/debian-6.1.0-amd64.efi.extra.d/tools.sysext.raw",
        ),
        ("credential", "loader/credentials/global.cred"),
    ];
    for (k, p) in want {
        assert!(
            extras.contains(&(k.into(), p.into())),
            "{k} {p} not in {extras:?}"
        );
    }
    assert!(j["notes"].to_string().contains("not predicted"), "{j:#}");
    let j = with_default("FEDORA-*");
    assert_eq!(j["boot"]["uki"]["path"], "EFI/Linux/fedora-6.9.efi");
    let (code, j, _) = {
        std::fs::write(&conf, "default nothing-*\n").unwrap();
        mt(&[
            "mcopy",
            "-o",
            "-i",
            &img,
            conf.to_str().unwrap(),
            "::loader/loader.conf",
        ]);
        inspect_json(&disk, &[])
    };
    // No UKI found: the verity partitions are there but no roothash= to check them with.
    assert_eq!(code, Some(0));
    assert!(j["boot"]["uki"].is_null());
    assert!(
        j["notes"].to_string().contains("no type-2 entry matches"),
        "{j:#}"
    );
}

/// With --ovmf and the SNP flags, `refvals create --disk` adds the launch digest of the firmware alone (it
/// loads the UKI from the disk), equal to the one `image build` computed with the same flags; a Kata disk,
/// booted directly with a kernel that is not on it, is refused (exit 2).
#[test]
fn snp_launch_digest_from_a_disk() {
    let dir = tempfile::tempdir().unwrap();
    let ovmf = fixtures().join("snp/ovmf_AmdSev_suffix.bin");
    let o = ovmf.to_str().unwrap();
    let snp = ["--ovmf", o, "--vcpus", "2", "--vcpu-type", "EPYC-v4"];
    let mut args = vec!["--layout", "uki"];
    args.extend(snp);
    let (disk, m) = build_example(dir.path(), "snp.img", &args);
    let out = dir.path().join("d.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(&disk)
            .args(snp)
            .arg("--output")
            .arg(&out),
    );
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(!m["snp"].as_array().unwrap().is_empty());
    assert_eq!(d["snp"], m["snp"], "snp sections differ");
    assert_eq!(
        component(&d, "firmware").unwrap()["sha256"],
        component(&m, "firmware").unwrap()["sha256"]
    );
    assert_eq!(d["tpm"], m["tpm"]);

    let (kata, m) = build_example(dir.path(), "k.img", &["--layout", "kata"]);
    let kvp = m["verity"]["kernel_params"]["kata_verity_params"]
        .as_str()
        .unwrap();
    let r = run(yardstick()
        .args(["refvals", "create", "--disk"])
        .arg(&kata)
        .args(["--verity-params", kvp])
        .args(snp));
    assert_eq!(r.status.code(), Some(2));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(e.contains("snp measure") && e.lines().count() == 1, "{e}");
}

/// A disk made by systemd-repart 254 (the tool mkosi drives): an empty vfat ESP (mkfs.vfat), an erofs root
/// with `Verity=data`, its `Verity=hash` partition (libcryptsetup, 512-byte blocks) and `Verity=signature`
/// partition (repart's JSON); the UKI (`uki build`, with repart's root hash on its cmdline) copied onto the ESP
/// with mtools. `image inspect` finds repart's root hash and verifies the tree, reads the signature JSON (the
/// certificate fingerprint is openssl's); `refvals create --disk` predicts what `refvals create --uki` predicts
/// for the same UKI.
#[test]
fn disk_made_by_systemd_repart_254() {
    let sd = tools().join("systemd-254");
    let repart = peer("systemd-254/bin/systemd-repart");
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("tree/etc")).unwrap();
    std::fs::write(d.join("tree/etc/marker"), "CoCo\n").unwrap();
    std::fs::write(d.join("tree/blob"), vec![0x3cu8; 300_000]).unwrap();
    std::fs::create_dir_all(d.join("defs")).unwrap();
    let defs = [
        (
            "00-esp.conf",
            "[Partition]\nType=esp\nFormat=vfat\nSizeMinBytes=40M\n".to_string(),
        ),
        (
            "10-root.conf",
            format!(
                "[Partition]\nType=root\nCopyFiles={}:/\nFormat=erofs\nVerity=data\nVerityMatchKey=root\n",
                d.join("tree").display()
            ),
        ),
        (
            "20-verity.conf",
            "[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=root\n".into(),
        ),
        (
            "30-sig.conf",
            "[Partition]\nType=root-verity-sig\nVerity=signature\nVerityMatchKey=root\n".into(),
        ),
    ];
    for (n, t) in defs {
        std::fs::write(d.join("defs").join(n), t).unwrap();
    }
    run_ok(
        Command::new(peer("openssl"))
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out",
                "c.pem",
            ])
            .args(["-days", "3", "-subj", "/CN=yardstick test"])
            .current_dir(d),
    );
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
        .args(["--private-key=k.pem", "--certificate=c.pem", "img.raw"])
        .current_dir(d));
    assert!(
        out.status.success(),
        "systemd-repart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = parts[1]["roothash"].as_str().unwrap().to_string();
    let esp_off = parts[0]["offset"].as_u64().unwrap();

    let uki = d.join("uki.efi");
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub_254())
            .arg("--linux")
            .arg(kernel())
            .args([
                "--cmdline",
                &format!("console=ttyS0 roothash={root}"),
                "--output",
            ])
            .arg(&uki),
    );
    let img = format!("{}@@{esp_off}", d.join("img.raw").display());
    let mt = |args: &[&str]| {
        run_ok(
            Command::new(peer(args[0]))
                .args(&args[1..])
                .env("MTOOLS_SKIP_CHECK", "1"),
        );
    };
    mt(&["mmd", "-i", &img, "::EFI", "::EFI/BOOT"]);
    mt(&[
        "mcopy",
        "-i",
        &img,
        uki.to_str().unwrap(),
        "::EFI/BOOT/BOOTX64.EFI",
    ]);

    let disk = d.join("img.raw");
    let (code, j, err) = inspect_json(&disk, &[]);
    assert_eq!(code, Some(0), "{err}\n{j:#}");
    let names: Vec<&str> = j["table"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["discoverable"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "esp",
            "root-x86-64",
            "root-x86-64-verity",
            "root-x86-64-verity-sig"
        ]
    );
    for (p, r) in j["table"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(parts.as_array().unwrap())
    {
        assert_eq!(p["offset"], r["offset"]);
        assert_eq!(p["size"], r["raw_size"]);
        assert_eq!(p["uuid"], r["uuid"]);
    }
    let v = &j["verity"][0];
    assert_eq!(v["verified"], true, "{j:#}");
    assert_eq!(v["expected_root_hash"].as_str(), Some(root.as_str()));
    assert_eq!(
        v["data_block_size"], 512,
        "repart's block size for a small partition"
    );
    let fp = run_ok(
        Command::new(peer("openssl"))
            .args(["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256"])
            .current_dir(d),
    );
    let want_fp = fp
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_ascii_lowercase();
    let sig = &j["signatures"][0];
    assert_eq!(sig["root_hash"].as_str(), Some(root.as_str()));
    assert_eq!(sig["signature_present"], true);
    assert_eq!(
        sig["certificate_fingerprint"].as_str(),
        Some(want_fp.as_str())
    );

    let m = d.join("m.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(&disk)
            .arg("--output")
            .arg(&m),
    );
    let u = d.join("u.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(&uki)
            .arg("--output")
            .arg(&u),
    );
    let (mut dm, mut um): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap(),
        serde_json::from_slice(&std::fs::read(&u).unwrap()).unwrap(),
    );
    // The platform assumptions are worded per command; the predictions must be equal.
    dm["tpm"]["assumptions"] = serde_json::Value::Null;
    um["tpm"]["assumptions"] = serde_json::Value::Null;
    assert_eq!(dm["tpm"], um["tpm"]);
    assert_eq!(dm["verity"]["root_hash"].as_str(), Some(root.as_str()));
    assert_eq!(dm["verity"]["data_block_size"], 512);
}
