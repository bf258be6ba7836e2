//! `yardstick refvals show|export` on manifests written by `image build`, and on bad manifests.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

mod image_guest;
mod support;

use std::path::Path;
use std::process::Command;

use image_guest::*;
use support::*;

fn manifest_path(disk: &Path) -> std::path::PathBuf {
    let mut p = disk.as_os_str().to_owned();
    p.push(".manifest.json");
    p.into()
}

/// A kata image with an SEV-SNP launch digest (2 vCPUs, EPYC-v4) over OVMF (the AmdSev build's tail from
/// virtee/sev-snp-measure's fixtures, which has the kernel-hashes table), the kernel, the initrd and the
/// final cmdline. The RVPS message carries that digest as `snp_launch_measurement` (computed by
/// yardstick-snp inside `image build`), and it equals what sev-snp-measure 0.0.13 computes for the same inputs.
#[test]
fn show_and_rvps_export_of_a_built_image() {
    let dir = tempfile::tempdir().unwrap();
    let ovmf = fixture("snp/ovmf_AmdSev_suffix.bin");
    let (disk, m) = build_example(
        dir.path(),
        "kata.img",
        &[
            "--layout",
            "kata",
            "--ovmf",
            ovmf.to_str().unwrap(),
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC-v4",
        ],
    );
    let mpath = manifest_path(&disk);

    let text = run_ok(yardstick().args(["refvals", "show"]).arg(&mpath));
    assert!(
        text.contains(m["verity"]["root_hash"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("kernel_verity_params root_hash="), "{text}");
    assert!(text.contains("snp        snp "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick().args(["refvals", "show", "--json"]).arg(&mpath),
    ))
    .unwrap();
    assert_eq!(json, m);

    let msg: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(&mpath),
    ))
    .unwrap();
    assert_eq!(msg["version"], "0.1.0");
    assert_eq!(msg["type"], "sample");
    let payload = rvps_payload(&msg);
    let ours = payload["snp_launch_measurement"][0]
        .as_str()
        .unwrap()
        .to_string();

    let theirs = run_ok(
        Command::new(peer("venv/bin/sev-snp-measure"))
            .args([
                "--mode",
                "snp",
                "--vcpus",
                "2",
                "--vcpu-type",
                "EPYC-v4",
                "--output-format",
                "hex",
            ])
            .arg("--ovmf")
            .arg(&ovmf)
            .arg("--kernel")
            .arg(kernel())
            .arg("--initrd")
            .arg(example().join("initrd.cpio"))
            .arg("--append")
            .arg(cmdline(&m)),
    );
    assert_eq!(ours, theirs.trim());
    assert_eq!(payload.as_object().unwrap().len(), 1, "{payload}");

    // --output writes the same message to a file.
    let out = dir.path().join("msg.json");
    run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps", "-o"])
            .arg(&out)
            .arg(&mpath),
    );
    let again: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(again, msg);

    // No TPM measurements yet in a kata image: pcrlock export is a clean error.
    let o = run(yardstick()
        .args(["refvals", "export", "--format", "pcrlock"])
        .arg(&mpath));
    let err = assert_clean_failure(&o, 2);
    assert!(err.contains("no TPM measurements"), "{err}");
}

/// A manifest with PCR 11 phase measurements exports as systemd's own 750-enter-initrd.pcrlock record (sha256
/// bank; the digest is `printf enter-initrd | sha256sum`).
#[test]
fn pcrlock_export_matches_systemd_record_shape() {
    let dir = tempfile::tempdir().unwrap();
    let digest = run_ok(Command::new("sh").args(["-c", "printf enter-initrd | sha256sum"]));
    let digest = digest.split_whitespace().next().unwrap();
    let m = serde_json::json!({
        "version": 1,
        "generator": "test",
        "components": [],
        "tpm": {
            "pcrs": {"sha256": {"11": digest}},
            "events": [
                {"pcr": 11, "component": "phase", "description": "enter-initrd", "digests": {"sha256": digest}}
            ]
        }
    });
    let p = dir.path().join("m.json");
    std::fs::write(&p, m.to_string()).unwrap();
    let out = run_ok(
        yardstick()
            .args([
                "refvals",
                "export",
                "--format",
                "pcrlock",
                "--component",
                "phase",
            ])
            .arg(&p),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"records": [{"pcr": 11, "digests": [
            {"hashAlg": "sha256", "digest": "51e6b92f405d1f98d96e3de343d61d420ad6923b25de21d766f9298192f14fed"}
        ]}]})
    );
    // RVPS: tpm_pcr11 / snp_pcr11 / tdx_pcr11 carry the PCR 11 value.
    let msg: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(&p),
    ))
    .unwrap();
    let payload = rvps_payload(&msg);
    for n in ["snp_pcr11", "tdx_pcr11", "tpm_pcr11"] {
        assert_eq!(payload[n], serde_json::json!([digest]), "{n}");
    }
}

#[test]
fn bad_manifests_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("notjson", "{nope", "not a yardstick manifest"),
        (
            "v2",
            r#"{"version": 2, "generator": "x"}"#,
            "version 2 is not supported",
        ),
        (
            "short-root",
            r#"{"version":1,"generator":"x","verity":{"root_hash":"00","salt":"","algorithm":"sha256","hash_type":1,
               "data_block_size":4096,"hash_block_size":4096,"data_blocks":1,"hash_offset":0,"hash_start_block":0,
               "superblock":false,"kernel_params":{"dm_table":"","cmdline":""}}}"#,
            "verity.root_hash",
        ),
        (
            "empty",
            r#"{"version":1,"generator":"x"}"#,
            "no value for Trustee",
        ),
    ];
    for (name, body, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let o = run(yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(&p));
        let err = assert_clean_failure(&o, 2);
        assert!(err.contains(want) && err.contains(name), "{name}: {err}");
    }
    let o = run(yardstick()
        .args(["refvals", "show"])
        .arg(dir.path().join("missing.json")));
    assert_clean_failure(&o, 2);
}
