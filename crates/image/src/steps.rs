//! The steps of an image build that other yardstick crates own, behind one narrow seam each: dm-verity
//! ([`verity_format`], [`verity_kernel_params`]: `yardstick-verity`), the kernel and stub checks and the UKI
//! ([`check_kernel`], [`check_stub`], [`build_uki`]: `yardstick-pe`), the PCR prediction ([`predict_pcrs_with_prediction`],
//! [`add_firmware_pcrs`]: `yardstick-tpm`), the SEV-SNP launch digest ([`snp_launch`]: `yardstick-snp`) and the Intel TDX MRTD and
//! RTMRs ([`tdx_launch`]: `yardstick-tdx`). The build pipeline only
//! calls these functions; each error names the file at fault.

use std::fs::File;
use std::path::{Path, PathBuf};

use yardstick_common::fs::{InputKind, read_input};
use yardstick_common::hash::Algorithm;
use yardstick_common::progress::Progress;
use yardstick_pe::pe::{PeHeaders, loaded_section_bytes};
use yardstick_pe::uki::{
    SDMAGIC, Section, StubGeneration, stub_version_from_sdmagic, systemd_major_version,
};
use yardstick_refvals::{Layout, SnpLaunch, TpmRefs, VerityKernelParams};
use yardstick_snp::ovmf::Ovmf;
use yardstick_snp::sev_mode::SevMode;
use yardstick_snp::vcpu_types::{self, VcpuSpec};
use yardstick_snp::vmm_types::VmmType;
use yardstick_tdx::{Initrd, InputPaths, PageOrder, QemuVersion, TdxGuest, TdxMeasurement};
use yardstick_tpm::predict::firmware::{BootDisk, VmConfig, WholeSet, boot_disk, predict_firmware};
use yardstick_verity::kernel::{DmDevices, KernelParams};
use yardstick_verity::params::Salt;
use yardstick_verity::volume::{self, Dev, Volume};

use crate::guid::Guid;

/// A step failed.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct StepError {
    /// Which step.
    pub step: &'static str,
    /// Why (starting with the file at fault, when there is one).
    pub reason: String,
}

fn step_err(step: &'static str, reason: impl Into<String>) -> StepError {
    StepError {
        step,
        reason: reason.into(),
    }
}

/// dm-verity format parameters.
#[derive(Debug, Clone)]
pub struct VerityParams {
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Data block size.
    pub data_block_size: u32,
    /// Hash block size.
    pub hash_block_size: u32,
    /// Salt (may be empty).
    pub salt: Vec<u8>,
    /// Write a veritysetup superblock at the start of the hash device.
    pub superblock: bool,
    /// Superblock UUID.
    pub uuid: Guid,
}

/// What formatting produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerityOutcome {
    /// Root hash.
    pub root_hash: Vec<u8>,
    /// Data blocks covered.
    pub data_blocks: u64,
    /// First tree block on the hash device (the dm table's `hash_start`).
    pub hash_start_block: u64,
    /// The validated parameters the tree was built with (the input of the kernel-parameter formatter).
    pub params: yardstick_verity::params::VerityParams,
}

/// Formats the hash tree of `data` (whole data blocks: the filesystem image is a multiple of the block size)
/// into the new file `hash`, in-process and on all cores, byte-identical with `veritysetup format`.
pub fn verity_format(
    data: &Path,
    hash: &Path,
    p: &VerityParams,
    progress: &dyn Progress,
) -> Result<VerityOutcome, StepError> {
    const STEP: &str = "verity format";
    let at =
        |path: &Path, e: &dyn std::fmt::Display| step_err(STEP, format!("{}: {e}", path.display()));
    let data_file = File::open(data).map_err(|e| at(data, &e))?;
    let size = yardstick_verity::device_size(&data_file, data).map_err(|e| at(data, &e))?;
    let hash_file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(hash)
        .map_err(|e| at(hash, &e))?;
    let params = yardstick_verity::params::VerityParams::new(
        p.algorithm,
        p.data_block_size,
        p.hash_block_size,
        size / u64::from(p.data_block_size.max(1)),
        Salt::new(p.salt.clone()).map_err(|e| step_err(STEP, e.to_string()))?,
    )
    .with_superblock(p.superblock);
    let vol = Volume::new(
        Dev {
            file: &data_file,
            path: data,
        },
        Dev {
            file: &hash_file,
            path: hash,
        },
    );
    let uuid = p.superblock.then(|| (p.uuid.to_string(), p.uuid));
    let f = volume::format(&params, &vol, uuid, None, progress).map_err(|e| at(data, &e))?;
    Ok(VerityOutcome {
        root_hash: f.root.to_vec(),
        data_blocks: params.data_blocks,
        hash_start_block: params.hash_start_block(),
        params,
    })
}

