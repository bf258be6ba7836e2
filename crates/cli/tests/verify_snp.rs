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

/// `verify snp` with only some of the certificates named: the rest from AMD's chain built in, from a
/// directory as snpguest writes it, or from the certificate table of an extended report.
fn verify_with(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = yardstick();
    cmd.args(["verify", "snp", "--time", FIXTURE_TIME])
        .args(args);
    run(&mut cmd)
}

/// The note naming where each certificate came from.
fn cert_note(o: &Output) -> String {
    stdout(o)
        .lines()
        .find(|l| l.starts_with("note  certificates: "))
        .unwrap_or_else(|| panic!("no certificates note:\n{}", stdout(o)))
        .to_string()
}

fn assert_affirming(o: &Output, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}:\n{}{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A self-signed RSA certificate that calls itself ARK-Milan: not AMD's root.
fn fake_ark(dir: &Path) -> PathBuf {
    let (key, cert) = (dir.join("fake-ark.key"), dir.join("fake-ark.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha384",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-subj",
        "/CN=ARK-Milan",
        "-days",
        "2",
    ]);
    cert
}

/// `--ask` and `--ark` are optional: the built-in chain of the report's product is used, and says so. A
/// given ARK must still be one of AMD's roots (exit 1 naming it), a root of another product fails the chain.
#[test]
fn built_in_ask_and_ark() {
    let m = milan();
    let (report, vcek) = (m.report.as_os_str(), m.vcek.as_os_str());
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--vcek".as_ref(),
        vcek,
        "--json".as_ref(),
    ]);
    assert_affirming(&o, "built-in ASK and ARK");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let notes = j["notes"].to_string();
    assert!(
        notes.contains("ASK built in (Milan), ARK built in (Milan)"),
        "{notes}"
    );
    // Only the ASK given; only the ARK given: the other one built in.
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--vcek".as_ref(),
        vcek,
        "--ask".as_ref(),
        m.ask.as_os_str(),
    ]);
    assert_affirming(&o, "--ask only");
    assert!(cert_note(&o).ends_with("ARK built in (Milan)"));
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--vcek".as_ref(),
        vcek,
        "--ark".as_ref(),
        m.ark.as_os_str(),
    ]);
    assert_affirming(&o, "--ark only");
    assert!(cert_note(&o).contains("ASK built in (Milan)"));

    // A root that is no AMD ARK: the pin check fails (exit 1), and the note names its file.
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_ark(dir.path());
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--vcek".as_ref(),
        vcek,
        "--ark".as_ref(),
        fake.as_os_str(),
    ]);
    let line = fail_line(&o, "ARK is an AMD root (SHA-256 pin)");
    assert!(line.contains("actual ARK-Milan "), "{line}");
    assert!(
        cert_note(&o).ends_with(&format!("ARK {}", fake.display())),
        "{}",
        cert_note(&o)
    );
    // Genoa's genuine ARK: pinned, but the built-in Genoa ASK did not sign the Milan VCEK.
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--vcek".as_ref(),
        vcek,
        "--ark".as_ref(),
        fixture("amd-kds/genoa/ark.pem").as_os_str(),
    ]);
    fail_line(&o, "VCEK signed by ASK");
    assert!(cert_note(&o).contains("ASK built in (Genoa)"));
    // A Milan report with the Turin VCEK: the chain is Turin's (from the VCEK's issuer), the report
    // signature fails.
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--vcek".as_ref(),
        fixture("snp-reports/vcek_turin.der").as_os_str(),
    ]);
    assert_rejected(&o, "Turin VCEK, built-in chain");
    assert!(
        cert_note(&o).contains("ASK built in (Turin)"),
        "{}",
        stdout(&o)
    );

    // Nothing to verify with: one line naming the options.
    let e = assert_clean_failure(&verify_with(&["--report".as_ref(), report]), 2);
    assert!(
        e.contains("--vcek") && e.contains("--certs") && e.contains("--cert-table"),
        "{e}"
    );
}

