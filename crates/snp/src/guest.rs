//! The launch measurement of a whole guest: firmware, metadata sections, kernel hashes and VMSAs, in the order
//! the PSP sees them.
//!
//! * SEV: `SHA-256(firmware || hashes table)`.
//! * SEV-ES: `SHA-256(firmware || hashes table || VMSA[0] || ... || VMSA[n-1])`.
//! * SEV-SNP: the [`Gctx`] chain over the firmware pages (mapped to end at 4 GiB), then the SEV metadata
//!   sections in table order, then one VMSA page per vCPU.
//! * SEV-SNP with a Coconut SVSM: OVMF pages, SVSM pages (ending where the OVMF variable store begins), the
//!   SVSM's metadata sections, then the SVSM VMSAs.
//!
//! Everything a digest depends on is checked before any large file is read, so a wrong firmware build fails in
//! milliseconds, not after hashing a 50 MiB initrd.

use yardstick_common::hash::{Algorithm, Hasher};
use yardstick_common::progress::Progress;

use crate::gctx::{Gctx, LaunchDigest, NotPageMultiple};
use crate::ovmf::{Ovmf, OvmfError, OvmfMetadata, PAGE_SIZE, SectionType};
use crate::sev_hashes::{
    Blob, PADDED_TABLE_LEN, ReadError, SevHashes, Sha256, TableCrossesPage, resolve,
};
use crate::sev_mode::SevMode;
use crate::stream::CHUNK;
use crate::vmm_types::VmmType;
use crate::vmsa::{BSP_EIP, SaveArea, VMSA_LEN};

/// The firmware: an image to measure, or (SEV-SNP only) its metadata and a precomputed SNP OVMF hash.
#[derive(Debug, Clone, Copy)]
pub enum Firmware<'a> {
    /// The firmware image.
    Image(&'a Ovmf),
    /// Resume after the firmware pages from a digest computed earlier (`--snp-ovmf-hash`), using metadata
    /// taken from the firmware or from `yardstick snp ovmf-metadata` JSON.
    Precomputed {
        /// The firmware's SEV metadata, reset EIP and hashes table address.
        metadata: &'a OvmfMetadata,
        /// The launch digest after the firmware pages.
        snp_ovmf_hash: LaunchDigest,
    },
}

impl Firmware<'_> {
    fn metadata(&self) -> &OvmfMetadata {
        match self {
            Firmware::Image(fw) => fw.metadata(),
            Firmware::Precomputed { metadata, .. } => metadata,
        }
    }
}

/// A directly booted kernel (QEMU `-kernel`, `-initrd`, `-append`).
#[derive(Debug, Clone)]
pub struct DirectBoot<'a> {
    /// The kernel file or its SHA-256.
    pub kernel: Blob,
    /// The initrd file or its SHA-256, if any.
    pub initrd: Option<Blob>,
    /// The cmdline bytes, if any.
    pub cmdline: Option<&'a [u8]>,
}

/// A Coconut SVSM image, placed just below the OVMF variable store.
#[derive(Debug, Clone, Copy)]
pub struct Svsm<'a> {
    /// The SVSM image.
    pub image: &'a Ovmf,
    /// Size of the OVMF variable store between the SVSM and OVMF.
    pub vars_size: u64,
}

/// Everything that determines a launch measurement: [`Guest::new`] with the mode and the firmware, then the
/// `with_*` methods for the rest (the fields are there to read).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Guest<'a> {
    /// The launch mode.
    pub mode: SevMode,
    /// Number of vCPUs (ignored for SEV, which measures no VMSAs).
    pub vcpus: u32,
    /// The CPUID signature placed in RDX by QEMU (EC2 and GCE always use 0x600);
    /// [`resolve`](crate::vcpu_types::resolve) computes it from sev-snp-measure's flags.
    pub vcpu_sig: u64,
    /// The hypervisor.
    pub vmm: VmmType,
    /// SEV_FEATURES for SEV-SNP VMSAs (SEV-ES always uses 0, SVSM always 1).
    pub guest_features: u64,
    /// The firmware.
    pub firmware: Firmware<'a>,
    /// Direct kernel boot, if any.
    pub direct_boot: Option<DirectBoot<'a>>,
    /// The SVSM (SEV-SNP with SVSM only).
    pub svsm: Option<Svsm<'a>>,
}

