//! systemd's userspace measurement log (`/run/log/systemd/tpm2-measure.log`, systemd 255 and later): one TCG
//! Canonical Event Log record in JSON (CEL-JSON) per measurement systemd makes after the firmware (boot phases into
//! PCR 11, the machine ID and file system identities into PCR 15, ...), written as a JSON text sequence (RFC 7464:
//! every record starts with an RS byte, 0x1E, and ends with a newline).
//!
//! A record: `{"pcr": 11, "digests": [{"hashAlg": "sha256", "digest": "<hex>"}, ...], "content_type": "systemd",
//! "content": {"string": "enter-initrd", "eventType": "phase", ...}}`. Parsed strictly from untrusted bytes: a
//! bad record is an error naming its number and byte offset.
//!
//! ```
//! use yardstick_common::hash::Algorithm;
//! use yardstick_tpm::eventlog::cel::CelLog;
//! let d = Algorithm::Sha256.digest(b"enter-initrd");
//! let text = format!(
//!     "\u{1e}{{\"pcr\":11,\"digests\":[{{\"hashAlg\":\"sha256\",\"digest\":\"{}\"}}],\
//!      \"content_type\":\"systemd\",\"content\":{{\"string\":\"enter-initrd\",\"eventType\":\"phase\"}}}}\n",
//!     d.to_hex()
//! );
//! assert!(CelLog::looks_like(text.as_bytes()));
//! let log = CelLog::parse(text.as_bytes()).unwrap();
//! assert_eq!(log.records()[0].description, "phase enter-initrd");
//! let pcrs = log.replay();
//! assert_eq!(pcrs.get(Algorithm::Sha256, 11), Some(&Algorithm::Sha256.extend(&Algorithm::Sha256.zero(), d.as_ref())));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use yardstick_common::hash::{Algorithm, Digest};

use super::ShowFilter;
use crate::PcrBanks;

/// The RFC 7464 record separator.
const RS: u8 = 0x1e;

/// The highest PCR a TPM 2.0 PC Client TPM has.
const MAX_PCR: u32 = 23;

/// A CEL-JSON log, every record validated.
#[derive(Debug, Clone, Default)]
pub struct CelLog {
    records: Vec<CelRecord>,
}

/// One measurement of a CEL-JSON log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CelRecord {
    /// Record number, from 0 in file order.
    pub number: usize,
    /// Byte offset of the record (its RS byte) in the file.
    pub offset: usize,
    /// The PCR extended.
    pub pcr: u32,
    /// The extended digests, one per bank.
    #[serde(serialize_with = "digests_hex")]
    pub digests: Vec<Digest>,
    /// Who measured (`systemd` for systemd's records).
    pub content_type: String,
    /// What was measured: the content's `eventType` and `string` (systemd), else the content as JSON text.
    pub description: String,
    /// The record's `content` as it is.
    pub content: serde_json::Value,
}

fn digests_hex<S: serde::Serializer>(d: &[Digest], s: S) -> Result<S::Ok, S::Error> {
    let m: BTreeMap<&str, String> = d
        .iter()
        .map(|d| (d.algorithm().name(), d.to_hex()))
        .collect();
    serde::Serialize::serialize(&m, s)
}

/// A CEL-JSON log as `eventlog show --json` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CelView {
    /// The file shown.
    pub file: String,
    /// Always `"cel-json"`.
    pub format: &'static str,
    /// The records shown.
    pub records: Vec<CelRecord>,
}

/// Why a CEL-JSON log could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CEL-JSON record #{number} at byte offset {offset}: {reason}")]
pub struct CelError {
    /// Number of the record (from 0).
    pub number: usize,
    /// Byte offset of the record.
    pub offset: usize,
    /// What was wrong.
    pub reason: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    /// The TCG CEL's record number (systemd does not write it); read and not used.
    #[serde(default, rename = "recnum")]
    _recnum: Option<u64>,
    pcr: u32,
    digests: Vec<RawDigest>,
    content_type: String,
    #[serde(default)]
    content: serde_json::Value,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    #[serde(rename = "hashAlg")]
    hash_alg: String,
    digest: String,
}

impl CelLog {
    /// Whether `bytes` look like a CEL-JSON log rather than a binary TCG log: the first byte that is not ASCII
    /// white space is an RS (a JSON text sequence) or `{` (records one per line). A binary log starts with a
    /// little-endian PCR index (0-23), never with either.
    pub fn looks_like(bytes: &[u8]) -> bool {
        matches!(
            bytes.iter().find(|b| !b.is_ascii_whitespace()),
            Some(&RS) | Some(&b'{')
        )
    }

