//! Export to a Trustee RVPS registration message (sample provenance).
//!
//! Trustee's Reference Value Provider Service accepts `{"version": "0.1.0", "type": "sample", "payload":
//! <base64>}` where the payload, base64-decoded (standard alphabet, padded), is a JSON object mapping a
//! reference-value name to the list of accepted values (trustee `rvps/README.md`,
//! `rvps/src/extractors/extractor_modules/sample/`). The attestation service's default policy
//! (`attestation-service/src/ear_token/ear_default_policy_cpu.rego`) looks the values up by name with
//! `query_reference_value(<name>)`; the names this exporter writes are the ones that policy uses:
//!
//! | name | policy rule | from the manifest |
//! |---|---|---|
//! | `snp_launch_measurement` | `input.snp.measurement` (bare-metal SNP) | every `snp[]` digest with mode `snp` |
//! | `snp_pcr11` | `input["az-snp-vtpm"].tpm.pcr11` | PCR 11 (sha256) after each phase path |
//! | `tdx_pcr11` | `input["az-tdx-vtpm"].tpm.pcr11` | the same values |
//! | `tpm_pcr11` | `input.tpm.pcr11` | the same values |
//! | `mr_td` | `input.tdx.quote.body.mr_td` (bare-metal TDX) | every `tdx[]` MRTD |
//! | `rtmr_0` | `input.tdx.quote.body.rtmr_0` (not read by Trustee's default policy; by `refvals export --format rego`'s when registered) | every `tdx[]` RTMR0 that is predicted (with the ACPI tables) |
//! | `rtmr_1` | `input.tdx.quote.body.rtmr_1` | every `tdx[]` RTMR1 that is predicted |
//! | `rtmr_2` | `input.tdx.quote.body.rtmr_2` | every `tdx[]` RTMR2 that is predicted |
//! | `tpm_pcr04`, `tpm_pcr07`, `tpm_pcr09` | `input.tpm.pcr04` ... (the policy of `refvals export --format rego`) | the manifest's PCR 4, 7, 9 (sha256) |
//! | `tpm_pcr00` ... `tpm_pcr03`, `tpm_pcr05`, `tpm_pcr06` | `input.tpm.pcr00` ... (the same policy) | the firmware PCRs of a manifest written with `--firmware`, those predicted (sha256) |
//!
//! PCR 11 values are listed for every phase path because the PCR read at attestation time depends on how far
//! the guest has booted; a policy accepts any listed value. PCRs 4, 7 and 9 are registered for a plain TPM
//! only: on Azure the firmware is Microsoft's, not the OVMF the manifest's prediction assumes.
//!
//! [`names`] also holds the names only a relying party registers (nothing in a manifest holds them): the
//! SEV-SNP minimum TCB, trusted TPM attestation keys, and the TDX names Trustee's policy reads.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use yardstick_common::hash::Algorithm;
use yardstick_snp::sev_mode::SevMode;

use crate::manifest::Manifest;

/// The message version Trustee's RVPS requires (`MESSAGE_VERSION` in `rvps/src/lib.rs`).
pub const RVPS_MESSAGE_VERSION: &str = "0.1.0";

/// Reference-value names, as Trustee's default attestation policy queries them.
pub mod names {
    /// Bare-metal SEV-SNP launch measurement.
    pub const SNP_LAUNCH_MEASUREMENT: &str = "snp_launch_measurement";
    /// PCR 11 of an Azure SEV-SNP CVM's vTPM.
    pub const SNP_PCR11: &str = "snp_pcr11";
    /// PCR 11 of an Azure TDX CVM's vTPM.
    pub const TDX_PCR11: &str = "tdx_pcr11";
    /// PCR 11 of a plain (v)TPM.
    pub const TPM_PCR11: &str = "tpm_pcr11";
    /// MRTD of a bare-metal TD.
    pub const MR_TD: &str = "mr_td";
    /// RTMR0 of a bare-metal TD (firmware configuration: TD HOB, CFV, ACPI tables, boot variables).
    pub const RTMR_0: &str = "rtmr_0";
    /// RTMR1 of a bare-metal TD (kernel / boot loader).
    pub const RTMR_1: &str = "rtmr_1";
    /// RTMR2 of a bare-metal TD (kernel command line, initrd).
    pub const RTMR_2: &str = "rtmr_2";
    /// The SEV-SNP minimum TCB, one name per component (a number, or a list whose smallest counts); the
    /// policy of `refvals export --format rego` compares the report's REPORTED_TCB with them.
    pub const SNP_MIN_TCB: [&str; 4] = [
        "snp_min_tcb_bootloader",
        "snp_min_tcb_tee",
        "snp_min_tcb_snp",
        "snp_min_tcb_microcode",
    ];
    /// Trusted TPM attestation keys (base64 DER SubjectPublicKeyInfo, Trustee's `ak_public` claim).
    pub const TRUSTED_AKS: &str = "trusted_aks";
    /// TDX XFAM.
    pub const XFAM: &str = "xfam";

