//! End-to-end proof of `yardstick pcr predict --firmware`: boot a UKI (Debian's kernel, a busybox initrd,
//! systemd-stub 252) under QEMU q35 (TCG) + Debian 12's OVMF (`OVMF_CODE_4M.fd`, edk2 2022.11) + swtpm, once from
//! a whole-disk FAT ESP and once from a GPT disk, and require:
//!
//! - the guest to report the machine type of the QEMU that was run (`pc-q35-10.0`: the installed QEMU 10.0 from
//!   bookworm-backports; `pc-q35-7.2` in the `qemu72` cases: Debian 12's own QEMU 7.2, unpacked by
//!   scripts/setup.sh);
//! - every PCR the command predicts (0-3, 5, 6 of the firmware; 4, 7, 9, 11-13 of the UKI) to equal the
//!   guest's in every bank the guest prints (sha1, sha256, sha384), PCRs 8, 14 and 15 (said to be "not
//!   measured") to be zero; with Debian 13's OVMF, PCR 1 (QEMU's ACPI tables are measured there) to be refused
//!   and PCR 7 to hold the absent SecureBoot variable measured as empty data;
//! - every predicted event of PCRs 0-3, 5, 6 to equal the guest's event log entry for entry (type and
//!   digest in every bank of the log, sha512 included): the S-CRTM version, PEIFV as PlatformPei left it when
//!   Tcg2Pei measured it (its globals depend on memory and vCPUs: `docs/firmware-pcrs.md`), DXEFV as
//!   decompressed from the firmware file, the boot variables OVMF creates (BootOrder, the disk's option, UiApp,
//!   the shell), the GPT disk's `EV_EFI_GPT_EVENT`, the separators and actions;
//! - PCR 0's DXEFV event to carry the SHA-256 of DXEFV as decompressed, and its PEIFV event not to.
//!
//! The guest's event log is kept under `$CARGO_TARGET_TMPDIR/boot-firmware/<case>/`.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::eventlog::{EventLog, EventType};
use yardstick_tpm::predict::firmware::{Nic, VmConfig, boot_disk, predict_firmware};
use yardstick_tpm::predict::fw_cfg_acpi::FwCfgAcpi;

const STUB_252: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// How the UKI reaches the firmware.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Disk {
    /// A FAT filesystem over the whole disk (no partition table): no GPT event.
    WholeDiskFat,
    /// A GPT disk whose first partition is the ESP: the firmware logs the GPT in PCR 5.
    Gpt,
}

fn artifacts(case: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("boot-firmware")
        .join(case);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A GPT disk (sfdisk) with the FAT image `esp` as its only partition, an EFI System Partition at 1 MiB.
fn gpt_disk(esp: &Path, out: &Path) {
    let esp_len = std::fs::metadata(esp).unwrap().len();
    let sectors = esp_len.div_ceil(512);
    let total = (2048 + sectors + 34) * 512;
    let f = std::fs::File::create(out).unwrap();
    f.set_len(total).unwrap();
    drop(f);
    let mut sfdisk = Command::new(peer("sfdisk"));
    sfdisk
        .arg("--quiet")
        .arg(out)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = sfdisk.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!(
                "label: gpt\nstart=2048, size={sectors}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
            )
            .as_bytes(),
        )
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    let data = std::fs::read(esp).unwrap();
    use std::os::unix::fs::FileExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .open(out)
        .unwrap()
        .write_all_at(&data, 2048 * 512)
        .unwrap();
}

/// The NIC's iPXE ROM (package ipxe-qemu, which QEMU depends on; scripts/setup.sh names it too).
fn rom_file(n: NicCase) -> PathBuf {
    let p = PathBuf::from(n.rom);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup.sh (it installs ipxe-qemu)",
        p.display()
    );
    p
}

/// The guest's dump of QEMU's ACPI fw_cfg blobs (busybox sh): the kernel's qemu_fw_cfg module exposes them in
/// /sys/firmware/qemu_fw_cfg/by_name, each printed as hex between markers.
const FW_CFG_DUMP: &str = r#"insmod /qemu_fw_cfg.ko
for f in etc/table-loader etc/acpi/rsdp etc/acpi/tables etc/tpm/log; do
  echo "YS-FWCFG-BEGIN $f"
  od -A n -v -t x1 /sys/firmware/qemu_fw_cfg/by_name/$f/raw
  echo "YS-FWCFG-END"
