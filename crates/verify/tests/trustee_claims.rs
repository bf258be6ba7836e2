//! The claims of `yardstick_verify::claims` against the claims Trustee's own tests expect from the same
//! evidence (fixtures in `tests/fixtures/trustee`, provenance in its README).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use yardstick_verify::azure::TdQuote;

fn fixture(rel: &str) -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"));
    dir.join(rel)
}

/// trustee `deps/verifier/src/tdx/claims.rs` test `parse_tdx_claims`: `tdx_quote_4.dat` gives
/// `parse_tdx_claims_expected.json`. Every claim the quote alone decides is compared (the expected file also
/// has `uefi_event_logs` from a CCEL and `platform_instance_id` from the PCK certificate, which this function
/// does not produce).
#[test]
fn td_quote_claims_are_trustees() {
    let quote =
        TdQuote::parse(&std::fs::read(fixture("trustee/tdx_quote_4.dat")).unwrap()).unwrap();
    let expected: Value = serde_json::from_slice(
        &std::fs::read(fixture("trustee/parse_tdx_claims_expected.json")).unwrap(),
    )
    .unwrap();
    let got = yardstick_verify::claims::td_quote(&quote);
    for key in ["quote", "td_attributes", "report_data", "init_data"] {
        assert_eq!(got[key], expected[key], "{key}");
    }
    let mut keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["init_data", "quote", "report_data", "td_attributes"]);
}
