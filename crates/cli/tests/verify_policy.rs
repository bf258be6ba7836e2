//! Relying-party policies on real evidence: `refvals export --format rego` + `--format rvps` of a manifest,
//! evaluated by `verify ... --policy` (regorus, as Trustee's attestation service evaluates it), affirm the
//! evidence of the manifest's image and refuse another image's, naming the claim; the claims have the names
//! and encodings Trustee's verifiers give (values Trustee's own tests assert, fields read from the evidence
//! bytes here); and Trustee's own default policy (`trustee/ear_default_policy_cpu.rego`) gives on our claims
//! what its rules give to its verifiers' claims.
//!
//! Evidence: the Milan SEV-SNP report (virtee/sev), Azure SNP and TDX vTPM evidence (trustee), and a TPM quote
//! of a real UKI boot (`tests/data/boot-uki/stub254`, replayed into a swtpm).
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::*;
use yardstick_common::hex;

const FIXTURE_TIME: &str = "2026-06-01T00:00:00Z";
const CHALLENGE: &str = "6368616c6c656e6765";
const V2_NONCE: &str = "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef";
const GENOA_NONCE: &str = "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f";

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

/// `refvals export MANIFEST --format FORMAT EXTRA --output <dir>/<name>`.
fn export(manifest: &Path, format: &str, extra: &[&str], name: &str) -> PathBuf {
    let out = manifest.with_file_name(name);
    run_ok(
        yardstick()
            .args(["refvals", "export"])
            .arg(manifest)
            .args(["--format", format])
            .args(extra)
            .arg("--output")
            .arg(&out),
    );
    out
}

/// The JSON of a `verify ... --json` run and its exit code.
fn json_of(o: &Output) -> (Value, i32) {
    let j = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), String::from_utf8_lossy(&o.stderr)));
    (j, o.status.code().unwrap())
}

/// `{claim: value}` of the policy verdict.
fn trust(j: &Value) -> Value {
    let mut m = serde_json::Map::new();
    for c in j["policy"]["trust_claims"].as_array().unwrap() {
        m.insert(c["name"].as_str().unwrap().into(), c["value"].clone());
    }
    Value::Object(m)
}

