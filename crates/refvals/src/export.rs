//! A manifest for a UKI built elsewhere, and the exports of a manifest in the formats relying parties read.

use crate::manifest::{Component, Manifest, ManifestError, TpmRefs};
use crate::pcrlock::{self, PcrlockError};
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
}

/// The text of an export, ending in a newline; `component` limits a pcrlock file to one component's
/// measurements.
pub fn export(
    m: &Manifest,
    format: ExportFormat,
    component: Option<&str>,
) -> Result<String, ExportError> {
    let text = match format {
        ExportFormat::Rvps => serde_json::to_string_pretty(&rvps::rvps_message(m)?)?,
        ExportFormat::Pcrlock => serde_json::to_string(&pcrlock::pcrlock_file(m, component)?)?,
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