    /// The name of PCR `pcr` for the vTPM of `prefix` (`snp`, `tdx`, `tpm`): `<prefix>_pcrNN`, the claim's
    /// own `pcrNN` (two digits, as Trustee's verifiers name the claims) after the prefix, so `tpm_pcr11` is
    /// Trustee's name.
    pub fn pcr(prefix: &str, pcr: u32) -> String {
        format!("{prefix}_pcr{pcr:02}")
    }
}

/// The PCRs the policy of `refvals export --format rego` compares when their values are registered (PCR 11
/// always; the others when registered), sha256 bank: the one Trustee's TPM and vTPM verifiers report. PCRs
/// 0-3, 5 and 6 are in a manifest only with the firmware PCRs (`--firmware`).
pub const POLICY_PCRS: [u32; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 9, 11];

/// An RVPS registration message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RvpsMessage {
    /// Always [`RVPS_MESSAGE_VERSION`].
    pub version: String,
    /// Provenance type: `sample`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Base64 of the JSON object `{name: [value, ...]}`.
    pub payload: String,
}

/// The manifest holds nothing Trustee's default policy could use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the manifest has no value for Trustee's default policy (no SEV-SNP launch digest, no TDX MRTD and no PCR 11 prediction)"
)]
pub struct NothingToExport;

/// The `{name: [hex values]}` map an RVPS sample provenance carries. Names and values are sorted and
/// de-duplicated, so equal manifests give byte-identical messages.
pub fn reference_values(m: &Manifest) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut push = |name: &str, v: String| {
        let list = out.entry(name.to_string()).or_default();
        if !list.contains(&v) {
            list.push(v);
        }
    };
    for s in m.snp.iter().filter(|s| s.mode == SevMode::SevSnp) {
        push(names::SNP_LAUNCH_MEASUREMENT, s.measurement.to_hex());
    }
    for t in &m.tdx {
        push(names::MR_TD, t.mrtd.to_hex());
        if let Some(r) = &t.rtmr0 {
            push(names::RTMR_0, r.to_hex());
        }
        if let Some(r) = &t.rtmr1 {
            push(names::RTMR_1, r.to_hex());
        }
        if let Some(r) = &t.rtmr2 {
            push(names::RTMR_2, r.to_hex());
        }
    }
    if let Some(t) = &m.tpm {
        // Attesters report the sha256 bank (trustee's az-snp-vtpm / az-tdx-vtpm / tpm verifiers).
        let mut pcr11: Vec<String> = Vec::new();
        if let Some(v) = t.pcrs.get(Algorithm::Sha256, 11) {
            pcr11.push(v.to_hex());
        }
        for p in &t.pcr11_phases {
            if let Some(v) = p.pcrs.get(Algorithm::Sha256, 11) {
                pcr11.push(v.to_hex());
            }
        }
        for v in pcr11 {
            for name in [names::SNP_PCR11, names::TDX_PCR11, names::TPM_PCR11] {
                push(name, v.clone());
            }
        }
        for pcr in POLICY_PCRS.into_iter().filter(|p| *p != 11) {
            if let Some(v) = t.pcrs.get(Algorithm::Sha256, pcr) {
                push(&names::pcr("tpm", pcr), v.to_hex());
            }
        }
    }
    out
}

