//! Public keys that sign evidence (AMD ASK/ARK, VCEK, TPM attestation keys, Intel PCK/QE keys) and the one
//! place signatures are checked.

use rsa::traits::PublicKeyParts as _;
use sha2::digest::FixedOutputReset;
use yardstick_common::hash::Algorithm;

/// A verification key.
#[derive(Debug, Clone)]
pub enum Key {
    /// RSA (any size from 1024 to 8192 bits).
    Rsa(rsa::PublicKey),
    /// ECDSA on NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA on NIST P-384.
    P384(p384::ecdsa::VerifyingKey),
}

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1v15,
    /// RSASSA-PSS with MGF1 over the same hash; `None` salt length = detect it.
    RsaPss {
        /// Salt length in bytes, if fixed.
        salt_len: Option<usize>,
    },
    /// ECDSA.
    Ecdsa,
}

/// The signature bytes in one of the encodings evidence uses.
#[derive(Debug, Clone, Copy)]
pub enum Sig<'a> {
    /// An RSA signature, or an ECDSA signature as ASN.1 DER or fixed-size `r || s`.
    Bytes(&'a [u8]),
    /// ECDSA `r` and `s`, big-endian, possibly shorter than the field (a TPM may drop leading zeros).
    Scalars {
        /// r
        r: &'a [u8],
        /// s
        s: &'a [u8],
    },
}

