//! The claims Trustee's verifiers produce from evidence (trustee `deps/verifier/src/{snp, az_snp_vtpm,
//! az_tdx_vtpm, tdx/claims.rs, tpm}`), with the same names and encodings, so that an attestation policy
//! written for Trustee's attestation service evaluates the same on yardstick's output ([`crate::policy`]).
//!
//! | kind | claims |
//! |---|---|
//! | `snp` | `measurement`, `report_data`, `init_data` (HOST_DATA), `chip_id` as hex; `policy_abi_major/minor` and `reported_tcb_*` as numbers; `policy_*` and `platform_*_enabled` as booleans |
//! | `az-snp-vtpm` | the same names with every value a string (booleans `"true"`/`"false"`, numbers in decimal, `measurement` base64), `tpm.pcrNN` hex of the sha256 PCRs, `report_data` the quote's nonce, `init_data` PCR 8 |
//! | `az-tdx-vtpm` | `quote.header.*`, `quote.body.*` hex of the TD quote's fields, `td_attributes.{debug, septve_disable, protection_keys, key_locker, perfmon}`, `tpm.pcrNN`, `report_data`, `init_data` as for `az-snp-vtpm` |
//! | `tdx` | as `az-tdx-vtpm` without `tpm`, plus `uefi_event_logs` from a CCEL ([`uefi_event_logs`]) |
//! | `tpm` | `pcrNN` hex of the sha256 PCRs, `ak_public` base64 DER SubjectPublicKeyInfo, `report_data` the nonce, `init_data` PCR 8 |
//!
//! Not produced: the claims Trustee's DCAP library derives from Intel collateral (`tcb_status`, `tcb_date`,
//! `advisory_ids`, `collateral_expiration_status`, ...), which an offline verifier does not have; a policy
//! that requires them finds them missing.
//!
//! [`Claims::policy_input`] is the input a policy sees, built as Trustee's attestation service builds it
//! (`transform_claims` in `attestation-service/src/ear_token/broker.rs`): the claims under the kind's name,
//! with `report_data` and `init_data` moved to the top level.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use yardstick_common::bytes;
use yardstick_common::hash::Algorithm;
use yardstick_tpm::PcrBanks;
use yardstick_tpm::eventlog::{EventLog, EventType};

pub use yardstick_refvals::rego::Evidence;

use crate::hex;
use crate::snp::{AttestationReport, Product};

/// The claims of one piece of evidence, as Trustee's verifier for its kind produces them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Claims {
    /// The kind of evidence (Trustee's TEE name).
    pub tee: Evidence,
    /// The verifier's claims (a JSON object).
    pub claims: Value,
}

impl Claims {
    /// The input of an attestation policy: `{"<tee>": claims, "report_data": ..., "runtime_data_claims":
    /// null, "init_data": ..., "init_data_claims": null}`, as Trustee's attestation service builds it when no
    /// runtime or init data is given with the evidence.
    pub fn policy_input(&self) -> Value {
        let mut claims = self.claims.clone();
        let mut input = Map::new();
        if let Some(map) = claims.as_object_mut() {
            if let Some(v) = map.remove("init_data") {
                input.insert("init_data".into(), v);
                input.insert("init_data_claims".into(), Value::Null);
            }
            if let Some(v) = map.remove("report_data") {
                input.insert("report_data".into(), v);
                input.insert("runtime_data_claims".into(), Value::Null);
            }
        }
        input.insert(self.tee.name().into(), claims);
        Value::Object(input)
    }
}

/// SMT_EN, bit 0 of PLATFORM_INFO.
const PLATFORM_SMT: u64 = 1;
/// TSME_EN, bit 1 of PLATFORM_INFO.
const PLATFORM_TSME: u64 = 1 << 1;

