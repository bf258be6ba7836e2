//! PCR lists as people and tools write them, parsed into [`PcrBanks`]:
//!
//! * `tpm2_pcrread` output (tpm2-tools 4/5: `  sha256:` then `    4 : 0x3D45...`; tpm2-tools 3: `sha256 :`
//!   then `  4  : 3d45...`), several banks in one file; also the `pcrs:` section of `tpm2_eventlog` output.
//! * JSON in yardstick's shape `{"<bank>": {"<pcr>": "<hex>"}}` (`pcr predict`, `eventlog replay`), with an
//!   optional `pcr11_phases` key (PCR 11 after each boot phase: kept apart, not as PCRs, so that `pcr compare`
//!   can name the phase a quoted PCR 11 was read in);
//! * JSON lists: `{"sha256": ["<hex>", ...]}` (index = PCR) and a bare `["<hex>", ...]` whose bank follows
//!   from the digest length (the `pcrs` array of Azure vTPM evidence).
//!
//! Banks yardstick cannot represent (e.g. `sm3_256`) are skipped with a note, not rejected: real TPMs have them.
//!
//! ```
//! use yardstick_tpm::pcrlist;
//! use yardstick_common::hash::Algorithm;
//! let text = "  sha1:\n    0 : 0x0000000000000000000000000000000000000000\n  sha256:\n    7 : 0x65CAF8DD1E0EA7A6347B635D2B379C93B9A1351EDC2AFC3ECDA700E534EB3068\n";
//! let list = pcrlist::parse(text).unwrap();
//! assert_eq!(list.pcrs.get(Algorithm::Sha256, 7).unwrap().to_hex()[..8], *"65caf8dd");
//! assert_eq!(list.format, pcrlist::Format::Tpm2Pcrread);
//! ```

use std::collections::BTreeMap;

use yardstick_common::hash::{Algorithm, Digest};

use crate::pcr::{MAX_PCR, PcrBanks};

/// The input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `tpm2_pcrread` (or `tpm2_eventlog`'s `pcrs:` section) text.
    Tpm2Pcrread,
    /// `{"<bank>": {"<pcr>": "<hex>"}}`.
    Json,
    /// `{"<bank>": ["<hex>", ...]}`.
    JsonBankLists,
    /// `["<hex>", ...]`.
    JsonList,
}

/// A parsed PCR list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrList {
    /// The values.
    pub pcrs: PcrBanks,
    /// The input format.
    pub format: Format,
    /// What was skipped (unsupported banks).
    pub notes: Vec<String>,
    /// `pcr predict`'s `pcr11_phases`: PCR 11 after each boot phase, per bank, in boot order (empty for
    /// other inputs).
    pub pcr11_phases: Vec<(Algorithm, String, Digest)>,
}

/// Why a PCR list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PcrListError {
    /// No input.
    #[error("empty PCR list")]
    Empty,
    /// A `tpm2_pcrread`-style line that is neither a bank header nor a `<pcr> : <hex>` value.
    #[error("line {line}: {msg}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// Malformed JSON, or JSON of another shape.
    #[error("{0}")]
    Json(String),
    /// Parsed, but no PCR value in it.
    #[error("no PCR values found")]
    NoValues,
}

/// Parses a PCR list in any of the supported formats (detected from the content).
pub fn parse(text: &str) -> Result<PcrList, PcrListError> {
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        return Err(PcrListError::Empty);
    }
    let list = if t.starts_with('{') || t.starts_with('[') {
        parse_json(t)?
    } else {
        parse_pcrread(text)?
    };
    if list.pcrs.is_empty() {
        return Err(PcrListError::NoValues);
    }
    Ok(list)
}

/// Adds one value, refusing a second, different value for the same PCR.
fn insert(
    seen: &mut BTreeMap<(Algorithm, u32), Digest>,
    pcr: u32,
    d: Digest,
) -> Result<(), String> {
    match seen.insert((d.algorithm(), pcr), d) {
        Some(old) if old != d => Err(format!(
            "{} PCR {pcr} listed twice with different values",
            d.algorithm()
        )),
        _ => Ok(()),
    }
}

fn digest_of(alg: Algorithm, pcr: u32, hex: &str) -> Result<Digest, String> {
    let h = hex.trim();
    let h = h
        .strip_prefix("0x")
        .or_else(|| h.strip_prefix("0X"))
        .unwrap_or(h);
    let bytes = yardstick_common::hex::decode(h).map_err(|e| format!("{alg} PCR {pcr}: {e}"))?;
    Digest::from_bytes(alg, &bytes).ok_or_else(|| {
        format!(
            "{alg} PCR {pcr}: {} bytes, a {alg} value has {}",
            bytes.len(),
            alg.digest_len()
        )
    })
}

