//! `yardstick tdx`: Intel TDX launch measurement (MRTD and RTMRs with their predicted events).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::fs::InputKind;
use yardstick_tdx::{AcpiInput, DirectBoot, Initrd, InputPaths, PageOrder, QemuVersion, TdxGuest};

use crate::cmd::read_input;
use crate::ui;

const MEASURE_AFTER_HELP: &str = "\
What is predicted:
  MRTD   from the firmware's TDX metadata (TDVF descriptor) and the VMM's page order:
         single-pass (add then extend, page by page: upstream KVM, QEMU >= 9) or
         two-pass (all adds of a section, then its extends: older TDX trees, e.g. QEMU 8.2 hosts).
  RTMR0  with --kernel and --acpi-tables: the TD HOB QEMU writes (memory map from --memory),
         the CFV (variable store), SecureBoot/PK/KEK/db/dbx (empty), the separator, the three
         ACPI blobs OVMF measures (etc/table-loader, etc/acpi/rsdp, etc/acpi/tables), BootOrder
         and Boot0000 (UiApp). --acpi-tables is the guest's fw_cfg file
         /sys/firmware/qemu_fw_cfg/by_name/etc/acpi/tables/raw, for the same QEMU command line;
         the RSDP and loader are derived from it for QEMU's q35 layouts (FACS, DSDT, FACP,
         APIC/HPET/MCFG/WAET/SRAT/SLIT/DMAR, RSDT), else give them (--acpi-rsdp, --acpi-loader:
         etc/acpi/rsdp, etc/table-loader). The event layout is edk2 2024.11 to 2025.02's,
         checked against Debian 13's ovmf 2025.02; Debian 12's OVMF is refused.
  RTMR1  with --kernel: the kernel's Authenticode SHA-384 as OVMF loads it, then the
         \"Calling EFI Application from Boot Option\", separator and ExitBootServices events
         (the separator's place in RTMR1 is edk2-stable202411's and later; older TDVFs put it in RTMR0).
         --qemu-version >= 10.0: the kernel file unmodified (fw_cfg etc/boot/kernel; needs a
         firmware that reads it, e.g. Debian 13's ovmf 2025.02); older: the setup header QEMU
         patched, which depends on --memory and the initrd's size.
  RTMR2  with --kernel and --append: the command line as OVMF passes it (--append, plus
         \" initrd=initrd\" with an initrd; UTF-16LE with NUL), then the initrd. Measured by the
         Linux EFI stub from 6.9 on (Debian 13's 6.12; Debian 12's 6.1 measures nothing in a TD).
  RTMR3  zero at boot.
Not modelled (null in the output, never guessed): RTMR0 without --acpi-tables or without --kernel
(a disk boot's boot variables); RTMR2 without --append; RTMR1/RTMR2 without --kernel. Debian 12's
OVMF (2022.11) has no TdTcg2Dxe: in a TD it extends no RTMR at all; its MRTD is predicted.

Output: MRTD and the RTMRs with their events (--json: {\"mrtd\", \"rtmr0\", ... \"rtmr3\"} as hex
or null, \"events\" per RTMR in the shape `eventlog show --json` prints a CCEL, \"config\", \"notes\").
Exit status: 0 ok, 2 bad input or usage (one line on stderr).

Examples:
  yardstick tdx measure --firmware /usr/share/ovmf/OVMF.fd --memory 2048 --vcpus 2
  yardstick tdx measure --firmware OVMF.fd --kernel vmlinuz --initrd initrd.img \\
      --append 'console=ttyS0 root=/dev/vda1' --memory 4096 --vcpus 4 --qemu-version 10.0 --json
  yardstick tdx measure --firmware OVMF.fd --kernel vmlinuz --initrd initrd.img --append 'quiet' \\
      --memory 2048 --vcpus 2 --qemu-version 8.2 --mrtd-order two-pass
  yardstick tdx measure --firmware OVMF.fd --kernel vmlinuz --initrd initrd.img --append 'quiet' \\
      --memory 16384 --vcpus 8 --acpi-tables acpi_tables.bin";

/// `--qemu-version`'s default, in every command that measures a TD (`tdx measure`, `image build`, `refvals
/// create`).
pub const DEFAULT_QEMU_VERSION: &str = "10.0";
/// `--mrtd-order`'s default, likewise.
pub const DEFAULT_MRTD_ORDER: &str = "single-pass";

/// `--qemu-version`'s parser (the library's, as clap's value parser).
pub fn parse_qemu_version(s: &str) -> Result<QemuVersion, String> {
    s.parse()
        .map_err(|e: yardstick_tdx::measure::BadQemuVersion| e.to_string())
}

/// `--mrtd-order`'s parser.
pub fn parse_mrtd_order(s: &str) -> Result<PageOrder, String> {
    s.parse()
        .map_err(|e: yardstick_tdx::mrtd::UnknownPageOrder| e.to_string())
}

/// Subcommands of this group.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Predict MRTD and RTMR0-3 of a TD booted by QEMU with a TDVF (and a kernel)
    #[command(after_help = MEASURE_AFTER_HELP)]
    Measure(Box<MeasureArgs>),
}

/// `yardstick tdx measure` flags.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// TDVF firmware image (the combined OVMF.fd of a TDX-enabled edk2)
    #[arg(long, value_name = "PATH")]
    firmware: PathBuf,
    /// Kernel QEMU boots directly (-kernel): a bzImage with an EFI stub
    #[arg(long, value_name = "PATH")]
    kernel: Option<PathBuf>,
    /// Initrd (-initrd; needs --kernel)
    #[arg(long, value_name = "PATH", requires = "kernel")]
    initrd: Option<PathBuf>,
    /// Kernel command line (-append; needs --kernel)
    #[arg(
        long,
        value_name = "CMDLINE",
        allow_hyphen_values = true,
        requires = "kernel"
    )]
    append: Option<String>,
    /// Guest memory in MiB (-m)
    #[arg(long, value_name = "MIB")]
    memory: u64,
    /// Number of vCPUs (-smp)
    #[arg(long, value_name = "N")]
    vcpus: u32,
    /// QEMU's etc/acpi/tables fw_cfg file, dumped from a guest of the same configuration (for RTMR0; needs --kernel)
    #[arg(long, value_name = "FILE", requires = "kernel")]
    acpi_tables: Option<PathBuf>,
    /// QEMU's etc/acpi/rsdp fw_cfg file (default: derived from --acpi-tables)
    #[arg(long, value_name = "FILE", requires = "acpi_tables")]
    acpi_rsdp: Option<PathBuf>,
    /// QEMU's etc/table-loader fw_cfg file (default: derived from --acpi-tables)
    #[arg(long, value_name = "FILE", requires = "acpi_tables")]
    acpi_loader: Option<PathBuf>,
    /// QEMU version (MAJOR.MINOR[.PATCH]); decides how the kernel reaches the firmware
    #[arg(long, value_name = "V", default_value = DEFAULT_QEMU_VERSION)]
    qemu_version: String,
    /// MRTD page order: single-pass or two-pass
    #[arg(long, value_name = "ORDER", default_value = DEFAULT_MRTD_ORDER)]
    mrtd_order: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs a subcommand of this group.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Measure(a) => measure(*a),
    }
}

