//! Root-hash signatures: a detached PKCS#7 (CMS) `SignedData` over the lower-case hex root hash, as
//! `veritysetup open --root-hash-signature` hands it to the kernel (`root_hash_sig_key_desc`, checked by
//! `verify_pkcs7_signature()` in `drivers/md/dm-verity-verify-sig.c` against the hex string of the table) and
//! as systemd-repart stores it (`PKCS7_sign(..., PKCS7_DETACHED|PKCS7_NOATTR|PKCS7_BINARY)`).
//!
//! [`sign`] produces exactly what `openssl smime -sign -nocerts -noattr -binary -outform der` produces:
//! version 1, one digest algorithm (with NULL parameters), detached `id-data` content, no certificates, one
//! signer identified by issuer and serial number, no signed attributes, and `rsaEncryption` (NULL parameters)
//! or `ecdsa-with-SHA*` as signature algorithm. RSA PKCS#1 v1.5 signatures are deterministic, so for an RSA
//! key the output is byte-identical to OpenSSL's; ECDSA signatures (RFC 6979 here, random in OpenSSL) differ
//! byte-wise but verify the same.
//!
//! [`verify`] checks a signature the way the kernel does: the algorithms of every signer are ones the kernel's
//! PKCS#7 parser takes, find the signer matching the certificate (issuer and serial, or subject key
//! identifier), its algorithms fit the certificate's key, check signed attributes when present (content type
//! and message digest; no attribute repeated; no S/MIME capabilities or Authenticode attributes, which the
//! kernel allows only in Authenticode signatures, so it refuses `openssl smime -sign` without `-noattr`), then the RSA PKCS#1 v1.5 or ECDSA signature with the certificate's key.
//!
//! The algorithm rules are the kernel's (`crypto/asymmetric_keys/pkcs7_parser.c`, `public_key.c`, Linux 6.x):
//!
//! * digest algorithm: SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA3-256/384/512, SM3 or Streebog; any other
//!   makes the kernel refuse the whole message;
//! * signature algorithm: `rsaEncryption` (PKCS#1 v1.5 with the digest algorithm, so not
//!   `sha256WithRSAEncryption`), `ecdsa-with-SHA1/224/256/384/512` or `ecdsa-with-SHA3-*` (ECDSA over the
//!   digest algorithm's hash, whatever hash the OID names), or GOST R 34.10-2012; any other is refused
//!   likewise;
//! * the signature algorithm must be the certificate key's (`rsaEncryption` for RSA, ECDSA for EC), and ECDSA
//!   is refused over SHA-1.
//!
//! What the kernel refuses is a failed check ([`SignatureError::RejectedAlgorithm`]). What it takes but this
//! crate cannot compute (SHA-224, SHA-3, SM3, Streebog, GOST keys, curves other than P-256 and P-384) is
//! [`SignatureError::UnsupportedAlgorithm`]: not accepted either, but reported as unusable input.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode as _, DecodePem as _, Encode as _};
use p256::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use p256::pkcs8::DecodePrivateKey as _;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;
use yardstick_common::hash::Algorithm;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.1");
const ECDSA_WITH_SHA3_256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.10");
const ECDSA_WITH_SHA3_384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.11");
const ECDSA_WITH_SHA3_512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.12");
const GOST_2012_PKEY_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.1");
const GOST_2012_PKEY_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.2");
/// Digest OIDs the kernel's PKCS#7 parser takes that yardstick cannot compute, with their names: SHA-224,
/// SHA3-256/384/512, SM3, Streebog-256/512.
const KERNEL_ONLY_DIGESTS: [(&str, &str); 7] = [
    ("2.16.840.1.101.3.4.2.4", "sha224"),
    ("2.16.840.1.101.3.4.2.8", "sha3-256"),
    ("2.16.840.1.101.3.4.2.9", "sha3-384"),
    ("2.16.840.1.101.3.4.2.10", "sha3-512"),
    ("1.2.156.10197.1.401", "sm3"),
    ("1.2.643.7.1.1.2.2", "streebog256"),
    ("1.2.643.7.1.1.2.3", "streebog512"),
];
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ATTR_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ATTR_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ATTR_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ATTR_SMIME_CAPABILITIES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.15");
/// Authenticode's SpcStatementType and SpcSpOpusInfo.
const ATTR_MS_STATEMENT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.11");
const ATTR_MS_OPUS_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.12");

