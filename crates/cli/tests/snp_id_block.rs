//! `yardstick snp id-block` against sev-snp-measure 0.0.13's `snp-create-id-block`, with the P-384 ID and author
//! keys from virtee/sev-snp-measure's `tests/fixtures/keyfile`.
//!
//! ECDSA signatures are randomized in snp-create-id-block (and deterministic in yardstick), so: the ID block,
//! the key digests and every byte of the ID auth structure outside the two signatures must be identical;
//! yardstick's signatures must verify with Python `cryptography` (an independent ECDSA implementation) against
//! the public keys derived from the PEM files; and snp-create-id-block's signatures must verify with yardstick's
//! verifier.
#![allow(clippy::indexing_slicing, clippy::expect_used)]
// integration tests: a panic is the failure report

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod snp_support;

mod support;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use snp_support::*;
use support::*;
use yardstick_snp::id_block::IdOutput;

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

struct Parsed {
    id_block: Vec<u8>,
    id_auth: Vec<u8>,
    id_key_hash: Vec<u8>,
    author_key: Vec<u8>,
}

/// Parses snp-create-id-block's output format.
fn parse(out: &str) -> Parsed {
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    let (block, auth) = first.split_once(',').unwrap();
    let field = |l: Option<&str>, prefix: &str| b64(l.unwrap().strip_prefix(prefix).unwrap());
    Parsed {
        id_block: b64(block.strip_prefix("id-block=").unwrap()),
        id_auth: b64(auth.strip_prefix("id-auth=").unwrap()),
        id_key_hash: field(lines.next(), "id_key_hash: "),
        author_key: field(lines.next(), "author_key: "),
    }
}

const VERIFY_PY: &str = r#"
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
def pub(path):
    return serialization.load_pem_private_key(open(path, 'rb').read(), password=None).public_key()
def check(key, msg, sig):
    r = int.from_bytes(sig[0:72], 'little'); s = int.from_bytes(sig[72:144], 'little')
    key.verify(utils.encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA384()))
block = bytes.fromhex(sys.argv[3]); auth = bytes.fromhex(sys.argv[4])
check(pub(sys.argv[1]), block, auth[0x40:0x240])
check(pub(sys.argv[2]), auth[0x240:0x240 + 1028], auth[0x680:0x880])
print('verified')
"#;

fn verify_with_python(id_key: &Path, author_key: &Path, p: &Parsed) {
    let out = run_ok(
        Command::new(venv_python())
            .args(["-c", VERIFY_PY])
            .arg(id_key)
            .arg(author_key)
            .arg(yardstick_common::hex::encode(&p.id_block))
            .arg(yardstick_common::hex::encode(&p.id_auth)),
    );
    assert_eq!(out.trim(), "verified");
}

