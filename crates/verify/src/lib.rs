//! Relying-party checks, offline: SEV-SNP attestation reports, TPM 2.0 quotes and Azure confidential-VM vTPM
//! evidence, each checked against vendor roots compiled into this crate and against reference values.
//!
//! Every verdict is an [`Appraisal`]: named checks with the expected and the actual value, so a failure
//! explains itself ([`Appraisal::to_text`], or JSON through `Serialize`). Errors ([`Error`]) are for input
//! that cannot be checked at all (not a report, a certificate whose key cannot be decoded, truncated TPM
//! structures).
//!
//! Two levels of entry point: on parsed evidence ([`snp::verify_report`], [`tpm::verify_quote`],
//! `azure::verify_azure`), and on files and option values as a relying party's tool takes them
//! ([`snp::verify_files`], [`tpm::verify_files`], `azure::verify_files`, each with a request struct),
//! which load the evidence and the reference values ([`refvals`]) and name the file or option of any
//! unusable input ([`input::InputError`]).
//!
//! Verified evidence also yields its [`claims::Claims`], named and encoded as Trustee's verifier for that
//! kind names them, on which an attestation policy written for Trustee is evaluated ([`policy`]).
//!
//! Evidence kinds a relying party may not need are Cargo features, on by default: `azure` (Azure
//! confidential-VM vTPM evidence: the HCL report, its SNP report or TD quote, the vTPM quote); `policy`
//! (evaluating Rego attestation policies, with the `regorus` engine).
//!
//! ```
//! use yardstick_verify::Appraisal;
//! let mut a = Appraisal::new();
//! a.equal("PCR 11 sha256", "0a1b", "9f8e");
//! assert!(!a.passed());
//! assert_eq!(a.failures().next().unwrap().actual, "9f8e");
//! ```

#![forbid(unsafe_code)]

pub mod appraisal;
#[cfg(feature = "azure")]
pub mod azure;
pub mod claims;
pub mod input;
pub mod keys;
#[cfg(feature = "policy")]
pub mod policy;
pub mod refvals;
pub mod snp;
pub mod tdx;
pub mod time;
pub mod tpm;
pub mod x509;

pub use appraisal::{Appraisal, Check, Status};

pub(crate) use yardstick_common::hex;

/// Input that cannot be verified at all (as opposed to evidence that fails a check).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate is unusable.
    #[error("{which} certificate")]
    Cert {
        /// Which certificate (`VCEK`, `ASK`, `ARK`, `PCK`).
        which: &'static str,
        /// Why.
        source: x509::CertError,
    },
    /// The SEV-SNP report is malformed.
    #[error(transparent)]
    Report(#[from] snp::ReportError),
    /// A TPM structure is malformed.
    #[error("{what}")]
    Tpm2 {
        /// Which input (`quote`, `signature`, `AK`, `PCR file`).
        what: &'static str,
        /// Why.
        source: yardstick_tpm::tpm2::Tpm2Error,
    },
    /// Anything else malformed in the evidence, described.
    #[error("{0}")]
    Malformed(String),
}

impl Error {
    pub(crate) fn cert(which: &'static str, source: x509::CertError) -> Error {
        Error::Cert { which, source }
    }

    pub(crate) fn tpm2(what: &'static str, source: yardstick_tpm::tpm2::Tpm2Error) -> Error {
        Error::Tpm2 { what, source }
    }
}
