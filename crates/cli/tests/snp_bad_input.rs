//! Bad input to `yardstick snp`: every case prints one error line on stderr (naming the file where there is
//! one), exits 2, never panics, and writes no output file. The damaged firmware images are the real AmdSev
//! fixture (virtee/sev-snp-measure `tests/fixtures`) with single fields overwritten.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod snp_support;

mod support;

use std::path::{Path, PathBuf};

use support::*;

const FW: &str = "snp/ovmf_AmdSev_suffix.bin";
/// `dc886566-984a-4798-a75e-5585a7bf67cc` (SEV metadata offset entry) in EFI byte order.
const SEV_METADATA_GUID: [u8; 16] = [
    0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47, 0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc,
];

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern in fixture")
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Where the SEV metadata header starts in the fixture, read through its footer entry.
fn metadata_at(fw: &[u8]) -> usize {
    let g = find(fw, &SEV_METADATA_GUID);
    fw.len() - le32(fw, g - 6) as usize
}

struct Bad {
    dir: tempfile::TempDir,
}

impl Bad {
    fn new() -> Bad {
        Bad {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The fixture with `edit` applied, written under `name`.
    fn firmware(&self, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
        let mut fw = std::fs::read(fixture(FW)).unwrap();
        edit(&mut fw);
        let p = self.dir.path().join(name);
        std::fs::write(&p, fw).unwrap();
        p
    }

    /// Runs `yardstick snp <args>` in the temp dir and checks the one-line failure; returns stderr.
    fn fails(&self, args: &[&str], expect: &[&str]) -> String {
        let out = run(yardstick()
            .arg("snp")
            .args(args)
            .current_dir(self.dir.path()));
        let err = assert_clean_failure(&out, 2);
        assert!(err.starts_with("yardstick: error: "), "{err}");
        for e in expect {
            assert!(err.contains(e), "{args:?}: expected {e:?} in: {err}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: printed {:?}", out.stdout);
        let leftovers: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("vmsa") || n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{args:?}: left {leftovers:?}");
        err
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn damaged_firmware() {
    let b = Bad::new();
    let snp = |fw: &Path| -> Vec<String> {
        [
            "measure",
            "--mode",
            "snp",
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC",
            "--dump-vmsa",
            "--ovmf",
            p(fw),
        ]
        .map(String::from)
        .to_vec()
    };
    let check = |fw: &Path, expect: &[&str]| {
        let args = snp(fw);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = b.fails(&args, expect);
        assert!(err.contains(p(fw)), "error names the file: {err}");
        // The metadata export refuses the same images.
        b.fails(&["ovmf-metadata", "--ovmf", p(fw)], &[p(fw)]);
    };

    // Truncated: too short for a footer table.
    let tiny = b.firmware("tiny.fd", |f| f.truncate(20));
    check(&tiny, &["too small"]);
    // Truncated from the front: the footer table survives but the SEV metadata it points to does not.
    let cut = b.firmware("cut.fd", |f| {
        let at = metadata_at(f);
        f.drain(..at + 8);
    });
    check(&cut, &["SEV metadata"]);
    // Footer claims a table longer than the file.
    let long = b.firmware("footer-out.fd", |f| {
        let n = f.len();
        f[n - 50..n - 48].copy_from_slice(&0xfff0u16.to_le_bytes());
    });
    check(&long, &["footer table"]);
    // Footer entry size smaller than a header.
    let short = b.firmware("footer-short.fd", |f| {
        let n = f.len();
        f[n - 50..n - 48].copy_from_slice(&3u16.to_le_bytes());
    });
    check(&short, &["footer"]);
    // An entry whose size reaches outside the table.
    let entry = b.firmware("entry-out.fd", |f| {
        let g = find(f, &SEV_METADATA_GUID);
        f[g - 2..g].copy_from_slice(&0x7000u16.to_le_bytes());
    });
    check(&entry, &["footer table", "outside the table"]);
    // SEV metadata offset beyond the start of the file.
    let meta_out = b.firmware("meta-out.fd", |f| {
        let g = find(f, &SEV_METADATA_GUID);
        f[g - 6..g - 2].copy_from_slice(&0x00ff_0000u32.to_le_bytes());
    });
    check(&meta_out, &["SEV metadata", "outside"]);
    // Wrong signature and version.
    let sig = b.firmware("sig.fd", |f| {
        let at = metadata_at(f);
        f[at..at + 4].copy_from_slice(b"XSEV");
    });
    check(&sig, &["ASEV"]);
    let ver = b.firmware("version.fd", |f| {
        let at = metadata_at(f);
        f[at + 8..at + 12].copy_from_slice(&7u32.to_le_bytes());
    });
    check(&ver, &["version 7"]);
    // Absurd section count.
    let count = b.firmware("count.fd", |f| {
        let at = metadata_at(f);
        f[at + 12..at + 16].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    });
    check(&count, &["sections"]);
    // Overlapping sections: the second starts inside the first.
    let overlap = b.firmware("overlap.fd", |f| {
        let at = metadata_at(f) + 16;
        let first_gpa = le32(f, at);
        f[at + 12..at + 16].copy_from_slice(&(first_gpa + 0x1000).to_le_bytes());
    });
    check(&overlap, &["overlap"]);
    // Absurd sizes: past 4 GiB, not page-aligned, empty.
    for (name, size) in [
        ("huge.fd", 0xffff_f000u32),
        ("odd.fd", 0x1234),
        ("empty.fd", 0),
    ] {
        let fw = b.firmware(name, |f| {
            let at = metadata_at(f) + 16;
            f[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
        });
        check(&fw, &["section 0"]);
    }
    // Not a whole number of pages (the table is addressed from the end, so it still parses).
    let unaligned = b.firmware("unaligned.fd", |f| {
        f.splice(0..0, [0u8; 100]);
    });
    b.fails(
        &snp(&unaligned)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &["multiple of 4096"],
    );
    // An unknown section type: parsed (SEV and SEV-ES do not use sections), refused by SEV-SNP.
    let unknown = b.firmware("unknown-type.fd", |f| {
        let at = metadata_at(f) + 16;
        f[at + 8..at + 12].copy_from_slice(&0x77u32.to_le_bytes());
    });
    b.fails(
        &snp(&unknown).iter().map(String::as_str).collect::<Vec<_>>(),
        &["type 0x77"],
    );
    // Garbage: a megabyte without a footer table.
    let garbage = b.dir.path().join("garbage.fd");
    std::fs::write(&garbage, snp_support::prng_bytes(9, 1 << 20)).unwrap();
    b.fails(
        &snp(&garbage).iter().map(String::as_str).collect::<Vec<_>>(),
        &["no SEV metadata"],
    );
    b.fails(
        &[
            "measure",
            "--mode",
            "seves",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            p(&garbage),
        ],
        &["reset block"],
    );
    // A directory and a missing file.
    b.fails(
        &["measure", "--mode", "snp:ovmf-hash", "--ovmf", "/"],
        &["/"],
    );
    b.fails(
        &["ovmf-metadata", "--ovmf", "/nonexistent.fd"],
        &["/nonexistent.fd"],
    );
}

/// The wrong firmware build for the job: errors that say which build is needed.
#[test]
fn wrong_firmware_builds_teach() {
    let b = Bad::new();
    let k = b.dir.path().join("k");
    std::fs::write(&k, b"kernel").unwrap();
    let code_4m = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    let debian = "/usr/share/ovmf/OVMF.fd";
    let ovmfx64 = fixture("snp/ovmf_OvmfX64_suffix.bin");
    let e = b.fails(
        &[
            "measure",
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            code_4m,
        ],
        &[
            code_4m,
            "no SEV metadata",
            "AmdSevX64.dsc",
            "/usr/share/ovmf/OVMF.fd",
        ],
    );
    assert!(e.contains("OVMF_CODE_4M.fd"), "{e}");
    b.fails(&["ovmf-metadata", "--ovmf", code_4m], &["no SEV metadata"]);
    for fw in [debian, p(&ovmfx64)] {
        b.fails(
            &[
                "measure",
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--ovmf",
                fw,
                "--kernel",
                p(&k),
            ],
            &[fw, "SNP_KERNEL_HASHES", "AmdSevX64.dsc"],
        );
        for mode in ["sev", "seves"] {
            b.fails(
                &[
                    "measure",
                    "--mode",
                    mode,
                    "--vcpus",
                    "1",
                    "--vcpu-type",
                    "EPYC",
                    "--ovmf",
                    fw,
                    "--kernel",
                    p(&k),
                ],
                &[fw, "hashes table", "AmdSevX64.dsc"],
            );
        }
    }
    // The help explains the host-kernel dependency of --guest-features.
    let h = run_ok(yardstick().args(["snp", "measure", "--help"]));
    assert!(
        h.contains("6.6") && h.contains("0x21") && h.contains("6.10"),
        "{h}"
    );
}

#[test]
fn bad_parameters() {
    let b = Bad::new();
    let fw = fixture(FW);
    let fw = p(&fw);
    let k = b.dir.path().join("k");
    std::fs::write(&k, b"kernel").unwrap();
    let base = ["measure", "--ovmf", fw];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            with(&["--mode", "snp", "--vcpus", "0", "--vcpu-type", "EPYC"]),
            vec!["at least 1"],
        ),
        (
            with(&["--mode", "seves", "--vcpus", "0", "--vcpu-type", "EPYC"]),
            vec!["at least 1"],
        ),
        (
            with(&["--mode", "snp", "--vcpus", "-1", "--vcpu-type", "EPYC"]),
            vec!["negative"],
        ),
        (
            with(&["--mode", "snp", "--vcpus", "two", "--vcpu-type", "EPYC"]),
            vec!["--vcpus"],
        ),
        (
            with(&["--mode", "snp", "--vcpu-type", "EPYC"]),
            vec!["missing --vcpus"],
        ),
        (
            with(&["--mode", "snp-es", "--vcpus", "1"]),
            vec!["yardstick: error: --mode: unknown mode", "snp:svsm"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC-Naples",
            ]),
            vec![
                "yardstick: error: --vcpu-type: unknown vCPU type \"EPYC-Naples\"",
                "EPYC-Turin",
                "EPYC-Milan-v2",
            ],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--vmm-type",
                "xen",
            ]),
            vec![
                "yardstick: error: --vmm-type: unknown VMM type \"xen\"",
                "QEMU, ec2, gce",
            ],
        ),
        (
            with(&["--mode", "snp", "--vcpus", "1"]),
            vec!["missing --vcpu-type"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--guest-features",
                "0xzz",
            ]),
            vec!["--guest-features"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--guest-features",
                "0x10000000000000000",
            ]),
            vec!["64 bits"],
        ),
        (
            with(&["--mode", "snp", "--vcpus", "1", "--vcpu-sig", "-5"]),
            vec!["negative"],
        ),
        (
            with(&["--mode", "snp", "--vcpus", "1", "--vcpu-family", "25"]),
            vec!["--vcpu-model"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--output-format",
                "b32",
            ]),
            vec!["hex, base64"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--initrd",
                "x",
            ]),
            vec!["--kernel"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--append",
                "x",
            ]),
            vec!["--kernel"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--kernel",
                "/nonexistent-kernel",
            ]),
            vec!["/nonexistent-kernel", "kernel"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--kernel",
                p(&k),
                "--initrd",
                "/nonexistent-initrd",
            ]),
            vec!["/nonexistent-initrd", "initrd"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--kernel-hash",
                "abcd",
            ]),
            vec!["--kernel-hash"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--kernel",
                p(&k),
                "--initrd-hash",
                "zz",
            ]),
            vec!["--initrd-hash"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--snp-ovmf-hash",
                "00",
            ]),
            vec!["--snp-ovmf-hash"],
        ),
        (
            with(&[
                "--mode",
                "seves",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--snp-ovmf-hash",
                &"0".repeat(96),
            ]),
            vec!["only works in mode snp"],
        ),
        (with(&["--mode", "sev", "--dump-vmsa"]), vec!["--dump-vmsa"]),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--vars-size",
                "4096",
            ]),
            vec!["snp:svsm"],
        ),
        (
            with(&[
                "--mode",
                "snp",
                "--vcpus",
                "1",
                "--vcpu-type",
                "EPYC",
                "--svsm",
                "x",
            ]),
            vec!["--svsm"],
        ),
    ];
    for (args, expect) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        b.fails(&args, expect);
    }

    // SVSM combinations.
    let svsm = fixture("snp/svsm.bin");
    let svsm_ovmf = fixture("snp/svsm_ovmf.fd");
    let sv = |extra: &[&str]| -> Vec<String> {
        [
            "measure",
            "--mode",
            "snp:svsm",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            p(&svsm_ovmf),
            "--svsm",
            p(&svsm),
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    for (args, expect) in [
        (sv(&[]), vec!["--vars-size"]),
        (sv(&["--vars-size", "0"]), vec!["--vars-size"]),
        (
            sv(&["--vars-size", "4294967296"]),
            vec![p(&svsm), "does not fit"],
        ),
        (
            sv(&["--vars-size", "540672", "--vmm-type", "ec2"]),
            vec!["QEMU"],
        ),
        (
            sv(&["--vars-size", "540672", "--kernel", p(&k)]),
            vec!["--kernel"],
        ),
        (
            sv(&["--vars-file", "/nonexistent-vars"]),
            vec!["/nonexistent-vars"],
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        b.fails(&args, &expect);
    }
    // An OVMF image given as the SVSM.
    b.fails(
        &[
            "measure",
            "--mode",
            "snp:svsm",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            p(&svsm_ovmf),
            "--svsm",
            fw,
            "--vars-size",
            "540672",
        ],
        &[fw, "SVSM info"],
    );
}

#[test]
fn bad_metadata_json() {
    let b = Bad::new();
    let write = |name: &str, text: &str| -> PathBuf {
        let p = b.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let hash = "0".repeat(96);
    let m = |path: &Path| -> Vec<String> {
        [
            "measure",
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--snp-ovmf-hash",
            &hash,
            "--ovmf-metadata",
            p(path),
        ]
        .map(String::from)
        .to_vec()
    };
    let run_m = |path: &Path, expect: &[&str]| {
        let args = m(path);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        b.fails(&args, expect);
    };
    run_m(&write("garbage.json", "{not json"), &["garbage.json"]);
    run_m(
        &write("fields.json", r#"{"sections":[]}"#),
        &["fields.json"],
    );
    run_m(
        &write(
            "overlap.json",
            r#"{"sections":[{"gpa":0,"size":8192,"section_type":1},{"gpa":4096,"size":4096,"section_type":2}],"sev_es_reset_eip":1,"sev_hashes_table_gpa":null}"#,
        ),
        &["overlap.json", "overlap"],
    );
    run_m(
        &write(
            "empty.json",
            r#"{"sections":[],"sev_es_reset_eip":1,"sev_hashes_table_gpa":null}"#,
        ),
        &["empty.json", "no SEV metadata"],
    );
    run_m(Path::new("/nonexistent.json"), &["/nonexistent.json"]);
    // --ovmf-metadata without a hash, or in another mode.
    let good = write(
        "good.json",
        r#"{"sections":[{"gpa":8388608,"size":4096,"section_type":2}],"sev_es_reset_eip":8433668,"sev_hashes_table_gpa":null}"#,
    );
    b.fails(
        &[
            "measure",
            "--mode",
            "snp",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf-metadata",
            p(&good),
        ],
        &["--snp-ovmf-hash"],
    );
    b.fails(
        &[
            "measure",
            "--mode",
            "seves",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf-metadata",
            p(&good),
            "--snp-ovmf-hash",
            &hash,
        ],
        &["mode snp"],
    );
}

#[test]
fn bad_id_block_inputs() {
    let b = Bad::new();
    let id = fixture("snp/keyfile/id_key_test.pem");
    let author = fixture("snp/keyfile/author_key_test.pem");
    let ld = "ab".repeat(48);
    let p256 = b.dir.path().join("p256.pem");
    // A valid EC key on the wrong curve (P-256), made by openssl.
    let out = run_ok(
        std::process::Command::new(peer("openssl"))
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&p256),
    );
    assert!(out.is_empty());
    let garbage = b.dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    )
    .unwrap();
    for (args, expect) in [
        (
            vec![
                "--measurement",
                "abc",
                "--idkey",
                p(&id),
                "--authorkey",
                p(&author),
            ],
            vec!["--measurement"],
        ),
        (
            vec![
                "--measurement",
                "AAAA",
                "--idkey",
                p(&id),
                "--authorkey",
                p(&author),
            ],
            vec!["3 bytes"],
        ),
        (
            vec![
                "--measurement",
                &ld,
                "--idkey",
                p(&p256),
                "--authorkey",
                p(&author),
            ],
            vec![p(&p256), "P-384"],
        ),
        (
            vec![
                "--measurement",
                &ld,
                "--idkey",
                p(&id),
                "--authorkey",
                p(&garbage),
            ],
            vec![p(&garbage), "P-384"],
        ),
        (
            vec![
                "--measurement",
                &ld,
                "--idkey",
                "/nonexistent.pem",
                "--authorkey",
                p(&author),
            ],
            vec!["/nonexistent.pem"],
        ),
        (
            vec![
                "--measurement",
                &ld,
                "--idkey",
                p(&id),
                "--authorkey",
                p(&author),
                "--family-id",
                "00",
            ],
            vec!["--family-id"],
        ),
        (
            vec![
                "--measurement",
                &ld,
                "--idkey",
                p(&id),
                "--authorkey",
                p(&author),
                "--guest-svn",
                "0x100000000",
            ],
            vec!["--guest-svn"],
        ),
    ] {
        let args: Vec<&str> = ["id-block"].into_iter().chain(args).collect();
        b.fails(&args, &expect);
    }
}
