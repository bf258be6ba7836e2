//! Attestation keys in the encodings tools hand them out: PEM/DER `SubjectPublicKeyInfo` (`tpm2_readpublic
//! -f pem`), PKCS#1 `RSA PUBLIC KEY`, `TPM2B_PUBLIC` (`tpm2_createak -u`, `tpm2_readpublic -o`), `TPMT_PUBLIC`,
//! and JSON Web Keys (Azure's HCL runtime data).

use base64::Engine as _;
use yardstick_tpm::tpm2::{Public, PublicKey, curve};

use crate::Error;
use crate::keys::Key;
use crate::x509::{key_from_spki_der, pem_blocks};

/// An attestation key.
#[derive(Debug, Clone)]
pub struct Ak {
    /// The verification key.
    pub key: Key,
    /// The TPM's description of it, when given as `TPM2B_PUBLIC`/`TPMT_PUBLIC`.
    pub public: Option<Public>,
    /// The encoding it came in (`PEM`, `TPM2B_PUBLIC`, `JWK`, ...).
    pub format: &'static str,
}

fn tpm_key(p: &Public) -> Result<Key, Error> {
    match &p.key {
        PublicKey::Rsa { modulus, exponent } => {
            Key::rsa(modulus, &exponent.to_be_bytes()).map_err(|e| Error::Malformed(e.0))
        }
        PublicKey::Ecc { curve: c, x, y } => {
            let bits = match *c {
                curve::NIST_P256 => 256,
                curve::NIST_P384 => 384,
                other => {
                    return Err(Error::Malformed(format!(
                        "unsupported ECC curve 0x{other:04x}"
                    )));
                }
            };
            Key::ec_xy(bits, x, y).map_err(|e| Error::Malformed(e.0))
        }
    }
}

impl Ak {
    /// Parses an AK from a file's bytes, detecting the encoding.
    pub fn parse(bytes: &[u8]) -> Result<Ak, Error> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            if text.contains("-----BEGIN PUBLIC KEY-----") {
                let der = pem_blocks(text, "PUBLIC KEY")
                    .map_err(|e| Error::Malformed(e.to_string()))?
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let key = key_from_spki_der(&der).map_err(|e| Error::Malformed(e.to_string()))?;
                return Ok(Ak {
                    key,
                    public: None,
                    format: "PEM",
                });
            }
            if text.contains("-----BEGIN RSA PUBLIC KEY-----") {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                let der = pem_blocks(text, "RSA PUBLIC KEY")
                    .map_err(|e| Error::Malformed(e.to_string()))?
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let key = rsa::PublicKey::from_pkcs1_der(&der)
                    .map_err(|e| Error::Malformed(format!("bad PKCS#1 RSA public key: {e}")))?;
                return Ok(Ak {
                    key: Key::Rsa(key),
                    public: None,
                    format: "PEM (PKCS#1)",
                });
            }
            if text.trim_start().starts_with('{') {
                let v: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| Error::Malformed(format!("not a JSON Web Key: {e}")))?;
                return Ak::from_jwk(&v);
            }
        }
        if let Ok(p) = Public::parse_tpm2b(bytes) {
            return Ok(Ak {
                key: tpm_key(&p)?,
                public: Some(p),
                format: "TPM2B_PUBLIC",
            });
        }
        if let Ok(p) = Public::parse_tpmt(bytes) {
            return Ok(Ak {
                key: tpm_key(&p)?,
                public: Some(p),
                format: "TPMT_PUBLIC",
            });
        }
        if bytes.first() == Some(&0x30) {
            let key = key_from_spki_der(bytes).map_err(|e| Error::Malformed(e.to_string()))?;
            return Ok(Ak {
                key,
                public: None,
                format: "DER",
            });
        }
        // Say what TPM2B_PUBLIC parsing found wrong: it is the likeliest intended format for a binary file.
        let why = Public::parse_tpm2b(bytes)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        Err(Error::Malformed(format!(
            "not a public key: neither PEM, DER SubjectPublicKeyInfo, JWK nor TPM2B_PUBLIC ({why})"
        )))
    }

    /// An AK from a JSON Web Key (RFC 7517/7518: `kty` RSA with `n`, `e`; or EC P-256/P-384 with `x`, `y`).
    pub fn from_jwk(v: &serde_json::Value) -> Result<Ak, Error> {
        let field = |name: &str| -> Result<Vec<u8>, Error> {
            let s = v
                .get(name)
                .and_then(|x| x.as_str())
                .ok_or_else(|| Error::Malformed(format!("JWK has no string field {name:?}")))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map_err(|e| Error::Malformed(format!("JWK field {name:?}: bad base64url: {e}")))
        };
        let key = match v.get("kty").and_then(|k| k.as_str()) {
            Some("RSA") => {
                Key::rsa(&field("n")?, &field("e")?).map_err(|e| Error::Malformed(e.0))?
            }
            Some("EC") => {
                let bits = match v.get("crv").and_then(|c| c.as_str()) {
                    Some("P-256") => 256,
                    Some("P-384") => 384,
                    other => {
                        return Err(Error::Malformed(format!("unsupported JWK curve {other:?}")));
                    }
                };
                Key::ec_xy(bits, &field("x")?, &field("y")?).map_err(|e| Error::Malformed(e.0))?
            }
            other => {
                return Err(Error::Malformed(format!(
                    "unsupported JWK key type {other:?}"
                )));
            }
        };
        Ok(Ak {
            key,
            public: None,
            format: "JWK",
        })
    }
}
