//! `TPM2B_PUBLIC` / `TPMT_PUBLIC` (Part 2 §12.2.4-5) for signing keys: what `tpm2_createak -u` and
//! `tpm2_readpublic -o` write.

use yardstick_common::hash::Algorithm;

use super::reader::Reader;
use super::{Tpm2Error, alg};

const MAX_RSA: usize = 512;
const MAX_ECC: usize = 128;
/// `sizeof(TPMT_PUBLIC)` is a few hundred bytes; 1 KiB bounds every legal encoding.
const MAX_PUBLIC: usize = 1024;

/// `TPMA_OBJECT` bits a verifier cares about (Part 2 §8.3).
pub mod attr {
    /// The key cannot be duplicated: it lives only in this TPM.
    pub const FIXED_TPM: u32 = 1 << 1;
    /// The key's parent cannot change.
    pub const FIXED_PARENT: u32 = 1 << 4;
    /// The TPM generated the private part.
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    /// The key signs only TPM-generated structures (an attestation key).
    pub const RESTRICTED: u32 = 1 << 16;
    /// The key decrypts.
    pub const DECRYPT: u32 = 1 << 17;
    /// The key signs.
    pub const SIGN: u32 = 1 << 18;
}

/// The public part of an asymmetric key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA.
    Rsa {
        /// Modulus, big-endian.
        modulus: Vec<u8>,
        /// Public exponent (`0` in the structure means 65537).
        exponent: u32,
    },
    /// An elliptic-curve point.
    Ecc {
        /// `TPM_ECC_CURVE`.
        curve: u16,
        /// X coordinate, big-endian.
        x: Vec<u8>,
        /// Y coordinate, big-endian.
        y: Vec<u8>,
    },
}

/// A parsed `TPMT_PUBLIC` of an RSA or ECC key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Public {
    /// `nameAlg`.
    pub name_alg: u16,
    /// `objectAttributes` (see [`attr`]).
    pub attributes: u32,
    /// The key's signing scheme and hash when the key is bound to one (`TPMT_RSA_SCHEME` /
    /// `TPMT_ECC_SCHEME`), `None` for `TPM_ALG_NULL`.
    pub scheme: Option<(u16, u16)>,
    /// The key.
    pub key: PublicKey,
    /// The marshalled `TPMT_PUBLIC`, for the key's name.
    tpmt: Vec<u8>,
}

impl Public {
    /// Parses a complete `TPM2B_PUBLIC` (size-prefixed); rejects trailing bytes.
    pub fn parse_tpm2b(bytes: &[u8]) -> Result<Public, Tpm2Error> {
        let mut r = Reader::new(bytes);
        let inner = r.tpm2b("TPM2B_PUBLIC.size", MAX_PUBLIC)?;
        r.finish()?;
        Public::parse_tpmt(inner)
    }

