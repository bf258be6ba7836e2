//! `verify tpm` as one call: the quote, its signature, the AK, the PCR values, an event log and the
//! reference values named by file, read and checked in a fixed order (reference values, event log, quote,
//! signature, AK, PCR values, nonce) so that the first unusable input is the one reported.

use std::path::Path;

use yardstick_tpm::tpm2::Attest;

use super::{Ak, QuoteInput, QuoteSignature, TpmPolicy, parse_pcr_values, verify_quote};
use crate::appraisal::Appraisal;
use crate::input::{InputError, InputKind, evidence_error, load_eventlog, nonce, read};
use crate::refvals::{ManifestFile, expected_pcrs};

/// A TPM quote to verify, with what comes with it, and what the relying party requires.
#[derive(Debug, Clone, Copy)]
pub struct TpmRequest<'a> {
    /// The quote message, `TPMS_ATTEST` (`tpm2_quote -m`).
    pub quote: &'a Path,
    /// Its signature: `TPMT_SIGNATURE` (`tpm2_quote -s`) or raw.
    pub signature: &'a Path,
    /// The attestation key ([`Ak::parse`] encodings).
    pub ak: &'a Path,
    /// The PCR values ([`parse_pcr_values`] formats).
    pub pcrs: &'a Path,
    /// A TCG event log to replay against the quoted PCRs.
    pub eventlog: Option<&'a Path>,
    /// The expected nonce (`extraData`), hex of at most 64 bytes.
    pub nonce: Option<&'a str>,
    /// Fail without a nonce to compare ([`TpmPolicy::require_nonce`]).
    pub require_nonce: bool,
    /// Ignore PCR values the quote does not select instead of failing ([`TpmPolicy::allow_extra_pcrs`]).
    pub allow_extra_pcrs: bool,
    /// Accept SHA-1 signatures, marked weak ([`TpmPolicy::allow_sha1`]).
    pub allow_sha1: bool,
    /// A manifest with the expected PCRs (`tpm.pcrs`, `tpm.events`); it must have a `tpm` section.
    pub refvals: Option<&'a Path>,
    /// Only these PCRs of the manifest (default: all it lists).
    pub refvals_pcrs: Option<&'a [u32]>,
    /// Expected PCR values as PCR JSON, when no manifest is given.
    pub expected_pcrs: Option<&'a Path>,
}

/// Reads the files of `r` and verifies the quote ([`verify_quote`]). `Err` names the input that cannot be
/// used; a quote that fails a check is an [`Appraisal`] that did not pass.
pub fn verify_files(r: &TpmRequest<'_>) -> Result<Appraisal, InputError> {
    let reference = match r.refvals {
        Some(p) => Some(ManifestFile::load(p)?.pcr_reference(r.refvals_pcrs)?),
        None => r.expected_pcrs.map(expected_pcrs).transpose()?,
    };
    let eventlog = r.eventlog.map(load_eventlog).transpose()?;
    let message = read(r.quote, InputKind::TPM_QUOTE)?;
    let attest = Attest::parse_quote(&message).map_err(|source| InputError::Quote {
        path: r.quote.to_path_buf(),
        source,
    })?;
    let signature = QuoteSignature::parse(&read(r.signature, InputKind::TPM_SIGNATURE)?)
        .map_err(evidence_error(r.signature))?;
    let ak = Ak::parse(&read(r.ak, InputKind::KEY)?).map_err(evidence_error(r.ak))?;
    let pcrs = parse_pcr_values(
        &read(r.pcrs, InputKind::PCR_VALUES)?,
        Some(&attest.pcr_select),
    )
    .map_err(evidence_error(r.pcrs))?;
    let policy = TpmPolicy {
        nonce: nonce(r.nonce)?,
        require_nonce: r.require_nonce,
        allow_extra_pcrs: r.allow_extra_pcrs,
        allow_sha1: r.allow_sha1,
        reference,
        eventlog,
    };
    let input = QuoteInput {
        message: &message,
        signature: &signature,
        ak: &ak,
        pcrs: &pcrs,
    };
    let (appraisal, _) = verify_quote(input, &policy).map_err(evidence_error(r.quote))?;
    Ok(appraisal)
}
