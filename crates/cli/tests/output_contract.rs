//! The output contract: writing to standard output never panics (a closed pipe ends the program quietly with
//! success, a full device is one error line and exit status 2), an output path that names an input is refused
//! before any work, and outputs made together (verity hash + FEC + root-hash file, image disk + manifest)
//! appear together or not at all.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::*;

/// Runs `cmd` with its stdout a pipe whose reading end is already closed.
fn run_into_closed_pipe(cmd: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

/// Runs `cmd` with its stdout on `/dev/full` (every write fails with ENOSPC).
fn run_into_full_device(cmd: &mut Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    cmd.stdout(full).stderr(Stdio::piped()).output().unwrap()
}

/// A small verity data file and its hash file, formatted, in `d`.
fn formatted(d: &Path) {
    std::fs::write(d.join("data"), vec![7u8; 64 * 4096]).unwrap();
    run_ok(
        yardstick()
            .args(["verity", "format", "data", "hash", "--salt", "00"])
            .current_dir(d),
    );
}

/// Commands that print to stdout, each run in a directory holding a formatted `data`/`hash` pair.
const PRINTING: &[&[&str]] = &[
    &["completions", "bash"],
    &["--help"],
    &["--version"],
    &["verity", "--help"],
    &["verity", "dump", "hash"],
    &["verity", "dump", "hash", "--json"],
    &["verity", "format", "data", "hash2", "--salt", "00"],
];

#[test]
fn closed_pipe_is_a_quiet_success() {
    let dir = tempfile::tempdir().unwrap();
    formatted(dir.path());
    for args in PRINTING {
        let out = run_into_closed_pipe(yardstick().args(*args).current_dir(dir.path()));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// A failed check stays a failure when the reader has gone: the verdict is the exit status, not the output
/// (fail-closed), for text and JSON alike.
#[test]
fn closed_pipe_keeps_a_failed_check_failed() {
    let dir = tempfile::tempdir().unwrap();
    formatted(dir.path());
    let wrong = "00".repeat(32);
    for json in [false, true] {
        let mut cmd = yardstick();
        cmd.args(["verity", "verify", "data", "hash", &wrong])
            .current_dir(dir.path());
        if json {
            cmd.arg("--json");
        }
        let out = run_into_closed_pipe(&mut cmd);
        assert_eq!(
            out.status.code(),
            Some(1),
            "json={json}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn full_device_is_one_error_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    formatted(dir.path());
    for args in PRINTING {
        let out = run_into_full_device(yardstick().args(*args).current_dir(dir.path()));
        let err = assert_clean_failure(&out, 2);
        assert!(
            err.starts_with("yardstick: error: ") && err.contains("No space left on device"),
            "{args:?}: {err}"
        );
    }
}

/// Runs `yardstick ARGS` in `d` and asserts the refusal: exit 2, one line naming `output` and `input`, and
/// every file in `d` unchanged.
fn refused(d: &Path, args: &[&str], output: &str, input: &str) {
    let before = snapshot(d);
    let out = run(yardstick().args(args).current_dir(d));
    let err = assert_clean_failure(&out, 2);
    assert!(
        err.contains(&format!(
            "{output}: output would overwrite the input {input}"
        )),
        "{args:?}: {err}"
    );
    assert_eq!(snapshot(d), before, "{args:?} changed files");
}

/// Every regular file under `d` (recursively) with its contents.
fn snapshot(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(d).unwrap().display().to_string();
                files.push((rel, std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn output_naming_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    formatted(d);
    for f in ["k", "m", "u", "cert.pem", "key.pem"] {
        std::fs::write(d.join(f), format!("contents of {f}")).unwrap();
    }
    std::os::unix::fs::symlink("data", d.join("link")).unwrap();
    std::fs::create_dir_all(d.join("root/etc")).unwrap();
    std::fs::write(d.join("root/etc/hostname"), "guest\n").unwrap();

    refused(
        d,
        &[
            "verity",
            "format",
            "data",
            "hash",
            "--root-hash-file",
            "data",
        ],
        "data",
        "data",
    );
    refused(
        d,
        &[
            "verity",
            "format",
            "data",
            "hash",
            "--root-hash-file",
            "hash",
        ],
        "hash",
        "hash",
    );
    // Through a symbolic link.
    refused(
        d,
        &[
            "verity",
            "format",
            "data",
            "hash",
            "--root-hash-file",
            "link",
        ],
        "link",
        "data",
    );
    refused(
        d,
        &[
            "verity", "sign", "--key", "key.pem", "--cert", "cert.pem", "--out", "cert.pem", "00ff",
        ],
        "cert.pem",
        "cert.pem",
    );
    // snp measure --dump-vmsa writes vmsa<N>.bin in the current directory.
    std::fs::copy(
        fixtures().join("snp/ovmf_AmdSev_suffix.bin"),
        d.join("vmsa1.bin"),
    )
    .unwrap();
    refused(
        d,
        &[
            "snp",
            "measure",
            "--mode",
            "snp",
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC-v4",
            "--ovmf",
            "vmsa1.bin",
            "--dump-vmsa",
        ],
        "vmsa1.bin",
        "vmsa1.bin",
    );
    refused(
        d,
        &[
            "uki", "build", "--stub", "u", "--linux", "k", "--output", "k",
        ],
        "k",
        "k",
    );
    refused(
        d,
        &["refvals", "export", "m", "--format", "rvps", "-o", "m"],
        "m",
        "m",
    );
    refused(d, &["refvals", "create", "--uki", "u", "-o", "u"], "u", "u");
    refused(
        d,
        &[
            "image", "build", "root", "--layout", "uki", "--kernel", "k", "--stub", "u",
            "--output", "k",
        ],
        "k",
        "k",
    );
    refused(
        d,
        &[
            "image",
            "build",
            "root",
            "--layout",
            "initrd",
            "--output",
            "root/i.cpio",
        ],
        "root/i.cpio",
        "root",
    );
    refused(
        d,
        &[
            "image",
            "build",
            "root",
            "--layout",
            "initrd",
            "--output",
            "i.cpio",
            "--manifest",
            "root/etc/m.json",
        ],
        "root/etc/m.json",
        "root",
    );
}

/// No temporary file (a dot file) is left in `d`.
fn assert_no_temporaries(d: &Path) {
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporaries left: {names:?}"
    );
}

/// The destination `name` in `d` made a non-empty directory, so that renaming a file over it fails.
fn blocker(d: &Path, name: &str) {
    std::fs::create_dir(d.join(name)).unwrap();
    std::fs::write(d.join(name).join("keep"), "x").unwrap();
}

#[test]
fn verity_outputs_appear_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    formatted(d);
    std::fs::write(d.join("fec"), "previous fec").unwrap();
    blocker(d, "rh");
    let before = snapshot(d);
    let format = || {
        run(yardstick()
            .args(["verity", "format", "data", "hash", "--salt", "01"])
            .args([
                "--fec-device",
                "fec",
                "--fec-roots",
                "4",
                "--root-hash-file",
                "rh",
            ])
            .current_dir(d))
    };
    let out = format();
    let err = assert_clean_failure(&out, 2);
    assert!(err.contains("rh: cannot write"), "{err}");
    // The hash file and the FEC file written before the root-hash file failed are the previous ones.
    assert_eq!(snapshot(d), before);
    // And a new output that could not be committed is not left behind either.
    std::fs::remove_file(d.join("fec")).unwrap();
    let out = format();
    assert_clean_failure(&out, 2);
    assert!(!d.join("fec").exists());
    assert_no_temporaries(d);
}

#[test]
fn image_disk_and_manifest_appear_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("root/etc")).unwrap();
    std::fs::write(d.join("root/etc/hostname"), "guest\n").unwrap();
    std::fs::write(d.join("i.cpio"), "previous image").unwrap();
    blocker(d, "m.json");
    let before = snapshot(d);
    let out = run(yardstick()
        .args(["image", "build", "root", "--layout", "initrd"])
        .args(["--output", "i.cpio", "--manifest", "m.json"])
        .env("YARDSTICK_TOOLS", tools())
        .current_dir(d));
    let err = assert_clean_failure(&out, 2);
    assert!(err.contains("m.json"), "{err}");
    assert_eq!(snapshot(d), before);
    assert_no_temporaries(d);
}

/// Runs `args` in `d` with the output `name` a FIFO; returns what came through it. The FIFO must still be a
/// FIFO afterwards: an output that is not a regular file is written in place, never replaced by a rename
/// (which, as root, would turn `/dev/null` into a regular file). The outputs are smaller than a pipe's buffer,
/// so the FIFO is read once the command is done.
fn through_fifo(d: &Path, args: &[String], name: &str) -> Vec<u8> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let fifo = d.join(name);
    run_ok(Command::new("mkfifo").arg(&fifo));
    // Non-blocking: the open does not wait for a writer, and the reads below end when the pipe is empty.
    let fd = rustix::fs::open(&fifo, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()).unwrap();
    let mut reader = std::fs::File::from(fd);
    let out = run(yardstick().args(args).current_dir(d));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "{args:?}: {name} was replaced: {kind:?}");
    let mut got = Vec::new();
    match reader.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => panic!("{name}: {e}"),
    }
    std::fs::remove_file(&fifo).unwrap();
    got
}

