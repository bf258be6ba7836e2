//! End to end, the relying party against a real measured boot: a UKI built by `yardstick uki build` (Debian's
//! kernel, a busybox initrd, systemd-stub 254) boots under QEMU (TCG) + Debian's OVMF + swtpm; the guest
//! prints its PCRs and its TCG event log on the serial console and stays up; the harness stops QEMU so that
//! the vTPM keeps the PCRs the boot left and serves them on TCP (`support/boot.rs`, `boot_uki_keep_tpm`).
//! The host then acts as the attester's TPM client with tpm2-tools (`tpm2_createek`, `tpm2_createak`,
//! `tpm2_quote` over sha1/sha256/sha384 PCRs 0-15 with a nonce) and `yardstick verify tpm` checks the quote,
//! the event log and the PCRs against the manifest `yardstick refvals create` wrote for that UKI:
//!
//! * accepted against the UKI's own manifest (with the `tpm2_quote -o` file and with `tpm2_pcrread` output;
//!   tpm2_checkquote accepts the same quote);
//! * rejected against the manifest of the same UKI built with another command line, naming PCR 4, 9 and 11
//!   in every bank and, for each, the first event of the guest's log that the manifest does not expect
//!   (found here independently by this file's own log reader: the UKI's Authenticode event, the Linux EFI
//!   stub's LoadOptions event, the second `.cmdline` event of systemd-stub);
//! * after `tpm2_pcrextend` of the systemd-pcrphase word `enter-initrd` into PCR 11 of every bank (what
//!   systemd-pcrphase does in the initrd), accepted again: PCR 11 equals the manifest's `enter-initrd` phase
//!   value and the log replay plus that phase equals the quote;
//! * a log whose `.cmdline` digest was changed, or with an extra event, is named as not matching the quote
//!   (and with an extra event, the quote is said to predate it); a truncated log is bad input (exit 2).
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::PcrBanks;

/// The UKI's command line, and the other UKI's.
const CMDLINE: &str = "console=ttyS0 panic=-1\n";
const OTHER_CMDLINE: &str = "console=ttyS0 panic=-1 loglevel=7\n";
const NONCE: &str = "c0c0a5deadbeef0123456789";
const BANKS: [(&str, u16); 3] = [("sha1", 0x0004), ("sha256", 0x000b), ("sha384", 0x000c)];

/// One record of a crypto-agile TCG log (TCG PC Client PFP §10.2.2 `TCG_PCR_EVENT2`).
#[derive(Debug, Clone)]
struct Record {
    index: usize,
    pcr: u32,
    event_type: u32,
    digests: Vec<(u16, Vec<u8>)>,
    data: Vec<u8>,
    /// Byte range of the record in the log.
    range: std::ops::Range<usize>,
}

/// A deliberately small reader of the guest's crypto-agile log, independent of yardstick's parser: the
/// legacy Spec ID header (record 0) gives the digest size of each algorithm, then `TCG_PCR_EVENT2` records.
fn read_log(log: &[u8]) -> (Vec<(u16, u16)>, Vec<Record>) {
    let u32_at = |o: usize| u32::from_le_bytes(log[o..o + 4].try_into().unwrap());
    let u16_at = |o: usize| u16::from_le_bytes(log[o..o + 2].try_into().unwrap());
    // Record 0: pcr, type, sha1[20], size, data = "Spec ID Event03\0", class, 4 version bytes, count, algs.
    let data0 = 32;
    assert_eq!(&log[data0..data0 + 16], b"Spec ID Event03\0");
    let n = u32_at(data0 + 24) as usize;
    let algs: Vec<(u16, u16)> = (0..n)
        .map(|i| (u16_at(data0 + 28 + 4 * i), u16_at(data0 + 30 + 4 * i)))
        .collect();
    let mut off = data0 + u32_at(28) as usize;
    let mut out = Vec::new();
    let mut index = 1;
    while off + 12 <= log.len() {
        let start = off;
        let (pcr, event_type, count) = (u32_at(off), u32_at(off + 4), u32_at(off + 8));
        let mut o = off + 12;
        let mut digests = Vec::new();
        for _ in 0..count {
            let alg = u16_at(o);
            let len = algs.iter().find(|a| a.0 == alg).unwrap().1 as usize;
            digests.push((alg, log[o + 2..o + 2 + len].to_vec()));
            o += 2 + len;
        }
        let size = u32_at(o) as usize;
        let data = log[o + 4..o + 4 + size].to_vec();
        off = o + 4 + size;
        out.push(Record {
            index,
            pcr,
            event_type,
            digests,
            data,
            range: start..off,
        });
        index += 1;
    }
    (algs, out)
}

fn utf16(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.extend([0, 0]);
    v
}

