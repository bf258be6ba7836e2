//! X.509 certificates of the vendor chains (AMD ARK/ASK/VCEK, Intel PCK): loading (PEM or DER, one or
//! several), raw signed bytes, signature checks, extensions and fingerprints.
//!
//! The signed `tbsCertificate` bytes are sliced out of the original encoding (with `der`'s reader), never
//! re-encoded, so what is checked is exactly what the issuer signed.
//!
//! PEM blocks are found here by their `-----BEGIN <label>-----` / `-----END <label>-----` lines and their
//! bodies decoded with the `base64` crate, not with `pem-rfc7468` (in the tree through `der`): that crate
//! reads one block per document, which must begin with it, with the base64 wrapped at a single width and no
//! other whitespace (RFC 7468's strict grammar). Certificate files in use are looser, and openssl reads them:
//! AMD's `cert_chain` and Intel's PCK chain hold several blocks, the PCK chain in a TD quote is NUL-padded,
//! `openssl x509 -text` puts the text dump before the block, and other tools wrap at 76 columns or indent.

use base64::Engine as _;
use der::asn1::ObjectIdentifier as Oid;
use der::{Decode as _, Encode as _};
use x509_cert::Certificate;
use yardstick_common::hash::Algorithm;

use crate::keys::{Key, Scheme, Sig};

/// Object identifiers used below.
pub mod oid {
    use der::asn1::ObjectIdentifier as Oid;
    /// rsaEncryption
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// id-RSASSA-PSS
    pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    /// id-mgf1
    pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
    /// sha256WithRSAEncryption
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    /// sha384WithRSAEncryption
    pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    /// sha512WithRSAEncryption
    pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    /// ecdsa-with-SHA256
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    /// id-ecPublicKey
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    /// prime256v1 (NIST P-256)
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1 (NIST P-384)
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    /// id-sha256
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
}

/// A certificate could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Neither PEM nor DER X.509.
    #[error("not an X.509 certificate: {0}")]
    NotX509(String),
    /// A PEM file without a certificate block.
    #[error("no CERTIFICATE block in PEM input")]
    NoPemCertificate,
    /// A signature or key algorithm this verifier does not accept.
    #[error("unexpected algorithm: {0}")]
    Algorithm(String),
    /// A key that cannot be built.
    #[error("{0}")]
    Key(String),
}

/// How a certificate is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertSigAlg {
    /// Signature scheme.
    pub scheme: Scheme,
    /// Message hash.
    pub hash: Algorithm,
}

impl std::fmt::Display for CertSigAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scheme {
            Scheme::RsaPss { salt_len } => {
                write!(f, "RSA-PSS {}", self.hash)?;
                if let Some(s) = salt_len {
                    write!(f, " salt {s}")?;
                }
                Ok(())
            }
            Scheme::RsaPkcs1v15 => write!(f, "RSA PKCS#1 v1.5 {}", self.hash),
            Scheme::Ecdsa => write!(f, "ECDSA {}", self.hash),
        }
    }
}

/// A parsed certificate with its original encoding.
#[derive(Debug, Clone)]
pub struct Cert {
    der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    cert: Certificate,
}

impl Cert {
    /// Parses one DER certificate (no trailing bytes).
    pub fn from_der(der: &[u8]) -> Result<Cert, CertError> {
        let cert = Certificate::from_der(der).map_err(|e| CertError::NotX509(e.to_string()))?;
        let tbs = tbs_range(der).ok_or_else(|| CertError::NotX509("bad DER framing".into()))?;
        Ok(Cert {
            der: der.to_vec(),
            tbs,
            cert,
        })
    }

    /// Parses every certificate in `bytes`: PEM (any number of `CERTIFICATE` blocks) or a single DER one.
    pub fn load_all(bytes: &[u8]) -> Result<Vec<Cert>, CertError> {
        let text = std::str::from_utf8(bytes).ok();
        match text {
            Some(t) if t.contains("-----BEGIN") => {
                let ders = pem_blocks(t, "CERTIFICATE")?;
                if ders.is_empty() {
                    return Err(CertError::NoPemCertificate);
                }
                ders.iter().map(|d| Cert::from_der(d)).collect()
            }
            _ => Ok(vec![Cert::from_der(bytes)?]),
        }
    }