/// Digest algorithm of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigDigest {
    /// SHA-1 (verification of old signatures only).
    Sha1,
    /// SHA-256, OpenSSL's default.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl SigDigest {
    fn oid(self) -> ObjectIdentifier {
        match self {
            SigDigest::Sha1 => ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
            SigDigest::Sha256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            SigDigest::Sha384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
            SigDigest::Sha512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<SigDigest> {
        [
            SigDigest::Sha1,
            SigDigest::Sha256,
            SigDigest::Sha384,
            SigDigest::Sha512,
        ]
        .into_iter()
        .find(|d| d.oid() == *oid)
    }

    fn ecdsa_oid(self) -> ObjectIdentifier {
        match self {
            SigDigest::Sha1 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.1"),
            SigDigest::Sha256 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
            SigDigest::Sha384 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
            SigDigest::Sha512 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4"),
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            SigDigest::Sha1 => Algorithm::Sha1,
            SigDigest::Sha256 => Algorithm::Sha256,
            SigDigest::Sha384 => Algorithm::Sha384,
            SigDigest::Sha512 => Algorithm::Sha512,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        self.algorithm().digest(data).to_vec()
    }

    /// The PKCS#1 v1.5 scheme: `rsa` takes the digest as a RustCrypto type parameter (for its DigestInfo
    /// prefix and length), the one use of `sha1`/`sha2` here.
    fn pkcs1(self) -> rsa::Pkcs1v15Sign {
        match self {
            SigDigest::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            SigDigest::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            SigDigest::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            SigDigest::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }

    /// Name as OpenSSL spells it.
    pub fn name(self) -> &'static str {
        match self {
            SigDigest::Sha1 => "sha1",
            SigDigest::Sha256 => "sha256",
            SigDigest::Sha384 => "sha384",
            SigDigest::Sha512 => "sha512",
        }
    }
}

impl std::str::FromStr for SigDigest {
    type Err = SignatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Ok(SigDigest::Sha256),
            "sha384" => Ok(SigDigest::Sha384),
            "sha512" => Ok(SigDigest::Sha512),
            _ => Err(SignatureError::UnsupportedDigest(s.to_string())),
        }
    }
}

/// Why signing or checking failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The private key is not a PEM or DER RSA, P-256 or P-384 key.
    #[error(
        "not a supported private key (PEM or DER; RSA, EC P-256 or P-384; unencrypted PKCS#8, PKCS#1 or SEC1)"
    )]
    BadKey,
    /// The certificate could not be parsed.
    #[error("not an X.509 certificate (PEM or DER): {0}")]
    BadCertificate(String),
    /// The key does not belong to the certificate.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
    /// A digest yardstick does not sign with.
    #[error("unsupported digest {0:?} (sha256, sha384, sha512)")]
    UnsupportedDigest(String),
    /// The signature file is not a PKCS#7 SignedData.
    #[error("not a PKCS#7/CMS SignedData signature: {0}")]
    Malformed(String),
    /// No signer matches the certificate.
    #[error(
        "no signer in the signature matches the certificate (issuer, serial number, subject key identifier)"
    )]
    NoMatchingSigner,
    /// A signature or key algorithm not supported.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// An algorithm (or algorithm and key) the kernel's PKCS#7 verifier refuses (see the module docs).
    #[error("{0}")]
    RejectedAlgorithm(String),
    /// The signed attributes do not match the content.
    #[error("signed attributes do not match the root hash ({0})")]
    AttributeMismatch(&'static str),
    /// A signed attribute the kernel's PKCS#7 parser refuses on a root-hash signature (see [`verify`]).
    #[error("the kernel refuses this signature: {0}")]
    RejectedAttribute(String),
    /// The signature does not verify.
    #[error("the signature does not verify with the certificate's key")]
    BadSignature,
    /// Encoding failed.
    #[error("cannot encode the signature: {0}")]
    Encode(String),
}

