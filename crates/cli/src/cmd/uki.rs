//! `yardstick uki`: placeholder until this group lands.

use std::process::ExitCode;

/// Subcommands of this group.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

/// Runs a subcommand of this group.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {}
}
