//! Comparing PCR values from two sources (PCR lists or event logs), and explaining differences with events.
//!
//! This is the `grep -F -x -f a.txt b.txt` people used on two `tpm2_pcrread` outputs, plus the why: where
//! both sides are event logs, the events of a differing PCR are aligned (longest common subsequence of their
//! digests) and the first changed, extra or missing events are named; where one side is a list, its value is
//! located in the log's replay history (a quote taken before the last events, a StartupLocality the other
//! tool ignored).
//!
//! The relying-party verifier uses the same pieces: [`first_divergence`] names the first event where a
//! guest's log leaves a reference log ("first differing event: #42 EV_IPL ..."), and [`explain_value`]
//! says how a quoted or expected value relates to a log.
//!
//! How `yardstick verify tpm --eventlog` is meant to use it:
//! 1. `compare(&PcrSource::from_log(guest_log), &PcrSource::List(quoted))`: every PCR the log replays must
//!    agree with the quote; a [`Explanation::ListIsLogPrefix`] means the quote predates the log's last
//!    events, anything else means the log does not describe this TPM and must not be trusted;
//! 2. against a reference log (a golden boot): [`first_divergence`] on the two replays gives event numbers,
//!    and `log.event(n).map(Event::summary)` the words: `#42 EV_IPL "grub_cmd: linux /vmlinuz ..."`;
//!    against reference values only, [`explain_value`].
//!
//! ```
//! use yardstick_tpm::compare::{compare, PcrSource};
//! use yardstick_tpm::pcrlist;
//! let z = "00".repeat(32);
//! let a = PcrSource::List(pcrlist::parse(&format!("sha256:\n 4 : {z}\n 7 : {z}\n")).unwrap().pcrs);
//! let b = PcrSource::List(pcrlist::parse(&format!("sha256:\n 4 : {z}\n 7 : {}\n", "11".repeat(32))).unwrap().pcrs);
//! let c = compare(&a, &b);
//! assert_eq!(c.agreeing().count(), 1);
//! assert_eq!(c.differing().map(|p| p.pcr).collect::<Vec<_>>(), [7]);
//! ```

use yardstick_common::hash::{Algorithm, Digest};

mod render;
pub use render::{
    BankView, CompareReport, DifferenceView, NamedSource, NothingToCompare, SourceView,
    compare_selected, compare_text, ranges,
};

#[cfg(doc)]
use crate::eventlog::Event;
use crate::eventlog::{EventLog, ParseError};
use crate::pcr::PcrBanks;
use crate::pcrlist::{self, PcrListError};
use crate::replay::{Replay, ValueMatch, replay};

/// Above this many cells the event alignment falls back to "everything between the common prefix and
/// suffix differs" (a PCR with thousands of events, e.g. a long grub command history, on both sides).
const MAX_ALIGNMENT_CELLS: usize = 4_000_000;

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Side {
    /// The first source.
    A,
    /// The second source.
    B,
}

/// A source of PCR values.
#[derive(Debug, Clone)]
pub enum PcrSource {
    /// Values only (a `tpm2_pcrread` output, a JSON list, a quote).
    List(PcrBanks),
    /// An event log and its replay.
    Log(Box<LogSource>),
    /// Predicted values (`pcr predict` JSON) with PCR 11 after each boot phase, per bank, in boot order.
    Prediction {
        /// The values.
        pcrs: PcrBanks,
        /// `(bank, phases, PCR 11)` after each phase.
        pcr11_phases: Vec<(Algorithm, String, Digest)>,
    },
}

/// An event log as a comparison uses it: replayed in one streaming pass (values, notes, StartupLocality, the
/// record count), and parsed in full, events and every replay step, only when a difference must be explained.
/// So comparing logs that agree takes memory for the log's bytes only, however many events it has.
#[derive(Debug, Clone)]
pub struct LogSource {
    /// The log's bytes (empty when built from a parsed log).
    bytes: Vec<u8>,
    /// The streamed replay (its steps hold only each PCR's last extension).
    summary: Replay,
    format: crate::eventlog::LogFormat,
    events: usize,
    /// The parsed log and its full replay, made on first use.
    full: std::sync::OnceLock<(EventLog, Replay)>,
}

