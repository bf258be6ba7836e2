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
    /// Write a manifest for a UKI or a disk image you built yourself: its digests, verity parameters and
    /// predicted PCRs
    #[command(after_help = "\
With --uki, the manifest has the UKI as component `uki` and a tpm section with
the PCRs `yardstick pcr predict` computes for it (PCR 4, 7, 9, 11, 12, 13; PCR
11 after each boot phase) and every predicted measurement, as `image build`
writes it for the images it makes. `verify tpm --refvals` and `refvals export`
read it.

With --disk (an image made by mkosi, systemd-repart, Kata's image builder or
yardstick; a file or a block device, never mounted), the disk is checked as
`image inspect` checks it (exit 1 naming the block when the cmdline's root hash
is not the tree's or the tree not the data's) and the manifest is the one
`image build` writes: the UKI's components (.linux, .initrd, .osrel, .cmdline
and the UKI), the verity section, the tpm section for the UKI the firmware
boots, the partition table, and with --ovmf the SEV-SNP launch digest of the
firmware alone (it loads the UKI from the disk; a Kata disk's direct boot needs
the kernel and initrd, which are not on it: use `snp measure`). Addons, credentials and extensions on the ESP are
listed by `image inspect`, not predicted.

With --firmware (either input), the tpm section also has the firmware PCRs 0-3,
5, 6 of a QEMU q35 + OVMF boot with --memory and --vcpus (1 unless given) as
`pcr predict --firmware ... --uki --disk` gives them: with --disk the disk is the
boot disk (its GPT in PCR 5); with --uki PCRs 1 and 5 are refused (no disk). A
VARS file given with --secure-boot-vars is the one the VM boots with (PCR 1 is
refused when it holds boot options other than OVMF's own, as Debian's snakeoil
VARS does). Debian 13's OVMF also measures QEMU's ACPI blobs into PCR 1: give
--fw-cfg, a copy (cp -rL, as root) of /sys/firmware/qemu_fw_cfg/by_name from a
guest of the same VM booted with that firmware. What is not modelled for that firmware and
VM is left out of pcrs and listed with why in tpm.not_predicted.

With --tdx-firmware (either input), also a tdx entry: MRTD as `tdx measure`
predicts it for that firmware, --memory, --vcpus and --mrtd-order (the UKI is
loaded from disk: RTMR1/RTMR2 of that boot path are not predicted).

Examples:
  yardstick refvals create --uki uki.efi --output uki.manifest.json
  yardstick refvals create --disk mkosi.raw --output mkosi.manifest.json
  yardstick refvals create --disk disk.img --ovmf OVMF.fd --vcpus 2 --vcpu-type EPYC-v4
  yardstick refvals create --disk kata.img --verity-params 'root_hash=...,salt=...,...' 
  yardstick refvals create --uki uki.signed.efi \\
      --secure-boot-vars /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd --output m.json
  yardstick refvals create --uki uki.efi --tdx-firmware OVMF.fd --memory 2048 --vcpus 2 \\
      --output m.json
  yardstick refvals create --disk disk.img --firmware /usr/share/OVMF/OVMF_CODE_4M.fd \\
      --platform qemu-q35 --memory 1024 --vcpus 1 --output m.json")]
    Create(Box<CreateArgs>),
}