impl<'a> Guest<'a> {
    /// A guest in `mode` booting `firmware` under QEMU: one vCPU of signature 0 (give the real one with
    /// [`Guest::with_vcpus`]), guest features 0x1 (SEV-SNP's default), no direct kernel boot, no SVSM.
    pub fn new(mode: SevMode, firmware: Firmware<'a>) -> Guest<'a> {
        Guest {
            mode,
            vcpus: 1,
            vcpu_sig: 0,
            vmm: VmmType::Qemu,
            guest_features: 0x1,
            firmware,
            direct_boot: None,
            svsm: None,
        }
    }

    /// The same with `vcpus` vCPUs of CPUID signature `vcpu_sig` (see [`resolve`](crate::vcpu_types::resolve)).
    pub fn with_vcpus(mut self, vcpus: u32, vcpu_sig: u64) -> Guest<'a> {
        self.vcpus = vcpus;
        self.vcpu_sig = vcpu_sig;
        self
    }

    /// The same under another hypervisor.
    pub fn with_vmm(mut self, vmm: VmmType) -> Guest<'a> {
        self.vmm = vmm;
        self
    }

    /// The same with other SEV_FEATURES for the SEV-SNP VMSAs.
    pub fn with_guest_features(mut self, guest_features: u64) -> Guest<'a> {
        self.guest_features = guest_features;
        self
    }

    /// The same with (or without) a direct kernel boot.
    pub fn with_direct_boot(mut self, direct_boot: Option<DirectBoot<'a>>) -> Guest<'a> {
        self.direct_boot = direct_boot;
        self
    }

    /// The same with (or without) an SVSM.
    pub fn with_svsm(mut self, svsm: Option<Svsm<'a>>) -> Guest<'a> {
        self.svsm = svsm;
        self
    }
}

/// The input a [`MeasureError`] is about, so that a front end can name the right file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The firmware image or metadata.
    Firmware,
    /// The SVSM image.
    Svsm,
    /// A kernel or initrd file (the error message names it).
    Blob,
    /// The combination of parameters.
    Parameters,
}

