//! TCG event logs (`binary_bios_measurements`): parsed once, from untrusted bytes, into validated structs.
//!
//! Two formats exist (TCG PC Client Platform Firmware Profile, PFP, §10.2):
//! * legacy SHA-1 logs: every record is a `TCG_PCClientPCREvent` (u32 PCR, u32 type, 20-byte SHA-1 digest,
//!   u32 size, data). TPM 1.2 machines and some old TPM 2.0 firmware (go-tpm-tools' debian-10 log).
//! * crypto-agile logs: the first record is a legacy record of type `EV_NO_ACTION` holding the
//!   "Spec ID Event03" header (`TCG_EfiSpecIDEvent`, PFP §10.4.5.1), which lists the banks and their digest
//!   sizes; every later record is a `TCG_PCR_EVENT2` (u32 PCR, u32 type, `TPML_DIGEST_VALUES`, u32 size,
//!   data). A digest's size comes from the header, so banks yardstick cannot compute (SM3, SHA-3) still parse.
//!
//! Event numbers count records from 0 in file order, header included, as `tpm2_eventlog` numbers them.
//!
//! Hand-written for bit-exactness with the firmware and with tpm2_eventlog: the TCG PC Client event log (SHA-1
//! and crypto-agile formats, every event type the PFP defines, StartupLocality, CC event logs) is parsed strictly
//! from untrusted input with errors naming the event and byte offset; no maintained pure-Rust crate parses it
//! (tss-esapi needs the C TSS and does not decode event logs).
//!
//! ```
//! use yardstick_tpm::eventlog::EventLog;
//! // A legacy SHA-1 log with one EV_SEPARATOR event into PCR 7.
//! let mut raw = Vec::new();
//! raw.extend(7u32.to_le_bytes());
//! raw.extend(4u32.to_le_bytes());
//! raw.extend(yardstick_common::hash::Algorithm::Sha1.digest(&[0; 4]).as_ref());
//! raw.extend(4u32.to_le_bytes());
//! raw.extend([0u8; 4]);
//! let log = EventLog::parse(&raw).unwrap();
//! assert_eq!(log.events()[0].event_type().to_string(), "EV_SEPARATOR");
//! assert_eq!(log.events()[0].describe(), "separator 0x00000000");
//! // Truncated input says where it stopped, and keeps what came before.
//! let partial = EventLog::parse_partial(&raw[..30]);
//! assert!(partial.log.events().is_empty());
//! assert_eq!(partial.error.unwrap().to_string(),
//!     "event #0 at byte offset 0: event size at byte 28 needs 4 bytes, only 2 left \
//!      (truncated log or corrupt size field)");
//! ```

pub mod cel;
mod decode;
pub mod devpath;
mod reader;
mod types;
mod view;

use std::fmt;

use yardstick_common::hash::{Algorithm, Digest};

pub use decode::{
    EventData, GptEvent, GptPartition, ImageLoadEvent, Sp800155Event, VariableData, VariableValue,
};
pub use types::{AlgorithmId, EventType, Guid};
pub use view::{EventView, LogView, ShowFilter, show_text};

use reader::{Reader, Short};

/// Signature of the crypto-agile log header.
pub(crate) const SPEC_ID_03: &[u8] = b"Spec ID Event03\0";

/// More digests than this in one record is corruption, not a log: the PFP allows one per active bank.
const MAX_DIGESTS_PER_EVENT: u32 = 64;

/// More banks than this in the header is corruption.
const MAX_HEADER_ALGORITHMS: u32 = 64;

/// Largest digest the header may declare for an algorithm yardstick does not know (SHA-512 is 64 bytes).
const MAX_UNKNOWN_DIGEST_SIZE: u16 = 128;

/// The two on-disk formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// `TCG_PCClientPCREvent` records with one SHA-1 digest each.
    Sha1Legacy,
    /// "Spec ID Event03" header, then `TCG_PCR_EVENT2` records with one digest per bank.
    CryptoAgile,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Sha1Legacy => "SHA-1 (TCG_PCClientPCREvent)",
            LogFormat::CryptoAgile => "crypto-agile (TCG_PCR_EVENT2)",
        })
    }
}

