//! PCR 11 differential against systemd-measure 254 (bookworm-backports): for UKIs built by yardstick and by
//! ukify 254 (254 stub), the sections are extracted with binutils' objcopy (an independent PE reader) and given
//! to `systemd-measure calculate`; its stub-only value (`--phase=`) and its default phase paths
//! (enter-initrd, enter-initrd:leave-initrd, ...:sysinit, ...:ready) must equal `yardstick pcr predict`'s
//! PCR 11 and `pcr11_phases` in sha1, sha256 and sha384.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod support;

use std::path::Path;

use support::*;

const BANKS: [&str; 3] = ["sha1", "sha256", "sha384"];

fn check(uki: &Path, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let args = systemd_measure_args(uki, dir.path());
    assert!(
        args.iter().any(|a| a.starts_with("--linux=")),
        "{label}: no .linux"
    );

    let ours: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args([
                "pcr",
                "predict",
                "--json",
                "--bank",
                "sha1,sha256,sha384",
                "--uki",
            ])
            .arg(uki),
    ))
    .unwrap();

    // Stub-only value: lines "11:<bank>=<hex>".
    let stub_only = run_ok(systemd_measure().args(&args).arg("--phase="));
    let mut n = 0;
    for line in stub_only.lines().filter(|l| l.starts_with("11:")) {
        let (bank, hex) = line["11:".len()..].split_once('=').unwrap();
        assert_eq!(ours[bank]["11"], hex, "{label}: stub-only PCR 11 {bank}");
        n += 1;
    }
    assert_eq!(n, 3, "{label}: {stub_only}");

    // Default phase paths, as JSON: {"<bank>":[{"phase":"a:b","pcr":11,"hash":"..."}]}.
    let phases: serde_json::Value =
        serde_json::from_str(&run_ok(systemd_measure().args(&args).arg("--json=short"))).unwrap();
    let mut m = 0;
    for bank in BANKS {
        for entry in phases[bank].as_array().unwrap() {
            let path = entry["phase"].as_str().unwrap();
            let last = path.rsplit(':').next().unwrap();
            assert_eq!(
                ours["pcr11_phases"][bank][last], entry["hash"],
                "{label}: PCR 11 after phase path {path} ({bank})"
            );
            m += 1;
        }
    }
    assert_eq!(m, 12, "{label}: {phases}");
}

fn build_inputs(dir: &Path) -> Vec<Vec<String>> {
    let kernel = kernel().display().to_string();
    let w = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p.display().to_string()
    };
    let initrd_a = w("a.cpio", &vec![0x5a; 65_537]);
    let initrd_b = w("b.cpio", b"second initrd, odd length");
    let initrd_b_again = initrd_b.clone();
    let cmdline = w("cmdline", b"console=ttyS0 quiet\n");
    let osrel = w("os-release", b"ID=debian\nVERSION_ID=12\n");
    let dtb = w("x.dtb", &[0xd0, 0x0d, 0xfe, 0xed, 1, 2, 3]);
    // Large enough that `pcr predict` streams `.initrd` from the file instead of loading it.
    let initrd_big = w("big.cpio", &noise((5 << 20) + 3, 0x9e37_79b9_7f4a_7c15));
    vec![
        vec![
            "--linux".into(),
            kernel.clone(),
            "--initrd".into(),
            initrd_a.clone(),
            format!("--cmdline=@{cmdline}"),
            format!("--os-release=@{osrel}"),
        ],
        vec![
            "--linux".into(),
            kernel.clone(),
            "--initrd".into(),
            initrd_a,
            "--initrd".into(),
            initrd_b,
            "--cmdline=console=ttyS0  rw".into(),
            "--os-release=ID=x\n".into(),
            "--uname=6.1.0-x".into(),
            "--devicetree".into(),
            dtb,
        ],
        vec![
            "--linux".into(),
            kernel.clone(),
            format!("--os-release=@{osrel}"),
            "--uname=".into(),
        ],
        vec![
            "--linux".into(),
            kernel,
            "--initrd".into(),
            initrd_big,
            "--initrd".into(),
            initrd_b_again,
            format!("--cmdline=@{cmdline}"),
        ],
    ]
}

#[test]
fn pcr11_matches_systemd_measure_for_yardstick_ukis() {
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in build_inputs(dir.path()).iter().enumerate() {
        let out = dir.path().join(format!("y{i}.efi"));
        yardstick_uki_build(&stub_254(), args, &out);
        check(&out, &format!("yardstick UKI #{i}"));
    }
}

#[test]
fn pcr11_matches_systemd_measure_for_ukify_ukis() {
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in build_inputs(dir.path()).iter().enumerate() {
        let out = dir.path().join(format!("u{i}.efi"));
        ukify_build(&stub_254(), args, &out);
        check(&out, &format!("ukify UKI #{i}"));
    }
}