/// Why a guest cannot be measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeasureError {
    /// SEV-SNP without SEV metadata.
    #[error(
        "no SEV metadata in this firmware, so an SEV-SNP guest cannot launch from it: use an OVMF built with SEV-SNP support, e.g. edk2's OvmfPkg/AmdSev/AmdSevX64.dsc (needed for a measured -kernel boot) or OvmfPkgX64.dsc from edk2-stable202205 or later (Debian: /usr/share/ovmf/OVMF.fd, not OVMF_CODE_4M.fd)"
    )]
    NoSevMetadata,
    /// SEV-SNP direct boot without a kernel-hashes section.
    #[error(
        "the firmware's SEV metadata has no SNP_KERNEL_HASHES section, so QEMU cannot measure --kernel/--initrd/--append with it (an OvmfPkgX64 build, like Debian's OVMF.fd): build OVMF from edk2's OvmfPkg/AmdSev/AmdSevX64.dsc for measured direct kernel boot, or measure without --kernel"
    )]
    NoKernelHashesSection,
    /// SEV-SNP direct boot: the section exists but the footer entry with the table address does not.
    #[error(
        "the firmware has an SNP_KERNEL_HASHES section but no SEV hashes table entry (GUID 7255371f-3a3b-4b04-927b-1da6efa8d454) in its footer table"
    )]
    NoHashesTableEntry,
    /// SEV or SEV-ES direct boot without a hashes table.
    #[error(
        "the firmware has no SEV hashes table (footer entry 7255371f-3a3b-4b04-927b-1da6efa8d454 missing or 0), so QEMU cannot measure --kernel/--initrd/--append with it: build OVMF from edk2's OvmfPkg/AmdSev/AmdSevX64.dsc, or measure without --kernel"
    )]
    NoHashesTable,
    /// SEV-ES/SEV-SNP without the SEV-ES reset block.
    #[error(
        "no SEV-ES reset block (footer entry 00f771de-1a7e-4fcb-890e-68c77e2fb44e) in the firmware, so its application processors cannot start under SEV-ES/SEV-SNP: use an OVMF built with SEV support"
    )]
    NoResetBlock,
    /// A reset EIP of 0 with more than one vCPU.
    #[error("the firmware's SEV-ES reset EIP is 0, so {0} vCPUs cannot start (only 1 can)")]
    ResetEipZero(u32),
    /// No vCPUs.
    #[error("--vcpus must be at least 1 in mode {0}")]
    NoVcpus(SevMode),
    /// The firmware is not a whole number of pages.
    #[error("firmware size {0} is not a multiple of 4096 (SEV-SNP measures it page by page)")]
    FirmwareNotPageMultiple(u64),
    /// The SVSM image is not a whole number of pages.
    #[error("SVSM image size {0} is not a multiple of 4096 (SEV-SNP measures it page by page)")]
    SvsmNotPageMultiple(u64),
    /// A section type no one knows how to measure.
    #[error(
        "SEV metadata section {index} has type {value:#x}, which no SEV-SNP measurement knows (1 SEC_MEM, 2 SECRETS, 3 CPUID, 4 SVSM_CAA, 0x10 KERNEL_HASHES)"
    )]
    UnknownSectionType {
        /// Section index.
        index: usize,
        /// Its type value.
        value: u32,
    },
    /// The kernel-hashes section is not one page.
    #[error("the SNP_KERNEL_HASHES section is {0:#x} bytes; QEMU fills exactly one 4 KiB page")]
    KernelHashesSectionSize(u32),
    /// The hashes table does not fit in its page.
    #[error(transparent)]
    TableCrossesPage(#[from] TableCrossesPage),
    /// A precomputed firmware hash outside SEV-SNP.
    #[error(
        "a precomputed firmware hash (--snp-ovmf-hash, --ovmf-metadata) only works in mode snp, not {0}"
    )]
    PrecomputedNeedsSnp(SevMode),
    /// SVSM mode without an SVSM image.
    #[error("mode snp:svsm needs an SVSM image (--svsm)")]
    SvsmMissing,
    /// An SVSM image outside SVSM mode.
    #[error("an SVSM image is only measured in mode snp:svsm, not {0}")]
    SvsmOutsideSvsmMode(SevMode),
    /// SVSM with a VMM other than QEMU.
    #[error("mode snp:svsm is only defined for QEMU, not {0}")]
    SvsmVmm(VmmType),
    /// SVSM with direct boot.
    #[error(
        "mode snp:svsm does not measure --kernel/--initrd/--append (the SVSM launches OVMF, which loads the kernel itself); sev-snp-measure silently ignores them"
    )]
    SvsmWithKernel,
    /// SVSM image without SVSM info.
    #[error(
        "no SVSM info entry (GUID a789a612-0597-4c4b-a49f-cbb1fe9d1ddd) in the SVSM image's footer table: is it a Coconut SVSM image?"
    )]
    SvsmNoInfo,
    /// A section type no one knows how to measure, in the SVSM image.
    #[error(
        "SEV metadata section {index} of the SVSM image has type {value:#x}, which no SEV-SNP measurement knows"
    )]
    SvsmUnknownSectionType {
        /// Section index.
        index: usize,
        /// Its type value.
        value: u32,
    },
    /// SVSM image without SEV metadata.
    #[error("no SEV metadata in the SVSM image: is it a Coconut SVSM image?")]
    SvsmNoMetadata,
    /// The SVSM does not fit below OVMF and its variable store.
    #[error(
        "the SVSM image ({svsm_len} bytes) does not fit below OVMF at {ovmf_gpa:#x} minus a {vars_size}-byte variable store"
    )]
    SvsmDoesNotFit {
        /// SVSM length.
        svsm_len: u64,
        /// OVMF's gpa.
        ovmf_gpa: u64,
        /// Variable store size.
        vars_size: u64,
    },
    /// The firmware could not be read while measuring.
    #[error(transparent)]
    Firmware(OvmfError),
    /// The SVSM image could not be read while measuring.
    #[error(transparent)]
    SvsmRead(OvmfError),
    /// A kernel or initrd could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl MeasureError {
    /// Which input the error is about.
    pub fn subject(&self) -> Subject {
        use MeasureError::*;
        match self {
            NoSevMetadata
            | NoKernelHashesSection
            | NoHashesTableEntry
            | NoHashesTable
            | NoResetBlock
            | ResetEipZero(_)
            | FirmwareNotPageMultiple(_)
            | UnknownSectionType { .. }
            | KernelHashesSectionSize(_)
            | TableCrossesPage(_)
            | Firmware(_) => Subject::Firmware,
            SvsmNotPageMultiple(_)
            | SvsmNoInfo
            | SvsmNoMetadata
            | SvsmDoesNotFit { .. }
            | SvsmUnknownSectionType { .. }
            | SvsmRead(_) => Subject::Svsm,
            Read(_) => Subject::Blob,
            NoVcpus(_)
            | PrecomputedNeedsSnp(_)
            | SvsmMissing
            | SvsmOutsideSvsmMode(_)
            | SvsmVmm(_)
            | SvsmWithKernel => Subject::Parameters,
        }
    }
}

