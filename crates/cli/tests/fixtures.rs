//! The real-world fixtures in `tests/fixtures` are the upstream projects' bytes: every file listed in
//! `SHA256SUMS` (the upstream content; gzipped fixtures are unpacked first) hashes to its listed value by
//! coreutils' `sha256sum`, and every fixture file is listed (so none is added without provenance).
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use support::{fixture, fixtures};

fn sums() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(fixtures().join("SHA256SUMS")).expect("read SHA256SUMS");
    text.lines()
        .map(|l| {
            let (h, f) = l
                .split_once("  ")
                .expect("SHA256SUMS line: <sha256>  <path>");
            (h.to_string(), f.to_string())
        })
        .collect()
}

#[test]
fn fixtures_are_upstream_bytes() {
    let sums = sums();
    assert!(sums.len() >= 40, "SHA256SUMS lists {} files", sums.len());
    for (want, rel) in &sums {
        let path = fixture(rel);
        let o = Command::new("sha256sum")
            .arg(&path)
            .output()
            .expect("run sha256sum");
        assert!(o.status.success(), "sha256sum {}", path.display());
        let got = String::from_utf8_lossy(&o.stdout);
        let got = got.split_whitespace().next().unwrap_or("");
        assert_eq!(got, want, "{rel}: not the upstream bytes");
    }
}

#[test]
fn every_fixture_is_listed() {
    let listed: BTreeSet<String> = sums().into_iter().map(|(_, f)| f).collect();
    let root = fixtures();
    let mut stack = vec![root.clone()];
    let mut unlisted = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read fixture directory") {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(&root)
                .expect("under fixtures")
                .to_string_lossy()
                .into_owned();
            if rel == "SHA256SUMS" || rel.ends_with("README.md") {
                continue;
            }
            let rel = rel.strip_suffix(".gz").map(str::to_string).unwrap_or(rel);
            if !listed.contains(&rel) {
                unlisted.push(rel);
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "fixtures without a SHA256SUMS line (add provenance): {unlisted:?}"
    );
}
