//! `yardstick image build` without booting: reproducibility, the layouts checked with the real tools
//! (sfdisk, veritysetup, fsck.vfat, mtools, busybox cpio), and bad input.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

mod image_guest;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use image_guest::*;
use support::*;

/// Copies a tree with `cp -a` (keeps modes, owners, times and symlinks) after creating its directories in
/// reverse order, so that the two copies differ in inode numbers and directory order on disk.
fn copy_tree_reversed(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.reverse();
    for d in dirs {
        run_ok(Command::new("cp").arg("-a").arg(&d).arg(dst));
    }
    run_ok(Command::new("touch").arg("-r").arg(src).arg(dst));
}

fn build(rootfs: &Path, out: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let ex = example();
    let mut cmd = yardstick();
    cmd.args(["image", "build"])
        .arg(rootfs)
        .arg("--output")
        .arg(out)
        .args(args)
        .env("YARDSTICK_TOOLS", tools())
        .env_remove("SOURCE_DATE_EPOCH");
    if args.contains(&"uki") {
        cmd.arg("--kernel")
            .arg(kernel())
            .arg("--initrd")
            .arg(ex.join("initrd.cpio"))
            .arg("--stub")
            .arg(stub_254());
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_ok(&mut cmd);
    std::fs::read(out).unwrap()
}

/// Every layout and filesystem, built twice from two differently created copies of the same tree (and once
/// more with another SOURCE_DATE_EPOCH and another seed, which must change the bytes): disks and manifests are
/// byte-identical.
#[test]
fn builds_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    copy_tree_reversed(&example().join("rootfs"), &a);
    run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(example().join("rootfs"))
            .arg(&b),
    );
    let cases: &[&[&str]] = &[
        &["--layout", "uki", "--fs", "erofs"],
        &["--layout", "kata", "--fs", "ext4"],
        &["--layout", "kata", "--fs", "squashfs"],
        &["--layout", "kata", "--fs", "erofs"],
        &["--layout", "initrd"],
    ];
    for (n, args) in cases.iter().enumerate() {
        let o1 = dir.path().join(format!("{n}-1.img"));
        let o2 = dir.path().join(format!("{n}-2.img"));
        let d1 = build(&a, &o1, args, &[]);
        let d2 = build(&b, &o2, args, &[]);
        assert!(d1 == d2, "{args:?}: disks differ");
        let m1 =
            std::fs::read_to_string(dir.path().join(format!("{n}-1.img.manifest.json"))).unwrap();
        let m2 =
            std::fs::read_to_string(dir.path().join(format!("{n}-2.img.manifest.json"))).unwrap();
        assert_eq!(
            m1.replace(&format!("{n}-1.img"), "X"),
            m2.replace(&format!("{n}-2.img"), "X"),
            "{args:?}: manifests differ"
        );
        let o3 = dir.path().join(format!("{n}-3.img"));
        let d3 = build(&a, &o3, args, &[("SOURCE_DATE_EPOCH", "1700000000")]);
        assert!(d3 != d1, "{args:?}: SOURCE_DATE_EPOCH changed nothing");
        let d3b = build(&b, &o3, args, &[("SOURCE_DATE_EPOCH", "1700000000")]);
        assert!(
            d3 == d3b,
            "{args:?}: not reproducible with SOURCE_DATE_EPOCH set"
        );
        if args[1] != "initrd" {
            let mut seeded = args.to_vec();
            seeded.extend(["--seed", "other"]);
            let d4 = build(&a, &o3, &seeded, &[]);
            assert!(d4 != d1, "{args:?}: --seed changed nothing");
        }
    }
}

