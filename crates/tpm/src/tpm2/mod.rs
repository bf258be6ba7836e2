//! TPM 2.0 wire structures a relying party receives: quotes (`TPMS_ATTEST`), their signatures (`TPMT_SIGNATURE`),
//! attestation keys (`TPM2B_PUBLIC`), PCR selections (`TPML_PCR_SELECTION`) and the PCR file `tpm2_quote -o`
//! writes.
//!
//! Parsing only, no cryptography: each format is parsed from untrusted bytes into a validated struct in one
//! place (`attest`, `signature`, `public`, `selection`, `quote_pcrs`); signature checks live in
//! `yardstick-verify`. Layouts follow *TPM 2.0 Library, Part 2: Structures* (big-endian, `TPM2B_*` = `u16` size
//! then bytes) and the algorithm ids of the *TCG Algorithm Registry*.
//!
//! Hand-written because only a few TPM 2.0 structures are needed (TPMS_ATTEST, TPMT_SIGNATURE, TPM2B_PUBLIC,
//! TPML_PCR_SELECTION) and the crate of the field, tss-esapi, links the C TSS libraries; each is decoded strictly
//! from untrusted input, and tests check them against tpm2-tools and a live swtpm.
//!
//! ```
//! use yardstick_tpm::tpm2::{PcrSelection, alg};
//! // TPML_PCR_SELECTION: one bank (sha256), 3 select bytes, PCRs 0, 1 and 7.
//! let sel = PcrSelection::parse(&[0, 0, 0, 1, 0x00, 0x0b, 3, 0x83, 0, 0]).unwrap();
//! assert_eq!(sel.banks()[0].hash, alg::SHA256);
//! assert_eq!(sel.banks()[0].pcrs(), vec![0, 1, 7]);
//! ```

pub mod attest;
pub mod public;
pub mod quote_pcrs;
mod reader;
pub mod selection;
pub mod signature;

pub use attest::{Attest, ClockInfo};
pub use public::{Public, PublicKey};
pub use quote_pcrs::QuotePcrs;
pub use selection::{BankSelection, PcrSelection};
pub use signature::Signature;

/// `TPM_ALG_ID` values (TCG Algorithm Registry) that appear in the structures parsed here.
pub mod alg {
    /// TPM_ALG_RSA
    pub const RSA: u16 = 0x0001;
    /// TPM_ALG_SHA1
    pub const SHA1: u16 = 0x0004;
    /// TPM_ALG_HMAC
    pub const HMAC: u16 = 0x0005;
    /// TPM_ALG_SHA256
    pub const SHA256: u16 = 0x000b;
    /// TPM_ALG_SHA384
    pub const SHA384: u16 = 0x000c;
    /// TPM_ALG_SHA512
    pub const SHA512: u16 = 0x000d;
    /// TPM_ALG_NULL
    pub const NULL: u16 = 0x0010;
    /// TPM_ALG_SM3_256
    pub const SM3_256: u16 = 0x0012;
    /// TPM_ALG_RSASSA (PKCS#1 v1.5 signatures)
    pub const RSASSA: u16 = 0x0014;
    /// TPM_ALG_RSAPSS
    pub const RSAPSS: u16 = 0x0016;
    /// TPM_ALG_ECDSA
    pub const ECDSA: u16 = 0x0018;
    /// TPM_ALG_ECDAA
    pub const ECDAA: u16 = 0x001a;
    /// TPM_ALG_SM2
    pub const SM2: u16 = 0x001b;
    /// TPM_ALG_ECSCHNORR
    pub const ECSCHNORR: u16 = 0x001c;
    /// TPM_ALG_ECC
    pub const ECC: u16 = 0x0023;

    /// A short lower-case name for messages (`rsassa`, `sha256`, ...), or the hex id.
    pub fn name(id: u16) -> String {
        match id {
            RSA => "rsa".into(),
            SHA1 => "sha1".into(),
            HMAC => "hmac".into(),
            SHA256 => "sha256".into(),
            SHA384 => "sha384".into(),
            SHA512 => "sha512".into(),
            NULL => "null".into(),
            SM3_256 => "sm3_256".into(),
            RSASSA => "rsassa".into(),
            RSAPSS => "rsapss".into(),
            ECDSA => "ecdsa".into(),
            ECDAA => "ecdaa".into(),
            SM2 => "sm2".into(),
            ECSCHNORR => "ecschnorr".into(),
            ECC => "ecc".into(),
            other => format!("0x{other:04x}"),
        }
    }
}

/// `TPM_ECC_CURVE` values.
pub mod curve {
    /// TPM_ECC_NIST_P256
    pub const NIST_P256: u16 = 0x0003;
    /// TPM_ECC_NIST_P384
    pub const NIST_P384: u16 = 0x0004;
    /// TPM_ECC_NIST_P521
    pub const NIST_P521: u16 = 0x0005;
}

/// Why TPM bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tpm2Error {
    /// The input ends inside a field.
    #[error("truncated {what}: needs {needed} bytes at offset {offset}, only {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A size or count field exceeds what the specification allows.
    #[error("{what} is {size}, more than the maximum of {max}")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its value.
        size: usize,
        /// The specification's maximum.
        max: usize,
    },
    /// Bytes are left over after a complete structure.
    #[error("{0} trailing bytes after the structure")]
    Trailing(usize),
    /// `TPMS_ATTEST.magic` is not `TPM_GENERATED_VALUE`.
    #[error(
        "magic is 0x{0:08x}, not TPM_GENERATED_VALUE 0xff544347 (not a TPM-generated attestation)"
    )]
    BadMagic(u32),
    /// `TPMS_ATTEST.type` is not `TPM_ST_ATTEST_QUOTE`.
    #[error("attestation type is 0x{0:04x}, not TPM_ST_ATTEST_QUOTE 0x8018")]
    NotAQuote(u16),
    /// An algorithm, scheme or curve this parser does not handle.
    #[error("unsupported {what} {name}")]
    Unsupported {
        /// What kind of identifier.
        what: &'static str,
        /// The algorithm name or hex id.
        name: String,
    },
    /// A value that violates the specification.
    #[error("{0}")]
    Invalid(String),
}
