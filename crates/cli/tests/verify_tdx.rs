//! `yardstick verify tdx` on real TD quotes (`tests/fixtures/tdx-quotes`: go-tdx-guest's and Trustee's quotes
//! v4 and v5, a COS TD's quote with its CCEL, go-tdx-guest's Intel PCS collateral). Mutations of each input
//! must be rejected with the check they break named; hostile input exits 2 with one line.
//!
//! Field offsets used to mutate quotes are the Intel DCAP quote layout (header 48 bytes, TD 1.0 body 584:
//! MRTD at body+136, RTMRs at body+328, REPORTDATA at body+520; v5 adds a 6-byte body descriptor), written
//! out here independently of the parser under test.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::*;
use yardstick_common::hex;

/// Inside the validity of every PCK chain below (the latest PCK certificate is from 2026-01-27).
const FIXTURE_TIME: &str = "2026-06-01T00:00:00Z";
/// Inside the validity of go-tdx-guest's 2023 collateral and of the SPR quote's PCK chain.
const COLLATERAL_TIME: &str = "2023-06-20T00:00:00Z";

fn q(name: &str) -> PathBuf {
    fixture(&format!("tdx-quotes/{name}"))
}

fn verify(quote: &Path, extra: &[&str]) -> Output {
    let mut cmd = yardstick();
    cmd.args(["verify", "tdx", "--quote"])
        .arg(quote)
        .args(extra);
    if !extra.contains(&"--time") {
        cmd.args(["--time", FIXTURE_TIME]);
    }
    run(&mut cmd)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).expect("appraisal JSON")
}

