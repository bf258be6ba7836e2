//! `yardstick refvals`: show a reference-value manifest, export it for Trustee (RVPS values, an attestation
//! policy) or systemd-pcrlock.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::fs::InputKind;
use yardstick_refvals::rego::Evidence;
use yardstick_refvals::{ExportFormat, ExportOptions, Manifest};

use super::pcr_predict::{PredictArgs, Predicted};
use super::read_input;
use super::tdx::{DEFAULT_MRTD_ORDER, DEFAULT_QEMU_VERSION, parse_mrtd_order, parse_qemu_version};
use crate::ui;
use yardstick_refvals::Component;
use yardstick_tdx::{InputPaths, PageOrder, QemuVersion, TdxGuest};

/// Subcommands of `yardstick refvals`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a manifest and print what it covers
    #[command(after_help = "\
Examples:
  yardstick refvals show disk.img.manifest.json
  yardstick refvals show disk.img.manifest.json --json")]
    Show {
        /// Manifest written by `yardstick image build`
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// Print the validated manifest as JSON
        #[arg(long)]
        json: bool,
    },
    /// Export a manifest as a Trustee RVPS message, a Trustee attestation policy or a systemd-pcrlock file
    #[command(after_help = "\
Formats:
  rvps     {\"version\":\"0.1.0\",\"type\":\"sample\",\"payload\":<base64>} for `rvps-tool register`;
           names as Trustee's default policy queries them: snp_launch_measurement,
           snp_pcr11, tdx_pcr11, tpm_pcr11 (and tpm_pcr04, tpm_pcr07, tpm_pcr09),
           and from a tdx section mr_td, rtmr_1, rtmr_2
  rego     an attestation policy for Trustee's attestation service (EAR trust
           claims executables/hardware/configuration) comparing the claims of
           each --evidence kind with the values registered under those names
           (query_reference_value); default: the kinds the manifest has values
           for. `yardstick verify ... --policy` evaluates it the same way
  pcrlock  {\"records\":[{\"pcr\":N,\"digests\":[{\"hashAlg\":...,\"digest\":...}]}]} for
           /var/lib/pcrlock.d/; --component uki gives what `systemd-pcrlock lock-uki` writes

Examples:
  yardstick refvals export disk.img.manifest.json --format rvps > message.json
  rvps-tool register --path message.json
  yardstick refvals export disk.img.manifest.json --format rego \\
      --evidence az-snp-vtpm,tpm --output policy.rego
  yardstick refvals export disk.img.manifest.json --format pcrlock --component uki \\
      --output /var/lib/pcrlock.d/650-uki.pcrlock")]
    Export {
        /// Manifest written by `yardstick image build`
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,
        /// Output format
        #[arg(long, value_enum)]
        format: Format,
        /// pcrlock: only the measurements of this component (uki, firmware, phase, ...)
        #[arg(long, value_name = "NAME")]
        component: Option<String>,
        /// rego: the evidence kinds the policy covers (snp, tdx, az-snp-vtpm, az-tdx-vtpm, tpm; comma-separated
        /// or repeated; default: those the manifest has values for)
        #[arg(long, value_name = "KIND", value_delimiter = ',')]
        evidence: Vec<Evidence>,
        /// Write to this file instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write a manifest for a UKI you built yourself: its digests and predicted PCRs
    #[command(after_help = "\
The manifest has the UKI as component `uki` and a tpm section with the PCRs
`yardstick pcr predict` computes for it (PCR 4, 7, 9, 11, 12, 13; PCR 11 after
each boot phase) and every predicted measurement, as `image build` writes it
for the images it makes. `verify tpm --refvals` and `refvals export` read it.
With --tdx-firmware, also a tdx entry: MRTD as `tdx measure` predicts it for
that firmware, --memory, --vcpus and --mrtd-order (the UKI is loaded from disk:
RTMR1/RTMR2 of that boot path are not predicted).

Examples:
  yardstick refvals create --uki uki.efi --output uki.manifest.json
  yardstick refvals create --uki uki.signed.efi \\
      --secure-boot-vars /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd --output m.json
  yardstick refvals create --uki uki.efi --tdx-firmware OVMF.fd --memory 2048 --vcpus 2 \\
      --output m.json")]
    Create(CreateArgs),
}

/// Flags of `yardstick refvals create`.
#[derive(Debug, clap::Args)]
// The shared flags, with this command's wording of --secure-boot-vars (`mut_args`, unlike `mut_arg`, keeps the
// flag's place in the completion scripts).
#[command(mut_args(|a| if a.get_id() == "secure_boot_vars" {
    a.help("OVMF VARS file whose Secure Boot variables the firmware measures (default: none, Secure Boot off)")
} else {
    a
}))]
pub struct CreateArgs {
    #[command(flatten)]
    predict: PredictArgs,
    /// TDVF firmware (OVMF.fd of a TDX-enabled edk2): also record its TDX measurement (the tdx section).
    /// The UKI is loaded from disk, so MRTD is predicted, not RTMR1/RTMR2 (as `tdx measure` without --kernel)
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["memory", "vcpus"],
        help_heading = "Intel TDX measurement"
    )]
    tdx_firmware: Option<PathBuf>,
    /// Guest memory in MiB (-m)
    #[arg(
        long,
        value_name = "MIB",
        requires = "tdx_firmware",
        help_heading = "Intel TDX measurement"
    )]
    memory: Option<u64>,
    /// Number of vCPUs (-smp)
    #[arg(
        long,
        value_name = "N",
        requires = "tdx_firmware",
        help_heading = "Intel TDX measurement"
    )]
    vcpus: Option<u32>,
    /// QEMU version (MAJOR.MINOR[.PATCH])
    #[arg(
        long,
        value_name = "V",
        default_value = DEFAULT_QEMU_VERSION,
        value_parser = parse_qemu_version,
        help_heading = "Intel TDX measurement"
    )]
    qemu_version: QemuVersion,
    /// MRTD page order: single-pass or two-pass
    #[arg(
        long,
        value_name = "ORDER",
        default_value = DEFAULT_MRTD_ORDER,
        value_parser = parse_mrtd_order,
        help_heading = "Intel TDX measurement"
    )]
    mrtd_order: PageOrder,
    /// Write the manifest here instead of stdout
    #[arg(long, short, value_name = "MANIFEST")]
    output: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Trustee RVPS registration message (sample provenance)
    Rvps,
    /// systemd-pcrlock record file (CEL-JSON subset)
    Pcrlock,
    /// Trustee attestation policy (Rego) comparing claims with the RVPS values
    Rego,
}

