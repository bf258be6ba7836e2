//! Names for the numbers an event log carries: event types, TPM algorithm ids, GUIDs.

use std::fmt;

use yardstick_common::hash::Algorithm;

/// A TCG event type (`TCG_EVENTTYPE`), named as the TCG PC Client Platform Firmware Profile (PFP) 1.05/1.06
/// §10.4.1 names it. Any 32-bit value is representable: unknown types are kept and printed in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(pub u32);

macro_rules! event_types {
    ($($name:ident = $val:expr),* $(,)?) => {
        #[allow(missing_docs)]
        impl EventType {
            $(pub const $name: EventType = EventType($val);)*

            /// The spec's name (`EV_...`), if the type is one the PFP defines.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    EV_PREBOOT_CERT = 0x0000_0000,
    EV_POST_CODE = 0x0000_0001,
    EV_UNUSED = 0x0000_0002,
    EV_NO_ACTION = 0x0000_0003,
    EV_SEPARATOR = 0x0000_0004,
    EV_ACTION = 0x0000_0005,
    EV_EVENT_TAG = 0x0000_0006,
    EV_S_CRTM_CONTENTS = 0x0000_0007,
    EV_S_CRTM_VERSION = 0x0000_0008,
    EV_CPU_MICROCODE = 0x0000_0009,
    EV_PLATFORM_CONFIG_FLAGS = 0x0000_000a,
    EV_TABLE_OF_DEVICES = 0x0000_000b,
    EV_COMPACT_HASH = 0x0000_000c,
    EV_IPL = 0x0000_000d,
    EV_IPL_PARTITION_DATA = 0x0000_000e,
    EV_NONHOST_CODE = 0x0000_000f,
    EV_NONHOST_CONFIG = 0x0000_0010,
    EV_NONHOST_INFO = 0x0000_0011,
    EV_OMIT_BOOT_DEVICE_EVENTS = 0x0000_0012,
    EV_POST_CODE2 = 0x0000_0013,
    EV_EFI_EVENT_BASE = 0x8000_0000,
    EV_EFI_VARIABLE_DRIVER_CONFIG = 0x8000_0001,
    EV_EFI_VARIABLE_BOOT = 0x8000_0002,
    EV_EFI_BOOT_SERVICES_APPLICATION = 0x8000_0003,
    EV_EFI_BOOT_SERVICES_DRIVER = 0x8000_0004,
    EV_EFI_RUNTIME_SERVICES_DRIVER = 0x8000_0005,
    EV_EFI_GPT_EVENT = 0x8000_0006,
    EV_EFI_ACTION = 0x8000_0007,
    EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x8000_0008,
    EV_EFI_HANDOFF_TABLES = 0x8000_0009,
    EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000_000a,
    EV_EFI_HANDOFF_TABLES2 = 0x8000_000b,
    EV_EFI_VARIABLE_BOOT2 = 0x8000_000c,
    EV_EFI_GPT_EVENT2 = 0x8000_000d,
    EV_EFI_HCRTM_EVENT = 0x8000_0010,
    EV_EFI_VARIABLE_AUTHORITY = 0x8000_00e0,
    EV_EFI_SPDM_FIRMWARE_BLOB = 0x8000_00e1,
    EV_EFI_SPDM_FIRMWARE_CONFIG = 0x8000_00e2,
    EV_EFI_SPDM_DEVICE_POLICY = 0x8000_00e3,
    EV_EFI_SPDM_DEVICE_AUTHORITY = 0x8000_00e4,
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "EV_UNKNOWN_{:#010x}", self.0),
        }
    }
}

/// A `TPM_ALG_ID` from an event log: one yardstick can hash with, or another one whose digests can only be
/// carried along (its size comes from the log's Spec ID header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlgorithmId(pub u16);

impl AlgorithmId {
    /// The algorithm, if yardstick can compute it.
    pub const fn algorithm(self) -> Option<Algorithm> {
        Algorithm::from_tpm_alg_id(self.0)
    }

    /// The id of a supported algorithm.
    pub const fn of(alg: Algorithm) -> AlgorithmId {
        AlgorithmId(alg.tpm_alg_id())
    }

    /// Name as tpm2-tools prints it (TCG Algorithm Registry), or the hex id.
    pub fn name(self) -> String {
        let known = match self.0 {
            0x0004 => "sha1",
            0x000b => "sha256",
            0x000c => "sha384",
            0x000d => "sha512",
            0x0012 => "sm3_256",
            0x0027 => "sha3_256",
            0x0028 => "sha3_384",
            0x0029 => "sha3_512",
            _ => return format!("{:#06x}", self.0),
        };
        known.to_string()
    }
}

impl fmt::Display for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// An EFI GUID; event logs store it in EFI byte order ([`Guid::from_efi_bytes`]). Well-known ones are in
/// [`crate::guids`].
pub use yardstick_common::guid::Guid;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            EventType(0x8000_0003).to_string(),
            "EV_EFI_BOOT_SERVICES_APPLICATION"
        );
        assert_eq!(EventType(0x4242).to_string(), "EV_UNKNOWN_0x00004242");
        assert_eq!(AlgorithmId(0x0b).name(), "sha256");
        assert_eq!(AlgorithmId(0x1234).name(), "0x1234");
    }
}
