//! Decoding of event data into what it means, per event type (TCG PC Client PFP 1.06 §10.2-10.4, UEFI 2.10).
//!
//! Decoding never fails: event data is whatever the firmware wrote, and a record the decoder does not
//! understand is still a valid event (its digest is what the TPM saw). Such data decodes to
//! [`EventData::Binary`] and callers show its hex.

use std::fmt::Write as _;

use super::reader::Reader;
use super::types::{EventType, Guid};
use super::{SpecIdEvent, devpath, utf16_to_string};
use crate::guids;

/// Longest text kept in a one-line description; the full text stays in [`EventData`].
const DESCRIPTION_TEXT_MAX: usize = 160;

/// What an event's data says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventData {
    /// The crypto-agile log header, `TCG_EfiSpecIDEvent` "Spec ID Event03" (PFP §10.4.5.1).
    SpecId(SpecIdEvent),
    /// `EV_NO_ACTION` "StartupLocality": the locality TPM2_Startup ran from, which is PCR0's initial value
    /// (PFP §10.4.5.3). 3 on GCE; 4 after an H-CRTM sequence.
    StartupLocality {
        /// The locality byte.
        locality: u8,
    },
    /// `EV_NO_ACTION` "SP800-155 Event" / "SP800-155 Event3": platform and reference-manifest identity
    /// (PFP §10.4.5.2 / §9.4.5.4 of PFP 1.06).
    Sp800155(Sp800155Event),
    /// Another `EV_NO_ACTION` event with a text signature ("NvIndexInstance", "Spec ID Event02", ...).
    NoAction {
        /// The NUL-terminated signature at the start of the data.
        signature: String,
    },
    /// `EV_SEPARATOR`: 0 normally, 0xFFFFFFFF when the firmware signals an error (PFP §10.4.4).
    Separator {
        /// The 32-bit value.
        value: u32,
    },
    /// ASCII or UTF-16 text: `EV_EFI_ACTION`, `EV_ACTION`, `EV_IPL` (grub commands, systemd-stub section
    /// names), `EV_S_CRTM_VERSION`, `EV_POST_CODE` strings, ...
    Text {
        /// The text, without trailing NULs.
        text: String,
    },
    /// `UEFI_VARIABLE_DATA` (PFP §10.3.3): `EV_EFI_VARIABLE_DRIVER_CONFIG`, `_BOOT`, `_BOOT2`, `_AUTHORITY`.
    Variable(VariableData),
    /// `UEFI_IMAGE_LOAD_EVENT` (PFP §10.3.2): a PE image that was loaded, with its device path.
    ImageLoad(ImageLoadEvent),
    /// `UEFI_PLATFORM_FIRMWARE_BLOB` (PFP §10.3.4): a firmware volume measured by address.
    FirmwareBlob {
        /// Physical base address.
        base: u64,
        /// Length in bytes.
        length: u64,
    },
    /// `UEFI_PLATFORM_FIRMWARE_BLOB2` (PFP §10.3.4): the same, with a description (`Fv(<guid>)`, `POST CODE`).
    FirmwareBlob2 {
        /// The blob's description.
        description: String,
        /// Physical base address.
        base: u64,
        /// Length in bytes.
        length: u64,
    },
    /// `UEFI_HANDOFF_TABLE_POINTERS` / `...2` (PFP §10.3.5): configuration tables handed to the OS.
    HandoffTables {
        /// The description (`EV_EFI_HANDOFF_TABLES2` only).
        description: Option<String>,
        /// Vendor GUIDs of the tables.
        tables: Vec<Guid>,
    },
    /// `UEFI_GPT_DATA` (PFP §10.3.6): the boot disk's GPT header and used partition entries.
    Gpt(GptEvent),
    /// `TCG_PCClientTaggedEvent` (PFP §10.4.2): Linux's initrd and LoadOptions events, systemd's loader
    /// config and add-ons.
    Tagged {
        /// The tag id.
        tag: u32,
        /// The tag's meaning, for tags Linux and systemd define.
        tag_name: Option<&'static str>,
        /// The tagged data as text, when it is text.
        text: Option<String>,
        /// Size of the tagged data.
        size: usize,
    },
    /// A bare GUID (edk2 logs `EV_S_CRTM_VERSION` as the firmware's version GUID when it has no string).
    Guid {
        /// The GUID.
        guid: Guid,
    },
    /// GCE's `EV_NONHOST_INFO`: "GCE NonHostInfo" and the confidential-computing technology
    /// (go-tpm-tools `GCEConfidentialTechnology`: 0 none, 1 AMD SEV, 2 AMD SEV-ES, 3 Intel TDX, 4 AMD SEV-SNP).
    GceNonHostInfo {
        /// The technology byte.
        confidential_technology: u8,
    },
    /// Nothing decoded: see the raw data.
    Binary,
}

