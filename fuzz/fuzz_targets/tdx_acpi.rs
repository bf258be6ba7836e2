//! QEMU's ACPI tables blob (`etc/acpi/tables`) on arbitrary bytes: the walk, the layout check and the RSDP and
//! loader derivation give a result or an error, never a panic; the MADT walk too; the first byte splits off an
//! RSDP and a loader to take the given path as well.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tdx::acpi::AcpiBlobs;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = AcpiBlobs::derive(data) {
        let _ = a.madt_cpus();
        assert_eq!(a.rsdp.len(), 20);
        assert_eq!(a.loader.len() % 4096, 0);
    }
    if let Some((&k, rest)) = data.split_first() {
        let k = (k as usize).min(rest.len());
        let (given, tables) = rest.split_at(k);
        if let Ok(a) = AcpiBlobs::given(tables, given, given) {
            let _ = a.madt_cpus();
        }
    }
});
