//! The GUIDs a disk image needs: stable derived ones and the partition type GUIDs.
//!
//! The type itself is [`yardstick_common::guid::Guid`] (text byte order; GPT stores it through
//! [`Guid::to_efi_bytes`]); it is re-exported here so image code and its callers name one path.

pub use yardstick_common::guid::{Guid, ParseGuidError};

use yardstick_common::hash::Algorithm;

/// A GUID derived from a seed and a purpose, stable across runs: the first 16 bytes of
/// SHA-256(`yardstick-guid\0` || purpose || `\0` || seed), made an RFC 4122 version 4 / variant 1 UUID
/// (as systemd's `sd_id128_make_v4_uuid` does) so tools that check the version accept it.
pub fn derive(seed: &[u8], purpose: &str) -> Guid {
    let d = Algorithm::Sha256.digest_parts(&[b"yardstick-guid\0", purpose.as_bytes(), b"\0", seed]);
    let mut b = [0u8; 16];
    b.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    Guid::v4_from_bytes(b)
}

/// Partition type GUIDs of the UAPI Discoverable Partitions Specification (x86-64 and arm64) and the UEFI
/// specification (ESP): the one definition `image build` writes and `image inspect` reads.
pub mod types {
    use super::Guid;
    use yardstick_common::guid;

    /// EFI System Partition `c12a7328-f81f-11d2-ba4b-00a0c93ec93b`.
    pub const ESP: Guid = guid!("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    /// Extended Boot Loader Partition (XBOOTLDR) `bc13c2ff-59e6-4262-a352-b275fd6f7172`.
    pub const XBOOTLDR: Guid = guid!("bc13c2ff-59e6-4262-a352-b275fd6f7172");
    /// Root partition (x86-64) `4f68bce3-e8cd-4db1-96e7-fbcaf984b709`.
    pub const ROOT_X86_64: Guid = guid!("4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
    /// Root verity partition (x86-64) `2c7357ed-ebd2-46d9-aec1-23d437ec2bf5`.
    pub const ROOT_VERITY_X86_64: Guid = guid!("2c7357ed-ebd2-46d9-aec1-23d437ec2bf5");
    /// Root verity signature partition (x86-64) `41092b05-9fc8-4523-994f-2def0408b176`.
    pub const ROOT_VERITY_SIG_X86_64: Guid = guid!("41092b05-9fc8-4523-994f-2def0408b176");
    /// /usr partition (x86-64) `8484680c-9521-48c6-9c11-b0720656f69e`.
    pub const USR_X86_64: Guid = guid!("8484680c-9521-48c6-9c11-b0720656f69e");
    /// /usr verity partition (x86-64) `77ff5f63-e7b6-4633-acf4-1565b864c0e6`.
    pub const USR_VERITY_X86_64: Guid = guid!("77ff5f63-e7b6-4633-acf4-1565b864c0e6");
    /// /usr verity signature partition (x86-64) `e7bb33fb-06cf-4e81-8273-e543b413e2e2`.
    pub const USR_VERITY_SIG_X86_64: Guid = guid!("e7bb33fb-06cf-4e81-8273-e543b413e2e2");
    /// Root partition (arm64) `b921b045-1df0-41c3-af44-4c6f280d3fae`.
    pub const ROOT_ARM64: Guid = guid!("b921b045-1df0-41c3-af44-4c6f280d3fae");
    /// Root verity partition (arm64) `df3300ce-d69f-4c92-978c-9bfb0f38d820`.
    pub const ROOT_VERITY_ARM64: Guid = guid!("df3300ce-d69f-4c92-978c-9bfb0f38d820");
    /// Root verity signature partition (arm64) `6db69de6-29f4-4758-a7a5-962190f00ce3`.
    pub const ROOT_VERITY_SIG_ARM64: Guid = guid!("6db69de6-29f4-4758-a7a5-962190f00ce3");
    /// /usr partition (arm64) `b0e01050-ee5f-4390-949a-9101b17104e9`.
    pub const USR_ARM64: Guid = guid!("b0e01050-ee5f-4390-949a-9101b17104e9");
    /// /usr verity partition (arm64) `6e11a4e7-fbca-4ded-b9e9-e1a512bb664e`.
    pub const USR_VERITY_ARM64: Guid = guid!("6e11a4e7-fbca-4ded-b9e9-e1a512bb664e");
    /// /usr verity signature partition (arm64) `c23ce4ff-44bd-4b00-b2d4-b41b3419e02a`.
    pub const USR_VERITY_SIG_ARM64: Guid = guid!("c23ce4ff-44bd-4b00-b2d4-b41b3419e02a");

    /// What a partition of a discoverable type is for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum Designator {
        /// EFI System Partition.
        Esp,
        /// Extended Boot Loader Partition.
        Xbootldr,
        /// Root file system.
        Root,
        /// Root verity hash tree.
        RootVerity,
        /// Root verity signature (JSON).
        RootVeritySig,
        /// /usr file system.
        Usr,
        /// /usr verity hash tree.
        UsrVerity,
        /// /usr verity signature (JSON).
        UsrVeritySig,
    }

    /// The CPU architecture an architecture-specific type is for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum Arch {
        /// x86-64 (`BOOTX64.EFI`).
        X86_64,
        /// AArch64 (`BOOTAA64.EFI`).
        Arm64,
    }

