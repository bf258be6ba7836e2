//! Reference-value manifests (JSON) on arbitrary bytes: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_refvals::Manifest;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::from_json(data);
});
