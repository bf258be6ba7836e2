//! `yardstick pcr compare` against a real (software) TPM and real logs.
//!
//! The swtpm tests replay an event log into swtpm (libtpms) with `tpm2_pcrextend`, driven by the digests
//! *tpm2_eventlog* parsed from the log, and read the PCRs back with `tpm2_pcrread`: the PCR list yardstick
//! compares against is then real tpm2_pcrread output of a real TPM implementation, and neither the parsing
//! nor the extend arithmetic is yardstick's.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod support;
#[path = "eventlog_support/tpm2_yaml.rs"]
mod tpm2_yaml;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::swtpm;
use support::*;
use tpm2_yaml::{TheirEvent, parse_tpm2_eventlog};

/// A swtpm owned by the test (own state directory, own loopback ports), killed on drop.
struct Swtpm(swtpm::Swtpm);

impl Swtpm {
    fn start() -> Swtpm {
        let t = swtpm::Swtpm::serve(tempfile::tempdir().unwrap(), "not-need-init,startup-clear")
            .unwrap_or_else(|e| panic!("{e}"));
        Swtpm(t)
    }

    fn tool(&self, name: &str) -> Command {
        self.0.command(name)
    }

    /// Extends each event's digests (one `tpm2_pcrextend` call, commands in log order).
    fn extend(&self, events: &[&TheirEvent]) {
        if events.is_empty() {
            return;
        }
        let specs: Vec<String> = events
            .iter()
            .map(|e| {
                let d: Vec<String> = e.digests.iter().map(|(a, h)| format!("{a}={h}")).collect();
                format!("{}:{}", e.pcr.unwrap(), d.join(","))
            })
            .collect();
        let out = run(self.tool("tpm2_pcrextend").args(&specs));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pcrread(&self, to: &Path) {
        let out = run(&mut self.tool("tpm2_pcrread"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(to, &out.stdout).unwrap();
    }
}

/// The extended events of a log as tpm2_eventlog parses them.
fn their_events(log: &Path) -> Vec<TheirEvent> {
    let out = run(Command::new(peer("tpm2_eventlog"))
        .arg("--eventlog-version=2")
        .arg(log));
    assert!(out.status.success());
    parse_tpm2_eventlog(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .filter(|e| e.event_type != "EV_NO_ACTION")
        .collect()
}

fn compare_json(a: &Path, b: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = run(yardstick()
        .args(["pcr", "compare", "--json"])
        .args(extra)
        .arg(a)
        .arg(b));
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

/// rhel8-uefi.bin (sha1, sha256, sha384; no StartupLocality) replayed into swtpm:
/// * read after all events: every PCR the log extends agrees (exit 0), the other PCRs tpm2_pcrread lists
///   (and the whole sha512 bank swtpm has) are "only in B";
/// * the seed's `grep -F -x -f` works between `eventlog replay` text and tpm2_pcrread output;
/// * read before PCR 4's last two events: PCR 4 differs in every bank (exit 1), and the explanation says
///   B's value is A's PCR 4 right after the event before those two, naming them.
#[test]
fn log_vs_swtpm_pcrread() {
    let log = fixture("eventlogs/go-tpm-tools/rhel8-uefi.bin");
    let events = their_events(&log);
    let pcr4: Vec<usize> = (0..events.len())
        .filter(|i| events[*i].pcr == Some(4))
        .collect();
    assert!(pcr4.len() >= 3);
    let held_back = &pcr4[pcr4.len() - 2..];
    let dir = tempfile::tempdir().unwrap();
    let early = dir.path().join("early.txt");
    let now = dir.path().join("now.txt");

    let tpm = Swtpm::start();
    let first: Vec<&TheirEvent> = (0..events.len())
        .filter(|i| !held_back.contains(i))
        .map(|i| &events[i])
        .collect();
    tpm.extend(&first);
    tpm.pcrread(&early);
    tpm.extend(&held_back.iter().map(|i| &events[*i]).collect::<Vec<_>>());
    tpm.pcrread(&now);
    drop(tpm);

    let (code, v) = compare_json(&log, &now, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["all_agree"], true);
    for bank in ["sha1", "sha256", "sha384"] {
        assert_eq!(
            v["banks"][bank]["agree"],
            serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14]),
            "{bank}"
        );
        assert_eq!(v["banks"][bank]["only_in_b"].as_array().unwrap().len(), 13);
    }
    assert_eq!(
        v["banks"]["sha512"]["only_in_b"].as_array().unwrap().len(),
        24
    );

    // The seed workflow: every line of our replay text occurs verbatim in tpm2_pcrread's output.
    let replayed = dir.path().join("replayed.txt");
    std::fs::write(
        &replayed,
        run_ok(yardstick().args(["eventlog", "replay"]).arg(&log)),
    )
    .unwrap();
    let n_lines = std::fs::read_to_string(&replayed).unwrap().lines().count();
    let grep = run_ok(
        Command::new(peer("grep"))
            .args(["-c", "-F", "-x", "-f"])
            .arg(&replayed)
            .arg(&now),
    );
    assert_eq!(grep.trim(), n_lines.to_string(), "grep -F -x -f");
    assert_eq!(n_lines, 3 + 3 * 11);

    let (code, v) = compare_json(&log, &early, &[]);
    assert_eq!(code, 1);
    let diffs = v["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 3, "{v}");
    let before = events[pcr4[pcr4.len() - 3]].number;
    let later: Vec<usize> = held_back.iter().map(|i| events[*i].number).collect();
    for d in diffs {
        assert_eq!(d["pcr"], 4);
        let e = &d["explanation"];
        assert_eq!(e["kind"], "list_is_log_prefix", "{e}");
        assert_eq!(e["log"], "A");
        assert_eq!(e["after_event"], before);
        let got: Vec<u64> = e["later_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["number"].as_u64().unwrap())
            .collect();
        assert_eq!(got, later.iter().map(|n| *n as u64).collect::<Vec<_>>());
    }
    // The same, in text.
    let out = run(yardstick().args(["pcr", "compare"]).arg(&log).arg(&early));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PCR 4 differs (sha1, sha256, sha384):"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "B's value is A's PCR 4 right after event #{before}; A has 2 later event(s):"
        )),
        "{text}"
    );
    // And yardstick's JSON replay against the same tpm2_pcrread output.
    let json = dir.path().join("replay.json");
    std::fs::write(
        &json,
        run_ok(yardstick().args(["eventlog", "replay", "--json"]).arg(&log)),
    )
    .unwrap();
    let (code, _) = compare_json(&json, &now, &[]);
    assert_eq!(code, 0);
}

/// A log with StartupLocality 3 (glinux-alex.bin): a TPM whose PCR 0 was extended from zero, as one started
/// at locality 0 would be, differs on PCR 0 only, and compare says it is the replay without the locality.
#[test]
fn startup_locality_vs_locality_0_tpm() {
    let log = fixture("eventlogs/go-tpm-tools/glinux-alex.bin");
    let events = their_events(&log);
    let dir = tempfile::tempdir().unwrap();
    let now = dir.path().join("now.txt");
    let tpm = Swtpm::start();
    tpm.extend(&events.iter().collect::<Vec<_>>());
    tpm.pcrread(&now);
    drop(tpm);
    let (code, v) = compare_json(
        &log,
        &now,
        &["--bank", "sha1,sha256", "--pcr", "0,1,2,3,4,5,6,7"],
    );
    assert_eq!(code, 1);
    let diffs = v["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 2, "{v}");
    for d in diffs {
        assert_eq!(d["pcr"], 0);
        assert_eq!(d["explanation"]["kind"], "startup_locality_ignored");
        assert_eq!(d["explanation"]["locality"], 3);
    }
    assert_eq!(
        v["banks"]["sha256"]["agree"],
        serde_json::json!([1, 2, 3, 4, 5, 6, 7])
    );
    // --bank/--pcr filtered the rest out.
    assert!(v["banks"].get("sha512").is_none());
    assert_eq!(v["banks"]["sha1"]["only_in_b"], serde_json::json!([]));
}

fn offsets_and_events(p: &Path) -> serde_json::Value {
    serde_json::from_str(&run_ok(
        yardstick().args(["eventlog", "show", "--json"]).arg(p),
    ))
    .unwrap()
}

/// Two logs that differ in a known way, made here from ubuntu-2404-amd-sevsnp.bin:
/// * one byte of one event's SHA-256 digest changed: only that (bank, PCR) differs, and the run of
///   differing events is exactly that event on both sides;
/// * one event removed: its PCR differs in every bank, and the run is that event, present only in A.
#[test]
fn log_vs_log_names_the_events() {
    let orig_path = fixture("eventlogs/go-tpm-tools/ubuntu-2404-amd-sevsnp.bin");
    let orig = std::fs::read(&orig_path).unwrap();
    let shown = offsets_and_events(&orig_path);
    let evs = shown["events"].as_array().unwrap();
    // The third PCR 9 event (an EV_IPL file grub measured).
    let target = evs.iter().filter(|e| e["pcr"] == 9).nth(2).unwrap();
    let n = target["number"].as_u64().unwrap() as usize;
    let off = target["offset"].as_u64().unwrap() as usize;
    let dir = tempfile::tempdir().unwrap();

    // sha256 digest: after PCR, type, count (12), the sha1 entry (2 + 20) and the sha256 alg id (2).
    let mut changed = orig.clone();
    changed[off + 12 + 22 + 2] ^= 0xff;
    let b = dir.path().join("changed.bin");
    std::fs::write(&b, &changed).unwrap();
    let (code, v) = compare_json(&orig_path, &b, &[]);
    assert_eq!(code, 1);
    let diffs = v["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{v}");
    assert_eq!(
        (diffs[0]["bank"].as_str(), diffs[0]["pcr"].as_u64()),
        (Some("sha256"), Some(9))
    );
    let hunks = diffs[0]["explanation"]["hunks"].as_array().unwrap();
    assert_eq!(hunks.len(), 1);
    assert_eq!(hunks[0]["a_position"], 2);
    assert_eq!(hunks[0]["a_events"][0]["number"], n);
    assert_eq!(hunks[0]["b_events"][0]["number"], n);
    assert_eq!(hunks[0]["a_events"].as_array().unwrap().len(), 1);

    // Remove the record entirely.
    let next_off = evs[n + 1]["offset"].as_u64().unwrap() as usize;
    let mut removed = orig[..off].to_vec();
    removed.extend(&orig[next_off..]);
    let b = dir.path().join("removed.bin");
    std::fs::write(&b, &removed).unwrap();
    let (code, v) = compare_json(&orig_path, &b, &[]);
    assert_eq!(code, 1);
    let diffs = v["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 3, "{v}");
    for d in diffs {
        assert_eq!(d["pcr"], 9);
        let h = d["explanation"]["hunks"].as_array().unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0]["a_events"][0]["number"], n);
        assert_eq!(h[0]["b_events"], serde_json::json!([]));
    }
    let text = String::from_utf8_lossy(
        &run(yardstick().args(["pcr", "compare"]).arg(&orig_path).arg(&b)).stdout,
    )
    .into_owned();
    assert!(
        text.contains("PCR 9 differs (sha1, sha256, sha384):"),
        "{text}"
    );
    assert!(
        text.contains("at PCR 9 event 3, A has 1 event(s) B does not:"),
        "{text}"
    );
    assert!(text.contains(&format!("A #{n} EV_IPL")), "{text}");
}

/// go-tpm-tools describes ubuntu-2104-no-dbx.bin as "a Ubuntu 21.04 GCE instance without a DBX and with
/// Secure Boot disabled" and ubuntu-2104-no-secure-boot.bin as the same with Secure Boot disabled
/// (server/eventlog_test.go): their PCR 7 must differ exactly at the dbx variable event, empty in the first.
#[test]
fn ubuntu_no_dbx_vs_with_dbx() {
    let a = fixture("eventlogs/go-tpm-tools/ubuntu-2104-no-dbx.bin");
    let b = fixture("eventlogs/go-tpm-tools/ubuntu-2104-no-secure-boot.bin");
    let (code, v) = compare_json(&a, &b, &["--pcr", "7"]);
    assert_eq!(code, 1);
    for d in v["differences"].as_array().unwrap() {
        let h = d["explanation"]["hunks"].as_array().unwrap();
        assert_eq!(h.len(), 1, "{d}");
        let (ea, eb) = (&h[0]["a_events"], &h[0]["b_events"]);
        assert_eq!(ea.as_array().unwrap().len(), 1);
        assert_eq!(eb.as_array().unwrap().len(), 1);
        assert_eq!(ea[0]["decoded"]["name"], "dbx");
        assert_eq!(eb[0]["decoded"]["name"], "dbx");
        assert_eq!(ea[0]["decoded"]["value"]["kind"], "empty");
        assert_eq!(eb[0]["decoded"]["value"]["kind"], "signature_lists");
    }
}

/// The other PCR list formats: tpm2-tools 3 style text, `{"sha256": [...]}`, a bare list, and pcr predict's
/// JSON with `pcr11_phases`; values from the go-tpm-tools expected PCRs of cos-101-amd-sev.bin
/// (server/eventlog_test.go `COS101AmdSev`, sha256 PCR 0-3).
#[test]
fn list_formats() {
    let log = fixture("eventlogs/go-tpm-tools/cos-101-amd-sev.bin");
    let p = [
        "0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf",
        "6eb40f5b6bfafcb9914d486ce59404acd24bc13a6a3c45cda3b44c9d7053d638",
        "3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969",
        "3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234a13f198e7969",
    ];
    let dir = tempfile::tempdir().unwrap();
    let forms: Vec<(&str, String)> = vec![
        (
            "tools3.txt",
            format!(
                "sha256 :\n  0  : {}\n  1  : {}\n  2  : {}\n  3  : {}\n",
                p[0], p[1], p[2], p[3]
            ),
        ),
        (
            "lists.json",
            format!(
                "{{\"sha256\": [\"{}\", \"{}\", \"{}\", \"{}\"]}}",
                p[0], p[1], p[2], p[3]
            ),
        ),
        (
            "bare.json",
            format!(
                "[\"{}\", \"{}\", \"{}\", \"0x{}\"]",
                p[0],
                p[1],
                p[2],
                p[3].to_uppercase()
            ),
        ),
        (
            "predict.json",
            format!(
                "{{\"sha256\": {{\"0\": \"{}\", \"3\": \"{}\"}}, \"pcr11_phases\": {{\"sha256\": {{\"ready\": \"{}\"}}}}}}",
                p[0], p[3], p[1]
            ),
        ),
    ];
    for (name, text) in forms {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let (code, v) = compare_json(&f, &log, &[]);
        assert_eq!(code, 0, "{name}: {v}");
        assert!(!v["banks"]["sha256"]["agree"].as_array().unwrap().is_empty());
    }
    // One wrong value: exit 1, and the grep-style summary line names it.
    let f: PathBuf = dir.path().join("wrong.json");
    std::fs::write(
        &f,
        format!(
            "{{\"sha256\": {{\"0\": \"{}\", \"2\": \"{}\"}}}}",
            p[0], p[0]
        ),
    )
    .unwrap();
    let out = run(yardstick().args(["pcr", "compare"]).arg(&f).arg(&log));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("sha256:") && l.contains("agree: 0") && l.contains("differ: 2")),
        "{text}"
    );
}

