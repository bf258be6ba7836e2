//! Root-hash signatures against OpenSSL (the tool people use to make `veritysetup --root-hash-signature`
//! files): for RSA keys PKCS#1 v1.5 is deterministic, so `yardstick verity sign` must produce exactly the bytes
//! of `openssl smime -sign -nocerts -noattr -binary -outform der`; every signature yardstick makes must pass
//! `openssl smime -verify` / `openssl cms -verify`, and every signature OpenSSL makes (with or without signed
//! attributes, RSA or ECDSA) must pass `yardstick verity check-signature`.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

fn openssl() -> std::path::PathBuf {
    peer("openssl")
}

fn ossl(dir: &Path, args: &[&str]) {
    let out = run(Command::new(openssl()).args(args).current_dir(dir));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key pair and self-signed certificate made by OpenSSL: `kind` is an `openssl req -newkey` argument.
fn keypair(dir: &Path, name: &str, newkey: &[&str]) {
    let mut args = vec!["req", "-x509", "-nodes", "-days", "3650", "-subj"];
    let subj = format!("/CN=yardstick {name}/O=test");
    args.push(&subj);
    args.extend_from_slice(newkey);
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    args.extend(["-keyout", &key, "-out", &crt]);
    ossl(dir, &args);
}

const ROOT: &str = "e04b33bf8bc61f59839c06725db22386c788722e64ab671d2481c8b4a6aeecea";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("roothash.txt"), ROOT).unwrap();
    keypair(d, "rsa", &["-newkey", "rsa:2048"]);
    keypair(d, "rsa3k", &["-newkey", "rsa:3072"]);
    keypair(
        d,
        "p256",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    keypair(
        d,
        "p384",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    // The same RSA key as PKCS#1 ("BEGIN RSA PRIVATE KEY") and an EC key as SEC1 ("BEGIN EC PRIVATE KEY").
    ossl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.key",
            "-traditional",
            "-out",
            "rsa-pkcs1.key",
        ],
    );
    ossl(d, &["ec", "-in", "p256.key", "-out", "p256-sec1.key"]);
    dir
}

fn y_sign(d: &Path, key: &str, crt: &str, out: &str, digest: &str) {
    run_ok(
        yardstick()
            .args([
                "verity", "sign", "--key", key, "--cert", crt, "--out", out, "--digest", digest,
                ROOT,
            ])
            .current_dir(d),
    );
}