/// A computed launch measurement and the intermediate values that produced it.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The mode it was computed for.
    pub mode: SevMode,
    /// The launch digest: 48 bytes (SHA-384 chain) for SEV-SNP, 32 (SHA-256) for SEV and SEV-ES.
    pub digest: Vec<u8>,
    /// For SEV-SNP, the SNP OVMF hash (the launch digest after the firmware pages, what `--snp-ovmf-hash`
    /// takes); for SEV and SEV-ES, the SHA-256 of the firmware image.
    pub firmware_hash: Vec<u8>,
    /// The kernel/initrd/cmdline hashes, for a direct boot.
    pub hashes: Option<SevHashes>,
    /// The number of VMSAs measured.
    pub vcpus: u32,
    vmsas: Vec<Box<[u8; VMSA_LEN]>>,
}

impl Measurement {
    /// The VMSA page measured for vCPU `i` (none for SEV).
    pub fn vmsa(&self, i: u32) -> Option<&[u8; VMSA_LEN]> {
        if i >= self.vcpus {
            return None;
        }
        let idx = if i == 0 {
            0
        } else {
            self.vmsas.len().saturating_sub(1)
        };
        self.vmsas.get(idx).map(|b| &**b)
    }
}

/// Computes the SNP OVMF hash: the launch digest after the firmware pages, before anything else.
pub fn snp_ovmf_hash(fw: &Ovmf, progress: &dyn Progress) -> Result<LaunchDigest, MeasureError> {
    if !fw.len().is_multiple_of(PAGE_SIZE) {
        return Err(MeasureError::FirmwareNotPageMultiple(fw.len()));
    }
    let mut g = Gctx::new();
    add_image_pages(&mut g, fw, fw.gpa(), progress).map_err(MeasureError::Firmware)?;
    Ok(g.ld())
}

/// Computes the launch measurement of `guest`. The larger of kernel and initrd is hashed on its own thread while
/// this one measures the firmware and then hashes the other file.
pub fn measure(guest: &Guest<'_>, progress: &dyn Progress) -> Result<Measurement, MeasureError> {
    check(guest)?;
    let total = match guest.firmware {
        Firmware::Image(fw) => fw.len(),
        Firmware::Precomputed { .. } => 0,
    } + guest.svsm.map_or(0, |s| s.image.len())
        + guest.direct_boot.as_ref().map_or(0, |d| {
            blob_len(&d.kernel) + d.initrd.as_ref().map_or(0, blob_len)
        });
    progress.set_total(total);

    std::thread::scope(|s| {
        // The larger kernel/initrd file is hashed on its own thread from the start; the firmware and then the
        // smaller file on this one (two busy threads: the SHA-256 of the larger file is the critical path).
        let hashes_job = guest
            .direct_boot
            .as_ref()
            .map(|d| BootHashing::start(s, d, progress));
        match guest.mode {
            SevMode::Sev | SevMode::SevEs => measure_sev(guest, hashes_job, progress),
            SevMode::SevSnp => measure_snp(guest, hashes_job, progress),
            // `check` refuses a direct boot with an SVSM: there is no job.
            SevMode::SevSnpSvsm => measure_svsm(guest, progress),
        }
    })
}

/// The direct-boot hashes, once the job is done (none without a direct boot).
fn join_hashes(
    job: Option<BootHashing<'_, '_>>,
    progress: &dyn Progress,
) -> Result<Option<SevHashes>, MeasureError> {
    match job {
        None => Ok(None),
        Some(j) => j.finish(progress).map(Some),
    }
}

