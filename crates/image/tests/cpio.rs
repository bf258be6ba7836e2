//! yardstick's newc cpio writer (`yardstick_image::cpio`, used for the boot tests' initrds and image
//! assembly) read back by an independent implementation: busybox `cpio -t` lists it and `cpio -i` unpacks it
//! with the same contents, modes and symlink targets; the same entries always give the same bytes.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};

use yardstick_image::cpio::CpioWriter;
use yardstick_testkit::*;

fn archive() -> Vec<u8> {
    let mut w = CpioWriter::new(Vec::new());
    w.dir("bin", 0o755).unwrap();
    w.dir("etc", 0o700).unwrap();
    w.file("bin/tool", 0o755, b"#!/bin/sh\necho hi\n").unwrap();
    w.file("etc/odd-length", 0o640, &[7u8; 4099]).unwrap();
    w.file("etc/empty", 0o600, b"").unwrap();
    w.symlink("bin/sh", "tool").unwrap();
    w.finish().unwrap()
}

#[test]
fn busybox_cpio_reads_our_archives() {
    let a = archive();
    assert_eq!(a, archive(), "not reproducible");
    let dir = tempfile::tempdir().unwrap();
    let cpio_file = dir.path().join("a.cpio");
    std::fs::write(&cpio_file, &a).unwrap();
    let list = run_ok(
        Command::new(peer("busybox"))
            .args(["cpio", "-t", "-F"])
            .arg(&cpio_file),
    );
    assert_eq!(
        list.lines().collect::<Vec<_>>(),
        [
            "bin",
            "etc",
            "bin/tool",
            "etc/odd-length",
            "etc/empty",
            "bin/sh"
        ]
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let st = Command::new(peer("busybox"))
        .args(["cpio", "-i", "-d", "-F"])
        .arg(&cpio_file)
        .current_dir(&out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read(out.join("bin/tool")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(
        std::fs::read(out.join("etc/odd-length")).unwrap(),
        vec![7u8; 4099]
    );
    assert_eq!(std::fs::read(out.join("etc/empty")).unwrap(), b"");
    assert_eq!(
        std::fs::read_link(out.join("bin/sh")).unwrap().to_str(),
        Some("tool")
    );
    let mode = |p: &str| {
        std::fs::symlink_metadata(out.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("bin/tool"), 0o755);
    assert_eq!(mode("etc/odd-length"), 0o640);
    assert_eq!(mode("etc"), 0o700);
}
