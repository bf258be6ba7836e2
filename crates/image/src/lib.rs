//! Trusted disk image assembly: root filesystem, dm-verity partitions, UKI on an ESP, reference values.
//!
//! [`build::build`] is `yardstick image build`: a root filesystem (directory or tar, [`rootfs`]) becomes a
//! filesystem image ([`mkfs`]), gets a dm-verity hash tree, and is laid out with a UKI on a FAT32 ESP ([`fat`])
//! behind a GPT ([`gpt`]), behind an MBR for Kata ([`mbr`]), or packed into a newc initrd ([`cpio`]); the
//! reference values land in a [`yardstick_refvals::Manifest`]. The steps other crates own (verity, UKI, PCR
//! prediction, SNP launch digest) are called through the private `steps` module. Everything is reproducible: timestamps come
//! from `SOURCE_DATE_EPOCH`, identifiers from a seed. [`request`] is the command around it: the flags checked and
//! defaulted, the build committed, and the summary it prints.
//!
//! ```
//! use yardstick_image::gpt::{Gpt, GptPartition};
//! use yardstick_image::guid::{self, Guid, types};
//!
//! // A 16 MiB disk with one root partition whose UUID is the first 128 bits of a root hash, as
//! // systemd-veritysetup-generator expects.
//! let root_hash = [0x17u8; 32];
//! let mut gpt = Gpt::new(guid::derive(b"seed", "disk"));
//! gpt.partitions.push(GptPartition {
//!     type_guid: types::ROOT_X86_64,
//!     uuid: Guid::from_prefix(&root_hash).unwrap(),
//!     name: "root-x86-64".into(),
//!     first_lba: 2048,
//!     last_lba: 4095,
//!     attributes: 1 << 60,
//! });
//! let disk = tempfile::tempfile().unwrap();
//! disk.set_len(16 << 20).unwrap();
//! gpt.write(&disk, 16 << 20).unwrap();
//! ```

#![forbid(unsafe_code)]

pub mod build;
pub mod cpio;
mod ext4times;
pub mod fat;
pub mod gpt;
pub mod guid;
pub mod inspect;
pub mod mbr;
pub mod mkfs;
mod newc;
pub mod request;
pub mod rootfs;
mod seed;
mod steps;

pub use build::{BuildError, BuildOptions, Built, FirmwarePcrParams, build};
pub use steps::{FirmwarePcrs, SnpParams, StepError, add_firmware_pcrs};