    /// Parses a log: records separated by RS bytes (RFC 7464) or, without any RS, one JSON object per line.
    pub fn parse(bytes: &[u8]) -> Result<CelLog, CelError> {
        let mut records = Vec::new();
        for (offset, chunk) in split_records(bytes) {
            let number = records.len();
            let err = |reason: String| CelError {
                number,
                offset,
                reason,
            };
            // A record is a JSON object (serde would also read a struct from an array).
            if chunk.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(err("not a JSON object".into()));
            }
            let raw: RawRecord = serde_json::from_slice(chunk).map_err(|e| err(e.to_string()))?;
            if raw.pcr > MAX_PCR {
                return Err(err(format!("PCR {} (a TPM has 0-{MAX_PCR})", raw.pcr)));
            }
            if raw.digests.is_empty() {
                return Err(err("no digests".into()));
            }
            let mut digests: Vec<Digest> = Vec::with_capacity(raw.digests.len());
            for d in &raw.digests {
                let alg: Algorithm = d
                    .hash_alg
                    .parse()
                    .map_err(|e: yardstick_common::hash::UnknownAlgorithm| err(e.to_string()))?;
                let bytes = yardstick_common::hex::decode(&d.digest)
                    .map_err(|e| err(format!("{} digest: {e}", d.hash_alg)))?;
                let digest = Digest::from_bytes(alg, &bytes).ok_or_else(|| {
                    err(format!(
                        "{} digest of {} bytes (expected {})",
                        d.hash_alg,
                        bytes.len(),
                        alg.digest_len()
                    ))
                })?;
                if digests.iter().any(|x| x.algorithm() == alg) {
                    return Err(err(format!("two {} digests", d.hash_alg)));
                }
                digests.push(digest);
            }
            let description = describe(&raw.content);
            records.push(CelRecord {
                number,
                offset,
                pcr: raw.pcr,
                digests,
                content_type: raw.content_type,
                description,
                content: raw.content,
            });
        }
        Ok(CelLog { records })
    }

    /// The records, in file order.
    pub fn records(&self) -> &[CelRecord] {
        &self.records
    }

    /// The PCR values the records extend, per bank, from zero: what the PCRs hold if nothing else extended them
    /// (PCR 15 on systemd systems; PCR 11 also holds systemd-stub's measurements, which are in the firmware's log).
    pub fn replay(&self) -> PcrBanks {
        let mut pcrs = PcrBanks::new();
        for r in &self.records {
            for d in &r.digests {
                pcrs.extend(r.pcr, d);
            }
        }
        pcrs
    }

    /// `eventlog show --json`'s object for this log: the records `filter` selects, with only `filter.bank`'s
    /// digests when set.
    pub fn view(&self, path: &Path, filter: ShowFilter<'_>) -> CelView {
        CelView {
            file: path.display().to_string(),
            format: "cel-json",
            records: self
                .records
                .iter()
                .filter(|r| filter.pcrs.is_empty() || filter.pcrs.contains(&r.pcr))
                .map(|r| CelRecord {
                    digests: r
                        .digests
                        .iter()
                        .filter(|d| filter.bank.is_none_or(|b| b == d.algorithm()))
                        .copied()
                        .collect(),
                    ..r.clone()
                })
                .collect(),
        }
    }

    /// `eventlog show`'s text for this log: a header line, then per record its number, PCR and description and
    /// its digests (only `filter.bank`'s when set), for the PCRs `filter` selects.
    pub fn show_text(&self, path: &Path, filter: ShowFilter<'_>) -> String {
        let mut banks: Vec<&str> = Vec::new();
        for r in &self.records {
            for d in &r.digests {
                if !banks.contains(&d.algorithm().name()) {
                    banks.push(d.algorithm().name());
                }
            }
        }
        let mut s = format!(
            "{}: CEL-JSON log (systemd userspace measurements), banks {}, {} records\n",
            path.display(),
            banks.join(" "),
            self.records.len()
        );
        for r in self
            .records
            .iter()
            .filter(|r| filter.pcrs.is_empty() || filter.pcrs.contains(&r.pcr))
        {
            let _ = writeln!(
                s,
                "#{:<4} PCR{:<3} {:<32} {}",
                r.number, r.pcr, r.content_type, r.description
            );
            for d in r
                .digests
                .iter()
                .filter(|d| filter.bank.is_none_or(|b| b == d.algorithm()))
            {
                let _ = writeln!(s, "        {:<7} {}", d.algorithm().name(), d.to_hex());
            }
        }
        s
    }
}

