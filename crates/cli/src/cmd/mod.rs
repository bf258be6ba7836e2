//! One module per subcommand group; each owns its flags and output formatting and calls into the library crates.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use yardstick_common::fs::{InputError, InputKind};

pub mod eventlog;
pub mod image;
pub mod pcr;
pub mod pcr_compare;
pub mod pcr_predict;
pub mod refvals;
pub mod snp;
pub mod tdx;
pub mod uki;
pub mod verify;
pub mod verity;

/// The subcommand groups, by trust path.
#[derive(Debug, Subcommand)]
pub enum PathCommand {
    /// dm-verity: hash trees, verification, root-hash signatures, kernel parameters
    #[command(subcommand)]
    Verity(verity::Command),
    /// SEV / SEV-ES / SEV-SNP launch measurement of OVMF + kernel + initrd + cmdline
    #[command(subcommand)]
    Snp(snp::Command),
    /// Intel TDX launch measurement: MRTD and RTMRs of TDVF + kernel + initrd + cmdline
    #[command(subcommand)]
    Tdx(tdx::Command),
    /// Build and inspect Unified Kernel Images
    #[command(subcommand)]
    Uki(uki::Command),
    /// Predict PCRs for a UKI; compare PCR lists and event logs
    #[command(subcommand)]
    Pcr(pcr::Command),
    /// Show and replay TCG event logs
    #[command(subcommand)]
    Eventlog(eventlog::Command),
    /// Assemble a trusted disk image from a root filesystem
    #[command(subcommand)]
    Image(image::Command),
    /// Reference-value manifests and their export
    #[command(subcommand)]
    Refvals(refvals::Command),
    /// Check TEE evidence (SNP reports, TPM quotes, Azure vTPM) against reference values
    #[command(subcommand)]
    Verify(verify::Command),
}

/// Runs a trust-path subcommand.
pub fn run(cmd: PathCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PathCommand::Verity(c) => verity::run(c),
        PathCommand::Snp(c) => snp::run(c),
        PathCommand::Tdx(c) => tdx::run(c),
        PathCommand::Uki(c) => uki::run(c),
        PathCommand::Pcr(c) => pcr::run(c),
        PathCommand::Eventlog(c) => eventlog::run(c),
        PathCommand::Image(c) => image::run(c),
        PathCommand::Refvals(c) => refvals::run(c),
        PathCommand::Verify(c) => verify::run(c),
    }
}

/// Reads an input file whole under its kind's size limit ([`yardstick_common::fs::read_input`]: a directory,
/// an oversized file or a stream that delivers more is refused). A file that cannot be opened or read is
/// "`<path>`: cannot read", as these commands have always said.
pub(crate) fn read_input(path: &Path, kind: InputKind) -> anyhow::Result<Vec<u8>> {
    yardstick_common::fs::read_input(path, kind).map_err(|e| match e {
        InputError::Open { path, source } | InputError::Read { path, source } => {
            anyhow::Error::new(source).context(format!("{}: cannot read", path.display()))
        }
        e => e.into(),
    })
}
