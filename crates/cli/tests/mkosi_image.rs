//! A real mkosi image: `scripts/mkosi-image.sh` builds a Debian 12 disk with mkosi 24.3 (systemd 254 from
//! bookworm-backports, erofs root + dm-verity made by systemd-repart, a UKI made by mkosi on the ESP), once plain and
//! once with mkosi's `SecureBoot=yes` (signed with Debian's OVMF snakeoil key; mkosi's `SignExpectedPcr=auto` adds
//! `.pcrsig` + `.pcrpkey`, which systemd-stub turns into cpio archives it appends to the initrd); and a Debian 13
//! image (`--release trixie`: systemd 257, systemd-stub 257, Linux 6.12, the UKI made by mkosi 24.3's ukify 254).
//! For each:
//!
//! - `image inspect` finds the ESP, the UKI and the root hash: the UKI is the file mtools copies out of the ESP,
//!   the root hash is the one on the `.cmdline` objcopy cuts out of it, and veritysetup verifies the partitions
//!   sfdisk lists with that root hash;
//! - the disk boots under QEMU q35 + OVMF (Secure Boot on for the signed image) + swtpm; the guest's units
//!   (scripts/mkosi/mkosi.extra) print its PCRs in every bank, the event log, and PCR 11 after each
//!   systemd-pcrphase step; every PCR `refvals create --disk --firmware` predicts (the firmware's 0-3, 5, 6 for
//!   the OVMF booted, 4, 7, 9, 11 after each phase the guest reached, 12, 13) equals the guest's, in every bank
//!   both have;
//! - a byte flipped in the root partition: `refvals create --disk` exits 1 naming the data block veritysetup names.
//!
//! The images are built once and reused while their inputs are unchanged (`$CARGO_TARGET_TMPDIR/mkosi-images/`,
//! keyed by the inputs' hash). No mkosi chroot (scripts/setup.sh), not root: the test fails, it does not skip.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_refvals::Manifest;

const SNAKEOIL_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd";
/// The guest's memory (MiB): the boot's `-m` and `refvals create --memory`.
const MEMORY_MIB: u32 = 2048;

/// systemd's PCR 11 phases in boot order, as the manifest names the value after each (`a:b:...`).
const PHASES: [&str; 4] = ["enter-initrd", "leave-initrd", "sysinit", "ready"];

/// Builds (or reuses) the image of `variant` ("plain", "secure-boot": Debian 12; "trixie-plain": Debian 13) and
/// returns its directory.
fn mkosi_image(variant: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("mkosi-images")
        .join(variant);
    let script = workspace().join("scripts/mkosi-image.sh");
    // The build needs root (bind mounts, chroot): through sudo when the tests run as another user.
    let root = run_ok(Command::new(peer("id")).arg("-u")).trim() == "0";
    let mut cmd = if root {
        Command::new(&script)
    } else {
        let mut c = Command::new(peer("sudo"));
        c.args(["-n", "--preserve-env=YARDSTICK_TOOLS"])
            .arg(&script);
        c
    };
    cmd.arg(&dir).env("YARDSTICK_TOOLS", tools());
    if variant.ends_with("secure-boot") {
        cmd.arg("--secure-boot");
    }
    if variant.starts_with("trixie-") {
        cmd.args(["--release", "trixie"]);
    }
    let t0 = Instant::now();
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "scripts/mkosi-image.sh {variant} failed (needs root and the mkosi chroot of scripts/setup.sh):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "mkosi image {variant}: {:.0?} ({})",
        t0.elapsed(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    dir
}

/// A partition's `(offset, size)` in bytes as sfdisk lists it (1-based number).
fn sfdisk_partition(disk: &Path, number: usize) -> (u64, u64) {
    let j: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new(peer("sfdisk")).arg("--json").arg(disk),
    ))
    .unwrap();
    let t = &j["partitiontable"];
    let sector = t["sectorsize"].as_u64().unwrap_or(512);
    let p = &t["partitions"][number - 1];
    (
        p["start"].as_u64().unwrap() * sector,
        p["size"].as_u64().unwrap() * sector,
    )
}

