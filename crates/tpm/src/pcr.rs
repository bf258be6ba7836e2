//! PCR values per bank, the one type every PCR-producing or PCR-consuming piece of yardstick shares
//! (prediction, event-log replay, `tpm2_pcrread` parsing, quotes, manifests).
//!
//! JSON shape: `{"sha256": {"4": "<hex>", "11": "<hex>"}, "sha1": {...}}`, banks and PCRs in ascending order.

use std::collections::BTreeMap;

use yardstick_common::hash::{Algorithm, Digest};

/// Highest PCR index a PC-client TPM has (PCRs 0..=23).
pub const MAX_PCR: u32 = 23;

/// A PCR or an inclusive range of PCRs as a command line writes a selection: `7`, `0-15` (what
/// `pcr compare` prints, e.g. `agree: 4,7,9,11-13`, can be given back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcrSpan {
    first: u32,
    last: u32,
}

impl PcrSpan {
    /// The PCRs of the span, in order.
    pub fn pcrs(self) -> std::ops::RangeInclusive<u32> {
        self.first..=self.last
    }

    /// Every PCR of `spans`, in ascending order, each once.
    pub fn flatten(spans: &[PcrSpan]) -> Vec<u32> {
        let mut v: Vec<u32> = spans.iter().flat_map(|s| s.pcrs()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

impl std::str::FromStr for PcrSpan {
    type Err = String;

    fn from_str(s: &str) -> Result<PcrSpan, String> {
        let one = |t: &str| -> Result<u32, String> {
            let n: u32 = t.trim().parse().map_err(|_| {
                format!("{t:?} is not a PCR number (0-{MAX_PCR}, or a range such as 0-7)")
            })?;
            if n > MAX_PCR {
                return Err(format!("PCR {n} does not exist (0-{MAX_PCR})"));
            }
            Ok(n)
        };
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => {
                let n = one(s)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!("{s:?} is an empty range"));
        }
        Ok(PcrSpan { first, last })
    }
}

/// PCR values, per bank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcrBanks {
    banks: BTreeMap<Algorithm, BTreeMap<u32, Digest>>,
}

impl PcrBanks {
    /// No banks, no values.
    pub fn new() -> PcrBanks {
        PcrBanks::default()
    }

    /// The value of `pcr` in bank `alg`, if known.
    pub fn get(&self, alg: Algorithm, pcr: u32) -> Option<&Digest> {
        self.banks.get(&alg).and_then(|b| b.get(&pcr))
    }

    /// Sets a value. The digest's algorithm selects the bank.
    pub fn set(&mut self, pcr: u32, value: Digest) {
        self.banks
            .entry(value.algorithm())
            .or_default()
            .insert(pcr, value);
    }

    /// TPM2_PCR_Extend: `pcr = H(pcr || digest)`, starting from zero if the PCR has no value yet.
    pub fn extend(&mut self, pcr: u32, digest: &Digest) {
        let alg = digest.algorithm();
        let bank = self.banks.entry(alg).or_default();
        let old = bank.get(&pcr).copied().unwrap_or_else(|| alg.zero());
        bank.insert(pcr, alg.extend(&old, digest));
    }

    /// The banks present, in ascending algorithm order.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.banks.keys().copied()
    }

    /// The values of one bank, in ascending PCR order.
    pub fn bank(&self, alg: Algorithm) -> impl Iterator<Item = (u32, &Digest)> + '_ {
        self.banks
            .get(&alg)
            .into_iter()
            .flat_map(|b| b.iter().map(|(k, v)| (*k, v)))
    }

    /// Every `(algorithm, pcr, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (Algorithm, u32, &Digest)> + '_ {
        self.banks
            .iter()
            .flat_map(|(a, b)| b.iter().map(move |(k, v)| (*a, *k, v)))
    }

    /// Keeps only the listed PCRs.
    pub fn retain_pcrs(&mut self, keep: &[u32]) {
        for b in self.banks.values_mut() {
            b.retain(|k, _| keep.contains(k));
        }
        self.banks.retain(|_, b| !b.is_empty());
    }

    /// True if no value is held.
    pub fn is_empty(&self) -> bool {
        self.banks.values().all(|b| b.is_empty())
    }

    /// tpm2_pcrread's text format (tpm2-tools 5: two-space bank lines, `%-2u: 0x<UPPER HEX>`), so that
    /// line-based comparisons with its output work.
    pub fn to_pcrread_text(&self) -> String {
        let mut s = String::new();
        for alg in self.algorithms() {
            s.push_str(&format!("  {}:\n", alg.name()));
            for (pcr, v) in self.bank(alg) {
                s.push_str(&format!("    {pcr:<2}: 0x{}\n", v.to_hex().to_uppercase()));
            }
        }
        s
    }
}

