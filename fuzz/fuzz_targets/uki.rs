//! PE headers, UKI sections and the Authenticode digest on arbitrary bytes: errors, never panics; whatever
//! parses as PE can be hashed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_common::hash::Algorithm;
use yardstick_pe::{PeHeaders, Uki, authenticode_digest};

fuzz_target!(|data: &[u8]| {
    let headers = PeHeaders::parse(data);
    let _ = Uki::parse(data);
    if headers.is_ok() {
        let _ = authenticode_digest(data, Algorithm::Sha256);
    }
});
