//! One module per trust path; each owns its subcommand group's flags and output formatting.

use std::process::ExitCode;

use clap::Subcommand;

/// The subcommand groups, grouped by trust path.
#[derive(Debug, Subcommand)]
pub enum PathCommand {}

/// Runs a trust-path subcommand.
pub fn run(cmd: PathCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