/// `(offset, bytes)` of each record: the text between RS bytes, or, when the input has none, each non-empty line.
fn split_records(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let sep = if bytes.contains(&RS) { RS } else { b'\n' };
    let mut out = Vec::new();
    let mut start = 0;
    for (i, part) in bytes.split(|b| *b == sep).enumerate() {
        // The RS starts a record: its offset is the separator's. A line starts at its first byte.
        let offset = if sep == RS && i > 0 { start - 1 } else { start };
        start += part.len() + 1;
        if part.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        out.push((offset, part));
    }
    out
}

/// systemd's records: `<eventType> <string>`; others: the content as compact JSON.
fn describe(content: &serde_json::Value) -> String {
    let field = |k: &str| content.get(k).and_then(|v| v.as_str());
    match (field("eventType"), field("string")) {
        (Some(t), Some(s)) => format!("{t} {s}"),
        (None, Some(s)) => s.to_string(),
        _ => content.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pcr: u32, what: &str) -> String {
        let digests: Vec<String> = [Algorithm::Sha1, Algorithm::Sha256]
            .iter()
            .map(|a| {
                format!(
                    "{{\"hashAlg\":\"{}\",\"digest\":\"{}\"}}",
                    a.name(),
                    a.digest(what.as_bytes()).to_hex()
                )
            })
            .collect();
        format!(
            "\u{1e}{{\"pcr\":{pcr},\"digests\":[{}],\"content_type\":\"systemd\",\"content\":{{\"string\":\"{what}\",\"eventType\":\"phase\"}}}}\n",
            digests.join(",")
        )
    }

    #[test]
    fn replays_records_in_order_per_bank() {
        let text = record(11, "enter-initrd") + &record(15, "machine-id:0") + &record(11, "ready");
        let log = CelLog::parse(text.as_bytes()).unwrap();
        assert_eq!(log.records().len(), 3);
        assert_eq!(log.records()[1].offset, record(11, "enter-initrd").len());
        let pcrs = log.replay();
        for alg in [Algorithm::Sha1, Algorithm::Sha256] {
            let mut v = alg.zero();
            for w in ["enter-initrd", "ready"] {
                v = alg.extend(&v, alg.digest(w.as_bytes()).as_ref());
            }
            assert_eq!(pcrs.get(alg, 11), Some(&v));
            assert_eq!(
                pcrs.get(alg, 15),
                Some(&alg.extend(&alg.zero(), alg.digest(b"machine-id:0").as_ref()))
            );
        }
        // A TCG CEL record number is accepted.
        let numbered = text.replacen("{\"pcr\"", "{\"recnum\":0,\"pcr\"", 1);
        assert_eq!(CelLog::parse(numbered.as_bytes()).unwrap().replay(), pcrs);
        // One record per line, without RS, reads the same.
        let lines = text.replace('\u{1e}', "");
        assert_eq!(CelLog::parse(lines.as_bytes()).unwrap().replay(), pcrs);
    }

    #[test]
    fn bad_records_name_number_and_offset() {
        let good = record(11, "sysinit");
        let cases = [
            ("\u{1e}{\"pcr\":11", "EOF"),
            (
                "\u{1e}{\"pcr\":24,\"digests\":[{\"hashAlg\":\"sha1\",\"digest\":\"00\"}],\"content_type\":\"x\"}",
                "PCR 24",
            ),
            (
                "\u{1e}{\"pcr\":1,\"digests\":[{\"hashAlg\":\"sha1\",\"digest\":\"00\"}],\"content_type\":\"x\"}",
                "sha1 digest of 1 bytes (expected 20)",
            ),
            (
                "\u{1e}{\"pcr\":1,\"digests\":[{\"hashAlg\":\"md5\",\"digest\":\"00\"}],\"content_type\":\"x\"}",
                "md5",
            ),
            (
                "\u{1e}{\"pcr\":1,\"digests\":[],\"content_type\":\"x\"}",
                "no digests",
            ),
            ("\u{1e}[null,11,[],\"x\",{}]", "not a JSON object"),
            (
                "\u{1e}{\"pcr\":1,\"digests\":[],\"content_type\":\"x\",\"extra\":1}",
                "unknown field",
            ),
        ];
        for (bad, want) in cases {
            let text = good.clone() + bad;
            let e = CelLog::parse(text.as_bytes()).unwrap_err();
            assert_eq!((e.number, e.offset), (1, good.len()), "{bad}");
            assert!(e.to_string().contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn detects_the_format() {
        assert!(CelLog::looks_like(b"\x1e{}"));
        assert!(CelLog::looks_like(b"\n{\"pcr\":0}"));
        // A binary log's first record starts with its PCR index (little endian).
        assert!(!CelLog::looks_like(&[0, 0, 0, 0, 3, 0, 0, 0]));
        assert!(!CelLog::looks_like(b""));
    }
}
