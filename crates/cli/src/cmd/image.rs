//! `yardstick image`: assemble a trusted disk image (or initrd) from a root filesystem, with its manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use yardstick_image::request::{self, BuildRequest};
use yardstick_refvals::{FsType, Layout};
use yardstick_snp::sev_mode::SevMode;
use yardstick_snp::vmm_types::VmmType;

use crate::cmd::tdx::{
    DEFAULT_MRTD_ORDER, DEFAULT_QEMU_VERSION, parse_mrtd_order, parse_qemu_version,
};
use crate::ui;
use yardstick_tdx::{PageOrder, QemuVersion};
use yardstick_tpm::predict::firmware::{MachineType, Nic};

/// Subcommands of `yardstick image`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Build a disk image with a dm-verity root filesystem (or an initrd) and its reference-value manifest
    #[command(after_help = BUILD_EXAMPLES)]
    Build(Box<BuildArgs>),
    /// Read a disk image (or block device) without mounting it: partitions, the UKI the firmware boots, and
    /// its dm-verity root hash checked against the data
    #[command(after_help = INSPECT_HELP)]
    Inspect(InspectArgs),
}

const INSPECT_HELP: &str = "\
Reads the GPT (the backup header when the primary is bad) or MBR, finds the
Discoverable Partitions Specification types (root, usr, their -verity and
-verity-sig partitions, ESP, XBOOTLDR; x86-64 and arm64), reads the ESP's FAT:
EFI/BOOT/BOOTX64.EFI (or BOOTAA64.EFI) when it is a UKI, else systemd-boot's
loader.conf default among the type-2 entries in EFI/Linux; lists the UKI's
addons (<uki>.extra.d/*.addon.efi) and the credentials, sysexts and confexts
systemd-stub passes on (listed, not predicted). The roothash=/usrhash= on the
UKI's .cmdline is checked against the verity superblock, the partition UUIDs
systemd matches and every block of the data and tree. A Kata disk (MBR, no
superblock) is verified with --verity-params, the tree on partition 2 or
appended to the data on partition 1.

Exit status: 0 everything checked out, 1 a check failed (the block is named),
2 the disk could not be read.

Examples:
  yardstick image inspect disk.img
  yardstick image inspect /dev/nvme1n1 --json
  yardstick image inspect kata.img --verity-params \\
      'root_hash=1f2e...,salt=00ff,data_blocks=2048,data_block_size=4096,hash_block_size=4096'";

/// Flags of `image inspect`, shared with `refvals create --disk`.
#[derive(Debug, clap::Args)]
pub struct DiskArgs {
    /// Kata's kernel_verity_params (root_hash=...,salt=...,data_blocks=...,data_block_size=...,hash_block_size=...)
    /// for a disk whose root hash is not on a UKI's command line
    #[arg(long, value_name = "PARAMS")]
    pub verity_params: Option<String>,
    /// The guest's name for this disk, for the dm tables
    #[arg(long, value_name = "DEV", default_value = "/dev/vda")]
    pub disk_device: String,
}

/// Flags of `image inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Disk image file or block device
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    #[command(flatten)]
    pub disk: DiskArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// Opens and inspects a disk (shared with `refvals create --disk`).
pub fn inspect_disk(
    image: &std::path::Path,
    a: &DiskArgs,
) -> anyhow::Result<yardstick_image::inspect::DiskInspection> {
    use anyhow::Context as _;
    use yardstick_image::inspect::{self, DiskFile, InspectOptions};
    let disk = DiskFile::open(image).with_context(|| format!("{}", image.display()))?;
    let bar = ui::Bar::bytes("verity");
    let r = inspect::inspect(
        &disk,
        Some((disk.file(), image)),
        &InspectOptions {
            verity_params: a.verity_params.clone(),
        },
        &bar,
    );
    bar.finish();
    r.with_context(|| format!("{}", image.display()))
}

/// Exit status for an inspection: 1 with a verdict line on stderr when a check failed.
pub fn verdict(i: &yardstick_image::inspect::DiskInspection) -> ExitCode {
    if i.ok() {
        return ExitCode::SUCCESS;
    }
    let n = i.problems.len();
    eprintln!(
        "yardstick: check failed: {n} problem{} (listed on standard output)",
        if n == 1 { "" } else { "s" }
    );
    ExitCode::from(1)
}

const BUILD_EXAMPLES: &str = "\
Layouts:
  uki     GPT: ESP with the UKI at /EFI/BOOT/BOOTX64.EFI (roothash= in its cmdline), root and
          root-verity partitions with Discoverable Partitions type GUIDs and the partition UUIDs
          systemd derives from the root hash (systemd-veritysetup-generator finds them); the
          manifest gets the PCRs 4, 7, 9, 11 (and after each boot phase), 12, 13 that OVMF
          (no Secure Boot keys, disk first in the boot order) and the UKI's stubs produce
  kata    MBR: rootfs partition and hash partition (no superblock), dm-mod.create= on the cmdline
          and Kata's kernel_verity_params in the manifest
  initrd  the tree packed into a reproducible newc cpio (no disk)

Reproducible: every timestamp is $SOURCE_DATE_EPOCH (0 when unset) and every generated identifier
derives from a seed: by default a digest of every input (printed), or --seed; the same inputs give
byte-identical outputs, different images never share a salt or UUID.

Examples:
  yardstick image build rootfs/ --kernel vmlinuz --initrd initrd.img \\
      --stub /usr/lib/systemd/boot/efi/linuxx64.efi.stub --cmdline 'console=ttyS0' \\
      --output disk.img
  yardstick image build rootfs.tar --layout kata --fs ext4 --output kata.img --json
  yardstick image build initrd-tree/ --layout initrd --output initrd.cpio
  yardstick image build rootfs/ --layout kata --kernel vmlinuz --ovmf OVMF.fd --vcpus 2 \\
      --vcpu-type EPYC-v4 --output kata.img
  yardstick image build rootfs/ --layout kata --kernel vmlinuz --cmdline 'console=ttyS0' \\
      --tdx-firmware OVMF.fd --memory 2048 --vcpus 2 --output kata.img
  yardstick image build rootfs/ --kernel vmlinuz --stub linuxx64.efi.stub --output disk.img \\
      --firmware /usr/share/OVMF/OVMF_CODE_4M.fd --platform qemu-q35 --memory 1024 --vcpus 1

With --firmware (uki layout), the manifest's tpm section also has the firmware PCRs
0-3, 5, 6 of a QEMU q35 + OVMF boot of the disk written (--memory, --vcpus; --vcpus
is 1 unless given), as `yardstick pcr predict --firmware ... --uki --disk` gives
them: PCR 5 holds the disk's GPT, PCR 1 assumes a fresh VARS and the disk as the
first virtio-blk with bootindex=0. What is not modelled for that firmware and VM
(PCR 1 of Debian 13's OVMF without --fw-cfg, PCR 0 of a firmware build it does
not know) is left
out of pcrs and listed with why in tpm.not_predicted; a firmware file that is
not OVMF, a --nic-rom that is not an option ROM or --nic-rom without --nic is
refused. With --nic, PCR 2 also holds the EFI drivers of the NIC's option ROM
(--nic-rom).";

/// Root filesystem type.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FsArg {
    /// EROFS (mkfs.erofs, erofs-utils)
    Erofs,
    /// ext4 (mkfs.ext4 -d, e2fsprogs)
    Ext4,
    /// SquashFS (mksquashfs, squashfs-tools)
    Squashfs,
}

/// Disk layout.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LayoutArg {
    /// GPT + ESP with a UKI + root + root-verity (systemd)
    Uki,
    /// MBR + rootfs + hash partition (Kata Containers)
    Kata,
    /// newc cpio of the tree
    Initrd,
}

/// `--snp-mode`: `snp measure --mode`'s names (`yardstick_snp`'s parser), less the two that record no launch in
/// a manifest.
fn parse_snp_mode(s: &str) -> Result<SevMode, String> {
    if s == "snp:ovmf-hash" {
        return Err("snp:ovmf-hash is not a launch (use `yardstick snp measure`)".into());
    }
    match s.parse::<SevMode>().map_err(|e| e.to_string())? {
        SevMode::SevSnpSvsm => Err(format!(
            "{s}: image build measures no SVSM (use `yardstick snp measure --mode snp:svsm`)"
        )),
        m => Ok(m),
    }
}

/// `--vmm-type`: `snp measure`'s names, in any ASCII case.
fn parse_vmm_type(s: &str) -> Result<VmmType, String> {
    s.parse()
        .map_err(|e: yardstick_snp::vmm_types::UnknownVmmType| e.to_string())
}

/// The SEV-SNP launch flags (`snp measure`'s names), shared by `image build` and `refvals create --disk`.
#[derive(Debug, clap::Args)]
pub struct SnpArgs {
    /// OVMF firmware: also compute the SEV-SNP launch digest
    #[arg(long, value_name = "FILE", help_heading = "SEV-SNP launch digest")]
    pub ovmf: Option<PathBuf>,
    /// Launch type: snp, sev-es or sev (and `snp measure --mode`'s other spellings: seves, SEV-SNP, ...)
    #[arg(
        long,
        value_name = "MODE",
        default_value = "snp",
        value_parser = parse_snp_mode,
        help_heading = "SEV-SNP launch digest"
    )]
    pub snp_mode: SevMode,
    /// Number of vCPUs
    #[arg(long, default_value_t = 1, help_heading = "SEV-SNP launch digest")]
    pub vcpus: u32,
    /// vCPU model (QEMU -cpu name, e.g. EPYC-v4)
    #[arg(long, value_name = "NAME", help_heading = "SEV-SNP launch digest")]
    pub vcpu_type: Option<String>,
    /// vCPU signature (CPUID 1 EAX), instead of --vcpu-type
    #[arg(long, value_name = "N", value_parser = parse_u64, help_heading = "SEV-SNP launch digest")]
    pub vcpu_sig: Option<u64>,
    /// vCPU family (with --vcpu-model and --vcpu-stepping); comes before --vcpu-sig and --vcpu-type
    #[arg(long, value_name = "N", value_parser = parse_u64, help_heading = "SEV-SNP launch digest")]
    pub vcpu_family: Option<u64>,
    /// vCPU model
    #[arg(long, value_name = "N", value_parser = parse_u64, help_heading = "SEV-SNP launch digest")]
    pub vcpu_model: Option<u64>,
    /// vCPU stepping
    #[arg(long, value_name = "N", value_parser = parse_u64, help_heading = "SEV-SNP launch digest")]
    pub vcpu_stepping: Option<u64>,
    /// Hypervisor: qemu, ec2 or gce (any case, as `snp measure --vmm-type` takes them)
    #[arg(
        long,
        value_name = "VMMTYPE",
        default_value = "qemu",
        value_parser = parse_vmm_type,
        help_heading = "SEV-SNP launch digest"
    )]
    pub vmm_type: VmmType,
    /// SEV features of the VMSAs (guest features)
    #[arg(long, value_name = "N", default_value = "0x1", value_parser = parse_u64, help_heading = "SEV-SNP launch digest")]
    pub guest_features: u64,
}

impl SnpArgs {
    /// The launch parameters, when `--ovmf` is given (`--vcpu-sig` must fit in 32 bits).
    pub fn params(&self) -> anyhow::Result<Option<yardstick_image::SnpParams>> {
        let Some(ovmf) = &self.ovmf else {
            return Ok(None);
        };
        let vcpu_sig = self
            .vcpu_sig
            .map(u32::try_from)
            .transpose()
            .map_err(|_| anyhow::anyhow!("--vcpu-sig: larger than 32 bits"))?;
        Ok(Some(yardstick_image::SnpParams {
            ovmf: ovmf.clone(),
            mode: self.snp_mode,
            vcpus: self.vcpus,
            vcpu_type: self.vcpu_type.clone(),
            vcpu_sig,
            vcpu_family: self.vcpu_family,
            vcpu_model: self.vcpu_model,
            vcpu_stepping: self.vcpu_stepping,
            vmm_type: self.vmm_type,
            guest_features: self.guest_features,
        }))
    }
}

/// The firmware PCRs' flags (`pcr predict --firmware`'s names), shared by `image build` and `refvals create`;
/// the VM's memory and vCPUs are those commands' `--memory` and `--vcpus`.
#[derive(Debug, clap::Args)]
pub struct FirmwarePcrArgs {
    /// OVMF code file (OVMF_CODE*.fd): also predict the firmware PCRs 0-3, 5, 6 of a QEMU + OVMF boot of the
    /// UKI from the disk with --memory and --vcpus, as `pcr predict --firmware` does, into the tpm section
    #[arg(
        long,
        value_name = "OVMF_CODE.fd",
        requires_all = ["platform", "memory"],
        help_heading = "Firmware PCRs (QEMU + OVMF)"
    )]
    pub firmware: Option<PathBuf>,
    /// Machine type (qemu-q35)
    #[arg(
        long,
        value_name = "PLATFORM",
        requires = "firmware",
        help_heading = "Firmware PCRs (QEMU + OVMF)"
    )]
    pub platform: Option<MachineType>,
    /// Network device (none, virtio-net, e1000e)
    #[arg(
        long,
        value_name = "NIC",
        default_value = "none",
        requires = "firmware",
        help_heading = "Firmware PCRs (QEMU + OVMF)"
    )]
    pub nic: Nic,
    /// The NIC's option ROM as QEMU maps it (e.g. /usr/lib/ipxe/qemu/efi-virtio.rom): its EFI drivers go
    /// into PCR 2
    #[arg(
        long,
        value_name = "ROM",
        requires = "firmware",
        help_heading = "Firmware PCRs (QEMU + OVMF)"
    )]
    pub nic_rom: Option<PathBuf>,
    /// A copy of /sys/firmware/qemu_fw_cfg/by_name from a guest of this VM booted with this firmware: QEMU's ACPI
    /// blobs, which edk2 2025.02 measures into PCR 1
    #[arg(
        long,
        value_name = "DIR",
        requires = "firmware",
        help_heading = "Firmware PCRs (QEMU + OVMF)"
    )]
    pub fw_cfg: Option<PathBuf>,
}

/// Flags of `image build`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("memory_user").multiple(true).args(["tdx_firmware", "firmware"])))]
pub struct BuildArgs {
    /// Root filesystem: a directory or an uncompressed tar archive
    #[arg(value_name = "ROOTFS")]
    pub rootfs: PathBuf,
    /// Output disk image (the cpio for --layout initrd)
    #[arg(long, short, value_name = "DISK")]
    pub output: PathBuf,
    /// Where to write the manifest [default: DISK.manifest.json]
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Disk layout
    #[arg(long, value_enum, default_value = "uki")]
    pub layout: LayoutArg,
    /// Root filesystem type
    #[arg(long, value_enum, default_value = "erofs")]
    pub fs: FsArg,
    /// Kernel (bzImage); required for --layout uki
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// Initrd for the UKI (uki) or for direct boot (kata)
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,
    /// systemd-stub (linuxx64.efi.stub); required for --layout uki
    #[arg(long, value_name = "FILE")]
    pub stub: Option<PathBuf>,
    /// os-release file for the UKI's .osrel section
    #[arg(long, value_name = "FILE")]
    pub os_release: Option<PathBuf>,
    /// Kernel command line; the verity parameters are appended to it
    #[arg(long, value_name = "STRING", default_value = "")]
    pub cmdline: String,
    #[command(flatten)]
    pub snp: SnpArgs,
    /// TDVF firmware (OVMF.fd of a TDX-enabled edk2): also predict MRTD and the RTMRs (the manifest's tdx
    /// section), as `tdx measure` does: a direct boot of --kernel with the initrd and the final cmdline for
    /// kata and initrd, MRTD only for uki (the UKI is loaded from disk); --vcpus is shared with SEV-SNP
    #[arg(
        long,
        value_name = "FILE",
        requires = "memory",
        help_heading = "Intel TDX measurement"
    )]
    pub tdx_firmware: Option<PathBuf>,
    /// Guest memory in MiB (-m), of the TDX guest and of the firmware PCRs' VM
    #[arg(
        long,
        value_name = "MIB",
        requires = "memory_user",
        help_heading = "Intel TDX measurement"
    )]
    pub memory: Option<u64>,
    /// The QEMU that boots the VM (MAJOR.MINOR[.PATCH]): how the kernel reaches TDX's firmware, and PCR 0 of
    /// edk2 2025.02's Secure Boot build (where QEMU delivered an SMI)
    #[arg(
        long,
        value_name = "V",
        default_value = DEFAULT_QEMU_VERSION,
        value_parser = parse_qemu_version,
        help_heading = "QEMU"
    )]
    pub qemu_version: QemuVersion,
    /// MRTD page order: single-pass or two-pass
    #[arg(
        long,
        value_name = "ORDER",
        default_value = DEFAULT_MRTD_ORDER,
        value_parser = parse_mrtd_order,
        help_heading = "Intel TDX measurement"
    )]
    pub mrtd_order: PageOrder,
    /// QEMU's etc/acpi/tables fw_cfg file for the TD's configuration (dumped once from a guest): also predict
    /// RTMR0 (kata and initrd layouts: a direct boot), as `tdx measure --acpi-tables` does
    #[arg(
        long,
        value_name = "FILE",
        requires = "tdx_firmware",
        help_heading = "Intel TDX measurement"
    )]
    pub tdx_acpi_tables: Option<PathBuf>,
    /// QEMU's etc/acpi/rsdp (default: derived from --tdx-acpi-tables)
    #[arg(
        long,
        value_name = "FILE",
        requires = "tdx_acpi_tables",
        help_heading = "Intel TDX measurement"
    )]
    pub tdx_acpi_rsdp: Option<PathBuf>,
    /// QEMU's etc/table-loader (default: derived from --tdx-acpi-tables)
    #[arg(
        long,
        value_name = "FILE",
        requires = "tdx_acpi_tables",
        help_heading = "Intel TDX measurement"
    )]
    pub tdx_acpi_loader: Option<PathBuf>,
    #[command(flatten)]
    pub firmware: FirmwarePcrArgs,
    /// Seed for every generated identifier (disk GUID, UUIDs, salt); pin it to keep them across input changes
    /// [default: a digest of every input (rootfs tree, kernel, initrd, stub, os-release, cmdline, layout,
    /// filesystem, SOURCE_DATE_EPOCH), printed]
    #[arg(long)]
    pub seed: Option<String>,
    /// dm-verity salt in hex ('-' for none) [default: derived from the seed]
    #[arg(long, value_name = "HEX")]
    pub salt: Option<String>,
    /// The guest's name for this disk, used in the kata dm table
    #[arg(long, value_name = "DEV", default_value = "/dev/vda")]
    pub disk_device: String,
    /// Print a JSON summary on stdout
    #[arg(long)]
    pub json: bool,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("{s:?} is not a number (decimal or 0x-hex)"))
}

/// Runs a `yardstick image` subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Build(a) => run_build(*a),
        Command::Inspect(a) => {
            let i = inspect_disk(&a.image, &a.disk)?;
            if a.json {
                ui::print_json(&i)?;
            } else {
                ui::print_text(&i.to_text())?;
            }
            Ok(verdict(&i))
        }
    }
}

fn run_build(a: BuildArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::pcr_predict::check_nic_rom(a.firmware.nic, a.firmware.nic_rom.as_deref())?;
    let json = a.json;
    let req = BuildRequest {
        rootfs: a.rootfs,
        output: a.output,
        manifest: a.manifest,
        layout: match a.layout {
            LayoutArg::Uki => Layout::Uki,
            LayoutArg::Kata => Layout::Kata,
            LayoutArg::Initrd => Layout::Initrd,
        },
        fs: match a.fs {
            FsArg::Erofs => FsType::Erofs,
            FsArg::Ext4 => FsType::Ext4,
            FsArg::Squashfs => FsType::Squashfs,
        },
        kernel: a.kernel,
        initrd: a.initrd,
        stub: a.stub,
        os_release: a.os_release,
        cmdline: a.cmdline,
        ovmf: a.snp.ovmf,
        snp_mode: a.snp.snp_mode,
        vcpus: a.snp.vcpus,
        vcpu_type: a.snp.vcpu_type,
        vcpu_sig: a.snp.vcpu_sig,
        vcpu_family: a.snp.vcpu_family,
        vcpu_model: a.snp.vcpu_model,
        vcpu_stepping: a.snp.vcpu_stepping,
        vmm_type: a.snp.vmm_type,
        guest_features: a.snp.guest_features,
        tdx_firmware: a.tdx_firmware,
        memory: a.memory,
        qemu_version: a.qemu_version,
        mrtd_order: a.mrtd_order,
        tdx_acpi_tables: a.tdx_acpi_tables,
        tdx_acpi_rsdp: a.tdx_acpi_rsdp,
        tdx_acpi_loader: a.tdx_acpi_loader,
        firmware: a.firmware.firmware,
        platform: a.firmware.platform.unwrap_or_default(),
        nic: a.firmware.nic,
        nic_rom: a.firmware.nic_rom,
        fw_cfg: a.firmware.fw_cfg,
        seed: a.seed,
        salt: a.salt,
        disk_device: a.disk_device,
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
    };
    let bar = ui::Bar::bytes("image");
    let report = request::run(&req, &bar);
    bar.finish();
    let report = report?;
    if json {
        // Serialized whole before anything is printed: an output or manifest path that is not UTF-8 fails
        // here, leaving stdout empty.
        ui::print_json(&serde_json::to_value(&report)?)?;
    } else {
        ui::print_text(&report.to_text())?;
    }
    Ok(ExitCode::SUCCESS)
}
