//! End-to-end proof of `yardstick pcr predict`: build a UKI with `yardstick uki build` from Debian's kernel and
//! a busybox initrd, boot it under QEMU (TCG) + Debian's OVMF + swtpm, read the guest's PCRs (sha1, sha256,
//! sha384) and event log, and require PCRs 4, 7, 9, 11, 12, 13 to equal the prediction in every bank.
//!
//! Cases: systemd-stub 252 (Debian 12) and 254 (bookworm-backports), each with Secure Boot off (Debian's
//! empty `OVMF_VARS_4M.fd`) and on (`OVMF_VARS_4M.snakeoil.fd` + `OVMF_CODE_4M.secboot.fd`, the UKI signed
//! with Debian's snakeoil key by sbsign, so PCR 7 carries the db authority event); and a UKI built the way
//! mkosi's `SignExpectedPcr` builds it, by ukify 254 with `--pcr-private-key`/`--pcr-public-key`
//! (`.pcrsig` + `.pcrpkey`), whose stub appends cpio archives of its own to the initrd the kernel measures.
//! systemd-stub 257 (Debian 13's `systemd-boot-efi`, Secure Boot off): a plain UKI (the stub adds an
//! `/.extra/os-release` archive) and a two-profile UKI made by ukify 257, booted with the default profile.
//!
//! The guest's event log, serial log, PCRs, prediction and boot time are kept under
//! `$CARGO_TARGET_TMPDIR/boot-uki/<case>/` for the event-log replay tests to check against.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::PcrBanks;

const STUB_252: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// Checks the prediction's event list (library API, same inputs as the CLI run) against the guest's log: for
/// each predicted PCR the same events in the same order, with equal digests in every bank. Returns the count.
fn compare_events(
    case: &str,
    log: &[u8],
    uki: &Path,
    secure_boot: bool,
    boot_index: bool,
) -> usize {
    use yardstick_tpm::predict::{Platform, SecureBootVars, predict};
    let mut platform = Platform {
        boot_retries: u32::from(!boot_index),
        ..Platform::default()
    };
    if secure_boot {
        platform.secure_boot =
            SecureBootVars::from_vars_fd(&std::fs::read(boot::SNAKEOIL_VARS).unwrap()).unwrap();
    }
    let banks = boot::GUEST_BANKS;
    let p = predict(&std::fs::read(uki).unwrap(), &platform, &banks).unwrap();
    let actual = boot::log_events(log);
    let mut n = 0;
    for pcr in [4u32, 7, 9, 11, 12, 13] {
        let want: Vec<_> = actual.iter().filter(|e| e.0 == pcr).collect();
        let got: Vec<_> = p.events.iter().filter(|e| e.pcr == pcr).collect();
        let show = |i: usize| {
            format!(
                "log: {:?}\npredicted: {:?}",
                want.get(i).map(|e| (
                    e.1,
                    e.2.iter()
                        .find(|d| d.0 == 0x000b)
                        .map(|d| yardstick_common::hex::encode(&d.1))
                )),
                got.get(i).map(|e| (
                    e.event_type(),
                    e.description(),
                    e.digests.get(1).map(|d| d.to_hex())
                ))
            )
        };
        for i in 0..want.len().max(got.len()) {
            let (Some(w), Some(g)) = (want.get(i), got.get(i)) else {
                panic!(
                    "{case}: PCR {pcr} has {} events in the log, {} predicted\n{}",
                    want.len(),
                    got.len(),
                    show(i)
                );
            };
            assert_eq!(
                w.1,
                g.event_type(),
                "{case}: PCR {pcr} event {i} type\n{}",
                show(i)
            );
            for (alg, d) in banks.iter().zip(&g.digests) {
                let logged =
                    w.2.iter()
                        .find(|x| x.0 == alg.tpm_alg_id())
                        .map(|x| &x.1[..]);
                assert_eq!(
                    logged,
                    Some(&d[..]),
                    "{case}: PCR {pcr} event {i} ({}) {alg}\n{}",
                    g.description(),
                    show(i)
                );
            }
            n += 1;
        }
    }
    n
}

