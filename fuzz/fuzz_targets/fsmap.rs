//! The filesystem readers behind `verity verify`'s file names (`fsmap`: ext4, erofs, squashfs) on arbitrary
//! bytes, seeded with tiny images made by mkfs.ext4, mkfs.erofs and mksquashfs: a map or none, never a
//! panic; a map answers any range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_verity::fsmap::FsMap;

fuzz_target!(|data: &[u8]| {
    if let Some(map) = FsMap::read(&data.to_vec()) {
        let _ = map.files_at(0, data.len() as u64);
        let _ = map.files_at(u64::MAX - 1, 4096);
    }
});
