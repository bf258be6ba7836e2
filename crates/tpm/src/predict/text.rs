//! What `pcr predict` prints: optionally the predicted events, then the stub's section table, Secure Boot,
//! and each bank's PCRs (tpm2_pcrread's `0x<UPPER HEX>` form) with PCR 11 after each boot phase.

use std::fmt::Write as _;

use yardstick_common::hash::Algorithm;

use super::{PREDICTED_PCRS, Prediction};

/// The TCG name of an event type the prediction produces ("?" for a number the PFP does not define).
pub fn event_type_name(t: u32) -> &'static str {
    crate::eventlog::EventType(t).name().unwrap_or("?")
}

impl Prediction {
    /// The text output for `banks` (the first bank's digest is shown per event when `with_events`).
    pub fn to_text(&self, banks: &[Algorithm], with_events: bool) -> String {
        let mut s = String::new();
        if with_events {
            let _ = writeln!(
                s,
                "# predicted events (digest in {}):",
                banks.first().map_or("-", |b| b.name())
            );
            for e in &self.events {
                let _ = writeln!(
                    s,
                    "  PCR {:>2}  {:<34} {:<38} {}",
                    e.pcr,
                    event_type_name(e.event_type()),
                    e.description(),
                    e.digests.first().map(|d| d.to_hex()).unwrap_or_default()
                );
            }
        }
        let _ = writeln!(
            s,
            "# systemd-stub section table {}, Secure Boot {}",
            self.stub_generation,
            if self.secure_boot { "on" } else { "off" }
        );
        for &alg in banks {
            let _ = writeln!(s, "{alg}:");
            for pcr in PREDICTED_PCRS {
                if let Some(d) = self.pcrs.get(alg, pcr) {
                    let _ = writeln!(s, "  {pcr:>2}: 0x{}", d.to_hex().to_uppercase());
                }
            }
            if let Some(phases) = self.pcr11_phases.get(&alg) {
                for (phase, d) in phases {
                    let _ = writeln!(s, "  11 after {phase}: 0x{}", d.to_hex().to_uppercase());
                }
            }
        }
        s
    }
}
