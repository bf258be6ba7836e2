//! The manifest's `tdx` section as the tools fill it: `image build --tdx-firmware` (kata and initrd layouts:
//! a direct boot of the kernel with the initrd and the final command line; uki: the firmware only) and
//! `refvals create --tdx-firmware` give the values `yardstick tdx measure` prints for the same inputs (itself
//! checked against dstack-mr, tdx-measure and td-shim in tdx_measure.rs), and `refvals export --format rvps`
//! carries them as `mr_td`, `rtmr_1`, `rtmr_2`.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]
// integration tests: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};

use support::*;

/// Debian 13's OVMF (ovmf 2025.02, with TdTcg2Dxe), from scripts/setup.sh.
fn trixie_ovmf() -> PathBuf {
    tools().join("ovmf-trixie/OVMF.fd")
}

/// Debian 13's 6.12 kernel (its EFI stub measures the command line and initrd in a TD).
fn trixie_kernel() -> PathBuf {
    tools().join("kernel-trixie/vmlinuz")
}

fn rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/marker"), b"tdx manifest test\n").unwrap();
    root
}

fn manifest(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `tdx measure --json` with `args` after the firmware.
fn tdx_measure(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = run_ok(
        yardstick()
            .args(["tdx", "measure", "--json", "--firmware"])
            .arg(trixie_ovmf())
            .args(args),
    );
    serde_json::from_str(&out).unwrap()
}

/// The manifest entry holds `tdx measure`'s registers (null ones absent) and its configuration.
fn assert_entry_is(entry: &serde_json::Value, m: &serde_json::Value, direct_boot: bool) {
    assert_eq!(entry["mrtd"], m["mrtd"]);
    for (reg, want) in [("rtmr0", "rtmr0"), ("rtmr1", "rtmr1"), ("rtmr2", "rtmr2")] {
        assert_eq!(entry[reg], m[want], "{reg}");
    }
    assert_eq!(entry["memory_mib"], m["config"]["memory_mib"]);
    assert_eq!(entry["vcpus"], m["config"]["vcpus"]);
    assert_eq!(entry["mrtd_order"], m["config"]["mrtd_order"]);
    if direct_boot {
        assert!(m["rtmr1"].is_string() && m["rtmr2"].is_string(), "{m}");
        assert_eq!(entry["qemu_version"], m["config"]["qemu_version"]);
    } else {
        assert!(m["rtmr1"].is_null() && m["rtmr2"].is_null(), "{m}");
        assert!(entry["qemu_version"].is_null());
    }
}

/// The RVPS message's payload.
fn rvps(manifest: &Path) -> serde_json::Value {
    let out = run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(manifest),
    );
    rvps_payload(&serde_json::from_str(&out).unwrap())
}