done
"#;

/// The qemu_fw_cfg module of the test kernel (Debian's package, unpacked by scripts/setup.sh).
fn fw_cfg_module() -> PathBuf {
    let modules = peer("kernel/root/lib/modules");
    let version = std::fs::read_dir(&modules)
        .unwrap()
        .next()
        .expect("a kernel module tree")
        .unwrap()
        .path();
    version.join("kernel/drivers/firmware/qemu_fw_cfg.ko")
}

/// Writes the blobs the guest printed as a copy of its `/sys/firmware/qemu_fw_cfg/by_name` (`DIR/<name>/raw`).
fn fw_cfg_from_serial(serial: &str, dir: &Path) {
    let mut current: Option<(String, Vec<u8>)> = None;
    let mut n = 0;
    for line in serial.lines() {
        let line = line.trim_end();
        if let Some(name) = line.strip_prefix("YS-FWCFG-BEGIN ") {
            current = Some((name.to_string(), Vec::new()));
        } else if line == "YS-FWCFG-END" {
            let (name, data) = current.take().expect("YS-FWCFG-END without a begin");
            let d = dir.join(&name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("raw"), data).unwrap();
            n += 1;
        } else if let Some((_, data)) = current.as_mut() {
            for byte in line.split_whitespace() {
                data.push(u8::from_str_radix(byte, 16).expect("a hex byte"));
            }
        }
    }
    assert_eq!(n, 4, "the guest printed {n} of 4 fw_cfg blobs");
}

/// Debian 13's OVMF (edk2 2025.02, unpacked by scripts/setup.sh).
fn trixie_ovmf(name: &str) -> String {
    peer(&format!("ovmf-trixie/root/usr/share/OVMF/{name}"))
        .display()
        .to_string()
}

/// A NIC QEMU adds after the boot disk: its QEMU device, `pcr predict --nic` name and iPXE ROM file.
#[derive(Clone, Copy)]
struct NicCase {
    device: &'static str,
    flag: &'static str,
    rom: &'static str,
}

const VIRTIO_NET: NicCase = NicCase {
    device: "virtio-net-pci",
    flag: "virtio-net",
    rom: "/usr/lib/ipxe/qemu/efi-virtio.rom",
};

/// q35's default NIC (what QEMU adds unless told `-nic none`).
const E1000E: NicCase = NicCase {
    device: "e1000e",
    flag: "e1000e",
    rom: "/usr/lib/ipxe/qemu/efi-e1000e.rom",
};

fn firmware_case(case: &str, disk: Disk, memory_mib: u32, vcpus: u32) {
    firmware_case_on(
        case,
        boot::Qemu::Installed,
        &Ovmf::debian12(),
        disk,
        memory_mib,
        vcpus,
        None,
    );
}

/// The firmware files booted, and which model applies (Debian 12's 2022.11 or Debian 13's 2025.02).
struct Ovmf {
    code: String,
    vars: String,
    debian12: bool,
    /// Debian's Secure Boot build with the snakeoil keys: SMM on, the UKI signed with this certificate.
    secure_boot: Option<String>,
}

impl Ovmf {
    fn debian12() -> Ovmf {
        Ovmf {
            code: OVMF_CODE.into(),
            vars: OVMF_VARS.into(),
            debian12: true,
            secure_boot: None,
        }
    }

    fn debian12_secure_boot() -> Ovmf {
        Ovmf {
            code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd".into(),
            vars: boot::SNAKEOIL_VARS.into(),
            debian12: true,
            secure_boot: Some(boot::SNAKEOIL_CERT.into()),
        }
    }

    fn debian13() -> Ovmf {
        Ovmf {
            code: trixie_ovmf("OVMF_CODE_4M.fd"),
            vars: trixie_ovmf("OVMF_VARS_4M.fd"),
            debian12: false,
            secure_boot: None,
        }
    }

