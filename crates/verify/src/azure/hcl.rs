//! The Azure confidential-VM HCL report (paravisor "Host Compatibility Layer"; layout as in
//! kinvolk/azure-cvm-tooling `az-cvm-vtpm/src/hcl` and the IGVM attestation request): an attestation header,
//! the hardware report (SEV-SNP report or TDX TDREPORT) in a fixed 1184-byte slot, then the IGVM request data
//! whose variable part, the *runtime data*, is a JSON document with the vTPM's attestation key. The hardware
//! report's REPORT_DATA carries H(runtime data), which is how the AK is bound to the hardware.

use crate::Error;

/// "HCLA", little-endian.
const HCL_SIGNATURE: u32 = 0x414c_4348;
/// Header: signature, version, report_size, request_type, status, 3 reserved (all u32).
const HEADER_LEN: usize = 32;
/// The hardware report slot: the larger of an SNP report (1184) and a TDREPORT (1024).
const HW_SLOT: usize = 1184;
/// IGVM_REQUEST_DATA: data_size, version, report_type, report_data_hash_type, variable_data_size (all u32).
const IGVM_OFFSET: usize = HEADER_LEN + HW_SLOT;
const VAR_OFFSET: usize = IGVM_OFFSET + 20;

/// Which hardware report the HCL report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwKind {
    /// AMD SEV-SNP attestation report (report_type 2).
    Snp,
    /// Intel TDX TDREPORT (report_type 4).
    Tdx,
}

/// A parsed HCL report.
#[derive(Debug, Clone)]
pub struct HclReport {
    bytes: Vec<u8>,
    /// The hardware report kind.
    pub kind: HwKind,
    /// The hash the hardware report's REPORT_DATA holds over the runtime data.
    pub hash: yardstick_common::hash::Algorithm,
    var_len: usize,
}

fn le32(b: &[u8], at: usize) -> u32 {
    yardstick_common::bytes::le32(b, at).unwrap_or(0)
}

impl HclReport {
    /// Parses and bounds-checks an HCL report.
    pub fn parse(bytes: &[u8]) -> Result<HclReport, Error> {
        let bad = |m: String| Error::Malformed(format!("HCL report: {m}"));
        if bytes.len() < VAR_OFFSET {
            return Err(bad(format!(
                "{} bytes, shorter than its {VAR_OFFSET}-byte fixed part",
                bytes.len()
            )));
        }
        let sig = le32(bytes, 0);
        if sig != HCL_SIGNATURE {
            return Err(bad(format!("signature 0x{sig:08x} is not \"HCLA\"")));
        }
        let kind = match le32(bytes, IGVM_OFFSET + 8) {
            2 => HwKind::Snp,
            4 => HwKind::Tdx,
            t => {
                return Err(bad(format!(
                    "unknown hardware report type {t} (2 = SEV-SNP, 4 = TDX)"
                )));
            }
        };
        use yardstick_common::hash::Algorithm;
        let hash = match le32(bytes, IGVM_OFFSET + 12) {
            1 => Algorithm::Sha256,
            2 => Algorithm::Sha384,
            3 => Algorithm::Sha512,
            h => return Err(bad(format!("unknown runtime-data hash type {h}"))),
        };
        let var_len = le32(bytes, IGVM_OFFSET + 16) as usize;
        if var_len > bytes.len() - VAR_OFFSET {
            return Err(bad(format!(
                "runtime data of {var_len} bytes does not fit in the {}-byte report",
                bytes.len()
            )));
        }
        Ok(HclReport {
            bytes: bytes.to_vec(),
            kind,
            hash,
            var_len,
        })
    }

    /// The hardware report: 1184 bytes for SEV-SNP, 1024 for TDX.
    pub fn hw_report(&self) -> &[u8] {
        let len = match self.kind {
            HwKind::Snp => 1184,
            HwKind::Tdx => 1024,
        };
        self.bytes
            .get(HEADER_LEN..HEADER_LEN + len)
            .unwrap_or_default()
    }

    /// The runtime data (JSON).
    pub fn runtime_data(&self) -> &[u8] {
        self.bytes
            .get(VAR_OFFSET..VAR_OFFSET + self.var_len)
            .unwrap_or_default()
    }

    /// The runtime data parsed as JSON.
    pub fn runtime_json(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_slice(self.runtime_data())
            .map_err(|e| Error::Malformed(format!("HCL runtime data is not JSON: {e}")))
    }

    /// The attestation key's JWK (`keys[kid == "HCLAkPub"]`).
    pub fn ak_jwk(&self) -> Result<serde_json::Value, Error> {
        let j = self.runtime_json()?;
        j.get("keys")
            .and_then(|k| k.as_array())
            .and_then(|ks| {
                ks.iter()
                    .find(|k| k.get("kid").and_then(|x| x.as_str()) == Some("HCLAkPub"))
            })
            .cloned()
            .ok_or_else(|| {
                Error::Malformed("HCL runtime data has no key with kid \"HCLAkPub\"".into())
            })
    }
}
