//! AMD SEV, SEV-ES and SEV-SNP launch measurement (trust path 1): OVMF metadata, VMSA, launch digest, ID blocks;
//! and the SEV-SNP attestation report format.
//!
//! A relying party compares the launch digest in an SEV-SNP attestation report with a value computed offline
//! from the firmware, kernel, initrd and cmdline. This crate computes it, bit-exact with sev-snp-measure 0.0.13,
//! and defines the report it ends up in ([`report`]; checking a report is `yardstick-verify`'s).
//! The modules follow the algorithm's vocabulary:
//!
//! * [`ovmf`]: the firmware's GUIDed footer table and SEV metadata, parsed and validated;
//! * [`gctx`]: the SNP launch-digest context, one method per page type;
//! * [`sev_hashes`]: the kernel/initrd/cmdline hashes table QEMU places in guest memory;
//! * [`vmsa`]: the initial register state of each vCPU;
//! * [`vcpu_types`], [`vmm_types`], [`sev_mode`]: the parameters, with their command-line and manifest
//!   spellings, and [`vcpu_types::resolve`], the one resolution of the vCPU flags;
//! * [`guest`]: the whole measurement, in PSP order;
//! * [`id_block`]: the ID block and ID authentication structures for `SNP_LAUNCH_FINISH`;
//! * [`report`]: the `ATTESTATION_REPORT` structure, its policy bits and TCB versions;
//! * [`request`]: the `yardstick snp` commands in sev-snp-measure's terms: the flags as given, parsed and
//!   checked as sev-snp-measure does, and typed, serializable results.
//!
//! Hand-written for bit-exactness with sev-snp-measure 0.0.13, the tool users compare with, including its
//! quirks (the VMSA of `snp:svsm` mode, its vCPU signature rules, its Python integer parsing), and to stream
//! large kernels and initrds with bounded memory; the differential tests run sev-snp-measure itself.
//!
//! ```
//! use yardstick_snp::gctx::Gctx;
//! use yardstick_snp::vmsa::{SaveArea, BSP_EIP};
//! use yardstick_snp::vmm_types::VmmType;
//!
//! // A guest whose only measured page is the BSP's VMSA (EPYC-Milan signature, SNP active).
//! let vmsa = SaveArea::reset(BSP_EIP, 0x1, 0xa00f11, VmmType::Qemu).to_page();
//! let mut ld = Gctx::new();
//! ld.update_vmsa_page(&vmsa);
//! assert_eq!(ld.ld().len(), 48);
//! ```
//!
//! Measuring a real firmware with a kernel:
//!
//! ```no_run
//! use yardstick_common::progress::NoProgress;
//! use yardstick_snp::guest::{measure, DirectBoot, Firmware, Guest};
//! use yardstick_snp::{ovmf::Ovmf, sev_hashes::Blob, sev_mode::SevMode, vmm_types::VmmType};
//!
//! let fw = Ovmf::open("OVMF.fd")?;
//! let guest = Guest::new(SevMode::SevSnp, Firmware::Image(&fw))
//!     .with_vcpus(4, 0xa00f11)
//!     .with_vmm(VmmType::Qemu)
//!     .with_guest_features(0x1)
//!     .with_direct_boot(Some(DirectBoot {
//!         kernel: Blob::File("vmlinuz".into()),
//!         initrd: Some(Blob::File("initrd.img".into())),
//!         cmdline: Some(b"console=ttyS0"),
//!     }));
//! let m = measure(&guest, &NoProgress)?;
//! println!("{}", yardstick_common::hex::encode(&m.digest));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod gctx;
pub mod guest;
pub mod id_block;
pub mod ovmf;
pub mod report;
pub mod request;
pub mod sev_hashes;
pub mod sev_mode;
pub mod vcpu_types;
pub mod vmm_types;
pub mod vmsa;

mod stream;
