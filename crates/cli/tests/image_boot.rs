//! The seed's demo in a real guest: QEMU (TCG) boots Debian's 6.1 kernel with the example initrd
//! (examples/coco-guest), which opens the root partition of an image built by `yardstick image build` through
//! dm-verity and runs the rootfs's init, which prints a marker file. Then one byte of that file is flipped
//! inside the root partition ("CoCo" -> "DoCo"): the guest must get an I/O error reading it and the kernel must
//! log "device-mapper: verity: ...: data block N is corrupted" with N the block `veritysetup verify` (the
//! offline oracle) names.
//!
//! Phase 1 boots the kernel directly (`-kernel/-initrd/-append` with the cmdline recorded in the manifest);
//! the `uki` layout's UKI through OVMF + swtpm, with the guest's PCRs compared to the manifest, comes with the
//! `uki` branch's boot harness.

// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

mod image_guest;
mod support;

use image_guest::*;

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
    eprintln!("{what}: marker read in {:.1}s", boot.elapsed.as_secs_f64());
}

/// Flips the marker in the root partition, boots, and checks the guest's error against veritysetup.
fn assert_flip_detected(
    disk: &std::path::Path,
    m: &serde_json::Value,
    data_part: u64,
    hash_part: u64,
    what: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let (off, size) = partition(m, data_part);
    let at = flip_marker(disk, off, size);
    let data = dir.path().join("data");
    let hash = dir.path().join("hash");
    extract(disk, off, size, &data);
    let (hoff, hsize) = partition(m, hash_part);
    extract(disk, hoff, hsize, &hash);
    let offline = veritysetup_failing_block(&data, &hash, m);
    assert_eq!(
        offline,
        at / 4096,
        "{what}: veritysetup names the block holding the flipped byte"
    );

    let boot = boot_direct(disk, &cmdline(m));
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
        "{what}: kernel reported data blocks {blocks:?}, veritysetup verify names {offline}"
    );
    eprintln!(
        "{what}: flipped byte detected in data block {offline} in {:.1}s",
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
    assert_marker_read(&boot_direct(&disk, &cmdline(&m)), "kata/erofs");
    assert_flip_detected(&disk, &m, 1, 2, "kata/erofs");
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
    assert_marker_read(&boot_direct(&disk, &cmdline(&m)), "kata/ext4");
    assert_flip_detected(&disk, &m, 1, 2, "kata/ext4");
}

/// uki layout, erofs: the initrd finds the root and root-verity partitions by the partition UUIDs derived from
/// `roothash=` (as systemd-veritysetup-generator does) and reads the table from the superblock.
#[test]
fn uki_gpt_erofs_guest_reads_marker_and_rejects_a_flipped_byte() {
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
    assert_marker_read(&boot_direct(&disk, &c), "uki/erofs");
    assert_flip_detected(&disk, &m, 2, 3, "uki/erofs");
}

/// uki layout, squashfs (compressed: the marker is not findable to flip, so only the read is checked).
#[test]
fn uki_gpt_squashfs_guest_reads_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, m) = build_example(
        dir.path(),
        "uki-sq.img",
        &["--layout", "uki", "--fs", "squashfs"],
    );
    assert_marker_read(&boot_direct(&disk, &cmdline(&m)), "uki/squashfs");
}
