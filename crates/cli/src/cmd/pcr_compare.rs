//! `yardstick pcr compare`: which PCRs two sources agree on, and the events that explain each difference.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::compare::{Comparison, Explanation, PcrComparison, PcrSource, Side, compare};
use yardstick_tpm::eventlog::EventLog;

use super::eventlog::{event_json, print_notes, quiet_broken_pipe, read_input};
use crate::ui;

/// Flags.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
A and B are each a PCR list or a binary event log, told apart by content:
  - tpm2_pcrread output (tpm2-tools 3, 4 or 5; several banks), or the `pcrs:` part of tpm2_eventlog output;
  - JSON {\"<bank>\": {\"<pcr>\": \"<hex>\"}} (pcr predict, eventlog replay; pcr11_phases is ignored), \
    {\"<bank>\": [\"<hex>\", ...]} or [\"<hex>\", ...];
  - a TCG event log (binary_bios_measurements), which is replayed.

Prints, per bank, which PCRs agree and which differ (what `grep -F -x -f A B` on two tpm2_pcrread outputs \
told), then for each difference the events that explain it: with logs on both sides, the first differing, \
extra or missing events; with a log and a list, where the list's value occurs in the log's history (a quote \
taken before the last events) or that it is the replay without the log's StartupLocality event. Only PCRs both \
sides have are compared; the others are listed as not compared.

Exit status: 0 all compared PCRs agree, 1 some differ, 2 error (including no PCR in common).

Examples:
  yardstick pcr compare expected.json <(tpm2_pcrread)
  yardstick pcr compare golden.log /sys/kernel/security/tpm0/binary_bios_measurements
  yardstick pcr compare boot.log pcrread.txt --bank sha256 --pcr 0,4,7,9
  yardstick pcr compare a.log b.log --json")]
pub struct Args {
    /// First PCR list or event log
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// Second PCR list or event log
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Only compare these banks (comma-separated)
    #[arg(long, value_name = "BANKS", value_delimiter = ',')]
    pub bank: Vec<Algorithm>,
    /// Only compare these PCRs (comma-separated)
    #[arg(long, value_name = "PCRS", value_delimiter = ',')]
    pub pcr: Vec<u32>,
    /// Most differing-event runs shown per PCR
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_hunks: usize,
}

/// Most events printed per side of one run.
const MAX_EVENTS_PER_SIDE: usize = 8;

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    let mut cmp = compare(&a, &b);
    cmp.pcrs.retain(|p| {
        (args.bank.is_empty() || args.bank.contains(&p.alg))
            && (args.pcr.is_empty() || args.pcr.contains(&p.pcr))
    });
    if !cmp.pcrs.iter().any(PcrComparison::compared) {
        anyhow::bail!(
            "{} and {}: no PCR in common to compare (A has {}; B has {})",
            args.a.display(),
            args.b.display(),
            inventory(a.pcrs()),
            inventory(b.pcrs())
        );
    }
    let printed = if args.json {
        ui::print_json(&to_json(&args, &a, &b, &cmp))
    } else {
        let text = to_text(&args, &a, &b, &cmp);
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(anyhow::Error::from)
    };
    quiet_broken_pipe(printed)?;
    Ok(if cmp.all_agree() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn load(path: &Path) -> anyhow::Result<PcrSource> {
    let bytes = read_input(path)?;
    let src = PcrSource::from_bytes(&bytes).with_context(|| format!("{}", path.display()))?;
    if let Some((_, r)) = src.log() {
        print_notes(path, r.notes());
    }
    Ok(src)
}

fn inventory(p: &yardstick_tpm::PcrBanks) -> String {
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
fn ranges(v: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if j > i + 1 {
            format!("{}-{}", v[i], v[j])
        } else if j == i + 1 {
            format!("{},{}", v[i], v[j])
        } else {
            v[i].to_string()
        });
        i = j + 1;
    }
    out.join(",")
}

fn describe_source(path: &Path, s: &PcrSource) -> String {
    match s.log() {
        Some((log, r)) => {
            let mut t = format!(
                "{} (event log, {}, {} events",
                path.display(),
                log.format(),
                log.events().len()
            );
            if let Some(l) = r.startup_locality() {
                let _ = write!(t, ", StartupLocality {l}");
            }
            t.push(')');
            t
        }
        None => format!("{} (PCR list)", path.display()),
    }
}

fn side_log<'a>(side: Side, a: &'a PcrSource, b: &'a PcrSource) -> Option<&'a EventLog> {
    match side {
        Side::A => a.log().map(|(l, _)| l),
        Side::B => b.log().map(|(l, _)| l),
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
            for h in hunks.iter().take(max_hunks) {
                let la = side_log(Side::A, a, b);
                let lb = side_log(Side::B, a, b);
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
                for k in 0..pairs {
                    let _ = writeln!(s, "      A {}", event_line(la, h.a_events[k], alg));
                    let _ = writeln!(s, "      B {}", event_line(lb, h.b_events[k], alg));
                }
                push_events(
                    &mut s,
                    "A",
                    la,
                    h.a_events.get(pairs..).unwrap_or_default(),
                    alg,
                );
                push_events(
                    &mut s,
                    "B",
                    lb,
                    h.b_events.get(pairs..).unwrap_or_default(),
                    alg,
                );
            }
            if hunks.len() > max_hunks {
                let _ = writeln!(
                    s,
                    "    … {} more run(s) of differing events (--max-hunks)",
                    hunks.len() - max_hunks
                );
            }
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

fn to_text(args: &Args, a: &PcrSource, b: &PcrSource, cmp: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "A: {}", describe_source(&args.a, a));
    let _ = writeln!(s, "B: {}", describe_source(&args.b, b));
    let algs: Vec<Algorithm> = {
        let mut v: Vec<Algorithm> = cmp.pcrs.iter().map(|p| p.alg).collect();
        v.dedup();
        v
    };
    for alg in &algs {
        let of = |f: &dyn Fn(&PcrComparison) -> bool| -> Vec<u32> {
            cmp.pcrs
                .iter()
                .filter(|p| p.alg == *alg && f(p))
                .map(|p| p.pcr)
                .collect()
        };
        let agree = of(&|p| p.agrees());
        let differ = of(&|p| p.compared() && !p.agrees());
        let only_a = of(&|p| p.a.is_some() && p.b.is_none());
        let only_b = of(&|p| p.a.is_none() && p.b.is_some());
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

    // One block per PCR and explanation: the same events usually explain a PCR in every bank.
    let diffs: Vec<&PcrComparison> = {
        let mut v: Vec<&PcrComparison> = cmp.differing().collect();
        v.sort_by_key(|p| (p.pcr, p.alg));
        v
    };
    let mut i = 0;
    while i < diffs.len() {
        let first = diffs[i];
        let mut j = i + 1;
        while j < diffs.len()
            && diffs[j].pcr == first.pcr
            && diffs[j].explanation == first.explanation
        {
            j += 1;
        }
        let group = &diffs[i..j];
        let banks: Vec<String> = group.iter().map(|p| p.alg.to_string()).collect();
        let _ = writeln!(s, "\nPCR {} differs ({}):", first.pcr, banks.join(", "));
        for p in group {
            let hex = |d: &Option<yardstick_common::hash::Digest>| {
                d.map(|d| d.to_hex()).unwrap_or_default()
            };
            let _ = writeln!(s, "  {:<7} A {}", p.alg.name(), hex(&p.a));
            let _ = writeln!(s, "  {:<7} B {}", "", hex(&p.b));
        }
        if let Some(e) = &first.explanation {
            s.push_str(&explanation_text(
                e,
                first.pcr,
                first.alg,
                a,
                b,
                args.max_hunks,
            ));
        }
        i = j;
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

fn or_none(v: &[u32]) -> String {
    if v.is_empty() { "-".into() } else { ranges(v) }
}

fn events_json(log: Option<&EventLog>, events: &[usize], alg: Algorithm) -> serde_json::Value {
    events
        .iter()
        .map(|n| match log.and_then(|l| l.events().get(*n)) {
            Some(e) => event_json(e, Some(alg)),
            None => serde_json::json!({ "number": n }),
        })
        .collect::<Vec<_>>()
        .into()
}

fn explanation_json(
    e: &Explanation,
    alg: Algorithm,
    a: &PcrSource,
    b: &PcrSource,
) -> serde_json::Value {
    let la = side_log(Side::A, a, b);
    let lb = side_log(Side::B, a, b);
    let mut v = serde_json::to_value(e).unwrap_or(serde_json::Value::Null);
    // Expand event numbers into the events themselves.
    match e {
        Explanation::EventDiff { hunks } => {
            v["hunks"] = hunks
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "a_position": h.a_position,
                        "b_position": h.b_position,
                        "a_events": events_json(la, &h.a_events, alg),
                        "b_events": events_json(lb, &h.b_events, alg),
                    })
                })
                .collect::<Vec<_>>()
                .into();
        }
        Explanation::ListIsLogPrefix {
            log, later_events, ..
        } => {
            v["later_events"] = events_json(side_log(*log, a, b), later_events, alg);
        }
        Explanation::Unexplained { log, events } => {
            v["events"] = events_json(side_log(*log, a, b), events, alg);
        }
        Explanation::NoActionExtended {
            log,
            no_action_events,
        } => {
            v["no_action_events"] = events_json(side_log(*log, a, b), no_action_events, alg);
        }
        _ => {}
    }
    v
}

fn to_json(args: &Args, a: &PcrSource, b: &PcrSource, cmp: &Comparison) -> serde_json::Value {
    let source = |path: &Path, s: &PcrSource| {
        serde_json::json!({
            "path": path.display().to_string(),
            "kind": if s.log().is_some() { "event-log" } else { "pcr-list" },
            "startup_locality": s.log().and_then(|(_, r)| r.startup_locality()),
        })
    };
    let mut banks = serde_json::Map::new();
    let mut algs: Vec<Algorithm> = cmp.pcrs.iter().map(|p| p.alg).collect();
    algs.dedup();
    for alg in algs {
        let of = |f: &dyn Fn(&PcrComparison) -> bool| -> Vec<u32> {
            cmp.pcrs
                .iter()
                .filter(|p| p.alg == alg && f(p))
                .map(|p| p.pcr)
                .collect()
        };
        banks.insert(
            alg.name().into(),
            serde_json::json!({
                "agree": of(&|p| p.agrees()),
                "differ": of(&|p| p.compared() && !p.agrees()),
                "only_in_a": of(&|p| p.a.is_some() && p.b.is_none()),
                "only_in_b": of(&|p| p.a.is_none() && p.b.is_some()),
            }),
        );
    }
    let differences: Vec<serde_json::Value> = cmp
        .differing()
        .map(|p| {
            serde_json::json!({
                "bank": p.alg.name(),
                "pcr": p.pcr,
                "a": p.a.map(|d| d.to_hex()),
                "b": p.b.map(|d| d.to_hex()),
                "explanation": p.explanation.as_ref().map(|e| explanation_json(e, p.alg, a, b)),
            })
        })
        .collect();
    serde_json::json!({
        "a": source(&args.a, a),
        "b": source(&args.b, b),
        "all_agree": cmp.all_agree(),
        "banks": banks,
        "differences": differences,
    })
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
