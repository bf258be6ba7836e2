//! RTMR0: what a TDVF (edk2 2024.11 to 2025.02, e.g. Debian 13's ovmf 2025.02) extends into it when QEMU boots
//! a kernel directly.
//!
//! In order, each an event of the CC event log (the shape checked against real CCELs, see the tests):
//!
//! 1. `EV_EFI_HANDOFF_TABLES2` "TdxTable": the TD HOB QEMU writes into the TD_HOB section ([`td_hob`]): a PHIT
//!    HOB and one resource descriptor per memory range: the TD_HOB and TEMP_MEM sections QEMU adds before
//!    launch as accepted system memory, everything else unaccepted; RAM above QEMU q35's low-memory split
//!    (all of it under 2.75 GiB, else 2 GiB) continues at 4 GiB.
//! 2. `EV_EFI_PLATFORM_FIRMWARE_BLOB2`: the CFV (the variable store as the firmware image holds it).
//! 3. `EV_EFI_VARIABLE_DRIVER_CONFIG` for SecureBoot, PK, KEK, db, dbx: empty in a firmware without enrolled
//!    keys (an `OVMF.fd` with its variable store inside is never enrolled).
//! 4. `EV_SEPARATOR` (the one for PCR 7, measured at the end of the Secure Boot policy).
//! 5. Three `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA": `etc/table-loader`, `etc/acpi/rsdp`, `etc/acpi/tables`
//!    ([`crate::acpi`]).
//! 6. `EV_EFI_VARIABLE_BOOT` BootOrder (`0000`) and Boot0000 (the UiApp entry OVMF registers), measured at
//!    ReadyToBoot, which OVMF signals right before it starts a `-kernel`; the variable store is fresh on every
//!    boot, so no disk or network entry exists yet.
//!
//! The separator OVMF measures at ReadyToBoot goes to RTMR1 in this firmware (edk2 efaf893); older TDVFs
//! put it at the end of RTMR0, which is not modelled. Newer edk2 (tianocore/edk2 pull request 6522, "Cache
//! and measure FwCfg") also measures fw_cfg items (bootorder, etc/boot-menu-wait, ...) into RTMR0 as "QEMU FW
//! CFG" events; Debian 13's 2025.02 build does not have it (its decompressed DXE volume holds "TdxTable" and
//! "ACPI DATA" but no "QEMU FW CFG"; Debian 12's holds neither), and it is not modelled.

use yardstick_common::guid::Guid;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::eventlog::EventType;

use crate::acpi::AcpiBlobs;
use crate::rtmr::Rtmr;
use crate::tdvf::{SectionType, TdvfMetadata};

/// The GUID OVMF's TD HOB event names (as in real CCELs: "TdxTable", 1 table).
pub const TD_HOB_TABLE_GUID: Guid = yardstick_common::guid!("93bb96af-b9f2-4eb8-9462-e0ba74564236");
/// `EFI_GLOBAL_VARIABLE`.
pub const EFI_GLOBAL_VARIABLE: Guid =
    yardstick_common::guid!("8be4df61-93ca-11d2-aa0d-00e098032b8c");
/// `EFI_IMAGE_SECURITY_DATABASE_GUID` (db, dbx).
pub const IMAGE_SECURITY_DATABASE: Guid =
    yardstick_common::guid!("d719b2cb-3d3a-4596-a3bc-dad00e67656f");
/// OVMF's DXE firmware volume (`FvNameGuid` of DXEFV in OvmfPkg's FDF files).
pub const OVMF_DXEFV: Guid = yardstick_common::guid!("7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1");
/// The UiApp file (`MdeModulePkg/Application/UiApp`).
pub const UI_APP: Guid = yardstick_common::guid!("462caa21-7614-4503-836e-8ab6f4662331");

/// QEMU q35: with at least this much RAM, the low part ends at 2 GiB (else all of it is below 4 GiB).
pub const Q35_LOWMEM_THRESHOLD: u64 = 0xb000_0000;
/// The low part's end with that much RAM.
pub const Q35_LOWMEM_SPLIT: u64 = 0x8000_0000;
/// Where the high part starts.
pub const FOUR_GIB: u64 = 0x1_0000_0000;

