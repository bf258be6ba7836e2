//! `verify snp` as one call: the report, the certificate chain and the reference values named by file,
//! the bindings as hex, read and checked in a fixed order (reference values, time, report, VCEK, ASK, ARK,
//! bindings) so that the first unusable input is the one reported.

use std::path::Path;

use super::{AttestationReport, GuestRules, SnpPolicy, verify_report};
use crate::Error;
use crate::appraisal::Appraisal;
use crate::input::{
    InputError, InputKind, evidence_error, hex_arg, load_cert, read, verification_time,
};
use crate::refvals::{ManifestFile, launch_reference};

/// A SEV-SNP attestation report to verify, with its certificates, and what the relying party requires.
#[derive(Debug, Clone, Copy)]
pub struct SnpRequest<'a> {
    /// The attestation report: binary (1184 bytes) or hex text.
    pub report: &'a Path,
    /// The VCEK (or VLEK) certificate, PEM or DER.
    pub vcek: &'a Path,
    /// AMD's ASK (or ASVK) certificate, PEM or DER.
    pub ask: &'a Path,
    /// AMD's ARK certificate, PEM or DER; it must be one of the pinned roots.
    pub ark: &'a Path,
    /// A manifest whose SEV-SNP launch digests are acceptable; it must list at least one.
    pub refvals: Option<&'a Path>,
    /// Further acceptable launch digests, 48-byte hex each.
    pub measurements: &'a [String],
    /// The verification time for certificate validity, RFC 3339 (`None` = now).
    pub time: Option<&'a str>,
    /// The required REPORT_DATA, hex of at most 64 bytes, zero-padded.
    pub report_data: Option<&'a str>,
    /// The required HOST_DATA, hex of at most 32 bytes, zero-padded.
    pub host_data: Option<&'a str>,
    /// The required VMPL of the report request.
    pub vmpl: u32,
    /// Guest-policy requirements.
    pub guest: GuestRules,
}

/// Reads the files of `r` and verifies the report ([`verify_report`]). `Err` names the input that cannot be
/// used; a report that fails a check is an [`Appraisal`] that did not pass.
pub fn verify_files(r: &SnpRequest<'_>) -> Result<Appraisal, InputError> {
    let manifest = r.refvals.map(ManifestFile::load).transpose()?;
    let reference = launch_reference(r.measurements, manifest.as_ref(), true)?;
    let now = verification_time(r.time)?;
    let report = AttestationReport::parse_any(&read(r.report, InputKind::SNP_REPORT)?)
        .map_err(|e| evidence_error(r.report)(e.into()))?;
    let vcek = load_cert(r.vcek, "VCEK")?;
    let ask = load_cert(r.ask, "ASK")?;
    let ark = load_cert(r.ark, "ARK")?;
    let policy = SnpPolicy {
        vmpl: Some(r.vmpl),
        report_data: padded_hex("--report-data", r.report_data)?,
        host_data: padded_hex("--host-data", r.host_data)?,
        reference,
        now,
        ..r.guest.policy()
    };
    verify_report(&report, &vcek, &ask, &ark, &policy).map_err(|e| {
        // A certificate error is about that certificate's file; anything else about the report's.
        let path = match &e {
            Error::Cert { which: "ASK", .. } => r.ask,
            Error::Cert { which: "ARK", .. } => r.ark,
            Error::Cert { .. } => r.vcek,
            _ => r.report,
        };
        evidence_error(path)(e)
    })
}

/// An `N`-byte field given as hex of at most `N` bytes, zero-padded.
fn padded_hex<const N: usize>(
    flag: &'static str,
    hex: Option<&str>,
) -> Result<Option<[u8; N]>, InputError> {
    Ok(hex
        .map(|s| hex_arg(flag, s, N, true))
        .transpose()?
        .map(|b| b.try_into().unwrap_or([0; N])))
}
