//! `yardstick verify snp` on real evidence: the Milan attestation report of virtee/sev's test data
//! (`snp-reports/report_milan.hex`), its VCEK (`vcek_milan.der`) and AMD's KDS certificates
//! (`amd-kds/<product>/{ark,ask}.pem`). Peers: openssl (fingerprints, DER conversion, foreign certificates).
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers panic on a broken fixture or peer, like the tests themselves (clippy.toml allows unwrap
// only inside #[test] functions).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;
use yardstick_common::hex;

struct Milan {
    report: PathBuf,
    vcek: PathBuf,
    ask: PathBuf,
    ark: PathBuf,
}

fn milan() -> Milan {
    Milan {
        report: fixture("snp-reports/report_milan.hex"),
        vcek: fixture("snp-reports/vcek_milan.der"),
        ask: fixture("amd-kds/milan/ask.pem"),
        ark: fixture("amd-kds/milan/ark.pem"),
    }
}

/// The report's bytes, decoded from the fixture's hex.
fn report_bytes() -> Vec<u8> {
    let text = std::fs::read_to_string(fixture("snp-reports/report_milan.hex")).unwrap();
    hex::decode(text.trim()).unwrap()
}

/// The verification time of these tests: inside the validity of every fixture certificate (the Milan VCEK
/// is valid 2023-04-03 to 2030-04-03), so that the tests keep testing the evidence after its certificates
/// expire. `openssl verify -attime` gets the same instant.
const FIXTURE_TIME: &str = "2026-06-01T00:00:00Z";
const FIXTURE_EPOCH: &str = "1780272000";

fn verify(report: &Path, vcek: &Path, ask: &Path, ark: &Path, extra: &[&str]) -> Output {
    let mut cmd = yardstick();
    cmd.args(["verify", "snp", "--report"])
        .arg(report)
        .arg("--vcek")
        .arg(vcek)
        .arg("--ask")
        .arg(ask)
        .arg("--ark")
        .arg(ark)
        .args(extra);
    if !extra.contains(&"--time") {
        cmd.args(["--time", FIXTURE_TIME]);
    }
    run(&mut cmd)
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = run(Command::new(peer("openssl")).args(args));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pem_to_der(pem: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    openssl(&[
        "x509",
        "-in",
        pem.to_str().unwrap(),
        "-outform",
        "der",
        "-out",
        out.to_str().unwrap(),
    ]);
    out
}

/// DER `ECDSA-Sig-Value` from the report's little-endian 72-byte R and S (ABI spec signature format).
fn der_signature(report: &[u8]) -> Vec<u8> {
    let int = |le: &[u8]| -> Vec<u8> {
        let mut be: Vec<u8> = le.iter().rev().copied().skip_while(|b| *b == 0).collect();
        if be.first().is_some_and(|b| *b >= 0x80) {
            be.insert(0, 0);
        }
        let mut out = vec![0x02, be.len() as u8];
        out.extend(be);
        out
    };
    let (r, s) = (
        int(&report[0x2a0..0x2a0 + 72]),
        int(&report[0x2a0 + 72..0x2a0 + 144]),
    );
    let mut out = vec![0x30, (r.len() + s.len()) as u8];
    out.extend(r);
    out.extend(s);
    out
}

/// openssl's verdict on the report signature: `openssl dgst -sha384 -verify <VCEK key>` over bytes 0..0x2A0.
fn openssl_report_verdict(report: &[u8], vcek_pub: &Path, dir: &Path) -> bool {
    let (signed, sig) = (dir.join("signed.bin"), dir.join("sig.der"));
    std::fs::write(&signed, &report[..0x2a0]).unwrap();
    std::fs::write(&sig, der_signature(report)).unwrap();
    run(Command::new(peer("openssl"))
        .args(["dgst", "-sha384", "-verify"])
        .arg(vcek_pub)
        .arg("-signature")
        .arg(&sig)
        .arg(&signed))
    .status
    .success()
}

fn vcek_public_key(vcek_der: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("vcek-pub.pem");
    openssl(&[
        "x509",
        "-inform",
        "der",
        "-in",
        vcek_der.to_str().unwrap(),
        "-pubkey",
        "-noout",
        "-out",
        out.to_str().unwrap(),
    ]);
    out
}

/// openssl's verdict on the chain: `openssl verify -CAfile ARK -untrusted ASK VCEK`.
fn openssl_chain_verdict(vcek_pem: &Path, ask: &Path, ark: &Path) -> bool {
    run(Command::new(peer("openssl"))
        .args(["verify", "-attime", FIXTURE_EPOCH, "-CAfile"])
        .arg(ark)
        .arg("-untrusted")
        .arg(ask)
        .arg(vcek_pem))
    .status
    .success()
}

#[test]
fn milan_report_verifies_hex_and_binary_pem_and_der() {
    let m = milan();
    let o = verify(&m.report, &m.vcek, &m.ask, &m.ark, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    assert!(out.contains("affirming"), "{out}");
    for name in [
        "ARK is an AMD root",
        "ASK signed by ARK",
        "VCEK signed by ASK",
        "report signature (VCEK, ECDSA P-384 SHA-384)",
        "VCEK hwID = report CHIP_ID",
        "VCEK microcode SPL = REPORTED_TCB",
        "guest policy: debug",
        "VMPL",
    ] {
        assert!(
            out.contains(&format!("ok    {name}")),
            "{name} missing:\n{out}"
        );
    }

    // Binary report, DER ARK/ASK, PEM VCEK: the same verdict.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("report.bin");
    std::fs::write(&bin, report_bytes()).unwrap();
    let ask = pem_to_der(&m.ask, dir.path(), "ask.der");
    let ark = pem_to_der(&m.ark, dir.path(), "ark.der");
    let vcek_pem = dir.path().join("vcek.pem");
    openssl(&[
        "x509",
        "-inform",
        "der",
        "-in",
        m.vcek.to_str().unwrap(),
        "-out",
        vcek_pem.to_str().unwrap(),
    ]);
    let o = verify(&bin, &vcek_pem, &ask, &ark, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // The peer agrees: openssl verifies the chain and the report signature.
    assert!(
        openssl_chain_verdict(&vcek_pem, &m.ask, &m.ark),
        "openssl rejects the Milan chain"
    );
    let key = vcek_public_key(&m.vcek, dir.path());
    assert!(
        openssl_report_verdict(&report_bytes(), &key, dir.path()),
        "openssl rejects the report signature"
    );
}

/// The pinned fingerprints are what openssl computes for AMD's published ARKs, and the ARK/ASK built into
/// the binary (for evidence that carries only a VCEK) are byte-for-byte the KDS certificates.
#[test]
fn ark_pins_match_openssl_fingerprints() {
    for (product, pinned) in yardstick_verify::snp::PINNED_ARKS {
        let dir = product.name().to_lowercase();
        let ark = fixture(&format!("amd-kds/{dir}/ark.pem"));
        let out = String::from_utf8(openssl(&[
            "x509",
            "-in",
            ark.to_str().unwrap(),
            "-noout",
            "-fingerprint",
            "-sha256",
        ]))
        .unwrap();
        let fp: String = out
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .replace(':', "")
            .to_lowercase();
        assert_eq!(fp, pinned, "{product}");
        for which in ["ark", "ask"] {
            let built_in = workspace().join(format!("crates/verify/src/snp/amd/{dir}_{which}.pem"));
            assert_eq!(
                std::fs::read(&built_in).unwrap(),
                std::fs::read(fixture(&format!("amd-kds/{dir}/{which}.pem"))).unwrap(),
                "{}",
                built_in.display()
            );
        }
    }
}

#[test]
fn json_appraisal_and_bindings() {
    let m = milan();
    let raw = report_bytes();
    let measurement = hex::encode(&raw[0x90..0xc0]);
    let report_data = hex::encode(&raw[0x50..0x90]);

    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        &m.ark,
        &[
            "--json",
            "--measurement",
            &measurement,
            "--report-data",
            &report_data,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["status"], "affirming");
    let checks = j["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .all(|c| c["ok"] == true && c["name"].is_string())
    );
    let m_check = checks
        .iter()
        .find(|c| c["name"] == "launch measurement (--measurement)")
        .expect("measurement compared");
    assert_eq!(m_check["actual"], measurement);

    // A different measurement, report_data or host_data is named with both values.
    let mut wrong = raw[0x90..0xc0].to_vec();
    wrong[47] ^= 1;
    let wrong = hex::encode(&wrong);
    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        &m.ark,
        &["--json", "--measurement", &wrong, "--report-data", "00"],
    );
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["status"], "contraindicated");
    let failed: Vec<&serde_json::Value> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0]["name"], "report_data");
    assert_eq!(failed[0]["expected"], "0".repeat(128));
    assert_eq!(failed[0]["actual"], report_data);
    assert_eq!(failed[1]["expected"], wrong);
    assert_eq!(failed[1]["actual"], measurement);

    // The report's policy allows SMT (0x30000): --no-smt refuses it.
    let o = verify(&m.report, &m.vcek, &m.ask, &m.ark, &["--no-smt"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("FAIL  guest policy: SMT: expected disallowed, actual allowed"),
        "{}",
        stdout(&o)
    );
    let o = verify(&m.report, &m.vcek, &m.ask, &m.ark, &["--vmpl", "1"]);
    assert!(
        stdout(&o).contains("FAIL  VMPL: expected 1, actual 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn wrong_products_ark_or_chain_is_rejected() {
    let m = milan();
    let dir = tempfile::tempdir().unwrap();
    let vcek_pem = dir.path().join("vcek.pem");
    openssl(&[
        "x509",
        "-inform",
        "der",
        "-in",
        m.vcek.to_str().unwrap(),
        "-out",
        vcek_pem.to_str().unwrap(),
    ]);
    for other in ["genoa", "turin"] {
        let ark = fixture(&format!("amd-kds/{other}/ark.pem"));
        let ask = fixture(&format!("amd-kds/{other}/ask.pem"));
        assert!(
            !openssl_chain_verdict(&vcek_pem, &m.ask, &ark),
            "openssl accepts the {other} ARK"
        );
        let o = verify(&m.report, &m.vcek, &m.ask, &ark, &[]);
        assert_eq!(o.status.code(), Some(1), "{other} ARK");
        assert!(
            stdout(&o).contains("FAIL  ASK signed by ARK"),
            "{}",
            stdout(&o)
        );
        let o = verify(&m.report, &m.vcek, &ask, &ark, &[]);
        assert_eq!(o.status.code(), Some(1), "{other} chain");
        assert!(
            stdout(&o).contains("FAIL  VCEK signed by ASK"),
            "{}",
            stdout(&o)
        );
    }
    // The Turin VCEK did not sign the Milan report.
    let o = verify(
        &m.report,
        &fixture("snp-reports/vcek_turin.der"),
        &m.ask,
        &m.ark,
        &[],
    );
    assert_rejected(&o, "Turin VCEK");
}

/// Every single-byte change of the signed part and of the signature is rejected (one position in five of
/// the 672 signed bytes, one in three of R and S, and the unsigned reserved tail).
#[test]
fn any_changed_report_byte_is_rejected() {
    let m = milan();
    let raw = report_bytes();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.bin");
    let key = vcek_public_key(&m.vcek, dir.path());
    let positions = (0..0x2a0)
        .step_by(5)
        .chain((0x2a0..0x2a0 + 144).step_by(3))
        .chain([0x2a0 + 144, 0x300, 0x400, 0x49f]);
    let mut n = 0;
    for pos in positions {
        let mut b = raw.clone();
        b[pos] ^= 0x01;
        std::fs::write(&path, &b).unwrap();
        let o = verify(&path, &m.vcek, &m.ask, &m.ark, &[]);
        assert_rejected(&o, &format!("report byte {pos:#x}"));
        // Only a version outside 2..=5 makes the report unreadable; any other change is a failed check.
        if !(1..4).contains(&pos) {
            assert_eq!(o.status.code(), Some(1), "report byte {pos:#x}");
        }
        // openssl agrees wherever the signature covers the change (R, S and the signed bytes).
        if pos < 0x2a0 + 144 {
            assert!(
                !openssl_report_verdict(&b, &key, dir.path()),
                "openssl accepts report byte {pos:#x} changed"
            );
        }
        n += 1;
    }
    assert!(n > 180, "{n}");
}

/// Every single-byte change of a certificate is rejected: as unparseable (exit 2) or as a failed chain,
/// pin or signature check (exit 1).
#[test]
fn any_changed_certificate_byte_is_rejected() {
    let m = milan();
    let dir = tempfile::tempdir().unwrap();
    let certs = [
        ("vcek", std::fs::read(&m.vcek).unwrap(), 7),
        (
            "ask",
            std::fs::read(pem_to_der(&m.ask, dir.path(), "ask.der")).unwrap(),
            11,
        ),
        (
            "ark",
            std::fs::read(pem_to_der(&m.ark, dir.path(), "ark.der")).unwrap(),
            11,
        ),
    ];
    for (which, der, step) in certs {
        let path = dir.path().join(format!("{which}-changed.der"));
        for pos in (0..der.len()).step_by(step) {
            let mut b = der.clone();
            b[pos] ^= 0x01;
            std::fs::write(&path, &b).unwrap();
            let (vcek, ask, ark) = match which {
                "vcek" => (path.as_path(), m.ask.as_path(), m.ark.as_path()),
                "ask" => (m.vcek.as_path(), path.as_path(), m.ark.as_path()),
                _ => (m.vcek.as_path(), m.ask.as_path(), path.as_path()),
            };
            assert_rejected(
                &verify(&m.report, vcek, ask, ark, &[]),
                &format!("{which} byte {pos}"),
            );
        }
    }
}

/// Turin: the TCB_VERSION layout is `[fmc, bl, tee, snp, 0, 0, 0, ucode]` and the hwID 8 bytes. No signed
/// Turin report is public, so this builds a version-3 report with Turin's CPUID (family 1Ah) that claims the
/// TCB of the real Turin VCEK (values read by openssl asn1parse): the chain and every TCB check pass, only
/// the signature fails.
#[test]
fn turin_tcb_layout_against_a_real_turin_vcek() {
    let vcek = fixture("snp-reports/vcek_turin.der");
    let dump = String::from_utf8(openssl(&[
        "asn1parse",
        "-inform",
        "der",
        "-in",
        vcek.to_str().unwrap(),
    ]))
    .unwrap();
    let lines: Vec<&str> = dump.lines().collect();
    let ext = |oid: &str| -> Vec<u8> {
        let i = lines
            .iter()
            .position(|l| l.ends_with(&format!(":{oid}")))
            .unwrap_or_else(|| panic!("{oid}"));
        hex::decode(lines[i + 1].rsplit(':').next().unwrap()).unwrap()
    };
    let spl = |n: u32| -> u8 { *ext(&format!("1.3.6.1.4.1.3704.1.3.{n}")).last().unwrap() };
    let hw_id = ext("1.3.6.1.4.1.3704.1.4");
    assert_eq!(hw_id.len(), 8);

    let mut r = vec![0u8; 0x4a0];
    r[0] = 3;
    r[8..16].copy_from_slice(&0x30000u64.to_le_bytes());
    r[0x34] = 1;
    r[0x180..0x188].copy_from_slice(&[spl(9), spl(1), spl(2), spl(3), 0, 0, 0, spl(8)]);
    r[0x188] = 0x1a;
    r[0x189] = 0x02;
    r[0x1a0..0x1a8].copy_from_slice(&hw_id);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("turin.bin");
    std::fs::write(&path, &r).unwrap();
    let o = verify(
        &path,
        &vcek,
        &fixture("amd-kds/turin/ask.pem"),
        &fixture("amd-kds/turin/ark.pem"),
        &["--json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let failed: Vec<&str> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["report signature (VCEK, ECDSA P-384 SHA-384)"]);
    let names: Vec<&str> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"VCEK fmc SPL = REPORTED_TCB"), "{names:?}");
    assert!(
        names.contains(&"product (report CPUID vs ARK)"),
        "{names:?}"
    );
}

/// The FAIL line of check `name` in `o`'s output; `o` must be a rejection (exit 1, nothing on stderr).
fn fail_line(o: &Output, name: &str) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(o)
        .lines()
        .find(|l| l.starts_with(&format!("FAIL  {name}: ")))
        .unwrap_or_else(|| panic!("no FAIL {name}:\n{}", stdout(o)))
        .to_string()
}

/// Certificates signed or keyed otherwise than AMD's (RSA-PSS SHA-384 with RSA ARK/ASK keys, an ECDSA P-384
/// VCEK) are evidence that does not verify: exit 1, the failed check naming the algorithm, not exit 2 for
/// malformed input. A fake ARK-Milan signed with PKCS#1 v1.5 (and an ASK it signs), an ECDSA-signed ARK,
/// and an RSA PKCS#1-signed VCEK, all made by openssl.
#[test]
fn certificates_with_other_algorithms_fail_verification() {
    let m = milan();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // Within the fake certificates' validity (made now, for two days) and the real ones'.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = yardstick_common::time::Civil::from_unix(secs + 60).rfc3339();

    // A fake ARK-Milan, self-signed RSA PKCS#1 v1.5 SHA-384, and a fake ASK it signs the same way.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha384",
        "-keyout",
        &p("fake-ark.key"),
        "-subj",
        "/CN=ARK-Milan/O=Advanced Micro Devices",
        "-days",
        "2",
        "-out",
        &p("fake-ark.pem"),
    ]);
    let text = String::from_utf8(openssl(&[
        "x509",
        "-noout",
        "-text",
        "-in",
        &p("fake-ark.pem"),
    ]))
    .unwrap();
    assert!(text.contains("sha384WithRSAEncryption"), "{text}");
    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        Path::new(&p("fake-ark.pem")),
        &["--time", &now],
    );
    let l = fail_line(&o, "ARK self-signature");
    assert!(
        l.ends_with("actual signed with RSA PKCS#1 v1.5 sha384, expected RSA-PSS sha384 salt 48"),
        "{l}"
    );
    fail_line(&o, "ARK is an AMD root (SHA-256 pin)");
    fail_line(&o, "ASK signed by ARK");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("fake-ask.key"),
        "-subj",
        "/CN=SEV-Milan",
        "-out",
        &p("fake-ask.csr"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-sha384",
        "-in",
        &p("fake-ask.csr"),
        "-CA",
        &p("fake-ark.pem"),
        "-CAkey",
        &p("fake-ark.key"),
        "-set_serial",
        "2",
        "-days",
        "2",
        "-out",
        &p("fake-ask.pem"),
    ]);
    let o = verify(
        &m.report,
        &m.vcek,
        Path::new(&p("fake-ask.pem")),
        Path::new(&p("fake-ark.pem")),
        &["--json", "--time", &now],
    );
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let failed: Vec<&str> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "ARK is an AMD root (SHA-256 pin)",
            "ARK self-signature",
            "ASK signed by ARK",
            "VCEK signed by ASK",
        ],
        "{j}"
    );
    assert_eq!(
        j["checks"][2]["actual"],
        "signed with RSA PKCS#1 v1.5 sha384, expected RSA-PSS sha384 salt 48"
    );

    // An ECDSA-signed ARK (an EC key cannot sign the ASK either).
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &p("ec.key"),
    ]);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &p("ec.key"),
        "-subj",
        "/CN=ARK-Milan",
        "-days",
        "2",
        "-out",
        &p("ec-ark.pem"),
    ]);
    let o = verify(&m.report, &m.vcek, &m.ask, Path::new(&p("ec-ark.pem")), &[]);
    let l = fail_line(&o, "ARK self-signature");
    assert!(
        l.ends_with("actual signed with ECDSA sha256, expected RSA-PSS sha384 salt 48"),
        "{l}"
    );
    let l = fail_line(&o, "ASK signed by ARK");
    assert!(
        l.ends_with("actual ARK has an ECDSA P-256 key, expected RSA"),
        "{l}"
    );

    // An RSA PKCS#1-signed VCEK with an RSA key.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("rsa.key"),
        "-subj",
        "/CN=SEV-VCEK",
        "-days",
        "2",
        "-out",
        &p("rsa-vcek.pem"),
    ]);
    let o = verify(
        &m.report,
        Path::new(&p("rsa-vcek.pem")),
        &m.ask,
        &m.ark,
        &[],
    );
    let l = fail_line(&o, "VCEK signed by ASK");
    assert!(
        l.ends_with("actual signed with RSA PKCS#1 v1.5 sha256, expected RSA-PSS sha384 salt 48"),
        "{l}"
    );
    let l = fail_line(&o, "report signature (VCEK, ECDSA P-384 SHA-384)");
    assert!(
        l.ends_with("actual VCEK has an RSA-2048 key, expected ECDSA P-384"),
        "{l}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let m = milan();
    let raw = report_bytes();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);

    std::fs::write(p("short.bin"), &raw[..1000]).unwrap();
    let e = assert_clean_failure(&verify(&p("short.bin"), &m.vcek, &m.ask, &m.ark, &[]), 2);
    assert!(e.contains("short.bin") && e.contains("1000 bytes"), "{e}");

    let mut v = raw.clone();
    v[0] = 9;
    std::fs::write(p("v9.bin"), &v).unwrap();
    let e = assert_clean_failure(&verify(&p("v9.bin"), &m.vcek, &m.ask, &m.ark, &[]), 2);
    assert!(e.contains("unknown attestation report version 9"), "{e}");

    std::fs::write(p("odd.hex"), "0200000").unwrap();
    assert_clean_failure(&verify(&p("odd.hex"), &m.vcek, &m.ask, &m.ark, &[]), 2);

    std::fs::write(p("junk.pem"), "this is not a certificate\n").unwrap();
    let e = assert_clean_failure(&verify(&m.report, &p("junk.pem"), &m.ask, &m.ark, &[]), 2);
    assert!(e.contains("junk.pem") && e.contains("X.509"), "{e}");

    let e = assert_clean_failure(&verify(&p("missing.bin"), &m.vcek, &m.ask, &m.ark, &[]), 2);
    assert!(
        e.contains("missing.bin") && e.contains("cannot read"),
        "{e}"
    );
    let e = assert_clean_failure(
        &verify(
            &m.report,
            &m.vcek,
            &m.ask,
            &m.ark,
            &["--report-data", &"00".repeat(65)],
        ),
        2,
    );
    assert!(e.contains("--report-data"), "{e}");
    let e = assert_clean_failure(
        &verify(
            &m.report,
            &m.vcek,
            &m.ask,
            &m.ark,
            &["--measurement", "abcd"],
        ),
        2,
    );
    assert!(e.contains("--measurement"), "{e}");
}