fn pcr_index(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p <= MAX_PCR)
        .ok_or_else(|| format!("bad PCR index {:?} (0-{MAX_PCR})", s.trim()))
}

/// Bank names a TPM can have that yardstick does not represent: skipped with a note.
fn is_other_bank(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("sm3") || n.starts_with("sha3") || n == "sm3_256"
}

fn parse_pcrread(text: &str) -> Result<PcrList, PcrListError> {
    let lines: Vec<&str> = text.lines().collect();
    // tpm2_eventlog output: only its trailing `pcrs:` section holds values.
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "pcrs:")
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut seen = BTreeMap::new();
    let mut notes = Vec::new();
    // None before the first bank header; Some(None) inside a skipped bank.
    let mut bank: Option<Option<Algorithm>> = None;
    for (i, raw) in lines.iter().enumerate().skip(start) {
        let line_no = i + 1;
        let err = |msg: String| PcrListError::Line { line: line_no, msg };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line == "---" {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(format!(
                "expected `<bank>:` or `<pcr> : <hex>`, got {line:?}"
            )));
        };
        let key = key.trim();
        let value = value.trim();
        if value.is_empty() {
            if let Ok(a) = key.parse::<Algorithm>() {
                bank = Some(Some(a));
            } else if is_other_bank(key) {
                notes.push(format!("bank {key} skipped: not supported"));
                bank = Some(None);
            } else {
                return Err(err(format!("unknown bank {key:?}")));
            }
            continue;
        }
        let pcr = pcr_index(key).map_err(err)?;
        match bank {
            None => return Err(err(format!("PCR {pcr} value before any bank header"))),
            Some(None) => {}
            Some(Some(alg)) => {
                let d = digest_of(alg, pcr, value).map_err(err)?;
                insert(&mut seen, pcr, d).map_err(err)?;
            }
        }
    }
    let mut pcrs = PcrBanks::new();
    for ((_, pcr), d) in seen {
        pcrs.set(pcr, d);
    }
    Ok(PcrList {
        pcrs,
        format: Format::Tpm2Pcrread,
        notes,
        pcr11_phases: Vec::new(),
    })
}

