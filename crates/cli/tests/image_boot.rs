//! The seed's demo in a real guest: images built by `yardstick image build` from the example guest
//! (examples/coco-guest: a busybox initrd with Debian's dm-verity modules and dmsetup, a busybox rootfs whose
//! init prints a marker file) boot under QEMU (TCG) with Debian's 6.1 kernel; the initrd opens the root
//! partition through dm-verity with the root hash from the measured kernel command line and the rootfs's init
//! prints the marker. Then one byte of that file is flipped inside the root partition ("CoCo" -> "DoCo"): the
//! guest must get an I/O error reading it and the kernel must log "device-mapper: verity: ...: data block N is
//! corrupted" with N the block `yardstick verity verify` names offline (and `veritysetup verify`, the second
//! oracle, too).
//!
//! * `uki` layout: the whole disk is booted by OVMF with a swtpm vTPM (`support/boot.rs`), the UKI found at
//!   `\EFI\BOOT\BOOTX64.EFI` on its ESP. The rootfs's init also prints the guest's PCRs (sha1, sha256, sha384)
//!   and event log: PCRs 4, 7, 9, 11, 12, 13 must equal the manifest's `tpm.pcrs` in all three banks, on both
//!   boots (flipping a rootfs byte changes no measurement: that is dm-verity's job).
//! * `kata` layout: direct kernel boot (`-kernel/-initrd/-append` with the cmdline the manifest records),
//!   the dm table passed as `dm-mod.create=` and opened by the initrd (Debian's kernel has no
//!   CONFIG_DM_INIT). No TPM.
//!
//! Each boot's wall time is printed (`cargo test --test image_boot -- --nocapture`).
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

#[path = "support/boot.rs"]
mod boot;
mod image_guest;
mod support;

use std::path::Path;

use image_guest::*;
use support::*;
use yardstick_tpm::PcrBanks;

/// The PCRs a manifest's `tpm.pcrs` predicts.
const PREDICTED: [u32; 6] = [4, 7, 9, 11, 12, 13];

fn assert_marker_read(boot: &Boot, what: &str) {
    assert!(
        boot.marker_line().starts_with("MARKER: CoCo:"),
        "{what}: marker not read intact; serial:\n{}",
        boot.serial
    );
    assert!(
        boot.corrupted_data_blocks().is_empty(),
        "{what}: verity errors on an intact image:\n{}",
        boot.serial
    );
    eprintln!(
        "{what}: marker read, boot took {:.1} s",
        boot.elapsed.as_secs_f64()
    );
}

/// Flips the marker in the root partition (partition `data_part`, tree on `hash_part`), asks the offline
/// oracles which block is bad, boots with `boot`, and checks the guest's I/O error and the kernel's block
/// number against them.
fn assert_flip_detected(
    disk: &Path,
    m: &serde_json::Value,
    data_part: u64,
    hash_part: u64,
    what: &str,
    boot: impl FnOnce() -> Boot,
) {
    let dir = tempfile::tempdir().unwrap();
    let (off, size) = partition(m, data_part);
    let at = flip_marker(disk, off, size);
    let data = dir.path().join("data");
    let hash = dir.path().join("hash");
    extract(disk, off, size, &data);
    let (hoff, hsize) = partition(m, hash_part);
    extract(disk, hoff, hsize, &hash);
    let offline = yardstick_failing_block(&data, &hash, m);
    assert_eq!(
        offline,
        at / 4096,
        "{what}: yardstick verity verify names the block holding the flipped byte"
    );
    assert_eq!(
        veritysetup_failing_block(&data, &hash, m),
        offline,
        "{what}: veritysetup verify names the same block"
    );

    let boot = boot();
    let line = boot.marker_line();
    assert!(
        line.starts_with("MARKER-ERROR:") && line.contains("Input/output error"),
        "{what}: expected an I/O error reading the marker, got {line:?}; serial:\n{}",
        boot.serial
    );
    let blocks = boot.corrupted_data_blocks();
    assert!(
        !blocks.is_empty(),
        "{what}: no verity corruption line; serial:\n{}",
        boot.serial
    );
    assert!(
        blocks.iter().all(|b| *b == offline),
        "{what}: kernel reported data blocks {blocks:?}, yardstick verity verify names {offline}"
    );
    eprintln!(
        "{what}: flipped byte detected in data block {offline}, boot took {:.1} s",
        boot.elapsed.as_secs_f64()
    );
}