impl LogSource {
    /// Replays `bytes` in one streaming pass; the full parse waits for [`LogSource::full`].
    pub fn from_bytes(bytes: &[u8]) -> Result<LogSource, ParseError> {
        LogSource::from_vec(bytes.to_vec())
    }

    /// [`LogSource::from_bytes`] keeping `bytes` without a copy.
    pub fn from_vec(bytes: Vec<u8>) -> Result<LogSource, ParseError> {
        let (summary, format, events) = crate::replay::replay_stream_counted(&bytes)?;
        Ok(LogSource {
            bytes,
            summary,
            format,
            events,
            full: std::sync::OnceLock::new(),
        })
    }

    /// A parsed log, replayed now.
    pub fn from_log(log: EventLog) -> LogSource {
        let r = replay(&log);
        LogSource {
            bytes: Vec::new(),
            summary: r.clone(),
            format: log.format(),
            events: log.events().len(),
            full: std::sync::OnceLock::from((log, r)),
        }
    }

    /// The replay's final values, notes and StartupLocality (not its steps: see [`LogSource::full`]).
    pub fn summary(&self) -> &Replay {
        &self.summary
    }

    /// The record format.
    pub fn format(&self) -> crate::eventlog::LogFormat {
        self.format
    }

    /// The number of records, header included.
    pub fn event_count(&self) -> usize {
        self.events
    }

    /// The parsed log and its full replay (every step), parsed on the first call.
    pub fn full(&self) -> (&EventLog, &Replay) {
        let (log, r) = self.full.get_or_init(|| {
            // The streaming pass parsed these bytes without error, so the whole log parses.
            let log = EventLog::parse_partial(&self.bytes).log;
            let r = replay(&log);
            (log, r)
        });
        (log, r)
    }
}

/// What a file holds, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A binary TCG event log.
    EventLog,
    /// A text PCR list (tpm2_pcrread output or JSON).
    PcrList,
}

/// Why a source could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The event log is malformed.
    #[error("event log")]
    Log(#[from] ParseError),
    /// The PCR list is malformed.
    #[error("PCR list")]
    List(#[from] PcrListError),
}

/// Event logs are binary (the first record's PCR index and type are little-endian u32s, so NUL bytes appear
/// in the first 8 bytes); PCR lists are text.
pub fn detect(bytes: &[u8]) -> ContentKind {
    let head = bytes.get(..bytes.len().min(8)).unwrap_or_default();
    if head.contains(&0) || std::str::from_utf8(bytes).is_err() {
        ContentKind::EventLog
    } else {
        ContentKind::PcrList
    }
}

impl PcrSource {
    /// [`PcrSource::from_bytes`] taking the bytes (a log keeps them without a copy).
    pub fn from_vec(bytes: Vec<u8>) -> Result<PcrSource, SourceError> {
        match detect(&bytes) {
            ContentKind::EventLog => Ok(PcrSource::Log(Box::new(LogSource::from_vec(bytes)?))),
            ContentKind::PcrList => PcrSource::from_bytes(&bytes),
        }
    }

    /// Loads a source from bytes, detecting whether it is an event log or a PCR list.
    pub fn from_bytes(bytes: &[u8]) -> Result<PcrSource, SourceError> {
        match detect(bytes) {
            ContentKind::EventLog => Ok(PcrSource::Log(Box::new(LogSource::from_bytes(bytes)?))),
            ContentKind::PcrList => {
                // detect() checked that the bytes are UTF-8.
                let text = String::from_utf8_lossy(bytes);
                let list = pcrlist::parse(&text)?;
                Ok(if list.pcr11_phases.is_empty() {
                    PcrSource::List(list.pcrs)
                } else {
                    PcrSource::Prediction {
                        pcrs: list.pcrs,
                        pcr11_phases: list.pcr11_phases,
                    }
                })
            }
        }
    }

    /// A source from a parsed log (replayed here).
    pub fn from_log(log: EventLog) -> PcrSource {
        PcrSource::Log(Box::new(LogSource::from_log(log)))
    }

    /// The PCR values.
    pub fn pcrs(&self) -> &PcrBanks {
        match self {
            PcrSource::List(p) | PcrSource::Prediction { pcrs: p, .. } => p,
            PcrSource::Log(l) => l.summary().pcrs(),
        }
    }

    /// The log and its full replay, for a log source (a log read from bytes is parsed in full on the first
    /// call: see [`LogSource`]).
    pub fn log(&self) -> Option<(&EventLog, &Replay)> {
        self.log_source().map(LogSource::full)
    }

    /// The log source, if this is one (nothing parsed beyond the streaming pass).
    pub fn log_source(&self) -> Option<&LogSource> {
        match self {
            PcrSource::Log(l) => Some(l),
            PcrSource::List(_) | PcrSource::Prediction { .. } => None,
        }
    }
}

/// A run of events that differ between two logs for one PCR. Event numbers refer to each log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hunk {
    /// Position (among the PCR's events) where the hunk starts in A.
    pub a_position: usize,
    /// Position where it starts in B.
    pub b_position: usize,
    /// A's events in the hunk (empty: B has extra events here).
    pub a_events: Vec<usize>,
    /// B's events in the hunk (empty: A has extra events here).
    pub b_events: Vec<usize>,
}

