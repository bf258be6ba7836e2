//! `yardstick pcr compare`: which PCRs two sources agree on, and the events that explain each difference.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::compare::{
    CompareReport, NamedSource, PcrSource, compare_selected, compare_text,
};

use super::eventlog::read_input;
use crate::ui::{self, print_notes, quiet_broken_pipe};

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
    /// Only compare these PCRs (comma-separated, ranges allowed: 0-7,9 as the summary prints them)
    #[arg(long, value_name = "PCRS", value_delimiter = ',')]
    pub pcr: Vec<yardstick_tpm::PcrSpan>,
    /// Most differing-event runs shown per PCR
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_hunks: usize,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    let (na, nb) = (
        NamedSource {
            path: &args.a,
            source: &a,
        },
        NamedSource {
            path: &args.b,
            source: &b,
        },
    );
    let cmp = compare_selected(
        na,
        nb,
        &args.bank,
        &yardstick_tpm::PcrSpan::flatten(&args.pcr),
    )?;
    let printed = if args.json {
        ui::print_json(&CompareReport::new(na, nb, &cmp))
    } else {
        ui::print_text(&compare_text(na, nb, &cmp, args.max_hunks))
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
    let src = PcrSource::from_vec(bytes).with_context(|| format!("{}", path.display()))?;
    if let Some(l) = src.log_source() {
        print_notes(path, l.summary().notes());
    }
    Ok(src)
}
