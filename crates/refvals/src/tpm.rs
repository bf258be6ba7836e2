//! The manifest's `tpm` section from a PCR prediction (`yardstick_tpm::predict`), so that `image build`,
//! `refvals create` and tests fill it the same way.

use std::collections::BTreeMap;

use yardstick_tpm::PcrBanks;
use yardstick_tpm::eventlog::EventType;
use yardstick_tpm::predict::firmware::WholeSet;
use yardstick_tpm::predict::{PredictedEvent, PredictedEventKind, Prediction};

use crate::hexfmt::HexBytes;
use crate::manifest::{MeasuredEvent, PhaseValue, TpmRefs};

/// Which boot component makes a predicted measurement, as `refvals export --format pcrlock --component`
/// groups them: `uki` is what `systemd-pcrlock lock-uki` covers (the UKI's Authenticode in PCR 4, its
/// sections in PCR 11); `kernel` is the kernel image systemd-stub loads (PCR 4) and what the Linux EFI stub
/// measures (PCR 9: its command line and initrd); of the firmware PCRs (`--firmware`), `firmware-code` is
/// what `systemd-pcrlock lock-firmware-code` covers (PCR 0's S-CRTM version and firmware volumes, PCR 2's
/// option ROMs), `firmware-config` what `lock-firmware-config` covers (PCR 1's boot variables, PCR 3) and
/// `gpt` what `lock-gpt` covers (PCR 5's GPT event); everything else comes from the firmware (`firmware`:
/// separators, the PCR 4 and PCR 5 actions, PCR 7 Secure Boot state), which systemd's own `500-separator`,
/// `350-action-efi-application` and `700-action-efi-exit-boot-services` files describe.
fn component(e: &PredictedEvent) -> &'static str {
    if !matches!(
        e.kind,
        PredictedEventKind::Separator | PredictedEventKind::Action(_)
    ) {
        match e.pcr {
            0 | 2 => return "firmware-code",
            1 | 3 => return "firmware-config",
            _ => {}
        }
    }
    match e.kind {
        PredictedEventKind::UkiAuthenticode
        | PredictedEventKind::UkiSectionName(_)
        | PredictedEventKind::UkiSection(_)
        | PredictedEventKind::UkiProfile(_) => "uki",
        PredictedEventKind::KernelAuthenticode
        | PredictedEventKind::LoadOptions
        | PredictedEventKind::LinuxInitrd
        | PredictedEventKind::LinuxInitrdWithStubCpios(_)
        | PredictedEventKind::LinuxInitrdWithUcode(_)
        | PredictedEventKind::LinuxInitrdWithEspExtras(_) => "kernel",
        PredictedEventKind::AddonAuthenticode
        | PredictedEventKind::AddonCmdline
        | PredictedEventKind::AddonUcode
        | PredictedEventKind::AddonInitrd
        | PredictedEventKind::StubDropin(_) => "esp-extras",
        PredictedEventKind::GptTable => "gpt",
        PredictedEventKind::SecureBootVariable(_)
        | PredictedEventKind::Separator
        | PredictedEventKind::Action(_)
        | PredictedEventKind::DbAuthority
        | PredictedEventKind::CrtmVersion
        | PredictedEventKind::FirmwareVolume(_)
        | PredictedEventKind::BootVariable(_)
        | PredictedEventKind::OptionRomDriver(..)
        | PredictedEventKind::AcpiData(_) => "firmware",
    }
}

