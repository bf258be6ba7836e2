//! QEMU's ACPI table loader (`etc/table-loader`, PCR 1 of edk2 2025.02) on arbitrary bytes: errors, never panics.
//! The input's whole 128-byte commands are the loader, the rest the contents of every blob it allocates, so the
//! first-pass checks (pointers and checksums inside their blobs) run on hostile values too.
//! Seed: QEMU 10.0.2's q35 loader with a tpm-tis vTPM (fw_cfg dumped from a guest, as scripts/qemu-acpi-capture.sh
//! does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tpm::predict::fw_cfg_acpi::{ALLOCATED, COMMAND_LEN, allocations, check_commands};

fuzz_target!(|data: &[u8]| {
    let split = data.len() - data.len() % COMMAND_LEN;
    let (loader, rest) = data.split_at(split);
    let Ok(names) = allocations(loader) else {
        return;
    };
    let blobs: Vec<(&'static str, Vec<u8>)> = names
        .iter()
        .filter_map(|n| ALLOCATED.iter().find(|k| *k == n).map(|&k| (k, rest.to_vec())))
        .collect();
    let _ = check_commands(loader, &blobs);
});
