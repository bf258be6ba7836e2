//! `yardstick verify azure` on real Azure confidential-VM evidence from trustee's verifier test data
//! (`azure-vtpm/{snp,tdx}/evidence-*.json`). The nonces are the ones trustee's own tests pass for these
//! files (`deps/verifier/src/az_snp_vtpm/mod.rs`): "challenge" for v0/v1, the 48-byte report data for v2 and
//! the Genoa evidence.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

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

/// The verification time of these tests: inside the validity of every certificate the evidence carries or
/// chains to (the Genoa VCEK from 2025-01-24, the Milan VCEK and the TDX PCK certificate until 2030), so that
/// the tests keep testing the evidence after its certificates expire.
const FIXTURE_TIME: &str = "2026-06-01T00:00:00Z";

fn verify(evidence: &Path, extra: &[&str]) -> Output {
    let mut cmd = yardstick();
    cmd.args(["verify", "azure", "--evidence"])
        .arg(evidence)
        .args(extra);
    if !extra.contains(&"--time") {
        cmd.args(["--time", FIXTURE_TIME]);
    }
    run(&mut cmd)
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

/// Certificates past their validity: the VCEK inside the v1 SNP evidence is valid 2025-01-28T16:26:55Z to
/// 2032-01-28T16:26:55Z (checked here with openssl), the TDX evidence's PCK certificate until 2030-09-13.
#[test]
fn expired_certificates_are_rejected() {
    use base64::Engine as _;
    let file = fixture("azure-vtpm/snp/evidence-v1.json");
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(
            load("azure-vtpm/snp/evidence-v1.json")["vcek"]
                .as_str()
                .unwrap()
                .trim_end_matches('='),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vcek = dir.path().join("vcek.der");
    std::fs::write(&vcek, der).unwrap();
    let dates = run_ok(
        std::process::Command::new(peer("openssl"))
            .args([
                "x509",
                "-inform",
                "der",
                "-noout",
                "-startdate",
                "-enddate",
                "-in",
            ])
            .arg(&vcek),
    );
    assert!(
        dates.contains("notBefore=Jan 28 16:26:55 2025 GMT")
            && dates.contains("notAfter=Jan 28 16:26:55 2032 GMT"),
        "{dates}"
    );
    let o = verify(&file, &["--time", "2032-01-28T16:26:56Z"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let fails: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .map(str::to_string)
        .collect();
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].starts_with(
            "FAIL  VCEK validity: expected valid 2025-01-28T16:26:55Z to 2032-01-28T16:26:55Z"
        ),
        "{fails:?}"
    );
    for ok in ["2032-01-28T16:26:55Z", "2025-01-28T16:26:55Z"] {
        let o = verify(&file, &["--time", ok]);
        assert_eq!(o.status.code(), Some(0), "{ok}: {}", stdout(&o));
    }
    let o = verify(&file, &["--time", "2025-01-28T16:26:54Z"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = verify(
        &fixture("azure-vtpm/tdx/evidence-v1.json"),
        &["--time", "2031-01-01T00:00:00Z"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FAIL  Intel SGX PCK Certificate validity"),
        "{}",
        stdout(&o)
    );
    let e = assert_clean_failure(
        &verify(
            &fixture("azure-vtpm/tdx/evidence-v1.json"),
            &["--time", "now"],
        ),
        2,
    );
    assert!(e.contains("--time"), "{e}");
}

/// The SNP report inside v1 evidence's HCL report (base64url; the report follows the 32-byte HCL header) and
/// its MEASUREMENT (report bytes 0x90..0xC0), and the evidence's PCR 11, independently of yardstick.
fn snp_measurement_and_pcr11(rel: &str) -> (String, String) {
    use base64::Engine as _;
    let ev = load(rel);
    let hcl = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(ev["hcl_report"].as_str().unwrap().trim_end_matches('='))
        .unwrap();
    (
        yardstick_common::hex::encode(&hcl[32 + 0x90..32 + 0xc0]),
        ev["tpm_quote"]["pcrs"][11].as_str().unwrap().to_string(),
    )
}

fn write_manifest(dir: &Path, name: &str, m: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, m.to_string()).unwrap();
    p.display().to_string()
}

/// `--refvals`: PCR 11 of the vTPM against the manifest's (any phase value), as Trustee's default policy
/// compares `snp_pcr11` / `tdx_pcr11`; other PCRs only with `--refvals-pcrs`; the SNP launch measurement
/// against the manifest's SEV-SNP digests when it lists any.
#[test]
fn evidence_against_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snp = "azure-vtpm/snp/evidence-v1.json";
    let (measurement, pcr11) = snp_measurement_and_pcr11(snp);
    let other = "ab".repeat(32);
    let launch = |m: &str| {
        serde_json::json!({"mode": "snp", "measurement": m, "vcpus": 2, "vcpu_sig": 0, "vmm_type": "qemu",
            "guest_features": 1, "kernel_hashes": false, "components": ["firmware"]})
    };
    let manifest = |pcrs: Value, phases: Value, snp: Vec<Value>| {
        serde_json::json!({"version": 1, "generator": "test", "components": [], "snp": snp,
            "tpm": {"pcrs": pcrs, "pcr11_phases": phases}})
    };

    // PCR 11 and the launch digest match; the manifest's PCR 4 (an OVMF prediction) is not compared.
    let good = write_manifest(
        d,
        "good.json",
        &manifest(
            serde_json::json!({"sha256": {"4": other, "11": pcr11}}),
            serde_json::json!([]),
            vec![launch(&"cd".repeat(48)), launch(&measurement)],
        ),
    );
    let o = verify(&fixture(snp), &["--nonce", CHALLENGE, "--refvals", &good]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("ok    PCR 11 sha256 ({good}): {pcr11}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok    launch measurement ({good}): {measurement}")),
        "{out}"
    );
    assert!(out.contains("only PCR 11 compared"), "{out}");
    assert!(!out.contains("PCR 4 sha256 ("), "{out}");
    // ... unless asked for.
    let o = verify(
        &fixture(snp),
        &["--refvals", &good, "--refvals-pcrs", "4,11"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let pcr4 = load(snp)["tpm_quote"]["pcrs"][4]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        stdout(&o).contains(&format!(
            "FAIL  PCR 4 sha256 ({good}): expected {other}, actual {pcr4}"
        )),
        "{}",
        stdout(&o)
    );

    // Another PCR 11, unless a phase value matches; another launch digest.
    let wrong = write_manifest(
        d,
        "wrong.json",
        &manifest(
            serde_json::json!({"sha256": {"11": other}}),
            serde_json::json!([]),
            vec![launch(&"cd".repeat(48))],
        ),
    );
    let o = verify(&fixture(snp), &["--refvals", &wrong]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "FAIL  PCR 11 sha256 ({wrong}): expected {other}, actual {pcr11}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FAIL  launch measurement ({wrong}): expected {}, actual {measurement}",
            "cd".repeat(48)
        )),
        "{out}"
    );
    let phased = write_manifest(
        d,
        "phased.json",
        &manifest(
            serde_json::json!({"sha256": {"11": other}}),
            serde_json::json!([{"phase": "", "pcrs": {"sha256": {"11": other}}},
                               {"phase": "enter-initrd", "pcrs": {"sha256": {"11": pcr11}}}]),
            vec![],
        ),
    );
    let o = verify(&fixture(snp), &["--refvals", &phased]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("launch measurement") && stdout(&o).contains("not compared"),
        "{}",
        stdout(&o)
    );

    // TDX evidence: PCR 11 compared, SNP digests noted as not applicable.
    let tdx = "azure-vtpm/tdx/evidence-v1.json";
    let tdx_pcr11 = load(tdx)["tpm_quote"]["pcrs"][11]
        .as_str()
        .unwrap()
        .to_string();
    let t = write_manifest(
        d,
        "tdx.json",
        &manifest(
            serde_json::json!({"sha256": {"11": tdx_pcr11}}),
            serde_json::json!([]),
            vec![launch(&measurement)],
        ),
    );
    let o = verify(&fixture(tdx), &["--refvals", &t]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("ok    PCR 11 sha256 (") && out.contains("do not apply to TDX evidence"),
        "{out}"
    );

    // Unusable: nothing to compare, --expected-pcrs together with --refvals, an unknown version.
    let empty = write_manifest(
        d,
        "empty.json",
        &serde_json::json!({"version": 1, "generator": "t"}),
    );
    let e = assert_clean_failure(&verify(&fixture(snp), &["--refvals", &empty]), 2);
    assert!(
        e.contains("empty.json") && e.contains("neither a tpm section"),
        "{e}"
    );
    let v9 = write_manifest(
        d,
        "v9.json",
        &serde_json::json!({"version": 9, "generator": "t"}),
    );
    let e = assert_clean_failure(&verify(&fixture(snp), &["--refvals", &v9]), 2);
    assert!(
        e.contains("v9.json") && e.contains("manifest version 9 is not supported"),
        "{e}"
    );
    let o = verify(
        &fixture(snp),
        &["--refvals", &good, "--expected-pcrs", &good],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// The evidence version is not signed, but version 2's nonce binding is: v2 evidence edited to say version 1
/// (which would drop the HCL user-data check) is rejected, because its signed user-data is set; a relying
/// party that states `--evidence-version 1` gets version 1's checks (user-data noted, not compared), and
/// `--evidence-version` must match what the evidence says. Genuine v0/v1 evidence (user-data zero) is
/// unaffected.
#[test]
fn evidence_version_follows_the_signed_user_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = load("azure-vtpm/snp/evidence-v2.json");
    assert_eq!(v["version"], 2);
    v["version"] = Value::from(1);
    let edited = dir.path().join("v2-as-v1.json");
    std::fs::write(&edited, serde_json::to_vec(&v).unwrap()).unwrap();

    let o = verify(&edited, &["--nonce", V2_NONCE]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let fails: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .map(str::to_string)
        .collect();
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].starts_with(
            "FAIL  evidence version (unsigned) agrees with the signed HCL user-data: expected version 2"
        ) && fails[0].contains("--evidence-version 1 accepts that"),
        "{fails:?}"
    );

    let o = verify(&edited, &["--nonce", V2_NONCE, "--evidence-version", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("ok    evidence version (as the relying party expects): 1")
            && stdout(&o).contains("not compared (evidence version 1)"),
        "{}",
        stdout(&o)
    );
    let o = verify(&edited, &["--nonce", V2_NONCE, "--evidence-version", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "FAIL  evidence version (as the relying party expects): expected 2, actual 1"
        ),
        "{}",
        stdout(&o)
    );

    // The real v2 evidence with its version stated; real v1 evidence is not v2.
    let v2 = fixture("azure-vtpm/snp/evidence-v2.json");
    let o = verify(&v2, &["--nonce", V2_NONCE, "--evidence-version", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("ok    HCL user-data = quote nonce (evidence v2)"),
        "{}",
        stdout(&o)
    );
    let v1 = fixture("azure-vtpm/snp/evidence-v1.json");
    for (ver, code) in [("1", 0), ("2", 1), ("0", 1)] {
        let o = verify(&v1, &["--nonce", CHALLENGE, "--evidence-version", ver]);
        assert_eq!(o.status.code(), Some(code), "{ver}: {}", stdout(&o));
    }
    // A usage error (clap's own message).
    let o = verify(&v1, &["--evidence-version", "3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--evidence-version"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `--require-nonce`: without a nonce the appraisal fails (freshness demanded); with the right one it passes.
/// `--allow-sha1` changes nothing for SHA-256 quotes (no check is weak).
#[test]
fn required_nonce_and_sha1_flag() {
    let v1 = fixture("azure-vtpm/snp/evidence-v1.json");
    let o = verify(&v1, &["--require-nonce"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "FAIL  quote nonce (extraData): expected a nonce to compare (freshness required)"
        ),
        "{}",
        stdout(&o)
    );
    let o = verify(
        &v1,
        &[
            "--require-nonce",
            "--nonce",
            CHALLENGE,
            "--allow-sha1",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(!stdout(&o).contains("\"weak\""), "{}", stdout(&o));
}
