//! `yardstick pcr predict`: the PCRs a UKI booted by OVMF produces, computed offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use yardstick_common::fs::InputKind;
use yardstick_common::hash::Algorithm;
use yardstick_pe::uki::{EspFile, StubExtras};
use yardstick_tpm::PcrSpan;
use yardstick_tpm::predict::firmware::{
    BootDisk, MachineType, Nic, VmConfig, WholeSet, boot_disk, predict_firmware, vars_boot_options,
};
use yardstick_tpm::predict::{Platform, Prediction, SecureBootVars, predict, predict_file};

use super::read_input;
use crate::ui;

const EXAMPLES: &str = "\
Examples:
  yardstick pcr predict --uki uki.efi
  yardstick pcr predict --uki uki.efi --bank sha256 --json
  yardstick pcr predict --uki uki.efi --bank sha256 --events
  yardstick pcr predict --uki uki.signed.efi \\
      --secure-boot-vars /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
  yardstick pcr predict --uki multi-profile.efi --profile 1
  yardstick pcr predict --uki uki.efi --addon debug.addon.efi \\
      --credential my.cred --global-credential site.cred

Predicted: PCR 4 (boot application events, Authenticode of the UKI and of
.linux), 7 (Secure Boot variables and the db authority), 9 (Linux EFI stub:
command line and initrd; with .pcrsig/.pcrpkey, the initrd is .initrd plus the
cpio archives systemd-stub 252/254 makes of them; systemd-stub 257 puts .ucode
first and adds archives of .osrel and .profile too), 11 (systemd-stub sections;
after each boot phase in pcr11_phases), 12 (zero without extras; systemd-stub
257: the profile event with --profile N > 0, the addons' command line, the
credential and confext archives, addons' .ucode/.initrd) and 13 (zero; 257:
the sysext archive). With systemd-stub 257, --addon, --credential and the other
ESP-extra flags describe the files beside the UKI on the ESP (named as their
file names): addons are measured in PCR 4 and extend the command line, drop-ins
travel in cpio archives appended to the initrd (PCR 9).

Stub generations: 252, 254 and 257 are modelled from their sources; 255, 256
and 258+ (\"current\") get systemd main's table, and what their initrd may
differ in (.ucode, archives) is refused.

Platform defaults match Debian's OVMF (OVMF_CODE_4M.fd + OVMF_VARS_4M.fd, no
keys, Secure Boot off) on QEMU q35 with the boot disk at bootindex=0. Without
bootindex, q35 OVMF first tries the DVD drive: use --boot-retries 1.

The whole PCR set (PCRs 0-15) with --firmware:
  yardstick pcr predict --firmware /usr/share/OVMF/OVMF_CODE_4M.fd \\
      --platform qemu-q35 --memory 1024 --vcpus 1 --nic none --disk disk.img \\
      --uki uki.efi
  yardstick pcr predict --firmware OVMF_CODE_4M.fd --platform qemu-q35 \\
      --memory 1024 --vcpus 1 --disk disk.img --pcr 0-7 --json