/// The claims of a bare-metal SEV-SNP report (trustee `snp::parse_tee_evidence`); `product` decides the
/// REPORTED_TCB layout.
pub fn snp(report: &AttestationReport, product: Product) -> Claims {
    let tcb = report.reported_tcb(product);
    let p = report.policy;
    Claims {
        tee: Evidence::Snp,
        claims: json!({
            "policy_abi_major": p.abi_major(),
            "policy_abi_minor": p.abi_minor(),
            "policy_smt_allowed": p.smt_allowed(),
            "policy_migrate_ma": p.migrate_ma(),
            "policy_debug_allowed": p.debug(),
            "policy_single_socket": p.single_socket(),
            "reported_tcb_bootloader": tcb.bootloader,
            "reported_tcb_tee": tcb.tee,
            "reported_tcb_snp": tcb.snp,
            "reported_tcb_microcode": tcb.microcode,
            "platform_tsme_enabled": report.platform_info & PLATFORM_TSME != 0,
            "platform_smt_enabled": report.platform_info & PLATFORM_SMT != 0,
            "measurement": hex::encode(&report.measurement),
            "report_data": hex::encode(&report.report_data),
            "init_data": hex::encode(&report.host_data),
            "chip_id": hex::encode(&report.chip_id),
        }),
    }
}

/// The claims of Azure SEV-SNP vTPM evidence (trustee `az_snp_vtpm::parse_tee_evidence_az` then
/// `extend_claim`): the SNP report's fields as strings, the vTPM's PCRs (`pcrs[i]` is PCR `i`) and the
/// quote's nonce.
pub fn az_snp_vtpm(
    report: &AttestationReport,
    product: Product,
    pcrs: &[Vec<u8>],
    nonce: &[u8],
) -> Claims {
    let tcb = report.reported_tcb(product);
    let p = report.policy;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut claims = json!({
        "policy_abi_major": p.abi_major().to_string(),
        "policy_abi_minor": p.abi_minor().to_string(),
        "policy_smt_allowed": p.smt_allowed().to_string(),
        "policy_migrate_ma": p.migrate_ma().to_string(),
        "policy_debug_allowed": p.debug().to_string(),
        "policy_single_socket": p.single_socket().to_string(),
        "reported_tcb_bootloader": tcb.bootloader.to_string(),
        "reported_tcb_tee": tcb.tee.to_string(),
        "reported_tcb_snp": tcb.snp.to_string(),
        "reported_tcb_microcode": tcb.microcode.to_string(),
        "platform_tsme_enabled": (report.platform_info & PLATFORM_TSME != 0).to_string(),
        "platform_smt_enabled": (report.platform_info & PLATFORM_SMT != 0).to_string(),
        "measurement": b64(&report.measurement),
        "report_data": b64(&report.report_data),
        "init_data": b64(&report.host_data),
    });
    extend_with_vtpm(&mut claims, pcrs, nonce);
    Claims {
        tee: Evidence::AzSnpVtpm,
        claims,
    }
}

/// The claims of Azure TDX vTPM evidence (trustee `tdx::claims::generate_parsed_claim` without an event
/// log, then `extend_claim`); the DCAP claims from Intel collateral are not produced (see the module docs).
#[cfg(feature = "azure")]
pub fn az_tdx_vtpm(quote: &crate::tdx::TdQuote, pcrs: &[Vec<u8>], nonce: &[u8]) -> Claims {
    let mut claims = td_quote(quote);
    extend_with_vtpm(&mut claims, pcrs, nonce);
    Claims {
        tee: Evidence::AzTdxVtpm,
        claims,
    }
}

/// Trustee's `extend_claim` of the Azure verifiers: `tpm.pcrNN` for every PCR, `init_data` = PCR 8 (when
/// the evidence has it), `report_data` = the quote's nonce.
fn extend_with_vtpm(claims: &mut Value, pcrs: &[Vec<u8>], nonce: &[u8]) {
    let Some(map) = claims.as_object_mut() else {
        return;
    };
    let tpm: Map<String, Value> = pcrs
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("pcr{i:02}"), Value::String(hex::encode(v))))
        .collect();
    map.insert("tpm".into(), Value::Object(tpm));
    if let Some(pcr8) = pcrs.get(8) {
        map.insert("init_data".into(), Value::String(hex::encode(pcr8)));
    }
    map.insert("report_data".into(), Value::String(hex::encode(nonce)));
}

/// TDATTRIBUTES bits Trustee names (`TdAttributesFlags` in `tdx/claims.rs`, names lower-cased).
const TD_ATTRIBUTES: [(&str, u32); 5] = [
    ("debug", 0),
    ("septve_disable", 28),
    ("protection_keys", 30),
    ("key_locker", 31),
    ("perfmon", 63),
];

