//! `yardstick eventlog`: show and replay TCG event logs (`/sys/kernel/security/tpm0/binary_bios_measurements`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::eventlog::{Event, EventLog, PartialLog};
use yardstick_tpm::replay::replay;

use crate::ui;

/// Largest input accepted: real logs are tens of KiB (a TDX CCEL area is at most a few MiB).
const MAX_INPUT: u64 = 256 << 20;

/// Subcommands of `yardstick eventlog`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print every event: number, PCR, type, digests and what its data says
    #[command(after_help = "\
Events are numbered from 0 in file order, the Spec ID header of a crypto-agile log being #0, as tpm2_eventlog \
numbers them. Digests of EV_NO_ACTION events (never extended) are not printed. A line starting with `!` marks \
an event whose digest should be the hash of its data (separators, EV_EFI_ACTION, Secure Boot variables) but is \
not: its description cannot be trusted.

A truncated or corrupt log prints the events before the damage, then one error line naming the event and byte \
offset where parsing stopped (exit status 2).

Examples:
  yardstick eventlog show /sys/kernel/security/tpm0/binary_bios_measurements
  yardstick eventlog show boot.log --pcr 4,7 --bank sha256
  yardstick eventlog show boot.log --json | jq '.events[] | select(.pcr == 9)'")]
    Show(ShowArgs),
    /// Replay the log: the final PCR values per bank
    #[command(after_help = "\
Extends every event except EV_NO_ACTION into its PCR, per bank, starting from zero; PCR 0 starts at the \
locality of a StartupLocality event if the log has one (TPM2_Startup from locality 3 on GCE). Banks the log \
declares but yardstick cannot hash (SM3, SHA-3), and PCRs whose events lack a digest of some bank, are left out \
with a note on stderr.

The text output has tpm2_pcrread's exact format, so `grep -F -x -f` against a tpm2_pcrread output works, and \
`yardstick pcr compare` reads it back. --json prints {\"<bank>\": {\"<pcr>\": \"<hex>\"}}.

Examples:
  yardstick eventlog replay /sys/kernel/security/tpm0/binary_bios_measurements
  yardstick eventlog replay boot.log --json
  yardstick eventlog replay boot.log > replayed.txt
  tpm2_pcrread | grep -F -x -f replayed.txt")]
    Replay(ReplayArgs),
}

/// Flags of `eventlog show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The binary event log
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Only events of these PCRs (comma-separated)
    #[arg(long, value_name = "PCRS", value_delimiter = ',')]
    pub pcr: Vec<u32>,
    /// Only print digests of this bank
    #[arg(long, value_name = "BANK")]
    pub bank: Option<Algorithm>,
}

/// Flags of `eventlog replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The binary event log
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Runs a `yardstick eventlog` subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Show(a) => show(a),
        Command::Replay(a) => replay_cmd(a),
    }
}

/// Reads an input file whole, refusing anything far larger than an event log or PCR list can be.
pub(crate) fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = f
        .metadata()
        .with_context(|| format!("{}: cannot stat", path.display()))?
        .len();
    if len > MAX_INPUT {
        anyhow::bail!(
            "{}: {} bytes is too large for an event log or PCR list (limit {} MiB)",
            path.display(),
            len,
            MAX_INPUT >> 20
        );
    }
    let mut buf = Vec::with_capacity(len as usize);
    use std::io::Read as _;
    f.take(MAX_INPUT + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(buf)
}

/// `yardstick eventlog show log | head` closes the pipe early: that is not an error worth a message.
pub(crate) fn quiet_broken_pipe(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind)
                .or_else(|| {
                    e.downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind)
                })
                == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Prints replay notes as warnings on stderr.
pub(crate) fn print_notes(path: &Path, notes: &[yardstick_tpm::replay::Note]) {
    let mut err = std::io::stderr().lock();
    for n in notes {
        let _ = writeln!(err, "yardstick: note: {}: {n}", path.display());
    }
}

fn show(a: ShowArgs) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&a.log)?;
    let PartialLog { log, error } = EventLog::parse_partial(&bytes);
    let selected: Vec<&Event> = log
        .events()
        .iter()
        .filter(|e| a.pcr.is_empty() || a.pcr.contains(&e.pcr()))
        .collect();
    let printed = if a.json {
        ui::print_json(&show_json(&a.log, &log, &selected, a.bank, error.as_ref()))
    } else if error.is_none() || !log.events().is_empty() {
        print_show_text(&a.log, &log, &selected, a.bank)
    } else {
        Ok(())
    };
    quiet_broken_pipe(printed)?;
    if let Some(e) = error {
        return Err(anyhow::Error::new(e).context(format!("{}", a.log.display())));
    }
    Ok(ExitCode::SUCCESS)
}