/// `EFI_RESOURCE_SYSTEM_MEMORY`.
const RESOURCE_SYSTEM_MEMORY: u32 = 0;
/// `EFI_RESOURCE_MEMORY_UNACCEPTED`.
const RESOURCE_MEMORY_UNACCEPTED: u32 = 7;
/// PRESENT | INITIALIZED | TESTED: what QEMU gives every range.
const RESOURCE_ATTRIBUTES: u32 = 0x7;

/// Why RTMR0 could not be predicted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rtmr0Error {
    /// The firmware's sections are not the ones the model knows.
    #[error("firmware: {0}")]
    Firmware(String),
    /// The memory size cannot hold the firmware's sections.
    #[error("--memory: {0}")]
    Memory(String),
}

/// One resource descriptor of the TD HOB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryRange {
    /// Guest-physical start.
    pub start: u64,
    /// Length in bytes.
    pub length: u64,
    /// Accepted before launch (system memory) or left for the guest to accept.
    pub accepted: bool,
}

/// The memory map QEMU describes in the TD HOB for `memory` bytes of RAM.
pub fn memory_map(meta: &TdvfMetadata, memory: u64) -> Result<Vec<MemoryRange>, Rtmr0Error> {
    for s in &meta.sections {
        match s.section_type {
            SectionType::Bfv | SectionType::Cfv | SectionType::TdHob | SectionType::TempMem => {}
            t => {
                return Err(Rtmr0Error::Firmware(format!(
                    "a {} section: the TD HOB QEMU builds for it is not modelled (OVMF's TDVF has BFV, CFV, \
                     TD_HOB and TEMP_MEM sections)",
                    t.name()
                )));
            }
        }
    }
    if meta.section(SectionType::TdHob).is_none() {
        return Err(Rtmr0Error::Firmware("no TD_HOB section".into()));
    }
    let mut accepted: Vec<(u64, u64)> = meta
        .sections
        .iter()
        .filter(|s| matches!(s.section_type, SectionType::TdHob | SectionType::TempMem))
        .map(|s| (s.gpa, s.gpa.saturating_add(s.memory_size)))
        .collect();
    accepted.sort_unstable();
    let low_end = if memory >= Q35_LOWMEM_THRESHOLD {
        Q35_LOWMEM_SPLIT
    } else {
        memory
    };
    let top = accepted.last().map_or(0, |&(_, e)| e);
    if top > low_end {
        return Err(Rtmr0Error::Memory(format!(
            "{} MiB of RAM does not reach the firmware's TD_HOB/TEMP_MEM sections (up to {top:#x})",
            memory >> 20
        )));
    }
    let mut map = Vec::with_capacity(accepted.len() * 2 + 2);
    let mut at = 0u64;
    for (start, end) in accepted {
        if start > at {
            map.push(MemoryRange {
                start: at,
                length: start - at,
                accepted: false,
            });
        }
        map.push(MemoryRange {
            start,
            length: end - start,
            accepted: true,
        });
        at = end;
    }
    if low_end > at {
        map.push(MemoryRange {
            start: at,
            length: low_end - at,
            accepted: false,
        });
    }
    if memory > low_end {
        map.push(MemoryRange {
            start: FOUR_GIB,
            length: memory - low_end,
            accepted: false,
        });
    }
    Ok(map)
}

