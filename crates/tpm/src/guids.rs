//! The EFI GUIDs measured boot names: vendor GUIDs of the Secure Boot variables and the signature types of an
//! `EFI_SIGNATURE_LIST`, shared by the event log decoder and the PCR 7 prediction.
//!
//! The type is [`yardstick_common::guid::Guid`]; event logs and variable stores hold it in EFI byte order.

use yardstick_common::guid;
use yardstick_common::guid::Guid;

/// `EFI_GLOBAL_VARIABLE` `8be4df61-93ca-11d2-aa0d-00e098032b8c`: SecureBoot, PK, KEK, Boot####, BootOrder.
pub const EFI_GLOBAL_VARIABLE: Guid = guid!("8be4df61-93ca-11d2-aa0d-00e098032b8c");
/// `EFI_IMAGE_SECURITY_DATABASE_GUID` `d719b2cb-3d3a-4596-a3bc-dad00e67656f`: db, dbx, dbt, dbr.
pub const EFI_IMAGE_SECURITY_DATABASE: Guid = guid!("d719b2cb-3d3a-4596-a3bc-dad00e67656f");
/// shim's `SHIM_LOCK_GUID` `605dab50-e046-4300-abb6-3dd810dd8b23`: MokList, SbatLevel, the "Shim" authority.
pub const SHIM_LOCK: Guid = guid!("605dab50-e046-4300-abb6-3dd810dd8b23");
/// `EFI_CERT_X509_GUID` `a5c059a1-94e4-4aa7-87b5-ab155c2bf072` (an `EFI_SIGNATURE_LIST` of X.509
/// certificates).
pub const EFI_CERT_X509: Guid = guid!("a5c059a1-94e4-4aa7-87b5-ab155c2bf072");
/// `EFI_CERT_SHA256_GUID` `c1c41626-504c-4092-aca9-41f936934328` (an `EFI_SIGNATURE_LIST` of SHA-256
/// hashes).
pub const EFI_CERT_SHA256: Guid = guid!("c1c41626-504c-4092-aca9-41f936934328");

/// `EFI_SECURE_BOOT_ENABLE_DISABLE` `f0a30bc7-af08-4556-99c4-001009c93a44`: OVMF's SecureBootEnable.
pub const EFI_SECURE_BOOT_ENABLE_DISABLE: Guid = guid!("f0a30bc7-af08-4556-99c4-001009c93a44");

/// A short name for GUIDs that event logs commonly carry.
pub fn well_known_name(guid: &Guid) -> Option<&'static str> {
    match *guid {
        EFI_GLOBAL_VARIABLE => Some("EFI_GLOBAL_VARIABLE"),
        EFI_IMAGE_SECURITY_DATABASE => Some("EFI_IMAGE_SECURITY_DATABASE"),
        SHIM_LOCK => Some("SHIM_LOCK"),
        EFI_CERT_X509 => Some("EFI_CERT_X509"),
        EFI_CERT_SHA256 => Some("EFI_CERT_SHA256"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The on-disk bytes of EFI_GLOBAL_VARIABLE as they appear in every UEFI log (e.g. go-tpm-tools
    /// debian-10.bin, event 3), printed the way tpm2_eventlog prints them.
    #[test]
    fn global_variable_on_disk() {
        let g = Guid::from_efi_bytes([
            0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03,
            0x2b, 0x8c,
        ]);
        assert_eq!(g, EFI_GLOBAL_VARIABLE);
        assert_eq!(g.to_string(), "8be4df61-93ca-11d2-aa0d-00e098032b8c");
        assert_eq!(well_known_name(&g), Some("EFI_GLOBAL_VARIABLE"));
        assert_eq!(well_known_name(&Guid::NIL), None);
    }
}
