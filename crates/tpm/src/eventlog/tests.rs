use super::*;
use crate::testutil::{agile_log, legacy_record};

fn sha256(data: &[u8]) -> Vec<u8> {
    Algorithm::Sha256.digest(data).as_ref().to_vec()
}

fn two_event_log() -> Vec<u8> {
    agile_log(
        &[(0x04, 20), (0x0b, 32)],
        &[
            (
                4,
                0x8000_0007,
                vec![
                    (0x04, Algorithm::Sha1.digest(b"act").as_ref().to_vec()),
                    (0x0b, sha256(b"act")),
                ],
                b"act".to_vec(),
            ),
            (
                7,
                4,
                vec![
                    (0x04, Algorithm::Sha1.digest(&[0; 4]).as_ref().to_vec()),
                    (0x0b, sha256(&[0; 4])),
                ],
                vec![0; 4],
            ),
        ],
    )
}

#[test]
fn crypto_agile_round_trip() {
    let raw = two_event_log();
    let log = EventLog::parse(&raw).unwrap();
    assert_eq!(log.format(), LogFormat::CryptoAgile);
    assert_eq!(log.events().len(), 3);
    let e = &log.events()[1];
    assert_eq!((e.number(), e.pcr()), (1, 4));
    assert_eq!(e.event_type(), EventType::EV_EFI_ACTION);
    assert_eq!(e.describe(), "\"act\"");
    assert_eq!(e.data_digest_matches(), Some(true));
    assert_eq!(
        e.digest(Algorithm::Sha256).unwrap().as_ref(),
        &sha256(b"act")[..]
    );
    assert_eq!(
        log.events()[2].offset() + 4 + 4 + 4 + 2 + 20 + 2 + 32 + 4 + 4,
        raw.len()
    );
    assert!(matches!(log.events()[0].decoded(), EventData::SpecId(_)));
}

/// Cutting the log at every byte: never a panic, the error names the event being read and its offset, and
/// the events before it are kept.
#[test]
fn truncation_at_every_byte() {
    let raw = two_event_log();
    let full = EventLog::parse(&raw).unwrap();
    let starts: Vec<usize> = full.events().iter().map(Event::offset).collect();
    for cut in 1..raw.len() {
        let p = EventLog::parse_partial(&raw[..cut]);
        if starts.contains(&cut) || cut < 8 {
            // A cut at a record boundary is a shorter valid log; under 8 bytes it is "not a log".
            continue;
        }
        let e = p.error.unwrap_or_else(|| panic!("cut at {cut} parsed"));
        let expected_event = starts.iter().rposition(|s| *s < cut).unwrap();
        assert_eq!(e.event, expected_event, "cut {cut}: {e}");
        assert_eq!(e.offset, starts[expected_event], "cut {cut}: {e}");
        assert_eq!(p.log.events().len(), expected_event, "cut {cut}");
        assert!(
            matches!(e.kind, ParseErrorKind::Truncated { .. }),
            "cut {cut}: {e}"
        );
    }
}

#[test]
fn absurd_sizes_and_counts() {
    let mut raw = legacy_record(0, 8, [0; 20], b"x");
    // Event size 0xC7EFBFBD (3.3 GB) with 4 bytes left: go-attestation's TestParseEventLogEventSizeTooLarge.
    raw.extend(legacy_record(4, 5, [1; 20], b""));
    let n = raw.len();
    raw[n - 4..].copy_from_slice(&0xc7ef_bfbdu32.to_le_bytes());
    raw.extend([0xaa; 4]);
    let e = EventLog::parse(&raw).unwrap_err();
    assert_eq!(e.event, 1);
    assert!(
        matches!(
            e.kind,
            ParseErrorKind::Truncated {
                field: "event data",
                wanted: 0xc7ef_bfbd,
                left: 4,
                ..
            }
        ),
        "{e}"
    );

    let mut raw = agile_log::<Vec<u8>>(&[(0x0b, 32)], &[]);
    raw.extend(4u32.to_le_bytes());
    raw.extend(5u32.to_le_bytes());
    raw.extend(u32::MAX.to_le_bytes());
    let e = EventLog::parse(&raw).unwrap_err();
    assert_eq!(
        e.kind,
        ParseErrorKind::AbsurdDigestCount {
            count: u32::MAX,
            banks: 1
        }
    );
}