/// Flags of `yardstick refvals create`.
#[derive(Debug, clap::Args)]
// The shared flags, with this command's wording of --secure-boot-vars (`mut_args`, unlike `mut_arg`, keeps the
// flag's place in the completion scripts).
#[command(mut_args(|a| if a.get_id() == "secure_boot_vars" {
    a.help("OVMF VARS file whose Secure Boot variables the firmware measures (default: none, Secure Boot off)")
} else if a.get_id() == "uki" {
    a.required(false)
} else {
    a
}))]
#[command(group(clap::ArgGroup::new("input").required(true).args(["uki", "disk"])))]
#[command(group(clap::ArgGroup::new("memory_user").multiple(true).args(["tdx_firmware", "firmware"])))]
pub struct CreateArgs {
    #[command(flatten)]
    predict: PredictArgs,
    /// A disk image (or block device) instead of --uki: its UKI, verity volume and partitions
    #[arg(long, value_name = "IMAGE", conflicts_with = "uki")]
    disk: Option<PathBuf>,
    #[command(flatten)]
    disk_args: super::image::DiskArgs,
    /// --disk: also the SEV-SNP launch digest of the firmware that loads the UKI from the disk
    #[command(flatten)]
    snp: super::image::SnpArgs,
    /// TDVF firmware (OVMF.fd of a TDX-enabled edk2): also record its TDX measurement (the tdx section) for
    /// --memory and --vcpus. The UKI is loaded from disk, so MRTD is predicted, not RTMR1/RTMR2 (as `tdx
    /// measure` without --kernel)
    #[arg(
        long,
        value_name = "FILE",
        requires = "memory",
        help_heading = "Intel TDX measurement"
    )]
    tdx_firmware: Option<PathBuf>,
    /// Guest memory in MiB (-m), of the TDX guest and of the firmware PCRs' VM
    #[arg(
        long,
        value_name = "MIB",
        requires = "memory_user",
        help_heading = "Intel TDX measurement"
    )]
    memory: Option<u64>,
    #[command(flatten)]
    firmware: super::image::FirmwarePcrArgs,
    /// The QEMU that boots the VM (MAJOR.MINOR[.PATCH]): TDX's RTMRs and the Secure Boot build of edk2
    /// 2025.02's PCR 0 depend on it
    #[arg(
        long,
        value_name = "V",
        default_value = DEFAULT_QEMU_VERSION,
        value_parser = parse_qemu_version,
        help_heading = "QEMU"
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
        Command::Create(a) => return create(&a),
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

