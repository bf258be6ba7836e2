//! `yardstick verify tpm` on real TPM 2.0 quotes made during the test: a private swtpm per test (own state
//! directory, own loopback ports), driven by tpm2-tools (`tpm2_startup`, `tpm2_createek`, `tpm2_createak`,
//! `tpm2_pcrextend`, `tpm2_quote`, `tpm2_readpublic`, `tpm2_pcrread`), with RSASSA, RSA-PSS and ECDSA P-256
//! attestation keys. Every quote must verify; a wrong nonce, a changed PCR value, a changed message, a
//! truncated signature and another AK must not.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers panic on a broken fixture or peer, like the tests themselves (clippy.toml allows unwrap
// only inside #[test] functions).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::swtpm;
use support::*;

/// A private swtpm (own state directory, own loopback ports), started up; its tpm2-tools commands must succeed.
struct Swtpm(swtpm::Swtpm);

impl Swtpm {
    fn start() -> Swtpm {
        let t = swtpm::Swtpm::serve(tempfile::tempdir().unwrap(), "not-need-init")
            .unwrap_or_else(|e| panic!("{e}"));
        let t = Swtpm(t);
        t.tool("tpm2_startup", &["-c"]);
        t
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path(name)
    }

    /// Runs a tpm2-tools command (then flushes transient objects); returns its stdout.
    fn tool(&self, name: &str, args: &[&str]) -> String {
        self.0.tool(name, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates an EK and an AK named `name` (`ak.ctx`, `ak.pub` = TPM2B_PUBLIC, `ak.pem`), signing with
    /// SHA-256.
    fn create_ak(&self, name: &str, key: &str, scheme: &str) {
        self.create_ak_hash(name, key, scheme, "sha256");
    }

    /// As [`Swtpm::create_ak`], signing with `hash`.
    fn create_ak_hash(&self, name: &str, key: &str, scheme: &str, hash: &str) {
        if !self.path("ek.ctx").exists() {
            self.tool(
                "tpm2_createek",
                &["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"],
            );
        }
        let (ctx, public, pem) = (
            format!("{name}.ctx"),
            format!("{name}.pub"),
            format!("{name}.pem"),
        );
        self.tool(
            "tpm2_createak",
            &[
                "-C",
                "ek.ctx",
                "-c",
                &ctx,
                "-G",
                key,
                "-g",
                hash,
                "-s",
                scheme,
                "-u",
                &public,
                "-n",
                &format!("{name}.name"),
            ],
        );
        self.tool("tpm2_readpublic", &["-c", &ctx, "-f", "pem", "-o", &pem]);
    }
}

fn verify(t: &Swtpm, files: [&str; 4], extra: &[&str]) -> Output {
    let [quote, sig, ak, pcrs] = files;
    run(yardstick()
        .args(["verify", "tpm", "--quote"])
        .arg(t.path(quote))
        .arg("--signature")
        .arg(t.path(sig))
        .arg("--ak")
        .arg(t.path(ak))
        .arg("--pcrs")
        .arg(t.path(pcrs))
        .args(extra))
}

/// The peer's verdict: `tpm2_checkquote` (tpm2-tools) on the same files.
fn checkquote(t: &Swtpm, files: [&str; 4], nonce: &str) -> bool {
    let [quote, sig, ak, pcrs] = files;
    run(Command::new(peer("tpm2_checkquote"))
        .current_dir(t.0.work_dir())
        .args([
            "-u", ak, "-m", quote, "-s", sig, "-f", pcrs, "-g", "sha256", "-q", nonce,
        ]))
    .status
    .success()
}

/// Runs yardstick and tpm2_checkquote on the same quote; both must reach `accept`. tpm2_checkquote 5.4
/// (Debian 12) cannot check RSA-PSS signatures (upstream added that later, commit b4687c3f "Add rsapss
/// padding"), so for PSS quotes only yardstick runs; the TPM that made them is then the reference.
fn both(t: &Swtpm, files: [&str; 4], nonce: &str, accept: bool, what: &str) -> Output {
    let o = verify(t, files, &[&format!("--nonce={nonce}")]);
    assert_eq!(
        o.status.code() == Some(0),
        accept,
        "yardstick on {what}:\n{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    if !what.contains("rsapss") {
        assert_eq!(
            checkquote(t, files, nonce),
            accept,
            "tpm2_checkquote on {what}"
        );
    }
    o
}

fn assert_ok(o: &Output, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}:\n{}{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn assert_fails(o: &Output, check: &str, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}:\n{}{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(o).contains(&format!("FAIL  {check}")),
        "{what}: no FAIL {check}:\n{}",
        stdout(o)
    );
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

const NONCE: &str = "5eed0f0ddba11c0ffee0123456789abc";
const QUOTED: &str = "sha256:0,1,7,16,23";

/// The whole cycle for one AK type.
fn quote_cycle(key: &str, scheme: &str) {
    let t = Swtpm::start();
    t.create_ak("ak", key, scheme);
    t.create_ak("other", key, scheme);
    // Measure something into PCR 16 and 23 (resettable debug/application PCRs), sha256 bank.
    t.tool(
        "tpm2_pcrextend",
        &["16:sha256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"],
    );
    t.tool(
        "tpm2_pcrextend",
        &["23:sha256=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"],
    );
    t.tool(
        "tpm2_quote",
        &[
            "-c", "ak.ctx", "-q", NONCE, "-l", QUOTED, "-g", "sha256", "--scheme", scheme, "-m",
            "q.msg", "-s", "q.sig", "-o", "q.pcrs",
        ],
    );
    t.tool(
        "tpm2_quote",
        &[
            "-c", "ak.ctx", "-q", NONCE, "-l", QUOTED, "-g", "sha256", "--scheme", scheme, "-m",
            "r.msg", "-s", "r.sig", "-f", "plain", "-o", "r.pcrs", "-F", "values",
        ],
    );
    // The peer's own reading of PCR 16, for the reference-value comparison.
    t.tool("tpm2_pcrread", &["sha256:16", "-o", "pcr16.bin"]);
    let pcr16 = yardstick_common::hex::encode(&std::fs::read(t.path("pcr16.bin")).unwrap());
    assert_eq!(pcr16.len(), 64);
    let n = format!("--nonce={NONCE}");
    let what = format!("{key}/{scheme}");

    // Accepted: TPMT_SIGNATURE + TPM2B_PUBLIC, + PEM AK (tpm2_checkquote agrees); raw signature + values PCR
    // file.
    let o = both(
        &t,
        ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
        NONCE,
        true,
        &what,
    );
    let out = stdout(&o);
    for check in [
        "AK is a restricted signing key",
        "quote signature (AK,",
        "quote nonce (extraData)",
        "PCR digest",
    ] {
        assert!(
            out.contains(&format!("ok    {check}")),
            "{what}: {check}:\n{out}"
        );
    }
    assert_ok(
        &verify(&t, ["q.msg", "q.sig", "ak.pem", "q.pcrs"], &[&n]),
        &what,
    );
    // --json carries the AK's fingerprint whole: for an RSA AK, SHA-256 of its modulus (openssl's reading).
    let j: serde_json::Value = serde_json::from_slice(
        &verify(&t, ["q.msg", "q.sig", "ak.pem", "q.pcrs"], &[&n, "--json"]).stdout,
    )
    .unwrap();
    assert!(!j.to_string().contains('…'), "{what}: shortened: {j}");
    let sig = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .unwrap()
                .starts_with("quote signature (AK")
        })
        .unwrap()["expected"]
        .as_str()
        .unwrap()
        .to_string();
    let fp = sig.rsplit(' ').next().unwrap();
    assert_eq!(fp.len(), 64, "{what}: {sig}");
    if key == "rsa" {
        let m = run_ok(
            Command::new(peer("openssl"))
                .args(["rsa", "-pubin", "-modulus", "-noout", "-in"])
                .arg(t.path("ak.pem")),
        );
        let modulus =
            yardstick_common::hex::decode(m.trim().trim_start_matches("Modulus=")).unwrap();
        let modulus_file = t.path("modulus.bin");
        std::fs::write(&modulus_file, modulus).unwrap();
        let d = run_ok(
            Command::new(peer("openssl"))
                .args(["dgst", "-sha256", "-r"])
                .arg(&modulus_file),
        );
        assert_eq!(fp, d.split_whitespace().next().unwrap(), "{what}");
    }
    assert_ok(
        &verify(&t, ["r.msg", "r.sig", "ak.pem", "r.pcrs"], &[&n]),
        &format!("{what} raw"),
    );
    assert_ok(
        &verify(&t, ["r.msg", "r.sig", "ak.pub", "q.pcrs"], &[&n]),
        &format!("{what} raw + TPM2B"),
    );

    // PCR JSON from tpm2_pcrread values (the `pcr predict` shape).
    t.tool("tpm2_pcrread", &[QUOTED, "-o", "all.bin"]);
    let all = std::fs::read(t.path("all.bin")).unwrap();
    let mut bank = serde_json::Map::new();
    for (i, pcr) in [0, 1, 7, 16, 23].iter().enumerate() {
        bank.insert(
            pcr.to_string(),
            yardstick_common::hex::encode(&all[i * 32..i * 32 + 32]).into(),
        );
    }
    let json = serde_json::json!({ "sha256": bank });
    write(&t.path("pcrs.json"), json.to_string().as_bytes());
    assert_ok(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "pcrs.json"], &[&n]),
        &format!("{what} JSON"),
    );

    // tpm2_pcrread's own output (YAML-like text) as the PCR file.
    let yaml = t.tool("tpm2_pcrread", &[QUOTED]);
    assert!(yaml.contains("sha256:"), "{yaml}");
    write(&t.path("pcrs.yaml"), yaml.as_bytes());
    assert_ok(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "pcrs.yaml"], &[&n]),
        &format!("{what} tpm2_pcrread"),
    );
    let changed = yaml.replacen("0x0", "0x1", 1);
    assert_ne!(changed, yaml);
    write(&t.path("changed.yaml"), changed.as_bytes());
    assert_fails(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "changed.yaml"], &[&n]),
        "PCR digest",
        &format!("{what} changed tpm2_pcrread"),
    );

    // Reference values: PCR 16 as tpm2_pcrread reads it passes; another value, or a PCR the quote does not
    // cover, fails with both values named.
    write(
        &t.path("ref.json"),
        format!(r#"{{"sha256": {{"16": "{pcr16}"}}}}"#).as_bytes(),
    );
    let refs = t.path("ref.json").display().to_string();
    assert_ok(
        &verify(
            &t,
            ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
            &[&n, "--expected-pcrs", &refs],
        ),
        &what,
    );
    let bad16 = format!(
        "{}{}",
        &pcr16[..63],
        if pcr16.ends_with('0') { "1" } else { "0" }
    );
    write(
        &t.path("bad.json"),
        format!(r#"{{"sha256": {{"16": "{bad16}"}}}}"#).as_bytes(),
    );
    let bad = t.path("bad.json").display().to_string();
    let o = verify(
        &t,
        ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
        &[&n, "--expected-pcrs", &bad],
    );
    assert_fails(&o, "PCR 16 sha256", &what);
    assert!(
        stdout(&o).contains(&format!("expected {bad16}, actual {pcr16}")),
        "{}",
        stdout(&o)
    );
    write(
        &t.path("pcr5.json"),
        format!(r#"{{"sha256": {{"5": "{pcr16}"}}}}"#).as_bytes(),
    );
    let p5 = t.path("pcr5.json").display().to_string();
    let o = verify(
        &t,
        ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
        &[&n, "--expected-pcrs", &p5],
    );
    assert_fails(&o, "PCR 5 sha256", &what);
    assert!(
        stdout(&o).contains("not covered by the quote"),
        "{}",
        stdout(&o)
    );

    // Wrong nonce.
    assert_fails(
        &verify(
            &t,
            ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
            &["--nonce", "00"],
        ),
        "quote nonce",
        &what,
    );

    // A changed PCR value, in every quoted PCR (serialized file: 136-byte header, values at 4 + 66 i + 2).
    let pcrs = std::fs::read(t.path("q.pcrs")).unwrap();
    for i in 0..5 {
        let mut b = pcrs.clone();
        b[136 + 4 + 66 * i + 2 + 31] ^= 1;
        write(&t.path("changed.pcrs"), &b);
        assert_fails(
            &verify(&t, ["q.msg", "q.sig", "ak.pub", "changed.pcrs"], &[&n]),
            "PCR digest",
            &what,
        );
    }
    let mut json = json.clone();
    json["sha256"]["7"] = pcr16.clone().into();
    write(&t.path("changed.json"), json.to_string().as_bytes());
    assert_fails(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "changed.json"], &[&n]),
        "PCR digest",
        &what,
    );

    // Any changed byte of the quote message.
    let msg = std::fs::read(t.path("q.msg")).unwrap();
    for pos in 0..msg.len() {
        let mut b = msg.clone();
        b[pos] ^= 1;
        write(&t.path("changed.msg"), &b);
        let o = verify(&t, ["changed.msg", "q.sig", "ak.pub", "q.pcrs"], &[&n]);
        assert_ne!(
            o.status.code(),
            Some(0),
            "{what}: message byte {pos} changed, still accepted"
        );
        if o.status.code() == Some(2) {
            assert_clean_failure(&o, 2);
        }
    }

    // Truncated signatures: a TPMT_SIGNATURE is then malformed (exit 2), a raw one fails to verify.
    let sig = std::fs::read(t.path("q.sig")).unwrap();
    for len in [sig.len() - 1, sig.len() / 2, 5] {
        write(&t.path("short.sig"), &sig[..len]);
        let o = verify(&t, ["q.msg", "short.sig", "ak.pub", "q.pcrs"], &[&n]);
        assert!(
            !checkquote(&t, ["q.msg", "short.sig", "ak.pub", "q.pcrs"], NONCE),
            "tpm2_checkquote: short sig"
        );
        let e = assert_clean_failure(&o, 2);
        assert!(e.contains("short.sig") && e.contains("truncated"), "{e}");
    }
    let raw = std::fs::read(t.path("r.sig")).unwrap();
    write(&t.path("short.raw"), &raw[..raw.len() - 1]);
    let o = verify(&t, ["r.msg", "short.raw", "ak.pub", "r.pcrs"], &[&n]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "{what}: truncated raw signature accepted"
    );

    // Another AK.
    assert_fails(
        &verify(&t, ["q.msg", "q.sig", "other.pub", "q.pcrs"], &[&n]),
        "quote signature",
        &what,
    );
    assert_fails(
        &verify(&t, ["r.msg", "r.sig", "other.pem", "r.pcrs"], &[&n]),
        "quote signature",
        &what,
    );
}