/// `TCG_Sp800_155_PlatformId_Event2`/`3`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sp800155Event {
    /// "SP800-155 Event" or "SP800-155 Event3".
    pub signature: String,
    /// IANA private enterprise number of the platform manufacturer.
    pub platform_manufacturer_id: u32,
    /// The reference manifest's GUID.
    pub reference_manifest_guid: Guid,
    /// Platform manufacturer name.
    pub platform_manufacturer: String,
    /// Platform model.
    pub platform_model: String,
    /// Platform version.
    pub platform_version: String,
    /// Firmware manufacturer name.
    pub firmware_manufacturer: String,
    /// IANA private enterprise number of the firmware manufacturer.
    pub firmware_manufacturer_id: u32,
    /// Firmware version.
    pub firmware_version: String,
    /// Where the reference integrity manifest is ("Event3" only).
    pub rim_locator: Option<String>,
    /// Where the platform certificate is ("Event3" only).
    pub platform_cert_locator: Option<String>,
}

/// A decoded `UEFI_VARIABLE_DATA`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VariableData {
    /// Vendor GUID of the variable.
    pub guid: Guid,
    /// Variable name.
    pub name: String,
    /// Length of the variable's data.
    pub data_len: usize,
    /// What the data says.
    pub value: VariableValue,
}

/// The contents of a UEFI variable, for the variables boot logs carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VariableValue {
    /// Empty data.
    Empty,
    /// One byte: SecureBoot, SetupMode, AuditMode, DeployedMode.
    Byte {
        /// The byte.
        value: u8,
    },
    /// BootOrder: Boot#### numbers.
    BootOrder {
        /// The order.
        order: Vec<u16>,
    },
    /// An `EFI_LOAD_OPTION` (Boot####).
    LoadOption {
        /// Attributes (bit 0: active).
        attributes: u32,
        /// The option's description.
        description: String,
        /// Its device path as text.
        device_path: String,
    },
    /// `EFI_SIGNATURE_LIST`s: PK, KEK, db, dbx, MokList.
    SignatureLists {
        /// Subjects (CN) of the X.509 certificates.
        certificates: Vec<String>,
        /// Number of SHA-256 hashes.
        sha256_hashes: usize,
        /// Other entries (other signature types).
        other_entries: usize,
    },
    /// One certificate (an `EV_EFI_VARIABLE_AUTHORITY` record): the db entry or shim key that verified an image.
    Certificate {
        /// Subject CN (or O) of the certificate, if the DER could be read.
        subject: Option<String>,
        /// Owner GUID, when the data is an `EFI_SIGNATURE_DATA`.
        owner: Option<Guid>,
    },
    /// Text (e.g. shim's SbatLevel).
    Text {
        /// The text.
        text: String,
    },
    /// Not decoded.
    Other,
}

/// A decoded `UEFI_IMAGE_LOAD_EVENT`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageLoadEvent {
    /// Where the image was loaded.
    pub location: u64,
    /// Its length in memory.
    pub length: u64,
    /// Its link-time address.
    pub link_time_address: u64,
    /// The device path as text (empty if the firmware logged none).
    pub device_path: String,
}

/// A decoded `UEFI_GPT_DATA`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GptEvent {
    /// The disk's GUID.
    pub disk_guid: Guid,
    /// The used partition entries.
    pub partitions: Vec<GptPartition>,
}

/// One GPT partition entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GptPartition {
    /// Partition type GUID.
    pub type_guid: Guid,
    /// Unique partition GUID.
    pub unique_guid: Guid,
    /// First LBA.
    pub first_lba: u64,
    /// Last LBA (inclusive).
    pub last_lba: u64,
    /// Partition name.
    pub name: String,
}

/// Decodes event data by event type.
pub fn decode(ty: EventType, data: &[u8]) -> EventData {
    decode_typed(ty, data).unwrap_or(EventData::Binary)
}

