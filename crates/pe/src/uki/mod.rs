//! Unified Kernel Images: building ([`build_uki`]), reading ([`Uki`]), the sections systemd-stub understands
//! ([`Section`]) and the per-stub section tables ([`StubGeneration`]) that say which sections the stub measures
//! into PCR 11 and in which order.

pub mod build;
mod inspect;
pub mod sbat;
pub mod section;
pub mod stub_initrd;
pub mod table;

pub use build::{UkiInputs, build_uki};
pub use inspect::{InspectedSection, InspectedStubCpio, Inspection, PassedInitrd};
pub use section::Section;
pub use stub_initrd::{
    AddonParts, CombinedInitrd, Dropin, EspFile, StubCpio, StubCpioSet, StubExtras,
    combined_initrd, read_addon, stub_reads_name,
};
pub use table::StubGeneration;

use yardstick_common::hash::{Algorithm, Digest};

use crate::pe::{PeError, PeHeaders, loaded_section, loaded_section_bytes};

/// Why a UKI could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UkiError {
    /// An input is not a valid PE file.
    #[error("{what}")]
    Input {
        /// Which input.
        what: &'static str,
        /// The PE problem.
        source: PeError,
    },
    /// The UKI itself is not a valid PE file.
    #[error(transparent)]
    Pe(#[from] PeError),
    /// A PE file without a `.linux` section ([`Section::Linux`]) is not a UKI.
    #[error("not a UKI: no .linux section")]
    NoLinux,
    /// The stub version could not be read from `.sdmagic`.
    #[error("cannot tell the systemd-stub version: {0}")]
    UnknownStub(String),
    /// The stub already carries an Authenticode signature (ukify refuses it too).
    #[error("the stub is signed; sign the finished UKI instead")]
    SignedStub,
    /// The sections do not fit the way ukify lays them out.
    #[error("cannot lay out the UKI: {0}")]
    Layout(String),
    /// Bad SBAT input.
    #[error("SBAT: {0}")]
    Sbat(String),
    /// What the stub would do with this UKI is known not to be modelled (no guess is made).
    #[error("not modelled: {0}")]
    NotModelled(String),
    /// A file on the ESP beside the UKI (an addon, a credential, an extension) is not what systemd-stub
    /// would pick up and use.
    #[error("{0}")]
    Extra(String),
    /// The requested profile is not in the UKI (systemd-stub refuses to boot it).
    #[error(
        "the UKI has no profile {profile} (it has {count} .profile sections; profile 0 is the default)"
    )]
    NoProfile {
        /// The profile asked for.
        profile: u32,
        /// How many `.profile` sections the UKI has.
        count: usize,
    },
}

/// Which input of [`build_uki`] an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// The stub.
    Stub,
    /// The kernel.
    Kernel,
    /// The SBAT text given by the user.
    Sbat,
    /// None of the inputs alone: the UKI being made.
    Output,
}

impl UkiError {
    /// The input of [`build_uki`] at fault, so that a message can name its file.
    pub fn culprit(&self) -> Culprit {
        match self {
            UkiError::Input { what: "kernel", .. } => Culprit::Kernel,
            UkiError::Input { .. } | UkiError::SignedStub | UkiError::Layout(_) => Culprit::Stub,
            UkiError::Sbat(m) if m.starts_with("stub:") => Culprit::Stub,
            UkiError::Sbat(m) if m.starts_with("kernel:") => Culprit::Kernel,
            UkiError::Sbat(_) => Culprit::Sbat,
            _ => Culprit::Output,
        }
    }
}

/// A section of a UKI as the firmware loads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UkiSection {
    /// PE section name.
    pub name: String,
    /// File offset of the stored bytes.
    pub file_offset: u32,
    /// Stored size (`SizeOfRawData`).
    pub raw_size: u32,
    /// RVA.
    pub virtual_address: u32,
    /// Mapped size (`VirtualSize`): the number of bytes systemd-stub measures.
    pub virtual_size: u32,
    /// Whether this stub generation measures the section into PCR 11.
    pub measured: bool,
}

/// A parsed UKI: the PE headers, the stub generation and access to section contents as loaded in memory.
#[derive(Debug, Clone)]
pub struct Uki<'a> {
    data: &'a [u8],
    headers: PeHeaders,
    stub_version: Option<String>,
    generation: StubGeneration,
    profile: u32,
}

/// The PE section of a systemd EFI binary that names it and its version (`.sdmagic`); not a UKI [`Section`]:
/// the stub brings it.
pub const SDMAGIC: &str = ".sdmagic";

/// The systemd version string in a stub's `.sdmagic` ("#### LoaderInfo: systemd-stub 254.26-1~bpo12+1 ####").
pub fn stub_version_from_sdmagic(sdmagic: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(sdmagic);
    let rest = text.split("systemd-stub ").nth(1)?;
    let v: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '#' && *c != '\0')
        .collect();
    (!v.is_empty()).then_some(v)
}

