//! The whole prediction: MRTD and the RTMRs of a TD booted by QEMU with a TDVF and, optionally, a kernel.
//!
//! What is modelled, and what is not (never guessed; the register is `None` and [`TdxMeasurement::notes`]
//! says why):
//!
//! * MRTD: from the firmware's TDX metadata and the VMM's page order ([`crate::mrtd`]).
//! * RTMR0, with a kernel and the ACPI tables QEMU gives the firmware ([`AcpiInput`]): the TD HOB (memory
//!   map), the CFV (variable store), the Secure Boot variables, the separator, the three ACPI blobs and the
//!   boot variables ([`crate::rtmr0`]). Without the tables, or without a kernel (the boot variables of a
//!   disk boot depend on the disks), RTMR0 is `None`; a firmware known to extend no RTMR (Debian 12's) is
//!   refused.
//! * RTMR1, with a kernel: the kernel image's Authenticode SHA-384 as `LoadImage` measures it (unmodified
//!   with QEMU ≥ 10.0, setup header patched with older QEMU: [`crate::kernel`]), then "Calling EFI
//!   Application from Boot Option", the separator, and the two ExitBootServices actions. This needs a firmware
//!   with TdTcg2Dxe (Debian 13's ovmf 2025.02, not Debian 12's 2022.11, which extends no RTMR in a TD) from
//!   edk2-stable202411 on: edk2 commit efaf893 ("OvmfPkg/TdTcg2Dxe: Fix the SeparatorEvent issue in RTMRs")
//!   moved the ReadyToBoot separator from RTMR0 to RTMR1; older TDVFs (e.g. the one behind trustee's CCEL test
//!   data, or Canonical's 2024.02 TDX build) extend it into RTMR0, which is not modelled.
//! * RTMR2, with a kernel: what the Linux EFI stub (≥ 6.9, e.g. Debian 13's 6.12) measures: the command line
//!   as OVMF passes it (`--append`, plus `" initrd=initrd"` when an initrd is given, UTF-16LE with NUL), then
//!   the initrd's SHA-384. Without an initrd there is no initrd event and no `" initrd=initrd"` (OVMF offers the
//!   stub no initrd; the oracles do not model this case, they always measure one). Without `--append` (or with
//!   an empty one) the command line OVMF builds is not modelled and RTMR2 is `None`; a non-ASCII `--append` is
//!   refused (OVMF widens it byte by byte).
//! * RTMR3: zero at boot, no events.
//! * Without a kernel, RTMR1 and RTMR2 depend on the boot path the firmware finds and are `None`.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use yardstick_common::fs::{InputError, InputFile, InputKind};
use yardstick_common::hash::{Algorithm, Digest};
use yardstick_pe::authenticode::authenticode_digest;
use yardstick_tpm::eventlog::EventType;

use crate::acpi::{AcpiBlobs, AcpiError, AcpiTable};
use crate::kernel::{KernelLoad, PatchError, patch_setup_header};
use crate::mrtd::{PageOrder, mrtd};
use crate::rtmr::{self, PredictedEvent, Rtmr};
use crate::rtmr0::{FirmwareModel, Rtmr0Error, firmware_model};
use crate::tdvf::{TdvfError, TdvfMetadata};

pub use yardstick_common::qemu::{BadQemuVersion, QemuVersion};