/// One bank declared by the Spec ID header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AlgorithmSize {
    /// The algorithm.
    pub algorithm: AlgorithmId,
    /// Its digest size in bytes, as the header declares it (checked against the algorithm when known).
    pub digest_size: u16,
}

/// The crypto-agile header, `TCG_EfiSpecIDEvent` (PFP §10.4.5.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecIdEvent {
    /// Platform class (0 client, 1 server).
    pub platform_class: u32,
    /// Spec version, major.
    pub spec_version_major: u8,
    /// Spec version, minor.
    pub spec_version_minor: u8,
    /// Spec errata.
    pub spec_errata: u8,
    /// Size of UINTN: 1 for 32-bit, 2 for 64-bit firmware.
    pub uintn_size: u8,
    /// Banks, in header order.
    pub algorithms: Vec<AlgorithmSize>,
    /// Vendor information bytes.
    #[serde(serialize_with = "ser_hex")]
    pub vendor_info: Vec<u8>,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&yardstick_common::hex::encode(v))
}

impl serde::Serialize for AlgorithmId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// One digest of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDigest {
    algorithm: AlgorithmId,
    bytes: Vec<u8>,
}

impl EventDigest {
    /// The digest's algorithm.
    pub fn algorithm(&self) -> AlgorithmId {
        self.algorithm
    }

    /// The raw digest bytes (sized as the header declares).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// As a [`Digest`], when yardstick knows the algorithm.
    pub fn digest(&self) -> Option<Digest> {
        Digest::from_bytes(self.algorithm.algorithm()?, &self.bytes)
    }
}

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    number: usize,
    offset: usize,
    pcr: u32,
    event_type: EventType,
    digests: Vec<EventDigest>,
    data: Vec<u8>,
}

impl Event {
    /// Position in the log, from 0 (the header of a crypto-agile log is event 0).
    pub fn number(&self) -> usize {
        self.number
    }

    /// Byte offset of the record in the file.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The PCR the event extends (or describes, for `EV_NO_ACTION`).
    pub fn pcr(&self) -> u32 {
        self.pcr
    }

    /// The event type.
    pub fn event_type(&self) -> EventType {
        self.event_type
    }

    /// The digests, in record order.
    pub fn digests(&self) -> &[EventDigest] {
        &self.digests
    }

    /// The event data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The first digest of bank `alg`, if the event has one.
    pub fn digest(&self, alg: Algorithm) -> Option<Digest> {
        self.digests
            .iter()
            .find(|d| d.algorithm == AlgorithmId::of(alg))
            .and_then(EventDigest::digest)
    }

    /// True if the event was extended into its PCR: every type except `EV_NO_ACTION` (PFP §10.4.5: those
    /// events are informational and their digests are zero).
    pub fn is_extended(&self) -> bool {
        self.event_type != EventType::EV_NO_ACTION
    }

    /// What the data says.
    pub fn decoded(&self) -> EventData {
        decode::decode(self.event_type, &self.data)
    }

    /// `#<number> <type> <description>`: how a report names an event ("#42 EV_IPL \"grub_cmd: linux ...\"").
    pub fn summary(&self) -> String {
        format!("#{} {} {}", self.number, self.event_type, self.describe())
    }

    /// A short one-line description of the data, for people.
    pub fn describe(&self) -> String {
        let d = self.decoded();
        match d {
            EventData::Binary if self.data.is_empty() => "(no data)".into(),
            EventData::Binary => {
                let n = self.data.len().min(24);
                let hex = yardstick_common::hex::encode(self.data.get(..n).unwrap_or_default());
                if self.data.len() > n {
                    format!("{} bytes: {hex}…", self.data.len())
                } else {
                    format!("{} bytes: {hex}", self.data.len())
                }
            }
            other => other.describe(),
        }
    }

