//! Azure vTPM evidence on arbitrary bytes: the evidence JSON, the HCL report and the TDX quote inside it.
//! Errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_verify::azure::{AzureEvidence, HclReport, TdQuote};

fuzz_target!(|data: &[u8]| {
    let _ = AzureEvidence::parse(data);
    let _ = HclReport::parse(data);
    let _ = TdQuote::parse(data);
});
