//! What `pcr compare` prints: per bank which PCRs agree, then each difference with the events that explain it,
//! as text or as JSON.
//!
//! The JSON objects' fields are declared in alphabetical order, the order the output has always had.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use yardstick_common::hash::{Algorithm, Digest};

use super::{Comparison, Explanation, PcrComparison, PcrSource, Side};
use crate::eventlog::{EventLog, EventView};
use crate::pcr::PcrBanks;

/// Most events printed per side of one run of differing events.
const MAX_EVENTS_PER_SIDE: usize = 8;

/// A source with the path it was read from.
#[derive(Debug, Clone, Copy)]
pub struct NamedSource<'a> {
    /// Where it was read from.
    pub path: &'a Path,
    /// The values (and log).
    pub source: &'a PcrSource,
}

/// The two sides have no (bank, PCR) in common (after the selection).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{a} and {b}: no PCR in common to compare (A has {a_has}; B has {b_has})")]
pub struct NothingToCompare {
    /// A's path.
    pub a: String,
    /// B's path.
    pub b: String,
    /// What A has ("sha256 0-7", or "no values").
    pub a_has: String,
    /// What B has.
    pub b_has: String,
}

/// Compares two sources like [`super::compare`], keeping only the given banks and PCRs (all when empty); fails
/// when nothing is left that both sides have.
pub fn compare_selected(
    a: NamedSource<'_>,
    b: NamedSource<'_>,
    banks: &[Algorithm],
    pcrs: &[u32],
) -> Result<Comparison, NothingToCompare> {
    let mut cmp = super::compare(a.source, b.source);
    cmp.pcrs.retain(|p| {
        (banks.is_empty() || banks.contains(&p.alg)) && (pcrs.is_empty() || pcrs.contains(&p.pcr))
    });
    if !cmp.pcrs.iter().any(PcrComparison::compared) {
        return Err(NothingToCompare {
            a: a.path.display().to_string(),
            b: b.path.display().to_string(),
            a_has: inventory(a.source.pcrs()),
            b_has: inventory(b.source.pcrs()),
        });
    }
    Ok(cmp)
}

fn inventory(p: &PcrBanks) -> String {
    let parts: Vec<String> = p
        .algorithms()
        .map(|alg| {
            let pcrs: Vec<u32> = p.bank(alg).map(|(n, _)| n).collect();
            format!("{alg} {}", ranges(&pcrs))
        })
        .collect();
    if parts.is_empty() {
        "no values".into()
    } else {
        parts.join(", ")
    }
}

/// "0-3,5,7-9".
pub fn ranges(v: &[u32]) -> String {
    // Runs of consecutive values, as (first, last).
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &x in v {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(x) => *last = x,
            _ => runs.push((x, x)),
        }
    }
    let out: Vec<String> = runs
        .into_iter()
        .map(|(first, last)| {
            if last > first + 1 {
                format!("{first}-{last}")
            } else if last == first + 1 {
                format!("{first},{last}")
            } else {
                first.to_string()
            }
        })
        .collect();
    out.join(",")
}

fn or_none(v: &[u32]) -> String {
    if v.is_empty() { "-".into() } else { ranges(v) }
}

fn side_log<'a>(side: Side, a: &'a PcrSource, b: &'a PcrSource) -> Option<&'a EventLog> {
    match side {
        Side::A => a.log().map(|(l, _)| l),
        Side::B => b.log().map(|(l, _)| l),
    }
}

/// The PCRs of one bank that satisfy `f`.
fn pcrs_where(cmp: &Comparison, alg: Algorithm, f: impl Fn(&PcrComparison) -> bool) -> Vec<u32> {
    cmp.pcrs
        .iter()
        .filter(|p| p.alg == alg && f(p))
        .map(|p| p.pcr)
        .collect()
}

fn banks_of(cmp: &Comparison) -> Vec<Algorithm> {
    let mut v: Vec<Algorithm> = cmp.pcrs.iter().map(|p| p.alg).collect();
    v.dedup();
    v
}