/// The guest's device names of a layout's data and hash partitions (`disk` is the guest's name for the disk,
/// `/dev/vda`).
pub fn dm_devices(layout: Layout, disk: &str) -> DmDevices {
    let (data, hash) = match layout {
        Layout::Kata => (format!("{disk}1"), format!("{disk}2")),
        _ => (format!("{disk}2"), format!("{disk}3")),
    };
    DmDevices {
        data,
        hash,
        fec: None,
    }
}

/// Every kernel command-line form of the verity device (`yardstick_verity`'s one formatter), and the part the
/// manifest records: for `uki`, systemd's `roothash=`; for `kata`, the dm table as `dm-mod.create=` with
/// `root=/dev/dm-0`, and Kata's `kernel_verity_params`.
pub fn verity_kernel_params(
    layout: Layout,
    disk: &str,
    o: &VerityOutcome,
) -> (KernelParams, VerityKernelParams) {
    let k = yardstick_verity::kernel::kernel_params(
        &o.params,
        &o.root_hash,
        &dm_devices(layout, disk),
        None,
        "dm-verity",
    );
    let refs = match layout {
        Layout::Kata => VerityKernelParams {
            dm_table: k.dm_table.clone(),
            cmdline: format!("{} root=/dev/dm-0", k.dm_mod_create),
            kata_verity_params: k.kata_verity_params.clone(),
        },
        _ => VerityKernelParams {
            dm_table: k.dm_table.clone(),
            cmdline: k.systemd_roothash.clone(),
            kata_verity_params: None,
        },
    };
    (k, refs)
}

/// Reads an input whole, once, under its kind's size limit.
fn read_file(step: &'static str, path: &Path, kind: InputKind) -> Result<Vec<u8>, StepError> {
    read_input(path, kind)
        .map_err(|e| step_err(step, format!("{}: {}", path.display(), e.into_io())))
}

/// Whether `bytes` carry an x86 boot protocol setup header (`HdrS` at 0x202: a bzImage).
fn is_bzimage(bytes: &[u8]) -> bool {
    bytes.get(0x202..0x206) == Some(b"HdrS".as_slice())
}

/// Checks that `path` is a Linux kernel and returns its bytes: a bzImage or a PE image for direct boot
/// (`need_pe: false`); an EFI-stub kernel (a PE image, which Debian's bzImages are) when systemd-stub is to
/// start it from a UKI (`need_pe: true`).
pub fn check_kernel(path: &Path, need_pe: bool) -> Result<Vec<u8>, StepError> {
    const STEP: &str = "kernel";
    let bytes = read_file(STEP, path, InputKind::KERNEL)?;
    let pe = PeHeaders::parse(&bytes);
    match (&pe, is_bzimage(&bytes)) {
        // The firmware measures the UKI's kernel as a PE image (Authenticode): its ranges must fit the file.
        (Ok(h), _) if need_pe => match yardstick_pe::authenticode::hashed_ranges(&bytes, h) {
            Ok(_) => Ok(bytes),
            Err(e) => Err(step_err(STEP, format!("{}: {e}", path.display()))),
        },
        (Ok(_), _) => Ok(bytes),
        (Err(_), true) if !need_pe => Ok(bytes),
        (Err(e), true) => Err(step_err(
            STEP,
            format!(
                "{}: a bzImage without an EFI stub (not a PE image: {e}); systemd-stub can only start an EFI-stub kernel",
                path.display()
            ),
        )),
        (Err(e), false) => Err(step_err(
            STEP,
            format!(
                "{}: not a Linux kernel (no bzImage setup header \"HdrS\" at 0x202, not a PE image: {e})",
                path.display()
            ),
        )),
    }
}

/// Checks that `path` is a bare systemd-stub with a PCR 11 section table yardstick knows, with `yardstick_pe`'s
/// parser and stub table: a PE image with a `.sdmagic` section naming `systemd-stub <version>` of systemd 252 or
/// later, and no `.linux` section yet. Returns its bytes and section-table generation.
pub fn check_stub(path: &Path) -> Result<(Vec<u8>, StubGeneration), StepError> {
    const STEP: &str = "stub";
    let bytes = read_file(STEP, path, InputKind::EFI_STUB)?;
    let not = |why: String| {
        step_err(
            STEP,
            format!("{}: not a systemd-stub: {why}", path.display()),
        )
    };
    let headers = PeHeaders::parse(&bytes).map_err(|e| not(format!("not a PE image ({e})")))?;
    let Some(i) = headers.sections.iter().position(|s| s.name == SDMAGIC) else {
        return Err(not("a PE image without a .sdmagic section".into()));
    };
    let version = loaded_section_bytes(&bytes, &headers, i)
        .and_then(|b| stub_version_from_sdmagic(&b))
        .ok_or_else(|| {
            not("its .sdmagic names no systemd-stub version (systemd-boot or another systemd EFI binary?)".into())
        })?;
    if headers.section(Section::Linux.name()).is_some() {
        return Err(not("already a UKI (it has a .linux section)".into()));
    }
    let major = systemd_major_version(&version)
        .ok_or_else(|| not(format!("unparsable systemd-stub version {version:?}")))?;
    let generation = StubGeneration::from_systemd_version(major).ok_or_else(|| {
        step_err(
            STEP,
            format!(
                "{}: systemd-stub {version} predates 252 (a different PCR 11 scheme, not supported)",
                path.display()
            ),
        )
    })?;
    Ok((bytes, generation))
}