/// The uki layout is what systemd-repart would make and systemd-veritysetup-generator expects: DPS type GUIDs,
/// data/hash partition UUIDs = first/last 128 bits of the root hash (sfdisk reads them back), the veritysetup
/// superblock agrees with the manifest (veritysetup dump) and the tree verifies (veritysetup verify); the ESP
/// passes fsck.vfat and holds the UKI the manifest names, at /EFI/BOOT/BOOTX64.EFI (mcopy).
#[test]
fn uki_layout_checks_out_with_sfdisk_veritysetup_and_mtools() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(dir.path(), "uki.img", &["--layout", "uki"]);
    let root = m["verity"]["root_hash"].as_str().unwrap();
    let uuid = |hex: &str| {
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
        .to_uppercase()
    };
    let dump: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new(peer("sfdisk")).arg("--json").arg(&disk),
    ))
    .unwrap();
    let parts = dump["partitiontable"]["partitions"].as_array().unwrap();
    let types: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
            "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"
        ]
    );
    assert_eq!(parts[1]["uuid"], uuid(&root[..32]));
    assert_eq!(parts[2]["uuid"], uuid(&root[root.len() - 32..]));
    assert_eq!(parts[1]["name"], "root-x86-64");

    let data = dir.path().join("data");
    let hash = dir.path().join("hash");
    let (off, size) = partition(&m, 2);
    extract(&disk, off, size, &data);
    let (hoff, hsize) = partition(&m, 3);
    extract(&disk, hoff, hsize, &hash);
    run_ok(
        Command::new(peer("veritysetup"))
            .arg("verify")
            .arg(&data)
            .arg(&hash)
            .arg(root),
    );
    let dump = run_ok(Command::new(peer("veritysetup")).arg("dump").arg(&hash));
    let field = |label: &str| {
        dump.lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("{label} in {dump}"))
    };
    let v = &m["verity"];
    assert_eq!(field("Data blocks:"), v["data_blocks"].to_string());
    assert_eq!(field("Salt:"), v["salt"].as_str().unwrap());
    assert_eq!(field("UUID:"), v["uuid"].as_str().unwrap());
    assert_eq!(field("Hash algorithm:"), v["algorithm"].as_str().unwrap());

    let (eoff, esize) = partition(&m, 1);
    let esp = dir.path().join("esp");
    extract(&disk, eoff, esize, &esp);
    let fsck = run(Command::new(peer("fsck.vfat")).arg("-n").arg(&esp));
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let uki = dir.path().join("uki.efi");
    run_ok(
        Command::new(peer("mcopy"))
            .env("MTOOLS_SKIP_CHECK", "1")
            .arg("-i")
            .arg(format!("{}@@{eoff}", disk.display()))
            .arg("::/EFI/BOOT/BOOTX64.EFI")
            .arg(&uki),
    );
    let want = m["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "uki")
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let got = run_ok(Command::new("sha256sum").arg(&uki));
    assert!(
        got.starts_with(&want),
        "UKI on the ESP differs from the manifest's: {got}"
    );
    // The UKI's .cmdline carries roothash= (objcopy prints the section).
    let sect = dir.path().join("cmdline");
    run_ok(
        Command::new("objcopy")
            .arg("-O")
            .arg("binary")
            .arg("--only-section=.cmdline")
            .arg(&uki)
            .arg(&sect),
    );
    let c = String::from_utf8_lossy(&std::fs::read(&sect).unwrap()).into_owned();
    assert!(
        c.trim_end_matches('\0')
            .trim()
            .ends_with(&format!("roothash={root}")),
        "{c:?}"
    );
    assert_pcr11_matches_systemd_measure(&uki, &m, dir.path());
}