fn artifacts(case: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("boot-uki")
        .join(case);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One boot: which stub, Secure Boot, the UKI's `.cmdline` (None: no section), the ESP first in boot order,
/// and whether ukify 254 builds the UKI with signed expected PCRs (`.pcrsig` + `.pcrpkey`) instead of
/// `yardstick uki build`.
struct Case<'a> {
    name: &'a str,
    stub: &'a Path,
    secure_boot: bool,
    cmdline: Option<&'a str>,
    boot_index: bool,
    ukify_signed_pcrs: bool,
    /// The stub generates archives from the UKI's own sections (systemd-stub 257: `.osrel`): the guest lists
    /// `/.extra` and the test checks what it found.
    stub_cpios: bool,
    /// ukify 257 builds a two-profile UKI (`--profile` + `--join-profile` of a profile PE with its own
    /// `.cmdline`) instead of `yardstick uki build`; the stub boots the default profile 0.
    ukify_two_profiles: bool,
}

/// What the guest prints about the files systemd-stub put in `/.extra` (mode, size, SHA-256).
const SHOW_EXTRA: &str =
    "for f in /.extra/*; do echo \"YS-EXTRA $(stat -c '%a %s' $f) $(sha256sum $f)\"; done";

/// `ukify build` 254 with `--pcr-private-key`/`--pcr-public-key` (systemd-measure 254 signs the expected PCR 11
/// values of every phase into `.pcrsig`), as mkosi `SignExpectedPcr=yes` runs it.
fn ukify_signed_pcrs(stub: &Path, initrd: &Path, cmdline: Option<&Path>, out: &Path, work: &Path) {
    let key = work.join("pcr-private.pem");
    let pubkey = work.join("pcr-public.pem");
    run_ok(
        Command::new(peer("openssl"))
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key),
    );
    run_ok(
        Command::new(peer("openssl"))
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&pubkey),
    );
    let mut c = Command::new(peer("venv/bin/python"));
    c.arg(peer("systemd-254/lib/systemd/ukify"))
        .arg("build")
        .arg("--tools")
        .arg(peer("systemd-254/lib/systemd"))
        .env(
            "LD_LIBRARY_PATH",
            peer("systemd-254/usr/lib/x86_64-linux-gnu/systemd"),
        )
        .arg("--stub")
        .arg(stub)
        .arg("--linux")
        .arg(kernel())
        .arg("--initrd")
        .arg(initrd)
        .args(["--os-release", "ID=yardstick-test\nVERSION_ID=1\n"])
        .arg("--pcr-private-key")
        .arg(&key)
        .arg("--pcr-public-key")
        .arg(&pubkey)
        .args(["--pcr-banks", "sha1,sha256,sha384", "--output"])
        .arg(out);
    if let Some(f) = cmdline {
        c.arg(format!("--cmdline=@{}", f.display()));
    }
    run_ok(&mut c);
}

/// ukify 257 as its man page builds a multi-profile UKI: a profile PE (the addon stub with `.profile` and a
/// `.cmdline` of its own), then the UKI with a base `.profile` that joins it. The base sections come first,
/// then profile 0's `.profile`, then profile 1's `.profile` and `.cmdline`.
fn ukify_two_profile_uki(initrd: &Path, cmdline: &str, out: &Path, work: &Path) {
    let addon_stub = peer("systemd-257/usr/lib/systemd/boot/efi/addonx64.efi.stub");
    let p1 = work.join("profile1.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(&addon_stub)
            .args([
                "--profile=ID=one\nTITLE=Profile one",
                "--cmdline=console=ttyS0 panic=-1 yardstick.profile=1",
                "--output",
            ])
            .arg(&p1),
    );
    let cmdline_file = work.join("cmdline");
    std::fs::write(&cmdline_file, cmdline).unwrap();
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(stub_257())
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(initrd)
            .arg(format!("--cmdline=@{}", cmdline_file.display()))
            .args([
                "--os-release=ID=yardstick-test\nVERSION_ID=1\n",
                "--profile=ID=zero\nTITLE=Default profile",
                "--join-profile",
            ])
            .arg(&p1)
            .arg("--output")
            .arg(out),
    );
    let bytes = std::fs::read(out).unwrap();
    let parsed = yardstick_pe::uki::Uki::parse(&bytes).unwrap();
    assert_eq!(parsed.profile_count(), 2, "ukify 257 made two profiles");
}

