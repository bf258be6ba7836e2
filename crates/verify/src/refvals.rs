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
//! m.tpm = Some(TpmRefs { pcrs, pcr11_phases: vec![], events: vec![], assumptions: vec![],
//!     not_predicted: Default::default() });
//! let r = yardstick_verify::refvals::pcr_reference(&m, "m.json", None).unwrap();
//! assert_eq!(r.values.len(), 1);
//! assert!(yardstick_verify::refvals::snp_reference(&m, "m.json").is_none());
//! ```
//!
//! A relying party brings its reference values as a manifest file ([`ManifestFile`]), as literal launch
//! digests (`--measurement`, [`given_measurements`]) or as a PCR JSON file (`--expected-pcrs`,
//! [`expected_pcrs`]). [`launch_reference`] merges the launch digests of both kinds into one
//! [`SnpReference`]; [`ManifestFile::pcr_reference`] picks the manifest's PCRs. Each says, as an
//! [`InputError`], when the reference values cannot answer the question asked (a manifest without SEV-SNP
//! digests when they are required, without a `tpm` section, or predicting none of the PCRs asked for).

use std::path::{Path, PathBuf};

use yardstick_common::hash::Digest;
use yardstick_refvals::Manifest;
use yardstick_snp::sev_mode::SevMode;
use yardstick_tpm::PcrBanks;

use crate::input::{InputError, InputKind, hex_arg, read};
use crate::snp::SnpReference;
use crate::tpm::{ExpectedEvent, PcrReference};

/// A reference-value manifest and the path it was read from, which names it in checks
/// (`PCR 11 sha256 (disk.img.manifest.json)`) and in errors.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
}

