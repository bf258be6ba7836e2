//! `image build --firmware` and `refvals create --firmware`: the manifest's tpm section gets the firmware PCRs
//! 0-3, 5, 6 of a QEMU + OVMF boot, the same values and events `pcr predict --firmware --uki --disk` gives for
//! the UKI on the disk's ESP and the disk (proven by boots in `boot_firmware_pcrs.rs`); what is refused is
//! listed in `tpm.not_predicted`; the exports carry the extra PCRs; bad input is one error line, exit 2.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::*;
use yardstick_refvals::Manifest;

/// Debian 12's OVMF (edk2 2022.11), as `pcr_predict_firmware.rs` uses it.
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";

/// Debian 13's OVMF (edk2 2025.02), unpacked by scripts/setup.sh.
fn trixie_code() -> PathBuf {
    peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd")
}

/// The VM flags of every case here.
/// iPXE's ROM for virtio-net (package ipxe-qemu).
const ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";
const VM: [&str; 6] = ["--platform", "qemu-q35", "--memory", "1024", "--vcpus", "2"];

/// A small uki-layout image of a one-file tree; `extra` flags added (e.g. `--firmware`).
fn build_image(dir: &Path, name: &str, extra: &[&str]) -> Output {
    let root = dir.join("root");
    if !root.exists() {
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/hello"), b"firmware PCRs in the manifest\n").unwrap();
    }
    run(yardstick()
        .args(["image", "build"])
        .arg(&root)
        .arg("--kernel")
        .arg(kernel())
        .arg("--stub")
        .arg(stub_254())
        .args(["--cmdline", "console=ttyS0", "--seed", "firmware-pcrs"])
        .arg("--output")
        .arg(dir.join(name))
        .args(extra)
        .env("YARDSTICK_TOOLS", tools())
        .env_remove("SOURCE_DATE_EPOCH"))
}

fn manifest_of(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    // The project's reader accepts it (validation included).
    Manifest::from_json(&bytes).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The UKI on the disk's ESP, copied off with mtools.
fn uki_off_esp(disk: &Path, m: &Value, out: &Path) {
    let esp = m["image"]["partition_table"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "esp")
        .unwrap();
    let image = format!("{}@@{}", disk.display(), esp["offset"]);
    run_ok(
        Command::new(peer("mcopy"))
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-n", "-i", &image, "::/EFI/BOOT/BOOTX64.EFI"])
            .arg(out),
    );
}

/// `pcr predict --firmware ... --uki UKI --disk DISK` in sha1, sha256, sha384: its JSON and its event list
/// (PCR, sha256 digest) from `--events`.
fn predict(firmware: &str, uki: &Path, disk: &Path) -> (Value, Vec<(u64, String)>) {
    let args = |extra: &[&str]| {
        let mut c = yardstick();
        c.args(["pcr", "predict", "--firmware", firmware])
            .args(VM)
            .arg("--uki")
            .arg(uki)
            .arg("--disk")
            .arg(disk)
            .args(extra);
        c
    };
    let json: Value = serde_json::from_str(&run_ok(&mut args(&[
        "--bank",
        "sha1,sha256,sha384",
        "--json",
    ])))
    .unwrap();
    let text = run_ok(&mut args(&["--bank", "sha256", "--events"]));
    let events = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("PCR "))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[0].parse().unwrap(), words.last().unwrap().to_string())
        })
        .collect();
    (json, events)
}

/// The manifest's PCR values per bank, as `pcr predict --json` prints them.
fn pcrs(m: &Value) -> Value {
    m["tpm"]["pcrs"].clone()
}