fn parse_json(text: &str) -> Result<PcrList, PcrListError> {
    use serde_json::Value;
    let v: Value = serde_json::from_str(text)
        .map_err(|e| PcrListError::Json(format!("not valid JSON: {e}")))?;
    let mut seen = BTreeMap::new();
    let mut notes = Vec::new();
    let mut pcr11_phases = Vec::new();
    let jerr = PcrListError::Json;
    let format = match v {
        Value::Array(items) => {
            for (pcr, item) in items.iter().enumerate() {
                let pcr = u32::try_from(pcr)
                    .ok()
                    .filter(|p| *p <= MAX_PCR)
                    .ok_or_else(|| jerr(format!("more than {} values", MAX_PCR + 1)))?;
                let s = item
                    .as_str()
                    .ok_or_else(|| jerr(format!("PCR {pcr}: not a hex string")))?;
                let h = s.trim().trim_start_matches("0x");
                let alg = Algorithm::ALL
                    .into_iter()
                    .find(|a| a.digest_len() * 2 == h.len())
                    .ok_or_else(|| {
                        jerr(format!(
                            "PCR {pcr}: {} hex digits is no digest length yardstick knows",
                            h.len()
                        ))
                    })?;
                let d = digest_of(alg, pcr, s).map_err(jerr)?;
                insert(&mut seen, pcr, d).map_err(jerr)?;
            }
            let banks: std::collections::BTreeSet<Algorithm> =
                seen.keys().map(|(a, _)| *a).collect();
            if banks.len() > 1 {
                return Err(jerr("list mixes digest lengths".into()));
            }
            Format::JsonList
        }
        Value::Object(map) => {
            let mut format = Format::Json;
            for (key, bank) in &map {
                if key == "pcr11_phases" {
                    // {"<bank>": {"<phases>": "<hex>"}}: PCR 11 after each boot phase (values, not PCRs).
                    let Value::Object(by_bank) = bank else {
                        return Err(jerr("pcr11_phases: not an object".into()));
                    };
                    for (b, phases) in by_bank {
                        let Ok(alg) = b.parse::<Algorithm>() else {
                            notes.push(format!("pcr11_phases: bank {b} skipped: not supported"));
                            continue;
                        };
                        let Value::Object(phases) = phases else {
                            return Err(jerr(format!("pcr11_phases {b}: not an object")));
                        };
                        for (phase, hex) in phases {
                            let s = hex.as_str().ok_or_else(|| {
                                jerr(format!("pcr11_phases {b} {phase}: not a string"))
                            })?;
                            let d = digest_of(alg, 11, s).map_err(jerr)?;
                            pcr11_phases.push((alg, phase.clone(), d));
                        }
                    }
                    continue;
                }
                let Ok(alg) = key.parse::<Algorithm>() else {
                    if is_other_bank(key) {
                        notes.push(format!("bank {key} skipped: not supported"));
                        continue;
                    }
                    return Err(jerr(format!("unknown key {key:?} (expected bank names)")));
                };
                match bank {
                    Value::Object(pcrs) => {
                        for (k, hex) in pcrs {
                            let pcr = pcr_index(k).map_err(|m| jerr(format!("{alg}: {m}")))?;
                            let s = hex
                                .as_str()
                                .ok_or_else(|| jerr(format!("{alg} PCR {pcr}: not a string")))?;
                            let d = digest_of(alg, pcr, s).map_err(jerr)?;
                            insert(&mut seen, pcr, d).map_err(jerr)?;
                        }
                    }
                    Value::Array(items) => {
                        format = Format::JsonBankLists;
                        if items.len() > (MAX_PCR + 1) as usize {
                            return Err(jerr(format!("{alg}: more than {} values", MAX_PCR + 1)));
                        }
                        for (pcr, hex) in items.iter().enumerate() {
                            let pcr = pcr as u32;
                            let s = hex
                                .as_str()
                                .ok_or_else(|| jerr(format!("{alg} PCR {pcr}: not a string")))?;
                            let d = digest_of(alg, pcr, s).map_err(jerr)?;
                            insert(&mut seen, pcr, d).map_err(jerr)?;
                        }
                    }
                    _ => return Err(jerr(format!("{alg}: expected an object or a list"))),
                }
            }
            format
        }
        _ => return Err(jerr("expected a JSON object or list".into())),
    };
    let mut pcrs = PcrBanks::new();
    for ((_, pcr), d) in seen {
        pcrs.set(pcr, d);
    }
    Ok(PcrList {
        pcrs,
        format,
        notes,
        pcr11_phases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpm2_tools_3_format() {
        let t = "sha1 :\n  0  : 3a3f780f11a4b49969fcaa80cd6e3957c33b2275\n  17 : ffffffffffffffffffffffffffffffffffffffff\n";
        let l = parse(t).unwrap();
        assert_eq!(
            l.pcrs.get(Algorithm::Sha1, 17).unwrap().to_hex(),
            "f".repeat(40)
        );
    }

    #[test]
    fn json_shapes() {
        let z = "00".repeat(32);
        let l = parse(&format!(
            r#"{{"sha256":{{"4":"{z}"}},"pcr11_phases":{{"sha256":{{"ready":"{z}"}}}}}}"#
        ))
        .unwrap();
        assert_eq!(l.format, Format::Json);
        assert!(l.notes.is_empty());
        assert_eq!(
            l.pcr11_phases,
            [(
                Algorithm::Sha256,
                "ready".to_string(),
                Algorithm::Sha256.zero()
            )]
        );
        let l = parse(&format!(r#"{{"sha256":["{z}","0x{z}"]}}"#)).unwrap();
        assert_eq!(l.format, Format::JsonBankLists);
        assert!(l.pcrs.get(Algorithm::Sha256, 1).is_some());
        let l = parse(&format!(r#"["{z}"]"#)).unwrap();
        assert_eq!(l.format, Format::JsonList);
        assert!(l.pcrs.get(Algorithm::Sha256, 0).is_some());
    }

    #[test]
    fn rejects() {
        assert_eq!(parse("  \n"), Err(PcrListError::Empty));
        assert!(matches!(
            parse("sha256:\n 4 : 0x00\n"),
            Err(PcrListError::Line { line: 2, .. })
        ));
        assert!(matches!(
            parse("4 : 0x00\n"),
            Err(PcrListError::Line { line: 1, .. })
        ));
        assert!(matches!(
            parse("md5:\n"),
            Err(PcrListError::Line { line: 1, .. })
        ));
        assert!(parse(r#"{"sha256":{"24":"00"}}"#).is_err());
        assert!(parse(r#"{"nonsense":1}"#).is_err());
        assert!(parse("{").is_err());
        let z = "00".repeat(32);
        let o = "11".repeat(32);
        assert!(parse(&format!("sha256:\n 1 : {z}\n 1 : {o}\n")).is_err());
        assert_eq!(parse("sm3_256:\n 1 : 00\n"), Err(PcrListError::NoValues));
    }
}