/// The names of the failed checks.
fn failed(o: &Output) -> Vec<String> {
    let v = json(o);
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Exit 1 and exactly these checks failed (by name prefix).
fn assert_fails_only(o: &Output, want: &[&str], what: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let f = failed(o);
    assert_eq!(f.len(), want.len(), "{what}: failed {f:?}, want {want:?}");
    for (got, w) in f.iter().zip(want) {
        assert!(got.starts_with(w), "{what}: failed {f:?}, want {want:?}");
    }
}

fn body_offset(quote: &[u8]) -> usize {
    if quote[0] == 5 { 48 + 6 } else { 48 }
}

fn body_len(quote: &[u8]) -> usize {
    if quote[0] == 5 && quote[48] == 3 {
        648
    } else {
        584
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const QUOTES: [&str; 6] = [
    "go-tdx-guest-v4-spr.dat",
    "go-tdx-guest-v5.dat",
    "go-tdx-guest-cos113-v4.dat",
    "trustee-v4.dat",
    "trustee-v4-b.dat",
    "trustee-v5.dat",
];

/// Every real quote verifies without collateral (and says what was not checked), except Trustee's quote of
/// a debug TD, which fails only the debug check. Versions and body kinds are the files'.
#[test]
fn real_quotes_verify() {
    for name in QUOTES {
        let path = q(name);
        let bytes = std::fs::read(&path).unwrap();
        let out = verify(&path, &["--json"]);
        if name == "trustee-v4.dat" {
            assert_eq!(bytes[48 + 120] & 1, 1, "the debug TD's TDATTRIBUTES");
            assert_fails_only(&out, &["TD attributes: debug"], name);
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name}: {}{}",
                stdout(&out),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v = json(&out);
        let notes = v["notes"].to_string();
        assert!(notes.contains("not checked (no --collateral)"), "{notes}");
        let version = u16::from_le_bytes([bytes[0], bytes[1]]);
        assert!(notes.contains(&format!("TD quote v{version} (")), "{notes}");
        let td15 = body_len(&bytes) == 648;
        assert!(
            notes.contains(if td15 { "TD 1.5 body" } else { "TD 1.0 body" }),
            "{name}: {notes}"
        );
        // The checks a bare quote always gets.
        for check in [
            "TD quote signature (attestation key, ECDSA P-256 SHA-256)",
            "QE report binds the attestation key",
            "Intel SGX Root CA (SHA-256 pin)",
            "QE report signature (PCK certificate, ECDSA P-256 SHA-256)",
        ] {
            assert!(v["checks"].to_string().contains(check), "{name}: {check}");
        }
    }
}

/// A changed byte anywhere in the signed header and body, the signature, the attestation key or the QE
/// report is rejected, and the check named is the one the byte belongs to.
#[test]
fn mutations_name_the_broken_check() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["go-tdx-guest-v5.dat", "trustee-v4-b.dat"] {
        let orig = std::fs::read(q(name)).unwrap();
        let body_end = body_offset(&orig) + body_len(&orig);
        let sig = body_end + 4;
        let qe_report = sig + 128 + 6;
        let cases: Vec<(usize, Vec<&str>)> = vec![
            // header: QE SVN, then the QE vendor id (12..28, also checked by name)
            (9, vec!["TD quote signature"]),
            (
                20,
                vec!["TD quote QE vendor is Intel", "TD quote signature"],
            ),
            // MRTD, an RTMR, REPORTDATA in the body
            (body_offset(&orig) + 140, vec!["TD quote signature"]),
            (body_offset(&orig) + 330, vec!["TD quote signature"]),
            (body_offset(&orig) + 530, vec!["TD quote signature"]),
            // the signature
            (sig + 5, vec!["TD quote signature"]),
            (sig + 40, vec!["TD quote signature"]),
            // the QE report: its signature by the PCK fails
            (qe_report + 20, vec!["QE report signature"]),
            // the QE report's REPORTDATA: the binding and the signature fail
            (
                qe_report + 330,
                vec!["QE report binds the attestation key", "QE report signature"],
            ),
            // the QE report signature
            (qe_report + 384 + 10, vec!["QE report signature"]),
        ];
        for (pos, want) in cases {
            let mut b = orig.clone();
            b[pos] ^= 0x01;
            let p = write(dir.path(), "m.dat", &b);
            assert_fails_only(&verify(&p, &["--json"]), &want, &format!("{name}[{pos}]"));
        }
        // The attestation key: the quote signature no longer verifies with it (or it is no curve point),
        // and the QE report no longer binds it.
        let mut b = orig.clone();
        b[sig + 64 + 7] ^= 0x01;
        let p = write(dir.path(), "ak.dat", &b);
        let out = verify(&p, &["--json"]);
        let f = failed(&out);
        assert!(
            f.iter().any(|c| c.starts_with("TD quote signature"))
                && f.iter().any(|c| c == "QE report binds the attestation key"),
            "{name}: {f:?}"
        );
    }
}

/// A PCK chain whose root is not Intel's (a changed byte of the root certificate's signature, so it still
/// parses) fails the pin and the root's self-signature.
#[test]
fn wrong_root_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let orig = std::fs::read(q("trustee-v5.dat")).unwrap();
    let marker = b"-----END CERTIFICATE-----";
    let end = orig
        .windows(marker.len())
        .rposition(|w| w == marker)
        .unwrap();
    // A base64 character of the signature, well before the padding and the line end.
    let mut pos = end - 20;
    while !orig[pos].is_ascii_alphanumeric() {
        pos -= 1;
    }
    let mut b = orig.clone();
    b[pos] = if b[pos] == b'A' { b'B' } else { b'A' };
    let p = write(dir.path(), "root.dat", &b);
    let out = verify(&p, &["--json"]);
    assert_fails_only(
        &out,
        &[
            "Intel SGX Root CA (SHA-256 pin)",
            "Intel SGX Root CA signed by Intel SGX Root CA",
        ],
        "root",
    );
}

/// The manifest's tdx[] configurations: the quote's MRTD and RTMRs (read at their offsets) are accepted,
/// another MRTD or RTMR is rejected with the register named; a null RTMR is not compared.
#[test]
fn manifest_reference_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = q("go-tdx-guest-cos113-v4.dat");
    let b = std::fs::read(&path).unwrap();
    let body = body_offset(&b);
    let field = |at: usize| hex::encode(&b[body + at..body + at + 48]);
    let mrtd = field(136);
    let rtmr = |i: usize| field(328 + 48 * i);
    let manifest = |mrtd: &str, rtmr1: &str, rtmr2: Option<&str>| {
        let m = serde_json::json!({
            "version": 1,
            "generator": "test",
            "components": [],
            "tdx": [
                {"mrtd": "00".repeat(48), "rtmr0": null, "rtmr1": null, "rtmr2": null,
                 "memory_mib": 1024, "vcpus": 1, "mrtd_order": "two-pass", "qemu_version": null},
                {"mrtd": mrtd, "rtmr0": rtmr(0), "rtmr1": rtmr1, "rtmr2": rtmr2,
                 "memory_mib": 2048, "vcpus": 2, "mrtd_order": "single-pass", "qemu_version": "10.0"}
            ]
        });
        let p = dir.path().join("m.json");
        std::fs::write(&p, serde_json::to_vec(&m).unwrap()).unwrap();
        p
    };
    let run_with = |m: &Path| verify(&path, &["--refvals", m.to_str().unwrap(), "--json"]);

    let ok = run_with(&manifest(&mrtd, &rtmr(1), Some(&rtmr(2))));
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let checks = json(&ok)["checks"].to_string();
    for n in ["MRTD (", "RTMR0 (", "RTMR1 (", "RTMR2 ("] {
        assert!(checks.contains(n), "{n}: {checks}");
    }

    let no_rtmr2 = run_with(&manifest(&mrtd, &rtmr(1), None));
    assert_eq!(no_rtmr2.status.code(), Some(0));
    assert!(!json(&no_rtmr2)["checks"].to_string().contains("RTMR2 ("));

    let mut wrong = mrtd.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    assert_fails_only(
        &run_with(&manifest(&wrong, &rtmr(1), Some(&rtmr(2)))),
        &["MRTD ("],
        "wrong MRTD",
    );
    assert_fails_only(
        &run_with(&manifest(&mrtd, &rtmr(2), Some(&rtmr(2)))),
        &["RTMR1 ("],
        "wrong RTMR1",
    );

    // --report-data: the quote's own REPORTDATA passes, another fails.
    let rd = hex::encode(&b[body + 520..body + 584]);
    assert_eq!(
        verify(&path, &["--report-data", &rd]).status.code(),
        Some(0)
    );
    assert_fails_only(
        &verify(&path, &["--report-data", "01", "--json"]),
        &["REPORTDATA"],
        "report data",
    );

    // A manifest without a tdx section cannot answer: exit 2, one line.
    let p = dir.path().join("empty.json");
    std::fs::write(&p, br#"{"version": 1, "generator": "t", "components": []}"#).unwrap();
    let e = assert_clean_failure(&verify(&path, &["--refvals", p.to_str().unwrap()]), 2);
    assert!(e.contains("no tdx section"), "{e}");
}

/// The COS TD's CCEL replays to the four quoted RTMRs. A changed event digest breaks the replay of its
/// RTMR (named); a changed event whose digest is the hash of its data is named by number.
#[test]
fn ccel_replay() {
    let dir = tempfile::tempdir().unwrap();
    let quote = q("go-tdx-guest-cos113-v4.dat");
    let ccel_path = fixture("tdx-quotes/go-tdx-guest-cos113-ccel.dat");
    let ccel = ccel_path.to_str().unwrap();
    let out = verify(&quote, &["--ccel", ccel, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let checks = json(&out)["checks"].to_string();
    for i in 0..4 {
        assert!(checks.contains(&format!("CCEL replay RTMR{i} = quoted")));
    }

    // Walk the log (TCG_PCR_EVENT header, then TCG_PCR_EVENT2 records with one SHA-384 digest) to find an
    // RTMR1 event (MR index 2) and an EV_SEPARATOR.
    let log = std::fs::read(&ccel_path).unwrap();
    let le32 = |at: usize| u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
    let mut pos = 32 + le32(28);
    let (mut rtmr1_digest, mut separator_data, mut rtmr2_record) = (None, None, None);
    while pos + 12 < log.len() && le32(pos) != 0xffff_ffff {
        let (mr, ty, count) = (le32(pos), le32(pos + 4), le32(pos + 8));
        assert_eq!(count, 1);
        let digest = pos + 12 + 2;
        let size_at = digest + 48;
        let data = size_at + 4;
        // EV_EFI_BOOT_SERVICES_APPLICATION: its digest covers an image, not the event data.
        if mr == 2 && ty == 0x8000_0003 && rtmr1_digest.is_none() {
            rtmr1_digest = Some(digest);
        }
        if ty == 4 && separator_data.is_none() {
            separator_data = Some(data);
        }
        let next = data + le32(size_at);
        if mr == 3 {
            rtmr2_record = Some(pos..next);
        }
        pos = next;
    }
    // A log with one more RTMR2 event than the quote covers: the quote is the log's value before it.
    let mut b = log.clone();
    let rec = log[rtmr2_record.unwrap()].to_vec();
    b[pos..pos + rec.len()].copy_from_slice(&rec);
    let p = write(dir.path(), "ccel-longer", &b);
    let out = verify(&quote, &["--ccel", p.to_str().unwrap(), "--json"]);
    assert_fails_only(&out, &["CCEL replay RTMR2 = quoted"], "longer log");
    assert!(
        stdout(&out).contains("the quote covers the log up to event #"),
        "{}",
        stdout(&out)
    );
    let mut b = log.clone();
    b[rtmr1_digest.unwrap() + 3] ^= 0x80;
    let p = write(dir.path(), "ccel-digest", &b);
    assert_fails_only(
        &verify(&quote, &["--ccel", p.to_str().unwrap(), "--json"]),
        &["CCEL replay RTMR1 = quoted"],
        "changed digest",
    );
    let mut b = log.clone();
    b[separator_data.unwrap()] ^= 0x01;
    let p = write(dir.path(), "ccel-data", &b);
    let out = verify(&quote, &["--ccel", p.to_str().unwrap(), "--json"]);
    assert_fails_only(
        &out,
        &["CCEL events' digests match their data"],
        "changed data",
    );
    assert!(stdout(&out).contains("EV_SEPARATOR"), "{}", stdout(&out));
}

/// go-tdx-guest's collateral with its SPR quote at a 2023 time: every signature, chain, validity, identity
/// and revocation check passes; the TCB level does not match (upstream's test says so of this sample).
/// Changed collateral bytes are rejected by signature.
#[test]
fn collateral() {
    let quote = q("go-tdx-guest-v4-spr.dat");
    let col = fixture("tdx-quotes/collateral/tcb_info.json");
    let col = col.parent().unwrap();
    let with = |dir: &Path, time: &str| {
        verify(
            &quote,
            &[
                "--collateral",
                dir.to_str().unwrap(),
                "--time",
                time,
                "--json",
            ],
        )
    };
    let out = with(col, COLLATERAL_TIME);
    assert_fails_only(&out, &["TDX platform TCB status (TCB Info)"], "SPR");
    let text = stdout(&out);
    assert!(text.contains("no TCB level matches"), "{text}");
    let v = json(&out);
    let checks = v["checks"].to_string();
    for n in [
        "TCB Info signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
        "QE Identity signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
        "TCB Info FMSPC = PCK certificate FMSPC",
        "QE TCB status (QE Identity)",
        "PCK CRL signed by Intel SGX PCK Platform CA",
        "Intel SGX PCK Certificate not revoked (PCK CRL)",
        "Root CA CRL signed by Intel SGX Root CA",
    ] {
        assert!(checks.contains(n), "{n}");
    }
    assert!(
        !v["notes"]
            .to_string()
            .contains("not checked (no --collateral)")
    );

    // Out of the collateral's validity.
    let late = with(col, "2023-08-01T00:00:00Z");
    let f = failed(&late);
    for n in [
        "TCB Info validity",
        "QE Identity validity",
        "PCK CRL validity",
    ] {
        assert!(f.iter().any(|c| c == n), "{n}: {f:?}");
    }

    // A changed byte of the signed JSON, of a signature, of a CRL's signed part.
    let dir = tempfile::tempdir().unwrap();
    let copy = |d: &Path| {
        for e in std::fs::read_dir(col).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    };
    let tamper = |file: &str, find: &str, repl: &str, want: &str| {
        let d = dir.path().join(file);
        std::fs::create_dir_all(&d).unwrap();
        copy(&d);
        let t = std::fs::read_to_string(d.join(file)).unwrap();
        assert!(t.contains(find), "{file}: {find}");
        std::fs::write(d.join(file), t.replacen(find, repl, 1)).unwrap();
        let f = failed(&with(&d, COLLATERAL_TIME));
        assert!(f.iter().any(|c| c == want), "{file}: {f:?}");
    };
    tamper(
        "tcb_info.json",
        "\"tcbEvaluationDataNumber\":15",
        "\"tcbEvaluationDataNumber\":16",
        "TCB Info signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
    );
    tamper(
        "qe_identity.json",
        "\"isvsvn\":4",
        "\"isvsvn\":3",
        "QE Identity signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
    );
    let d = dir.path().join("crl");
    std::fs::create_dir_all(&d).unwrap();
    copy(&d);
    let mut crl = std::fs::read(d.join("pck_crl.der")).unwrap();
    let n = crl.len();
    crl[n - 10] ^= 0x01; // inside the signature
    std::fs::write(d.join("pck_crl.der"), crl).unwrap();
    let f = failed(&with(&d, COLLATERAL_TIME));
    assert!(
        f.iter()
            .any(|c| c == "PCK CRL signed by Intel SGX PCK Platform CA"),
        "{f:?}"
    );

    // The TDX 1.5 TCB Info (tdxModuleIdentities) with go-tdx-guest's v5 quote: the TCB level and the TDX
    // module identity match; what fails is only the age of the 2023 parts of the bundle.
    let d = dir.path().join("v5");
    std::fs::create_dir_all(&d).unwrap();
    copy(&d);
    std::fs::copy(
        fixture("tdx-quotes/tcb_info_90c06f000000.json"),
        d.join("tcb_info.json"),
    )
    .unwrap();
    let out = verify(
        &q("go-tdx-guest-v5.dat"),
        &[
            "--collateral",
            d.to_str().unwrap(),
            "--time",
            "2026-02-10T00:00:00Z",
            "--json",
        ],
    );
    let f = failed(&out);
    assert!(f.iter().all(|c| c.ends_with("validity")), "{f:?}");
    let checks = json(&out)["checks"].to_string();
    for n in [
        "TCB Info signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
        "TDX platform TCB status (TCB Info)",
        "TDX module TCB status (TDX_01)",
    ] {
        assert!(checks.contains(n), "{n}: {checks}");
    }
}

/// Hostile and truncated input: exit 2, one line naming the file, never a panic.
#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let orig = std::fs::read(q("trustee-v5.dat")).unwrap();
    for (name, bytes) in [
        ("empty.dat", Vec::new()),
        ("short.dat", orig[..100].to_vec()),
        ("nobody.dat", orig[..700].to_vec()),
        ("nocert.dat", orig[..1200].to_vec()),
        ("garbage.dat", b"not a quote at all, just text".to_vec()),
        ("v3.dat", {
            let mut b = orig.clone();
            b[0] = 3;
            b
        }),
        ("sgx.dat", {
            let mut b = orig.clone();
            b[4] = 0;
            b
        }),
        ("siglen.dat", {
            let mut b = orig.clone();
            let at = body_offset(&orig) + body_len(&orig);
            b[at + 3] = 0x7f;
            b
        }),
    ] {
        let p = write(dir.path(), name, &bytes);
        let e = assert_clean_failure(&verify(&p, &[]), 2);
        assert!(e.contains(name), "{name}: {e}");
    }
    // Truncation at every 97th byte.
    for len in (0..orig.len()).step_by(97) {
        let p = write(dir.path(), "cut.dat", &orig[..len]);
        assert_clean_failure(&verify(&p, &[]), 2);
    }
    // A collateral directory without its files, or with a broken one.
    let e = assert_clean_failure(
        &verify(
            &q("trustee-v5.dat"),
            &["--collateral", dir.path().to_str().unwrap()],
        ),
        2,
    );
    assert!(e.contains("tcb_info.json"), "{e}");
    let col = fixture("tdx-quotes/collateral/tcb_info.json");
    let col = col.parent().unwrap();
    for e in std::fs::read_dir(col).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("qe_identity.json"),
        b"{\"enclaveIdentity\": 1}",
    )
    .unwrap();
    let e = assert_clean_failure(
        &verify(
            &q("trustee-v5.dat"),
            &["--collateral", dir.path().to_str().unwrap()],
        ),
        2,
    );
    assert!(e.contains("qe_identity.json"), "{e}");
    let e = assert_clean_failure(&verify(&q("trustee-v5.dat"), &["--report-data", "zz"]), 2);
    assert!(e.contains("--report-data"), "{e}");
}

/// The TD quote inside Azure TDX evidence (Trustee's v0 JSON, a byte array; zero padded to its buffer)
/// verifies as a bare quote, as binary and as hex text, and its REPORTDATA is the one `verify azure` binds.
#[test]
fn azure_td_quote_verifies_bare() {
    let dir = tempfile::tempdir().unwrap();
    let ev: Value =
        serde_json::from_slice(&std::fs::read(fixture("azure-vtpm/tdx/evidence-v0.json")).unwrap())
            .unwrap();
    let quote: Vec<u8> = ev["td_quote"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect();
    let bin = write(dir.path(), "azure.dat", &quote);
    let out = verify(&bin, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let hexq = write(dir.path(), "azure.hex", hex::encode(&quote).as_bytes());
    let rd = hex::encode(&quote[48 + 520..48 + 584]);
    let out = verify(&hexq, &["--report-data", &rd]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("ok    REPORTDATA"));
}

/// Trustee's TDX verifier parses `trustee-v4.dat` into the claims of `trustee-v4-claims.json` (its own test's
/// expected values): a manifest made of those MRTD and RTMRs and that REPORTDATA are accepted, and the
/// reported MRSEAM, TEE TCB SVN, XFAM and TD attributes are Trustee's (XFAM and TD attributes are
/// little-endian hex there).
#[test]
fn trustee_claims_agree() {
    let dir = tempfile::tempdir().unwrap();
    let claims: Value =
        serde_json::from_slice(&std::fs::read(q("trustee-v4-claims.json")).unwrap()).unwrap();
    let body = &claims["quote"]["body"];
    let s = |k: &str| body[k].as_str().unwrap().to_string();
    let m = serde_json::json!({
        "version": 1, "generator": "test", "components": [],
        "tdx": [{"mrtd": s("mr_td"), "rtmr0": s("rtmr_0"), "rtmr1": s("rtmr_1"), "rtmr2": s("rtmr_2"),
                 "memory_mib": 1, "vcpus": 1, "mrtd_order": "single-pass", "qemu_version": null}]
    });
    let mp = dir.path().join("m.json");
    std::fs::write(&mp, serde_json::to_vec(&m).unwrap()).unwrap();
    let out = verify(
        &q("trustee-v4.dat"),
        &[
            "--refvals",
            mp.to_str().unwrap(),
            "--report-data",
            &s("report_data"),
            "--json",
        ],
    );
    // The quote is a debug TD's (claims: td_attributes.debug = true): that is the only failure.
    assert_eq!(claims["td_attributes"]["debug"], true);
    assert_fails_only(&out, &["TD attributes: debug"], "trustee claims");
    let v = json(&out);
    for n in ["MRTD (", "RTMR0 (", "RTMR1 (", "RTMR2 (", "REPORTDATA"] {
        assert!(v["checks"].to_string().contains(n), "{n}");
    }
    let notes = v["notes"].to_string();
    let le64 = |h: String| {
        let b = hex::decode(&h).unwrap();
        format!("{:016x}", u64::from_le_bytes(b.try_into().unwrap()))
    };
    for want in [
        format!("MRSEAM {}", s("mr_seam")),
        format!("TEE_TCB_SVN {}", s("tcb_svn")),
        format!("XFAM {}", le64(s("xfam"))),
        format!("TD attributes {}", le64(s("td_attributes"))),
        format!("RTMR3 {}", s("rtmr_3")),
    ] {
        assert!(notes.contains(&want), "{want}: {notes}");
    }
}

/// The CCEL of another TD (Trustee's OVMF boot log, `tdx-ccel/`) does not describe the COS TD's quote: its
/// RTMR0-2 replay to other values.
#[test]
fn ccel_of_another_td_is_rejected() {
    let ccel = fixture("tdx-ccel/CCEL_data_ovmf");
    let out = verify(
        &q("go-tdx-guest-cos113-v4.dat"),
        &["--ccel", ccel.to_str().unwrap(), "--json"],
    );
    assert_fails_only(
        &out,
        &[
            "CCEL replay RTMR0 = quoted",
            "CCEL replay RTMR1 = quoted",
            "CCEL replay RTMR2 = quoted",
        ],
        "other TD's CCEL",
    );
}

/// openssl as the peer for the X.509 parts: it verifies each quote's PCK chain at the test time (so does
/// yardstick), and go-tdx-guest's PCK and Root CA CRLs against the quote's CA certificates; a CRL with a
/// changed signature byte is refused by both.
#[test]
fn pck_chain_and_crls_agree_with_openssl() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let o = run(Command::new(peer("openssl")).args(args));
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    // Splits the quote's PEM chain into PCK, intermediate CA, root.
    let chain_of = |name: &str| -> Vec<PathBuf> {
        let b = std::fs::read(q(name)).unwrap();
        let text = String::from_utf8_lossy(&b).into_owned();
        let mut out = Vec::new();
        let mut rest = text.as_str();
        while let Some(s) = rest.find("-----BEGIN CERTIFICATE-----") {
            let e = rest[s..].find("-----END CERTIFICATE-----").unwrap() + s + 25;
            let p = dir.path().join(format!("{name}.{}.pem", out.len()));
            std::fs::write(&p, &rest[s..e]).unwrap();
            out.push(p);
            rest = &rest[e..];
        }
        out
    };
    let epoch = "1780272000"; // FIXTURE_TIME
    for name in QUOTES {
        let c = chain_of(name);
        assert_eq!(c.len(), 3, "{name}");
        let (ok, msg) = openssl(&[
            "verify",
            "-attime",
            epoch,
            "-CAfile",
            c[2].to_str().unwrap(),
            "-untrusted",
            c[1].to_str().unwrap(),
            c[0].to_str().unwrap(),
        ]);
        assert!(ok, "openssl rejects {name}'s chain: {msg}");
        let out = verify(&q(name), &["--json"]);
        let f = failed(&out);
        assert!(
            !f.iter()
                .any(|c| c.contains("signed by") || c.contains("pin")),
            "{name}: openssl accepts the chain, yardstick fails {f:?}"
        );
    }
    let c = chain_of("go-tdx-guest-v4-spr.dat");
    let col = fixture("tdx-quotes/collateral/pck_crl.der");
    let col = col.parent().unwrap();
    let cas = dir.path().join("cas.pem");
    let mut both = std::fs::read(&c[1]).unwrap();
    both.extend(b"\n");
    both.extend(std::fs::read(&c[2]).unwrap());
    std::fs::write(&cas, both).unwrap();
    for crl in ["pck_crl.der", "root_ca_crl.der"] {
        let p = col.join(crl);
        let (ok, msg) = openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            p.to_str().unwrap(),
            "-CAfile",
            cas.to_str().unwrap(),
            "-noout",
        ]);
        assert!(ok && msg.contains("verify OK"), "{crl}: {msg}");
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n - 10] ^= 0x01;
        let bad = dir.path().join(crl);
        std::fs::write(&bad, b).unwrap();
        let (_, msg) = openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            bad.to_str().unwrap(),
            "-CAfile",
            cas.to_str().unwrap(),
            "-noout",
        ]);
        assert!(
            !msg.contains("verify OK"),
            "{crl}: openssl accepts a changed CRL"
        );
    }
}

