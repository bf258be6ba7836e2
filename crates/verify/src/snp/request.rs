//! `verify snp` as one call: the report, the certificate chain and the reference values named by file,
//! the bindings as hex, read and checked in a fixed order (reference values, time, report, VCEK, ASK, ARK,
//! bindings) so that the first unusable input is the one reported.
//!
//! Each certificate comes from the first of: its own option (`--vcek`, `--ask`, `--ark`), the `snpguest`
//! directory (`--certs`), the extended report's certificate table (`--cert-table`), and, for the ASK and the
//! ARK, the chain built in for the report's product ([`super::builtin_chain`]). A given ARK is still checked
//! against the pins: the built-in one is only the default.

use std::fmt;
use std::path::{Path, PathBuf};

use super::certs::{CertDir, CertTable, CertTableError};
use super::{AttestationReport, GuestRules, Product, SnpPolicy, verify_report};
use crate::Error;
use crate::appraisal::Appraisal;
use crate::input::{
    InputError, InputKind, evidence_error, hex_arg, load_cert, read, verification_time,
};
use crate::refvals::{ManifestFile, launch_reference};
use crate::x509::Cert;

/// A SEV-SNP attestation report to verify, with where its certificates are, and what the relying party
/// requires.
#[derive(Debug, Clone, Copy)]
pub struct SnpRequest<'a> {
    /// The attestation report: binary (1184 bytes) or hex text.
    pub report: &'a Path,
    /// The VCEK (or VLEK) certificate, PEM or DER.
    pub vcek: Option<&'a Path>,
    /// AMD's ASK (or ASVK) certificate, PEM or DER (default: from `certs`/`cert_table`, else built in).
    pub ask: Option<&'a Path>,
    /// AMD's ARK certificate, PEM or DER; it must be one of the pinned roots (default: as `ask`).
    pub ark: Option<&'a Path>,
    /// A directory as `snpguest` writes certificates: `vcek`/`vlek`, `ask`/`asvk`, `ark` (`.pem` or `.der`).
    pub certs: Option<&'a Path>,
    /// The certificate table of an extended report (`SNP_GET_EXT_REPORT`'s certificate buffer).
    pub cert_table: Option<&'a Path>,
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

/// Where a certificate came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A file: named by its option, or found in the `--certs` directory.
    File(PathBuf),
    /// An entry of the `--cert-table` file.
    Table(PathBuf),
    /// Built into yardstick for this product.
    BuiltIn(Product),
}

impl Source {
    /// The file an error about this certificate names (a built-in one: the report's).
    fn path<'p>(&'p self, report: &'p Path) -> &'p Path {
        match self {
            Source::File(p) | Source::Table(p) => p,
            Source::BuiltIn(_) => report,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Table(p) => write!(f, "{} (certificate table)", p.display()),
            Source::BuiltIn(p) => write!(f, "built in ({p})"),
        }
    }
}

/// A certificate and where it came from.
struct Loaded {
    cert: Cert,
    from: Source,
}

/// The certificates `--certs` or `--cert-table` hold.
#[derive(Default)]
struct Found {
    dir: CertDir,
    table: Option<(PathBuf, CertTable)>,
}

impl Found {
    fn read(r: &SnpRequest<'_>) -> Result<Found, InputError> {
        let dir = match r.certs {
            Some(d) => CertDir::find(d).map_err(|source| InputError::Read {
                path: d.to_path_buf(),
                source,
            })?,
            None => CertDir::default(),
        };
        let table = match r.cert_table {
            Some(p) => {
                let t = CertTable::parse(&read(p, InputKind::SNP_CERT_TABLE)?).map_err(
                    |source: CertTableError| InputError::CertTable {
                        path: p.to_path_buf(),
                        source,
                    },
                )?;
                Some((p.to_path_buf(), t))
            }
            None => None,
        };
        Ok(Found { dir, table })
    }

    /// The certificate `which` from option `flag`, the directory's file, the table's entry, in that order.
    fn load(
        &self,
        which: &'static str,
        flag: Option<&Path>,
        in_dir: Option<&Path>,
        in_table: impl Fn(&CertTable) -> Option<&Vec<u8>>,
    ) -> Result<Option<Loaded>, InputError> {
        if let Some(p) = flag.or(in_dir) {
            return Ok(Some(Loaded {
                cert: load_cert(p, which)?,
                from: Source::File(p.to_path_buf()),
            }));
        }
        let Some((path, der)) = self
            .table
            .as_ref()
            .and_then(|(p, t)| in_table(t).map(|d| (p, d)))
        else {
            return Ok(None);
        };
        let cert = Cert::load_first(der).map_err(|source| InputError::Cert {
            path: path.clone(),
            which,
            source,
        })?;
        Ok(Some(Loaded {
            cert,
            from: Source::Table(path.clone()),
        }))
    }