/// Certificates are checked at `--time` (RFC 3339): past the Milan VCEK's notAfter, or before its notBefore,
/// the report is rejected naming the VCEK's validity (and openssl, asked about the same instant, rejects the
/// chain too); the boundaries are inclusive, as in RFC 5280 §4.1.2.5.
#[test]
fn verification_time_and_expired_certificates() {
    let m = milan();
    let dir = tempfile::tempdir().unwrap();
    let vcek_pem = dir.path().join("vcek.pem");
    openssl(&[
        "x509",
        "-inform",
        "der",
        "-in",
        m.vcek.to_str().unwrap(),
        "-out",
        vcek_pem.to_str().unwrap(),
    ]);
    // The validity window as openssl prints it ("notAfter=Apr  3 19:23:43 2030 GMT").
    let dates = String::from_utf8(openssl(&[
        "x509",
        "-in",
        vcek_pem.to_str().unwrap(),
        "-noout",
        "-startdate",
        "-enddate",
    ]))
    .unwrap();
    assert!(
        dates.contains("notBefore=Apr  3 19:23:43 2023 GMT"),
        "{dates}"
    );
    assert!(
        dates.contains("notAfter=Apr  3 19:23:43 2030 GMT"),
        "{dates}"
    );

    for (time, epoch, ok) in [
        ("2030-04-03T19:23:43Z", "1901474623", true),
        ("2023-04-03T19:23:43Z", "1680549823", true),
        ("2030-04-03T19:23:44Z", "1901474624", false),
        ("2031-01-01T00:00:00+01:00", "1924988400", false),
        ("2023-04-03T19:23:42Z", "1680549822", false),
    ] {
        let o = verify(&m.report, &m.vcek, &m.ask, &m.ark, &["--time", time]);
        let out = stdout(&o);
        if ok {
            assert_eq!(o.status.code(), Some(0), "{time}:\n{out}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{time}:\n{out}");
            let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
            assert_eq!(fails.len(), 1, "{time}: {fails:?}");
            assert!(
                fails[0].starts_with(
                    "FAIL  VCEK validity: expected valid 2023-04-03T19:23:43Z to 2030-04-03T19:23:43Z, actual checked at"
                ),
                "{}",
                fails[0]
            );
            assert!(out.contains("ok    ARK validity"), "{out}");
        }
        if epoch != "1901474623" && epoch != "1680549823" {
            let peer_ok = run(Command::new(peer("openssl"))
                .args(["verify", "-attime", epoch, "-CAfile"])
                .arg(&m.ark)
                .arg("-untrusted")
                .arg(&m.ask)
                .arg(&vcek_pem))
            .status
            .success();
            assert_eq!(peer_ok, ok, "openssl verify -attime {epoch}");
        }
    }

    for bad in ["2031-01-01", "tomorrow", "2031-02-30T00:00:00Z", ""] {
        let e = assert_clean_failure(
            &verify(&m.report, &m.vcek, &m.ask, &m.ark, &["--time", bad]),
            2,
        );
        assert!(e.contains("--time"), "{e}");
    }
}