/// SEV and SEV-ES: SHA-256 over the firmware, the hashes table and (SEV-ES) the VMSAs.
fn measure_sev(
    guest: &Guest<'_>,
    hashes_job: Option<BootHashing<'_, '_>>,
    progress: &dyn Progress,
) -> Result<Measurement, MeasureError> {
    let fw = match guest.firmware {
        Firmware::Image(fw) => fw,
        Firmware::Precomputed { .. } => {
            return Err(MeasureError::PrecomputedNeedsSnp(guest.mode));
        }
    };
    let mut h = Algorithm::Sha256.hasher();
    let fw_result = fw.for_each_chunk(CHUNK, |c| {
        h.update(c);
        progress.advance(c.len() as u64);
    });
    fw_result.map_err(MeasureError::Firmware)?;
    let hashes = join_hashes(hashes_job, progress)?;
    sev_digest(guest, fw, h, hashes)
}

/// SEV-SNP: the firmware pages (or the precomputed digest after them), the metadata sections, the VMSAs.
fn measure_snp(
    guest: &Guest<'_>,
    hashes_job: Option<BootHashing<'_, '_>>,
    progress: &dyn Progress,
) -> Result<Measurement, MeasureError> {
    let mut g = match guest.firmware {
        Firmware::Image(fw) => {
            let mut g = Gctx::new();
            let r = add_image_pages(&mut g, fw, fw.gpa(), progress);
            if let Err(e) = r {
                // The scope still waits for the spawned hash; nothing more is started.
                drop(hashes_job);
                return Err(MeasureError::Firmware(e));
            }
            g
        }
        Firmware::Precomputed { snp_ovmf_hash, .. } => Gctx::with_seed(snp_ovmf_hash),
    };
    let firmware_hash = g.ld().to_vec();
    let hashes = join_hashes(hashes_job, progress)?;
    let meta = guest.firmware.metadata();
    add_sections(&mut g, meta, hashes.as_ref(), guest.vmm)?;
    let eip = meta.sev_es_reset_eip().ok_or(MeasureError::NoResetBlock)?;
    let vmsas = reset_vmsas(guest, eip, guest.guest_features);
    add_vmsas(&mut g, &vmsas, guest.vcpus);
    Ok(Measurement {
        mode: guest.mode,
        digest: g.ld().to_vec(),
        firmware_hash,
        hashes,
        vcpus: guest.vcpus,
        vmsas,
    })
}

/// SEV-SNP with an SVSM: OVMF pages, SVSM pages, the SVSM's metadata sections, the SVSM VMSAs.
fn measure_svsm(guest: &Guest<'_>, progress: &dyn Progress) -> Result<Measurement, MeasureError> {
    let (fw, svsm) = match (guest.firmware, guest.svsm) {
        (Firmware::Image(fw), Some(svsm)) => (fw, svsm),
        (Firmware::Precomputed { .. }, _) => {
            return Err(MeasureError::PrecomputedNeedsSnp(guest.mode));
        }
        (_, None) => return Err(MeasureError::SvsmMissing),
    };
    let svsm_gpa = svsm_gpa(fw, &svsm)?;
    let mut g = Gctx::new();
    add_image_pages(&mut g, fw, fw.gpa(), progress).map_err(MeasureError::Firmware)?;
    let firmware_hash = g.ld().to_vec();
    add_image_pages(&mut g, svsm.image, svsm_gpa, progress).map_err(MeasureError::SvsmRead)?;
    add_sections(&mut g, svsm.image.metadata(), None, VmmType::Qemu)?;
    let offset = svsm
        .image
        .svsm_info_offset()
        .ok_or(MeasureError::SvsmNoInfo)?;
    let eip = u64::from(offset).wrapping_add(svsm_gpa);
    let vmsas = vec![SaveArea::svsm(eip, guest.vcpu_sig).to_page()];
    add_vmsas(&mut g, &vmsas, guest.vcpus);
    Ok(Measurement {
        mode: guest.mode,
        digest: g.ld().to_vec(),
        firmware_hash,
        hashes: None,
        vcpus: guest.vcpus,
        vmsas,
    })
}

