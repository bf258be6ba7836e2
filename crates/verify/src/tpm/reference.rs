//! What a quote is compared against: reference PCR values (from `--expected-pcrs`, or a manifest in phase 2)
//! and, when an event log comes with the quote, its replay and per-event digests, so that a mismatch can name
//! the first event where the log and the reference part ways.

use std::collections::BTreeMap;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_tpm::PcrBanks;

/// One event a reference expects to be extended into a PCR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedEvent {
    /// The digest extended.
    pub digest: Digest,
    /// What it is (`EV_IPL ".cmdline"`), for messages.
    pub description: String,
}

/// Reference PCR values: each listed (bank, PCR) must equal one of its acceptable values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcrReference {
    /// Acceptable values per (bank, PCR).
    pub values: BTreeMap<(Algorithm, u32), Vec<Digest>>,
    /// Expected events per (bank, PCR), in extend order, when the reference was predicted event by event.
    pub events: BTreeMap<(Algorithm, u32), Vec<ExpectedEvent>>,
    /// Where the values came from, for messages.
    pub source: String,
}

impl PcrReference {
    /// Every value in `banks` as the single acceptable value of its PCR.
    pub fn from_banks(banks: &PcrBanks, source: impl Into<String>) -> PcrReference {
        let mut r = PcrReference {
            source: source.into(),
            ..PcrReference::default()
        };
        for (alg, pcr, d) in banks.iter() {
            r.add(alg, pcr, *d);
        }
        r
    }

    /// Adds an acceptable value.
    pub fn add(&mut self, alg: Algorithm, pcr: u32, value: Digest) {
        let v = self.values.entry((alg, pcr)).or_default();
        if !v.contains(&value) {
            v.push(value);
        }
    }

    /// True if nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// One event of a TCG event log, as the replay saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Position in the log (0 = the Spec ID event).
    pub index: usize,
    /// PCR index.
    pub pcr: u32,
    /// Event type name (`EV_IPL`).
    pub event_type: String,
    /// Short description of the event data (`".cmdline"`).
    pub description: String,
    /// The digests extended, one per bank.
    pub digests: Vec<Digest>,
}

impl LoggedEvent {
    /// The digest for bank `alg`, if the event has one.
    pub fn digest(&self, alg: Algorithm) -> Option<&Digest> {
        self.digests.iter().find(|d| d.algorithm() == alg)
    }
}

impl std::fmt::Display for LoggedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {}", self.index, self.event_type)?;
        if !self.description.is_empty() {
            write!(f, " {}", self.description)?;
        }
        Ok(())
    }
}

/// An event log after replay: the PCR values it produces and its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLogEvidence {
    /// PCR values from replaying every event.
    pub replayed: PcrBanks,
    /// The events, in log order.
    pub events: Vec<LoggedEvent>,
}

/// Where the log's events for (`alg`, `pcr`) first differ from the `expected` events, in words; `None` if
/// they agree event for event.
pub fn first_divergence(
    alg: Algorithm,
    pcr: u32,
    expected: &[ExpectedEvent],
    log: &[LoggedEvent],
) -> Option<String> {
    let logged: Vec<&LoggedEvent> = log
        .iter()
        .filter(|e| e.pcr == pcr && e.digest(alg).is_some())
        .collect();
    for i in 0..expected.len().max(logged.len()) {
        match (expected.get(i), logged.get(i)) {
            (Some(x), Some(l)) if l.digest(alg) == Some(&x.digest) => continue,
            (Some(x), Some(l)) => {
                return Some(format!(
                    "first differing event: {l} (expected {})",
                    x.description
                ));
            }
            (Some(x), None) => {
                return Some(format!(
                    "the log ends before the expected event {}",
                    x.description
                ));
            }
            (None, Some(l)) => return Some(format!("first differing event: {l} (not expected)")),
            (None, None) => break,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(index: usize, pcr: u32, data: &[u8], desc: &str) -> LoggedEvent {
        LoggedEvent {
            index,
            pcr,
            event_type: "EV_IPL".into(),
            description: desc.into(),
            digests: vec![Algorithm::Sha256.digest(data)],
        }
    }

    fn exp(data: &[u8], desc: &str) -> ExpectedEvent {
        ExpectedEvent {
            digest: Algorithm::Sha256.digest(data),
            description: desc.into(),
        }
    }

    #[test]
    fn names_the_first_divergent_event() {
        let log = vec![
            ev(40, 11, b".linux", "\".linux\""),
            ev(41, 4, b"x", ""),
            ev(42, 11, b".cmdline B", "\".cmdline\""),
        ];
        let want = vec![
            exp(b".linux", "\".linux\""),
            exp(b".cmdline A", "\".cmdline\""),
        ];
        let d = first_divergence(Algorithm::Sha256, 11, &want, &log).unwrap();
        assert_eq!(
            d,
            "first differing event: #42 EV_IPL \".cmdline\" (expected \".cmdline\")"
        );
        assert_eq!(
            first_divergence(Algorithm::Sha256, 11, &want[..1], &log[..1]),
            None
        );
        assert!(
            first_divergence(Algorithm::Sha256, 11, &want, &log[..1])
                .unwrap()
                .contains("ends before")
        );
    }
}
