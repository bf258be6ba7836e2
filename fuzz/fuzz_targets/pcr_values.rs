//! The verifier's PCR-value reader on arbitrary bytes: tpm2_pcrread YAML, the JSON PCR lists and the binary
//! `tpm2_quote -o` formats (with and without a quote selection). Errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::tpm2::PcrSelection;
use yardstick_verify::tpm::parse_pcr_values;

fuzz_target!(|data: &[u8]| {
    let _ = parse_pcr_values(data, None);
    let sel = PcrSelection::new(&[(Algorithm::Sha256, &[0, 1, 2, 3, 4, 7, 9, 11])]);
    let _ = parse_pcr_values(data, Some(&sel));
});
