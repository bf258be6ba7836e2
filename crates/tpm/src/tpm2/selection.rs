//! `TPML_PCR_SELECTION` (Part 2 §10.9.7) and the PCR digest a quote commits to (Part 3 §18.4, TPM2_Quote:
//! `pcrDigest = H(PCR[sel_0] || PCR[sel_1] || ...)`, banks in selection order, PCRs ascending within a bank).

use yardstick_common::hash::{Algorithm, Digest};

use super::reader::Reader;
use super::{Tpm2Error, alg};
use crate::PcrBanks;

/// `TPM2_NUM_PCR_BANKS` in the TSS headers: the most selections a `TPML_PCR_SELECTION` holds.
pub const MAX_BANKS: usize = 16;
/// `TPM2_PCR_SELECT_MAX`: bitmap bytes per bank (32 PCRs).
pub const MAX_SELECT_BYTES: usize = 4;

/// One `TPMS_PCR_SELECTION`: a bank (hash algorithm id) and a bitmap of PCRs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankSelection {
    /// `TPMI_ALG_HASH` of the bank.
    pub hash: u16,
    /// The bitmap: bit `n % 8` of byte `n / 8` selects PCR `n`.
    pub select: Vec<u8>,
}

impl BankSelection {
    /// The selected PCR indices, ascending.
    pub fn pcrs(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, byte) in self.select.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    out.push(i as u32 * 8 + bit);
                }
            }
        }
        out
    }

    /// The bank's algorithm, if yardstick supports it.
    pub fn algorithm(&self) -> Result<Algorithm, Tpm2Error> {
        Algorithm::from_tpm_alg_id(self.hash).ok_or_else(|| Tpm2Error::Unsupported {
            what: "PCR bank",
            name: alg::name(self.hash),
        })
    }
}

/// A `TPML_PCR_SELECTION`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcrSelection {
    banks: Vec<BankSelection>,
}

/// A selected PCR has no value in the supplied PCR set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PCR {pcr} of bank {bank} is selected by the quote but missing from the PCR values")]
pub struct MissingPcr {
    /// Bank name.
    pub bank: String,
    /// PCR index.
    pub pcr: u32,
}

impl PcrSelection {
    /// Builds a selection from `(bank, pcrs)` pairs (PCRs 0..=31).
    pub fn new(banks: &[(Algorithm, &[u32])]) -> PcrSelection {
        let banks = banks
            .iter()
            .map(|(a, pcrs)| {
                let mut select = vec![0u8; 3];
                for &p in pcrs.iter().filter(|p| **p < 32) {
                    let byte = (p / 8) as usize;
                    if select.len() <= byte {
                        select.resize(byte + 1, 0);
                    }
                    if let Some(s) = select.get_mut(byte) {
                        *s |= 1 << (p % 8);
                    }
                }
                BankSelection {
                    hash: a.tpm_alg_id(),
                    select,
                }
            })
            .collect();
        PcrSelection { banks }
    }

