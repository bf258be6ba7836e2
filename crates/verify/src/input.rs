//! The inputs of a verification as a relying party's tool states them (files, hex strings, an RFC 3339
//! time), read and checked here, and [`InputError`]: input that cannot be used, named by the file or the
//! `yardstick verify` option it came from.
//!
//! An [`InputError`] shows its own context (a path, an option) and keeps the cause as its
//! [`source`](std::error::Error::source): printed with its chain of causes (`anyhow`'s `{:#}`), it reads
//! `disk.img.manifest.json: manifest version 9 is not supported (...)`.
//!
//! ```
//! use yardstick_verify::input::{hex_arg, InputError};
//! assert_eq!(hex_arg("--nonce", " 0x0102 ", 4, true).unwrap(), [1, 2, 0, 0]);
//! let e = hex_arg("--nonce", "010203", 2, false).unwrap_err();
//! assert_eq!(e.to_string(), "--nonce: 3 bytes, at most 2 allowed");
//! assert!(matches!(e, InputError::TooLong { .. }));
//! ```

use std::path::{Path, PathBuf};

use yardstick_common::fs::InputError as FileError;
pub use yardstick_common::fs::InputKind;
use yardstick_common::hex::HexError;
use yardstick_tpm::eventlog::EventLog;

use crate::tpm::EventLogEvidence;
use crate::x509::{Cert, CertError};
use crate::{Error, hex};

