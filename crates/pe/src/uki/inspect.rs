//! What `uki inspect` prints about a UKI: the stub, the Authenticode digest, the command line and every section
//! with its layout, whether it is measured into PCR 11, and its SHA-256.

use std::fmt::Write as _;

use yardstick_common::hash::Algorithm;

use super::stub_initrd::{StubExtras, combined_initrd, generated_from_uki};
use super::{Section, Uki};
use crate::pe::PeError;

/// One section (its JSON field order is the output's).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InspectedSection {
    /// PE section name.
    pub name: String,
    /// File offset of the stored bytes.
    pub file_offset: u32,
    /// Stored size.
    pub raw_size: u32,
    /// RVA.
    pub virtual_address: u32,
    /// Mapped size.
    pub virtual_size: u32,
    /// Whether the stub measures it into PCR 11.
    pub measured_into_pcr11: bool,
    /// SHA-256 of the bytes as loaded.
    pub sha256: String,
}

/// A cpio archive systemd-stub generates from the UKI and appends to its initrd (its JSON field order is the
/// output's).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InspectedStubCpio {
    /// Where the file appears in the initrd (`/.extra/tpm2-pcr-signature.json`).
    pub path: String,
    /// The section it is made from.
    pub from: String,
    /// The archive's size in bytes (absent when the stub generation's framing is not modelled).
    pub archive_size: Option<usize>,
    /// The PCR the stub measures the archive into (none for `.pcrsig` and `.pcrpkey`).
    pub measured_into_pcr: Option<u32>,
}

/// The initrd the kernel receives when the stub appends archives (its JSON field order is the output's).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PassedInitrd {
    /// Its size in bytes.
    pub size: usize,
    /// Bytes of `.ucode` (systemd-stub 257 places it first, padded to 4), when the UKI has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ucode: Option<usize>,
    /// Zero bytes the stub appends to `.initrd` before the archives.
    pub padding: usize,
    /// SHA-256 of the bytes (the Linux EFI stub's PCR 9 "Linux initrd" event in the sha256 bank).
    pub sha256: String,
}

/// A UKI as `uki inspect` describes it (its JSON field order is the output's).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// The file, as named.
    pub file: String,
    /// Its size.
    pub size: usize,
    /// The systemd-stub version from `.sdmagic`.
    pub stub_version: Option<String>,
    /// The section table in use.
    pub stub_generation: String,
    /// The sections present, in the order the stub measures them into PCR 11.
    pub pcr11_order: Vec<String>,
    /// Authenticode SHA-256 of the whole UKI (what the firmware measures into PCR 4).
    pub authenticode_sha256: String,
    /// Whether it carries an Authenticode signature.
    pub signed: bool,
    /// The `.cmdline` text.
    pub cmdline: Option<String>,
    /// The `.uname` text.
    pub uname: Option<String>,
    /// Every section.
    pub sections: Vec<InspectedSection>,
    /// The cpio archives the stub generates from the UKI (nothing on the ESP counted).
    pub stub_cpios: Vec<InspectedStubCpio>,
    /// What the kernel receives as its initrd when `stub_cpios` is not empty and modelled.
    pub initrd_passed: Option<PassedInitrd>,
}