#[test]
fn rsa_rsassa_quotes() {
    quote_cycle("rsa", "rsassa");
}

#[test]
fn rsa_pss_quotes() {
    quote_cycle("rsa", "rsapss");
}

#[test]
fn ecc_p256_ecdsa_quotes() {
    quote_cycle("ecc", "ecdsa");
}

#[test]
fn bad_tpm_input_exits_2_with_one_line() {
    let t = Swtpm::start();
    t.create_ak("ak", "rsa", "rsassa");
    t.tool(
        "tpm2_quote",
        &[
            "-c", "ak.ctx", "-q", NONCE, "-l", "sha256:0", "-m", "q.msg", "-s", "q.sig", "-o",
            "q.pcrs",
        ],
    );
    let msg = std::fs::read(t.path("q.msg")).unwrap();

    // Absurd sizes in TPMS_ATTEST: qualifiedSigner of 0xffff bytes, a PCR selection of 2^32-1 banks.
    let mut b = msg.clone();
    b[6] = 0xff;
    b[7] = 0xff;
    write(&t.path("big.msg"), &b);
    let e = assert_clean_failure(
        &verify(&t, ["big.msg", "q.sig", "ak.pub", "q.pcrs"], &[]),
        2,
    );
    assert!(
        e.contains("big.msg") && e.contains("qualifiedSigner"),
        "{e}"
    );
    let sel = msg.len() - 2 - 32 - 4 - 3 - 4; // count field of TPML_PCR_SELECTION
    let mut b = msg.clone();
    b[sel..sel + 4].copy_from_slice(&[0xff; 4]);
    write(&t.path("banks.msg"), &b);
    let e = assert_clean_failure(
        &verify(&t, ["banks.msg", "q.sig", "ak.pub", "q.pcrs"], &[]),
        2,
    );
    assert!(e.contains("TPML_PCR_SELECTION.count"), "{e}");
    let mut b = msg.clone();
    b[0] = 0;
    write(&t.path("magic.msg"), &b);
    let e = assert_clean_failure(
        &verify(&t, ["magic.msg", "q.sig", "ak.pub", "q.pcrs"], &[]),
        2,
    );
    assert!(e.contains("magic"), "{e}");
    write(&t.path("trunc.msg"), &msg[..msg.len() - 3]);
    assert_clean_failure(
        &verify(&t, ["trunc.msg", "q.sig", "ak.pub", "q.pcrs"], &[]),
        2,
    );

    write(&t.path("junk.pub"), b"\x01\x02\x03junk");
    let e = assert_clean_failure(
        &verify(&t, ["q.msg", "q.sig", "junk.pub", "q.pcrs"], &[]),
        2,
    );
    assert!(e.contains("junk.pub"), "{e}");
    write(&t.path("junk.pcrs"), &[7u8; 100]);
    let e = assert_clean_failure(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "junk.pcrs"], &[]),
        2,
    );
    assert!(e.contains("junk.pcrs"), "{e}");
    write(&t.path("short.json"), br#"{"sha256": {"0": "00"}}"#);
    let e = assert_clean_failure(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "short.json"], &[]),
        2,
    );
    assert!(e.contains("short.json"), "{e}");
    let e = assert_clean_failure(
        &verify(
            &t,
            ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
            &["--nonce", "xyz"],
        ),
        2,
    );
    assert!(e.contains("--nonce"), "{e}");
}