/// One side in the JSON report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceView {
    /// "event-log" or "pcr-list".
    pub kind: &'static str,
    /// Where it was read from.
    pub path: String,
    /// The log's StartupLocality, if it has one.
    pub startup_locality: Option<u8>,
}

impl SourceView {
    fn new(s: NamedSource<'_>) -> SourceView {
        SourceView {
            kind: if s.source.log_source().is_some() {
                "event-log"
            } else {
                "pcr-list"
            },
            path: s.path.display().to_string(),
            startup_locality: s
                .source
                .log_source()
                .and_then(|l| l.summary().startup_locality()),
        }
    }
}

/// One bank in the JSON report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BankView {
    /// PCRs with equal values.
    pub agree: Vec<u32>,
    /// PCRs with different values.
    pub differ: Vec<u32>,
    /// PCRs only A has.
    pub only_in_a: Vec<u32>,
    /// PCRs only B has.
    pub only_in_b: Vec<u32>,
}

/// One differing (bank, PCR) in the JSON report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DifferenceView {
    /// A's value, hex.
    pub a: Option<String>,
    /// B's value, hex.
    pub b: Option<String>,
    /// The bank.
    pub bank: String,
    /// Why it differs, with the events themselves in place of event numbers.
    pub explanation: Option<serde_json::Value>,
    /// The PCR.
    pub pcr: u32,
}

/// `pcr compare --json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CompareReport {
    /// The first source.
    pub a: SourceView,
    /// At least one PCR compared and all compared agree.
    pub all_agree: bool,
    /// The second source.
    pub b: SourceView,
    /// Per bank name.
    pub banks: BTreeMap<String, BankView>,
    /// Every differing (bank, PCR).
    pub differences: Vec<DifferenceView>,
}

/// An event (or its bare number, when its log is not at hand) as JSON.
fn events_json(log: Option<&EventLog>, events: &[usize], alg: Algorithm) -> serde_json::Value {
    #[derive(serde::Serialize)]
    struct Number {
        number: usize,
    }
    let one = |n: &usize| match log.and_then(|l| l.events().get(*n)) {
        Some(e) => serde_json::to_value(EventView::new(e, Some(alg))),
        None => serde_json::to_value(Number { number: *n }),
    };
    events
        .iter()
        .map(|n| one(n).unwrap_or(serde_json::Value::Null))
        .collect::<Vec<_>>()
        .into()
}

fn explanation_json(
    e: &Explanation,
    alg: Algorithm,
    a: &PcrSource,
    b: &PcrSource,
) -> serde_json::Value {
    #[derive(serde::Serialize)]
    struct HunkView {
        a_events: serde_json::Value,
        a_position: usize,
        b_events: serde_json::Value,
        b_position: usize,
    }
    /// `v[key] = value` without the index operator (which panics on a non-object): a null becomes an object.
    fn set(v: &mut serde_json::Value, key: &str, value: serde_json::Value) {
        if v.is_null() {
            *v = serde_json::Value::Object(serde_json::Map::new());
        }
        if let Some(o) = v.as_object_mut() {
            o.insert(key.to_string(), value);
        }
    }
    let mut v = serde_json::to_value(e).unwrap_or(serde_json::Value::Null);
    // Expand event numbers into the events themselves.
    match e {
        Explanation::EventDiff { hunks } => {
            let (la, lb) = (side_log(Side::A, a, b), side_log(Side::B, a, b));
            let views: Vec<HunkView> = hunks
                .iter()
                .map(|h| HunkView {
                    a_events: events_json(la, &h.a_events, alg),
                    a_position: h.a_position,
                    b_events: events_json(lb, &h.b_events, alg),
                    b_position: h.b_position,
                })
                .collect();
            set(
                &mut v,
                "hunks",
                serde_json::to_value(views).unwrap_or(serde_json::Value::Null),
            );
        }
        Explanation::ListIsLogPrefix {
            log, later_events, ..
        } => {
            set(
                &mut v,
                "later_events",
                events_json(side_log(*log, a, b), later_events, alg),
            );
        }
        Explanation::Unexplained { log, events } => {
            set(
                &mut v,
                "events",
                events_json(side_log(*log, a, b), events, alg),
            );
        }
        Explanation::NoActionExtended {
            log,
            no_action_events,
        } => {
            set(
                &mut v,
                "no_action_events",
                events_json(side_log(*log, a, b), no_action_events, alg),
            );
        }
        _ => {}
    }
    v
}