    /// For event types whose digest the PFP defines as the hash of the event data itself (separators,
    /// EV_EFI_ACTION strings, Secure Boot variables, GPT, S-CRTM version, ...; tpm2_eventlog checks a subset): whether every digest of a
    /// computable bank is that hash. `None` for other types, whose digest covers something not in the log
    /// (an image, a firmware volume, an initrd). A `Some(false)` event's description cannot be trusted.
    pub fn data_digest_matches(&self) -> Option<bool> {
        let t = self.event_type;
        let whole_data = matches!(
            t,
            EventType::EV_SEPARATOR
                | EventType::EV_ACTION
                | EventType::EV_EFI_ACTION
                | EventType::EV_EFI_VARIABLE_DRIVER_CONFIG
                | EventType::EV_EFI_VARIABLE_AUTHORITY
                | EventType::EV_EFI_VARIABLE_BOOT
                | EventType::EV_EFI_VARIABLE_BOOT2
                | EventType::EV_S_CRTM_VERSION
                | EventType::EV_EFI_GPT_EVENT
                | EventType::EV_EFI_GPT_EVENT2
                | EventType::EV_OMIT_BOOT_DEVICE_EVENTS
        );
        if !whole_data {
            return None;
        }
        // edk2 measures Boot#### and BootOrder (EV_EFI_VARIABLE_BOOT) as the hash of VariableData only;
        // EV_EFI_VARIABLE_BOOT2 and the PFP text use the whole UEFI_VARIABLE_DATA. Accept either.
        let var_data = if t == EventType::EV_EFI_VARIABLE_BOOT {
            variable_data_bytes(&self.data)
        } else {
            None
        };
        let mut checked = false;
        for d in &self.digests {
            let Some(alg) = d.algorithm.algorithm() else {
                continue;
            };
            checked = true;
            let whole = alg.digest(&self.data);
            let partial = var_data.map(|v| alg.digest(v));
            if d.bytes != whole.as_ref() && partial.is_none_or(|p| d.bytes != p.as_ref()) {
                return Some(false);
            }
        }
        checked.then_some(true)
    }
}

/// The VariableData part of a UEFI_VARIABLE_DATA record.
fn variable_data_bytes(data: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(data);
    r.take(16).ok()?;
    let name_chars = r.u64().ok()?;
    let data_len = r.u64().ok()?;
    r.take(name_chars.checked_mul(2)?).ok()?;
    r.take(data_len).ok()
}

/// A parsed event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    format: LogFormat,
    spec_id: Option<SpecIdEvent>,
    events: Vec<Event>,
    trailing_padding: usize,
}

/// The result of [`EventLog::parse_partial`]: the events read before any error, and the error.
#[derive(Debug, Clone)]
pub struct PartialLog {
    /// The events parsed before the error (all of them if there was none).
    pub log: EventLog,
    /// Where and why parsing stopped, if it did not reach the end.
    pub error: Option<ParseError>,
}

/// Why a log could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Number of the event being parsed (0 = first record).
    pub event: usize,
    /// Byte offset of that event's record.
    pub offset: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::Empty | ParseErrorKind::NotAnEventLog(_) => write!(f, "{}", self.kind),
            _ => write!(
                f,
                "event #{} at byte offset {}: {}",
                self.event, self.offset, self.kind
            ),
        }
    }
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The input is empty.
    #[error("empty file, not a TCG event log")]
    Empty,
    /// The first record does not look like a TCG event.
    #[error("not a TCG event log: {0}")]
    NotAnEventLog(String),
    /// A field runs past the end of the input: a truncated log, or a corrupt (absurd) size field.
    #[error(
        "{field} at byte {at} needs {wanted} bytes, only {left} left (truncated log or corrupt size field)"
    )]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its byte offset.
        at: usize,
        /// Bytes it needs.
        wanted: u64,
        /// Bytes left in the input.
        left: usize,
    },
    /// The "Spec ID Event03" header is malformed.
    #[error("bad Spec ID Event03 header: {0}")]
    BadSpecId(String),
    /// A record declares more digests than any real log has.
    #[error("absurd digest count {count} (the header declares {banks} bank(s))")]
    AbsurdDigestCount {
        /// The count in the record.
        count: u32,
        /// Banks in the header.
        banks: usize,
    },
    /// A digest's algorithm is neither in the header nor known, so its size is unknown.
    #[error("digest algorithm {0} is not declared in the Spec ID header and its size is unknown")]
    UnknownDigestAlgorithm(AlgorithmId),
}

