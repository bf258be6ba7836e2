//! The worked examples of the consumer pages in `docs/` run as written: every command of a ```console
//! block (`$ ` lines, `\` continuations joined) runs in order with bash in one scratch directory per page,
//! must succeed, and must print the lines shown after it (`…` in a line stands for any text; a line that is
//! only `…` for any number of lines). A page whose commands or shown output no longer hold fails here.
//!
//! The directory holds what the pages say it holds: `linuxx64.efi.stub` (systemd-stub 254, unpacked by
//! scripts/setup.sh) and `vmlinuz` (the Debian kernel scripts/setup.sh fetches). `yardstick` is the binary
//! under test, first on PATH.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)] // test helpers, like the tests themselves (clippy.toml)

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// A command of a page and the output lines it must print.
#[derive(Debug)]
struct Step {
    command: String,
    expected: Vec<String>,
}

/// The steps of every ```console block of a markdown page.
fn steps(markdown: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut continued = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            continued = false;
            continue;
        }
        if !in_console {
            continue;
        }
        if continued {
            let last = out.last_mut().unwrap();
            last.command.push(' ');
            last.command
                .push_str(line.trim().trim_end_matches('\\').trim_end());
            continued = line.trim_end().ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            out.push(Step {
                command: cmd.trim_end_matches('\\').trim_end().to_string(),
                expected: Vec::new(),
            });
            continued = line.trim_end().ends_with('\\');
        } else if let Some(last) = out.last_mut() {
            last.expected.push(line.to_string());
        }
    }
    out
}

/// `line` matches `pattern`, where `…` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || !line[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}

/// `lines` match `patterns` in full (`…` alone matches any number of lines).
fn lines_match(patterns: &[String], lines: &[&str]) -> bool {
    match patterns.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "…" => (0..=lines.len()).any(|k| lines_match(rest, &lines[k..])),
        Some((p, rest)) => {
            !lines.is_empty() && line_matches(p, lines[0]) && lines_match(rest, &lines[1..])
        }
    }
}

fn run_page(page: &str) {
    let text = std::fs::read_to_string(workspace().join("docs").join(page)).unwrap();
    let steps = steps(&text);
    assert!(steps.len() >= 3, "{page}: no worked example found");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(stub_254(), dir.path().join("linuxx64.efi.stub")).unwrap();
    std::fs::copy(kernel(), dir.path().join("vmlinuz")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_yardstick")).parent().unwrap();
    let path = format!(
        "{}:/usr/sbin:/sbin:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for s in &steps {
        let o = run(Command::new("bash")
            .args(["-euo", "pipefail", "-c", &s.command])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("YARDSTICK_TOOLS", tools())
            .env_remove("SOURCE_DATE_EPOCH"));
        let out = stdout(&o);
        assert!(
            o.status.success(),
            "{page}: `{}` failed: {}{}",
            s.command,
            out,
            String::from_utf8_lossy(&o.stderr)
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines_match(&s.expected, &lines),
            "{page}: `{}` printed\n{out}\nwhich does not match the page's\n{}",
            s.command,
            s.expected.join("\n")
        );
    }
}

#[test]
fn matcher() {
    assert!(line_matches("a … b", "a xx b"));
    assert!(line_matches("root: …", "root: 00ff"));
    assert!(!line_matches("root: …", "salt: 00ff"));
    assert!(line_matches("x…y…z", "x1y2z"));
    assert!(!line_matches("x…y…z", "x1z"));
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&p(&["a", "…", "d"]), &["a", "b", "c", "d"]));
    assert!(lines_match(&p(&["…"]), &[]));
    assert!(!lines_match(&p(&["a"]), &["a", "b"]));
    let s = steps("text\n```console\n$ a \\\n    b\nout\n$ c\n```\n```sh\n$ not run\n```\n");
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(s[0].command, "a b");
    assert_eq!(s[0].expected, ["out"]);
    assert_eq!(s[1].command, "c");
}

#[test]
fn systemd_pcrlock_page() {
    run_page("systemd-pcrlock.md");
}

#[test]
fn kata_page() {
    run_page("kata.md");
}
