//! The firmware PCRs (0-3, 5, 6) of QEMU q35 + OVMF + a vTPM, predicted from the firmware file, the VM
//! configuration and the boot disk, where they are bit-exact with a real boot; refused, with the reason,
//! where they are not.
//!
//! What OVMF (edk2's OvmfPkg with Tcg2Pei/Tcg2Dxe; Debian 12's 2022.11 and Debian 13's 2025.02 builds, plain
//! and Secure Boot (SMM), checked by
//! `crates/cli/tests/boot_firmware_pcrs.rs`) measures there:
//!
//! | PCR | events, in order | here |
//! |---|---|---|
//! | 0 | `EV_S_CRTM_VERSION`, `EV_EFI_PLATFORM_FIRMWARE_BLOB` PEIFV, DXEFV, separator | predicted for the firmware builds whose PEIM globals in PEIFV are known (PEIFV is measured after PlatformPei, and in edk2 2025.02's SMM builds its SMM relocation, wrote them into it: `docs/firmware-pcrs.md`), with QEMU's default CPU under TCG, up to 978 GiB (for 2025.02's SMM build, under QEMU 7.2 or 10.0); refused otherwise |
//! | 1 | `EV_EFI_VARIABLE_BOOT` BootOrder and each Boot####, separator (2025.02: QEMU's ACPI tables first) | predicted with a fresh VARS (or one holding only OVMF's own options), the boot disk a virtio-blk at 00:02.0 with `bootindex=0`, GPT or whole-disk FAT, and for 2025.02 builds QEMU's ACPI blobs as a guest saw them; refused otherwise |
//! | 2 | the EFI drivers of a NIC's option ROM (`EV_EFI_BOOT_SERVICES_DRIVER`, Authenticode: [`super::option_rom`]), separator | predicted; with a NIC, given its ROM file |
//! | 3, 6 | separator | predicted |
//! | 5 | separator; `EV_EFI_GPT_EVENT` when the boot file is on a GPT disk; `EV_EFI_ACTION` "Exit Boot Services Invocation", "... Returned with Success" | predicted with the boot disk ([`boot_disk`]) |
//!
//! PCRs 4, 7, 9, 11-13 are [`super::predict`]'s; 8, 10, 14 and 15 are not measured by the firmware or
//! systemd-stub.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_common::qemu::QemuVersion;

use yardstick_common::guid;
use yardstick_common::guid::Guid;

use super::option_rom::{OptionRomError, RomDriver, rom_drivers};
use super::ovmf_fv::{FvError, MainVolumes, main_volumes};
use super::{PredictedEvent, PredictedEventKind, SEPARATOR, action, data_event};
use crate::pcr::PcrBanks;

/// The machine types modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MachineType {
    /// QEMU's `q35` machine.
    #[default]
    QemuQ35,
}

impl std::str::FromStr for MachineType {
    type Err = String;
    fn from_str(s: &str) -> Result<MachineType, String> {
        match s {
            "qemu-q35" => Ok(MachineType::QemuQ35),
            other => Err(format!(
                "{other:?} is not a modelled platform (modelled: qemu-q35)"
            )),
        }
    }
}

/// The network device of the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Nic {
    /// No NIC (`-nic none` or no network device).
    #[default]
    None,
    /// A virtio-net PCI NIC (QEMU's ROM for it: iPXE's `efi-virtio.rom`).
    VirtioNet,
    /// An Intel e1000e PCI NIC, q35's default when no NIC is named (QEMU's ROM: iPXE's `efi-e1000e.rom`).
    E1000e,
}

impl Nic {
    /// The option ROM file QEMU maps for this NIC by default (its `romfile` property), looked up in QEMU's
    /// firmware path (`/usr/lib/ipxe/qemu` on Debian).
    pub fn default_rom_file(self) -> Option<&'static str> {
        match self {
            Nic::None => None,
            Nic::VirtioNet => Some("efi-virtio.rom"),
            Nic::E1000e => Some("efi-e1000e.rom"),
        }
    }
}

impl std::fmt::Display for Nic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Nic::None => "none",
            Nic::VirtioNet => "virtio-net",
            Nic::E1000e => "e1000e",
        })
    }
}

impl std::str::FromStr for Nic {
    type Err = String;
    fn from_str(s: &str) -> Result<Nic, String> {
        match s {
            "none" => Ok(Nic::None),
            "virtio-net" => Ok(Nic::VirtioNet),
            "e1000e" => Ok(Nic::E1000e),
            other => Err(format!(
                "{other:?} is not a NIC model (none, virtio-net, e1000e)"
            )),
        }
    }
}

/// The VM the firmware runs in.
#[derive(Debug, Clone, Default)]
pub struct VmConfig {
    /// The machine type.
    pub machine: MachineType,
    /// Guest memory in MiB (`-m`).
    pub memory_mib: u32,
    /// vCPUs (`-smp`).
    pub vcpus: u32,
    /// The NIC.
    pub nic: Nic,
    /// The NIC's option ROM as QEMU maps it (the `romfile`, e.g. `/usr/lib/ipxe/qemu/efi-virtio.rom`): its EFI
    /// drivers are measured into PCR 2. Without it, a NIC's PCR 2 is refused.
    pub nic_rom: Option<Vec<u8>>,
    /// The boot disk, as far as PCRs 1 and 5 need it.
    pub disk: BootDisk,
    /// The load-option variables of the VARS file the VM starts from ([`vars_boot_options`]; none in a fresh
    /// VARS such as Debian's `OVMF_VARS_4M.fd`). PCR 1 is predicted when they are none, or only Boot####
    /// options that are OVMF's own UiApp and shell options and options BDS created itself (Debian's
    /// `OVMF_VARS_4M.snakeoil.fd`); refused otherwise. A DriverOrder also refuses PCR 2.
    pub vars_boot_options: Vec<(String, Vec<u8>)>,
    /// QEMU's ACPI fw_cfg blobs as a guest of this VM (booted with this firmware) sees them: PCR 1 of edk2
    /// 2025.02 measures them before the boot variables; without them that PCR 1 is refused.
    pub fw_cfg_acpi: Option<super::fw_cfg_acpi::FwCfgAcpi>,
    /// The QEMU that boots the VM (`--qemu-version`; default 10.0). Only edk2 2025.02's Secure Boot build
    /// depends on it: its PEIFV measurement holds where the boot processor was when QEMU's TCG delivered the
    /// SMM relocation's self-SMI, which moved between QEMU 7.2 and 10.0 (`docs/firmware-pcrs.md`).
    pub qemu_version: QemuVersion,
}

/// The load-option variables (name, data) a VARS file (`OVMF_VARS*.fd`) holds: BootOrder, BootNext,
/// DriverOrder, SysPrepOrder and the Boot####, Driver####, SysPrep#### options.
pub fn vars_boot_options(vars_fd: &[u8]) -> Result<Vec<(String, Vec<u8>)>, super::PredictError> {
    let vars = super::ovmf_vars::parse_variable_store(vars_fd)?;
    let numbered = |name: &str, prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| n.len() == 4 && n.chars().all(|c| c.is_ascii_hexdigit()))
    };
    Ok(vars
        .into_iter()
        .filter(|v| {
            v.vendor == crate::guids::EFI_GLOBAL_VARIABLE
                && (["BootOrder", "BootNext", "DriverOrder", "SysPrepOrder"]
                    .contains(&v.name.as_str())
                    || ["Boot", "Driver", "SysPrep"]
                        .iter()
                        .any(|p| numbered(&v.name, p)))
        })
        .map(|v| (v.name, v.data))
        .collect())
}

/// What the firmware measures of the boot disk (PCR 5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BootDisk {
    /// Not given: PCR 5 is not predicted.
    #[default]
    Unknown,
    /// A disk without GPT and not a whole-disk FAT (e.g. MBR): no `EV_EFI_GPT_EVENT`.
    NoGpt,
    /// A FAT filesystem over the whole disk (no partition table): no `EV_EFI_GPT_EVENT`.
    WholeDiskFat,
    /// A GPT disk: the `EV_EFI_GPT_EVENT` data ([`gpt_event_data`]).
    Gpt(Vec<u8>),
}

/// Why the firmware PCRs could not be predicted at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FirmwareError {
    /// The firmware file is not an OVMF code file this module reads.
    #[error(transparent)]
    Volumes(#[from] FvError),
    /// The disk image could not be read.
    #[error("{path}: {source}")]
    Disk {
        /// The disk image.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The disk's GPT is not usable.
    #[error("{0}")]
    Gpt(String),
    /// The configuration is outside what is modelled.
    #[error("{0}")]
    NotModelled(String),
    /// The NIC's option ROM is not a PCI option ROM.
    #[error("the NIC's option ROM: {0}")]
    OptionRom(OptionRomError),
}

/// What is known about one PCR.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "reason")]
pub enum PcrStatus {
    /// Predicted: the value is in the prediction's banks.
    Predicted,
    /// Measured by the firmware but not predicted, for the reason given.
    Refused(String),
    /// Left at zero by the firmware and systemd-stub (the OS may extend it later).
    NotMeasured(String),
}

/// The firmware PCRs of one boot.
#[derive(Debug, Clone)]
pub struct FirmwarePrediction {
    /// The predicted PCRs per bank.
    pub pcrs: PcrBanks,
    /// The events of the predicted PCRs, in log order per PCR.
    pub events: Vec<PredictedEvent>,
    /// PCRs 0-3, 5, 6: predicted or refused (with the reason).
    pub status: BTreeMap<u32, PcrStatus>,
    /// The SHA-256 of PEIFV and DXEFV as SEC decompresses them (DXEFV's is its PCR 0 event digest).
    pub volumes: VolumeDigests,
    /// Whether the firmware was built with Secure Boot support (SecureBootConfigDxe in DXEFV, which edk2's
    /// `SECURE_BOOT_ENABLE` brings together with AuthVariableLib); `None` when DXEFV's files cannot be listed.
    /// A build without it (Debian 13's `OVMF_CODE_4M.fd`) leaves the SecureBoot variable undefined, so Tcg2Dxe
    /// measures it as empty data ([`super::Prediction::with_secure_boot_variable_absent`], which
    /// [`WholeSet::new`] applies), and does not enforce keys a VARS file enrolls.
    pub secure_boot_support: Option<bool>,
    /// The known firmware build PCR 0 was predicted for (none when PCR 0 is refused).
    pub build: Option<BuildInfo>,
}

/// A known firmware build, as a prediction names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInfo {
    /// What it is ("Debian 12 ovmf 2022.11-6+deb12u2 OVMF_CODE_4M.secboot.fd").
    pub name: &'static str,
    /// Whether it needs SMM (QEMU `smm=on`): the Secure Boot builds.
    pub smm: bool,
}