#[test]
fn outputs_that_are_devices_or_fifos_are_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    formatted(d);
    std::fs::create_dir_all(d.join("root/etc")).unwrap();
    std::fs::write(d.join("root/etc/hostname"), "guest\n").unwrap();

    let format = |rh: &str| -> Vec<String> {
        let args = ["verity", "format", "data", "hash", "--salt", "00"];
        let mut a: Vec<String> = args.map(String::from).to_vec();
        a.extend(["--root-hash-file".into(), rh.into()]);
        a
    };
    run_ok(yardstick().args(format("rh")).current_dir(d));
    let expected = std::fs::read(d.join("rh")).unwrap();
    assert_eq!(expected.len(), 64);
    assert_eq!(through_fifo(d, &format("rh.fifo"), "rh.fifo"), expected);

    let build = |m: &str| -> Vec<String> {
        let args = ["image", "build", "root", "--layout", "initrd"];
        let mut a: Vec<String> = args.map(String::from).to_vec();
        a.extend([
            "--output".into(),
            "i.cpio".into(),
            "--manifest".into(),
            m.into(),
        ]);
        a
    };
    run_ok(yardstick().args(build("m.json")).current_dir(d));
    let expected = std::fs::read(d.join("m.json")).unwrap();
    assert!(!expected.is_empty());
    assert_eq!(through_fifo(d, &build("m.fifo"), "m.fifo"), expected);

    // As root, the same for /dev/null itself (a rename would have replaced the device node).
    let out = run(yardstick().args(format("/dev/null")).current_dir(d));
    if out.status.success() {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
        assert!(kind.is_char_device(), "/dev/null was replaced: {kind:?}");
    }
}