/// A key could not be built from its encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl Key {
    /// An RSA key from its big-endian modulus and exponent.
    pub fn rsa(modulus: &[u8], exponent: &[u8]) -> Result<Key, KeyError> {
        let n = rsa::BoxedUint::from_be_slice_vartime(modulus);
        let e = rsa::BoxedUint::from_be_slice_vartime(exponent);
        rsa::PublicKey::new(n, e)
            .map(Key::Rsa)
            .map_err(|e| KeyError(format!("invalid RSA public key: {e}")))
    }

    /// An ECDSA key from its curve's SEC1 point encoding (`04 || x || y` or compressed).
    pub fn ec_sec1(curve_bits: usize, point: &[u8]) -> Result<Key, KeyError> {
        let bad = |e: p256::ecdsa::Error| {
            KeyError(format!("invalid P-{curve_bits} public key point: {e}"))
        };
        match curve_bits {
            256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(Key::P256)
                .map_err(bad),
            384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(Key::P384)
                .map_err(bad),
            n => Err(KeyError(format!("unsupported elliptic curve P-{n}"))),
        }
    }

    /// An ECDSA key from big-endian affine coordinates.
    pub fn ec_xy(curve_bits: usize, x: &[u8], y: &[u8]) -> Result<Key, KeyError> {
        let len = curve_bits.div_ceil(8);
        let (x, y) = (left_pad(x, len), left_pad(y, len));
        match (x, y) {
            (Some(x), Some(y)) => {
                let mut point = vec![4u8];
                point.extend(x);
                point.extend(y);
                Key::ec_sec1(curve_bits, &point)
            }
            _ => Err(KeyError(format!(
                "EC point coordinates are longer than P-{curve_bits} allows"
            ))),
        }
    }

    /// A short description: `RSA-2048`, `ECDSA P-256`.
    pub fn describe(&self) -> String {
        match self {
            Key::Rsa(k) => format!("RSA-{}", k.size() * 8),
            Key::P256(_) => "ECDSA P-256".into(),
            Key::P384(_) => "ECDSA P-384".into(),
        }
    }

    /// The key as DER `SubjectPublicKeyInfo` (what `openssl pkey -pubout -outform der` writes; EC points
    /// uncompressed); `None` if it cannot be encoded.
    pub fn spki_der(&self) -> Option<Vec<u8>> {
        // AlgorithmIdentifier {id-ecPublicKey, curve} and the BIT STRING header of an uncompressed point.
        const P256_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
        const P384_PREFIX: &str = "3076301006072a8648ce3d020106052b81040022036200";
        let ec = |prefix: &str, point: &[u8]| {
            let mut der = crate::hex::decode(prefix).ok()?;
            der.extend_from_slice(point);
            Some(der)
        };
        match self {
            Key::Rsa(k) => {
                use rsa::pkcs8::EncodePublicKey as _;
                k.to_public_key_der().ok().map(|d| d.as_bytes().to_vec())
            }
            Key::P256(k) => ec(P256_PREFIX, &k.to_sec1_bytes()),
            Key::P384(k) => ec(P384_PREFIX, &k.to_sec1_bytes()),
        }
    }

    /// SHA-256 of the key's canonical encoding (RSA: modulus; EC: uncompressed point), to tell keys apart in
    /// messages.
    pub fn fingerprint(&self) -> String {
        let bytes = match self {
            Key::Rsa(k) => k.n().to_be_bytes().to_vec(),
            Key::P256(k) => k.to_sec1_bytes().to_vec(),
            Key::P384(k) => k.to_sec1_bytes().to_vec(),
        };
        Algorithm::Sha256.digest(&bytes).to_hex()
    }

    /// Checks `sig` over the message whose `hash`-digest is `prehash`. `Err` says why it does not verify.
    ///
    /// SHA-1 is refused: a SHA-1 signature that would verify is reported as [`SHA1_REFUSED`] (one that
    /// would not, as not verifying). [`Key::verify_prehash_allowing_sha1`] accepts it.
    pub fn verify_prehash(
        &self,
        scheme: Scheme,
        hash: Algorithm,
        prehash: &[u8],
        sig: Sig<'_>,
    ) -> Result<(), String> {
        self.verify_prehash_allowing_sha1(scheme, hash, prehash, sig)?;
        if hash == Algorithm::Sha1 {
            return Err(SHA1_REFUSED.into());
        }
        Ok(())
    }

    /// As [`Key::verify_prehash`], SHA-1 included: for a relying party that asked for SHA-1 (TPM quotes from
    /// TPMs and tools that still sign with it), which should mark what it accepted this way as weak.
    pub fn verify_prehash_allowing_sha1(
        &self,
        scheme: Scheme,
        hash: Algorithm,
        prehash: &[u8],
        sig: Sig<'_>,
    ) -> Result<(), String> {
        match (self, scheme) {
            (Key::Rsa(k), Scheme::RsaPkcs1v15 | Scheme::RsaPss { .. }) => {
                let Sig::Bytes(s) = sig else {
                    return Err("an RSA key cannot check an ECDSA (r, s) signature".into());
                };
                if s.len() != k.size() {
                    return Err(format!(
                        "RSA signature is {} bytes, the {}-bit modulus needs {}",
                        s.len(),
                        k.size() * 8,
                        k.size()
                    ));
                }
                let r = match scheme {
                    Scheme::RsaPkcs1v15 => match hash {
                        Algorithm::Sha1 => k.pkcs1v15_verify_prehash::<sha1::Sha1>(prehash, s),
                        Algorithm::Sha256 => k.pkcs1v15_verify_prehash::<sha2::Sha256>(prehash, s),
                        Algorithm::Sha384 => k.pkcs1v15_verify_prehash::<sha2::Sha384>(prehash, s),
                        Algorithm::Sha512 => k.pkcs1v15_verify_prehash::<sha2::Sha512>(prehash, s),
                    },
                    Scheme::RsaPss { salt_len } => match hash {
                        Algorithm::Sha1 => pss::<sha1::Sha1>(k, prehash, s, salt_len),
                        Algorithm::Sha256 => pss::<sha2::Sha256>(k, prehash, s, salt_len),
                        Algorithm::Sha384 => pss::<sha2::Sha384>(k, prehash, s, salt_len),
                        Algorithm::Sha512 => pss::<sha2::Sha512>(k, prehash, s, salt_len),
                    },
                    Scheme::Ecdsa => unreachable_scheme(),
                };
                r.map_err(|_| "signature does not verify".to_string())
            }
            (Key::P256(k), Scheme::Ecdsa) => {
                let s = p256_sig(sig)?;
                use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
                k.verify_prehash(prehash, &s)
                    .map_err(|_| "signature does not verify".to_string())
            }
            (Key::P384(k), Scheme::Ecdsa) => {
                let s = p384_sig(sig)?;
                use p384::ecdsa::signature::hazmat::PrehashVerifier as _;
                k.verify_prehash(prehash, &s)
                    .map_err(|_| "signature does not verify".to_string())
            }
            (k, s) => Err(format!(
                "a {} key cannot check a {s:?} signature",
                k.describe()
            )),
        }
    }

    /// Hashes `msg` with `hash` and checks `sig` over it ([`Key::verify_prehash`]: SHA-1 refused).
    pub fn verify(
        &self,
        scheme: Scheme,
        hash: Algorithm,
        msg: &[u8],
        sig: Sig<'_>,
    ) -> Result<(), String> {
        self.verify_prehash(scheme, hash, &hash.digest(msg), sig)
    }

    /// Hashes `msg` with `hash` and checks `sig` over it, SHA-1 included
    /// ([`Key::verify_prehash_allowing_sha1`]).
    pub fn verify_allowing_sha1(
        &self,
        scheme: Scheme,
        hash: Algorithm,
        msg: &[u8],
        sig: Sig<'_>,
    ) -> Result<(), String> {
        self.verify_prehash_allowing_sha1(scheme, hash, &hash.digest(msg), sig)
    }
}