fn truncated(field: &'static str, at: usize) -> impl Fn(Short) -> ParseErrorKind {
    move |s| ParseErrorKind::Truncated {
        field,
        at,
        wanted: s.wanted,
        left: s.left,
    }
}

impl EventLog {
    /// Parses a whole log; any malformed record is an error.
    pub fn parse(bytes: &[u8]) -> Result<EventLog, ParseError> {
        let p = EventLog::parse_partial(bytes);
        match p.error {
            Some(e) => Err(e),
            None => Ok(p.log),
        }
    }

    /// Parses as far as possible: the events before a malformed record are kept, and the error says which
    /// event at which offset stopped parsing.
    pub fn parse_partial(bytes: &[u8]) -> PartialLog {
        let mut log = EventLog {
            format: LogFormat::Sha1Legacy,
            spec_id: None,
            events: Vec::new(),
            trailing_padding: 0,
        };
        let error = log.parse_into(bytes).err();
        PartialLog { log, error }
    }

    fn parse_into(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        let mut stream = EventStream::new(bytes)?;
        self.format = stream.format;
        self.spec_id = stream.spec_id.clone();
        for ev in stream.by_ref() {
            self.events.push(ev?);
        }
        self.trailing_padding = stream.trailing_padding;
        Ok(())
    }

    /// The record format.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The crypto-agile header, if this is a crypto-agile log.
    pub fn spec_id(&self) -> Option<&SpecIdEvent> {
        self.spec_id.as_ref()
    }

    /// Every record, header included; the index is the event number.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Event number `n`.
    pub fn event(&self, n: usize) -> Option<&Event> {
        self.events.get(n)
    }

    /// The banks the log carries: SHA-1 for a legacy log, the header's algorithms otherwise.
    pub fn banks(&self) -> Vec<AlgorithmSize> {
        banks_of(self.spec_id.as_ref())
    }

    /// Padding bytes (all 0x00 or all 0xFF) after the last record of a log copied whole from its firmware
    /// area; ignored.
    pub fn trailing_padding(&self) -> usize {
        self.trailing_padding
    }

    /// The events extended into one PCR, in log order.
    pub fn pcr_events(&self, pcr: u32) -> impl Iterator<Item = &Event> + '_ {
        self.events
            .iter()
            .filter(move |e| e.pcr == pcr && e.is_extended())
    }
}

/// The records of a log in memory, read one at a time: memory does not grow with the number of events
/// (what [`EventLog::parse`] keeps, and [`crate::replay::replay_stream`] does not). [`EventStream::new`]
/// reads the first record (the Spec ID header of a crypto-agile log), which the iterator then yields first;
/// after an error the iterator ends.
#[derive(Debug, Clone)]
pub struct EventStream<'a> {
    r: Reader<'a>,
    format: LogFormat,
    spec_id: Option<SpecIdEvent>,
    first: Option<Event>,
    next_number: usize,
    trailing_padding: usize,
    done: bool,
}