fn boot_case(c: Case<'_>) {
    let Case {
        name: case,
        stub,
        secure_boot,
        cmdline: cmdline_text,
        boot_index,
        ukify_signed_pcrs: signed_pcrs,
        stub_cpios,
        ukify_two_profiles,
    } = c;
    let show_extra = signed_pcrs || stub_cpios;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let initrd = w.join("initrd.cpio");
    let uki = w.join("uki.efi");
    if show_extra {
        // One zero byte more than the archive: an `.initrd` whose length is not a multiple of 4, so the
        // stub's padding before its own archives is part of what PCR 9 proves.
        let mut bytes = boot::busybox_initrd(&boot::GuestScript {
            extra: SHOW_EXTRA.into(),
            ..Default::default()
        });
        bytes.push(0);
        std::fs::write(&initrd, bytes).unwrap();
    } else {
        std::fs::write(&initrd, boot::busybox_initrd(&boot::GuestScript::default())).unwrap();
    }
    if signed_pcrs {
        let cmdline = cmdline_text.map(|t| {
            let f = w.join("cmdline");
            std::fs::write(&f, t).unwrap();
            f
        });
        ukify_signed_pcrs(stub, &initrd, cmdline.as_deref(), &uki, w);
    }
    if ukify_two_profiles {
        ukify_two_profile_uki(&initrd, cmdline_text.unwrap(), &uki, w);
    }
    let mut build = yardstick();
    build
        .args(["uki", "build", "--stub"])
        .arg(stub)
        .arg("--linux")
        .arg(kernel())
        .arg("--initrd")
        .arg(&initrd)
        .args([
            "--os-release",
            "ID=yardstick-test\nVERSION_ID=1\n",
            "--output",
        ])
        .arg(&uki);
    if let Some(text) = cmdline_text {
        let cmdline = w.join("cmdline");
        std::fs::write(&cmdline, text).unwrap();
        build.arg(format!("--cmdline=@{}", cmdline.display()));
    }
    if !signed_pcrs && !ukify_two_profiles {
        run_ok(&mut build);
    }
    let (boot_uki, cfg) = if secure_boot {
        let signed = w.join("uki.signed.efi");
        boot::sign_snakeoil(&uki, &signed, w);
        let cfg = boot::BootConfig::snakeoil_secure_boot(&signed);
        (signed, cfg)
    } else {
        (uki.clone(), boot::BootConfig::new(&uki))
    };
    let cfg = boot::BootConfig { boot_index, ..cfg };
    let mut predict = yardstick();
    predict
        .args(["pcr", "predict", "--json", "--uki"])
        .arg(&boot_uki);
    if secure_boot {
        predict.args(["--secure-boot-vars", boot::SNAKEOIL_VARS]);
    }
    if !boot_index {
        // q35 OVMF tries the (empty) default CD-ROM first.
        predict.args(["--boot-retries", "1"]);
    }
    let predicted_json = run_ok(&mut predict);
    let predicted: PcrBanks = {
        let mut v: serde_json::Value = serde_json::from_str(&predicted_json).unwrap();
        v.as_object_mut().unwrap().remove("pcr11_phases");
        serde_json::from_value(v).unwrap()
    };

    let out = boot::boot_uki(&cfg).unwrap_or_else(|e| panic!("{case}: boot failed: {e}"));
    let dir = artifacts(case);
    std::fs::write(dir.join("eventlog.bin"), &out.event_log).unwrap();
    std::fs::write(dir.join("serial.log"), &out.serial).unwrap();
    std::fs::write(dir.join("predicted.json"), &predicted_json).unwrap();
    std::fs::write(
        dir.join("guest-pcrs.json"),
        serde_json::to_string_pretty(&out.pcrs).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("boot-seconds"),
        format!("{:.1}\n", out.duration.as_secs_f64()),
    )
    .unwrap();
    std::fs::copy(&boot_uki, dir.join("uki.efi")).unwrap();
    eprintln!(
        "boot {case}: {:.1} s (artifacts in {})",
        out.duration.as_secs_f64(),
        dir.display()
    );
    // The log is a crypto-agile TCG log: its first event carries the "Spec ID Event03" signature.
    assert!(
        out.event_log.windows(16).any(|w| w == b"Spec ID Event03\0"),
        "{case}: event log has no Spec ID event"
    );

    let events = compare_events(case, &out.event_log, &boot_uki, secure_boot, boot_index);
    eprintln!("boot {case}: {events} predicted events equal the guest's log in 3 banks");

    let mut bad = Vec::new();
    let mut checked = 0;
    for alg in boot::GUEST_BANKS {
        for pcr in [4, 7, 9, 11, 12, 13] {
            let want = out.pcrs.get(alg, pcr).map(|d| d.to_hex());
            let got = predicted.get(alg, pcr).map(|d| d.to_hex());
            checked += 1;
            if want.is_none() || want != got {
                bad.push(format!(
                    "{alg} PCR {pcr}: guest {want:?}, predicted {got:?}"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{case}: prediction differs from the real boot:\n{}\n(artifacts in {})",
        bad.join("\n"),
        dir.display()
    );
    assert_eq!(checked, 18);
    // Sanity: the guest really ran the UKI with a TPM (PCR 4 and 11 extended), and Secure Boot state is
    // reflected in PCR 7 (differs from the no-keys value exactly when Secure Boot is on).
    let zero = Algorithm::Sha256.zero();
    assert_ne!(out.pcrs.get(Algorithm::Sha256, 11), Some(&zero));

    // `yardstick eventlog replay` of the guest's own log gives the PCRs the guest read (0-15 but IMA's 10).
    assert_replay_equals_guest(case, &dir.join("eventlog.bin"), &out.pcrs);
    if show_extra {
        assert_stub_cpios(case, &boot_uki, &out.serial, &out.pcrs);
    }
    let pcr7 = out.pcrs.get(Algorithm::Sha256, 7).unwrap().to_hex();
    assert_eq!(
        pcr7.starts_with("65caf8dd"),
        !secure_boot,
        "{case}: PCR 7 {pcr7}"
    );
}

/// A UKI whose stub generates archives (`.pcrsig` + `.pcrpkey` with 254, `.osrel` with 257): the guest found
/// each file in `/.extra` with the section's contents and mode 0444 (the stub's archives unpacked), and its
/// PCR 9 is not what `.initrd` alone would give, in any bank (so the prediction above could only match by
/// modelling the stub's archives).
fn assert_stub_cpios(case: &str, uki: &Path, serial: &str, guest: &PcrBanks) {
    use yardstick_pe::uki::{Section, Uki, stub_initrd::generated_from_uki};
    let bytes = std::fs::read(uki).unwrap();
    let parsed = Uki::parse(&bytes).unwrap();
    let generated = generated_from_uki(&parsed);
    assert!(
        !generated.is_empty(),
        "{case}: the stub generates no archive"
    );
    for (section, file) in generated.iter().map(|c| (c.section(), c.file_name())) {
        let data = parsed.payload(section).unwrap();
        let want = format!(
            "YS-EXTRA 444 {} {}  /.extra/{file}",
            data.len(),
            Algorithm::Sha256.digest(&data).to_hex()
        );
        assert!(
            serial.lines().any(|l| l.trim_end() == want),
            "{case}: guest did not show {want:?}:\n{serial}"
        );
    }
    let initrd = parsed.payload(Section::Initrd).unwrap();
    let cmdline = yardstick_tpm::predict::utf16le_nul(
        &yardstick_tpm::predict::mangle_stub_cmdline(&parsed.cmdline().unwrap()),
    );
    for alg in boot::GUEST_BANKS {
        let alone = alg.extend(
            &alg.extend(&alg.zero(), &alg.digest(&cmdline)),
            &alg.digest(&initrd),
        );
        assert_ne!(
            guest.get(alg, 9),
            Some(&alone),
            "{case}: {alg} PCR 9 equals the .initrd-alone value"
        );
    }
}

/// Runs `yardstick eventlog replay --json` on a guest's event log and requires PCRs 0-15 (except PCR 10, which
/// IMA extends from its own log) to equal the values the guest read from sysfs, in every guest bank.
fn assert_replay_equals_guest(case: &str, log: &Path, guest: &PcrBanks) {
    let json = run_ok(yardstick().args(["eventlog", "replay", "--json"]).arg(log));
    let replayed: PcrBanks = serde_json::from_str(&json).unwrap();
    let mut compared = 0;
    for alg in boot::GUEST_BANKS {
        for pcr in (0..16).filter(|&p| p != 10) {
            let want = guest
                .get(alg, pcr)
                .unwrap_or_else(|| panic!("{case}: guest did not report {alg} PCR {pcr}"));
            // A PCR no event extended is not listed by the replay: it holds its reset value, zero.
            let got = replayed
                .get(alg, pcr)
                .copied()
                .unwrap_or_else(|| alg.zero());
            assert_eq!(
                &got, want,
                "{case}: eventlog replay {alg} PCR {pcr} differs from the guest"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 15 * boot::GUEST_BANKS.len());
}

/// A file command line with a trailing newline: the stub's whitespace mangling is part of what PCR 9 proves.
const CMDLINE: &str = "console=ttyS0 panic=-1\n";

#[test]
fn boot_stub252_secure_boot_off() {
    boot_case(Case {
        name: "stub252",
        stub: Path::new(STUB_252),
        secure_boot: false,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

#[test]
fn boot_stub254_secure_boot_off() {
    boot_case(Case {
        name: "stub254",
        stub: &stub_254(),
        secure_boot: false,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

#[test]
fn boot_stub254_secure_boot_on() {
    boot_case(Case {
        name: "stub254-secureboot",
        stub: &stub_254(),
        secure_boot: true,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

#[test]
fn boot_stub252_secure_boot_on() {
    boot_case(Case {
        name: "stub252-secureboot",
        stub: Path::new(STUB_252),
        secure_boot: true,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

/// Default q35 boot order (no bootindex): the firmware's failed CD-ROM attempt adds the boot-retry events.
#[test]
fn boot_stub254_default_boot_order() {
    boot_case(Case {
        name: "stub254-boot-retry",
        stub: &stub_254(),
        secure_boot: false,
        cmdline: Some(CMDLINE),
        boot_index: false,
        ukify_signed_pcrs: false,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

/// A UKI without `.cmdline`: what the stub and the kernel measure when the command line comes from the loader.
#[test]
fn boot_stub254_without_cmdline() {
    boot_case(Case {
        name: "stub254-no-cmdline",
        stub: &stub_254(),
        secure_boot: false,
        cmdline: None,
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

/// A UKI as mkosi builds it with `SecureBoot=yes` (`SignExpectedPcr`): ukify 254 adds `.pcrsig` and
/// `.pcrpkey`, systemd-stub 254 appends them to the initrd as cpio archives, and PCR 9 measures the whole.
/// Signed with the snakeoil key and booted with Secure Boot on, as mkosi's image would be.
#[test]
fn boot_stub254_signed_expected_pcrs() {
    boot_case(Case {
        name: "stub254-pcrsig",
        stub: &stub_254(),
        secure_boot: true,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: true,
        stub_cpios: false,
        ukify_two_profiles: false,
    });
}

/// The committed captures (`tests/data/boot-uki/`, see its README) are self-consistent: replaying each
/// guest event log from zero gives the PCRs 0-15 the guest read from sysfs, in every bank, except PCR 10
/// (IMA's boot_aggregate, logged in the IMA log, not the firmware's).
#[test]
fn captured_boot_logs_replay_to_the_guest_pcrs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/boot-uki");
    let mut cases = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let log = std::fs::read(dir.join("eventlog.bin")).unwrap();
        let mut guest: PcrBanks =
            serde_json::from_str(&std::fs::read_to_string(dir.join("guest-pcrs.json")).unwrap())
                .unwrap();
        let not_ima: Vec<u32> = (0..16).filter(|&p| p != 10).collect();
        guest.retain_pcrs(&not_ima);
        let mut replay = PcrBanks::new();
        for alg in boot::GUEST_BANKS {
            for pcr in 0..16 {
                replay.set(pcr, alg.zero());
            }
        }
        for (pcr, _, digests) in boot::log_events(&log) {
            for alg in boot::GUEST_BANKS {
                let d = digests.iter().find(|d| d.0 == alg.tpm_alg_id()).unwrap();
                replay.extend(
                    pcr,
                    &yardstick_common::hash::Digest::from_bytes(alg, &d.1).unwrap(),
                );
            }
        }
        replay.retain_pcrs(&not_ima);
        assert_eq!(replay, guest, "{}", dir.display());
        assert_replay_equals_guest(
            &dir.display().to_string(),
            &dir.join("eventlog.bin"),
            &guest,
        );
        cases += 1;
    }
    assert_eq!(cases, 7);
}

/// A kernel message printed on the console in the middle of the base64 event log (seen once in CI: a line
/// of its own, or glued to the end of a base64 line) is not part of the log.
#[test]
fn serial_report_survives_interleaved_kernel_messages() {
    let pcr = format!("YS-PCR sha256 0 {}", "00".repeat(32));
    let clean = format!("{pcr}\nYS-LOG-BEGIN\nAAECAwQF\nBgcICQ==\nYS-LOG-END\n");
    let noisy = format!(
        "{pcr}\nYS-LOG-BEGIN\nAAECAwQF[    6.988948] device-mapper: verity: 254:2: data block 492 is corrupted\n\
         [    7.1] random: crng init done\r\nBgcICQ==\nYS-LOG-END\n"
    );
    let (_, want) = boot::parse_serial(&clean).unwrap();
    assert_eq!(want, (0u8..10).collect::<Vec<_>>());
    assert_eq!(boot::parse_serial(&noisy).unwrap().1, want);
}

/// systemd-stub 257 (Debian 13) with Secure Boot off, the UKI built by `yardstick uki build` (byte-identical
/// to ukify 257's, see uki_build_peer): its section table and measurement order in PCR 11, the kernel it
/// loads in PCR 4, and the initrd it hands over in PCR 9 (`.initrd` padded, then `.osrel` as
/// `/.extra/os-release`, which the guest lists).
#[test]
fn boot_stub257_secure_boot_off() {
    boot_case(Case {
        name: "stub257",
        stub: &stub_257(),
        secure_boot: false,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: true,
        ukify_two_profiles: false,
    });
}

/// A two-profile UKI made by ukify 257 (`--profile` + `--join-profile`), booted by systemd-stub 257 with no
/// load options, i.e. the default profile 0: the stub measures the base sections and profile 0's `.profile`
/// (not profile 1's `.profile` and `.cmdline`), and passes profile 0's `.profile` as `/.extra/profile`.
#[test]
fn boot_stub257_two_profiles_default() {
    boot_case(Case {
        name: "stub257-profiles",
        stub: &stub_257(),
        secure_boot: false,
        cmdline: Some(CMDLINE),
        boot_index: true,
        ukify_signed_pcrs: false,
        stub_cpios: true,
        ukify_two_profiles: true,
    });
}
