//! Event-log replay: the PCR values a log says the TPM holds, per bank.
//!
//! Every event except `EV_NO_ACTION` is extended into its PCR, in every bank the log declares:
//! `PCR = H(PCR || digest)`, starting from zero, except PCR 0 when the log has a "StartupLocality" event
//! (PFP §10.4.5.3): TPM2_Startup from locality 3 or 4 resets PCR 0 to `00..00 03`/`00..04` (TPM 2.0 Part 1
//! §17.3 "PCR Initialization"), so replay starts from that value. GCE's firmware logs StartupLocality 3;
//! tools that miss it (tpm2_eventlog 5.4) get PCR 0 wrong on those logs.
//!
//! Replay never fails on a parsed log: disagreements are [`Note`]s, and the affected (bank, PCR) is left out
//! of the result rather than guessed.
//!
//! ```
//! use yardstick_tpm::{eventlog::EventLog, replay::replay};
//! use yardstick_common::hash::Algorithm;
//! let mut raw = Vec::new();
//! for _ in 0..2 {
//!     raw.extend(4u32.to_le_bytes()); // PCR 4
//!     raw.extend(0x8000_0007u32.to_le_bytes()); // EV_EFI_ACTION
//!     raw.extend(Algorithm::Sha1.digest(b"hi").as_ref());
//!     raw.extend(2u32.to_le_bytes());
//!     raw.extend(b"hi");
//! }
//! let r = replay(&EventLog::parse(&raw).unwrap());
//! let d = Algorithm::Sha1.digest(b"hi");
//! let once = Algorithm::Sha1.extend(&Algorithm::Sha1.zero(), &d);
//! assert_eq!(r.pcrs().get(Algorithm::Sha1, 4), Some(&Algorithm::Sha1.extend(&once, &d)));
//! // The value after each event is kept, so a quoted value can be located in the log.
//! assert_eq!(r.steps(Algorithm::Sha1, 4)[0].value, once);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use yardstick_common::hash::{Algorithm, Digest};

use crate::eventlog::{
    AlgorithmId, AlgorithmSize, Event, EventData, EventLog, EventStream, EventType,
};
use crate::pcr::{MAX_PCR, PcrBanks};

/// Something in the log that replay could not honour as-is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Note {
    /// The header declares a bank yardstick cannot hash (SM3, SHA-3): its digests are parsed, not replayed.
    #[error("bank {alg} ({size}-byte digests) skipped: yardstick cannot compute {alg}")]
    UnsupportedBank {
        /// The algorithm.
        alg: AlgorithmId,
        /// Its digest size from the header.
        size: u16,
    },
    /// An extended event lacks a digest for a declared bank: that bank's value of the PCR is unknown and
    /// left out of the result.
    #[error(
        "event #{event} ({event_type}, PCR {pcr}) has no {alg} digest although the header declares {alg}: \
         {alg} PCR {pcr} not replayed"
    )]
    MissingDigest {
        /// The event.
        event: usize,
        /// Its type.
        event_type: EventType,
        /// Its PCR.
        pcr: u32,
        /// The bank.
        alg: Algorithm,
    },
    /// An event carries a digest for a bank the header does not declare: ignored (noted once per algorithm).
    #[error("event #{event} has a {alg} digest the Spec ID header does not declare: ignored")]
    UndeclaredDigest {
        /// The event.
        event: usize,
        /// The algorithm.
        alg: AlgorithmId,
    },
    /// An event carries several digests of one bank: the first is used (noted once per algorithm).
    #[error("event #{event} has {count} {alg} digests: the first one was used")]
    DuplicateDigest {
        /// The event.
        event: usize,
        /// The bank.
        alg: AlgorithmId,
        /// How many.
        count: usize,
    },
    /// An event names a PCR a PC-client TPM does not have.
    #[error(
        "event #{event} ({event_type}) extends PCR {pcr}, which does not exist (0-23): ignored"
    )]
    PcrOutOfRange {
        /// The event.
        event: usize,
        /// Its type.
        event_type: EventType,
        /// The PCR index.
        pcr: u32,
    },
    /// A StartupLocality event after PCR 0 was already extended: the spec puts it first, so it is ignored.
    #[error("event #{event}: StartupLocality after PCR 0 was first extended: ignored")]
    LateStartupLocality {
        /// The event.
        event: usize,
    },
}

/// One extension of a PCR during replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Number of the event that was extended.
    pub event: usize,
    /// The event's digest in this bank.
    pub digest: Digest,
    /// The PCR's value after the extension.
    pub value: Digest,
}

/// Where a value shows up in a PCR's replay history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueMatch {
    /// The value is the PCR's initial value (before any event).
    Initial,
    /// The value is the PCR's value right after this event (index `step` into [`Replay::steps`]).
    AfterEvent {
        /// The event number.
        event: usize,
        /// Index of the step.
        step: usize,
    },
}