/// `--certs DIR` as snpguest writes it (`snpguest certificates pem|der DIR`, `snpguest fetch ca|vcek
/// pem|der DIR`: `vcek.pem`/`.der`, `ask`, `ark`; `vlek` + `asvk` for a VLEK), or AMD KDS's `cert_chain.pem`.
/// Peer: openssl converts PEM and DER.
#[test]
fn snpguest_certificate_directories() {
    let m = milan();
    let report = m.report.as_os_str();
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir(&d).unwrap();
        d
    };
    let pem = dir("pem");
    openssl(&[
        "x509",
        "-inform",
        "der",
        "-in",
        m.vcek.to_str().unwrap(),
        "-out",
        pem.join("vcek.pem").to_str().unwrap(),
    ]);
    std::fs::copy(&m.ask, pem.join("ask.pem")).unwrap();
    std::fs::copy(&m.ark, pem.join("ark.pem")).unwrap();
    let der = dir("der");
    std::fs::copy(&m.vcek, der.join("vcek.der")).unwrap();
    pem_to_der(&m.ask, &der, "ask.der");
    pem_to_der(&m.ark, &der, "ark.der");
    for (d, ext) in [(&pem, "pem"), (&der, "der")] {
        let o = verify_with(&[
            "--report".as_ref(),
            report,
            "--certs".as_ref(),
            d.as_os_str(),
        ]);
        assert_affirming(&o, ext);
        let note = cert_note(&o);
        for name in ["vcek", "ask", "ark"] {
            let file = d.join(format!("{name}.{ext}"));
            assert!(note.contains(&file.display().to_string()), "{note}");
        }
    }
    // Only the VCEK (`snpguest fetch vcek`): ASK and ARK built in.
    let only = dir("only-vcek");
    std::fs::copy(&m.vcek, only.join("vcek.der")).unwrap();
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--certs".as_ref(),
        only.as_os_str(),
    ]);
    assert_affirming(&o, "only vcek.der");
    assert!(cert_note(&o).contains("ASK built in (Milan), ARK built in (Milan)"));
    // KDS's cert_chain (ASK then ARK in one PEM file).
    let chain = dir("chain");
    std::fs::copy(&m.vcek, chain.join("vcek.der")).unwrap();
    let mut both = std::fs::read(&m.ask).unwrap();
    both.extend(std::fs::read(&m.ark).unwrap());
    std::fs::write(chain.join("cert_chain.pem"), both).unwrap();
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--certs".as_ref(),
        chain.as_os_str(),
    ]);
    assert_affirming(&o, "cert_chain.pem");
    assert!(
        cert_note(&o).contains("ARK ") && cert_note(&o).contains("cert_chain.pem"),
        "{}",
        cert_note(&o)
    );
    // A flag overrides the directory: the fake ARK is refused although the directory's ARK is AMD's.
    let fake = fake_ark(tmp.path());
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--certs".as_ref(),
        pem.as_os_str(),
        "--ark".as_ref(),
        fake.as_os_str(),
    ]);
    fail_line(&o, "ARK is an AMD root (SHA-256 pin)");
    // A fake ark.pem in the directory is refused the same way.
    std::fs::copy(&fake, pem.join("ark.pem")).unwrap();
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--certs".as_ref(),
        pem.as_os_str(),
    ]);
    fail_line(&o, "ARK is an AMD root (SHA-256 pin)");
    // A directory without a VCEK, a missing directory, a junk vcek.pem: one line, exit 2.
    let empty = dir("empty");
    let e = assert_clean_failure(
        &verify_with(&[
            "--report".as_ref(),
            report,
            "--certs".as_ref(),
            empty.as_os_str(),
        ]),
        2,
    );
    assert!(e.contains("no VCEK"), "{e}");
    let missing = tmp.path().join("missing");
    let e = assert_clean_failure(
        &verify_with(&[
            "--report".as_ref(),
            report,
            "--certs".as_ref(),
            missing.as_os_str(),
        ]),
        2,
    );
    assert!(e.contains("missing") && e.contains("cannot read"), "{e}");
    std::fs::write(empty.join("vcek.pem"), "junk\n").unwrap();
    let e = assert_clean_failure(
        &verify_with(&[
            "--report".as_ref(),
            report,
            "--certs".as_ref(),
            empty.as_os_str(),
        ]),
        2,
    );
    assert!(
        e.contains("vcek.pem") && e.contains("VCEK certificate"),
        "{e}"
    );
}

/// The certificate table of an extended report, in the layout the kernel's sev-guest driver returns
/// (Documentation/virt/coco/sev-guest.rst, GHCB specification "SNP Extended Guest Request"; virtee/sev
/// `CertTableEntry::parse_table`): 24-byte entries of GUID (RFC 4122 byte order), little-endian offset from
/// the table's start and length, an all-zero entry, then the DER certificates.
fn cert_table(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut head = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let start = (entries.len() + 1) * 24;
    for (guid, der) in entries {
        let g: Vec<u8> = hex::decode(&guid.replace('-', "")).unwrap();
        head.extend(g);
        head.extend(((start + data.len()) as u32).to_le_bytes());
        head.extend((der.len() as u32).to_le_bytes());
        data.extend(der);
    }
    head.extend([0; 24]);
    head.extend(data);
    head
}

const ARK_GUID: &str = "c0b406a4-a803-4952-9743-3fb6014cd0ae";
const ASK_GUID: &str = "4ab7b379-bbac-4fe4-a02f-05aef327c782";
const VCEK_GUID: &str = "63da758d-e664-4564-adc5-f4b93be8accd";
const CRL_GUID: &str = "92f81bc3-5811-4d3d-97ff-d19f88dc67ea";

