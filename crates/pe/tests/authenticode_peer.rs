//! EDK2-style Authenticode digests against google/authenticode-rs (`authenticode` 0.6, which documents that it
//! hashes trailing data the way EDK2 does), on real EFI binaries: Debian's systemd 252 stub (12,641 bytes of
//! COFF symbol table after the last section: the quirk), the bookworm-backports 254 stub, and Debian's signed
//! kernel (certificate table excluded). Both implementations must agree in SHA-1, SHA-256 and SHA-384.
#![allow(clippy::indexing_slicing, clippy::expect_used)] // integration tests: a panic is the failure report
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use yardstick_common::hash::{Algorithm, Hasher};

/// Feeds authenticode-rs's digest-0.10 `Update` calls into our hasher.
struct Feed(Hasher);

impl digest010::Update for Feed {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

fn tools() -> PathBuf {
    std::env::var_os("YARDSTICK_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools"))
}

fn peer_file(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (peer files are installed by scripts/setup.sh)",
            p.display()
        )
    })
}

#[test]
fn matches_authenticode_rs_on_real_binaries() {
    let files = [
        PathBuf::from("/usr/lib/systemd/boot/efi/linuxx64.efi.stub"),
        tools().join("systemd-254/usr/lib/systemd/boot/efi/linuxx64.efi.stub"),
        tools().join("kernel/vmlinuz"),
    ];
    for f in &files {
        let data = peer_file(f.clone());
        let pe = object::read::pe::PeFile64::parse(&data[..]).unwrap();
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha384] {
            let mut feed = Feed(alg.hasher());
            authenticode::authenticode_digest(&pe, &mut feed).unwrap();
            let theirs = feed.0.finish();
            let ours = yardstick_pe::authenticode_digest(&data, alg).unwrap();
            assert_eq!(ours, theirs, "{} {alg}", f.display());
        }
    }
    // The 252 stub really has trailing bytes past its last section (else this test would not test the quirk).
    let stub = peer_file(files[0].clone());
    let h = yardstick_pe::PeHeaders::parse(&stub).unwrap();
    let end = h.sections.iter().map(|s| s.raw_range().end).max().unwrap();
    assert_eq!(stub.len() - end, 12_641);
}