/// Builds the registration message for `m`.
pub fn rvps_message(m: &Manifest) -> Result<RvpsMessage, NothingToExport> {
    let values = reference_values(m);
    if values.is_empty() {
        return Err(NothingToExport);
    }
    // A BTreeMap of strings always serializes.
    let payload = serde_json::to_vec(&values).unwrap_or_default();
    Ok(RvpsMessage {
        version: RVPS_MESSAGE_VERSION.to_string(),
        kind: "sample".to_string(),
        payload: base64::engine::general_purpose::STANDARD.encode(payload),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexfmt::HexBytes;
    use crate::manifest::{PhaseValue, SnpLaunch, TpmRefs};
    use yardstick_snp::vmm_types::VmmType;
    use yardstick_tpm::PcrBanks;

    fn manifest() -> Manifest {
        let mut m = Manifest::new();
        m.snp.push(SnpLaunch {
            mode: SevMode::SevSnp,
            measurement: HexBytes(vec![0x11; 48]),
            vcpus: 1,
            vcpu_type: Some("EPYC-v4".into()),
            vcpu_sig: 0x00a00f11,
            vmm_type: VmmType::Qemu,
            guest_features: 1,
            kernel_hashes: true,
            components: vec!["firmware".into()],
        });
        let mut pcrs = PcrBanks::new();
        pcrs.set(11, Algorithm::Sha256.digest(b"stub"));
        pcrs.set(4, Algorithm::Sha256.digest(b"pcr4"));
        let mut ready = PcrBanks::new();
        ready.set(11, Algorithm::Sha256.digest(b"ready"));
        let mut stub = PcrBanks::new();
        stub.set(11, Algorithm::Sha256.digest(b"stub"));
        m.tpm = Some(TpmRefs {
            pcrs,
            pcr11_phases: vec![
                PhaseValue {
                    phase: String::new(),
                    pcrs: stub,
                },
                PhaseValue {
                    phase: "enter-initrd:leave-initrd:sysinit:ready".into(),
                    pcrs: ready,
                },
            ],
            events: vec![],
            assumptions: vec![],
            not_predicted: Default::default(),
        });
        m
    }

    /// Decodes a message the way Trustee does: `Message` (version must be "0.1.0"), then the sample
    /// extractor's base64 STANDARD decode into `HashMap<String, serde_json::Value>`.
    fn trustee_decode(msg_json: &str) -> BTreeMap<String, Vec<String>> {
        let v: serde_json::Value = serde_json::from_str(msg_json).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["payload", "type", "version"]);
        assert_eq!(obj["version"], "0.1.0");
        assert_eq!(obj["type"], "sample");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(obj["payload"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    }

    /// Shape of the registration message in trustee `rvps/README.md` ("Create a test message in sample
    /// format"): `{"version": "0.1.0", "type": "sample", "payload": "<base64 of {name: [values]}>"}`.
    #[test]
    fn message_shape_matches_trustee_readme() {
        let msg = rvps_message(&manifest()).unwrap();
        let json = serde_json::to_string(&msg).unwrap();
        let rv = trustee_decode(&json);
        let stub = Algorithm::Sha256.digest(b"stub").to_hex();
        let ready = Algorithm::Sha256.digest(b"ready").to_hex();
        assert_eq!(rv["snp_launch_measurement"], vec!["11".repeat(48)]);
        for n in ["snp_pcr11", "tdx_pcr11", "tpm_pcr11"] {
            assert_eq!(rv[n], vec![stub.clone(), ready.clone()], "{n}");
        }
        assert_eq!(
            rv["tpm_pcr04"],
            vec![Algorithm::Sha256.digest(b"pcr4").to_hex()]
        );
        assert_eq!(rv.len(), 5);
    }

    /// The names are the ones `ear_default_policy_cpu.rego` (trustee attestation-service) passes to
    /// `query_reference_value`: `snp_launch_measurement` (SNP section), `snp_pcr11` (az-snp-vtpm),
    /// `tdx_pcr11` (az-tdx-vtpm), `tpm_pcr11` (TPM section).
    #[test]
    fn names_match_default_policy() {
        assert_eq!(names::SNP_LAUNCH_MEASUREMENT, "snp_launch_measurement");
        assert_eq!(names::SNP_PCR11, "snp_pcr11");
        assert_eq!(names::TDX_PCR11, "tdx_pcr11");
        assert_eq!(names::TPM_PCR11, "tpm_pcr11");
    }

    /// A `tdx` section gives `mr_td`, `rtmr_1`, `rtmr_2` (`input.tdx.quote.body.{mr_td,rtmr_1,rtmr_2}` in
    /// the default policy); an RTMR not predicted (null) is left out, duplicates are listed once.
    #[test]
    fn tdx_values() {
        use crate::hexfmt::HexArray;
        use crate::manifest::{MrtdOrder, TdxLaunch};
        let mut m = Manifest::new();
        let launch = |mrtd: u8, rtmr1: Option<u8>| TdxLaunch {
            mrtd: HexArray([mrtd; 48]),
            rtmr0: None,
            rtmr1: rtmr1.map(|b| HexArray([b; 48])),
            rtmr2: Some(HexArray([0x22; 48])),
            memory_mib: 2048,
            vcpus: 1,
            mrtd_order: MrtdOrder::SinglePass,
            qemu_version: None,
        };
        m.tdx.push(launch(0xaa, Some(0x11)));
        m.tdx.push(launch(0xbb, None));
        let json = serde_json::to_string(&rvps_message(&m).unwrap()).unwrap();
        let rv = trustee_decode(&json);
        assert_eq!(rv["mr_td"], vec!["aa".repeat(48), "bb".repeat(48)]);
        assert_eq!(rv["rtmr_1"], vec!["11".repeat(48)]);
        assert_eq!(rv["rtmr_2"], vec!["22".repeat(48)]);
        assert_eq!(rv.len(), 3);
        assert_eq!(names::MR_TD, "mr_td");
        assert_eq!(names::RTMR_1, "rtmr_1");
        assert_eq!(names::RTMR_2, "rtmr_2");
    }

    #[test]
    fn empty_manifest_is_an_error() {
        assert_eq!(rvps_message(&Manifest::new()), Err(NothingToExport));
    }
}
