//! `yardstick_pe::uki::stub_initrd::pack_cpio_literal` against archives made by systemd-stub's own
//! `pack_cpio_literal` (v252.39 and v254.26 `cpio.c`, run on the host; provenance in
//! `tests/data/stub-cpio/README.md`): every input length class (data padding 0-3 bytes), both file names.
#![allow(clippy::indexing_slicing, clippy::expect_used, clippy::unwrap_used)] // a panic is the failure report

use yardstick_common::hash::Algorithm;
use yardstick_pe::uki::stub_initrd::{StubCpio, pack_cpio_literal};

fn input(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7 + 3) % 256) as u8).collect()
}

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/stub-cpio")
        .join(name)
}

#[test]
fn archives_equal_systemd_stub_252_and_254() {
    let vectors = std::fs::read_to_string(data("pack_cpio_literal.txt")).unwrap();
    let mut n = 0;
    for line in vectors.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [version, kind, len, archive_len, sha256] = f[..] else {
            panic!("bad vector line {line:?}");
        };
        let kind = match kind {
            "pcrsig" => StubCpio::PcrSignature,
            "pcrpkey" => StubCpio::PcrPublicKey,
            other => panic!("unknown kind {other}"),
        };
        let ours = pack_cpio_literal(kind, &input(len.parse().unwrap()));
        assert_eq!(
            (
                ours.len().to_string(),
                Algorithm::Sha256.digest(&ours).to_hex()
            ),
            (archive_len.to_string(), sha256.to_string()),
            "systemd {version} {kind:?} with {len} bytes"
        );
        n += 1;
    }
    assert_eq!(n, 52);
}

#[test]
fn whole_archive_byte_for_byte() {
    let theirs = std::fs::read(data("pcrsig-5-bytes.cpio")).unwrap();
    let ours = pack_cpio_literal(StubCpio::PcrSignature, &input(5));
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
    assert_eq!(ours, theirs);
}
