//! PCR-list parsing (tpm2_pcrread text, JSON) on arbitrary text: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(list) = yardstick_tpm::pcrlist::parse(text)
    {
        assert!(!list.pcrs.is_empty());
    }
});