    /// Parses the first certificate in `bytes` (PEM or DER).
    pub fn load_first(bytes: &[u8]) -> Result<Cert, CertError> {
        Cert::load_all(bytes)?
            .into_iter()
            .next()
            .ok_or(CertError::NoPemCertificate)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 over the DER encoding (what `openssl x509 -fingerprint -sha256` prints).
    pub fn fingerprint_sha256(&self) -> String {
        Algorithm::Sha256.digest(&self.der).to_hex()
    }

    /// The subject's common name, if any.
    pub fn subject_cn(&self) -> String {
        cn(self.cert.tbs_certificate().subject())
    }

    /// The issuer's common name, if any.
    pub fn issuer_cn(&self) -> String {
        cn(self.cert.tbs_certificate().issuer())
    }

    /// True if the issuer name equals the subject name of `issuer` (byte for byte).
    pub fn issued_by_name(&self, issuer: &Cert) -> bool {
        let a = self.cert.tbs_certificate().issuer().to_der().ok();
        let b = issuer.cert.tbs_certificate().subject().to_der().ok();
        a.is_some() && a == b
    }

    /// Validity period as Unix seconds `(not_before, not_after)`.
    pub fn validity(&self) -> (u64, u64) {
        let v = self.cert.tbs_certificate().validity();
        (
            v.not_before.to_unix_duration().as_secs(),
            v.not_after.to_unix_duration().as_secs(),
        )
    }

    /// The serial number's bytes (as encoded, big-endian).
    pub fn serial(&self) -> &[u8] {
        self.cert.tbs_certificate().serial_number().as_bytes()
    }

    /// The raw value (contents of the OCTET STRING) of the extension `id`, if present exactly once.
    pub fn extension(&self, id: &Oid) -> Option<&[u8]> {
        let exts = self.cert.tbs_certificate().extensions()?;
        let mut found = exts.iter().filter(|e| &e.extn_id == id);
        let first = found.next()?;
        if found.next().is_some() {
            return None;
        }
        Some(first.extn_value.as_bytes())
    }

    /// The subject public key.
    pub fn public_key(&self) -> Result<Key, CertError> {
        key_from_spki(self.cert.tbs_certificate().subject_public_key_info())
    }

    /// The certificate's signature algorithm.
    pub fn signature_algorithm(&self) -> Result<CertSigAlg, CertError> {
        let alg = self.cert.signature_algorithm();
        // The outer and the signed inner algorithm must agree (RFC 5280 §4.1.1.2).
        if alg != self.cert.tbs_certificate().signature() {
            return Err(CertError::Algorithm(
                "signatureAlgorithm differs from tbsCertificate.signature".into(),
            ));
        }
        let simple = |scheme, hash| Ok(CertSigAlg { scheme, hash });
        match alg.oid {
            o if o == oid::SHA256_WITH_RSA => simple(Scheme::RsaPkcs1v15, Algorithm::Sha256),
            o if o == oid::SHA384_WITH_RSA => simple(Scheme::RsaPkcs1v15, Algorithm::Sha384),
            o if o == oid::SHA512_WITH_RSA => simple(Scheme::RsaPkcs1v15, Algorithm::Sha512),
            o if o == oid::ECDSA_SHA256 => simple(Scheme::Ecdsa, Algorithm::Sha256),
            o if o == oid::ECDSA_SHA384 => simple(Scheme::Ecdsa, Algorithm::Sha384),
            o if o == oid::RSASSA_PSS => {
                let params = alg
                    .parameters
                    .as_ref()
                    .ok_or_else(|| CertError::Algorithm("RSA-PSS without parameters".into()))?
                    .to_der()
                    .map_err(|e| CertError::Algorithm(e.to_string()))?;
                pss_params(&params)
            }
            o => Err(CertError::Algorithm(format!("signature algorithm {o}"))),
        }
    }

    /// Checks this certificate's signature with `issuer_key`. `Ok(Err(reason))` = the signature is wrong.
    pub fn verify_signature(&self, issuer_key: &Key) -> Result<Result<(), String>, CertError> {
        let alg = self.signature_algorithm()?;
        let sig = self
            .cert
            .signature()
            .as_bytes()
            .ok_or_else(|| CertError::NotX509("signature BIT STRING has unused bits".into()))?;
        let tbs = self.der.get(self.tbs.clone()).unwrap_or_default();
        Ok(issuer_key.verify(alg.scheme, alg.hash, tbs, Sig::Bytes(sig)))
    }
}

/// A certificate revocation list (RFC 5280 §5) with its original encoding.
#[derive(Debug, Clone)]
pub struct Crl {
    der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    crl: x509_cert::crl::CertificateList,
}

impl Crl {
    /// Parses a CRL: DER, PEM (`X509 CRL`), or the DER as hex text (what Intel's PCS serves with
    /// `encoding=pem` for some endpoints is PEM; older tooling stores hex).
    pub fn load(bytes: &[u8]) -> Result<Crl, CertError> {
        let text = std::str::from_utf8(bytes).ok();
        let der = match text {
            Some(t) if t.contains("-----BEGIN") => pem_blocks(t, "X509 CRL")?
                .into_iter()
                .next()
                .ok_or_else(|| CertError::NotX509("no X509 CRL block in PEM input".into()))?,
            Some(t) if !t.trim().is_empty() && t.trim().bytes().all(|b| b.is_ascii_hexdigit()) => {
                crate::hex::decode(t.trim())
                    .map_err(|e| CertError::NotX509(format!("bad hex CRL: {e}")))?
            }
            _ => bytes.to_vec(),
        };
        let crl = x509_cert::crl::CertificateList::from_der(&der)
            .map_err(|e| CertError::NotX509(format!("not an X.509 CRL: {e}")))?;
        let tbs = tbs_range(&der).ok_or_else(|| CertError::NotX509("bad DER framing".into()))?;
        Ok(Crl { der, tbs, crl })
    }

