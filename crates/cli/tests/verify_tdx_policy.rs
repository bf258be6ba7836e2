//! `verify tdx` as a relying party's policy input: the claims of a bare TD quote (with its CCEL) are the
//! claims Trustee's tdx verifier gives (its own test's expected output, and its `eventlog` crate's parse of
//! two real CCELs, compared whole); `refvals export --format rego` of a manifest holding a real quote's
//! MRTD/RTMRs affirms that quote through `verify tdx --policy` and refuses it for a manifest with another
//! RTMR 1, naming the claim; Trustee's default policy gives on these claims what its TDX rules say.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]
// integration tests: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use support::*;

const FIXTURE_TIME: &str = "2026-06-01T00:00:00Z";

fn cos_quote() -> PathBuf {
    fixture("tdx-quotes/go-tdx-guest-cos113-v4.dat")
}

fn verify(quote: &Path, extra: &[&str]) -> Output {
    run(yardstick()
        .args(["verify", "tdx", "--quote"])
        .arg(quote)
        .args(["--time", FIXTURE_TIME, "--json"])
        .args(extra))
}

fn json_of(o: &Output) -> (Value, i32) {
    let j = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), String::from_utf8_lossy(&o.stderr)));
    (j, o.status.code().unwrap())
}

fn trust(j: &Value) -> Value {
    let mut m = serde_json::Map::new();
    for c in j["policy"]["trust_claims"].as_array().unwrap() {
        m.insert(c["name"].as_str().unwrap().into(), c["value"].clone());
    }
    Value::Object(m)
}

