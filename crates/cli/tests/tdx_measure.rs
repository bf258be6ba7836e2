//! `yardstick tdx measure`: end to end against the oracle vectors (crates/tdx/tests/data), the JSON and text
//! shapes, and bad input: damaged firmware (Debian 12's OVMF.fd with single fields overwritten, truncated) and bad
//! flags each print one error line, exit 2, never panic.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]
// integration tests: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};

use support::*;

/// Debian 12's OVMF (apt package `ovmf`, installed by scripts/setup.sh).
const BOOKWORM_OVMF: &str = "/usr/share/ovmf/OVMF.fd";
/// `e47a6535-984a-4798-865e-4685a7bf8ec2` (TDX metadata offset entry) in EFI byte order.
const TDX_METADATA_GUID: [u8; 16] = [
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
];

fn oracle() -> serde_json::Value {
    let p = workspace().join("crates/tdx/tests/data/oracle-vectors.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn firmware() -> Vec<u8> {
    std::fs::read(BOOKWORM_OVMF)
        .unwrap_or_else(|e| panic!("{BOOKWORM_OVMF}: {e}; run scripts/setup.sh (package ovmf)"))
}

/// Where the TDVF descriptor starts, read through the footer entry.
fn descriptor_at(fw: &[u8]) -> usize {
    let g = fw
        .windows(16)
        .position(|w| w == TDX_METADATA_GUID)
        .expect("TDX metadata entry");
    fw.len() - u32::from_le_bytes(fw[g - 6..g - 2].try_into().unwrap()) as usize
}

fn measure_args(fw: &Path) -> Vec<String> {
    [
        "tdx",
        "measure",
        "--firmware",
        fw.to_str().unwrap(),
        "--memory",
        "2048",
        "--vcpus",
        "2",
    ]
    .map(String::from)
    .to_vec()
}

fn fails(args: &[String], expect: &[&str]) -> String {
    let out = run(yardstick().args(args));
    let err = assert_clean_failure(&out, 2);
    for e in expect {
        assert!(err.contains(e), "{args:?}: expected {e:?} in: {err}");
    }
    assert!(out.stdout.is_empty(), "{args:?}: printed output");
    err
}

/// A clap usage error: exit 2, the error first (clap adds its usage lines), no panic.
fn usage_error(args: &[String], expect: &str) {
    let out = run(yardstick().args(args));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("yardstick: error: ") && err.contains(expect) && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn json_matches_oracles_and_has_the_issue_shape() {
    let doc = oracle();
    let v = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kernel"] == "trixie" && v["qemu_version"] == "10.0.0" && v["initrd"] == "a")
        .expect("an unmodified-kernel vector");
    let r = &doc["inputs"]["initrd"]["a"];
    let size = r["size"].as_u64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let initrd = dir.path().join("initrd");
    std::fs::write(
        &initrd,
        (0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let out = run_ok(
        yardstick()
            .args(["tdx", "measure", "--firmware"])
            .arg(tools().join("ovmf-trixie/OVMF.fd"))
            .arg("--kernel")
            .arg(tools().join("kernel-trixie/vmlinuz"))
            .arg("--initrd")
            .arg(&initrd)
            .args(["--append", v["append"].as_str().unwrap()])
            .args([
                "--memory",
                "4096",
                "--vcpus",
                "2",
                "--qemu-version",
                "10.0",
                "--json",
            ]),
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    for reg in ["mrtd", "rtmr1", "rtmr2"] {
        assert_eq!(j[reg], v["expect"][reg], "{reg}");
    }
    assert!(j["rtmr0"].is_null());
    assert_eq!(j["rtmr3"], "0".repeat(96));
    assert_eq!(j["events"]["rtmr1"].as_array().unwrap().len(), 5);
    assert_eq!(j["events"]["rtmr2"].as_array().unwrap().len(), 2);
    assert!(j["events"]["rtmr0"].as_array().unwrap().is_empty());
    let e = &j["events"]["rtmr2"][1];
    assert_eq!(e["type"], "EV_EVENT_TAG");
    assert_eq!(e["pcr"], 3);
    assert!(e["digests"]["sha384"].is_string());
    assert!(
        j["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("rtmr0: not computed without --acpi-tables")
    );
}

/// The initrd through a pipe (size unknown until its end; QEMU < 10 needs it for the patched header) gives what
/// the same initrd as a file gives, which is the oracles' value.
#[test]
fn initrd_from_a_stream() {
    let doc = oracle();
    let v = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["kernel"] == "trixie"
                && v["qemu_version"] == "9.1.0"
                && v["initrd"] == "a"
                && v["memory_mib"] == 1024
        })
        .expect("a patched-kernel vector");
    let size = doc["inputs"]["initrd"]["a"]["size"].as_u64().unwrap();
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut child = yardstick()
        .args(["tdx", "measure", "--firmware"])
        .arg(tools().join("ovmf-trixie/OVMF.fd"))
        .arg("--kernel")
        .arg(tools().join("kernel-trixie/vmlinuz"))
        .args([
            "--initrd",
            "/dev/stdin",
            "--append",
            v["append"].as_str().unwrap(),
        ])
        .args([
            "--memory",
            "1024",
            "--vcpus",
            "2",
            "--qemu-version",
            "9.1",
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for reg in ["mrtd", "rtmr1", "rtmr2"] {
        assert_eq!(j[reg], v["expect"][reg], "{reg}");
    }
}

#[test]
fn text_output_and_two_pass_mrtd() {
    let doc = oracle();
    let want = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["firmware"] == "bookworm" && v["mrtd_order"] == "two-pass")
        .unwrap()["expect"]["mrtd"]
        .as_str()
        .unwrap()
        .to_string();
    let mut args = measure_args(Path::new(BOOKWORM_OVMF));
    args.extend(["--mrtd-order".into(), "two-pass".into()]);
    let out = run_ok(yardstick().args(&args));
    assert!(
        out.starts_with(&format!("MRTD   {want}  (two-pass page order)\n")),
        "{out}"
    );
    assert!(out.contains("RTMR0  not computed"));
    assert!(out.contains("note: rtmr1, rtmr2: no --kernel"));
}

#[test]
fn damaged_firmware() {
    let fw = firmware();
    let at = descriptor_at(&fw);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let edit = |name: &str, f: &dyn Fn(&mut Vec<u8>)| -> PathBuf {
        let mut b = fw.clone();
        f(&mut b);
        write(name, &b)
    };
    let le32 = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let le64 = |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let sec = at + 16;
    let cases: Vec<(PathBuf, &[&str])> = vec![
        (edit("sig", &|b| b[at] = b'X'), &["signature"]),
        (edit("version", &|b| le32(b, at + 8, 2)), &["version 2"]),
        (edit("count0", &|b| le32(b, at + 12, 0)), &["no sections"]),
        (
            edit("count-huge", &|b| le32(b, at + 12, 0xffff_ffff)),
            &["more sections"],
        ),
        (edit("length", &|b| le32(b, at + 4, 16)), &["too short"]),
        (
            edit("raw-past-end", &|b| le32(b, sec, 0xffff_0000)),
            &["past the end"],
        ),
        (
            edit("unaligned", &|b| le64(b, sec + 8, 0xffe2_0001)),
            &["aligned"],
        ),
        (
            edit("raw-gt-mem", &|b| le64(b, sec + 16, 0x1000)),
            &["larger than"],
        ),
        (
            edit("overlap", &|b| le64(b, sec + 32 + 8, 0xffe2_0000)),
            &["overlaps"],
        ),
        (
            edit("aug-extend", &|b| le32(b, sec + 28, 3)),
            &["MR.EXTEND and PAGE.AUG"],
        ),
        (
            edit("offset", &|b| {
                let g = b.windows(16).position(|w| w == TDX_METADATA_GUID).unwrap();
                le32(b, g - 6, 0xffff_fff0)
            }),
            &["outside"],
        ),
        (
            edit("no-entry", &|b| {
                let g = b.windows(16).position(|w| w == TDX_METADATA_GUID).unwrap();
                b[g] ^= 0xff;
            }),
            &["no TDX metadata"],
        ),
        (write("empty", &[]), &["too small"]),
        (write("tail", &fw[fw.len() - 40..]), &["footer"]),
        (write("head", &fw[..fw.len() - 1]), &["no TDX metadata"]),
        (write("half", &fw[fw.len() / 2..]), &[]),
        (
            write(
                "split-code",
                &std::fs::read("/usr/share/OVMF/OVMF_CODE_4M.fd").unwrap(),
            ),
            &["no TDX metadata"],
        ),
    ];
    for (path, expect) in cases {
        let err = fails(&measure_args(&path), expect);
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
}

#[test]
fn bad_flags_and_inputs() {
    let fw = PathBuf::from(BOOKWORM_OVMF);
    let with = |extra: &[&str]| -> Vec<String> {
        let mut a = measure_args(&fw);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    fails(
        &with(&["--mrtd-order", "three-pass"]),
        &["--mrtd-order", "three-pass"],
    );
    fails(&with(&["--qemu-version", "ten"]), &["--qemu-version"]);
    // --acpi-tables needs --kernel (clap), and the firmware must be one that extends RTMRs.
    usage_error(&with(&["--acpi-tables", "/dev/null"]), "--kernel");
    let kernel = tools().join("kernel-trixie/vmlinuz");
    let k = kernel.to_str().unwrap();
    fails(
        &with(&["--kernel", k, "--acpi-tables", "/dev/null"]),
        &["--acpi-tables", "Debian 12", "no TdTcg2Dxe"],
    );
    usage_error(&with(&["--acpi-rsdp", "/dev/null"]), "--acpi-tables");
    let mut a = measure_args(&fw);
    a[7] = "0".into();
    fails(&a, &["--vcpus"]);
    usage_error(&with(&["--initrd", "/dev/null"]), "--kernel");
    fails(
        &with(&["--kernel", "/nonexistent/vmlinuz"]),
        &["/nonexistent/vmlinuz"],
    );
    fails(&with(&["--kernel", BOOKWORM_OVMF]), &["kernel"]);
    let k = tools().join("kernel-trixie/vmlinuz");
    let k = k.to_str().unwrap();
    fails(&with(&["--kernel", k, "--append", "caf\u{e9}"]), &["ASCII"]);
    // QEMU < 10 places the initrd below the memory: one that does not fit is refused.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let mut a = with(&[
        "--kernel",
        k,
        "--initrd",
        big.to_str().unwrap(),
        "--qemu-version",
        "9.2",
    ]);
    a[5] = "1024".into();
    fails(&a, &["initrd"]);
    let mut a = measure_args(&fw);
    a.truncate(4);
    usage_error(&a, "--memory");
}

/// The predicted events have the shape and content of a real CCEL's (fixtures/tdx-ccel/CCEL_data_ovmf, a TD
/// booted by OVMF with a kernel and initrd; confidential-containers/trustee): every field of a predicted event is
/// a field `eventlog show --json` prints, and the events whose data is fixed (the EFI actions, the separator, the
/// Linux stub's tags) have the same type, data and, where the data is what is hashed, the same digest. The
/// register differs only for the ReadyToBoot separator: that firmware predates edk2-stable202411 and extends it
/// into RTMR0 (index 1); from edk2 commit efaf893 on (Debian 13's 2025.02) TdTcg2Dxe extends it into RTMR1
/// (index 2), which is what yardstick, dstack-mr and tdx-measure model.
#[test]
fn events_match_a_real_ccel() {
    let real: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["eventlog", "show", "--json"])
            .arg(fixture("tdx-ccel/CCEL_data_ovmf")),
    ))
    .unwrap();
    let real = real["events"].as_array().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let initrd = dir.path().join("initrd");
    std::fs::write(&initrd, b"initrd").unwrap();
    let ours: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["tdx", "measure", "--firmware"])
            .arg(tools().join("ovmf-trixie/OVMF.fd"))
            .arg("--kernel")
            .arg(tools().join("kernel-trixie/vmlinuz"))
            .arg("--initrd")
            .arg(&initrd)
            .args([
                "--append",
                "console=ttyS0",
                "--memory",
                "2048",
                "--vcpus",
                "1",
                "--json",
            ]),
    ))
    .unwrap();
    let ours: Vec<&serde_json::Value> = ["rtmr1", "rtmr2"]
        .iter()
        .flat_map(|r| ours["events"][r].as_array().unwrap())
        .collect();
    for e in &ours {
        for key in e.as_object().unwrap().keys() {
            assert!(
                real[1].get(key).is_some(),
                "{key} is not an eventlog show field"
            );
        }
        let same_data: Vec<&serde_json::Value> = real
            .iter()
            .filter(|r| r["type"] == e["type"] && !e["data"].is_null() && r["data"] == e["data"])
            .collect();
        match e["type"].as_str().unwrap() {
            "EV_EFI_ACTION" => {
                let r = same_data
                    .first()
                    .unwrap_or_else(|| panic!("no real event like {e}"));
                assert_eq!(
                    (&r["pcr"], &r["digests"], &r["description"]),
                    (&e["pcr"], &e["digests"], &e["description"])
                );
            }
            "EV_SEPARATOR" => {
                let r = same_data.last().unwrap();
                assert_eq!(
                    (&r["digests"], &r["description"]),
                    (&e["digests"], &e["description"])
                );
                assert_eq!((r["pcr"].as_u64(), e["pcr"].as_u64()), (Some(1), Some(2)));
            }
            "EV_EVENT_TAG" => {
                let r = same_data
                    .first()
                    .unwrap_or_else(|| panic!("no real event like {e}"));
                assert_eq!(r["pcr"], e["pcr"]);
                assert!(
                    r["description"]
                        .as_str()
                        .unwrap()
                        .starts_with(e["description"].as_str().unwrap())
                );
            }
            "EV_EFI_BOOT_SERVICES_APPLICATION" => {
                assert!(
                    real.iter()
                        .any(|r| r["type"] == e["type"] && r["pcr"] == e["pcr"])
                );
            }
            t => panic!("unexpected event type {t}"),
        }
    }
    assert_eq!(ours.len(), 7);
}