fn build_uki(work: &Path, initrd: &Path, cmdline: &str, name: &str) -> PathBuf {
    let uki = work.join(name);
    let cmdline_file = work.join(format!("{name}.cmdline"));
    std::fs::write(&cmdline_file, cmdline).unwrap();
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub_254())
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(initrd)
            .arg(format!("--cmdline=@{}", cmdline_file.display()))
            .args([
                "--os-release",
                "ID=yardstick-test\nVERSION_ID=1\n",
                "--output",
            ])
            .arg(&uki),
    );
    uki
}

fn manifest_for(uki: &Path, out: &Path) -> PcrBanks {
    run_ok(
        yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(uki)
            .arg("--output")
            .arg(out),
    );
    let m = yardstick_refvals::Manifest::from_json(&std::fs::read(out).unwrap()).unwrap();
    m.tpm.unwrap().pcrs
}

fn verify(dir: &Path, pcrs: &str, log: &Path, manifest: &Path, extra: &[&str]) -> Output {
    run(yardstick()
        .current_dir(dir)
        .args([
            "verify",
            "tpm",
            "--quote",
            "q.msg",
            "--signature",
            "q.sig",
            "--ak",
            "ak.pub",
            "--pcrs",
            pcrs,
            "--nonce",
            NONCE,
            "--eventlog",
        ])
        .arg(log)
        .arg("--refvals")
        .arg(manifest)
        .args(extra))
}