impl SignatureError {
    /// True when the input was well-formed but the signature is not valid for it (a failed check rather than
    /// bad input).
    pub fn is_check_failure(&self) -> bool {
        matches!(
            self,
            SignatureError::NoMatchingSigner
                | SignatureError::AttributeMismatch(_)
                | SignatureError::RejectedAttribute(_)
                | SignatureError::BadSignature
                | SignatureError::RejectedAlgorithm(_)
        )
    }
}

/// A private key that can sign root hashes.
pub enum SigningKey {
    /// RSA (PKCS#1 v1.5 signatures).
    Rsa(Box<rsa::PrivateKey>),
    /// ECDSA on P-256.
    P256(p256::ecdsa::SigningKey),
    /// ECDSA on P-384.
    P384(p384::ecdsa::SigningKey),
}

impl SigningKey {
    /// Loads an unencrypted key: PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) or DER (PKCS#8).
    pub fn from_bytes(bytes: &[u8]) -> Result<SigningKey, SignatureError> {
        if let Ok(text) = std::str::from_utf8(bytes)
            && text.contains("-----BEGIN")
        {
            {
                if let Ok(k) = rsa::PrivateKey::from_pkcs8_pem(text) {
                    return Ok(SigningKey::Rsa(Box::new(k)));
                }
                if let Ok(k) = rsa::PrivateKey::from_pkcs1_pem(text) {
                    return Ok(SigningKey::Rsa(Box::new(k)));
                }
                if let Ok(k) = p256::SecretKey::from_pkcs8_pem(text) {
                    return Ok(SigningKey::P256(k.into()));
                }
                if let Ok(k) = p384::SecretKey::from_pkcs8_pem(text) {
                    return Ok(SigningKey::P384(k.into()));
                }
                if let Ok(k) = p256::SecretKey::from_sec1_pem(text) {
                    return Ok(SigningKey::P256(k.into()));
                }
                if let Ok(k) = p384::SecretKey::from_sec1_pem(text) {
                    return Ok(SigningKey::P384(k.into()));
                }
                return Err(SignatureError::BadKey);
            }
        }
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(bytes) {
            return Ok(SigningKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(bytes) {
            return Ok(SigningKey::P256(k.into()));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_der(bytes) {
            return Ok(SigningKey::P384(k.into()));
        }
        Err(SignatureError::BadKey)
    }
}

/// Parses a PEM or DER certificate.
pub fn parse_certificate(bytes: &[u8]) -> Result<Certificate, SignatureError> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN"));
    match text {
        Some(t) => Certificate::from_pem(t),
        None => Certificate::from_der(bytes),
    }
    .map_err(|e| SignatureError::BadCertificate(e.to_string()))
}

/// SHA-256 of the certificate's DER encoding (systemd's `certificateFingerprint`).
pub fn certificate_fingerprint(cert: &Certificate) -> Result<[u8; 32], SignatureError> {
    let der = cert
        .to_der()
        .map_err(|e| SignatureError::Encode(e.to_string()))?;
    let mut fp = [0u8; 32];
    fp.copy_from_slice(&Algorithm::Sha256.digest(&der));
    Ok(fp)
}

fn null_alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

/// The text that is signed: the lower-case hex root hash, no newline.
pub fn signed_text(root: &[u8]) -> String {
    yardstick_common::hex::encode(root)
}

/// Signs `content` (normally [`signed_text`]) with `key`, naming `cert` as signer, and returns DER.
pub fn sign(
    content: &[u8],
    key: &SigningKey,
    cert: &Certificate,
    digest: SigDigest,
) -> Result<Vec<u8>, SignatureError> {
    let hashed = digest.hash(content);
    let spki = &cert.tbs_certificate().subject_public_key_info();
    let (sig_alg, sig) = match key {
        SigningKey::Rsa(k) => {
            let cert_key = rsa_public_key(spki)?;
            if cert_key.n() != k.n() || cert_key.e() != k.e() {
                return Err(SignatureError::KeyMismatch);
            }
            let sig = k
                .sign(digest.pkcs1(), &hashed)
                .map_err(|e| SignatureError::Encode(e.to_string()))?;
            (null_alg(RSA_ENCRYPTION), sig)
        }
        SigningKey::P256(k) => {
            let mine = p256::ecdsa::VerifyingKey::from(k);
            if ec_point(spki)? != mine.to_sec1_point(false).as_bytes() {
                return Err(SignatureError::KeyMismatch);
            }
            let s: p256::ecdsa::Signature = k
                .sign_prehash(&hashed)
                .map_err(|e| SignatureError::Encode(e.to_string()))?;
            (
                AlgorithmIdentifierOwned {
                    oid: digest.ecdsa_oid(),
                    parameters: None,
                },
                s.to_der().as_bytes().to_vec(),
            )
        }
        SigningKey::P384(k) => {
            let mine = p384::ecdsa::VerifyingKey::from(k);
            if ec_point(spki)? != mine.to_sec1_point(false).as_bytes() {
                return Err(SignatureError::KeyMismatch);
            }
            let s: p384::ecdsa::Signature = k
                .sign_prehash(&hashed)
                .map_err(|e| SignatureError::Encode(e.to_string()))?;
            (
                AlgorithmIdentifierOwned {
                    oid: digest.ecdsa_oid(),
                    parameters: None,
                },
                s.to_der().as_bytes().to_vec(),
            )
        }
    };
    let enc = |e: der::Error| SignatureError::Encode(e.to_string());
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate().issuer().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
        }),
        digest_alg: null_alg(digest.oid()),
        signed_attrs: None,
        signature_algorithm: sig_alg,
        signature: OctetString::new(sig).map_err(enc)?,
        unsigned_attrs: None,
    };
    let mut digests = SetOfVec::new();
    digests.insert(null_alg(digest.oid())).map_err(enc)?;
    let mut signers = SetOfVec::new();
    signers.insert(signer).map_err(enc)?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: digests,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(signers),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(enc)?,
    };
    ci.to_der().map_err(enc)
}