/// The first point where two logs' events for a PCR part ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Divergence {
    /// Position among the PCR's events (0 = its first event).
    pub position: usize,
    /// A's event there (`None`: A ended, B has more events).
    pub a_event: Option<usize>,
    /// B's event there (`None`: B ended, A has more events).
    pub b_event: Option<usize>,
}

/// Why a PCR differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Explanation {
    /// Both sides are logs: the runs of differing events, in order.
    EventDiff {
        /// The hunks.
        hunks: Vec<Hunk>,
    },
    /// Both logs extend the same digests; they start from different StartupLocality values.
    StartupLocalityDiffers {
        /// A's locality.
        a: Option<u8>,
        /// B's locality.
        b: Option<u8>,
    },
    /// The list's value is what the log's PCR held after an earlier event (or before any): the log has
    /// events the list's value does not cover.
    ListIsLogPrefix {
        /// The log's side.
        log: Side,
        /// The last event the value covers (`None`: the initial value, before any event).
        after_event: Option<usize>,
        /// The log's later events for this PCR.
        later_events: Vec<usize>,
    },
    /// The list's PCR 0 equals the log's replay started from zero: whoever produced it ignored the log's
    /// StartupLocality event (tpm2_eventlog 5.4 does).
    StartupLocalityIgnored {
        /// The log's side.
        log: Side,
        /// The log's locality.
        locality: u8,
    },
    /// The list's value is the log's replay with its `EV_NO_ACTION` events extended too (their all-zero
    /// digests) and StartupLocality ignored: what tpm2_eventlog before 5.6 computes (tpm2-tools commits
    /// 9735dc33 and 576a31bc fixed both). EV_NO_ACTION events are never extended (PFP §10.4.5).
    NoActionExtended {
        /// The log's side.
        log: Side,
        /// The log's EV_NO_ACTION events for this PCR.
        no_action_events: Vec<usize>,
    },
    /// The value is the prediction's PCR 11 after an earlier boot phase (`pcr predict`'s `pcr11_phases`): the
    /// other side was read in that phase, not after the last one.
    Pcr11Phase {
        /// The prediction's side.
        prediction: Side,
        /// The phases after which PCR 11 has the other side's value (`enter-initrd:leave-initrd`, ...).
        phase: String,
    },
    /// No closer explanation; the log's events for this PCR, for reference.
    Unexplained {
        /// The log's side.
        log: Side,
        /// Its events for this PCR.
        events: Vec<usize>,
    },
}