    /// Debian 13's Secure Boot build (SMM) with its snakeoil VARS; its certificate of the snakeoil key.
    fn debian13_secure_boot() -> Ovmf {
        Ovmf {
            code: trixie_ovmf("OVMF_CODE_4M.secboot.fd"),
            vars: trixie_ovmf("OVMF_VARS_4M.snakeoil.fd"),
            debian12: false,
            secure_boot: Some(
                peer("ovmf-trixie/root/usr/share/ovmf/PkKek-1-snakeoil.pem")
                    .display()
                    .to_string(),
            ),
        }
    }
}

fn firmware_case_on(
    case: &str,
    qemu: boot::Qemu,
    ovmf: &Ovmf,
    disk: Disk,
    memory_mib: u32,
    vcpus: u32,
    nic: Option<NicCase>,
) {
    let (ovmf_code, ovmf_vars, debian12) = (ovmf.code.as_str(), ovmf.vars.as_str(), ovmf.debian12);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let initrd = w.join("initrd.cpio");
    // The guest also prints its SMBIOS system version: QEMU's machine type, hence which QEMU booted it; and,
    // for edk2 2025.02 (whose PCR 1 measures them), QEMU's ACPI fw_cfg blobs as it sees them (qemu_fw_cfg).
    let mut extra = "echo \"YS-MACHINE $(cat /sys/class/dmi/id/product_version)\"\n".to_string();
    let mut files = Vec::new();
    if !debian12 {
        extra.push_str(FW_CFG_DUMP);
        files.push((
            "qemu_fw_cfg.ko",
            std::fs::read(fw_cfg_module()).unwrap(),
            0o644,
        ));
    }
    let script = boot::GuestScript {
        extra,
        ..boot::GuestScript::default()
    };
    std::fs::write(&initrd, boot::busybox_initrd_with(&script, &files)).unwrap();
    let unsigned = w.join("uki-unsigned.efi");
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub", STUB_252, "--linux"])
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .args(["--cmdline", "console=ttyS0", "--output"])
            .arg(&unsigned),
    );
    let uki = if let Some(cert) = &ovmf.secure_boot {
        let signed = w.join("uki.efi");
        boot::sign_snakeoil_with(&unsigned, &signed, w, cert);
        signed
    } else {
        unsigned
    };
    let esp = w.join("esp.img");
    boot::make_esp(&uki, &esp).unwrap();
    let disk_path = match disk {
        Disk::WholeDiskFat => esp.clone(),
        Disk::Gpt => {
            let d = w.join("gpt.img");
            gpt_disk(&esp, &d);
            d
        }
    };

    let cfg = boot::BootConfig {
        memory_mib,
        vcpus,
        nic: nic.map(|n| n.device),
        smm: ovmf.secure_boot.is_some(),
        ovmf_code: ovmf_code.into(),
        ovmf_vars: ovmf_vars.into(),
        qemu,
        ..boot::BootConfig::disk_image(&disk_path)
    };
    let guest = boot::boot_uki(&cfg).unwrap_or_else(|e| panic!("{case}: {e}"));
    let machine = qemu.q35_machine();
    assert!(
        guest
            .serial
            .lines()
            .any(|l| l.trim_end() == format!("YS-MACHINE {machine}")),
        "{case}: the guest does not report machine {machine}"
    );

    // The prediction, through the CLI.
    let mut cmd = yardstick();
    cmd.args(["pcr", "predict", "--firmware", ovmf_code])
        .args([
            "--platform",
            "qemu-q35",
            "--nic",
            nic.map_or("none", |n| n.flag),
        ])
        .args(["--memory", &memory_mib.to_string()])
        .args(["--vcpus", &vcpus.to_string()])
        .args(["--qemu-version", &qemu.version()])
        .arg("--disk")
        .arg(&disk_path)
        .args(["--bank", "sha1,sha256,sha384", "--json"])
        .arg("--uki")
        .arg(&uki);
    if let Some(n) = nic {
        cmd.arg("--nic-rom").arg(rom_file(n));
    }
    if ovmf.secure_boot.is_some() {
        // PCR 7 from the VARS the VM boots with (the snakeoil keys: Secure Boot on).
        cmd.args(["--vars", ovmf_vars]);
    }
    let fw_cfg = w.join("fw_cfg");
    if !debian12 {
        fw_cfg_from_serial(&guest.serial, &fw_cfg);
        cmd.arg("--fw-cfg").arg(&fw_cfg);
    }
    let out = run_ok(&mut cmd);
    let predicted: serde_json::Value = serde_json::from_str(&out).unwrap();

    let keep = artifacts(case);
    std::fs::write(keep.join("eventlog.bin"), &guest.event_log).unwrap();
    std::fs::write(keep.join("predicted.json"), &out).unwrap();

    // Every predicted PCR equals the guest's, in every bank.
    let mut compared = Vec::new();
    for alg in boot::GUEST_BANKS {
        let bank = predicted[alg.name()].as_object().unwrap();
        for (pcr, value) in bank {
            let pcr: u32 = pcr.parse().unwrap();
            let g = guest.pcrs.get(alg, pcr).unwrap().to_hex();
            assert_eq!(
                value.as_str().unwrap(),
                g,
                "{case}: {alg} PCR {pcr} predicted vs guest"
            );
            compared.push(pcr);
        }
    }
    compared.sort_unstable();
    compared.dedup();
    let missing = predicted["not_predicted"].as_object().unwrap();
    let mut keys: Vec<u32> = missing.keys().map(|k| k.parse().unwrap()).collect();
    keys.sort_unstable();
    // Every PCR the firmware and the stub measure (Debian 13's PCR 1 from the ACPI blobs the guest dumped, its
    // PCR 7 with the SecureBoot variable measured as absent).
    assert_eq!(compared, [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13], "{case}");
    assert_eq!(keys, [8, 10, 14, 15], "{case}");
    for pcr in [8, 14, 15] {
        assert_eq!(missing[&pcr.to_string()], "not measured by firmware/stub");
        for alg in boot::GUEST_BANKS {
            assert_eq!(
                *guest.pcrs.get(alg, pcr).unwrap(),
                alg.zero(),
                "{case}: {alg} PCR {pcr}"
            );
        }
    }

    // The firmware events, entry for entry, in every bank of the log (sha512 too).
    let log = EventLog::parse(&guest.event_log).unwrap();
    let log_banks = [
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
    ];
    let vm = VmConfig {
        memory_mib,
        vcpus,
        nic: nic.map_or(Nic::None, |n| n.flag.parse().unwrap()),
        nic_rom: nic.map(|n| std::fs::read(rom_file(n)).unwrap()),
        fw_cfg_acpi: (!debian12).then(|| FwCfgAcpi::read_dir(&fw_cfg).unwrap()),
        disk: boot_disk(&disk_path).unwrap(),
        qemu_version: qemu.version().parse().unwrap(),
        ..VmConfig::default()
    };
    let fw = predict_firmware(&std::fs::read(ovmf_code).unwrap(), &vm, &log_banks).unwrap();
    let firmware_pcrs: &[u32] = &[0, 1, 2, 3, 5, 6];
    for &pcr in firmware_pcrs {
        let want: Vec<_> = log
            .events()
            .iter()
            .filter(|e| e.pcr() == pcr && e.is_extended())
            .collect();
        let got: Vec<_> = fw.events.iter().filter(|e| e.pcr == pcr).collect();
        assert_eq!(
            want.len(),
            got.len(),
            "{case}: PCR {pcr}: log {:?}, predicted {:?}",
            want.iter().map(|e| e.summary()).collect::<Vec<_>>(),
            got.iter().map(|e| e.description()).collect::<Vec<_>>()
        );
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(
                w.event_type().0,
                g.event_type(),
                "{case}: PCR {pcr} {}",
                g.description()
            );
            for (alg, d) in log_banks.iter().zip(&g.digests) {
                assert_eq!(
                    w.digest(*alg).as_ref(),
                    Some(d),
                    "{case}: PCR {pcr} {} in {alg}",
                    g.description()
                );
            }
        }
    }
    let gpt_events = log
        .events()
        .iter()
        .filter(|e| e.event_type() == EventType::EV_EFI_GPT_EVENT)
        .count();
    assert_eq!(gpt_events, usize::from(disk == Disk::Gpt), "{case}");
    // With a NIC the firmware loaded its ROM's EFI driver (one event in PCR 2, matched above in 4 banks).
    let drivers = log
        .events()
        .iter()
        .filter(|e| e.pcr() == 2 && e.event_type() == EventType::EV_EFI_BOOT_SERVICES_DRIVER)
        .count();
    assert_eq!(
        drivers,
        usize::from(nic.is_some()),
        "{case}: option ROM drivers"
    );

    // PCR 0: DXEFV is measured as decompressed, PEIFV is not.
    let blobs: Vec<_> = log
        .events()
        .iter()
        .filter(|e| e.pcr() == 0 && e.event_type() == EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB)
        .collect();
    assert_eq!(blobs.len(), 2, "{case}");
    assert_eq!(
        blobs[1].digest(Algorithm::Sha256),
        Some(fw.volumes.dxefv),
        "{case}: DXEFV"
    );
    assert_ne!(
        blobs[0].digest(Algorithm::Sha256),
        Some(fw.volumes.peifv),
        "{case}: PEIFV measured as decompressed (no PlatformPei globals in it)"
    );
    eprintln!(
        "{case}: QEMU {} ({machine}): PCRs {compared:?} equal the guest's in sha1/sha256/sha384; firmware events of PCR \
         {firmware_pcrs:?} equal the log's in 4 banks ({:?})",
        qemu.version(),
        guest.duration
    );
}

