//! The claims Trustee's verifiers produce from evidence (trustee `deps/verifier/src/{snp, az_snp_vtpm,
//! az_tdx_vtpm, tdx/claims.rs, tpm}`), with the same names and encodings, so that an attestation policy
//! written for Trustee's attestation service evaluates the same on yardstick's output ([`crate::policy`]).
//!
//! | kind | claims |
//! |---|---|
//! | `snp` | `measurement`, `report_data`, `init_data` (HOST_DATA), `chip_id` as hex; `policy_abi_major/minor` and `reported_tcb_*` as numbers; `policy_*` and `platform_*_enabled` as booleans |
//! | `az-snp-vtpm` | the same names with every value a string (booleans `"true"`/`"false"`, numbers in decimal, `measurement` base64), `tpm.pcrNN` hex of the sha256 PCRs, `report_data` the quote's nonce, `init_data` PCR 8 |
//! | `az-tdx-vtpm` | `quote.header.*`, `quote.body.*` hex of the TD quote's fields, `td_attributes.{debug, septve_disable, protection_keys, key_locker, perfmon}`, `tpm.pcrNN`, `report_data`, `init_data` as for `az-snp-vtpm` |
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
use yardstick_common::hash::Algorithm;
use yardstick_tpm::PcrBanks;

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
pub fn az_tdx_vtpm(quote: &crate::azure::TdQuote, pcrs: &[Vec<u8>], nonce: &[u8]) -> Claims {
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

#[cfg(feature = "azure")]
/// TDATTRIBUTES bits Trustee names (`TdAttributesFlags` in `tdx/claims.rs`, names lower-cased).
const TD_ATTRIBUTES: [(&str, u32); 5] = [
    ("debug", 0),
    ("septve_disable", 28),
    ("protection_keys", 30),
    ("key_locker", 31),
    ("perfmon", 63),
];

#[cfg(feature = "azure")]
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
#[cfg(feature = "azure")]
pub fn td_quote(q: &crate::azure::TdQuote) -> Value {
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
