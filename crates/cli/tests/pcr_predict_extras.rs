//! `pcr predict`'s ESP-extra flags (`--addon`, `--global-addon`, `--credential`, `--global-credential`,
//! `--sysext`, `--confext`): what they change in the prediction, and their error paths (exit 2, one line).
//! That the predicted values are right is proven by the boots of `boot_stub257_extras`.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)]

mod image_guest;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// A busybox-free UKI for stub `stub` (the initrd is a few bytes: nothing boots it).
fn uki(stub: &Path, w: &Path) -> PathBuf {
    let initrd = w.join("initrd");
    std::fs::write(&initrd, b"not a real initrd").unwrap();
    let out = w.join(format!(
        "uki-{}.efi",
        stub.to_string_lossy().contains("257")
    ));
    run_ok(
        yardstick()
            .args(["uki", "build", "--stub"])
            .arg(stub)
            .arg("--linux")
            .arg(kernel())
            .arg("--initrd")
            .arg(&initrd)
            .args(["--cmdline", "console=ttyS0", "--output"])
            .arg(&out),
    );
    out
}

fn addon(w: &Path, name: &str, cmdline: &str) -> PathBuf {
    let out = w.join(name);
    run_ok(
        ukify_257()
            .args(["build", "--stub"])
            .arg(peer(
                "systemd-257/usr/lib/systemd/boot/efi/addonx64.efi.stub",
            ))
            .arg(format!("--cmdline={cmdline}"))
            .arg("--output")
            .arg(&out),
    );
    out
}

fn predict_json(uki: &Path, flags: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = run_ok(
        yardstick()
            .args(["pcr", "predict", "--json", "--bank", "sha256", "--uki"])
            .arg(uki)
            .args(flags),
    );
    serde_json::from_str(&out).unwrap()
}

/// Each flag changes the PCRs the stub's measurements land in, and `--events` names the new events.
#[test]
fn extras_change_the_predicted_pcrs() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let uki = uki(&stub_257(), w);
    let cred = w.join("a.cred");
    std::fs::write(&cred, b"secret").unwrap();
    let sysext = w.join("s.raw");
    std::fs::write(&sysext, b"ext").unwrap();
    let add = addon(w, "x.addon.efi", "quiet");
    let base = predict_json(&uki, &[]);
    let zero = "0".repeat(64);
    assert_eq!(base["sha256"]["12"], zero.as_str());
    assert_eq!(base["sha256"]["13"], zero.as_str());

    let c = predict_json(&uki, &["--credential".as_ref(), cred.as_os_str()]);
    assert_ne!(c["sha256"]["12"], zero.as_str());
    assert_ne!(c["sha256"]["9"], base["sha256"]["9"]);
    assert_eq!(c["sha256"]["13"], zero.as_str());
    assert_eq!(c["sha256"]["4"], base["sha256"]["4"]);
    let g = predict_json(&uki, &["--global-credential".as_ref(), cred.as_os_str()]);
    assert_ne!(g["sha256"]["12"], c["sha256"]["12"], "another directory");

    let s = predict_json(&uki, &["--sysext".as_ref(), sysext.as_os_str()]);
    assert_ne!(s["sha256"]["13"], zero.as_str());
    assert_eq!(s["sha256"]["12"], zero.as_str());

    let a = predict_json(&uki, &["--addon".as_ref(), add.as_os_str()]);
    for pcr in ["4", "9", "12"] {
        assert_ne!(a["sha256"][pcr], base["sha256"][pcr], "PCR {pcr}");
    }
    assert_eq!(a["sha256"]["11"], base["sha256"]["11"]);

    let events = run_ok(
        yardstick()
            .args(["pcr", "predict", "--events", "--uki"])
            .arg(&uki)
            .arg("--addon")
            .arg(&add)
            .arg("--credential")
            .arg(&cred)
            .arg("--sysext")
            .arg(&sysext),
    );
    for want in [
        "Authenticode of an addon",
        "addons' command line",
        "Credentials initrd",
        "System extension initrd",
        "Linux initrd (with ESP extras",
    ] {
        assert!(events.contains(want), "no {want:?} in\n{events}");
    }
}