impl TpmRefs {
    /// The `tpm` section for a prediction: its PCRs, PCR 11 after each boot phase path (`""` first, then
    /// `enter-initrd`, `enter-initrd:leave-initrd`, ...), every predicted event with its type in the
    /// description (`EV_IPL section .cmdline`), and the platform assumptions the prediction rests on.
    /// Callers add their own assumptions (firmware build, boot order) to `assumptions`.
    ///
    /// ```
    /// use yardstick_common::hash::Algorithm;
    /// use yardstick_refvals::TpmRefs;
    /// # fn demo(uki: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// let p = yardstick_tpm::predict::predict(uki, &Default::default(), &[Algorithm::Sha256])?;
    /// let tpm = TpmRefs::from_prediction(&p);
    /// assert_eq!(tpm.pcr11_phases[0].phase, "");
    /// # Ok(()) }
    /// ```
    pub fn from_prediction(p: &Prediction) -> TpmRefs {
        let mut phases: Vec<PhaseValue> = Vec::new();
        let mut stub_only = PcrBanks::new();
        for (_, pcr, d) in p.pcrs.iter() {
            if pcr == 11 {
                stub_only.set(11, *d);
            }
        }
        if !stub_only.is_empty() {
            phases.push(PhaseValue {
                phase: String::new(),
                pcrs: stub_only,
            });
        }
        // Phase paths are the prefixes of PHASES; every bank has the same list.
        let mut path = String::new();
        for (i, word) in yardstick_tpm::predict::PHASES.iter().enumerate() {
            if !path.is_empty() {
                path.push(':');
            }
            path.push_str(word);
            let mut pcrs = PcrBanks::new();
            for list in p.pcr11_phases.values() {
                if let Some((_, d)) = list.get(i) {
                    pcrs.set(11, *d);
                }
            }
            if !pcrs.is_empty() {
                phases.push(PhaseValue {
                    phase: path.clone(),
                    pcrs,
                });
            }
        }
        let events = p.events.iter().map(measured).collect();
        TpmRefs {
            pcrs: p.pcrs.clone(),
            pcr11_phases: phases,
            events,
            assumptions: vec![
                format!(
                    "UKI booted directly by OVMF (QEMU q35), systemd-stub section table {}",
                    p.stub_generation
                ),
                format!(
                    "Secure Boot {}",
                    if p.secure_boot {
                        "on (PCR 7 from the given Secure Boot variables)"
                    } else {
                        "off, no keys enrolled"
                    }
                ),
                pcr12_13_assumption(p),
                "PCR 15 not predicted: systemd (pcrmachine, pcrfs) measures the machine ID and file system \
                 identities there, which an image can leave to the first boot"
                    .to_string(),
            ],
            not_predicted: BTreeMap::new(),
        }
    }

    /// The `tpm` section for the whole PCR set of a QEMU + OVMF boot (`pcr predict --firmware`'s
    /// [`WholeSet`], PCRs 0-15 selected): the firmware's PCRs 0-3, 5, 6 and the UKI's 4, 7, 9, 11-13 in
    /// `pcrs`, every predicted event (the firmware's, then the UKI's), PCR 11 after each phase, and in
    /// `not_predicted` each PCR the firmware or the stub measures that is refused, with why (PCR 7 too when
    /// the firmware measures Secure Boot off differently from what the UKI prediction models). Without a UKI
    /// in `w`, the firmware PCRs alone. Callers add their assumptions (VM configuration) to `assumptions`.
    pub fn from_whole_set(w: &WholeSet) -> TpmRefs {
        let mut refs = match &w.uki {
            Some(u) => TpmRefs::from_prediction(u),
            None => TpmRefs {
                pcrs: PcrBanks::new(),
                pcr11_phases: Vec::new(),
                events: Vec::new(),
                assumptions: Vec::new(),
                not_predicted: BTreeMap::new(),
            },
        };
        refs.pcrs = w.pcrs();
        refs.events = w.events().into_iter().map(measured).collect();
        refs.not_predicted = w.refused();
        refs
    }
}

