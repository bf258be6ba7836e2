//! Azure confidential-VM vTPM evidence as Trustee's `az-snp-vtpm` / `az-tdx-vtpm` attesters produce it
//! (evidence versions 0, 1 and 2): a TPM quote signed by the vTPM's attestation key, the HCL report whose
//! runtime data holds that key, and the hardware evidence binding the runtime data: an SEV-SNP report with its
//! VCEK, or a TDX quote.
//!
//! Chain of trust: hardware root (AMD ARK / Intel SGX Root CA) → hardware report → REPORT_DATA = H(runtime
//! data) → AK → TPM quote → PCRs.
//!
//! The evidence version is the one unsigned field that decides a check: version 2 binds the nonce into the
//! signed runtime data (`user-data`), versions 0 and 1 leave `user-data` zero. So the signed data tells a
//! version 2 report by its `user-data`: when it is set but the evidence says version 0 or 1, the appraisal
//! fails (the nonce binding would otherwise be dropped by editing the version) unless the relying party states
//! the version it expects ([`AzurePolicy::evidence_version`]), which the evidence must then say.

mod evidence;
mod hcl;
mod request;

pub use crate::tdx::{INTEL_SGX_ROOT_CA_SHA256, TdQuote, verify_td_quote};
pub use evidence::{AzureEvidence, Hardware, TpmQuoteParts};
pub use hcl::{HclReport, HwKind};
pub use request::{AzureRequest, DEFAULT_PCRS, pcr_reference, verify_files};

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_tpm::PcrBanks;
use yardstick_tpm::tpm2::Attest;

use crate::appraisal::Appraisal;
use crate::snp::{AttestationReport, Product, SnpPolicy, verify_report};
use crate::tpm::{Ak, PcrReference, QuoteInput, QuoteSignature, TpmPolicy, verify_quote};
use crate::x509::Cert;
use crate::{Error, hex};

/// What the relying party requires of Azure evidence.
#[derive(Debug, Clone, Default)]
pub struct AzurePolicy {
    /// The nonce the TPM quote (and, for v2 evidence, the HCL user-data) must carry.
    pub nonce: Option<Vec<u8>>,
    /// Fail without a nonce to compare ([`crate::tpm::TpmPolicy::require_nonce`]).
    pub require_nonce: bool,
    /// Accept a TPM quote signed over SHA-1, marked weak ([`crate::tpm::TpmPolicy::allow_sha1`]).
    pub allow_sha1: bool,
    /// The evidence version the relying party expects (0, 1 or 2): the evidence's `version` must be this one,
    /// and its checks are this version's. `None`: the evidence's own, unless its signed runtime data is that
    /// of version 2 (see the module docs).
    pub evidence_version: Option<u32>,
    /// Reference PCR values.
    pub pcrs: Option<PcrReference>,
    /// SEV-SNP requirements (guest policy, reference launch digests). The VMPL is always 0: the HCL requests
    /// the report from VMPL 0.
    pub snp: SnpPolicy,
}

/// Verifies Azure vTPM evidence end to end.
///
/// The checks, in order: the TPM quote with the AK from the HCL runtime data ([`verify_quote`]), the
/// hardware report's REPORT_DATA binding the runtime data, the v2 user-data nonce, then the hardware
/// evidence: the SEV-SNP report with its VCEK and AMD's built-in chain ([`verify_report`]), or the TD quote
/// ([`verify_td_quote`]) and its agreement with the HCL's TDREPORT.
pub fn verify_azure(ev: &AzureEvidence, policy: &AzurePolicy) -> Result<Appraisal, Error> {
    let mut a = Appraisal::new();
    let hcl = HclReport::parse(&ev.hcl_report)?;
    let kind = hardware_kind(ev, &hcl)?;
    let attest = check_tpm_quote(&mut a, ev, &hcl, policy)?;
    check_runtime_binding(&mut a, ev, &hcl, kind)?;
    check_runtime_data(&mut a, ev, &hcl, &attest, policy.evidence_version)?;
    let claims = match &ev.hardware {
        Hardware::Snp { vcek } => {
            let (report, product) = check_snp(&mut a, &hcl, vcek, &policy.snp)?;
            crate::claims::az_snp_vtpm(&report, product, &ev.tpm_quote.pcrs, &attest.extra_data)
        }
        Hardware::Tdx { td_quote } => {
            let q = check_tdx(&mut a, &hcl, td_quote, &policy.snp)?;
            crate::claims::az_tdx_vtpm(&q, &ev.tpm_quote.pcrs, &attest.extra_data)
        }
    };
    a.set_claims(claims);
    a.note(format!("Azure evidence version {}", ev.version));
    Ok(a)
}

