//! PKCS#7 root-hash signatures: `signature::verify` of a fixed root hash against a fixed certificate with
//! arbitrary signature bytes, and `parse_certificate` on the same bytes. Errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_verity::signature::{parse_certificate, verify};

/// The root hash the seed signatures (corpus/verity_signature) sign, as `veritysetup --root-hash-signature`
/// expects it: lower-case hex, no newline.
const ROOT_HASH: &[u8] = b"4f8d3e6b0b3c2f0c1d5a9e7b6a5f4e3d2c1b0a99887766554433221100ffeedd";

/// The certificate of the (throw-away) key that made the seed signatures.
const CERT_DER: &[u8] = include_bytes!("../seeds/verity-cert.der");

fuzz_target!(|data: &[u8]| {
    // x509_cert's type is not re-exported; parsing the fixed certificate each run is cheap.
    let cert = parse_certificate(CERT_DER).expect("the fixed certificate parses");
    let _ = verify(ROOT_HASH, data, &cert);
    let _ = parse_certificate(data);
});