#[test]
fn boot_whole_disk_esp_1024m_1cpu() {
    firmware_case("whole-disk-esp", Disk::WholeDiskFat, 1024, 1);
}

#[test]
fn boot_gpt_disk_512m_2cpus() {
    firmware_case("gpt-disk", Disk::Gpt, 512, 2);
}

#[test]
fn boot_gpt_disk_2048m_1cpu() {
    firmware_case("gpt-disk-2048m", Disk::Gpt, 2048, 1);
}

/// RAM above 4 GiB (q35: 2 GiB below, 2 GiB from 4 GiB): PlatformPei's FirstNonAddress, Uc32Base and S3 memory
/// as the 2022.11 model computes them for that layout, and PCR 1 unchanged by memory.
#[test]
fn boot_gpt_disk_4096m_1cpu() {
    firmware_case("gpt-disk-4096m", Disk::Gpt, 4096, 1);
}

/// Debian 13's OVMF with 6 GiB above 4 GiB: its PEIFV is the same at every memory size.
#[test]
fn boot_trixie_ovmf_gpt_disk_8192m_1cpu() {
    firmware_case_on(
        "trixie-gpt-disk-8192m",
        boot::Qemu::Installed,
        &Ovmf::debian13(),
        Disk::Gpt,
        8192,
        1,
        None,
    );
}

