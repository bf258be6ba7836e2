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

/// An EFI GUID as stored on disk (first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// `EFI_GLOBAL_VARIABLE`: SecureBoot, PK, KEK, Boot####, BootOrder.
    pub const EFI_GLOBAL_VARIABLE: Guid = Guid::from_fields(
        0x8be4df61,
        0x93ca,
        0x11d2,
        [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
    );
    /// `EFI_IMAGE_SECURITY_DATABASE_GUID`: db, dbx, dbt, dbr.
    pub const EFI_IMAGE_SECURITY_DATABASE: Guid = Guid::from_fields(
        0xd719b2cb,
        0x3d3a,
        0x4596,
        [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
    );
    /// shim's `SHIM_LOCK_GUID`: MokList, SbatLevel, the "Shim" authority.
    pub const SHIM_LOCK: Guid = Guid::from_fields(
        0x605dab50,
        0xe046,
        0x4300,
        [0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23],
    );
    /// `EFI_CERT_X509_GUID` (an `EFI_SIGNATURE_LIST` of X.509 certificates).
    pub const EFI_CERT_X509: Guid = Guid::from_fields(
        0xa5c059a1,
        0x94e4,
        0x4aa7,
        [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
    );
    /// `EFI_CERT_SHA256_GUID` (an `EFI_SIGNATURE_LIST` of SHA-256 hashes).
    pub const EFI_CERT_SHA256: Guid = Guid::from_fields(
        0xc1c41626,
        0x504c,
        0x4092,
        [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
    );

    /// Builds a GUID from its textual fields.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// A short name for GUIDs that event logs commonly carry.
    pub fn well_known_name(&self) -> Option<&'static str> {
        match *self {
            Guid::EFI_GLOBAL_VARIABLE => Some("EFI_GLOBAL_VARIABLE"),
            Guid::EFI_IMAGE_SECURITY_DATABASE => Some("EFI_IMAGE_SECURITY_DATABASE"),
            Guid::SHIM_LOCK => Some("SHIM_LOCK"),
            Guid::EFI_CERT_X509 => Some("EFI_CERT_X509"),
            Guid::EFI_CERT_SHA256 => Some("EFI_CERT_SHA256"),
            _ => None,
        }
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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

    /// The on-disk bytes of EFI_GLOBAL_VARIABLE as they appear in every UEFI log (e.g. go-tpm-tools
    /// debian-10.bin, event 3), printed the way tpm2_eventlog prints them.
    #[test]
    fn guid_text() {
        let g = Guid([
            0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03,
            0x2b, 0x8c,
        ]);
        assert_eq!(g, Guid::EFI_GLOBAL_VARIABLE);
        assert_eq!(g.to_string(), "8be4df61-93ca-11d2-aa0d-00e098032b8c");
    }
}
