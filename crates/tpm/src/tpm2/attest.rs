//! `TPMS_ATTEST` for a quote (Part 2 §10.12.12): what `tpm2_quote -m` writes and what the TPM signs.

use super::Tpm2Error;
use super::reader::Reader;
use super::selection::PcrSelection;

/// `TPM_GENERATED_VALUE`: only the TPM itself produces structures starting with it (Part 2 §6.2), so a
/// restricted signing key cannot be made to sign a forged attestation.
pub const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
/// `TPM_ST_ATTEST_QUOTE`.
pub const TPM_ST_ATTEST_QUOTE: u16 = 0x8018;
/// `sizeof(TPMU_NAME)`: the largest `TPM2B_NAME` (a `TPMT_HA` with a SHA-512 digest).
const MAX_NAME: usize = 2 + 64;
/// `sizeof(TPMT_HA)`: the largest `TPM2B_DATA`.
const MAX_DATA: usize = 2 + 64;
/// `sizeof(TPMU_HA)`: the largest `TPM2B_DIGEST`.
const MAX_DIGEST: usize = 64;

/// `TPMS_CLOCK_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockInfo {
    /// Milliseconds the TPM has been powered (advances only while powered).
    pub clock: u64,
    /// TPM resets (power cycles) since the TPM was cleared.
    pub reset_count: u32,
    /// TPM2_Shutdown(STATE)/Startup(STATE) cycles since the last reset.
    pub restart_count: u32,
    /// False if the clock may have been rolled back.
    pub safe: bool,
}

/// A parsed quote attestation (`TPMS_ATTEST` with `TPMS_QUOTE_INFO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attest {
    /// `qualifiedSigner`: the qualified name of the signing key.
    pub qualified_signer: Vec<u8>,
    /// `extraData`: the caller's qualifying data (the nonce).
    pub extra_data: Vec<u8>,
    /// `clockInfo`.
    pub clock_info: ClockInfo,
    /// `firmwareVersion` (vendor specific).
    pub firmware_version: u64,
    /// `attested.quote.pcrSelect`.
    pub pcr_select: PcrSelection,
    /// `attested.quote.pcrDigest`.
    pub pcr_digest: Vec<u8>,
}

impl Attest {
    /// Parses a complete `TPMS_ATTEST` that must be a quote; rejects trailing bytes.
    pub fn parse_quote(bytes: &[u8]) -> Result<Attest, Tpm2Error> {
        let mut r = Reader::new(bytes);
        let magic = r.u32("TPMS_ATTEST.magic")?;
        if magic != TPM_GENERATED_VALUE {
            return Err(Tpm2Error::BadMagic(magic));
        }
        let ty = r.u16("TPMS_ATTEST.type")?;
        if ty != TPM_ST_ATTEST_QUOTE {
            return Err(Tpm2Error::NotAQuote(ty));
        }
        let qualified_signer = r.tpm2b("TPMS_ATTEST.qualifiedSigner", MAX_NAME)?.to_vec();
        let extra_data = r.tpm2b("TPMS_ATTEST.extraData", MAX_DATA)?.to_vec();
        let clock = r.u64("TPMS_CLOCK_INFO.clock")?;
        let reset_count = r.u32("TPMS_CLOCK_INFO.resetCount")?;
        let restart_count = r.u32("TPMS_CLOCK_INFO.restartCount")?;
        let safe = match r.u8("TPMS_CLOCK_INFO.safe")? {
            0 => false,
            1 => true,
            v => {
                return Err(Tpm2Error::Invalid(format!(
                    "TPMS_CLOCK_INFO.safe is {v}, not a TPMI_YES_NO"
                )));
            }
        };
        let firmware_version = r.u64("TPMS_ATTEST.firmwareVersion")?;
        let pcr_select = PcrSelection::read(&mut r)?;
        let pcr_digest = r.tpm2b("TPMS_QUOTE_INFO.pcrDigest", MAX_DIGEST)?.to_vec();
        r.finish()?;
        Ok(Attest {
            qualified_signer,
            extra_data,
            clock_info: ClockInfo {
                clock,
                reset_count,
                restart_count,
                safe,
            },
            firmware_version,
            pcr_select,
            pcr_digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quote written by `tpm2_quote -q 0102030405060708 -l sha256:0,1,7 -m msg` against swtpm 0.7.1
    /// (tpm2-tools 5.4); its `calcDigest` was 8da0a02f...e5740f.
    const SWTPM_QUOTE: &str = "ff54434780180022000bbaecc130cd99e63d4cd0946608ed056c9c08dd29735214fa58f40dfd002d343e\
        0008010203040506070800000000000013a4000000010000000001201910230016363600000001000b0383000000208da0a02f6340\
        891456331477ec59ae95ea1584a0a0bf9ebdbb7e34e2f9e5740f";

    #[test]
    fn parses_swtpm_quote() {
        let bytes = yardstick_common::hex::decode(SWTPM_QUOTE).unwrap();
        let a = Attest::parse_quote(&bytes).unwrap();
        assert_eq!(a.extra_data, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(a.pcr_select.to_string(), "sha256:0,1,7");
        assert_eq!(
            yardstick_common::hex::encode(&a.pcr_digest),
            "8da0a02f6340891456331477ec59ae95ea1584a0a0bf9ebdbb7e34e2f9e5740f"
        );
        assert!(a.clock_info.safe);
        // Every truncation is an error, never a panic.
        for n in 0..bytes.len() {
            assert!(Attest::parse_quote(&bytes[..n]).is_err(), "{n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Attest::parse_quote(&long), Err(Tpm2Error::Trailing(1)));
    }

    #[test]
    fn rejects_bad_magic_type_and_sizes() {
        let mut b = yardstick_common::hex::decode(SWTPM_QUOTE).unwrap();
        b[0] = 0;
        assert!(matches!(
            Attest::parse_quote(&b),
            Err(Tpm2Error::BadMagic(_))
        ));
        let mut b = yardstick_common::hex::decode(SWTPM_QUOTE).unwrap();
        b[5] = 0x17;
        assert_eq!(Attest::parse_quote(&b), Err(Tpm2Error::NotAQuote(0x8017)));
        let mut b = yardstick_common::hex::decode(SWTPM_QUOTE).unwrap();
        b[6] = 0xff; // qualifiedSigner size 0xff22
        assert!(matches!(
            Attest::parse_quote(&b),
            Err(Tpm2Error::TooLarge { .. })
        ));
    }
}
