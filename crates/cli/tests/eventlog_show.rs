//! `yardstick eventlog show`: every event of every fixture log compared field by field with tpm2_eventlog
//! 5.4's YAML (`--eventlog-version=2`): event number, PCR, type name, digests per bank, UEFI variable names,
//! boot-option descriptions, GPT partition names. Plus keylime's Secure Boot verdict for its two logs, and
//! the text layout.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod support;
#[path = "eventlog_support/tpm2_yaml.rs"]
mod tpm2_yaml;

use std::path::PathBuf;

use support::*;
use tpm2_yaml::parse_tpm2_eventlog;

fn logs_tpm2_eventlog_reads() -> Vec<PathBuf> {
    // option_rom_eventlog crashes tpm2_eventlog 5.4 and short_no_action_eventlog is rejected by it (see
    // eventlog_replay.rs `tpm2_eventlog_oracle`); every other fixture log is compared.
    let mut v = Vec::new();
    for sub in ["go-tpm-tools", "go-attestation", "keylime"] {
        for f in std::fs::read_dir(fixture(&format!("eventlogs/{sub}"))).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name == "option_rom_eventlog" || name == "short_no_action_eventlog" {
                continue;
            }
            v.push(p);
        }
    }
    v.sort();
    v
}

#[test]
fn every_event_matches_tpm2_eventlog() {
    let tool = peer("tpm2_eventlog");
    let logs = logs_tpm2_eventlog_reads();
    assert_eq!(logs.len(), 21);
    let (mut events_checked, mut digests_checked, mut names_checked) = (0, 0, 0);
    for p in logs {
        let out = run(std::process::Command::new(&tool)
            .arg("--eventlog-version=2")
            .arg(&p));
        assert!(out.status.success(), "{}", p.display());
        let theirs = parse_tpm2_eventlog(&String::from_utf8_lossy(&out.stdout));
        let ours: serde_json::Value = serde_json::from_str(&run_ok(
            yardstick().args(["eventlog", "show", "--json"]).arg(&p),
        ))
        .unwrap();
        let ours = ours["events"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{}: event count", p.display());
        for (o, t) in ours.iter().zip(&theirs) {
            let ctx = format!("{} event {}", p.display(), t.number);
            assert_eq!(o["number"], t.number, "{ctx}");
            assert_eq!(o["pcr"].as_u64(), t.pcr, "{ctx}");
            assert_eq!(o["type"], t.event_type.as_str(), "{ctx}");
            if o["extended"] == true {
                let ours_d: Vec<(String, String)> = o["digests"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                assert_eq!(ours_d, t.digests, "{ctx}: digests");
                digests_checked += ours_d.len();
            }
            let dec = &o["decoded"];
            if let Some(name) = &t.unicode_name {
                assert_eq!(dec["kind"], "variable", "{ctx}");
                assert_eq!(dec["name"], name.as_str(), "{ctx}");
                names_checked += 1;
            }
            if let Some(d) = t.descriptions.first() {
                assert_eq!(dec["value"]["description"], d.as_str(), "{ctx}");
                names_checked += 1;
            }
            if !t.partition_names.is_empty() {
                let ours_p: Vec<&str> = dec["partitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(ours_p, t.partition_names, "{ctx}");
                names_checked += ours_p.len();
            }
            events_checked += 1;
        }
    }
    eprintln!(
        "tpm2_eventlog agreed on {events_checked} events, {digests_checked} digests, {names_checked} names"
    );
    // Totals over the 21 logs, so that a parser change that silently skips fields fails here.
    assert!(events_checked > 1300, "{events_checked}");
    assert!(digests_checked > 3000, "{digests_checked}");
    assert!(names_checked > 400, "{names_checked}");
}

/// keylime `test/test_create_mb_policy.py` `test_create_mb_refstate` (keylime commit
/// 9b1f6e6a917f86c792bac680ea7d36312d5914a5): `binary_bios_measurements-secureboot` has Secure Boot enabled,
/// `binary_bios_measurements` does not. The SecureBoot variable event in PCR 7 must say 1 and 0.
#[test]
fn keylime_secure_boot_state() {
    for (file, want) in [
        ("keylime/binary_bios_measurements-secureboot", 1),
        ("keylime/binary_bios_measurements", 0),
    ] {
        let v: serde_json::Value = serde_json::from_str(&run_ok(
            yardstick()
                .args(["eventlog", "show", "--json", "--pcr", "7"])
                .arg(fixture(&format!("eventlogs/{file}"))),
        ))
        .unwrap();
        let sb: Vec<&serde_json::Value> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["decoded"]["name"] == "SecureBoot")
            .collect();
        assert_eq!(sb.len(), 1, "{file}");
        assert_eq!(sb[0]["decoded"]["value"]["value"], want, "{file}");
        assert_eq!(sb[0]["data_digest_matches"], true, "{file}");
    }
}

/// The text form: a header naming format, banks and event count, one line per event, digests indented.
#[test]
fn text_layout() {
    let p = fixture("eventlogs/go-tpm-tools/cos-101-amd-sev.bin");
    let out = run_ok(
        yardstick()
            .args(["eventlog", "show", "--pcr", "4", "--bank", "sha256"])
            .arg(&p),
    );
    let mut lines = out.lines();
    let head = lines.next().unwrap();
    assert!(
        head.ends_with("crypto-agile (TCG_PCR_EVENT2) log, banks sha1 sha256 sha384, 49 events"),
        "{head}"
    );
    let body: Vec<&str> = lines.collect();
    assert!(body.iter().any(|l| l.starts_with("#")
        && l.contains("PCR4")
        && l.contains("EV_EFI_ACTION")
        && l.contains("\"Calling EFI Application from Boot Option\"")));
    // --bank: only sha256 digest lines; --pcr: only PCR 4 events.
    assert!(body.iter().all(|l| !l.trim_start().starts_with("sha1 ")));
    assert!(body.iter().any(|l| l.trim_start().starts_with("sha256 ")));
    assert!(
        body.iter()
            .filter(|l| l.starts_with('#'))
            .all(|l| l.contains("PCR4 "))
    );
}