/// The kind of hardware report the HCL report holds, which must be the evidence's kind.
fn hardware_kind(ev: &AzureEvidence, hcl: &HclReport) -> Result<HwKind, Error> {
    let want_kind = match ev.hardware {
        Hardware::Snp { .. } => HwKind::Snp,
        Hardware::Tdx { .. } => HwKind::Tdx,
    };
    if hcl.kind != want_kind {
        return Err(Error::Malformed(format!(
            "HCL report holds a {:?} report but the evidence is {:?} evidence",
            hcl.kind, want_kind
        )));
    }
    Ok(want_kind)
}

/// The evidence's PCR values, PCR `i` at index `i`, each in the bank its length tells.
fn evidence_pcrs(ev: &AzureEvidence) -> Result<PcrBanks, Error> {
    let mut pcrs = PcrBanks::new();
    for (i, v) in ev.tpm_quote.pcrs.iter().enumerate() {
        let alg = Algorithm::ALL
            .into_iter()
            .find(|a| a.digest_len() == v.len())
            .ok_or_else(|| {
                Error::Malformed(format!(
                    "evidence: PCR {i} is {} bytes, not a digest",
                    v.len()
                ))
            })?;
        let d = Digest::from_bytes(alg, v)
            .ok_or_else(|| Error::Malformed(format!("evidence: PCR {i}")))?;
        pcrs.set(i as u32, d);
    }
    Ok(pcrs)
}

/// The TPM quote, with the AK from the runtime data, against the nonce and the reference PCRs. Returns the
/// quote's `TPMS_ATTEST`.
fn check_tpm_quote(
    a: &mut Appraisal,
    ev: &AzureEvidence,
    hcl: &HclReport,
    policy: &AzurePolicy,
) -> Result<Attest, Error> {
    let ak = Ak::from_jwk(&hcl.ak_jwk()?)?;
    let sig = QuoteSignature::parse(&ev.tpm_quote.signature)?;
    let pcrs = evidence_pcrs(ev)?;
    let tpm_policy = TpmPolicy {
        nonce: policy.nonce.clone(),
        require_nonce: policy.require_nonce,
        allow_extra_pcrs: false,
        allow_sha1: policy.allow_sha1,
        reference: policy.pcrs.clone(),
        eventlog: None,
    };
    let (quote_checks, attest) = verify_quote(
        QuoteInput {
            message: &ev.tpm_quote.message,
            signature: &sig,
            ak: &ak,
            pcrs: &pcrs,
        },
        &tpm_policy,
    )?;
    a.extend(quote_checks);
    Ok(attest)
}

/// The runtime data (and so the AK) is bound into the hardware report's REPORT_DATA: its hash leads it.
fn check_runtime_binding(
    a: &mut Appraisal,
    ev: &AzureEvidence,
    hcl: &HclReport,
    kind: HwKind,
) -> Result<(), Error> {
    let rt_hash = hcl.hash.digest(hcl.runtime_data());
    let hw_report_data: Vec<u8> = match &ev.hardware {
        Hardware::Snp { .. } => AttestationReport::parse(hcl.hw_report())?
            .report_data
            .to_vec(),
        Hardware::Tdx { td_quote } => TdQuote::parse(td_quote)?.report_data().to_vec(),
    };
    a.equal(
        format!(
            "{} report_data = {}(HCL runtime data)",
            if kind == HwKind::Snp {
                "SNP"
            } else {
                "TD quote"
            },
            hcl.hash
        ),
        rt_hash.to_hex(),
        hex::encode(hw_report_data.get(..rt_hash.len()).unwrap_or_default()),
    );
    Ok(())
}

