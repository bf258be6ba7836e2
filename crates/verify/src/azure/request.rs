//! `verify azure` as one call: the evidence and the reference values named by file, read and checked in a
//! fixed order (manifest, PCR reference, launch digests, evidence, nonce, time) so that the first unusable
//! input is the one reported.
//!
//! Against a manifest, only PCR 11 is compared by default, as Trustee's default policy compares
//! `snp_pcr11` / `tdx_pcr11`: the manifest's other PCRs describe an OVMF platform, not Azure's firmware.

use std::path::Path;

use super::{AzureEvidence, AzurePolicy, verify_azure};
use crate::appraisal::Appraisal;
use crate::input::{InputError, InputKind, evidence_error, nonce, read, verification_time};
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
    /// Fail without a nonce to compare ([`AzurePolicy::require_nonce`]).
    pub require_nonce: bool,
    /// Accept a TPM quote signed over SHA-1, marked weak ([`AzurePolicy::allow_sha1`]).
    pub allow_sha1: bool,
    /// The evidence version expected ([`AzurePolicy::evidence_version`]).
    pub evidence_version: Option<u32>,
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
    let ev = AzureEvidence::parse(&read(r.evidence, InputKind::AZURE_EVIDENCE)?)
        .map_err(evidence_error(r.evidence))?;
    let policy = AzurePolicy {
        nonce: nonce(r.nonce)?,
        require_nonce: r.require_nonce,
        allow_sha1: r.allow_sha1,
        evidence_version: r.evidence_version,
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

#[cfg(test)]
mod tests {
    use super::*;
    use yardstick_common::hash::Algorithm;
    use yardstick_refvals::{HexBytes, Manifest, SnpLaunch, TpmRefs};
    use yardstick_snp::sev_mode::SevMode;
    use yardstick_snp::vmm_types::VmmType;
    use yardstick_tpm::PcrBanks;

    fn manifest(pcrs: bool, snp: bool) -> ManifestFile {
        let mut m = Manifest::new();
        if pcrs {
            let mut banks = PcrBanks::new();
            banks.set(4, Algorithm::Sha256.digest(b"4"));
            banks.set(11, Algorithm::Sha256.digest(b"11"));
            m.tpm = Some(TpmRefs {
                pcrs: banks,
                pcr11_phases: vec![],
                events: vec![],
                assumptions: vec![],
                not_predicted: Default::default(),
            });
        }
        if snp {
            m.snp.push(SnpLaunch {
                mode: SevMode::SevSnp,
                measurement: HexBytes(vec![1; 48]),
                vcpus: 1,
                vcpu_type: None,
                vcpu_sig: 0,
                vmm_type: VmmType::Qemu,
                guest_features: 1,
                kernel_hashes: false,
                components: vec![],
            });
        }
        ManifestFile {
            path: "m.json".into(),
            manifest: m,
        }
    }

    /// PCR 11 by default, others when asked for; a launch-digest-only manifest compares no PCR unless asked.
    #[test]
    fn pcr_11_by_default() {
        let pcrs = |r: Option<PcrReference>| -> Vec<u32> {
            r.unwrap().values.keys().map(|(_, p)| *p).collect()
        };
        let both = manifest(true, true);
        assert_eq!(pcrs(pcr_reference(Some(&both), None, None).unwrap()), [11]);
        assert_eq!(
            pcrs(pcr_reference(Some(&both), Some(&[4, 11]), None).unwrap()),
            [4, 11]
        );
        let snp_only = manifest(false, true);
        assert!(
            pcr_reference(Some(&snp_only), None, None)
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            pcr_reference(Some(&snp_only), Some(&[11]), None),
            Err(InputError::NoTpmSection { .. })
        ));
        assert_eq!(
            pcr_reference(Some(&manifest(false, false)), None, None)
                .unwrap_err()
                .to_string(),
            "m.json: the manifest has neither a tpm section nor SEV-SNP launch digests to compare"
        );
        assert!(pcr_reference(None, None, None).unwrap().is_none());
    }
}
