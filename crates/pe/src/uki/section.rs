//! The PE sections of a UKI that systemd-stub understands: one [`Section`] per name, the definition every
//! yardstick crate uses to name, build, inspect and predict them.
//!
//! Mirrors the `UnifiedSection` enum of systemd's `src/fundamental/uki.h`; which of them a stub generation
//! knows, and in which order it measures them into PCR 11, is [`StubGeneration::sections`].
//!
//! [`StubGeneration::sections`]: super::StubGeneration::sections

use std::fmt;

/// A UKI section systemd-stub understands, by its PE section name.
///
/// The variants are in the order of systemd's `UnifiedSection` enum (main branch), which is also
/// [`Section::ALL`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `.linux`: the kernel (an EFI-stub bzImage).
    Linux,
    /// `.osrel`: the os-release file.
    Osrel,
    /// `.cmdline`: the kernel command line.
    Cmdline,
    /// `.initrd`: the initrd (several are concatenated).
    Initrd,
    /// `.ucode`: a microcode initrd (newer stubs only).
    Ucode,
    /// `.splash`: a BMP boot splash.
    Splash,
    /// `.dtb`: a flattened device tree.
    Dtb,
    /// `.uname`: the kernel release (not known to systemd 252).
    Uname,
    /// `.sbat`: the SBAT revocation metadata (not measured by systemd 252).
    Sbat,
    /// `.pcrsig`: signed PCR 11 policies; never measured, since it signs the result.
    Pcrsig,
    /// `.pcrpkey`: the public key of the `.pcrsig` signatures.
    Pcrpkey,
    /// `.profile`: a multi-profile UKI's profile metadata (newer stubs only).
    Profile,
    /// `.dtbauto`: device trees chosen by compatible string (newer stubs only).
    Dtbauto,
    /// `.hwids`: hardware IDs that select a `.dtbauto` device tree (newer stubs only).
    Hwids,
    /// `.efifw`: firmware images (newer stubs only).
    Efifw,
}

impl Section {
    /// Every section, in systemd's `UnifiedSection` order.
    pub const ALL: [Section; 15] = [
        Section::Linux,
        Section::Osrel,
        Section::Cmdline,
        Section::Initrd,
        Section::Ucode,
        Section::Splash,
        Section::Dtb,
        Section::Uname,
        Section::Sbat,
        Section::Pcrsig,
        Section::Pcrpkey,
        Section::Profile,
        Section::Dtbauto,
        Section::Hwids,
        Section::Efifw,
    ];

    /// The PE section name (`.linux`).
    pub const fn name(self) -> &'static str {
        match self {
            Section::Linux => ".linux",
            Section::Osrel => ".osrel",
            Section::Cmdline => ".cmdline",
            Section::Initrd => ".initrd",
            Section::Ucode => ".ucode",
            Section::Splash => ".splash",
            Section::Dtb => ".dtb",
            Section::Uname => ".uname",
            Section::Sbat => ".sbat",
            Section::Pcrsig => ".pcrsig",
            Section::Pcrpkey => ".pcrpkey",
            Section::Profile => ".profile",
            Section::Dtbauto => ".dtbauto",
            Section::Hwids => ".hwids",
            Section::Efifw => ".efifw",
        }
    }

    /// The section with PE section name `name` (exact, case-sensitive), if systemd-stub knows it.
    pub fn from_name(name: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether a stub that knows the section extends PCR 11 with it (all but `.pcrsig`, which signs the
    /// result: systemd's `unified_section_measure()`).
    pub const fn is_measured(self) -> bool {
        !matches!(self, Section::Pcrsig)
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Section::ALL {
            assert_eq!(Section::from_name(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
            assert!(s.name().len() <= 8, "{s}: PE section names have 8 bytes");
        }
        assert_eq!(Section::from_name(".sdmagic"), None);
        assert_eq!(Section::from_name(".LINUX"), None);
        assert_eq!(Section::from_name("linux"), None);
        assert_eq!(format!("{:<9}|", Section::Dtb), ".dtb     |");
        let measured: Vec<_> = Section::ALL.iter().filter(|s| !s.is_measured()).collect();
        assert_eq!(measured, [&Section::Pcrsig]);
    }
}