/// Wrong names, unreadable or non-PE files, other stub generations and Secure Boot with addons: exit 2, one
/// line naming the problem.
#[test]
fn extras_error_paths() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let uki257 = uki(&stub_257(), w);
    let uki254 = uki(&stub_254(), w);
    let txt = w.join("a.txt");
    std::fs::write(&txt, b"x").unwrap();
    let cred = w.join("a.cred");
    std::fs::write(&cred, b"x").unwrap();
    let not_pe = w.join("junk.addon.efi");
    std::fs::write(&not_pe, b"MZ but not a PE").unwrap();
    let add = addon(w, "x.addon.efi", "quiet");
    let renamed = w.join("x.efi");
    std::fs::copy(&add, &renamed).unwrap();
    let missing = w.join("missing.cred");
    // A UKI signed with the snakeoil key (in the snakeoil VARS' db), beside an unsigned addon.
    let key = w.join("snakeoil.key");
    run_ok(
        Command::new(peer("openssl"))
            .args([
                "pkey",
                "-passin",
                "pass:snakeoil",
                "-in",
                "/usr/share/ovmf/PkKek-1-snakeoil.key",
                "-out",
            ])
            .arg(&key),
    );
    let signed = w.join("uki.signed.efi");
    run_ok(
        Command::new(peer("sbsign"))
            .arg("--key")
            .arg(&key)
            .args(["--cert", "/usr/share/ovmf/PkKek-1-snakeoil.pem", "--output"])
            .arg(&signed)
            .arg(&uki257),
    );
    // The addon signed by the same key, its certificate table then overwritten.
    let signed_add = w.join("s.addon.efi");
    run_ok(
        Command::new(peer("sbsign"))
            .arg("--key")
            .arg(&key)
            .args(["--cert", "/usr/share/ovmf/PkKek-1-snakeoil.pem", "--output"])
            .arg(&signed_add)
            .arg(&add),
    );
    let mut bad_sig = std::fs::read(&signed_add).unwrap();
    let n = bad_sig.len();
    bad_sig[n - 300..].fill(0x5a);
    let bad_sig_add = w.join("badsig.addon.efi");
    std::fs::write(&bad_sig_add, &bad_sig).unwrap();
    let vars: &std::ffi::OsStr = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd".as_ref();
    let cases: Vec<(&Path, Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            &signed,
            vec![
                "--addon".as_ref(),
                add.as_os_str(),
                "--secure-boot-vars".as_ref(),
                vars,
            ],
            "addon x.addon.efi: Secure Boot is on but no db entry verifies it (not signed)",
        ),
        (
            &signed,
            vec![
                "--addon".as_ref(),
                bad_sig_add.as_os_str(),
                "--secure-boot-vars".as_ref(),
                vars,
            ],
            "addon badsig.addon.efi: ",
        ),
        (
            &uki257,
            vec!["--credential".as_ref(), txt.as_os_str()],
            "a.txt",
        ),
        (
            &uki257,
            vec!["--sysext".as_ref(), cred.as_os_str()],
            "does not pick up",
        ),
        (
            &uki257,
            vec![
                "--credential".as_ref(),
                cred.as_os_str(),
                "--credential".as_ref(),
                cred.as_os_str(),
            ],
            "twice",
        ),
        (
            &uki257,
            vec!["--credential".as_ref(), missing.as_os_str()],
            "missing.cred",
        ),
        (
            &uki257,
            vec!["--addon".as_ref(), not_pe.as_os_str()],
            "junk.addon.efi",
        ),
        (
            &uki257,
            vec!["--addon".as_ref(), renamed.as_os_str()],
            "x.efi",
        ),
        (
            &uki254,
            vec!["--credential".as_ref(), cred.as_os_str()],
            "not modelled",
        ),
        (
            &signed,
            vec![
                "--addon".as_ref(),
                add.as_os_str(),
                "--secure-boot-vars".as_ref(),
                "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd".as_ref(),
            ],
            "addon x.addon.efi: Secure Boot is on but no db entry verifies it",
        ),
    ];
    for (uki, flags, want) in cases {
        let o = run(yardstick()
            .args(["pcr", "predict", "--uki"])
            .arg(uki)
            .args(&flags));
        let err = assert_clean_failure(&o, 2);
        assert!(err.contains(want), "{flags:?}: {err}");
    }
}