fn rsa_public_key(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
) -> Result<rsa::PublicKey, SignatureError> {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(SignatureError::UnsupportedAlgorithm(format!(
            "certificate key {}",
            spki.algorithm.oid
        )));
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| SignatureError::BadCertificate("unaligned public key".into()))?;
    rsa::PublicKey::from_pkcs1_der(bits).map_err(|e| SignatureError::BadCertificate(e.to_string()))
}

fn ec_point(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<&[u8], SignatureError> {
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(SignatureError::KeyMismatch);
    }
    spki.subject_public_key
        .as_bytes()
        .ok_or_else(|| SignatureError::BadCertificate("unaligned public key".into()))
}

fn ec_curve(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Option<ObjectIdentifier> {
    spki.algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureInfo {
    /// Digest algorithm of the signature.
    pub digest: &'static str,
    /// "rsa" or "ecdsa-p256"/"ecdsa-p384".
    pub key: &'static str,
    /// Whether the signer used signed attributes.
    pub signed_attributes: bool,
}

/// Checks a DER signature over `content` against `cert` (see the module docs).
pub fn verify(
    content: &[u8],
    sig_der: &[u8],
    cert: &Certificate,
) -> Result<SignatureInfo, SignatureError> {
    let sd = detached_signed_data(sig_der)?;
    let tbs = cert.tbs_certificate();
    // The kernel parses every signer's algorithms before it looks for one it has a key for.
    for si in sd.signer_infos.0.iter() {
        kernel_digest(&si.digest_alg.oid)?;
        kernel_signature_algorithm(&si.signature_algorithm.oid)?;
    }
    let signer = matching_signer(&sd, cert)?;
    let sig_alg = kernel_signature_algorithm(&signer.signature_algorithm.oid)?;
    let digest = kernel_digest(&signer.digest_alg.oid)?.ok_or_else(|| {
        SignatureError::UnsupportedAlgorithm(format!(
            "digest {} ({})",
            signer.digest_alg.oid,
            digest_name(&signer.digest_alg.oid)
        ))
    })?;
    let spki = tbs.subject_public_key_info();
    check_algorithm_fits_key(spki, sig_alg, digest)?;
    let signed = signed_bytes(signer, content, digest)?;
    let hashed = digest.hash(&signed);
    let key = check_signature(spki, digest, &hashed, signer.signature.as_bytes())?;
    Ok(SignatureInfo {
        digest: digest.name(),
        key,
        signed_attributes: signer.signed_attrs.is_some(),
    })
}

/// A signer's signature algorithm as the kernel's PKCS#7 parser names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelSigAlg {
    /// `rsaEncryption`: RSA PKCS#1 v1.5 over the digest algorithm.
    Rsa,
    /// `ecdsa-with-*`: ECDSA over the digest algorithm.
    Ecdsa,
    /// GOST R 34.10-2012 (the kernel's `ecrdsa`).
    Gost,
}

impl KernelSigAlg {
    fn name(self) -> &'static str {
        match self {
            KernelSigAlg::Rsa => "rsaEncryption",
            KernelSigAlg::Ecdsa => "ECDSA",
            KernelSigAlg::Gost => "GOST R 34.10-2012",
        }
    }
}