/// The SHA-256 digests of the decompressed main volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeDigests {
    /// PEIFV as decompressed (not what Tcg2Pei measures: PlatformPei's globals are written by then).
    pub peifv: Digest,
    /// DXEFV as decompressed: the digest of its `EV_EFI_PLATFORM_FIRMWARE_BLOB` event.
    pub dxefv: Digest,
}

/// The firmware PCRs this module knows of, in order.
pub const FIRMWARE_PCRS: [u32; 6] = [0, 1, 2, 3, 5, 6];

/// What the PEIFV measurement depends on, as a refusal of PCR 0 says it.
pub const PCR0_REFUSAL: &str = "PCR 0 measures PEIFV after the PEIMs that run in place from it wrote their \
globals into it (edk2 2022.11's PlatformPei: memory map, PCI apertures, vCPU counts, S3 reserved memory)";

/// A firmware build whose PEIFV, as Tcg2Pei measures it, is modelled: which globals of the PEIMs that ran in
/// place from it are set by then, and where. Found by capturing the measured bytes
/// (`scripts/capture-peifv.py`) and checked by boots.
#[derive(Debug)]
struct KnownBuild {
    /// What it is.
    name: &'static str,
    /// SHA-256 of PEIFV as decompressed.
    peifv_sha256: &'static str,
    /// The `EV_S_CRTM_VERSION` data: `PcdFirmwareVersionString` (built into Tcg2Pei, so part of PEIFV),
    /// UTF-16LE with its NUL.
    crtm_version: &'static [u8],
    /// The globals written before the measurement.
    globals: PeiGlobals,
    /// Whether PCR 1 also holds QEMU's ACPI fw_cfg blobs before the boot variables (2025.02), or only the
    /// boot variables (2022.11).
    pcr1_acpi_data: bool,
}

/// The PEIM globals in a PEIFV when Tcg2Pei measures it.
#[derive(Debug)]
enum PeiGlobals {
    /// edk2 2022.11: PlatformPei's `mPlatformInfoHob` (the packed `EFI_HOB_PLATFORM_INFO`) at `offset`,
    /// followed by QemuFwCfgPeiLib's `mQemuFwCfgSupported` and `mQemuFwCfgDmaSupported` ([`platform_info_2022`]).
    PlatformInfo2022(PlatformInfo2022),
    /// Bytes that are the same for every memory size and vCPU count: (offset, value).
    Fixed(&'static [(usize, &'static [u8])]),
    /// edk2 2025.02 with SMM: the fixed bytes, and UefiCpuPkg's SmmRelocationLib, which PlatformPei runs in
    /// place from PEIFV before Tcg2Pei measures it ([`smm_relocation_2025`]).
    SmmRelocation2025(&'static [(usize, &'static [u8])], SmmRelocation2025),
}

/// Where edk2 2025.02's SmmRelocationLib (`UefiCpuPkg/Library/SmmRelocationLib`, linked into PlatformPei of an
/// SMM build) leaves its state in PEIFV, and how the values follow the VM. `SmmRelocationInit` patches the
/// immediates of its SMI entry template (`SmmInit.nasm`: CR0, CR3, CR4, the long-mode jump, the stack, the
/// semaphore addresses), keeps the processor counts, the last SMBASE, the relocation IDT's descriptor and the
/// return address it hooked in globals, all inside the running PEIM, so all of it is in the measured volume.
///
/// The addresses that move are below TSEG (the top [`QEMU_TSEG_MBYTES`] of RAM below 4 GiB):
/// the stack page (`AllocatePages` from the top of PEI memory, below the S3 and MP buffers, which grow with
/// the vCPUs) and the IDT (`AllocateZeroPool`, in the HOB list at the bottom of PEI memory, after one
/// resource HOB more when there is RAM above 4 GiB). Every field was read from captures
/// (`scripts/capture-peifv.py --smm`, QEMU 10.0.2 and 7.2.22 TCG, the default CPU): every vCPU count from 1
/// to 64, memory from 256 MiB to 978 GiB, 86 captures, all reproduced byte for byte.
#[derive(Debug)]
struct SmmRelocation2025 {
    /// The `mov rsp, imm64` immediate (`gPatchSmmInitStack`): the last 8 bytes of the stack page.
    stack_at: usize,
    /// How far below TSEG that stack top is with one vCPU.
    stack_below_tseg: u64,
    /// How much lower it is per further vCPU (the S3 reserved memory's and MpInitLib's AP stacks).
    stack_per_vcpu: u64,
    /// The vCPU counts from which it is one page lower again (page-rounded buffers of per-vCPU entries),
    /// read from the captures of 1 to 64 vCPUs.
    stack_extra_page_from: &'static [u32],
    /// `mMaxNumberOfCpus` and `mNumberOfCpus` (UINTN; 1 in the file): the vCPUs (no CPU hotplug, so the
    /// maximum is the count QEMU starts with).
    vcpu_counts_at: [usize; 2],
    /// `mSmmRelocationOriginalAddress` (UINTN): the return address `SemaphoreHook` took from the boot
    /// processor's save state, where it was when its own SMI arrived.
    resume_at: usize,
    /// That address per QEMU (major, minor): QEMU 10.0's TCG takes the SMI right after the store to the local
    /// APIC's ICR (inside `SendSmiIpi`'s register write), 7.2's only at the end of the translation block,
    /// after that write function returned.
    resume: &'static [((u32, u32), u64)],
    /// `mSmBase` (UINT64): the boot processor's new SMBASE, `SmmRelocationStart - 0x8000` (processor 0),
    /// the relocation area starting one page (OVMF's reserved first TSEG page) into TSEG.
    sm_base_at: usize,
    /// `gcSmmInitIdtr` (packed `IA32_DESCRIPTOR`): limit (32 gates - 1) and base.
    idtr_at: usize,
    /// How far below TSEG the IDT base is with one vCPU and no RAM above 4 GiB.
    idt_below_tseg: u64,
    /// How much lower it is per further vCPU.
    idt_per_vcpu: u64,
    /// How much higher it is with RAM above 4 GiB (one more `EFI_HOB_RESOURCE_DESCRIPTOR` before it).
    idt_high_memory_hob: u64,
    /// The smallest memory captured.
    min_memory_mib: u32,
}

/// TSEG, the SMRAM at the top of RAM below 4 GiB, in MiB: QEMU's default (`mch.extended-tseg-mbytes`), which
/// PlatformPei reads as `Q35TsegMbytes` and takes off the top of low RAM before its PEI and S3 memory. Another
/// size is not modelled.
const QEMU_TSEG_MBYTES: u16 = 16;

/// What an SMM build of edk2 2022.11 (Debian's `OVMF_CODE_4M.secboot.fd`) adds to its PEIFV measurement.
#[derive(Debug)]
struct Smm2022 {
    /// Bytes outside the platform info that change, to the same value in every capture: (offset in PEIFV,
    /// value in the file, value measured).
    changed: &'static [(usize, &'static [u8], &'static [u8])],
    /// The largest memory captured and booted (above 2 GiB of RAM below 4 GiB the SMRAM layout is not checked).
    max_memory_mib: u32,
}

/// Where an edk2 2022.11 build keeps PlatformPei's platform info in PEIFV, and the build-time PCDs its values
/// are computed from.
#[derive(Debug)]
struct PlatformInfo2022 {
    /// Offset of `mPlatformInfoHob` in PEIFV.
    offset: usize,
    /// `PcdCpuApStackSize`: the S3 reserved memory is 512 KiB plus this per vCPU.
    ap_stack_size: u32,
    /// `PcdPciExpressBaseAddress`: q35's MMCONFIG base; the 32-bit PCI window starts 256 MiB above it, and
    /// `Uc32Base` is it when more than 2 GiB of RAM is below 4 GiB.
    pci_express_base: u32,
    /// `PcdPciMmio64Size`: the default 64-bit PCI aperture, which places FirstNonAddress.
    pci_mmio64_size: u64,
    /// A Secure Boot build that needs SMM (QEMU `smm=on`).
    smm: Option<Smm2022>,
}

/// Debian 12's OVMF_CODE_4M.fd builds (OvmfPkgX64.dsc of edk2 2022.11), as the captures show them
/// (`docs/firmware-pcrs.md`): `Uc32Base` 0xb000_0000 at 2049-2815 MiB, the 32-bit window from 0xc000_0000, a
/// classic 64-bit aperture of 32 GiB above 862 GiB, 0x90000 bytes of S3 memory with 2 vCPUs.
const DEBIAN12_PLATFORM_INFO: PlatformInfo2022 = PlatformInfo2022 {
    offset: 0xe0c0,
    ap_stack_size: 0x8000,
    pci_express_base: 0xb000_0000,
    pci_mmio64_size: 0x8_0000_0000,
    smm: None,
};

/// Debian 12's Secure Boot build (OVMF_CODE_4M.secboot.fd: OvmfPkgX64.dsc with SMM), captured at 512, 1024 and
/// 2048 MiB with 1 vCPU and 1024 MiB with 2: the platform info at the same offset with the SMM fields set, the
/// S3 reserved memory below TSEG, and a value at 0xe0a4 whose low 16 bits are 0x100 in the file and 0x246 in every
/// capture (not identified: inside a table of (id, value) pairs before the platform info).
const DEBIAN12_SECBOOT_PLATFORM_INFO: PlatformInfo2022 = PlatformInfo2022 {
    smm: Some(Smm2022 {
        changed: &[(0xe0a4, &[0x00, 0x01], &[0x46, 0x02])],
        max_memory_mib: 2048,
    }),
    ..DEBIAN12_PLATFORM_INFO
};

/// UTF-16LE of "2025.02-8+deb13u1" with its NUL.
const DEB13U1_VERSION: &[u8] = &[
    b'2', 0, b'0', 0, b'2', 0, b'5', 0, b'.', 0, b'0', 0, b'2', 0, b'-', 0, b'8', 0, b'+', 0, b'd',
    0, b'e', 0, b'b', 0, b'1', 0, b'3', 0, b'u', 0, b'1', 0, 0, 0,
];

