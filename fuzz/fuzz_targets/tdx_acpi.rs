//! QEMU's ACPI tables blob (`etc/acpi/tables`) on arbitrary bytes: the walk, the layout check and the RSDP and
//! loader derivation give a result or an error, never a panic; the MADT walk too; the first two bytes split off
//! an RSDP and a loader to take the given path as well.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tdx::acpi::AcpiBlobs;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = AcpiBlobs::derive(data) {
        let _ = a.madt_cpus();
        assert_eq!(a.rsdp.len(), 20);
        assert_eq!(a.loader.len() % 4096, 0);
    }
    // The first two bytes: the lengths of a given RSDP and (in 128-byte commands) loader, taken from the rest.
    if let [r, l, rest @ ..] = data {
        let r = (*r as usize).min(rest.len());
        let (rsdp, rest) = rest.split_at(r);
        let l = (*l as usize * 128).min(rest.len());
        let (loader, tables) = rest.split_at(l);
        if let Ok(a) = AcpiBlobs::given(tables, rsdp, loader) {
            let _ = a.madt_cpus();
        }
    }
});