/// `refvals create --disk` on a disk whose ESP holds a systemd-stub 257 UKI with extras beside it (written with
/// mtools, long names): its `tpm` section equals `refvals create --uki` given the same files as flags, and
/// differs from the one `image build` wrote for the bare ESP. What the stub skips is left out: a hidden
/// credential, `/loader/extensions` (not read by 257), a sysext in `/loader/credentials`.
#[test]
fn refvals_from_a_disk_picks_up_the_extras() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let ex = image_guest::example();
    let disk = w.join("disk.img");
    run_ok(
        yardstick()
            .args(["image", "build"])
            .arg(ex.join("rootfs"))
            .arg("--kernel")
            .arg(kernel())
            .arg("--initrd")
            .arg(ex.join("initrd.cpio"))
            .args([
                "--cmdline",
                "console=ttyS0 quiet panic=-1",
                "--layout",
                "uki",
            ])
            .arg("--stub")
            .arg(stub_257())
            .arg("--output")
            .arg(&disk)
            .env("YARDSTICK_TOOLS", tools()),
    );
    let built = image_guest::manifest(&disk);
    let (esp_off, _) = image_guest::partition(&built, 1);
    let img = format!("{}@@{esp_off}", disk.display());
    let mt = |args: &[&str]| {
        run_ok(
            Command::new(peer(args[0]))
                .args(&args[1..])
                .env("MTOOLS_SKIP_CHECK", "1"),
        );
    };
    let file = |name: &str, data: &[u8]| {
        let p = w.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let cred = file("Pass Word.cred", b"s3cret\n");
    let hidden = file(".hidden.cred", b"skipped");
    let global = file("site.cred", b"global\n");
    let sysext = file("tools.raw", &[7; 333]);
    let add = addon(w, "debug.addon.efi", "debug");
    let uki = w.join("BOOTX64.EFI");
    mt(&[
        "mcopy",
        "-i",
        &img,
        "::EFI/BOOT/BOOTX64.EFI",
        uki.to_str().unwrap(),
    ]);
    mt(&[
        "mmd",
        "-i",
        &img,
        "::EFI/BOOT/BOOTX64.EFI.extra.d",
        "::loader",
        "::loader/credentials",
        "::loader/extensions",
    ]);
    let d = "::EFI/BOOT/BOOTX64.EFI.extra.d";
    for (from, to) in [
        (&cred, format!("{d}/Pass Word.cred")),
        (&hidden, format!("{d}/.hidden.cred")),
        (&sysext, format!("{d}/tools.raw")),
        (&add, format!("{d}/debug.addon.efi")),
        (&global, "::loader/credentials/site.cred".into()),
        (&sysext, "::loader/credentials/ignored.sysext.raw".into()),
        (&sysext, "::loader/extensions/ignored.sysext.raw".into()),
    ] {
        mt(&["mcopy", "-i", &img, from.to_str().unwrap(), &to]);
    }
    let from_disk = w.join("disk.manifest.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(&disk)
            .arg("--output")
            .arg(&from_disk),
    );
    let from_flags = w.join("flags.manifest.json");
    run_ok(
        yardstick()
            .args(["refvals", "create", "--uki"])
            .arg(&uki)
            .arg("--credential")
            .arg(&cred)
            .arg("--global-credential")
            .arg(&global)
            .arg("--sysext")
            .arg(&sysext)
            .arg("--addon")
            .arg(&add)
            .arg("--output")
            .arg(&from_flags),
    );
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (d, f) = (read(&from_disk), read(&from_flags));
    for key in ["pcrs", "pcr11_phases", "events"] {
        assert!(d["tpm"][key] == f["tpm"][key], "tpm.{key} differs");
    }
    let assumptions = d["tpm"]["assumptions"].to_string();
    assert!(
        assumptions.contains("Credentials initrd (PCR 12)"),
        "{assumptions}"
    );
    assert_ne!(d["tpm"]["pcrs"], built["tpm"]["pcrs"]);
    let (_, j, _) = {
        let o = run(yardstick().args(["image", "inspect", "--json"]).arg(&disk));
        (
            o.status.code(),
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
            (),
        )
    };
    assert!(
        j["notes"].to_string().contains("part of the prediction"),
        "{j:#}"
    );
}

/// `refvals create --disk` reads the extras from the disk's ESP: an ESP-extra flag beside it is refused, naming
/// the flag, rather than replacing what the disk holds (the disk is not even opened).
#[test]
fn refvals_disk_refuses_extra_flags() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let cred = w.join("a.cred");
    std::fs::write(&cred, b"x").unwrap();
    for flag in ["--credential", "--sysext", "--addon"] {
        let o = run(yardstick()
            .args(["refvals", "create", "--disk"])
            .arg(w.join("no-such-disk.img"))
            .arg(flag)
            .arg(&cred));
        let err = assert_clean_failure(&o, 2);
        assert!(
            err.contains(&format!("{flag}: not with --disk")),
            "{flag}: {err}"
        );
    }
}
