//! `verify azure` as one call: the evidence and the reference values named by file, read and checked in a
//! fixed order (manifest, PCR reference, launch digests, evidence, nonce, time) so that the first unusable
//! input is the one reported.
//!
//! Against a manifest, only PCR 11 is compared by default, as Trustee's default policy compares
//! `snp_pcr11` / `tdx_pcr11`: the manifest's other PCRs describe an OVMF platform, not Azure's firmware.

use std::path::Path;

use super::{AzureEvidence, AzurePolicy, verify_azure};
use crate::appraisal::Appraisal;
use crate::input::{InputError, evidence_error, nonce, read, verification_time};
use crate::refvals::{ManifestFile, expected_pcrs, launch_reference};
use crate::snp::{GuestRules, SnpPolicy};
use crate::tpm::PcrReference;

/// The PCRs of a manifest compared when none are named: PCR 11, as in Trustee's default policy.
pub const DEFAULT_PCRS: [u32; 1] = [11];

/// Azure vTPM evidence to verify, and what the relying party requires.
#[derive(Debug, Clone, Copy)]
pub struct AzureRequest<'a> {
    /// Trustee's evidence JSON (SNP or TDX, version 0, 1 or 2).
    pub evidence: &'a Path,
    /// The expected nonce, hex of at most 64 bytes.
    pub nonce: Option<&'a str>,
    /// A manifest with expected PCRs and launch digests; it must have one or the other.
    pub refvals: Option<&'a Path>,
    /// The manifest's PCRs to compare (default: [`DEFAULT_PCRS`]).
    pub refvals_pcrs: Option<&'a [u32]>,
    /// Expected PCR values as PCR JSON, when the manifest gives none.
    pub expected_pcrs: Option<&'a Path>,
    /// Further acceptable SEV-SNP launch digests, 48-byte hex each.
    pub measurements: &'a [String],
    /// The verification time for certificate validity, RFC 3339 (`None` = now).
    pub time: Option<&'a str>,
    /// Guest-policy requirements (SEV-SNP evidence).
    pub guest: GuestRules,
}

/// Reads the files of `r` and verifies the evidence ([`verify_azure`]). `Err` names the input that cannot be
/// used; evidence that fails a check is an [`Appraisal`] that did not pass. With a manifest and no
/// `refvals_pcrs`, a note says that only PCR 11 was compared.
pub fn verify_files(r: &AzureRequest<'_>) -> Result<Appraisal, InputError> {
    let manifest = r.refvals.map(ManifestFile::load).transpose()?;
    let pcrs = pcr_reference(manifest.as_ref(), r.refvals_pcrs, r.expected_pcrs)?;
    let reference = launch_reference(r.measurements, manifest.as_ref(), false)?;
    let ev = AzureEvidence::parse(&read(r.evidence)?).map_err(evidence_error(r.evidence))?;
    let policy = AzurePolicy {
        nonce: nonce(r.nonce)?,
        pcrs,
        snp: SnpPolicy {
            reference,
            now: verification_time(r.time)?,
            ..r.guest.policy()
        },
    };
    let mut appraisal = verify_azure(&ev, &policy).map_err(evidence_error(r.evidence))?;
    if let Some(m) = &manifest
        && m.has_tpm()
        && r.refvals_pcrs.is_none()
    {
        appraisal.note(format!(
            "{}: only PCR 11 compared (the manifest's other PCRs describe an OVMF platform, not Azure's firmware); --refvals-pcrs selects others",
            m.path.display()
        ));
    }
    Ok(appraisal)
}

/// The PCRs the evidence is compared against: the manifest's [`DEFAULT_PCRS`] or the ones `only` names, or
/// else the PCR JSON `expected`. A manifest with neither PCRs nor SEV-SNP launch digests is an error.
pub fn pcr_reference(
    manifest: Option<&ManifestFile>,
    only: Option<&[u32]>,
    expected: Option<&Path>,
) -> Result<Option<PcrReference>, InputError> {
    match manifest {
        Some(m) if m.has_tpm() || only.is_some() => m
            .pcr_reference(Some(only.unwrap_or(&DEFAULT_PCRS)))
            .map(Some),
        Some(m) if !m.has_snp() => Err(InputError::NothingToCompare {
            path: m.path.clone(),
        }),
        _ => expected.map(expected_pcrs).transpose(),
    }
}