    /// Parses a complete `TPMT_PUBLIC`; rejects trailing bytes.
    pub fn parse_tpmt(bytes: &[u8]) -> Result<Public, Tpm2Error> {
        let mut r = Reader::new(bytes);
        let ty = r.u16("TPMT_PUBLIC.type")?;
        let name_alg = r.u16("TPMT_PUBLIC.nameAlg")?;
        let attributes = r.u32("TPMT_PUBLIC.objectAttributes")?;
        let _auth_policy = r.tpm2b("TPMT_PUBLIC.authPolicy", 64)?;
        // TPMT_SYM_DEF_OBJECT: keyBits and mode follow unless the algorithm is NULL.
        let sym = r.u16("TPMT_SYM_DEF_OBJECT.algorithm")?;
        if sym != alg::NULL {
            r.u16("TPMT_SYM_DEF_OBJECT.keyBits")?;
            r.u16("TPMT_SYM_DEF_OBJECT.mode")?;
        }
        let (scheme, key) = match ty {
            alg::RSA => {
                let scheme = r.u16("TPMT_RSA_SCHEME.scheme")?;
                // RSAES carries TPMS_EMPTY; every other RSA scheme a TPMS_SCHEME_HASH.
                let scheme = match scheme {
                    alg::NULL => None,
                    0x0015 => Some((scheme, alg::NULL)),
                    _ => Some((scheme, r.u16("TPMT_RSA_SCHEME.hashAlg")?)),
                };
                let _key_bits = r.u16("TPMS_RSA_PARMS.keyBits")?;
                let exponent = match r.u32("TPMS_RSA_PARMS.exponent")? {
                    0 => 65537,
                    e => e,
                };
                let modulus = r.tpm2b("TPM2B_PUBLIC_KEY_RSA", MAX_RSA)?.to_vec();
                (scheme, PublicKey::Rsa { modulus, exponent })
            }
            alg::ECC => {
                let scheme = r.u16("TPMT_ECC_SCHEME.scheme")?;
                let scheme = match scheme {
                    alg::NULL => None,
                    _ => {
                        let h = r.u16("TPMT_ECC_SCHEME.hashAlg")?;
                        if scheme == alg::ECDAA {
                            r.u16("TPMS_SCHEME_ECDAA.count")?;
                        }
                        Some((scheme, h))
                    }
                };
                let curve = r.u16("TPMS_ECC_PARMS.curveID")?;
                if r.u16("TPMT_KDF_SCHEME.scheme")? != alg::NULL {
                    r.u16("TPMT_KDF_SCHEME.hashAlg")?;
                }
                let x = r.tpm2b("TPMS_ECC_POINT.x", MAX_ECC)?.to_vec();
                let y = r.tpm2b("TPMS_ECC_POINT.y", MAX_ECC)?.to_vec();
                (scheme, PublicKey::Ecc { curve, x, y })
            }
            other => {
                return Err(Tpm2Error::Unsupported {
                    what: "key type",
                    name: alg::name(other),
                });
            }
        };
        r.finish()?;
        Ok(Public {
            name_alg,
            attributes,
            scheme,
            key,
            tpmt: bytes.to_vec(),
        })
    }

    /// The key's TPM name: `nameAlg || H_nameAlg(TPMT_PUBLIC)` (Part 1 §16), or `None` for an unsupported
    /// name algorithm.
    pub fn name(&self) -> Option<Vec<u8>> {
        let a = Algorithm::from_tpm_alg_id(self.name_alg)?;
        let mut out = self.name_alg.to_be_bytes().to_vec();
        out.extend_from_slice(&a.digest(&self.tpmt));
        Some(out)
    }

    /// True for a restricted signing key (an attestation key): the TPM refuses to sign, with it, data that
    /// starts with `TPM_GENERATED_VALUE` unless the TPM produced it, so its quotes cannot be forged.
    pub fn is_restricted_signing_key(&self) -> bool {
        self.attributes & (attr::RESTRICTED | attr::SIGN) == attr::RESTRICTED | attr::SIGN
            && self.attributes & attr::DECRYPT == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ECC P-256 restricted signing key (ECDSA/SHA-256), as `tpm2_createak -G ecc -s ecdsa` makes it.
    fn ecc_ak() -> Vec<u8> {
        let mut t = vec![0x00, 0x23, 0x00, 0x0b, 0x00, 0x05, 0x00, 0x72, 0x00, 0x00];
        t.extend([0x00, 0x10]); // symmetric NULL
        t.extend([0x00, 0x18, 0x00, 0x0b]); // ECDSA SHA256
        t.extend([0x00, 0x03]); // NIST P-256
        t.extend([0x00, 0x10]); // kdf NULL
        t.extend([0x00, 0x20]);
        t.extend([1u8; 32]);
        t.extend([0x00, 0x20]);
        t.extend([2u8; 32]);
        let mut b = (t.len() as u16).to_be_bytes().to_vec();
        b.extend(t);
        b
    }

    #[test]
    fn parses_ecc_ak() {
        let b = ecc_ak();
        let p = Public::parse_tpm2b(&b).unwrap();
        assert_eq!(p.scheme, Some((alg::ECDSA, alg::SHA256)));
        assert!(p.is_restricted_signing_key());
        assert!(matches!(p.key, PublicKey::Ecc { curve: 3, .. }));
        assert_eq!(p.name().unwrap().len(), 34);
        for n in 0..b.len() {
            assert!(Public::parse_tpm2b(&b[..n]).is_err());
        }
    }
}
