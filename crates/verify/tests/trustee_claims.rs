//! The claims of `yardstick_verify::claims` against the claims Trustee's own tests expect from the same
//! evidence (fixtures in `tests/fixtures/trustee`, provenance in its README).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use yardstick_verify::tdx::TdQuote;

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

/// The `tdx` rules of `refvals export --format rego` on the claims of a real TD quote (Trustee's test quote):
/// with its MRTD and RTMRs registered under Trustee's names, executables is affirming; with another RTMR 1,
/// contraindicated and named; that quote's TD allows debugging, so configuration is contraindicated; the TCB
/// status needs Intel collateral, so hardware is not recognized.
#[cfg(feature = "policy")]
#[test]
fn exported_tdx_rules_on_a_real_quote() {
    use yardstick_refvals::rego::{Evidence, policy};
    use yardstick_verify::claims::Claims;
    use yardstick_verify::policy::{Reference, evaluate};

    let quote =
        TdQuote::parse(&std::fs::read(fixture("trustee/tdx_quote_4.dat")).unwrap()).unwrap();
    let claims = Claims {
        tee: Evidence::Tdx,
        claims: yardstick_verify::claims::td_quote(&quote),
    };
    let body = claims.claims["quote"]["body"].clone();
    let text = policy(&[Evidence::Tdx]);
    let mut refs = Reference::default();
    for name in ["mr_td", "rtmr_1", "rtmr_2"] {
        refs.insert(name, serde_json::json!([body[name]]));
    }
    let v = evaluate(&text, &claims, &refs).unwrap();
    let value = |n: &str| v.claim(n).unwrap().value;
    assert_eq!(value("executables"), 3);
    assert_eq!(value("configuration"), 96);
    assert_eq!(
        v.claim("configuration").unwrap().reasons,
        ["tdx.td_attributes.debug is true, expected false"]
    );
    assert_eq!(value("hardware"), 97);
    assert_eq!(
        v.claim("hardware").unwrap().reasons,
        ["tdx.tcb_status is not in the claims"]
    );

    let mut other = Reference::default();
    other.insert("mr_td", serde_json::json!([body["mr_td"]]));
    other.insert("rtmr_1", serde_json::json!(["00".repeat(48)]));
    other.insert("rtmr_2", serde_json::json!([body["rtmr_2"]]));
    let v = evaluate(&text, &claims, &other).unwrap();
    assert_eq!(v.claim("executables").unwrap().value, 96);
    let r = &v.claim("executables").unwrap().reasons;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with(&format!(
        "tdx.quote.body.rtmr_1 {} is not a registered rtmr_1",
        body["rtmr_1"].as_str().unwrap()
    )));
}