/// Debian 13's Secure Boot build (OVMF_CODE_4M.secboot.fd of edk2 2025.02, SMM): the bytes its PEIM globals
/// and SmmRelocationLib's patched template hold in every capture. PEIFV runs at 0x820000, so the code and data
/// addresses in it are fixed.
const DEBIAN13_SECBOOT_FIXED: &[(usize, &[u8])] = &[
    // PeiCore's BaseAcpiTimerLib `mAcpiTimerIoAddr` (as in the build without SMM).
    (0x6e50, &[0x08, 0x06]),
    // gPatchSmmInitCr3: PEI's page tables, built by SEC at 0x800000 (PcdOvmfSecPageTablesBase).
    (0x16c6d, &[0x00, 0x00, 0x80, 0x00]),
    // gPatchSmmInitCr4: 0x660 (PAE, MCE, OSFXSR, OSXMMEXCPT).
    (0x16c80, &[0x60, 0x06, 0x00, 0x00]),
    // gPatchSmmInitCr0: 0x8000_0033 (PG, NE, ET, MP, PE).
    (0x16ca5, &[0x33, 0x00, 0x00, 0x80]),
    // The far jump's offset: @LongMode (0x836cb4).
    (0x16cae, &[0xb4, 0x6c, 0x83, 0x00]),
    // gcSmmInitTemplate's @L1: SmmStartup (0x836c60).
    (0x16d54, &[0x60, 0x6c, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00]),
    // gPatchRebasedFlagAddr32: &mRebased (0x838140).
    (0x16d72, &[0x40, 0x81, 0x83, 0x00]),
    // gPatchSmmRelocationOriginalAddressPtr32: &mSmmRelocationOriginalAddress (0x838130).
    (0x16d7c, &[0x30, 0x81, 0x83, 0x00]),
    // mRebasedFlag: &mRebased.
    (0x18138, &[0x40, 0x81, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00]),
    // mRebased: TRUE after the boot processor's relocation.
    (0x18140, &[0x01]),
];

/// Debian 13's Secure Boot build: SmmRelocationLib's moving fields ([`SmmRelocation2025`]).
const DEBIAN13_SECBOOT_SMM: SmmRelocation2025 = SmmRelocation2025 {
    stack_at: 0x16cb6,
    stack_below_tseg: 0xb_e008,
    stack_per_vcpu: 0x1_0000,
    stack_extra_page_from: &[9, 26, 33, 43, 61],
    vcpu_counts_at: [0x18060, 0x18068],
    resume_at: 0x18130,
    // Inside LocalApicLib's register write (after `mov [rsi], ebx`) and after its call in SendSmiIpi.
    resume: &[((10, 0), 0x83_00cd), ((7, 2), 0x83_0160)],
    sm_base_at: 0x18148,
    idtr_at: 0x19188,
    idt_below_tseg: 0x447_08a8,
    idt_per_vcpu: 0xffc8,
    idt_high_memory_hob: 0x30,
    min_memory_mib: 256,
};

/// The builds whose PEIFV measurement is modelled.
const KNOWN_BUILDS: &[KnownBuild] = &[
    KnownBuild {
        name: "Debian 12 ovmf 2022.11-6+deb12u2 OVMF_CODE_4M.fd",
        peifv_sha256: "471281a7d197d12ac61a810e5150b9b5ddc47be78ef0c24af7a8192c81b3a808",
        crtm_version: &[0, 0],
        globals: PeiGlobals::PlatformInfo2022(DEBIAN12_PLATFORM_INFO),
        pcr1_acpi_data: false,
    },
    KnownBuild {
        // The Secure Boot build (SMM required): DEBIAN12_SECBOOT_PLATFORM_INFO.
        name: "Debian 12 ovmf 2022.11-6+deb12u2 OVMF_CODE_4M.secboot.fd",
        peifv_sha256: "dd099b33f9e54526542b92036e12aed1af73d17f0cdeaa12ab02b1030953ac4c",
        crtm_version: &[0, 0],
        globals: PeiGlobals::PlatformInfo2022(DEBIAN12_SECBOOT_PLATFORM_INFO),
        pcr1_acpi_data: false,
    },
    KnownBuild {
        // Captured (512 MiB/2 vCPUs, 1024/1, 2560/1, 8192/2, 65536/1) but not booted in the suite;
        // bookworm-security's build.
        name: "Debian 12 ovmf 2022.11-6+deb12u1 OVMF_CODE_4M.fd",
        peifv_sha256: "1440b60c780300e2f89f2e41889c925c67edcb2586fce49d37bf6561b467e9ce",
        crtm_version: &[0, 0],
        globals: PeiGlobals::PlatformInfo2022(DEBIAN12_PLATFORM_INFO),
        pcr1_acpi_data: false,
    },
    KnownBuild {
        name: "Debian 13 ovmf 2025.02-8+deb13u1 OVMF_CODE_4M.fd",
        peifv_sha256: "acc7cc32f3e05161d1620022562909c284f700d73082cf7ac159451a3f7c7212",
        crtm_version: DEB13U1_VERSION,
        // PeiCore's BaseAcpiTimerLib `mAcpiTimerIoAddr`: the PM base OVMF programs (0x600) + the ACPI timer's
        // offset (8). PlatformPei keeps its platform info in a HOB in this version, not in PEIFV.
        globals: PeiGlobals::Fixed(&[(0x6e50, &[0x08, 0x06])]),
        pcr1_acpi_data: true,
    },
    KnownBuild {
        name: "Debian 13 ovmf 2025.02-8+deb13u1 OVMF_CODE_4M.secboot.fd",
        peifv_sha256: "98cf2a7e49cbca9a9b7796d1edf9ac412db5b4541865f1953017f74041ef4358",
        crtm_version: DEB13U1_VERSION,
        globals: PeiGlobals::SmmRelocation2025(DEBIAN13_SECBOOT_FIXED, DEBIAN13_SECBOOT_SMM),
        pcr1_acpi_data: true,
    },
];

/// The largest guest memory the PEIFV model covers, 978 GiB: the largest q35 guest QEMU 10.0 starts with its
/// default CPU's 40 physical address bits (from 979 GiB, RAM above 4 GiB and the 64-bit PCI hole after it reach
/// the AMD HyperTransport hole below 1 TiB, QEMU moves them past it and refuses: "phys-bits too low"). Both
/// Debian builds were captured there.
const PEIFV_MAX_MEMORY_MIB: u32 = 1_001_472;

/// The guest CPU's physical address bits (CPUID 0x8000_0008) the model assumes: QEMU's default CPU model
/// (`qemu64`, vendor "AuthenticAMD", no 1 GiB pages) under TCG, which has 40. edk2 2022.11's
/// `PlatformAddressWidthFromCpuid` takes 40 bits of an AMD CPU as valid, so `PhysMemAddressWidth` is 40 and the
/// 64-bit PCI aperture is the dynamic one at the top of that space. Another CPU model, `host-phys-bits` or KVM
/// (the host's vendor and bits) changes them; not modelled.
const GUEST_PHYS_BITS: u32 = 40;

const GIB: u64 = 1 << 30;

/// QEMU's q35 RAM layout (`pc_q35_init`) for `-m memory_mib` (no `max-ram-below-4g`, no memory hotplug): all RAM
/// below 4 GiB when there is less than 0xb000_0000 bytes of it, otherwise 2 GiB below 4 GiB and the rest from
/// 4 GiB. Returns (RAM below 4 GiB, the end of RAM above 4 GiB or 4 GiB when there is none), in bytes.
fn q35_ram_layout(memory_mib: u32) -> (u64, u64) {
    let ram = u64::from(memory_mib) << 20;
    if ram >= 0xb000_0000 {
        (2 * GIB, 4 * GIB + ram - 2 * GIB)
    } else {
        (ram, 4 * GIB)
    }
}

/// edk2 2022.11's 64-bit address space on q35 (`PlatformAddressWidthInitialization`): FirstNonAddress as
/// `PlatformGetFirstNonAddress` computes it (the end of RAM above 4 GiB, rounded up to the aperture's size, plus
/// the aperture of `PcdPciMmio64Size`; QEMU gives no `etc/reserved-memory-end` without memory hotplug and no
/// `opt/ovmf/X-PciMmio64Mb` unless told), then `PlatformDynamicMmioWindow`'s aperture: the top eighth of the
/// [`GUEST_PHYS_BITS`] space when it fits above that, else the classic one. Returns (FirstNonAddress,
/// PcdPciMmio64Base, PcdPciMmio64Size).
fn address_space_2022(ram_end: u64, mmio64_size: u64) -> (u64, u64, u64) {
    let align_up = |x: u64, a: u64| x.div_ceil(a) * a;
    // Non-zero in every known build (zero would disable the aperture).
    let size = align_up(mmio64_size, GIB).max(GIB);
    // GetPowerOfTwo64: the largest power of two not above the size.
    let natural = 1u64 << (63 - size.leading_zeros());
    let base = align_up(align_up(ram_end.max(4 * GIB), GIB), natural);
    let first_non_address = base + size;
    let space = 1u64 << GUEST_PHYS_BITS;
    let dynamic = 1u64 << (GUEST_PHYS_BITS - 3);
    if size < dynamic && base + dynamic < space {
        (first_non_address, space - dynamic, dynamic)
    } else {
        (first_non_address, base, size)
    }
}