/// The result of replaying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pcrs: PcrBanks,
    startup_locality: Option<u8>,
    notes: Vec<Note>,
    steps: BTreeMap<(Algorithm, u32), Vec<Step>>,
}

/// Replays a parsed log, keeping every step (see [`Replay::steps`]).
pub fn replay(log: &EventLog) -> Replay {
    let mut state = ReplayState::new(&log.banks(), true);
    for ev in log.events() {
        state.event(ev);
    }
    state.finish()
}

/// Parses and replays a log in one pass without keeping its events or its steps: memory does not grow with
/// the number of events (the final values and notes are those of [`replay`]; [`Replay::steps`] then holds
/// only each PCR's last extension). For the commands that need only the final values.
pub fn replay_stream(bytes: &[u8]) -> Result<Replay, crate::eventlog::ParseError> {
    replay_stream_counted(bytes).map(|(r, _, _)| r)
}

/// [`replay_stream`], also giving the log's record format and its number of records (header included).
pub fn replay_stream_counted(
    bytes: &[u8],
) -> Result<(Replay, crate::eventlog::LogFormat, usize), crate::eventlog::ParseError> {
    let stream = EventStream::new(bytes)?;
    let format = stream.format();
    let mut state = ReplayState::new(&stream.banks(), false);
    let mut count = 0;
    for ev in stream {
        state.event(&ev?);
        count += 1;
    }
    Ok((state.finish(), format, count))
}

/// Replay's state while it walks the log.
struct ReplayState {
    /// The declared banks yardstick can hash, in header order.
    active: Vec<Algorithm>,
    /// Every bank the header declares.
    declared: BTreeSet<AlgorithmId>,
    notes: Vec<Note>,
    startup_locality: Option<u8>,
    pcr0_extended: bool,
    steps: BTreeMap<(Algorithm, u32), Vec<Step>>,
    /// Whether every step is kept (else only the last of each PCR).
    keep_steps: bool,
    /// (bank, PCR)s with an event missing that bank's digest: left out of the result.
    broken: BTreeSet<(Algorithm, u32)>,
    noted_undeclared: BTreeSet<AlgorithmId>,
    noted_duplicate: BTreeSet<AlgorithmId>,
}

impl ReplayState {
    /// The state before the first event: the banks to replay, with a note per bank that cannot be.
    fn new(banks: &[AlgorithmSize], keep_steps: bool) -> ReplayState {
        let mut notes = Vec::new();
        let mut active: Vec<Algorithm> = Vec::new();
        for b in banks {
            match b.algorithm.algorithm() {
                Some(a) => active.push(a),
                None => notes.push(Note::UnsupportedBank {
                    alg: b.algorithm,
                    size: b.digest_size,
                }),
            }
        }
        let declared: BTreeSet<AlgorithmId> = banks.iter().map(|b| b.algorithm).collect();
        ReplayState {
            active,
            declared,
            notes,
            startup_locality: None,
            pcr0_extended: false,
            steps: BTreeMap::new(),
            keep_steps,
            broken: BTreeSet::new(),
            noted_undeclared: BTreeSet::new(),
            noted_duplicate: BTreeSet::new(),
        }
    }

    /// One event, in log order.
    fn event(&mut self, ev: &Event) {
        if !ev.is_extended() {
            self.note_startup_locality(ev);
            return;
        }
        self.note_odd_digests(ev);
        self.extend(ev);
    }

    /// A non-extended event: takes a StartupLocality's locality, unless PCR 0 was already extended.
    fn note_startup_locality(&mut self, ev: &Event) {
        if let EventData::StartupLocality { locality } = ev.decoded() {
            if self.pcr0_extended {
                self.notes
                    .push(Note::LateStartupLocality { event: ev.number() });
            } else {
                self.startup_locality = Some(locality);
            }
        }
    }

    /// Notes undeclared and duplicate digests, once per algorithm, at the first event showing it: a firmware
    /// that does it once does it for every event.
    fn note_odd_digests(&mut self, ev: &Event) {
        for d in ev.digests() {
            if !self.declared.contains(&d.algorithm())
                && self.noted_undeclared.insert(d.algorithm())
            {
                self.notes.push(Note::UndeclaredDigest {
                    event: ev.number(),
                    alg: d.algorithm(),
                });
            }
        }
        for id in &self.declared {
            let count = ev.digests().iter().filter(|d| d.algorithm() == *id).count();
            if count > 1 && self.noted_duplicate.insert(*id) {
                self.notes.push(Note::DuplicateDigest {
                    event: ev.number(),
                    alg: *id,
                    count,
                });
            }
        }
    }

