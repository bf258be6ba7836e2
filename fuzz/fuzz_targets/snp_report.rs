//! SEV-SNP attestation reports (binary or hex text) on arbitrary bytes: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_snp::report::AttestationReport;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = AttestationReport::parse_any(data) {
        let _ = r.product_from_cpuid();
        let sig = r.signature();
        let _ = sig.scalars_be();
        let _ = sig.first_nonzero_reserved();
    }
});