/// The systemd-stub version in the `.sdmagic` section of the PE `data` (headers `headers`), if any.
pub(crate) fn stub_version_of(data: &[u8], headers: &PeHeaders) -> Option<String> {
    headers
        .sections
        .iter()
        .position(|s| s.name == SDMAGIC)
        .and_then(|i| loaded_section_bytes(data, headers, i))
        .and_then(|b| stub_version_from_sdmagic(&b))
}

/// The major version of a systemd version string (`254` of `254.26-1~bpo12+1`).
pub fn systemd_major_version(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
}

impl<'a> Uki<'a> {
    /// Parses a UKI, detecting the stub generation from `.sdmagic`.
    pub fn parse(data: &'a [u8]) -> Result<Uki<'a>, UkiError> {
        Self::parse_with(data, None)
    }

    /// Parses a UKI; `generation` overrides the detection from `.sdmagic`.
    pub fn parse_with(
        data: &'a [u8],
        generation: Option<StubGeneration>,
    ) -> Result<Uki<'a>, UkiError> {
        let headers = PeHeaders::parse(data)?;
        if headers.section(Section::Linux.name()).is_none() {
            return Err(UkiError::NoLinux);
        }
        let stub_version = stub_version_of(data, &headers);
        let generation = match generation {
            Some(g) => g,
            None => {
                let v = stub_version.as_deref().ok_or_else(|| {
                    UkiError::UnknownStub("no systemd-stub version in .sdmagic".into())
                })?;
                let major = systemd_major_version(v)
                    .ok_or_else(|| UkiError::UnknownStub(format!("unparsable version {v:?}")))?;
                StubGeneration::from_systemd_version(major).ok_or_else(|| {
                    UkiError::UnknownStub(format!(
                        "systemd-stub {v} predates 252 (different PCR 11 scheme, not supported)"
                    ))
                })?
            }
        };
        Ok(Uki {
            data,
            headers,
            stub_version,
            generation,
            profile: 0,
        })
    }

    /// Selects the profile the stub boots (`@N` in its load options; 0 is the default). Profiles are a
    /// systemd-stub 257 feature: other generations, and a profile the UKI does not have, are refused (profile 0
    /// always exists, implied when the UKI has no `.profile` section).
    pub fn with_profile(mut self, profile: u32) -> Result<Self, UkiError> {
        if profile == 0 {
            self.profile = 0;
            return Ok(self);
        }
        if self.generation != StubGeneration::Systemd257 {
            return Err(UkiError::NotModelled(format!(
                "booting profile {profile} with systemd-stub {} (profiles are modelled for 257)",
                self.generation
            )));
        }
        let count = self.profile_count();
        if usize::try_from(profile).map_or(true, |p| p >= count) {
            return Err(UkiError::NoProfile { profile, count });
        }
        self.profile = profile;
        Ok(self)
    }

    /// The profile in force (0 unless [`Uki::with_profile`] chose another).
    pub fn profile(&self) -> u32 {
        self.profile
    }

    /// The number of `.profile` sections (0 for a single-profile UKI).
    pub fn profile_count(&self) -> usize {
        self.headers
            .sections
            .iter()
            .filter(|s| s.name == Section::Profile.name())
            .count()
    }

    /// The index in the section table of the section the stub uses for `name`: the first of that name, except
    /// that systemd-stub 257 looks in the selected profile's sections (from its `.profile` to the next) first
    /// and then in the base sections (those before the first `.profile`), ignoring other profiles' sections
    /// (`pe_locate_profile_sections()`).
    fn section_index(&self, name: &str) -> Option<usize> {
        let table = &self.headers.sections;
        let first = |range: std::ops::Range<usize>| {
            range
                .clone()
                .zip(table.get(range).unwrap_or_default())
                .find(|(_, s)| s.name == name)
                .map(|(i, _)| i)
        };
        if self.generation != StubGeneration::Systemd257 {
            return first(0..table.len());
        }
        let starts: Vec<usize> = table
            .iter()
            .enumerate()
            .filter(|(_, s)| s.name == Section::Profile.name())
            .map(|(i, _)| i)
            .collect();
        let base_end = starts.first().copied().unwrap_or(table.len());
        let profile = usize::try_from(self.profile).ok();
        let in_profile = profile
            .and_then(|p| Some((*starts.get(p)?, p)))
            .and_then(|(start, p)| {
                let end = starts.get(p + 1).copied().unwrap_or(table.len());
                first(start..end)
            });
        in_profile.or_else(|| first(0..base_end))
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The PE headers.
    pub fn headers(&self) -> &PeHeaders {
        &self.headers
    }

    /// The systemd-stub version string from `.sdmagic`, if any.
    pub fn stub_version(&self) -> Option<&str> {
        self.stub_version.as_deref()
    }

    /// The section table in force.
    pub fn generation(&self) -> StubGeneration {
        self.generation
    }

    /// Every section in file-table order, with whether this generation measures it (for systemd-stub 257, only
    /// the base or selected profile's section of a name is measured).
    pub fn sections(&self) -> Vec<UkiSection> {
        self.headers
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| UkiSection {
                name: s.name.clone(),
                file_offset: s.pointer_to_raw_data,
                raw_size: s.size_of_raw_data,
                virtual_address: s.virtual_address,
                virtual_size: s.virtual_size,
                measured: self.generation.measures(&s.name)
                    && (self.generation != StubGeneration::Systemd257
                        || self.section_index(&s.name) == Some(i)),
            })
            .collect()
    }