Firmware PCRs (QEMU q35 + OVMF, checked by real boots of Debian 12's and 13's
OVMF_CODE_4M.fd and OVMF_CODE_4M.secboot.fd (SMM, Secure Boot) under QEMU
10.0 and Debian 12's 7.2, TCG): 0 (S-CRTM version, PEIFV as the PEIMs left
it, which depends on --memory and --vcpus, DXEFV, separator; for known
firmware builds and QEMU's default CPU under TCG, up to 978 GiB, Debian 12's
Secure Boot build up to 2048 MiB; Debian 13's Secure Boot build also holds
where QEMU delivered its SMM relocation's SMI: --qemu-version 7.2 or 10.0),
2, 3, 6 (a separator each; no option ROM without a NIC) and 5 (separator,
the boot disk's GPT when it has one, the ExitBootServices actions; needs
--disk). PCR 1 (BootOrder and the Boot#### options OVMF creates; Debian 12's
builds) assumes a fresh VARS (or one holding only OVMF's own options, as
Debian's snakeoil VARS) and the boot disk as the first virtio-blk (PCI
00:02.0) with bootindex=0, and needs --disk; edk2 2025.02 (Debian 13) also
measures QEMU's ACPI blobs there: give --fw-cfg, a copy of a guest's
/sys/firmware/qemu_fw_cfg/by_name from this VM booted with this firmware
(modprobe qemu_fw_cfg; cp -rL /sys/firmware/qemu_fw_cfg/by_name DIR, as root). With a NIC (--nic virtio-net,
or e1000e, q35's default when QEMU is not given -nic none), PCR 2 also holds
the EFI drivers of its option ROM: give the ROM file QEMU maps for it with
--nic-rom (/usr/lib/ipxe/qemu/efi-virtio.rom, efi-e1000e.rom on Debian).
Whatever is not predicted is named with why; PCRs 8, 10, 14 and 15 are not
measured by the firmware or the stub.";

/// What a PCR prediction needs: the UKI, the platform it boots on and the banks. Flattened into
/// `pcr predict` and `refvals create`, so both take the same flags and predict the same way.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The UKI (as installed on the ESP, signed if Secure Boot is on)
    #[arg(long, value_name = "UKI", required = true)]
    pub uki: Option<PathBuf>,
    /// PCR banks, comma separated
    #[arg(
        long,
        value_name = "BANKS",
        value_delimiter = ',',
        default_value = "sha1,sha256,sha384"
    )]
    pub bank: Vec<Algorithm>,
    /// OVMF VARS file whose Secure Boot variables (PK, KEK, db, dbx, SecureBootEnable) the firmware measures
    #[arg(long, value_name = "VARS.fd")]
    pub secure_boot_vars: Option<PathBuf>,
    /// Section table to use instead of the one detected from the stub's .sdmagic (252, 254, 257, current)
    #[arg(long, value_name = "GEN")]
    pub stub_generation: Option<yardstick_pe::StubGeneration>,
    /// Boot options the firmware tried and returned from before reaching the UKI
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub boot_retries: u32,
    /// UKI profile systemd-stub 257 boots ("@N" in its load options; 0 is the default)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub profile: u32,
    /// An addon beside the UKI on the ESP (<uki>.extra.d/NAME.addon.efi; systemd-stub 257), repeatable
    #[arg(long, value_name = "FILE")]
    pub addon: Vec<PathBuf>,
    /// A global addon on the ESP (/loader/addons/NAME.addon.efi; systemd-stub 257), repeatable
    #[arg(long, value_name = "FILE")]
    pub global_addon: Vec<PathBuf>,
    /// A credential beside the UKI on the ESP (<uki>.extra.d/NAME.cred; systemd-stub 257), repeatable
    #[arg(long, value_name = "FILE")]
    pub credential: Vec<PathBuf>,
    /// A global credential on the ESP (/loader/credentials/NAME.cred; systemd-stub 257), repeatable
    #[arg(long, value_name = "FILE")]
    pub global_credential: Vec<PathBuf>,
    /// A system extension beside the UKI on the ESP (<uki>.extra.d/NAME.raw; systemd-stub 257), repeatable
    #[arg(long, value_name = "FILE")]
    pub sysext: Vec<PathBuf>,
    /// A configuration extension beside the UKI (<uki>.extra.d/NAME.confext.raw; systemd-stub 257), repeatable
    #[arg(long, value_name = "FILE")]
    pub confext: Vec<PathBuf>,
}

/// Reads the files of one ESP-extra flag, each named on the ESP as its file name.
fn esp_files(flag: &str, paths: &[PathBuf], kind: InputKind) -> anyhow::Result<Vec<EspFile>> {
    paths
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .with_context(|| format!("{flag} {}: no UTF-8 file name", p.display()))?;
            Ok(EspFile {
                name: name.to_string(),
                data: read_input(p, kind)?,
            })
        })
        .collect()
}