#[test]
fn extended_report_certificate_tables() {
    let m = milan();
    let report = m.report.as_os_str();
    let tmp = tempfile::tempdir().unwrap();
    let ask = std::fs::read(pem_to_der(&m.ask, tmp.path(), "ask.der")).unwrap();
    let ark = std::fs::read(pem_to_der(&m.ark, tmp.path(), "ark.der")).unwrap();
    let vcek = std::fs::read(&m.vcek).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // The table virtee/sev writes (the fixture, made by its `cert_table_to_vec_bytes`) is the one built here.
    let oracle = fixture("snp-reports/cert_table_milan.bin");
    assert_eq!(
        cert_table(&[
            (ARK_GUID, ark.clone()),
            (ASK_GUID, ask.clone()),
            (VCEK_GUID, vcek.clone()),
        ]),
        std::fs::read(&oracle).unwrap(),
        "the test's table layout is virtee/sev's"
    );
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--cert-table".as_ref(),
        oracle.as_os_str(),
    ]);
    assert_affirming(&o, "virtee/sev's table");
    // The order hosts use (ARK, ASK, VCEK), another order, with an entry of another kind (a CRL's GUID).
    let full = write(
        "full.bin",
        &cert_table(&[
            (ARK_GUID, ark.clone()),
            (ASK_GUID, ask.clone()),
            (VCEK_GUID, vcek.clone()),
        ]),
    );
    let shuffled = write(
        "shuffled.bin",
        &cert_table(&[
            (VCEK_GUID, vcek.clone()),
            (CRL_GUID, b"not a certificate".to_vec()),
            (ARK_GUID, ark.clone()),
            (ASK_GUID, ask.clone()),
        ]),
    );
    for t in [&full, &shuffled] {
        let o = verify_with(&[
            "--report".as_ref(),
            report,
            "--cert-table".as_ref(),
            t.as_os_str(),
        ]);
        assert_affirming(&o, &t.display().to_string());
        let table = format!("{} (certificate table)", t.display());
        assert_eq!(
            cert_note(&o),
            format!("note  certificates: VCEK {table}, ASK {table}, ARK {table}")
        );
    }
    // A table with the VCEK only (hosts that cache the chain elsewhere): the chain built in.
    let vcek_only = write("vcek-only.bin", &cert_table(&[(VCEK_GUID, vcek.clone())]));
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--cert-table".as_ref(),
        vcek_only.as_os_str(),
    ]);
    assert_affirming(&o, "VCEK-only table");
    assert!(cert_note(&o).contains("ASK built in (Milan), ARK built in (Milan)"));
    // A fake ARK in the table: the pin check fails.
    let fake = std::fs::read(pem_to_der(&fake_ark(tmp.path()), tmp.path(), "fake.der")).unwrap();
    let faked = write(
        "fake-ark.bin",
        &cert_table(&[
            (ARK_GUID, fake),
            (ASK_GUID, ask.clone()),
            (VCEK_GUID, vcek.clone()),
        ]),
    );
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--cert-table".as_ref(),
        faked.as_os_str(),
    ]);
    fail_line(&o, "ARK is an AMD root (SHA-256 pin)");
    // Hostile tables: one line naming the file, exit 2.
    let mut out_of_bounds = std::fs::read(&full).unwrap();
    out_of_bounds[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut no_end = cert_table(&[(VCEK_GUID, vcek.clone())]);
    no_end.truncate(24);
    let mut no_end_empty = no_end.clone();
    no_end_empty[16..24].fill(0); // offset 0, length 0: inside, but no terminator follows
    let mut bad_der = cert_table(&[(VCEK_GUID, vcek.clone())]);
    bad_der[48] = 0x04; // the VCEK's outer SEQUENCE made an OCTET STRING
    for (name, bytes, why) in [
        ("oob.bin", out_of_bounds, "outside the table"),
        ("cut.bin", no_end, "outside the table"),
        ("noend.bin", no_end_empty, "no all-zero entry"),
        ("empty.bin", vec![], "no all-zero entry"),
        ("baddr.bin", bad_der, "VCEK certificate"),
        ("none.bin", vec![0; 24], "no VCEK"),
    ] {
        let p = write(name, &bytes);
        let e = assert_clean_failure(
            &verify_with(&[
                "--report".as_ref(),
                report,
                "--cert-table".as_ref(),
                p.as_os_str(),
            ]),
            2,
        );
        assert!(e.contains(why), "{name}: {e}");
        if why != "no VCEK" {
            assert!(e.contains(name), "{name}: {e}");
        }
    }
    // --certs and --cert-table are one or the other (a usage error).
    let o = verify_with(&[
        "--report".as_ref(),
        report,
        "--cert-table".as_ref(),
        full.as_os_str(),
        "--certs".as_ref(),
        tmp.path().as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("'--cert-table <FILE>' cannot be used with '--certs <DIR>'"),
        "{e}"
    );
}