fn manifest_with_snp(dir: &Path, name: &str, entries: &[(&str, String)]) -> PathBuf {
    let snp: Vec<serde_json::Value> = entries
        .iter()
        .map(|(mode, m)| {
            serde_json::json!({
                "mode": mode, "measurement": m, "vcpus": 1, "vcpu_sig": 10489617, "vmm_type": "qemu",
                "guest_features": 1, "kernel_hashes": true,
                "components": ["firmware", "kernel", "initrd", "cmdline"]
            })
        })
        .collect();
    let p = dir.join(name);
    let m = serde_json::json!({"version": 1, "generator": "test", "components": [], "snp": snp});
    std::fs::write(&p, m.to_string()).unwrap();
    p
}

/// `--refvals`: the report's MEASUREMENT (bytes 0x90..0xC0 of the report, ABI spec table 21) must be one of
/// the manifest's SEV-SNP digests; SEV-ES digests do not count; `--measurement` adds values.
#[test]
fn launch_measurement_against_the_manifest() {
    let m = milan();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let raw = report_bytes();
    let measurement = hex::encode(&raw[0x90..0xc0]);
    let mut other = raw[0x90..0xc0].to_vec();
    other[0] ^= 0x80;
    let other = hex::encode(&other);

    let one = manifest_with_snp(d, "one.json", &[("snp", measurement.clone())]);
    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        &m.ark,
        &["--refvals", one.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "ok    launch measurement ({}): {measurement}",
            one.display()
        )),
        "{}",
        stdout(&o)
    );
    let two = manifest_with_snp(
        d,
        "two.json",
        &[("snp", other.clone()), ("snp", measurement.clone())],
    );
    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        &m.ark,
        &["--refvals", two.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    let wrong = manifest_with_snp(d, "wrong.json", &[("snp", other.clone())]);
    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        &m.ark,
        &["--refvals", wrong.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "FAIL  launch measurement ({}): expected {other}, actual {measurement}",
            wrong.display()
        )),
        "{}",
        stdout(&o)
    );
    // --measurement and the manifest together: either value is accepted.
    let o = verify(
        &m.report,
        &m.vcek,
        &m.ask,
        &m.ark,
        &[
            "--refvals",
            wrong.to_str().unwrap(),
            "--measurement",
            &measurement,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // A manifest without an SEV-SNP digest cannot answer the question: bad input.
    let es = manifest_with_snp(d, "es.json", &[("sev-es", "ab".repeat(32))]);
    let e = assert_clean_failure(
        &verify(
            &m.report,
            &m.vcek,
            &m.ask,
            &m.ark,
            &["--refvals", es.to_str().unwrap()],
        ),
        2,
    );
    assert!(
        e.contains("es.json") && e.contains("no SEV-SNP launch digest"),
        "{e}"
    );
}

/// Manifests that are not usable: exit 2 with one line naming the file and the problem.
#[test]
fn bad_manifests_exit_2_with_one_line() {
    let m = milan();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let measurement = hex::encode(&report_bytes()[0x90..0xc0]);
    let good = manifest_with_snp(d, "good.json", &[("snp", measurement)]);
    let good_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    let mut cases: Vec<(&str, String, &str)> = vec![
        (
            "notjson.json",
            "this is not json".into(),
            "not a yardstick manifest",
        ),
        ("empty.json", String::new(), "not a yardstick manifest"),
        (
            "version-only.json",
            r#"{"version": 1}"#.into(),
            "missing field",
        ),
        (
            "no-version.json",
            r#"{"generator": "x"}"#.into(),
            "missing field `version`",
        ),
        ("array.json", "[]".into(), "not a yardstick manifest"),
    ];
    let mut v2 = good_json.clone();
    v2["version"] = 2.into();
    cases.push((
        "v2.json",
        v2.to_string(),
        "manifest version 2 is not supported",
    ));
    let mut short = good_json.clone();
    short["snp"][0]["measurement"] = "ab".repeat(47).into();
    cases.push(("short.json", short.to_string(), "snp[0].measurement"));
    let mut badhex = good_json.clone();
    badhex["snp"][0]["measurement"] = "zz".into();
    cases.push((
        "badhex.json",
        badhex.to_string(),
        "not a yardstick manifest",
    ));
    let mut nomode = good_json.clone();
    nomode["snp"][0].as_object_mut().unwrap().remove("mode");
    cases.push(("nomode.json", nomode.to_string(), "missing field `mode`"));
    for (name, text, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let e = assert_clean_failure(
            &verify(
                &m.report,
                &m.vcek,
                &m.ask,
                &m.ark,
                &["--refvals", p.to_str().unwrap()],
            ),
            2,
        );
        assert!(e.contains(name) && e.contains(want), "{name}: {e}");
    }
    let e = assert_clean_failure(
        &verify(
            &m.report,
            &m.vcek,
            &m.ask,
            &m.ark,
            &["--refvals", d.join("missing.json").to_str().unwrap()],
        ),
        2,
    );
    assert!(
        e.contains("missing.json") && e.contains("cannot read"),
        "{e}"
    );
}
