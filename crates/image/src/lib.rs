//! Trusted disk image assembly: root filesystem, dm-verity partitions, UKI on an ESP, reference values.
pub mod build;
pub mod ext4times;
pub mod fat;
pub mod gpt;
pub mod guid;
pub mod mbr;
pub mod mkfs;
pub mod newc;
pub mod rootfs;
pub mod steps;