    /// The bytes of the section named `name` the stub uses (the first of that name; for systemd-stub 257 the
    /// selected profile's, else the base one: [`Uki::profile`]) as loaded in memory (`VirtualSize` long,
    /// zero-filled past the stored bytes, later overlapping sections applied), i.e. what systemd-stub measures
    /// and uses.
    pub fn section_bytes(&self, name: &str) -> Option<std::borrow::Cow<'a, [u8]>> {
        let i = self.section_index(name)?;
        loaded_section(self.data, &self.headers, i)
    }

    /// The bytes of the section at `index` in the section table, as loaded in memory (see
    /// [`Uki::section_bytes`]).
    pub fn section_bytes_at(&self, index: usize) -> Option<std::borrow::Cow<'a, [u8]>> {
        loaded_section(self.data, &self.headers, index)
    }

    /// The bytes of a UKI section as loaded in memory: [`Uki::section_bytes`] of its name.
    pub fn payload(&self, section: Section) -> Option<std::borrow::Cow<'a, [u8]>> {
        self.section_bytes(section.name())
    }

    /// The `.cmdline` section as text (lossy UTF-8, up to the first NUL).
    pub fn cmdline(&self) -> Option<String> {
        self.section_text(Section::Cmdline.name())
    }

    /// A section as text (lossy UTF-8, up to the first NUL).
    pub fn section_text(&self, name: &str) -> Option<String> {
        let b = self.section_bytes(name)?;
        let text = b.split(|&c| c == 0).next().unwrap_or_default();
        Some(String::from_utf8_lossy(text).into_owned())
    }

    /// The PCR 11 events the stub logs, in order: for each measured section present, `(section, H(name\0))`
    /// then `(section, H(contents))`. Sections are looked up by name in the stub's measurement order, not file
    /// order.
    pub fn pcr11_events(&self, alg: Algorithm) -> Vec<(Section, Digest)> {
        self.pcr11_events_multi(&[alg])
            .into_iter()
            .map(|(n, mut d)| (n, d.remove(0)))
            .collect()
    }

    /// [`Uki::pcr11_events`] for several banks at once (each section is mapped once).
    pub fn pcr11_events_multi(&self, algs: &[Algorithm]) -> Vec<(Section, Vec<Digest>)> {
        let mut out = Vec::new();
        for (section, bytes) in self.pcr11_sections() {
            let name = section_name_nul(section);
            out.push((section, algs.iter().map(|a| a.digest(&name)).collect()));
            out.push((section, algs.iter().map(|a| a.digest(&bytes)).collect()));
        }
        out
    }

    /// The sections the stub measures into PCR 11, in its measurement order, with their contents as loaded
    /// (borrowed from the file unless the loader zero-fills or overlaps them): each gives the two events of
    /// [`Uki::pcr11_events`], H([`section_name_nul`]) then H(contents). Absent and empty sections are left out,
    /// as systemd skips them.
    pub fn pcr11_sections(&self) -> Vec<(Section, std::borrow::Cow<'a, [u8]>)> {
        self.generation
            .measured_sections()
            .filter_map(|section| Some((section, self.payload(section)?)))
            .filter(|(_, bytes)| !bytes.is_empty())
            .collect()
    }
}

/// What systemd-stub measures for a section's name: the name with its terminating NUL.
pub fn section_name_nul(section: Section) -> Vec<u8> {
    let mut name = section.name().as_bytes().to_vec();
    name.push(0);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdmagic_versions() {
        let v = stub_version_from_sdmagic(b"#### LoaderInfo: systemd-stub 254.26-1~bpo12+1 ####\0");
        assert_eq!(v.as_deref(), Some("254.26-1~bpo12+1"));
        assert_eq!(systemd_major_version("254.26-1~bpo12+1"), Some(254));
        assert_eq!(systemd_major_version("252.39-1~deb12u2"), Some(252));
        assert_eq!(stub_version_from_sdmagic(b"garbage"), None);
    }
}
