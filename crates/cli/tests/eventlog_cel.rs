//! `eventlog show` and `eventlog replay` on systemd's userspace measurement log (`/run/log/systemd/tpm2-measure.log`,
//! CEL-JSON), recognised without a flag. The log is a real one (`tests/data/mkosi-trixie/`, see its README),
//! captured from the Debian 13 guest (systemd 257) that `mkosi_image.rs` builds with mkosi and boots: its replay
//! equals the guest's PCR 15 in every bank, its machine-ID record is the guest's machine ID, and each of its PCR 11
//! records extends the guest's PCR 11 from one phase's value to the next one's.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::*;
use yardstick_common::hash::{Algorithm, Digest};
use yardstick_tpm::PcrBanks;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mkosi-trixie")
}

fn digest(alg: Algorithm, hex: &str) -> Digest {
    Digest::from_bytes(alg, &yardstick_common::hex::decode(hex).unwrap()).unwrap()
}

#[test]
fn replay_equals_the_guests_pcr_15_and_chains_its_pcr_11() {
    let log = data().join("tpm2-measure.log");
    let guest: PcrBanks =
        serde_json::from_slice(&std::fs::read(data().join("guest-pcrs.json")).unwrap()).unwrap();
    let phases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data().join("guest-pcr11-phases.json")).unwrap())
            .unwrap();
    let machine_id = std::fs::read_to_string(data().join("machine-id")).unwrap();

    let replayed: PcrBanks = serde_json::from_str(&run_ok(
        yardstick().args(["eventlog", "replay", "--json"]).arg(&log),
    ))
    .unwrap();
    let banks: Vec<Algorithm> = guest.algorithms().collect();
    assert!(banks.len() >= 3, "{banks:?}");
    for &alg in &banks {
        assert_eq!(replayed.get(alg, 15), guest.get(alg, 15), "PCR 15 {alg}");
    }
    // The text form is tpm2_pcrread's, like a binary log's replay.
    let text = run_ok(yardstick().args(["eventlog", "replay"]).arg(&log));
    assert!(text.starts_with("  sha1:\n"), "{text}");

    let shown: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick().args(["eventlog", "show", "--json"]).arg(&log),
    ))
    .unwrap();
    assert_eq!(shown["format"], "cel-json");
    let records = shown["records"].as_array().unwrap();
    let mid: Vec<&serde_json::Value> = records.iter().filter(|r| r["pcr"] == 15).collect();
    assert_eq!(mid.len(), 1, "{shown:#}");
    assert_eq!(
        mid[0]["description"],
        format!("machine-id machine-id:{}", machine_id.trim())
    );
    assert_eq!(
        mid[0]["digests"]["sha256"],
        Algorithm::Sha256
            .digest(format!("machine-id:{}", machine_id.trim()).as_bytes())
            .to_hex()
    );
    let order = ["enter-initrd", "leave-initrd", "sysinit", "ready"];
    let pcr11: Vec<&serde_json::Value> = records.iter().filter(|r| r["pcr"] == 11).collect();
    let names: Vec<String> = pcr11
        .iter()
        .map(|r| r["description"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, order.map(|p| format!("phase {p}")));
    for &alg in &banks {
        // The guest's PCR 11 after each phase (its units print it; after `ready` it is the final value).
        let value = |i: usize| -> Digest {
            if i == 3 {
                *guest.get(alg, 11).unwrap()
            } else {
                digest(alg, phases[order[i]][alg.name()].as_str().unwrap())
            }
        };
        for i in 1..4 {
            let d = digest(alg, pcr11[i]["digests"][alg.name()].as_str().unwrap());
            assert_eq!(
                alg.extend(&value(i - 1), d.as_ref()),
                value(i),
                "{alg}: the {} record does not take PCR 11 from {} to {}",
                order[i],
                order[i - 1],
                order[i]
            );
        }
    }

    // The text form names the format and every record; --pcr and --bank filter it.
    let text = run_ok(yardstick().args(["eventlog", "show"]).arg(&log));
    assert!(
        text.lines().next().unwrap().contains("CEL-JSON log"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with('#')).count(),
        records.len()
    );
    let text = run_ok(
        yardstick()
            .args(["eventlog", "show", "--pcr", "15", "--bank", "sha256"])
            .arg(&log),
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].contains("PCR15") && lines[2].contains("sha256"),
        "{text}"
    );
}

#[test]
fn a_bad_record_is_one_error_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read(data().join("tpm2-measure.log")).unwrap();
    // Cut inside the second record: the error names it and where it starts.
    let second = log
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == 0x1e)
        .nth(1)
        .map(|(i, _)| i)
        .unwrap();
    let cut = dir.path().join("cut.log");
    std::fs::write(&cut, &log[..second + 40]).unwrap();
    for cmd in ["show", "replay"] {
        let o = run(yardstick().args(["eventlog", cmd]).arg(&cut));
        let e = assert_clean_failure(&o, 2);
        assert!(
            e.contains("cut.log") && e.contains(&format!("record #1 at byte offset {second}")),
            "{e}"
        );
    }
    // A digest of the wrong length.
    let text = String::from_utf8(log.clone()).unwrap();
    let first_sha1 = text.find("\"digest\":\"").unwrap() + 10;
    let mut bad = text.clone();
    bad.replace_range(first_sha1..first_sha1 + 2, "");
    let p = dir.path().join("short.log");
    std::fs::write(&p, bad).unwrap();
    let e = assert_clean_failure(&run(yardstick().args(["eventlog", "replay"]).arg(&p)), 2);
    assert!(e.contains("record #0") && e.contains("expected 20"), "{e}");
}