/// The manifest's PCR 11 (stub-only, `tpm.pcrs`) and its phase paths (`tpm.pcr11_phases`) equal what
/// systemd-measure 254 computes from the sections of the UKI on the ESP (extracted with objcopy), in sha1,
/// sha256 and sha384. (PCRs 4, 7 and 9 are checked against a real OVMF + swtpm boot in image_boot.rs.)
fn assert_pcr11_matches_systemd_measure(uki: &Path, m: &serde_json::Value, dir: &Path) {
    let args = systemd_measure_args(uki, dir);
    let measure = || {
        let mut c = systemd_measure();
        c.args(&args);
        c
    };
    let tpm = &m["tpm"];
    let stub_only = run_ok(measure().arg("--phase="));
    let mut n = 0;
    for line in stub_only.lines().filter(|l| l.starts_with("11:")) {
        let (bank, hex) = line["11:".len()..].split_once('=').unwrap();
        assert_eq!(tpm["pcrs"][bank]["11"], hex, "stub-only PCR 11 {bank}");
        assert_eq!(tpm["pcr11_phases"][0]["phase"], "");
        assert_eq!(tpm["pcr11_phases"][0]["pcrs"][bank]["11"], hex);
        n += 1;
    }
    assert_eq!(n, 3, "{stub_only}");
    let phases: serde_json::Value =
        serde_json::from_str(&run_ok(measure().arg("--json=short"))).unwrap();
    let mut n = 0;
    for bank in ["sha1", "sha256", "sha384"] {
        for entry in phases[bank].as_array().unwrap() {
            let path = entry["phase"].as_str().unwrap();
            let ours = tpm["pcr11_phases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["phase"] == path)
                .unwrap_or_else(|| panic!("no phase path {path:?} in the manifest"));
            assert_eq!(ours["pcrs"][bank]["11"], entry["hash"], "{path} {bank}");
            n += 1;
        }
    }
    assert_eq!(n, 12, "{phases}");
}

/// kata layout (ext4): e2fsck -fn accepts the filesystem; the hash partition is exactly what `veritysetup format --no-superblock` writes for the rootfs
/// partition with the manifest's salt, root hash included, and the MBR has kata's two partitions (first
/// bootable).
#[test]
fn kata_layout_matches_veritysetup_format() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(
        dir.path(),
        "kata.img",
        &["--layout", "kata", "--fs", "ext4"],
    );
    let v = &m["verity"];
    assert_eq!(v["superblock"], false);
    let data_blocks = v["data_blocks"].as_u64().unwrap();
    let data = dir.path().join("data");
    let (off, _) = partition(&m, 1);
    extract(&disk, off, data_blocks * 4096, &data);
    // e2fsck finds nothing to fix after the inode times were rewritten.
    run_ok(Command::new(peer("e2fsck")).arg("-fn").arg(&data));
    let theirs = dir.path().join("theirs.hash");
    let out = run_ok(
        Command::new(peer("veritysetup"))
            .args(["format", "--no-superblock"])
            .arg(format!("--salt={}", v["salt"].as_str().unwrap()))
            .arg(&data)
            .arg(&theirs),
    );
    assert!(
        out.contains(&format!(
            "Root hash:      \t{}",
            v["root_hash"].as_str().unwrap()
        )),
        "{out}"
    );
    let theirs = std::fs::read(&theirs).unwrap();
    let (hoff, _) = partition(&m, 2);
    let ours = dir.path().join("ours.hash");
    extract(&disk, hoff, theirs.len() as u64, &ours);
    assert!(
        std::fs::read(&ours).unwrap() == theirs,
        "hash partition differs from veritysetup's tree"
    );
    let kp = v["kernel_params"]["kata_verity_params"].as_str().unwrap();
    assert!(
        kp.starts_with(&format!(
            "root_hash={},salt=",
            v["root_hash"].as_str().unwrap()
        )),
        "{kp}"
    );
    assert!(kp.contains(&format!("data_blocks={data_blocks},")), "{kp}");
    let dump = run_ok(Command::new(peer("sfdisk")).arg("--dump").arg(&disk));
    assert!(dump.contains("label: dos"), "{dump}");
    assert_eq!(
        dump.lines().filter(|l| l.contains("type=83")).count(),
        2,
        "{dump}"
    );
    assert!(
        dump.lines()
            .any(|l| l.contains("1 : start=") && l.contains("bootable")),
        "{dump}"
    );
}

/// initrd layout: busybox cpio unpacks the archive into the same tree (names, types, modes, contents,
/// symlink targets); every mtime is SOURCE_DATE_EPOCH.
#[test]
fn initrd_layout_unpacks_with_busybox_cpio() {
    let dir = tempfile::tempdir().unwrap();
    let src = example().join("rootfs");
    let out = dir.path().join("i.cpio");
    build(
        &src,
        &out,
        &["--layout", "initrd"],
        &[("SOURCE_DATE_EPOCH", "1234567890")],
    );
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = Command::new(peer("busybox"))
        .args(["cpio", "-i", "-d", "-m", "-F"])
        .arg(&out)
        .current_dir(&x)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let listing = |root: &Path| {
        let out = run_ok(
            Command::new("find")
                .arg(".")
                .args(["-printf", "%p %y %m %l %s\n"])
                .current_dir(root),
        );
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(listing(&x), listing(&src));
    run_ok(
        Command::new("diff")
            .arg("-r")
            .arg("--no-dereference")
            .arg(&src)
            .arg(&x),
    );
    let mtimes = run_ok(
        Command::new("find")
            .args([".", "-type", "f", "-printf", "%T@\n"])
            .current_dir(&x),
    );
    assert!(
        mtimes.lines().all(|l| l.starts_with("1234567890")),
        "{mtimes}"
    );
}

/// `--json` prints one JSON object with the root hash and per-step timings.
#[test]
fn json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.img");
    let text = run_ok(
        yardstick()
            .args(["image", "build"])
            .arg(example().join("rootfs"))
            .args(["--layout", "kata", "--json", "--output"])
            .arg(&out)
            .env("YARDSTICK_TOOLS", tools()),
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["layout"], "kata");
    assert_eq!(v["filesystem"], "erofs");
    assert_eq!(v["root_hash"].as_str().unwrap().len(), 64);
    assert!(v["seconds"]["mkfs"].as_f64().is_some(), "{v}");
    assert!(v["cmdline"].as_str().unwrap().contains("dm-mod.create="));
}