/// Inputs of a UKI, each read once: the bytes of the stub and kernel (as checked by [`check_stub`] and
/// [`check_kernel`]) with their paths, for messages, and the other inputs' bytes.
#[derive(Debug, Clone)]
pub struct UkiInputs<'a> {
    /// systemd-stub bytes.
    pub stub: Vec<u8>,
    /// Where the stub came from.
    pub stub_path: &'a Path,
    /// Kernel bytes.
    pub kernel: Vec<u8>,
    /// Where the kernel came from.
    pub kernel_path: &'a Path,
    /// Initrd, if any.
    pub initrd: Option<Vec<u8>>,
    /// `.cmdline` contents, as ukify writes a `--cmdline TEXT` (already whitespace-normalized).
    pub cmdline: &'a str,
    /// os-release for `.osrel`, if any.
    pub os_release: Option<Vec<u8>>,
}

/// Builds the UKI with `yardstick_pe` (sections laid out as ukify 254 does, `.uname` from the kernel, ukify's
/// default SBAT); the result depends only on the inputs.
pub fn build_uki(u: UkiInputs<'_>) -> Result<Vec<u8>, StepError> {
    const STEP: &str = "uki build";
    let inputs = yardstick_pe::UkiInputs {
        stub: u.stub,
        linux: u.kernel,
        initrds: u.initrd.into_iter().collect(),
        os_release: u.os_release,
        cmdline: Some(u.cmdline.as_bytes().to_vec()).filter(|c| !c.is_empty()),
        ..Default::default()
    };
    yardstick_pe::build_uki(&inputs).map_err(|e| {
        use yardstick_pe::UkiError;
        let who = match &e {
            UkiError::Input { what: "kernel", .. } => u.kernel_path,
            UkiError::Sbat(m) if m.starts_with("kernel:") => u.kernel_path,
            _ => u.stub_path,
        };
        step_err(
            STEP,
            format!("{}: {}", who.display(), yardstick_common::error_chain(&e)),
        )
    })
}

/// The banks `image build` predicts.
pub const IMAGE_BANKS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha384];

/// Predicts the PCRs (sha1, sha256, sha384) that Debian's OVMF without Secure Boot keys, booting the disk
/// first (`bootindex=0`), and the UKI's stubs produce, with the measurements behind them; also returns the
/// prediction (for [`add_firmware_pcrs`]).
pub fn predict_pcrs_with_prediction(
    uki: &[u8],
) -> Result<(yardstick_tpm::predict::Prediction, TpmRefs), StepError> {
    let platform = yardstick_tpm::predict::Platform::default();
    let p = predict_uki(uki, &platform, &IMAGE_BANKS)?;
    let refs = tpm_refs(&p, &platform, None);
    Ok((p, refs))
}

/// The UKI's PCRs (4, 7, 9, 11-13) on `platform`.
pub fn predict_uki(
    uki: &[u8],
    platform: &yardstick_tpm::predict::Platform,
    banks: &[Algorithm],
) -> Result<yardstick_tpm::predict::Prediction, StepError> {
    yardstick_tpm::predict::predict(uki, platform, banks).map_err(|e| {
        step_err(
            "pcr prediction",
            format!("BOOTX64.EFI: {}", yardstick_common::error_chain(&e)),
        )
    })
}

/// The `tpm` section of a UKI prediction with the platform's assumptions (`secure_boot_vars`: the VARS file
/// the Secure Boot variables came from, `None` when none are enrolled).
pub fn tpm_refs(
    p: &yardstick_tpm::predict::Prediction,
    platform: &yardstick_tpm::predict::Platform,
    secure_boot_vars: Option<&str>,
) -> TpmRefs {
    let mut refs = TpmRefs::from_prediction(p);
    refs.assumptions.push(match secure_boot_vars {
        None => format!("{DEBIAN12_OVMF}an empty OVMF_VARS_4M.fd, on QEMU q35"),
        Some(v) => format!("{DEBIAN12_OVMF}the Secure Boot variables of {v}, on QEMU q35"),
    });
    refs.assumptions.push(match platform.boot_retries {
        0 => "the disk is first in the boot order (bootindex=0): the firmware tries no other boot option before the UKI"
            .into(),
        n => format!("{n} boot option(s) tried before the UKI"),
    });
    refs
}