#[test]
fn symbolic_link_outputs_are_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    formatted(d);
    std::fs::create_dir(d.join("real")).unwrap();
    std::fs::write(d.join("real/rh"), "previous").unwrap();
    std::os::unix::fs::symlink("real/rh", d.join("link")).unwrap();
    // A dangling link: its target is created.
    std::os::unix::fs::symlink("real/new", d.join("dangling")).unwrap();
    for link in ["link", "dangling"] {
        run_ok(
            yardstick()
                .args(["verity", "format", "data", "hash", "--salt", "00"])
                .args(["--root-hash-file", link])
                .current_dir(d),
        );
        let kind = std::fs::symlink_metadata(d.join(link)).unwrap().file_type();
        assert!(kind.is_symlink(), "{link} was replaced: {kind:?}");
        assert_eq!(std::fs::read(d.join(link)).unwrap().len(), 64, "{link}");
    }
    assert_eq!(
        std::fs::read(d.join("real/rh")).unwrap(),
        std::fs::read(d.join("real/new")).unwrap()
    );
}

/// The entries of `d` whose names start with `.{name}.` (this tool's temporaries for the output `name`).
fn temporaries(d: &Path, name: &str) -> Vec<String> {
    let head = format!(".{name}.");
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&head))
        .collect()
}

