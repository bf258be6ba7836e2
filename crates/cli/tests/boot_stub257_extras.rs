//! systemd-stub 257's extras proven by real boots (QEMU TCG + Debian's OVMF + swtpm): a multi-profile UKI booted
//! with profile 1, addons beside the UKI, and credentials and extensions on the ESP. Each case installs the UKI
//! as `\EFI\Linux\uki.efi` on a FAT ESP (no `\EFI\BOOT\BOOTX64.EFI`, so only the boot entry can start it), puts
//! a UEFI boot entry `Boot0000` (a short-form file path to the UKI, with the case's load options as its
//! optional data) and `BootOrder` into a copy of `OVMF_VARS_4M.fd`, boots, and requires that
//!
//! * `yardstick pcr predict` with the case's flags equals the guest's PCRs 4, 7, 9, 11, 12, 13 in sha1, sha256
//!   and sha384;
//! * the library's predicted events equal the guest's event log entry by entry for those PCRs in every bank;
//! * the guest saw what the stub was meant to do (its `/proc/cmdline`, the files in `/.extra`), so that the
//!   prediction cannot match a boot in which the stub ignored the extras.
//!
//! The disk has no `bootindex`: QEMU then passes no boot order and OVMF keeps the entry written here first
//! (no boot retries in PCR 4).
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

#[path = "support/boot.rs"]
mod boot;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;
use yardstick_common::hash::Algorithm;
use yardstick_pe::uki::{EspFile, StubExtras};
use yardstick_tpm::PcrBanks;
use yardstick_tpm::predict::{Platform, predict};

/// Debian 12's empty VARS template (no keys, Secure Boot off).
const VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// Where the UKI lives on the test ESP.
const UKI_ON_ESP: &str = "/EFI/Linux/uki.efi";
/// Where it lives with Secure Boot on (booted from the firmware's default path, no boot entry).
const UKI_SECURE_BOOT: &str = "/EFI/BOOT/BOOTX64.EFI";
/// The UKI's command line (a trailing newline: the stub's mangling is part of what PCR 9 proves).
const CMDLINE: &str = "console=ttyS0 panic=-1\n";