    /// Extends an event into its PCR in every active bank (a PCR out of range, or a bank's digest missing,
    /// is noted instead).
    fn extend(&mut self, ev: &Event) {
        let pcr = ev.pcr();
        if pcr > MAX_PCR {
            self.notes.push(Note::PcrOutOfRange {
                event: ev.number(),
                event_type: ev.event_type(),
                pcr,
            });
            return;
        }
        self.pcr0_extended |= pcr == 0;
        for &alg in &self.active {
            if self.broken.contains(&(alg, pcr)) {
                continue;
            }
            let Some(digest) = ev.digest(alg) else {
                self.notes.push(Note::MissingDigest {
                    event: ev.number(),
                    event_type: ev.event_type(),
                    pcr,
                    alg,
                });
                self.broken.insert((alg, pcr));
                continue;
            };
            let hist = self.steps.entry((alg, pcr)).or_default();
            let old = match hist.last() {
                Some(s) => s.value,
                None => initial_value(alg, pcr, self.startup_locality),
            };
            let step = Step {
                event: ev.number(),
                digest,
                value: alg.extend(&old, &digest),
            };
            if !self.keep_steps {
                hist.clear();
            }
            hist.push(step);
        }
    }

    /// The final values: each replayed (bank, PCR)'s last step, and PCR 0 at a non-zero StartupLocality's
    /// value where no event extended it.
    fn finish(self) -> Replay {
        let mut pcrs = PcrBanks::new();
        for ((alg, pcr), hist) in &self.steps {
            if self.broken.contains(&(*alg, *pcr)) {
                continue;
            }
            if let Some(last) = hist.last() {
                pcrs.set(*pcr, last.value);
            }
        }
        // A StartupLocality with no PCR 0 event still leaves PCR 0 at the locality value.
        if let Some(l) = self.startup_locality.filter(|l| *l != 0) {
            for &alg in &self.active {
                if pcrs.get(alg, 0).is_none() && !self.broken.contains(&(alg, 0)) {
                    pcrs.set(0, initial_value(alg, 0, Some(l)));
                }
            }
        }
        Replay {
            pcrs,
            startup_locality: self.startup_locality,
            notes: self.notes,
            steps: self.steps,
        }
    }
}

/// A PCR's value before any event: zero, except PCR 0 after TPM2_Startup from a non-zero locality, whose
/// last byte is the locality.
pub fn initial_value(alg: Algorithm, pcr: u32, startup_locality: Option<u8>) -> Digest {
    let mut bytes = alg.zero();
    if pcr == 0
        && let Some(l) = startup_locality
    {
        let mut raw = bytes.as_ref().to_vec();
        if let Some(last) = raw.last_mut() {
            *last = l;
        }
        if let Some(d) = Digest::from_bytes(alg, &raw) {
            bytes = d;
        }
    }
    bytes
}

impl Replay {
    /// The final values, per bank, for every PCR the log extends (and PCR 0 if StartupLocality set it).
    pub fn pcrs(&self) -> &PcrBanks {
        &self.pcrs
    }

    /// Consumes the replay, keeping the values.
    pub fn into_pcrs(self) -> PcrBanks {
        self.pcrs
    }

    /// The locality of a StartupLocality event, if the log has one.
    pub fn startup_locality(&self) -> Option<u8> {
        self.startup_locality
    }

    /// What replay could not honour (skipped banks, missing digests, ...).
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The extensions of one PCR in one bank, in order (empty if none).
    pub fn steps(&self, alg: Algorithm, pcr: u32) -> &[Step] {
        self.steps
            .get(&(alg, pcr))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The PCR's initial value in this replay.
    pub fn initial(&self, alg: Algorithm, pcr: u32) -> Digest {
        initial_value(alg, pcr, self.startup_locality)
    }

    /// Where `value` occurs in the PCR's history: a quote taken before the last events were logged, or a
    /// reference value that covers fewer events, shows up as an earlier step.
    pub fn find_value(&self, alg: Algorithm, pcr: u32, value: &Digest) -> Option<ValueMatch> {
        if self.initial(alg, pcr) == *value {
            return Some(ValueMatch::Initial);
        }
        self.steps(alg, pcr)
            .iter()
            .enumerate()
            .find(|(_, s)| s.value == *value)
            .map(|(i, s)| ValueMatch::AfterEvent {
                event: s.event,
                step: i,
            })
    }

    /// The PCR's final value if replay had started from `initial` instead (e.g. zero, ignoring
    /// StartupLocality, as tools that do not know the event compute it).
    pub fn replay_from(&self, alg: Algorithm, pcr: u32, initial: Digest) -> Option<Digest> {
        let steps = self.steps(alg, pcr);
        if steps.is_empty() {
            return None;
        }
        Some(
            steps
                .iter()
                .fold(initial, |acc, s| alg.extend(&acc, &s.digest)),
        )
    }
}

#[cfg(test)]
mod tests;