/// An input that cannot be used: an unreadable or malformed file, a bad option value, or reference values
/// that cannot answer the question asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A file could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file refused before its contents are looked at: a directory, or larger than anything of its kind.
    #[error(transparent)]
    File(yardstick_common::fs::InputError),
    /// Evidence that cannot be checked (a report, quote, signature, key, PCR file or Azure evidence, or a
    /// certificate a report is checked with), named by its file.
    #[error("{}", path.display())]
    Evidence {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Error,
    },
    /// A certificate file that holds no usable certificate.
    #[error("{}: {which} certificate", path.display())]
    Cert {
        /// The file.
        path: PathBuf,
        /// Which certificate it should hold (`VCEK`, `ASK`, `ARK`).
        which: &'static str,
        /// Why.
        #[source]
        source: CertError,
    },
    /// An SEV-SNP certificate table (`--cert-table`) that cannot be read.
    #[error("{}", path.display())]
    CertTable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::snp::certs::CertTableError,
    },
    /// No VCEK or VLEK among the certificates given.
    #[error(
        "no VCEK or VLEK certificate: give --vcek FILE, --certs DIR (vcek.pem/.der or vlek.pem/.der, as snpguest \
         writes them) or --cert-table FILE"
    )]
    NoVcek,
    /// A VLEK without its signer, the ASVK, which is not built in.
    #[error(
        "the VLEK is signed by AMD's ASVK, which is not built in: give --ask FILE, asvk.pem/.der in --certs DIR, \
         or --cert-table FILE"
    )]
    NoAsvk,
    /// The built-in chain is wanted but the AMD product is not known.
    #[error(
        "{}: cannot tell the AMD product for the built-in ASK/ARK (report version {version} has no CPUID \
         fields, VEK issuer {issuer:?}): give --ark FILE",
        path.display()
    )]
    UnknownProduct {
        /// The report.
        path: PathBuf,
        /// Its version.
        version: u32,
        /// The VCEK's issuer common name.
        issuer: String,
    },
    /// A quote message that is no `TPMS_ATTEST` of a quote.
    #[error("{}: not a TPM quote (TPMS_ATTEST)", path.display())]
    Quote {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: yardstick_tpm::tpm2::Tpm2Error,
    },
    /// A TCG event log that does not parse.
    #[error("{}", path.display())]
    EventLog {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: yardstick_tpm::eventlog::ParseError,
    },
    /// A reference-value manifest that does not parse.
    #[error("{}", path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: yardstick_refvals::ManifestError,
    },
    /// A PCR JSON file (`--expected-pcrs`) that does not parse.
    #[error("{}: not PCR JSON ({{\"sha256\": {{\"11\": \"<hex>\"}}}})", path.display())]
    PcrJson {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A PCR JSON file without a single value.
    #[error("{}: no PCR values", path.display())]
    NoPcrValues {
        /// The file.
        path: PathBuf,
    },
    /// A manifest asked for launch digests has no SEV-SNP one.
    #[error(
        "{}: the manifest has no SEV-SNP launch digest (snp[] entry of mode snp) to compare",
        path.display()
    )]
    NoLaunchDigest {
        /// The manifest.
        path: PathBuf,
    },
    /// A manifest asked for PCRs has no `tpm` section.
    #[error("{}: the manifest has no tpm section (predicted PCRs) to compare", path.display())]
    NoTpmSection {
        /// The manifest.
        path: PathBuf,
    },
    /// A manifest predicts none of the PCRs asked for.
    #[error("{}: the manifest predicts none of the PCRs asked for ({asked})", path.display())]
    NoneOfThePcrs {
        /// The manifest.
        path: PathBuf,
        /// The PCRs asked for, comma-separated (empty when all were asked for).
        asked: String,
    },
    /// A manifest asked for TDX measurements has no `tdx` section.
    #[error("{}: the manifest has no tdx section (MRTD, RTMRs) to compare", path.display())]
    NoTdxSection {
        /// The manifest.
        path: PathBuf,
    },
    /// A manifest with nothing Azure evidence can be compared against.
    #[error(
        "{}: the manifest has neither a tpm section nor SEV-SNP launch digests to compare",
        path.display()
    )]
    NothingToCompare {
        /// The manifest.
        path: PathBuf,
    },
    /// A PCR index out of range in `--refvals-pcrs`.
    #[error("--refvals-pcrs: {0} is not a PCR index (0-23)")]
    NotAPcr(u32),
    /// An option value that is not hex.
    #[error("{flag}: bad hex")]
    Hex {
        /// The option (`--nonce`).
        flag: &'static str,
        /// Why.
        #[source]
        source: HexError,
    },
    /// An option value longer than the field it fills.
    #[error("{flag}: {len} bytes, at most {max} allowed")]
    TooLong {
        /// The option (`--report-data`).
        flag: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A `--measurement` that is no 48-byte launch digest.
    #[error("--measurement: {0} bytes, a launch digest is 48")]
    MeasurementLength(usize),
    /// A `--time` that is no RFC 3339 time.
    #[error("--time: {0}")]
    Time(String),
    /// An attestation policy that does not compile, fails to evaluate or gives no trust claims.
    #[error("{}: {reason}", path.display())]
    Policy {
        /// The policy file.
        path: PathBuf,
        /// Why (the Rego engine's message).
        reason: String,
    },
    /// A reference-value file that is neither an RVPS message nor a `{name: [values]}` object.
    #[error("{}: {reason}", path.display())]
    ReferenceValues {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Reads a whole file under the size limit of its kind (a directory, an oversized file or a stream that
/// delivers more is refused: [`InputError::File`]).
pub fn read(path: &Path, kind: InputKind) -> Result<Vec<u8>, InputError> {
    yardstick_common::fs::read_input(path, kind).map_err(|e| match e {
        FileError::Open { path, source } | FileError::Read { path, source } => {
            InputError::Read { path, source }
        }
        e => InputError::File(e),
    })
}

/// The [`InputError::Evidence`] for `path`.
pub(crate) fn evidence_error(path: &Path) -> impl FnOnce(Error) -> InputError + '_ {
    move |source| InputError::Evidence {
        path: path.to_path_buf(),
        source,
    }
}

/// Hex (surrounding whitespace and a `0x` prefix allowed) of at most `max` bytes, zero-padded to `max` when
/// `pad`. `flag` names the option in errors.
pub fn hex_arg(flag: &'static str, s: &str, max: usize, pad: bool) -> Result<Vec<u8>, InputError> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut b = hex::decode(s).map_err(|source| InputError::Hex { flag, source })?;
    if b.len() > max {
        return Err(InputError::TooLong {
            flag,
            len: b.len(),
            max,
        });
    }
    if pad {
        b.resize(max, 0);
    }
    Ok(b)
}

/// `--nonce`: the quote's `extraData`, at most 64 bytes.
pub fn nonce(hex: Option<&str>) -> Result<Option<Vec<u8>>, InputError> {
    hex.map(|s| hex_arg("--nonce", s, 64, false)).transpose()
}

/// `--time`: the verification time as Unix seconds (`None` = now).
pub fn verification_time(rfc3339: Option<&str>) -> Result<Option<u64>, InputError> {
    rfc3339
        .map(|s| crate::time::parse_rfc3339(s).map_err(InputError::Time))
        .transpose()
}

/// The first certificate in a PEM or DER file; `which` names it in errors.
pub fn load_cert(path: &Path, which: &'static str) -> Result<Cert, InputError> {
    Cert::load_first(&read(path, InputKind::CERTIFICATE)?).map_err(|source| InputError::Cert {
        path: path.to_path_buf(),
        which,
        source,
    })
}

/// A TCG event log file, replayed.
pub fn load_eventlog(path: &Path) -> Result<EventLogEvidence, InputError> {
    let log = EventLog::parse(&read(path, InputKind::EVENT_LOG)?).map_err(|source| {
        InputError::EventLog {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(EventLogEvidence::from_log(log))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values() {
        assert_eq!(nonce(None).unwrap(), None);
        assert_eq!(nonce(Some("0x00ff")).unwrap(), Some(vec![0, 0xff]));
        assert_eq!(
            nonce(Some("zz")).unwrap_err().to_string(),
            "--nonce: bad hex"
        );
        assert!(matches!(
            nonce(Some(&"00".repeat(65))),
            Err(InputError::TooLong {
                len: 65,
                max: 64,
                ..
            })
        ));
        assert_eq!(
            verification_time(Some("2026-01-01T00:00:00Z")).unwrap(),
            Some(1_767_225_600)
        );
        assert!(
            verification_time(Some("now"))
                .unwrap_err()
                .to_string()
                .starts_with("--time: \"now\" is not an RFC 3339 time")
        );
    }

    #[test]
    fn unreadable_files_are_named() {
        let e = read(Path::new("/nonexistent/x.bin"), InputKind::KEY).unwrap_err();
        assert_eq!(e.to_string(), "/nonexistent/x.bin: cannot read");
        assert!(std::error::Error::source(&e).is_some());
    }
}