/// What the guest prints besides the PCRs: its command line and every file systemd-stub put in `/.extra`
/// (mode, size, SHA-256, path), and the directories' modes.
const SHOW: &str = "echo \"YS-CMDLINE $(cat /proc/cmdline)\"
for f in /.extra/* /.extra/*/*; do
  [ -f \"$f\" ] && echo \"YS-EXTRA $(stat -c '%a %s' $f) $(sha256sum $f)\"
  [ -d \"$f\" ] && echo \"YS-DIR $(stat -c '%a' $f) $f\"
done
for f in /addon-was-here /ucode-addon-was-here /ucode-addon2-was-here /uki-ucode-was-here; do
  [ -f $f ] && echo \"YS-FOUND $f $(cat $f)\"
done";

const EFI_GLOBAL_VARIABLE: [u8; 16] = [
    0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
];

fn utf16z(s: &str) -> Vec<u8> {
    yardstick_tpm::predict::utf16le_nul(s)
}

/// A copy of `template` (an OVMF VARS file with an empty authenticated variable store) with `Boot0000` (an
/// active load option whose device path is the short-form file path `path`, optional data `options` as
/// UTF-16LE with NUL, or none when empty) and `BootOrder` = [0] appended as authenticated-format variables
/// (EDK2 `AUTHENTICATED_VARIABLE_HEADER`, `VAR_ADDED`, NV+BS+RT, 4-byte aligned).
fn vars_with_boot_entry(template: &Path, out: &Path, path: &str, options: &str) {
    let mut fd = std::fs::read(template).unwrap();
    let hlen = u16::from_le_bytes([fd[48], fd[49]]) as usize;
    let mut off = hlen + 28;
    assert!(
        fd[off..off + 2] == [0xff, 0xff],
        "{}: the variable store is not empty",
        template.display()
    );
    // EFI_LOAD_OPTION: attributes, device path length, description, device path, optional data.
    let file = utf16z(&path.replace('/', "\\"));
    let mut dp = vec![0x04, 0x04];
    dp.extend(u16::try_from(4 + file.len()).unwrap().to_le_bytes());
    dp.extend(&file);
    dp.extend([0x7f, 0xff, 0x04, 0x00]);
    let mut option = 1u32.to_le_bytes().to_vec();
    option.extend(u16::try_from(dp.len()).unwrap().to_le_bytes());
    option.extend(utf16z("yardstick test UKI"));
    option.extend(&dp);
    if !options.is_empty() {
        option.extend(utf16z(options));
    }
    for (name, data) in [("Boot0000", option), ("BootOrder", vec![0, 0])] {
        let name = utf16z(name);
        let mut v = vec![0xaa, 0x55, 0x3f, 0x00];
        v.extend(7u32.to_le_bytes()); // NV | BS | RT
        v.extend([0u8; 8 + 16 + 4]); // monotonic count, timestamp, public key index
        v.extend(u32::try_from(name.len()).unwrap().to_le_bytes());
        v.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
        v.extend(EFI_GLOBAL_VARIABLE);
        assert_eq!(v.len(), 60);
        v.extend(&name);
        v.extend(&data);
        fd[off..off + v.len()].copy_from_slice(&v);
        off += v.len().next_multiple_of(4);
    }
    // The project's own reader sees both variables (and the store stays a valid VARS file).
    let vars = yardstick_tpm::predict::ovmf_vars::parse_variable_store(&fd).unwrap();
    let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["Boot0000", "BootOrder"]);
    std::fs::write(out, fd).unwrap();
}

/// A whole-disk FAT ESP holding `files` (`(path on the ESP, file on the host)`), directories made as needed.
fn make_esp(files: &[(String, PathBuf)], esp: &Path) {
    let total: u64 = files
        .iter()
        .map(|(_, f)| std::fs::metadata(f).unwrap().len())
        .sum();
    let kib = (total / 1024) * 5 / 4 + 4096;
    run_ok(
        Command::new(peer("mkfs.vfat"))
            .arg("-C")
            .arg(esp)
            .arg(kib.to_string()),
    );
    let mut dirs: Vec<String> = Vec::new();
    for (p, _) in files {
        let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
        for i in 1..parts.len() {
            let d = parts[..i].join("/");
            if !dirs.contains(&d) {
                run_ok(
                    Command::new(peer("mmd"))
                        .arg("-i")
                        .arg(esp)
                        .arg(format!("::/{d}")),
                );
                dirs.push(d);
            }
        }
    }
    for (p, f) in files {
        run_ok(
            Command::new(peer("mcopy"))
                .arg("-i")
                .arg(esp)
                .arg(f)
                .arg(format!("::{p}")),
        );
    }
}

/// One case: the UKI, the load options of the boot entry, the files beside the UKI (`(path on the ESP,
/// host file)`), the `pcr predict` flags that describe them and the same as a library `Platform`.
struct Case<'a> {
    name: &'a str,
    /// Secure Boot on: Debian's Secure Boot firmware with the snakeoil keys, the UKI (signed) as
    /// `\EFI\BOOT\BOOTX64.EFI`, no boot entry (`load_options` must be empty).
    secure_boot: bool,
    uki: &'a Path,
    load_options: &'a str,
    esp_files: Vec<(String, PathBuf)>,
    predict_flags: Vec<String>,
    platform: Platform,
}

/// What the guest showed.
struct Seen {
    serial: String,
    pcrs: PcrBanks,
}

impl Seen {
    fn cmdline(&self) -> &str {
        self.serial
            .lines()
            .find_map(|l| l.trim_end().strip_prefix("YS-CMDLINE "))
            .unwrap_or_else(|| panic!("the guest printed no command line:\n{}", self.serial))
    }