fn y_check(d: &Path, sig: &str, crt: &str, root: &str) -> i32 {
    let out = run(yardstick()
        .args(["verity", "check-signature", sig, "--cert", crt, root])
        .current_dir(d));
    if out.status.code() == Some(2) {
        panic!(
            "check-signature {sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.code().unwrap_or(-1)
}

/// Vector: the hex root hash above, OpenSSL-made RSA-2048/3072 keys, sha256/384/512.
#[test]
fn rsa_signatures_are_byte_identical_to_openssl() {
    let dir = setup();
    let d = dir.path();
    let mut n = 0;
    for (key, crt) in [
        ("rsa.key", "rsa.crt"),
        ("rsa-pkcs1.key", "rsa.crt"),
        ("rsa3k.key", "rsa3k.crt"),
    ] {
        for md in ["sha256", "sha384", "sha512"] {
            ossl(
                d,
                &[
                    "smime",
                    "-sign",
                    "-nocerts",
                    "-noattr",
                    "-binary",
                    "-in",
                    "roothash.txt",
                    "-inkey",
                    key,
                    "-signer",
                    crt,
                    "-md",
                    md,
                    "-outform",
                    "der",
                    "-out",
                    "openssl.p7s",
                ],
            );
            y_sign(d, key, crt, "yardstick.p7s", md);
            assert_eq!(
                std::fs::read(d.join("openssl.p7s")).unwrap(),
                std::fs::read(d.join("yardstick.p7s")).unwrap(),
                "{key} {md}"
            );
            n += 1;
        }
    }
    println!("{n} RSA signatures byte-identical with openssl smime");
}

/// Every yardstick signature passes OpenSSL's verification (smime and cms), ECDSA included.
#[test]
fn openssl_verifies_yardstick_signatures() {
    let dir = setup();
    let d = dir.path();
    for (key, crt) in [
        ("rsa.key", "rsa.crt"),
        ("p256.key", "p256.crt"),
        ("p256-sec1.key", "p256.crt"),
        ("p384.key", "p384.crt"),
    ] {
        for md in ["sha256", "sha384"] {
            y_sign(d, key, crt, "y.p7s", md);
            for tool in ["smime", "cms"] {
                ossl(
                    d,
                    &[
                        tool,
                        "-verify",
                        "-binary",
                        "-inform",
                        "der",
                        "-in",
                        "y.p7s",
                        "-content",
                        "roothash.txt",
                        "-certfile",
                        crt,
                        "-noverify",
                        "-out",
                        "/dev/null",
                    ],
                );
            }
        }
    }
}

/// Every OpenSSL signature the kernel takes (RSA, ECDSA; without signed attributes, or with content type,
/// signing time and message digest) passes yardstick's check, and fails it for another root hash, another
/// certificate, or a flipped signature byte. `openssl smime -sign` without `-noattr` also signs an S/MIME
/// capabilities attribute, which the kernel refuses outside Authenticode (pkcs7_parser.c): so does yardstick.
#[test]
fn yardstick_checks_openssl_signatures() {
    let dir = setup();
    let d = dir.path();
    let other = format!("{}00", &ROOT[..62]);
    for (key, crt, wrong) in [
        ("rsa.key", "rsa.crt", "rsa3k.crt"),
        ("p256.key", "p256.crt", "p384.crt"),
        ("p384.key", "p384.crt", "p256.crt"),
    ] {
        for attrs in ["none", "signed", "smime-capabilities"] {
            let mut args = match attrs {
                "none" => vec!["smime", "-sign", "-noattr"],
                "signed" => vec!["cms", "-sign", "-nosmimecap"],
                _ => vec!["smime", "-sign"],
            };
            args.extend([
                "-nocerts",
                "-binary",
                "-in",
                "roothash.txt",
                "-inkey",
                key,
                "-signer",
                crt,
                "-outform",
                "der",
                "-out",
                "o.p7s",
            ]);
            ossl(d, &args);
            if attrs == "smime-capabilities" {
                let out = run(yardstick()
                    .args(["verity", "check-signature", "o.p7s", "--cert", crt, ROOT])
                    .current_dir(d));
                assert_eq!(out.status.code(), Some(1), "{key} {attrs}");
                let text = String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
                assert!(
                    text.contains("sMIMECapabilities is only allowed in Authenticode"),
                    "{key}: {text}"
                );
                continue;
            }
            assert_eq!(y_check(d, "o.p7s", crt, ROOT), 0, "{key} attrs={attrs}");
            assert_eq!(
                y_check(d, "o.p7s", crt, &other),
                1,
                "{key}: other root hash"
            );
            assert_eq!(
                y_check(d, "o.p7s", wrong, ROOT),
                1,
                "{key}: other certificate"
            );
            let mut sig = std::fs::read(d.join("o.p7s")).unwrap();
            let last = sig.len() - 3;
            sig[last] ^= 1;
            std::fs::write(d.join("bad.p7s"), &sig).unwrap();
            assert_eq!(y_check(d, "bad.p7s", crt, ROOT), 1, "{key}: flipped byte");
        }
    }
}

/// The systemd-repart `Verity=signature` JSON: rootHash, the SHA-256 certificate fingerprint (as OpenSSL
/// prints it), and the base64 DER signature.
#[test]
fn systemd_signature_json() {
    let dir = setup();
    let d = dir.path();
    run_ok(
        yardstick()
            .args([
                "verity",
                "sign",
                "--key",
                "rsa.key",
                "--cert",
                "rsa.crt",
                "--out",
                "s.p7s",
                "--systemd-json",
                "s.json",
                "--root-hash-file",
                "roothash.txt",
            ])
            .current_dir(d),
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    assert_eq!(j["rootHash"], ROOT);
    let fp = String::from_utf8(
        run(Command::new(openssl())
            .args([
                "x509",
                "-in",
                "rsa.crt",
                "-noout",
                "-fingerprint",
                "-sha256",
            ])
            .current_dir(d))
        .stdout,
    )
    .unwrap();
    let fp = fp
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(j["certificateFingerprint"], fp);
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(j["signature"].as_str().unwrap())
        .unwrap();
    assert_eq!(sig, std::fs::read(d.join("s.p7s")).unwrap());
}

/// A key that does not belong to the certificate is refused before anything is written.
#[test]
fn mismatched_key_and_certificate() {
    let dir = setup();
    let d = dir.path();
    let out = run(yardstick()
        .args([
            "verity",
            "sign",
            "--key",
            "rsa.key",
            "--cert",
            "rsa3k.crt",
            "--out",
            "x.p7s",
            ROOT,
        ])
        .current_dir(d));
    assert!(assert_clean_failure(&out, 2).contains("does not match the certificate"));
    assert!(!d.join("x.p7s").exists());
}

/// `check-signature` on `sig`: the exit code and stderr.
fn y_check_output(d: &Path, sig: &str, crt: &str) -> (i32, String) {
    let out = run(yardstick()
        .args(["verity", "check-signature", sig, "--cert", crt, ROOT])
        .current_dir(d));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `bytes` with the last occurrence of `from` replaced by `to` (same length).
fn replace_last(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = (0..=bytes.len() - from.len())
        .rev()
        .find(|i| &bytes[*i..*i + from.len()] == from)
        .unwrap_or_else(|| panic!("{from:02x?} not found"));
    let mut out = bytes.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}

/// The signer's algorithms must be ones the kernel's PKCS#7 verifier takes (pkcs7_parser.c, public_key.c): an
/// OpenSSL signature whose signerInfo signature algorithm (rsaEncryption) is changed to
/// sha256WithRSAEncryption or to an unknown OID, or whose signerInfo digest algorithm is changed to an unknown
/// OID, is refused (exit 1, "signature check failed"); so is ECDSA over SHA-1, and an ECDSA algorithm with an
/// RSA certificate. The unchanged signatures pass.
#[test]
fn signer_algorithms_are_the_kernels() {
    let dir = setup();
    let d = dir.path();
    let sign = |key: &str, crt: &str, md: &str, out: &str| {
        ossl(
            d,
            &[
                "smime",
                "-sign",
                "-nocerts",
                "-noattr",
                "-binary",
                "-in",
                "roothash.txt",
                "-inkey",
                key,
                "-signer",
                crt,
                "-md",
                md,
                "-outform",
                "der",
                "-out",
                out,
            ],
        );
        std::fs::read(d.join(out)).unwrap()
    };
    let rsa = sign("rsa.key", "rsa.crt", "sha256", "rsa.p7s");
    assert_eq!(y_check(d, "rsa.p7s", "rsa.crt", ROOT), 0);

    // DER of the OIDs: rsaEncryption 1.2.840.113549.1.1.1, sha256WithRSAEncryption ...1.1.11, id-sha256
    // 2.16.840.1.101.3.4.2.1; the signerInfo holds the last occurrence.
    let rsa_encryption = [0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 1];
    let sha256 = [0x06, 9, 0x60, 0x86, 0x48, 1, 0x65, 3, 4, 2, 1];
    let with_last = |oid: &[u8], last: u8| {
        let mut o = oid.to_vec();
        *o.last_mut().unwrap() = last;
        o
    };
    for (name, bytes, why) in [
        (
            "sha256-with-rsa.p7s",
            replace_last(&rsa, &rsa_encryption, &with_last(&rsa_encryption, 11)),
            "signature algorithm 1.2.840.113549.1.1.11 is not one the kernel takes",
        ),
        (
            "unknown-sig-alg.p7s",
            replace_last(&rsa, &rsa_encryption, &with_last(&rsa_encryption, 0x7f)),
            "signature algorithm 1.2.840.113549.1.1.127 is not one the kernel takes",
        ),
        (
            "unknown-digest.p7s",
            replace_last(&rsa, &sha256, &with_last(&sha256, 0x7f)),
            "digest algorithm 2.16.840.1.101.3.4.2.127 is not one the kernel takes",
        ),
    ] {
        std::fs::write(d.join(name), bytes).unwrap();
        let (code, err) = y_check_output(d, name, "rsa.crt");
        assert_eq!(code, 1, "{name}: {err}");
        assert!(
            err.contains("signature check failed") && err.contains(why),
            "{name}: {err}"
        );
    }

    // ECDSA: over SHA-256 accepted, over SHA-1 refused; an ECDSA signer algorithm with an RSA certificate.
    sign("p256.key", "p256.crt", "sha256", "p256.p7s");
    assert_eq!(y_check(d, "p256.p7s", "p256.crt", ROOT), 0);
    sign("p256.key", "p256.crt", "sha1", "p256-sha1.p7s");
    let (code, err) = y_check_output(d, "p256-sha1.p7s", "p256.crt");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ECDSA over SHA-1"), "{err}");
    // The RSA signature with its signer algorithm (rsaEncryption, NULL parameters) replaced, same length,
    // by ecdsa-with-SHA256 with a 3-byte parameter the kernel ignores: ECDSA does not fit the RSA key.
    let rsa_alg = [
        0x30, 0x0d, 0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 1, 0x05, 0,
    ];
    let ecdsa_alg = [
        0x30, 0x0d, 0x06, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2, 0x04, 1, 0,
    ];
    std::fs::write(
        d.join("ecdsa-alg.p7s"),
        replace_last(&rsa, &rsa_alg, &ecdsa_alg),
    )
    .unwrap();
    let (code, err) = y_check_output(d, "ecdsa-alg.p7s", "rsa.crt");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("signature algorithm is ECDSA, but the certificate's key is RSA"),
        "{err}"
    );
}