/// What the runtime data says beyond the AK: the evidence version (see the module docs), and for version 2
/// the nonce in its user-data; the VM configuration is noted.
fn check_runtime_data(
    a: &mut Appraisal,
    ev: &AzureEvidence,
    hcl: &HclReport,
    attest: &Attest,
    expected_version: Option<u32>,
) -> Result<(), Error> {
    let runtime = hcl.runtime_json()?;
    let user_data = match runtime.get("user-data") {
        None => None,
        Some(u) => {
            let text = u.as_str().ok_or_else(|| {
                Error::Malformed("HCL runtime data: \"user-data\" is not a string".into())
            })?;
            Some(hex::decode(text).map_err(|e| Error::Malformed(format!("HCL user-data: {e}")))?)
        }
    };
    let user_data_set = user_data
        .as_ref()
        .is_some_and(|u| u.iter().any(|b| *b != 0));
    let version = match expected_version {
        Some(want) => {
            a.equal(
                "evidence version (as the relying party expects)",
                want,
                ev.version,
            );
            want
        }
        None if ev.version < 2 && user_data_set => {
            a.check(
                "evidence version (unsigned) agrees with the signed HCL user-data",
                false,
                "version 2: user-data is set, which binds the nonce in version 2 evidence",
                format!(
                    "version {}, whose checks would ignore user-data (--evidence-version {} accepts that)",
                    ev.version, ev.version
                ),
            );
            ev.version
        }
        None => ev.version,
    };
    if version >= 2 {
        let ud = user_data.ok_or_else(|| {
            Error::Malformed("v2 evidence: HCL runtime data has no \"user-data\"".into())
        })?;
        let mut want = attest.extra_data.clone();
        want.resize(ud.len().max(want.len()), 0);
        a.equal(
            "HCL user-data = quote nonce (evidence v2)",
            hex::encode(&want),
            hex::encode(&ud),
        );
    } else if user_data_set {
        a.note(format!(
            "HCL user-data {} not compared (evidence version {version})",
            user_data.as_deref().map(hex::encode).unwrap_or_default()
        ));
    }
    if let Some(cfg) = runtime.get("vm-configuration") {
        a.note(format!("HCL vm-configuration: {cfg}"));
    }
    Ok(())
}

/// SEV-SNP hardware evidence: the report in the HCL report against its VCEK and AMD's built-in chain for the
/// product (from the report's CPUID, else the VCEK's issuer), requested from VMPL 0. Returns the report and
/// its product.
fn check_snp(
    a: &mut Appraisal,
    hcl: &HclReport,
    vcek: &[u8],
    policy: &SnpPolicy,
) -> Result<(AttestationReport, Product), Error> {
    let report = AttestationReport::parse(hcl.hw_report())?;
    let vcek = Cert::load_first(vcek).map_err(|e| Error::cert("VCEK", e))?;
    let product = crate::snp::product_of(&report, &vcek).ok_or_else(|| {
        Error::Malformed(format!(
            "cannot tell the AMD product: report version {} without CPUID, VCEK issuer {:?}",
            report.version,
            vcek.issuer_cn()
        ))
    })?;
    let (ark, ask) = crate::snp::builtin_chain(product);
    let mut snp = policy.clone();
    snp.vmpl = Some(0);
    snp.report_data = None;
    a.extend(verify_report(&report, &vcek, &ask, &ark, &snp)?);
    Ok((report, product))
}

/// TDX hardware evidence: the TD quote ([`verify_td_quote`]), and the HCL's TDREPORT it was made from.
/// Returns the parsed quote.
fn check_tdx(
    a: &mut Appraisal,
    hcl: &HclReport,
    td_quote: &[u8],
    policy: &SnpPolicy,
) -> Result<TdQuote, Error> {
    let q = TdQuote::parse(td_quote)?;
    let now = policy.now.unwrap_or_else(crate::snp::now_secs);
    a.extend(verify_td_quote(&q, now)?);
    // The HCL's TDREPORT is what the quote was made from: its SEAM, TD and REPORTDATA fields must be the
    // quoted ones. (Its MAC only the CPU can check; the signed quote is what counts.)
    let tr = hcl.hw_report();
    let same = tr.get(264..384) == Some(q.seam_fields())
        && tr.get(512..912) == Some(q.td_fields())
        && tr.get(128..192) == Some(q.report_data());
    a.check(
        "HCL TDREPORT = TD quote body (SEAM, TDINFO, REPORTDATA)",
        same,
        "identical fields",
        if same {
            "identical fields"
        } else {
            "fields differ"
        },
    );
    if let Some(r) = &policy.reference {
        a.note(format!(
            "SNP reference values ({}) do not apply to TDX evidence",
            r.source
        ));
    }
    Ok(q)
}
