//! The header report `veritysetup format` and `veritysetup dump` print (`VERITY_dump()` in
//! cryptsetup 2.6.1 `lib/verity/verity.c`), byte for byte: scripts such as Kata's image builder parse it.

use serde::Serialize;

/// The values of one report. Optional lines are `None` exactly when veritysetup omits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The hash device as named on the command line.
    #[serde(skip)]
    pub device: String,
    /// UUID (`None` without a superblock: veritysetup prints an empty value).
    pub uuid: Option<String>,
    /// Format number.
    pub hash_type: u32,
    /// Data blocks.
    pub data_blocks: u64,
    /// Data block size.
    pub data_block_size: u32,
    /// Tree blocks.
    pub hash_blocks: u64,
    /// Hash block size.
    pub hash_block_size: u32,
    /// Algorithm name (as stored in the superblock, or as given).
    pub hash_algorithm: String,
    /// Salt in hex, empty for no salt.
    pub salt: String,
    /// Root hash in hex (format only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_hash: Option<String>,
    /// "Hash device size", printed only when the hash area starts at offset 0.
    pub hash_device_size: Option<u64>,
    /// FEC lines, when an FEC device is given and FEC applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fec: Option<FecReport>,
}

/// FEC part of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FecReport {
    /// Parity bytes per codeword.
    pub roots: u32,
    /// "FEC blocks": parity blocks (`VERITY_FEC_RS_blocks`).
    pub blocks: u64,
    /// Blocks covered by FEC (data + hash area), the dm table's `fec_blocks`.
    pub covered_blocks: u64,
    /// "FEC device size", printed only for a separate FEC device at offset 0.
    pub device_size: Option<u64>,
}

impl Report {
    /// The report exactly as veritysetup prints it (label, padding, TAB, value).
    pub fn to_veritysetup_text(&self) -> String {
        let mut s = String::new();
        s += &format!("VERITY header information for {}\n", self.device);
        s += &format!(
            "UUID:            \t{}\n",
            self.uuid.as_deref().unwrap_or("")
        );
        s += &format!("Hash type:       \t{}\n", self.hash_type);
        s += &format!("Data blocks:     \t{}\n", self.data_blocks);
        s += &format!("Data block size: \t{}\n", self.data_block_size);
        s += &format!("Hash blocks:     \t{}\n", self.hash_blocks);
        s += &format!("Hash block size: \t{}\n", self.hash_block_size);
        s += &format!("Hash algorithm:  \t{}\n", self.hash_algorithm);
        if let Some(f) = &self.fec {
            s += &format!("FEC RS roots:   \t{}\n", f.roots);
            s += &format!("FEC blocks:     \t{}\n", f.blocks);
        }
        let salt = if self.salt.is_empty() {
            "-"
        } else {
            &self.salt
        };
        s += &format!("Salt:            \t{salt}\n");
        if let Some(r) = &self.root_hash {
            s += &format!("Root hash:      \t{r}\n");
        }
        if let Some(n) = self.hash_device_size {
            s += &format!("Hash device size: \t{n} [bytes]\n");
        }
        if let Some(n) = self.fec.as_ref().and_then(|f| f.device_size) {
            s += &format!("FEC device size: \t{n} [bytes]\n");
        }
        s
    }
}
