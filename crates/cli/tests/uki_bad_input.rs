//! Bad input for `uki build`, `uki inspect` and `pcr predict`: non-PE and truncated files, a PE without
//! `.linux`, overlapping sections, broken OVMF VARS, unsigned UKIs under Secure Boot. Each must print one line
//! naming the file, exit 2, not panic, and never leave a half-written output.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod support;

use std::path::{Path, PathBuf};

use support::*;

/// A good UKI to damage.
fn good_uki(dir: &Path) -> PathBuf {
    let out = dir.join("good.efi");
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub_254())
            .arg("--linux")
            .arg(kernel())
            .args([
                "--cmdline",
                "console=ttyS0",
                "--os-release",
                "ID=x\n",
                "--output",
            ])
            .arg(&out),
    );
    out
}

fn expect_error(args: &[&str], file: &Path, needle: &str) {
    let out = run(yardstick().args(args).arg(file));
    let err = assert_clean_failure(&out, 2);
    assert!(
        err.contains(&file.display().to_string()),
        "{args:?}: error does not name the file: {err}"
    );
    assert!(
        err.to_lowercase().contains(needle),
        "{args:?}: expected {needle:?} in: {err}"
    );
}

fn for_both_readers(file: &Path, needle: &str) {
    expect_error(&["uki", "inspect"], file, needle);
    expect_error(&["pcr", "predict", "--uki"], file, needle);
}

#[test]
fn not_a_pe_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("text.efi");
    std::fs::write(&f, "this is not a PE file\n").unwrap();
    for_both_readers(&f, "not a pe file");
    let empty = dir.path().join("empty.efi");
    std::fs::write(&empty, b"").unwrap();
    for_both_readers(&empty, "not a pe file");
    // MZ but no PE header behind it.
    let mz = dir.path().join("mz.efi");
    let mut b = vec![0u8; 256];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c] = 0x80;
    std::fs::write(&mz, &b).unwrap();
    for_both_readers(&mz, "no pe signature");
    for_both_readers(&dir.path().join("missing.efi"), "cannot read");
}

#[test]
fn truncated_pe() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(good_uki(dir.path())).unwrap();
    for cut in [0x50, 0x100, 0x200, 0x1000, good.len() / 2, good.len() - 1] {
        let f = dir.path().join(format!("cut-{cut}.efi"));
        std::fs::write(&f, &good[..cut]).unwrap();
        for_both_readers(&f, "truncated");
    }
}

#[test]
fn pe_without_linux_section() {
    // The stub itself is a valid PE file but not a UKI.
    for_both_readers(&stub_254(), "no .linux section");
}

#[test]
fn overlapping_sections() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(good_uki(dir.path())).unwrap();
    // Point .cmdline's raw data at .osrel's (section headers: 40 bytes each after the optional header).
    let pe = u32::from_le_bytes(b[0x3c..0x40].try_into().unwrap()) as usize;
    let opt_size = u16::from_le_bytes(b[pe + 20..pe + 22].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(b[pe + 6..pe + 8].try_into().unwrap()) as usize;
    let table = pe + 24 + opt_size;
    let find = |b: &[u8], name: &[u8]| {
        (0..n)
            .map(|i| table + i * 40)
            .find(|&h| b[h..h + 8].starts_with(name) && (name.len() == 8 || b[h + name.len()] == 0))
            .unwrap()
    };
    let osrel = find(&b, b".osrel");
    let cmdline = find(&b, b".cmdline");
    let ptr: [u8; 4] = b[osrel + 20..osrel + 24].try_into().unwrap();
    b[cmdline + 20..cmdline + 24].copy_from_slice(&ptr);
    let f = dir.path().join("overlap.efi");
    std::fs::write(&f, &b).unwrap();
    for_both_readers(&f, "overlapping sections");
}

#[test]
fn build_with_bad_inputs_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"junk").unwrap();
    let out = dir.path().join("out.efi");
    // Non-PE kernel.
    let o = run(yardstick()
        .args(["uki", "build", "--stub"])
        .arg(stub_254())
        .arg("--linux")
        .arg(&junk)
        .arg("--output")
        .arg(&out));
    let err = assert_clean_failure(&o, 2);
    assert!(
        err.contains(&junk.display().to_string()) && err.contains("kernel"),
        "{err}"
    );
    // Non-PE stub.
    let o = run(yardstick()
        .args(["uki", "build", "--stub"])
        .arg(&junk)
        .arg("--linux")
        .arg(kernel())
        .arg("--output")
        .arg(&out));
    let err = assert_clean_failure(&o, 2);
    assert!(
        err.contains(&junk.display().to_string()) && err.contains("stub"),
        "{err}"
    );
    // Bad SBAT text.
    let o = run(yardstick()
        .args(["uki", "build", "--stub"])
        .arg(stub_254())
        .arg("--linux")
        .arg(kernel())
        .args(["--sbat", "no header line", "--output"])
        .arg(&out));
    assert_clean_failure(&o, 2);
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temporary files left behind"
    );
}

