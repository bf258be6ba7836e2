//! `yardstick refvals create --uki`: a manifest for a UKI built elsewhere, whose `tpm` section is
//! `pcr predict`'s prediction (proven against real boots by `boot_uki.rs` and, through a host-side quote, by
//! `verify_boot.rs`). Checked here: the manifest holds exactly the prediction's PCRs and phase values, the
//! UKI's digest is what `sha256sum` prints, the exports read it, and bad input is one error line.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;
use yardstick_refvals::Manifest;
use yardstick_tpm::PcrBanks;

fn build_uki(dir: &Path) -> PathBuf {
    // 3 MiB: `pcr predict` hashes an `.initrd` this large straight from the file without loading it, while
    // `refvals create` predicts from the UKI's bytes in memory; the two must agree.
    let initrd = dir.join("initrd");
    std::fs::write(&initrd, noise(3 << 20, 0x2545_f491_4f6c_dd1d)).unwrap();
    let uki = dir.join("uki.efi");
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub_254())
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .args(["--cmdline", "console=ttyS0 quiet", "--output"])
            .arg(&uki),
    );
    uki
}

#[test]
fn manifest_for_a_uki_holds_its_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uki = build_uki(d);
    let out = d.join("uki.manifest.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(&uki)
            .arg("-o")
            .arg(&out),
    );
    let m = Manifest::from_json(&std::fs::read(&out).unwrap()).unwrap();

    // The UKI component: sha256sum's digest and the file's size.
    let sum = run_ok(Command::new(peer("sha256sum")).arg(&uki));
    let c = m.component("uki").unwrap();
    assert_eq!(c.sha256.to_hex(), sum.split_whitespace().next().unwrap());
    assert_eq!(c.size, std::fs::metadata(&uki).unwrap().len());
    assert_eq!(c.file.as_deref(), Some("uki.efi"));

    // The tpm section is the prediction: PCRs per bank, PCR 11 after each phase path.
    let predicted: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["pcr", "predict", "--json", "--uki"])
            .arg(&uki),
    ))
    .unwrap();
    let mut banks = predicted.clone();
    banks.as_object_mut().unwrap().remove("pcr11_phases");
    let banks: PcrBanks = serde_json::from_value(banks).unwrap();
    let tpm = m.tpm.as_ref().unwrap();
    assert_eq!(tpm.pcrs, banks);
    assert_eq!(tpm.pcr11_phases.len(), 5);
    assert_eq!(tpm.pcr11_phases[0].phase, "");
    for bank in ["sha1", "sha256", "sha384"] {
        let alg = bank.parse().unwrap();
        assert_eq!(
            tpm.pcr11_phases[0].pcrs.get(alg, 11),
            banks.get(alg, 11),
            "{bank}"
        );
        let mut path = String::new();
        // systemd's phase order (systemd-pcrphase*.service: initrd enter/leave, sysinit, ready).
        for (i, word) in ["enter-initrd", "leave-initrd", "sysinit", "ready"]
            .iter()
            .enumerate()
        {
            let v = &predicted["pcr11_phases"][bank][word];
            if !path.is_empty() {
                path.push(':');
            }
            path.push_str(word);
            let p = &tpm.pcr11_phases[i + 1];
            assert_eq!(p.phase, path);
            assert_eq!(
                p.pcrs.get(alg, 11).unwrap().to_hex(),
                v.as_str().unwrap(),
                "{bank} {path}"
            );
        }
    }
    // Events: every predicted measurement, replaying to the predicted PCRs.
    let mut replay = PcrBanks::new();
    for (alg, pcr, _) in banks.iter() {
        replay.set(pcr, alg.zero());
    }
    for e in &tpm.events {
        for (alg, d) in &e.digests {
            replay.extend(
                e.pcr,
                &yardstick_common::hash::Digest::from_bytes(*alg, d.as_bytes()).unwrap(),
            );
        }
    }
    assert_eq!(replay, banks);
    assert!(
        tpm.events
            .iter()
            .any(|e| e.pcr == 11 && e.description == "EV_IPL section .cmdline")
    );

    // The exports read it: pcrlock's uki component is what `systemd-pcrlock lock-uki` records (the UKI's
    // Authenticode in PCR 4, then two PCR 11 records per section); RVPS lists PCR 11 for every phase.
    let lock: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args([
                "refvals",
                "export",
                "--format",
                "pcrlock",
                "--component",
                "uki",
            ])
            .arg(&out),
    ))
    .unwrap();
    let records = lock["records"].as_array().unwrap();
    assert_eq!(records[0]["pcr"], 4);
    assert!(records[1..].iter().all(|r| r["pcr"] == 11));
    assert_eq!(records.len() % 2, 1);
    let msg: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(&out),
    ))
    .unwrap();
    let payload = rvps_payload(&msg);
    assert_eq!(payload["tpm_pcr11"].as_array().unwrap().len(), 5);

    // Bad input: one line, exit 2, nothing written.
    let bad_out = d.join("bad.json");
    let o = run(yardstick()
        .args(["refvals", "create", "--uki"])
        .arg(d.join("missing.efi"))
        .arg("-o")
        .arg(&bad_out));
    let e = assert_clean_failure(&o, 2);
    assert!(e.contains("missing.efi"), "{e}");
    let junk = d.join("junk.efi");
    std::fs::write(&junk, b"MZ but not much else").unwrap();
    let o = run(yardstick()
        .args(["refvals", "create", "--uki"])
        .arg(&junk)
        .arg("-o")
        .arg(&bad_out));
    let e = assert_clean_failure(&o, 2);
    assert!(e.contains("junk.efi"), "{e}");
    // Secure Boot on (snakeoil keys) with an unsigned UKI: the firmware would refuse it.
    let o = run(yardstick()
        .args(["refvals", "create", "--uki"])
        .arg(&uki)
        .args([
            "--secure-boot-vars",
            "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd",
            "-o",
        ])
        .arg(&bad_out));
    let e = assert_clean_failure(&o, 2);
    assert!(e.contains("uki.efi") && e.contains("not signed"), "{e}");
    assert!(!bad_out.exists());
}
