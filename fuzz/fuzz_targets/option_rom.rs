//! PCI option ROMs (the NIC's iPXE ROM for PCR 2) on arbitrary bytes: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::predict::option_rom::rom_drivers;

fuzz_target!(|data: &[u8]| {
    let _ = rom_drivers(data, &[Algorithm::Sha256]);
});
