//! Export to a systemd-pcrlock `.pcrlock` file.
//!
//! systemd.pcrlock(5): a pcrlock file is a JSON object `{"records": [...]}` following a subset of the TCG
//! Canonical Event Log format (CEL-JSON); each record is `{"pcr": N, "digests": [{"hashAlg": "sha256",
//! "digest": "<hex>"}, ...]}`, one per expected TPM2_PCR_Extend, in measurement order. `recnum`, `content`
//! and `content_type` are ignored by systemd and not written. systemd writes the digests of a record in the
//! order sha1, sha256, sha384, sha512 (`tpm2_hash_algorithms`), which is also [`Algorithm`]'s order.

use serde::{Deserialize, Serialize};
use yardstick_common::hash::Algorithm;

use crate::manifest::Manifest;

/// A `.pcrlock` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrlockFile {
    /// Expected measurements, in order.
    pub records: Vec<PcrlockRecord>,
}

/// One expected measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrlockRecord {
    /// PCR index.
    pub pcr: u32,
    /// The digest extended, per bank.
    pub digests: Vec<PcrlockDigest>,
}

/// A digest in one bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrlockDigest {
    /// Bank name as systemd spells it (`sha1`, `sha256`, `sha384`, `sha512`).
    #[serde(rename = "hashAlg")]
    pub hash_alg: String,
    /// Lower-case hex digest.
    pub digest: String,
}

/// Why no pcrlock file could be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PcrlockError {
    /// The manifest has no TPM measurements at all.
    #[error("the manifest has no TPM measurements (tpm.events is empty)")]
    NoEvents,
    /// The filter left nothing.
    #[error("no TPM measurement matches component {0:?}")]
    NoMatch(String),
}

/// The records of `m`'s TPM measurements, optionally only those of one component (`uki` gives what
/// `systemd-pcrlock lock-uki` writes: the PCR 4 Authenticode record, then the PCR 11 section records).
pub fn pcrlock_file(m: &Manifest, component: Option<&str>) -> Result<PcrlockFile, PcrlockError> {
    let events = m.tpm.as_ref().map(|t| t.events.as_slice()).unwrap_or(&[]);
    if events.is_empty() {
        return Err(PcrlockError::NoEvents);
    }
    let records: Vec<PcrlockRecord> = events
        .iter()
        .filter(|e| component.is_none_or(|c| e.component == c))
        .map(|e| PcrlockRecord {
            pcr: e.pcr,
            digests: Algorithm::ALL
                .iter()
                .filter_map(|alg| {
                    e.digests.get(alg).map(|d| PcrlockDigest {
                        hash_alg: alg.name().to_string(),
                        digest: d.to_hex(),
                    })
                })
                .collect(),
        })
        .collect();
    if records.is_empty() {
        return Err(PcrlockError::NoMatch(component.unwrap_or("").to_string()));
    }
    Ok(PcrlockFile { records })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexfmt::HexBytes;
    use crate::manifest::{MeasuredEvent, TpmRefs};
    use std::collections::BTreeMap;

    fn event(pcr: u32, component: &str, data: &[u8]) -> MeasuredEvent {
        let digests: BTreeMap<Algorithm, HexBytes> = Algorithm::ALL
            .iter()
            .map(|a| (*a, HexBytes::from(&a.digest(data))))
            .collect();
        MeasuredEvent {
            pcr,
            component: component.into(),
            description: String::from_utf8_lossy(data).into_owned(),
            digests,
        }
    }

    fn manifest(events: Vec<MeasuredEvent>) -> Manifest {
        let mut m = Manifest::new();
        m.tpm = Some(TpmRefs {
            pcrs: yardstick_tpm::PcrBanks::new(),
            pcr11_phases: vec![],
            events,
            assumptions: vec![],
            not_predicted: Default::default(),
        });
        m
    }

    /// systemd ships `src/pcrlock/pcrlock.d/750-enter-initrd.pcrlock` (systemd v255+): one PCR 11 record of
    /// the word "enter-initrd" in four banks. The same measurement exported from a manifest must give that
    /// file's JSON value exactly (record shape, key names, bank order, digests).
    #[test]
    fn matches_systemd_750_enter_initrd() {
        let published = r#"{"records":[{"pcr":11,"digests":[{"hashAlg":"sha1","digest":"b1b01d5f73f321eb70e76f8a0e241ac0a3fa4a6e"},{"hashAlg":"sha256","digest":"51e6b92f405d1f98d96e3de343d61d420ad6923b25de21d766f9298192f14fed"},{"hashAlg":"sha384","digest":"687eef3a3a8c716439b5ed583657e8668401630c321f2f35d19b953ddf20b68a96474d0c2e5f0e1757bfa5ba70b9fc32"},{"hashAlg":"sha512","digest":"ab0ddfdabe43f1d06b3e58fbe17439a0f7f552e9e228d85665d485ececf7e733bae4cd7e0a17e5456e2ee7e412f5a0f37de05a782cce781e173ee26958de7f30"}]}]}"#;
        let m = manifest(vec![event(11, "phase", b"enter-initrd")]);
        let ours = serde_json::to_value(pcrlock_file(&m, None).unwrap()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(published).unwrap();
        assert_eq!(ours, theirs);
    }

    /// systemd's `350-action-efi-application.pcrlock`: PCR 4, the EV_EFI_ACTION string "Calling EFI
    /// Application from Boot Option" (TCG PC Client PFP, hashed without NUL).
    #[test]
    fn matches_systemd_350_action_efi_application() {
        let m = manifest(vec![
            event(4, "firmware", b"Calling EFI Application from Boot Option"),
            event(11, "uki", b".linux\0"),
        ]);
        let f = pcrlock_file(&m, Some("firmware")).unwrap();
        assert_eq!(f.records.len(), 1);
        assert_eq!(f.records[0].pcr, 4);
        assert_eq!(f.records[0].digests[1].hash_alg, "sha256");
        assert_eq!(
            f.records[0].digests[1].digest,
            "3d6772b4f84ed47595d72a2c4c5ffd15f5bb72c7507fe26f2aaee2c69d5633ba"
        );
        assert_eq!(pcrlock_file(&m, None).unwrap().records.len(), 2);
        assert_eq!(
            pcrlock_file(&m, Some("nope")),
            Err(PcrlockError::NoMatch("nope".into()))
        );
        assert_eq!(
            pcrlock_file(&Manifest::new(), None),
            Err(PcrlockError::NoEvents)
        );
    }
}