#[test]
fn bad_secure_boot_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let uki = good_uki(dir.path());
    // Not a VARS file.
    let junk = dir.path().join("vars.fd");
    std::fs::write(&junk, vec![0u8; 4096]).unwrap();
    let o = run(yardstick()
        .args(["pcr", "predict", "--uki"])
        .arg(&uki)
        .arg("--secure-boot-vars")
        .arg(&junk));
    let err = assert_clean_failure(&o, 2);
    assert!(
        err.contains(&junk.display().to_string()) && err.contains("_FVH"),
        "{err}"
    );
    // Secure Boot on but the UKI is unsigned: the firmware would refuse it.
    let o = run(yardstick()
        .args(["pcr", "predict", "--uki"])
        .arg(&uki)
        .args([
            "--secure-boot-vars",
            "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd",
        ]));
    let err = assert_clean_failure(&o, 2);
    assert!(err.contains("not signed"), "{err}");
}

/// A UKI with `.pcrpkey` (ukify 254 `--pcrpkey`): `uki inspect` names the archive systemd-stub makes of
/// it, and a stub generation whose archives are not modelled (255 and later) is refused by `pcr predict`
/// instead of giving a PCR 9 that the boot would not show.
#[test]
fn stub_archives_of_unmodelled_stubs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let pubkey = dir.path().join("p.pem");
    run_ok(
        std::process::Command::new(peer("openssl"))
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(&key),
    );
    run_ok(
        std::process::Command::new(peer("openssl"))
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&pubkey),
    );
    let uki = dir.path().join("pcrpkey.efi");
    ukify_build(
        &stub_254(),
        &[
            "--linux".into(),
            kernel().display().to_string(),
            "--os-release".into(),
            "ID=x\n".into(),
            "--pcrpkey".into(),
            pubkey.display().to_string(),
        ],
        &uki,
    );
    let shown = run_ok(yardstick().args(["uki", "inspect"]).arg(&uki));
    assert!(
        shown.contains("stub cpios:  /.extra/tpm2-pcr-public-key.pem (from .pcrpkey"),
        "{shown}"
    );
    let events = run_ok(
        yardstick()
            .args(["pcr", "predict", "--bank", "sha256", "--events", "--uki"])
            .arg(&uki),
    );
    assert!(
        events.contains("Linux initrd (.initrd + cpios of .pcrpkey)"),
        "{events}"
    );
    expect_error(
        &["pcr", "predict", "--stub-generation", "current", "--uki"],
        &uki,
        "not modelled",
    );
}

/// systemd-stub 257: a profile the UKI does not have, a profile on a 254 UKI, and a `.dtbauto` (which device
/// tree the stub picks depends on the firmware) are refused with exit 2 and one line; the 257 UKI itself is
/// predicted.
#[test]
fn stub257_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let initrd = dir.path().join("initrd");
    std::fs::write(&initrd, b"initrd").unwrap();
    let plain = dir.path().join("plain257.efi");
    yardstick_uki_build(
        &stub_257(),
        &[
            "--linux".into(),
            kernel().display().to_string(),
            "--initrd".into(),
            initrd.display().to_string(),
            "--os-release=ID=x\n".into(),
        ],
        &plain,
    );
    run_ok(yardstick().args(["pcr", "predict", "--uki"]).arg(&plain));
    expect_error(
        &["pcr", "predict", "--profile", "1", "--uki"],
        &plain,
        "no profile 1",
    );
    expect_error(
        &[
            "pcr",
            "predict",
            "--profile",
            "1",
            "--stub-generation",
            "254",
            "--uki",
        ],
        &plain,
        "not modelled",
    );
    let dtb = dir.path().join("board.dtb");
    std::fs::write(&dtb, b"\xd0\x0d\xfe\xed not really a device tree").unwrap();
    let auto = dir.path().join("dtbauto.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(stub_257())
            .arg("--linux")
            .arg(kernel())
            .arg("--devicetree-auto")
            .arg(&dtb)
            .arg("--output")
            .arg(&auto),
    );
    expect_error(&["pcr", "predict", "--uki"], &auto, "dtbauto");
}