/// Direct-boot hashes being computed: one file on a scoped thread, the rest on the caller's thread.
struct BootHashing<'scope, 'a> {
    boot: &'a DirectBoot<'a>,
    /// The spawned job and whether it is the initrd (else the kernel).
    spawned: Option<(
        bool,
        std::thread::ScopedJoinHandle<'scope, Result<Sha256, ReadError>>,
    )>,
}

impl<'scope, 'a: 'scope> BootHashing<'scope, 'a> {
    fn start<'env>(
        s: &'scope std::thread::Scope<'scope, 'env>,
        boot: &'a DirectBoot<'a>,
        progress: &'a dyn Progress,
    ) -> Self
    where
        'a: 'env,
    {
        let file_len = |b: &Blob| match b {
            Blob::File(_) => Some(blob_len(b)),
            Blob::Sha256(_) => None,
        };
        let kernel = file_len(&boot.kernel);
        let initrd = boot.initrd.as_ref().and_then(file_len);
        let spawn_initrd = match (kernel, initrd) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(k), Some(i)) => i >= k,
        };
        let spawned = match (spawn_initrd, &boot.initrd) {
            (true, Some(b)) => Some((true, s.spawn(move || resolve("initrd", b, progress)))),
            _ if kernel.is_some() => Some((
                false,
                s.spawn(move || resolve("kernel", &boot.kernel, progress)),
            )),
            _ => None,
        };
        BootHashing { boot, spawned }
    }

    fn finish(self, progress: &dyn Progress) -> Result<SevHashes, MeasureError> {
        let joined = |j: std::thread::ScopedJoinHandle<'_, Result<Sha256, ReadError>>| {
            j.join().unwrap_or_else(|_| {
                Err(ReadError {
                    what: "kernel or initrd",
                    path: std::path::PathBuf::new(),
                    source: std::io::Error::other("hashing thread panicked"),
                })
            })
        };
        let no_initrd = || Ok(SevHashes::no_initrd_hash());
        let (kernel, initrd) = match self.spawned {
            Some((true, j)) => (resolve("kernel", &self.boot.kernel, progress), joined(j)),
            Some((false, j)) => {
                let initrd = match &self.boot.initrd {
                    Some(b) => resolve("initrd", b, progress),
                    None => no_initrd(),
                };
                (joined(j), initrd)
            }
            None => (
                resolve("kernel", &self.boot.kernel, progress),
                match &self.boot.initrd {
                    Some(b) => resolve("initrd", b, progress),
                    None => no_initrd(),
                },
            ),
        };
        Ok(SevHashes {
            kernel: kernel?,
            initrd: initrd?,
            cmdline: SevHashes::cmdline_hash(self.boot.cmdline),
        })
    }
}