/// Starts `args` in `d`, stopped (by the debug-build failpoint) right after it made its first temporary for
/// `name`; returns the child and that temporary's name.
fn start_stalled(d: &Path, args: &[&str], name: &str) -> (std::process::Child, String) {
    let mut child = yardstick()
        .args(args)
        .env("YARDSTICK_TEST_STALL_SCRATCH", name)
        .env("YARDSTICK_TOOLS", tools())
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..1000 {
        if let Some(t) = temporaries(d, name).pop() {
            return (child, t);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    let status = child.wait();
    panic!("{args:?}: no temporary for {name} appeared ({status:?})");
}

/// Sends the signal named `signal` (TERM, INT, HUP, KILL) to the child (no `kill` binary needed).
fn send(child: &std::process::Child, signal: &str) {
    use rustix::process::{Pid, Signal, kill_process};
    let sig = match signal {
        "TERM" => Signal::TERM,
        "INT" => Signal::INT,
        "HUP" => Signal::HUP,
        "KILL" => Signal::KILL,
        other => panic!("no signal {other}"),
    };
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    kill_process(pid, sig).unwrap();
}

#[test]
fn signals_remove_temporaries_and_the_next_run_sweeps_what_sigkill_left() {
    use std::os::unix::process::ExitStatusExt as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    formatted(d);
    std::fs::create_dir_all(d.join("root/etc")).unwrap();
    std::fs::write(d.join("root/etc/hostname"), "guest\n").unwrap();
    let format = ["verity", "format", "data", "new.hash", "--salt", "00"];
    let build = [
        "image", "build", "root", "--layout", "initrd", "--output", "i.cpio",
    ];
    for (args, name) in [(&format[..], "new.hash"), (&build[..], "i.cpio")] {
        for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
            let (mut child, t) = start_stalled(d, args, name);
            assert!(
                t.starts_with(&format!(".{name}.yardstick-{}.", child.id())),
                "{t}"
            );
            send(&child, signal);
            let status = child.wait().unwrap();
            assert_eq!(
                status.code(),
                Some(code),
                "{args:?} SIG{signal}: {status:?}"
            );
            assert_eq!(
                temporaries(d, name),
                Vec::<String>::new(),
                "{args:?} SIG{signal}"
            );
            assert!(!d.join(name).exists());
        }
        // SIGKILL cannot be handled: the temporary stays, named for its owner, until the next run for the same
        // output, which removes it (its process is gone) and succeeds.
        let (mut child, t) = start_stalled(d, args, name);
        send(&child, "KILL");
        assert_eq!(child.wait().unwrap().signal(), Some(9));
        assert_eq!(temporaries(d, name), vec![t]);
        run_ok(
            yardstick()
                .args(args)
                .env("YARDSTICK_TOOLS", tools())
                .current_dir(d),
        );
        assert_eq!(temporaries(d, name), Vec::<String>::new(), "{args:?}");
        assert!(d.join(name).exists());
    }
}

#[test]
fn verity_sign_outputs_appear_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-subj", "/CN=yardstick test", "-days", "1"])
            .args(["-keyout", "key.pem", "-out", "cert.pem"])
            .current_dir(d),
    );
    std::fs::write(d.join("sig.p7s"), "previous signature").unwrap();
    blocker(d, "sd.json");
    let before = snapshot(d);
    let root = "ab".repeat(32);
    let sign = |json: &str| {
        run(yardstick()
            .args(["verity", "sign", "--key", "key.pem", "--cert", "cert.pem"])
            .args(["--out", "sig.p7s", "--systemd-json", json, &root])
            .current_dir(d))
    };
    let out = sign("sd.json");
    let err = assert_clean_failure(&out, 2);
    assert!(err.contains("sd.json"), "{err}");
    // The signature written before the JSON failed is not there: the previous one is.
    assert_eq!(snapshot(d), before);
    let out = sign("ok.json");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        std::fs::read(d.join("sig.p7s")).unwrap(),
        b"previous signature"
    );
    assert!(d.join("ok.json").exists());
}