/// One (bank, PCR) of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrComparison {
    /// The bank.
    pub alg: Algorithm,
    /// The PCR.
    pub pcr: u32,
    /// A's value, if A has one.
    pub a: Option<Digest>,
    /// B's value, if B has one.
    pub b: Option<Digest>,
    /// For a PCR both sides have and that differs: why, as far as the sources tell.
    pub explanation: Option<Explanation>,
}

impl PcrComparison {
    /// Both sides have the PCR.
    pub fn compared(&self) -> bool {
        self.a.is_some() && self.b.is_some()
    }

    /// Both sides have the PCR, with the same value.
    pub fn agrees(&self) -> bool {
        self.compared() && self.a == self.b
    }
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Every (bank, PCR) either side has, by bank then PCR.
    pub pcrs: Vec<PcrComparison>,
}

impl Comparison {
    /// (bank, PCR)s both sides have with equal values.
    pub fn agreeing(&self) -> impl Iterator<Item = &PcrComparison> + '_ {
        self.pcrs.iter().filter(|p| p.agrees())
    }

    /// (bank, PCR)s both sides have with different values.
    pub fn differing(&self) -> impl Iterator<Item = &PcrComparison> + '_ {
        self.pcrs.iter().filter(|p| p.compared() && !p.agrees())
    }

    /// (bank, PCR)s only one side has (not compared).
    pub fn one_sided(&self) -> impl Iterator<Item = &PcrComparison> + '_ {
        self.pcrs.iter().filter(|p| !p.compared())
    }

    /// True if at least one PCR was compared and all compared PCRs agree.
    pub fn all_agree(&self) -> bool {
        self.pcrs.iter().any(PcrComparison::compared) && self.differing().next().is_none()
    }
}

/// Compares two sources PCR by PCR, explaining each difference as far as the sources allow.
pub fn compare(a: &PcrSource, b: &PcrSource) -> Comparison {
    let mut keys: Vec<(Algorithm, u32)> = a
        .pcrs()
        .iter()
        .chain(b.pcrs().iter())
        .map(|(alg, pcr, _)| (alg, pcr))
        .collect();
    keys.sort();
    keys.dedup();
    let pcrs = keys
        .into_iter()
        .map(|(alg, pcr)| {
            let va = a.pcrs().get(alg, pcr).copied();
            let vb = b.pcrs().get(alg, pcr).copied();
            let explanation = match (va, vb) {
                (Some(x), Some(y)) if x != y => Some(explain(a, b, alg, pcr, &x, &y)),
                _ => None,
            };
            PcrComparison {
                alg,
                pcr,
                a: va,
                b: vb,
                explanation,
            }
        })
        .collect();
    Comparison { pcrs }
}

/// The boot phase after which a prediction's PCR 11 in bank `alg` is `value`.
fn pcr11_phase(s: &PcrSource, alg: Algorithm, value: &Digest) -> Option<String> {
    let PcrSource::Prediction { pcr11_phases, .. } = s else {
        return None;
    };
    pcr11_phases
        .iter()
        .find(|(a, _, d)| *a == alg && d == value)
        .map(|(_, phase, _)| phase.clone())
}