impl Inspection {
    /// Describes `uki` (the parse of `data`, read from `file`).
    pub fn new(file: &str, data: &[u8], uki: &Uki<'_>) -> Result<Inspection, PeError> {
        let sections: Vec<InspectedSection> = uki
            .sections()
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let sha256 = uki
                    .section_bytes_at(i)
                    .map(|b| Algorithm::Sha256.digest(&b).to_hex())
                    .unwrap_or_default();
                InspectedSection {
                    name: s.name,
                    file_offset: s.file_offset,
                    raw_size: s.raw_size,
                    virtual_address: s.virtual_address,
                    virtual_size: s.virtual_size,
                    measured_into_pcr11: s.measured,
                    sha256,
                }
            })
            .collect();
        let present: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        let pcr11_order = uki
            .generation()
            .measured_sections()
            .filter(|s| present.contains(&s.name()))
            .map(|s| s.name().to_string())
            .collect();
        let combined = combined_initrd(uki, &StubExtras::default()).ok();
        let stub_cpios = generated_from_uki(uki)
            .iter()
            .map(|c| InspectedStubCpio {
                path: c.path(),
                from: c.section().name().to_string(),
                archive_size: combined.as_ref().and_then(|x| {
                    x.archives
                        .iter()
                        .find(|(k, _)| *k == c)
                        .map(|(_, a)| a.len())
                }),
                measured_into_pcr: c.measured_into(),
            })
            .collect();
        let initrd_passed = combined.filter(|c| !c.is_plain()).map(|c| PassedInitrd {
            size: c.len(),
            ucode: (!c.ucode.is_empty()).then_some(c.ucode.len()),
            padding: c.padding,
            sha256: Algorithm::Sha256.digest_parts(&c.parts()).to_hex(),
        });
        let authenticode_sha256 =
            crate::authenticode::authenticode_digest_with(data, uki.headers(), Algorithm::Sha256)?
                .to_hex();
        Ok(Inspection {
            file: file.to_string(),
            size: data.len(),
            stub_version: uki.stub_version().map(str::to_string),
            stub_generation: uki.generation().to_string(),
            pcr11_order,
            authenticode_sha256,
            signed: uki.headers().security_dir().is_some(),
            cmdline: uki.cmdline(),
            uname: uki.section_text(Section::Uname.name()),
            sections,
            stub_cpios,
            initrd_passed,
        })
    }

    /// The text output.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "file:        {} ({} bytes)", self.file, self.size);
        let _ = writeln!(
            s,
            "stub:        systemd-stub {} (section table {})",
            self.stub_version.as_deref().unwrap_or("?"),
            self.stub_generation
        );
        let _ = writeln!(
            s,
            "authenticode sha256: {}{}",
            self.authenticode_sha256,
            if self.signed { " (signed)" } else { "" }
        );
        if let Some(u) = &self.uname {
            let _ = writeln!(s, "uname:       {u}");
        }
        if let Some(c) = &self.cmdline {
            let _ = writeln!(s, "cmdline:     {}", c.trim_end());
        }
        let _ = writeln!(s, "PCR 11 order: {}", self.pcr11_order.join(" "));
        let _ = writeln!(
            s,
            "{:<9} {:>10} {:>10} {:>10} {:>10}  {:<3} sha256",
            "section", "offset", "raw size", "vaddr", "vsize", "m11"
        );
        for x in &self.sections {
            let _ = writeln!(
                s,
                "{:<9} {:>#10x} {:>10} {:>#10x} {:>10}  {:<3} {}",
                x.name,
                x.file_offset,
                x.raw_size,
                x.virtual_address,
                x.virtual_size,
                if x.measured_into_pcr11 { "yes" } else { "-" },
                x.sha256
            );
        }
        for (i, c) in self.stub_cpios.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:<12} {} (from {}, {}, {})",
                if i == 0 { "stub cpios:" } else { "" },
                c.path,
                c.from,
                c.archive_size.map_or_else(
                    || "framing of this stub generation not modelled".to_string(),
                    |n| format!("{n}-byte archive")
                ),
                c.measured_into_pcr.map_or_else(
                    || "not measured by the stub".to_string(),
                    |p| format!("PCR {p}")
                )
            );
        }
        if let Some(p) = &self.initrd_passed {
            let _ = writeln!(
                s,
                "initrd passed to the kernel (PCR 9): {} bytes = {}.initrd + {} zero bytes + {} stub cpio{}, sha256 {}",
                p.size,
                p.ucode
                    .map(|n| format!(".ucode ({n} bytes, padded to 4) + "))
                    .unwrap_or_default(),
                p.padding,
                self.stub_cpios.len(),
                if self.stub_cpios.len() == 1 { "" } else { "s" },
                p.sha256
            );
        }
        s
    }
}
