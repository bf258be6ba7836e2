//! `yardstick eventlog`: show and replay TCG event logs (`/sys/kernel/security/tpm0/binary_bios_measurements`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::fs::InputKind;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::eventlog::cel::CelLog;
use yardstick_tpm::eventlog::{EventLog, LogView, PartialLog, ShowFilter};
use yardstick_tpm::replay::replay_stream;

use crate::ui::{self, print_notes, quiet_broken_pipe};

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

systemd's userspace measurement log (/run/log/systemd/tpm2-measure.log, CEL-JSON records, systemd 255 and \
later) is recognised by its first byte and shown record by record (number, PCR, who measured, what); a bad \
record is one error line naming it (exit status 2).

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

systemd's userspace measurement log (CEL-JSON, /run/log/systemd/tpm2-measure.log) replays the same way: the \
values its records alone extend from zero (PCR 15: the machine ID and file systems; PCR 11 also holds \
systemd-stub's measurements, which are in the firmware's log).

Examples:
  yardstick eventlog replay /sys/kernel/security/tpm0/binary_bios_measurements
  yardstick eventlog replay boot.log --json
  yardstick eventlog replay boot.log > replayed.txt
  yardstick eventlog replay /run/log/systemd/tpm2-measure.log
  tpm2_pcrread | grep -F -x -f replayed.txt")]
    Replay(ReplayArgs),
}

/// Flags of `eventlog show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The event log: binary (TCG), or systemd's CEL-JSON userspace log
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Only events of these PCRs (comma-separated, ranges allowed: 0-7,9)
    #[arg(long, value_name = "PCRS", value_delimiter = ',')]
    pub pcr: Vec<yardstick_tpm::PcrSpan>,
    /// Only print digests of this bank
    #[arg(long, value_name = "BANK")]
    pub bank: Option<Algorithm>,
}

/// Flags of `eventlog replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The event log: binary (TCG), or systemd's CEL-JSON userspace log
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
    Ok(yardstick_common::fs::read_input(
        path,
        InputKind::EVENT_LOG_OR_PCRS,
    )?)
}

fn show(a: ShowArgs) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&a.log)?;
    if CelLog::looks_like(&bytes) {
        return show_cel(&a, &bytes);
    }
    let PartialLog { log, error } = EventLog::parse_partial(&bytes);
    let pcrs = yardstick_tpm::PcrSpan::flatten(&a.pcr);
    let filter = ShowFilter {
        pcrs: &pcrs,
        bank: a.bank,
    };
    let printed = if a.json {
        ui::print_json(&LogView::new(&a.log, &log, filter, error.as_ref()))
    } else if error.is_none() || !log.events().is_empty() {
        ui::print_text(&yardstick_tpm::eventlog::show_text(&a.log, &log, filter))
    } else {
        Ok(())
    };
    quiet_broken_pipe(printed)?;
    if let Some(e) = error {
        return Err(anyhow::Error::new(e).context(format!("{}", a.log.display())));
    }
    Ok(ExitCode::SUCCESS)
}

/// `eventlog show` of systemd's userspace measurement log (CEL-JSON).
fn show_cel(a: &ShowArgs, bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let log = CelLog::parse(bytes).with_context(|| format!("{}", a.log.display()))?;
    let pcrs = yardstick_tpm::PcrSpan::flatten(&a.pcr);
    let filter = ShowFilter {
        pcrs: &pcrs,
        bank: a.bank,
    };
    quiet_broken_pipe(if a.json {
        ui::print_json(&log.view(&a.log, filter))
    } else {
        ui::print_text(&log.show_text(&a.log, filter))
    })?;
    Ok(ExitCode::SUCCESS)
}

fn replay_cmd(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&a.log)?;
    if CelLog::looks_like(&bytes) {
        let log = CelLog::parse(&bytes).with_context(|| format!("{}", a.log.display()))?;
        let pcrs = log.replay();
        if pcrs.is_empty() {
            let _ = writeln!(
                std::io::stderr(),
                "yardstick: note: {}: the log extends no PCR",
                a.log.display()
            );
        }
        quiet_broken_pipe(if a.json {
            ui::print_json(&pcrs)
        } else {
            ui::print_text(&pcrs.to_pcrread_text())
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    // Streamed: memory does not grow with the number of events (only the final values are printed).
    let r = replay_stream(&bytes).with_context(|| format!("{}", a.log.display()))?;
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
        ui::print_text(&r.pcrs().to_pcrread_text())
    };
    quiet_broken_pipe(printed)?;
    Ok(ExitCode::SUCCESS)
}