fn decode_typed(ty: EventType, data: &[u8]) -> Option<EventData> {
    Some(match ty {
        EventType::EV_NO_ACTION => no_action(data)?,
        EventType::EV_SEPARATOR if data.len() == 4 => EventData::Separator {
            value: u32::from_le_bytes(data.try_into().ok()?),
        },
        EventType::EV_EFI_VARIABLE_DRIVER_CONFIG
        | EventType::EV_EFI_VARIABLE_BOOT
        | EventType::EV_EFI_VARIABLE_BOOT2
        | EventType::EV_EFI_VARIABLE_AUTHORITY => EventData::Variable(variable(ty, data)?),
        EventType::EV_EFI_BOOT_SERVICES_APPLICATION
        | EventType::EV_EFI_BOOT_SERVICES_DRIVER
        | EventType::EV_EFI_RUNTIME_SERVICES_DRIVER => EventData::ImageLoad(image_load(data)?),
        EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB => blob(data)?,
        // PFP: EV_POST_CODE data is either a string or a UEFI_PLATFORM_FIRMWARE_BLOB.
        EventType::EV_POST_CODE if data.len() == 16 && text(data).is_none() => blob(data)?,
        EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB2 | EventType::EV_POST_CODE2 => {
            blob2(data).or_else(|| text(data).map(|t| EventData::Text { text: t }))?
        }
        EventType::EV_EFI_HANDOFF_TABLES => handoff(data, false)?,
        EventType::EV_EFI_HANDOFF_TABLES2 => handoff(data, true)?,
        EventType::EV_EFI_GPT_EVENT | EventType::EV_EFI_GPT_EVENT2 => EventData::Gpt(gpt(data)?),
        EventType::EV_EVENT_TAG => tagged(data)?,
        EventType::EV_NONHOST_INFO if data.starts_with(b"GCE NonHostInfo\0") => {
            EventData::GceNonHostInfo {
                confidential_technology: *data.get(16)?,
            }
        }
        EventType::EV_S_CRTM_VERSION if data.len() == 16 && text(data).is_none() => {
            EventData::Guid {
                guid: Guid::from_efi_bytes(data.try_into().ok()?),
            }
        }
        _ => EventData::Text { text: text(data)? },
    })
}

fn no_action(data: &[u8]) -> Option<EventData> {
    if data.starts_with(super::SPEC_ID_03) {
        return super::parse_spec_id(data).ok().map(EventData::SpecId);
    }
    // "StartupLocality\0" followed by one byte (PFP §10.4.5.3, TCG_EfiStartupLocalityEvent).
    if data.len() == 17 && data.starts_with(b"StartupLocality\0") {
        return Some(EventData::StartupLocality {
            locality: *data.get(16)?,
        });
    }
    if data.starts_with(b"SP800-155 Event")
        && let Some(e) = sp800155(data)
    {
        return Some(EventData::Sp800155(e));
    }
    let sig = data.get(..data.len().min(16))?;
    let sig = sig.split(|b| *b == 0).next()?;
    if !sig.is_empty() && sig.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Some(EventData::NoAction {
            signature: String::from_utf8_lossy(sig).into_owned(),
        });
    }
    None
}

/// A `UINT8 size; BYTE[size]` string.
fn sized_str(r: &mut Reader<'_>) -> Option<String> {
    let n = r.u8().ok()?;
    let s = r.take(u64::from(n)).ok()?;
    Some(nul_trimmed_lossy(s))
}

fn nul_trimmed_lossy(s: &[u8]) -> String {
    let s = s.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(s).into_owned()
}

fn sp800155(data: &[u8]) -> Option<Sp800155Event> {
    let mut r = Reader::new(data);
    let sig = r.take(16).ok()?;
    let event3 = sig == b"SP800-155 Event3";
    let mut e = Sp800155Event {
        signature: nul_trimmed_lossy(sig),
        platform_manufacturer_id: r.u32().ok()?,
        reference_manifest_guid: Guid::from_efi_bytes(r.array().ok()?),
        platform_manufacturer: sized_str(&mut r)?,
        platform_model: sized_str(&mut r)?,
        platform_version: sized_str(&mut r)?,
        firmware_manufacturer: sized_str(&mut r)?,
        firmware_manufacturer_id: r.u32().ok()?,
        firmware_version: sized_str(&mut r)?,
        rim_locator: None,
        platform_cert_locator: None,
    };
    if event3 {
        e.rim_locator = locator(&mut r);
        e.platform_cert_locator = locator(&mut r);
    }
    Some(e)
}