/// The signature algorithm `oid` of a signer, if the kernel takes it (`pkcs7_sig_note_pkey_algo`).
fn kernel_signature_algorithm(oid: &ObjectIdentifier) -> Result<KernelSigAlg, SignatureError> {
    let ecdsa = [
        SigDigest::Sha1.ecdsa_oid(),
        ECDSA_WITH_SHA224,
        SigDigest::Sha256.ecdsa_oid(),
        SigDigest::Sha384.ecdsa_oid(),
        SigDigest::Sha512.ecdsa_oid(),
        ECDSA_WITH_SHA3_256,
        ECDSA_WITH_SHA3_384,
        ECDSA_WITH_SHA3_512,
    ];
    if *oid == RSA_ENCRYPTION {
        Ok(KernelSigAlg::Rsa)
    } else if ecdsa.contains(oid) {
        Ok(KernelSigAlg::Ecdsa)
    } else if *oid == GOST_2012_PKEY_256 || *oid == GOST_2012_PKEY_512 {
        Ok(KernelSigAlg::Gost)
    } else {
        Err(SignatureError::RejectedAlgorithm(format!(
            "signature algorithm {oid} is not one the kernel takes for a PKCS#7 signer (rsaEncryption, \
             ecdsa-with-SHA1/224/256/384/512, ecdsa-with-SHA3-*, GOST R 34.10-2012)"
        )))
    }
}

/// The digest algorithm `oid` of a signer, if the kernel takes it (`pkcs7_sig_note_digest_algo`): `Some` if
/// yardstick computes it too, `None` if only the kernel does.
fn kernel_digest(oid: &ObjectIdentifier) -> Result<Option<SigDigest>, SignatureError> {
    if let Some(d) = SigDigest::from_oid(oid) {
        return Ok(Some(d));
    }
    if KERNEL_ONLY_DIGESTS
        .iter()
        .any(|(o, _)| oid.to_string() == *o)
    {
        return Ok(None);
    }
    Err(SignatureError::RejectedAlgorithm(format!(
        "digest algorithm {oid} is not one the kernel takes for a PKCS#7 signer (sha1, sha224, sha256, \
         sha384, sha512, sha3-*, sm3, streebog)"
    )))
}

/// The name of a digest the kernel takes but yardstick does not compute.
fn digest_name(oid: &ObjectIdentifier) -> &'static str {
    KERNEL_ONLY_DIGESTS
        .iter()
        .find(|(o, _)| oid.to_string() == *o)
        .map(|(_, n)| *n)
        .unwrap_or("?")
}

/// The signature algorithm must be the certificate key's (the kernel's `public_key_verify_signature`), and
/// ECDSA is not taken over SHA-1 (`software_key_determine_akcipher`).
fn check_algorithm_fits_key(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    sig_alg: KernelSigAlg,
    digest: SigDigest,
) -> Result<(), SignatureError> {
    let key = if spki.algorithm.oid == RSA_ENCRYPTION {
        KernelSigAlg::Rsa
    } else if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        KernelSigAlg::Ecdsa
    } else {
        return Err(SignatureError::UnsupportedAlgorithm(format!(
            "certificate key {}",
            spki.algorithm.oid
        )));
    };
    if key != sig_alg {
        return Err(SignatureError::RejectedAlgorithm(format!(
            "the signer's signature algorithm is {}, but the certificate's key is {}",
            sig_alg.name(),
            if key == KernelSigAlg::Rsa {
                "RSA"
            } else {
                "EC"
            }
        )));
    }
    if sig_alg == KernelSigAlg::Ecdsa && digest == SigDigest::Sha1 {
        return Err(SignatureError::RejectedAlgorithm(
            "ECDSA over SHA-1: the kernel takes ECDSA only over SHA-224 or stronger".into(),
        ));
    }
    Ok(())
}

