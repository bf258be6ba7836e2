//! `yardstick verify azure` on real Azure confidential-VM evidence from trustee's verifier test data
//! (`azure-vtpm/{snp,tdx}/evidence-*.json`). The nonces are the ones trustee's own tests pass for these
//! files (`deps/verifier/src/az_snp_vtpm/mod.rs`): "challenge" for v0/v1, the 48-byte report data for v2 and
//! the Genoa evidence.

// Test helpers panic on a broken fixture or peer, like the tests themselves (clippy.toml allows unwrap
// only inside #[test] functions).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::*;

const CHALLENGE: &str = "6368616c6c656e6765";
const V2_NONCE: &str = "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef";
const GENOA_NONCE: &str = "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f";

fn verify(evidence: &Path, extra: &[&str]) -> Output {
    run(yardstick()
        .args(["verify", "azure", "--evidence"])
        .arg(evidence)
        .args(extra))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_rejected(o: &Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{what}: panic: {err}");
    match o.status.code() {
        Some(1) => assert!(
            stdout(o).contains("FAIL"),
            "{what}: exit 1 without a FAIL line"
        ),
        Some(2) => {
            assert_clean_failure(o, 2);
        }
        c => panic!("{what}: accepted or crashed ({c:?}):\n{}\n{err}", stdout(o)),
    }
}

#[test]
fn all_evidence_versions_verify() {
    let cases = [
        ("azure-vtpm/snp/evidence-v0.json", CHALLENGE, "SNP"),
        ("azure-vtpm/snp/evidence-v1.json", CHALLENGE, "SNP"),
        ("azure-vtpm/snp/evidence-v2.json", V2_NONCE, "SNP"),
        ("azure-vtpm/snp/evidence-genoa.json", GENOA_NONCE, "SNP"),
        ("azure-vtpm/tdx/evidence-v0.json", CHALLENGE, "TDX"),
        ("azure-vtpm/tdx/evidence-v1.json", CHALLENGE, "TDX"),
    ];
    for (file, nonce, kind) in cases {
        let o = verify(&fixture(file), &["--nonce", nonce]);
        let out = stdout(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{file}:\n{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut names = vec![
            "quote signature (AK, rsassa sha256, raw signature)",
            "quote nonce (extraData)",
            "PCR digest of the supplied values = quoted",
        ];
        if kind == "SNP" {
            names.extend([
                "SNP report_data = sha256(HCL runtime data)",
                "ARK is an AMD root",
                "report signature (VCEK, ECDSA P-384 SHA-384)",
                "VCEK hwID = report CHIP_ID",
                "VMPL",
            ]);
        } else {
            names.extend([
                "TD quote report_data = sha256(HCL runtime data)",
                "TD quote signature (attestation key, ECDSA P-256 SHA-256)",
                "QE report binds the attestation key",
                "QE report signature (PCK certificate, ECDSA P-256 SHA-256)",
                "Intel SGX Root CA (SHA-256 pin)",
                "HCL TDREPORT = TD quote body",
            ]);
            assert!(out.contains("not checked offline"), "{file}: {out}");
        }
        if file.ends_with("v2.json") {
            names.push("HCL user-data = quote nonce (evidence v2)");
        }
        for n in names {
            assert!(
                out.contains(&format!("ok    {n}")),
                "{file}: {n} missing:\n{out}"
            );
        }

        let o = verify(&fixture(file), &["--nonce", "00112233"]);
        assert_eq!(o.status.code(), Some(1), "{file}: wrong nonce accepted");
        assert!(
            stdout(&o).contains("FAIL  quote nonce (extraData): expected 00112233"),
            "{}",
            stdout(&o)
        );
    }
    // Without a nonce everything else still verifies, and the output says freshness was not checked.
    let o = verify(&fixture("azure-vtpm/snp/evidence-v1.json"), &["--json"]);
    assert_eq!(o.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["status"], "affirming");
    assert!(
        j["notes"].to_string().contains("freshness is not checked"),
        "{j}"
    );
}

/// Rewrites one byte of a byte-array field of v0 evidence.
fn with_byte(ev: &Value, path: &[&str], pos: usize, dir: &Path) -> std::path::PathBuf {
    let mut v = ev.clone();
    let mut cur = &mut v;
    for k in path {
        cur = match k.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*k],
        };
    }
    let b = cur[pos].as_u64().unwrap();
    cur[pos] = Value::from(b ^ 1);
    let p = dir.join("changed.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

fn load(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

fn bytes(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect()
}

/// SEV-SNP evidence (v0, where byte strings are JSON arrays): a change to the signed SNP report, its
/// signature, the HCL runtime data (which holds the AK), the TPM quote, its signature, a PCR value, or the
/// VCEK is rejected.
#[test]
fn snp_evidence_rejects_any_changed_byte() {
    let ev = load("azure-vtpm/snp/evidence-v0.json");
    let dir = tempfile::tempdir().unwrap();
    let hcl = bytes(&ev["report"]);
    let var_len = le32(&hcl, 0x4c0 + 16);
    let report: Vec<usize> = (0x20..0x20 + 0x2a0)
        .step_by(7)
        .chain((0x2c0..0x2c0 + 144).step_by(5))
        .collect();
    let runtime: Vec<usize> = (0x4d4..0x4d4 + var_len).step_by(13).collect();
    let msg_len = ev["quote"]["message"].as_array().unwrap().len();
    let sig_len = ev["quote"]["signature"].as_array().unwrap().len();
    let mut n = 0;
    for (path, positions) in [
        (vec!["report"], report),
        (vec!["report"], runtime),
        (vec!["quote", "message"], (0..msg_len).step_by(2).collect()),
        (
            vec!["quote", "signature"],
            (0..sig_len).step_by(7).collect(),
        ),
        (vec!["quote", "pcrs", "0"], vec![0, 31]),
        (vec!["quote", "pcrs", "11"], vec![5]),
    ] {
        for pos in positions {
            let p = with_byte(&ev, &path, pos, dir.path());
            assert_rejected(
                &verify(&p, &["--nonce", CHALLENGE]),
                &format!("{path:?}[{pos}]"),
            );
            n += 1;
        }
    }
    // The VCEK (PEM text in v0): change base64 characters of its body.
    let pem = ev["vcek"].as_str().unwrap().to_string();
    let body_start = pem.find('\n').unwrap() + 1;
    let body_end = pem.find("-----END").unwrap();
    for pos in (body_start..body_end)
        .step_by(17)
        .filter(|i| pem.as_bytes()[*i].is_ascii_alphanumeric())
    {
        let mut b = pem.clone().into_bytes();
        b[pos] ^= 1;
        let mut v = ev.clone();
        v["vcek"] = Value::from(String::from_utf8(b).unwrap());
        let p = dir.path().join("vcek.json");
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        assert_rejected(
            &verify(&p, &["--nonce", CHALLENGE]),
            &format!("vcek[{pos}]"),
        );
        n += 1;
    }
    assert!(n > 300, "{n}");
}

/// TDX evidence (v0): a change to the signed TD quote header and body, its signature, attestation key, QE
/// report, QE report signature, QE authentication data or PCK chain, to the HCL TDREPORT fields the quote
/// repeats, or to the HCL runtime data is rejected.
#[test]
fn tdx_evidence_rejects_any_changed_byte() {
    let ev = load("azure-vtpm/tdx/evidence-v0.json");
    let dir = tempfile::tempdir().unwrap();
    let q = bytes(&ev["td_quote"]);
    let sig_len = le32(&q, 632);
    let hcl = bytes(&ev["hcl_report"]);
    let var_len = le32(&hcl, 0x4c0 + 16);
    let signed: Vec<usize> = (0..632).step_by(5).collect();
    // signature, attestation key, cert data header, QE report, its signature, auth data, PCK header.
    let sigdata: Vec<usize> = (636..636 + 134 + 384 + 64 + 2 + 32 + 6)
        .step_by(3)
        .collect();
    let pck_start = 636 + 134 + 384 + 64 + 2 + 32 + 6;
    let pck: Vec<usize> = (pck_start..636 + sig_len)
        .step_by(29)
        .filter(|i| q[*i].is_ascii_alphanumeric())
        .collect();
    let td_report: Vec<usize> = (0x20 + 128..0x20 + 192)
        .chain(0x20 + 264..0x20 + 384)
        .chain(0x20 + 512..0x20 + 912)
        .step_by(9)
        .collect();
    let runtime: Vec<usize> = (0x4d4..0x4d4 + var_len).step_by(13).collect();
    let mut n = 0;
    for (field, positions) in [
        ("td_quote", signed),
        ("td_quote", sigdata),
        ("td_quote", pck),
        ("hcl_report", td_report),
        ("hcl_report", runtime),
    ] {
        for pos in positions {
            let p = with_byte(&ev, &[field], pos, dir.path());
            assert_rejected(
                &verify(&p, &["--nonce", CHALLENGE]),
                &format!("{field}[{pos}]"),
            );
            n += 1;
        }
    }
    assert!(n > 400, "{n}");
}

#[test]
fn bad_evidence_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let v1 = load("azure-vtpm/snp/evidence-v1.json");

    let mut v = v1.clone();
    v.as_object_mut().unwrap().remove("tpm_quote");
    let e = assert_clean_failure(&verify(&write("no-quote.json", &v), &[]), 2);
    assert!(
        e.contains("no-quote.json") && e.contains("tpm_quote"),
        "{e}"
    );

    let mut v = v1.clone();
    v["tpm_quote"].as_object_mut().unwrap().remove("pcrs");
    let e = assert_clean_failure(&verify(&write("no-pcrs.json", &v), &[]), 2);
    assert!(e.contains("tpm_quote.pcrs"), "{e}");

    let mut v = v1.clone();
    v["version"] = Value::from(7);
    let e = assert_clean_failure(&verify(&write("v7.json", &v), &[]), 2);
    assert!(e.contains("unknown evidence version 7"), "{e}");

    let mut v = v1.clone();
    v["hcl_report"] = Value::from("SENMQQ");
    let e = assert_clean_failure(&verify(&write("short-hcl.json", &v), &[]), 2);
    assert!(e.contains("HCL report"), "{e}");

    let mut v = v1.clone();
    v["tpm_quote"]["message"] = Value::from("ff544347");
    let e = assert_clean_failure(&verify(&write("short-msg.json", &v), &[]), 2);
    assert!(e.contains("TPMS_ATTEST") && e.contains("truncated"), "{e}");

    let mut v = v1.clone();
    v["vcek"] = Value::from("AAAA");
    let e = assert_clean_failure(&verify(&write("bad-vcek.json", &v), &[]), 2);
    assert!(e.contains("VCEK"), "{e}");

    let p = dir.path().join("not.json");
    std::fs::write(&p, b"\x00\x01 not json").unwrap();
    let e = assert_clean_failure(&verify(&p, &[]), 2);
    assert!(e.contains("not.json") && e.contains("not JSON"), "{e}");
}