/// A real boot's measurements (the committed capture `tests/data/boot-uki/stub254`: event log, the PCRs the
/// guest read, `pcr predict` of its UKI) replayed into a fresh swtpm with `tpm2_pcrextend`, event by event,
/// then quoted: the swtpm's PCRs 0-15 (but IMA's 10) equal the guest's, so the quote is the quote that guest's
/// TPM would give. `verify tpm --eventlog --refvals` accepts it against a manifest holding the prediction;
/// a quote taken one event early is explained as such; reference banks the quote does not select are left
/// out with a note; reference PCRs a quoted bank lacks fail.
#[test]
fn captured_boot_replayed_into_swtpm() {
    let capture = workspace().join("crates/cli/tests/data/boot-uki/stub254");
    let log_path = capture.join("eventlog.bin");
    let t = Swtpm::start();
    t.create_ak("ak", "ecc", "ecdsa");
    let shown: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["eventlog", "show", "--json"])
            .arg(&log_path),
    ))
    .unwrap();
    let events: Vec<&serde_json::Value> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["extended"] == true)
        .collect();
    let last_pcr9 = events.iter().rev().find(|e| e["pcr"] == 9).unwrap()["number"]
        .as_u64()
        .unwrap();
    let extend = |e: &serde_json::Value| {
        let digests: Vec<String> = e["digests"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(alg, d)| format!("{alg}={}", d.as_str().unwrap()))
            .collect();
        t.tool(
            "tpm2_pcrextend",
            &[&format!("{}:{}", e["pcr"], digests.join(","))],
        );
    };
    for e in events.iter().filter(|e| e["number"] != last_pcr9) {
        extend(e);
    }
    let nonce = format!("--nonce={NONCE}");
    let all = "sha1:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15+sha256:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15+sha384:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15";
    let quote = |sel: &str| {
        t.tool(
            "tpm2_quote",
            &[
                "-c", "ak.ctx", "-q", NONCE, "-l", sel, "-g", "sha256", "-m", "q.msg", "-s",
                "q.sig", "-o", "q.pcrs",
            ],
        );
    };

    // The manifest: the capture's prediction as tpm.pcrs.
    let mut predicted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(capture.join("predicted.json")).unwrap()).unwrap();
    predicted.as_object_mut().unwrap().remove("pcr11_phases");
    let manifest = t.path("m.json");
    write(
        &manifest,
        serde_json::json!({"version": 1, "generator": "test", "components": [], "tpm": {"pcrs": predicted}})
            .to_string()
            .as_bytes(),
    );
    let (log, m) = (
        log_path.to_str().unwrap().to_string(),
        manifest.to_str().unwrap().to_string(),
    );
    let files = ["q.msg", "q.sig", "ak.pub", "q.pcrs"];

    // One event short: the quote predates the log's last PCR 9 event, and PCR 9 is not the manifest's.
    quote(all);
    let o = verify(&t, files, &[&nonce, "--eventlog", &log, "--refvals", &m]);
    assert_fails(&o, "event log replay PCR 9 sha256 = quoted", "early quote");
    let out = stdout(&o);
    let l = out
        .lines()
        .find(|l| l.starts_with("FAIL  event log replay PCR 9 sha384"))
        .unwrap();
    assert!(
        l.contains(&format!(
            "the log has later events the quote does not cover (#{last_pcr9} EV_EVENT_TAG)"
        )),
        "{l}"
    );
    assert!(out.contains("FAIL  PCR 9 sha1 ("), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("FAIL")).count(),
        6,
        "{out}"
    );

    // All events: the swtpm now holds what the guest read.
    extend(events.iter().find(|e| e["number"] == last_pcr9).unwrap());
    let read = t.tool("tpm2_pcrread", &[all]);
    let tpm = yardstick_tpm::pcrlist::parse(&read).unwrap().pcrs;
    let mut guest: yardstick_tpm::PcrBanks =
        serde_json::from_slice(&std::fs::read(capture.join("guest-pcrs.json")).unwrap()).unwrap();
    let not_ima: Vec<u32> = (0..16).filter(|p| *p != 10).collect();
    guest.retain_pcrs(&not_ima);
    let mut tpm_not_ima = tpm.clone();
    tpm_not_ima.retain_pcrs(&not_ima);
    assert_eq!(
        tpm_not_ima, guest,
        "swtpm after replaying the log vs the guest"
    );
    write(&t.path("pcrs.yaml"), read.as_bytes());

    quote(all);
    for pcrs in ["q.pcrs", "pcrs.yaml"] {
        let o = verify(
            &t,
            ["q.msg", "q.sig", "ak.pub", pcrs],
            &[&nonce, "--eventlog", &log, "--refvals", &m],
        );
        assert_ok(&o, pcrs);
        let out = stdout(&o);
        for bank in ["sha1", "sha256", "sha384"] {
            for pcr in [0, 1, 2, 3, 4, 5, 6, 7, 9, 11] {
                assert!(
                    out.contains(&format!("ok    event log replay PCR {pcr} {bank} = quoted")),
                    "{pcr} {bank}:\n{out}"
                );
            }
            for pcr in [4, 7, 9, 11, 12, 13] {
                assert!(out.contains(&format!("ok    PCR {pcr} {bank} (")), "{out}");
            }
        }
    }
    // --refvals-pcrs: only those.
    let out = stdout(&verify(
        &t,
        files,
        &[&nonce, "--refvals", &m, "--refvals-pcrs", "7,11"],
    ));
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("ok    PCR ") && l.contains("m.json"))
            .count(),
        6,
        "{out}"
    );

    // Only the sha256 bank quoted: the other banks' reference values are noted, not failed.
    quote("sha256:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15");
    let o = verify(&t, files, &[&nonce, "--eventlog", &log, "--refvals", &m]);
    assert_ok(&o, "sha256 quote");
    assert!(
        stdout(&o).contains(
            "note  reference PCRs of banks the quote does not select, not compared: sha1:4 sha1:7"
        ),
        "{}",
        stdout(&o)
    );
    // A quote of PCRs 0 and 7 only: the manifest's PCR 4, 9, 11, 12, 13 are not covered.
    quote("sha256:0,7");
    let o = verify(&t, files, &[&nonce, "--refvals", &m]);
    assert_fails(&o, "PCR 4 sha256", "PCR 0,7 quote");
    assert!(
        stdout(&o).contains("not covered by the quote (sha256:0,7)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("ok    PCR 7 sha256 ("),
        "{}",
        stdout(&o)
    );
    // Another boot's log (stub 252) does not describe this TPM.
    quote(all);
    let other = workspace().join("crates/cli/tests/data/boot-uki/stub252/eventlog.bin");
    let o = verify(&t, files, &[&nonce, "--eventlog", other.to_str().unwrap()]);
    assert_fails(&o, "event log replay PCR 4 sha256 = quoted", "other log");
    assert!(
        stdout(&o).contains("ok    event log replay PCR 7 sha256 = quoted"),
        "{}",
        stdout(&o)
    );

    // Unusable manifests and logs: exit 2, one line naming the file.
    write(
        &t.path("no-tpm.json"),
        br#"{"version": 1, "generator": "test", "components": []}"#,
    );
    let p = t.path("no-tpm.json").display().to_string();
    let e = assert_clean_failure(&verify(&t, files, &["--refvals", &p]), 2);
    assert!(
        e.contains("no-tpm.json") && e.contains("no tpm section"),
        "{e}"
    );
    let mut bad = serde_json::json!({"version": 1, "generator": "t", "components": [],
        "tpm": {"pcrs": {"sha256": {"4": "00"}}}});
    write(&t.path("bad-pcr.json"), bad.to_string().as_bytes());
    let p = t.path("bad-pcr.json").display().to_string();
    let e = assert_clean_failure(&verify(&t, files, &["--refvals", &p]), 2);
    assert!(e.contains("bad-pcr.json"), "{e}");
    bad["tpm"]["pcrs"] = serde_json::json!({});
    bad["tpm"]["events"] = serde_json::json!([{"pcr": 24, "component": "uki", "description": "x", "digests": {"sha256": "00".repeat(32)}}]);
    write(&t.path("bad-event.json"), bad.to_string().as_bytes());
    let p = t.path("bad-event.json").display().to_string();
    let e = assert_clean_failure(&verify(&t, files, &["--refvals", &p]), 2);
    assert!(
        e.contains("bad-event.json") && e.contains("tpm.events[0].pcr"),
        "{e}"
    );
    let e = assert_clean_failure(
        &verify(&t, files, &["--refvals", &m, "--refvals-pcrs", "8"]),
        2,
    );
    assert!(e.contains("none of the PCRs asked for (8)"), "{e}");
    let truncated = t.path("truncated.bin");
    let bytes = std::fs::read(&log_path).unwrap();
    write(&truncated, &bytes[..bytes.len() / 2]);
    let p = truncated.display().to_string();
    let e = assert_clean_failure(&verify(&t, files, &["--eventlog", &p]), 2);
    assert!(e.contains("truncated.bin"), "{e}");
    let e = assert_clean_failure(&verify(&t, files, &["--eventlog", &m]), 2);
    assert!(
        e.contains("m.json") && e.contains("not a TCG event log"),
        "{e}"
    );
}

/// PCR values the quote does not cover: a quote of PCRs 0-3 with a PCR file of 0-7 (from a quote of 0-7, or
/// tpm2_pcrread) is rejected, as tpm2_checkquote rejects it; `--allow-extra-pcrs` ignores the extra values
/// (noted). Freshness on demand: `--require-nonce` fails without a nonce or with an empty one, and a given
/// nonce is always compared.
#[test]
fn unquoted_pcrs_and_required_nonce() {
    let t = Swtpm::start();
    t.create_ak("ak", "rsa", "rsassa");
    t.tool(
        "tpm2_pcrextend",
        &["5:sha256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"],
    );
    for (sel, prefix) in [("sha256:0,1,2,3", "q"), ("sha256:0,1,2,3,4,5,6,7", "all")] {
        t.tool(
            "tpm2_quote",
            &[
                "-c",
                "ak.ctx",
                "-q",
                NONCE,
                "-l",
                sel,
                "-g",
                "sha256",
                "-m",
                &format!("{prefix}.msg"),
                "-s",
                &format!("{prefix}.sig"),
                "-o",
                &format!("{prefix}.pcrs"),
            ],
        );
    }
    let yaml = t.tool("tpm2_pcrread", &["sha256:0,1,2,3,4,5,6,7"]);
    write(&t.path("all.yaml"), yaml.as_bytes());
    let n = format!("--nonce={NONCE}");
    assert_ok(
        &verify(&t, ["q.msg", "q.sig", "ak.pub", "q.pcrs"], &[&n]),
        "0-3",
    );
    for pcrs in ["all.pcrs", "all.yaml"] {
        let files = ["q.msg", "q.sig", "ak.pub", pcrs];
        let o = verify(&t, files, &[&n]);
        assert_fails(&o, "supplied PCR values are the quoted ones", pcrs);
        assert!(
            stdout(&o).contains(
                "expected values for sha256:0,1,2,3 only, actual also sha256:4,5,6,7, which the quote does not cover"
            ),
            "{}",
            stdout(&o)
        );
        assert!(
            stdout(&o).contains("ok    PCR digest of the supplied values = quoted"),
            "the quoted values themselves are right: {}",
            stdout(&o)
        );
        let o = verify(&t, files, &[&n, "--allow-extra-pcrs"]);
        assert_ok(&o, &format!("{pcrs} --allow-extra-pcrs"));
        assert!(
            stdout(&o).contains(
                "note  PCR values the quote does not select, ignored (not trusted): sha256:4,5,6,7"
            ),
            "{}",
            stdout(&o)
        );
    }
    assert!(
        !checkquote(&t, ["q.msg", "q.sig", "ak.pub", "all.pcrs"], NONCE),
        "tpm2_checkquote rejects a PCR file beyond the quote"
    );
    assert!(checkquote(
        &t,
        ["q.msg", "q.sig", "ak.pub", "q.pcrs"],
        NONCE
    ));

    let files = ["q.msg", "q.sig", "ak.pub", "q.pcrs"];
    let o = verify(&t, files, &[]);
    assert_ok(&o, "no nonce");
    assert!(
        stdout(&o).contains("freshness is not checked"),
        "{}",
        stdout(&o)
    );
    let o = verify(&t, files, &["--require-nonce"]);
    assert_fails(
        &o,
        "quote nonce (extraData)",
        "--require-nonce without a nonce",
    );
    assert!(
        stdout(&o)
            .contains("expected a nonce to compare (freshness required), actual no nonce given"),
        "{}",
        stdout(&o)
    );
    assert_fails(
        &verify(&t, files, &["--require-nonce", "--nonce="]),
        "quote nonce (extraData)",
        "--require-nonce with an empty nonce",
    );
    assert_ok(
        &verify(&t, files, &["--require-nonce", &n]),
        "required nonce",
    );
    assert_fails(
        &verify(&t, files, &["--require-nonce", "--nonce", "00"]),
        "quote nonce (extraData)",
        "--require-nonce, wrong nonce",
    );
}

/// SHA-1 quotes, as real TPMs and verifiers (go-attestation, Windows shielded VMs, tpm2_checkquote) make and
/// accept them: an AK created for SHA-1 (RSASSA and ECDSA) quoting with `-g sha1`. Refused by default with
/// the reason and the flag named, in text and `--help`; accepted with `--allow-sha1`, the signature and PCR
/// digest checks marked weak; a changed message still fails.
#[test]
fn sha1_quotes_refused_unless_allowed() {
    let t = Swtpm::start();
    for (key, scheme) in [("rsa", "rsassa"), ("ecc", "ecdsa")] {
        let ak = format!("ak-{key}");
        t.create_ak_hash(&ak, key, scheme, "sha1");
        let (ctx, public, pem) = (
            format!("{ak}.ctx"),
            format!("{ak}.pub"),
            format!("{ak}.pem"),
        );
        t.tool(
            "tpm2_quote",
            &[
                "-c", &ctx, "-q", NONCE, "-l", QUOTED, "-g", "sha1", "-m", "s.msg", "-s", "s.sig",
                "-o", "s.pcrs",
            ],
        );
        t.tool(
            "tpm2_quote",
            &[
                "-c", &ctx, "-q", NONCE, "-l", QUOTED, "-g", "sha1", "-m", "r.msg", "-s", "r.sig",
                "-f", "plain", "-o", "r.pcrs",
            ],
        );
        let files = ["s.msg", "s.sig", public.as_str(), "s.pcrs"];
        let raw = ["r.msg", "r.sig", pem.as_str(), "r.pcrs"];
        assert!(
            run(Command::new(peer("tpm2_checkquote"))
                .current_dir(t.0.work_dir())
                .args([
                    "-u", &public, "-m", "s.msg", "-s", "s.sig", "-f", "s.pcrs", "-g", "sha1",
                    "-q", NONCE,
                ]))
            .status
            .success(),
            "tpm2_checkquote accepts the {key} SHA-1 quote"
        );
        let n = format!("--nonce={NONCE}");
        for f in [files, raw] {
            let o = verify(&t, f, &[&n]);
            assert_fails(&o, "quote signature (AK, ", &format!("{key} {f:?}"));
            assert!(
                stdout(&o).contains("actual signature uses SHA-1; pass --allow-sha1 to accept"),
                "{}",
                stdout(&o)
            );
            let o = verify(&t, f, &[&n, "--allow-sha1"]);
            assert_ok(&o, &format!("{key} {f:?} --allow-sha1"));
            let out = stdout(&o);
            assert!(
                out.contains("signature verifies (weak: SHA-1, accepted by --allow-sha1)")
                    && out.ends_with("checks passed (2 weak)\n"),
                "{out}"
            );
            let o = verify(&t, f, &[&n, "--allow-sha1", "--json"]);
            let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(j["status"], "affirming");
            let weak: Vec<&str> = j["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["weak"] == "SHA-1, accepted by --allow-sha1")
                .map(|c| c["name"].as_str().unwrap())
                .collect();
            assert_eq!(weak.len(), 2, "{j}");
            assert!(weak[0].starts_with("quote signature (AK, "), "{weak:?}");
            assert!(weak[1].starts_with("PCR digest"), "{weak:?}");
        }
        // A changed message is not accepted with SHA-1 allowed.
        let mut msg = std::fs::read(t.path("s.msg")).unwrap();
        let last = msg.len() - 1;
        msg[last] ^= 1;
        write(&t.path("changed.msg"), &msg);
        let o = verify(
            &t,
            ["changed.msg", "s.sig", &public, "s.pcrs"],
            &[&format!("--nonce={NONCE}"), "--allow-sha1"],
        );
        assert_fails(&o, "quote signature (AK, ", &format!("{key} changed"));
    }
    let help = run_ok(yardstick().args(["verify", "tpm", "--help"]));
    assert!(
        help.contains("signature uses SHA-1; pass --allow-sha1 to accept")
            && help.contains("--allow-sha1"),
        "{help}"
    );
}