/// TD 1.0 body fields, in order, with their lengths (Trustee's claim names).
const TD10_FIELDS: [(&str, usize); 15] = [
    ("tcb_svn", 16),
    ("mr_seam", 48),
    ("mrsigner_seam", 48),
    ("seam_attributes", 8),
    ("td_attributes", 8),
    ("xfam", 8),
    ("mr_td", 48),
    ("mr_config_id", 48),
    ("mr_owner", 48),
    ("mr_owner_config", 48),
    ("rtmr_0", 48),
    ("rtmr_1", 48),
    ("rtmr_2", 48),
    ("rtmr_3", 48),
    ("report_data", 64),
];

/// The claims of a TD quote v4/v5 (trustee `tdx::claims::generate_parsed_claim`, without an event log):
/// `quote.header`, `quote.body` (and for v5 `quote.type`, `quote.size`), `td_attributes`, `report_data`,
/// `init_data` (MRCONFIGID).
pub fn td_quote(q: &crate::tdx::TdQuote) -> Value {
    let header = q.header_bytes();
    let h = |at: usize, len: usize| hex::encode(header.get(at..at + len).unwrap_or_default());
    let version: &[u8] = if q.version == 5 {
        b"\x05\x00"
    } else {
        b"\x04\x00"
    };
    let quote_header = json!({
        "version": hex::encode(version),
        "att_key_type": h(2, 2),
        "tee_type": h(4, 4),
        "reserved": h(8, 4),
        "vendor_id": h(12, 16),
        "user_data": h(28, 20),
    });
    let body = q.body();
    let mut fields = Map::new();
    let mut at = 0usize;
    let mut add = |name: &str, len: usize| {
        let v = body.get(at..at + len).unwrap_or_default();
        fields.insert(name.into(), Value::String(hex::encode(v)));
        at += len;
    };
    for (name, len) in TD10_FIELDS {
        add(name, len);
    }
    if body.len() > 584 {
        add("tee_tcb_svn2", 16);
        add("mr_servicetd", 48);
    }
    let mut quote = Map::new();
    quote.insert("header".into(), quote_header);
    quote.insert("body".into(), Value::Object(fields));
    if let Some(d) = q.body_descriptor() {
        quote.insert(
            "type".into(),
            Value::String(hex::encode(d.get(..2).unwrap_or_default())),
        );
        quote.insert(
            "size".into(),
            Value::String(hex::encode(d.get(2..6).unwrap_or_default())),
        );
    }
    let attrs = q.td_attributes();
    let td_attributes: Map<String, Value> = TD_ATTRIBUTES
        .iter()
        .map(|(n, bit)| ((*n).to_string(), Value::Bool(attrs >> bit & 1 == 1)))
        .collect();
    json!({
        "quote": quote,
        "td_attributes": td_attributes,
        "report_data": hex::encode(q.report_data()),
        "init_data": hex::encode(body.get(184..232).unwrap_or_default()),
    })
}

/// The claims of a bare TD quote (trustee `tdx::claims::generate_parsed_claim`): [`td_quote`]'s, plus
/// `uefi_event_logs` ([`uefi_event_logs`]) when the TD's CC event log came with it and
/// `platform_instance_id` when the PCK certificate has one (multi-package platforms; hex of its 16 bytes
/// reversed, as Trustee reads the little-endian value big-endian). The DCAP
/// collateral claims are not produced (see the module docs).
pub fn tdx(
    q: &crate::tdx::TdQuote,
    ccel: Option<&EventLog>,
    platform_instance_id: Option<&[u8]>,
) -> Claims {
    let mut claims = td_quote(q);
    if let Some(map) = claims.as_object_mut() {
        if let Some(log) = ccel {
            map.insert("uefi_event_logs".into(), uefi_event_logs(log));
        }
        if let Some(id) = platform_instance_id {
            let reversed: Vec<u8> = id.iter().rev().copied().collect();
            map.insert(
                "platform_instance_id".into(),
                Value::String(hex::encode(&reversed)),
            );
        }
    }
    Claims {
        tee: Evidence::Tdx,
        claims,
    }
}