/// Without `--seed`, the seed is a digest of the inputs: printed (text and JSON), the same for the same tree,
/// another one (and so another dm-verity salt) when one byte of the tree changes; `--seed` pins it.
#[test]
fn default_seed_follows_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tree = d.join("tree");
    run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(example().join("rootfs"))
            .arg(&tree),
    );
    let run_build = |out: &str, extra: &[&str]| -> (serde_json::Value, serde_json::Value, String) {
        let out = d.join(out);
        let mut cmd = yardstick();
        cmd.args(["image", "build"])
            .arg(&tree)
            .args(["--layout", "kata", "--output"])
            .arg(&out)
            .args(extra)
            .env("YARDSTICK_TOOLS", tools());
        let text = run_ok(&mut cmd);
        let m = std::fs::read_to_string(format!("{}.manifest.json", out.display())).unwrap();
        let m: serde_json::Value = serde_json::from_str(&m).unwrap();
        let salt = m["verity"]["salt"].as_str().unwrap().to_owned();
        (m, serde_json::Value::String(salt), text)
    };
    let (_, salt1, text1) = run_build("1.img", &[]);
    let seed1 = text1
        .lines()
        .find_map(|l| l.strip_prefix("seed:"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(seed1.len(), 64, "{text1}");
    let (_, salt2, text2) = run_build("2.img", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&text2).unwrap();
    assert_eq!(v["seed"], seed1.as_str());
    assert_eq!(salt2, salt1);
    // One byte of one file changes: another seed, another salt.
    let f = tree.join("etc/yardstick-marker");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&f, bytes).unwrap();
    let (_, salt3, text3) = run_build("3.img", &["--json"]);
    let v3: serde_json::Value = serde_json::from_str(&text3).unwrap();
    assert_ne!(v3["seed"], seed1.as_str());
    assert_ne!(salt3, salt1);
    // --seed pins the seed (and so the salt) whatever the content.
    let (_, salt4, text4) = run_build("4.img", &["--json", "--seed", &seed1]);
    let v4: serde_json::Value = serde_json::from_str(&text4).unwrap();
    assert_eq!(v4["seed"], seed1.as_str());
    assert_eq!(salt4, salt1);
}

/// A rootfs with a 1 TiB sparse file (more than any test machine has free) is refused before anything is read
/// or written, naming the file, for every layout (erofs would write the zeros densely until the disk is full,
/// mksquashfs would read them for hours).
#[test]
fn a_huge_sparse_file_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("root/var")).unwrap();
    std::fs::write(d.join("root/hostname"), "guest\n").unwrap();
    let f = std::fs::File::create(d.join("root/var/huge")).unwrap();
    f.set_len(1 << 40).unwrap();
    for layout in [
        &["--layout", "kata", "--fs", "squashfs"][..],
        &["--layout", "kata"],
        &["--layout", "initrd"],
    ] {
        let out = run(yardstick()
            .args(["image", "build", "root", "--output", "out.img"])
            .args(layout)
            .env("YARDSTICK_TOOLS", tools())
            .current_dir(d));
        let err = assert_clean_failure(&out, 2);
        assert!(
            err.contains("(largest: /var/huge, 1.0 TiB, a sparse file occupying"),
            "{layout:?}: {err}"
        );
        assert!(err.contains("free where the image is written"), "{err}");
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{layout:?}: left behind: {left:?}");
    }
}

