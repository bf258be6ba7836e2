//! Partition tables and the FAT writer against the real tools: sfdisk (util-linux libfdisk, the library
//! systemd-repart uses) must write byte-identical GPT and MBR tables for the same layout; fsck.vfat and
//! mtools must accept the FAT32 volume and read every file back unchanged.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::path::Path;
use std::process::Command;

use yardstick_image::fat::{FatBuilder, FileSource};
use yardstick_image::gpt::{Gpt, GptPartition};
use yardstick_image::guid::{self, types};
use yardstick_image::mbr::{Mbr, MbrPartition};
use yardstick_testkit::*;

fn read_range(p: &Path, at: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt as _;
    let mut buf = vec![0u8; len];
    File::open(p).unwrap().read_exact_at(&mut buf, at).unwrap();
    buf
}

fn sfdisk(disk: &Path, script: &str) {
    let mut child = Command::new(peer("sfdisk"))
        .args(["-q", "--no-reread", "--no-tell-kernel"])
        .arg(disk)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed on {script}");
}

/// Partition layouts (start LBA, sectors) checked against sfdisk, on disks of several sizes.
#[test]
fn gpt_is_byte_identical_to_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(u64, &[(u64, u64)])] = &[
        (64 << 20, &[(2048, 20480)]),
        (100 << 20, &[(2048, 20480), (22528, 40960), (63488, 2048)]),
        (
            3 << 30,
            &[
                (2048, 1 << 20),
                ((1 << 20) + 2048, 4 << 20),
                ((5 << 20) + 2048, 65536),
            ],
        ),
        (1 << 20 << 12, &[(4096, 8)]),
    ];
    let names = ["esp", "root-x86-64", "root-x86-64-verity"];
    let type_guids = [types::ESP, types::ROOT_X86_64, types::ROOT_VERITY_X86_64];
    for (n, (size, parts)) in cases.iter().enumerate() {
        let disk_guid = guid::derive(&[n as u8], "disk");
        let mut gpt = Gpt::new(disk_guid);
        let mut script = format!(
            "label: gpt\nlabel-id: {disk_guid}\nunit: sectors\nsector-size: 512\nfirst-lba: 2048\n\n"
        );
        for (i, (start, len)) in parts.iter().enumerate() {
            let uuid = guid::derive(&[n as u8, i as u8], "part");
            gpt.partitions.push(GptPartition {
                type_guid: type_guids[i],
                uuid,
                name: names[i].to_string(),
                first_lba: *start,
                last_lba: start + len - 1,
                attributes: 0,
            });
            script += &format!(
                "start={start}, size={len}, type={}, uuid={uuid}, name=\"{}\"\n",
                type_guids[i], names[i]
            );
        }
        let ours = dir.path().join(format!("ours{n}"));
        let theirs = dir.path().join(format!("theirs{n}"));
        for p in [&ours, &theirs] {
            File::create(p).unwrap().set_len(*size).unwrap();
        }
        gpt.write(&File::options().write(true).open(&ours).unwrap(), *size)
            .unwrap();
        sfdisk(&theirs, &script);
        // The table areas: the first and the last MiB (everything else is partition space neither touches).
        for (what, at) in [("head", 0), ("tail", size - (1 << 20))] {
            let a = read_range(&ours, at, 1 << 20);
            let b = read_range(&theirs, at, 1 << 20);
            let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
            assert_eq!(first_diff, None, "case {n} {what}: first differing byte");
        }
        assert_eq!(std::fs::metadata(&ours).unwrap().len(), *size);
        // And sfdisk reads our table back as the same layout.
        let dump = run_ok(Command::new(peer("sfdisk")).arg("--dump").arg(&ours));
        assert!(
            dump.contains(&format!(
                "label-id: {}",
                disk_guid.to_string().to_uppercase()
            )),
            "{dump}"
        );
    }
}

/// The kata layout's table (rootfs + hash partition, the first bootable, as kata's image_builder.sh makes with
/// parted) and tables past the CHS limit, against sfdisk's `label: dos`.
#[test]
fn mbr_is_byte_identical_to_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    type Layout<'a> = &'a [(u32, u32, bool)];
    let cases: &[(u64, Layout)] = &[
        (10 << 20, &[(2048, 4096, false)]),
        (
            3000 << 20,
            &[(2048, 20480, true), (22528, 6_000_000, false)],
        ),
        (
            20 << 30,
            &[(2048, 20_000_000, true), (20_002_048, 2_000_000, false)],
        ),
    ];
    for (n, (size, parts)) in cases.iter().enumerate() {
        let sig = 0x1234_5600 + n as u32;
        let mbr = Mbr {
            disk_signature: sig,
            partitions: parts
                .iter()
                .map(|(s, l, b)| MbrPartition {
                    bootable: *b,
                    type_id: 0x83,
                    first_lba: *s,
                    sectors: *l,
                })
                .collect(),
        };
        let mut script = format!("label: dos\nlabel-id: {sig:#010x}\nunit: sectors\n\n");
        for (s, l, b) in parts.iter() {
            script += &format!(
                "start={s}, size={l}, type=83{}\n",
                if *b { ", bootable" } else { "" }
            );
        }
        let theirs = dir.path().join(format!("theirs{n}"));
        File::create(&theirs).unwrap().set_len(*size).unwrap();
        sfdisk(&theirs, &script);
        let b = read_range(&theirs, 0, 512);
        assert_eq!(mbr.to_sector().unwrap()[..], b[..], "case {n}");
    }
}