/// The manifest's events as (PCR, sha256 digest).
fn events(m: &Value) -> Vec<(u64, String)> {
    m["tpm"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pcr"].as_u64().unwrap(),
                e["digests"]["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn image_build_and_refvals_create_write_what_pcr_predict_gives() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut flags = vec!["--firmware", OVMF_CODE];
    flags.extend(VM);
    run_ok_output(&build_image(d, "fw.img", &flags));
    let disk = d.join("fw.img");
    let built = manifest_of(&d.join("fw.img.manifest.json"));

    // The oracle: pcr predict --firmware with the UKI off the ESP and the disk.
    let uki = d.join("uki.efi");
    uki_off_esp(&disk, &built, &uki);
    let (predicted, predicted_events) = predict(OVMF_CODE, &uki, &disk);
    let mut want = predicted.clone();
    let want = want.as_object_mut().unwrap();
    assert!(refused(&want.remove("not_predicted").unwrap()).is_empty());
    want.remove("pcr11_phases");
    assert_eq!(pcrs(&built), Value::Object(want.clone()));
    assert_eq!(
        pcr_keys(&want["sha256"]),
        [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13]
    );
    assert_eq!(events(&built), predicted_events);
    assert!(built["tpm"].get("not_predicted").is_none(), "{built}");
    // PCR 11 after each phase: the same as pcr predict's.
    let phases = built["tpm"]["pcr11_phases"].as_array().unwrap();
    assert_eq!(
        phases.last().unwrap()["pcrs"]["sha256"]["11"],
        predicted["pcr11_phases"]["sha256"]["ready"]
    );

    // refvals create --disk with the same firmware and VM: the same tpm section.
    let out = d.join("create.json");
    let mut c = yardstick();
    c.args(["refvals", "create", "--disk"])
        .arg(&disk)
        .args(&flags)
        .arg("--output")
        .arg(&out);
    run_ok(&mut c);
    let created = manifest_of(&out);
    assert_eq!(created["tpm"]["pcrs"], built["tpm"]["pcrs"]);
    assert_eq!(created["tpm"]["events"], built["tpm"]["events"]);
    assert_eq!(created["tpm"]["pcr11_phases"], built["tpm"]["pcr11_phases"]);

    // refvals create --uki: no disk, so PCRs 1 and 5 are refused, the others as with the disk.
    let out = d.join("uki.json");
    let mut c = yardstick();
    c.args(["refvals", "create", "--uki"])
        .arg(&uki)
        .args(&flags)
        .arg("--output")
        .arg(&out);
    run_ok(&mut c);
    let from_uki = manifest_of(&out);
    assert_eq!(pcr_keys(&from_uki["tpm"]["not_predicted"]), [1, 5]);
    for pcr in ["0", "2", "3", "4", "6", "7", "9", "11"] {
        assert_eq!(
            from_uki["tpm"]["pcrs"]["sha384"][pcr], built["tpm"]["pcrs"]["sha384"][pcr],
            "PCR {pcr}"
        );
    }
    assert!(from_uki["tpm"]["pcrs"]["sha256"].get("5").is_none());

    // Without --firmware: the same disk, and the tpm section of the UKI alone (no firmware PCRs, no
    // not_predicted).
    run_ok_output(&build_image(d, "plain.img", &[]));
    assert_eq!(
        std::fs::read(d.join("plain.img")).unwrap(),
        std::fs::read(&disk).unwrap()
    );
    let plain = manifest_of(&d.join("plain.img.manifest.json"));
    assert_eq!(
        pcr_keys(&plain["tpm"]["pcrs"]["sha256"]),
        [4, 7, 9, 11, 12, 13]
    );
    assert!(plain["tpm"].get("not_predicted").is_none());
    for pcr in ["4", "7", "9", "11", "12", "13"] {
        assert_eq!(
            plain["tpm"]["pcrs"]["sha1"][pcr],
            built["tpm"]["pcrs"]["sha1"][pcr]
        );
    }

    // The exports: Trustee's tpm_pcr00 ... for the firmware PCRs, pcrlock components for them.
    let rvps: Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(d.join("fw.img.manifest.json")),
    ))
    .unwrap();
    let payload = base64_decode(rvps["payload"].as_str().unwrap());
    let values: Value = serde_json::from_slice(&payload).unwrap();
    for pcr in [0, 1, 2, 3, 4, 5, 6, 7, 9] {
        assert_eq!(
            values[format!("tpm_pcr{pcr:02}")],
            serde_json::json!([built["tpm"]["pcrs"]["sha256"][pcr.to_string()]]),
            "PCR {pcr}"
        );
    }
    let pcrlock = |component: &str| -> Vec<u64> {
        let v: Value = serde_json::from_str(&run_ok(
            yardstick()
                .args([
                    "refvals",
                    "export",
                    "--format",
                    "pcrlock",
                    "--component",
                    component,
                ])
                .arg(d.join("fw.img.manifest.json")),
        ))
        .unwrap();
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["pcr"].as_u64().unwrap())
            .collect()
    };
    // S-CRTM version, PEIFV, DXEFV; BootOrder and three Boot####; the GPT.
    assert_eq!(pcrlock("firmware-code"), [0, 0, 0]);
    assert_eq!(pcrlock("firmware-config"), [1, 1, 1, 1]);
    assert_eq!(pcrlock("gpt"), [5]);
}

