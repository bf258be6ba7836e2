//! `yardstick pcr`: PCR prediction for a UKI, and comparison of PCR lists / event logs.

use std::process::ExitCode;

use super::{pcr_compare, pcr_predict};

/// Subcommands of `yardstick pcr`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Predict the PCRs a UKI booted by OVMF produces
    Predict(Box<pcr_predict::Args>),
    /// Compare two PCR lists or event logs and explain the differences
    Compare(pcr_compare::Args),
}

/// Runs a `yardstick pcr` subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Predict(a) => pcr_predict::run(*a),
        Command::Compare(a) => pcr_compare::run(a),
    }
}