/// The reasons the verdict gives for `claim`.
fn reasons(j: &Value, claim: &str) -> Vec<String> {
    j["policy"]["trust_claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == claim)
        .map(|c| {
            c["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn trustee_default() -> PathBuf {
    fixture("trustee/ear_default_policy_cpu.rego")
}

// ---------------------------------------------------------------------------------------------------------
// SEV-SNP

fn milan_report() -> Vec<u8> {
    let text = std::fs::read_to_string(fixture("snp-reports/report_milan.hex")).unwrap();
    hex::decode(text.trim()).unwrap()
}

fn verify_snp(extra: &[&str]) -> Output {
    run(yardstick()
        .args(["verify", "snp", "--report"])
        .arg(fixture("snp-reports/report_milan.hex"))
        .arg("--vcek")
        .arg(fixture("snp-reports/vcek_milan.der"))
        .arg("--ask")
        .arg(fixture("amd-kds/milan/ask.pem"))
        .arg("--ark")
        .arg(fixture("amd-kds/milan/ark.pem"))
        .args(["--time", FIXTURE_TIME])
        .args(extra))
}

fn snp_manifest(dir: &Path, name: &str, measurement: &str) -> PathBuf {
    write(
        dir,
        name,
        &json!({"version": 1, "generator": "test", "components": [], "snp": [{
            "mode": "snp", "measurement": measurement, "vcpus": 1, "vcpu_sig": 10489617,
            "vmm_type": "qemu", "guest_features": 1, "kernel_hashes": true,
            "components": ["firmware", "kernel", "initrd", "cmdline"]}]}),
    )
}

/// Another image's launch digest: the Kata image of the README's tour (2 vCPUs, another kernel and initrd).
const OTHER_LAUNCH_DIGEST: &str = "d78e6a6c3d7a8bd44a30f95a811018f78a663164987c7ec9e9010c19518d2574cee2c4f86141f20b8c51662447118817";

/// The SNP claims, against the report's bytes at the offsets of the SEV-SNP ABI specification (table 23)
/// and the encodings of trustee's `snp::parse_tee_evidence`.
#[test]
fn snp_claims_are_trustees() {
    let b = milan_report();
    let (j, code) = json_of(&verify_snp(&["--json"]));
    assert_eq!(code, 0);
    assert_eq!(j["tee"], "snp");
    let c = &j["claims"];
    let policy = u64::from_le_bytes(b[0x08..0x10].try_into().unwrap());
    let platform = u64::from_le_bytes(b[0x40..0x48].try_into().unwrap());
    let bit = |v: u64, n: u32| v >> n & 1 == 1;
    let want = json!({
        "policy_abi_minor": policy & 0xff,
        "policy_abi_major": policy >> 8 & 0xff,
        "policy_smt_allowed": bit(policy, 16),
        "policy_migrate_ma": bit(policy, 18),
        "policy_debug_allowed": bit(policy, 19),
        "policy_single_socket": bit(policy, 20),
        // REPORTED_TCB at 0x180, Milan layout: boot loader, TEE, 4 reserved, SNP, microcode.
        "reported_tcb_bootloader": b[0x180],
        "reported_tcb_tee": b[0x181],
        "reported_tcb_snp": b[0x186],
        "reported_tcb_microcode": b[0x187],
        "platform_smt_enabled": bit(platform, 0),
        "platform_tsme_enabled": bit(platform, 1),
        "measurement": hex::encode(&b[0x90..0xc0]),
        "report_data": hex::encode(&b[0x50..0x90]),
        "init_data": hex::encode(&b[0xc0..0xe0]),
        "chip_id": hex::encode(&b[0x1a0..0x1e0]),
    });
    assert_eq!(c, &want);
}

/// The exported policy with the RVPS values of the report's manifest: executables affirming (3), exit 0;
/// with another image's values: executables contraindicated (96), exit 1, the claim and the measurement
/// named. Hardware needs a registered minimum TCB; configuration checks debug and migration.
#[test]
fn snp_policy_affirms_the_image_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let measurement = hex::encode(&milan_report()[0x90..0xc0]);
    let good = snp_manifest(d, "good.json", &measurement);
    let other = snp_manifest(d, "other.json", OTHER_LAUNCH_DIGEST);
    let policy = export(&good, "rego", &[], "policy.rego");
    let good_rv = export(&good, "rvps", &[], "good-rvps.json");
    let other_rv = export(&other, "rvps", &[], "other-rvps.json");
    let p = policy.to_str().unwrap();

    // The right image, values from the RVPS message or from the manifest itself.
    for refs in [
        ["--reference", good_rv.to_str().unwrap()],
        ["--refvals", good.to_str().unwrap()],
    ] {
        let (j, code) = json_of(&verify_snp(&["--policy", p, refs[0], refs[1], "--json"]));
        assert_eq!(code, 0, "{refs:?}: {j}");
        let t = trust(&j);
        assert_eq!(t["executables"], 3, "{j}");
        assert_eq!(t["configuration"], 2, "{j}");
        assert_eq!(t["hardware"], 97, "no minimum TCB registered: {j}");
        assert_eq!(
            j["policy"]["status"], "contraindicated",
            "the worst tier: {j}"
        );
        let r = reasons(&j, "hardware");
        assert!(
            r.iter()
                .any(|r| r == "no reference value snp_min_tcb_snp is registered"),
            "{r:?}"
        );
    }

    // Another image: the policy refuses it although every check of the report passes.
    let o = verify_snp(&["--policy", p, "--reference", other_rv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("affirming: all 19 checks passed"), "{out}");
    assert!(
        out.contains("  executables         96  contraindicated"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "snp.measurement {measurement} is not a registered snp_launch_measurement ([\"{OTHER_LAUNCH_DIGEST}\"])"
        )),
        "{out}"
    );
    // Through --refvals the launch-digest check fails as well.
    let o = verify_snp(&["--policy", p, "--refvals", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL  launch measurement"));

    // The minimum TCB, the report's own (REPORTED_TCB bl=3 tee=0 snp=8 ucode=115): genuine hardware; one
    // SNP firmware version higher: known vulnerabilities (32), the component named.
    let b = milan_report();
    let tcb = |snp: u8| {
        json!({"snp_min_tcb_bootloader": b[0x180], "snp_min_tcb_tee": [b[0x181]],
               "snp_min_tcb_snp": snp.to_string(), "snp_min_tcb_microcode": [b[0x187], 200]})
    };
    let ok_tcb = write(d, "tcb.json", &tcb(b[0x186]));
    let high_tcb = write(d, "tcb-high.json", &tcb(b[0x186] + 1));
    let g = good_rv.to_str().unwrap();
    let (j, code) = json_of(&verify_snp(&[
        "--policy",
        p,
        "--reference",
        g,
        "--reference",
        ok_tcb.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!((code, &trust(&j)["hardware"]), (0, &json!(2)), "{j}");
    // Every claim affirming or without assertion: the EAR status is affirming.
    assert_eq!(j["policy"]["status"], "affirming", "{j}");
    let (j, code) = json_of(&verify_snp(&[
        "--policy",
        p,
        "--reference",
        g,
        "--reference",
        high_tcb.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(code, 0, "hardware does not decide the exit status: {j}");
    assert_eq!(trust(&j)["hardware"], 32);
    assert_eq!(
        reasons(&j, "hardware"),
        [format!(
            "snp.reported_tcb_snp {} is below the minimum {} (snp_min_tcb_snp)",
            b[0x186],
            b[0x186] + 1
        )]
    );
    // A minimum that is no number fails closed.
    let odd = write(d, "tcb-odd.json", &json!({"snp_min_tcb_snp": {"min": 1}}));
    let (j, _) = json_of(&verify_snp(&[
        "--policy",
        p,
        "--reference",
        g,
        "--reference",
        ok_tcb.to_str().unwrap(),
        "--reference",
        odd.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(trust(&j)["hardware"], 97, "{j}");
    assert_eq!(
        reasons(&j, "hardware"),
        ["reference value snp_min_tcb_snp is no number, decimal string or list of them"]
    );
}

/// Trustee's default policy on our SNP claims, with our RVPS message: executables 3 (`input.snp.measurement
/// in query_reference_value("snp_launch_measurement")`), hardware 97 (no `snp_bootloader` ...), configuration
/// 3 (its `else` branch: debug and migration off). Registering the TCB and platform values Trustee's rules
/// name gives hardware 2 and configuration 2; another image's values give executables 33.
#[test]
fn trustee_default_policy_on_snp_claims() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = milan_report();
    let good = snp_manifest(d, "good.json", &hex::encode(&b[0x90..0xc0]));
    let other = snp_manifest(d, "other.json", OTHER_LAUNCH_DIGEST);
    let good_rv = export(&good, "rvps", &[], "good-rvps.json");
    let other_rv = export(&other, "rvps", &[], "other-rvps.json");
    let policy = trustee_default();
    let p = policy.to_str().unwrap();

    let (j, code) = json_of(&verify_snp(&[
        "--policy",
        p,
        "--reference",
        good_rv.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(code, 0);
    let t = trust(&j);
    assert_eq!(
        (&t["executables"], &t["hardware"], &t["configuration"]),
        (&json!(3), &json!(97), &json!(3)),
        "{j}"
    );
    // Trustee's policy gives no reasons: the value's AR4SI meaning stands in.
    assert_eq!(
        reasons(&j, "hardware"),
        ["97: hardware or firmware not recognized"]
    );

    let policy_bits = u64::from_le_bytes(b[0x08..0x10].try_into().unwrap());
    let platform = u64::from_le_bytes(b[0x40..0x48].try_into().unwrap());
    let platform_values = write(
        d,
        "platform.json",
        &json!({
            "snp_bootloader": [b[0x180]], "snp_tee_svn": [b[0x181]], "snp_snp_svn": [b[0x186]],
            "snp_microcode": [b[0x187]],
            "snp_smt_enabled": platform & 1 == 1, "snp_tsme_enabled": platform >> 1 & 1 == 1,
            "snp_guest_abi_major": policy_bits >> 8 & 0xff, "snp_guest_abi_minor": policy_bits & 0xff,
            "snp_single_socket": policy_bits >> 20 & 1 == 1, "snp_smt_allowed": policy_bits >> 16 & 1 == 1,
        }),
    );
    let (j, _) = json_of(&verify_snp(&[
        "--policy",
        p,
        "--reference",
        good_rv.to_str().unwrap(),
        "--reference",
        platform_values.to_str().unwrap(),
        "--json",
    ]));
    let t = trust(&j);
    assert_eq!(
        (&t["executables"], &t["hardware"], &t["configuration"]),
        (&json!(3), &json!(2), &json!(2)),
        "{j}"
    );

    let (j, code) = json_of(&verify_snp(&[
        "--policy",
        p,
        "--reference",
        other_rv.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(code, 1);
    assert_eq!(trust(&j)["executables"], 33);
}

// ---------------------------------------------------------------------------------------------------------
// Azure vTPM evidence

fn verify_azure(file: &str, nonce: &str, extra: &[&str]) -> Output {
    run(yardstick()
        .args(["verify", "azure", "--evidence"])
        .arg(fixture(file))
        .args(["--nonce", nonce, "--time", FIXTURE_TIME])
        .args(extra))
}

fn evidence(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(file)).unwrap()).unwrap()
}

/// A byte string of evidence JSON: a v0 number array or v1/v2 hex.
fn ev_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_u64().unwrap() as u8).collect(),
        Value::String(s) => hex::decode(s).unwrap(),
        _ => panic!("{v}"),
    }
}

/// PCR `i` of the evidence's TPM quote, hex.
fn ev_pcr(ev: &Value, i: usize) -> String {
    let q = ev.get("tpm_quote").or_else(|| ev.get("quote")).unwrap();
    hex::encode(&ev_bytes(&q["pcrs"][i]))
}

fn pcr11_manifest(dir: &Path, name: &str, pcr11: &str) -> PathBuf {
    write(
        dir,
        name,
        &json!({"version": 1, "generator": "test", "components": [],
                "tpm": {"pcrs": {"sha256": {"11": pcr11}}}}),
    )
}

/// Another image's PCR 11: the UKI of the real boot capture `boot-uki/stub254` (sha256, as `pcr predict`
/// gives it and the guest read it).
fn other_pcr11() -> String {
    let p: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("crates/cli/tests/data/boot-uki/stub254/predicted.json"))
            .unwrap(),
    )
    .unwrap();
    p["sha256"]["11"].as_str().unwrap().to_string()
}

/// The claims of every Azure evidence file carry the values trustee's verifier tests assert on them
/// (`az_snp_vtpm::tests::test_evaluate{,_v2,_genoa}`, `az_tdx_vtpm::tests::test_evaluate`): `report_data` and
/// `tpm.pcr00`; every PCR of the evidence is `tpm.pcrNN` and `init_data` is PCR 8.
#[test]
fn azure_claims_are_trustees() {
    let cases = [
        (
            "azure-vtpm/snp/evidence-v0.json",
            CHALLENGE,
            "az-snp-vtpm",
            "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced",
        ),
        (
            "azure-vtpm/snp/evidence-v1.json",
            CHALLENGE,
            "az-snp-vtpm",
            "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced",
        ),
        (
            "azure-vtpm/snp/evidence-v2.json",
            V2_NONCE,
            "az-snp-vtpm",
            "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7",
        ),
        (
            "azure-vtpm/snp/evidence-genoa.json",
            GENOA_NONCE,
            "az-snp-vtpm",
            "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338",
        ),
        (
            "azure-vtpm/tdx/evidence-v0.json",
            CHALLENGE,
            "az-tdx-vtpm",
            "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273",
        ),
        (
            "azure-vtpm/tdx/evidence-v1.json",
            CHALLENGE,
            "az-tdx-vtpm",
            "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273",
        ),
    ];
    for (file, nonce, tee, pcr00) in cases {
        let (j, code) = json_of(&verify_azure(file, nonce, &["--json"]));
        assert_eq!(code, 0, "{file}");
        assert_eq!(j["tee"], tee, "{file}");
        let c = &j["claims"];
        assert_eq!(c["report_data"], nonce, "{file}");
        assert_eq!(c["tpm"]["pcr00"], pcr00, "{file}");
        let ev = evidence(file);
        assert_eq!(c["tpm"].as_object().unwrap().len(), 24, "{file}");
        for i in 0..24 {
            assert_eq!(
                c["tpm"][format!("pcr{i:02}")],
                ev_pcr(&ev, i),
                "{file} PCR {i}"
            );
        }
        assert_eq!(c["init_data"], ev_pcr(&ev, 8), "{file}");
        if tee == "az-snp-vtpm" {
            for k in [
                "policy_debug_allowed",
                "policy_migrate_ma",
                "reported_tcb_snp",
            ] {
                assert!(
                    c[k].is_string(),
                    "{file}: {k} is a string in trustee's az-snp-vtpm claims"
                );
            }
        } else {
            assert_eq!(c["quote"]["header"]["tee_type"], "81000000", "{file}");
            assert_eq!(c["td_attributes"]["debug"], false, "{file}");
        }
    }
}

/// The exported policy on Azure SNP and TDX evidence: the manifest holding that VM's PCR 11 affirms
/// executables; another image's PCR 11 (a real UKI's) contraindicates it, naming the claim. TDX hardware
/// stays unrecognized offline: Intel's TCB status needs collateral.
#[test]
fn azure_policy_affirms_the_image_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (file, nonce, tee) in [
        ("azure-vtpm/snp/evidence-v1.json", CHALLENGE, "az-snp-vtpm"),
        (
            "azure-vtpm/snp/evidence-genoa.json",
            GENOA_NONCE,
            "az-snp-vtpm",
        ),
        ("azure-vtpm/tdx/evidence-v1.json", CHALLENGE, "az-tdx-vtpm"),
    ] {
        let pcr11 = ev_pcr(&evidence(file), 11);
        let good = pcr11_manifest(d, "good.json", &pcr11);
        let other = pcr11_manifest(d, "other.json", &other_pcr11());
        let policy = export(&good, "rego", &["--evidence", tee], "policy.rego");
        let rv = export(&good, "rvps", &[], "rvps.json");
        let p = policy.to_str().unwrap();

        let (j, code) = json_of(&verify_azure(
            file,
            nonce,
            &["--policy", p, "--reference", rv.to_str().unwrap(), "--json"],
        ));
        assert_eq!(code, 0, "{file}: {j}");
        let t = trust(&j);
        assert_eq!(t["executables"], 3, "{file}: {j}");
        assert_eq!(t["configuration"], 2, "{file}: {j}");
        if tee == "az-tdx-vtpm" {
            assert_eq!(t["hardware"], 97);
            assert_eq!(
                reasons(&j, "hardware"),
                ["az-tdx-vtpm.tcb_status is not in the claims"]
            );
        }

        // A policy for another kind of evidence says so.
        let snp_only = snp_manifest(d, "snp-only.json", OTHER_LAUNCH_DIGEST);
        let snp_policy = export(&snp_only, "rego", &[], "snp-policy.rego");
        let (j, code) = json_of(&verify_azure(
            file,
            nonce,
            &[
                "--policy",
                snp_policy.to_str().unwrap(),
                "--reference",
                rv.to_str().unwrap(),
                "--json",
            ],
        ));
        assert_eq!((code, &trust(&j)["executables"]), (1, &json!(33)), "{file}");
        assert_eq!(
            reasons(&j, "executables"),
            ["no rule of this policy covers the evidence (it covers snp)"]
        );

        let o = verify_azure(
            file,
            nonce,
            &["--policy", p, "--refvals", other.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(1), "{file}");
        let out = stdout(&o);
        assert!(
            out.contains("  executables         96  contraindicated"),
            "{file}: {out}"
        );
        assert!(
            out.contains(&format!(
                "{tee}.tpm.pcr11 {pcr11} is not a registered {}_pcr11 ([\"{}\"])",
                &tee[3..6],
                other_pcr11()
            )),
            "{file}: {out}"
        );
    }
}

/// Trustee's default policy on our Azure claims. az-snp-vtpm: executables 3 needs the launch measurement in
/// `measurement` (base64, as trustee's Azure verifier encodes it: here by coreutils' base64 from the HCL
/// report's bytes) and PCR 11 in `snp_pcr11` (our RVPS message); hardware 2 with the TCB values as strings.
/// az-tdx-vtpm: executables 3 from `tdx_pcr11`, configuration 2 from `xfam` (read from the TD quote's bytes),
/// hardware 97 (no `tcb_status` offline).
#[test]
fn trustee_default_policy_on_azure_claims() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policy = trustee_default();
    let p = policy.to_str().unwrap();

    // az-snp-vtpm, v0 evidence: the HCL report as a byte array, the SNP report at offset 32.
    let file = "azure-vtpm/snp/evidence-v0.json";
    let ev = evidence(file);
    let hcl = ev_bytes(&ev["report"]);
    let report = &hcl[32..32 + 1184];
    let b64 = {
        let m = d.join("measurement.bin");
        std::fs::write(&m, &report[0x90..0xc0]).unwrap();
        run_ok(Command::new("base64").arg("-w0").arg(&m))
            .trim()
            .to_string()
    };
    let good = pcr11_manifest(d, "good.json", &ev_pcr(&ev, 11));
    let rv = export(&good, "rvps", &[], "rvps.json");
    let s = |v: u8| v.to_string();
    let platform = write(
        d,
        "platform.json",
        &json!({"measurement": [b64],
                "tcb_bootloader": [s(report[0x180])], "tcb_tee": [s(report[0x181])],
                "tcb_snp": [s(report[0x186])], "tcb_microcode": [s(report[0x187])]}),
    );
    let run_default = |refs: &[&Path]| {
        let mut args = vec!["--policy".to_string(), p.to_string(), "--json".into()];
        for r in refs {
            args.extend(["--reference".into(), r.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        json_of(&verify_azure(file, CHALLENGE, &args))
    };
    let (j, code) = run_default(&[&rv, &platform]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(trust(&j)["executables"], 3, "{j}");
    assert_eq!(trust(&j)["hardware"], 2, "{j}");
    // Without the measurement, or without PCR 11: not recognized.
    let (j, code) = run_default(&[&rv]);
    assert_eq!((code, &trust(&j)["executables"]), (1, &json!(33)));
    let (j, code) = run_default(&[&platform]);
    assert_eq!((code, &trust(&j)["executables"]), (1, &json!(33)));

    // az-tdx-vtpm, v0 evidence: the TD quote as a byte array; XFAM at body offset 128 (header 48 bytes).
    let file = "azure-vtpm/tdx/evidence-v0.json";
    let ev = evidence(file);
    let q = ev_bytes(&ev["td_quote"]);
    let xfam = write(
        d,
        "xfam.json",
        &json!({"xfam": [hex::encode(&q[48 + 128..48 + 136])]}),
    );
    let good = pcr11_manifest(d, "tdx.json", &ev_pcr(&ev, 11));
    let rv = export(&good, "rvps", &[], "tdx-rvps.json");
    let (j, code) = json_of(&verify_azure(
        file,
        CHALLENGE,
        &[
            "--policy",
            p,
            "--reference",
            rv.to_str().unwrap(),
            "--reference",
            xfam.to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(code, 0, "{j}");
    let t = trust(&j);
    assert_eq!(
        (&t["executables"], &t["hardware"], &t["configuration"]),
        (&json!(3), &json!(97), &json!(2)),
        "{j}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// TPM quote of a real UKI boot

/// The capture's boot replayed into a fresh swtpm (every event of its log extended as recorded, so PCRs
/// 0-15 but IMA's 10 are the guest's) and quoted over sha256:0-15 with an ECDSA AK.
struct Replayed {
    tpm: swtpm::Swtpm,
}

const NONCE: &str = "5eed0f0ddba11c0ffee0";

impl Replayed {
    fn boot(capture: &str) -> Replayed {
        let tpm = swtpm::Swtpm::serve(tempfile::tempdir().unwrap(), "not-need-init")
            .unwrap_or_else(|e| panic!("{e}"));
        let t = Replayed { tpm };
        t.tool("tpm2_startup", &["-c"]);
        let log = workspace()
            .join("crates/cli/tests/data/boot-uki")
            .join(capture)
            .join("eventlog.bin");
        let shown: Value = serde_json::from_str(&run_ok(
            yardstick().args(["eventlog", "show", "--json"]).arg(&log),
        ))
        .unwrap();
        for e in shown["events"].as_array().unwrap() {
            if e["extended"] != true {
                continue;
            }
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
        }
        t.tool(
            "tpm2_createek",
            &["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"],
        );
        t.tool(
            "tpm2_createak",
            &[
                "-C", "ek.ctx", "-c", "ak.ctx", "-G", "ecc", "-g", "sha256", "-s", "ecdsa", "-u",
                "ak.pub", "-n", "ak.name",
            ],
        );
        t.tool(
            "tpm2_readpublic",
            &["-c", "ak.ctx", "-f", "pem", "-o", "ak.pem"],
        );
        t.tool(
            "tpm2_quote",
            &[
                "-c",
                "ak.ctx",
                "-q",
                NONCE,
                "-l",
                "sha256:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
                "-g",
                "sha256",
                "-m",
                "q.msg",
                "-s",
                "q.sig",
                "-o",
                "q.pcrs",
            ],
        );
        t
    }

    fn tool(&self, name: &str, args: &[&str]) -> String {
        self.tpm.tool(name, args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn verify(&self, extra: &[&str]) -> Output {
        let p = |n: &str| self.tpm.path(n);
        run(yardstick()
            .args(["verify", "tpm", "--quote"])
            .arg(p("q.msg"))
            .arg("--signature")
            .arg(p("q.sig"))
            .arg("--ak")
            .arg(p("ak.pub"))
            .arg("--pcrs")
            .arg(p("q.pcrs"))
            .args(["--nonce", NONCE])
            .args(extra))
    }

    /// The AK as trustee's TPM attester sends it: base64 of the DER SubjectPublicKeyInfo (openssl's).
    fn ak_public(&self) -> String {
        let der = self.tpm.path("ak.der");
        run_ok(
            Command::new(peer("openssl"))
                .args(["pkey", "-pubin", "-outform", "der", "-in"])
                .arg(self.tpm.path("ak.pem"))
                .arg("-out")
                .arg(&der),
        );
        run_ok(Command::new("base64").arg("-w0").arg(&der))
            .trim()
            .to_string()
    }
}

/// The manifest of a capture's UKI: its `pcr predict` PCRs (without the phase list, which the manifest
/// keeps in another shape).
fn predicted_manifest(dir: &Path, capture: &str) -> PathBuf {
    let mut predicted: Value = serde_json::from_slice(
        &std::fs::read(
            workspace()
                .join("crates/cli/tests/data/boot-uki")
                .join(capture)
                .join("predicted.json"),
        )
        .unwrap(),
    )
    .unwrap();
    predicted.as_object_mut().unwrap().remove("pcr11_phases");
    write(
        dir,
        &format!("{capture}.json"),
        &json!({"version": 1, "generator": "test", "components": [], "tpm": {"pcrs": predicted}}),
    )
}

/// A real UKI boot (systemd-stub 254 under OVMF + swtpm) quoted: the policy and RVPS values exported from
/// that UKI's manifest affirm executables (PCRs 4, 7, 9, 11 registered and equal); the manifest of another
/// image (the same kernel in a UKI without .cmdline) contraindicates it, naming PCR 4 and PCR 11. The AK
/// registered in `trusted_aks` makes hardware affirming. The claims: every quoted sha256 PCR, the AK as
/// openssl encodes it. Trustee's default policy: executables 3 with `tpm_pcr11` and `trusted_aks`, hardware
/// 2, configuration 0.
#[test]
fn tpm_policy_on_a_real_uki_boot() {
    let t = Replayed::boot("stub254");
    let d = t.tpm.work_dir().to_path_buf();
    let good = predicted_manifest(&d, "stub254");
    let other = predicted_manifest(&d, "stub254-no-cmdline");
    let policy = export(&good, "rego", &["--evidence", "tpm"], "policy.rego");
    let rv = export(&good, "rvps", &[], "rvps.json");
    let aks = write(&d, "aks.json", &json!({"trusted_aks": [t.ak_public()]}));
    let p = policy.to_str().unwrap();
    let (rv_s, aks_s) = (rv.to_str().unwrap(), aks.to_str().unwrap());

    let (j, code) = json_of(&t.verify(&["--policy", p, "--reference", rv_s, "--json"]));
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["tee"], "tpm");
    let c = &j["claims"];
    assert_eq!(c["ak_public"], t.ak_public());
    assert_eq!(c["report_data"], NONCE);
    let pcrs: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("crates/cli/tests/data/boot-uki/stub254/guest-pcrs.json"))
            .unwrap(),
    )
    .unwrap();
    for i in (0..16).filter(|i| *i != 10) {
        assert_eq!(
            c[format!("pcr{i:02}")],
            pcrs["sha256"][i.to_string()],
            "PCR {i}"
        );
    }
    assert_eq!(c["init_data"], c["pcr08"]);
    let tr = trust(&j);
    assert_eq!(tr["executables"], 3, "{j}");
    assert_eq!(tr["hardware"], 97, "{j}");
    assert_eq!(
        reasons(&j, "hardware"),
        ["no reference value trusted_aks is registered"]
    );

    let (j, _) = json_of(&t.verify(&[
        "--policy",
        p,
        "--reference",
        rv_s,
        "--reference",
        aks_s,
        "--json",
    ]));
    assert_eq!(trust(&j)["hardware"], 2, "{j}");

    // Another image's manifest.
    let o = t.verify(&["--policy", p, "--refvals", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("  executables         96  contraindicated"),
        "{out}"
    );
    for pcr in ["pcr04", "pcr11"] {
        assert!(
            out.contains(&format!(
                "tpm.{pcr} {} is not a registered tpm_{pcr}",
                c[pcr].as_str().unwrap()
            )),
            "{pcr}: {out}"
        );
    }

    // Trustee's default policy.
    let def = trustee_default();
    let (j, code) = json_of(&t.verify(&[
        "--policy",
        def.to_str().unwrap(),
        "--reference",
        rv_s,
        "--reference",
        aks_s,
        "--json",
    ]));
    assert_eq!(code, 0, "{j}");
    let tr = trust(&j);
    assert_eq!(
        (&tr["executables"], &tr["hardware"], &tr["configuration"]),
        (&json!(3), &json!(2), &json!(0)),
        "{j}"
    );
    let (j, code) = json_of(&t.verify(&[
        "--policy",
        def.to_str().unwrap(),
        "--reference",
        rv_s,
        "--json",
    ]));
    assert_eq!(
        (code, &trust(&j)["executables"]),
        (1, &json!(33)),
        "no trusted AK: {j}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Bad input

/// A policy that does not compile, reference values that are not JSON, an unknown evidence kind, a manifest
/// without values for any kind: one error line naming the file or flag, exit 2.
#[test]
fn bad_policy_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = d.join("bad.rego");
    std::fs::write(&bad, "package policy\nthis is not rego\n").unwrap();
    let e = assert_clean_failure(&verify_snp(&["--policy", bad.to_str().unwrap()]), 2);
    assert!(e.contains("bad.rego: policy does not compile"), "{e}");

    let no_claims = d.join("no-claims.rego");
    std::fs::write(
        &no_claims,
        "package policy\nimport rego.v1\ntrust_claims := {\"nonsense\": 1}\n",
    )
    .unwrap();
    let e = assert_clean_failure(&verify_snp(&["--policy", no_claims.to_str().unwrap()]), 2);
    assert!(e.contains("no AR4SI trust claim"), "{e}");

    let policy = trustee_default();
    let junk = d.join("junk.json");
    std::fs::write(&junk, "[1, 2").unwrap();
    let e = assert_clean_failure(
        &verify_snp(&[
            "--policy",
            policy.to_str().unwrap(),
            "--reference",
            junk.to_str().unwrap(),
        ]),
        2,
    );
    assert!(e.contains("junk.json: not JSON"), "{e}");
    // A usage error (clap's, with its usage lines).
    let o = verify_snp(&["--reference", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("required arguments were not provided: --policy"),
        "--reference needs --policy: {e}"
    );

    let empty = write(
        d,
        "empty.json",
        &json!({"version": 1, "generator": "test", "components": []}),
    );
    let o = run(yardstick()
        .args(["refvals", "export"])
        .arg(&empty)
        .args(["--format", "rego"]));
    let e = assert_clean_failure(&o, 2);
    assert!(e.contains("empty.json") && e.contains("--evidence"), "{e}");
    let o = run(yardstick().args(["refvals", "export"]).arg(&empty).args([
        "--format",
        "rego",
        "--evidence",
        "sev",
    ]));
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.lines()
            .next()
            .unwrap()
            .contains("--evidence <KIND>': unknown evidence kind \"sev\""),
        "{e}"
    );
    let o = run(yardstick().args(["refvals", "export"]).arg(&empty).args([
        "--format",
        "rvps",
        "--evidence",
        "tpm",
    ]));
    let e = assert_clean_failure(&o, 2);
    assert!(e.contains("--evidence: only a policy"), "{e}");
    // Named kinds need no values in the manifest: the values live in the RVPS.
    let o = run(yardstick().args(["refvals", "export"]).arg(&empty).args([
        "--format",
        "rego",
        "--evidence",
        "tdx",
    ]));
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("not accepted(input.tdx.quote.body.rtmr_1, \"rtmr_1\")"));
}