    fn has_line(&self, want: &str) -> bool {
        self.serial.lines().any(|l| l.trim_end() == want)
    }
}

fn boot_case(c: Case<'_>) -> Seen {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let on_esp = if c.secure_boot {
        UKI_SECURE_BOOT
    } else {
        UKI_ON_ESP
    };
    let mut files = vec![(on_esp.to_string(), c.uki.to_path_buf())];
    files.extend(c.esp_files.iter().cloned());
    let esp = w.join("esp.img");
    make_esp(&files, &esp);
    let cfg = if c.secure_boot {
        assert!(c.load_options.is_empty());
        boot::BootConfig {
            disk: Some(esp.clone()),
            ..boot::BootConfig::snakeoil_secure_boot(c.uki)
        }
    } else {
        let vars = w.join("vars.fd");
        vars_with_boot_entry(Path::new(VARS), &vars, UKI_ON_ESP, c.load_options);
        boot::BootConfig {
            ovmf_vars: vars,
            boot_index: false,
            ..boot::BootConfig::disk_image(&esp)
        }
    };

    let mut predict_cmd = yardstick();
    predict_cmd
        .args(["pcr", "predict", "--json", "--uki"])
        .arg(c.uki)
        .args(&c.predict_flags);
    if c.secure_boot {
        predict_cmd.args(["--secure-boot-vars", boot::SNAKEOIL_VARS]);
    }
    let predicted_json = run_ok(&mut predict_cmd);
    let predicted: PcrBanks = {
        let mut v: serde_json::Value = serde_json::from_str(&predicted_json).unwrap();
        v.as_object_mut().unwrap().remove("pcr11_phases");
        serde_json::from_value(v).unwrap()
    };
    let out = boot::boot_uki(&cfg).unwrap_or_else(|e| panic!("{}: boot failed: {e}", c.name));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("boot-stub257-extras")
        .join(c.name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("eventlog.bin"), &out.event_log).unwrap();
    std::fs::write(dir.join("serial.log"), &out.serial).unwrap();
    std::fs::write(dir.join("predicted.json"), &predicted_json).unwrap();
    std::fs::write(
        dir.join("guest-pcrs.json"),
        serde_json::to_string_pretty(&out.pcrs).unwrap(),
    )
    .unwrap();
    eprintln!(
        "boot {}: {:.1} s (artifacts in {})",
        c.name,
        out.duration.as_secs_f64(),
        dir.display()
    );

    // Event by event, every bank.
    let mut platform = c.platform.clone();
    if c.secure_boot {
        platform.secure_boot = yardstick_tpm::predict::SecureBootVars::from_vars_fd(
            &std::fs::read(boot::SNAKEOIL_VARS).unwrap(),
        )
        .unwrap();
    }
    let p = predict(
        &std::fs::read(c.uki).unwrap(),
        &platform,
        &boot::GUEST_BANKS,
    )
    .unwrap();
    let actual = boot::log_events(&out.event_log);
    let mut n = 0;
    for pcr in [4u32, 7, 9, 11, 12, 13] {
        let want: Vec<_> = actual.iter().filter(|e| e.0 == pcr).collect();
        let got: Vec<_> = p.events.iter().filter(|e| e.pcr == pcr).collect();
        let list = || {
            format!(
                "log: {:?}\npredicted: {:?}",
                want.iter().map(|e| e.1).collect::<Vec<_>>(),
                got.iter()
                    .map(|e| (e.event_type(), e.description()))
                    .collect::<Vec<_>>()
            )
        };
        assert_eq!(
            want.len(),
            got.len(),
            "{}: PCR {pcr} event count\n{}",
            c.name,
            list()
        );
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            assert_eq!(
                w.1,
                g.event_type(),
                "{}: PCR {pcr} event {i} type\n{}",
                c.name,
                list()
            );
            for (alg, d) in boot::GUEST_BANKS.iter().zip(&g.digests) {
                let logged =
                    w.2.iter()
                        .find(|x| x.0 == alg.tpm_alg_id())
                        .map(|x| &x.1[..]);
                assert_eq!(
                    logged,
                    Some(&d[..]),
                    "{}: PCR {pcr} event {i} ({}) {alg}\n{}",
                    c.name,
                    g.description(),
                    list()
                );
            }
            n += 1;
        }
    }
    eprintln!(
        "boot {}: {n} predicted events equal the guest's log in 3 banks",
        c.name
    );

    let mut bad = Vec::new();
    for alg in boot::GUEST_BANKS {
        for pcr in [4, 7, 9, 11, 12, 13] {
            let want = out.pcrs.get(alg, pcr).map(|d| d.to_hex());
            let got = predicted.get(alg, pcr).map(|d| d.to_hex());
            if want.is_none() || want != got {
                bad.push(format!(
                    "{alg} PCR {pcr}: guest {want:?}, predicted {got:?}"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{}: prediction differs from the real boot:\n{}\n(artifacts in {})",
        c.name,
        bad.join("\n"),
        dir.display()
    );
    Seen {
        serial: out.serial,
        pcrs: out.pcrs,
    }
}

/// The busybox initrd with the reporting `/init` and [`SHOW`], one byte longer than the archive so that the
/// stub's padding after `.initrd` is part of what PCR 9 proves.
fn initrd(w: &Path) -> PathBuf {
    let mut bytes = boot::busybox_initrd(&boot::GuestScript {
        extra: SHOW.into(),
        ..Default::default()
    });
    bytes.push(0);
    let p = w.join("initrd.cpio");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A UKI for stub 257 built by `yardstick uki build` (byte-identical to ukify 257's).
fn plain_uki(w: &Path) -> PathBuf {
    let initrd = initrd(w);
    let cmdline = w.join("cmdline");
    std::fs::write(&cmdline, CMDLINE).unwrap();
    let uki = w.join("uki.efi");
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub_257())
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .arg(format!("--cmdline=@{}", cmdline.display()))
            .args([
                "--os-release",
                "ID=yardstick-test\nVERSION_ID=1\n",
                "--output",
            ])
            .arg(&uki),
    );
    uki
}

/// A newc archive holding one file `/NAME` with `yes`, plus `extra` zero bytes (so that its length is not a
/// multiple of 4 and the stub's padding is part of what PCR 9 proves).
fn marker_cpio(w: &Path, name: &str, extra: usize) -> PathBuf {
    let mut cpio = yardstick_image::cpio::CpioWriter::new(Vec::new());
    cpio.file(name, 0o644, b"yes\n").unwrap();
    let mut bytes = cpio.finish().unwrap();
    bytes.extend(std::iter::repeat_n(0, extra));
    let p = w.join(format!("{name}.cpio"));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn esp_file(path: &Path) -> EspFile {
    EspFile {
        name: path.file_name().unwrap().to_str().unwrap().to_string(),
        data: std::fs::read(path).unwrap(),
    }
}

/// A two-profile UKI made by ukify 257 (`--profile` + `--join-profile`, profile 1 with a `.cmdline` of its
/// own), booted through a boot entry whose load options are `@1`: the stub measures the profile number into
/// PCR 12, profile 1's `.profile` and `.cmdline` into PCR 11 (not the base `.cmdline`), and passes profile 1's
/// `.profile` as `/.extra/profile` and its command line to the kernel.
#[test]
fn boot_stub257_profile_1() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let initrd = initrd(w);
    let p1 = w.join("profile1.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(peer(
                "systemd-257/usr/lib/systemd/boot/efi/addonx64.efi.stub",
            ))
            .args([
                "--profile=ID=one\nTITLE=Profile one",
                "--cmdline=console=ttyS0 panic=-1 yardstick.profile=1",
                "--output",
            ])
            .arg(&p1),
    );
    let cmdline = w.join("cmdline");
    std::fs::write(&cmdline, CMDLINE).unwrap();
    let uki = w.join("uki.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(stub_257())
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .arg(format!("--cmdline=@{}", cmdline.display()))
            .args([
                "--os-release=ID=yardstick-test\nVERSION_ID=1\n",
                "--profile=ID=zero\nTITLE=Default profile",
                "--join-profile",
            ])
            .arg(&p1)
            .arg("--output")
            .arg(&uki),
    );
    let seen = boot_case(Case {
        name: "profile-1",
        secure_boot: false,
        uki: &uki,
        load_options: "@1",
        esp_files: Vec::new(),
        predict_flags: vec!["--profile".into(), "1".into()],
        platform: Platform {
            profile: 1,
            ..Platform::default()
        },
    });
    assert_eq!(seen.cmdline(), "console=ttyS0 panic=-1 yardstick.profile=1");
    let profile = b"ID=one\nTITLE=Profile one";
    let want = format!(
        "YS-EXTRA 444 {} {}  /.extra/profile",
        profile.len(),
        Algorithm::Sha256.digest(profile).to_hex()
    );
    assert!(seen.has_line(&want), "no {want:?} in\n{}", seen.serial);
    // Profile 0's prediction does not describe this boot.
    let p0 = predict(
        &std::fs::read(&uki).unwrap(),
        &Platform::default(),
        &[Algorithm::Sha256],
    )
    .unwrap();
    assert_ne!(
        p0.pcrs.get(Algorithm::Sha256, 11),
        seen.pcrs.get(Algorithm::Sha256, 11)
    );
}

/// Two addons made by ukify 257 with the addon stub: one in `/loader/addons` with a `.cmdline` and a `.ucode`,
/// one in `<uki>.extra.d` with a `.cmdline`, an `.initrd` and a `.ucode`. The firmware measures each into PCR 4
/// when the stub loads it, the stub measures the joined command lines, the `.ucode`s (last loaded first) and the
/// `.initrd` into PCR 12, appends the command lines (the kernel's, PCR 9), puts the `.ucode`s first in that
/// reverse order and the `.initrd` after its own archives (PCR 9).
#[test]
fn boot_stub257_addons() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let uki = plain_uki(w);
    let addon_stub = peer("systemd-257/usr/lib/systemd/boot/efi/addonx64.efi.stub");
    let global = w.join("global.addon.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(&addon_stub)
            .args(["--cmdline=  yardstick.global=1\n", "--microcode"])
            .arg(marker_cpio(w, "ucode-addon-was-here", 1))
            .arg("--output")
            .arg(&global),
    );
    let addon_initrd = marker_cpio(w, "addon-was-here", 2);
    let local = w.join("debug.addon.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(&addon_stub)
            .args(["--cmdline=yardstick.addon=1 quiet"])
            .arg("--initrd")
            .arg(&addon_initrd)
            .arg("--microcode")
            .arg(marker_cpio(w, "ucode-addon2-was-here", 0))
            .arg("--output")
            .arg(&local),
    );
    let seen = boot_case(Case {
        name: "addons",
        secure_boot: false,
        uki: &uki,
        load_options: "",
        esp_files: vec![
            ("/loader/addons/global.addon.efi".into(), global.clone()),
            (
                format!("{UKI_ON_ESP}.extra.d/debug.addon.efi"),
                local.clone(),
            ),
        ],
        predict_flags: vec![
            "--global-addon".into(),
            global.display().to_string(),
            "--addon".into(),
            local.display().to_string(),
        ],
        platform: Platform {
            stub_extras: StubExtras {
                global_addons: vec![esp_file(&global)],
                addons: vec![esp_file(&local)],
                ..StubExtras::default()
            },
            ..Platform::default()
        },
    });
    assert_eq!(
        seen.cmdline(),
        "console=ttyS0 panic=-1 yardstick.global=1 yardstick.addon=1 quiet"
    );
    for f in [
        "/addon-was-here",
        "/ucode-addon-was-here",
        "/ucode-addon2-was-here",
    ] {
        let want = format!("YS-FOUND {f} yes");
        assert!(seen.has_line(&want), "no {want:?} in\n{}", seen.serial);
    }
}