/// kata: the kernel booted directly with the initrd and the final command line (the verity parameters
/// appended); QEMU 8.2 and the two-pass order reach the prediction (patched kernel header, other MRTD).
#[test]
fn kata_layout_records_what_tdx_measure_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = rootfs(d);
    let initrd = d.join("initrd.img");
    std::fs::write(
        &initrd,
        (0..300_001u32)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    for (qemu, order) in [("10.0", "single-pass"), ("8.2", "two-pass")] {
        let disk = d.join(format!("kata-{qemu}.img"));
        run_ok(
            yardstick()
                .args(["image", "build"])
                .arg(&root)
                .args(["--layout", "kata", "--kernel"])
                .arg(trixie_kernel())
                .arg("--initrd")
                .arg(&initrd)
                .args(["--cmdline", "console=ttyS0 quiet", "--tdx-firmware"])
                .arg(trixie_ovmf())
                .args(["--memory", "4096", "--vcpus", "2", "--qemu-version", qemu])
                .args(["--mrtd-order", order, "--output"])
                .arg(&disk),
        );
        let mpath = d.join(format!("kata-{qemu}.img.manifest.json"));
        let man = manifest(&mpath);
        let cmdline = man["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "cmdline")
            .unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            cmdline.starts_with("console=ttyS0 quiet dm-mod.create="),
            "{cmdline}"
        );
        let m = tdx_measure(&[
            "--kernel".as_ref(),
            trixie_kernel().as_os_str(),
            "--initrd".as_ref(),
            initrd.as_os_str(),
            "--append".as_ref(),
            cmdline.as_ref(),
            "--memory".as_ref(),
            "4096".as_ref(),
            "--vcpus".as_ref(),
            "2".as_ref(),
            "--qemu-version".as_ref(),
            qemu.as_ref(),
            "--mrtd-order".as_ref(),
            order.as_ref(),
        ]);
        assert_eq!(m["config"]["cmdline"], format!("{cmdline} initrd=initrd"));
        let tdx = man["tdx"].as_array().unwrap();
        assert_eq!(tdx.len(), 1);
        assert_entry_is(&tdx[0], &m, true);
        // The firmware is a component; its digest is the file's.
        let fw = man["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "tdx-firmware")
            .unwrap();
        let sum = run_ok(std::process::Command::new(peer("sha256sum")).arg(trixie_ovmf()));
        assert_eq!(fw["sha256"], sum.split_whitespace().next().unwrap());

        let p = rvps(&mpath);
        assert_eq!(p["mr_td"], serde_json::json!([m["mrtd"]]));
        assert_eq!(p["rtmr_1"], serde_json::json!([m["rtmr1"]]));
        assert_eq!(p["rtmr_2"], serde_json::json!([m["rtmr2"]]));

        // refvals show prints the entry.
        let show = run_ok(yardstick().args(["refvals", "show"]).arg(&mpath));
        let line = format!("tdx        MRTD {}", m["mrtd"].as_str().unwrap());
        assert!(show.contains(&line), "{show}");
        assert!(show.contains(m["rtmr2"].as_str().unwrap()), "{show}");
    }
}

/// initrd layout: the cpio the build writes is the initrd of the direct boot.
#[test]
fn initrd_layout_measures_the_cpio_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = rootfs(d);
    let cpio = d.join("initrd.cpio");
    run_ok(
        yardstick()
            .args(["image", "build"])
            .arg(&root)
            .args(["--layout", "initrd", "--kernel"])
            .arg(trixie_kernel())
            .args(["--cmdline", "console=ttyS0", "--tdx-firmware"])
            .arg(trixie_ovmf())
            .args(["--memory", "2048", "--output"])
            .arg(&cpio),
    );
    let man = manifest(&d.join("initrd.cpio.manifest.json"));
    // --vcpus is image build's (default 1, shared with SEV-SNP).
    let m = tdx_measure(&[
        "--kernel".as_ref(),
        trixie_kernel().as_os_str(),
        "--initrd".as_ref(),
        cpio.as_os_str(),
        "--append".as_ref(),
        "console=ttyS0".as_ref(),
        "--memory".as_ref(),
        "2048".as_ref(),
        "--vcpus".as_ref(),
        "1".as_ref(),
    ]);
    assert_entry_is(&man["tdx"][0], &m, true);
}

/// uki: the UKI is loaded from disk, so only MRTD (as `tdx measure` without a kernel), as for SEV-SNP.
#[test]
fn uki_layout_records_mrtd_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = rootfs(d);
    let disk = d.join("uki.img");
    run_ok(
        yardstick()
            .args(["image", "build"])
            .arg(&root)
            .args(["--layout", "uki", "--kernel"])
            .arg(kernel())
            .arg("--stub")
            .arg(stub_254())
            .arg("--tdx-firmware")
            .arg(trixie_ovmf())
            .args(["--memory", "1024", "--vcpus", "4", "--output"])
            .arg(&disk),
    );
    let man = manifest(&d.join("uki.img.manifest.json"));
    let m = tdx_measure(&[
        "--memory".as_ref(),
        "1024".as_ref(),
        "--vcpus".as_ref(),
        "4".as_ref(),
    ]);
    assert_entry_is(&man["tdx"][0], &m, false);
    let p = rvps(&d.join("uki.img.manifest.json"));
    assert_eq!(p["mr_td"], serde_json::json!([m["mrtd"]]));
    assert!(
        p.get("rtmr_1").is_none() && p.get("rtmr_2").is_none(),
        "{p}"
    );
}

