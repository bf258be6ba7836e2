//! QEMU's ACPI table loader (`etc/table-loader`, PCR 1 of edk2 2025.02) on arbitrary bytes: errors, never panics.
//! Seed: QEMU 10.0.2's q35 loader with a tpm-tis vTPM (fw_cfg dumped from a guest, as scripts/qemu-acpi-capture.sh does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tpm::predict::fw_cfg_acpi::allocations;

fuzz_target!(|data: &[u8]| {
    let _ = allocations(data);
});