/// A `UINT32 type; UINT32 size; BYTE[size]` locator (PFP 1.06 §9.4.5.4): 0 raw, 1 URI, 2 device path,
/// 3 UEFI variable (GUID + UTF-16 name).
fn locator(r: &mut Reader<'_>) -> Option<String> {
    let ty = r.u32().ok()?;
    let size = r.u32().ok()?;
    let body = r.take(u64::from(size)).ok()?;
    Some(match ty {
        _ if body.is_empty() => return None,
        1 => format!("uri {}", nul_trimmed_lossy(body)),
        2 => format!("device path {}", devpath::to_text(body)),
        3 => {
            let guid = Guid::read_efi(body, 0)?;
            let name = utf16_to_string(body.get(16..)?).unwrap_or_default();
            format!("UEFI variable {guid}:{name}")
        }
        _ => format!("raw ({} bytes)", body.len()),
    })
}

fn variable(ty: EventType, data: &[u8]) -> Option<VariableData> {
    let mut r = Reader::new(data);
    let guid = Guid::from_efi_bytes(r.array().ok()?);
    let name_chars = r.u64().ok()?;
    let data_len = r.u64().ok()?;
    let name = r.take(name_chars.checked_mul(2)?).ok()?;
    let name = utf16_to_string(name)?;
    // Some firmware logs fewer bytes than VariableDataLength says; decode what is there.
    let value_bytes = r.rest();
    let value_bytes = value_bytes
        .get(..usize::try_from(data_len).ok()?.min(value_bytes.len()))
        .unwrap_or_default();
    let value = variable_value(ty, &guid, &name, value_bytes);
    Some(VariableData {
        guid,
        name,
        data_len: value_bytes.len(),
        value,
    })
}

fn variable_value(ty: EventType, guid: &Guid, name: &str, v: &[u8]) -> VariableValue {
    if v.is_empty() {
        return VariableValue::Empty;
    }
    if ty == EventType::EV_EFI_VARIABLE_AUTHORITY {
        return authority(v);
    }
    let boot_entry = name.len() == 8
        && name.starts_with("Boot")
        && name[4..].bytes().all(|b| b.is_ascii_hexdigit());
    let sig_db = matches!(
        name,
        "PK" | "KEK" | "db" | "dbx" | "dbt" | "dbr" | "MokList" | "MokListX" | "MokListTrusted"
    );
    match name {
        "SecureBoot" | "SetupMode" | "AuditMode" | "DeployedMode" if v.len() == 1 => {
            VariableValue::Byte {
                value: v.first().copied().unwrap_or_default(),
            }
        }
        "BootOrder" if v.len().is_multiple_of(2) => VariableValue::BootOrder {
            order: v
                .as_chunks::<2>()
                .0
                .iter()
                .map(|&c| u16::from_le_bytes(c))
                .collect(),
        },
        _ if boot_entry => load_option(v).unwrap_or(VariableValue::Other),
        _ if sig_db || *guid == guids::EFI_IMAGE_SECURITY_DATABASE => {
            signature_lists(v).unwrap_or(VariableValue::Other)
        }
        _ => match text(v) {
            Some(t) => VariableValue::Text { text: t },
            None => VariableValue::Other,
        },
    }
}

fn authority(v: &[u8]) -> VariableValue {
    // edk2 logs the db entry that matched: an EFI_SIGNATURE_DATA (owner GUID, then the DER certificate).
    // shim logs its own key ("Shim") or MokList entries as bare DER, and SbatLevel as text. A certificate is
    // a DER SEQUENCE longer than 255 bytes: 0x30 0x82.
    const DER_SEQ: [u8; 2] = [0x30, 0x82];
    if v.starts_with(&DER_SEQ) {
        return VariableValue::Certificate {
            subject: x509_subject(v),
            owner: None,
        };
    }
    if v.get(16..).is_some_and(|c| c.starts_with(&DER_SEQ)) {
        let owner = Guid::read_efi(v, 0);
        return VariableValue::Certificate {
            subject: v.get(16..).and_then(x509_subject),
            owner,
        };
    }
    match text(v) {
        Some(t) => VariableValue::Text { text: t },
        None => VariableValue::Other,
    }
}