/// kata layout, erofs: MBR rootfs + hash partitions, no superblock, dm-mod.create= on the cmdline.
#[test]
fn kata_erofs_guest_reads_marker_and_rejects_a_flipped_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(
        dir.path(),
        "kata.img",
        &["--layout", "kata", "--fs", "erofs"],
    );
    assert!(cmdline(&m).contains("dm-mod.create=\"dm-verity,,,ro,0 "));
    assert_marker_read(&boot_direct(&disk, &cmdline(&m)), "kata/erofs direct");
    assert_flip_detected(&disk, &m, 1, 2, "kata/erofs direct", || {
        boot_direct(&disk, &cmdline(&m))
    });
}

/// kata layout, ext4 (small files are in their own data block: no inline_data).
#[test]
fn kata_ext4_guest_reads_marker_and_rejects_a_flipped_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(
        dir.path(),
        "kata4.img",
        &["--layout", "kata", "--fs", "ext4"],
    );
    assert_marker_read(&boot_direct(&disk, &cmdline(&m)), "kata/ext4 direct");
    assert_flip_detected(&disk, &m, 1, 2, "kata/ext4 direct", || {
        boot_direct(&disk, &cmdline(&m))
    });
}

/// Boots a whole `uki` disk through OVMF + swtpm and checks the guest's PCRs against the manifest.
fn boot_uki_disk(disk: &Path, m: &serde_json::Value, what: &str) -> Boot {
    let out = boot::boot_uki(&boot::BootConfig::disk_image(disk))
        .unwrap_or_else(|e| panic!("{what}: boot failed: {e}"));
    let predicted: PcrBanks = serde_json::from_value(m["tpm"]["pcrs"].clone()).unwrap();
    let mut compared = 0;
    for alg in boot::GUEST_BANKS {
        for pcr in PREDICTED {
            let guest = out.pcrs.get(alg, pcr).map(|d| d.to_hex());
            let manifest = predicted.get(alg, pcr).map(|d| d.to_hex());
            assert!(
                guest.is_some(),
                "{what}: the guest printed no {alg} PCR {pcr}"
            );
            assert_eq!(
                guest, manifest,
                "{what}: {alg} PCR {pcr}: guest vs manifest tpm.pcrs"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 18);
    // The guest's own event log, replayed by yardstick, gives the PCRs it read (so the log really is this
    // boot's, and the PCR 11 the manifest predicts is the stub's, not a leftover).
    let log = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(log.path(), &out.event_log).unwrap();
    let replayed: PcrBanks = serde_json::from_str(&run_ok(
        yardstick()
            .args(["eventlog", "replay", "--json"])
            .arg(log.path()),
    ))
    .unwrap();
    for alg in boot::GUEST_BANKS {
        for pcr in PREDICTED {
            let r = replayed
                .get(alg, pcr)
                .copied()
                .unwrap_or_else(|| alg.zero());
            assert_eq!(
                Some(&r),
                out.pcrs.get(alg, pcr),
                "{what}: {alg} PCR {pcr}: event log replay vs guest"
            );
        }
    }
    eprintln!("{what}: guest PCRs 4, 7, 9, 11, 12, 13 equal the manifest in sha1, sha256, sha384");
    Boot {
        serial: out.serial,
        elapsed: out.duration,
    }
}

/// uki layout, erofs, booted by OVMF + swtpm from the disk itself: the initrd finds the root and
/// root-verity partitions by the partition UUIDs derived from `roothash=` on the UKI's measured command line
/// (as systemd-veritysetup-generator does) and reads the table from the superblock; the guest's PCRs equal the
/// manifest's; a flipped byte is an I/O error in block N of `yardstick verity verify`.
#[test]
fn uki_disk_through_ovmf_swtpm_pcrs_match_manifest_and_flipped_byte_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(dir.path(), "uki.img", &["--layout", "uki", "--fs", "erofs"]);
    let c = cmdline(&m);
    assert!(
        c.ends_with(&format!(
            "roothash={}",
            m["verity"]["root_hash"].as_str().unwrap()
        )),
        "{c}"
    );
    let what = "uki/erofs OVMF+swtpm";
    assert_marker_read(&boot_uki_disk(&disk, &m, what), what);
    assert_flip_detected(&disk, &m, 2, 3, what, || boot_uki_disk(&disk, &m, what));
}

/// uki layout, squashfs (compressed: the marker is not findable to flip, so only the read is checked), booted
/// directly with the cmdline the UKI carries.
#[test]
fn uki_gpt_squashfs_guest_reads_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(
        dir.path(),
        "uki-sq.img",
        &["--layout", "uki", "--fs", "squashfs"],
    );
    assert_marker_read(&boot_direct(&disk, &cmdline(&m)), "uki/squashfs direct");
}
