//! `yardstick pcr predict --firmware`: flags and error paths, without booting (the values are proven by
//! `boot_firmware_pcrs.rs`). Every refusal is exit 2; errors from the inputs are one line, never a panic.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::path::Path;
use std::process::Output;

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::predict::PredictedEventKind;
use yardstick_tpm::predict::firmware::{VmConfig, predict_firmware_volumes};
use yardstick_tpm::predict::ovmf_fv::main_volumes;

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// iPXE's ROM for virtio-net (package ipxe-qemu).
const ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

fn predict(args: &[&str]) -> Output {
    run(yardstick().args(["pcr", "predict"]).args(args))
}

fn with_firmware(firmware: &str, extra: &[&str]) -> Output {
    let mut a = vec![
        "--firmware",
        firmware,
        "--platform",
        "qemu-q35",
        "--memory",
        "1024",
        "--vcpus",
        "1",
    ];
    a.extend_from_slice(extra);
    predict(&a)
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn lists_pcrs_0_to_15_with_why_for_the_rest() {
    let o = with_firmware(OVMF_CODE, &["--bank", "sha256"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for pcr in 0..16 {
        assert!(
            text.contains(&format!("\n  {pcr:>2}: ")),
            "PCR {pcr} missing:\n{text}"
        );
    }
    for pcr in [8, 10, 14, 15] {
        assert!(text.contains(&format!("  {pcr:>2}: not measured by firmware/stub")));
    }
    assert!(text.contains("# PCR 1 not predicted: "), "{text}");
    assert!(
        text.contains("# PCR 5 not predicted: ") && text.contains("--disk"),
        "{text}"
    );
    assert!(
        text.contains("# PCR 4 not predicted: predicted with the UKI"),
        "{text}"
    );
}

#[test]
fn json_and_pcr_selection() {
    let v = json(&with_firmware(
        OVMF_CODE,
        &["--bank", "sha1,sha256", "--pcr", "0-3,6", "--json"],
    ));
    for bank in ["sha1", "sha256"] {
        let keys: Vec<&String> = v[bank].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["0", "2", "3", "6"], "{bank}");
    }
    let missing: Vec<&String> = v["not_predicted"].as_object().unwrap().keys().collect();
    assert_eq!(missing, ["1"]);
    assert!(v.get("pcr11_phases").is_none());
    // PCR 0 depends on memory and vCPUs (PlatformPei's globals in PEIFV); PCR 2 does not.
    let other = json(&run(yardstick().args([
        "pcr",
        "predict",
        "--firmware",
        OVMF_CODE,
        "--platform",
        "qemu-q35",
        "--memory",
        "512",
        "--vcpus",
        "2",
        "--bank",
        "sha256",
        "--pcr",
        "0,2",
        "--json",
    ])));
    assert_ne!(other["sha256"]["0"], v["sha256"]["0"]);
    assert_eq!(other["sha256"]["2"], v["sha256"]["2"]);
}

#[test]
fn memory_outside_the_model_refuses_pcr0_only() {
    // 978 GiB is the largest q35 guest QEMU starts with its default CPU (40 physical address bits).
    let o = predict(&[
        "--firmware",
        OVMF_CODE,
        "--platform",
        "qemu-q35",
        "--memory",
        "1001473",
        "--vcpus",
        "1",
        "--json",
    ]);
    let v = json(&o);
    let why = v["not_predicted"]["0"].as_str().unwrap();
    assert!(
        why.contains("up to 1001472 MiB") && why.contains("40 physical address bits"),
        "{why}"
    );
    assert!(v["sha256"].get("0").is_none());
    assert!(v["sha256"].get("2").is_some());
}

/// The SHA-256 digest of the PEIFV event predicted for `firmware`'s volumes at each (memory, vCPUs), the
/// volumes decompressed once (`pcr predict --firmware` does the same per run).
fn peifv_event_digests(firmware: &Path, vms: &[(u32, u32)]) -> Vec<String> {
    let volumes = main_volumes(&std::fs::read(firmware).unwrap()).unwrap();
    vms.iter()
        .map(|&(memory_mib, vcpus)| {
            let vm = VmConfig {
                memory_mib,
                vcpus,
                ..VmConfig::default()
            };
            let p = predict_firmware_volumes(&volumes, &vm, &[Algorithm::Sha256]).unwrap();
            let e = p
                .events
                .iter()
                .find(|e| e.kind == PredictedEventKind::FirmwareVolume("PEIFV"))
                .unwrap_or_else(|| panic!("no PEIFV event at {memory_mib} MiB: {:?}", p.status));
            e.digests[0].to_hex()
        })
        .collect()
}

/// PEIFV as the model fills it equals, byte for byte, what the guest measured in every capture
/// (`scripts/capture-peifv.py`, QEMU 10.0.2 TCG q35 with its default CPU, `smm=off`; above 16 GiB with
/// `--no-reserve`): the SHA-256 of the saved PEIFV, which is the digest the guest extended into PCR 0. The
/// sizes cross every boundary of the 2022.11 model (`docs/firmware-pcrs.md`): more than 2 GiB below 4 GiB
/// (2049-2815 MiB), RAM above 4 GiB (from 2816), past 32 GiB (FirstNonAddress moves), past 864 GiB (the
/// classic 64-bit aperture) up to QEMU's largest; Debian 13's build is the same at every size.
#[test]
fn peifv_matches_every_capture_up_to_978_gib() {
    let d12 = "4c021933a6f530fb027434476cf80cddade4eb63f7334fa380baf53c4c25ca48";
    #[rustfmt::skip]
    let captures: &[(u32, u32, &str)] = &[
        (2048, 1, d12),
        (2049, 1, "63e67e41f9fc51ca89c4c997d6e7dbe18a3dfbce5e82ab190e7d0d8cb9ef2d87"),
        (2560, 1, "d6d50af9c348c23ffaba45cef655020e1d6dffc15905d5e0744c8e1a0c98b55e"),
        (2815, 1, "b84a25bab76d9c74a56d372ea1188fc840bb2c8d26b6f883e0091c3a117ab945"),
        (2816, 1, d12),
        (2817, 1, d12),
        (3072, 1, d12),
        (4096, 1, d12),
        (4096, 2, "76bbfa881e8b9956ce0a732a4866565c5a486c87c94220852eb476b30e5738cc"),
        (8192, 1, d12),
        (16384, 1, d12),
        (30720, 1, d12),
        (30721, 1, "002b5679fa4b65fb2b48fd6a15b95f2a268ec34ddd6156bd3aec37a790d9ae83"),
        (65536, 1, "773cb5f87e17b6ba8225698259c42b9641c40bc4d970625986f924ba3ff669b0"),
        (262144, 1, "b73b60eb58b4105ba9cc530a27e0635bf5917544649ca63281d594c34c4d5540"),
        (882688, 1, "4380f781e2637c4b0010c1b4c0cc7173f5bd4a5f2f44b564561ba3821650f34a"),
        (882689, 1, "2d1a4642e8a3f03acf43f76622dde5ab1db8e47d3fc04e558775801900617bb4"),
        (1001472, 1, "12a291cf8e3da13be66cb1c362f4c5f1bbab9f0b84c6c38d5a8e1466b4d21101"),
    ];
    let vms: Vec<(u32, u32)> = captures.iter().map(|&(m, c, _)| (m, c)).collect();
    let got = peifv_event_digests(Path::new(OVMF_CODE), &vms);
    for (&(memory, vcpus, want), got) in captures.iter().zip(&got) {
        assert_eq!(got, want, "Debian 12 at {memory} MiB, {vcpus} vCPUs");
    }
    let trixie = [2048, 2560, 4096, 8192, 30721, 65536, 882689, 1001472];
    let vms: Vec<(u32, u32)> = trixie.iter().map(|&m| (m, 1)).collect();
    let got = peifv_event_digests(
        &peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd"),
        &vms,
    );
    for (memory, got) in trixie.iter().zip(&got) {
        assert_eq!(
            got, "a386f05738e11e7b8c253dc47b96bfc66d3d9ce62ee7b30ee3d4a6c5215e7e4e",
            "Debian 13 at {memory} MiB"
        );
    }
}

#[test]
fn refuses_what_is_not_modelled() {
    // A NIC without its ROM: PCR 2 refused (naming the flag and QEMU's ROM file), the rest predicted.
    let v = json(&with_firmware(
        OVMF_CODE,
        &["--nic", "virtio-net", "--json", "--pcr", "0-3"],
    ));
    assert!(v["sha256"].get("2").is_none());
    assert!(v["sha256"].get("0").is_some() && v["sha256"].get("3").is_some());
    let why = v["not_predicted"]["2"].as_str().unwrap();
    assert!(
        why.contains("--nic-rom") && why.contains("efi-virtio.rom"),
        "{why}"
    );
    let why = json(&with_firmware(OVMF_CODE, &["--nic", "e1000e", "--json"]))["not_predicted"]["2"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(why.contains("efi-e1000e.rom"), "{why}");
    // --nic-rom without a NIC.
    let err = assert_clean_failure(&with_firmware(OVMF_CODE, &["--nic-rom", ROM]), 2);
    assert!(
        err.contains("--nic-rom") && err.contains("needs a NIC"),
        "{err}"
    );
    // Clap refuses unknown values and missing companions (exit 2, its usage text).
    let o = predict(&[
        "--firmware",
        OVMF_CODE,
        "--platform",
        "pc",
        "--memory",
        "1",
        "--vcpus",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a modelled platform"));
    let o = predict(&["--firmware", OVMF_CODE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--memory"));
    let o = predict(&["--memory", "1024"]);
    assert_eq!(o.status.code(), Some(2));
    let o = with_firmware(OVMF_CODE, &["--nic", "e1000"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn hostile_inputs_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let garbage = w.join("garbage.fd");
    std::fs::write(&garbage, b"not firmware at all").unwrap();
    let err = assert_clean_failure(&with_firmware(garbage.to_str().unwrap(), &[]), 2);
    assert!(err.contains("not an OVMF code file"), "{err}");

    // The real firmware cut short, and with its LZMA stream damaged.
    let code = std::fs::read(OVMF_CODE).unwrap();
    let cut = w.join("cut.fd");
    std::fs::write(&cut, &code[..code.len() / 3]).unwrap();
    assert_clean_failure(&with_firmware(cut.to_str().unwrap(), &[]), 2);
    let mut bad = code.clone();
    for b in &mut bad[0x200..0x2000] {
        *b ^= 0x5a;
    }
    let bad_path = w.join("bad.fd");
    std::fs::write(&bad_path, &bad).unwrap();
    assert_clean_failure(&with_firmware(bad_path.to_str().unwrap(), &[]), 2);

    assert_clean_failure(&with_firmware("/nonexistent/OVMF_CODE.fd", &[]), 2);

    // A NIC ROM that is no option ROM, or one cut short or with its headers damaged: one line naming it.
    let nic = |rom: &Path| {
        with_firmware(
            OVMF_CODE,
            &["--nic", "virtio-net", "--nic-rom", rom.to_str().unwrap()],
        )
    };
    let err = assert_clean_failure(&nic(&garbage), 2);
    assert!(
        err.contains("garbage.fd") && err.contains("not a PCI option ROM"),
        "{err}"
    );
    let rom = std::fs::read(ROM).unwrap();
    let rom_path = w.join("efi-virtio.rom");
    for (cut, what) in [
        (rom.len() / 2, "cut"),
        (0x12800 + 0x30, "cut in the EFI header"),
    ] {
        std::fs::write(&rom_path, &rom[..cut]).unwrap();
        let err = assert_clean_failure(&nic(&rom_path), 2);
        assert!(err.contains("efi-virtio.rom"), "{what}: {err}");
    }
    let mut bad = rom.clone();
    bad[0x12800 + 0x38..0x12800 + 0x3a].copy_from_slice(b"ZZ"); // the PE's MZ
    std::fs::write(&rom_path, &bad).unwrap();
    assert_clean_failure(&nic(&rom_path), 2);
    assert_clean_failure(&nic(Path::new("/dev/null")), 2);
    // A compressed EFI image is read but not modelled: PCR 2 refused, saying why.
    let mut compressed = rom.clone();
    compressed[0x12800 + 0xc] = 1;
    std::fs::write(&rom_path, &compressed).unwrap();
    let v = json(&with_firmware(
        OVMF_CODE,
        &[
            "--nic",
            "virtio-net",
            "--nic-rom",
            rom_path.to_str().unwrap(),
            "--json",
        ],
    ));
    let why = v["not_predicted"]["2"].as_str().unwrap();
    assert!(why.contains("compression type 1"), "{why}");
    // The real ROM: PCR 2 is its driver's event and the separator.
    let v = json(&with_firmware(
        OVMF_CODE,
        &[
            "--nic",
            "virtio-net",
            "--nic-rom",
            ROM,
            "--json",
            "--pcr",
            "2",
        ],
    ));
    assert!(v["sha256"].get("2").is_some(), "{v}");
    assert!(v["not_predicted"].get("2").is_none(), "{v}");
    let err = assert_clean_failure(
        &with_firmware(OVMF_CODE, &["--disk", "/nonexistent/disk.img"]),
        2,
    );
    assert!(err.contains("/nonexistent/disk.img"), "{err}");

    // A GPT header claiming a 4 GiB partition entry array .
    let disk = w.join("disk.img");
    let mut img = vec![0u8; 8192];
    img[512..520].copy_from_slice(b"EFI PART");
    img[512 + 12..512 + 16].copy_from_slice(&92u32.to_le_bytes());
    img[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    img[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    img[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    std::fs::write(&disk, &img).unwrap();
    let err = assert_clean_failure(
        &with_firmware(OVMF_CODE, &["--disk", disk.to_str().unwrap()]),
        2,
    );
    assert!(err.contains("entry array"), "{err}");
    // A disk without GPT: PCR 5 is predicted without a GPT event.
    std::fs::write(&disk, vec![0u8; 8192]).unwrap();
    let v = json(&with_firmware(
        OVMF_CODE,
        &["--disk", disk.to_str().unwrap(), "--json", "--pcr", "5"],
    ));
    assert!(v["sha256"].get("5").is_some());
    // With Debian's fresh VARS (no boot options), the disk of zeros (neither GPT nor a whole-disk FAT) has no
    // modelled boot option: PCR 1 is refused.
    let v = json(&with_firmware(
        OVMF_CODE,
        &[
            "--vars",
            "/usr/share/OVMF/OVMF_VARS_4M.fd",
            "--disk",
            disk.to_str().unwrap(),
            "--json",
            "--pcr",
            "1",
        ],
    ));
    assert!(v["sha256"].get("1").is_none());
    assert!(
        v["not_predicted"]["1"]
            .as_str()
            .unwrap()
            .contains("without GPT")
    );
    assert!(Path::new(OVMF_CODE).exists());
}

/// A firmware built without Secure Boot support (Debian 13's `OVMF_CODE_4M.fd`: no SecureBootConfigDxe in
/// DXEFV) measures the SecureBoot variable as absent: PCR 7 is predicted that way (the boots prove the value),
/// unlike Debian 12's; with a VARS enrolling keys (the UKI prediction has Secure Boot on) PCRs 4 and 7 are
/// refused, since that firmware enforces nothing.
#[test]
fn secure_boot_support_is_read_from_the_firmware() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let initrd = w.join("initrd.cpio");
    std::fs::write(&initrd, boot::busybox_initrd(&boot::GuestScript::default())).unwrap();
    let unsigned = w.join("uki-unsigned.efi");
    run_ok(
        yardstick()
            .args([
                "uki",
                "build",
                "--stub",
                "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
            ])
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .args(["--cmdline", "console=ttyS0", "--output"])
            .arg(&unsigned),
    );
    let signed = w.join("uki.efi");
    boot::sign_snakeoil(&unsigned, &signed, w);
    let trixie = peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd");
    let trixie = trixie.to_str().unwrap();
    let pcr7 = |firmware: &str| {
        let v = json(&with_firmware(
            firmware,
            &[
                "--uki",
                unsigned.to_str().unwrap(),
                "--json",
                "--pcr",
                "4,7",
            ],
        ));
        assert!(v["not_predicted"].as_object().unwrap().is_empty(), "{v}");
        (v["sha256"]["4"].clone(), v["sha256"]["7"].clone())
    };
    let (pcr4_12, pcr7_12) = pcr7(OVMF_CODE);
    let (pcr4_13, pcr7_13) = pcr7(trixie);
    assert_eq!(pcr4_12, pcr4_13);
    assert_ne!(pcr7_12, pcr7_13, "the SecureBoot event differs");
    // Debian 12's VARS with the snakeoil keys on a firmware without Secure Boot support: PCRs 4 and 7 refused.
    let v = json(&with_firmware(
        trixie,
        &[
            "--uki",
            signed.to_str().unwrap(),
            "--vars",
            boot::SNAKEOIL_VARS,
            "--json",
            "--pcr",
            "4,7,9",
        ],
    ));
    for pcr in ["4", "7"] {
        assert!(v["sha256"].get(pcr).is_none(), "{v}");
        let why = v["not_predicted"][pcr].as_str().unwrap();
        assert!(why.contains("no Secure Boot support"), "{why}");
    }
    assert!(v["sha256"].get("9").is_some(), "{v}");
    // The same VARS with Debian 12's Secure Boot build: all predicted.
    let v = json(&with_firmware(
        "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        &[
            "--uki",
            signed.to_str().unwrap(),
            "--vars",
            boot::SNAKEOIL_VARS,
            "--json",
            "--pcr",
            "0,1,4,7",
        ],
    ));
    assert!(
        v["not_predicted"].as_object().unwrap().get("4").is_none(),
        "{v}"
    );
    assert!(v["sha256"].get("7").is_some(), "{v}");
}

/// `--fw-cfg`: Debian 13's PCR 1 takes QEMU's ACPI blobs from a copy of a guest's
/// /sys/firmware/qemu_fw_cfg/by_name (the boots prove the values); without it PCR 1 is refused naming the flag;
/// a missing blob or a loader allocating an unmodelled blob is one error line, exit 2.
#[test]
fn fw_cfg_acpi_blobs_for_pcr1() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let disk = w.join("disk.img");
    let mut img = vec![0u8; 4096];
    img[0x52..0x55].copy_from_slice(b"FAT");
    img[510] = 0x55;
    img[511] = 0xaa;
    std::fs::write(&disk, &img).unwrap();
    let trixie = peer("ovmf-trixie/root/usr/share/OVMF/OVMF_CODE_4M.fd");
    let trixie = trixie.to_str().unwrap();
    let put = |name: &str, data: &[u8]| {
        let d = w.join("by_name").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("raw"), data).unwrap();
    };
    let loader = |names: &[&str]| {
        let mut l = vec![0u8; 4096];
        for (i, n) in names.iter().enumerate() {
            l[i * 128..i * 128 + 4].copy_from_slice(&1u32.to_le_bytes());
            l[i * 128 + 4..i * 128 + 4 + n.len()].copy_from_slice(n.as_bytes());
        }
        l
    };
    put(
        "etc/table-loader",
        &loader(&["etc/acpi/rsdp", "etc/tpm/log", "etc/acpi/tables"]),
    );
    put("etc/acpi/rsdp", b"RSD PTR \0BOCHS \0\0\0\0\0");
    put("etc/tpm/log", &[0u8; 65536]);
    let fw_cfg = w.join("by_name");
    let args = |extra: &[&str]| {
        let mut a = vec!["--disk", disk.to_str().unwrap(), "--pcr", "1", "--json"];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run_with = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        with_firmware(trixie, &refs)
    };
    // Without --fw-cfg: refused, naming the flag.
    let v = json(&run_with(args(&[])));
    let why = v["not_predicted"]["1"].as_str().unwrap();
    assert!(why.contains("--fw-cfg"), "{why}");
    // A blob the loader allocates is missing: an error naming it.
    let err = assert_clean_failure(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])), 2);
    assert!(err.contains("etc/acpi/tables/raw"), "{err}");
    put("etc/acpi/tables", &[0x41u8; 4096]);
    let v = json(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])));
    assert!(v["sha256"].get("1").is_some(), "{v}");
    assert!(v["not_predicted"].get("1").is_none(), "{v}");
    // Debian 12's OVMF does not measure the blobs: giving them is an error.
    let err = assert_clean_failure(
        &with_firmware(
            OVMF_CODE,
            &[
                "--disk",
                disk.to_str().unwrap(),
                "--fw-cfg",
                fw_cfg.to_str().unwrap(),
            ],
        ),
        2,
    );
    assert!(err.contains("does not measure them"), "{err}");
    // The blobs are measured: another tables blob, another PCR 1.
    let before = v["sha256"]["1"].clone();
    put("etc/acpi/tables", &[0x42u8; 4096]);
    let v = json(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])));
    assert_ne!(v["sha256"]["1"], before);
    // A loader allocating vmgenid's blob: not modelled, exit 2.
    put(
        "etc/table-loader",
        &loader(&["etc/acpi/rsdp", "etc/vmgenid_guid"]),
    );
    let err = assert_clean_failure(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])), 2);
    assert!(
        err.contains("etc/vmgenid_guid") && err.contains("not modelled"),
        "{err}"
    );
    // Not a loader at all.
    put("etc/table-loader", b"garbage");
    assert_clean_failure(&run_with(args(&["--fw-cfg", fw_cfg.to_str().unwrap()])), 2);
    assert_clean_failure(&run_with(args(&["--fw-cfg", "/nonexistent"])), 2);
}