/// An initrd: in memory, or a file that is hashed as it is read (an initrd can be hundreds of MiB; only its
/// SHA-384 and size enter the measurement).
#[derive(Debug, Clone, Copy)]
pub enum Initrd<'a> {
    /// The bytes.
    Bytes(&'a [u8]),
    /// A file (or stream), read once under [`InputKind::INITRD`]'s limit.
    File(&'a Path),
    /// Already hashed by the caller (e.g. an initrd `image build` has just written): its SHA-384 and size.
    Hashed {
        /// SHA-384 of the initrd.
        sha384: [u8; 48],
        /// Its size in bytes.
        size: u64,
    },
}

impl Initrd<'_> {
    /// The size known before reading (`None` for a stream).
    fn known_size(&self) -> Option<u64> {
        match self {
            Initrd::Bytes(b) => Some(b.len() as u64),
            Initrd::Hashed { size, .. } => Some(*size),
            Initrd::File(p) => std::fs::metadata(p)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len()),
        }
    }

    /// SHA-384 and size.
    fn digest(&self) -> Result<(Digest, u64), InputError> {
        match self {
            Initrd::Bytes(b) => Ok((Algorithm::Sha384.digest(b), b.len() as u64)),
            Initrd::Hashed { sha384, size } => Ok((
                Digest::from_bytes(Algorithm::Sha384, sha384)
                    .unwrap_or_else(|| Algorithm::Sha384.zero()),
                *size,
            )),
            Initrd::File(p) => {
                let mut f = InputFile::open(p, InputKind::INITRD)?;
                let mut h = Algorithm::Sha384.hasher();
                let mut buf = vec![0u8; 1 << 20];
                let mut size = 0u64;
                loop {
                    match f.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            h.update(buf.get(..n).unwrap_or_default());
                            size += n as u64;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(InputError::from_read(p, e)),
                    }
                }
                Ok((h.finish(), size))
            }
        }
    }
}

/// A direct boot: the kernel QEMU gets with `-kernel`, and its initrd and command line.
#[derive(Debug, Clone, Copy)]
pub struct DirectBoot<'a> {
    /// The kernel file (a bzImage with an EFI stub).
    pub kernel: &'a [u8],
    /// The initrd (`-initrd`).
    pub initrd: Option<Initrd<'a>>,
    /// The command line (`-append`).
    pub append: Option<&'a str>,
}

/// The ACPI blobs QEMU gives the firmware (fw_cfg files dumped once from a guest of the same configuration).
#[derive(Debug, Clone, Copy)]
pub struct AcpiInput<'a> {
    /// `etc/acpi/tables`.
    pub tables: &'a [u8],
    /// `etc/acpi/rsdp` (`None`: derived from the tables).
    pub rsdp: Option<&'a [u8]>,
    /// `etc/table-loader` (`None`: derived from the tables).
    pub loader: Option<&'a [u8]>,
}

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct TdxGuest<'a> {
    /// The firmware image (a TDVF, e.g. OVMF.fd).
    pub firmware: &'a [u8],
    /// The kernel, initrd and command line, for a direct boot.
    pub direct_boot: Option<DirectBoot<'a>>,
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// The QEMU version (decides how the kernel reaches the firmware).
    pub qemu_version: QemuVersion,
    /// The VMM's page order for MRTD.
    pub mrtd_order: PageOrder,
    /// The ACPI blobs, for RTMR0 (`None`: RTMR0 is not computed).
    pub acpi: Option<AcpiInput<'a>>,
}

/// The ACPI blobs RTMR0 was computed with, as the result records them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AcpiConfig {
    /// The tables found in `etc/acpi/tables`, in order.
    pub tables: Vec<AcpiTable>,
    /// `etc/acpi/rsdp` was derived from the tables (not given).
    pub rsdp_derived: bool,
    /// `etc/table-loader` was derived from the tables (not given).
    pub loader_derived: bool,
}

/// The parameters a prediction was made for, as the result records them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TdxConfig {
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// The QEMU version.
    pub qemu_version: String,
    /// The MRTD page order.
    pub mrtd_order: PageOrder,
    /// The kernel image RTMR1 measures (`None` without a kernel).
    pub kernel_load: Option<KernelLoad>,
    /// The command line the firmware passes to the kernel (`None` without a kernel or `--append`).
    pub cmdline: Option<String>,
    /// The ACPI blobs behind RTMR0 (`None` without them).
    pub acpi: Option<AcpiConfig>,
}

/// The events predicted for each RTMR, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RtmrEvents {
    /// RTMR0's events (empty when RTMR0 is not computed).
    pub rtmr0: Vec<PredictedEvent>,
    /// RTMR1's events.
    pub rtmr1: Vec<PredictedEvent>,
    /// RTMR2's events.
    pub rtmr2: Vec<PredictedEvent>,
    /// RTMR3's events (none at boot).
    pub rtmr3: Vec<PredictedEvent>,
}

