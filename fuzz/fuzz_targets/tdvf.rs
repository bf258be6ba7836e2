//! TDX metadata (footer table entry, TDVF descriptor and sections) on arbitrary bytes (a firmware image held in
//! memory): errors, never panics; whatever parses can be measured in both page orders, in bounded time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yardstick_tdx::PageOrder;
use yardstick_tdx::mrtd::mrtd;
use yardstick_tdx::tdvf::TdvfMetadata;

fuzz_target!(|data: &[u8]| {
    if let Ok(meta) = TdvfMetadata::parse(data) {
        for s in &meta.sections {
            let _ = (s.section_type.name(), s.pages(), s.mr_extend(), s.page_aug());
        }
        // Keep runs short: at most 64 MiB of added pages are measured per input.
        let added: u64 = meta.sections.iter().filter(|s| !s.page_aug()).map(|s| s.memory_size).sum();
        if added <= 64 << 20 {
            let _ = mrtd(data, &meta, PageOrder::SinglePass);
            let _ = mrtd(data, &meta, PageOrder::TwoPass);
        }
    }
});
