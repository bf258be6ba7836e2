//! `image build` as a command: its flags ([`BuildRequest`]), their checks and defaults ([`BuildRequest::options`],
//! [`BuildRequest::manifest_path`]), the build and commit ([`run`]) and the summary it prints ([`BuildReport`]:
//! `--json`'s object, or [`BuildReport::to_text`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use yardstick_refvals::{FsType, Layout};
use yardstick_snp::sev_mode::SevMode;
use yardstick_snp::vmm_types::VmmType;

use crate::build::{BuildError, BuildOptions, Built, FirmwarePcrParams, build};
use crate::steps::{SnpParams, TdxParams};
use yardstick_common::progress::Progress;
use yardstick_tdx::{PageOrder, QemuVersion};

/// `image build`'s flags, parsed but not yet checked against each other.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Root filesystem: a directory or an uncompressed tar archive.
    pub rootfs: PathBuf,
    /// Output disk image (the cpio for the initrd layout).
    pub output: PathBuf,
    /// Where to write the manifest (default: [`BuildRequest::manifest_path`]).
    pub manifest: Option<PathBuf>,
    /// Disk layout.
    pub layout: Layout,
    /// Root filesystem type.
    pub fs: FsType,
    /// Kernel.
    pub kernel: Option<PathBuf>,
    /// Initrd.
    pub initrd: Option<PathBuf>,
    /// systemd-stub.
    pub stub: Option<PathBuf>,
    /// os-release for the UKI.
    pub os_release: Option<PathBuf>,
    /// Kernel command line before the verity parameters.
    pub cmdline: String,
    /// OVMF firmware: with it, the SEV-SNP launch digest is computed.
    pub ovmf: Option<PathBuf>,
    /// Launch type.
    pub snp_mode: SevMode,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// vCPU model name.
    pub vcpu_type: Option<String>,
    /// vCPU signature (must fit in 32 bits, checked whether or not `ovmf` is given).
    pub vcpu_sig: Option<u64>,
    /// vCPU family.
    pub vcpu_family: Option<u64>,
    /// vCPU model.
    pub vcpu_model: Option<u64>,
    /// vCPU stepping.
    pub vcpu_stepping: Option<u64>,
    /// Hypervisor.
    pub vmm_type: VmmType,
    /// SEV features of the VMSAs.
    pub guest_features: u64,
    /// TDX firmware (a TDVF): with it, MRTD and the RTMRs are predicted (the manifest's `tdx` section), for the
    /// same boot as the SEV-SNP digest (the kernel, initrd and command line for kata and initrd, the firmware
    /// only for a UKI loaded from disk), with `vcpus`.
    pub tdx_firmware: Option<PathBuf>,
    /// Guest memory in MiB (required with `tdx_firmware` and with `firmware`).
    pub memory: Option<u64>,
    /// OVMF code file (`OVMF_CODE*.fd`): with it, the firmware PCRs (0-3, 5, 6) of a QEMU + OVMF boot of the
    /// image with `memory`, `vcpus`, `platform` and `nic` go into the manifest's `tpm` section (`uki` layout).
    pub firmware: Option<PathBuf>,
    /// The machine type of the firmware PCRs' VM.
    pub platform: yardstick_tpm::predict::firmware::MachineType,
    /// The NIC of the firmware PCRs' VM.
    pub nic: yardstick_tpm::predict::firmware::Nic,
    /// The NIC's option ROM file (QEMU's `romfile`), whose EFI drivers go into PCR 2.
    pub nic_rom: Option<PathBuf>,
    /// A copy of a guest's `/sys/firmware/qemu_fw_cfg/by_name` (QEMU's ACPI blobs, PCR 1 of edk2 2025.02).
    pub fw_cfg: Option<PathBuf>,
    /// The QEMU version of the TDX host.
    pub qemu_version: QemuVersion,
    /// The TDX host's MRTD page order.
    pub mrtd_order: PageOrder,
    /// QEMU's `etc/acpi/tables` for the TD's configuration: with it (and a direct boot), RTMR0 is predicted too.
    pub tdx_acpi_tables: Option<PathBuf>,
    /// QEMU's `etc/acpi/rsdp` (default: derived from the tables).
    pub tdx_acpi_rsdp: Option<PathBuf>,
    /// QEMU's `etc/table-loader` (default: derived from the tables).
    pub tdx_acpi_loader: Option<PathBuf>,
    /// Seed for every generated identifier (default: derived from the content of every input).
    pub seed: Option<String>,
    /// dm-verity salt in hex, `-` for none (default: derived from the seed).
    pub salt: Option<String>,
    /// The guest's name for the disk.
    pub disk_device: String,
    /// The `SOURCE_DATE_EPOCH` environment value, if set (unset or blank: 0).
    pub source_date_epoch: Option<String>,
}

