//! Guest modes: which of SEV, SEV-ES, SEV-SNP (with or without an SVSM) the guest launches in.

use std::fmt;
use std::str::FromStr;

/// How the guest is launched, which decides the measurement algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SevMode {
    /// SEV: SHA-256 over the firmware and the kernel hashes table.
    Sev,
    /// SEV-ES: as SEV, then every vCPU's VMSA.
    SevEs,
    /// SEV-SNP: the SHA-384 launch digest chain over firmware pages, metadata sections and VMSAs.
    SevSnp,
    /// SEV-SNP with a Coconut SVSM at VMPL0 below OVMF.
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

    /// Whether the mode measures VMSAs (and so needs a vCPU count).
    pub const fn has_vmsas(self) -> bool {
        !matches!(self, SevMode::Sev)
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