/// Debian 13's OVMF: PCR 1 (QEMU's ACPI tables) is refused, with the reason `pcr predict --firmware` gives
/// (its PCR 7, Secure Boot off measured as an absent variable, is predicted); a build not in the table
/// (Debian 12's 2 MiB `OVMF_CODE.fd`) has PCR 0 refused, and PCR 1 with it.
#[test]
fn refusals_are_listed_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok_output(&build_image(d, "disk.img", &[]));
    let disk = d.join("disk.img");
    let plain = manifest_of(&d.join("disk.img.manifest.json"));
    let uki = d.join("uki.efi");
    uki_off_esp(&disk, &plain, &uki);
    for (firmware, want) in [
        (trixie_code().to_str().unwrap().to_string(), vec![1]),
        ("/usr/share/OVMF/OVMF_CODE.fd".to_string(), vec![0, 1]),
    ] {
        let out = d.join("m.json");
        let mut c = yardstick();
        c.args(["refvals", "create", "--disk"])
            .arg(&disk)
            .args(["--firmware", &firmware])
            .args(VM)
            .arg("--output")
            .arg(&out);
        run_ok(&mut c);
        let m = manifest_of(&out);
        let (predicted, _) = predict(&firmware, &uki, &disk);
        assert_eq!(
            m["tpm"]["not_predicted"],
            Value::Object(refused(&predicted["not_predicted"])),
            "{firmware}"
        );
        assert_eq!(pcr_keys(&m["tpm"]["not_predicted"]), want, "{firmware}");
        for &pcr in &want {
            assert!(
                m["tpm"]["pcrs"]["sha256"].get(pcr.to_string()).is_none(),
                "{firmware}"
            );
        }
        // refvals show lists each refusal.
        let shown = run_ok(yardstick().args(["refvals", "show"]).arg(&out));
        for &pcr in &want {
            let why = m["tpm"]["not_predicted"][pcr.to_string()].as_str().unwrap();
            assert!(
                shown.contains(&format!("pcr        {pcr:>2} not predicted: {why}\n")),
                "{shown}"
            );
        }
        assert_eq!(
            m["tpm"]["pcrs"]["sha256"], predicted["sha256"],
            "{firmware}"
        );
        // PCR 7 is there, Debian 13's too, as `pcr predict --firmware` gives it (the boots prove that value).
        assert!(m["tpm"]["pcrs"]["sha256"].get("7").is_some(), "{firmware}");
    }
}

/// A NIC: `refvals create --nic virtio-net --nic-rom ROM` writes PCR 2 as `pcr predict` gives it and names the
/// ROM in the assumptions; without the ROM PCR 2 is refused with why.
#[test]
fn nic_option_rom_in_pcr2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok_output(&build_image(d, "disk.img", &[]));
    let disk = d.join("disk.img");
    let out = d.join("m.json");
    let create = |nic: &[&str]| {
        let mut c = yardstick();
        c.args(["refvals", "create", "--disk"])
            .arg(&disk)
            .args(["--firmware", OVMF_CODE])
            .args(VM)
            .args(nic)
            .arg("--output")
            .arg(&out);
        run_ok(&mut c);
        manifest_of(&out)
    };
    let with_rom = create(&["--nic", "virtio-net", "--nic-rom", ROM]);
    let uki = d.join("uki.efi");
    uki_off_esp(&disk, &manifest_of(&d.join("disk.img.manifest.json")), &uki);
    let predicted: Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["pcr", "predict", "--firmware", OVMF_CODE])
            .args(VM)
            .args(["--nic", "virtio-net", "--nic-rom", ROM, "--uki"])
            .arg(&uki)
            .arg("--disk")
            .arg(&disk)
            .arg("--json"),
    ))
    .unwrap();
    let pcr2 = &with_rom["tpm"]["pcrs"]["sha256"]["2"];
    assert_eq!(pcr2, &predicted["sha256"]["2"]);
    // Not the separator-only value: the ROM's driver is in it.
    let without = create(&[]);
    assert_ne!(pcr2, &without["tpm"]["pcrs"]["sha256"]["2"]);
    let assumptions = with_rom["tpm"]["assumptions"].to_string();
    assert!(
        assumptions.contains("a virtio-net NIC") && assumptions.contains("efi-virtio.rom (sha256 "),
        "{assumptions}"
    );
    let refused = create(&["--nic", "virtio-net"]);
    assert!(refused["tpm"]["pcrs"]["sha256"].get("2").is_none());
    let why = refused["tpm"]["not_predicted"]["2"].as_str().unwrap();
    assert!(why.contains("--nic-rom"), "{why}");
}

