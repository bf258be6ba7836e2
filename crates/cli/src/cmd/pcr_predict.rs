//! `yardstick pcr predict`: placeholder until it lands.

use std::process::ExitCode;

/// Flags.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  (not implemented yet)")]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