    /// Parses a complete marshalled `TPML_PCR_SELECTION` (no trailing bytes).
    pub fn parse(bytes: &[u8]) -> Result<PcrSelection, Tpm2Error> {
        let mut r = Reader::new(bytes);
        let s = PcrSelection::read(&mut r)?;
        r.finish()?;
        Ok(s)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<PcrSelection, Tpm2Error> {
        let count = r.u32("TPML_PCR_SELECTION.count")? as usize;
        if count > MAX_BANKS {
            return Err(Tpm2Error::TooLarge {
                what: "TPML_PCR_SELECTION.count",
                size: count,
                max: MAX_BANKS,
            });
        }
        let mut banks = Vec::with_capacity(count);
        for _ in 0..count {
            let hash = r.u16("TPMS_PCR_SELECTION.hash")?;
            let size = usize::from(r.u8("TPMS_PCR_SELECTION.sizeofSelect")?);
            if size > MAX_SELECT_BYTES {
                return Err(Tpm2Error::TooLarge {
                    what: "TPMS_PCR_SELECTION.sizeofSelect",
                    size,
                    max: MAX_SELECT_BYTES,
                });
            }
            let select = r.bytes(size, "TPMS_PCR_SELECTION.pcrSelect")?.to_vec();
            banks.push(BankSelection { hash, select });
        }
        Ok(PcrSelection { banks })
    }

    /// The selections, in order.
    pub fn banks(&self) -> &[BankSelection] {
        &self.banks
    }

    /// Every selected `(bank, pcr)` in quote order. Fails on a bank yardstick does not support.
    pub fn selected(&self) -> Result<Vec<(Algorithm, u32)>, Tpm2Error> {
        let mut out = Vec::new();
        for b in &self.banks {
            let a = b.algorithm()?;
            out.extend(b.pcrs().into_iter().map(|p| (a, p)));
        }
        Ok(out)
    }

    /// True if no PCR is selected.
    pub fn is_empty(&self) -> bool {
        self.banks.iter().all(|b| b.select.iter().all(|x| *x == 0))
    }

    /// The digest TPM2_Quote computes over the selected PCRs, with hash `alg` (the signing scheme's hash).
    pub fn digest(
        &self,
        alg: Algorithm,
        values: &PcrBanks,
    ) -> Result<Result<Digest, MissingPcr>, Tpm2Error> {
        let mut h = alg.hasher();
        for (bank, pcr) in self.selected()? {
            match values.get(bank, pcr) {
                Some(v) => h.update(v),
                None => {
                    return Ok(Err(MissingPcr {
                        bank: bank.name().to_string(),
                        pcr,
                    }));
                }
            }
        }
        Ok(Ok(h.finish()))
    }
}

impl std::fmt::Display for PcrSelection {
    /// `sha256:0,1,7+sha1:0` (the `tpm2_quote -l` syntax).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .banks
            .iter()
            .map(|b| {
                let pcrs: Vec<String> = b.pcrs().iter().map(u32::to_string).collect();
                format!("{}:{}", alg::name(b.hash), pcrs.join(","))
            })
            .collect();
        f.write_str(&parts.join("+"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_display() {
        let s = PcrSelection::new(&[(Algorithm::Sha256, &[0, 1, 7, 23]), (Algorithm::Sha1, &[4])]);
        assert_eq!(s.to_string(), "sha256:0,1,7,23+sha1:4");
        assert_eq!(s.selected().unwrap().len(), 5);
    }

    #[test]
    fn rejects_absurd_counts() {
        assert!(matches!(
            PcrSelection::parse(&[0xff, 0xff, 0xff, 0xff]),
            Err(Tpm2Error::TooLarge { .. })
        ));
        assert!(matches!(
            PcrSelection::parse(&[0, 0, 0, 1, 0, 0x0b, 200]),
            Err(Tpm2Error::TooLarge { .. })
        ));
        assert!(matches!(
            PcrSelection::parse(&[0, 0, 0, 2, 0, 0x0b, 3, 1, 2, 3]),
            Err(Tpm2Error::Truncated { .. })
        ));
    }

    /// The quote digest is H(values in selection order); a missing PCR is reported, not guessed.
    #[test]
    fn digest_over_selection() {
        let mut v = PcrBanks::new();
        let a = Algorithm::Sha256.digest(b"a");
        let b = Algorithm::Sha256.digest(b"b");
        v.set(0, a);
        v.set(7, b);
        let s = PcrSelection::new(&[(Algorithm::Sha256, &[0, 7])]);
        let want = Algorithm::Sha256.digest_parts(&[&a, &b]);
        assert_eq!(s.digest(Algorithm::Sha256, &v).unwrap().unwrap(), want);
        let s = PcrSelection::new(&[(Algorithm::Sha256, &[0, 7, 9])]);
        assert_eq!(s.digest(Algorithm::Sha256, &v).unwrap().unwrap_err().pcr, 9);
    }
}
