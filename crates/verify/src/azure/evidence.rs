//! Trustee's Azure vTPM evidence JSON, versions 0, 1 and 2 (trustee `deps/verifier/src/az_{snp,tdx}_vtpm`):
//!
//! * v0 (no `version`): byte strings as JSON arrays of numbers; SNP: `{"quote": {"signature", "message",
//!   "pcrs"}, "report": <HCL report>, "vcek": "<PEM>"}`; TDX: `{"tpm_quote": {...}, "hcl_report", "td_quote"}`.
//! * v1, v2: `{"version": N, "tpm_quote": {"signature": hex, "message": hex, "pcrs": [hex]}, "hcl_report":
//!   base64url, "vcek" | "td_quote": base64url}`; v2 also puts the nonce into the HCL runtime data's
//!   `user-data`.

use base64::Engine as _;
use serde_json::Value;

use crate::{Error, hex};

/// The TPM quote part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmQuoteParts {
    /// Raw signature.
    pub signature: Vec<u8>,
    /// `TPMS_ATTEST`.
    pub message: Vec<u8>,
    /// PCR values, index = PCR number.
    pub pcrs: Vec<Vec<u8>>,
}

/// The hardware evidence part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hardware {
    /// SEV-SNP: the VCEK (PEM or DER bytes); the report is inside the HCL report.
    Snp {
        /// VCEK certificate.
        vcek: Vec<u8>,
    },
    /// TDX: the TD quote.
    Tdx {
        /// TD quote.
        td_quote: Vec<u8>,
    },
}

/// Parsed evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureEvidence {
    /// Evidence version (0, 1, 2).
    pub version: u32,
    /// The TPM quote.
    pub tpm_quote: TpmQuoteParts,
    /// The HCL report.
    pub hcl_report: Vec<u8>,
    /// SNP or TDX specifics.
    pub hardware: Hardware,
}

#[derive(Clone, Copy)]
enum Enc {
    Hex,
    Base64Url,
    Text,
}

fn get<'a>(v: &'a Value, path: &str) -> Result<&'a Value, Error> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur
            .get(k)
            .ok_or_else(|| Error::Malformed(format!("evidence: missing field {path:?}")))?;
    }
    Ok(cur)
}

fn bytes(v: &Value, path: &str, enc: Enc) -> Result<Vec<u8>, Error> {
    let bad = |m: String| Error::Malformed(format!("evidence: field {path:?}: {m}"));
    match v {
        Value::Array(items) => items
            .iter()
            .map(|x| {
                x.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| bad("array element is not a byte".into()))
            })
            .collect(),
        Value::String(s) => match enc {
            Enc::Hex => hex::decode(s.trim()).map_err(|e| bad(e.to_string())),
            Enc::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.trim().trim_end_matches('='))
                .map_err(|e| bad(format!("bad base64url: {e}"))),
            Enc::Text => Ok(s.as_bytes().to_vec()),
        },
        _ => Err(bad("not a byte string".into())),
    }
}

impl AzureEvidence {
    /// Parses evidence JSON of any supported version.
    pub fn parse(json: &[u8]) -> Result<AzureEvidence, Error> {
        let v: Value = serde_json::from_slice(json)
            .map_err(|e| Error::Malformed(format!("evidence is not JSON: {e}")))?;
        if !v.is_object() {
            return Err(Error::Malformed("evidence is not a JSON object".into()));
        }
        let version = match v.get("version") {
            None => 0,
            Some(n) => match n.as_u64() {
                Some(n @ 1..=2) => n as u32,
                _ => {
                    return Err(Error::Malformed(format!(
                        "unknown evidence version {n} (supported: 0, 1, 2)"
                    )));
                }
            },
        };
        let tdx = v.get("td_quote").is_some();
        let (quote_key, hcl_key) = match (version, tdx) {
            (0, false) => ("quote", "report"),
            _ => ("tpm_quote", "hcl_report"),
        };
        // v0 byte strings are number arrays (any `enc` is then unused); v1+ quote fields are hex, the rest
        // base64url.
        let (qenc, benc) = (Enc::Hex, Enc::Base64Url);
        let q = get(&v, quote_key)?;
        let pcrs = get(q, "pcrs")
            .map_err(|_| Error::Malformed(format!("evidence: missing field \"{quote_key}.pcrs\"")))?
            .as_array()
            .ok_or_else(|| {
                Error::Malformed(format!("evidence: \"{quote_key}.pcrs\" is not a list"))
            })?
            .iter()
            .enumerate()
            .map(|(i, p)| bytes(p, &format!("{quote_key}.pcrs[{i}]"), qenc))
            .collect::<Result<Vec<_>, _>>()?;
        let tpm_quote = TpmQuoteParts {
            signature: bytes(
                get(&v, &format!("{quote_key}.signature"))?,
                &format!("{quote_key}.signature"),
                qenc,
            )?,
            message: bytes(
                get(&v, &format!("{quote_key}.message"))?,
                &format!("{quote_key}.message"),
                qenc,
            )?,
            pcrs,
        };
        let hcl_report = bytes(get(&v, hcl_key)?, hcl_key, benc)?;
        let hardware = if tdx {
            Hardware::Tdx {
                td_quote: bytes(get(&v, "td_quote")?, "td_quote", benc)?,
            }
        } else {
            // v0 carries the VCEK as PEM text; v1 and v2 as base64url DER.
            let enc = if version == 0 {
                Enc::Text
            } else {
                Enc::Base64Url
            };
            Hardware::Snp {
                vcek: bytes(get(&v, "vcek")?, "vcek", enc)?,
            }
        };
        Ok(AzureEvidence {
            version,
            tpm_quote,
            hcl_report,
            hardware,
        })
    }
}