fn explain(
    a: &PcrSource,
    b: &PcrSource,
    alg: Algorithm,
    pcr: u32,
    va: &Digest,
    vb: &Digest,
) -> Explanation {
    if pcr == 11 {
        if let Some(phase) = pcr11_phase(a, alg, vb) {
            return Explanation::Pcr11Phase {
                prediction: Side::A,
                phase,
            };
        }
        if let Some(phase) = pcr11_phase(b, alg, va) {
            return Explanation::Pcr11Phase {
                prediction: Side::B,
                phase,
            };
        }
    }
    match (a.log(), b.log()) {
        (Some((_, ra)), Some((_, rb))) => {
            let hunks = diff_events(ra, rb, alg, pcr);
            if hunks.is_empty() {
                Explanation::StartupLocalityDiffers {
                    a: ra.startup_locality(),
                    b: rb.startup_locality(),
                }
            } else {
                Explanation::EventDiff { hunks }
            }
        }
        (Some((l, r)), None) => explain_value(l, r, alg, pcr, vb, Side::A),
        (None, Some((l, r))) => explain_value(l, r, alg, pcr, va, Side::B),
        (None, None) => Explanation::Unexplained {
            log: Side::A,
            events: Vec::new(),
        },
    }
}

/// How `value` (a quoted, listed or expected value of `pcr`) relates to a log and its replay: an earlier
/// point in its history, the replay without StartupLocality or with EV_NO_ACTION events extended, or nothing
/// (then the log's events for the PCR are listed). `log_side` only labels the result.
pub fn explain_value(
    log: &EventLog,
    r: &Replay,
    alg: Algorithm,
    pcr: u32,
    value: &Digest,
    log_side: Side,
) -> Explanation {
    let steps = r.steps(alg, pcr);
    match r.find_value(alg, pcr, value) {
        Some(ValueMatch::Initial) => {
            return Explanation::ListIsLogPrefix {
                log: log_side,
                after_event: None,
                later_events: steps.iter().map(|s| s.event).collect(),
            };
        }
        Some(ValueMatch::AfterEvent { event, step }) => {
            return Explanation::ListIsLogPrefix {
                log: log_side,
                after_event: Some(event),
                later_events: steps
                    .get(step + 1..)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| s.event)
                    .collect(),
            };
        }
        None => {}
    }
    if let Some(l) = r.startup_locality().filter(|l| *l != 0)
        && r.replay_from(alg, pcr, alg.zero()).as_ref() == Some(value)
    {
        return Explanation::StartupLocalityIgnored {
            log: log_side,
            locality: l,
        };
    }
    let no_action: Vec<&crate::eventlog::Event> = log
        .events()
        .iter()
        .filter(|e| e.pcr() == pcr && !e.is_extended() && e.number() > 0)
        .collect();
    if !no_action.is_empty() {
        let v = log
            .events()
            .iter()
            .skip(usize::from(log.spec_id().is_some()))
            .filter(|e| e.pcr() == pcr)
            .try_fold(alg.zero(), |acc, e| {
                e.digest(alg).map(|d| alg.extend(&acc, &d))
            });
        if v.as_ref() == Some(value) {
            return Explanation::NoActionExtended {
                log: log_side,
                no_action_events: no_action.iter().map(|e| e.number()).collect(),
            };
        }
    }
    Explanation::Unexplained {
        log: log_side,
        events: steps.iter().map(|s| s.event).collect(),
    }
}

/// The runs of differing events between two replays for one PCR: the longest common subsequence of their
/// digests is taken as "the same", everything else is a hunk. Empty if the digest sequences are equal.
pub fn diff_events(a: &Replay, b: &Replay, alg: Algorithm, pcr: u32) -> Vec<Hunk> {
    let sa = a.steps(alg, pcr);
    let sb = b.steps(alg, pcr);
    let da: Vec<&Digest> = sa.iter().map(|s| &s.digest).collect();
    let db: Vec<&Digest> = sb.iter().map(|s| &s.digest).collect();
    let ops = align(&da, &db);
    let mut hunks: Vec<Hunk> = Vec::new();
    let (mut i, mut j) = (0usize, 0usize);
    let mut open: Option<Hunk> = None;
    for op in ops {
        match op {
            Op::Same => {
                if let Some(h) = open.take() {
                    hunks.push(h);
                }
                i += 1;
                j += 1;
            }
            Op::OnlyA | Op::OnlyB => {
                let h = open.get_or_insert_with(|| Hunk {
                    a_position: i,
                    b_position: j,
                    a_events: Vec::new(),
                    b_events: Vec::new(),
                });
                if op == Op::OnlyA {
                    if let Some(s) = sa.get(i) {
                        h.a_events.push(s.event);
                    }
                    i += 1;
                } else {
                    if let Some(s) = sb.get(j) {
                        h.b_events.push(s.event);
                    }
                    j += 1;
                }
            }
        }
    }
    if let Some(h) = open {
        hunks.push(h);
    }
    hunks
}

