//! Intel TD quotes (v4/v5) on arbitrary bytes: the parser, every field accessor, the SGX extensions of the
//! PCK certificate the quote carries and the collateral-free checks give errors or verdicts, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_verify::Appraisal;
use yardstick_verify::tdx::TdQuote;
use yardstick_verify::tdx::pck::PckExtensions;
use yardstick_verify::x509::Cert;

fuzz_target!(|data: &[u8]| {
    let _ = TdQuote::parse(data);
    if let Ok(q) = TdQuote::parse_allowing_trailing(data) {
        let _ = (q.mrtd(), q.rtmr(3), q.report_data(), q.xfam(), q.tee_tcb_svn2());
        let _ = (q.qe_isvsvn(), q.qe_miscselect(), q.qe_attributes(), q.config_fields());
        if let Ok(certs) = Cert::load_all(&q.pck_chain)
            && let Some(pck) = certs.first()
        {
            let _ = PckExtensions::read(pck);
        }
        let mut a = Appraisal::new();
        let _ = yardstick_verify::tdx::signature_checks(&mut a, &q, 1_780_272_000);
    }
});