/// The start of the assumption naming the firmware the UKI prediction assumes; [`add_firmware_pcrs`] replaces
/// it by the firmware given.
const DEBIAN12_OVMF: &str = "OVMF (EDK2) as Debian 12 ships it: OVMF_CODE_4M.fd with ";

/// The firmware and the VM of the firmware PCRs (0-3, 5, 6), as `pcr predict --firmware` takes them: read and
/// checked by [`FirmwarePcrs::read`], used by [`add_firmware_pcrs`].
#[derive(Debug, Clone)]
pub struct FirmwarePcrs {
    /// The OVMF code file's bytes (`OVMF_CODE*.fd`).
    pub code: Vec<u8>,
    /// Its file name, for the assumptions.
    pub file: String,
    /// The VM (machine type, memory, vCPUs, NIC, the boot options of the VARS it starts from); its `disk` is replaced
    /// by the boot disk given to [`add_firmware_pcrs`].
    pub vm: VmConfig,
    /// The NIC and its option ROM, for the assumptions ("no NIC", "a virtio-net NIC ... (sha256 ...)").
    pub nic: String,
}

impl FirmwarePcrs {
    /// Reads the firmware at `path` (and the NIC's option ROM at `nic_rom`) and refuses, before anything is
    /// built, what no boot disk can make predictable: a firmware file that is not an OVMF code file, an option
    /// ROM file that is not one or without a NIC, zero memory or vCPUs.
    pub fn read(
        path: &Path,
        mut vm: VmConfig,
        nic_rom: Option<&Path>,
        fw_cfg: Option<&Path>,
    ) -> Result<FirmwarePcrs, StepError> {
        let code = read_file(FIRMWARE_STEP, path, InputKind::FIRMWARE)?;
        if let Some(dir) = fw_cfg {
            vm.fw_cfg_acpi = Some(
                yardstick_tpm::predict::fw_cfg_acpi::FwCfgAcpi::read_dir(dir)
                    .map_err(|e| step_err(FIRMWARE_STEP, format!("--fw-cfg: {e}")))?,
            );
        }
        if nic_rom.is_some() && vm.nic == yardstick_tpm::predict::firmware::Nic::None {
            return Err(step_err(
                FIRMWARE_STEP,
                "the NIC's option ROM needs a NIC (--nic virtio-net or e1000e)".to_string(),
            ));
        }
        let nic = match nic_rom {
            Some(p) => {
                let rom = read_file(FIRMWARE_STEP, p, InputKind::OPTION_ROM)?;
                yardstick_tpm::predict::option_rom::check_rom(&rom)
                    .map_err(|e| step_err(FIRMWARE_STEP, format!("{}: {e}", p.display())))?;
                let described = format!(
                    "a {} NIC after the boot disk, its option ROM {} (sha256 {})",
                    vm.nic,
                    p.file_name().map_or_else(
                        || p.display().to_string(),
                        |f| f.to_string_lossy().into_owned()
                    ),
                    Algorithm::Sha256.digest(&rom).to_hex()
                );
                vm.nic_rom = Some(rom);
                described
            }
            None if vm.nic == yardstick_tpm::predict::firmware::Nic::None => "no NIC".into(),
            None => format!("a {} NIC after the boot disk", vm.nic),
        };
        let probe = VmConfig {
            disk: BootDisk::Unknown,
            ..vm.clone()
        };
        predict_firmware(&code, &probe, &[Algorithm::Sha256]).map_err(|e| {
            step_err(
                FIRMWARE_STEP,
                format!("{}: {}", path.display(), yardstick_common::error_chain(&e)),
            )
        })?;
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        Ok(FirmwarePcrs {
            code,
            file,
            vm,
            nic,
        })
    }
}

const FIRMWARE_STEP: &str = "firmware pcrs";

