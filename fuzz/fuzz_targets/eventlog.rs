//! Event-log parsing, decoding (also as Trustee's `uefi_event_logs` claims), replay and comparison on arbitrary bytes: nothing may panic, and parsing
//! must be consistent (a full parse equals the partial parse without error). The same bytes as systemd's CEL-JSON
//! userspace log: parse, replay and both `eventlog show` forms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tpm::compare::{PcrSource, compare};
use yardstick_tpm::eventlog::cel::CelLog;
use yardstick_tpm::eventlog::{EventLog, ShowFilter};
use yardstick_tpm::replay::replay;

fuzz_target!(|data: &[u8]| {
    let _ = CelLog::looks_like(data);
    if let Ok(cel) = CelLog::parse(data) {
        let _ = cel.replay();
        let filter = ShowFilter { pcrs: &[], bank: None };
        let _ = cel.show_text(std::path::Path::new("log"), filter);
        let _ = cel.view(std::path::Path::new("log"), filter);
    }
    let partial = EventLog::parse_partial(data);
    match EventLog::parse(data) {
        Ok(log) => assert!(partial.error.is_none() && partial.log == log),
        Err(e) => assert_eq!(partial.error.as_ref(), Some(&e)),
    }
    let log = partial.log;
    // The log as Trustee-shaped claims (`verify tdx --ccel`): every event's details decoded.
    let _ = yardstick_verify::claims::uefi_event_logs(&log);
    for e in log.events() {
        let _ = e.summary();
        let _ = e.data_digest_matches();
    }
    let r = replay(&log);
    for n in r.notes() {
        let _ = n.to_string();
    }
    let src = PcrSource::from_log(log);
    let c = compare(&src, &src);
    assert!(c.differing().next().is_none());
    let _ = PcrSource::from_bytes(data);
});
