//! The certificate table of an SEV-SNP extended report (`verify snp --cert-table`) on arbitrary bytes,
//! seeded with the table virtee/sev writes for AMD's Milan chain: a table or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_verify::snp::certs::CertTable;

fuzz_target!(|data: &[u8]| {
    let _ = CertTable::parse(data);
});
