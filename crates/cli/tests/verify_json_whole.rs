//! `--json` never shortens a value: every check's `expected` and `actual` carry whole digests, fingerprints
//! and identifiers (text output may say the same; JSON is what programs compare). Each verify command that
//! has offline evidence runs here with real fixtures (the Milan report of virtee/sev, trustee's Azure SNP
//! and TDX vTPM evidence); the VCEK key fingerprints and the ARK pins are recomputed with openssl.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::*;

const FIXTURE_TIME: &str = "2026-06-01T00:00:00Z";

/// Every string in `v`.
fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// No string of the appraisal is cut short with an ellipsis.
fn assert_no_ellipsis(j: &Value, what: &str) {
    let mut all = Vec::new();
    strings(j, &mut all);
    for s in all {
        assert!(
            !s.contains('…') && !s.contains("..."),
            "{what}: a shortened value: {s:?}"
        );
    }
}

/// The check named `name` (a prefix).
fn check<'j>(j: &'j Value, name: &str) -> &'j Value {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no check {name}: {j}"))
}

fn openssl(args: &[&str]) -> String {
    let o = run(Command::new(peer("openssl")).args(args));
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// SHA-256 of an ECDSA P-384 certificate key's uncompressed point (`04 || X || Y`, the last 97 bytes of
/// its SubjectPublicKeyInfo), by openssl.
fn p384_key_fingerprint(cert_pem: &Path, dir: &Path) -> String {
    let (spki, point) = (dir.join("spki.der"), dir.join("point.bin"));
    let pubkey = openssl(&[
        "x509",
        "-in",
        cert_pem.to_str().unwrap(),
        "-pubkey",
        "-noout",
    ]);
    let pub_pem = dir.join("pub.pem");
    std::fs::write(&pub_pem, pubkey).unwrap();
    openssl(&[
        "pkey",
        "-pubin",
        "-in",
        pub_pem.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        spki.to_str().unwrap(),
    ]);
    let der = std::fs::read(&spki).unwrap();
    std::fs::write(&point, &der[der.len() - 97..]).unwrap();
    let out = openssl(&["dgst", "-sha256", "-r", point.to_str().unwrap()]);
    out.split_whitespace().next().unwrap().to_string()
}

/// The SHA-256 fingerprint of a certificate, by openssl (lower-case hex, no colons).
fn cert_fingerprint(cert_pem: &Path) -> String {
    let out = openssl(&[
        "x509",
        "-in",
        cert_pem.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    out.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase()
}

#[test]
fn verify_snp_json_values_are_whole() {
    let dir = tempfile::tempdir().unwrap();
    let vcek_pem = dir.path().join("vcek.pem");
    openssl(&[
        "x509",
        "-inform",
        "der",
        "-in",
        fixture("snp-reports/vcek_milan.der").to_str().unwrap(),
        "-out",
        vcek_pem.to_str().unwrap(),
    ]);
    // A wrong measurement, so that a failed check shows both sides.
    let o = run(yardstick()
        .args([
            "verify",
            "snp",
            "--json",
            "--time",
            FIXTURE_TIME,
            "--report",
        ])
        .arg(fixture("snp-reports/report_milan.hex"))
        .arg("--vcek")
        .arg(&vcek_pem)
        .args(["--measurement", &"ab".repeat(48)]));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_no_ellipsis(&j, "verify snp");
    let pins = check(&j, "ARK is an AMD root")["expected"]
        .as_str()
        .unwrap();
    for product in ["milan", "genoa", "turin"] {
        let fp = cert_fingerprint(&fixture(&format!("amd-kds/{product}/ark.pem")));
        assert!(
            pins.contains(&fp),
            "{product} pin {fp} not whole in {pins:?}"
        );
    }
    let fp = p384_key_fingerprint(&vcek_pem, dir.path());
    let sig = check(&j, "report signature (VCEK")["expected"]
        .as_str()
        .unwrap();
    assert!(sig.ends_with(&format!(" {fp}")), "{sig:?} vs {fp}");
    let m = check(&j, "launch measurement");
    assert_eq!(m["expected"], "ab".repeat(48));
    assert_eq!(m["actual"].as_str().unwrap().len(), 96);
}

#[test]
fn verify_azure_json_values_are_whole() {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "azure-vtpm/snp/evidence-v1.json",
        "azure-vtpm/snp/evidence-genoa.json",
        "azure-vtpm/tdx/evidence-v1.json",
    ] {
        let o = run(yardstick()
            .args([
                "verify",
                "azure",
                "--json",
                "--time",
                FIXTURE_TIME,
                "--evidence",
            ])
            .arg(fixture(file))
            .args(["--nonce", "00"]));
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stdout(&o));
        let j: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_no_ellipsis(&j, file);
        // The AK's fingerprint: a whole SHA-256.
        let ak = check(&j, "quote signature (AK")["expected"]
            .as_str()
            .unwrap();
        let fp = ak.rsplit(' ').next().unwrap();
        assert!(
            fp.len() == 64 && fp.bytes().all(|b| b.is_ascii_hexdigit()),
            "{file}: {ak:?}"
        );
        let nonce = check(&j, "quote nonce");
        assert_eq!(nonce["expected"], "00", "{file}");
        if file.contains("/snp/") {
            let ev: Value = serde_json::from_slice(&std::fs::read(fixture(file)).unwrap()).unwrap();
            let vcek = dir.path().join("vcek.pem");
            // Trustee's evidence carries the VCEK as PEM, or as base64 DER (standard or URL-safe alphabet).
            let text = ev["vcek"].as_str().unwrap();
            let b64: String = text
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .filter(|c| *c != '=')
                .collect();
            let mut body = String::new();
            for (i, c) in b64.chars().enumerate() {
                if i > 0 && i % 64 == 0 {
                    body.push('\n');
                }
                body.push(c);
            }
            let pad = "=".repeat((4 - b64.len() % 4) % 4);
            let pem =
                format!("-----BEGIN CERTIFICATE-----\n{body}{pad}\n-----END CERTIFICATE-----\n");
            if text.starts_with("-----BEGIN") {
                std::fs::write(&vcek, text).unwrap();
            } else {
                std::fs::write(&vcek, pem).unwrap();
            }
            let fp = p384_key_fingerprint(&vcek, dir.path());
            let sig = check(&j, "report signature (VCEK")["expected"]
                .as_str()
                .unwrap();
            assert!(sig.ends_with(&format!(" {fp}")), "{file}: {sig:?} vs {fp}");
        }
    }
}