/// A CC event log as Trustee's `eventlog` crate serializes it (`CcEventLog::log`): per extended event its
/// `index` (the CC measurement register, 1-4 = RTMR0-3), `type_name`, `digests` (`{"alg": "SHA-384",
/// "digest": hex}`), `event` (the data, base64), `digest_matches_event` (every digest is the hash of the
/// data) and `details` as its per-type parsers decode them: the text of `EV_EFI_ACTION`, `EV_ACTION`,
/// `EV_POST_CODE`, `EV_COMPACT_HASH`, `EV_OMIT_BOOT_DEVICE_EVENTS`; the length-prefixed description of
/// `EV_EFI_PLATFORM_FIRMWARE_BLOB2` / `EV_EFI_HANDOFF_TABLES2`; a tagged event's text (`EV_EVENT_TAG`);
/// `EV_PLATFORM_CONFIG_FLAGS`' printable text; `EV_IPL`'s string (GRUB's, or GCE's UTF-16); an EFI
/// variable's `unicode_name`, `variable_name` (the GUID's bytes in order), `variable_data` (base64) and
/// lengths; a boot application's `device_paths`, one entry per node (`ACPI(PNP0A03,0)`, `Pci(0,1)`,
/// `HD(...)`, `VenMedia(GUID,)`, `File(name)`; other kinds, messaging nodes among them, in the generic
/// `Path(type,subtype,hex)` form, where Trustee names a few more); `{}` for the rest (separators). Where
/// Trustee's parser refuses an event (non-UTF-8 text) and so the whole log, these details are lossy text.
pub fn uefi_event_logs(log: &EventLog) -> Value {
    let entries: Vec<Value> = log
        .events()
        .iter()
        .filter(|e| e.is_extended())
        .map(|e| {
            let data = e.data();
            let digests: Vec<Value> = e
                .digests()
                .iter()
                .map(|d| json!({"alg": tcg_alg_name(d.algorithm()), "digest": hex::encode(d.bytes())}))
                .collect();
            let matches = e.digests().iter().all(|d| {
                d.algorithm()
                    .algorithm()
                    .is_some_and(|a| a.digest(data).as_ref() == d.bytes())
            });
            json!({
                "details": event_details(e.event_type(), data),
                "digest_matches_event": matches,
                "digests": digests,
                "event": base64::engine::general_purpose::STANDARD.encode(data),
                "index": e.pcr(),
                "type_name": e.event_type().to_string(),
            })
        })
        .collect();
    Value::Array(entries)
}

/// Trustee's algorithm names (`TcgAlgorithm`'s serde names).
fn tcg_alg_name(a: yardstick_tpm::eventlog::AlgorithmId) -> String {
    match a.algorithm() {
        Some(Algorithm::Sha1) => "SHA-1".into(),
        Some(Algorithm::Sha256) => "SHA-256".into(),
        Some(Algorithm::Sha384) => "SHA-384".into(),
        Some(Algorithm::Sha512) => "SHA-512".into(),
        _ => a.name(),
    }
}

/// A little-endian u16 of (up to) two bytes.
fn le16(w: &[u8]) -> u16 {
    u16::from_le_bytes([
        w.first().copied().unwrap_or(0),
        w.get(1).copied().unwrap_or(0),
    ])
}

fn details_string(s: String) -> Value {
    json!({ "string": s })
}