impl<'a> EventStream<'a> {
    /// Checks that `bytes` look like a TCG event log and reads its first record.
    pub fn new(bytes: &'a [u8]) -> Result<EventStream<'a>, ParseError> {
        if bytes.is_empty() {
            return Err(ParseError {
                event: 0,
                offset: 0,
                kind: ParseErrorKind::Empty,
            });
        }
        let not_a_log = |why: String| ParseError {
            event: 0,
            offset: 0,
            kind: ParseErrorKind::NotAnEventLog(why),
        };
        // Judge the first record's PCR index and type before anything else, so that a file of another kind
        // is named as such rather than as a "truncated" log.
        let mut peek = Reader::new(bytes);
        match (peek.u32(), peek.u32()) {
            (Ok(pcr), Ok(ty)) => {
                if pcr > crate::pcr::MAX_PCR || EventType(ty).name().is_none() {
                    return Err(not_a_log(format!(
                        "the first record would have PCR index {pcr:#x} and event type {ty:#x}"
                    )));
                }
            }
            _ => {
                return Err(not_a_log(format!(
                    "{} bytes, shorter than one event header",
                    bytes.len()
                )));
            }
        }
        let mut r = Reader::new(bytes);
        let first = parse_legacy(&mut r, 0).map_err(|kind| ParseError {
            event: 0,
            offset: 0,
            kind,
        })?;
        let mut format = LogFormat::Sha1Legacy;
        let mut spec_id = None;
        if first.event_type == EventType::EV_NO_ACTION && first.data.starts_with(SPEC_ID_03) {
            let spec = parse_spec_id(&first.data).map_err(|kind| ParseError {
                event: 0,
                offset: 0,
                kind,
            })?;
            format = LogFormat::CryptoAgile;
            spec_id = Some(spec);
        }
        Ok(EventStream {
            r,
            format,
            spec_id,
            first: Some(first),
            next_number: 1,
            trailing_padding: 0,
            done: false,
        })
    }

    /// The record format.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The crypto-agile header, if this is a crypto-agile log.
    pub fn spec_id(&self) -> Option<&SpecIdEvent> {
        self.spec_id.as_ref()
    }

    /// The banks the log carries: SHA-1 for a legacy log, the header's algorithms otherwise.
    pub fn banks(&self) -> Vec<AlgorithmSize> {
        banks_of(self.spec_id.as_ref())
    }

    /// Padding bytes after the last record (known once the iterator has ended; see
    /// [`EventLog::trailing_padding`]).
    pub fn trailing_padding(&self) -> usize {
        self.trailing_padding
    }
}

impl Iterator for EventStream<'_> {
    type Item = Result<Event, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        if self.done || self.r.is_empty() {
            return None;
        }
        // Logs copied whole from their firmware area carry its unused rest: zeros (ACPI TPM2/TCPA log
        // area) or 0xFF (erased memory, e.g. a TDX CCEL area). No record consists only of either.
        let rest = self.r.rest();
        if rest.iter().all(|b| *b == 0) || rest.iter().all(|b| *b == 0xff) {
            self.trailing_padding = self.r.remaining();
            self.done = true;
            return None;
        }
        let number = self.next_number;
        let offset = self.r.pos();
        let ev = match &self.spec_id {
            Some(spec) => parse_event2(&mut self.r, spec, number),
            None => parse_legacy(&mut self.r, number),
        }
        .map_err(|kind| ParseError {
            event: number,
            offset,
            kind,
        });
        self.next_number += 1;
        if ev.is_err() {
            self.done = true;
        }
        Some(ev)
    }
}

/// The banks of a log with this header (SHA-1 alone without one).
fn banks_of(spec_id: Option<&SpecIdEvent>) -> Vec<AlgorithmSize> {
    match spec_id {
        Some(s) => s.algorithms.clone(),
        None => vec![AlgorithmSize {
            algorithm: AlgorithmId::of(Algorithm::Sha1),
            digest_size: 20,
        }],
    }
}

/// An event's `eventSize` and `event` fields.
fn event_data<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], ParseErrorKind> {
    let at = r.pos();
    let size = r.u32().map_err(truncated("event size", at))?;
    let at = r.pos();
    r.take(u64::from(size)).map_err(truncated("event data", at))
}

/// A legacy `TCG_PCClientPCREvent` record (also the first record of a crypto-agile log).
fn parse_legacy(r: &mut Reader<'_>, number: usize) -> Result<Event, ParseErrorKind> {
    let offset = r.pos();
    let pcr = r.u32().map_err(truncated("PCR index", r.pos()))?;
    let event_type = EventType(r.u32().map_err(truncated("event type", r.pos()))?);
    let at = r.pos();
    let digest = r.take(20).map_err(truncated("event digest", at))?;
    let data = event_data(r)?;
    Ok(Event {
        number,
        offset,
        pcr,
        event_type,
        digests: vec![EventDigest {
            algorithm: AlgorithmId::of(Algorithm::Sha1),
            bytes: digest.to_vec(),
        }],
        data: data.to_vec(),
    })
}

