//! The UKI section tables: for each systemd-stub generation, the [`Section`]s it understands, in the order it
//! measures them into PCR 11 (all but `.pcrsig`: [`Section::is_measured`]).
//!
//! Mirrors systemd's `src/fundamental/uki.h` (`UnifiedSection` + `unified_section_measure()`) as each release
//! had it, which the stub, `systemd-measure` and `ukify` all follow. One table per generation drives
//! `uki inspect` and `pcr predict`; [`ukify_file_order`] drives where `uki build` places the sections.

use std::fmt;

use super::Section::{self, *};

/// A generation of systemd-stub with its own section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum StubGeneration {
    /// systemd 252 (Debian 12): `.linux .osrel .cmdline .initrd .splash .dtb` (+`.pcrpkey`); no `.uname`, and
    /// `.sbat` is not measured.
    #[serde(rename = "252")]
    Systemd252,
    /// systemd 253/254 (bookworm-backports): adds `.uname` and `.sbat` after `.dtb`.
    #[serde(rename = "254")]
    Systemd254,
    /// systemd 257 (Debian 13's 257.13): adds `.ucode` (placed first in the initrd), `.profile` (multi-profile
    /// UKIs), `.dtbauto` and `.hwids` to 254's table; the stub also passes `.osrel` (and `.profile`) to the
    /// kernel as `/.extra/os-release` (`/.extra/profile`) archives.
    #[serde(rename = "257")]
    Systemd257,
    /// systemd 255, 256 and 258 or later, whose sources yardstick has not modelled: systemd main's table, and
    /// the initrd the stub builds is refused where it may differ from `.initrd` alone.
    #[serde(rename = "current")]
    Current,
}

/// systemd v252 `uki.h`.
const TABLE_252: &[Section] = &[Linux, Osrel, Cmdline, Initrd, Splash, Dtb, Pcrsig, Pcrpkey];
/// systemd v253/v254 `uki.h`.
const TABLE_254: &[Section] = &[
    Linux, Osrel, Cmdline, Initrd, Splash, Dtb, Uname, Sbat, Pcrsig, Pcrpkey,
];
/// systemd v257 `uki.h` (no `.efifw` yet).
const TABLE_257: &[Section] = &[
    Linux, Osrel, Cmdline, Initrd, Ucode, Splash, Dtb, Uname, Sbat, Pcrsig, Pcrpkey, Profile,
    Dtbauto, Hwids,
];
/// systemd main `uki.h`.
const TABLE_CURRENT: &[Section] = &[
    Linux, Osrel, Cmdline, Initrd, Ucode, Splash, Dtb, Uname, Sbat, Pcrsig, Pcrpkey, Profile,
    Dtbauto, Hwids, Efifw,
];

/// The sections ukify 254 writes itself, in the order it places them in the file. `.linux` comes last to
/// leave room for the kernel's decompression.
const UKIFY_254_FILE_ORDER: &[Section] = &[
    Osrel, Cmdline, Dtb, Uname, Splash, Pcrpkey, Initrd, Sbat, Linux,
];

/// The sections ukify 257 writes itself, in the order it places them in the file (`make_uki()`): `.linux`
/// moved before `.initrd`, `.ucode` after it; `.sbat` last (it replaces the stub's own `.sbat` in place).
const UKIFY_257_FILE_ORDER: &[Section] = &[
    Osrel, Cmdline, Dtb, Uname, Splash, Pcrpkey, Linux, Initrd, Ucode, Sbat,
];

impl StubGeneration {
    /// Every generation, oldest first.
    pub const ALL: [StubGeneration; 4] = [
        StubGeneration::Systemd252,
        StubGeneration::Systemd254,
        StubGeneration::Systemd257,
        StubGeneration::Current,
    ];

