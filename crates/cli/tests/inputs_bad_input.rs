//! Inputs that are not plain, reasonably sized files, fed to every command that reads an input file:
//! - an endless stream (`/dev/zero`) exits 2 quickly with one line naming the file and the size limit of its
//!   format, under a bounded address space: never read without end, never cut short and accepted;
//! - a directory exits 2 with one line naming it;
//! - a FIFO (what `<(cat file)` gives) is read once and gives exactly what the regular file gives: the same
//!   output, the same UKI, the same image and manifest;
//!
//! and inputs that are valid but unusual: a signed kernel cut short (refused by `uki build`, as `pcr predict`
//! would refuse the UKI), a tiny root filesystem, 255-byte file names, an OVMF_VARS file without a size.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Test helpers unwrap freely: a failure is a test failure with its backtrace.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::*;

/// Stands for the input under test in a command line (also `@IN`, for `--cmdline @FILE`).
const IN: &str = "IN";

/// Address space a command may use, in KiB: the largest limit (a UKI, 1 GiB) plus the program and room for
/// a reallocation; an unbounded read of `/dev/zero` fails with "out of memory" instead.
const ULIMIT_V_KIB: u64 = 3 << 20;

/// Seconds after which a command reading an endless stream counts as reading without end.
const TIMEOUT_S: u64 = 60;

/// A valid input of every kind under a plain name in one directory; relative names in command lines are
/// in it.
struct Inputs {
    dir: tempfile::TempDir,
}