/// Why a valid SHA-1 signature is refused (by default; `--allow-sha1` accepts TPM quotes signed with it).
pub const SHA1_REFUSED: &str = "signature uses SHA-1; pass --allow-sha1 to accept";

// Arms the checks before them make impossible; an error keeps the match total without a panic.
fn unreachable_scheme() -> rsa::Result<()> {
    Err(rsa::Error::InvalidPaddingScheme)
}

fn pss<D>(
    k: &rsa::PublicKey,
    prehash: &[u8],
    sig: &[u8],
    salt_len: Option<usize>,
) -> rsa::Result<()>
where
    D: sha2::digest::Digest + FixedOutputReset,
{
    k.verify(
        rsa::Pss::<D> {
            blinded: false,
            digest: D::new(),
            salt_len,
        },
        prehash,
        sig,
    )
}

fn left_pad(b: &[u8], len: usize) -> Option<Vec<u8>> {
    // Leading zero bytes beyond the field size carry no value (some encoders add a sign byte).
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    let b = b.get(first..).unwrap_or_default();
    if b.len() > len {
        return None;
    }
    let mut out = vec![0u8; len - b.len()];
    out.extend_from_slice(b);
    Some(out)
}

/// Normalises an ECDSA signature to fixed-size `r || s` (`len` bytes each), decoding DER if needed.
enum EcdsaBytes {
    Fixed(Vec<u8>),
    Der(Vec<u8>),
}

fn ecdsa_bytes(sig: Sig<'_>, len: usize) -> Result<EcdsaBytes, String> {
    let bad = |what: &str| format!("malformed ECDSA signature ({what})");
    match sig {
        Sig::Scalars { r, s } => {
            let mut rs = left_pad(r, len).ok_or_else(|| bad("r too long"))?;
            rs.extend(left_pad(s, len).ok_or_else(|| bad("s too long"))?);
            Ok(EcdsaBytes::Fixed(rs))
        }
        Sig::Bytes(b) if b.len() == 2 * len => Ok(EcdsaBytes::Fixed(b.to_vec())),
        Sig::Bytes(b) => Ok(EcdsaBytes::Der(b.to_vec())),
    }
}

fn p256_sig(sig: Sig<'_>) -> Result<p256::ecdsa::Signature, String> {
    match ecdsa_bytes(sig, 32)? {
        EcdsaBytes::Fixed(b) => p256::ecdsa::Signature::from_slice(&b),
        EcdsaBytes::Der(b) => p256::ecdsa::Signature::from_der(&b),
    }
    .map_err(|_| "malformed ECDSA P-256 signature (r or s out of range, or bad DER)".to_string())
}

fn p384_sig(sig: Sig<'_>) -> Result<p384::ecdsa::Signature, String> {
    match ecdsa_bytes(sig, 48)? {
        EcdsaBytes::Fixed(b) => p384::ecdsa::Signature::from_slice(&b),
        EcdsaBytes::Der(b) => p384::ecdsa::Signature::from_der(&b),
    }
    .map_err(|_| "malformed ECDSA P-384 signature (r or s out of range, or bad DER)".to_string())
}