#[test]
fn unknown_algorithms() {
    // Declared in the header (SM3_256, 32 bytes): parsed with the header's size.
    let raw = agile_log(
        &[(0x12, 32)],
        &[(4, 5, vec![(0x12, vec![9; 32])], b"a".to_vec())],
    );
    let log = EventLog::parse(&raw).unwrap();
    assert_eq!(log.events()[1].digests()[0].bytes(), &[9; 32]);
    assert_eq!(log.events()[1].digests()[0].digest(), None);
    // Not declared and unknown: the size is unknowable, parsing stops there.
    let raw = agile_log(
        &[(0x0b, 32)],
        &[(4, 5, vec![(0x4242, vec![9; 32])], b"a".to_vec())],
    );
    let e = EventLog::parse(&raw).unwrap_err();
    assert_eq!(
        e.kind,
        ParseErrorKind::UnknownDigestAlgorithm(AlgorithmId(0x4242))
    );
    assert_eq!(e.event, 1);
    // Header declaring a known algorithm with the wrong size, or an absurd size.
    for banks in [
        &[(0x0b, 20)][..],
        &[(0x99, 0)],
        &[(0x99, 4000)],
        &[(0x0b, 32), (0x0b, 32)],
        &[],
    ] {
        let e = EventLog::parse(&agile_log::<Vec<u8>>(banks, &[])).unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::BadSpecId(_)),
            "{banks:?}: {e}"
        );
    }
}

#[test]
fn not_a_log() {
    assert_eq!(
        EventLog::parse(&[]).unwrap_err().kind,
        ParseErrorKind::Empty
    );
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa\0\0\0\0";
    let e = EventLog::parse(png).unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::NotAnEventLog(_)), "{e}");
    assert!(e.to_string().starts_with("not a TCG event log"), "{e}");
    let text = b"sha256:\n  0 : 0x00\n";
    assert!(EventLog::parse(text).is_err());
}

#[test]
fn trailing_padding_is_ignored() {
    for pad in [0u8, 0xff] {
        let mut raw = two_event_log();
        let n = EventLog::parse(&raw).unwrap().events().len();
        raw.extend([pad; 1000]);
        let log = EventLog::parse(&raw).unwrap();
        assert_eq!(log.events().len(), n);
        assert_eq!(log.trailing_padding(), 1000);
    }
    // Mixed bytes are not padding.
    let mut raw = two_event_log();
    raw.extend([0, 0xff, 0, 0]);
    assert!(EventLog::parse(&raw).is_err());
}

/// A legacy log whose first event is an EV_NO_ACTION shorter than a Spec ID header (go-attestation's
/// short_no_action_eventlog has this shape): a valid SHA-1 log.
#[test]
fn legacy_with_short_no_action() {
    let raw = legacy_record(0, 3, [0; 20], b"hello");
    let log = EventLog::parse(&raw).unwrap();
    assert_eq!(log.format(), LogFormat::Sha1Legacy);
    assert_eq!(log.events().len(), 1);
    assert!(!log.events()[0].is_extended());
}

#[test]
fn data_digest_check() {
    let raw = legacy_record(7, 4, [0x11; 20], &[0; 4]);
    let log = EventLog::parse(&raw).unwrap();
    assert_eq!(log.events()[0].data_digest_matches(), Some(false));
    let raw = legacy_record(4, 0x8000_0003, [0x11; 20], &[0; 40]);
    let log = EventLog::parse(&raw).unwrap();
    assert_eq!(log.events()[0].data_digest_matches(), None);
}