impl CompareReport {
    /// The report of a comparison of `a` and `b`.
    pub fn new(a: NamedSource<'_>, b: NamedSource<'_>, cmp: &Comparison) -> CompareReport {
        let banks = banks_of(cmp)
            .into_iter()
            .map(|alg| {
                (
                    alg.name().to_string(),
                    BankView {
                        agree: pcrs_where(cmp, alg, |p| p.agrees()),
                        differ: pcrs_where(cmp, alg, |p| p.compared() && !p.agrees()),
                        only_in_a: pcrs_where(cmp, alg, |p| p.a.is_some() && p.b.is_none()),
                        only_in_b: pcrs_where(cmp, alg, |p| p.a.is_none() && p.b.is_some()),
                    },
                )
            })
            .collect();
        let differences = cmp
            .differing()
            .map(|p| DifferenceView {
                a: p.a.map(|d| d.to_hex()),
                b: p.b.map(|d| d.to_hex()),
                bank: p.alg.name().to_string(),
                explanation: p
                    .explanation
                    .as_ref()
                    .map(|e| explanation_json(e, p.alg, a.source, b.source)),
                pcr: p.pcr,
            })
            .collect();
        CompareReport {
            a: SourceView::new(a),
            all_agree: cmp.all_agree(),
            b: SourceView::new(b),
            banks,
            differences,
        }
    }
}

fn describe_source(s: NamedSource<'_>) -> String {
    match s.source.log_source() {
        Some(log) => {
            let mut t = format!(
                "{} (event log, {}, {} events",
                s.path.display(),
                log.format(),
                log.event_count()
            );
            if let Some(l) = log.summary().startup_locality() {
                let _ = write!(t, ", StartupLocality {l}");
            }
            t.push(')');
            t
        }
        None => format!("{} (PCR list)", s.path.display()),
    }
}

fn event_line(log: Option<&EventLog>, n: usize, alg: Algorithm) -> String {
    let Some(e) = log.and_then(|l| l.events().get(n)) else {
        return format!("#{n}");
    };
    let digest = e
        .digest(alg)
        .map(|d| {
            let h = d.to_hex();
            h.get(..16).unwrap_or(&h).to_string()
        })
        .unwrap_or_default();
    format!(
        "#{} {} {digest}… {}",
        e.number(),
        e.event_type(),
        e.describe()
    )
}

fn push_events(
    out: &mut String,
    label: &str,
    log: Option<&EventLog>,
    events: &[usize],
    alg: Algorithm,
) {
    for n in events.iter().take(MAX_EVENTS_PER_SIDE) {
        let _ = writeln!(out, "      {label} {}", event_line(log, *n, alg));
    }
    if events.len() > MAX_EVENTS_PER_SIDE {
        let _ = writeln!(
            out,
            "      {label} … and {} more",
            events.len() - MAX_EVENTS_PER_SIDE
        );
    }
}