/// Debian 13's OVMF (edk2 2025.02) on the same QEMU: PCR 1 (ACPI tables) is refused, PCR 7 has the absent
/// SecureBoot variable measured as empty data, the rest equal.
#[test]
fn boot_trixie_ovmf_gpt_disk_1024m_2cpus() {
    firmware_case_on(
        "trixie-gpt-disk",
        boot::Qemu::Installed,
        &Ovmf::debian13(),
        Disk::Gpt,
        1024,
        2,
        None,
    );
}

/// A virtio-net NIC: its iPXE ROM's EFI driver in PCR 2 (and no boot option of its own in PCR 1: the disk is
/// the one fw_cfg boot order entry).
#[test]
fn boot_gpt_disk_virtio_net_1024m_1cpu() {
    firmware_case_on(
        "gpt-disk-virtio-net",
        boot::Qemu::Installed,
        &Ovmf::debian12(),
        Disk::Gpt,
        1024,
        1,
        Some(VIRTIO_NET),
    );
}

/// q35's default NIC, e1000e, with Debian 13's OVMF.
#[test]
fn boot_trixie_ovmf_gpt_disk_e1000e_512m_1cpu() {
    firmware_case_on(
        "trixie-gpt-disk-e1000e",
        boot::Qemu::Installed,
        &Ovmf::debian13(),
        Disk::Gpt,
        512,
        1,
        Some(E1000E),
    );
}