/// A prediction and what it was made from.
pub struct Predicted {
    /// The UKI's bytes.
    pub uki: Vec<u8>,
    /// The predicted PCRs and events.
    pub prediction: Prediction,
    /// The banks, sorted and without repeats.
    pub banks: Vec<Algorithm>,
}

impl PredictArgs {
    /// The first ESP-extra flag given (`--addon`, `--credential`, ...), if any.
    pub fn esp_extra_flag(&self) -> Option<&'static str> {
        [
            ("--addon", &self.addon),
            ("--global-addon", &self.global_addon),
            ("--credential", &self.credential),
            ("--global-credential", &self.global_credential),
            ("--sysext", &self.sysext),
            ("--confext", &self.confext),
        ]
        .into_iter()
        .find(|(_, paths)| !paths.is_empty())
        .map(|(flag, _)| flag)
    }

    /// The platform the flags describe (reading the Secure Boot variables of `--secure-boot-vars`) and the
    /// banks, sorted and without repeats.
    pub fn platform(&self) -> anyhow::Result<(Platform, Vec<Algorithm>)> {
        let mut platform = Platform {
            boot_retries: self.boot_retries,
            stub_generation: self.stub_generation,
            profile: self.profile,
            ..Platform::default()
        };
        // Each flag's files checked alone, so that an error names the flag.
        let one = |flag: &str, paths: &[PathBuf], put: fn(&mut StubExtras, Vec<EspFile>)| {
            let kind = if flag.ends_with("addon") {
                InputKind::UKI
            } else {
                InputKind::INITRD
            };
            let mut alone = StubExtras::default();
            put(&mut alone, esp_files(flag, paths, kind)?);
            alone.check().with_context(|| flag.to_string())?;
            anyhow::Ok(alone)
        };
        let e = &mut platform.stub_extras;
        e.credentials =
            one("--credential", &self.credential, |e, v| e.credentials = v)?.credentials;
        e.global_credentials = one("--global-credential", &self.global_credential, |e, v| {
            e.global_credentials = v
        })?
        .global_credentials;
        e.sysexts = one("--sysext", &self.sysext, |e, v| e.sysexts = v)?.sysexts;
        e.confexts = one("--confext", &self.confext, |e, v| e.confexts = v)?.confexts;
        e.global_addons = one("--global-addon", &self.global_addon, |e, v| {
            e.global_addons = v
        })?
        .global_addons;
        e.addons = one("--addon", &self.addon, |e, v| e.addons = v)?.addons;
        if let Some(v) = &self.secure_boot_vars {
            let fd = read_input(v, InputKind::OVMF_VARS)?;
            platform.secure_boot =
                SecureBootVars::from_vars_fd(&fd).with_context(|| format!("{}", v.display()))?;
        }
        let mut banks = self.bank.clone();
        banks.sort();
        banks.dedup();
        Ok((platform, banks))
    }

    /// Reads the UKI and predicts its PCRs on the platform.
    pub fn predict(&self) -> anyhow::Result<Predicted> {
        let Some(path) = &self.uki else {
            anyhow::bail!("--uki is required");
        };
        let uki = read_input(path, InputKind::UKI)?;
        let (platform, banks) = self.platform()?;
        let prediction =
            predict(&uki, &platform, &banks).with_context(|| format!("{}", path.display()))?;
        Ok(Predicted {
            uki,
            prediction,
            banks,
        })
    }

    /// [`PredictArgs::predict`] without keeping the UKI's bytes: its large sections are hashed straight from
    /// the file (`predict_file`).
    pub fn predict_streamed(&self) -> anyhow::Result<(Prediction, Vec<Algorithm>)> {
        let Some(path) = &self.uki else {
            anyhow::bail!("--uki is required");
        };
        let (platform, banks) = self.platform()?;
        let prediction = predict_uki_file(path, &platform, &banks)?;
        Ok((prediction, banks))
    }
}