/// `--pcr` takes ranges as the summary prints them (`0-7,9`): the same selection as the PCRs listed one by one;
/// a PCR that does not exist or an empty range is a usage error naming the flag.
#[test]
fn pcr_selection_takes_ranges() {
    let a = fixture("eventlogs/go-tpm-tools/rhel8-uefi.bin");
    let b = fixture("eventlogs/go-tpm-tools/ubuntu-2104-no-dbx.bin");
    let (c1, ranges) = compare_json(&a, &b, &["--pcr", "0-4,7", "--pcr", "9-9"]);
    let (c2, listed) = compare_json(&a, &b, &["--pcr", "0,1,2,3,4,7,9"]);
    assert_eq!((c1, &ranges), (c2, &listed));
    for bad in ["24", "7-3", "x"] {
        let out = run(yardstick()
            .args(["pcr", "compare", "--pcr", bad])
            .arg(&a)
            .arg(&b));
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("yardstick: error: invalid value")
                && first.contains("for '--pcr <PCRS>'"),
            "{bad}: {err}"
        );
    }
}

/// A quoted PCR 11 that equals the prediction's value after an earlier boot phase (`pcr predict`'s
/// `pcr11_phases`) is named as such: the guest was read in that phase.
#[test]
fn pcr11_read_in_an_earlier_phase_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, z) = ("aa".repeat(32), "bb".repeat(32), "cc".repeat(32));
    let predicted = dir.path().join("predicted.json");
    std::fs::write(
        &predicted,
        format!(
            r#"{{"sha256":{{"4":"{x}","11":"{x}"}},"pcr11_phases":{{"sha256":{{"enter-initrd":"{y}","enter-initrd:leave-initrd":"{z}"}}}}}}"#
        ),
    )
    .unwrap();
    let quoted = dir.path().join("quoted.json");
    std::fs::write(&quoted, format!(r#"{{"sha256":{{"4":"{x}","11":"{y}"}}}}"#)).unwrap();
    let (code, v) = compare_json(&predicted, &quoted, &[]);
    assert_eq!(code, 1);
    let e = &v["differences"][0]["explanation"];
    assert_eq!(e["kind"], "pcr11_phase", "{v}");
    assert_eq!(e["prediction"], "A");
    assert_eq!(e["phase"], "enter-initrd");
    // Either order; the text names the phase.
    let out = run(yardstick()
        .args(["pcr", "compare"])
        .arg(&quoted)
        .arg(&predicted));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("A's PCR 11 is B's predicted value after the boot phases enter-initrd"),
        "{text}"
    );
    // A value that is no phase's stays unexplained.
    std::fs::write(
        &quoted,
        format!(r#"{{"sha256":{{"4":"{x}","11":"{}"}}}}"#, "dd".repeat(32)),
    )
    .unwrap();
    let (_, v) = compare_json(&predicted, &quoted, &[]);
    assert_ne!(
        v["differences"][0]["explanation"]["kind"], "pcr11_phase",
        "{v}"
    );
}