impl serde::Serialize for PcrBanks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // PCR keys are strings in JSON; sort numerically, not lexically.
        let mut outer = s.serialize_map(Some(self.banks.len()))?;
        for (alg, bank) in &self.banks {
            let inner: Vec<(String, String)> = bank
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_hex()))
                .collect();
            outer.serialize_entry(alg.name(), &OrderedMap(&inner))?;
        }
        outer.end()
    }
}

struct OrderedMap<'a>(&'a [(String, String)]);

impl serde::Serialize for OrderedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for PcrBanks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw: BTreeMap<String, BTreeMap<String, String>> = serde::Deserialize::deserialize(d)?;
        let mut out = PcrBanks::new();
        for (alg_name, bank) in raw {
            let alg: Algorithm = alg_name.parse().map_err(D::Error::custom)?;
            for (k, v) in bank {
                let pcr: u32 =
                    k.parse().ok().filter(|p| *p <= MAX_PCR).ok_or_else(|| {
                        D::Error::custom(format!("{alg_name}: bad PCR index {k:?}"))
                    })?;
                let bytes = yardstick_common::hex::decode(v.trim())
                    .map_err(|e| D::Error::custom(format!("{alg_name} PCR {pcr}: {e}")))?;
                let digest = Digest::from_bytes(alg, &bytes).ok_or_else(|| {
                    D::Error::custom(format!(
                        "{alg_name} PCR {pcr}: {} bytes, expected {}",
                        bytes.len(),
                        alg.digest_len()
                    ))
                })?;
                out.set(pcr, digest);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_spans() {
        let spans: Vec<PcrSpan> = ["4", "7", "9", "11-13", "0-1", "13"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(PcrSpan::flatten(&spans), [0, 1, 4, 7, 9, 11, 12, 13]);
        for (bad, msg) in [
            ("24", "PCR 24 does not exist (0-23)"),
            (
                "x",
                "\"x\" is not a PCR number (0-23, or a range such as 0-7)",
            ),
            ("9-3", "\"9-3\" is an empty range"),
            (
                "1-",
                "\"\" is not a PCR number (0-23, or a range such as 0-7)",
            ),
        ] {
            assert_eq!(bad.parse::<PcrSpan>().unwrap_err(), msg);
        }
    }

    /// PCR 2/3/6 on OVMF hold only the separator: extend(0, sha256(00000000)) = 3d458cfe...8e7969
    /// (the value a real OVMF boot shows; `boot_uki` in crates/cli/tests reads it from the guest).
    #[test]
    fn separator_only_pcr() {
        let mut p = PcrBanks::new();
        let sep = Algorithm::Sha256.digest(&[0, 0, 0, 0]);
        p.extend(2, &sep);
        let v = p.get(Algorithm::Sha256, 2).unwrap().to_hex();
        assert!(v.starts_with("3d458cfe") && v.ends_with("8e7969"), "{v}");
    }

    #[test]
    fn json_round_trip_sorted_numerically() {
        let mut p = PcrBanks::new();
        for pcr in [11, 4, 9] {
            p.set(pcr, Algorithm::Sha256.digest(&[pcr as u8]));
        }
        p.set(7, Algorithm::Sha1.digest(b"x"));
        let j = serde_json::to_string(&p).unwrap();
        let i4 = j.find("\"4\"").unwrap();
        let i11 = j.find("\"11\"").unwrap();
        assert!(i4 < i11, "{j}");
        let back: PcrBanks = serde_json::from_str(&j).unwrap();
        assert_eq!(back, p);
        assert!(serde_json::from_str::<PcrBanks>(r#"{"sha256":{"24":"00"}}"#).is_err());
        assert!(serde_json::from_str::<PcrBanks>(r#"{"sha256":{"1":"00"}}"#).is_err());
        assert!(serde_json::from_str::<PcrBanks>(r#"{"md5":{}}"#).is_err());
    }
}
