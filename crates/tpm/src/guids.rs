//! The EFI GUIDs measured boot names: vendor GUIDs of the Secure Boot variables and the signature types of an
//! `EFI_SIGNATURE_LIST`, shared by the event log decoder and the PCR 7 prediction.
//!
//! The type is [`yardstick_common::guid::Guid`]; event logs and variable stores hold it in EFI byte order.

use yardstick_common::guid::Guid;

/// `EFI_GLOBAL_VARIABLE` `8be4df61-93ca-11d2-aa0d-00e098032b8c`: SecureBoot, PK, KEK, Boot####, BootOrder.
pub const EFI_GLOBAL_VARIABLE: Guid = Guid::from_fields(
    0x8be4df61,
    0x93ca,
    0x11d2,
    [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
);
/// `EFI_IMAGE_SECURITY_DATABASE_GUID` `d719b2cb-3d3a-4596-a3bc-dad00e67656f`: db, dbx, dbt, dbr.
pub const EFI_IMAGE_SECURITY_DATABASE: Guid = Guid::from_fields(
    0xd719b2cb,
    0x3d3a,
    0x4596,
    [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);
/// shim's `SHIM_LOCK_GUID` `605dab50-e046-4300-abb6-3dd810dd8b23`: MokList, SbatLevel, the "Shim" authority.
pub const SHIM_LOCK: Guid = Guid::from_fields(
    0x605dab50,
    0xe046,
    0x4300,
    [0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23],
);
/// `EFI_CERT_X509_GUID` `a5c059a1-94e4-4aa7-87b5-ab155c2bf072` (an `EFI_SIGNATURE_LIST` of X.509
/// certificates).
pub const EFI_CERT_X509: Guid = Guid::from_fields(
    0xa5c059a1,
    0x94e4,
    0x4aa7,
    [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
);
/// `EFI_CERT_SHA256_GUID` `c1c41626-504c-4092-aca9-41f936934328` (an `EFI_SIGNATURE_LIST` of SHA-256
/// hashes).
pub const EFI_CERT_SHA256: Guid = Guid::from_fields(
    0xc1c41626,
    0x504c,
    0x4092,
    [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
);

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