fn banks_text(log: &EventLog) -> String {
    log.banks()
        .iter()
        .map(|b| b.algorithm.name())
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_show_text(
    path: &Path,
    log: &EventLog,
    events: &[&Event],
    bank: Option<Algorithm>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} log, banks {}, {} events",
        path.display(),
        log.format(),
        banks_text(log),
        log.events().len()
    )?;
    for e in events {
        writeln!(
            out,
            "#{:<4} PCR{:<3} {:<32} {}",
            e.number(),
            e.pcr(),
            e.event_type().to_string(),
            e.describe()
        )?;
        if !e.is_extended() {
            continue;
        }
        for d in e.digests() {
            if bank.is_some_and(|b| d.algorithm().algorithm() != Some(b)) {
                continue;
            }
            writeln!(
                out,
                "        {:<7} {}",
                d.algorithm().name(),
                yardstick_common::hex::encode(d.bytes())
            )?;
        }
        if e.data_digest_matches() == Some(false) {
            writeln!(out, "        ! digest is not the hash of the event data")?;
        }
    }
    if log.trailing_padding() > 0 {
        writeln!(
            out,
            "({} bytes of padding after the last event ignored)",
            log.trailing_padding()
        )?;
    }
    Ok(())
}

/// JSON for one event, shared with `pcr compare --json`.
pub(crate) fn event_json(e: &Event, bank: Option<Algorithm>) -> serde_json::Value {
    let digests: serde_json::Map<String, serde_json::Value> = e
        .digests()
        .iter()
        .filter(|d| bank.is_none_or(|b| d.algorithm().algorithm() == Some(b)))
        .map(|d| {
            (
                d.algorithm().name(),
                yardstick_common::hex::encode(d.bytes()).into(),
            )
        })
        .collect();
    serde_json::json!({
        "number": e.number(),
        "offset": e.offset(),
        "pcr": e.pcr(),
        "type": e.event_type().to_string(),
        "type_value": e.event_type().0,
        "extended": e.is_extended(),
        "digests": digests,
        "description": e.describe(),
        "decoded": e.decoded(),
        "data_digest_matches": e.data_digest_matches(),
        "data_size": e.data().len(),
        "data": yardstick_common::hex::encode(e.data()),
    })
}

fn show_json(
    path: &Path,
    log: &EventLog,
    events: &[&Event],
    bank: Option<Algorithm>,
    error: Option<&yardstick_tpm::eventlog::ParseError>,
) -> serde_json::Value {
    serde_json::json!({
        "file": path.display().to_string(),
        "format": log.format(),
        "banks": log.banks().iter().map(|b| b.algorithm.name()).collect::<Vec<_>>(),
        "spec_id": log.spec_id(),
        "event_count": log.events().len(),
        "events": events.iter().map(|e| event_json(e, bank)).collect::<Vec<_>>(),
        "trailing_padding": log.trailing_padding(),
        "error": error.map(|e| e.to_string()),
    })
}

/// tpm2_pcrread's text format (tpm2-tools 5: two-space bank lines, `%-2u: 0x<UPPER HEX>`), so that
/// line-based comparisons with its output work.
pub(crate) fn pcrread_text(pcrs: &yardstick_tpm::PcrBanks) -> String {
    let mut s = String::new();
    for alg in pcrs.algorithms() {
        s.push_str(&format!("  {}:\n", alg.name()));
        for (pcr, v) in pcrs.bank(alg) {
            s.push_str(&format!("    {pcr:<2}: 0x{}\n", v.to_hex().to_uppercase()));
        }
    }
    s
}

fn replay_cmd(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&a.log)?;
    let log = EventLog::parse(&bytes).with_context(|| format!("{}", a.log.display()))?;
    let r = replay(&log);
    print_notes(&a.log, r.notes());
    if r.pcrs().is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "yardstick: note: {}: the log extends no PCR",
            a.log.display()
        );
    }
    let printed = if a.json {
        ui::print_json(r.pcrs())
    } else {
        std::io::stdout()
            .lock()
            .write_all(pcrread_text(r.pcrs()).as_bytes())
            .map_err(anyhow::Error::from)
    };
    quiet_broken_pipe(printed)?;
    Ok(ExitCode::SUCCESS)
}