    /// One discoverable partition type.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Discoverable {
        /// The type GUID.
        pub guid: Guid,
        /// What it designates.
        pub designator: Designator,
        /// Its architecture, for the architecture-specific types.
        pub arch: Option<Arch>,
        /// Its name as `systemd-id128 show` prints it (`root-x86-64-verity`).
        pub name: &'static str,
    }

    const fn d(
        guid: Guid,
        designator: Designator,
        arch: Option<Arch>,
        name: &'static str,
    ) -> Discoverable {
        Discoverable {
            guid,
            designator,
            arch,
            name,
        }
    }

    /// Every type this crate knows.
    pub const DISCOVERABLE: [Discoverable; 14] = {
        use Arch::{Arm64, X86_64};
        use Designator::*;
        [
            d(ESP, Esp, None, "esp"),
            d(XBOOTLDR, Xbootldr, None, "xbootldr"),
            d(ROOT_X86_64, Root, Some(X86_64), "root-x86-64"),
            d(
                ROOT_VERITY_X86_64,
                RootVerity,
                Some(X86_64),
                "root-x86-64-verity",
            ),
            d(
                ROOT_VERITY_SIG_X86_64,
                RootVeritySig,
                Some(X86_64),
                "root-x86-64-verity-sig",
            ),
            d(USR_X86_64, Usr, Some(X86_64), "usr-x86-64"),
            d(
                USR_VERITY_X86_64,
                UsrVerity,
                Some(X86_64),
                "usr-x86-64-verity",
            ),
            d(
                USR_VERITY_SIG_X86_64,
                UsrVeritySig,
                Some(X86_64),
                "usr-x86-64-verity-sig",
            ),
            d(ROOT_ARM64, Root, Some(Arm64), "root-arm64"),
            d(
                ROOT_VERITY_ARM64,
                RootVerity,
                Some(Arm64),
                "root-arm64-verity",
            ),
            d(
                ROOT_VERITY_SIG_ARM64,
                RootVeritySig,
                Some(Arm64),
                "root-arm64-verity-sig",
            ),
            d(USR_ARM64, Usr, Some(Arm64), "usr-arm64"),
            d(USR_VERITY_ARM64, UsrVerity, Some(Arm64), "usr-arm64-verity"),
            d(
                USR_VERITY_SIG_ARM64,
                UsrVeritySig,
                Some(Arm64),
                "usr-arm64-verity-sig",
            ),
        ]
    };

    /// The discoverable type `guid` is, if any.
    pub fn lookup(guid: Guid) -> Option<&'static Discoverable> {
        DISCOVERABLE.iter().find(|t| t.guid == guid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_types() {
        let g: Guid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b".parse().unwrap();
        assert_eq!(g, types::ESP);
        // UEFI spec: the ESP type GUID is stored as 28 73 2a c1 1f f8 d2 11 ba 4b ...
        assert_eq!(
            g.to_efi_bytes()[..8],
            [0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11]
        );
        for (g, text) in [
            (types::ROOT_X86_64, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"),
            (
                types::ROOT_VERITY_X86_64,
                "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
            ),
            (
                types::ROOT_VERITY_SIG_X86_64,
                "41092b05-9fc8-4523-994f-2def0408b176",
            ),
        ] {
            assert_eq!(g.to_string(), text);
        }
    }

    /// The table against systemd's own (`systemd-id128 show`, systemd 252 on Debian 12 and later), when it is
    /// installed
    /// (a missing peer fails the test).
    #[test]
    fn discoverable_types_match_systemd() {
        let out = std::process::Command::new("systemd-id128")
            .arg("show")
            .output()
            .expect("systemd-id128 (systemd) runs");
        let text = String::from_utf8(out.stdout).unwrap();
        for t in types::DISCOVERABLE {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(t.name))
                .unwrap_or_else(|| panic!("{} not in systemd-id128 show", t.name));
            let hex = line.split_whitespace().nth(1).unwrap();
            assert_eq!(hex, t.guid.to_string().replace('-', ""), "{}", t.name);
            assert_eq!(types::lookup(t.guid), Some(&t));
        }
    }

    #[test]
    fn derived_guids() {
        let a = derive(b"seed", "disk");
        assert_eq!(a, derive(b"seed", "disk"));
        assert_ne!(a, derive(b"seed", "esp"));
        assert_eq!(a.as_bytes()[6] >> 4, 4);
        assert_eq!(a.as_bytes()[8] >> 6, 2);
    }
}