fn load_option(v: &[u8]) -> Option<VariableValue> {
    let mut r = Reader::new(v);
    let attributes = r.u32().ok()?;
    let path_len = r.u16().ok()?;
    // Description: NUL-terminated UTF-16.
    let rest = r.rest();
    let mut units = Vec::new();
    let mut used = 0usize;
    for &c in rest.as_chunks::<2>().0 {
        used += 2;
        let u = u16::from_le_bytes(c);
        if u == 0 {
            break;
        }
        units.push(u);
    }
    let description = String::from_utf16_lossy(&units);
    r.take(used as u64).ok()?;
    let path = r.take(u64::from(path_len)).ok()?;
    Some(VariableValue::LoadOption {
        attributes,
        description,
        device_path: devpath::to_text(path),
    })
}

fn signature_lists(v: &[u8]) -> Option<VariableValue> {
    let mut r = Reader::new(v);
    let mut certificates = Vec::new();
    let mut sha256_hashes = 0usize;
    let mut other_entries = 0usize;
    while !r.is_empty() {
        // EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1).
        let sig_type = Guid::from_efi_bytes(r.array().ok()?);
        let list_size = r.u32().ok()?;
        let header_size = r.u32().ok()?;
        let sig_size = r.u32().ok()?;
        let body_len = u64::from(list_size).checked_sub(28)?;
        let body = r.take(body_len).ok()?;
        let entries = body.get(usize::try_from(header_size).ok()?..)?;
        if sig_size < 16 {
            return None;
        }
        for entry in entries.chunks(usize::try_from(sig_size).ok()?) {
            match sig_type {
                guids::EFI_CERT_X509 => certificates.push(
                    entry
                        .get(16..)
                        .and_then(x509_subject)
                        .unwrap_or_else(|| "?".into()),
                ),
                guids::EFI_CERT_SHA256 => sha256_hashes += 1,
                _ => other_entries += 1,
            }
        }
    }
    Some(VariableValue::SignatureLists {
        certificates,
        sha256_hashes,
        other_entries,
    })
}

/// One DER TLV: (tag, contents, rest).
fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, hdr) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, b.get(hdr..end)?, b.get(end..)?))
}

/// The subject's commonName (or organizationName) of a DER X.509 certificate, by walking
/// Certificate → TBSCertificate → [version] serial signature issuer validity subject (RFC 5280 §4.1).
fn x509_subject(der: &[u8]) -> Option<String> {
    let (_, cert, _) = der_tlv(der)?;
    let (_, tbs, _) = der_tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = der_tlv(rest)?;
    if tag == 0xa0 {
        rest = r;
    }
    // serial, signature, issuer, validity
    for _ in 0..4 {
        rest = der_tlv(rest)?.2;
    }
    let (_, subject, _) = der_tlv(rest)?;
    let mut cn = None;
    let mut org = None;
    let mut rdns = subject;
    while let Some((_, set, next)) = der_tlv(rdns) {
        rdns = next;
        let mut atvs = set;
        while let Some((_, atv, next)) = der_tlv(atvs) {
            atvs = next;
            let (_, oid, val) = der_tlv(atv)?;
            let (vtag, value, _) = der_tlv(val)?;
            let text = match vtag {
                // BMPString: UTF-16BE.
                0x1e => {
                    let u: Vec<u16> = value
                        .as_chunks::<2>()
                        .0
                        .iter()
                        .map(|&c| u16::from_be_bytes(c))
                        .collect();
                    String::from_utf16_lossy(&u)
                }
                _ => String::from_utf8_lossy(value).into_owned(),
            };
            match oid {
                [0x55, 0x04, 0x03] => cn = cn.or(Some(text)),
                [0x55, 0x04, 0x0a] => org = org.or(Some(text)),
                _ => {}
            }
        }
    }
    cn.or(org)
}

fn image_load(data: &[u8]) -> Option<ImageLoadEvent> {
    let mut r = Reader::new(data);
    let location = r.u64().ok()?;
    let length = r.u64().ok()?;
    let link_time_address = r.u64().ok()?;
    let path_len = r.u64().ok()?;
    // Some firmware (GCE's 2018 builds, go-tpm-tools debian-10.bin) logs LengthOfDevicePath 0 followed by a
    // few stray bytes: show the path that is declared, nothing more.
    let path = r.take(path_len).unwrap_or_else(|_| r.rest());
    Some(ImageLoadEvent {
        location,
        length,
        link_time_address,
        device_path: devpath::to_text(path),
    })
}

fn blob(data: &[u8]) -> Option<EventData> {
    let mut r = Reader::new(data);
    Some(EventData::FirmwareBlob {
        base: r.u64().ok()?,
        length: r.u64().ok()?,
    })
}