#[test]
fn id_block_matches_snp_create_id_block() {
    let id_key = fixture("snp/keyfile/id_key_test.pem");
    let author_key = fixture("snp/keyfile/author_key_test.pem");
    let upstream_tool = sev_snp_measure().with_file_name("snp-create-id-block");
    assert!(
        upstream_tool.exists(),
        "snp-create-id-block missing: run scripts/setup.sh"
    );
    // Measurements from sev-snp-measure itself, plus edge values.
    let fw = fixture("snp/ovmf_AmdSev_suffix.bin");
    let mut measurements: Vec<String> = ["EPYC-Milan", "EPYC-Genoa"]
        .iter()
        .map(|t| {
            run_ok(
                Command::new(sev_snp_measure())
                    .args([
                        "--mode",
                        "snp",
                        "--vcpus",
                        "2",
                        "--vcpu-type",
                        t,
                        "--output-format",
                        "base64",
                        "--ovmf",
                    ])
                    .arg(&fw),
            )
            .trim()
            .to_string()
        })
        .collect();
    measurements.push(base64::engine::general_purpose::STANDARD.encode([0u8; 48]));
    measurements.push(base64::engine::general_purpose::STANDARD.encode([0xffu8; 48]));

    for (n, m) in measurements.iter().enumerate() {
        let theirs = parse(&run_ok(
            Command::new(&upstream_tool)
                .args(["--measurement", m, "--idkey"])
                .arg(&id_key)
                .arg("--authorkey")
                .arg(&author_key),
        ));
        // Give the measurement as base64 (upstream's form) and as hex.
        let hex = yardstick_common::hex::encode(&b64(m));
        for form in [m.as_str(), hex.as_str()] {
            let ours = parse(&run_ok(
                yardstick()
                    .args(["snp", "id-block", "--measurement", form, "--idkey"])
                    .arg(&id_key)
                    .arg("--authorkey")
                    .arg(&author_key),
            ));
            assert_eq!(ours.id_block, theirs.id_block, "measurement {n}: ID block");
            assert_eq!(
                ours.id_key_hash, theirs.id_key_hash,
                "measurement {n}: ID key digest"
            );
            assert_eq!(
                ours.author_key, theirs.author_key,
                "measurement {n}: author key digest"
            );
            assert_eq!(ours.id_auth.len(), 4096);
            assert_eq!(theirs.id_auth.len(), 4096);
            let mut a = ours.id_auth.clone();
            let mut b = theirs.id_auth.clone();
            for r in IdOutput::SIGNATURE_RANGES {
                a[r.clone()].fill(0);
                b[r].fill(0);
            }
            assert_eq!(a, b, "measurement {n}: ID auth outside the signatures");
            verify_with_python(&id_key, &author_key, &ours);
            assert!(
                IdOutput::verify(&theirs.id_block, &theirs.id_auth),
                "upstream signatures verify"
            );
            assert!(IdOutput::verify(&ours.id_block, &ours.id_auth));
            // A signature over other bytes must not verify (the check can fail).
            let mut forged = ours.id_block.clone();
            forged[90] ^= 1;
            assert!(!IdOutput::verify(&forged, &ours.id_auth));
        }
    }
}

/// The fields snp-create-id-block leaves at defaults land where sev-snp-measure's `IdBlock` ctypes structure
/// puts them, and the JSON output agrees with the text output.
#[test]
fn id_block_fields_match_upstream_structure() {
    let id_key = fixture("snp/keyfile/id_key_test.pem");
    let author_key = fixture("snp/keyfile/author_key_test.pem");
    let ld = "5a".repeat(48);
    // No zero bytes: ctypes copies `c_char` array fields only up to the first NUL (strlen), which upstream never
    // hits because it always passes zero IDs.
    let family = "112233445566778899aabbccddeeff01";
    let image = "ffeeddccbbaa9988776655443322110f";
    let text = run_ok(
        yardstick()
            .args([
                "snp",
                "id-block",
                "--measurement",
                &ld,
                "--policy",
                "0x30002",
                "--guest-svn",
                "0x01020304",
            ])
            .args(["--family-id", family, "--image-id", image, "--idkey"])
            .arg(&id_key)
            .arg("--authorkey")
            .arg(&author_key),
    );
    let ours = parse(&text);
    let py = format!(
        "from sevsnpmeasure.id_block import IdBlock, LaunchDigest\n\
         b = IdBlock(launch_digest=LaunchDigest.from_buffer_copy(bytes.fromhex('{ld}')), \
         ids=bytes.fromhex('{family}{image}'), version=1, guest_svn=(0x01020304).to_bytes(4, 'little'), policy=0x30002)\n\
         print(bytes(b).hex())"
    );
    let expected = run_ok(Command::new(venv_python()).args(["-c", &py]));
    assert_eq!(
        yardstick_common::hex::encode(&ours.id_block),
        expected.trim()
    );
    verify_with_python(&id_key, &author_key, &ours);

    let j: Value = serde_json::from_str(&run_ok(
        yardstick()
            .args([
                "snp",
                "id-block",
                "--json",
                "--measurement",
                &ld,
                "--policy",
                "0x30002",
                "--guest-svn",
                "0x01020304",
            ])
            .args(["--family-id", family, "--image-id", image, "--idkey"])
            .arg(&id_key)
            .arg("--authorkey")
            .arg(&author_key),
    ))
    .unwrap();
    assert_eq!(b64(j["id_block"].as_str().unwrap()), ours.id_block);
    // Deterministic signatures: the same inputs give the same bytes.
    assert_eq!(b64(j["id_auth"].as_str().unwrap()), ours.id_auth);
    assert_eq!(
        j["id_key_digest"].as_str().unwrap(),
        yardstick_common::hex::encode(&ours.id_key_hash)
    );
}