fn measure(a: MeasureArgs) -> anyhow::Result<ExitCode> {
    let qemu_version: QemuVersion = a.qemu_version.parse().context("--qemu-version")?;
    let mrtd_order: PageOrder = a.mrtd_order.parse().context("--mrtd-order")?;
    let firmware = read_input(&a.firmware, InputKind::FIRMWARE)?;
    let kernel = a
        .kernel
        .as_deref()
        .map(|p| read_input(p, InputKind::KERNEL))
        .transpose()?;
    let read_acpi = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(|p| read_input(p, InputKind::ACPI_BLOB))
            .transpose()
    };
    let (tables, rsdp, loader) = (
        read_acpi(&a.acpi_tables)?,
        read_acpi(&a.acpi_rsdp)?,
        read_acpi(&a.acpi_loader)?,
    );
    let guest = TdxGuest {
        firmware: &firmware,
        direct_boot: kernel.as_deref().map(|k| DirectBoot {
            kernel: k,
            initrd: a.initrd.as_deref().map(Initrd::File),
            append: a.append.as_deref(),
        }),
        memory_mib: a.memory,
        vcpus: a.vcpus,
        qemu_version,
        mrtd_order,
        acpi: tables.as_deref().map(|t| AcpiInput {
            tables: t,
            rsdp: rsdp.as_deref(),
            loader: loader.as_deref(),
        }),
    };
    let m = yardstick_tdx::measure_launch(
        &guest,
        InputPaths {
            firmware: &a.firmware,
            kernel: a.kernel.as_deref(),
        },
    )?;
    if a.json {
        ui::print_json(&m)?;
    } else {
        ui::print_text(&m.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}
