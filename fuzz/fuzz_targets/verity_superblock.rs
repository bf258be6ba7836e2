//! dm-verity superblock on arbitrary bytes (the first 512, zero-padded): errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_verity::Superblock;

fuzz_target!(|data: &[u8]| {
    let mut block = [0u8; 512];
    let n = data.len().min(512);
    block[..n].copy_from_slice(&data[..n]);
    let _ = Superblock::parse(&block, 0);
});