/// A predicted event as the manifest records it: its type in the description (`EV_IPL section .cmdline`).
fn measured(e: &PredictedEvent) -> MeasuredEvent {
    MeasuredEvent {
        pcr: e.pcr,
        component: component(e).to_string(),
        description: format!("{} {}", EventType(e.event_type()), e.description()),
        digests: e
            .digests
            .iter()
            .map(|d| (d.algorithm(), HexBytes::from(d)))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// What PCR 12 and 13 rest on: nothing extended them, or the events the stub logs there (a profile, ESP
/// extras); never a command line from a boot loader.
fn pcr12_13_assumption(p: &Prediction) -> String {
    let extra: Vec<String> = p
        .events
        .iter()
        .filter(|e| e.pcr == 12 || e.pcr == 13)
        .map(|e| format!("{} (PCR {})", e.description(), e.pcr))
        .collect();
    if extra.is_empty() {
        "PCR 12 and 13 untouched: no loader command line, credentials, sysexts or addons".into()
    } else {
        format!(
            "PCR 12 and 13: no loader command line; systemd-stub measures {}",
            extra.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use yardstick_common::hash::{Algorithm, Digest};

    fn prediction() -> Prediction {
        let banks = [Algorithm::Sha256, Algorithm::Sha384];
        let ev = |pcr: u32, kind: PredictedEventKind, data: &[u8]| PredictedEvent {
            pcr,
            kind,
            digests: banks.iter().map(|a| a.digest(data)).collect(),
        };
        let events = vec![
            ev(4, PredictedEventKind::Action("Calling"), b"c"),
            ev(4, PredictedEventKind::UkiAuthenticode, b"u"),
            ev(
                11,
                PredictedEventKind::UkiSection(yardstick_pe::uki::Section::Cmdline),
                b"x",
            ),
            ev(4, PredictedEventKind::KernelAuthenticode, b"k"),
            ev(9, PredictedEventKind::LinuxInitrd, b"i"),
        ];
        let mut pcrs = PcrBanks::new();
        for e in &events {
            for d in &e.digests {
                if pcrs.get(d.algorithm(), e.pcr).is_none() {
                    pcrs.set(e.pcr, d.algorithm().zero());
                }
                pcrs.extend(e.pcr, d);
            }
        }
        let mut pcr11_phases = BTreeMap::new();
        for alg in banks {
            let mut v: Digest = *pcrs.get(alg, 11).unwrap();
            let mut list = Vec::new();
            for p in yardstick_tpm::predict::PHASES {
                v = alg.extend(&v, &alg.digest(p.as_bytes()));
                list.push((p, v));
            }
            pcr11_phases.insert(alg, list);
        }
        Prediction {
            pcrs,
            pcr11_phases,
            events,
            stub_generation: yardstick_pe::StubGeneration::Systemd254,
            secure_boot: false,
            secure_boot_variable_absent: false,
        }
    }

    #[test]
    fn section_from_prediction_validates_and_keeps_order() {
        let p = prediction();
        let t = TpmRefs::from_prediction(&p);
        assert_eq!(t.pcrs, p.pcrs);
        let phases: Vec<&str> = t.pcr11_phases.iter().map(|x| x.phase.as_str()).collect();
        assert_eq!(
            phases,
            [
                "",
                "enter-initrd",
                "enter-initrd:leave-initrd",
                "enter-initrd:leave-initrd:sysinit",
                "enter-initrd:leave-initrd:sysinit:ready"
            ]
        );
        assert_eq!(
            t.pcr11_phases[0].pcrs.get(Algorithm::Sha384, 11),
            p.pcrs.get(Algorithm::Sha384, 11)
        );
        assert_eq!(
            t.pcr11_phases[4].pcrs.get(Algorithm::Sha256, 11),
            Some(&p.pcr11_phases[&Algorithm::Sha256][3].1)
        );
        let comps: Vec<&str> = t.events.iter().map(|e| e.component.as_str()).collect();
        assert_eq!(comps, ["firmware", "uki", "uki", "kernel", "kernel"]);
        assert_eq!(t.events[2].description, "EV_IPL section .cmdline");
        assert_eq!(
            t.events[2].digests[&Algorithm::Sha384].as_bytes(),
            Algorithm::Sha384.digest(b"x").as_ref()
        );
        let mut m = Manifest::new();
        m.tpm = Some(t);
        assert_eq!(Manifest::from_json(m.to_json().as_bytes()).unwrap(), m);
    }
}