fn reasons(j: &Value, claim: &str) -> String {
    j["policy"]["trust_claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == claim)
        .map(|c| c["reasons"].to_string())
        .unwrap_or_default()
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

/// Trustee's `parse_tdx_claims` test: `tdx_quote_4.dat` with `CCEL_data` gives
/// `parse_tdx_claims_expected.json`; the whole claims object (quote, td_attributes, report_data, init_data,
/// uefi_event_logs, platform_instance_id) is equal.
#[test]
fn claims_with_a_ccel_are_trustees() {
    let (j, _) = json_of(&verify(
        &fixture("trustee/tdx_quote_4.dat"),
        &["--ccel", fixture("trustee/CCEL_data").to_str().unwrap()],
    ));
    let expected: Value = serde_json::from_slice(
        &std::fs::read(fixture("trustee/parse_tdx_claims_expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(j["tee"], "tdx");
    assert_eq!(j["claims"], expected);

    // Trustee's eventlog crate on the OVMF and GRUB CCELs: every event's index, type, digests, data,
    // digest_matches_event and details. (These logs are of other TDs than the quote: the appraisal rejects
    // the replay, the claims are built all the same.)
    for name in ["ovmf", "grub"] {
        let (j, code) = json_of(&verify(
            &fixture("tdx-quotes/trustee-v4-b.dat"),
            &[
                "--ccel",
                fixture(&format!("tdx-ccel/CCEL_data_{name}"))
                    .to_str()
                    .unwrap(),
            ],
        ));
        assert_eq!(code, 1, "another TD's log");
        let want: Value = serde_json::from_slice(
            &std::fs::read(fixture(&format!("trustee/CCEL_data_{name}_out.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            j["claims"]["uefi_event_logs"], want["uefi_event_logs"],
            "{name}"
        );
    }
    // Without --ccel there are no uefi_event_logs.
    let (j, _) = json_of(&verify(&cos_quote(), &[]));
    assert!(j["claims"].get("uefi_event_logs").is_none());
}

/// A manifest whose tdx[] holds the COS TD quote's MRTD/RTMRs (read from `verify tdx --json`'s claims):
/// the exported policy (which covers tdx because the manifest has a tdx section) affirms executables;
/// a manifest with another RTMR 1 gives contraindicated executables, naming rtmr_1.
#[test]
fn exported_policy_affirms_the_quote_and_refuses_another_rtmr1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ccel = fixture("tdx-quotes/go-tdx-guest-cos113-ccel.dat");
    let (j, code) = json_of(&verify(&cos_quote(), &[]));
    assert_eq!(code, 0, "{j}");
    let body = &j["claims"]["quote"]["body"];
    let manifest = |name: &str, rtmr1: &Value| {
        write(
            d,
            name,
            &json!({"version": 1, "generator": "test", "components": [], "tdx": [{
                "mrtd": body["mr_td"], "rtmr1": rtmr1, "rtmr2": body["rtmr_2"],
                "memory_mib": 2048, "vcpus": 2, "mrtd_order": "single-pass"}]}),
        )
    };
    let good = manifest("good.json", &body["rtmr_1"]);
    let policy = d.join("policy.rego");
    run_ok(
        yardstick()
            .args(["refvals", "export"])
            .arg(&good)
            .args(["--format", "rego", "--output"])
            .arg(&policy),
    );
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("input.tdx"), "the policy covers tdx");
    // The RVPS message of the manifest names the values the policy reads.
    let rvps = run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(&good),
    );
    let payload = rvps_payload(&serde_json::from_str(&rvps).unwrap());
    assert_eq!(payload["rtmr_1"], json!([body["rtmr_1"]]));

    let p = policy.to_str().unwrap();
    let (j, code) = json_of(&verify(
        &cos_quote(),
        &[
            "--refvals",
            good.to_str().unwrap(),
            "--ccel",
            ccel.to_str().unwrap(),
            "--policy",
            p,
        ],
    ));
    assert_eq!(trust(&j)["executables"], 3, "{j}");
    assert_eq!(trust(&j)["configuration"], 2, "{j}");
    // The TCB status needs Intel collateral, which Trustee turns into claims and yardstick does not.
    assert!(reasons(&j, "hardware").contains("tcb_status"), "{j}");
    assert_eq!(code, 0, "{j}");

    let other = manifest("other.json", &json!("ab".repeat(48)));
    let (j, code) = json_of(&verify(
        &cos_quote(),
        &["--refvals", other.to_str().unwrap(), "--policy", p],
    ));
    assert_eq!(code, 1);
    assert_eq!(trust(&j)["executables"], 96, "{j}");
    assert!(reasons(&j, "executables").contains("rtmr_1"), "{j}");
    // The same manifest through --reference (its RVPS message) instead of --refvals: the same verdict, and
    // the appraisal's own MRTD/RTMR comparison is not run.
    let msg = d.join("other-rvps.json");
    run_ok(
        yardstick()
            .args(["refvals", "export", "--format", "rvps"])
            .arg(&other)
            .arg("--output")
            .arg(&msg),
    );
    let (j, code) = json_of(&verify(
        &cos_quote(),
        &["--policy", p, "--reference", msg.to_str().unwrap()],
    ));
    assert_eq!((code, &trust(&j)["executables"]), (1, &json!(96)), "{j}");
}

/// Trustee's default policy (ear_default_policy_cpu.rego) on our tdx claims, tier by tier as its TDX rules
/// read them: rtmr_1/rtmr_2 registered and the event log of a GRUB boot (the COS TD: no `File(kernel)`
/// event) give executables 4 (its "Grub boot used by GKE" rule); an OVMF direct boot's log (`File(kernel)`
/// boot application and the `LOADED_IMAGE::LoadOptions` tag, with tdvfkernel/tdvfkernelparams registered)
/// gives 3; xfam registered and debug off give configuration 2; without collateral there is no
/// tcb_status, so hardware stays 97; nothing registered: executables 33, configuration 36.
#[test]
fn trustee_default_policy_on_tdx_claims() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policy = fixture("trustee/ear_default_policy_cpu.rego");
    let p = policy.to_str().unwrap();
    let cos_ccel = fixture("tdx-quotes/go-tdx-guest-cos113-ccel.dat");
    let (j, _) = json_of(&verify(&cos_quote(), &[]));
    let body = j["claims"]["quote"]["body"].clone();
    let refs = write(
        d,
        "refs.json",
        &json!({"rtmr_1": [body["rtmr_1"]], "rtmr_2": [body["rtmr_2"]],
                "mr_td": [body["mr_td"]], "xfam": [body["xfam"]]}),
    );
    let (j, code) = json_of(&verify(
        &cos_quote(),
        &[
            "--ccel",
            cos_ccel.to_str().unwrap(),
            "--policy",
            p,
            "--reference",
            refs.to_str().unwrap(),
        ],
    ));
    let t = trust(&j);
    assert_eq!(
        (&t["executables"], &t["hardware"], &t["configuration"]),
        (&json!(4), &json!(97), &json!(2)),
        "{j}"
    );
    assert_eq!(code, 0, "{j}");
    let (j, code) = json_of(&verify(&cos_quote(), &["--policy", p]));
    let t = trust(&j);
    assert_eq!(
        (code, &t["executables"], &t["configuration"]),
        (1, &json!(33), &json!(36)),
        "{j}"
    );

    // An OVMF direct boot's log (Trustee's CCEL_data_ovmf, of another TD than this quote: the appraisal
    // rejects the replay, the policy reads the claims) with the quote's RTMRs and the log's kernel and
    // command-line digests registered.
    let quote = fixture("tdx-quotes/trustee-v4-b.dat");
    let ovmf = fixture("tdx-ccel/CCEL_data_ovmf");
    let (j, _) = json_of(&verify(&quote, &["--ccel", ovmf.to_str().unwrap()]));
    let claims = &j["claims"];
    let events = claims["uefi_event_logs"].as_array().unwrap();
    let digest_of = |pred: &dyn Fn(&Value) -> bool| {
        events.iter().find(|e| pred(e)).unwrap()["digests"][0]["digest"].clone()
    };
    let kernel = digest_of(&|e| {
        e["type_name"] == "EV_EFI_BOOT_SERVICES_APPLICATION"
            && e["details"]["device_paths"]
                .as_array()
                .is_some_and(|p| p.contains(&json!("File(kernel)")))
    });
    let params = digest_of(&|e| {
        e["type_name"] == "EV_EVENT_TAG" && e["details"]["string"] == "LOADED_IMAGE::LoadOptions"
    });
    let b = &claims["quote"]["body"];
    let refs = write(
        d,
        "ovmf-refs.json",
        &json!({"rtmr_1": [b["rtmr_1"]], "rtmr_2": [b["rtmr_2"]],
                "tdvfkernel": kernel, "tdvfkernelparams": params}),
    );
    let run_with = |refs: &Path| {
        json_of(&verify(
            &quote,
            &[
                "--ccel",
                ovmf.to_str().unwrap(),
                "--policy",
                p,
                "--reference",
                refs.to_str().unwrap(),
            ],
        ))
    };
    let (j, _) = run_with(&refs);
    assert_eq!(trust(&j)["executables"], 3, "{j}");
    // Another kernel digest: the direct-boot rule fails, the GRUB rule still holds.
    let other = write(
        d,
        "ovmf-other.json",
        &json!({"rtmr_1": [b["rtmr_1"]], "rtmr_2": [b["rtmr_2"]],
                "tdvfkernel": "00".repeat(48), "tdvfkernelparams": params}),
    );
    let (j, _) = run_with(&other);
    assert_eq!(trust(&j)["executables"], 4, "{j}");
}