fn tar_bytes(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
    // A minimal ustar writer, so hostile names are written exactly as given.
    let mut out = Vec::new();
    for (name, kind, data) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = *kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        if *kind == b'3' {
            h[329..337].copy_from_slice(b"0000001\0");
            h[337..345].copy_from_slice(b"0000003\0");
        }
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Runs a failing build and checks: exit 2, one stderr line containing `want`, no output, manifest or
/// scratch file left in the output directory.
fn assert_rejected(args: &[&str], rootfs: &Path, want: &str, as_nobody: bool) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.img");
    let mut cmd = if as_nobody {
        // Unprivileged: the output directory must be writable by nobody.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        let mut c = Command::new(peer("setpriv"));
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_yardstick"));
        c
    } else {
        yardstick()
    };
    cmd.args(["image", "build"])
        .arg(rootfs)
        .arg("--output")
        .arg(&out)
        .args(args)
        .env("YARDSTICK_TOOLS", tools());
    let o = run(&mut cmd);
    let err = assert_clean_failure(&o, 2);
    assert!(err.contains(want), "expected {want:?} in: {err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn bad_input_is_one_clear_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        p
    };
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let ok_tree = example().join("rootfs");
    let kata = ["--layout", "kata"];

    assert_rejected(
        &kata,
        &dir.path().join("missing"),
        "missing: No such file",
        false,
    );
    let abs = write("abs.tar", &tar_bytes(&[("/etc/passwd", b'0', b"x")]));
    assert_rejected(&kata, &abs, "absolute path", false);
    let dotdot = write("dotdot.tar", &tar_bytes(&[("a/../../x", b'0', b"x")]));
    assert_rejected(&kata, &dotdot, "\"..\"", false);
    let dev = write(
        "dev.tar",
        &tar_bytes(&[("dev/", b'5', b""), ("dev/null", b'3', b"")]),
    );
    assert_rejected(&kata, &dev, "device node", true);
    let gz = write("r.tar.gz", b"\x1f\x8b\x08\x00rest-of-gzip");
    assert_rejected(&kata, &gz, "gzip-compressed", false);
    let junk = write("junk", &[7u8; 4096]);
    assert_rejected(
        &kata,
        &junk,
        "not a directory or an uncompressed tar",
        false,
    );

    let not_kernel = junk.to_str().unwrap();
    assert_rejected(
        &["--layout", "kata", "--kernel", not_kernel],
        &ok_tree,
        "not a Linux kernel",
        false,
    );
    let k = kernel();
    let s = stub_254();
    let uki = |stub: &str, cmdline: &str| {
        vec![
            "--layout".to_string(),
            "uki".into(),
            "--kernel".into(),
            k.to_str().unwrap().into(),
            "--stub".into(),
            stub.into(),
            "--cmdline".into(),
            cmdline.into(),
        ]
    };
    let args = uki(k.to_str().unwrap(), "console=ttyS0");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_rejected(&args, &ok_tree, "not a systemd-stub", false);
    // Not a PE image at all, and systemd-boot (a PE image with .sdmagic, but not systemd-stub).
    let args = uki(junk.to_str().unwrap(), "console=ttyS0");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_rejected(&args, &ok_tree, "not a systemd-stub: not a PE image", false);
    let args = uki(
        "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
        "console=ttyS0",
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_rejected(&args, &ok_tree, "names no systemd-stub version", false);
    // A bzImage setup header without the PE/EFI stub: fine for direct boot, not for a UKI.
    let mut bz = vec![0u8; 8192];
    bz[0x202..0x206].copy_from_slice(b"HdrS");
    let bz = write("bzimage-no-efi", &bz);
    let mut args = uki(s.to_str().unwrap(), "console=ttyS0");
    args[3] = bz.to_str().unwrap().into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_rejected(&args, &ok_tree, "bzImage without an EFI stub", false);
    // An unknown CPU model for the launch digest fails before any work.
    let ovmf = fixture("snp/ovmf_AmdSev_suffix.bin");
    assert_rejected(
        &[
            "--layout",
            "kata",
            "--kernel",
            k.to_str().unwrap(),
            "--ovmf",
            ovmf.to_str().unwrap(),
            "--vcpu-type",
            "Pentium-4",
        ],
        &ok_tree,
        "unknown vCPU type \"Pentium-4\"",
        false,
    );
    // A firmware without SEV metadata (Debian's plain OVMF) fails before any work too.
    assert_rejected(
        &[
            "--layout",
            "kata",
            "--kernel",
            k.to_str().unwrap(),
            "--ovmf",
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "--vcpu-type",
            "EPYC-v4",
        ],
        &ok_tree,
        "OVMF_CODE_4M.fd: no SEV metadata",
        false,
    );
    let args = uki(s.to_str().unwrap(), "console=ttyS0 roothash=00");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_rejected(&args, &ok_tree, "already contains roothash=", false);
    assert_rejected(
        &["--layout", "uki"],
        &ok_tree,
        "needs --kernel and --stub",
        false,
    );
    assert_rejected(
        &["--layout", "kata", "--cmdline", "dm-mod.create=\"x\""],
        &ok_tree,
        "already contains dm-mod.create=",
        false,
    );
}

/// initrd layout with a kernel and an SEV-SNP firmware: the manifest's launch digest covers the cpio archive
/// `image build` wrote, and equals what sev-snp-measure 0.0.13 computes from that file, the kernel and the
/// manifest's cmdline.
#[test]
fn initrd_layout_snp_digest_matches_sev_snp_measure() {
    let dir = tempfile::tempdir().unwrap();
    let ovmf = fixture("snp/ovmf_AmdSev_suffix.bin");
    let out = dir.path().join("i.cpio");
    build(
        &example().join("rootfs"),
        &out,
        &[
            "--layout",
            "initrd",
            "--kernel",
            kernel().to_str().unwrap(),
            "--ovmf",
            ovmf.to_str().unwrap(),
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC-v4",
        ],
        &[],
    );
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("i.cpio.manifest.json")).unwrap(),
    )
    .unwrap();
    let ours = m["snp"][0]["measurement"].as_str().unwrap();
    let theirs = run_ok(
        Command::new(peer("venv/bin/sev-snp-measure"))
            .args(["--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4"])
            .arg("--ovmf")
            .arg(&ovmf)
            .arg("--kernel")
            .arg(kernel())
            .arg("--initrd")
            .arg(&out)
            .arg("--append")
            .arg(cmdline(&m)),
    );
    assert_eq!(ours, theirs.trim(), "{}", m["snp"]);
}

