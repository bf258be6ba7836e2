//! Differential test: MRTD, RTMR1 and RTMR2 for Debian's TDVF firmware and kernels against the values two
//! independent calculators (dstack-mr and fortanix tdx-measure, built locally) agreed on, kept in
//! `data/oracle-vectors.json` with their provenance (regenerate with `scripts/tdx-oracle-vectors.sh`).
//!
//! The firmware and kernels are too large to commit: they come from `scripts/setup.sh` (Debian 12's
//! `/usr/share/ovmf/OVMF.fd`, `$YARDSTICK_TOOLS/{ovmf-trixie,kernel,kernel-trixie}`). A missing or different
//! input fails the test with the fix, never skips it.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]
// integration tests: a panic is the failure report

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use yardstick_common::hash::Algorithm;
use yardstick_tdx::{DirectBoot, Initrd, PageOrder, TdxGuest, measure};

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/oracle-vectors.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Reads an input named in the fixture and checks its SHA-256 against the fixture's.
fn input(doc: &Value, kind: &str, name: &str) -> Vec<u8> {
    let entry = &doc["inputs"][kind][name];
    let path = entry["path"].as_str().unwrap().replace(
        "$YARDSTICK_TOOLS",
        &yardstick_testkit::tools().display().to_string(),
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{kind} {name}: cannot read {path} ({e}); run scripts/setup.sh (as root) to install the test inputs")
    });
    let want = entry["sha256"].as_str().unwrap();
    let got = Algorithm::Sha256.digest(&bytes).to_hex();
    assert_eq!(
        got, want,
        "{kind} {name} ({path}) is not the file the oracle vectors were computed from; \
         regenerate them with scripts/tdx-oracle-vectors.sh or install that version"
    );
    bytes
}

fn initrd(doc: &Value, name: &str) -> Vec<u8> {
    let r = &doc["inputs"]["initrd"][name];
    let n = |k: &str| r[k].as_u64().unwrap();
    let (size, mul, add, m) = (n("size"), n("mul"), n("add"), n("mod"));
    let bytes: Vec<u8> = (0..size).map(|i| ((mul * i + add) % m) as u8).collect();
    assert_eq!(
        Algorithm::Sha256.digest(&bytes).to_hex(),
        r["sha256"].as_str().unwrap()
    );
    bytes
}

#[test]
fn agrees_with_dstack_mr_and_tdx_measure() {
    let doc = fixture();
    let mut firmware = BTreeMap::new();
    let mut kernels = BTreeMap::new();
    let mut initrds = BTreeMap::new();
    for name in ["bookworm", "trixie"] {
        firmware.insert(name, input(&doc, "firmware", name));
        kernels.insert(name, input(&doc, "kernel", name));
    }
    for name in ["a", "b"] {
        initrds.insert(name, initrd(&doc, name));
    }
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30, "fixture lost vectors");
    let mut compared = BTreeMap::<&str, usize>::new();
    for v in vectors {
        assert!(
            v.get("disagree").is_none(),
            "oracles disagree on {v}: decide which is right first"
        );
        let s = |k: &str| v[k].as_str();
        let kernel = s("kernel").map(|k| kernels[k].as_slice());
        let initrd = s("initrd").map(|i| Initrd::Bytes(initrds[i].as_slice()));
        let guest = TdxGuest {
            firmware: &firmware[s("firmware").unwrap()],
            direct_boot: kernel.map(|kernel| DirectBoot {
                kernel,
                initrd,
                append: s("append"),
            }),
            memory_mib: v["memory_mib"].as_u64().unwrap(),
            vcpus: v["vcpus"].as_u64().unwrap() as u32,
            qemu_version: s("qemu_version").unwrap_or("10.0").parse().unwrap(),
            mrtd_order: s("mrtd_order").unwrap().parse::<PageOrder>().unwrap(),
            acpi: None,
        };
        let m = measure(&guest).unwrap();
        let got = BTreeMap::from([
            ("mrtd", Some(m.mrtd.clone())),
            ("rtmr1", m.rtmr1.clone()),
            ("rtmr2", m.rtmr2.clone()),
        ]);
        let expect = v["expect"].as_object().unwrap();
        assert!(!expect.is_empty());
        for (reg, want) in expect {
            assert_eq!(got[reg.as_str()].as_deref(), want.as_str(), "{reg} for {v}");
            *compared
                .entry(if reg == "mrtd" { "mrtd" } else { "rtmr" })
                .or_default() += 1;
        }
        // The event lists replay to the registers.
        for (events, value) in [(&m.events.rtmr1, &m.rtmr1), (&m.events.rtmr2, &m.rtmr2)] {
            let mut r = Algorithm::Sha384.zero();
            for e in events {
                let d = yardstick_common::hex::decode(e.digest().unwrap()).unwrap();
                r = Algorithm::Sha384.extend(&r, &d);
            }
            if let Some(value) = value {
                assert_eq!(&r.to_hex(), value);
            }
        }
    }
    assert!(
        compared["mrtd"] >= 30 && compared["rtmr"] >= 60,
        "{compared:?}"
    );
}
