//! Disk images on arbitrary bytes: the partition table reader (GPT with its CRCs and backup, MBR), the FAT
//! reader on every partition (directories walked, files read under a cap), and the ESP walk `image inspect`
//! does (the UKI the firmware boots, systemd-boot's loader.conf, addons and extras). Errors, never panics,
//! hangs or unbounded allocations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_image::inspect::{self, Disk, InspectOptions, fatfs, table};

fn walk(v: &fatfs::Volume<'_>, dir: &[fatfs::Entry], depth: usize) {
    for e in dir.iter().take(64) {
        if e.dir {
            if depth < 4
                && let Ok(sub) = v.list(e)
            {
                walk(v, &sub, depth + 1);
            }
        } else {
            let _ = v.read(e, 1 << 20);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let disk: &[u8] = data;
    if let Ok(t) = table::read(&disk) {
        for p in &t.partitions {
            if let Ok(v) = fatfs::Volume::open(&disk, p.offset, p.size)
                && let Ok(root) = v.root()
            {
                walk(&v, &root, 0);
            }
        }
    }
    // The volume reader on the bytes as a bare file system, too (an ESP image without a table).
    if let Ok(v) = fatfs::Volume::open(&disk, 0, disk.size())
        && let Ok(root) = v.root()
    {
        walk(&v, &root, 0);
    }
    let _ = inspect::inspect(
        &disk,
        None,
        &InspectOptions::default(),
        &yardstick_common::progress::NoProgress,
    );
});
