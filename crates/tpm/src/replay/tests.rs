use super::*;
use crate::eventlog::EventLog;
use crate::testutil::agile_log;

fn sha256(data: &[u8]) -> Vec<u8> {
    Algorithm::Sha256.digest(data).as_ref().to_vec()
}

/// TPM 2.0 Part 1 §17.3: after TPM2_Startup from locality 3, PCR 0 is 00..03; a separator extended into it
/// gives H(00..03 || H(00000000)), computed here by hand.
#[test]
fn startup_locality_sets_pcr0() {
    let mut loc = b"StartupLocality\0".to_vec();
    loc.push(3);
    let sep = sha256(&[0; 4]);
    let raw = agile_log(
        &[(0x0b, 32)],
        &[
            (0, 3, vec![(0x0b, vec![0; 32])], loc),
            (0, 4, vec![(0x0b, sep.clone())], vec![0; 4]),
        ],
    );
    let r = replay(&EventLog::parse(&raw).unwrap());
    let mut init = vec![0u8; 32];
    init[31] = 3;
    let mut cat = init.clone();
    cat.extend(&sep);
    assert_eq!(r.startup_locality(), Some(3));
    assert_eq!(
        r.pcrs().get(Algorithm::Sha256, 0).unwrap().as_ref(),
        &sha256(&cat)[..]
    );
    // Without the locality the value differs: what tools that ignore the event compute.
    let from_zero = r
        .replay_from(Algorithm::Sha256, 0, Algorithm::Sha256.zero())
        .unwrap();
    let mut cat0 = vec![0u8; 32];
    cat0.extend(&sep);
    assert_eq!(from_zero.as_ref(), &sha256(&cat0)[..]);
    assert!(r.notes().is_empty());
}

/// A bank yardstick cannot compute (SM3_256, 0x0012, 32 bytes) is parsed and skipped with a note; an event
/// missing its SHA-256 digest leaves that PCR out instead of guessing; an undeclared SHA-384 digest is noted.
#[test]
fn disagreements_are_notes() {
    let raw = agile_log(
        &[(0x0b, 32), (0x12, 32)],
        &[
            (
                4,
                0x8000_0007,
                vec![(0x0b, sha256(b"x")), (0x12, vec![7; 32])],
                b"x".to_vec(),
            ),
            (5, 0x8000_0007, vec![(0x12, vec![7; 32])], b"y".to_vec()),
            (
                6,
                0x8000_0007,
                vec![(0x0b, sha256(b"z")), (0x0c, vec![1; 48])],
                b"z".to_vec(),
            ),
            (99, 4, vec![(0x0b, sha256(&[0; 4]))], vec![0; 4]),
        ],
    );
    let log = EventLog::parse(&raw).unwrap();
    let r = replay(&log);
    assert!(r.pcrs().get(Algorithm::Sha256, 4).is_some());
    assert!(r.pcrs().get(Algorithm::Sha256, 5).is_none());
    assert!(r.pcrs().get(Algorithm::Sha256, 6).is_some());
    assert_eq!(
        r.pcrs().algorithms().collect::<Vec<_>>(),
        [Algorithm::Sha256]
    );
    let notes: Vec<String> = r.notes().iter().map(|n| n.to_string()).collect();
    assert!(
        matches!(
            r.notes()[0],
            Note::UnsupportedBank {
                alg: AlgorithmId(0x12),
                size: 32
            }
        ),
        "{notes:?}"
    );
    assert!(
        r.notes().iter().any(|n| matches!(
            n,
            Note::MissingDigest {
                event: 2,
                pcr: 5,
                ..
            }
        )),
        "{notes:?}"
    );
    assert!(
        r.notes()
            .iter()
            .any(|n| matches!(n, Note::UndeclaredDigest { event: 3, .. })),
        "{notes:?}"
    );
    assert!(
        r.notes().iter().any(|n| matches!(
            n,
            Note::PcrOutOfRange {
                event: 4,
                pcr: 99,
                ..
            }
        )),
        "{notes:?}"
    );
}

#[test]
fn find_value_locates_prefixes() {
    let raw = agile_log(
        &[(0x0b, 32)],
        &[
            (4, 0x8000_0007, vec![(0x0b, sha256(b"a"))], b"a".to_vec()),
            (4, 0x8000_0007, vec![(0x0b, sha256(b"b"))], b"b".to_vec()),
        ],
    );
    let r = replay(&EventLog::parse(&raw).unwrap());
    let first = r.steps(Algorithm::Sha256, 4)[0].value;
    assert_eq!(
        r.find_value(Algorithm::Sha256, 4, &first),
        Some(ValueMatch::AfterEvent { event: 1, step: 0 })
    );
    assert_eq!(
        r.find_value(Algorithm::Sha256, 4, &Algorithm::Sha256.zero()),
        Some(ValueMatch::Initial)
    );
    assert_eq!(
        r.find_value(Algorithm::Sha256, 4, &Algorithm::Sha256.digest(b"?")),
        None
    );
}