impl Inputs {
    fn new() -> Inputs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
        std::fs::create_dir(d.join("rootfs")).unwrap();
        write("rootfs/hello", b"hello\n");
        write("initrd", b"070701 not really a cpio archive\n");
        write("os-release", b"ID=test\n");
        write("cmdline", b"console=ttyS0");
        write(
            "sbat",
            b"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n",
        );
        write("roothash", "00".repeat(32).as_bytes());
        std::fs::create_dir(d.join("a-directory")).unwrap();
        for (from, to) in [
            (kernel(), "vmlinuz"),
            (stub_254(), "stub.efi"),
            (fixture("eventlogs/go-tpm-tools/debian-10.bin"), "boot.log"),
            (fixture("snp/ovmf_AmdSev_suffix.bin"), "ovmf.bin"),
            (fixture("snp/svsm.bin"), "svsm.bin"),
            (fixture("snp/svsm_ovmf.fd"), "svsm_ovmf.fd"),
            (fixture("snp/keyfile/id_key_test.pem"), "id.pem"),
            (fixture("snp/keyfile/author_key_test.pem"), "author.pem"),
            (fixture("snp-reports/report_milan.hex"), "report.hex"),
            (fixture("snp-reports/vcek_milan.der"), "vcek.der"),
            (fixture("amd-kds/milan/ask.pem"), "ask.pem"),
            (fixture("amd-kds/milan/ark.pem"), "ark.pem"),
            (fixture("azure-vtpm/snp/evidence-v1.json"), "evidence.json"),
            (PathBuf::from("/usr/share/OVMF/OVMF_VARS_4M.fd"), "vars.fd"),
            (PathBuf::from("/usr/share/ovmf/OVMF.fd"), "tdvf.fd"),
        ] {
            std::fs::copy(from, d.join(to)).unwrap();
        }
        let y = |line: &str| run_ok(yardstick().current_dir(d).args(line.split_whitespace()));
        y(
            "uki build --stub stub.efi --linux vmlinuz --initrd initrd --cmdline console=ttyS0 --output uki.efi",
        );
        y("refvals create --uki uki.efi --output uki.manifest.json");
        write("pcrs.json", y("eventlog replay boot.log --json").as_bytes());
        write(
            "ovmf.json",
            y("snp ovmf-metadata --ovmf ovmf.bin").as_bytes(),
        );
        // verity: a signing key and certificate, a signature of the root hash.
        let openssl = |line: &str| {
            run_ok(
                Command::new(peer("openssl"))
                    .current_dir(d)
                    .args(line.split_whitespace()),
            )
        };
        openssl(
            "req -x509 -nodes -days 3650 -subj /CN=inputs -newkey rsa:2048 -keyout sign.key -out sign.crt",
        );
        y(
            "verity sign --key sign.key --cert sign.crt --root-hash-file roothash --out roothash.p7s",
        );
        // verify tpm: a quote message made by hand (TPMS_ATTEST of a quote of sha256 PCR 0), a raw signature
        // and an EC public key. They do not verify; they parse, so that every file is read.
        let mut quote = Vec::new();
        quote.extend_from_slice(&0xff54_4347u32.to_be_bytes());
        quote.extend_from_slice(&0x8018u16.to_be_bytes());
        quote.extend_from_slice(&[0; 4]); // qualifiedSigner, extraData: empty
        quote.extend_from_slice(&[0; 17]); // clockInfo (safe = 0)
        quote.extend_from_slice(&[0; 8]); // firmwareVersion
        quote.extend_from_slice(&[0, 0, 0, 1, 0, 0x0b, 3, 1, 0, 0]); // sha256 PCR 0
        quote.extend_from_slice(&[0, 32]);
        quote.extend_from_slice(&[0; 32]);
        write("quote.msg", &quote);
        write("quote.sig", &[0x55; 64]);
        openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ak.key");
        openssl("pkey -in ak.key -pubout -out ak.pem");
        std::fs::create_dir(d.join("out")).unwrap();
        Inputs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Every command line that reads an input file whole, with `IN` for that file and valid inputs for the
/// others, in groups (one test each).
fn cases(group: &str) -> Vec<String> {
    let zeros = "00".repeat(48);
    let measure = "snp measure --mode snp --vcpus 1 --vcpu-type EPYC";
    let svsm = "snp measure --mode snp:svsm --vcpus 1 --vcpu-type EPYC";
    let uki = "uki build --output out/x.efi";
    let verify_snp = "verify snp --time 2026-06-01T00:00:00Z";
    let sign = "verity sign --out out/x.p7s";
    let tpm = "verify tpm";
    let image = "image build rootfs --output out/disk.img";
    let lines: Vec<String> = match group {
        "eventlog" => vec![
            "eventlog show IN".into(),
            "eventlog replay IN".into(),
            "pcr compare IN pcrs.json".into(),
            "pcr compare boot.log IN".into(),
            "pcr predict --uki IN".into(),
            "pcr predict --uki uki.efi --secure-boot-vars IN".into(),
            "refvals show IN".into(),
            "refvals export IN --format rvps".into(),
            "refvals create --uki IN".into(),
            "refvals create --uki uki.efi --secure-boot-vars IN".into(),
        ],
        "uki" => vec![
            "uki inspect IN".into(),
            format!("{uki} --stub IN --linux vmlinuz"),
            format!("{uki} --stub stub.efi --linux IN"),
            format!("{uki} --stub stub.efi --linux vmlinuz --initrd IN"),
            format!("{uki} --stub stub.efi --linux vmlinuz --splash IN"),
            format!("{uki} --stub stub.efi --linux vmlinuz --dtb IN"),
            format!("{uki} --stub stub.efi --linux vmlinuz --cmdline @IN"),
            format!("{uki} --stub stub.efi --linux vmlinuz --os-release @IN"),
            format!("{uki} --stub stub.efi --linux vmlinuz --sbat @IN"),
        ],
        "snp" => vec![
            format!("{measure} --ovmf IN"),
            format!("{measure} --ovmf ovmf.bin --kernel IN"),
            format!("{measure} --ovmf ovmf.bin --kernel vmlinuz --initrd IN"),
            format!("{measure} --ovmf-metadata IN --snp-ovmf-hash {zeros}"),
            "snp measure --mode snp:ovmf-hash --ovmf IN".into(),
            "snp ovmf-metadata --ovmf IN".into(),
            format!("{svsm} --ovmf IN --svsm svsm.bin --vars-size 540672"),
            format!("{svsm} --ovmf svsm_ovmf.fd --svsm IN --vars-size 540672"),
            format!("{svsm} --ovmf svsm_ovmf.fd --svsm svsm.bin --vars-file IN"),
            format!("snp id-block --measurement {zeros} --idkey IN --authorkey author.pem"),
            format!("snp id-block --measurement {zeros} --idkey id.pem --authorkey IN"),
        ],
        "tdx" => {
            let tdx = "tdx measure --memory 2048 --vcpus 1";
            vec![
                format!("{tdx} --firmware IN"),
                format!("{tdx} --firmware tdvf.fd --kernel IN --append quiet"),
                format!("{tdx} --firmware tdvf.fd --kernel vmlinuz --initrd IN --append quiet"),
                format!("{tdx} --firmware tdvf.fd --kernel vmlinuz --initrd IN --qemu-version 9.2"),
            ]
        }
        "verity" => vec![
            format!("{sign} --key IN --cert sign.crt --root-hash-file roothash"),
            format!("{sign} --key sign.key --cert IN --root-hash-file roothash"),
            format!("{sign} --key sign.key --cert sign.crt --root-hash-file IN"),
            "verity check-signature IN --cert sign.crt --root-hash-file roothash".into(),
            "verity check-signature roothash.p7s --cert IN --root-hash-file roothash".into(),
            "verity check-signature roothash.p7s --cert sign.crt --root-hash-file IN".into(),
        ],
        "verify" => vec![
            format!("{verify_snp} --report IN --vcek vcek.der --ask ask.pem --ark ark.pem"),
            format!("{verify_snp} --report report.hex --vcek IN --ask ask.pem --ark ark.pem"),
            format!("{verify_snp} --report report.hex --vcek vcek.der --ask IN --ark ark.pem"),
            format!("{verify_snp} --report report.hex --vcek vcek.der --ask ask.pem --ark IN"),
            format!(
                "{verify_snp} --report report.hex --vcek vcek.der --ask ask.pem --ark ark.pem --refvals IN"
            ),
            format!("{tpm} --quote IN --signature quote.sig --ak ak.pem --pcrs pcrs.json"),
            format!("{tpm} --quote quote.msg --signature IN --ak ak.pem --pcrs pcrs.json"),
            format!("{tpm} --quote quote.msg --signature quote.sig --ak IN --pcrs pcrs.json"),
            format!("{tpm} --quote quote.msg --signature quote.sig --ak ak.pem --pcrs IN"),
            format!(
                "{tpm} --quote quote.msg --signature quote.sig --ak ak.pem --pcrs pcrs.json --eventlog IN"
            ),
            format!(
                "{tpm} --quote quote.msg --signature quote.sig --ak ak.pem --pcrs pcrs.json --refvals IN"
            ),
            format!(
                "{tpm} --quote quote.msg --signature quote.sig --ak ak.pem --pcrs pcrs.json --expected-pcrs IN"
            ),
            "verify azure --evidence IN".into(),
            "verify azure --evidence evidence.json --refvals IN".into(),
            "verify azure --evidence evidence.json --expected-pcrs IN".into(),
        ],
        "image" => vec![
            format!("{image} --layout kata --kernel IN"),
            format!("{image} --layout kata --kernel vmlinuz --initrd IN"),
            format!("{image} --layout kata --kernel vmlinuz --ovmf IN --vcpus 1 --vcpu-type EPYC"),
            format!("{image} --layout uki --kernel vmlinuz --stub IN"),
            format!("{image} --layout uki --kernel IN --stub stub.efi"),
            format!("{image} --layout uki --kernel vmlinuz --stub stub.efi --initrd IN"),
            format!("{image} --layout uki --kernel vmlinuz --stub stub.efi --os-release IN"),
        ],
        g => panic!("no group {g}"),
    };
    assert!(lines.iter().all(|l| l.contains(IN)));
    lines
}

/// The arguments of a command line, with `input` for the input under test.
fn args(line: &str, input: &Path) -> Vec<String> {
    let input = input.to_str().unwrap();
    line.split_whitespace()
        .map(|a| match a.strip_prefix('@') {
            Some(IN) => format!("@{input}"),
            _ if a == IN => input.to_string(),
            _ => a.to_string(),
        })
        .collect()
}

/// Runs `yardstick ARGS` in `dir` under the address-space limit and the timeout.
fn run_bounded(dir: &Path, args: &[String]) -> (Output, Duration) {
    let started = Instant::now();
    let o = run(Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(format!(
            "ulimit -v {ULIMIT_V_KIB} && exec timeout {TIMEOUT_S} \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_yardstick"))
        .args(args)
        .env("YARDSTICK_TOOLS", tools()));
    (o, started.elapsed())
}

/// Feeds `/dev/zero` as each input of the group: exit 2 with one line naming it and the limit.
fn endless_streams(group: &str) {
    let i = Inputs::new();
    for line in cases(group) {
        let args = args(&line, Path::new("/dev/zero"));
        let (o, took) = run_bounded(i.path(), &args);
        let err = assert_clean_failure(&o, 2);
        assert!(
            err.contains("/dev/zero") && err.contains("too large") && err.contains("(limit "),
            "{args:?}: {err}"
        );
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
    }
}

#[test]
fn endless_streams_eventlog_pcr_refvals() {
    endless_streams("eventlog");
}

#[test]
fn endless_streams_uki() {
    endless_streams("uki");
}

#[test]
fn endless_streams_snp() {
    endless_streams("snp");
}

#[test]
fn endless_streams_tdx() {
    endless_streams("tdx");
}

#[test]
fn endless_streams_verity() {
    endless_streams("verity");
}

#[test]
fn endless_streams_verify() {
    endless_streams("verify");
}

#[test]
fn endless_streams_image() {
    endless_streams("image");
}

/// A directory given for any input file: exit 2 with one line naming it.
#[test]
fn directories_are_refused() {
    let i = Inputs::new();
    let dir = i.path().join("a-directory");
    for group in ["eventlog", "uki", "snp", "tdx", "verity", "verify", "image"] {
        for line in cases(group) {
            let args = args(&line, &dir);
            let (o, _) = run_bounded(i.path(), &args);
            let err = assert_clean_failure(&o, 2);
            assert!(
                err.contains(dir.to_str().unwrap()) && err.contains("directory"),
                "{args:?}: {err}"
            );
        }
    }
}

/// Runs a command line twice: in the [`Inputs`] directory, and in a directory where the inputs named in
/// `fifos` are FIFOs fed from those files (each can be read once; the other inputs are copies). Exit status,
/// stdout (not for `image build`, which prints its timings), stderr and the files named in `outputs` must be
/// the same.
fn same_through_fifos(i: &Inputs, line: &str, fifos: &str, outputs: &str) {
    let d = i.path();
    let f = tempfile::tempdir().unwrap();
    let fifos: Vec<&str> = fifos.split_whitespace().collect();
    for e in std::fs::read_dir(d).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if e.file_type().unwrap().is_file() && !fifos.iter().any(|n| name == **n) {
            std::fs::copy(e.path(), f.path().join(&name)).unwrap();
        }
    }
    std::fs::create_dir(f.path().join("rootfs")).unwrap();
    std::fs::copy(d.join("rootfs/hello"), f.path().join("rootfs/hello")).unwrap();
    let mut writers = Vec::new();
    for name in &fifos {
        let fifo = f.path().join(name);
        run_ok(Command::new("mkfifo").arg(&fifo));
        writers.push(
            Command::new("sh")
                .arg("-c")
                .arg("exec cat \"$0\" > \"$1\"")
                .arg(d.join(name))
                .arg(&fifo)
                .spawn()
                .unwrap(),
        );
    }
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let (through_fifos, _) = run_bounded(f.path(), &args);
    for mut w in writers {
        // A writer whose FIFO was never opened still waits: end it.
        let _ = w.kill();
        w.wait().unwrap();
    }
    let (from_files, _) = run_bounded(d, &args);
    // Certificate validity lines name the moment of the check ("checked at <now>"), which differs between the
    // two runs when they straddle a second.
    let without_now = |s: String| {
        s.lines()
            .map(|l| match l.find("checked at ") {
                Some(i) => &l[..i + "checked at ".len()],
                None => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let shown = |o: &Output| {
        let out = if args[0] == "image" {
            String::new()
        } else {
            without_now(stdout(o))
        };
        (
            o.status.code(),
            out,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(
        shown(&through_fifos),
        shown(&from_files),
        "{line}: FIFOs {fifos:?} (left) and files (right) differ"
    );
    for out in outputs.split_whitespace() {
        let a = std::fs::read(f.path().join(out)).unwrap();
        let b = std::fs::read(d.join(out)).unwrap();
        assert!(
            a == b,
            "{line}: {out} differs between FIFOs {fifos:?} and files"
        );
        std::fs::remove_file(d.join(out)).unwrap();
    }
}

#[test]
fn fifos_read_like_files_eventlog_pcr_uki_refvals() {
    let i = Inputs::new();
    let f = |line: &str, fifos: &str, outputs: &str| same_through_fifos(&i, line, fifos, outputs);
    f("eventlog show boot.log", "boot.log", "");
    f("eventlog replay boot.log", "boot.log", "");
    f("pcr compare boot.log pcrs.json", "boot.log pcrs.json", "");
    f("uki inspect uki.efi", "uki.efi", "");
    f(
        "pcr predict --uki uki.efi --secure-boot-vars vars.fd",
        "uki.efi vars.fd",
        "",
    );
    f("refvals show uki.manifest.json", "uki.manifest.json", "");
    f(
        "refvals export uki.manifest.json --format rvps",
        "uki.manifest.json",
        "",
    );
    f(
        "uki build --stub stub.efi --linux vmlinuz --initrd initrd --os-release @os-release \
         --cmdline @cmdline --sbat @sbat --output out.efi",
        "stub.efi vmlinuz initrd os-release cmdline sbat",
        "out.efi",
    );
}

#[test]
fn fifos_read_like_files_snp_verity_verify() {
    let i = Inputs::new();
    let f = |line: &str, fifos: &str| same_through_fifos(&i, line, fifos, "");
    let measure = "snp measure --mode snp --vcpus 1 --vcpu-type EPYC";
    let zeros = "00".repeat(48);
    f(
        &format!("{measure} --ovmf ovmf.bin --kernel vmlinuz --initrd initrd"),
        "ovmf.bin vmlinuz initrd",
    );
    f("snp ovmf-metadata --ovmf ovmf.bin", "ovmf.bin");
    f(
        "snp measure --mode snp:ovmf-hash --ovmf ovmf.bin",
        "ovmf.bin",
    );
    f(
        &format!("{measure} --ovmf-metadata ovmf.json --snp-ovmf-hash {zeros}"),
        "ovmf.json",
    );
    f(
        "snp measure --mode snp:svsm --vcpus 1 --vcpu-type EPYC --ovmf svsm_ovmf.fd --svsm svsm.bin \
         --vars-file vars.fd",
        "svsm_ovmf.fd svsm.bin vars.fd",
    );
    f(
        &format!("snp id-block --measurement {zeros} --idkey id.pem --authorkey author.pem"),
        "id.pem author.pem",
    );
    f(
        "verity check-signature roothash.p7s --cert sign.crt --root-hash-file roothash",
        "roothash.p7s sign.crt roothash",
    );
    f(
        "verify snp --time 2026-06-01T00:00:00Z --report report.hex --vcek vcek.der --ask ask.pem \
         --ark ark.pem",
        "report.hex vcek.der ask.pem ark.pem",
    );
    f(
        "verify tpm --quote quote.msg --signature quote.sig --ak ak.pem --pcrs pcrs.json --eventlog boot.log",
        "quote.msg quote.sig ak.pem pcrs.json boot.log",
    );
    f(
        "verify azure --evidence evidence.json --nonce 6368616c6c656e6765",
        "evidence.json",
    );
}

/// `image build` reads each input once: a kernel, initrd, firmware, stub and os-release from FIFOs
/// (`<(cat vmlinuz)`) give the image and manifest (kernel size, SEV-SNP launch digest, UKI) the files give.
#[test]
fn fifos_read_like_files_image_build() {
    let i = Inputs::new();
    same_through_fifos(
        &i,
        "image build rootfs --layout kata --kernel vmlinuz --initrd initrd --ovmf ovmf.bin --vcpus 1 \
         --vcpu-type EPYC --output disk.img",
        "vmlinuz initrd ovmf.bin",
        "disk.img disk.img.manifest.json",
    );
    same_through_fifos(
        &i,
        "image build rootfs --layout uki --stub stub.efi --kernel vmlinuz --initrd initrd \
         --os-release os-release --output disk.img",
        "stub.efi vmlinuz initrd os-release",
        "disk.img disk.img.manifest.json",
    );
}

/// A root filesystem from a pipe cannot be extracted (a tar archive is opened to be recognized and again to
/// be extracted): refused with one line, not taken for something else.
#[test]
fn rootfs_from_a_pipe_is_refused() {
    let i = Inputs::new();
    let fifo = i.path().join("rootfs.tar");
    run_ok(Command::new("mkfifo").arg(&fifo));
    let o = run(yardstick().current_dir(i.path()).args([
        "image",
        "build",
        "rootfs.tar",
        "--layout",
        "kata",
        "--output",
        "out/disk.img",
    ]));
    let err = assert_clean_failure(&o, 2);
    assert!(
        err.contains("rootfs.tar: not a directory or a regular file"),
        "{err}"
    );
}

/// `--vars-file` gives a size: a file that has none (empty, or unreadable like `/proc/self/mem`) is an error,
/// not the digest of a zero-sized variable store.
#[test]
fn vars_file_without_a_size_is_refused() {
    let i = Inputs::new();
    std::fs::write(i.path().join("empty.fd"), b"").unwrap();
    for vars in ["empty.fd", "/proc/self/mem"] {
        let o = run(yardstick().current_dir(i.path()).args([
            "snp",
            "measure",
            "--mode",
            "snp:svsm",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC",
            "--ovmf",
            "svsm_ovmf.fd",
            "--svsm",
            "svsm.bin",
            "--vars-file",
            vars,
        ]));
        let err = assert_clean_failure(&o, 2);
        assert!(err.contains(vars), "{vars}: {err}");
    }
}

/// A signed kernel cut short (its Authenticode certificate table no longer fits the file) makes a UKI whose
/// PCR 4 measurement cannot be predicted: `uki build` and `image build --layout uki` refuse it up front.
#[test]
fn signed_kernel_cut_short_is_refused() {
    let i = Inputs::new();
    let k = std::fs::read(kernel()).unwrap();
    // The security directory (data directory 4 of the PE32+ optional header) is not empty: it is signed.
    let pe = u32::from_le_bytes(k[0x3c..0x40].try_into().unwrap()) as usize;
    let dir4 = pe + 24 + 112 + 4 * 8;
    let cert_size = u32::from_le_bytes(k[dir4 + 4..dir4 + 8].try_into().unwrap());
    assert!(cert_size > 100, "the test kernel is not signed");
    std::fs::write(i.path().join("vmlinuz.cut"), &k[..k.len() - 100]).unwrap();
    for line in [
        "uki build --stub stub.efi --linux vmlinuz.cut --output out/cut.efi",
        "image build rootfs --layout uki --stub stub.efi --kernel vmlinuz.cut --output out/disk.img",
    ] {
        let o = run(yardstick()
            .current_dir(i.path())
            .args(line.split_whitespace()));
        let err = assert_clean_failure(&o, 2);
        assert!(
            err.contains("vmlinuz.cut") && err.contains("certificate table"),
            "{line}: {err}"
        );
        assert_eq!(std::fs::read_dir(i.path().join("out")).unwrap().count(), 0);
    }
}

/// A root filesystem of one data block (a tiny squashfs, an empty erofs) has a hash tree of no levels: the
/// kata layout still gets a (1 MiB) hash partition, and veritysetup verifies the result.
#[test]
fn tiny_root_filesystems_build() {
    let i = Inputs::new();
    std::fs::create_dir(i.path().join("empty")).unwrap();
    for (tree, fs) in [
        ("rootfs", "squashfs"),
        ("empty", "erofs"),
        ("empty", "squashfs"),
    ] {
        let disk = i.path().join(format!("out/{tree}-{fs}.img"));
        run_ok(
            yardstick()
                .current_dir(i.path())
                .args([
                    "image", "build", tree, "--layout", "kata", "--fs", fs, "--output",
                ])
                .arg(&disk),
        );
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{}.manifest.json", disk.display())).unwrap(),
        )
        .unwrap();
        let v = &m["verity"];
        assert_eq!(v["data_blocks"], 1, "{tree} {fs}");
        let part = |n: usize| {
            let p = &m["image"]["partition_table"]["partitions"][n];
            (p["offset"].as_u64().unwrap(), p["size"].as_u64().unwrap())
        };
        let ((data_off, _), (hash_off, hash_size)) = (part(0), part(1));
        assert_eq!(hash_size, 1 << 20);
        let bytes = std::fs::read(&disk).unwrap();
        let data = i.path().join("out/data.bin");
        let hash = i.path().join("out/hash.bin");
        std::fs::write(&data, &bytes[data_off as usize..data_off as usize + 4096]).unwrap();
        std::fs::write(
            &hash,
            &bytes[hash_off as usize..(hash_off + hash_size) as usize],
        )
        .unwrap();
        run_ok(
            Command::new(peer("veritysetup"))
                .args(["verify", "--no-superblock", "--data-blocks", "1", "--salt"])
                .arg(v["salt"].as_str().unwrap())
                .arg(&data)
                .arg(&hash)
                .arg(v["root_hash"].as_str().unwrap()),
        );
    }
}

/// File names of 255 bytes (the longest Linux allows): ext4 and squashfs store them; mkfs.erofs cuts them
/// and fails, so the erofs build refuses them up front, naming the file; 254 bytes build everywhere.
#[test]
fn longest_file_names() {
    let i = Inputs::new();
    for (len, fs, ok) in [
        (255, "ext4", true),
        (255, "squashfs", true),
        (255, "erofs", false),
        (254, "erofs", true),
    ] {
        let tree = i.path().join(format!("tree-{len}-{fs}"));
        std::fs::create_dir_all(tree.join("etc")).unwrap();
        let name = "n".repeat(len);
        std::fs::write(tree.join("etc").join(&name), b"x").unwrap();
        let o = run(yardstick()
            .current_dir(i.path())
            .arg("image")
            .arg("build")
            .arg(&tree)
            .args(["--layout", "kata", "--fs", fs, "--output", "out/disk.img"]));
        if ok {
            assert_eq!(
                o.status.code(),
                Some(0),
                "{len} {fs}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::fs::remove_file(i.path().join("out/disk.img")).unwrap();
            std::fs::remove_file(i.path().join("out/disk.img.manifest.json")).unwrap();
        } else {
            let err = assert_clean_failure(&o, 2);
            assert!(
                err.contains(&format!("/etc/{name}: file name of 255 bytes"))
                    && err.contains("at most 254"),
                "{err}"
            );
        }
    }
}