/// Decodes a PKCS#7 `ContentInfo` holding a `SignedData` over `id-data` content.
fn detached_signed_data(sig_der: &[u8]) -> Result<SignedData, SignatureError> {
    let bad = |e: der::Error| SignatureError::Malformed(e.to_string());
    let ci = ContentInfo::from_der(sig_der).map_err(bad)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(SignatureError::Malformed(format!(
            "content type {} is not signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci.content.decode_as().map_err(bad)?;
    if sd.encap_content_info.econtent_type != ID_DATA {
        return Err(SignatureError::Malformed(
            "encapsulated content is not id-data".into(),
        ));
    }
    Ok(sd)
}

/// The first signer `cert` identifies, by issuer and serial number or by subject key identifier.
fn matching_signer<'a>(
    sd: &'a SignedData,
    cert: &Certificate,
) -> Result<&'a SignerInfo, SignatureError> {
    let tbs = cert.tbs_certificate();
    let ski = tbs
        .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, s)| s);
    sd.signer_infos
        .0
        .iter()
        .find(|si| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                isn.issuer == *tbs.issuer() && isn.serial_number == *tbs.serial_number()
            }
            SignerIdentifier::SubjectKeyIdentifier(k) => ski.as_ref() == Some(k),
        })
        .ok_or(SignatureError::NoMatchingSigner)
}

/// What `signer`'s signature covers: `content` itself, or with signed attributes their DER encoding as a SET
/// OF (RFC 5652 §5.4), once their content type is `id-data` and their messageDigest is `content`'s digest.
fn signed_bytes(
    signer: &SignerInfo,
    content: &[u8],
    digest: SigDigest,
) -> Result<Vec<u8>, SignatureError> {
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(content.to_vec());
    };
    // The kernel's rules for authenticated attributes (pkcs7_sig_note_authenticated_attr): content type,
    // message digest, signing time, S/MIME capabilities and Authenticode's two attributes at most once each;
    // the last three only on Authenticode (SpcIndirectDataContent) content, never on `id-data`; others ignored.
    for (oid, name, authenticode_only) in [
        (ATTR_CONTENT_TYPE, "contentType", false),
        (ATTR_MESSAGE_DIGEST, "messageDigest", false),
        (ATTR_SIGNING_TIME, "signingTime", false),
        (ATTR_SMIME_CAPABILITIES, "sMIMECapabilities", true),
        (ATTR_MS_STATEMENT_TYPE, "SpcStatementType", true),
        (ATTR_MS_OPUS_INFO, "SpcSpOpusInfo", true),
    ] {
        let count = attrs.iter().filter(|a| a.oid == oid).count();
        if count > 1 {
            return Err(SignatureError::RejectedAttribute(format!(
                "signed attribute {name} repeated"
            )));
        }
        if count == 1 && authenticode_only {
            return Err(SignatureError::RejectedAttribute(format!(
                "signed attribute {name} is only allowed in Authenticode signatures (sign with \
                 `openssl smime -sign -noattr`, or `openssl cms -sign -nosmimecap`)"
            )));
        }
    }
    let value_of = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next().cloned())
    };
    let ct = value_of(ATTR_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or(SignatureError::AttributeMismatch("no content type"))?;
    if ct != ID_DATA {
        return Err(SignatureError::AttributeMismatch("content type"));
    }
    let md = value_of(ATTR_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or(SignatureError::AttributeMismatch("no message digest"))?;
    if md.as_bytes() != digest.hash(content).as_slice() {
        return Err(SignatureError::AttributeMismatch("message digest"));
    }
    attrs
        .to_der()
        .map_err(|e| SignatureError::Malformed(e.to_string()))
}

/// Checks `sig` over the prehashed `hashed` with the certificate's RSA or EC key; returns the key's kind
/// ([`SignatureInfo::key`]).
fn check_signature(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    digest: SigDigest,
    hashed: &[u8],
    sig: &[u8],
) -> Result<&'static str, SignatureError> {
    if spki.algorithm.oid == RSA_ENCRYPTION {
        let pk = rsa_public_key(spki)?;
        pk.verify(digest.pkcs1(), hashed, sig)
            .map_err(|_| SignatureError::BadSignature)?;
        Ok("rsa")
    } else if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        check_ecdsa(spki, hashed, sig)
    } else {
        Err(SignatureError::UnsupportedAlgorithm(format!(
            "certificate key {}",
            spki.algorithm.oid
        )))
    }
}