/// A TDX launch prediction: MRTD and the RTMRs as hex (`None` where not computed), the events behind each
/// RTMR, the parameters, and what was not modelled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TdxMeasurement {
    /// MRTD, hex.
    pub mrtd: String,
    /// RTMR0, hex (`None` without the ACPI tables or a kernel).
    pub rtmr0: Option<String>,
    /// RTMR1, hex (`None` without a kernel).
    pub rtmr1: Option<String>,
    /// RTMR2, hex (`None` without a kernel, or without `--append`).
    pub rtmr2: Option<String>,
    /// RTMR3, hex: zero at boot.
    pub rtmr3: Option<String>,
    /// The predicted events of each RTMR.
    pub events: RtmrEvents,
    /// The parameters of the prediction.
    pub config: TdxConfig,
    /// What was not computed, and why.
    pub notes: Vec<String>,
}

impl TdxMeasurement {
    /// The text `tdx measure` prints: MRTD, each RTMR with its events (as `eventlog show` prints a CCEL's),
    /// the command line measured, and the notes.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "MRTD   {}  ({} page order)",
            self.mrtd, self.config.mrtd_order
        );
        let regs = [
            ("RTMR0", &self.rtmr0, &self.events.rtmr0),
            ("RTMR1", &self.rtmr1, &self.events.rtmr1),
            ("RTMR2", &self.rtmr2, &self.events.rtmr2),
            ("RTMR3", &self.rtmr3, &self.events.rtmr3),
        ];
        for (name, value, events) in regs {
            match value {
                Some(v) => {
                    let _ = writeln!(out, "{name}  {v}");
                }
                None => {
                    let _ = writeln!(out, "{name}  not computed");
                }
            }
            for e in events {
                let _ = writeln!(
                    out,
                    "  #{:<3} PCR{:<2} {:<32} {}",
                    e.number, e.pcr, e.event_type, e.description
                );
                if let Some(d) = e.digest() {
                    let _ = writeln!(out, "          sha384  {d}");
                }
            }
        }
        if let Some(c) = &self.config.cmdline {
            let _ = writeln!(out, "command line measured: {c:?}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}

/// Why a prediction could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TdxError {
    /// The firmware's TDX metadata is missing or malformed.
    #[error(transparent)]
    Firmware(#[from] TdvfError),
    /// The kernel could not be patched as QEMU < 10.0 would.
    #[error("kernel (as QEMU {qemu} passes it)")]
    Patch {
        /// The QEMU version.
        qemu: QemuVersion,
        /// The cause.
        source: PatchError,
    },
    /// The kernel is not a PE image (no EFI stub), so OVMF cannot load and measure it.
    #[error("kernel: not a PE image with an EFI stub")]
    Kernel(#[from] yardstick_pe::pe::PeError),
    /// The initrd could not be read.
    #[error(transparent)]
    Initrd(#[from] InputError),
    /// The initrd changed size while it was read.
    #[error("{0}: the initrd changed while it was read")]
    InitrdChanged(String),
    /// A parameter out of range.
    #[error("{0}")]
    Parameter(String),
    /// The ACPI blobs are not what QEMU gives, or not a layout the loader can be derived for.
    #[error("{}", acpi_flag(.0))]
    Acpi(#[from] AcpiError),
    /// RTMR0 cannot be predicted for this firmware or memory size.
    #[error(transparent)]
    Rtmr0(#[from] Rtmr0Error),
}

/// The `tdx measure` flag of the ACPI blob an error is about.
fn acpi_flag(e: &AcpiError) -> &'static str {
    match e {
        AcpiError::NotQemus { file, .. } if *file == crate::acpi::RSDP_FILE => "--acpi-rsdp",
        AcpiError::NotQemus { .. } => "--acpi-loader",
        _ => "--acpi-tables",
    }
}

/// The files a prediction's inputs came from, named in its errors.
#[derive(Debug, Clone, Copy)]
pub struct InputPaths<'a> {
    /// Where the firmware was read from.
    pub firmware: &'a Path,
    /// Where the kernel was read from (with a direct boot).
    pub kernel: Option<&'a Path>,
}

/// A failed prediction, with the input file it is about when it is about one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeasureError {
    /// The firmware or kernel file (named) is the cause.
    #[error("{}", .file.display())]
    File {
        /// The file.
        file: std::path::PathBuf,
        /// The cause.
        source: TdxError,
    },
    /// Not about one file (a parameter; an initrd error names its own file).
    #[error(transparent)]
    Other(TdxError),
}

/// The one entry point of every front end (`tdx measure`, `image build --tdx-firmware`, `refvals create
/// --tdx-firmware`): [`measure()`], with an error that names the firmware or kernel file it is about.
pub fn measure_launch(
    guest: &TdxGuest<'_>,
    paths: InputPaths<'_>,
) -> Result<TdxMeasurement, MeasureError> {
    measure(guest).map_err(|e| {
        let file = match &e {
            TdxError::Firmware(_) => Some(paths.firmware),
            TdxError::Kernel(_) | TdxError::Patch { .. } => paths.kernel,
            _ => None,
        };
        match file {
            Some(f) => MeasureError::File {
                file: f.to_path_buf(),
                source: e,
            },
            None => MeasureError::Other(e),
        }
    })
}

/// Predicts MRTD and the RTMRs of `guest`.
pub fn measure(guest: &TdxGuest<'_>) -> Result<TdxMeasurement, TdxError> {
    if guest.vcpus == 0 {
        return Err(TdxError::Parameter("--vcpus: must be at least 1".into()));
    }
    let memory = guest
        .memory_mib
        .checked_mul(1 << 20)
        .filter(|&m| m > 0)
        .ok_or_else(|| {
            TdxError::Parameter(format!(
                "--memory: {} MiB is out of range",
                guest.memory_mib
            ))
        })?;
    let meta = TdvfMetadata::parse(guest.firmware)?;
    let mut notes = Vec::new();
    let acpi = match guest.acpi {
        None => {
            notes.push(
                "rtmr0: not computed without --acpi-tables (QEMU's etc/acpi/tables for this machine \
                 configuration, dumped once from a guest)"
                    .to_string(),
            );
            None
        }
        Some(a) => {
            match firmware_model(guest.firmware) {
                FirmwareModel::NoRtmrs(why) => {
                    return Err(TdxError::Parameter(format!("--acpi-tables: {why}")));
                }
                FirmwareModel::Checked(_) => {}
                FirmwareModel::Unknown => notes.push(
                    "rtmr0: the firmware is not a build the event layout was checked against (Debian 13's \
                     ovmf 2025.02); edk2 2024.11 to 2025.02's TDVF layout is assumed (older TDVFs put the \
                     ReadyToBoot separator in RTMR0, newer ones also measure fw_cfg items into it)"
                        .to_string(),
                ),
            }
            if guest.direct_boot.is_none() {
                return Err(TdxError::Parameter(
                    "--acpi-tables needs --kernel: RTMR0 is modelled for a direct boot only (the boot \
                     variables of a disk boot depend on the disks the firmware finds)"
                        .into(),
                ));
            }
            let blobs = AcpiBlobs::new(a.tables, a.rsdp, a.loader)?;
            if let Some(n) = blobs.madt_cpus().filter(|&n| n != guest.vcpus as usize) {
                notes.push(format!(
                    "rtmr0: the ACPI tables' MADT lists {n} CPU(s), --vcpus is {}: were they dumped from a guest \
                     of this configuration (or with -smp maxcpus={n})?",
                    guest.vcpus
                ));
            }
            Some(blobs)
        }
    };
    let mut config = TdxConfig {
        memory_mib: guest.memory_mib,
        vcpus: guest.vcpus,
        qemu_version: guest.qemu_version.to_string(),
        mrtd_order: guest.mrtd_order,
        kernel_load: None,
        cmdline: None,
        acpi: acpi.as_ref().map(|b| AcpiConfig {
            tables: b.table_list.clone(),
            rsdp_derived: b.rsdp_derived,
            loader_derived: b.loader_derived,
        }),
    };

    // The firmware, kernel and initrd are hashed on separate threads: they are independent.
    let (mrtd_value, boot) = std::thread::scope(|s| {
        let m = s.spawn(|| mrtd(guest.firmware, &meta, guest.mrtd_order));
        let boot = guest
            .direct_boot
            .map(|b| predict_boot(&b, guest.qemu_version, memory));
        (m.join(), boot)
    });
    let mrtd_value = mrtd_value.map_err(|_| TdxError::Parameter("MRTD thread panicked".into()))?;

    let mut events = RtmrEvents::default();
    let mut rtmr0 = None;
    if let Some(blobs) = &acpi {
        let r = crate::rtmr0::predict(guest.firmware, &meta, memory, blobs)?;
        rtmr0 = Some(r.value().to_hex());
        events.rtmr0 = r.into_events();
    }
    let (mut rtmr1, mut rtmr2) = (None, None);
    match boot {
        None => notes.push(
            "rtmr1, rtmr2: no --kernel: what the firmware boots from disk is not predicted"
                .to_string(),
        ),
        Some(b) => {
            let b = b?;
            config.kernel_load = Some(b.load);
            config.cmdline = b.cmdline;
            rtmr1 = Some(b.rtmr1.value().to_hex());
            events.rtmr1 = b.rtmr1.into_events();
            match b.rtmr2 {
                Some(r) => {
                    rtmr2 = Some(r.value().to_hex());
                    events.rtmr2 = r.into_events();
                }
                None => notes.push(
                    "rtmr2: no (or an empty) --append: the command line OVMF builds without one is not modelled".to_string(),
                ),
            }
        }
    }
    Ok(TdxMeasurement {
        mrtd: mrtd_value.to_hex(),
        rtmr0,
        rtmr1,
        rtmr2,
        rtmr3: Some(Algorithm::Sha384.zero().to_hex()),
        events,
        config,
        notes,
    })
}

struct BootPrediction {
    load: KernelLoad,
    cmdline: Option<String>,
    rtmr1: Rtmr,
    rtmr2: Option<Rtmr>,
}

fn predict_boot(
    b: &DirectBoot<'_>,
    qemu: QemuVersion,
    memory: u64,
) -> Result<BootPrediction, TdxError> {
    // OVMF widens the fw_cfg command line byte by byte (`%a`), which equals UTF-16 only for ASCII.
    if b.append.is_some_and(|a| !a.is_ascii()) {
        return Err(TdxError::Parameter(
            "--append: only ASCII command lines are modelled (OVMF widens each byte of a non-ASCII one to UTF-16 \
             on its own, which no oracle confirms)"
                .into(),
        ));
    }
    // The initrd is hashed on its own thread while the kernel is; a patched kernel needs the initrd's size
    // first, which a stream only tells at its end.
    let known = b.initrd.map(|i| i.known_size());
    let (kernel_digest, initrd) = match known {
        Some(None) if !qemu.passes_unmodified_kernel() => {
            let initrd = b.initrd.map(|i| i.digest()).transpose()?;
            let kernel = kernel_image_digest(b.kernel, qemu, memory, initrd.map(|(_, n)| n));
            (kernel, initrd)
        }
        _ => {
            let size = known.flatten();
            let (kernel, initrd) = std::thread::scope(|s| {
                let initrd = s.spawn(|| b.initrd.map(|i| i.digest()).transpose());
                let kernel = kernel_image_digest(b.kernel, qemu, memory, size);
                (kernel, initrd.join())
            });
            let initrd =
                initrd.map_err(|_| TdxError::Parameter("initrd thread panicked".into()))??;
            if let (Some((_, n)), Some(want)) = (initrd, size)
                && n != want
            {
                return Err(TdxError::InitrdChanged(match b.initrd {
                    Some(Initrd::File(p)) => p.display().to_string(),
                    _ => "initrd".to_string(),
                }));
            }
            (kernel, initrd)
        }
    };
    let (load, kernel_digest) = kernel_digest?;
    let initrd_digest = initrd.map(|(d, _)| d);

    let mut rtmr1 = Rtmr::new(1);
    rtmr1.extend(
        EventType::EV_EFI_BOOT_SERVICES_APPLICATION,
        kernel_digest,
        match load {
            KernelLoad::Unmodified => "kernel image (Authenticode, unmodified)".to_string(),
            KernelLoad::QemuPatched { .. } => {
                "kernel image (Authenticode, setup header patched by QEMU)".to_string()
            }
        },
        None,
    );
    rtmr1.action(rtmr::CALLING_EFI_APPLICATION);
    rtmr1.separator();
    rtmr1.action(rtmr::EXIT_BOOT_SERVICES_INVOCATION);
    rtmr1.action(rtmr::EXIT_BOOT_SERVICES_SUCCEEDED);

    let (cmdline, rtmr2) = match b.append {
        None | Some("") => (None, None),
        Some(append) => {
            let cmdline = if b.initrd.is_some() {
                format!("{append} initrd=initrd")
            } else {
                append.to_string()
            };
            let mut r = Rtmr::new(2);
            r.tagged(
                rtmr::TAG_LOAD_OPTIONS,
                "LOADED_IMAGE::LoadOptions",
                Algorithm::Sha384.digest(&rtmr::load_options_utf16(&cmdline)),
            );
            if let Some(d) = initrd_digest {
                r.tagged(rtmr::TAG_INITRD, "Linux initrd", d);
            }
            (Some(cmdline), Some(r))
        }
    };
    Ok(BootPrediction {
        load,
        cmdline,
        rtmr1,
        rtmr2,
    })
}

fn kernel_image_digest(
    kernel: &[u8],
    qemu: QemuVersion,
    memory: u64,
    initrd_size: Option<u64>,
) -> Result<(KernelLoad, Digest), TdxError> {
    if qemu.passes_unmodified_kernel() {
        Ok((
            KernelLoad::Unmodified,
            authenticode_digest(kernel, Algorithm::Sha384)?,
        ))
    } else {
        let patched = patch_setup_header(kernel, memory, initrd_size)
            .map_err(|source| TdxError::Patch { qemu, source })?;
        Ok((
            KernelLoad::QemuPatched {
                memory,
                initrd_size,
            },
            authenticode_digest(&patched, Algorithm::Sha384)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE image (MZ header, PE signature, PE32+ optional header, no sections) with a Linux header.
    fn tiny_kernel() -> Vec<u8> {
        let mut k = vec![0u8; 0x400];
        k[0..2].copy_from_slice(b"MZ");
        k[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        k[0x80..0x84].copy_from_slice(b"PE\0\0");
        k[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
        k[0x94..0x96].copy_from_slice(&0xf0u16.to_le_bytes());
        k[0x98..0x9a].copy_from_slice(&0x20bu16.to_le_bytes());
        // SectionAlignment, FileAlignment, SizeOfHeaders, NumberOfRvaAndSizes.
        k[0x98 + 32..0x98 + 36].copy_from_slice(&0x1000u32.to_le_bytes());
        k[0x98 + 36..0x98 + 40].copy_from_slice(&0x200u32.to_le_bytes());
        k[0x98 + 60..0x98 + 64].copy_from_slice(&0x400u32.to_le_bytes());
        k[0x98 + 108..0x98 + 112].copy_from_slice(&16u32.to_le_bytes());
        k[0x202..0x206].copy_from_slice(b"HdrS");
        k[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        k[0x211] = 1;
        k
    }

    fn guest<'a>(fw: &'a [u8], boot: Option<DirectBoot<'a>>) -> TdxGuest<'a> {
        TdxGuest {
            firmware: fw,
            direct_boot: boot,
            memory_mib: 2048,
            vcpus: 1,
            qemu_version: "10.0".parse().unwrap(),
            mrtd_order: PageOrder::SinglePass,
            acpi: None,
        }
    }

    fn boot<'a>(
        k: &'a [u8],
        initrd: Option<Initrd<'a>>,
        append: Option<&'a str>,
    ) -> Option<DirectBoot<'a>> {
        Some(DirectBoot {
            kernel: k,
            initrd,
            append,
        })
    }

    #[test]
    fn without_initrd_no_initrd_event_and_no_suffix() {
        let fw = crate::tdvf::tests::synthetic(0x1000, &[[0, 0x1000, 0xffff_f000, 0x1000, 0, 1]]);
        let k = tiny_kernel();
        let m = measure(&guest(&fw, boot(&k, None, Some("quiet")))).unwrap();
        assert_eq!(m.config.cmdline.as_deref(), Some("quiet"));
        assert_eq!(m.events.rtmr2.len(), 1);
        let want = Algorithm::Sha384
            .digest(&rtmr::load_options_utf16("quiet"))
            .to_hex();
        assert_eq!(m.events.rtmr2[0].digest(), Some(want.as_str()));
        let i = [1u8, 2, 3];
        let m = measure(&guest(
            &fw,
            boot(&k, Some(Initrd::Bytes(&i)), Some("quiet")),
        ))
        .unwrap();
        assert_eq!(m.config.cmdline.as_deref(), Some("quiet initrd=initrd"));
        assert_eq!(m.events.rtmr2.len(), 2);
        assert_eq!(m.events.rtmr1.len(), 5);
        assert!(m.rtmr0.is_none());
    }

    #[test]
    fn refusals_and_unmodelled() {
        let fw = crate::tdvf::tests::synthetic(0x1000, &[[0, 0x1000, 0xffff_f000, 0x1000, 0, 1]]);
        let k = tiny_kernel();
        for append in [None, Some("")] {
            let m = measure(&guest(&fw, boot(&k, None, append))).unwrap();
            assert!(m.rtmr2.is_none() && m.rtmr1.is_some());
            assert!(m.notes.iter().any(|n| n.starts_with("rtmr2")));
        }
        let e = measure(&guest(&fw, boot(&k, None, Some("caf\u{e9}"))));
        assert!(e.unwrap_err().to_string().contains("ASCII"));
        let m = measure(&guest(&fw, None)).unwrap();
        assert!(m.rtmr1.is_none() && m.rtmr2.is_none());
        assert_eq!(m.rtmr3.as_deref(), Some("0".repeat(96).as_str()));
        let mut g = guest(&fw, None);
        g.vcpus = 0;
        assert!(measure(&g).is_err());
        g.vcpus = 1;
        g.memory_mib = u64::MAX;
        assert!(measure(&g).is_err());
        let not_pe = vec![0u8; 0x400];
        assert!(matches!(
            measure(&guest(&fw, boot(&not_pe, None, None))),
            Err(TdxError::Kernel(_))
        ));
        // QEMU < 10 patches the header first: a non-bzImage is refused there.
        let mut g = guest(&fw, boot(&not_pe, None, None));
        g.qemu_version = "9.2".parse().unwrap();
        assert!(matches!(measure(&g), Err(TdxError::Patch { .. })));
    }

    #[test]
    fn qemu_versions() {
        assert_eq!(
            "10.0".parse::<QemuVersion>().unwrap(),
            QemuVersion::UNMODIFIED_KERNEL
        );
        assert!("9.2.3".parse::<QemuVersion>().unwrap() < QemuVersion::UNMODIFIED_KERNEL);
        assert!(
            "10.1.2"
                .parse::<QemuVersion>()
                .unwrap()
                .passes_unmodified_kernel()
        );
        for bad in ["10", "1.2.3.4", "a.b", "10.", "-1.0", "+1.0", ""] {
            assert!(bad.parse::<QemuVersion>().is_err(), "{bad}");
        }
    }
}