    /// `cert_chain.pem`'s certificate at `index` (0 the ASK, 1 the ARK), if the directory has that file.
    fn in_cert_chain(
        &self,
        which: &'static str,
        index: usize,
    ) -> Result<Option<Loaded>, InputError> {
        let Some(p) = &self.dir.cert_chain else {
            return Ok(None);
        };
        let certs = Cert::load_all(&read(p, InputKind::CERTIFICATE)?).map_err(|source| {
            InputError::Cert {
                path: p.clone(),
                which,
                source,
            }
        })?;
        Ok(certs.into_iter().nth(index).map(|cert| Loaded {
            cert,
            from: Source::File(p.clone()),
        }))
    }
}

/// Reads the files of `r` and verifies the report ([`verify_report`]). `Err` names the input that cannot be
/// used; a report that fails a check is an [`Appraisal`] that did not pass.
pub fn verify_files(r: &SnpRequest<'_>) -> Result<Appraisal, InputError> {
    let manifest = r.refvals.map(ManifestFile::load).transpose()?;
    let reference = launch_reference(r.measurements, manifest.as_ref(), true)?;
    let now = verification_time(r.time)?;
    let report = AttestationReport::parse_any(&read(r.report, InputKind::SNP_REPORT)?)
        .map_err(|e| evidence_error(r.report)(e.into()))?;
    let found = Found::read(r)?;
    let vek = found
        .load("VCEK", r.vcek, found.dir.vek.as_deref(), |t| {
            t.vlek.as_ref().or(t.vcek.as_ref())
        })?
        .ok_or(InputError::NoVcek)?;
    let mut ask = found.load("ASK", r.ask, found.dir.ask.as_deref(), |t| t.ask.as_ref())?;
    if ask.is_none() {
        ask = found.in_cert_chain("ASK", 0)?;
    }
    let mut ark = found.load("ARK", r.ark, found.dir.ark.as_deref(), |t| t.ark.as_ref())?;
    if ark.is_none() {
        ark = found.in_cert_chain("ARK", 1)?;
    }
    let (ask, ark) = complete_chain(&report, &vek, ask, ark, r.report)?;
    let policy = SnpPolicy {
        vmpl: Some(r.vmpl),
        report_data: padded_hex("--report-data", r.report_data)?,
        host_data: padded_hex("--host-data", r.host_data)?,
        reference,
        now,
        ..r.guest.policy()
    };
    let mut a = verify_report(&report, &vek.cert, &ask.cert, &ark.cert, &policy).map_err(|e| {
        // A certificate error is about that certificate's file; anything else about the report's.
        let path = match &e {
            Error::Cert { which: "ASK", .. } => ask.from.path(r.report),
            Error::Cert { which: "ARK", .. } => ark.from.path(r.report),
            Error::Cert { .. } => vek.from.path(r.report),
            _ => r.report,
        };
        evidence_error(path)(e)
    })?;
    a.note(format!(
        "certificates: VCEK {}, ASK {}, ARK {}",
        vek.from, ask.from, ark.from
    ));
    Ok(a)
}

/// The ASK and ARK, the missing ones built in: for the product of the given ARK if it is a pinned one, else
/// of the report ([`super::product_of`]). A VLEK's signer, the ASVK, is not built in.
fn complete_chain(
    report: &AttestationReport,
    vek: &Loaded,
    ask: Option<Loaded>,
    ark: Option<Loaded>,
    report_path: &Path,
) -> Result<(Loaded, Loaded), InputError> {
    let (ask, ark) = match (ask, ark) {
        (Some(ask), Some(ark)) => return Ok((ask, ark)),
        pair => pair,
    };
    if ask.is_none() && vek.cert.subject_cn().contains("VLEK") {
        return Err(InputError::NoAsvk);
    }
    let product = ark
        .as_ref()
        .and_then(|a| super::product_for_ark(&a.cert.fingerprint_sha256()))
        .or_else(|| super::product_of(report, &vek.cert))
        .ok_or_else(|| InputError::UnknownProduct {
            path: report_path.to_path_buf(),
            version: report.version,
            issuer: vek.cert.issuer_cn(),
        })?;
    let (builtin_ark, builtin_ask) = super::builtin_chain(product);
    let built_in = |cert| Loaded {
        cert,
        from: Source::BuiltIn(product),
    };
    Ok((
        ask.unwrap_or_else(|| built_in(builtin_ask)),
        ark.unwrap_or_else(|| built_in(builtin_ark)),
    ))
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