/// A `TCG_PCR_EVENT2` record.
fn parse_event2(
    r: &mut Reader<'_>,
    spec: &SpecIdEvent,
    number: usize,
) -> Result<Event, ParseErrorKind> {
    let offset = r.pos();
    let pcr = r.u32().map_err(truncated("PCR index", r.pos()))?;
    let event_type = EventType(r.u32().map_err(truncated("event type", r.pos()))?);
    let count = r.u32().map_err(truncated("digest count", r.pos()))?;
    if count > MAX_DIGESTS_PER_EVENT {
        return Err(ParseErrorKind::AbsurdDigestCount {
            count,
            banks: spec.algorithms.len(),
        });
    }
    let mut digests = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let at = r.pos();
        let algorithm = AlgorithmId(r.u16().map_err(truncated("digest algorithm", at))?);
        // The header's size wins; an algorithm it does not declare can still be read if yardstick knows its
        // size (replay then reports the disagreement).
        let size = spec
            .algorithms
            .iter()
            .find(|a| a.algorithm == algorithm)
            .map(|a| usize::from(a.digest_size))
            .or_else(|| algorithm.algorithm().map(Algorithm::digest_len))
            .ok_or(ParseErrorKind::UnknownDigestAlgorithm(algorithm))?;
        let at = r.pos();
        let bytes = r.take(size as u64).map_err(truncated("event digest", at))?;
        digests.push(EventDigest {
            algorithm,
            bytes: bytes.to_vec(),
        });
    }
    let data = event_data(r)?;
    Ok(Event {
        number,
        offset,
        pcr,
        event_type,
        digests,
        data: data.to_vec(),
    })
}

/// Parses and validates a `TCG_EfiSpecIDEvent`.
pub(crate) fn parse_spec_id(data: &[u8]) -> Result<SpecIdEvent, ParseErrorKind> {
    let bad = |m: String| ParseErrorKind::BadSpecId(m);
    let short = |what: &str| {
        let what = what.to_string();
        move |s: Short| {
            bad(format!(
                "{what} needs {} bytes, only {} left",
                s.wanted, s.left
            ))
        }
    };
    let mut r = Reader::new(data);
    let sig = r.take(16).map_err(short("signature"))?;
    if sig != SPEC_ID_03 {
        return Err(bad("wrong signature".into()));
    }
    let platform_class = r.u32().map_err(short("platformClass"))?;
    let spec_version_minor = r.u8().map_err(short("specVersionMinor"))?;
    let spec_version_major = r.u8().map_err(short("specVersionMajor"))?;
    let spec_errata = r.u8().map_err(short("specErrata"))?;
    let uintn_size = r.u8().map_err(short("uintnSize"))?;
    let n = r.u32().map_err(short("numberOfAlgorithms"))?;
    if n == 0 || n > MAX_HEADER_ALGORITHMS {
        return Err(bad(format!("declares {n} algorithms")));
    }
    let mut algorithms: Vec<AlgorithmSize> = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let algorithm = AlgorithmId(r.u16().map_err(short("algorithmId"))?);
        let digest_size = r.u16().map_err(short("digestSize"))?;
        match algorithm.algorithm() {
            Some(a) if usize::from(digest_size) != a.digest_len() => {
                return Err(bad(format!(
                    "{algorithm} declared with digest size {digest_size}, must be {}",
                    a.digest_len()
                )));
            }
            None if digest_size == 0 || digest_size > MAX_UNKNOWN_DIGEST_SIZE => {
                return Err(bad(format!(
                    "{algorithm} declared with absurd digest size {digest_size}"
                )));
            }
            _ => {}
        }
        if algorithms.iter().any(|a| a.algorithm == algorithm) {
            return Err(bad(format!("{algorithm} declared twice")));
        }
        algorithms.push(AlgorithmSize {
            algorithm,
            digest_size,
        });
    }
    let vendor_size = r.u8().map_err(short("vendorInfoSize"))?;
    let vendor_info = r
        .take(u64::from(vendor_size))
        .map_err(short("vendorInfo"))?
        .to_vec();
    Ok(SpecIdEvent {
        platform_class,
        spec_version_major,
        spec_version_minor,
        spec_errata,
        uintn_size,
        algorithms,
        vendor_info,
    })
}

/// UTF-16LE up to the first NUL (or the end). `None` for an odd length or invalid UTF-16.
pub(crate) fn utf16_to_string(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b
        .as_chunks::<2>()
        .0
        .iter()
        .map(|&c| u16::from_le_bytes(c))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests;
