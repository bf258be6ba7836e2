//! `verify tdx` as one call: the quote, the collateral directory, the CC event log and the reference values
//! named by file, read and checked in a fixed order (manifest, --report-data, time, quote, CCEL, collateral)
//! so that the first unusable input is the one reported.

use std::path::{Path, PathBuf};

use yardstick_tpm::eventlog::EventLog;

use super::collateral::{Collateral, FILES};
use super::{TdQuote, TdxPolicy, TdxReference, verify_quote};
use crate::appraisal::Appraisal;
use crate::input::{InputError, InputKind, evidence_error, hex_arg, read, verification_time};
use crate::refvals::ManifestFile;
use crate::{Error, hex};

/// A TD quote to verify and what the relying party brings.
#[derive(Debug, Clone, Copy)]
pub struct TdxRequest<'a> {
    /// The quote: binary, or its hex text.
    pub quote: &'a Path,
    /// A directory of Intel collateral ([`super::collateral`] names its files).
    pub collateral: Option<&'a Path>,
    /// The TD's CC event log (the ACPI CCEL area's contents).
    pub ccel: Option<&'a Path>,
    /// A manifest with a `tdx` section.
    pub refvals: Option<&'a Path>,
    /// The required REPORTDATA, hex of at most 64 bytes, zero-padded.
    pub report_data: Option<&'a str>,
    /// The verification time, RFC 3339 (`None` = now).
    pub time: Option<&'a str>,
}

/// Reads the files of `r` and verifies the quote ([`verify_quote`]). `Err` names the input that cannot be
/// used; a quote that fails a check is an [`Appraisal`] that did not pass.
pub fn verify_files(r: &TdxRequest<'_>) -> Result<Appraisal, InputError> {
    let reference = match r.refvals {
        Some(p) => {
            let m = ManifestFile::load(p)?;
            if m.manifest.tdx.is_empty() {
                return Err(InputError::NoTdxSection {
                    path: p.to_path_buf(),
                });
            }
            Some(TdxReference {
                source: m.source(),
                launches: m.manifest.tdx,
            })
        }
        None => None,
    };
    let report_data = r
        .report_data
        .map(|s| hex_arg("--report-data", s, 64, true))
        .transpose()?
        .map(|b| b.try_into().unwrap_or([0; 64]));
    let now = verification_time(r.time)?;
    let quote =
        TdQuote::parse_allowing_trailing(&quote_bytes(&read(r.quote, InputKind::TD_QUOTE)?))
            .map_err(evidence_error(r.quote))?;
    let ccel = r
        .ccel
        .map(|p| {
            EventLog::parse(&read(p, InputKind::EVENT_LOG)?).map_err(|source| {
                InputError::EventLog {
                    path: p.to_path_buf(),
                    source,
                }
            })
        })
        .transpose()?;
    let collateral = r.collateral.map(load_collateral).transpose()?;
    let policy = TdxPolicy {
        now,
        report_data,
        reference,
        ccel,
        collateral,
    };
    verify_quote(&quote, &policy).map_err(|e| {
        let path = match (&e, r.collateral) {
            (
                Error::Cert {
                    which: "collateral issuer",
                    ..
                },
                Some(dir),
            ) => dir,
            _ => r.quote,
        };
        evidence_error(path)(e)
    })
}

/// A quote file holds the binary quote or its hex text (whitespace allowed).
fn quote_bytes(raw: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(raw).ok().map(str::trim);
    match text {
        Some(t)
            if !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace()) =>
        {
            let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            hex::decode(&compact).unwrap_or_else(|_| raw.to_vec())
        }
        _ => raw.to_vec(),
    }
}

/// Reads the collateral directory's files ([`FILES`]); the CRLs may also be named `.pem`.
fn load_collateral(dir: &Path) -> Result<Collateral, InputError> {
    let path = |name: &str| dir.join(name);
    let pick = |name: &str| -> PathBuf {
        let p = path(name);
        if !p.exists()
            && let Some(stem) = name.strip_suffix(".der")
        {
            let pem = path(&format!("{stem}.pem"));
            if pem.exists() {
                return pem;
            }
        }
        p
    };
    let paths: Vec<PathBuf> = FILES.iter().map(|f| pick(f)).collect();
    let get = |i: usize| -> Result<Vec<u8>, InputError> {
        let p = paths.get(i).cloned().unwrap_or_default();
        read(&p, InputKind::TDX_COLLATERAL)
    };
    let qe_chain_path = paths.get(3).cloned().unwrap_or_default();
    let qe_chain = if qe_chain_path.exists() {
        Some(get(3)?)
    } else {
        None
    };
    let (tcb, tcb_chain, qe, pck_crl, root_crl) = (get(0)?, get(1)?, get(2)?, get(4)?, get(5)?);
    Collateral::parse(
        &tcb,
        &tcb_chain,
        &qe,
        qe_chain.as_deref(),
        &pck_crl,
        &root_crl,
    )
    .map_err(|e| InputError::Evidence {
        path: paths.get(e.file).cloned().unwrap_or_default(),
        source: e.error,
    })
}