    /// The issuer's common name.
    pub fn issuer_cn(&self) -> String {
        cn(&self.crl.tbs_cert_list.issuer)
    }

    /// True if the CRL's issuer name equals the subject name of `issuer` (byte for byte).
    pub fn issued_by_name(&self, issuer: &Cert) -> bool {
        let a = self.crl.tbs_cert_list.issuer.to_der().ok();
        let b = issuer.cert.tbs_certificate().subject().to_der().ok();
        a.is_some() && a == b
    }

    /// `(thisUpdate, nextUpdate)` as Unix seconds.
    pub fn validity(&self) -> (u64, Option<u64>) {
        let t = &self.crl.tbs_cert_list;
        (
            t.this_update.to_unix_duration().as_secs(),
            t.next_update.map(|n| n.to_unix_duration().as_secs()),
        )
    }

    /// True if a certificate with this serial number is listed as revoked.
    pub fn revokes(&self, serial: &[u8]) -> bool {
        self.crl
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .any(|r| r.serial_number.as_bytes() == serial)
    }

    /// How many certificates the CRL revokes.
    pub fn revoked_count(&self) -> usize {
        self.crl
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .map_or(0, Vec::len)
    }

    /// Checks the CRL's ECDSA SHA-256 signature with `issuer_key`. `Ok(Err(reason))` = the signature is
    /// wrong; `Err` = not signed with ECDSA SHA-256 (as Intel's CRLs are).
    pub fn verify_signature(&self, issuer_key: &Key) -> Result<Result<(), String>, CertError> {
        let alg = &self.crl.signature_algorithm;
        if alg.oid != oid::ECDSA_SHA256 || *alg != self.crl.tbs_cert_list.signature {
            return Err(CertError::Algorithm(format!(
                "CRL signature algorithm {}, expected ecdsa-with-SHA256",
                alg.oid
            )));
        }
        let sig = self
            .crl
            .signature
            .as_bytes()
            .ok_or_else(|| CertError::NotX509("signature BIT STRING has unused bits".into()))?;
        let tbs = self.der.get(self.tbs.clone()).unwrap_or_default();
        Ok(issuer_key.verify(Scheme::Ecdsa, Algorithm::Sha256, tbs, Sig::Bytes(sig)))
    }
}

/// The key in a DER `SubjectPublicKeyInfo` (what `-----BEGIN PUBLIC KEY-----` holds).
pub fn key_from_spki_der(der: &[u8]) -> Result<Key, CertError> {
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(der)
        .map_err(|e| CertError::Key(format!("not a SubjectPublicKeyInfo: {e}")))?;
    key_from_spki(&spki)
}

fn key_from_spki(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<Key, CertError> {
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CertError::Key("public key BIT STRING has unused bits".into()))?;
    if spki.algorithm.oid == oid::RSA_ENCRYPTION {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        rsa::PublicKey::from_pkcs1_der(bits)
            .map(Key::Rsa)
            .map_err(|e| CertError::Key(format!("bad RSA public key: {e}")))
    } else if spki.algorithm.oid == oid::EC_PUBLIC_KEY {
        let curve: Oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok())
            .ok_or_else(|| CertError::Algorithm("EC key without a named curve".into()))?;
        let size = if curve == oid::P256 {
            256
        } else if curve == oid::P384 {
            384
        } else {
            return Err(CertError::Algorithm(format!("EC curve {curve}")));
        };
        Key::ec_sec1(size, bits).map_err(|e| CertError::Key(e.0))
    } else {
        Err(CertError::Algorithm(format!(
            "public key algorithm {}",
            spki.algorithm.oid
        )))
    }
}