/// refvals create: the UKI's manifest gets the firmware's entry; the flags go together.
#[test]
fn refvals_create_records_the_firmware() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uki = d.join("uki.efi");
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub_254())
            .arg("--linux")
            .arg(kernel())
            .args(["--cmdline", "console=ttyS0", "--output"])
            .arg(&uki),
    );
    let out = d.join("m.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(&uki)
            .arg("--tdx-firmware")
            .arg(trixie_ovmf())
            .args([
                "--memory",
                "2048",
                "--vcpus",
                "2",
                "--mrtd-order",
                "two-pass",
            ])
            .arg("-o")
            .arg(&out),
    );
    let man = manifest(&out);
    let m = tdx_measure(&[
        "--memory".as_ref(),
        "2048".as_ref(),
        "--vcpus".as_ref(),
        "2".as_ref(),
        "--mrtd-order".as_ref(),
        "two-pass".as_ref(),
    ]);
    assert_entry_is(&man["tdx"][0], &m, false);
    assert!(man["tpm"].is_object());
    let p = rvps(&out);
    assert_eq!(p["mr_td"], serde_json::json!([m["mrtd"]]));
    assert!(p["tpm_pcr11"].is_array());

    // Without --tdx-firmware, no tdx section (the manifest is what it was).
    let plain = d.join("plain.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(&uki)
            .arg("-o")
            .arg(&plain),
    );
    assert!(manifest(&plain).get("tdx").is_none());

    // --tdx-firmware needs --memory and --vcpus; they need it; a firmware without TDX metadata is named.
    for args in [
        vec!["--tdx-firmware", "x.fd", "--vcpus", "1"],
        vec!["--tdx-firmware", "x.fd", "--memory", "1"],
        vec!["--memory", "1"],
    ] {
        let o = run(yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(&uki)
            .args(&args));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    }
    let o = run(yardstick()
        .args(["refvals", "create", "--uki"])
        .arg(&uki)
        .arg("--tdx-firmware")
        .arg(&uki)
        .args(["--memory", "1", "--vcpus", "1"]));
    let err = assert_clean_failure(&o, 2);
    assert!(err.contains("uki.efi"), "{err}");
}

/// image build: --tdx-firmware needs --memory; a kernel without an EFI stub, or a firmware without TDX
/// metadata, fails before any output is written.
#[test]
fn image_build_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = rootfs(d);
    let disk = d.join("kata.img");
    let base = |cmd: &mut std::process::Command| {
        cmd.args(["image", "build"])
            .arg(&root)
            .args(["--layout", "kata", "--output"])
            .arg(&disk);
    };
    let mut c = yardstick();
    base(&mut c);
    c.arg("--kernel")
        .arg(trixie_kernel())
        .arg("--tdx-firmware")
        .arg(trixie_ovmf());
    let o = run(&mut c);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--memory"));

    let mut c = yardstick();
    base(&mut c);
    c.arg("--tdx-firmware")
        .arg(trixie_ovmf())
        .args(["--memory", "1024"]);
    let err = assert_clean_failure(&run(&mut c), 2);
    assert!(err.contains("needs --kernel"), "{err}");

    let not_pe = d.join("bzimage-no-stub");
    std::fs::write(&not_pe, vec![0u8; 8192]).unwrap();
    let mut c = yardstick();
    base(&mut c);
    c.arg("--kernel")
        .arg(&not_pe)
        .arg("--tdx-firmware")
        .arg(trixie_ovmf())
        .args(["--memory", "1024"]);
    let err = assert_clean_failure(&run(&mut c), 2);
    assert!(err.contains("bzimage-no-stub"), "{err}");

    let mut c = yardstick();
    base(&mut c);
    c.arg("--kernel")
        .arg(trixie_kernel())
        .arg("--tdx-firmware")
        .arg(trixie_kernel())
        .args(["--memory", "1024"]);
    let err = assert_clean_failure(&run(&mut c), 2);
    assert!(err.contains("vmlinuz"), "{err}");
    assert!(!disk.exists() && !d.join("kata.img.manifest.json").exists());
}

