//! OVMF footer table and SEV metadata on arbitrary bytes (a firmware image held in memory): errors, never
//! panics; whatever parses can be walked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_snp::ovmf::Ovmf;

fuzz_target!(|data: &[u8]| {
    if let Ok(ovmf) = Ovmf::from_bytes(data.to_vec()) {
        let meta = ovmf.metadata();
        let _ = meta.sections().len();
        let _ = meta.sev_es_reset_eip();
        let _ = meta.sev_hashes_table_gpa();
        let _ = meta.supports_sev_hashes_table();
        for (_, bytes) in ovmf.table().entries() {
            let _ = bytes.len();
        }
        let _ = ovmf.svsm_info_offset();
        let _ = ovmf.gpa();
        let mut total = 0;
        let _ = ovmf.for_each_chunk(4096, |c| total += c.len());
    }
});