/// A virtio-net NIC with Debian 13's OVMF, 2 GiB (all of it below 4 GiB).
#[test]
fn boot_trixie_ovmf_gpt_disk_virtio_net_2048m_1cpu() {
    firmware_case_on(
        "trixie-gpt-disk-virtio-net",
        boot::Qemu::Installed,
        &Ovmf::debian13(),
        Disk::Gpt,
        2048,
        1,
        Some(VIRTIO_NET),
    );
}

/// Debian 12's Secure Boot build (`OVMF_CODE_4M.secboot.fd`, SMM on) with the snakeoil keys enrolled and the UKI
/// signed: PCR 0's PEIFV with the SMM fields of the platform info and the S3 memory below TSEG, PCR 7 with Secure
/// Boot on.
#[test]
fn boot_secure_boot_gpt_disk_1024m_2cpus() {
    firmware_case_on(
        "secure-boot-gpt-disk",
        boot::Qemu::Installed,
        &Ovmf::debian12_secure_boot(),
        Disk::Gpt,
        1024,
        2,
        None,
    );
}

/// Debian 12's own QEMU (7.2, unpacked by scripts/setup.sh) instead of backports' 10.0; its version is checked
/// here and the guest's machine type (`pc-q35-7.2`) in the case.
fn qemu_7_2() -> boot::Qemu {
    let q = boot::Qemu::Debian12;
    let v = q.version();
    assert!(v.starts_with("7.2."), "{v}: not Debian 12's QEMU 7.2");
    q
}

/// Debian 13's Secure Boot build (`OVMF_CODE_4M.secboot.fd` of edk2 2025.02, SMM on) with its snakeoil VARS
/// and the UKI signed: PCR 0's PEIFV with SmmRelocationLib's state (QEMU 10's SMI delivery point), PCR 1 with
/// the guest's ACPI blobs, PCR 7 with Secure Boot on.
#[test]
fn boot_trixie_secure_boot_gpt_disk_1024m_2cpus() {
    firmware_case_on(
        "trixie-secure-boot-gpt-disk",
        boot::Qemu::Installed,
        &Ovmf::debian13_secure_boot(),
        Disk::Gpt,
        1024,
        2,
        None,
    );
}

/// The same build under Debian 12's QEMU 7.2, whose TCG delivers the relocation SMI later (another PCR 0),
/// with a virtio-net NIC, 3 vCPUs.
#[test]
fn boot_qemu72_trixie_secure_boot_gpt_disk_virtio_net_1536m_3cpus() {
    firmware_case_on(
        "qemu72-trixie-secure-boot-gpt-disk-virtio-net",
        qemu_7_2(),
        &Ovmf::debian13_secure_boot(),
        Disk::Gpt,
        1536,
        3,
        Some(VIRTIO_NET),
    );
}

/// Debian 12's OVMF under Debian 12's QEMU 7.2: the same prediction (Debian 12's OVMF does not depend on
/// the QEMU version) holds.
#[test]
fn boot_qemu72_gpt_disk_1024m_2cpus() {
    firmware_case_on(
        "qemu72-gpt-disk",
        qemu_7_2(),
        &Ovmf::debian12(),
        Disk::Gpt,
        1024,
        2,
        None,
    );
}

/// `boot_gpt_disk_virtio_net_1024m_1cpu` under QEMU 7.2: the same iPXE ROM (ipxe-qemu is the same package in
/// Debian 12) in PCR 2, and the same boot options in PCR 1.
#[test]
fn boot_qemu72_gpt_disk_virtio_net_1024m_1cpu() {
    firmware_case_on(
        "qemu72-gpt-disk-virtio-net",
        qemu_7_2(),
        &Ovmf::debian12(),
        Disk::Gpt,
        1024,
        1,
        Some(VIRTIO_NET),
    );
}