/// `image build` takes `snp measure`'s VMM types (gce too, in any case) and mode spellings, and resolves the
/// vCPU as `snp measure` does (one function in yardstick-snp): for EC2 and GCE, with or without a vCPU type,
/// and for QEMU with family/model/stepping, the manifest's launch digest equals `yardstick snp measure`'s and
/// sev-snp-measure 0.0.13's for the same inputs, and EC2/GCE record the fixed RDX 0x600 as the signature.
#[test]
fn vmm_types_and_modes_match_snp_measure_and_sev_snp_measure() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/hostname"), b"guest\n").unwrap();
    let ovmf = fixture("snp/ovmf_AmdSev_suffix.bin");
    let k = kernel();
    let cases: &[(&str, &str, &str, &str, &[&str])] = &[
        ("gce", "gce", "snp", "snp", &["--vcpu-type", "EPYC-Milan"]),
        ("GCE", "gce", "SEV-ES", "seves", &[]),
        ("ec2", "ec2", "sev-es", "seves", &["--vcpu-type", "EPYC-v4"]),
        ("EC2", "ec2", "snp", "snp", &[]),
        (
            "Qemu",
            "QEMU",
            "seves",
            "seves",
            &[
                "--vcpu-family",
                "25",
                "--vcpu-model",
                "1",
                "--vcpu-stepping",
                "1",
            ],
        ),
    ];
    for (i, (vmm_flag, vmm, mode_flag, mode, vcpu)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("i{i}.cpio"));
        let mut args = vec![
            "--layout",
            "initrd",
            "--kernel",
            k.to_str().unwrap(),
            "--ovmf",
            ovmf.to_str().unwrap(),
            "--vcpus",
            "2",
            "--snp-mode",
            mode_flag,
            "--vmm-type",
            vmm_flag,
        ];
        args.extend_from_slice(vcpu);
        build(&tree, &out, &args, &[]);
        let m = manifest(&out);
        let snp = &m["snp"][0];
        assert_eq!(snp["vmm_type"], vmm.to_lowercase(), "{snp}");
        assert_eq!(
            snp["mode"],
            if *mode == "snp" { "snp" } else { "sev-es" },
            "{snp}"
        );
        if *vmm != "QEMU" {
            assert_eq!(snp["vcpu_sig"], 0x600, "{snp}");
        } else {
            assert_eq!(snp["vcpu_sig"], 0xa00f11, "{snp}");
        }
        let named = vcpu.first() == Some(&"--vcpu-type");
        assert_eq!(snp["vcpu_type"].is_string(), named, "{snp}");
        let ours = snp["measurement"].as_str().unwrap();

        let measure = |c: &mut Command| {
            c.args(["--mode", mode, "--vcpus", "2", "--vmm-type", vmm])
                .args(*vcpu)
                .arg("--ovmf")
                .arg(&ovmf)
                .arg("--kernel")
                .arg(&k)
                .arg("--initrd")
                .arg(&out)
                .arg("--append")
                .arg(cmdline(&m));
            run_ok(c)
        };
        let ys = measure(yardstick().args(["snp", "measure"]));
        let theirs = measure(&mut Command::new(peer("venv/bin/sev-snp-measure")));
        assert_eq!(ours, ys.trim(), "{args:?}");
        assert_eq!(ours, theirs.trim(), "{args:?}");
    }
}