/// PEIFV as Tcg2Pei measures it on a q35 VM with `vm`'s memory and vCPUs (QEMU's defaults otherwise: its
/// default CPU under TCG, S3 enabled, `smm=off`, no memory hotplug), for a [`KNOWN_BUILDS`] firmware: the
/// decompressed volume with PlatformPei's `EFI_HOB_PLATFORM_INFO` as it stands when Tcg2Pei runs. Or why not.
fn measured_peifv(
    pei: &[u8],
    digest: Digest,
    vm: &VmConfig,
) -> Result<(&'static KnownBuild, Vec<u8>), String> {
    let hex = digest.to_hex();
    let build = KNOWN_BUILDS
        .iter()
        .find(|b| b.peifv_sha256 == hex)
        .ok_or_else(|| {
            format!(
                "{PCR0_REFUSAL}; where it is in this firmware build (PEIFV sha256 {hex}) is not known (known: {})",
                KNOWN_BUILDS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    if vm.memory_mib > PEIFV_MAX_MEMORY_MIB {
        return Err(format!(
            "{PCR0_REFUSAL}; modelled for up to {PEIFV_MAX_MEMORY_MIB} MiB (the largest q35 guest QEMU starts with \
             its default CPU's {GUEST_PHYS_BITS} physical address bits), not {} MiB",
            vm.memory_mib
        ));
    }
    if vm.vcpus > 64 {
        return Err(format!(
            "{PCR0_REFUSAL}; modelled for up to 64 vCPUs (PcdCpuMaxLogicalProcessorNumber), not {}",
            vm.vcpus
        ));
    }
    if let PeiGlobals::PlatformInfo2022(PlatformInfo2022 { smm: Some(smm), .. }) = &build.globals
        && vm.memory_mib > smm.max_memory_mib
    {
        return Err(format!(
            "{PCR0_REFUSAL}; for this SMM build ({}) modelled for up to {} MiB (as captured and booted), not {} MiB",
            build.name, smm.max_memory_mib, vm.memory_mib
        ));
    }
    // Every field as (offset, in the file, measured): the globals are zero in the file unless listed with
    // their initial bytes.
    let zero = |(at, bytes): (usize, Vec<u8>)| (at, vec![0u8; bytes.len()], bytes);
    let patches: Vec<PatchedField> = match build.globals {
        PeiGlobals::Fixed(list) => list.iter().map(|&(o, b)| zero((o, b.to_vec()))).collect(),
        PeiGlobals::SmmRelocation2025(list, ref smm) => list
            .iter()
            .map(|&(o, b)| zero((o, b.to_vec())))
            .chain(smm_relocation_2025(vm, smm, build.name)?)
            .collect(),
        PeiGlobals::PlatformInfo2022(ref info) => platform_info_2022(vm, info)?
            .into_iter()
            .map(|(o, b)| zero((info.offset + o, b)))
            .chain(info.smm.iter().flat_map(|smm| {
                smm.changed
                    .iter()
                    .map(|&(at, from, to)| (at, from.to_vec(), to.to_vec()))
            }))
            .collect(),
    };
    let mut out = pei.to_vec();
    for (at, from, to) in patches {
        let dst = out
            .get_mut(at..at + to.len())
            .filter(|_| from.len() == to.len())
            .ok_or_else(|| format!("{PCR0_REFUSAL}; the known offset is outside this PEIFV"))?;
        if *dst != *from {
            return Err(if from.iter().all(|&b| b == 0) {
                format!(
                    "{PCR0_REFUSAL}; the bytes at the known offset {at:#x} are not zero in this PEIFV"
                )
            } else {
                format!("{PCR0_REFUSAL}; the bytes at the known offset {at:#x} are not the build's")
            });
        }
        dst.copy_from_slice(&to);
    }
    Ok((build, out))
}

/// edk2 2022.11's `EFI_HOB_PLATFORM_INFO` fields (offset in the struct, bytes) as PlatformPei has set them when
/// Tcg2Pei measures PEIFV, on q35 with `vm`'s memory and vCPUs, S3 enabled, SMM as the build needs, the CPU of
/// [`GUEST_PHYS_BITS`]; and the two QemuFwCfgPeiLib flags after it. Memory moves four of them: RAM below 4 GiB
/// places the S3 reserved memory under its top (`PublishPeiMemory`) and `Uc32Base`
/// (`PlatformQemuUc32BaseInitialization`: 2 GiB up to 2 GiB of it, else `PcdPciExpressBaseAddress`); RAM above
/// 4 GiB moves FirstNonAddress and, above 862 GiB, the 64-bit aperture ([`address_space_2022`]).
fn platform_info_2022(
    vm: &VmConfig,
    info: &PlatformInfo2022,
) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let s3_size = 0x8_0000 + vm.vcpus * info.ap_stack_size;
    let (low_memory, ram_end) = q35_ram_layout(vm.memory_mib);
    // With SMM, PlatformPei's PublishPeiMemory takes TSEG off the top of low RAM first.
    let tseg = if info.smm.is_some() {
        u64::from(QEMU_TSEG_MBYTES) << 20
    } else {
        0
    };
    let s3_base = low_memory
        .checked_sub(tseg + u64::from(s3_size))
        .and_then(|b| u32::try_from(b).ok())
        .ok_or_else(|| {
            format!(
                "{PCR0_REFUSAL}; {} MiB is too little for the S3 reserved memory of {} vCPUs",
                vm.memory_mib, vm.vcpus
            )
        })?;
    let uc32_base = if low_memory <= 2 * GIB {
        0x8000_0000
    } else {
        info.pci_express_base
    };
    let (first_non_address, mmio64_base, mmio64_size) =
        address_space_2022(ram_end, info.pci_mmio64_size);
    let mmio32_base = info.pci_express_base + 0x1000_0000;
    let mut fields = vec![
        (24, 0x29c0u16.to_le_bytes().to_vec()), // HostBridgeDevId: Q35 MCH
        (39, vec![1]),                          // S3Supported
        (44, first_non_address.to_le_bytes().to_vec()), // FirstNonAddress
        (52, vec![GUEST_PHYS_BITS as u8]),      // PhysMemAddressWidth
        (53, uc32_base.to_le_bytes().to_vec()), // Uc32Base
        (70, mmio64_base.to_le_bytes().to_vec()), // PcdPciMmio64Base
        (78, mmio64_size.to_le_bytes().to_vec()), // PcdPciMmio64Size
        (86, mmio32_base.to_le_bytes().to_vec()), // PcdPciMmio32Base: MMCONFIG + 256 MiB
        (90, (0xfc00_0000 - mmio32_base).to_le_bytes().to_vec()), // PcdPciMmio32Size: up to 0xfc00_0000
        (94, 0x6000u64.to_le_bytes().to_vec()),                   // PcdPciIoBase
        (102, 0xa000u64.to_le_bytes().to_vec()),                  // PcdPciIoSize
        (118, vm.vcpus.to_le_bytes().to_vec()), // PcdCpuBootLogicalProcessorNumber
        (122, vm.vcpus.to_le_bytes().to_vec()), // PcdCpuMaxLogicalProcessorNumber
        (126, 64u32.to_le_bytes().to_vec()),    // DefaultMaxCpuNumber
        (130, s3_base.to_le_bytes().to_vec()),  // S3AcpiReservedMemoryBase
        (134, s3_size.to_le_bytes().to_vec()),  // S3AcpiReservedMemorySize
        (138, vec![1]),                         // QemuFwCfgPeiLib mQemuFwCfgSupported
        (139, vec![1]),                         // QemuFwCfgPeiLib mQemuFwCfgDmaSupported
    ];
    if info.smm.is_some() {
        fields.push((40, vec![1])); // SmmSmramRequire
        fields.push((41, vec![1])); // Q35SmramAtDefaultSmbase (QEMU negotiates the SMBASE feature)
        fields.push((42, QEMU_TSEG_MBYTES.to_le_bytes().to_vec())); // Q35TsegMbytes
    }
    Ok(fields)
}

/// A field a PEIM changed in PEIFV: (offset, the bytes in the file, the bytes measured).
type PatchedField = (usize, Vec<u8>, Vec<u8>);

/// SmmRelocationLib's moving fields in an edk2 2025.02 SMM build's PEIFV (offset, bytes) for `vm`: the
/// relocation stack, the vCPU counts, the boot processor's return address (per QEMU version), its new SMBASE
/// and the relocation IDT's descriptor ([`SmmRelocation2025`]), each with the bytes the file holds there (the
/// vCPU counts' initial 1, zeros elsewhere): (offset, in the file, measured). Or why not.
fn smm_relocation_2025(
    vm: &VmConfig,
    smm: &SmmRelocation2025,
    build: &str,
) -> Result<Vec<PatchedField>, String> {
    if vm.memory_mib < smm.min_memory_mib {
        return Err(format!(
            "{PCR0_REFUSAL}; for this SMM build ({build}) modelled from {} MiB (as captured), not {} MiB",
            smm.min_memory_mib, vm.memory_mib
        ));
    }
    let v = vm.qemu_version;
    let resume = smm
        .resume
        .iter()
        .find(|((major, minor), _)| v.is(*major, *minor))
        .map(|&(_, a)| a)
        .ok_or_else(|| {
            format!(
                "{PCR0_REFUSAL}, and this SMM build ({build}) also measures where QEMU's TCG delivered its SMM \
                 relocation's self-SMI, captured under QEMU {} only, not QEMU {v} (--qemu-version)",
                smm.resume
                    .iter()
                    .map(|((major, minor), _)| format!("{major}.{minor}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        })?;
    let (low_memory, ram_end) = q35_ram_layout(vm.memory_mib);
    let high_memory = ram_end > 4 * GIB;
    let tseg = low_memory - (u64::from(QEMU_TSEG_MBYTES) << 20);
    let more = u64::from(vm.vcpus.saturating_sub(1));
    let extra_pages = smm
        .stack_extra_page_from
        .iter()
        .filter(|&&from| vm.vcpus >= from)
        .count() as u64;
    let too_small = || {
        format!(
            "{PCR0_REFUSAL}; {} MiB is too little for this SMM build's PEI memory with {} vCPUs",
            vm.memory_mib, vm.vcpus
        )
    };
    let stack = tseg
        .checked_sub(smm.stack_below_tseg + more * smm.stack_per_vcpu + extra_pages * 0x1000)
        .ok_or_else(too_small)?;
    let idt = (tseg
        + if high_memory {
            smm.idt_high_memory_hob
        } else {
            0
        })
    .checked_sub(smm.idt_below_tseg + more * smm.idt_per_vcpu)
    .ok_or_else(too_small)?;
    let sm_base = tseg + 0x1000 - 0x8000;
    let vcpus = u64::from(vm.vcpus).to_le_bytes().to_vec();
    let one = 1u64.to_le_bytes().to_vec();
    let zero = |n: usize| vec![0u8; n];
    let mut idtr = (32u16 * 16 - 1).to_le_bytes().to_vec();
    idtr.extend_from_slice(&idt.to_le_bytes());
    Ok(vec![
        (smm.stack_at, zero(8), stack.to_le_bytes().to_vec()),
        (smm.vcpu_counts_at[0], one.clone(), vcpus.clone()),
        (smm.vcpu_counts_at[1], one, vcpus),
        (smm.resume_at, zero(8), resume.to_le_bytes().to_vec()),
        (smm.sm_base_at, zero(8), sm_base.to_le_bytes().to_vec()),
        (smm.idtr_at, zero(10), idtr),
    ])
}

/// Why PCR 1 is refused.
pub const PCR1_REFUSAL: &str = "PCR 1 measures BootOrder and the Boot#### options OVMF creates for the \
devices present";

/// SecurityPkg's SecureBootConfigDxe: in DXEFV exactly when the build has Secure Boot support.
const SECURE_BOOT_CONFIG_DXE: Guid = guid!("f0e6a44f-7195-41c3-ac64-54f202cd0a21");

/// `LOAD_OPTION_ACTIVE`.
const LOAD_OPTION_ACTIVE: u32 = 0x1;
/// `LOAD_OPTION_ACTIVE | LOAD_OPTION_HIDDEN | LOAD_OPTION_CATEGORY_APP`, as OVMF registers UiApp.
const LOAD_OPTION_UIAPP: u32 = 0x109;
/// MdeModulePkg's UiApp (the setup front page).
const UI_APP: Guid = guid!("462caa21-7614-4503-836e-8ab6f4662331");
/// The UEFI Shell OVMF embeds.
const UEFI_SHELL: Guid = guid!("7c04a583-9e3e-4f1c-ad65-e05268d0b4d1");
/// UefiBootManagerLib's `mBmAutoCreateBootOptionGuid`: the optional data of the options BDS creates itself.
const AUTO_CREATED: Guid = guid!("8108ac4e-9f11-4d59-850e-e21a522c59b2");

/// An `EFI_LOAD_OPTION`.
fn load_option(attributes: u32, description: &str, path: &[u8], optional: &[u8]) -> Vec<u8> {
    let mut out = attributes.to_le_bytes().to_vec();
    out.extend_from_slice(&u16::try_from(path.len()).unwrap_or(u16::MAX).to_le_bytes());
    for u in description.encode_utf16().chain([0]) {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out.extend_from_slice(path);
    out.extend_from_slice(optional);
    out
}

/// Device path end node.
const END: [u8; 4] = [0x7f, 0xff, 0x04, 0x00];

/// `Fv(volume)/FvFile(file)` with its end node.
fn fv_file_path(volume: Guid, file: Guid) -> Vec<u8> {
    let mut p = vec![0x04, 0x07, 0x14, 0x00];
    p.extend_from_slice(&volume.to_efi_bytes());
    p.extend_from_slice(&[0x04, 0x06, 0x14, 0x00]);
    p.extend_from_slice(&file.to_efi_bytes());
    p.extend_from_slice(&END);
    p
}

/// A PCR 1 event: what it measures and the measured data.
type Pcr1Event<'a> = (PredictedEventKind, Cow<'a, [u8]>);

/// PCR 1's events: QEMU's ACPI blobs for a build that measures them, then the boot variables of a fresh VARS
/// template on q35 with the boot disk a
/// virtio-blk at PCI 00:02.0 with `bootindex=0` (QEMU's first slot after the VGA at 00:01.0) and no other
/// bootable device: BDS's auto-created option for the disk (Boot0001, first through the fw_cfg boot order),
/// then UiApp (Boot0000) and the shell (Boot0002, when DXEFV holds it), which OVMF's PlatformBootManagerLib
/// registers from DXEFV.
fn boot_variables<'a>(
    build: &KnownBuild,
    dxe: &[u8],
    disk: &BootDisk,
    vars_options: &[(String, Vec<u8>)],
    acpi: Option<&'a super::fw_cfg_acpi::FwCfgAcpi>,
) -> Result<Vec<Pcr1Event<'a>>, String> {
    // The ACPI blobs (up to 16 MiB each) are hashed where they are, not copied.
    let acpi_events: Vec<Pcr1Event<'a>> = match (build.pcr1_acpi_data, acpi) {
        (false, _) => Vec::new(),
        (true, Some(a)) => a
            .blobs
            .iter()
            .map(|(name, data)| {
                (
                    PredictedEventKind::AcpiData(name),
                    Cow::Borrowed(data.as_slice()),
                )
            })
            .collect(),
        (true, None) => {
            return Err(format!(
                "{PCR1_REFUSAL}, and in this firmware build ({}) QEMU's ACPI fw_cfg blobs first, as a guest of \
                 this VM booted with this firmware sees them: give a copy of its /sys/firmware/qemu_fw_cfg/by_name \
                 (--fw-cfg)",
                build.name
            ));
        }
    };
    let description = match disk {
        BootDisk::Gpt(_) => "UEFI Misc Device",
        BootDisk::WholeDiskFat => "UEFI Non-Block Boot Device",
        BootDisk::Unknown => {
            return Err(format!(
                "{PCR1_REFUSAL}: the disk's boot option depends on its layout: give the boot disk (--disk)"
            ));
        }
        BootDisk::NoGpt => {
            return Err(format!(
                "{PCR1_REFUSAL}: the boot option of a disk without GPT or a whole-disk FAT is not modelled"
            ));
        }
    };
    let volume = super::ovmf_fv::volume_name(dxe)
        .ok_or_else(|| format!("{PCR1_REFUSAL}: DXEFV has no volume name"))?;
    let files =
        super::ovmf_fv::file_names(dxe).map_err(|e| format!("{PCR1_REFUSAL}: DXEFV: {e}"))?;
    if !files.contains(&UI_APP) {
        return Err(format!("{PCR1_REFUSAL}: DXEFV has no UiApp ({UI_APP})"));
    }
    // PlatformBootManagerLib registers the shell's option only when DXEFV holds the shell: Secure Boot builds
    // such as Debian 13's OVMF_CODE_4M.secboot.fd leave it out (BootOrder 0001,0000).
    let shell = files.contains(&UEFI_SHELL);
    // PciRoot(0x0)/Pci(0x2,0x0)
    let mut disk_path = vec![
        0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0, 0x01, 0x01, 0x06, 0x00, 0x00,
        0x02,
    ];
    disk_path.extend_from_slice(&END);
    // Tcg2Dxe extends EV_EFI_VARIABLE_BOOT with the digest of the variable's data alone (the event carries
    // the whole UEFI_VARIABLE_DATA).
    let numbers: &[u16] = if shell { &[1, 0, 2] } else { &[1, 0] };
    let order: Vec<u8> = numbers.iter().flat_map(|n| n.to_le_bytes()).collect();
    let mut model = vec![
        ("BootOrder", order),
        (
            "Boot0001",
            load_option(
                LOAD_OPTION_ACTIVE,
                description,
                &disk_path,
                &AUTO_CREATED.to_efi_bytes(),
            ),
        ),
        (
            "Boot0000",
            load_option(
                LOAD_OPTION_UIAPP,
                "UiApp",
                &fv_file_path(volume, UI_APP),
                &[],
            ),
        ),
    ];
    if shell {
        model.push((
            "Boot0002",
            load_option(
                LOAD_OPTION_ACTIVE,
                "EFI Internal Shell",
                &fv_file_path(volume, UEFI_SHELL),
                &[],
            ),
        ));
    }
    check_vars_options(vars_options, &model)?;
    Ok(acpi_events
        .into_iter()
        .chain(
            model
                .into_iter()
                .map(|(name, data)| (PredictedEventKind::BootVariable(name), Cow::Owned(data))),
        )
        .collect())
}

/// Whether the load options a VARS file holds leave PCR 1 as on a fresh VARS (`model`, OVMF's own options in
/// log order). edk2 2022.11's UefiBootManagerLib reads only the Boot#### options BootOrder lists and takes free
/// option numbers from BootOrder and BootNext alone, so with neither in the VARS, BDS writes UiApp, the disk and
/// the shell as Boot0000-0002 as on a fresh VARS, over whatever those variables held. What is accepted here is
/// narrower: Boot0000 and Boot0002 exactly OVMF's options and any other Boot#### one BDS created itself
/// (optional data [`AUTO_CREATED`]) for another device, as in a VARS OVMF wrote (Debian's snakeoil VARS), so
/// that nothing depends on how a foreign variable's attributes would meet the write. BootNext (booted first,
/// and it moves the free numbers), DriverOrder and SysPrepOrder (BDS runs their options before booting) and
/// Driver#### / SysPrep#### options are refused.
fn check_vars_options(
    vars: &[(String, Vec<u8>)],
    model: &[(&'static str, Vec<u8>)],
) -> Result<(), String> {
    if vars.is_empty() {
        return Ok(());
    }
    let refuse = |why: String| {
        Err(format!(
            "{PCR1_REFUSAL}: the VARS file {why}; modelled for a fresh VARS or one holding only OVMF's UiApp \
             and shell options and options BDS created for other devices"
        ))
    };
    for (name, _) in vars {
        if !name.starts_with("Boot") || name == "BootNext" || name == "BootOrder" {
            return refuse(format!("holds {name}"));
        }
    }
    let model_option = |name: &str| model.iter().find(|(n, _)| *n == name).map(|(_, d)| d);
    for fixed in ["Boot0000", "Boot0002"] {
        if vars.iter().find(|(n, _)| n == fixed).map(|(_, d)| d) != model_option(fixed) {
            return refuse(format!("does not hold {fixed} as OVMF creates it"));
        }
    }
    let disk = model_option("Boot0001");
    for (name, data) in vars {
        let own = model_option(name) == Some(data);
        // An option BDS created itself (optional data: the auto-created GUID) for another device: not in a
        // BootOrder, so never read, or overwritten when its number is taken.
        let stale = data.ends_with(&AUTO_CREATED.to_efi_bytes()) && Some(data) != disk;
        if !own && !stale {
            return refuse(format!(
                "holds {name}, which is not one of OVMF's own options"
            ));
        }
    }
    Ok(())
}

/// Why PCR 5 is refused without the disk.
pub const PCR5_REFUSAL: &str = "PCR 5 holds the boot disk's GPT when the boot file is on a GPT partition: \
give the boot disk (--disk)";

/// PCR 2's option ROM drivers: none without a NIC, the ROM's EFI drivers with one (`Err(why)` refuses PCR 2
/// when the ROM is not given or holds what is not modelled; a file that is no option ROM is an error).
fn option_rom_drivers(
    vm: &VmConfig,
    banks: &[Algorithm],
) -> Result<Result<Vec<RomDriver>, String>, FirmwareError> {
    let Some(default_rom) = vm.nic.default_rom_file() else {
        return Ok(Ok(Vec::new()));
    };
    let Some(rom) = &vm.nic_rom else {
        return Ok(Err(format!(
            "PCR 2 holds the EFI drivers of the NIC's option ROM: give the ROM QEMU maps for it (--nic-rom; \
             QEMU's default for this NIC is {default_rom}, /usr/lib/ipxe/qemu/{default_rom} on Debian)"
        )));
    };
    match rom_drivers(rom, banks) {
        Ok(d) => Ok(Ok(d)),
        Err(e @ OptionRomError::NotModelled { .. }) => {
            Ok(Err(format!("the NIC's option ROM: {e}")))
        }
        Err(e) => Err(FirmwareError::OptionRom(e)),
    }
}

/// Predicts the firmware PCRs of `code` (an `OVMF_CODE*.fd`) booting in `vm`, in each of `banks`.
pub fn predict_firmware(
    code: &[u8],
    vm: &VmConfig,
    banks: &[Algorithm],
) -> Result<FirmwarePrediction, FirmwareError> {
    predict_firmware_volumes(&main_volumes(code)?, vm, banks)
}

/// [`predict_firmware`] from the firmware's main volumes ([`main_volumes`]), decompressed once for several VM
/// configurations.
pub fn predict_firmware_volumes(
    volumes: &MainVolumes,
    vm: &VmConfig,
    banks: &[Algorithm],
) -> Result<FirmwarePrediction, FirmwareError> {
    let pcr2 = if vm.vars_boot_options.iter().any(|(n, _)| n == "DriverOrder") {
        Err(
            "PCR 2: the VARS file holds a DriverOrder, whose Driver#### options BDS loads (and Tcg2Dxe measures \
             there) before booting; not modelled"
                .to_string(),
        )
    } else {
        option_rom_drivers(vm, banks)?
    };
    if vm.memory_mib == 0 || vm.vcpus == 0 {
        return Err(FirmwareError::NotModelled(
            "memory and vCPUs must be at least 1".into(),
        ));
    }
    let MainVolumes { pei, dxe } = volumes;
    let volumes = VolumeDigests {
        peifv: Algorithm::Sha256.digest(pei),
        dxefv: Algorithm::Sha256.digest(dxe),
    };
    let mut events = Vec::new();
    let pcr0 = measured_peifv(pei, volumes.peifv, vm);
    if let Ok((build, peifv)) = &pcr0 {
        events.push(data_event(
            0,
            PredictedEventKind::CrtmVersion,
            build.crtm_version,
            banks,
        ));
        events.push(data_event(
            0,
            PredictedEventKind::FirmwareVolume("PEIFV"),
            peifv,
            banks,
        ));
        events.push(data_event(
            0,
            PredictedEventKind::FirmwareVolume("DXEFV"),
            dxe,
            banks,
        ));
        events.push(data_event(
            0,
            PredictedEventKind::Separator,
            &SEPARATOR,
            banks,
        ));
    }
    if let Ok((build, _)) = &pcr0
        && !build.pcr1_acpi_data
        && vm.fw_cfg_acpi.is_some()
    {
        return Err(FirmwareError::NotModelled(format!(
            "QEMU's ACPI blobs were given (--fw-cfg), but this firmware build ({}) does not measure them",
            build.name
        )));
    }
    let pcr1 = match &pcr0 {
        Ok((build, _)) => boot_variables(
            build,
            dxe,
            &vm.disk,
            &vm.vars_boot_options,
            vm.fw_cfg_acpi.as_ref(),
        ),
        // Modelled only for the builds and VMs whose PCR 0 is (an unknown build, or memory or vCPUs outside
        // what was captured and booted).
        Err(_) => Err(format!(
            "{PCR1_REFUSAL}; modelled only where PCR 0 is (see PCR 0)"
        )),
    };
    if let Ok(vars) = &pcr1 {
        for (kind, data) in vars {
            events.push(data_event(1, *kind, data, banks));
        }
        events.push(data_event(
            1,
            PredictedEventKind::Separator,
            &SEPARATOR,
            banks,
        ));
    }
    if let Ok(drivers) = &pcr2 {
        for d in drivers {
            events.push(PredictedEvent {
                pcr: 2,
                kind: PredictedEventKind::OptionRomDriver(d.kind, d.rom_offset),
                digests: d.digests.clone(),
            });
        }
        events.push(data_event(
            2,
            PredictedEventKind::Separator,
            &SEPARATOR,
            banks,
        ));
    }
    for pcr in [3, 6] {
        events.push(data_event(
            pcr,
            PredictedEventKind::Separator,
            &SEPARATOR,
            banks,
        ));
    }
    let pcr5_known = vm.disk != BootDisk::Unknown;
    if pcr5_known {
        events.push(data_event(
            5,
            PredictedEventKind::Separator,
            &SEPARATOR,
            banks,
        ));
        if let BootDisk::Gpt(gpt) = &vm.disk {
            events.push(data_event(5, PredictedEventKind::GptTable, gpt, banks));
        }
        events.push(action(5, "Exit Boot Services Invocation", banks));
        events.push(action(5, "Exit Boot Services Returned with Success", banks));
    }
    // By PCR; within a PCR in log order (separator at ReadyToBoot, the GPT when the boot file is loaded,
    // ExitBootServices).
    events.sort_by_key(|e| e.pcr);

    let mut pcrs = PcrBanks::new();
    for &alg in banks {
        for pcr in [0, 1, 2, 3, 5, 6].into_iter().filter(|&p| {
            (p != 5 || pcr5_known)
                && (p != 0 || pcr0.is_ok())
                && (p != 1 || pcr1.is_ok())
                && (p != 2 || pcr2.is_ok())
        }) {
            pcrs.set(pcr, alg.zero());
        }
    }
    for e in &events {
        for d in &e.digests {
            pcrs.extend(e.pcr, d);
        }
    }
    let mut status = BTreeMap::new();
    status.insert(
        0,
        match &pcr0 {
            Ok(_) => PcrStatus::Predicted,
            Err(why) => PcrStatus::Refused(why.clone()),
        },
    );
    status.insert(
        1,
        match &pcr1 {
            Ok(_) => PcrStatus::Predicted,
            Err(why) => PcrStatus::Refused(why.clone()),
        },
    );
    status.insert(
        2,
        match &pcr2 {
            Ok(_) => PcrStatus::Predicted,
            Err(why) => PcrStatus::Refused(why.clone()),
        },
    );
    for pcr in [3, 5, 6] {
        status.insert(pcr, PcrStatus::Predicted);
    }
    if !pcr5_known {
        status.insert(5, PcrStatus::Refused(PCR5_REFUSAL.into()));
    }
    Ok(FirmwarePrediction {
        pcrs,
        events,
        status,
        volumes,
        build: pcr0.as_ref().ok().map(|(b, _)| BuildInfo {
            name: b.name,
            smm: matches!(
                b.globals,
                PeiGlobals::PlatformInfo2022(PlatformInfo2022 { smm: Some(_), .. })
                    | PeiGlobals::SmmRelocation2025(..)
            ),
        }),
        secure_boot_support: super::ovmf_fv::file_names(dxe)
            .ok()
            .map(|files| files.contains(&SECURE_BOOT_CONFIG_DXE)),
    })
}

/// What the firmware sees of the boot disk image at `path`: its GPT ([`gpt_event_data`]), or a FAT filesystem
/// over the whole disk (a FAT boot sector at LBA 0: "FAT" at byte 0x36 or 0x52), or neither.
pub fn boot_disk(path: &Path) -> Result<BootDisk, FirmwareError> {
    use std::os::unix::fs::FileExt as _;
    if let Some(gpt) = gpt_event_data(path)? {
        return Ok(BootDisk::Gpt(gpt));
    }
    let f = std::fs::File::open(path).map_err(|source| FirmwareError::Disk {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lba0 = [0u8; 512];
    let fat = f.read_exact_at(&mut lba0, 0).is_ok()
        && lba0.get(510..512) == Some(&[0x55, 0xaa][..])
        && (lba0.get(0x36..0x39) == Some(b"FAT") || lba0.get(0x52..0x55) == Some(b"FAT"));
    Ok(if fat {
        BootDisk::WholeDiskFat
    } else {
        BootDisk::NoGpt
    })
}

/// The largest partition entry array read (the firmware reads it whole).
const MAX_ENTRY_ARRAY: u64 = 1 << 20;

/// The data of the `EV_EFI_GPT_EVENT` the firmware logs when it loads the boot file from a partition of the
/// disk image at `path` (edk2's `Tcg2MeasureGptTable`, `UEFI_GPT_DATA`): the primary GPT header (92 bytes, as
/// on disk), the number of used entries (64-bit), and each used entry (non-zero type GUID) in table order,
/// `SizeOfPartitionEntry` bytes each. `None` when LBA 1 holds no GPT header (512-byte sectors). Reads only
/// the header and the entry array, so a disk image of any size is fine.
pub fn gpt_event_data(path: &Path) -> Result<Option<Vec<u8>>, FirmwareError> {
    use std::os::unix::fs::FileExt as _;
    let io = |source: std::io::Error| FirmwareError::Disk {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut header = [0u8; 512];
    match f.read_exact_at(&mut header, 512) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    if header.get(..8) != Some(b"EFI PART") {
        return Ok(None);
    }
    let le = |off: usize, n: usize| -> u64 {
        header.get(off..off + n).map_or(0, |s| {
            s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
        })
    };
    let header_size = le(12, 4);
    if !(92..=512).contains(&header_size) {
        return Err(FirmwareError::Gpt(format!(
            "{}: GPT header size {header_size} is not 92-512",
            path.display()
        )));
    }
    let entry_lba = le(72, 8);
    let count = le(80, 4);
    let entry_size = le(84, 4);
    if entry_size < 128
        || !entry_size.is_multiple_of(8)
        || count.saturating_mul(entry_size) > MAX_ENTRY_ARRAY
    {
        return Err(FirmwareError::Gpt(format!(
            "{}: GPT entry array of {count} x {entry_size} bytes is not supported",
            path.display()
        )));
    }
    let mut entries = vec![0u8; (count * entry_size) as usize];
    f.read_exact_at(&mut entries, entry_lba.saturating_mul(512))
        .map_err(|e| FirmwareError::Gpt(format!("{}: GPT entry array: {e}", path.display())))?;
    let used: Vec<&[u8]> = entries
        .chunks_exact(entry_size as usize)
        .filter(|e| e.get(..16).is_some_and(|t| t.iter().any(|&b| b != 0)))
        .collect();
    let mut data = header.get(..92).unwrap_or_default().to_vec();
    data.extend_from_slice(&(used.len() as u64).to_le_bytes());
    for e in used {
        data.extend_from_slice(e);
    }
    Ok(Some(data))
}

/// Why a PCR outside the firmware's and the UKI's is zero after boot.
const NOT_MEASURED: &str = "not measured by firmware/stub";

/// The whole PCR set 0-15 of a boot: the firmware PCRs and, when a UKI was given, [`super::predict`]'s.
#[derive(Debug, Clone)]
pub struct WholeSet {
    /// The firmware PCRs.
    pub firmware: FirmwarePrediction,
    /// The UKI's PCRs (4, 7, 9, 11-13), when a UKI was given.
    pub uki: Option<super::Prediction>,
    /// Which PCRs to show (default 0-15).
    pub selected: Vec<u32>,
}

impl WholeSet {
    /// The whole set, the UKI's PCR 7 taken as this firmware measures it (a firmware without Secure Boot support
    /// leaves the SecureBoot variable undefined and measures it as empty data).
    pub fn new(
        firmware: FirmwarePrediction,
        uki: Option<super::Prediction>,
        selected: Vec<u32>,
    ) -> WholeSet {
        let uki = match firmware.secure_boot_support {
            Some(false) => uki.map(super::Prediction::with_secure_boot_variable_absent),
            _ => uki,
        };
        WholeSet {
            firmware,
            uki,
            selected,
        }
    }

    /// The UKI prediction's PCRs that do not hold with this firmware, with why: PCR 7 when the prediction's
    /// SecureBoot measurement is not the firmware's (a set not made by [`WholeSet::new`], or DXEFV unreadable),
    /// PCRs 4 and 7 when the prediction has Secure Boot on and the firmware cannot enforce it.
    fn withheld(&self) -> BTreeMap<u32, String> {
        let mut out = BTreeMap::new();
        let Some(u) = &self.uki else {
            return out;
        };
        let support = self.firmware.secure_boot_support;
        match support {
            None => {
                out.insert(
                    7,
                    "DXEFV's files could not be listed, so whether this firmware defines the SecureBoot \
                     variable (measured in PCR 7) is not known"
                        .to_string(),
                );
            }
            Some(false) if u.secure_boot => {
                let why = "this firmware has no Secure Boot support (no SecureBootConfigDxe in DXEFV): the keys \
                           the VARS file enrolls are not enforced and systemd-stub sees Secure Boot off, unlike \
                           the UKI prediction made with Secure Boot on; not modelled"
                    .to_string();
                out.insert(4, why.clone());
                out.insert(7, why);
            }
            Some(false) if !u.secure_boot_variable_absent => {
                out.insert(
                    7,
                    "this firmware has no Secure Boot support and measures the SecureBoot variable as absent \
                     (empty data), which this UKI prediction does not (see WholeSet::new)"
                        .to_string(),
                );
            }
            Some(true) if u.secure_boot_variable_absent => {
                out.insert(
                    7,
                    "this firmware defines the SecureBoot variable, which this UKI prediction took as absent"
                        .to_string(),
                );
            }
            _ => {}
        }
        out
    }

    /// The PCR values per bank, for the selected PCRs that are predicted.
    pub fn pcrs(&self) -> PcrBanks {
        let mut all = self.firmware.pcrs.clone();
        let withheld = self.withheld();
        if let Some(u) = &self.uki {
            for (_, pcr, d) in u.pcrs.iter().filter(|(_, p, _)| !withheld.contains_key(p)) {
                all.set(pcr, *d);
            }
        }
        all.retain_pcrs(&self.selected);
        all
    }

    /// Each selected PCR that has no value, with why.
    pub fn not_predicted(&self) -> BTreeMap<u32, String> {
        let mut out = BTreeMap::new();
        let withheld = self.withheld();
        for &pcr in &self.selected {
            let why = match self.firmware.status.get(&pcr) {
                Some(PcrStatus::Refused(r) | PcrStatus::NotMeasured(r)) => Some(r.clone()),
                Some(PcrStatus::Predicted) => None,
                None if withheld.contains_key(&pcr) => withheld.get(&pcr).cloned(),
                None if super::PREDICTED_PCRS.contains(&pcr) => self
                    .uki
                    .is_none()
                    .then(|| "predicted with the UKI: give --uki".to_string()),
                None => Some(NOT_MEASURED.to_string()),
            };
            if let Some(w) = why {
                out.insert(pcr, w);
            }
        }
        out
    }

    /// Each selected PCR the firmware or the stub measures that has no value, with why: [`WholeSet::not_predicted`]
    /// less the PCRs nothing measures during boot (8, 10, 14, 15).
    pub fn refused(&self) -> BTreeMap<u32, String> {
        let mut out = self.not_predicted();
        out.retain(|_, why| why != NOT_MEASURED);
        out
    }

    /// The predicted events of the selected PCRs: the firmware's, then the UKI's.
    pub fn events(&self) -> Vec<&PredictedEvent> {
        let withheld = self.withheld();
        self.firmware
            .events
            .iter()
            .chain(self.uki.iter().flat_map(|u| u.events.iter()))
            .filter(|e| self.selected.contains(&e.pcr) && !withheld.contains_key(&e.pcr))
            .collect()
    }

    /// The text `pcr predict --firmware` prints.
    pub fn to_text(&self, banks: &[Algorithm], with_events: bool) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        if with_events {
            let _ = writeln!(
                s,
                "# predicted events (digest in {}):",
                banks.first().map_or("-", |b| b.name())
            );
            for e in self.events() {
                let _ = writeln!(
                    s,
                    "  PCR {:>2}  {:<34} {:<38} {}",
                    e.pcr,
                    super::event_type_name(e.event_type()),
                    e.description(),
                    e.digests.first().map(|d| d.to_hex()).unwrap_or_default()
                );
            }
        }
        let v = &self.firmware.volumes;
        let _ = writeln!(
            s,
            "# firmware volumes (SHA-256 as decompressed): PEIFV {}, DXEFV {}",
            v.peifv.to_hex(),
            v.dxefv.to_hex()
        );
        if let Some(u) = &self.uki {
            let _ = writeln!(
                s,
                "# systemd-stub section table {}, Secure Boot {}",
                u.stub_generation,
                if u.secure_boot { "on" } else { "off" }
            );
        }
        let pcrs = self.pcrs();
        let missing = self.not_predicted();
        for &alg in banks {
            let _ = writeln!(s, "{alg}:");
            for &pcr in &self.selected {
                match (pcrs.get(alg, pcr), missing.get(&pcr)) {
                    (Some(d), _) => {
                        let _ = writeln!(s, "  {pcr:>2}: 0x{}", d.to_hex().to_uppercase());
                    }
                    (None, Some(w)) if w == NOT_MEASURED => {
                        let _ = writeln!(s, "  {pcr:>2}: {NOT_MEASURED}");
                    }
                    (None, _) => {
                        let _ = writeln!(s, "  {pcr:>2}: not predicted (see below)");
                    }
                }
            }
            if self.selected.contains(&11)
                && let Some(phases) = self.uki.as_ref().and_then(|u| u.pcr11_phases.get(&alg))
            {
                for (phase, d) in phases {
                    let _ = writeln!(s, "  11 after {phase}: 0x{}", d.to_hex().to_uppercase());
                }
            }
        }
        for (pcr, why) in &missing {
            if why != NOT_MEASURED {
                let _ = writeln!(s, "# PCR {pcr} not predicted: {why}");
            }
        }
        s
    }
}

/// JSON: `{"<bank>": {"<pcr>": "<hex>"}, "pcr11_phases": {...} (with a UKI), "not_predicted": {"<pcr>":
/// "<why>"}}`.
impl serde::Serialize for WholeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        type Phases<'a> = BTreeMap<&'static str, BTreeMap<&'static str, String>>;
        #[derive(serde::Serialize)]
        struct Shape<'a> {
            #[serde(flatten)]
            pcrs: &'a PcrBanks,
            #[serde(skip_serializing_if = "Option::is_none")]
            pcr11_phases: Option<Phases<'a>>,
            not_predicted: BTreeMap<u32, String>,
        }
        let pcrs = self.pcrs();
        let pcr11_phases = self
            .uki
            .as_ref()
            .filter(|_| self.selected.contains(&11))
            .map(|u| {
                u.pcr11_phases
                    .iter()
                    .map(|(a, v)| (a.name(), v.iter().map(|(p, d)| (*p, d.to_hex())).collect()))
                    .collect()
            });
        Shape {
            pcrs: &pcrs,
            pcr11_phases,
            not_predicted: self.not_predicted(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GPT disk made by sfdisk: the event data has the header's 92 bytes, the count and the used entries.
    #[test]
    fn gpt_event_layout() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk.img");
        let mut img = vec![0u8; 64 * 512];
        img[512..520].copy_from_slice(b"EFI PART");
        img[512 + 12..512 + 16].copy_from_slice(&92u32.to_le_bytes());
        img[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        img[512 + 80..512 + 84].copy_from_slice(&4u32.to_le_bytes());
        img[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        // Entries 0 and 2 used.
        img[1024] = 1;
        img[1024 + 256] = 2;
        std::fs::write(&disk, &img).unwrap();
        let d = gpt_event_data(&disk).unwrap().unwrap();
        assert_eq!(d.len(), 92 + 8 + 2 * 128);
        assert_eq!(&d[..92], &img[512..604]);
        assert_eq!(&d[92..100], &2u64.to_le_bytes());
        assert_eq!(d[100], 1);
        assert_eq!(d[228], 2);
        // No GPT: no event; an absurd entry array: an error.
        std::fs::write(&disk, vec![0u8; 4096]).unwrap();
        assert!(gpt_event_data(&disk).unwrap().is_none());
        img[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&disk, &img).unwrap();
        assert!(matches!(gpt_event_data(&disk), Err(FirmwareError::Gpt(_))));
    }

    /// PEIFV of a build not in the table, or memory above the model's range: PCR 0 is refused with why.
    #[test]
    fn pcr0_refusals_name_the_reason() {
        let vm = VmConfig {
            memory_mib: 1024,
            vcpus: 1,
            ..VmConfig::default()
        };
        let pei = vec![0u8; 4096];
        let e = measured_peifv(&pei, Algorithm::Sha256.digest(&pei), &vm).unwrap_err();
        assert!(e.contains("is not known"), "{e}");
        let known = KNOWN_BUILDS[0].peifv_sha256;
        let d = yardstick_common::hash::Digest::from_bytes(
            Algorithm::Sha256,
            &yardstick_common::hex::decode(known).unwrap(),
        )
        .unwrap();
        let big = VmConfig {
            memory_mib: PEIFV_MAX_MEMORY_MIB + 1,
            ..vm.clone()
        };
        let e = measured_peifv(&pei, d, &big).unwrap_err();
        assert!(e.contains("up to 1001472 MiB"), "{e}");
        let many = VmConfig {
            vcpus: 65,
            ..vm.clone()
        };
        let e = measured_peifv(&pei, d, &many).unwrap_err();
        assert!(e.contains("up to 64 vCPUs"), "{e}");
        // The known offset must hold zeros (a PEIFV that only claims to be the build is refused).
        let mut odd = vec![0xffu8; 0xe0000];
        odd[0] = 0;
        let e = measured_peifv(&odd, d, &vm).unwrap_err();
        assert!(e.contains("not zero"), "{e}");
        let e = measured_peifv(&pei, d, &vm).unwrap_err();
        assert!(e.contains("outside"), "{e}");
    }

    /// One field of [`platform_info_2022`]'s output, as a little-endian number.
    fn field(fields: &[(usize, Vec<u8>)], offset: usize) -> u64 {
        let (_, b) = fields.iter().find(|(o, _)| *o == offset).unwrap();
        b.iter().rev().fold(0, |a, &x| (a << 8) | u64::from(x))
    }

    /// The fields that move with memory, against the captures of Debian 12's `OVMF_CODE_4M.fd` (2022.11-6+deb12u2)
    /// under QEMU 10.0.2 TCG (`scripts/capture-peifv.py`, the default CPU; above 16 GiB with `--no-reserve`):
    /// the bytes each capture differs in from the 2048 MiB one, read as `EFI_HOB_PLATFORM_INFO` fields. Each
    /// capture's SHA-256 is also the digest the guest extended, and `pcr_predict_firmware.rs` checks the whole
    /// measured PEIFV against it.
    #[test]
    fn platform_info_2022_follows_memory_as_captured() {
        // (MiB, vCPUs, FirstNonAddress, Uc32Base, PcdPciMmio64Base, PcdPciMmio64Size, S3AcpiReservedMemoryBase)
        #[rustfmt::skip]
        let captured: &[(u32, u32, u64, u64, u64, u64, u64)] = &[
            // All RAM below 2 GiB: the model as it was (captures at 512-2048 MiB).
            (2048, 1, 0x10_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            // More than 2 GiB below 4 GiB (q35 puts up to 0xafff_ffff bytes there): Uc32Base is MMCONFIG.
            (2049, 1, 0x10_0000_0000, 0xb000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x8007_8000),
            (2560, 1, 0x10_0000_0000, 0xb000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x9ff7_8000),
            (2815, 1, 0x10_0000_0000, 0xb000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0xafe7_8000),
            // From 0xb000_0000 bytes on: 2 GiB below 4 GiB, the rest above; same bytes as 2048 MiB up to 30 GiB
            // (captured at 2816, 2817, 3072, 4096, 8192, 16384, 30720 MiB).
            (2816, 1, 0x10_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            (4096, 2, 0x10_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_0000),
            (30720, 1, 0x10_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            // RAM ending past 32 GiB (more than 30 GiB of it): FirstNonAddress moves in 32 GiB steps, the
            // dynamic aperture stays.
            (30721, 1, 0x18_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            (65536, 1, 0x20_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            (262144, 1, 0x50_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            (882688, 1, 0xe0_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x20_0000_0000, 0x7ff7_8000),
            // RAM ending past 864 GiB (more than 862 GiB): no room for the dynamic aperture; the classic one,
            // 32 GiB above RAM.
            (882689, 1, 0xe8_0000_0000, 0x8000_0000, 0xe0_0000_0000, 0x8_0000_0000, 0x7ff7_8000),
            (1001472, 1, 0x100_0000_0000, 0x8000_0000, 0xf8_0000_0000, 0x8_0000_0000, 0x7ff7_8000),
        ];
        for &(mib, vcpus, fna, uc32, base64, size64, s3) in captured {
            let vm = VmConfig {
                memory_mib: mib,
                vcpus,
                ..VmConfig::default()
            };
            let f = platform_info_2022(&vm, &DEBIAN12_PLATFORM_INFO).unwrap();
            let got = (
                field(&f, 44),
                field(&f, 53),
                field(&f, 70),
                field(&f, 78),
                field(&f, 130),
            );
            assert_eq!(got, (fna, uc32, base64, size64, s3), "{mib} MiB");
            // Constant over memory: the address width, the 32-bit window, the S3 size.
            assert_eq!(field(&f, 52), 40, "{mib} MiB");
            assert_eq!((field(&f, 86), field(&f, 90)), (0xc000_0000, 0x3c00_0000));
            assert_eq!(field(&f, 134), 0x8_0000 + u64::from(vcpus) * 0x8000);
        }
        assert_eq!(q35_ram_layout(2815), (2815 << 20, 4 * GIB));
        assert_eq!(q35_ram_layout(2816), (2 * GIB, 4 * GIB + (768 << 20)));
    }

    /// The boot options' data hash to the digests of the EV_EFI_VARIABLE_BOOT events of a real boot of Debian
    /// 12's OVMF (2022.11-6+deb12u2, q35 of QEMU 10.0.2 and of Debian 12's 7.2 alike, boot disk virtio-blk 00:02.0
    /// bootindex=0; the logs `boot_firmware_pcrs.rs` keeps). DXEFV's volume name there is 7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1.
    #[test]
    fn boot_option_encoding_matches_a_real_boot() {
        let dxe = guid!("7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1");
        let sha = |d: &[u8]| Algorithm::Sha256.digest(d).to_hex();
        assert_eq!(
            sha(&load_option(
                LOAD_OPTION_UIAPP,
                "UiApp",
                &fv_file_path(dxe, UI_APP),
                &[]
            )),
            "3197be1e300fa1600d1884c3a4bd4a90a15405bfb546cf2e6cf6095f8c362a93"
        );
        assert_eq!(
            sha(&load_option(
                LOAD_OPTION_ACTIVE,
                "EFI Internal Shell",
                &fv_file_path(dxe, UEFI_SHELL),
                &[]
            )),
            "4d387b02d63b2f4cd7f667feb0a387fe47a10a3e26bf3533ddd001c605f3dec5"
        );
    }

    /// A FAT boot sector at LBA 0 is a whole-disk FAT; zeros are neither GPT nor FAT; Debian's empty VARS
    /// template holds no boot options.
    #[test]
    fn disk_layouts_and_fresh_vars() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk.img");
        let mut img = vec![0u8; 4096];
        img[0x52..0x55].copy_from_slice(b"FAT");
        img[510] = 0x55;
        img[511] = 0xaa;
        std::fs::write(&disk, &img).unwrap();
        assert_eq!(boot_disk(&disk).unwrap(), BootDisk::WholeDiskFat);
        std::fs::write(&disk, vec![0u8; 4096]).unwrap();
        assert_eq!(boot_disk(&disk).unwrap(), BootDisk::NoGpt);
        std::fs::write(&disk, b"short").unwrap();
        assert_eq!(boot_disk(&disk).unwrap(), BootDisk::NoGpt);
        assert!(matches!(
            boot_disk(&dir.path().join("missing")),
            Err(FirmwareError::Disk { .. })
        ));
        assert!(vars_boot_options(b"not a VARS file").is_err());
    }

    /// Which boot options of a VARS file leave PCR 1 as on a fresh VARS (Debian's snakeoil VARS holds UiApp,
    /// the shell and a stale auto-created SATA disk option).
    #[test]
    fn vars_boot_options_that_keep_the_model() {
        let ui = load_option(LOAD_OPTION_UIAPP, "UiApp", &[1, 2], &[]);
        let shell = load_option(LOAD_OPTION_ACTIVE, "EFI Internal Shell", &[3, 4], &[]);
        let disk = load_option(
            LOAD_OPTION_ACTIVE,
            "UEFI Misc Device",
            &[5],
            &AUTO_CREATED.to_efi_bytes(),
        );
        let model = vec![
            ("BootOrder", vec![1, 0, 0, 0, 2, 0]),
            ("Boot0001", disk.clone()),
            ("Boot0000", ui.clone()),
            ("Boot0002", shell.clone()),
        ];
        let stale_sata = load_option(
            LOAD_OPTION_ACTIVE,
            "UEFI QEMU HARDDISK QM00001",
            &[9, 9],
            &AUTO_CREATED.to_efi_bytes(),
        );
        let v = |list: &[(&str, &Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
            list.iter()
                .map(|(n, d)| ((*n).to_string(), (*d).clone()))
                .collect()
        };
        assert!(check_vars_options(&[], &model).is_ok());
        let snakeoil = v(&[
            ("Boot0000", &ui),
            ("Boot0001", &stale_sata),
            ("Boot0002", &shell),
        ]);
        assert!(check_vars_options(&snakeoil, &model).is_ok());
        // The disk's own option already there under its number.
        let kept = v(&[("Boot0000", &ui), ("Boot0001", &disk), ("Boot0002", &shell)]);
        assert!(check_vars_options(&kept, &model).is_ok());
        // Refused: a BootOrder of its own, a missing or different OVMF option, an option OVMF keeps (not
        // auto-created), the disk's option under another number (it would stay there).
        let with_order = [snakeoil.clone(), v(&[("BootOrder", &vec![0, 0])])].concat();
        let e = check_vars_options(&with_order, &model).unwrap_err();
        assert!(e.contains("BootOrder"), "{e}");
        let no_shell = v(&[("Boot0000", &ui), ("Boot0001", &stale_sata)]);
        assert!(
            check_vars_options(&no_shell, &model)
                .unwrap_err()
                .contains("Boot0002")
        );
        let other = load_option(LOAD_OPTION_ACTIVE, "My OS", &[7], &[]);
        let mine = [snakeoil.clone(), v(&[("Boot0003", &other)])].concat();
        assert!(
            check_vars_options(&mine, &model)
                .unwrap_err()
                .contains("Boot0003")
        );
        let moved = [snakeoil.clone(), v(&[("Boot0004", &disk)])].concat();
        let e = check_vars_options(&moved, &model).unwrap_err();
        assert!(e.contains("Boot0004"), "{e}");
        // BootNext (booted first, moves the free numbers), DriverOrder and driver options.
        for extra in [
            "BootNext",
            "DriverOrder",
            "SysPrepOrder",
            "Driver0000",
            "SysPrep0001",
        ] {
            let with = [snakeoil.clone(), v(&[(extra, &vec![0, 0])])].concat();
            let e = check_vars_options(&with, &model).unwrap_err();
            assert!(e.contains(extra), "{e}");
            assert!(!e.contains("  "), "{e}");
        }
    }

    #[test]
    fn parses_flag_values() {
        assert_eq!("qemu-q35".parse::<MachineType>(), Ok(MachineType::QemuQ35));
        assert!("pc".parse::<MachineType>().is_err());
        assert_eq!("virtio-net".parse::<Nic>(), Ok(Nic::VirtioNet));
        assert_eq!("e1000e".parse::<Nic>(), Ok(Nic::E1000e));
        assert!("e1000".parse::<Nic>().is_err());
        for n in [Nic::None, Nic::VirtioNet, Nic::E1000e] {
            assert_eq!(n.to_string().parse::<Nic>(), Ok(n));
        }
    }
}