fn hash_for(o: &Oid) -> Option<Algorithm> {
    if *o == oid::SHA256 {
        Some(Algorithm::Sha256)
    } else if *o == oid::SHA384 {
        Some(Algorithm::Sha384)
    } else if *o == oid::SHA512 {
        Some(Algorithm::Sha512)
    } else {
        None
    }
}

/// RSASSA-PSS-params (RFC 8017 A.2.3): the hash, MGF1 with the same hash, any salt, trailer 1.
fn pss_params(der: &[u8]) -> Result<CertSigAlg, CertError> {
    let p = rsa::pkcs1::RsaPssParams::<der::asn1::Any>::try_from(der)
        .map_err(|e| CertError::Algorithm(format!("bad RSA-PSS parameters: {e}")))?;
    let hash = hash_for(&p.hash.oid)
        .ok_or_else(|| CertError::Algorithm(format!("RSA-PSS hash {}", p.hash.oid)))?;
    let mgf_hash = p
        .mask_gen
        .parameters
        .as_ref()
        .and_then(|h| hash_for(&h.oid));
    if p.mask_gen.oid != oid::MGF1 || mgf_hash != Some(hash) {
        return Err(CertError::Algorithm(format!(
            "RSA-PSS mask generation {} is not MGF1 with {hash}",
            p.mask_gen.oid
        )));
    }
    if p.trailer_field != rsa::pkcs1::TrailerField::BC {
        return Err(CertError::Algorithm(
            "RSA-PSS trailer field is not 1".into(),
        ));
    }
    Ok(CertSigAlg {
        scheme: Scheme::RsaPss {
            salt_len: Some(usize::from(p.salt_len)),
        },
        hash,
    })
}

fn cn(name: &x509_cert::name::Name) -> String {
    name.common_name()
        .ok()
        .flatten()
        .map(String::from)
        .unwrap_or_default()
}

/// Byte range of `tbsCertificate` inside a DER `Certificate`: the first element inside the outer SEQUENCE,
/// with its header.
fn tbs_range(der: &[u8]) -> Option<std::ops::Range<usize>> {
    use der::Reader as _;
    let mut r = der::SliceReader::new(der).ok()?;
    der::Header::decode(&mut r).ok()?;
    let start = usize::try_from(r.position()).ok()?;
    let tbs = r.tlv_bytes().ok()?;
    Some(start..start + tbs.len())
}

/// Decodes every `-----BEGIN <label>-----` block, ignoring text around the blocks and whitespace inside them.
pub(crate) fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find(&begin) {
        let after = &rest[b + begin.len()..];
        let e = after
            .find(&end)
            .ok_or_else(|| CertError::NotX509(format!("PEM block without {end}")))?;
        let body: String = after[..e].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| CertError::NotX509(format!("bad base64 in PEM: {e}")))?;
        out.push(der);
        rest = &after[e + end.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signed bytes are the `tbsCertificate` element exactly: what x509-cert decoded from them encodes to
    /// them again, for each of AMD's certificates.
    #[test]
    fn tbs_range_is_the_signed_element() {
        for pem in [
            &include_bytes!("snp/amd/milan_ark.pem")[..],
            include_bytes!("snp/amd/genoa_ask.pem"),
        ] {
            let c = Cert::load_first(pem).unwrap();
            let tbs = c.der.get(c.tbs.clone()).unwrap();
            assert_eq!(tbs, c.cert.tbs_certificate().to_der().unwrap().as_slice());
            assert_eq!(c.tbs.start, 4, "outer SEQUENCE header 30 82 xx xx");
        }
    }

    /// Short and long length forms; a length of more than 4 bytes, a truncated header or element are refused.
    #[test]
    fn tbs_range_framing() {
        assert_eq!(tbs_range(&[0x30, 0x05, 0x30, 0x03, 1, 2, 3]), Some(2..7));
        let mut long = vec![0x30, 0x82, 0x01, 0x04, 0x30, 0x82, 0x01, 0x00];
        long.extend([0; 256]);
        assert_eq!(tbs_range(&long), Some(4..264));
        assert_eq!(tbs_range(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(tbs_range(&[0x30]), None);
        assert_eq!(tbs_range(&[0x30, 0x05, 0x30, 0x03, 1, 2]), None);
    }

    #[test]
    fn garbage_is_not_x509() {
        assert!(matches!(
            Cert::load_all(b"hello"),
            Err(CertError::NotX509(_))
        ));
        assert!(matches!(
            Cert::load_all(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(CertError::NotX509(_))
        ));
        assert!(matches!(
            Cert::load_all(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Err(CertError::NoPemCertificate)
        ));
    }
}
