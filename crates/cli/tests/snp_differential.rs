//! Differential tests: `yardstick snp measure` against sev-snp-measure 0.0.13 (the real tool from PyPI, run
//! through its own command-line entry point) over a grid of modes × vCPU counts × vCPU types × VMM types ×
//! guest features × kernel/initrd/cmdline variants, on the firmware fixtures from virtee/sev-snp-measure's
//! tests (`tests/fixtures/snp/`), Debian's OVMF builds and a synthesized 4 MiB AmdSev-style firmware.
//! Every combination asserts equal stdout, and for modes with VMSAs byte-identical `--dump-vmsa` files.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod snp_support;

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use snp_support::*;

/// One combination: the arguments for each tool (identical except where yardstick takes an alias upstream's
/// argparse does not) and whether VMSAs are dumped.
struct Case {
    ys: Vec<String>,
    up: Vec<String>,
    dump: bool,
}

struct Inputs {
    _dir: tempfile::TempDir,
    root: PathBuf,
    amdsev: PathBuf,
    amdsev_4m: PathBuf,
    ovmfx64: PathBuf,
    debian_ovmf: PathBuf,
    debian_code_4m: PathBuf,
    svsm_ovmf: PathBuf,
    svsm: PathBuf,
    kernel: PathBuf,
    initrd: PathBuf,
    empty: PathBuf,
    real_kernel: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let kernel = root.join("vmlinuz");
    // Sizes deliberately not multiples of 4 KiB or of the hash block size.
    std::fs::write(&kernel, prng_bytes(1, 300_001)).unwrap();
    let initrd = root.join("initrd.img");
    std::fs::write(&initrd, prng_bytes(2, 777_777)).unwrap();
    let empty = root.join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    Inputs {
        amdsev: support::fixture("snp/ovmf_AmdSev_suffix.bin"),
        amdsev_4m: big_amdsev_firmware(&root),
        ovmfx64: support::fixture("snp/ovmf_OvmfX64_suffix.bin"),
        debian_ovmf: PathBuf::from("/usr/share/ovmf/OVMF.fd"),
        debian_code_4m: PathBuf::from("/usr/share/OVMF/OVMF_CODE_4M.fd"),
        svsm_ovmf: support::fixture("snp/svsm_ovmf.fd"),
        svsm: support::fixture("snp/svsm.bin"),
        real_kernel: support::kernel(),
        kernel,
        initrd,
        empty,
        root,
        _dir: dir,
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Ways to name the vCPU: every type upstream knows, explicit signatures in both bases, and
/// family/model/stepping triples (including values whose nibbles are masked).
fn vcpu_specs() -> Vec<Vec<String>> {
    let mut v: Vec<Vec<String>> = [
        "EPYC",
        "EPYC-v1",
        "EPYC-v2",
        "EPYC-IBPB",
        "EPYC-v3",
        "EPYC-v4",
        "EPYC-Rome",
        "EPYC-Rome-v1",
        "EPYC-Rome-v2",
        "EPYC-Rome-v3",
        "EPYC-Milan",
        "EPYC-Milan-v1",
        "EPYC-Milan-v2",
        "EPYC-Genoa",
        "EPYC-Genoa-v1",
        "EPYC-Turin",
    ]
    .iter()
    .map(|t| vec!["--vcpu-type".to_string(), t.to_string()])
    .collect();
    for sig in ["0xa00f11", "10489617", "0x800f12"] {
        v.push(vec!["--vcpu-sig".into(), sig.into()]);
    }
    for (f, m, st) in [
        ("25", "1", "1"),
        ("26", "17", "3"),
        ("15", "300", "20"),
        ("23", "49", "0"),
    ] {
        v.push(vec![
            "--vcpu-family".into(),
            f.into(),
            "--vcpu-model".into(),
            m.into(),
            "--vcpu-stepping".into(),
            st.into(),
        ]);
    }
    v
}

/// Kernel/initrd/cmdline variants. The first is "no direct boot".
fn boot_variants(i: &Inputs) -> Vec<Vec<String>> {
    let k = s(&i.kernel);
    let r = s(&i.initrd);
    let a = |x: &str| vec!["--append".to_string(), x.to_string()];
    let mut v = vec![
        vec![],
        vec!["--kernel".into(), k.clone()],
        vec!["--kernel".into(), k.clone(), "--initrd".into(), r.clone()],
        [
            vec!["--kernel".into(), k.clone(), "--initrd".into(), r.clone()],
            a("console=ttyS0 root=/dev/vda1 ro"),
        ]
        .concat(),
        // Empty cmdline: hashed as a lone NUL, same as none.
        [vec!["--kernel".into(), k.clone()], a("")].concat(),
        // Non-ASCII cmdline: hashed as its UTF-8 bytes.
        [
            vec!["--kernel".into(), k.clone(), "--initrd".into(), r.clone()],
            a("console=ttyS0 ünïcødé=🦀 \"quoted words\""),
        ]
        .concat(),
        // No initrd, cmdline only.
        [vec!["--kernel".into(), k.clone()], a("quiet  two  spaces ")].concat(),
        // An empty initrd file hashes like no initrd.
        [
            vec!["--kernel".into(), k.clone(), "--initrd".into(), s(&i.empty)],
            a("-"),
        ]
        .concat(),
    ];
    v.push(
        [
            vec![
                "--kernel".into(),
                s(&i.real_kernel),
                "--initrd".into(),
                r.clone(),
            ],
            a("console=ttyS0 earlyprintk=serial"),
        ]
        .concat(),
    );
    v
}

/// A case with the same arguments for both tools. VMSAs are dumped and compared when `dump` is set and the
/// guest has at most 3 vCPUs (every further AP VMSA is identical to the second; the 64-vCPU cases below dump
/// once explicitly). This keeps the file count, and the test time on a slow disk, down.
fn same(args: Vec<String>, dump: bool) -> Case {
    let vcpus = args
        .iter()
        .position(|a| a == "--vcpus")
        .and_then(|p| args.get(p + 1))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    Case {
        ys: args.clone(),
        up: args,
        dump: dump && vcpus <= 3,
    }
}

fn build_grid(i: &Inputs) -> Vec<Case> {
    let specs = vcpu_specs();
    let boots = boot_variants(i);
    let mut rot = 0usize;
    let mut next_spec = |vmm: &str| -> Vec<String> {
        rot += 1;
        // EC2 and GCE need no signature: exercise that too.
        if vmm != "QEMU" && rot.is_multiple_of(5) {
            return vec![];
        }
        specs[rot % specs.len()].clone()
    };
    let mut cases = Vec::new();
    let vmms = ["QEMU", "ec2", "gce"];
    let features = ["0x1", "0x21", "0x0", "0x3f", "33"];
    let vcpu_counts = ["1", "2", "3", "8"];

    // SEV-SNP on the AmdSev build: the full product of VMM × features × boot variant × vCPU count.
    for vmm in vmms {
        for gf in features {
            for (bi, boot) in boots.iter().enumerate() {
                for n in vcpu_counts {
                    // The real Debian kernel costs 8 MiB of hashing per side: only a few combinations.
                    if bi == boots.len() - 1 && (n != "2" || gf != "0x1") {
                        continue;
                    }
                    let mut a: Vec<String> = ["--mode", "snp", "--vcpus", n, "--vmm-type", vmm]
                        .map(String::from)
                        .to_vec();
                    a.extend(next_spec(vmm));
                    a.extend(["--guest-features".into(), gf.into()]);
                    a.extend(["--ovmf".into(), s(&i.amdsev)]);
                    a.extend(boot.iter().cloned());
                    if cases.len() % 7 == 0 {
                        a.extend(["--output-format".into(), "base64".into()]);
                    }
                    cases.push(same(a, true));
                }
            }
        }
    }
    // SEV-SNP on firmware without a hashes section (OvmfPkgX64, Debian OVMF.fd, the SVSM's OVMF) and the
    // 4 MiB AmdSev-style image, without direct boot.
    for fw in [&i.ovmfx64, &i.debian_ovmf, &i.svsm_ovmf, &i.amdsev_4m] {
        for vmm in vmms {
            for gf in ["0x1", "0x21"] {
                for n in ["1", "2", "5"] {
                    let mut a: Vec<String> = ["--mode", "snp", "--vcpus", n, "--vmm-type", vmm]
                        .map(String::from)
                        .to_vec();
                    a.extend(next_spec(vmm));
                    a.extend(["--guest-features".into(), gf.into(), "--ovmf".into(), s(fw)]);
                    cases.push(same(a, true));
                }
            }
        }
    }
    // The 4 MiB firmware with direct boot.
    for vmm in vmms {
        for boot in boots.iter().skip(1).take(3) {
            let mut a: Vec<String> = ["--mode", "snp", "--vcpus", "4", "--vmm-type", vmm]
                .map(String::from)
                .to_vec();
            a.extend(next_spec(vmm));
            a.extend(["--ovmf".into(), s(&i.amdsev_4m)]);
            a.extend(boot.iter().cloned());
            cases.push(same(a, true));
        }
    }
    // SEV-ES and SEV: every firmware, with direct boot on the one that supports it.
    let all_fw = [
        &i.amdsev,
        &i.amdsev_4m,
        &i.ovmfx64,
        &i.debian_ovmf,
        &i.debian_code_4m,
        &i.svsm_ovmf,
    ];
    for fw in all_fw {
        let fw_boots: Vec<&Vec<String>> = if *fw == i.amdsev || *fw == i.amdsev_4m {
            boots.iter().take(boots.len() - 1).collect()
        } else {
            boots.iter().take(1).collect()
        };
        for boot in &fw_boots {
            for vmm in vmms {
                for n in ["1", "2", "6"] {
                    let mut a: Vec<String> = ["--mode", "seves", "--vcpus", n, "--vmm-type", vmm]
                        .map(String::from)
                        .to_vec();
                    a.extend(next_spec(vmm));
                    a.extend(["--ovmf".into(), s(fw)]);
                    a.extend(boot.iter().cloned());
                    cases.push(same(a, true));
                }
            }
            let mut a: Vec<String> = vec!["--mode".into(), "sev".into(), "--ovmf".into(), s(fw)];
            a.extend(boot.iter().cloned());
            cases.push(same(a.clone(), false));
            // SEV ignores vCPU parameters.
            a.extend([
                "--vcpus".into(),
                "4".into(),
                "--vcpu-type".into(),
                "EPYC".into(),
            ]);
            cases.push(same(a, false));
        }
        // The SNP OVMF hash (always printed in hex, whatever --output-format says).
        cases.push(same(
            vec![
                "--mode".into(),
                "snp:ovmf-hash".into(),
                "--ovmf".into(),
                s(fw),
            ],
            false,
        ));
        cases.push(same(
            vec![
                "--mode".into(),
                "snp:ovmf-hash".into(),
                "--ovmf".into(),
                s(fw),
                "--output-format".into(),
                "base64".into(),
            ],
            false,
        ));
    }
    // SEV-SNP with a Coconut SVSM.
    for n in ["1", "2", "3", "8", "64"] {
        for vars in [
            vec!["--vars-size".to_string(), "540672".to_string()],
            vec![
                "--vars-file".to_string(),
                "/usr/share/OVMF/OVMF_VARS_4M.fd".to_string(),
            ],
            vec!["--vars-size".to_string(), "131072".to_string()],
        ] {
            let mut a: Vec<String> = ["--mode", "snp:svsm", "--vcpus", n]
                .map(String::from)
                .to_vec();
            a.extend(next_spec("QEMU"));
            a.extend([
                "--ovmf".into(),
                s(&i.svsm_ovmf),
                "--svsm".into(),
                s(&i.svsm),
            ]);
            a.extend(vars);
            cases.push(same(a, true));
        }
    }
    // Many vCPUs, verbose output, base64.
    for (mode, extra, dump) in [
        ("snp", vec!["-v"], true),
        (
            "seves",
            vec!["--verbose", "--output-format", "base64"],
            false,
        ),
        ("snp", vec!["--output-format", "base64"], false),
    ] {
        let mut a: Vec<String> = ["--mode", mode, "--vcpus", "64", "--vcpu-type", "EPYC-Genoa"]
            .map(String::from)
            .to_vec();
        a.extend(["--ovmf".into(), s(&i.amdsev)]);
        a.extend(extra.iter().map(|x| x.to_string()));
        let mut c = same(a, false);
        c.dump = dump;
        cases.push(c);
    }
    // Mode aliases (sev-snp-measure's SevMode.from_str spellings; its argparse only takes the canonical ones).
    for (alias, canon) in [
        ("SEV", "sev"),
        ("sev-es", "seves"),
        ("SEV-ES", "seves"),
        ("SEVES", "seves"),
        ("sev-snp", "snp"),
        ("SNP", "snp"),
        ("SEV-SNP", "snp"),
        ("SEV-SNP:SVSM", "snp:svsm"),
    ] {
        let tail: Vec<String> = if canon == "snp:svsm" {
            vec!["--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--svsm"]
                .into_iter()
                .map(String::from)
                .chain([
                    s(&i.svsm),
                    "--vars-size".into(),
                    "540672".into(),
                    "--ovmf".into(),
                    s(&i.svsm_ovmf),
                ])
                .collect()
        } else {
            vec!["--vcpus", "2", "--vcpu-type", "EPYC-Milan"]
                .into_iter()
                .map(String::from)
                .chain(["--ovmf".into(), s(&i.amdsev)])
                .collect()
        };
        cases.push(Case {
            ys: [vec!["--mode".into(), alias.into()], tail.clone()].concat(),
            up: [vec!["--mode".into(), canon.into()], tail].concat(),
            dump: false,
        });
    }
    // Combinations both tools must refuse: direct boot on firmware that cannot measure it.
    for fw in [&i.ovmfx64, &i.debian_ovmf] {
        for mode in ["snp", "seves", "sev"] {
            let a: Vec<String> = [
                "--mode",
                mode,
                "--vcpus",
                "2",
                "--vcpu-type",
                "EPYC",
                "--ovmf",
            ]
            .map(String::from)
            .into_iter()
            .chain([s(fw), "--kernel".into(), s(&i.kernel)])
            .collect();
            cases.push(same(a, false));
        }
    }
    cases
}

#[test]
fn measure_grid_matches_sev_snp_measure() {
    let i = inputs();
    let cases = build_grid(&i);
    // Cases that dump VMSAs get a directory per tool; the others write nothing and share one.
    let shared = i.root.join("nodump");
    std::fs::create_dir_all(&shared).unwrap();
    let dirs: Vec<(PathBuf, PathBuf)> = cases
        .iter()
        .enumerate()
        .map(|(n, c)| {
            if !c.dump {
                return (shared.clone(), shared.clone());
            }
            let (u, y) = (i.root.join(format!("up{n}")), i.root.join(format!("ys{n}")));
            std::fs::create_dir_all(&u).unwrap();
            std::fs::create_dir_all(&y).unwrap();
            (u, y)
        })
        .collect();
    let oracle_cases: Vec<Value> = cases
        .iter()
        .zip(&dirs)
        .map(|(c, (u, _))| {
            let mut argv = c.up.clone();
            if c.dump {
                argv.push("--dump-vmsa".into());
            }
            json!({"argv": argv, "cwd": s(u)})
        })
        .collect();

    // The oracle (one Python process) and yardstick (a pool of processes) run at the same time.
    let (upstream, ours) = std::thread::scope(|sc| {
        let up = sc.spawn(|| oracle(&oracle_cases));
        let idx: Vec<usize> = (0..cases.len()).collect();
        let ours = par_map(&idx, 2, |&n| {
            let c = &cases[n];
            let mut args = vec!["snp".to_string(), "measure".to_string()];
            args.extend(c.ys.iter().cloned());
            if c.dump {
                args.push("--dump-vmsa".into());
            }
            yardstick_in(&dirs[n].1, &args)
        });
        (up.join().unwrap(), ours)
    });

    let mut failures = Vec::new();
    let (mut digests, mut refused, mut vmsa_files_compared) = (0usize, 0usize, 0usize);
    for (n, c) in cases.iter().enumerate() {
        let up = &upstream[n];
        let ys = &ours[n];
        let up_rc = up["rc"].as_i64().unwrap();
        let up_out = up["stdout"].as_str().unwrap();
        let ys_out = String::from_utf8_lossy(&ys.stdout);
        let ys_err = String::from_utf8_lossy(&ys.stderr);
        let what = format!(
            "case {n}: yardstick {:?} / sev-snp-measure {:?}",
            c.ys, c.up
        );
        if up_rc != 0 {
            if ys.status.success() || ys_err.contains("panicked") || ys_err.lines().count() != 1 {
                failures.push(format!(
                    "{what}: sev-snp-measure refused ({}) but yardstick gave {:?} / {ys_err}",
                    up["stderr"], ys_out
                ));
            } else {
                refused += 1;
            }
            continue;
        }
        if !ys.status.success() {
            failures.push(format!("{what}: yardstick failed: {ys_err}"));
            continue;
        }
        if ys_out != up_out {
            failures.push(format!(
                "{what}:\n  yardstick:       {ys_out:?}\n  sev-snp-measure: {up_out:?}"
            ));
            continue;
        }
        digests += 1;
        if c.dump {
            let a = vmsa_files(&dirs[n].0);
            let b = vmsa_files(&dirs[n].1);
            let names = |v: &[(String, Vec<u8>)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            if names(&a) != names(&b) {
                failures.push(format!(
                    "{what}: VMSA files differ: {:?} vs {:?}",
                    names(&b),
                    names(&a)
                ));
            } else if let Some((name, _)) = a.iter().zip(&b).find(|(x, y)| x.1 != y.1).map(|x| x.0)
            {
                failures.push(format!("{what}: {name} differs"));
            } else {
                vmsa_files_compared += a.len();
            }
        }
    }
    println!(
        "compared {} combinations with sev-snp-measure 0.0.13: {digests} digests equal, {refused} refused by both, \
         {vmsa_files_compared} --dump-vmsa files byte-identical",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} combinations differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Guard against a grid that silently shrank.
    assert!(digests > 600, "only {digests} digests compared");
    assert!(
        vmsa_files_compared > 700,
        "only {vmsa_files_compared} VMSA files compared"
    );
}

/// `yardstick snp ovmf-metadata` reports what sev-snp-measure's OVMF parser sees, for every fixture firmware.
#[test]
fn ovmf_metadata_matches_sev_snp_measure_parser() {
    let i = inputs();
    let fws = [
        &i.amdsev,
        &i.amdsev_4m,
        &i.ovmfx64,
        &i.debian_ovmf,
        &i.svsm_ovmf,
        &i.svsm,
    ];
    let cases: Vec<Value> = fws.iter().map(|p| json!({"metadata": s(p)})).collect();
    let upstream = oracle(&cases);
    for (fw, up) in fws.iter().zip(&upstream) {
        let out = support::run_ok(
            support::yardstick()
                .args(["snp", "ovmf-metadata", "--ovmf"])
                .arg(fw),
        );
        let ours: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(&ours, up, "{}", fw.display());
    }
}

/// A relying party with only hashes: `ovmf-metadata` JSON + the SNP OVMF hash (both from the firmware, the hash
/// computed by sev-snp-measure) + `sha256sum` of kernel and initrd give the digest sev-snp-measure computes from
/// the files.
#[test]
fn hashes_only_equal_files() {
    let i = inputs();
    let sha256sum = |p: &Path| -> String {
        let out = support::run_ok(std::process::Command::new(support::peer("sha256sum")).arg(p));
        out.split_whitespace().next().unwrap().to_string()
    };
    let (kh, ih) = (sha256sum(&i.kernel), sha256sum(&i.initrd));
    let mut compared = 0;
    for fw in [&i.amdsev, &i.amdsev_4m] {
        let ovmf_hash = support::run_ok(
            std::process::Command::new(sev_snp_measure())
                .args(["--mode", "snp:ovmf-hash", "--ovmf"])
                .arg(fw),
        )
        .trim()
        .to_string();
        let meta = i.root.join("meta.json");
        let json = support::run_ok(
            support::yardstick()
                .args(["snp", "ovmf-metadata", "--ovmf"])
                .arg(fw),
        );
        std::fs::write(&meta, json).unwrap();
        for (vmm, n, gf, append) in [
            ("QEMU", "1", "0x1", "console=ttyS0"),
            ("QEMU", "4", "0x21", ""),
            ("ec2", "2", "0x1", "ro quiet"),
            ("gce", "3", "0x1", "ünïcødé"),
        ] {
            let common = [
                "--mode",
                "snp",
                "--vcpus",
                n,
                "--vcpu-type",
                "EPYC-Milan",
                "--vmm-type",
                vmm,
                "--guest-features",
                gf,
                "--append",
                append,
            ];
            let expected = support::run_ok(
                std::process::Command::new(sev_snp_measure())
                    .args(common)
                    .arg("--ovmf")
                    .arg(fw)
                    .arg("--kernel")
                    .arg(&i.kernel)
                    .arg("--initrd")
                    .arg(&i.initrd),
            );
            let from_hashes = support::run_ok(
                support::yardstick()
                    .args(["snp", "measure"])
                    .args(common)
                    .arg("--ovmf-metadata")
                    .arg(&meta)
                    .args([
                        "--snp-ovmf-hash",
                        &ovmf_hash,
                        "--kernel-hash",
                        &kh,
                        "--initrd-hash",
                        &ih,
                    ]),
            );
            assert_eq!(from_hashes, expected, "{} {vmm} {n}", fw.display());
            // --ovmf with --snp-ovmf-hash (upstream's own shortcut) and a file/hash mix agree too.
            let mixed = support::run_ok(
                support::yardstick()
                    .args(["snp", "measure"])
                    .args(common)
                    .arg("--ovmf")
                    .arg(fw)
                    .args(["--snp-ovmf-hash", &ovmf_hash, "--kernel"])
                    .arg(&i.kernel)
                    .args(["--initrd-hash", &ih]),
            );
            assert_eq!(mixed, expected, "{} {vmm} {n} (mixed)", fw.display());
            compared += 2;
        }
    }
    println!("{compared} hash-only measurements equal sev-snp-measure's from files");
}

/// `--json` reports the inputs: hashes equal `sha256sum`'s, the SNP OVMF hash equals sev-snp-measure's
/// `snp:ovmf-hash`, and the measurement equals the plain output.
#[test]
fn json_reports_inputs() {
    let i = inputs();
    let args = |extra: &[&str]| {
        let mut c = support::yardstick();
        c.args([
            "snp",
            "measure",
            "--mode",
            "snp",
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC-Turin",
            "--ovmf",
        ])
        .arg(&i.amdsev)
        .arg("--kernel")
        .arg(&i.kernel)
        .args(["--append", "a b"])
        .args(extra);
        c
    };
    let plain = support::run_ok(&mut args(&[]));
    let j: Value = serde_json::from_str(&support::run_ok(&mut args(&["--json"]))).unwrap();
    assert_eq!(j["measurement"], plain.trim());
    assert_eq!(j["mode"], "snp");
    assert_eq!(j["vcpus"], 2);
    assert_eq!(j["vcpu_sig"], 0xb00f00);
    assert_eq!(j["vmm_type"], "QEMU");
    assert_eq!(j["guest_features"], 1);
    assert_eq!(j["cmdline"], "a b");
    assert_eq!(
        j["initrd_hash"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let ksum =
        support::run_ok(std::process::Command::new(support::peer("sha256sum")).arg(&i.kernel));
    assert_eq!(j["kernel_hash"], ksum.split_whitespace().next().unwrap());
    let ovmf_hash = support::run_ok(
        std::process::Command::new(sev_snp_measure())
            .args(["--mode", "snp:ovmf-hash", "--ovmf"])
            .arg(&i.amdsev),
    );
    assert_eq!(j["ovmf_hash"], ovmf_hash.trim());
}
