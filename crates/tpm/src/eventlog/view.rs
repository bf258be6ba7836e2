//! What `eventlog show` prints: a log and its events as text lines or as JSON.
//!
//! The JSON objects' fields are declared in alphabetical order, the order the output has always had; nested
//! decoded event data is carried as JSON values with sorted keys for the same reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use yardstick_common::hash::Algorithm;

use super::{Event, EventLog, LogFormat, ParseError};

/// One event as JSON.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventView {
    /// The event data, hex.
    pub data: String,
    /// Whether the digest is the hash of the data, for events whose digest should be.
    pub data_digest_matches: Option<bool>,
    /// Length of the data.
    pub data_size: usize,
    /// What the data says, decoded.
    pub decoded: serde_json::Value,
    /// One-line description.
    pub description: String,
    /// Digests by bank name, hex (only the selected bank, when one is).
    pub digests: BTreeMap<String, String>,
    /// Whether the event is extended into its PCR (not EV_NO_ACTION).
    pub extended: bool,
    /// Event number (the Spec ID header of a crypto-agile log is #0).
    pub number: usize,
    /// Byte offset in the log.
    pub offset: usize,
    /// The PCR.
    pub pcr: u32,
    /// Event type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Event type number.
    pub type_value: u32,
}

impl EventView {
    /// The view of `e`, with only the digests of `bank` when one is given.
    pub fn new(e: &Event, bank: Option<Algorithm>) -> EventView {
        EventView {
            data: yardstick_common::hex::encode(e.data()),
            data_digest_matches: e.data_digest_matches(),
            data_size: e.data().len(),
            decoded: serde_json::to_value(e.decoded()).unwrap_or(serde_json::Value::Null),
            description: e.describe(),
            digests: e
                .digests()
                .iter()
                .filter(|d| bank.is_none_or(|b| d.algorithm().algorithm() == Some(b)))
                .map(|d| {
                    (
                        d.algorithm().name(),
                        yardstick_common::hex::encode(d.bytes()),
                    )
                })
                .collect(),
            extended: e.is_extended(),
            number: e.number(),
            offset: e.offset(),
            pcr: e.pcr(),
            event_type: e.event_type().to_string(),
            type_value: e.event_type().0,
        }
    }
}

/// Which events of a log to show.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShowFilter<'a> {
    /// Only these PCRs (all when empty).
    pub pcrs: &'a [u32],
    /// Only the digests of this bank.
    pub bank: Option<Algorithm>,
}

impl ShowFilter<'_> {
    fn selects(&self, e: &Event) -> bool {
        self.pcrs.is_empty() || self.pcrs.contains(&e.pcr())
    }
}

/// A log as `eventlog show --json` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogView {
    /// Bank names the log declares.
    pub banks: Vec<String>,
    /// Where parsing stopped, for a damaged log.
    pub error: Option<String>,
    /// Events in the log (all of them, also those not shown).
    pub event_count: usize,
    /// The events shown.
    pub events: Vec<EventView>,
    /// The file.
    pub file: String,
    /// The log format.
    pub format: LogFormat,
    /// The crypto-agile header.
    pub spec_id: serde_json::Value,
    /// Bytes of padding after the last event.
    pub trailing_padding: usize,
}

impl LogView {
    /// The view of `log` (read from `path`; parsing stopped at `error` if it is given).
    pub fn new(
        path: &Path,
        log: &EventLog,
        filter: ShowFilter<'_>,
        error: Option<&ParseError>,
    ) -> LogView {
        LogView {
            banks: log.banks().iter().map(|b| b.algorithm.name()).collect(),
            error: error.map(|e| e.to_string()),
            event_count: log.events().len(),
            events: log
                .events()
                .iter()
                .filter(|e| filter.selects(e))
                .map(|e| EventView::new(e, filter.bank))
                .collect(),
            file: path.display().to_string(),
            format: log.format(),
            spec_id: serde_json::to_value(log.spec_id()).unwrap_or(serde_json::Value::Null),
            trailing_padding: log.trailing_padding(),
        }
    }
}

/// The text `eventlog show` prints: a header line, then per event its number, PCR, type, description and
/// digests, a `!` line where a digest is not the hash of the data it should cover, and the padding.
pub fn show_text(path: &Path, log: &EventLog, filter: ShowFilter<'_>) -> String {
    let mut out = String::new();
    let banks: Vec<String> = log.banks().iter().map(|b| b.algorithm.name()).collect();
    let _ = writeln!(
        out,
        "{}: {} log, banks {}, {} events",
        path.display(),
        log.format(),
        banks.join(" "),
        log.events().len()
    );
    for e in log.events().iter().filter(|e| filter.selects(e)) {
        let _ = writeln!(
            out,
            "#{:<4} PCR{:<3} {:<32} {}",
            e.number(),
            e.pcr(),
            e.event_type().to_string(),
            e.describe()
        );
        if !e.is_extended() {
            continue;
        }
        for d in e.digests() {
            if filter
                .bank
                .is_some_and(|b| d.algorithm().algorithm() != Some(b))
            {
                continue;
            }
            let _ = writeln!(
                out,
                "        {:<7} {}",
                d.algorithm().name(),
                yardstick_common::hex::encode(d.bytes())
            );
        }
        if e.data_digest_matches() == Some(false) {
            let _ = writeln!(out, "        ! digest is not the hash of the event data");
        }
    }
    if log.trailing_padding() > 0 {
        let _ = writeln!(
            out,
            "({} bytes of padding after the last event ignored)",
            log.trailing_padding()
        );
    }
    out
}