/// QEMU's tables blob of tdx-measure's live-TD fixture (crates/tdx/tests/data/acpi, gzipped), unpacked.
fn runtime_capture_tables(dir: &Path) -> PathBuf {
    let gz = workspace().join("crates/tdx/tests/data/acpi/tdxm-runtime-capture/tables.bin.gz");
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .output()
        .unwrap();
    assert!(out.status.success(), "gzip -dc {}", gz.display());
    let p = dir.join("acpi_tables.bin");
    std::fs::write(&p, out.stdout).unwrap();
    p
}

/// With --tdx-acpi-tables, image build records RTMR0 too (what `tdx measure --acpi-tables` prints, itself
/// tdx-measure's value: tdx_measure.rs), and `refvals export` carries it as `rtmr_0`; the Rego policy compares
/// `rtmr_0` only when one is registered. A UKI (loaded from disk) with --tdx-acpi-tables is refused.
#[test]
fn acpi_tables_add_rtmr0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = rootfs(d);
    let tables = runtime_capture_tables(d);
    let disk = d.join("kata.img");
    run_ok(
        yardstick()
            .args(["image", "build"])
            .arg(&root)
            .args(["--layout", "kata", "--kernel"])
            .arg(trixie_kernel())
            .args(["--cmdline", "console=ttyS0", "--tdx-firmware"])
            .arg(trixie_ovmf())
            .args(["--memory", "16384", "--vcpus", "8", "--tdx-acpi-tables"])
            .arg(&tables)
            .arg("--output")
            .arg(&disk),
    );
    let mpath = d.join("kata.img.manifest.json");
    let man = manifest(&mpath);
    let cmdline = man["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cmdline")
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    let m = tdx_measure(&[
        "--kernel".as_ref(),
        trixie_kernel().as_os_str(),
        "--append".as_ref(),
        cmdline.as_ref(),
        "--memory".as_ref(),
        "16384".as_ref(),
        "--vcpus".as_ref(),
        "8".as_ref(),
        "--acpi-tables".as_ref(),
        tables.as_os_str(),
    ]);
    assert!(m["rtmr0"].is_string(), "{m}");
    let tdx = man["tdx"].as_array().unwrap();
    assert_entry_is(&tdx[0], &m, true);
    let p = rvps(&mpath);
    assert_eq!(p["rtmr_0"], serde_json::json!([m["rtmr0"]]));
    let rego = run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rego"])
            .arg(&mpath),
    );
    assert!(rego.contains("input.tdx.quote.body.rtmr_0"), "{rego}");

    // A UKI is loaded from disk: RTMR0's boot variables are not modelled.
    let out = run(yardstick()
        .args(["image", "build"])
        .arg(&root)
        .args(["--layout", "uki", "--kernel"])
        .arg(kernel())
        .arg("--stub")
        .arg(stub_254())
        .arg("--tdx-firmware")
        .arg(trixie_ovmf())
        .args(["--memory", "2048", "--vcpus", "2", "--tdx-acpi-tables"])
        .arg(&tables)
        .arg("--output")
        .arg(d.join("uki.img")));
    let err = assert_clean_failure(&out, 2);
    assert!(
        err.contains("--kernel") && err.contains("direct boot"),
        "{err}"
    );
    assert!(err.contains("--tdx-acpi-tables"), "{err}");

    // ACPI blobs that are not QEMU's: the error names image build's flag.
    let out = run(yardstick()
        .args(["image", "build"])
        .arg(&root)
        .args(["--layout", "kata", "--kernel"])
        .arg(trixie_kernel())
        .args(["--cmdline", "console=ttyS0", "--tdx-firmware"])
        .arg(trixie_ovmf())
        .args(["--memory", "16384", "--vcpus", "8", "--tdx-acpi-tables"])
        .arg(&tables)
        .arg("--tdx-acpi-rsdp")
        .arg(&tables)
        .arg("--output")
        .arg(d.join("bad-rsdp.img")));
    let err = assert_clean_failure(&out, 2);
    assert!(err.contains("--tdx-acpi-rsdp: etc/acpi/rsdp:"), "{err}");
}