/// `details` of one event, per Trustee's parser for its type (see [`uefi_event_logs`]).
fn event_details(t: EventType, data: &[u8]) -> Value {
    let le32 = |at: usize| bytes::le32(data, at);
    let le64 = |at: usize| bytes::le64(data, at);
    match t {
        EventType::EV_POST_CODE
        | EventType::EV_ACTION
        | EventType::EV_COMPACT_HASH
        | EventType::EV_OMIT_BOOT_DEVICE_EVENTS
        | EventType::EV_EFI_ACTION => details_string(String::from_utf8_lossy(data).into_owned()),
        EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB2 | EventType::EV_EFI_HANDOFF_TABLES2 => {
            let n = usize::from(data.first().copied().unwrap_or(0));
            details_string(
                String::from_utf8_lossy(data.get(1..n.max(1)).unwrap_or_default()).into_owned(),
            )
        }
        EventType::EV_EVENT_TAG => {
            let size = le32(4).unwrap_or(0) as usize;
            let text = data.get(8..8usize.saturating_add(size)).unwrap_or_default();
            details_string(String::from_utf8_lossy(text).replace('\0', ""))
        }
        EventType::EV_IPL => {
            if data.starts_with(&[0x2e, 0x00]) && data.len() > 2 && data.len().is_multiple_of(2) {
                let words: Vec<u16> = data
                    .get(2..data.len() - 2)
                    .unwrap_or_default()
                    .chunks_exact(2)
                    .map(le16)
                    .collect();
                details_string(String::from_utf16_lossy(&words))
            } else {
                let text = data.split(|&b| b == 0).next().unwrap_or_default();
                details_string(match std::str::from_utf8(text) {
                    Ok(t) => t.to_string(),
                    Err(_) => hex::encode(data),
                })
            }
        }
        EventType::EV_PLATFORM_CONFIG_FLAGS => {
            let raw = std::str::from_utf8(data)
                .unwrap_or_default()
                .replace('\u{10}', " ");
            details_string(raw.chars().filter(|c| !c.is_control()).collect())
        }
        EventType::EV_EFI_VARIABLE_DRIVER_CONFIG
        | EventType::EV_EFI_VARIABLE_BOOT
        | EventType::EV_EFI_VARIABLE_BOOT2
        | EventType::EV_EFI_VARIABLE_AUTHORITY => {
            let (Some(guid), Some(name_len), Some(data_len)) = (data.get(..16), le64(16), le64(24))
            else {
                return json!({});
            };
            let name_at = 32usize;
            let name_end = usize::try_from(name_len)
                .ok()
                .and_then(|n| n.checked_mul(2))
                .and_then(|n| n.checked_add(name_at));
            let name = name_end
                .and_then(|end| data.get(name_at..end))
                .map(|b| {
                    let words: Vec<u16> = b.chunks_exact(2).map(le16).collect();
                    String::from_utf16_lossy(&words)
                })
                .unwrap_or_default();
            let value = name_end
                .zip(usize::try_from(data_len).ok())
                .and_then(|(at, n)| data.get(at..at.checked_add(n)?))
                .unwrap_or_default();
            let g = hex::encode(guid);
            let grouped = [0..8, 8..12, 12..16, 16..20, 20..32]
                .map(|r| g.get(r).unwrap_or_default().to_string())
                .join("-");
            json!({
                "unicode_name": name,
                "unicode_name_length": name_len,
                "variable_data": base64::engine::general_purpose::STANDARD.encode(value),
                "variable_data_length": data_len,
                "variable_name": grouped,
            })
        }
        EventType::EV_EFI_BOOT_SERVICES_APPLICATION => {
            let len = le64(24).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            if len == 0 {
                return json!({});
            }
            let path = data
                .get(32..32usize.saturating_add(len.saturating_sub(4)))
                .unwrap_or_default();
            json!({ "device_paths": device_path_nodes(path) })
        }
        _ => json!({}),
    }
}

/// A device path's nodes as Trustee's boot-application parser prints them (the end node is not in the
/// bytes it reads).
fn device_path_nodes(mut path: &[u8]) -> Vec<String> {
    let mut nodes = Vec::new();
    while let (Some(&ty), Some(&sub), Some(len)) = (path.first(), path.get(1), bytes::le16(path, 2))
    {
        let len = usize::from(len);
        let Some(body) = path.get(4..len.max(4)) else {
            break;
        };
        nodes.push(
            device_path_node(ty, sub, body)
                .unwrap_or_else(|| format!("Path({ty},{sub},{})", hex::encode(body))),
        );
        if len < 4 {
            break;
        }
        path = path.get(len..).unwrap_or_default();
    }
    nodes
}

