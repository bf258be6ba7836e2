//! Guest modes: which of SEV, SEV-ES, SEV-SNP (with or without an SVSM) the guest launches in.
//!
//! [`SevMode`] has two spellings: the `--mode` names of sev-snp-measure ([`SevMode::as_str`], [`FromStr`]) and
//! the serde names the reference-value manifest uses (`sev`, `sev-es`, `snp`; an SVSM launch has none and is
//! not (de)serializable).

use std::fmt;
use std::str::FromStr;

/// How the guest is launched, which decides the measurement algorithm.
///
/// Serialized as the manifest spells it: `"sev"`, `"sev-es"`, `"snp"`. [`SevMode::SevSnpSvsm`] is skipped:
/// serializing it fails, and deserializing accepts only the three names above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SevMode {
    /// SEV: SHA-256 over the firmware and the kernel hashes table.
    #[serde(rename = "sev")]
    Sev,
    /// SEV-ES: as SEV, then every vCPU's VMSA.
    #[serde(rename = "sev-es")]
    SevEs,
    /// SEV-SNP: the SHA-384 launch digest chain over firmware pages, metadata sections and VMSAs.
    #[serde(rename = "snp")]
    SevSnp,
    /// SEV-SNP with a Coconut SVSM at VMPL0 below OVMF.
    #[serde(skip)]
    SevSnpSvsm,
}

impl SevMode {
    /// The canonical `--mode` spelling (sev-snp-measure's).
    pub const fn as_str(self) -> &'static str {
        match self {
            SevMode::Sev => "sev",
            SevMode::SevEs => "seves",
            SevMode::SevSnp => "snp",
            SevMode::SevSnpSvsm => "snp:svsm",
        }
    }

    /// The name sev-snp-measure prints in verbose mode.
    pub const fn upstream_name(self) -> &'static str {
        match self {
            SevMode::Sev => "SEV",
            SevMode::SevEs => "SEV_ES",
            SevMode::SevSnp => "SEV_SNP",
            SevMode::SevSnpSvsm => "SEV_SNP_SVSM",
        }
    }

    /// The name people write in prose and messages: `SEV`, `SEV-ES`, `SEV-SNP`, `SEV-SNP with SVSM`.
    pub const fn title(self) -> &'static str {
        match self {
            SevMode::Sev => "SEV",
            SevMode::SevEs => "SEV-ES",
            SevMode::SevSnp => "SEV-SNP",
            SevMode::SevSnpSvsm => "SEV-SNP with SVSM",
        }
    }

    /// Whether the mode measures VMSAs (and so needs a vCPU count).
    pub const fn has_vmsas(self) -> bool {
        !matches!(self, SevMode::Sev)
    }

    /// The SEV_FEATURES the measured VMSAs carry when `guest_features` is asked for: none for SEV (no VMSA),
    /// always 0 for SEV-ES (no such field yet), `guest_features` for SEV-SNP, always 1 (SNP active) for the
    /// SVSM's VMSA.
    pub const fn vmsa_features(self, guest_features: u64) -> Option<u64> {
        match self {
            SevMode::Sev => None,
            SevMode::SevEs => Some(0),
            SevMode::SevSnp => Some(guest_features),
            SevMode::SevSnpSvsm => Some(1),
        }
    }

    /// Length of the launch digest in bytes: 32 (SHA-256) for SEV and SEV-ES, 48 (the SHA-384 chain, the
    /// attestation report's MEASUREMENT) for SEV-SNP.
    pub const fn digest_len(self) -> usize {
        match self {
            SevMode::Sev | SevMode::SevEs => 32,
            SevMode::SevSnp | SevMode::SevSnpSvsm => 48,
        }
    }
}

impl fmt::Display for SevMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown mode name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown mode {0:?} (valid: sev, seves, snp, snp:ovmf-hash, snp:svsm; aliases SEV, sev-es, SEV-ES, SEVES, sev-snp, SNP, SEV-SNP, sev-snp:svsm)"
)]
pub struct UnknownMode(pub String);

impl FromStr for SevMode {
    type Err = UnknownMode;

    /// Accepts the spellings sev-snp-measure's `SevMode.from_str` accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sev" | "SEV" => Ok(SevMode::Sev),
            "seves" | "sev-es" | "SEVES" | "SEV-ES" => Ok(SevMode::SevEs),
            "snp" | "sev-snp" | "SNP" | "SEV-SNP" => Ok(SevMode::SevSnp),
            _ if s.eq_ignore_ascii_case("snp:svsm") || s.eq_ignore_ascii_case("sev-snp:svsm") => {
                Ok(SevMode::SevSnpSvsm)
            }
            _ => Err(UnknownMode(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest's spellings, and nothing else: the SVSM mode has none.
    #[test]
    fn serde_names() {
        for (m, j) in [
            (SevMode::Sev, "\"sev\""),
            (SevMode::SevEs, "\"sev-es\""),
            (SevMode::SevSnp, "\"snp\""),
        ] {
            assert_eq!(serde_json::to_string(&m).unwrap(), j);
            assert_eq!(serde_json::from_str::<SevMode>(j).unwrap(), m);
        }
        assert!(serde_json::to_string(&SevMode::SevSnpSvsm).is_err());
        for bad in ["\"snp:svsm\"", "\"seves\"", "\"SNP\"", "\"sev_es\""] {
            let e = serde_json::from_str::<SevMode>(bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("expected one of `sev`, `sev-es`, `snp`"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn digest_lengths() {
        assert_eq!(SevMode::Sev.digest_len(), 32);
        assert_eq!(SevMode::SevEs.digest_len(), 32);
        assert_eq!(SevMode::SevSnp.digest_len(), 48);
        assert_eq!(SevMode::SevSnpSvsm.digest_len(), 48);
    }
}
