//! `TPMT_SIGNATURE` (Part 2 §11.3.4): what `tpm2_quote -s` writes by default (`-f tss`).

use super::reader::Reader;
use super::{Tpm2Error, alg};

/// `TPM2_MAX_RSA_KEY_BYTES`: an RSA signature is at most one 4096-bit modulus long.
const MAX_RSA: usize = 512;
/// `TPM2_MAX_ECC_KEY_BYTES` in the TSS headers.
const MAX_ECC: usize = 128;

/// A signature scheme with its hash, as carried by a `TPMT_SIGNATURE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// RSASSA-PKCS1-v1_5.
    RsaSsa {
        /// `TPMI_ALG_HASH` of the signed digest.
        hash: u16,
        /// The signature, as long as the modulus.
        sig: Vec<u8>,
    },
    /// RSASSA-PSS.
    RsaPss {
        /// `TPMI_ALG_HASH` of the signed digest (also the MGF1 hash).
        hash: u16,
        /// The signature.
        sig: Vec<u8>,
    },
    /// ECDSA.
    Ecdsa {
        /// `TPMI_ALG_HASH` of the signed digest.
        hash: u16,
        /// `signatureR`, big-endian.
        r: Vec<u8>,
        /// `signatureS`, big-endian.
        s: Vec<u8>,
    },
}

impl Signature {
    /// Parses a complete marshalled `TPMT_SIGNATURE`; rejects trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<Signature, Tpm2Error> {
        let mut r = Reader::new(bytes);
        let sig_alg = r.u16("TPMT_SIGNATURE.sigAlg")?;
        let s = match sig_alg {
            alg::RSASSA | alg::RSAPSS => {
                let hash = r.u16("TPMS_SIGNATURE_RSA.hash")?;
                let sig = r.tpm2b("TPMS_SIGNATURE_RSA.sig", MAX_RSA)?.to_vec();
                if sig_alg == alg::RSASSA {
                    Signature::RsaSsa { hash, sig }
                } else {
                    Signature::RsaPss { hash, sig }
                }
            }
            alg::ECDSA => {
                let hash = r.u16("TPMS_SIGNATURE_ECC.hash")?;
                let rr = r.tpm2b("TPMS_SIGNATURE_ECC.signatureR", MAX_ECC)?.to_vec();
                let s = r.tpm2b("TPMS_SIGNATURE_ECC.signatureS", MAX_ECC)?.to_vec();
                Signature::Ecdsa { hash, r: rr, s }
            }
            other => {
                return Err(Tpm2Error::Unsupported {
                    what: "signature scheme",
                    name: alg::name(other),
                });
            }
        };
        r.finish()?;
        Ok(s)
    }

    /// True if `bytes` starts like a `TPMT_SIGNATURE` (a signature scheme id, then a hash id), which a raw
    /// signature does only by chance (about 1 in 2^30 for random bytes).
    pub fn looks_like(bytes: &[u8]) -> bool {
        let id = |i: usize| yardstick_common::bytes::be16(bytes, i);
        let scheme_ok = matches!(
            id(0),
            Some(
                alg::RSASSA
                    | alg::RSAPSS
                    | alg::ECDSA
                    | alg::ECDAA
                    | alg::SM2
                    | alg::ECSCHNORR
                    | alg::HMAC
            )
        );
        let hash_ok = matches!(
            id(2),
            Some(alg::SHA1 | alg::SHA256 | alg::SHA384 | alg::SHA512 | alg::SM3_256)
        );
        scheme_ok && hash_ok
    }

    /// The scheme's `TPMI_ALG_HASH`.
    pub fn hash(&self) -> u16 {
        match self {
            Signature::RsaSsa { hash, .. }
            | Signature::RsaPss { hash, .. }
            | Signature::Ecdsa { hash, .. } => *hash,
        }
    }

    /// `rsassa`, `rsapss` or `ecdsa`.
    pub fn scheme_name(&self) -> &'static str {
        match self {
            Signature::RsaSsa { .. } => "rsassa",
            Signature::RsaPss { .. } => "rsapss",
            Signature::Ecdsa { .. } => "ecdsa",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rsassa_and_ecdsa() {
        let mut b = vec![0x00, 0x14, 0x00, 0x0b, 0x00, 0x03, 1, 2, 3];
        assert_eq!(
            Signature::parse(&b).unwrap(),
            Signature::RsaSsa {
                hash: alg::SHA256,
                sig: vec![1, 2, 3]
            }
        );
        assert!(Signature::looks_like(&b));
        b.truncate(8);
        assert!(matches!(
            Signature::parse(&b),
            Err(Tpm2Error::Truncated { .. })
        ));
        let e = [0x00, 0x18, 0x00, 0x0b, 0x00, 0x01, 7, 0x00, 0x02, 8, 9];
        assert_eq!(
            Signature::parse(&e).unwrap(),
            Signature::Ecdsa {
                hash: alg::SHA256,
                r: vec![7],
                s: vec![8, 9]
            }
        );
        assert!(matches!(
            Signature::parse(&[0x00, 0x1a, 0, 0x0b]),
            Err(Tpm2Error::Unsupported { .. })
        ));
        assert!(!Signature::looks_like(&[0x12, 0x34, 0x56, 0x78]));
    }
}
