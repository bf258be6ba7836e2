//! OVMF_VARS (UEFI authenticated variable store) on arbitrary bytes: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tpm::predict::SecureBootVars;

fuzz_target!(|data: &[u8]| {
    let _ = SecureBootVars::from_vars_fd(data);
});