/// Every check that does not need the large files, so that bad combinations fail before any hashing.
fn check(guest: &Guest<'_>) -> Result<(), MeasureError> {
    let mode = guest.mode;
    if mode.has_vmsas() && guest.vcpus == 0 {
        return Err(MeasureError::NoVcpus(mode));
    }
    if mode != SevMode::SevSnpSvsm && guest.svsm.is_some() {
        return Err(MeasureError::SvsmOutsideSvsmMode(mode));
    }
    if mode != SevMode::SevSnp && matches!(guest.firmware, Firmware::Precomputed { .. }) {
        return Err(MeasureError::PrecomputedNeedsSnp(mode));
    }
    let meta = guest.firmware.metadata();
    let check_eip = |meta: &OvmfMetadata| -> Result<(), MeasureError> {
        let eip = meta.sev_es_reset_eip().ok_or(MeasureError::NoResetBlock)?;
        if eip == 0 && guest.vcpus > 1 {
            return Err(MeasureError::ResetEipZero(guest.vcpus));
        }
        Ok(())
    };
    match mode {
        SevMode::Sev | SevMode::SevEs => {
            if guest.direct_boot.is_some() && !meta.supports_sev_hashes_table() {
                return Err(MeasureError::NoHashesTable);
            }
            if mode == SevMode::SevEs {
                check_eip(meta)?;
            }
        }
        SevMode::SevSnp => {
            if let Firmware::Image(fw) = guest.firmware
                && fw.len() % PAGE_SIZE != 0
            {
                return Err(MeasureError::FirmwareNotPageMultiple(fw.len()));
            }
            if !meta.has_sev_metadata() {
                return Err(MeasureError::NoSevMetadata);
            }
            check_section_types(meta)?;
            if guest.direct_boot.is_some() {
                let section = meta
                    .sections()
                    .iter()
                    .find(|s| s.section_type == SectionType::SnpKernelHashes)
                    .ok_or(MeasureError::NoKernelHashesSection)?;
                if u64::from(section.size) != PAGE_SIZE {
                    return Err(MeasureError::KernelHashesSectionSize(section.size));
                }
                let gpa = meta
                    .sev_hashes_table_gpa()
                    .ok_or(MeasureError::NoHashesTableEntry)?;
                let offset = (gpa as usize) & (PAGE_SIZE as usize - 1);
                if offset + PADDED_TABLE_LEN > PAGE_SIZE as usize {
                    return Err(TableCrossesPage(offset).into());
                }
            }
            check_eip(meta)?;
        }
        SevMode::SevSnpSvsm => {
            let (fw, svsm) = match (guest.firmware, guest.svsm) {
                (Firmware::Image(fw), Some(svsm)) => (fw, svsm),
                _ => return Err(MeasureError::SvsmMissing),
            };
            if guest.vmm != VmmType::Qemu {
                return Err(MeasureError::SvsmVmm(guest.vmm));
            }
            if guest.direct_boot.is_some() {
                return Err(MeasureError::SvsmWithKernel);
            }
            if fw.len() % PAGE_SIZE != 0 {
                return Err(MeasureError::FirmwareNotPageMultiple(fw.len()));
            }
            if svsm.image.len() % PAGE_SIZE != 0 {
                return Err(MeasureError::SvsmNotPageMultiple(svsm.image.len()));
            }
            if svsm.image.svsm_info_offset().is_none() {
                return Err(MeasureError::SvsmNoInfo);
            }
            if !svsm.image.metadata().has_sev_metadata() {
                return Err(MeasureError::SvsmNoMetadata);
            }
            check_section_types(svsm.image.metadata()).map_err(|e| match e {
                MeasureError::UnknownSectionType { index, value } => {
                    MeasureError::SvsmUnknownSectionType { index, value }
                }
                other => other,
            })?;
            svsm_gpa(fw, &svsm)?;
        }
    }
    Ok(())
}

fn check_section_types(meta: &OvmfMetadata) -> Result<(), MeasureError> {
    for (index, s) in meta.sections().iter().enumerate() {
        if let SectionType::Unknown(value) = s.section_type {
            return Err(MeasureError::UnknownSectionType { index, value });
        }
    }
    Ok(())
}

fn svsm_gpa(fw: &Ovmf, svsm: &Svsm<'_>) -> Result<u64, MeasureError> {
    fw.gpa()
        .checked_sub(svsm.vars_size)
        .and_then(|end| svsm.image.gpa_ending_at(end))
        .ok_or(MeasureError::SvsmDoesNotFit {
            svsm_len: svsm.image.len(),
            ovmf_gpa: fw.gpa(),
            vars_size: svsm.vars_size,
        })
}

fn blob_len(b: &Blob) -> u64 {
    match b {
        Blob::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
        Blob::Sha256(_) => 0,
    }
}

fn add_image_pages(
    g: &mut Gctx,
    image: &Ovmf,
    gpa: u64,
    progress: &dyn Progress,
) -> Result<(), OvmfError> {
    let mut at = gpa;
    let mut bad: Option<NotPageMultiple> = None;
    image.for_each_chunk(CHUNK, |c| {
        if let Err(e) = g.update_normal_pages(at, c) {
            bad.get_or_insert(e);
        }
        at = at.wrapping_add(c.len() as u64);
        progress.advance(c.len() as u64);
    })?;
    match bad {
        // `check` rejects images that are not whole pages; reaching this means the file changed under us.
        Some(e) => Err(OvmfError::Io(std::io::Error::other(e))),
        None => Ok(()),
    }
}