fn expect(o: &Output, code: i32, what: &str) -> String {
    let out = stdout(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}:\n{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// The line of `out` for a check, `ok    <name>: ...` or `FAIL  <name>: ...`.
fn line<'a>(out: &'a str, prefix: &str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{prefix}{name}")))
        .unwrap_or_else(|| panic!("no line {prefix}{name}:\n{out}"))
}

const QUOTED: &str = "sha1:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\
    +sha256:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\
    +sha384:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15";

fn quote(tpm: &boot::TpmServer, tag: &str) {
    tpm.tool(
        "tpm2_quote",
        &[
            "-c", "ak.ctx", "-q", NONCE, "-l", QUOTED, "-g", "sha256", "-m", "q.msg", "-s",
            "q.sig", "-o", "q.pcrs",
        ],
    )
    .unwrap_or_else(|e| panic!("{tag}: {e}"));
    let yaml = tpm.tool("tpm2_pcrread", &[QUOTED]).unwrap();
    std::fs::write(tpm.work_dir().join("pcrread.yaml"), yaml).unwrap();
    // The peer's verdict on the same quote.
    let ok = run(Command::new(peer("tpm2_checkquote"))
        .current_dir(tpm.work_dir())
        .args([
            "-u", "ak.pub", "-m", "q.msg", "-s", "q.sig", "-f", "q.pcrs", "-g", "sha256", "-q",
            NONCE,
        ]));
    assert!(
        ok.status.success(),
        "{tag}: tpm2_checkquote rejects the quote: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn uki_boot_quote_verifies_against_its_manifest_only() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let initrd = w.join("initrd.cpio");
    std::fs::write(
        &initrd,
        boot::busybox_initrd(&boot::GuestScript {
            hold: true,
            ..Default::default()
        }),
    )
    .unwrap();
    let uki = build_uki(w, &initrd, CMDLINE, "uki.efi");
    let other = build_uki(w, &initrd, OTHER_CMDLINE, "other.efi");
    let (mine, theirs) = (w.join("uki.manifest.json"), w.join("other.manifest.json"));
    let want = manifest_for(&uki, &mine);
    let other_want = manifest_for(&other, &theirs);

    let (out, tpm) = boot::boot_uki_keep_tpm(&boot::BootConfig::new(&uki))
        .unwrap_or_else(|e| panic!("boot failed: {e}"));
    eprintln!("boot: {:.1} s", out.duration.as_secs_f64());
    let d = tpm.work_dir().to_path_buf();
    let log = d.join("eventlog.bin");
    std::fs::write(&log, &out.event_log).unwrap();

    // The served TPM holds the guest's PCRs (not reset by the hand-over).
    let served: PcrBanks = {
        let text = tpm.tool("tpm2_pcrread", &[QUOTED]).unwrap();
        yardstick_tpm::pcrlist::parse(&text).unwrap().pcrs
    };
    let mut guest = out.pcrs.clone();
    guest.retain_pcrs(&(0..16).collect::<Vec<_>>());
    assert_eq!(
        served, guest,
        "swtpm after the hand-over vs the guest's PCRs"
    );
    for (alg, pcr, v) in want.iter() {
        assert_eq!(
            guest.get(alg, pcr),
            Some(v),
            "{alg} PCR {pcr}: guest vs manifest"
        );
        if [4, 9, 11].contains(&pcr) {
            assert_ne!(other_want.get(alg, pcr), Some(v), "{alg} PCR {pcr}");
        }
    }

    tpm.tool(
        "tpm2_createek",
        &["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"],
    )
    .unwrap();
    tpm.tool(
        "tpm2_createak",
        &[
            "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa", "-g", "sha256", "-s", "rsassa", "-u",
            "ak.pub", "-n", "ak.name",
        ],
    )
    .unwrap();
    quote(&tpm, "after boot");

    // Accepted against its own manifest, with either PCR file.
    let (algs, records) = read_log(&out.event_log);
    let replayed_pcrs: Vec<u32> = {
        let mut v: Vec<u32> = records
            .iter()
            .filter(|r| r.event_type != 3) // EV_NO_ACTION is never extended
            .map(|r| r.pcr)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert!(replayed_pcrs.contains(&11) && replayed_pcrs.contains(&9));
    for pcrs in ["q.pcrs", "pcrread.yaml"] {
        let o = verify(&d, pcrs, &log, &mine, &[]);
        let text = expect(&o, 0, &format!("own manifest, {pcrs}"));
        for (bank, _) in BANKS {
            for pcr in &replayed_pcrs {
                line(
                    &text,
                    "ok    ",
                    &format!("event log replay PCR {pcr} {bank} = quoted"),
                );
            }
            for pcr in [4, 7, 9, 11, 12, 13] {
                line(&text, "ok    ", &format!("PCR {pcr} {bank} ("));
            }
        }
    }
    let o = verify(&d, "q.pcrs", &log, &mine, &["--json"]);
    let j: serde_json::Value = serde_json::from_str(&expect(&o, 0, "json")).unwrap();
    assert_eq!(j["status"], "affirming");
    assert!(j["checks"].as_array().unwrap().len() >= 4 + 18 + 3 * replayed_pcrs.len());

    // Keep the evidence for people to look at (and for the README's tour).
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-boot");
    std::fs::create_dir_all(&keep).unwrap();
    for f in [
        "q.msg",
        "q.sig",
        "q.pcrs",
        "pcrread.yaml",
        "ak.pub",
        "eventlog.bin",
    ] {
        std::fs::copy(d.join(f), keep.join(f)).unwrap();
    }
    std::fs::copy(&mine, keep.join("uki.manifest.json")).unwrap();
    std::fs::copy(&theirs, keep.join("other.manifest.json")).unwrap();

    // Rejected against the other command line's manifest: PCR 4 (the UKI's Authenticode), PCR 9 (the
    // kernel's LoadOptions) and PCR 11 (the `.cmdline` section) differ, each naming the guest's event.
    let uki_event = records
        .iter()
        .find(|r| r.pcr == 4 && r.event_type == 0x8000_0003)
        .unwrap();
    // TCG_PCClientTaggedEvent with the Linux EFI stub's tag 0x8F3B22ED (LOADED_IMAGE::LoadOptions).
    let load_options = records
        .iter()
        .find(|r| r.pcr == 9 && r.data.starts_with(&0x8f3b_22edu32.to_le_bytes()))
        .unwrap();
    let name_digest = Algorithm::Sha256.digest(b".cmdline\0");
    let cmdline_events: Vec<&Record> = records
        .iter()
        .filter(|r| r.pcr == 11 && r.data == utf16(".cmdline"))
        .collect();
    assert_eq!(cmdline_events.len(), 2, "name and contents events");
    assert_eq!(
        cmdline_events[0]
            .digests
            .iter()
            .find(|d| d.0 == 0x000b)
            .unwrap()
            .1,
        name_digest.as_ref(),
        "the first .cmdline event is the section name"
    );
    let contents = cmdline_events[1];
    let o = verify(&d, "q.pcrs", &log, &theirs, &[]);
    let text = expect(&o, 1, "other manifest");
    for (bank, _) in BANKS {
        let l = line(&text, "FAIL  ", &format!("PCR 11 {bank} ("));
        assert!(
            l.contains(&format!(
                "first differing event: #{} EV_IPL \".cmdline\"",
                contents.index
            )),
            "{l}"
        );
        let quoted = guest.get(bank.parse().unwrap(), 11).unwrap().to_hex();
        assert!(l.contains(&format!("actual {quoted}")), "{l}");
        let l = line(&text, "FAIL  ", &format!("PCR 9 {bank} ("));
        assert!(
            l.contains(&format!(
                "first differing event: #{} EV_EVENT_TAG",
                load_options.index
            )),
            "{l}"
        );
        let l = line(&text, "FAIL  ", &format!("PCR 4 {bank} ("));
        assert!(
            l.contains(&format!(
                "first differing event: #{} EV_EFI_BOOT_SERVICES_APPLICATION",
                uki_event.index
            )),
            "{l}"
        );
        for pcr in [7, 12, 13] {
            line(&text, "ok    ", &format!("PCR {pcr} {bank} ("));
        }
    }
    assert_eq!(
        text.lines().filter(|l| l.starts_with("FAIL")).count(),
        9,
        "{text}"
    );

    // A changed `.cmdline` digest in the log: the log no longer reproduces the quoted PCR 11.
    let mut bad = out.event_log.clone();
    let r = &contents.range;
    let sha256_at = r.start + 12 + (2 + 20) + 2; // after pcr, type, count, the sha1 digest, the sha256 alg id
    assert_eq!(
        u16::from_le_bytes(bad[sha256_at - 2..sha256_at].try_into().unwrap()),
        0x000b
    );
    bad[sha256_at] ^= 1;
    let bad_log = d.join("bad.bin");
    std::fs::write(&bad_log, &bad).unwrap();
    let text = expect(
        &verify(&d, "q.pcrs", &bad_log, &mine, &[]),
        1,
        "changed log",
    );
    let l = line(&text, "FAIL  ", "event log replay PCR 11 sha256 = quoted");
    assert!(l.contains("does not describe this TPM"), "{l}");
    line(&text, "ok    ", "event log replay PCR 11 sha1 = quoted");
    line(&text, "ok    ", "PCR 11 sha256 (");

    // An extra PCR 11 event at the end of the log: the quote predates it.
    let mut longer = out.event_log.clone();
    let mut rec = Vec::new();
    rec.extend(11u32.to_le_bytes());
    rec.extend(0x0000_000du32.to_le_bytes()); // EV_IPL
    rec.extend((algs.len() as u32).to_le_bytes());
    for (id, _) in &algs {
        let alg = match id {
            0x0004 => Algorithm::Sha1,
            0x000b => Algorithm::Sha256,
            0x000c => Algorithm::Sha384,
            0x000d => Algorithm::Sha512,
            other => panic!("bank {other:#x}"),
        };
        rec.extend(id.to_le_bytes());
        rec.extend(alg.digest(b"late").as_ref());
    }
    rec.extend(4u32.to_le_bytes());
    rec.extend(b"late");
    longer.extend(&rec);
    let longer_log = d.join("longer.bin");
    std::fs::write(&longer_log, &longer).unwrap();
    let text = expect(
        &verify(&d, "q.pcrs", &longer_log, &mine, &[]),
        1,
        "longer log",
    );
    let l = line(&text, "FAIL  ", "event log replay PCR 11 sha384 = quoted");
    assert!(
        l.contains(&format!(
            "after event #{} EV_IPL",
            records.iter().rfind(|r| r.pcr == 11).unwrap().index
        )) && l.contains(&format!("#{} EV_IPL", records.len() + 1)),
        "{l}"
    );

    // A truncated log is bad input.
    let short_log = d.join("short.bin");
    std::fs::write(&short_log, &out.event_log[..out.event_log.len() - 7]).unwrap();
    let e = assert_clean_failure(&verify(&d, "q.pcrs", &short_log, &mine, &[]), 2);
    assert!(e.contains("short.bin"), "{e}");

    // systemd-pcrphase's `enter-initrd` (H("enter-initrd") into PCR 11 of every bank), then a new quote:
    // PCR 11 is now the manifest's enter-initrd value, and the replay plus that phase gives it.
    let ext: Vec<String> = algs
        .iter()
        .map(|(id, _)| {
            let (name, alg) = match id {
                0x0004 => ("sha1", Algorithm::Sha1),
                0x000b => ("sha256", Algorithm::Sha256),
                0x000c => ("sha384", Algorithm::Sha384),
                _ => ("sha512", Algorithm::Sha512),
            };
            format!("{name}={}", alg.digest(b"enter-initrd").to_hex())
        })
        .collect();
    tpm.tool("tpm2_pcrextend", &[&format!("11:{}", ext.join(","))])
        .unwrap();
    quote(&tpm, "after enter-initrd");
    let text = expect(&verify(&d, "q.pcrs", &log, &mine, &[]), 0, "enter-initrd");
    for (bank, _) in BANKS {
        let l = line(
            &text,
            "ok    ",
            &format!("event log replay PCR 11 {bank} = quoted"),
        );
        assert!(l.contains("then systemd-pcrphase enter-initrd"), "{l}");
    }
    let m = yardstick_refvals::Manifest::from_json(&std::fs::read(&mine).unwrap()).unwrap();
    let phase = &m.tpm.unwrap().pcr11_phases[1];
    assert_eq!(phase.phase, "enter-initrd");
    let now =
        yardstick_tpm::pcrlist::parse(&std::fs::read_to_string(d.join("pcrread.yaml")).unwrap())
            .unwrap()
            .pcrs;
    for (alg, _, v) in phase.pcrs.iter() {
        assert_eq!(now.get(alg, 11), Some(v), "{alg} PCR 11 after enter-initrd");
    }
}
