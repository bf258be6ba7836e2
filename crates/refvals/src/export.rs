//! A manifest for a UKI built elsewhere, and the exports of a manifest in the formats relying parties read.

use crate::manifest::{Component, Manifest, ManifestError, TpmRefs};
use crate::pcrlock::{self, PcrlockError};
use crate::rego::{self, Evidence};
use crate::rvps::{self, NothingToExport};
use yardstick_tpm::predict::Prediction;

/// The formats a manifest is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// A Trustee RVPS registration message (pretty JSON).
    Rvps,
    /// A systemd-pcrlock file (compact JSON).
    Pcrlock,
    /// A Trustee attestation policy (Rego) comparing claims with the RVPS values ([`crate::rego`]).
    Rego,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The manifest has no reference value for RVPS.
    #[error(transparent)]
    Rvps(#[from] NothingToExport),
    /// The manifest has no measurement for pcrlock (or none of the component).
    #[error(transparent)]
    Pcrlock(#[from] PcrlockError),
    /// The JSON could not be encoded.
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    /// A policy was asked for, but the manifest has values for no kind of evidence and none was named.
    #[error(
        "the manifest has reference values for no kind of evidence (no SEV-SNP launch digest, no PCR 11 prediction); name the kinds with --evidence"
    )]
    NoEvidenceKind,
}

/// What an export writes beyond the manifest: a pcrlock file's component, a policy's evidence kinds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions<'a> {
    /// pcrlock: only this component's measurements.
    pub component: Option<&'a str>,
    /// rego: the kinds of evidence the policy covers (empty: those the manifest has values for,
    /// [`crate::rego::evidence_in`]).
    pub evidence: &'a [Evidence],
}

/// The text of an export, ending in a newline; `component` limits a pcrlock file to one component's
/// measurements.
pub fn export(
    m: &Manifest,
    format: ExportFormat,
    component: Option<&str>,
) -> Result<String, ExportError> {
    export_with(
        m,
        format,
        &ExportOptions {
            component,
            ..ExportOptions::default()
        },
    )
}

/// [`export`] with every option.
pub fn export_with(
    m: &Manifest,
    format: ExportFormat,
    opts: &ExportOptions<'_>,
) -> Result<String, ExportError> {
    let text = match format {
        ExportFormat::Rvps => serde_json::to_string_pretty(&rvps::rvps_message(m)?)?,
        ExportFormat::Pcrlock => serde_json::to_string(&pcrlock::pcrlock_file(m, opts.component)?)?,
        ExportFormat::Rego => {
            let kinds = if opts.evidence.is_empty() {
                rego::evidence_in(m)
            } else {
                opts.evidence.to_vec()
            };
            if kinds.is_empty() {
                return Err(ExportError::NoEvidenceKind);
            }
            // The policy text ends in a newline already.
            return Ok(rego::policy(&kinds));
        }
    };
    Ok(text + "\n")
}

impl Manifest {
    /// The manifest of a UKI built elsewhere: the UKI as component `uki` (`file_name` is recorded) and the TPM
    /// prediction, noting how many boot options the firmware tried before the UKI.
    pub fn for_uki(
        uki: &[u8],
        file_name: Option<&str>,
        prediction: &Prediction,
        boot_retries: u32,
    ) -> Result<Manifest, ManifestError> {
        let mut tpm = TpmRefs::from_prediction(prediction);
        tpm.assumptions.push(format!(
            "{boot_retries} boot option(s) tried before the UKI (0: the boot disk has bootindex=0)"
        ));
        let mut m = Manifest::new();
        m.components
            .push(Component::from_bytes("uki", file_name, uki));
        m.tpm = Some(tpm);
        m.validate()?;
        Ok(m)
    }
}