/// The metadata sections in table order, as QEMU adds them (`snp_populate_metadata_pages`), with the VMM
/// differences sev-snp-measure records: GCE adds SEC memory as unmeasured pages, EC2 adds the CPUID page after
/// every other section.
fn add_sections(
    g: &mut Gctx,
    meta: &OvmfMetadata,
    hashes: Option<&SevHashes>,
    vmm: VmmType,
) -> Result<(), MeasureError> {
    let not_pages =
        |e: NotPageMultiple| MeasureError::Firmware(OvmfError::Io(std::io::Error::other(e)));
    for (index, s) in meta.sections().iter().enumerate() {
        let gpa = u64::from(s.gpa);
        let size = u64::from(s.size);
        match s.section_type {
            SectionType::SnpSecMem if vmm == VmmType::Gce => {
                g.update_unmeasured_pages(gpa, size).map_err(not_pages)?
            }
            SectionType::SnpSecMem | SectionType::SvsmCaa => {
                g.update_zero_pages(gpa, size).map_err(not_pages)?
            }
            SectionType::SnpSecrets => g.update_secrets_page(gpa),
            SectionType::Cpuid => {
                if vmm != VmmType::Ec2 {
                    g.update_cpuid_page(gpa);
                }
            }
            SectionType::SnpKernelHashes => match hashes {
                Some(h) => {
                    let table_gpa = meta
                        .sev_hashes_table_gpa()
                        .ok_or(MeasureError::NoHashesTableEntry)?;
                    let page = h.page((table_gpa as usize) & (PAGE_SIZE as usize - 1))?;
                    g.update_normal_pages(gpa, &page[..]).map_err(not_pages)?;
                }
                None => g.update_zero_pages(gpa, size).map_err(not_pages)?,
            },
            SectionType::Unknown(value) => {
                return Err(MeasureError::UnknownSectionType { index, value });
            }
        }
    }
    if vmm == VmmType::Ec2 {
        for s in meta.sections() {
            if s.section_type == SectionType::Cpuid {
                g.update_cpuid_page(u64::from(s.gpa));
            }
        }
    }
    if hashes.is_some() && !meta.has_section(SectionType::SnpKernelHashes) {
        return Err(MeasureError::NoKernelHashesSection);
    }
    Ok(())
}

/// The BSP VMSA and, with more than one vCPU, the AP VMSA.
fn reset_vmsas(guest: &Guest<'_>, ap_eip: u32, features: u64) -> Vec<Box<[u8; VMSA_LEN]>> {
    let mut v = vec![SaveArea::reset(BSP_EIP, features, guest.vcpu_sig, guest.vmm).to_page()];
    if guest.vcpus > 1 {
        v.push(SaveArea::reset(ap_eip, features, guest.vcpu_sig, guest.vmm).to_page());
    }
    v
}

fn add_vmsas(g: &mut Gctx, vmsas: &[Box<[u8; VMSA_LEN]>], vcpus: u32) {
    let hashes: Vec<LaunchDigest> = vmsas.iter().map(|p| crate::gctx::sha384(&p[..])).collect();
    for i in 0..vcpus {
        let idx = if i == 0 {
            0
        } else {
            hashes.len().saturating_sub(1)
        };
        if let Some(h) = hashes.get(idx) {
            g.update_vmsa_page_hash(h);
        }
    }
}

fn sev_digest(
    guest: &Guest<'_>,
    fw: &Ovmf,
    mut h: Hasher,
    hashes: Option<SevHashes>,
) -> Result<Measurement, MeasureError> {
    let firmware_hash = h.clone().finish().to_vec();
    if let Some(hs) = &hashes {
        h.update(&hs.table());
    }
    let (vmsas, vcpus) = if guest.mode == SevMode::SevEs {
        let eip = fw
            .metadata()
            .sev_es_reset_eip()
            .ok_or(MeasureError::NoResetBlock)?;
        // SEV-ES has no SEV_FEATURES: the VMSA field stays 0 whatever --guest-features says.
        let v = reset_vmsas(guest, eip, 0);
        for i in 0..guest.vcpus {
            let idx = if i == 0 { 0 } else { v.len().saturating_sub(1) };
            if let Some(p) = v.get(idx) {
                h.update(&p[..]);
            }
        }
        (v, guest.vcpus)
    } else {
        (Vec::new(), 0)
    };
    Ok(Measurement {
        mode: guest.mode,
        digest: h.finish().to_vec(),
        firmware_hash,
        hashes,
        vcpus,
        vmsas,
    })
}