/// openssl verifies the TCB Info and QE Identity signatures over the bytes between `{"<key>":` and
/// `,"signature"` with the TCB signing certificate's key: the bytes yardstick checks (it also passes).
#[test]
fn collateral_signatures_agree_with_openssl() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let col = fixture("tdx-quotes/collateral/tcb_info.json");
    let col = col.parent().unwrap();
    let signer = dir.path().join("signer.pub");
    let o = run(Command::new(peer("openssl")).args([
        "x509",
        "-in",
        col.join("tcb_info_issuer_chain.pem").to_str().unwrap(),
        "-pubkey",
        "-noout",
    ]));
    std::fs::write(&signer, &o.stdout).unwrap();
    // ECDSA r || s to a DER Ecdsa-Sig-Value.
    let der_int = |b: &[u8]| {
        let mut v: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
        if v.first().is_none_or(|x| x & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![2, v.len() as u8];
        out.extend(v);
        out
    };
    for (file, key) in [
        ("tcb_info.json", "tcbInfo"),
        ("qe_identity.json", "enclaveIdentity"),
    ] {
        let text = std::fs::read_to_string(col.join(file)).unwrap();
        let start = format!("{{\"{key}\":").len();
        let end = text.rfind(",\"signature\"").unwrap();
        let body = dir.path().join(format!("{key}.body"));
        std::fs::write(&body, &text[start..end]).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let rs = hex::decode(v["signature"].as_str().unwrap()).unwrap();
        let (mut r, s) = (der_int(&rs[..32]), der_int(&rs[32..]));
        r.extend(s);
        let mut sig = vec![0x30, r.len() as u8];
        sig.extend(r);
        let sigp = dir.path().join(format!("{key}.sig"));
        std::fs::write(&sigp, sig).unwrap();
        let o = run(Command::new(peer("openssl")).args([
            "dgst",
            "-sha256",
            "-verify",
            signer.to_str().unwrap(),
            "-signature",
            sigp.to_str().unwrap(),
            body.to_str().unwrap(),
        ]));
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let out = verify(
        &q("go-tdx-guest-v4-spr.dat"),
        &[
            "--collateral",
            col.to_str().unwrap(),
            "--time",
            COLLATERAL_TIME,
            "--json",
        ],
    );
    let v = json(&out);
    for n in [
        "TCB Info signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
        "QE Identity signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)",
    ] {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap();
        assert_eq!(c["ok"], true, "{n}");
    }
}