/// Credentials and extensions on the ESP: `<uki>.extra.d/*.cred` (two, to show the sort order and inode
/// numbering), `/loader/credentials/*.cred`, `<uki>.extra.d/*.raw` (a sysext) and `*.confext.raw`. The stub
/// packs each directory into a cpio archive (measured into PCR 12, sysexts into 13) and appends them to the
/// initrd (PCR 9); the guest finds each file with the stub's modes. The UKI, built by ukify 257, also has a
/// `.ucode` (a marker archive), which the stub puts first in the initrd, and `.pcrpkey` (measured into PCR 11)
/// and `.pcrsig` (not measured; a stand-in JSON, which the stub does not check), which it passes as
/// `/.extra/tpm2-pcr-public-key.pem` and `/.extra/tpm2-pcr-signature.json` after the drop-in archives.
#[test]
fn boot_stub257_credentials_and_extensions() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let uki = w.join("uki.efi");
    let cmdline = w.join("cmdline");
    std::fs::write(&cmdline, CMDLINE).unwrap();
    let key = w.join("pcr.key");
    let pubkey = w.join("pcr.pub.pem");
    run_ok(
        Command::new(peer("openssl"))
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
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
    let pcrsig = w.join("pcrsig.json");
    std::fs::write(&pcrsig, b"{\"sha256\":[]}\n").unwrap();
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(stub_257())
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(initrd(w))
            .arg("--microcode")
            .arg(marker_cpio(w, "uki-ucode-was-here", 3))
            // ukify 257 adds `--pcr-public-key` only with a private key, which needs systemd-measure 257.
            .arg(format!("--section=.pcrpkey:@{}", pubkey.display()))
            .arg(format!("--section=.pcrsig:@{}", pcrsig.display()))
            .arg(format!("--cmdline=@{}", cmdline.display()))
            .args(["--os-release=ID=yardstick-test\nVERSION_ID=1\n", "--output"])
            .arg(&uki),
    );
    let write = |name: &str, data: &[u8]| {
        let p = w.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let cred_b = write("zeta.cred", b"second credential, sorted last\n");
    let cred_a = write("Alpha.cred", b"first");
    let global = write("site.cred", b"global credential\n");
    let sysext = write("tools.raw", &[0x5a; 1001]);
    let confext = write("etc.confext.raw", &[0xc3; 513]);
    let extra_d = format!("{UKI_ON_ESP}.extra.d");
    let seen = boot_case(Case {
        name: "credentials",
        secure_boot: false,
        uki: &uki,
        load_options: "",
        esp_files: vec![
            (format!("{extra_d}/zeta.cred"), cred_b.clone()),
            (format!("{extra_d}/Alpha.cred"), cred_a.clone()),
            ("/loader/credentials/site.cred".into(), global.clone()),
            (format!("{extra_d}/tools.raw"), sysext.clone()),
            (format!("{extra_d}/etc.confext.raw"), confext.clone()),
        ],
        predict_flags: [
            ("--credential", &cred_b),
            ("--credential", &cred_a),
            ("--global-credential", &global),
            ("--sysext", &sysext),
            ("--confext", &confext),
        ]
        .iter()
        .flat_map(|(f, p)| [f.to_string(), p.display().to_string()])
        .collect(),
        platform: Platform {
            stub_extras: StubExtras {
                credentials: vec![esp_file(&cred_b), esp_file(&cred_a)],
                global_credentials: vec![esp_file(&global)],
                sysexts: vec![esp_file(&sysext)],
                confexts: vec![esp_file(&confext)],
                ..StubExtras::default()
            },
            ..Platform::default()
        },
    });
    for (mode, dir, path) in [
        ("400", "credentials", &cred_a),
        ("400", "credentials", &cred_b),
        ("400", "global_credentials", &global),
        ("444", "sysext", &sysext),
        ("444", "confext", &confext),
    ] {
        let data = std::fs::read(path).unwrap();
        let want = format!(
            "YS-EXTRA {mode} {} {}  /.extra/{dir}/{}",
            data.len(),
            Algorithm::Sha256.digest(&data).to_hex(),
            path.file_name().unwrap().to_str().unwrap()
        );
        assert!(seen.has_line(&want), "no {want:?} in\n{}", seen.serial);
    }
    for want in [
        "YS-DIR 500 /.extra/credentials",
        "YS-DIR 500 /.extra/global_credentials",
        "YS-DIR 555 /.extra/sysext",
    ] {
        assert!(seen.has_line(want), "no {want:?} in\n{}", seen.serial);
    }
    assert!(
        seen.pcrs.get(Algorithm::Sha256, 13) != Some(&Algorithm::Sha256.zero()),
        "PCR 13 untouched"
    );
    assert!(
        seen.has_line("YS-FOUND /uki-ucode-was-here yes"),
        "{}",
        seen.serial
    );
    for (file, data) in [
        ("tpm2-pcr-public-key.pem", std::fs::read(&pubkey).unwrap()),
        ("tpm2-pcr-signature.json", std::fs::read(&pcrsig).unwrap()),
    ] {
        let want = format!(
            "YS-EXTRA 444 {} {}  /.extra/{file}",
            data.len(),
            Algorithm::Sha256.digest(&data).to_hex()
        );
        assert!(seen.has_line(&want), "no {want:?} in\n{}", seen.serial);
    }
}