/// `predict_file`, its errors in the CLI's words: a file that cannot be read as `read_input` says it, any
/// other error after the file's name.
fn predict_uki_file(
    path: &std::path::Path,
    platform: &Platform,
    banks: &[Algorithm],
) -> anyhow::Result<Prediction> {
    use yardstick_common::fs::InputError;
    use yardstick_tpm::predict::PredictError;
    predict_file(path, platform, banks).map_err(|e| match e {
        PredictError::Input(
            InputError::Open { path, source } | InputError::Read { path, source },
        ) => anyhow::Error::new(source).context(format!("{}: cannot read", path.display())),
        PredictError::Input(e) => e.into(),
        e => anyhow::Error::new(e).context(format!("{}", path.display())),
    })
}

/// The firmware and the VM it runs in, for the firmware PCRs.
#[derive(Debug, clap::Args)]
pub struct FirmwareArgs {
    /// OVMF code file (OVMF_CODE*.fd): also predict the firmware PCRs and print PCRs 0-15
    #[arg(long, value_name = "OVMF_CODE.fd", requires_all = ["platform", "memory", "vcpus"])]
    firmware: Option<PathBuf>,
    /// OVMF VARS file the VM boots with: its Secure Boot variables are PCR 7's (like --secure-boot-vars)
    #[arg(
        long,
        value_name = "VARS.fd",
        requires = "firmware",
        conflicts_with = "secure_boot_vars"
    )]
    vars: Option<PathBuf>,
    /// Machine type (qemu-q35)
    #[arg(long, value_name = "PLATFORM", requires = "firmware")]
    platform: Option<MachineType>,
    /// Guest memory in MiB
    #[arg(long, value_name = "MIB", requires = "firmware")]
    memory: Option<u32>,
    /// vCPUs
    #[arg(long, value_name = "N", requires = "firmware")]
    vcpus: Option<u32>,
    /// Network device (none, virtio-net, e1000e)
    #[arg(
        long,
        value_name = "NIC",
        default_value = "none",
        requires = "firmware"
    )]
    nic: Nic,
    /// The NIC's option ROM as QEMU maps it (e.g. /usr/lib/ipxe/qemu/efi-virtio.rom): its EFI drivers go
    /// into PCR 2
    #[arg(long, value_name = "ROM", requires = "firmware")]
    nic_rom: Option<PathBuf>,
    /// A copy of /sys/firmware/qemu_fw_cfg/by_name from a guest of this VM booted with this firmware (cp -rL,
    /// as root; module qemu_fw_cfg): QEMU's ACPI blobs, which edk2 2025.02 measures into PCR 1
    #[arg(long, value_name = "DIR", requires = "firmware")]
    fw_cfg: Option<PathBuf>,
    /// The QEMU that boots the VM (MAJOR.MINOR[.PATCH]): the Secure Boot build of edk2 2025.02 measures
    /// where QEMU delivered an SMI into PCR 0 (7.2 and 10.0 modelled)
    #[arg(
        long,
        value_name = "V",
        default_value = crate::cmd::tdx::DEFAULT_QEMU_VERSION,
        value_parser = crate::cmd::tdx::parse_qemu_version
    )]
    qemu_version: yardstick_common::qemu::QemuVersion,
    /// The boot disk image (its GPT goes into PCR 5); without it PCR 5 is not predicted
    #[arg(long, value_name = "IMAGE", requires = "firmware")]
    disk: Option<PathBuf>,
    /// Only these PCRs (e.g. 0-7,9; default 0-15)
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        requires = "firmware"
    )]
    pcr: Vec<PcrSpan>,
}

/// Flags of `yardstick pcr predict`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
#[command(mut_args(|a| if a.get_id() == "uki" { a.required(false) } else { a }))]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true).args(["uki", "firmware"])))]
pub struct Args {
    #[command(flatten)]
    predict: PredictArgs,
    #[command(flatten)]
    firmware: FirmwareArgs,
    /// Print JSON: {"<bank>": {"<pcr>": "<hex>"}, "pcr11_phases": {"<bank>": {"<phase>": "<hex>"}}}
    #[arg(long, conflicts_with = "events")]
    json: bool,
    /// Also list the predicted event log entries (PCR, type, what, digest in the first bank)
    #[arg(long)]
    events: bool,
    /// Also say on stderr how each bank hashed the UKI's long streams (two at a time or one at a time) and
    /// the rates measured to choose
    #[arg(long, short = 'v')]
    verbose: bool,
}