fn create(a: &CreateArgs) -> anyhow::Result<ExitCode> {
    if let Some(disk) = &a.disk {
        return create_from_disk(a, disk);
    }
    let Some(uki_path) = a.predict.uki.as_deref() else {
        anyhow::bail!("--uki or --disk is required");
    };
    if a.snp.ovmf.is_some() {
        anyhow::bail!(
            "--ovmf: only with --disk (for a UKI, `snp measure` computes the launch digest)"
        );
    }
    let inputs: Vec<&Path> = [
        Some(uki_path),
        a.predict.secure_boot_vars.as_deref(),
        a.tdx_firmware.as_deref(),
        a.firmware.firmware.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    refuse_clobber(a.output.as_deref(), &inputs)?;
    let firmware = firmware_pcrs(a)?;
    let Predicted {
        uki,
        prediction,
        banks,
    } = a.predict.predict()?;
    let file = uki_path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let mut m = Manifest::for_uki(&uki, file.as_deref(), &prediction, a.predict.boot_retries)
        .with_context(|| format!("{}: manifest", uki_path.display()))?;
    if let (Some(fw), Some(tpm)) = (&firmware, m.tpm.as_mut()) {
        yardstick_image::add_firmware_pcrs(tpm, &prediction, fw, None, &banks)?;
    }
    push_tdx(a, &mut m)?;
    write_or_print(a.output.as_deref(), &m.to_json())?;
    Ok(ExitCode::SUCCESS)
}

/// With --firmware: the firmware read and checked, with the VM the flags describe (--memory, --vcpus, the
/// boot options of --secure-boot-vars' VARS file).
fn firmware_pcrs(a: &CreateArgs) -> anyhow::Result<Option<yardstick_image::FirmwarePcrs>> {
    use yardstick_tpm::predict::firmware::{VmConfig, vars_boot_options};
    let Some(path) = &a.firmware.firmware else {
        return Ok(None);
    };
    let memory_mib = a
        .memory
        .and_then(|m| u32::try_from(m).ok())
        .context("--firmware: needs --memory (the guest memory in MiB, below 4 PiB)")?;
    let vars_boot_options = match &a.predict.secure_boot_vars {
        Some(v) => {
            let fd = read_input(v, InputKind::OVMF_VARS)?;
            vars_boot_options(&fd).with_context(|| format!("{}", v.display()))?
        }
        None => Vec::new(),
    };
    let vm = VmConfig {
        machine: a.firmware.platform.unwrap_or_default(),
        memory_mib,
        vcpus: a.snp.vcpus,
        nic: a.firmware.nic,
        vars_boot_options,
        qemu_version: a.qemu_version,
        ..VmConfig::default()
    };
    crate::cmd::pcr_predict::check_nic_rom(a.firmware.nic, a.firmware.nic_rom.as_deref())?;
    Ok(Some(yardstick_image::FirmwarePcrs::read(
        path,
        vm,
        a.firmware.nic_rom.as_deref(),
        a.firmware.fw_cfg.as_deref(),
    )?))
}

/// With --tdx-firmware: the tdx entry (MRTD for --memory and --vcpus; the UKI is loaded from disk) and the
/// firmware component.
fn push_tdx(a: &CreateArgs, m: &mut Manifest) -> anyhow::Result<()> {
    let (Some(fw_path), Some(memory_mib)) = (&a.tdx_firmware, a.memory) else {
        return Ok(());
    };
    let firmware = read_input(fw_path, InputKind::FIRMWARE)?;
    let guest = TdxGuest {
        firmware: &firmware,
        direct_boot: None,
        memory_mib,
        vcpus: a.snp.vcpus,
        qemu_version: a.qemu_version,
        mrtd_order: a.mrtd_order,
        acpi: None,
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
        .with_context(|| format!("{}: manifest", fw_path.display()))
}

fn create_from_disk(a: &CreateArgs, disk: &Path) -> anyhow::Result<ExitCode> {
    use yardstick_image::inspect::{ManifestOptions, disk_manifest};
    let inputs: Vec<&Path> = [
        Some(disk),
        a.predict.secure_boot_vars.as_deref(),
        a.snp.ovmf.as_deref(),
        a.tdx_firmware.as_deref(),
        a.firmware.firmware.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    refuse_clobber(a.output.as_deref(), &inputs)?;
    // What systemd-stub picks up beside the UKI is on the disk's ESP; a flag would silently replace it.
    if let Some(flag) = a.predict.esp_extra_flag() {
        anyhow::bail!(
            "{flag}: not with --disk: the addons, credentials and extensions beside the UKI are read from the \
             disk's ESP"
        );
    }
    let (platform, banks) = a.predict.platform()?;
    let snp = a.snp.params()?;
    let firmware = firmware_pcrs(a)?;
    let i = super::image::inspect_disk(disk, &a.disk_args)?;
    if !i.ok() {
        // What failed, on standard output as `image inspect` prints it; no manifest.
        ui::print_text(&i.to_text())?;
        return Ok(super::image::verdict(&i));
    }
    if i.uki_bytes().is_none() && i.verity.is_empty() {
        anyhow::bail!(
            "{}: no UKI and no verified dm-verity volume found: nothing to write reference values for ({})",
            disk.display(),
            i.notes.join("; ")
        );
    }
    let vars = a
        .predict
        .secure_boot_vars
        .as_ref()
        .map(|p| p.display().to_string());
    let mut m = disk_manifest(
        &i,
        &ManifestOptions {
            platform,
            banks,
            secure_boot_vars: vars.as_deref(),
            disk_device: &a.disk_args.disk_device,
            snp,
            firmware_pcrs: firmware.map(|f| (f, disk)),
        },
    )
    .with_context(|| format!("{}", disk.display()))?;
    push_tdx(a, &mut m)?;
    for n in &i.notes {
        eprintln!("yardstick: note: {n}");
    }
    write_or_print(a.output.as_deref(), &m.to_json())?;
    Ok(ExitCode::SUCCESS)
}