/// Adds the firmware PCRs to a `tpm` section made from `uki` ([`TpmRefs::from_prediction`] and its
/// assumptions): the whole PCR set of a QEMU + OVMF boot of the UKI from `disk` (the boot disk image or
/// device: its GPT goes into PCR 5, its layout into PCR 1; `None`: both refused), as `pcr predict --firmware
/// --uki --disk` predicts it ([`TpmRefs::from_whole_set`]), what is refused in `not_predicted`, and the VM in
/// the assumptions. The one place `image build` and `refvals create` get the firmware PCRs from.
pub fn add_firmware_pcrs(
    tpm: &mut TpmRefs,
    uki: &yardstick_tpm::predict::Prediction,
    fw: &FirmwarePcrs,
    disk: Option<&Path>,
    banks: &[Algorithm],
) -> Result<(), StepError> {
    let at = |what: &dyn std::fmt::Display, e: &dyn std::error::Error| {
        step_err(
            FIRMWARE_STEP,
            format!("{what}: {}", yardstick_common::error_chain(e)),
        )
    };
    let mut vm = fw.vm.clone();
    vm.disk = match disk {
        Some(d) => boot_disk(d).map_err(|e| at(&d.display(), &e))?,
        None => BootDisk::Unknown,
    };
    let firmware = predict_firmware(&fw.code, &vm, banks).map_err(|e| at(&fw.file, &e))?;
    let volumes = firmware.volumes;
    let smm = match firmware.build {
        Some(b) if b.smm => "smm=on, the flash secure",
        Some(_) => "smm=off",
        None => "smm as the firmware needs",
    };
    let whole = WholeSet::new(firmware, Some(uki.clone()), (0..16).collect());
    let mut refs = TpmRefs::from_whole_set(&whole);
    refs.assumptions = std::mem::take(&mut tpm.assumptions)
        .into_iter()
        .map(|a| match a.strip_prefix(DEBIAN12_OVMF) {
            // The firmware is the one given; what stays is the variable store the VM starts from.
            Some(vars) => format!("OVMF's variable store: {vars}"),
            None => a,
        })
        .collect();
    refs.assumptions.push(format!(
        "firmware PCRs 0-3, 5, 6 of {} (PEIFV sha256 {}, DXEFV sha256 {}) on QEMU {} q35 under TCG with its \
         default CPU ({smm}, S3 on), {} MiB, {} vCPU(s), {}, the boot disk the first virtio-blk (PCI 00:02.0, \
         bootindex=0), {} VARS",
        fw.file,
        volumes.peifv.to_hex(),
        volumes.dxefv.to_hex(),
        vm.qemu_version,
        vm.memory_mib,
        vm.vcpus,
        fw.nic,
        if vm.vars_boot_options.is_empty() {
            "a fresh"
        } else {
            "the given"
        },
    ));
    if let Some(acpi) = &vm.fw_cfg_acpi {
        refs.assumptions.push(format!(
            "QEMU's ACPI fw_cfg blobs (PCR 1) as a guest of this VM saw them: {}",
            acpi.blobs
                .iter()
                .map(|(name, data)| format!(
                    "{name} sha256 {}",
                    Algorithm::Sha256.digest(data).to_hex()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    *tpm = refs;
    Ok(())
}

/// SEV-SNP launch parameters: sev-snp-measure's, as `yardstick snp measure` takes them.
#[derive(Debug, Clone)]
pub struct SnpParams {
    /// OVMF firmware (with the SEV metadata).
    pub ovmf: PathBuf,
    /// Launch type (SEV, SEV-ES or SEV-SNP; a manifest cannot record an SVSM launch).
    pub mode: SevMode,
    /// vCPUs.
    pub vcpus: u32,
    /// QEMU CPU model (`EPYC-v4`), if the signature is given by name.
    pub vcpu_type: Option<String>,
    /// CPUID signature, if given directly (the manifest records 32 bits).
    pub vcpu_sig: Option<u32>,
    /// CPU family, if the signature is given as family, model and stepping.
    pub vcpu_family: Option<u64>,
    /// CPU model (with `vcpu_family`).
    pub vcpu_model: Option<u64>,
    /// Stepping (with `vcpu_family`).
    pub vcpu_stepping: Option<u64>,
    /// Hypervisor.
    pub vmm_type: VmmType,
    /// SEV features of the VMSAs.
    pub guest_features: u64,
}

/// The vCPU signature and canonical model name that go into the manifest, from
/// [`yardstick_snp::vcpu_types::resolve`] (sev-snp-measure's rules, as `yardstick snp measure` applies them):
/// the signature in the VMSAs' RDX (0x600 under EC2 and GCE, 0 for plain SEV) and the QEMU model it was taken
/// from, if any.
pub fn resolve_vcpu(p: &SnpParams) -> Result<(u32, Option<String>), StepError> {
    const STEP: &str = "snp launch digest";
    let spec = VcpuSpec {
        vcpu_type: p.vcpu_type.as_deref(),
        vcpu_sig: p.vcpu_sig.map(u64::from),
        family: p.vcpu_family,
        model: p.vcpu_model,
        stepping: p.vcpu_stepping,
    };
    // The error names its flag (`--vcpu-type: unknown vCPU type ...`).
    let v = vcpu_types::resolve(p.mode, p.vmm_type, &spec)
        .map_err(|e| step_err(STEP, yardstick_common::error_chain(&e)))?;
    // A 32-bit signature, or one computed from family, model and stepping: never wider.
    let sig = u32::try_from(v.sig).map_err(|_| {
        step_err(
            STEP,
            format!("vCPU signature {:#x} is wider than 32 bits", v.sig),
        )
    })?;
    Ok((sig, v.vcpu_type.map(|t| t.name.to_string())))
}

/// What a launch measures besides the firmware (direct boot with kernel hashes).
#[derive(Debug, Clone)]
pub struct DirectBoot<'a> {
    /// SHA-256 of the kernel file (QEMU hashes the raw file; the manifest's component already holds it).
    pub kernel_sha256: [u8; 32],
    /// SHA-256 of the initrd, if any.
    pub initrd_sha256: Option<[u8; 32]>,
    /// Command line.
    pub cmdline: &'a str,
}

/// Checks every SEV-SNP parameter against the firmware (`firmware`, the bytes of `p.ovmf`, read once) before
/// the build does any work (a firmware without SEV metadata, or without the kernel-hashes table a direct boot
/// needs, fails here, not after mkfs): measures once with placeholder kernel/initrd/cmdline digests, which
/// costs one pass over the firmware. Returns the parsed firmware for [`snp_launch`].
pub fn snp_preflight(
    p: &SnpParams,
    firmware: Vec<u8>,
    direct_boot: bool,
) -> Result<Ovmf, StepError> {
    const STEP: &str = "snp launch digest";
    resolve_vcpu(p)?;
    let fw = Ovmf::from_bytes(firmware)
        .map_err(|e| step_err(STEP, format!("{}: {e}", p.ovmf.display())))?;
    snp_measure(
        p,
        &fw,
        direct_boot.then_some(Boot::Placeholder),
        &yardstick_common::progress::NoProgress,
    )?;
    Ok(fw)
}

enum Boot<'a> {
    Placeholder,
    Files(&'a DirectBoot<'a>),
}

/// Computes the launch digest with `yardstick_snp` (bit-exact with sev-snp-measure 0.0.13) of the firmware
/// `fw` (from [`snp_preflight`]).
pub fn snp_launch(
    p: &SnpParams,
    fw: &Ovmf,
    boot: Option<&DirectBoot<'_>>,
    progress: &dyn Progress,
) -> Result<SnpLaunch, StepError> {
    snp_measure(p, fw, boot.map(Boot::Files), progress)
}

fn snp_measure(
    p: &SnpParams,
    fw: &Ovmf,
    boot: Option<Boot<'_>>,
    progress: &dyn Progress,
) -> Result<SnpLaunch, StepError> {
    use yardstick_snp::guest::{self, Firmware, Guest};
    use yardstick_snp::sev_hashes::Blob;
    const STEP: &str = "snp launch digest";
    let (vcpu_sig, vcpu_type) = resolve_vcpu(p)?;
    let g = Guest::new(p.mode, Firmware::Image(fw))
        .with_vcpus(p.vcpus, u64::from(vcpu_sig))
        .with_vmm(p.vmm_type)
        .with_guest_features(p.guest_features)
        .with_direct_boot(boot.as_ref().map(|b| match b {
            Boot::Files(b) => guest::DirectBoot {
                kernel: Blob::Sha256(b.kernel_sha256),
                initrd: b.initrd_sha256.map(Blob::Sha256),
                cmdline: Some(b.cmdline.as_bytes()),
            },
            Boot::Placeholder => guest::DirectBoot {
                kernel: Blob::Sha256([0; 32]),
                initrd: None,
                cmdline: None,
            },
        }));
    let m = guest::measure(&g, progress).map_err(|e| {
        let who = match e.subject() {
            guest::Subject::Firmware | guest::Subject::Svsm => format!("{}: ", p.ovmf.display()),
            guest::Subject::Blob | guest::Subject::Parameters => String::new(),
        };
        step_err(STEP, format!("{who}{e}"))
    })?;
    let kernel_hashes = boot.is_some();
    let mut components = vec!["firmware".to_string()];
    if let Some(Boot::Files(b)) = boot {
        components.push("kernel".into());
        if b.initrd_sha256.is_some() {
            components.push("initrd".into());
        }
        components.push("cmdline".into());
    }
    Ok(SnpLaunch {
        mode: p.mode,
        measurement: m.digest.into(),
        vcpus: p.vcpus,
        vcpu_type,
        vcpu_sig,
        vmm_type: p.vmm_type,
        // What the VMSAs carry: SEV-ES always 0, plain SEV has no VMSAs (recorded as 0).
        guest_features: p.mode.vmsa_features(p.guest_features).unwrap_or(0),
        kernel_hashes,
        components,
    })
}

/// Intel TDX launch parameters: `yardstick tdx measure`'s (the firmware is `--tdx-firmware`).
#[derive(Debug, Clone)]
pub struct TdxParams {
    /// The TDVF firmware (OVMF.fd of a TDX-enabled edk2).
    pub firmware: PathBuf,
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// vCPUs.
    pub vcpus: u32,
    /// The QEMU version (how the kernel reaches the firmware).
    pub qemu_version: QemuVersion,
    /// The VMM's MRTD page order.
    pub mrtd_order: PageOrder,
    /// QEMU's `etc/acpi/tables` (RTMR0 is predicted with it, for a direct boot).
    pub acpi_tables: Option<PathBuf>,
    /// QEMU's `etc/acpi/rsdp` (default: derived from the tables).
    pub acpi_rsdp: Option<PathBuf>,
    /// QEMU's `etc/table-loader` (default: derived from the tables).
    pub acpi_loader: Option<PathBuf>,
}

/// A TDX direct boot: the kernel QEMU loads with `-kernel` (RTMR1 measures its image), the initrd and the
/// command line (RTMR2).
#[derive(Debug, Clone, Copy)]
pub struct TdxBoot<'a> {
    /// The kernel's bytes, as read once by the preflight.
    pub kernel: &'a [u8],
    /// Where they came from (named in errors).
    pub kernel_path: &'a Path,
    /// The initrd.
    pub initrd: Option<Initrd<'a>>,
    /// The final command line (`-append`).
    pub cmdline: &'a str,
}

const TDX_STEP: &str = "tdx measurement";

/// Checks the TDX parameters, the firmware's TDVF metadata and (for a direct boot) the kernel before the
/// build does any work: predicts once without the initrd and command line (one pass over the firmware and
/// the kernel).
pub fn tdx_preflight(
    p: &TdxParams,
    firmware: &[u8],
    boot: Option<(&[u8], &Path)>,
) -> Result<(), StepError> {
    tdx_launch(
        p,
        firmware,
        boot.map(|(kernel, kernel_path)| TdxBoot {
            kernel,
            kernel_path,
            initrd: None,
            cmdline: "",
        }),
    )
    .map(|_| ())
}

/// Predicts MRTD and the RTMRs with `yardstick_tdx`'s entry point, as `yardstick tdx measure` does for the
/// same inputs (`Manifest::push_tdx` records it).
pub fn tdx_launch(
    p: &TdxParams,
    firmware: &[u8],
    boot: Option<TdxBoot<'_>>,
) -> Result<TdxMeasurement, StepError> {
    if boot.is_none() && p.acpi_tables.is_some() {
        return Err(step_err(
            TDX_STEP,
            "--tdx-acpi-tables: RTMR0 is modelled for a direct boot only (QEMU loads --kernel itself: the kata \
             and initrd layouts); a UKI is loaded from disk, whose boot variables depend on the disks the \
             firmware finds",
        ));
    }
    let read = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(|p| {
                yardstick_common::fs::read_input(p, yardstick_common::fs::InputKind::ACPI_BLOB)
                    .map_err(|e| step_err(TDX_STEP, yardstick_common::error_chain(&e)))
            })
            .transpose()
    };
    let (tables, rsdp, loader) = (
        read(&p.acpi_tables)?,
        read(&p.acpi_rsdp)?,
        read(&p.acpi_loader)?,
    );
    let guest = TdxGuest {
        firmware,
        direct_boot: boot.map(|b| yardstick_tdx::DirectBoot {
            kernel: b.kernel,
            initrd: b.initrd,
            append: Some(b.cmdline),
        }),
        memory_mib: p.memory_mib,
        vcpus: p.vcpus,
        qemu_version: p.qemu_version,
        mrtd_order: p.mrtd_order,
        acpi: tables.as_deref().map(|t| yardstick_tdx::AcpiInput {
            tables: t,
            rsdp: rsdp.as_deref(),
            loader: loader.as_deref(),
        }),
    };
    let paths = InputPaths {
        firmware: &p.firmware,
        kernel: boot.map(|b| b.kernel_path),
    };
    yardstick_tdx::measure_launch(&guest, paths).map_err(|e| {
        // The library names `tdx measure`'s ACPI flags; image build's carry the `--tdx-` prefix.
        let m = yardstick_common::error_chain(&e).replace("--acpi-", "--tdx-acpi-");
        step_err(TDX_STEP, m)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yardstick_common::progress::NoProgress;

    /// The kata and uki forms, from yardstick-verity's formatter: Kata's dm table has hash start 0 on
    /// vda1/vda2, the uki table hash start 1 (superblock) on vda2/vda3, and Kata's string is only there for the
    /// Kata shape. The expected strings follow Kata's runtime-rs `kernel_param.rs` format.
    #[test]
    fn kernel_params_per_layout() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::write(&data, vec![0x5au8; 10 * 4096]).unwrap();
        let p = |superblock| VerityParams {
            algorithm: Algorithm::Sha256,
            data_block_size: 4096,
            hash_block_size: 4096,
            salt: vec![0xaa; 2],
            superblock,
            uuid: crate::guid::derive(b"t", "u"),
        };
        let o = verity_format(&data, &dir.path().join("h1"), &p(false), &NoProgress).unwrap();
        let root = yardstick_common::hex::encode(&o.root_hash);
        let (_, k) = verity_kernel_params(Layout::Kata, "/dev/vda", &o);
        assert_eq!(
            k.dm_table,
            format!("0 80 verity 1 /dev/vda1 /dev/vda2 4096 4096 10 0 sha256 {root} aaaa")
        );
        assert_eq!(
            k.cmdline,
            format!(
                "dm-mod.create=\"dm-verity,,,ro,{}\" root=/dev/dm-0",
                k.dm_table
            )
        );
        assert_eq!(
            k.kata_verity_params.unwrap(),
            format!(
                "root_hash={root},salt=aaaa,data_blocks=10,data_block_size=4096,hash_block_size=4096"
            )
        );
        let o = verity_format(&data, &dir.path().join("h2"), &p(true), &NoProgress).unwrap();
        let root = yardstick_common::hex::encode(&o.root_hash);
        let (all, u) = verity_kernel_params(Layout::Uki, "/dev/vda", &o);
        assert_eq!(u.cmdline, format!("roothash={root}"));
        assert!(
            u.dm_table
                .contains(" /dev/vda2 /dev/vda3 4096 4096 10 1 sha256 ")
        );
        assert!(u.kata_verity_params.is_none());
        assert_eq!(
            all.systemd_data_partuuid.unwrap().replace('-', ""),
            root[..32]
        );
        // The hash file exists already: never overwritten.
        assert!(verity_format(&data, &dir.path().join("h2"), &p(true), &NoProgress).is_err());
    }

    #[test]
    fn kernel_and_stub_checks() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, [7u8; 4096]).unwrap();
        let e = check_kernel(&junk, false).unwrap_err().to_string();
        assert!(e.contains("not a Linux kernel"), "{e}");
        let mut bz = vec![0u8; 0x1000];
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        let bzp = dir.path().join("bz");
        std::fs::write(&bzp, &bz).unwrap();
        assert!(check_kernel(&bzp, false).is_ok());
        let e = check_kernel(&bzp, true).unwrap_err().to_string();
        assert!(e.contains("without an EFI stub"), "{e}");
        let e = check_stub(&junk).unwrap_err().to_string();
        assert!(e.contains("not a systemd-stub: not a PE image"), "{e}");
    }

    #[test]
    fn vcpu_resolution() {
        let p = SnpParams {
            ovmf: PathBuf::new(),
            mode: SevMode::SevSnp,
            vcpus: 1,
            vcpu_type: Some("epyc-v4".into()),
            vcpu_sig: None,
            vcpu_family: None,
            vcpu_model: None,
            vcpu_stepping: None,
            vmm_type: VmmType::Qemu,
            guest_features: 1,
        };
        // EPYC-v4: family 23, model 1, stepping 2 (QEMU builtin_x86_defs).
        assert_eq!(
            resolve_vcpu(&p).unwrap(),
            (0x800f12, Some("EPYC-v4".into()))
        );
        let bad = SnpParams {
            vcpu_type: Some("Pentium".into()),
            ..p.clone()
        };
        assert!(
            resolve_vcpu(&bad)
                .unwrap_err()
                .to_string()
                .contains("unknown vCPU type")
        );
        let none = SnpParams {
            vcpu_type: None,
            ..p.clone()
        };
        assert!(resolve_vcpu(&none).is_err());
        // EC2 and GCE put 0x600 in RDX whatever the model; the model named is still recorded.
        for vmm_type in [VmmType::Ec2, VmmType::Gce] {
            let cloud = SnpParams {
                vmm_type,
                ..p.clone()
            };
            assert_eq!(
                resolve_vcpu(&cloud).unwrap(),
                (0x600, Some("EPYC-v4".into()))
            );
            let bare = SnpParams {
                vcpu_type: None,
                ..cloud
            };
            assert_eq!(resolve_vcpu(&bare).unwrap(), (0x600, None));
        }
        // Family, model and stepping come first, as in sev-snp-measure.
        let fms = SnpParams {
            vcpu_sig: Some(0xa00f11),
            vcpu_family: Some(25),
            vcpu_model: Some(17),
            vcpu_stepping: Some(0),
            ..p.clone()
        };
        assert_eq!(resolve_vcpu(&fms).unwrap(), (0xa10f10, None));
        let sev = SnpParams {
            mode: SevMode::Sev,
            ..p
        };
        assert_eq!(resolve_vcpu(&sev).unwrap(), (0, None));
    }
}