#[test]
fn bad_input_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let garbage = d.join("garbage.fd");
    std::fs::write(&garbage, b"not firmware at all").unwrap();
    let garbage = garbage.to_str().unwrap();

    let mut vm = VM.to_vec();
    let err = assert_clean_failure(
        &build_image(d, "a.img", &[&["--firmware", garbage][..], &vm].concat()),
        2,
    );
    assert!(err.contains("not an OVMF code file"), "{err}");
    assert!(!d.join("a.img").exists() && !d.join("a.img.manifest.json").exists());
    // --nic-rom without a NIC, and a NIC ROM that is no option ROM: exit 2, nothing written.
    let err = assert_clean_failure(
        &build_image(
            d,
            "a.img",
            &[&["--firmware", OVMF_CODE, "--nic-rom", ROM][..], &vm].concat(),
        ),
        2,
    );
    assert!(
        err.contains("--nic-rom") && err.contains("needs a NIC"),
        "{err}"
    );
    let err = assert_clean_failure(
        &build_image(
            d,
            "a.img",
            &[
                &[
                    "--firmware",
                    OVMF_CODE,
                    "--nic",
                    "virtio-net",
                    "--nic-rom",
                    garbage,
                ][..],
                &vm,
            ]
            .concat(),
        ),
        2,
    );
    assert!(
        err.contains("garbage.fd") && err.contains("not a PCI option ROM"),
        "{err}"
    );
    assert!(!d.join("a.img").exists() && !d.join("a.img.manifest.json").exists());
    let err = assert_clean_failure(
        &build_image(
            d,
            "a.img",
            &[&["--firmware", OVMF_CODE, "--layout", "kata"][..], &vm].concat(),
        ),
        2,
    );
    assert!(err.contains("uki layout"), "{err}");
    // --firmware needs --platform and --memory; --platform and --nic need --firmware (clap's usage errors).
    let usage = |o: Output| assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    usage(build_image(d, "a.img", &["--firmware", OVMF_CODE]));
    usage(build_image(d, "a.img", &["--platform", "qemu-q35"]));
    vm.extend(["--firmware", OVMF_CODE, "--platform", "pc"]);
    usage(build_image(d, "a.img", &vm));

    run_ok_output(&build_image(d, "disk.img", &[]));
    let create = |extra: &[&str]| {
        run(yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(d.join("disk.img"))
            .args(extra)
            .arg("--output")
            .arg(d.join("m.json")))
    };
    let err = assert_clean_failure(&create(&[&["--firmware", garbage][..], &VM].concat()), 2);
    assert!(err.contains("not an OVMF code file"), "{err}");
    let err = assert_clean_failure(
        &create(&[&["--firmware", OVMF_CODE, "--nic-rom", ROM][..], &VM].concat()),
        2,
    );
    assert!(err.contains("needs a NIC"), "{err}");
    let err = assert_clean_failure(
        &create(
            &[
                &[
                    "--firmware",
                    OVMF_CODE,
                    "--nic",
                    "e1000e",
                    "--nic-rom",
                    garbage,
                ][..],
                &VM,
            ]
            .concat(),
        ),
        2,
    );
    assert!(err.contains("garbage.fd"), "{err}");
    assert_clean_failure(
        &create(&[&["--firmware", "/nonexistent/OVMF_CODE.fd"][..], &VM].concat()),
        2,
    );
    assert!(!d.join("m.json").exists());
}

/// `pcr predict --json`'s `not_predicted` less the PCRs nothing measures at boot (8, 10, 14, 15): what a
/// manifest lists as refused.
fn refused(not_predicted: &Value) -> serde_json::Map<String, Value> {
    let mut m = not_predicted.as_object().unwrap().clone();
    m.retain(|_, why| why != "not measured by firmware/stub");
    m
}

/// The PCR indices an object is keyed by, in numeric order.
fn pcr_keys(v: &Value) -> Vec<u32> {
    let mut k: Vec<u32> = v
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    k.sort();
    k
}

fn run_ok_output(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