/// The node kinds Trustee's device-path parsers name: ACPI, PCI, hard drive, vendor media, file path.
fn device_path_node(ty: u8, sub: u8, body: &[u8]) -> Option<String> {
    let le32 = |at: usize| bytes::le32(body, at);
    let le64 = |at: usize| bytes::le64(body, at);
    let guid = |at: usize| -> Option<String> {
        let b = bytes::array::<16>(body, at)?;
        Some(
            yardstick_common::guid::Guid::from_efi_bytes(b)
                .to_string()
                .to_uppercase(),
        )
    };
    Some(match (ty, sub) {
        (0x01, 0x01) => format!("Pci({},{})", body.first()?, body.get(1)?),
        (0x02, 0x01) => {
            let (hid, uid) = (le32(0)?, le32(4)?);
            let v = hid & 0xffff;
            let c = |shift: u32| char::from(((v >> shift) & 0x1f) as u8 + b'@');
            format!("ACPI({}{}{}{:04X},{uid})", c(10), c(5), c(0), hid >> 16)
        }
        (0x04, 0x01) => {
            let (part, start, size) = (le32(0)?, le64(4)?, le64(12)?);
            let (prefix, sig) = match body.get(36)? {
                1 => ("MBR", format!("{:#010x}", le32(20)?)),
                2 => ("GPT", guid(20)?),
                _ => return None,
            };
            let range = if part != 0 {
                format!(",{start:#x},{size:#x}")
            } else {
                String::new()
            };
            format!("HD({part},{prefix},{sig}{range})")
        }
        (0x04, 0x03) => format!(
            "VenMedia({},{})",
            guid(0)?,
            hex::encode(body.get(16..).unwrap_or_default())
        ),
        (0x04, 0x04) if !body.is_empty() && body.len().is_multiple_of(2) => {
            let words: Vec<u16> = body
                .get(..body.len() - 2)?
                .chunks_exact(2)
                .map(le16)
                .collect();
            format!("File({})", String::from_utf16_lossy(&words))
        }
        _ => return None,
    })
}

/// The claims of a TPM quote (trustee `tpm::parse_tee_evidence` then `extend_claim`): every sha256 PCR the
/// quote covers as `pcrNN`, `init_data` = PCR 8, `report_data` = the nonce, `ak_public` = the AK's DER
/// SubjectPublicKeyInfo in base64 (`None` if the key cannot be encoded).
pub fn tpm(quoted: &PcrBanks, nonce: &[u8], ak_spki_der: Option<&[u8]>) -> Claims {
    let mut map = Map::new();
    for (alg, pcr, d) in quoted.iter() {
        if alg == Algorithm::Sha256 {
            map.insert(format!("pcr{pcr:02}"), Value::String(d.to_hex()));
        }
    }
    if let Some(d) = quoted.get(Algorithm::Sha256, 8) {
        map.insert("init_data".into(), Value::String(d.to_hex()));
    }
    map.insert("report_data".into(), Value::String(hex::encode(nonce)));
    if let Some(der) = ak_spki_der {
        map.insert(
            "ak_public".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(der)),
        );
    }
    Claims {
        tee: Evidence::Tpm,
        claims: Value::Object(map),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trustee's `test_transform_claims`: `init_data` and `report_data` leave the TEE's object for the top
    /// level; everything else stays under the TEE's name.
    #[test]
    fn policy_input_as_trustee_transforms_claims() {
        let c = Claims {
            tee: Evidence::Tdx,
            claims: json!({"quote": {"body": {"mr_td": "aa"}}, "report_data": "01", "init_data": "02"}),
        };
        assert_eq!(
            c.policy_input(),
            json!({
                "tdx": {"quote": {"body": {"mr_td": "aa"}}},
                "report_data": "01",
                "runtime_data_claims": null,
                "init_data": "02",
                "init_data_claims": null,
            })
        );
    }

    #[test]
    fn vtpm_extension() {
        let mut c = json!({"init_data": "x"});
        let pcrs: Vec<Vec<u8>> = (0u8..24).map(|i| vec![i; 32]).collect();
        extend_with_vtpm(&mut c, &pcrs, b"challenge");
        assert_eq!(c["tpm"].as_object().unwrap().len(), 24);
        assert_eq!(c["tpm"]["pcr11"], hex::encode(&[11u8; 32]));
        assert_eq!(c["init_data"], hex::encode(&[8u8; 32]));
        assert_eq!(c["report_data"], "6368616c6c656e6765");
    }
}