impl ManifestFile {
    /// Reads and parses a manifest.
    pub fn load(path: &Path) -> Result<ManifestFile, InputError> {
        let manifest =
            Manifest::from_json(&read(path, InputKind::MANIFEST)?).map_err(|source| {
                InputError::Manifest {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        Ok(ManifestFile {
            path: path.to_path_buf(),
            manifest,
        })
    }

    /// The name of the reference values in checks: the path as given.
    pub fn source(&self) -> String {
        self.path.display().to_string()
    }

    /// The manifest's SEV-SNP launch digests ([`snp_reference`]), or `None` if it has none.
    pub fn launch_digests(&self) -> Option<SnpReference> {
        snp_reference(&self.manifest, &self.source())
    }

    /// True if the manifest predicts PCRs (has a `tpm` section).
    pub fn has_tpm(&self) -> bool {
        self.manifest.tpm.is_some()
    }

    /// True if the manifest lists launch digests (`snp[]` entries of any mode).
    pub fn has_snp(&self) -> bool {
        !self.manifest.snp.is_empty()
    }

    /// The manifest's PCRs ([`pcr_reference`]; only those in `only`, when given). An error if the manifest
    /// has no `tpm` section, an index in `only` is no PCR, or it predicts none of the PCRs asked for.
    pub fn pcr_reference(&self, only: Option<&[u32]>) -> Result<PcrReference, InputError> {
        if !self.has_tpm() {
            return Err(InputError::NoTpmSection {
                path: self.path.clone(),
            });
        }
        if let Some(p) = only.and_then(|o| o.iter().find(|p| **p > yardstick_tpm::pcr::MAX_PCR)) {
            return Err(InputError::NotAPcr(*p));
        }
        pcr_reference(&self.manifest, &self.source(), only).ok_or_else(|| {
            InputError::NoneOfThePcrs {
                path: self.path.clone(),
                asked: only
                    .map(|o| o.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
                    .unwrap_or_default(),
            }
        })
    }
}

/// Launch digests given literally (`--measurement`, 48-byte hex each) as one reference named
/// `--measurement`; `None` if none are given.
pub fn given_measurements(hex: &[String]) -> Result<Option<SnpReference>, InputError> {
    if hex.is_empty() {
        return Ok(None);
    }
    let mut measurements = Vec::new();
    for h in hex {
        let b = hex_arg("--measurement", h, 48, false)?;
        let digest: [u8; 48] = b
            .as_slice()
            .try_into()
            .map_err(|_| InputError::MeasurementLength(b.len()))?;
        measurements.push(digest);
    }
    Ok(Some(SnpReference {
        measurements,
        source: "--measurement".into(),
    }))
}

/// The acceptable launch digests: those given literally ([`given_measurements`]) and the manifest's, as one
/// reference whose source names both (`--measurement + m.json`). When `required`, a manifest without an
/// SEV-SNP digest is an error: it cannot answer the question.
pub fn launch_reference(
    given: &[String],
    manifest: Option<&ManifestFile>,
    required: bool,
) -> Result<Option<SnpReference>, InputError> {
    let mut r = given_measurements(given)?;
    if let Some(m) = manifest {
        match m.launch_digests() {
            Some(from_m) => {
                r = Some(match r {
                    None => from_m,
                    Some(g) => g.merged(from_m),
                });
            }
            None if required => {
                return Err(InputError::NoLaunchDigest {
                    path: m.path.clone(),
                });
            }
            None => {}
        }
    }
    Ok(r)
}

/// Expected PCR values from a PCR JSON file (`{"sha256": {"11": "<hex>"}}`, what `yardstick pcr predict`
/// writes), each the single acceptable value of its PCR. A file without a value is an error.
pub fn expected_pcrs(path: &Path) -> Result<PcrReference, InputError> {
    let banks: PcrBanks =
        serde_json::from_slice(&read(path, InputKind::PCR_VALUES)?).map_err(|source| {
            InputError::PcrJson {
                path: path.to_path_buf(),
                source,
            }
        })?;
    if banks.is_empty() {
        return Err(InputError::NoPcrValues {
            path: path.to_path_buf(),
        });
    }
    Ok(PcrReference::from_banks(&banks, path.display().to_string()))
}

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

    fn file(name: &str, manifest: Manifest) -> ManifestFile {
        ManifestFile {
            path: name.into(),
            manifest,
        }
    }

    #[test]
    fn launch_digests_given_and_from_the_manifest() {
        let mut m = Manifest::new();
        m.snp.push(launch(SevMode::SevSnp, 48, 2));
        let m = file("m.json", m);
        let given = vec!["01".repeat(48)];
        let r = launch_reference(&given, Some(&m), true).unwrap().unwrap();
        assert_eq!(r.measurements, vec![[1; 48], [2; 48]]);
        assert_eq!(r.source, "--measurement + m.json");
        assert_eq!(
            launch_reference(&[], Some(&m), true)
                .unwrap()
                .unwrap()
                .source,
            "m.json"
        );
        let none = file("e.json", Manifest::new());
        let r = launch_reference(&given, Some(&none), false)
            .unwrap()
            .unwrap();
        assert_eq!(r.source, "--measurement");
        assert_eq!(
            launch_reference(&given, Some(&none), true)
                .unwrap_err()
                .to_string(),
            "e.json: the manifest has no SEV-SNP launch digest (snp[] entry of mode snp) to compare"
        );
        assert!(launch_reference(&[], None, true).unwrap().is_none());
        for (bad, msg) in [
            ("abcd", "--measurement: 2 bytes, a launch digest is 48"),
            (
                &"00".repeat(49),
                "--measurement: 49 bytes, at most 48 allowed",
            ),
            ("zz", "--measurement: bad hex"),
        ] {
            let e = given_measurements(&[bad.to_string()]).unwrap_err();
            assert_eq!(e.to_string(), msg);
        }
    }

    #[test]
    fn manifest_pcrs_or_why_not() {
        let mut pcrs = PcrBanks::new();
        pcrs.set(
            11,
            yardstick_common::hash::Algorithm::Sha256.digest(b"stub"),
        );
        let mut m = Manifest::new();
        m.tpm = Some(TpmRefs {
            pcrs,
            pcr11_phases: vec![],
            events: vec![],
            assumptions: vec![],
            not_predicted: Default::default(),
        });
        let m = file("m.json", m);
        assert_eq!(m.pcr_reference(None).unwrap().source, "m.json");
        assert_eq!(
            m.pcr_reference(Some(&[11, 24])).unwrap_err().to_string(),
            "--refvals-pcrs: 24 is not a PCR index (0-23)"
        );
        assert_eq!(
            m.pcr_reference(Some(&[7, 8])).unwrap_err().to_string(),
            "m.json: the manifest predicts none of the PCRs asked for (7,8)"
        );
        assert_eq!(
            file("e.json", Manifest::new())
                .pcr_reference(Some(&[11]))
                .unwrap_err()
                .to_string(),
            "e.json: the manifest has no tpm section (predicted PCRs) to compare"
        );
    }

    #[test]
    fn expected_pcr_files() {
        let dir = std::env::temp_dir().join(format!("yardstick-refvals-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let good = write(
            "good.json",
            &format!(r#"{{"sha256": {{"11": "{}"}}}}"#, "ab".repeat(32)),
        );
        let r = expected_pcrs(&good).unwrap();
        assert_eq!(r.values.len(), 1);
        assert_eq!(r.source, good.display().to_string());
        let empty = write("empty.json", "{}");
        assert_eq!(
            expected_pcrs(&empty).unwrap_err().to_string(),
            format!("{}: no PCR values", empty.display())
        );
        let bad = write("bad.json", "nope");
        assert!(matches!(
            expected_pcrs(&bad),
            Err(InputError::PcrJson { .. })
        ));
        assert!(matches!(
            expected_pcrs(&dir.join("missing.json")),
            Err(InputError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
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
            not_predicted: Default::default(),
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