    /// The sections this stub understands, in PCR 11 measurement order.
    pub fn sections(self) -> &'static [Section] {
        match self {
            StubGeneration::Systemd252 => TABLE_252,
            StubGeneration::Systemd254 => TABLE_254,
            StubGeneration::Systemd257 => TABLE_257,
            StubGeneration::Current => TABLE_CURRENT,
        }
    }

    /// The sections this stub extends PCR 11 with, in order.
    pub fn measured_sections(self) -> impl Iterator<Item = Section> {
        self.sections().iter().copied().filter(|s| s.is_measured())
    }

    /// The section named `name`, if this generation knows it.
    pub fn section(self, name: &str) -> Option<Section> {
        Section::from_name(name).filter(|s| self.sections().contains(s))
    }

    /// Whether this stub extends PCR 11 with the section named `name`.
    pub fn measures(self, name: &str) -> bool {
        self.section(name).is_some_and(Section::is_measured)
    }

    /// The generation whose table a stub of systemd major version `major` uses.
    pub fn from_systemd_version(major: u32) -> Option<StubGeneration> {
        match major {
            // The section-name measurement (H(name\0) before H(data)) starts with 252; older stubs are different.
            252 => Some(StubGeneration::Systemd252),
            253 | 254 => Some(StubGeneration::Systemd254),
            257 => Some(StubGeneration::Systemd257),
            255.. => Some(StubGeneration::Current),
            _ => None,
        }
    }

    /// Short name: `252`, `254`, `257`, `current`.
    pub fn name(self) -> &'static str {
        match self {
            StubGeneration::Systemd252 => "252",
            StubGeneration::Systemd254 => "254",
            StubGeneration::Systemd257 => "257",
            StubGeneration::Current => "current",
        }
    }
}

impl fmt::Display for StubGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StubGeneration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "252" => Ok(StubGeneration::Systemd252),
            "253" | "254" => Ok(StubGeneration::Systemd254),
            "257" => Ok(StubGeneration::Systemd257),
            "current" => Ok(StubGeneration::Current),
            _ => Err(format!(
                "unknown stub generation {s:?} (252, 254, 257, current)"
            )),
        }
    }
}

/// The sections ukify of `generation` itself writes, in its file order: ukify 254 puts `.linux` last (to leave
/// room for the kernel's decompression), ukify 257 puts `.linux` before `.initrd` and `.ucode`. 252 and
/// [`StubGeneration::Current`] stubs get ukify 254's order (ukify 252 and 255/256 are not compared).
pub fn ukify_file_order(generation: StubGeneration) -> &'static [Section] {
    match generation {
        StubGeneration::Systemd257 => UKIFY_257_FILE_ORDER,
        StubGeneration::Systemd252 | StubGeneration::Systemd254 | StubGeneration::Current => {
            UKIFY_254_FILE_ORDER
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The orders systemd documents in uki.h (v252, v254, main).
    #[test]
    fn measurement_orders() {
        let names =
            |g: StubGeneration| g.measured_sections().map(Section::name).collect::<Vec<_>>();
        assert_eq!(
            names(StubGeneration::Systemd252),
            [
                ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"
            ]
        );
        assert_eq!(
            names(StubGeneration::Systemd254),
            [
                ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat",
                ".pcrpkey"
            ]
        );
        assert_eq!(
            names(StubGeneration::Systemd257),
            [
                ".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname",
                ".sbat", ".pcrpkey", ".profile", ".dtbauto", ".hwids"
            ]
        );
        assert_eq!(
            StubGeneration::from_systemd_version(257),
            Some(StubGeneration::Systemd257)
        );
        assert_eq!(
            StubGeneration::from_systemd_version(256),
            Some(StubGeneration::Current)
        );
        assert_eq!("257".parse(), Ok(StubGeneration::Systemd257));
        assert_eq!(names(StubGeneration::Current).len(), 14);
        assert_eq!(StubGeneration::Current.sections(), Section::ALL);
        assert_eq!(StubGeneration::Systemd252.section(".uname"), None);
        assert_eq!(
            StubGeneration::Systemd254.section(".uname"),
            Some(Section::Uname)
        );
        assert!(!StubGeneration::Current.measures(".pcrsig"));
        assert!(StubGeneration::Current.measures(".pcrpkey"));
        assert!(!StubGeneration::Current.measures(".sdmagic"));
        let file: Vec<_> = ukify_file_order(StubGeneration::Systemd254)
            .iter()
            .map(|s| s.name())
            .collect();
        assert_eq!(
            file,
            [
                ".osrel", ".cmdline", ".dtb", ".uname", ".splash", ".pcrpkey", ".initrd", ".sbat",
                ".linux"
            ]
        );
        let file: Vec<_> = ukify_file_order(StubGeneration::Systemd257)
            .iter()
            .map(|s| s.name())
            .collect();
        assert_eq!(
            file,
            [
                ".osrel", ".cmdline", ".dtb", ".uname", ".splash", ".pcrpkey", ".linux", ".initrd",
                ".ucode", ".sbat"
            ]
        );
    }
}
