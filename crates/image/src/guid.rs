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

/// Partition type GUIDs of the UAPI Discoverable Partitions Specification (x86-64) and the UEFI
/// specification (ESP).
pub mod types {
    use super::Guid;
    use yardstick_common::guid;

    /// EFI System Partition `c12a7328-f81f-11d2-ba4b-00a0c93ec93b`.
    pub const ESP: Guid = guid!("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    /// Root partition (x86-64) `4f68bce3-e8cd-4db1-96e7-fbcaf984b709`.
    pub const ROOT_X86_64: Guid = guid!("4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
    /// Root verity partition (x86-64) `2c7357ed-ebd2-46d9-aec1-23d437ec2bf5`.
    pub const ROOT_VERITY_X86_64: Guid = guid!("2c7357ed-ebd2-46d9-aec1-23d437ec2bf5");
    /// Root verity signature partition (x86-64) `41092b05-9fc8-4523-994f-2def0408b176`.
    pub const ROOT_VERITY_SIG_X86_64: Guid = guid!("41092b05-9fc8-4523-994f-2def0408b176");
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

    #[test]
    fn derived_guids() {
        let a = derive(b"seed", "disk");
        assert_eq!(a, derive(b"seed", "disk"));
        assert_ne!(a, derive(b"seed", "esp"));
        assert_eq!(a.as_bytes()[6] >> 4, 4);
        assert_eq!(a.as_bytes()[8] >> 6, 2);
    }
}
