//! TPM 2.0 structures on arbitrary bytes: TPMS_ATTEST quotes, TPMT_SIGNATURE, TPM2B/TPMT_PUBLIC,
//! TPML_PCR_SELECTION, and the verifier's quote-signature, AK and X.509 readers. Errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tpm::tpm2::{Attest, PcrSelection, Public, Signature};
use yardstick_verify::tpm::{Ak, QuoteSignature};
use yardstick_verify::x509::Cert;

fuzz_target!(|data: &[u8]| {
    let _ = Attest::parse_quote(data);
    let _ = Signature::parse(data);
    let _ = Public::parse_tpm2b(data);
    let _ = Public::parse_tpmt(data);
    let _ = PcrSelection::parse(data);
    let _ = QuoteSignature::parse(data);
    let _ = Ak::parse(data);
    let _ = Cert::from_der(data);
});