/// Checks the DER ECDSA signature `sig` over the prehashed `hashed` with the certificate's P-256 or P-384
/// key; returns "ecdsa-p256" or "ecdsa-p384".
fn check_ecdsa(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    hashed: &[u8],
    sig: &[u8],
) -> Result<&'static str, SignatureError> {
    let point = ec_point(spki)?;
    match ec_curve(spki) {
        Some(c) if c == SECP256R1 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|e| SignatureError::BadCertificate(e.to_string()))?;
            let s =
                p256::ecdsa::Signature::from_der(sig).map_err(|_| SignatureError::BadSignature)?;
            vk.verify_prehash(hashed, &s)
                .map_err(|_| SignatureError::BadSignature)?;
            Ok("ecdsa-p256")
        }
        Some(c) if c == SECP384R1 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|e| SignatureError::BadCertificate(e.to_string()))?;
            let s =
                p384::ecdsa::Signature::from_der(sig).map_err(|_| SignatureError::BadSignature)?;
            vk.verify_prehash(hashed, &s)
                .map_err(|_| SignatureError::BadSignature)?;
            Ok("ecdsa-p384")
        }
        other => Err(SignatureError::UnsupportedAlgorithm(format!(
            "EC curve {}",
            other.map(|o| o.to_string()).unwrap_or_else(|| "?".into())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(s)
    }

    /// The kernel's lists (pkcs7_parser.c): taken and computed, taken but not computed here, refused.
    #[test]
    fn kernel_algorithm_lists() {
        assert_eq!(
            kernel_signature_algorithm(&RSA_ENCRYPTION).unwrap(),
            KernelSigAlg::Rsa
        );
        for o in [
            "1.2.840.10045.4.1",
            "1.2.840.10045.4.3.2",
            "2.16.840.1.101.3.4.3.12",
        ] {
            assert_eq!(
                kernel_signature_algorithm(&oid(o)).unwrap(),
                KernelSigAlg::Ecdsa,
                "{o}"
            );
        }
        assert_eq!(
            kernel_signature_algorithm(&GOST_2012_PKEY_512).unwrap(),
            KernelSigAlg::Gost
        );
        // sha256WithRSAEncryption and RSASSA-PSS are X.509 signature algorithms, not PKCS#7 signer ones.
        for o in ["1.2.840.113549.1.1.11", "1.2.840.113549.1.1.10", "1.2.3.4"] {
            let e = kernel_signature_algorithm(&oid(o)).unwrap_err();
            assert!(e.is_check_failure(), "{o}: {e}");
        }
        assert_eq!(
            kernel_digest(&oid("2.16.840.1.101.3.4.2.2")).unwrap(),
            Some(SigDigest::Sha384)
        );
        assert_eq!(
            kernel_digest(&oid("1.3.14.3.2.26")).unwrap(),
            Some(SigDigest::Sha1)
        );
        assert_eq!(kernel_digest(&oid("2.16.840.1.101.3.4.2.4")).unwrap(), None);
        assert_eq!(digest_name(&oid("1.2.156.10197.1.401")), "sm3");
        // MD5 is not taken.
        assert!(
            kernel_digest(&oid("1.2.840.113549.2.5"))
                .unwrap_err()
                .is_check_failure()
        );
    }
}