fn extract(disk: &Path, (offset, len): (u64, u64), out: &Path) {
    run_ok(
        Command::new(peer("dd"))
            .arg(format!("if={}", disk.display()))
            .arg(format!("of={}", out.display()))
            .args(["bs=512", "status=none"])
            .arg(format!("skip={}", offset / 512))
            .arg(format!("count={}", len / 512)),
    );
}

/// The section `name` of a PE file, cut out by objcopy.
fn pe_section(pe: &Path, name: &str, work: &Path) -> Vec<u8> {
    let out = work.join(format!("section{name}"));
    run_ok(
        Command::new(peer("objcopy"))
            .args(["-O", "binary", "--only-section", name])
            .arg(pe)
            .arg(&out),
    );
    std::fs::read(&out).unwrap()
}

/// veritysetup verify of the root partition (the hash partition has systemd-repart's superblock): `None` when
/// the data verifies under `root_hash`, else the failing data block.
fn veritysetup_verify(data: &Path, hash: &Path, root_hash: &str, block_size: u64) -> Option<u64> {
    let out = run(Command::new(peer("veritysetup"))
        .arg("verify")
        .arg(data)
        .arg(hash)
        .arg(root_hash));
    if out.status.success() {
        return None;
    }
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let pos: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Verification failed at position "))
        .and_then(|r| r.trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("veritysetup verify failed without a position: {text}"));
    Some(pos / block_size)
}

/// The guest's `YS-PCR11-PHASE NAME BANK HEX` lines: PCR 11 after each systemd-pcrphase step it reached.
fn guest_phases(serial: &str) -> Vec<(String, Algorithm, String)> {
    serial
        .lines()
        .filter_map(|l| {
            // systemd 257 resets the console with escape sequences that can land before a line.
            let at = l.find("YS-PCR11-PHASE ")?;
            let rest = l
                .get(at + "YS-PCR11-PHASE ".len()..)?
                .trim_end_matches('\r');
            let f: Vec<&str> = rest.split_whitespace().collect();
            let [name, bank, hex] = f[..] else {
                return None;
            };
            Some((
                name.to_string(),
                bank.parse().ok()?,
                hex.to_ascii_lowercase(),
            ))
        })
        .collect()
}