/// Why `image build` failed: a flag or `SOURCE_DATE_EPOCH` that does not check, or the build itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// `SOURCE_DATE_EPOCH` is not a number.
    #[error("SOURCE_DATE_EPOCH: {value:?} is not a number of seconds")]
    SourceDateEpoch {
        /// The value.
        value: String,
        /// The cause.
        source: std::num::ParseIntError,
    },
    /// `--salt` is not hex.
    #[error("--salt {value:?}")]
    Salt {
        /// The value.
        value: String,
        /// The cause.
        source: yardstick_common::hex::HexError,
    },
    /// `--salt` is longer than a verity superblock holds.
    #[error("--salt: longer than 256 bytes")]
    SaltTooLong,
    /// `--tdx-firmware` without `--memory`.
    #[error("--tdx-firmware: needs --memory (the guest memory in MiB)")]
    TdxMemory,
    /// `--firmware` without `--memory`, or with more than fits 32 bits.
    #[error("--firmware: needs --memory (the guest memory in MiB, below 4 PiB)")]
    FirmwareMemory,
    /// `--vcpu-sig` above 32 bits.
    #[error("--vcpu-sig: larger than 32 bits")]
    VcpuSig(#[source] std::num::TryFromIntError),
    /// The build or its commit.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// An output path names an input (the disk is the kernel, the manifest lies inside the rootfs directory).
    #[error(transparent)]
    Clobber(#[from] yardstick_common::fs::ClobberError),
}

impl BuildRequest {
    /// The build options: `SOURCE_DATE_EPOCH`, then `--salt`, then `--vcpu-sig` checked (in that order);
    /// device nodes from a tar allowed when running as root.
    pub fn options(&self) -> Result<BuildOptions, RequestError> {
        let epoch = match self.source_date_epoch.as_deref() {
            Some(v) if !v.trim().is_empty() => {
                v.trim()
                    .parse()
                    .map_err(|source| RequestError::SourceDateEpoch {
                        value: v.to_string(),
                        source,
                    })?
            }
            _ => 0,
        };
        let salt = match self.salt.as_deref() {
            None => None,
            Some("-") => Some(Vec::new()),
            Some(h) => {
                Some(
                    yardstick_common::hex::decode(h).map_err(|source| RequestError::Salt {
                        value: h.to_string(),
                        source,
                    })?,
                )
            }
        };
        if salt.as_ref().is_some_and(|s| s.len() > 256) {
            return Err(RequestError::SaltTooLong);
        }
        let vcpu_sig = self
            .vcpu_sig
            .map(|v| u32::try_from(v).map_err(RequestError::VcpuSig))
            .transpose()?;
        let snp = self.ovmf.clone().map(|ovmf| SnpParams {
            ovmf,
            mode: self.snp_mode,
            vcpus: self.vcpus,
            vcpu_type: self.vcpu_type.clone(),
            vcpu_sig,
            vcpu_family: self.vcpu_family,
            vcpu_model: self.vcpu_model,
            vcpu_stepping: self.vcpu_stepping,
            vmm_type: self.vmm_type,
            guest_features: self.guest_features,
        });
        let tdx = match (&self.tdx_firmware, self.memory) {
            (None, _) => None,
            (Some(_), None) => return Err(RequestError::TdxMemory),
            (Some(firmware), Some(memory_mib)) => Some(TdxParams {
                firmware: firmware.clone(),
                memory_mib,
                vcpus: self.vcpus,
                qemu_version: self.qemu_version,
                mrtd_order: self.mrtd_order,
                acpi_tables: self.tdx_acpi_tables.clone(),
                acpi_rsdp: self.tdx_acpi_rsdp.clone(),
                acpi_loader: self.tdx_acpi_loader.clone(),
            }),
        };
        let firmware_pcrs = match &self.firmware {
            None => None,
            Some(firmware) => {
                let memory_mib = self
                    .memory
                    .and_then(|m| u32::try_from(m).ok())
                    .ok_or(RequestError::FirmwareMemory)?;
                Some(FirmwarePcrParams {
                    firmware: firmware.clone(),
                    vm: yardstick_tpm::predict::firmware::VmConfig {
                        machine: self.platform,
                        memory_mib,
                        vcpus: self.vcpus,
                        nic: self.nic,
                        qemu_version: self.qemu_version,
                        ..Default::default()
                    },
                    nic_rom: self.nic_rom.clone(),
                    fw_cfg: self.fw_cfg.clone(),
                })
            }
        };
        Ok(BuildOptions {
            rootfs: self.rootfs.clone(),
            layout: self.layout,
            fs: self.fs,
            kernel: self.kernel.clone(),
            initrd: self.initrd.clone(),
            stub: self.stub.clone(),
            os_release: self.os_release.clone(),
            cmdline: self.cmdline.clone(),
            snp,
            tdx,
            firmware_pcrs,
            output: self.output.clone(),
            source_date_epoch: epoch,
            seed: self.seed.clone(),
            salt,
            disk_device: self.disk_device.clone(),
            allow_devices: crate::rootfs::privileged(),
        })
    }

    /// Where the manifest goes: `manifest`, else the output path with `.manifest.json` appended.
    pub fn manifest_path(&self) -> PathBuf {
        self.manifest.clone().unwrap_or_else(|| {
            let mut p = self.output.clone().into_os_string();
            p.push(".manifest.json");
            PathBuf::from(p)
        })
    }
}

/// `image build`: checks the request, builds (reporting to `progress`), writes the manifest and moves both
/// outputs into place.
pub fn run(req: &BuildRequest, progress: &dyn Progress) -> Result<BuildReport, RequestError> {
    let opts = req.options()?;
    let manifest_path = req.manifest_path();
    let inputs: Vec<&std::path::Path> =
        [Some(&req.rootfs), req.kernel.as_ref(), req.initrd.as_ref()]
            .into_iter()
            .chain([
                req.stub.as_ref(),
                req.os_release.as_ref(),
                req.ovmf.as_ref(),
                req.tdx_firmware.as_ref(),
                req.firmware.as_ref(),
                req.tdx_acpi_tables.as_ref(),
                req.tdx_acpi_rsdp.as_ref(),
                req.tdx_acpi_loader.as_ref(),
            ])
            .flatten()
            .map(PathBuf::as_path)
            .collect();
    yardstick_common::fs::refuse_clobber(&[&req.output, &manifest_path], &inputs)?;
    let built = build(&opts, progress)?;
    let report = BuildReport::new(&req.output, manifest_path, &built);
    built.commit(&report.manifest)?;
    Ok(report)
}

/// What a build produced (`--json`'s object).
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The final kernel command line, if any.
    pub cmdline: Option<String>,
    /// The root filesystem type, if any.
    pub filesystem: Option<FsType>,
    /// The layout.
    pub layout: Option<Layout>,
    /// The manifest written.
    pub manifest: PathBuf,
    /// The output written.
    pub output: PathBuf,
    /// The dm-verity root hash in hex, if any.
    pub root_hash: Option<String>,
    /// Wall time per step, in seconds.
    pub seconds: BTreeMap<&'static str, f64>,
    /// The seed of the generated identifiers (given, or derived from the inputs); `None` for the initrd layout.
    pub seed: Option<String>,
    /// The output's size in bytes.
    pub size: Option<u64>,
    /// Wall time per step, in order.
    #[serde(skip)]
    pub timings: Vec<(&'static str, Duration)>,
}

impl BuildReport {
    fn new(output: &std::path::Path, manifest: PathBuf, built: &Built) -> BuildReport {
        let image = built.manifest.image.as_ref();
        BuildReport {
            cmdline: built.cmdline.clone(),
            filesystem: image.and_then(|i| i.filesystem),
            layout: image.map(|i| i.layout),
            manifest,
            output: output.to_path_buf(),
            root_hash: built.manifest.verity.as_ref().map(|v| v.root_hash.to_hex()),
            seconds: built
                .timings
                .iter()
                .map(|(n, d)| (*n, d.as_secs_f64()))
                .collect(),
            seed: built.seed.clone(),
            size: image.map(|i| i.size),
            timings: built.timings.clone(),
        }
    }

    /// The plain summary, one `name: value` line each (output, manifest, root hash, cmdline, time), with a
    /// final newline.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if let (Some(layout), Some(size)) = (self.layout, self.size) {
            let fs = self
                .filesystem
                .map(|f| format!(", {}", fs_name(f)))
                .unwrap_or_default();
            s += &format!(
                "output:    {} ({size} bytes, layout {}{fs})\n",
                self.output.display(),
                layout_name(layout)
            );
        }
        s += &format!("manifest:  {}\n", self.manifest.display());
        if let Some(r) = &self.root_hash {
            s += &format!("root hash: {r}\n");
        }
        if let Some(c) = &self.cmdline {
            s += &format!("cmdline:   {c}\n");
        }
        if let Some(seed) = &self.seed {
            s += &format!("seed:      {seed}\n");
        }
        let total: f64 = self.timings.iter().map(|(_, d)| d.as_secs_f64()).sum();
        let parts: Vec<String> = self
            .timings
            .iter()
            .map(|(n, d)| format!("{n} {:.2}s", d.as_secs_f64()))
            .collect();
        s += &format!("time:      {total:.2}s ({})\n", parts.join(", "));
        s
    }
}

/// The layout's manifest spelling.
pub(crate) fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::Uki => "uki",
        Layout::Kata => "kata",
        Layout::Initrd => "initrd",
    }
}

/// The filesystem type's manifest spelling.
pub(crate) fn fs_name(f: FsType) -> &'static str {
    match f {
        FsType::Erofs => "erofs",
        FsType::Ext4 => "ext4",
        FsType::Squashfs => "squashfs",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The text summary spells layouts and filesystems as the manifest and `--json` do.
    #[test]
    fn names_are_the_serde_names() {
        for l in [Layout::Uki, Layout::Kata, Layout::Initrd] {
            assert_eq!(
                serde_json::to_value(l).unwrap(),
                serde_json::Value::from(layout_name(l))
            );
        }
        for f in [FsType::Erofs, FsType::Ext4, FsType::Squashfs] {
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                serde_json::Value::from(fs_name(f))
            );
        }
    }
}
