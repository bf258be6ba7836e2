//! The command line itself: version, help, completions, man pages, exit codes.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report

mod support;

use support::*;

#[test]
fn version_and_help() {
    let v = run_ok(yardstick().arg("--version"));
    assert_eq!(v.trim(), format!("yardstick {}", env!("CARGO_PKG_VERSION")));
    let h = run_ok(yardstick().arg("--help"));
    assert!(h.contains("Exit status:"), "{h}");
    assert!(h.contains("Examples:"), "{h}");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let s = run_ok(yardstick().args(["completions", shell]));
        assert!(s.contains("yardstick"), "{shell}: {s}");
    }
}

#[test]
fn man_pages_are_written() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(yardstick().args(["man", "--out-dir"]).arg(dir.path()));
    let page = std::fs::read_to_string(dir.path().join("yardstick.1")).unwrap();
    assert!(page.contains(".TH yardstick"), "{page}");
}

#[test]
fn every_subcommand_has_examples_in_help() {
    // Walk the whole command tree through `help` output: every leaf command documents an example.
    fn walk(path: &mut Vec<String>, bad: &mut Vec<String>) {
        let out = run_ok(yardstick().args(path.iter()).arg("--help"));
        let subs: Vec<String> = out
            .split("Commands:")
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .skip(1)
                    .take_while(|l| l.starts_with("  "))
                    // A wrapped description continues on a more deeply indented line: not a command.
                    .filter(|l| !l.starts_with("   "))
                    .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                    .filter(|n| n != "help")
                    .collect()
            })
            .unwrap_or_default();
        if subs.is_empty() && !out.contains("Example") {
            bad.push(path.join(" "));
        }
        for s in subs {
            path.push(s);
            walk(path, bad);
            path.pop();
        }
    }
    let mut bad = Vec::new();
    walk(&mut Vec::new(), &mut bad);
    assert!(
        bad.is_empty(),
        "commands without examples in --help: {bad:?}"
    );
}

/// Usage errors exit 2; their first line has the tool's one error prefix and says everything by itself (clap
/// spreads a list of missing arguments over several lines: they are joined), the usage hint follows.
#[test]
fn usage_error_exits_2_with_a_self_sufficient_first_line() {
    for (args, first) in [
        (
            &["no-such-command"][..],
            "yardstick: error: unrecognized subcommand 'no-such-command'",
        ),
        (
            &["snp", "measure"][..],
            "yardstick: error: the following required arguments were not provided: --mode <MODE> --ovmf <PATH>",
        ),
        (
            &["verity", "format", "data"][..],
            "yardstick: error: the following required arguments were not provided: <HASH>",
        ),
        (
            &["verity", "format", "a", "b", "--data-block-size", "x"][..],
            "yardstick: error: invalid value 'x' for '--data-block-size <BYTES>': invalid digit found in string",
        ),
    ] {
        let out = run(yardstick().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().next(), Some(first), "{args:?}: {err}");
        assert!(err.contains("For more information, try '--help'."), "{err}");
    }
}