fn blob2(data: &[u8]) -> Option<EventData> {
    let mut r = Reader::new(data);
    let description = sized_str(&mut r)?;
    let base = r.u64().ok()?;
    let length = r.u64().ok()?;
    if !r.is_empty() {
        return None;
    }
    Some(EventData::FirmwareBlob2 {
        description,
        base,
        length,
    })
}

fn handoff(data: &[u8], with_description: bool) -> Option<EventData> {
    let mut r = Reader::new(data);
    let description = if with_description {
        Some(sized_str(&mut r)?)
    } else {
        None
    };
    let count = r.u64().ok()?;
    let mut tables = Vec::new();
    for _ in 0..count {
        tables.push(Guid::from_efi_bytes(r.array().ok()?));
        let _table_pointer = r.u64().ok()?;
    }
    Some(EventData::HandoffTables {
        description,
        tables,
    })
}

fn gpt(data: &[u8]) -> Option<GptEvent> {
    let mut r = Reader::new(data);
    // EFI_PARTITION_TABLE_HEADER (UEFI 2.10 §5.3.2), 92 bytes as logged.
    let header = r.take(92).ok()?;
    if header.get(..8)? != b"EFI PART" {
        return None;
    }
    let disk_guid = Guid::read_efi(header, 56)?;
    let entry_size = u32::from_le_bytes(header.get(84..88)?.try_into().ok()?);
    let count = r.u64().ok()?;
    if entry_size < 128 {
        return None;
    }
    let mut partitions = Vec::new();
    for _ in 0..count {
        let e = r.take(u64::from(entry_size)).ok()?;
        let g = |a: usize| Guid::read_efi(e, a);
        let n = |a: usize| -> Option<u64> {
            Some(u64::from_le_bytes(e.get(a..a + 8)?.try_into().ok()?))
        };
        partitions.push(GptPartition {
            type_guid: g(0)?,
            unique_guid: g(16)?,
            first_lba: n(32)?,
            last_lba: n(40)?,
            name: utf16_to_string(e.get(56..128)?).unwrap_or_default(),
        });
    }
    Some(GptEvent {
        disk_guid,
        partitions,
    })
}

fn tagged(data: &[u8]) -> Option<EventData> {
    let mut r = Reader::new(data);
    let tag = r.u32().ok()?;
    let size = r.u32().ok()?;
    let body = r.take(u64::from(size)).ok()?;
    // Tag ids: Linux drivers/firmware/efi/libstub/efistub.h; systemd src/fundamental/tpm2-pcr.h.
    let tag_name = match tag {
        0x8f3b_22ec => Some("Linux initrd"),
        0x8f3b_22ed => Some("LOADED_IMAGE::LoadOptions"),
        0xf5bc_582a => Some("systemd loader.conf"),
        0x6c46_f751 => Some("systemd devicetree addon"),
        0x49df_fe0f => Some("systemd initrd addon"),
        0xdac0_8e1a => Some("systemd ucode addon"),
        0x13ae_d6db => Some("systemd UKI profile"),
        _ => None,
    };
    Some(EventData::Tagged {
        tag,
        tag_name,
        text: text(body),
        size: body.len(),
    })
}

/// The data as text: UTF-16LE (what UEFI firmware and systemd write) or printable ASCII/UTF-8 (grub, the
/// EV_EFI_ACTION strings), without trailing NULs. `None` for binary data.
pub(crate) fn text(data: &[u8]) -> Option<String> {
    let printable = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\t' || c == '\r')
    };
    // UTF-16LE: the high byte of the first code unit is zero (ASCII-range first char). systemd-boot before
    // 251 logged the kernel command line with one stray NUL byte after the UTF-16 text (go-tpm-tools'
    // arch-linux-workstation.bin, event 24): an odd length ending in 0 is still UTF-16.
    let utf16 = match data.len() % 2 {
        1 if data.last() == Some(&0) => data.get(..data.len() - 1).unwrap_or_default(),
        _ => data,
    };
    if utf16.len() >= 4
        && utf16.len() % 2 == 0
        && utf16.get(1) == Some(&0)
        && utf16.first() != Some(&0)
    {
        let units: Vec<u16> = utf16
            .as_chunks::<2>()
            .0
            .iter()
            .map(|&c| u16::from_le_bytes(c))
            .collect();
        let end = units.iter().position(|u| *u == 0).unwrap_or(units.len());
        // Only trailing NULs are allowed after the text.
        if units.get(end..).is_some_and(|t| t.iter().all(|u| *u == 0))
            && let Ok(s) = String::from_utf16(units.get(..end)?)
            && printable(&s)
        {
            return Some(s);
        }
    }
    let end = data
        .iter()
        .rposition(|b| *b != 0)
        .map(|p| p + 1)
        .unwrap_or(0);
    let s = std::str::from_utf8(data.get(..end)?).ok()?;
    printable(s).then(|| s.to_string())
}