/// The TD HOB's bytes as the firmware measures them (the HOB list up to, not including, its end HOB).
pub fn td_hob(meta: &TdvfMetadata, memory: u64) -> Result<Vec<u8>, Rtmr0Error> {
    let map = memory_map(meta, memory)?;
    let base = meta.section(SectionType::TdHob).map_or(0, |s| s.gpa);
    let len = 56 + 48 * map.len() as u64;
    let mut h = Vec::with_capacity(len as usize);
    // PHIT: type 1, length 56, version 9, boot mode 0, the four memory fields 0, the end of the list (the
    // 8-byte end HOB follows the descriptors).
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&56u16.to_le_bytes());
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(&9u32.to_le_bytes());
    h.extend_from_slice(&[0; 4 + 32]);
    h.extend_from_slice(&base.saturating_add(len + 8).to_le_bytes());
    for r in &map {
        // Resource descriptor: type 3, length 48, owner GUID 0, type, attributes, start, length.
        h.extend_from_slice(&3u16.to_le_bytes());
        h.extend_from_slice(&48u16.to_le_bytes());
        h.extend_from_slice(&[0; 4 + 16]);
        let kind = if r.accepted {
            RESOURCE_SYSTEM_MEMORY
        } else {
            RESOURCE_MEMORY_UNACCEPTED
        };
        h.extend_from_slice(&kind.to_le_bytes());
        h.extend_from_slice(&RESOURCE_ATTRIBUTES.to_le_bytes());
        h.extend_from_slice(&r.start.to_le_bytes());
        h.extend_from_slice(&r.length.to_le_bytes());
    }
    Ok(h)
}

/// `UEFI_VARIABLE_DATA`: GUID, name length in characters, data length, UTF-16LE name (no NUL), data.
pub fn variable_data(guid: &Guid, name: &str, data: &[u8]) -> Vec<u8> {
    let name16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut v = Vec::with_capacity(32 + name16.len() + data.len());
    v.extend_from_slice(&guid.to_efi_bytes());
    v.extend_from_slice(&(name.encode_utf16().count() as u64).to_le_bytes());
    v.extend_from_slice(&(data.len() as u64).to_le_bytes());
    v.extend_from_slice(&name16);
    v.extend_from_slice(data);
    v
}

/// The Boot0000 load option OVMF registers for UiApp: active, hidden from the boot menu
/// (`LOAD_OPTION_ACTIVE | LOAD_OPTION_CATEGORY_APP`), "UiApp", `Fv(DXEFV)/FvFile(UiApp)`.
pub fn ui_app_load_option() -> Vec<u8> {
    let mut path = Vec::with_capacity(44);
    for (subtype, guid) in [(7u8, OVMF_DXEFV), (6u8, UI_APP)] {
        path.extend_from_slice(&[4, subtype, 20, 0]);
        path.extend_from_slice(&guid.to_efi_bytes());
    }
    path.extend_from_slice(&[0x7f, 0xff, 4, 0]);
    let mut o = Vec::with_capacity(62);
    o.extend_from_slice(&0x109u32.to_le_bytes());
    o.extend_from_slice(&(path.len() as u16).to_le_bytes());
    o.extend("UiApp\0".encode_utf16().flat_map(u16::to_le_bytes));
    o.extend_from_slice(&path);
    o
}