/// Runs the command.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.firmware.firmware.is_some() {
        return run_firmware(a);
    }
    let (p, banks) = a.predict.predict_streamed()?;
    if a.verbose {
        ui::print_stream_choices(&banks);
    }
    if a.json {
        ui::print_json(&p)?;
    } else {
        ui::print_text(&p.to_text(&banks, a.events))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The ACPI blobs of `--fw-cfg`.
fn fw_cfg_acpi(
    dir: Option<&std::path::Path>,
) -> anyhow::Result<Option<yardstick_tpm::predict::fw_cfg_acpi::FwCfgAcpi>> {
    dir.map(|d| yardstick_tpm::predict::fw_cfg_acpi::FwCfgAcpi::read_dir(d).context("--fw-cfg"))
        .transpose()
}

/// `--nic-rom` needs a NIC.
pub(crate) fn check_nic_rom(nic: Nic, rom: Option<&std::path::Path>) -> anyhow::Result<()> {
    if rom.is_some() && nic == Nic::None {
        anyhow::bail!("--nic-rom: needs a NIC (--nic virtio-net or e1000e)");
    }
    Ok(())
}

/// The bytes of `--nic-rom`, which needs a NIC.
fn nic_rom(nic: Nic, rom: Option<&std::path::Path>) -> anyhow::Result<Option<Vec<u8>>> {
    check_nic_rom(nic, rom)?;
    let Some(p) = rom else {
        return Ok(None);
    };
    let bytes = read_input(p, InputKind::OPTION_ROM)?;
    yardstick_tpm::predict::option_rom::check_rom(&bytes)
        .with_context(|| format!("{}", p.display()))?;
    Ok(Some(bytes))
}

/// `pcr predict --firmware`: the firmware PCRs, with the UKI's when `--uki` is given, as PCRs 0-15.
fn run_firmware(a: Args) -> anyhow::Result<ExitCode> {
    let f = &a.firmware;
    let Some(path) = &f.firmware else {
        anyhow::bail!("--firmware is required");
    };
    let code = read_input(path, InputKind::FIRMWARE)?;
    let disk = match &f.disk {
        Some(d) => boot_disk(d)?,
        None => BootDisk::Unknown,
    };
    let (mut platform, banks) = a.predict.platform()?;
    let mut boot_options = Vec::new();
    if let Some(v) = &f.vars {
        let fd = read_input(v, InputKind::OVMF_VARS)?;
        platform.secure_boot =
            SecureBootVars::from_vars_fd(&fd).with_context(|| format!("{}", v.display()))?;
        boot_options = vars_boot_options(&fd).with_context(|| format!("{}", v.display()))?;
    }
    let vm = VmConfig {
        machine: f.platform.unwrap_or_default(),
        memory_mib: f.memory.unwrap_or_default(),
        vcpus: f.vcpus.unwrap_or_default(),
        nic: f.nic,
        nic_rom: nic_rom(f.nic, f.nic_rom.as_deref())?,
        fw_cfg_acpi: fw_cfg_acpi(f.fw_cfg.as_deref())?,
        disk,
        vars_boot_options: boot_options,
        qemu_version: f.qemu_version,
    };
    let firmware =
        predict_firmware(&code, &vm, &banks).with_context(|| format!("{}", path.display()))?;
    let uki = match &a.predict.uki {
        Some(u) => Some(predict_uki_file(u, &platform, &banks)?),
        None => None,
    };
    let selected = if f.pcr.is_empty() {
        (0..16).collect()
    } else {
        PcrSpan::flatten(&f.pcr)
    };
    let whole = WholeSet::new(firmware, uki, selected);
    if a.verbose {
        ui::print_stream_choices(&banks);
    }
    if a.json {
        ui::print_json(&whole)?;
    } else {
        ui::print_text(&whole.to_text(&banks, a.events))?;
    }
    Ok(ExitCode::SUCCESS)
}