fn mtools(tool: &str) -> Command {
    let mut c = Command::new(peer(tool));
    // mtools refuses images whose geometry it cannot verify unless told not to check.
    c.env("MTOOLS_SKIP_CHECK", "1");
    c
}

/// fsck.vfat -n finds nothing to fix; mdir lists the tree; mcopy reads every file back byte for byte. Volume
/// sizes around the spec's cluster-size steps (260 MiB) are included.
#[test]
fn fat32_passes_fsck_and_mtools_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i * 7 + i / 4096) as u8)
        .collect();
    let bigf = dir.path().join("big");
    std::fs::write(&bigf, &big).unwrap();
    for size in [33u64 << 20, 64 << 20, 260 << 20, 261 << 20] {
        let mut fat = FatBuilder::new(0xdead_beef, "yardstick").epoch(1_700_000_000);
        fat.add_file("EFI/BOOT/BOOTX64.EFI", FileSource::Path(bigf.clone()))
            .unwrap();
        fat.add_file("EFI/BOOT/EMPTY.TXT", FileSource::Bytes(vec![]))
            .unwrap();
        fat.add_file("LOADER/A.CFG", FileSource::Bytes(b"timeout 0\n".to_vec()))
            .unwrap();
        let mut many = Vec::new();
        for i in 0..40 {
            // enough entries to need a second directory cluster at 512-byte clusters
            fat.add_file(
                &format!("MANY/F{i:02}.BIN"),
                FileSource::Bytes(vec![i as u8; i * 100]),
            )
            .unwrap();
            many.push(i);
        }
        let img = dir.path().join(format!("esp{size}"));
        let f = File::create(&img).unwrap();
        f.set_len(size).unwrap();
        fat.write(&f, 0, size).unwrap();
        drop(f);
        let fsck = run(Command::new(peer("fsck.vfat")).arg("-n").arg(&img));
        let out = String::from_utf8_lossy(&fsck.stdout).into_owned()
            + &String::from_utf8_lossy(&fsck.stderr);
        assert!(fsck.status.success(), "fsck.vfat on {size}: {out}");
        // Only the version banner and the summary line: no warning, no repair suggestion.
        let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 2, "fsck.vfat on {size}: {out}");
        assert!(lines[1].contains("48 files"), "fsck.vfat on {size}: {out}");
        let listing = run_ok(mtools("mdir").args(["-/", "-i"]).arg(&img).arg("::/"));
        assert!(listing.contains("BOOTX64  EFI   3000000"), "{listing}");
        let label = run_ok(mtools("mlabel").args(["-s", "-i"]).arg(&img).arg("::"));
        assert!(label.contains("YARDSTICK"), "{label}");
        let back = dir.path().join("back");
        let _ = std::fs::remove_file(&back);
        run_ok(
            mtools("mcopy")
                .args(["-n", "-i"])
                .arg(&img)
                .arg("::/EFI/BOOT/BOOTX64.EFI")
                .arg(&back),
        );
        assert!(
            std::fs::read(&back).unwrap() == big,
            "BOOTX64.EFI differs after mcopy"
        );
        for i in many {
            let _ = std::fs::remove_file(&back);
            run_ok(
                mtools("mcopy")
                    .args(["-n", "-i"])
                    .arg(&img)
                    .arg(format!("::/MANY/F{i:02}.BIN"))
                    .arg(&back),
            );
            assert_eq!(std::fs::read(&back).unwrap(), vec![i as u8; i * 100]);
        }
    }
}

/// Built twice (from a file and from bytes), the volume is byte-identical.
#[test]
fn fat32_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, vec![5u8; 100_000]).unwrap();
    let mut imgs = Vec::new();
    for k in 0..2 {
        let mut fat = FatBuilder::new(7, "ESP").epoch(1_234_567_890);
        let source = if k == 0 {
            FileSource::Path(src.clone())
        } else {
            FileSource::Bytes(vec![5u8; 100_000])
        };
        fat.add_file("EFI/BOOT/BOOTX64.EFI", source).unwrap();
        let p = dir.path().join(format!("v{k}"));
        let f = File::create(&p).unwrap();
        f.set_len(40 << 20).unwrap();
        fat.write(&f, 0, 40 << 20).unwrap();
        imgs.push(std::fs::read(&p).unwrap());
    }
    assert!(imgs[0] == imgs[1]);
}