/// The first event where two logs' events for one PCR differ (by digest), or `None` if they are equal.
pub fn first_divergence(a: &Replay, b: &Replay, alg: Algorithm, pcr: u32) -> Option<Divergence> {
    let sa = a.steps(alg, pcr);
    let sb = b.steps(alg, pcr);
    let n = sa.len().max(sb.len());
    (0..n).find_map(|i| {
        let x = sa.get(i);
        let y = sb.get(i);
        if x.map(|s| s.digest) == y.map(|s| s.digest) {
            None
        } else {
            Some(Divergence {
                position: i,
                a_event: x.map(|s| s.event),
                b_event: y.map(|s| s.event),
            })
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    OnlyA,
    OnlyB,
}

/// An edit script between two sequences: common prefix and suffix first, then an LCS table on the middle
/// (or, if that would be too large, the whole middle as one change).
// The LCS table: `lcs` has (n + 1) * (m + 1) cells and `am`/`bm` are read at i < n, j < m, so every index,
// at most (i + 1) * w + j + 1 <= n * w + m, is in bounds.
#[allow(clippy::indexing_slicing)]
fn align<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let a_rest = a.get(prefix..).unwrap_or_default();
    let b_rest = b.get(prefix..).unwrap_or_default();
    let suffix = a_rest
        .iter()
        .rev()
        .zip(b_rest.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let am = a_rest.get(..a_rest.len() - suffix).unwrap_or_default();
    let bm = b_rest.get(..b_rest.len() - suffix).unwrap_or_default();
    let mut ops = vec![Op::Same; prefix];
    let (n, m) = (am.len(), bm.len());
    if n.saturating_mul(m) > MAX_ALIGNMENT_CELLS || n == 0 || m == 0 {
        ops.extend(std::iter::repeat_n(Op::OnlyA, n));
        ops.extend(std::iter::repeat_n(Op::OnlyB, m));
    } else {
        // lcs[i][j] = LCS length of am[i..] and bm[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if am[i] == bm[j] {
                ops.push(Op::Same);
                i += 1;
                j += 1;
            } else if lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
                ops.push(Op::OnlyA);
                i += 1;
            } else {
                ops.push(Op::OnlyB);
                j += 1;
            }
        }
        ops.extend(std::iter::repeat_n(Op::OnlyA, n - i));
        ops.extend(std::iter::repeat_n(Op::OnlyB, m - j));
    }
    ops.extend(std::iter::repeat_n(Op::Same, suffix));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::agile_log;

    fn sha256(d: &[u8]) -> Vec<u8> {
        Algorithm::Sha256.digest(d).as_ref().to_vec()
    }

    /// A sha256-only log: header, optional StartupLocality, then one EV_EFI_ACTION per text into `pcr`.
    fn log_of(pcr: u32, texts: &[&str], locality: Option<u8>) -> EventLog {
        let mut events = Vec::new();
        if let Some(l) = locality {
            let mut d = b"StartupLocality\0".to_vec();
            d.push(l);
            events.push((0, 3, vec![(0x0b, vec![0; 32])], d));
        }
        for t in texts {
            events.push((
                pcr,
                0x8000_0007,
                vec![(0x0b, sha256(t.as_bytes()))],
                t.as_bytes().to_vec(),
            ));
        }
        EventLog::parse(&agile_log(&[(0x0b, 32)], &events)).unwrap()
    }

    #[test]
    fn divergence_names_events() {
        let a = log_of(4, &["a", "b", "c"], None);
        let b = log_of(4, &["a", "x", "c", "d"], None);
        let (ra, rb) = (replay(&a), replay(&b));
        let d = first_divergence(&ra, &rb, Algorithm::Sha256, 4).unwrap();
        assert_eq!(
            d,
            Divergence {
                position: 1,
                a_event: Some(2),
                b_event: Some(2)
            }
        );
        assert_eq!(
            a.event(2).map(crate::eventlog::Event::summary).unwrap(),
            "#2 EV_EFI_ACTION \"b\""
        );
        assert_eq!(first_divergence(&ra, &ra, Algorithm::Sha256, 4), None);
        let hunks = diff_events(&ra, &rb, Algorithm::Sha256, 4);
        assert_eq!(hunks.len(), 2);
        assert_eq!(
            (hunks[0].a_events.as_slice(), hunks[0].b_events.as_slice()),
            (&[2][..], &[2][..])
        );
        assert_eq!(
            (hunks[1].a_events.as_slice(), hunks[1].b_events.as_slice()),
            (&[][..], &[4][..])
        );
        // Same digests, different StartupLocality.
        let l3 = log_of(0, &["a"], Some(3));
        let l0 = log_of(0, &["a"], None);
        let c = compare(&PcrSource::from_log(l3), &PcrSource::from_log(l0));
        let d: Vec<_> = c.differing().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].explanation,
            Some(Explanation::StartupLocalityDiffers {
                a: Some(3),
                b: None
            })
        );
    }

    #[test]
    fn values_against_a_log() {
        let log = log_of(0, &["a", "b"], Some(3));
        let r = replay(&log);
        let alg = Algorithm::Sha256;
        let after_first = r.steps(alg, 0)[0].value;
        assert_eq!(
            explain_value(&log, &r, alg, 0, &after_first, Side::A),
            Explanation::ListIsLogPrefix {
                log: Side::A,
                after_event: Some(2),
                later_events: vec![3]
            }
        );
        let from_zero = r.replay_from(alg, 0, alg.zero()).unwrap();
        assert_eq!(
            explain_value(&log, &r, alg, 0, &from_zero, Side::B),
            Explanation::StartupLocalityIgnored {
                log: Side::B,
                locality: 3
            }
        );
        // tpm2-tools 5.4: the StartupLocality record's zero digest extended like any event, from zero.
        let mut v = alg.extend(&alg.zero(), &alg.zero());
        for t in ["a", "b"] {
            v = alg.extend(&v, &alg.digest(t.as_bytes()));
        }
        assert_eq!(
            explain_value(&log, &r, alg, 0, &v, Side::A),
            Explanation::NoActionExtended {
                log: Side::A,
                no_action_events: vec![1]
            }
        );
        assert_eq!(
            explain_value(&log, &r, alg, 0, &alg.digest(b"?"), Side::A),
            Explanation::Unexplained {
                log: Side::A,
                events: vec![2, 3]
            }
        );
    }

    #[test]
    fn alignment() {
        let ops = align(&[1, 2, 3, 4], &[1, 3, 4, 5]);
        assert_eq!(ops, [Op::Same, Op::OnlyA, Op::Same, Op::Same, Op::OnlyB]);
        assert_eq!(align::<u8>(&[], &[]), []);
        assert_eq!(align(&[1], &[2]), [Op::OnlyA, Op::OnlyB]);
    }

    #[test]
    fn detection() {
        assert_eq!(detect(b"  sha256:\n"), ContentKind::PcrList);
        assert_eq!(detect(b"{}"), ContentKind::PcrList);
        assert_eq!(detect(&[0, 0, 0, 0, 3, 0, 0, 0]), ContentKind::EventLog);
        assert_eq!(detect(&[0xff, 0xfe]), ContentKind::EventLog);
    }
}