/// The runs of differing events of two logs, for one PCR.
fn hunks_text(
    s: &mut String,
    hunks: &[super::Hunk],
    pcr: u32,
    alg: Algorithm,
    (la, lb): (Option<&EventLog>, Option<&EventLog>),
    max_hunks: usize,
) {
    for h in hunks.iter().take(max_hunks) {
        let at = format!("PCR {pcr} event {}", h.a_position + 1);
        match (h.a_events.is_empty(), h.b_events.is_empty()) {
            (false, false) => {
                let _ = writeln!(s, "    from {at} the events differ:");
            }
            (false, true) => {
                let _ = writeln!(
                    s,
                    "    at {at}, A has {} event(s) B does not:",
                    h.a_events.len()
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "    at PCR {pcr} event {}, B has {} event(s) A does not:",
                    h.b_position + 1,
                    h.b_events.len()
                );
            }
        }
        // Changed events pair up A/B line by line; extra ones follow.
        let pairs = h
            .a_events
            .len()
            .min(h.b_events.len())
            .min(MAX_EVENTS_PER_SIDE);
        for (&ea, &eb) in h.a_events.iter().zip(&h.b_events).take(pairs) {
            let _ = writeln!(s, "      A {}", event_line(la, ea, alg));
            let _ = writeln!(s, "      B {}", event_line(lb, eb, alg));
        }
        push_events(s, "A", la, h.a_events.get(pairs..).unwrap_or_default(), alg);
        push_events(s, "B", lb, h.b_events.get(pairs..).unwrap_or_default(), alg);
    }
    if hunks.len() > max_hunks {
        let _ = writeln!(
            s,
            "    … {} more run(s) of differing events (--max-hunks)",
            hunks.len() - max_hunks
        );
    }
}

fn explanation_text(
    e: &Explanation,
    pcr: u32,
    alg: Algorithm,
    a: &PcrSource,
    b: &PcrSource,
    max_hunks: usize,
) -> String {
    let mut s = String::new();
    let other = |side: Side| if side == Side::A { "B" } else { "A" };
    let name = |side: Side| if side == Side::A { "A" } else { "B" };
    match e {
        Explanation::EventDiff { hunks } => {
            let logs = (side_log(Side::A, a, b), side_log(Side::B, a, b));
            hunks_text(&mut s, hunks, pcr, alg, logs, max_hunks);
        }
        Explanation::StartupLocalityDiffers { a: la, b: lb } => {
            let f = |l: &Option<u8>| l.map_or("none".to_string(), |v| v.to_string());
            let _ = writeln!(
                s,
                "    same events, different StartupLocality (A {}, B {}): PCR 0 starts from a different value",
                f(la),
                f(lb)
            );
        }
        Explanation::ListIsLogPrefix {
            log,
            after_event,
            later_events,
        } => {
            let l = side_log(*log, a, b);
            match after_event {
                Some(ev) => {
                    let _ = writeln!(
                        s,
                        "    {}'s value is {}'s PCR {pcr} right after event #{ev}; {} has {} later event(s):",
                        other(*log),
                        name(*log),
                        name(*log),
                        later_events.len()
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "    {}'s value is {}'s PCR {pcr} before any event; {} extends it with:",
                        other(*log),
                        name(*log),
                        name(*log)
                    );
                }
            }
            push_events(&mut s, name(*log), l, later_events, alg);
        }
        Explanation::Pcr11Phase { prediction, phase } => {
            let _ = writeln!(
                s,
                "    {}'s PCR 11 is {}'s predicted value after the boot phases {phase}: {} was read in that phase, \
                 before the last one",
                other(*prediction),
                name(*prediction),
                other(*prediction)
            );
        }
        Explanation::StartupLocalityIgnored { log, locality } => {
            let _ = writeln!(
                s,
                "    {}'s value is {}'s replay started from zero: it ignores {}'s StartupLocality {locality} event \
                 (TPM2_Startup from locality {locality} sets PCR 0 to {locality} before the first extend)",
                other(*log),
                name(*log),
                name(*log)
            );
        }
        Explanation::NoActionExtended {
            log,
            no_action_events,
        } => {
            let _ = writeln!(
                s,
                "    {}'s value is {}'s replay with its EV_NO_ACTION events extended and no StartupLocality, \
                 as tpm2_eventlog before 5.6 computes it; EV_NO_ACTION events are never extended (PFP §10.4.5):",
                other(*log),
                name(*log)
            );
            push_events(
                &mut s,
                name(*log),
                side_log(*log, a, b),
                no_action_events,
                alg,
            );
        }
        Explanation::Unexplained { log, events } => {
            if events.is_empty() {
                let _ = writeln!(s, "    (no event log on either side to explain it)");
            } else {
                let _ = writeln!(
                    s,
                    "    {}'s value does not occur in {}'s history; {}'s events for PCR {pcr}:",
                    other(*log),
                    name(*log),
                    name(*log)
                );
                push_events(&mut s, name(*log), side_log(*log, a, b), events, alg);
            }
        }
    }
    s
}