/// Predicts RTMR0 for a direct boot of `image` (whose metadata is `meta`) with `memory` bytes of RAM and the
/// ACPI blobs QEMU gives the firmware.
pub fn predict(
    image: &[u8],
    meta: &TdvfMetadata,
    memory: u64,
    acpi: &AcpiBlobs,
) -> Result<Rtmr, Rtmr0Error> {
    let sha = |b: &[u8]| Algorithm::Sha384.digest(b);
    let mut r = Rtmr::new(0);

    let hob = td_hob(meta, memory)?;
    let hob_gpa = meta.section(SectionType::TdHob).map_or(0, |s| s.gpa);
    let mut data = Vec::with_capacity(42);
    data.push(9);
    data.extend_from_slice(b"TdxTable\0");
    data.extend_from_slice(&1u64.to_le_bytes());
    data.extend_from_slice(&TD_HOB_TABLE_GUID.to_efi_bytes());
    data.extend_from_slice(&hob_gpa.to_le_bytes());
    let ranges = (hob.len() - 56) / 48;
    r.extend(
        EventType::EV_EFI_HANDOFF_TABLES2,
        sha(&hob),
        format!(
            "TD HOB at {hob_gpa:#x}: {} bytes, {ranges} memory range(s) for {} MiB",
            hob.len(),
            memory >> 20
        ),
        Some(&data),
    );

    let cfv = meta
        .section(SectionType::Cfv)
        .ok_or_else(|| Rtmr0Error::Firmware("no CFV section".into()))?;
    let start = cfv.data_offset as usize;
    let bytes = image
        .get(start..start.saturating_add(cfv.raw_size as usize))
        .ok_or_else(|| Rtmr0Error::Firmware("the CFV section runs past the image".into()))?;
    let desc = "Fv(XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)";
    let mut data = Vec::with_capacity(58);
    data.push(desc.len() as u8 + 1);
    data.extend_from_slice(desc.as_bytes());
    data.push(0);
    data.extend_from_slice(&cfv.gpa.to_le_bytes());
    data.extend_from_slice(&u64::from(cfv.raw_size).to_le_bytes());
    r.extend(
        EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB2,
        sha(bytes),
        format!(
            "CFV (variable store) at {:#x}, {:#x} bytes",
            cfv.gpa, cfv.raw_size
        ),
        Some(&data),
    );

    for (guid, name) in [
        (EFI_GLOBAL_VARIABLE, "SecureBoot"),
        (EFI_GLOBAL_VARIABLE, "PK"),
        (EFI_GLOBAL_VARIABLE, "KEK"),
        (IMAGE_SECURITY_DATABASE, "db"),
        (IMAGE_SECURITY_DATABASE, "dbx"),
    ] {
        let v = variable_data(&guid, name, &[]);
        r.extend(
            EventType::EV_EFI_VARIABLE_DRIVER_CONFIG,
            sha(&v),
            format!("{name} (empty)"),
            Some(&v),
        );
    }
    r.separator();

    for (what, blob, derived) in [
        ("etc/table-loader", &acpi.loader, acpi.loader_derived),
        ("etc/acpi/rsdp", &acpi.rsdp, acpi.rsdp_derived),
        ("etc/acpi/tables", &acpi.tables, false),
    ] {
        r.extend(
            EventType::EV_PLATFORM_CONFIG_FLAGS,
            sha(blob),
            format!(
                "\"ACPI DATA\": {what}, {} bytes{}",
                blob.len(),
                if derived {
                    " (derived from the tables)"
                } else {
                    ""
                }
            ),
            Some(b"ACPI DATA"),
        );
    }

    // Boot variables: the digest covers the variable's data only, the event data is UEFI_VARIABLE_DATA.
    let order = [0u8, 0];
    r.extend(
        EventType::EV_EFI_VARIABLE_BOOT,
        sha(&order),
        "BootOrder = 0000".into(),
        Some(&variable_data(&EFI_GLOBAL_VARIABLE, "BootOrder", &order)),
    );
    let option = ui_app_load_option();
    r.extend(
        EventType::EV_EFI_VARIABLE_BOOT,
        sha(&option),
        format!("Boot0000 = \"UiApp\" Fv({OVMF_DXEFV})/FvFile({UI_APP})"),
        Some(&variable_data(&EFI_GLOBAL_VARIABLE, "Boot0000", &option)),
    );
    Ok(r)
}

/// What is known of a firmware build's RTMR0 events, by the SHA-256 of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmwareModel {
    /// A build the model was checked against (named).
    Checked(&'static str),
    /// A build that extends no RTMR in a TD (named, with why).
    NoRtmrs(&'static str),
    /// Not a build the model was checked against: the event layout is assumed.
    Unknown,
}

/// Firmware builds known by SHA-256.
const KNOWN_FIRMWARE: [(&str, FirmwareModel); 2] = [
    (
        "14954040cc754ade0c625ac3470ea46d4c14318b5b1396de4ef77090203d76db",
        FirmwareModel::Checked("Debian 13's ovmf 2025.02-8+deb13u1 OVMF.fd"),
    ),
    (
        "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773",
        FirmwareModel::NoRtmrs(
            "Debian 12's ovmf 2022.11-6+deb12u2 OVMF.fd has no TdTcg2Dxe: in a TD it extends no RTMR and \
             writes no CC event log, so RTMR0 is not modelled for it",
        ),
    ),
];

/// What is known of `image`'s RTMR0 events.
pub fn firmware_model(image: &[u8]) -> FirmwareModel {
    let digest = Algorithm::Sha256.digest(image).to_hex();
    KNOWN_FIRMWARE
        .iter()
        .find(|(d, _)| *d == digest)
        .map_or(FirmwareModel::Unknown, |(_, m)| *m)
}
