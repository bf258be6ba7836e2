//! Memory does not grow with the number of events where nothing needs them: `eventlog replay` streams the log,
//! and `pcr compare` of logs that agree keeps only their bytes (the full parse, events and replay steps, is
//! made only to explain a difference). Peak RSS is read with `/usr/bin/time` (installed by scripts/setup.sh).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code: a panic is the failure report

mod support;

use std::path::Path;

use support::*;
use yardstick_tpm::testutil::agile_log;

/// A log record for `agile_log`: PCR, event type, digests (algorithm id, bytes), event data.
type Record = (u32, u32, Vec<(u16, Vec<u8>)>, Vec<u8>);

/// Peak resident memory of `yardstick ARGS`, in KiB, and its exit status.
fn peak_rss_kib(args: &[&str], dir: &Path) -> (u64, i32) {
    let out = run(std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", "rss.txt"])
        .arg(env!("CARGO_BIN_EXE_yardstick"))
        .args(args)
        .current_dir(dir));
    let rss = std::fs::read_to_string(dir.join("rss.txt")).unwrap();
    let kib = rss.lines().last().unwrap().trim().parse().unwrap();
    (kib, out.status.code().unwrap())
}

#[test]
fn replay_and_agreeing_compare_take_memory_for_the_bytes_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 400,000 EV_EFI_ACTION events into PCR 4 with a SHA-256 digest and no data: 20 MB.
    let digest = vec![0x5au8; 32];
    let events: Vec<Record> = (0..400_000)
        .map(|_| (4, 0x8000_0007, vec![(0x0b, digest.clone())], Vec::new()))
        .collect();
    let log = agile_log(&[(0x0b, 32)], &events);
    let size_kib = log.len() as u64 / 1024;
    assert!(size_kib > 19_000, "{size_kib}");
    std::fs::write(d.join("big.log"), &log).unwrap();
    std::fs::write(d.join("copy.log"), &log).unwrap();

    // Before streaming: ~7x the log for replay, ~13x for compare. Now the bytes and a small constant.
    let (replay, code) = peak_rss_kib(&["eventlog", "replay", "big.log"], d);
    assert_eq!(code, 0);
    assert!(
        replay < size_kib + 40_000,
        "eventlog replay: {replay} KiB for a {size_kib} KiB log"
    );
    let (compare, code) = peak_rss_kib(&["pcr", "compare", "big.log", "copy.log"], d);
    assert_eq!(code, 0);
    assert!(
        compare < 2 * size_kib + 40_000,
        "pcr compare: {compare} KiB for two {size_kib} KiB logs"
    );
}