/// The per-bank summary lines.
fn summary_text(s: &mut String, cmp: &Comparison) {
    for alg in banks_of(cmp) {
        let agree = pcrs_where(cmp, alg, |p| p.agrees());
        let differ = pcrs_where(cmp, alg, |p| p.compared() && !p.agrees());
        let only_a = pcrs_where(cmp, alg, |p| p.a.is_some() && p.b.is_none());
        let only_b = pcrs_where(cmp, alg, |p| p.a.is_none() && p.b.is_some());
        let mut line = format!("{:<7} agree: {:<24}", format!("{alg}:"), or_none(&agree));
        let _ = write!(line, " differ: {}", or_none(&differ));
        if !only_a.is_empty() {
            let _ = write!(line, "  only in A: {}", ranges(&only_a));
        }
        if !only_b.is_empty() {
            let _ = write!(line, "  only in B: {}", ranges(&only_b));
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
}

/// `pcr compare`'s text: the sources, per bank which PCRs agree, each difference with the events that explain
/// it (at most `max_hunks` runs of differing events per PCR), and the count.
pub fn compare_text(
    a: NamedSource<'_>,
    b: NamedSource<'_>,
    cmp: &Comparison,
    max_hunks: usize,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "A: {}", describe_source(a));
    let _ = writeln!(s, "B: {}", describe_source(b));
    summary_text(&mut s, cmp);

    // One block per PCR and explanation: the same events usually explain a PCR in every bank.
    let diffs: Vec<&PcrComparison> = {
        let mut v: Vec<&PcrComparison> = cmp.differing().collect();
        v.sort_by_key(|p| (p.pcr, p.alg));
        v
    };
    for group in diffs.chunk_by(|x, y| x.pcr == y.pcr && x.explanation == y.explanation) {
        let Some(&first) = group.first() else {
            continue; // chunk_by never yields an empty group
        };
        let banks: Vec<String> = group.iter().map(|p| p.alg.to_string()).collect();
        let _ = writeln!(s, "\nPCR {} differs ({}):", first.pcr, banks.join(", "));
        for p in group {
            let hex = |d: &Option<Digest>| d.map(|d| d.to_hex()).unwrap_or_default();
            let _ = writeln!(s, "  {:<7} A {}", p.alg.name(), hex(&p.a));
            let _ = writeln!(s, "  {:<7} B {}", "", hex(&p.b));
        }
        if let Some(e) = &first.explanation {
            s.push_str(&explanation_text(
                e, first.pcr, first.alg, a.source, b.source, max_hunks,
            ));
        }
    }
    let compared = cmp.pcrs.iter().filter(|p| p.compared()).count();
    let agreeing = cmp.agreeing().count();
    let _ = writeln!(
        s,
        "\n{agreeing} of {compared} compared PCR values agree{}",
        if agreeing == compared {
            String::new()
        } else {
            format!(", {} differ", compared - agreeing)
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_text() {
        assert_eq!(
            ranges(&[0, 1, 2, 3, 5, 7, 8, 10, 11, 12]),
            "0-3,5,7,8,10-12"
        );
        assert_eq!(ranges(&[]), "");
    }
}
