//! Reference values taken from a yardstick manifest (`docs/manifest.md`, [`yardstick_refvals::Manifest`]).
//!
//! * SEV-SNP: every `snp[]` entry of mode `snp` is an acceptable launch digest (one per launch parameter
//!   set); SEV and SEV-ES digests do not apply to SNP reports.
//! * TPM: every PCR of `tpm.pcrs`, in every bank it lists. PCR 11 is also accepted after any boot-phase path
//!   of `tpm.pcr11_phases` (the value a quote shows depends on how far the guest has booted, which is why
//!   Trustee's `snp_pcr11` / `tdx_pcr11` list them all). `tpm.events` become the expected events per PCR, so
//!   that a mismatch names the first event where the guest's log leaves them.
//!
//! ```
//! use yardstick_common::hash::Algorithm;
//! use yardstick_refvals::{Manifest, TpmRefs};
//! use yardstick_tpm::PcrBanks;
//! let mut pcrs = PcrBanks::new();
//! pcrs.set(11, Algorithm::Sha256.digest(b"stub"));
//! let mut m = Manifest::new();
//! m.tpm = Some(TpmRefs { pcrs, pcr11_phases: vec![], events: vec![], assumptions: vec![] });
//! let r = yardstick_verify::refvals::pcr_reference(&m, "m.json", None).unwrap();
//! assert_eq!(r.values.len(), 1);
//! assert!(yardstick_verify::refvals::snp_reference(&m, "m.json").is_none());
//! ```

use yardstick_common::hash::Digest;
use yardstick_refvals::Manifest;
use yardstick_snp::sev_mode::SevMode;

use crate::snp::SnpReference;
use crate::tpm::{ExpectedEvent, PcrReference};

/// The manifest's SEV-SNP launch digests, or `None` if it has none.
pub fn snp_reference(m: &Manifest, source: &str) -> Option<SnpReference> {
    let measurements: Vec<[u8; 48]> = m
        .snp
        .iter()
        .filter(|s| s.mode == SevMode::SevSnp)
        .filter_map(|s| <[u8; 48]>::try_from(s.measurement.as_bytes()).ok())
        .collect();
    (!measurements.is_empty()).then(|| SnpReference {
        measurements,
        source: source.to_string(),
    })
}

/// The manifest's PCRs (only those in `only`, when given), or `None` if it lists none of them.
pub fn pcr_reference(m: &Manifest, source: &str, only: Option<&[u32]>) -> Option<PcrReference> {
    let tpm = m.tpm.as_ref()?;
    let wanted = |pcr: u32| only.is_none_or(|o| o.contains(&pcr));
    let mut r = PcrReference {
        source: source.to_string(),
        ..PcrReference::default()
    };
    for (alg, pcr, d) in tpm.pcrs.iter() {
        if wanted(pcr) {
            r.add(alg, pcr, *d);
        }
    }
    if wanted(11) {
        for phase in &tpm.pcr11_phases {
            for (alg, pcr, d) in phase.pcrs.iter() {
                // Only banks the manifest predicts PCR 11 for: a phase value alone is no reference for a bank.
                if pcr == 11 && r.values.contains_key(&(alg, 11)) {
                    r.add(alg, 11, *d);
                }
            }
        }
    }
    // Phase measurements (systemd-pcrphase) follow the stub's events; the manifest's PCR 11 events are the
    // stub's, whose end state is one of the accepted values, so phase events are not expected events.
    for e in tpm.events.iter().filter(|e| e.component != "phase") {
        for (alg, d) in &e.digests {
            if !r.values.contains_key(&(*alg, e.pcr)) {
                continue;
            }
            if let Some(digest) = Digest::from_bytes(*alg, d.as_bytes()) {
                r.events
                    .entry((*alg, e.pcr))
                    .or_default()
                    .push(ExpectedEvent {
                        digest,
                        description: e.description.clone(),
                    });
            }
        }
    }
    (!r.is_empty()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use yardstick_common::hash::Algorithm;
    use yardstick_refvals::{HexBytes, MeasuredEvent, PhaseValue, SnpLaunch, TpmRefs};
    use yardstick_snp::vmm_types::VmmType;
    use yardstick_tpm::PcrBanks;

    fn launch(mode: SevMode, len: usize, byte: u8) -> SnpLaunch {
        SnpLaunch {
            mode,
            measurement: HexBytes(vec![byte; len]),
            vcpus: 1,
            vcpu_type: None,
            vcpu_sig: 0,
            vmm_type: VmmType::Qemu,
            guest_features: 1,
            kernel_hashes: false,
            components: vec!["firmware".into()],
        }
    }

    #[test]
    fn snp_digests_of_mode_snp_only() {
        let mut m = Manifest::new();
        m.snp.push(launch(SevMode::SevEs, 32, 1));
        assert!(snp_reference(&m, "m").is_none());
        m.snp.push(launch(SevMode::SevSnp, 48, 2));
        m.snp.push(launch(SevMode::SevSnp, 48, 3));
        let r = snp_reference(&m, "m").unwrap();
        assert_eq!(r.measurements, vec![[2; 48], [3; 48]]);
    }

    #[test]
    fn pcrs_phases_and_events() {
        let s = Algorithm::Sha256;
        let mut pcrs = PcrBanks::new();
        pcrs.set(4, s.digest(b"4"));
        pcrs.set(11, s.digest(b"stub"));
        let phase = |name: &str, alg: Algorithm, v: &[u8]| {
            let mut p = PcrBanks::new();
            p.set(11, alg.digest(v));
            PhaseValue {
                phase: name.into(),
                pcrs: p,
            }
        };
        let ev = |pcr: u32, component: &str, data: &[u8]| MeasuredEvent {
            pcr,
            component: component.into(),
            description: format!("ev {}", String::from_utf8_lossy(data)),
            digests: BTreeMap::from([
                (s, HexBytes::from(&s.digest(data))),
                (
                    Algorithm::Sha384,
                    HexBytes::from(&Algorithm::Sha384.digest(data)),
                ),
            ]),
        };
        let mut m = Manifest::new();
        m.tpm = Some(TpmRefs {
            pcrs,
            pcr11_phases: vec![
                phase("", s, b"stub"),
                phase("enter-initrd", s, b"initrd"),
                phase("enter-initrd", Algorithm::Sha384, b"x"),
            ],
            events: vec![
                ev(4, "uki", b"a"),
                ev(11, "uki", b"b"),
                ev(11, "phase", b"enter-initrd"),
            ],
            assumptions: vec![],
        });
        let r = pcr_reference(&m, "m", None).unwrap();
        assert_eq!(
            r.values[&(s, 11)],
            vec![s.digest(b"stub"), s.digest(b"initrd")]
        );
        assert!(
            !r.values.contains_key(&(Algorithm::Sha384, 11)),
            "no sha384 PCR 11 prediction"
        );
        assert_eq!(r.events[&(s, 11)].len(), 1, "phase events are not expected");
        assert_eq!(r.events[&(s, 4)][0].description, "ev a");
        assert!(!r.events.contains_key(&(Algorithm::Sha384, 4)));
        let only = pcr_reference(&m, "m", Some(&[11])).unwrap();
        assert_eq!(only.values.keys().collect::<Vec<_>>(), [&(s, 11)]);
        assert!(pcr_reference(&m, "m", Some(&[7])).is_none());
        assert!(pcr_reference(&Manifest::new(), "m", None).is_none());
    }
}