fn load(path: &Path) -> anyhow::Result<Manifest> {
    let bytes = read_input(path, InputKind::MANIFEST)?;
    Manifest::from_json(&bytes).with_context(|| format!("{}", path.display()))
}

/// Runs a subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Show { manifest, json } => {
            let m = load(&manifest)?;
            if json {
                ui::print_json(&m)?;
            } else {
                ui::print_text(&m.to_text())?;
            }
        }
        Command::Export {
            manifest,
            format,
            component,
            evidence,
            output,
        } => {
            if !evidence.is_empty() && !matches!(format, Format::Rego) {
                anyhow::bail!("--evidence: only a policy (--format rego) covers evidence kinds");
            }
            refuse_clobber(output.as_deref(), &[&manifest])?;
            let m = load(&manifest)?;
            let format = match format {
                Format::Rvps => ExportFormat::Rvps,
                Format::Pcrlock => ExportFormat::Pcrlock,
                Format::Rego => ExportFormat::Rego,
            };
            let opts = ExportOptions {
                component: component.as_deref(),
                evidence: &evidence,
            };
            let text = yardstick_refvals::export_with(&m, format, &opts)
                .with_context(|| format!("{}", manifest.display()))?;
            write_or_print(output.as_deref(), &text)?;
        }
        Command::Create(a) => create(&a)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses an output file that is one of the inputs, before any work.
fn refuse_clobber(output: Option<&Path>, inputs: &[&Path]) -> anyhow::Result<()> {
    if let Some(o) = output {
        yardstick_common::fs::refuse_clobber(&[o], inputs)?;
    }
    Ok(())
}

/// Writes `text` to `output` atomically, or prints it.
fn write_or_print(output: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(p) => yardstick_common::fs::write_atomic(p, text.as_bytes())
            .with_context(|| format!("{}", p.display()))?,
        None => ui::print_text(text)?,
    }
    Ok(())
}

fn create(a: &CreateArgs) -> anyhow::Result<()> {
    let inputs: Vec<&Path> = [
        Some(a.predict.uki.as_path()),
        a.predict.secure_boot_vars.as_deref(),
        a.tdx_firmware.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    refuse_clobber(a.output.as_deref(), &inputs)?;
    let Predicted {
        uki, prediction, ..
    } = a.predict.predict()?;
    let file = a
        .predict
        .uki
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let mut m = Manifest::for_uki(&uki, file.as_deref(), &prediction, a.predict.boot_retries)
        .with_context(|| format!("{}: manifest", a.predict.uki.display()))?;
    if let (Some(fw_path), Some(memory_mib), Some(vcpus)) = (&a.tdx_firmware, a.memory, a.vcpus) {
        let firmware = read_input(fw_path, InputKind::FIRMWARE)?;
        let guest = TdxGuest {
            firmware: &firmware,
            direct_boot: None,
            memory_mib,
            vcpus,
            qemu_version: a.qemu_version,
            mrtd_order: a.mrtd_order,
        };
        let tdx = yardstick_tdx::measure_launch(
            &guest,
            InputPaths {
                firmware: fw_path,
                kernel: None,
            },
        )?;
        let name = fw_path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let c = Component::from_bytes(yardstick_refvals::TDX_FIRMWARE, name.as_deref(), &firmware);
        m.push_tdx(c, &tdx)
            .with_context(|| format!("{}: manifest", fw_path.display()))?;
    }
    write_or_print(a.output.as_deref(), &m.to_json())
}
