//! The worked example of `docs/trustee.md` runs as written: every `console` block's commands (`$ ...`, with
//! `\` continuations and here-documents) run with `sh` in a copy of the fixtures, in order, and print exactly
//! the output the page shows.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::*;

/// A command of the page and the output it shows.
struct Step {
    command: String,
    expected: Vec<String>,
}

/// The commands of the page's `console` blocks, in order.
fn steps(page: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if !in_console {
            in_console = line.trim() == "```console";
            continue;
        }
        if line.trim() == "```" {
            in_console = false;
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            let mut command = cmd.to_string();
            while command.ends_with('\\') {
                command.push('\n');
                command.push_str(lines.next().expect("continuation line"));
            }
            if command.contains("<<'EOF'") {
                for l in lines.by_ref() {
                    command.push('\n');
                    command.push_str(l);
                    if l == "EOF" {
                        break;
                    }
                }
            }
            steps.push(Step {
                command,
                expected: Vec::new(),
            });
        } else {
            steps
                .last_mut()
                .expect("output before the first command")
                .expected
                .push(line.trim_end().to_string());
        }
    }
    steps
}

#[test]
fn trustee_page_runs_as_written() {
    let page = std::fs::read_to_string(workspace().join("docs/trustee.md")).unwrap();
    let steps = steps(&page);
    assert!(steps.len() >= 10, "{} commands found", steps.len());
    let dir = tempfile::tempdir().unwrap();
    for sub in ["snp-reports", "amd-kds", "trustee"] {
        run_ok(
            Command::new("cp")
                .arg("-r")
                .arg(fixture(sub))
                .arg(dir.path()),
        );
    }
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_yardstick"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for s in &steps {
        let o = run(Command::new("sh")
            .arg("-c")
            .arg(&s.command)
            .current_dir(dir.path())
            .env("PATH", &path));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{}: {err}", s.command);
        assert!(err.is_empty(), "{}: {err}", s.command);
        let got: Vec<String> = stdout(&o)
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(got, s.expected, "output of `{}`", s.command);
    }
}
