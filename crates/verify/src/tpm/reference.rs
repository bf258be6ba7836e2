//! What a quote is compared against: reference PCR values (from `--expected-pcrs`, or a manifest in phase 2)
//! and, when an event log comes with the quote, its replay and per-event digests, so that a mismatch can name
//! the first event where the log and the reference part ways.

use std::collections::BTreeMap;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_tpm::PcrBanks;
use yardstick_tpm::compare::{Explanation, Side, explain_value};
use yardstick_tpm::eventlog::EventLog;
use yardstick_tpm::replay::{Replay, replay};

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
#[derive(Debug, Clone, Default)]
pub struct EventLogEvidence {
    /// PCR values from replaying every event.
    pub replayed: PcrBanks,
    /// The extended events (every type but `EV_NO_ACTION`), in log order.
    pub events: Vec<LoggedEvent>,
    /// What the replay could not honour (banks yardstick cannot hash, missing digests), in words.
    pub notes: Vec<String>,
    /// The parsed log and its replay, to explain a quoted value the replay does not reproduce.
    log: Option<Box<(EventLog, Replay)>>,
}

impl EventLogEvidence {
    /// Replays a parsed TCG event log.
    pub fn from_log(log: EventLog) -> EventLogEvidence {
        let r = replay(&log);
        let events = log
            .events()
            .iter()
            .filter(|e| e.is_extended())
            .map(|e| LoggedEvent {
                index: e.number(),
                pcr: e.pcr(),
                event_type: e.event_type().to_string(),
                description: e.describe(),
                digests: e
                    .digests()
                    .iter()
                    .filter_map(yardstick_tpm::eventlog::EventDigest::digest)
                    .collect(),
            })
            .collect();
        EventLogEvidence {
            replayed: r.pcrs().clone(),
            events,
            notes: r.notes().iter().map(ToString::to_string).collect(),
            log: Some(Box::new((log, r))),
        }
    }

    /// Why the log's replay of (`alg`, `pcr`) does not give `quoted`, as far as the log tells: an earlier
    /// point of its history (the quote predates later events), a StartupLocality the quote's TPM did not
    /// see, or nothing closer.
    pub fn explain_quoted(&self, alg: Algorithm, pcr: u32, quoted: &Digest) -> Option<String> {
        let (log, r) = self.log.as_deref()?;
        let name = |n: usize| {
            log.event(n)
                .map(|e| format!("#{n} {}", e.event_type()))
                .unwrap_or_else(|| format!("#{n}"))
        };
        let list = |v: &[usize]| v.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", ");
        Some(match explain_value(log, r, alg, pcr, quoted, Side::A) {
            Explanation::ListIsLogPrefix {
                after_event: None,
                later_events,
                ..
            } => format!(
                "the quoted value is the PCR's initial value: none of the log's events ({}) was extended",
                list(&later_events)
            ),
            Explanation::ListIsLogPrefix {
                after_event: Some(n),
                later_events,
                ..
            } => format!(
                "the quoted value is the log's value after event {}: the log has later events the quote does not cover ({})",
                name(n),
                list(&later_events)
            ),
            Explanation::StartupLocalityIgnored { locality, .. } => format!(
                "the quoted value is the replay from zero, without the log's StartupLocality {locality}"
            ),
            Explanation::NoActionExtended {
                no_action_events, ..
            } => format!(
                "the quoted value is the replay with the EV_NO_ACTION events {} extended",
                list(&no_action_events)
            ),
            Explanation::Unexplained { .. }
            | Explanation::EventDiff { .. }
            | Explanation::StartupLocalityDiffers { .. }
            | Explanation::Pcr11Phase { .. } => {
                let n = r.steps(alg, pcr).len();
                format!(
                    "no prefix of the log's {n} events for this PCR gives the quoted value: the log does not describe this TPM"
                )
            }
        })
    }
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

    /// A legacy SHA-1 log (`TCG_PCClientPCREvent` records) of `EV_EFI_ACTION` events into PCR 4.
    fn sha1_log(actions: &[&[u8]]) -> Vec<u8> {
        let mut raw = Vec::new();
        for data in actions {
            raw.extend(4u32.to_le_bytes());
            raw.extend(0x8000_0007u32.to_le_bytes());
            raw.extend(Algorithm::Sha1.digest(data).as_ref());
            raw.extend((data.len() as u32).to_le_bytes());
            raw.extend(*data);
        }
        raw
    }

    #[test]
    fn replayed_log_and_quoted_values_it_explains() {
        let log = EventLog::parse(&sha1_log(&[b"one", b"two"])).unwrap();
        let ev = EventLogEvidence::from_log(log);
        let a = Algorithm::Sha1;
        let after_one = a.extend(&a.zero(), &a.digest(b"one"));
        let after_two = a.extend(&after_one, &a.digest(b"two"));
        assert_eq!(ev.replayed.get(a, 4), Some(&after_two));
        assert_eq!(ev.events.len(), 2);
        assert_eq!(ev.events[1].to_string(), "#1 EV_EFI_ACTION \"two\"");
        assert_eq!(ev.events[1].digest(a), Some(&a.digest(b"two")));
        let prefix = ev.explain_quoted(a, 4, &after_one).unwrap();
        assert!(
            prefix.contains("after event #0 EV_EFI_ACTION")
                && prefix.contains("(#1 EV_EFI_ACTION)"),
            "{prefix}"
        );
        assert!(
            ev.explain_quoted(a, 4, &a.zero())
                .unwrap()
                .contains("initial value")
        );
        assert!(
            ev.explain_quoted(a, 4, &a.digest(b"other"))
                .unwrap()
                .contains("no prefix of the log's 2 events")
        );
        assert!(
            EventLogEvidence::default()
                .explain_quoted(a, 4, &after_one)
                .is_none()
        );
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