/// An ACPI blob of crates/tdx/tests/data/acpi (gzipped), unpacked into `dir`.
fn acpi_blob(dir: &Path, set: &str, kind: &str) -> PathBuf {
    let gz = workspace().join(format!("crates/tdx/tests/data/acpi/{set}/{kind}.bin.gz"));
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .output()
        .unwrap();
    assert!(out.status.success(), "gzip -dc {}", gz.display());
    let p = dir.join(format!("{set}.{kind}.bin"));
    std::fs::write(&p, out.stdout).unwrap();
    p
}

fn rtmr0_vector(set: &str, mib: u64) -> serde_json::Value {
    let p = workspace().join("crates/tdx/tests/data/rtmr0-oracle-vectors.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["acpi"] == set && v["memory_mib"] == mib)
        .unwrap()
        .clone()
}

fn trixie_measure(extra: &[&std::ffi::OsStr]) -> std::process::Output {
    run(yardstick()
        .args(["tdx", "measure", "--firmware"])
        .arg(tools().join("ovmf-trixie/OVMF.fd"))
        .arg("--kernel")
        .arg(tools().join("kernel-trixie/vmlinuz"))
        .args(["--append", "console=ttyS0"])
        .args(extra))
}

/// RTMR0 end to end: the tables tdx-measure's runtime-capture fixture extracted from a live TD, at 16 GiB and 8
/// vCPUs, give tdx-measure's RTMR0; the events have the types, register, data and (where they do not depend on
/// the tables or the TD HOB's layout) the digests of a real CCEL's RTMR0 events (trustee's CCEL_data_ovmf, whose
/// TDVF predates edk2-stable202411: its trailing ReadyToBoot separator in RTMR0 is the one event yardstick puts in
/// RTMR1, see `events_match_a_real_ccel`).
#[test]
fn rtmr0_matches_tdx_measure_and_a_real_ccel() {
    let dir = tempfile::tempdir().unwrap();
    let tables = acpi_blob(dir.path(), "tdxm-runtime-capture", "tables");
    let v = rtmr0_vector("tdxm-runtime-capture", 16384);
    let out = trixie_measure(&[
        "--acpi-tables".as_ref(),
        tables.as_os_str(),
        "--memory".as_ref(),
        "16384".as_ref(),
        "--vcpus".as_ref(),
        "8".as_ref(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["rtmr0"], v["oracles"]["tdx-measure"]["rtmr0"]);
    assert_eq!(j["mrtd"], v["oracles"]["tdx-measure"]["mrtd"]);
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().starts_with("rtmr0"))
    );
    assert_eq!(j["config"]["acpi"]["loader_derived"], true);
    let ours = j["events"]["rtmr0"].as_array().unwrap();

    let real: serde_json::Value = serde_json::from_str(&run_ok(
        yardstick()
            .args(["eventlog", "show", "--json", "--pcr", "1"])
            .arg(fixture("tdx-ccel/CCEL_data_ovmf")),
    ))
    .unwrap();
    let real: Vec<&serde_json::Value> = real["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] != "EV_NO_ACTION")
        .collect();
    // The real log's last RTMR0 event is the ReadyToBoot separator this firmware extends into RTMR1.
    assert_eq!(real.len(), ours.len() + 1);
    assert_eq!(real.last().unwrap()["type"], "EV_SEPARATOR");
    for (i, (o, r)) in ours.iter().zip(&real).enumerate() {
        for key in ["type", "type_value", "pcr", "data"] {
            assert_eq!(o[key], r[key], "event {i} {key}");
        }
        let fixed = !matches!(
            o["type"].as_str().unwrap(),
            "EV_EFI_HANDOFF_TABLES2" | "EV_PLATFORM_CONFIG_FLAGS"
        );
        if fixed {
            assert_eq!(
                o["digests"], r["digests"],
                "event {i} ({}) digest",
                o["type"]
            );
        }
        if matches!(
            o["type"].as_str().unwrap(),
            "EV_EFI_VARIABLE_DRIVER_CONFIG" | "EV_EFI_VARIABLE_BOOT" | "EV_SEPARATOR"
        ) {
            assert_eq!(o["description"], r["description"], "event {i} description");
        }
    }

    // The text output lists the 13 events under RTMR0.
    let text = trixie_measure(&[
        "--acpi-tables".as_ref(),
        tables.as_os_str(),
        "--memory".as_ref(),
        "16384".as_ref(),
        "--vcpus".as_ref(),
        "8".as_ref(),
    ]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "RTMR0  {}",
            v["oracles"]["tdx-measure"]["rtmr0"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        text.contains("\"ACPI DATA\": etc/table-loader, 4096 bytes (derived from the tables)"),
        "{text}"
    );
}

/// A layout whose loader is not derived (vmgenid's SSDT has loader commands of its own) is refused with the way
/// out; with QEMU's RSDP and loader given, RTMR0 is tdx-measure's with the same blobs.
#[test]
fn rtmr0_with_a_given_loader() {
    let dir = tempfile::tempdir().unwrap();
    let set = "qemu-q35-vmgenid";
    let (t, r, l) = (
        acpi_blob(dir.path(), set, "tables"),
        acpi_blob(dir.path(), set, "rsdp"),
        acpi_blob(dir.path(), set, "loader"),
    );
    let base: [&std::ffi::OsStr; 6] = [
        "--acpi-tables".as_ref(),
        t.as_os_str(),
        "--memory".as_ref(),
        "3072".as_ref(),
        "--vcpus".as_ref(),
        "2".as_ref(),
    ];
    let out = trixie_measure(&base);
    let err = assert_clean_failure(&out, 2);
    assert!(
        err.contains("SSDT") && err.contains("--acpi-loader"),
        "{err}"
    );
    let mut args = base.to_vec();
    args.extend([
        "--acpi-rsdp".as_ref(),
        r.as_os_str(),
        "--acpi-loader".as_ref(),
        l.as_os_str(),
        "--json".as_ref(),
    ]);
    let out = trixie_measure(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = rtmr0_vector(set, 3072);
    assert_eq!(j["rtmr0"], v["oracles"]["tdx-measure-given"]["rtmr0"]);
    assert_eq!(j["config"]["acpi"]["loader_derived"], false);
    // RSDP and loader swapped: named by their flags.
    let mut swapped = base.to_vec();
    swapped.extend([
        "--acpi-rsdp".as_ref(),
        l.as_os_str(),
        "--acpi-loader".as_ref(),
        r.as_os_str(),
    ]);
    let err = assert_clean_failure(&trixie_measure(&swapped), 2);
    assert!(
        err.starts_with("yardstick: error: --acpi-rsdp: etc/acpi/rsdp: does not start with"),
        "{err}"
    );
    // A truncated tables blob: one line, exit 2.
    let bytes = std::fs::read(&t).unwrap();
    std::fs::write(&t, &bytes[..100]).unwrap();
    let err = assert_clean_failure(&trixie_measure(&base), 2);
    assert!(
        err.contains("--acpi-tables") && err.contains("length"),
        "{err}"
    );
}