/// Everything checked for one image; returns the guest's serial log.
fn check_image(variant: &str) -> String {
    let dir = mkosi_image(variant);
    let secure_boot = variant.ends_with("secure-boot");
    let disk = dir.join("image.raw");
    let scratch = tempfile::tempdir().unwrap();
    let w = scratch.path();
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("mkosi-image")
        .join(variant);
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).unwrap();

    // What image inspect finds.
    let o = run(yardstick().args(["image", "inspect", "--json"]).arg(&disk));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "image inspect: {stderr}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    std::fs::write(keep.join("inspect.json"), &o.stdout).unwrap();
    let names: Vec<&str> = j["table"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["discoverable"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["esp", "root-x86-64", "root-x86-64-verity"]);
    assert_eq!(j["boot"]["uki"]["path"], "EFI/BOOT/BOOTX64.EFI");
    assert_eq!(j["problems"].as_array().unwrap().len(), 0, "{j:#}");

    // The UKI as mtools copies it out of the ESP sfdisk lists, and mkosi's own copy of it.
    let esp = sfdisk_partition(&disk, 1);
    let uki = w.join("BOOTX64.EFI");
    run_ok(
        Command::new(peer("mcopy"))
            .arg("-i")
            .arg(format!("{}@@{}", disk.display(), esp.0))
            .arg("::/EFI/BOOT/BOOTX64.EFI")
            .arg(&uki),
    );
    let sha = run_ok(Command::new(peer("sha256sum")).arg(&uki));
    let sha = sha.split_whitespace().next().unwrap();
    assert_eq!(j["boot"]["uki"]["sha256"], sha);
    assert_eq!(
        std::fs::read(&uki).unwrap(),
        std::fs::read(dir.join("image.efi")).unwrap(),
        "the UKI on the ESP is mkosi's image.efi"
    );
    let sections = run_ok(Command::new(peer("objdump")).arg("-h").arg(&uki));
    for s in [".linux", ".initrd", ".cmdline", ".osrel"] {
        assert!(sections.contains(s), "{s} missing: {sections}");
    }
    if secure_boot {
        assert!(
            sections.contains(".pcrsig") && sections.contains(".pcrpkey"),
            "mkosi SecureBoot=yes should add .pcrsig and .pcrpkey: {sections}"
        );
    }

    // The root hash: the one on the UKI's .cmdline, and the tree's (veritysetup on sfdisk's partitions).
    let cmdline = String::from_utf8(pe_section(&uki, ".cmdline", w)).unwrap();
    let root_hash = cmdline
        .split_whitespace()
        .find_map(|a| a.strip_prefix("roothash="))
        .unwrap_or_else(|| panic!("no roothash= on {cmdline:?}"))
        .to_string();
    assert_eq!(j["cmdline_hashes"]["roothash"], root_hash.as_str());
    let v = &j["verity"][0];
    assert_eq!(v["verified"], true, "{j:#}");
    assert_eq!(v["params_from"], "superblock");
    assert_eq!(v["expected_root_hash"], root_hash.as_str());
    let block_size = v["data_block_size"].as_u64().unwrap();
    let root = sfdisk_partition(&disk, 2);
    let hash = sfdisk_partition(&disk, 3);
    let (data_img, hash_img) = (w.join("root.img"), w.join("root-verity.img"));
    extract(&disk, root, &data_img);
    extract(&disk, hash, &hash_img);
    assert_eq!(
        veritysetup_verify(&data_img, &hash_img, &root_hash, block_size),
        None,
        "veritysetup does not verify the root partition under the cmdline's root hash"
    );

    // The manifest.
    let manifest_path = keep.join("manifest.json");
    let mut create = yardstick();
    create
        .args(["refvals", "create", "--disk"])
        .arg(&disk)
        .arg("--output")
        .arg(&manifest_path);
    if secure_boot {
        create.args(["--secure-boot-vars", SNAKEOIL_VARS]);
    }
    // The firmware PCRs of the OVMF the boot below uses (Debian 12's, its Secure Boot build for the signed
    // image), the same VM: q35, MEMORY_MIB, 1 vCPU, no NIC, the disk the first virtio-blk with bootindex=0.
    let (code, mem) = (
        if secure_boot {
            "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
        } else {
            "/usr/share/OVMF/OVMF_CODE_4M.fd"
        },
        MEMORY_MIB.to_string(),
    );
    create.args([
        "--firmware",
        code,
        "--platform",
        "qemu-q35",
        "--memory",
        &mem,
    ]);
    create.args(["--vcpus", "1", "--nic", "none"]);
    run_ok(&mut create);
    let m = Manifest::from_json(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let tpm = m.tpm.as_ref().expect("a tpm section");

    // The boot.
    let mut cfg = if secure_boot {
        boot::BootConfig {
            disk: Some(disk.clone()),
            ..boot::BootConfig::snakeoil_secure_boot(&disk)
        }
    } else {
        boot::BootConfig::disk_image(&disk)
    };
    cfg.memory_mib = MEMORY_MIB;
    assert_eq!(cfg.vcpus, 1);
    cfg.timeout = Duration::from_secs(900);
    let out = boot::boot_uki(&cfg).unwrap_or_else(|e| panic!("{variant} boot: {e}"));
    std::fs::write(keep.join("serial.log"), &out.serial).unwrap();
    std::fs::write(keep.join("eventlog.bin"), &out.event_log).unwrap();
    eprintln!("mkosi image {variant}: boot {:.0?}", out.duration);

    // Every predicted PCR equals the guest's, in every bank both have.
    let guest = &out.pcrs;
    let banks: Vec<Algorithm> = tpm
        .pcrs
        .algorithms()
        .filter(|a| guest.algorithms().any(|g| g == *a))
        .collect();
    assert!(
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha384]
            .iter()
            .all(|a| banks.contains(a)),
        "banks compared: {banks:?}"
    );
    let mut wrong = Vec::new();
    let mut compared = 0;
    for &alg in &banks {
        for pcr in [0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 13] {
            let (p, g) = (tpm.pcrs.get(alg, pcr), guest.get(alg, pcr));
            assert!(p.is_some(), "PCR {pcr} {alg} not predicted");
            compared += 1;
            if p != g {
                wrong.push(format!("PCR {pcr} {alg}: predicted {p:?}, guest {g:?}"));
            }
        }
    }
    // PCR 11 after each phase the guest printed, and the final value (after `ready`).
    let phases = guest_phases(&out.serial);
    let predicted_phase = |n: usize, alg: Algorithm| -> String {
        let path = PHASES[..n].join(":");
        let p = tpm
            .pcr11_phases
            .iter()
            .find(|p| p.phase == path)
            .unwrap_or_else(|| panic!("no predicted phase {path:?}"));
        p.pcrs.get(alg, 11).unwrap().to_hex()
    };
    for &alg in &banks {
        for (n, name) in PHASES[..3].iter().enumerate() {
            let g = phases
                .iter()
                .find(|(p, a, _)| p == name && *a == alg)
                .unwrap_or_else(|| panic!("the guest printed no PCR 11 {alg} after {name}"));
            compared += 1;
            if predicted_phase(n + 1, alg) != g.2 {
                wrong.push(format!(
                    "PCR 11 {alg} after {name}: predicted {}, guest {}",
                    predicted_phase(n + 1, alg),
                    g.2
                ));
            }
        }
        compared += 1;
        let g = guest.get(alg, 11).unwrap().to_hex();
        if predicted_phase(4, alg) != g {
            wrong.push(format!(
                "PCR 11 {alg} after ready: predicted {}, guest {g}",
                predicted_phase(4, alg)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{variant}: {} of {compared} PCR values differ (artifacts in {}):\n{}",
        wrong.len(),
        keep.display(),
        wrong.join("\n")
    );
    eprintln!(
        "mkosi image {variant}: {compared} PCR values equal the guest's ({} banks)",
        banks.len()
    );

    // A byte flipped in the root partition: exit 1 naming the block veritysetup names; no manifest.
    let bad = w.join("flipped.raw");
    run_ok(
        Command::new(peer("cp"))
            .arg("--sparse=always")
            .arg(&disk)
            .arg(&bad),
    );
    let at = root.0 + root.1 / 2 + 123;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&bad)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x01], at).unwrap();
    drop(f);
    extract(&bad, root, &data_img);
    let block = veritysetup_verify(&data_img, &hash_img, &root_hash, block_size)
        .expect("veritysetup verifies the flipped partition");
    assert_eq!(block, (at - root.0) / block_size);
    let bad_manifest = w.join("bad.json");
    let r = run(yardstick()
        .args(["refvals", "create", "--disk"])
        .arg(&bad)
        .arg("--output")
        .arg(&bad_manifest));
    let text =
        String::from_utf8_lossy(&r.stdout).into_owned() + &String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("data block {block} ")), "{text}");
    assert!(!bad_manifest.exists(), "no manifest for a corrupted disk");
    out.serial
}

#[test]
fn mkosi_image_plain() {
    check_image("plain");
}

#[test]
fn mkosi_image_secure_boot() {
    check_image("secure-boot");
}

/// Debian 13: systemd 257 and systemd-stub 257 from the image itself (the UKI still made by mkosi 24.3's tools,
/// ukify 254).
#[test]
fn mkosi_image_trixie() {
    check_image("trixie-plain");
}