/// Secure Boot on (Debian's `OVMF_CODE_4M.secboot.fd` + snakeoil VARS) with a UKI and an addon both signed by the
/// snakeoil key: PCR 7 carries the db authority once (the addon's is the same entry), the firmware measures the
/// addon into PCR 4 when the stub loads it, and the kernel is not measured (the stub's security override).
#[test]
fn boot_stub257_secure_boot_with_addon() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let unsigned = plain_uki(w);
    let uki = w.join("uki.signed.efi");
    boot::sign_snakeoil(&unsigned, &uki, w);
    let addon_unsigned = w.join("unsigned.addon.efi");
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(peer(
                "systemd-257/usr/lib/systemd/boot/efi/addonx64.efi.stub",
            ))
            .args(["--cmdline=yardstick.sb-addon=1", "--output"])
            .arg(&addon_unsigned),
    );
    let addon = w.join("sb.addon.efi");
    boot::sign_snakeoil(&addon_unsigned, &addon, w);
    let seen = boot_case(Case {
        name: "secure-boot-addon",
        secure_boot: true,
        uki: &uki,
        load_options: "",
        esp_files: vec![(
            format!("{UKI_SECURE_BOOT}.extra.d/sb.addon.efi"),
            addon.clone(),
        )],
        predict_flags: vec!["--addon".into(), addon.display().to_string()],
        platform: Platform {
            stub_extras: StubExtras {
                addons: vec![esp_file(&addon)],
                ..StubExtras::default()
            },
            ..Platform::default()
        },
    });
    assert_eq!(
        seen.cmdline(),
        "console=ttyS0 panic=-1 yardstick.sb-addon=1"
    );
    let pcr7 = seen.pcrs.get(Algorithm::Sha256, 7).unwrap().to_hex();
    assert!(
        !pcr7.starts_with("65caf8dd"),
        "Secure Boot off? PCR 7 {pcr7}"
    );
}