/// `"text"`, with only `"` escaped: Debug formatting would double every backslash of a UEFI path.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

fn shorten(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= DESCRIPTION_TEXT_MAX {
        one_line
    } else {
        let mut t: String = one_line.chars().take(DESCRIPTION_TEXT_MAX).collect();
        t.push('…');
        t
    }
}

impl EventData {
    /// A short, one-line description for people ("SecureBoot = 1", "\EFI\BOOT\BOOTX64.EFI", ...).
    // A table (one match arm per kind of event data): exempt from the ~100-line function rule.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        match self {
            EventData::SpecId(h) => {
                let algs: Vec<String> = h.algorithms.iter().map(|a| a.algorithm.name()).collect();
                let _ = write!(s, "Spec ID Event03: banks {}", algs.join(" "));
            }
            EventData::StartupLocality { locality } => {
                let _ = write!(s, "StartupLocality {locality} (PCR0 starts at {locality})");
            }
            EventData::Sp800155(e) => {
                let join = |parts: &[&str]| {
                    parts
                        .iter()
                        .filter(|p| !p.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let _ = write!(
                    s,
                    "{}: {}, firmware {}",
                    e.signature,
                    join(&[
                        &e.platform_manufacturer,
                        &e.platform_model,
                        &e.platform_version
                    ]),
                    join(&[&e.firmware_manufacturer, &e.firmware_version])
                );
                if let Some(l) = &e.rim_locator {
                    let _ = write!(s, ", RIM at {l}");
                }
            }
            EventData::NoAction { signature } => {
                s.push_str(&quote(signature));
            }
            EventData::Separator { value } => {
                let _ = write!(s, "separator {value:#010x}");
                if *value != 0 {
                    s.push_str(" (error)");
                }
            }
            EventData::Text { text } => {
                s.push_str(&quote(&shorten(text)));
            }
            EventData::Variable(v) => {
                let _ = write!(s, "{} ", v.name);
                match &v.value {
                    VariableValue::Empty => s.push_str("(empty)"),
                    VariableValue::Byte { value } => {
                        let _ = write!(s, "= {value}");
                    }
                    VariableValue::BootOrder { order } => {
                        let o: Vec<String> = order.iter().map(|n| format!("{n:04X}")).collect();
                        let _ = write!(s, "= {}", o.join(","));
                    }
                    VariableValue::LoadOption {
                        description,
                        device_path,
                        ..
                    } => {
                        let _ = write!(s, "= {} {}", quote(description), shorten(device_path));
                    }
                    VariableValue::SignatureLists {
                        certificates,
                        sha256_hashes,
                        other_entries,
                    } => {
                        let mut parts = Vec::new();
                        if !certificates.is_empty() {
                            parts.push(format!(
                                "{} cert(s): {}",
                                certificates.len(),
                                certificates.join("; ")
                            ));
                        }
                        if *sha256_hashes > 0 {
                            parts.push(format!("{sha256_hashes} SHA-256 hash(es)"));
                        }
                        if *other_entries > 0 {
                            parts.push(format!("{other_entries} other entr(ies)"));
                        }
                        if parts.is_empty() {
                            parts.push("no entries".into());
                        }
                        s.push_str(&shorten(&parts.join(", ")));
                    }
                    VariableValue::Certificate { subject, .. } => {
                        let _ = write!(
                            s,
                            "certificate {}",
                            quote(subject.as_deref().unwrap_or("(unreadable)"))
                        );
                    }
                    VariableValue::Text { text } => {
                        let _ = write!(s, "= {}", quote(&shorten(text)));
                    }
                    VariableValue::Other => {
                        let _ = write!(s, "({} bytes)", v.data_len);
                    }
                }
            }
            EventData::ImageLoad(i) => {
                if i.device_path.is_empty() {
                    let _ = write!(
                        s,
                        "image at {:#x}, {} bytes (no device path)",
                        i.location, i.length
                    );
                } else {
                    s.push_str(&shorten(&i.device_path));
                }
            }
            EventData::FirmwareBlob { base, length } => {
                let _ = write!(s, "firmware blob at {base:#x}, {length:#x} bytes");
            }
            EventData::FirmwareBlob2 {
                description,
                base,
                length,
            } => {
                let _ = write!(s, "{description} at {base:#x}, {length:#x} bytes");
            }
            EventData::HandoffTables {
                description,
                tables,
            } => {
                if let Some(d) = description {
                    let _ = write!(s, "{d}: ");
                }
                let t: Vec<String> = tables.iter().map(|g| g.to_string()).collect();
                let _ = write!(s, "{} table(s) {}", tables.len(), t.join(" "));
            }
            EventData::Gpt(g) => {
                let names: Vec<String> = g.partitions.iter().map(|p| quote(&p.name)).collect();
                let _ = write!(
                    s,
                    "GPT disk {}, {} partition(s) {}",
                    g.disk_guid,
                    g.partitions.len(),
                    shorten(&names.join(" "))
                );
            }
            EventData::Tagged {
                tag,
                tag_name,
                text,
                size,
            } => {
                let _ = write!(s, "tag {tag:#010x}");
                if let Some(n) = tag_name {
                    let _ = write!(s, " ({n})");
                }
                match text {
                    Some(t) => {
                        let _ = write!(s, " {}", quote(&shorten(t)));
                    }
                    None => {
                        let _ = write!(s, ", {size} bytes");
                    }
                }
            }
            EventData::Guid { guid } => {
                let _ = write!(s, "GUID {guid}");
            }
            EventData::GceNonHostInfo {
                confidential_technology: t,
            } => {
                let name = match t {
                    0 => "none",
                    1 => "AMD SEV",
                    2 => "AMD SEV-ES",
                    3 => "Intel TDX",
                    4 => "AMD SEV-SNP",
                    _ => "unknown",
                };
                let _ = write!(s, "GCE NonHostInfo: confidential computing {name} ({t})");
            }
            EventData::Binary => {}
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
    }

    #[test]
    fn texts() {
        assert_eq!(
            text(b"Calling EFI Application from Boot Option").as_deref(),
            Some("Calling EFI Application from Boot Option")
        );
        assert_eq!(text(&utf16(".linux\0")).as_deref(), Some(".linux"));
        assert_eq!(text(b"grub_cmd: ls\0").as_deref(), Some("grub_cmd: ls"));
        assert_eq!(text(&[0, 0, 0, 0]), None);
        assert_eq!(text(&[0x30, 0x82, 0x01]), None);
        assert_eq!(text(&[]), None);
    }

    /// UEFI_VARIABLE_DATA for SecureBoot = 1, as edk2's MeasureVariable builds it.
    #[test]
    fn secure_boot_variable() {
        let mut d = guids::EFI_GLOBAL_VARIABLE.to_efi_bytes().to_vec();
        d.extend(10u64.to_le_bytes());
        d.extend(1u64.to_le_bytes());
        d.extend(utf16("SecureBoot"));
        d.push(1);
        let e = decode(EventType::EV_EFI_VARIABLE_DRIVER_CONFIG, &d);
        assert_eq!(e.describe(), "SecureBoot = 1");
        // Truncated name: not decodable, but still an event.
        assert_eq!(
            decode(EventType::EV_EFI_VARIABLE_DRIVER_CONFIG, &d[..30]),
            EventData::Binary
        );
    }

    #[test]
    fn tagged_and_locality() {
        let mut d = 0x8f3b_22ecu32.to_le_bytes().to_vec();
        d.extend(13u32.to_le_bytes());
        d.extend(b"Linux initrd\0");
        assert_eq!(
            decode(EventType::EV_EVENT_TAG, &d).describe(),
            "tag 0x8f3b22ec (Linux initrd) \"Linux initrd\""
        );
        let mut l = b"StartupLocality\0".to_vec();
        l.push(3);
        assert_eq!(
            decode(EventType::EV_NO_ACTION, &l),
            EventData::StartupLocality { locality: 3 }
        );
    }

    /// Arbitrary bytes under every event type: decoding is total.
    #[test]
    fn never_panics_on_junk() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for t in (0..0x14)
            .chain(0x8000_0000..0x8000_0011)
            .chain(0x8000_00e0..0x8000_00e5)
        {
            for n in 0..80 {
                let _ = decode(EventType(t), &junk[n..n + (n * 7 % 300)]).describe();
            }
        }
    }
}
