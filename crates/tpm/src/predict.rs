//! Offline PCR prediction for a UKI booted directly by OVMF (QEMU q35), with systemd-stub and the Linux EFI
//! stub doing their measurements. The result is the values a `tpm2_pcrread` in the guest would show for
//! PCRs 4, 7, 9, 11, 12 and 13, plus PCR 11 after each systemd boot phase.
//!
//! What contributes (every item below was checked against real
//! QEMU + OVMF + swtpm boots by `crates/cli/tests/boot_uki.rs`):
//!
//! | PCR | events, in order |
//! |---|---|
//! | 4 | `EV_EFI_ACTION` "Calling EFI Application from Boot Option"; `EV_SEPARATOR`; per failed boot option before the UKI ("boot retries") "Returning from EFI Application from Boot Option" + "Calling ..." again; `EV_EFI_BOOT_SERVICES_APPLICATION` = Authenticode(UKI); with Secure Boot off, Authenticode(`.linux` as loaded) when systemd-stub hands the kernel to `LoadImage` (with Secure Boot on, its security override skips the firmware's measurement) |
//! | 7 | `EV_EFI_VARIABLE_DRIVER_CONFIG` for SecureBoot, PK, KEK, db, dbx; `EV_SEPARATOR`; with Secure Boot on, `EV_EFI_VARIABLE_AUTHORITY` = the db entry that verified the UKI, then one for each addon verified by an entry not logged yet |
//! | 9 | Linux EFI stub `EV_EVENT_TAG`s: the load options (the UKI's `.cmdline` after systemd-stub's whitespace mangling, UTF-16LE with NUL) and the initrd as handed over: `.initrd`, followed, when the UKI has `.pcrsig`/`.pcrpkey` (257: also `.osrel`, `.profile`), by the cpio archives systemd-stub generates from them; systemd-stub 257 puts `.ucode` first (`yardstick_pe::uki::stub_initrd`) |
//! | 11 | systemd-stub: per measured section in the stub's order, H(name\0) then H(contents); then the boot phases |
//! | 12, 13 | untouched (zero) for a plain OVMF boot: no loader command line, credentials, sysexts or addons on the ESP; systemd-stub does not measure the archives it makes of UKI sections. systemd-stub 257 booting a profile other than 0 ([`Platform::profile`]) first logs an `EV_EVENT_TAG` in PCR 12 (tag [`UKI_PROFILE_EVENT_TAG_ID`], the profile number as UTF-16LE decimal with NUL); with ESP extras ([`Platform::stub_extras`]) it then logs the addons' joined command line (`EV_IPL`, UTF-16LE with NUL), the credential, global credential and confext archives (`EV_IPL`; the sysext archive in PCR 13), the addons' `.ucode` and `.initrd` (`EV_EVENT_TAG`) |
//! | 4 (addons) | each addon systemd-stub 257 loads (`/loader/addons` then `<uki>.extra.d`, sorted) is measured by the firmware's `LoadImage`: its Authenticode hash after the UKI's, before the kernel's |

pub mod authority;
pub mod firmware;
pub mod fw_cfg_acpi;
pub mod option_rom;
pub mod ovmf_fv;
pub mod ovmf_vars;
mod text;
pub use text::event_type_name;

use std::collections::BTreeMap;

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_pe::PeHeaders;
use yardstick_pe::authenticode::{authenticode_digest, hashed_ranges};
use yardstick_pe::uki::{
    CombinedInitrd, Dropin, Section, StubCpioSet, StubExtras, StubGeneration, Uki, UkiError,
    combined_initrd, read_addon, section_name_nul,
};

use crate::guids;
use crate::pcr::PcrBanks;
pub use ovmf_vars::SecureBootVars;

/// Why a prediction could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PredictError {
    /// The UKI is not usable.
    #[error(transparent)]
    Uki(#[from] UkiError),
    /// The OVMF VARS file is not usable.
    #[error("OVMF VARS: {0}")]
    Vars(String),
    /// The UKI's signature could not be read.
    #[error("Authenticode signature: {0}")]
    Signature(String),
    /// An input file could not be read (or is too large for what it should be).
    #[error(transparent)]
    Input(#[from] yardstick_common::fs::InputError),
    /// With Secure Boot on, nothing in db would let the firmware start this UKI.
    #[error(
        "Secure Boot is on but no db entry verifies the UKI ({0}); the firmware would refuse to boot it"
    )]
    NotAuthorized(&'static str),
}

/// TCG PC Client event types used here, as `u32` (the numbers are [`crate::eventlog::EventType`]'s).
pub mod event_type {
    use crate::eventlog::EventType;

    /// `EV_IPL` (systemd-stub's PCR 11 events).
    pub const EV_IPL: u32 = EventType::EV_IPL.0;
    /// `EV_SEPARATOR`.
    pub const EV_SEPARATOR: u32 = EventType::EV_SEPARATOR.0;
    /// `EV_EVENT_TAG` (Linux EFI stub's PCR 9 events).
    pub const EV_EVENT_TAG: u32 = EventType::EV_EVENT_TAG.0;
    /// `EV_EFI_VARIABLE_DRIVER_CONFIG`.
    pub const EV_EFI_VARIABLE_DRIVER_CONFIG: u32 = EventType::EV_EFI_VARIABLE_DRIVER_CONFIG.0;
    /// `EV_EFI_BOOT_SERVICES_APPLICATION`.
    pub const EV_EFI_BOOT_SERVICES_APPLICATION: u32 = EventType::EV_EFI_BOOT_SERVICES_APPLICATION.0;
    /// `EV_EFI_ACTION`.
    pub const EV_EFI_ACTION: u32 = EventType::EV_EFI_ACTION.0;
    /// `EV_EFI_VARIABLE_AUTHORITY`.
    pub const EV_EFI_VARIABLE_AUTHORITY: u32 = EventType::EV_EFI_VARIABLE_AUTHORITY.0;
    /// `EV_EFI_GPT_EVENT`.
    pub const EV_EFI_GPT_EVENT: u32 = EventType::EV_EFI_GPT_EVENT.0;
    /// `EV_S_CRTM_VERSION`.
    pub const EV_S_CRTM_VERSION: u32 = EventType::EV_S_CRTM_VERSION.0;
    /// `EV_EFI_PLATFORM_FIRMWARE_BLOB`.
    pub const EV_EFI_PLATFORM_FIRMWARE_BLOB: u32 = EventType::EV_EFI_PLATFORM_FIRMWARE_BLOB.0;
    /// `EV_EFI_VARIABLE_BOOT`.
    pub const EV_EFI_VARIABLE_BOOT: u32 = EventType::EV_EFI_VARIABLE_BOOT.0;
    /// `EV_PLATFORM_CONFIG_FLAGS`.
    pub const EV_PLATFORM_CONFIG_FLAGS: u32 = EventType::EV_PLATFORM_CONFIG_FLAGS.0;
    /// `EV_EFI_BOOT_SERVICES_DRIVER`.
    pub const EV_EFI_BOOT_SERVICES_DRIVER: u32 = EventType::EV_EFI_BOOT_SERVICES_DRIVER.0;
    /// `EV_EFI_RUNTIME_SERVICES_DRIVER`.
    pub const EV_EFI_RUNTIME_SERVICES_DRIVER: u32 = EventType::EV_EFI_RUNTIME_SERVICES_DRIVER.0;
}
use event_type::*;

/// The systemd boot phases systemd-pcrphase extends into PCR 11, in order (systemd-measure's default phase
/// paths are the prefixes of this list).
pub const PHASES: [&str; 4] = ["enter-initrd", "leave-initrd", "sysinit", "ready"];

/// The PCRs [`predict`] predicts.
pub const PREDICTED_PCRS: [u32; 6] = [4, 7, 9, 11, 12, 13];

/// What the platform contributes. `Platform::default()` is Debian's OVMF (`OVMF_CODE_4M.fd` +
/// `OVMF_VARS_4M.fd`) on QEMU q35 with the boot disk first in the boot order (`bootindex=0`).
#[derive(Debug, Clone, Default)]
pub struct Platform {
    /// Secure Boot variables (default: none enrolled, Secure Boot off).
    pub secure_boot: SecureBootVars,
    /// Boot options the firmware tried and returned from before the UKI (0 with `bootindex=0`; 1 on default
    /// q35 OVMF, which tries the DVD drive first).
    pub boot_retries: u32,
    /// Override the section table detected from `.sdmagic`.
    pub stub_generation: Option<StubGeneration>,
    /// Files on the ESP that systemd-stub picks up beside the UKI: credentials and extensions it packs into
    /// initrd archives, addons it loads (default: none; modelled for systemd-stub 257, refused for other
    /// generations; with Secure Boot on every addon must be verified by db).
    pub stub_extras: StubExtras,
    /// The UKI profile the stub boots (`@N` in its load options; default 0). Other than 0 needs a
    /// systemd-stub 257 UKI with that many `.profile` sections.
    pub profile: u32,
}

/// What a predicted event measures. It decides the event's TCG type ([`PredictedEventKind::event_type`]) and
/// its description ([`PredictedEventKind::description`]), so that consumers match on it instead of on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PredictedEventKind {
    /// `EV_EFI_VARIABLE_DRIVER_CONFIG`: a Secure Boot variable (`SecureBoot`, `PK`, `KEK`, `db`, `dbx`).
    SecureBootVariable(&'static str),
    /// `EV_SEPARATOR`: the end of the pre-OS measurements of a PCR.
    Separator,
    /// `EV_EFI_ACTION`: the firmware's action string, which is also the measured data.
    Action(&'static str),
    /// `EV_EFI_VARIABLE_AUTHORITY`: the db entry that verified the UKI (Secure Boot on).
    DbAuthority,
    /// `EV_EFI_BOOT_SERVICES_APPLICATION`: the Authenticode hash of the UKI.
    UkiAuthenticode,
    /// `EV_EFI_BOOT_SERVICES_APPLICATION`: the Authenticode hash of the UKI's kernel (`.linux` as loaded),
    /// which systemd-stub hands to `LoadImage`.
    KernelAuthenticode,
    /// `EV_IPL`: systemd-stub's measurement of a section's name (with its NUL).
    UkiSectionName(Section),
    /// `EV_IPL`: systemd-stub's measurement of a section's contents.
    UkiSection(Section),
    /// `EV_EVENT_TAG`: the Linux EFI stub's load options (the command line).
    LoadOptions,
    /// `EV_EVENT_TAG`: the initrd the Linux EFI stub loads (the UKI's `.initrd` as it is).
    LinuxInitrd,
    /// `EV_EVENT_TAG`: the initrd the Linux EFI stub loads when systemd-stub appended archives of its own to
    /// `.initrd` (padded to 4 bytes): the set says which.
    LinuxInitrdWithStubCpios(StubCpioSet),
    /// `EV_EVENT_TAG`: the initrd the Linux EFI stub loads when systemd-stub 257 put `.ucode` before `.initrd`
    /// (each padded to 4 bytes), followed by the archives in the set.
    LinuxInitrdWithUcode(StubCpioSet),
    /// `EV_EVENT_TAG` (tag `0x13aed6db`) in PCR 12: systemd-stub 257's measurement of the profile it boots
    /// (UTF-16LE decimal with NUL), made for profiles other than 0.
    UkiProfile(u32),
    /// `EV_EFI_BOOT_SERVICES_APPLICATION` in PCR 4: the Authenticode hash of an addon, which systemd-stub
    /// loads with `LoadImage` (the firmware measures it).
    AddonAuthenticode,
    /// `EV_IPL` in PCR 12: the addons' `.cmdline`s as systemd-stub appends them (each mangled, joined by
    /// spaces; UTF-16LE with NUL).
    AddonCmdline,
    /// `EV_EVENT_TAG` (tag `0xdac08e1a`) in PCR 12: an addon's `.ucode`.
    AddonUcode,
    /// `EV_EVENT_TAG` (tag `0x49dffe0f`) in PCR 12: an addon's `.initrd`.
    AddonInitrd,
    /// `EV_IPL` in PCR 12 or 13: the cpio archive systemd-stub makes of an ESP drop-in directory.
    StubDropin(Dropin),
    /// `EV_EVENT_TAG`: the initrd the Linux EFI stub loads when pieces from the ESP (drop-in archives, addons'
    /// `.ucode`/`.initrd`) are part of it, besides `.ucode`, `.initrd` and the archives in the set.
    LinuxInitrdWithEspExtras(StubCpioSet),
    /// `EV_EFI_GPT_EVENT` in PCR 5: the boot disk's GPT header and used partition entries
    /// ([`firmware::gpt_event_data`]).
    GptTable,
    /// `EV_S_CRTM_VERSION` in PCR 0: the firmware's version string (UTF-16LE with NUL).
    CrtmVersion,
    /// `EV_EFI_PLATFORM_FIRMWARE_BLOB` in PCR 0: a firmware volume as measured ("PEIFV", "DXEFV").
    FirmwareVolume(&'static str),
    /// `EV_EFI_VARIABLE_BOOT` in PCR 1: a boot variable (`BootOrder`, `Boot####`).
    BootVariable(&'static str),
    /// `EV_EFI_BOOT_SERVICES_DRIVER` or `EV_EFI_RUNTIME_SERVICES_DRIVER` in PCR 2: the Authenticode hash of an
    /// EFI driver in a NIC's option ROM, at this offset of the ROM ([`option_rom`]).
    OptionRomDriver(option_rom::RomDriverKind, u32),
    /// `EV_PLATFORM_CONFIG_FLAGS` "ACPI DATA" in PCR 1: a QEMU ACPI fw_cfg blob as downloaded (edk2 2025.02;
    /// [`fw_cfg_acpi`]), by its fw_cfg name.
    AcpiData(&'static str),
}

impl PredictedEventKind {
    /// The TCG event type.
    pub fn event_type(self) -> u32 {
        match self {
            PredictedEventKind::SecureBootVariable(_) => EV_EFI_VARIABLE_DRIVER_CONFIG,
            PredictedEventKind::Separator => EV_SEPARATOR,
            PredictedEventKind::Action(_) => EV_EFI_ACTION,
            PredictedEventKind::DbAuthority => EV_EFI_VARIABLE_AUTHORITY,
            PredictedEventKind::UkiAuthenticode | PredictedEventKind::KernelAuthenticode => {
                EV_EFI_BOOT_SERVICES_APPLICATION
            }
            PredictedEventKind::UkiSectionName(_) | PredictedEventKind::UkiSection(_) => EV_IPL,
            PredictedEventKind::LoadOptions
            | PredictedEventKind::LinuxInitrd
            | PredictedEventKind::LinuxInitrdWithStubCpios(_)
            | PredictedEventKind::LinuxInitrdWithUcode(_)
            | PredictedEventKind::LinuxInitrdWithEspExtras(_)
            | PredictedEventKind::UkiProfile(_)
            | PredictedEventKind::AddonUcode
            | PredictedEventKind::AddonInitrd => EV_EVENT_TAG,
            PredictedEventKind::AddonAuthenticode => EV_EFI_BOOT_SERVICES_APPLICATION,
            PredictedEventKind::AddonCmdline | PredictedEventKind::StubDropin(_) => EV_IPL,
            PredictedEventKind::GptTable => EV_EFI_GPT_EVENT,
            PredictedEventKind::CrtmVersion => EV_S_CRTM_VERSION,
            PredictedEventKind::FirmwareVolume(_) => EV_EFI_PLATFORM_FIRMWARE_BLOB,
            PredictedEventKind::BootVariable(_) => EV_EFI_VARIABLE_BOOT,
            PredictedEventKind::AcpiData(_) => EV_PLATFORM_CONFIG_FLAGS,
            PredictedEventKind::OptionRomDriver(option_rom::RomDriverKind::BootServices, _) => {
                EV_EFI_BOOT_SERVICES_DRIVER
            }
            PredictedEventKind::OptionRomDriver(option_rom::RomDriverKind::RuntimeServices, _) => {
                EV_EFI_RUNTIME_SERVICES_DRIVER
            }
        }
    }

    /// What it is, in words ("Authenticode of the UKI", "section .linux", ...).
    pub fn description(self) -> String {
        match self {
            PredictedEventKind::SecureBootVariable(name) => format!("variable {name}"),
            PredictedEventKind::Separator => "separator".into(),
            PredictedEventKind::Action(text) => text.into(),
            PredictedEventKind::DbAuthority => "db entry that verified the UKI".into(),
            PredictedEventKind::UkiAuthenticode => "Authenticode of the UKI".into(),
            PredictedEventKind::KernelAuthenticode => format!("Authenticode of {}", Section::Linux),
            PredictedEventKind::UkiSectionName(s) => format!("section name {s}"),
            PredictedEventKind::UkiSection(s) => format!("section {s}"),
            PredictedEventKind::LoadOptions => "LOADED_IMAGE::LoadOptions".into(),
            PredictedEventKind::LinuxInitrd => "Linux initrd".into(),
            PredictedEventKind::LinuxInitrdWithStubCpios(set) => {
                format!("Linux initrd (.initrd + cpios of {})", cpio_names(set))
            }
            PredictedEventKind::LinuxInitrdWithUcode(set) if set.is_empty() => {
                "Linux initrd (.ucode + .initrd)".into()
            }
            PredictedEventKind::LinuxInitrdWithUcode(set) => {
                format!(
                    "Linux initrd (.ucode + .initrd + cpios of {})",
                    cpio_names(set)
                )
            }
            PredictedEventKind::UkiProfile(n) => format!("UKI profile {n}"),
            PredictedEventKind::AddonAuthenticode => "Authenticode of an addon".into(),
            PredictedEventKind::AddonCmdline => "addons' command line".into(),
            PredictedEventKind::AddonUcode => "addon .ucode".into(),
            PredictedEventKind::AddonInitrd => "addon .initrd".into(),
            PredictedEventKind::StubDropin(d) => d.description().into(),
            PredictedEventKind::LinuxInitrdWithEspExtras(set) if set.is_empty() => {
                "Linux initrd (with ESP extras)".into()
            }
            PredictedEventKind::LinuxInitrdWithEspExtras(set) => {
                format!(
                    "Linux initrd (with ESP extras and cpios of {})",
                    cpio_names(set)
                )
            }
            PredictedEventKind::GptTable => "GPT of the boot disk".into(),
            PredictedEventKind::CrtmVersion => "S-CRTM version".into(),
            PredictedEventKind::FirmwareVolume(name) => format!("firmware volume {name}"),
            PredictedEventKind::BootVariable(name) => format!("variable {name}"),
            PredictedEventKind::AcpiData(name) => format!("ACPI DATA {name}"),
            PredictedEventKind::OptionRomDriver(_, offset) => {
                format!("Authenticode of the NIC option ROM's EFI driver at ROM offset {offset:#x}")
            }
        }
    }
}

/// The sections a set of stub archives is made from (`.pcrsig .pcrpkey`).
fn cpio_names(set: StubCpioSet) -> String {
    set.iter()
        .map(|c| c.section().name())
        .collect::<Vec<_>>()
        .join(" ")
}

/// systemd-stub 257's event tag for the profile it boots (`UKI_PROFILE_EVENT_TAG_ID`, `tpm2-pcr.h`).
pub const UKI_PROFILE_EVENT_TAG_ID: u32 = 0x13ae_d6db;
/// systemd-stub 257's event tag for an addon's `.initrd` (`INITRD_ADDON_EVENT_TAG_ID`).
pub const INITRD_ADDON_EVENT_TAG_ID: u32 = 0x49df_fe0f;
/// systemd-stub 257's event tag for an addon's `.ucode` (`UCODE_ADDON_EVENT_TAG_ID`).
pub const UCODE_ADDON_EVENT_TAG_ID: u32 = 0xdac0_8e1a;

/// One predicted event log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictedEvent {
    /// PCR index.
    pub pcr: u32,
    /// What it measures; gives its TCG type and description.
    pub kind: PredictedEventKind,
    /// The extended digest, one per requested bank (same order as the banks).
    pub digests: Vec<Digest>,
}

impl PredictedEvent {
    /// The TCG event type ([`PredictedEventKind::event_type`]).
    pub fn event_type(&self) -> u32 {
        self.kind.event_type()
    }

    /// What it is ([`PredictedEventKind::description`]).
    pub fn description(&self) -> String {
        self.kind.description()
    }
}

/// A prediction: final PCR values, PCR 11 after each boot phase, and the events that make them.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// PCRs 4, 7, 9, 11 (stub-only value), 12, 13 per bank.
    pub pcrs: PcrBanks,
    /// PCR 11 after each of [`PHASES`], per bank.
    pub pcr11_phases: BTreeMap<Algorithm, Vec<(&'static str, Digest)>>,
    /// The events, in log order per PCR.
    pub events: Vec<PredictedEvent>,
    /// The stub section table used.
    pub stub_generation: StubGeneration,
    /// Whether Secure Boot was on.
    pub secure_boot: bool,
    /// Whether PCR 7's SecureBoot event is of the variable measured as empty data, as a firmware that has not
    /// defined it when Secure Boot is off measures it ([`Prediction::with_secure_boot_variable_absent`]),
    /// rather than of one zero byte (Debian 12's OVMF, the default).
    pub secure_boot_variable_absent: bool,
}

impl Prediction {
    /// This prediction for a firmware that, with Secure Boot off, measures the SecureBoot variable as absent
    /// (empty data; edk2 2025.02 with a VARS that does not define it, such as Debian 13's `OVMF_VARS_4M.fd`):
    /// PCR 7's SecureBoot event and PCR 7 are recomputed. With Secure Boot on, unchanged.
    #[must_use]
    pub fn with_secure_boot_variable_absent(mut self) -> Prediction {
        if self.secure_boot || self.secure_boot_variable_absent {
            return self;
        }
        let data = ovmf_vars::uefi_variable_data(&guids::EFI_GLOBAL_VARIABLE, "SecureBoot", &[]);
        for e in &mut self.events {
            if e.kind == PredictedEventKind::SecureBootVariable("SecureBoot") {
                e.digests = e
                    .digests
                    .iter()
                    .map(|d| d.algorithm().digest(&data))
                    .collect();
            }
        }
        let banks: Vec<Algorithm> = self.pcrs.algorithms().collect();
        self.pcrs = replay_events(&self.events, &banks);
        self.secure_boot_variable_absent = true;
        self
    }
}

/// JSON: `{"<bank>": {"<pcr>": "<hex>", ...}, "pcr11_phases": {"<bank>": {"<phase>": "<hex>"}}}`, banks and
/// PCRs in ascending order, phases in boot order.
impl serde::Serialize for Prediction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Phases<'a>(&'a [(&'static str, Digest)]);
        impl serde::Serialize for Phases<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (p, d) in self.0 {
                    m.serialize_entry(p, &d.to_hex())?;
                }
                m.end()
            }
        }
        struct AllPhases<'a>(&'a BTreeMap<Algorithm, Vec<(&'static str, Digest)>>);
        impl serde::Serialize for AllPhases<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (alg, v) in self.0 {
                    m.serialize_entry(alg.name(), &Phases(v))?;
                }
                m.end()
            }
        }
        #[derive(serde::Serialize)]
        struct Shape<'a> {
            #[serde(flatten)]
            pcrs: &'a PcrBanks,
            pcr11_phases: AllPhases<'a>,
        }
        Shape {
            pcrs: &self.pcrs,
            pcr11_phases: AllPhases(&self.pcr11_phases),
        }
        .serialize(s)
    }
}

/// systemd-stub's `mangle_stub_cmdline()`: leading whitespace/control characters dropped, inner ones turned
/// into spaces (one for one), trailing ones dropped.
pub fn mangle_stub_cmdline(cmdline: &str) -> String {
    let ws = |c: char| (c as u32) <= 0x20 || c as u32 == 0x7f;
    let trimmed = cmdline.trim_start_matches(ws).trim_end_matches(ws);
    trimmed
        .chars()
        .map(|c| if ws(c) { ' ' } else { c })
        .collect()
}

/// UTF-16LE with a terminating NUL, as EFI load options carry a command line.
pub fn utf16le_nul(s: &str) -> Vec<u8> {
    let mut out: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    out.extend_from_slice(&[0, 0]);
    out
}

fn action(pcr: u32, text: &'static str, banks: &[Algorithm]) -> PredictedEvent {
    data_event(
        pcr,
        PredictedEventKind::Action(text),
        text.as_bytes(),
        banks,
    )
}

fn data_event(
    pcr: u32,
    kind: PredictedEventKind,
    data: &[u8],
    banks: &[Algorithm],
) -> PredictedEvent {
    PredictedEvent {
        pcr,
        kind,
        digests: banks.iter().map(|a| a.digest(data)).collect(),
    }
}

/// [`predict`] for a UKI file (e.g. the one `image build` just wrote to the ESP).
///
/// Reads the file once for hashing, streamed ([`yardstick_common::hash::file_jobs`]): the headers and small
/// sections are loaded to be parsed, but a large `.initrd` (whose bytes are only ever hashed) is not, when the
/// loader would map it as stored (no zero fill, no other section overlapping it). Same result as [`predict`]
/// of the file's bytes.
pub fn predict_file(
    uki: impl AsRef<std::path::Path>,
    platform: &Platform,
    banks: &[Algorithm],
) -> Result<Prediction, PredictError> {
    use std::os::unix::fs::FileExt as _;
    use yardstick_common::fs::{InputError, InputFile, InputKind};
    let path = uki.as_ref();
    let io = |e: std::io::Error| PredictError::Input(InputError::from_read(path, e));
    let input = InputFile::open(path, InputKind::UKI)?;
    let (file, size) = match input.into_seekable() {
        Ok(f) => f,
        Err(stream) => return predict(&stream.read_all()?, platform, banks),
    };
    let len = usize::try_from(size).map_err(|_| io(std::io::ErrorKind::FileTooLarge.into()))?;
    // Zeroed lazily by the allocator: pages never read or written cost nothing.
    let mut buf = vec![0u8; len];
    let (buf, unloaded) = std::thread::scope(|s| {
        // How the banks' streams are best hashed is measured (once per process) while the UKI is read.
        if size >= STREAMED_SECTION_MIN as u64 {
            s.spawn(|| yardstick_common::hash::streams::PairChoice::prepare(banks));
        }
        let head = len.min(HEADERS_READ);
        file.read_exact_at(buf.get_mut(..head).unwrap_or_default(), 0)
            .map_err(io)?;
        let unloaded = PeHeaders::parse(&buf)
            .ok()
            .filter(|h| h.size_of_headers as usize <= head && h.section_table_end() <= head)
            .map(|h| streamed_sections(&h))
            .unwrap_or_default();
        let mut at = head;
        for r in unloaded.iter().cloned().chain(std::iter::once(len..len)) {
            if let Some(b) = buf.get_mut(at..r.start) {
                file.read_exact_at(b, at as u64).map_err(io)?;
            }
            at = at.max(r.end);
        }
        Ok::<_, PredictError>((buf, unloaded))
    })?;
    let mut buf = buf;
    let source = HashSource::File {
        file: &file,
        path,
        buf: &buf,
    };
    match predict_with(&buf, platform, banks, &source, &unloaded)? {
        Some(p) => Ok(p),
        None => {
            // The parsed UKI reads an unloaded section some other way than by hashing it: load everything.
            for r in &unloaded {
                if let Some(b) = buf.get_mut(r.clone()) {
                    file.read_exact_at(b, r.start as u64).map_err(io)?;
                }
            }
            let source = HashSource::File {
                file: &file,
                path,
                buf: &buf,
            };
            predict_with(&buf, platform, banks, &source, &[])?
                .ok_or_else(|| io(std::io::Error::other("UKI sections read twice")))
        }
    }
}

/// Bytes `predict_file` reads first, to find the sections it need not load (any real UKI's headers fit).
const HEADERS_READ: usize = 64 << 10;
/// Sections at least this large are hashed from the file without being loaded.
const STREAMED_SECTION_MIN: usize = 1 << 20;

/// The stored ranges (sorted) of the `.initrd` sections `predict_file` leaves unloaded (but for what the first
/// read of the headers covered): large, mapped by the loader exactly as stored (`VirtualSize <= SizeOfRawData`),
/// overlapped by no other section's virtual range (so that no other section's loaded bytes include them) and
/// not holding the certificate table (which the Secure Boot checks read wherever it is).
fn streamed_sections(h: &PeHeaders) -> Vec<std::ops::Range<usize>> {
    let virt = |s: &yardstick_pe::pe::Section| {
        let a = u64::from(s.virtual_address);
        a..a + u64::from(s.virtual_size.max(s.size_of_raw_data))
    };
    let mut out: Vec<std::ops::Range<usize>> = h
        .sections
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            let v = virt(s);
            s.name == Section::Initrd.name()
                && s.size_of_raw_data as usize >= STREAMED_SECTION_MIN
                && s.virtual_size <= s.size_of_raw_data
                && s.raw_range().end <= h.file_len
                && h.security_dir().is_none_or(|d| {
                    let (a, b) = (
                        u64::from(d.address),
                        u64::from(d.address) + u64::from(d.size),
                    );
                    let r = s.raw_range();
                    b <= r.start as u64 || a >= r.end as u64
                })
                && !h.sections.iter().enumerate().any(|(j, o)| {
                    let w = virt(o);
                    j != *i && w.start < v.end && v.start < w.end
                })
        })
        .map(|(_, s)| s.raw_range())
        .collect();
    out.sort_by_key(|r| r.start);
    out
}

/// Where the big hashes read the UKI's bytes: the buffer, or, for [`predict_file`], the file the buffer was
/// read from (slices of the buffer name byte ranges of the file; the buffer may lack some of them).
enum HashSource<'b> {
    Memory,
    File {
        file: &'b std::fs::File,
        path: &'b std::path::Path,
        buf: &'b [u8],
    },
}

impl HashSource<'_> {
    /// Digests of independent jobs, in job order.
    fn digest_jobs(&self, jobs: &[(Algorithm, &[&[u8]])]) -> Result<Vec<Digest>, PredictError> {
        use yardstick_common::hash::file_jobs::{Part, digest_file_jobs};
        match self {
            HashSource::Memory => Ok(yardstick_common::hash::streams::digest_jobs(jobs)),
            HashSource::File { file, path, buf } => {
                // A piece of the buffer is a piece of the file.
                fn part<'p>(buf: &[u8], p: &'p [u8]) -> Part<'p> {
                    match offset_in(buf, p) {
                        Some(at) if !p.is_empty() => Part::File {
                            offset: at as u64,
                            len: p.len() as u64,
                        },
                        _ => Part::Mem(p),
                    }
                }
                let parts: Vec<Vec<Part<'_>>> = jobs
                    .iter()
                    .map(|(_, s)| s.iter().map(|p| part(buf, p)).collect())
                    .collect();
                let refs: Vec<(Algorithm, &[Part<'_>])> = jobs
                    .iter()
                    .zip(&parts)
                    .map(|((alg, _), p)| (*alg, &p[..]))
                    .collect();
                digest_file_jobs(file, &refs)
                    .map_err(|e| yardstick_common::fs::InputError::from_read(path, e).into())
            }
        }
    }
}

/// Where `part` starts in `buf`, if it is a piece of it (its address says so).
fn offset_in(buf: &[u8], part: &[u8]) -> Option<usize> {
    let a = (part.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
    (a.checked_add(part.len())? <= buf.len()).then_some(a)
}

/// The per-bank results of the expensive hashes.
struct BankDigests {
    uki_auth: Digest,
    kernel_auth: Option<Digest>,
    pcr11: Vec<(Section, Digest)>,
    /// The initrd the kernel receives, when systemd-stub appended archives (else `.initrd`'s PCR 11 digest).
    initrd_passed: Option<Digest>,
}

/// What `EV_SEPARATOR` measures.
const SEPARATOR: [u8; 4] = [0; 4];

/// Predicts the PCRs for the UKI `uki` (the file's bytes) on `platform`, in each of `banks`.
pub fn predict(
    uki: &[u8],
    platform: &Platform,
    banks: &[Algorithm],
) -> Result<Prediction, PredictError> {
    predict_with(uki, platform, banks, &HashSource::Memory, &[])?
        .ok_or_else(|| UkiError::Extra("UKI sections read twice".into()).into())
}

/// [`predict`], the big hashes read from `source`; `unloaded` are byte ranges of `uki` that only `source`
/// holds. `None` when the UKI would be read in an unloaded range other than by those hashes.
fn predict_with(
    uki: &[u8],
    platform: &Platform,
    banks: &[Algorithm],
    source: &HashSource<'_>,
    unloaded: &[std::ops::Range<usize>],
) -> Result<Option<Prediction>, PredictError> {
    let parsed = Uki::parse_with(uki, platform.stub_generation)?.with_profile(platform.profile)?;
    if !unloaded.is_empty() {
        // The `.initrd` in use must be borrowed from an unloaded range (every other section is loaded).
        let inside = |b: &[u8]| {
            offset_in(uki, b).is_some_and(|a| {
                unloaded
                    .iter()
                    .any(|r| r.start <= a && a + b.len() <= r.end)
            })
        };
        let ok = match parsed.payload(Section::Initrd) {
            None => false,
            Some(std::borrow::Cow::Owned(_)) => false,
            Some(std::borrow::Cow::Borrowed(b)) => inside(b),
        };
        if !ok {
            return Ok(None);
        }
    }
    let generation = parsed.generation();
    if generation == StubGeneration::Systemd257
        && parsed
            .payload(Section::Dtbauto)
            .is_some_and(|d| !d.is_empty())
    {
        // Which `.dtbauto` the stub picks (and measures) depends on the firmware's device tree or SMBIOS
        // hardware IDs matched against `.hwids`.
        return Err(UkiError::NotModelled(
            "which .dtbauto systemd-stub 257 selects (by the firmware's device tree or hardware IDs)".into(),
        )
        .into());
    }
    let sb = &platform.secure_boot;
    let mut events: Vec<PredictedEvent> = Vec::new();

    let kernel = parsed.payload(Section::Linux).ok_or(UkiError::NoLinux)?;
    let initrd = combined_initrd(&parsed, &platform.stub_extras)?;
    let addons = platform.stub_extras.addons_in_load_order();
    let addon_parts = addons
        .iter()
        .map(|a| read_addon(a, &parsed))
        .collect::<Result<Vec<_>, _>>()?;
    // load_addons(): each `.cmdline` mangled, joined by single spaces.
    let addon_cmdline = addon_parts
        .iter()
        .filter_map(|p| p.cmdline.as_deref())
        .map(mangle_stub_cmdline)
        .fold(String::new(), |acc, c| {
            if acc.is_empty() {
                c
            } else {
                format!("{acc} {c}")
            }
        });
    let addon_cmdline = mangle_stub_cmdline(&addon_cmdline);
    let per_bank = bank_digests(
        uki,
        &parsed,
        &kernel,
        !sb.secure_boot,
        &initrd,
        banks,
        source,
    )?;
    let uki_sha256 = if sb.secure_boot {
        Some(uki_sha256(uki, &parsed, banks, &per_bank, source)?)
    } else {
        None
    };

    push_secure_boot_config(&mut events, sb, banks);
    push_boot_option_actions(&mut events, platform.boot_retries, banks);
    // The db entries already logged in PCR 7 (EDK2 logs an authority once).
    let mut authorities: Vec<Vec<u8>> = Vec::new();
    if sb.secure_boot {
        let (data, event) = db_authority_of(uki, parsed.headers(), sb, uki_sha256, banks)?;
        authorities.push(data);
        events.push(event);
    }
    events.push(PredictedEvent {
        pcr: 4,
        kind: PredictedEventKind::UkiAuthenticode,
        digests: per_bank.iter().map(|b| b.uki_auth).collect(),
    });
    if parsed.profile() != 0 {
        let n = parsed.profile().to_string();
        events.push(data_event(
            12,
            PredictedEventKind::UkiProfile(parsed.profile()),
            &utf16le_nul(&n),
            banks,
        ));
    }
    // Addons: the firmware verifies (Secure Boot on: a new db authority is logged in PCR 7) and measures each one
    // systemd-stub loads (global ones first, each directory sorted).
    for a in &addons {
        if sb.secure_boot {
            let what =
                |e: &dyn std::fmt::Display| UkiError::Extra(format!("addon {}: {e}", a.name));
            let headers = PeHeaders::parse(&a.data).map_err(|e| what(&e))?;
            let sha256 = authenticode_digest(&a.data, Algorithm::Sha256).map_err(|e| what(&e))?;
            let refused = |why: &str| {
                UkiError::Extra(format!(
                    "addon {}: Secure Boot is on but no db entry verifies it ({why}); the firmware would refuse it",
                    a.name
                ))
            };
            if headers.security_dir().is_none() {
                return Err(refused("not signed").into());
            }
            // Every error names the addon (the caller names the UKI's file).
            let (data, event) = db_authority_of(&a.data, &headers, sb, Some(sha256), banks)
                .map_err(|e| match e {
                    PredictError::NotAuthorized(why) => refused(why),
                    e => what(&e),
                })?;
            if !authorities.contains(&data) {
                authorities.push(data);
                events.push(event);
            }
        }
        events.push(PredictedEvent {
            pcr: 4,
            kind: PredictedEventKind::AddonAuthenticode,
            digests: yardstick_pe::authenticode::authenticode_digests(&a.data, banks)
                .map_err(|e| UkiError::Extra(format!("addon {}: {e}", a.name)))?,
        });
    }
    push_esp_extras(&mut events, &addon_cmdline, &initrd, banks);
    push_stub_sections(&mut events, &per_bank);

    // PCR 4: the kernel, loaded by systemd-stub through LoadImage. Under Secure Boot the stub's security
    // override approves the embedded kernel itself and the firmware's measurement handler is not called.
    if !sb.secure_boot {
        events.push(PredictedEvent {
            pcr: 4,
            kind: PredictedEventKind::KernelAuthenticode,
            digests: per_bank.iter().filter_map(|b| b.kernel_auth).collect(),
        });
    }
    push_linux_stub_events(
        &mut events,
        &parsed,
        &addon_cmdline,
        &initrd,
        &per_bank,
        banks,
        source,
    )?;

    let pcrs = replay_events(&events, banks);
    let pcr11_phases = pcr11_after_phases(&pcrs, banks);
    Ok(Some(Prediction {
        pcrs,
        pcr11_phases,
        events,
        stub_generation: generation,
        secure_boot: sb.secure_boot,
        secure_boot_variable_absent: false,
    }))
}

/// The big hashes: Authenticode of the UKI, of the kernel (when `kernel_measured`, i.e. Secure Boot off), and
/// the PCR 11 section digests (whose `.initrd` digest PCR 9 reuses) and, when systemd-stub appends archives to
/// it, the initrd the kernel receives, in every bank.
///
/// Each (bank, stream) pair is one job over borrowed slices of the file: every byte is hashed once per stream
/// and bank, nothing is copied unless the loader would zero-fill or overlap a section. The jobs are independent:
/// `hash::streams::digest_jobs` hashes a bank's streams two at a time where that measures faster and runs the
/// work on all cores, costliest first.
fn bank_digests(
    uki: &[u8],
    parsed: &Uki<'_>,
    kernel: &[u8],
    kernel_measured: bool,
    initrd: &CombinedInitrd<'_>,
    banks: &[Algorithm],
    source: &HashSource<'_>,
) -> Result<Vec<BankDigests>, PredictError> {
    if banks.is_empty() {
        return Ok(Vec::new());
    }
    let uki_ranges = hashed_ranges(uki, parsed.headers()).map_err(UkiError::from)?;
    let kernel_ranges = if kernel_measured {
        let headers = PeHeaders::parse(kernel).map_err(UkiError::from)?;
        Some(hashed_ranges(kernel, &headers).map_err(UkiError::from)?)
    } else {
        None
    };
    let uki_parts = slices(uki, &uki_ranges);
    let kernel_parts = kernel_ranges.map(|r| slices(kernel, &r));
    let sections = parsed.pcr11_sections();

    // The streams, each hashed in every bank: UKI, kernel, then the sections in measurement order.
    let mut streams: Vec<Vec<&[u8]>> = vec![uki_parts];
    streams.extend(kernel_parts);
    let first_section = streams.len();
    streams.extend(sections.iter().map(|(_, b)| vec![&b[..]]));
    let combined = !initrd.is_plain();
    if combined {
        streams.push(initrd.parts());
    }
    let jobs: Vec<(Algorithm, &[&[u8]])> = banks
        .iter()
        .flat_map(|&alg| streams.iter().map(move |s| (alg, &s[..])))
        .collect();
    let digests = source.digest_jobs(&jobs)?;

    // One digest per job: `n` per bank, in job order (n >= 1: the UKI's stream).
    let n = streams.len().max(1);
    Ok(banks
        .iter()
        .zip(digests.chunks_exact(n))
        .map(|(&alg, bank)| {
            let passed = combined.then(|| bank.last().copied()).flatten();
            let pcr11 = sections
                .iter()
                .zip(bank.iter().skip(first_section))
                .flat_map(|((section, _), &contents)| {
                    [
                        (*section, alg.digest(&section_name_nul(*section))),
                        (*section, contents),
                    ]
                })
                .collect();
            // The UKI's digest, then the kernel's when measured (`bank` is never empty).
            let mut firsts = bank.iter().copied();
            let uki_auth = firsts.next().unwrap_or_else(|| alg.digest(&[]));
            BankDigests {
                uki_auth,
                kernel_auth: firsts.next().filter(|_| kernel_measured),
                pcr11,
                initrd_passed: passed,
            }
        })
        .collect())
}

/// The parts of `data` that `ranges` (checked against its length by `hashed_ranges`) select.
fn slices<'a>(data: &'a [u8], ranges: &[std::ops::Range<usize>]) -> Vec<&'a [u8]> {
    ranges.iter().filter_map(|r| data.get(r.clone())).collect()
}

/// The UKI's SHA-256 Authenticode digest (db may list it): the sha256 bank's, or computed when that bank is
/// not requested.
fn uki_sha256(
    uki: &[u8],
    parsed: &Uki<'_>,
    banks: &[Algorithm],
    per_bank: &[BankDigests],
    source: &HashSource<'_>,
) -> Result<Digest, PredictError> {
    let in_bank = banks
        .iter()
        .position(|&b| b == Algorithm::Sha256)
        .and_then(|i| per_bank.get(i));
    Ok(match in_bank {
        Some(b) => b.uki_auth,
        None => {
            let ranges = hashed_ranges(uki, parsed.headers()).map_err(UkiError::from)?;
            let parts = slices(uki, &ranges);
            let d = source.digest_jobs(&[(Algorithm::Sha256, &parts[..])])?;
            d.into_iter()
                .next()
                .unwrap_or_else(|| Algorithm::Sha256.digest(&[]))
        }
    })
}

/// PCR 7: the Secure Boot configuration (Tcg2Dxe MeasureAllSecureVariables), then the separator.
fn push_secure_boot_config(
    events: &mut Vec<PredictedEvent>,
    sb: &SecureBootVars,
    banks: &[Algorithm],
) {
    let sb_byte = [u8::from(sb.secure_boot)];
    for (name, vendor, data) in [
        ("SecureBoot", &guids::EFI_GLOBAL_VARIABLE, &sb_byte[..]),
        ("PK", &guids::EFI_GLOBAL_VARIABLE, &sb.pk[..]),
        ("KEK", &guids::EFI_GLOBAL_VARIABLE, &sb.kek[..]),
        ("db", &guids::EFI_IMAGE_SECURITY_DATABASE, &sb.db[..]),
        ("dbx", &guids::EFI_IMAGE_SECURITY_DATABASE, &sb.dbx[..]),
    ] {
        let d = ovmf_vars::uefi_variable_data(vendor, name, data);
        events.push(data_event(
            7,
            PredictedEventKind::SecureBootVariable(name),
            &d,
            banks,
        ));
    }
    events.push(data_event(
        7,
        PredictedEventKind::Separator,
        &SEPARATOR,
        banks,
    ));
}

/// PCR 4: BDS at ReadyToBoot (Tcg2Dxe OnReadyToBoot), the separator, and a return and new call per boot
/// retry.
fn push_boot_option_actions(
    events: &mut Vec<PredictedEvent>,
    boot_retries: u32,
    banks: &[Algorithm],
) {
    events.push(action(4, "Calling EFI Application from Boot Option", banks));
    events.push(data_event(
        4,
        PredictedEventKind::Separator,
        &SEPARATOR,
        banks,
    ));
    for _ in 0..boot_retries {
        events.push(action(
            4,
            "Returning from EFI Application from Boot Option",
            banks,
        ));
        events.push(action(4, "Calling EFI Application from Boot Option", banks));
    }
}

/// PCR 7 with Secure Boot on: the db entry that verifies a PE image (the UKI, an addon) by its signer or its
/// SHA-256 Authenticode digest `sha256`, or why none does; the measured `db` variable data and its event.
fn db_authority_of(
    pe: &[u8],
    headers: &PeHeaders,
    sb: &SecureBootVars,
    sha256: Option<Digest>,
    banks: &[Algorithm],
) -> Result<(Vec<u8>, PredictedEvent), PredictError> {
    let db = ovmf_vars::signature_entries(&sb.db)?;
    let sigs = match headers.security_dir() {
        Some(d) => {
            let start = d.address as usize;
            let table = pe
                .get(start..start.saturating_add(d.size as usize))
                .ok_or_else(|| {
                    PredictError::Signature("certificate table outside the file".into())
                })?;
            authority::pkcs7_signatures(table)
        }
        None => return Err(PredictError::NotAuthorized("the UKI is not signed")),
    };
    let digest = sha256.map(|d| d.to_vec()).unwrap_or_default();
    let entry = authority::find_authority(&db, &sigs, &digest)?
        .ok_or(PredictError::NotAuthorized("signer not in db"))?;
    let d = ovmf_vars::uefi_variable_data(&guids::EFI_IMAGE_SECURITY_DATABASE, "db", &entry.data);
    let event = data_event(7, PredictedEventKind::DbAuthority, &d, banks);
    Ok((d, event))
}

/// PCR 11: systemd-stub's section measurements, from the per-bank digests.
fn push_stub_sections(events: &mut Vec<PredictedEvent>, per_bank: &[BankDigests]) {
    let Some(first) = per_bank.first() else {
        return;
    };
    // Every bank has the same sections in the same order (bank_digests).
    for (i, &(section, _)) in first.pcr11.iter().enumerate() {
        events.push(PredictedEvent {
            pcr: 11,
            // Uki::pcr11_events: the name's event, then the contents' event, per section.
            kind: if i % 2 == 0 {
                PredictedEventKind::UkiSectionName(section)
            } else {
                PredictedEventKind::UkiSection(section)
            },
            digests: per_bank
                .iter()
                .filter_map(|b| b.pcr11.get(i))
                .map(|&(_, d)| d)
                .collect(),
        });
    }
}

/// PCR 12 and 13: what systemd-stub 257 measures of the ESP extras, in its order: the addons' command line,
/// the drop-in archives (credentials, global credentials, system extensions into 13, configuration
/// extensions), the addons' `.ucode`s (in the order they are placed) and `.initrd`s.
fn push_esp_extras(
    events: &mut Vec<PredictedEvent>,
    addon_cmdline: &str,
    initrd: &CombinedInitrd<'_>,
    banks: &[Algorithm],
) {
    if !addon_cmdline.is_empty() {
        events.push(data_event(
            12,
            PredictedEventKind::AddonCmdline,
            &utf16le_nul(addon_cmdline),
            banks,
        ));
    }
    for (kind, archive) in &initrd.dropins {
        events.push(data_event(
            kind.pcr(),
            PredictedEventKind::StubDropin(*kind),
            archive,
            banks,
        ));
    }
    for (_, u) in &initrd.addon_ucodes {
        events.push(data_event(12, PredictedEventKind::AddonUcode, u, banks));
    }
    for (_, i) in &initrd.addon_initrds {
        events.push(data_event(12, PredictedEventKind::AddonInitrd, i, banks));
    }
}

/// PCR 9: the Linux EFI stub measures its load options and the initrd it loads through LoadFile2.
fn push_linux_stub_events(
    events: &mut Vec<PredictedEvent>,
    parsed: &Uki<'_>,
    addon_cmdline: &str,
    initrd: &CombinedInitrd<'_>,
    per_bank: &[BankDigests],
    banks: &[Algorithm],
    source: &HashSource<'_>,
) -> Result<(), PredictError> {
    // settle_command_line() then cmdline_append_and_measure_addons(): `.cmdline` mangled, the addons' appended.
    let cmdline = match (
        parsed.cmdline().map(|c| mangle_stub_cmdline(&c)),
        addon_cmdline,
    ) {
        (c, "") => c,
        (Some(c), a) if !c.is_empty() => Some(format!("{c} {a}")),
        (_, a) => Some(a.to_string()),
    };
    if let Some(cmdline) = cmdline {
        let lo = utf16le_nul(&cmdline);
        events.push(data_event(9, PredictedEventKind::LoadOptions, &lo, banks));
    }
    if !initrd.is_plain() {
        // The stub's buffer: `.ucode`, `.initrd` padded, then its archives (hashed with the other streams).
        let digests: Vec<Digest> = per_bank.iter().filter_map(|b| b.initrd_passed).collect();
        let digests = if digests.len() == banks.len() {
            digests
        } else {
            let parts = initrd.parts();
            let jobs: Vec<(Algorithm, &[&[u8]])> = banks.iter().map(|&a| (a, &parts[..])).collect();
            source.digest_jobs(&jobs)?
        };
        events.push(PredictedEvent {
            pcr: 9,
            kind: if initrd.has_esp_pieces() {
                PredictedEventKind::LinuxInitrdWithEspExtras(initrd.generated())
            } else if initrd.ucode.is_empty() {
                PredictedEventKind::LinuxInitrdWithStubCpios(initrd.generated())
            } else {
                PredictedEventKind::LinuxInitrdWithUcode(initrd.generated())
            },
            digests,
        });
        return Ok(());
    }
    if let Some(initrd) = parsed.payload(Section::Initrd).filter(|i| !i.is_empty()) {
        // Same bytes as the `.initrd` PCR 11 event (every stub table measures `.initrd`): reuse its digests.
        let from_pcr11: Option<Vec<Digest>> = per_bank
            .iter()
            .map(|b| {
                b.pcr11
                    .iter()
                    .filter(|(s, _)| *s == Section::Initrd)
                    .nth(1)
                    .map(|(_, d)| *d)
            })
            .collect();
        let digests = match from_pcr11 {
            Some(d) => d,
            None => {
                let parts = [&initrd[..]];
                let jobs: Vec<(Algorithm, &[&[u8]])> =
                    banks.iter().map(|&a| (a, &parts[..])).collect();
                source.digest_jobs(&jobs)?
            }
        };
        events.push(PredictedEvent {
            pcr: 9,
            kind: PredictedEventKind::LinuxInitrd,
            digests,
        });
    }
    Ok(())
}

/// The predicted PCRs (all of [`PREDICTED_PCRS`] per bank, from zero) after `events`.
fn replay_events(events: &[PredictedEvent], banks: &[Algorithm]) -> PcrBanks {
    let mut pcrs = PcrBanks::new();
    for &alg in banks {
        for pcr in PREDICTED_PCRS {
            pcrs.set(pcr, alg.zero());
        }
    }
    for e in events {
        for d in &e.digests {
            pcrs.extend(e.pcr, d);
        }
    }
    pcrs
}

/// PCR 11 after each of systemd-pcrphase's [`PHASES`], per bank, starting from the stub-only value in `pcrs`.
fn pcr11_after_phases(
    pcrs: &PcrBanks,
    banks: &[Algorithm],
) -> BTreeMap<Algorithm, Vec<(&'static str, Digest)>> {
    let mut pcr11_phases = BTreeMap::new();
    for &alg in banks {
        let mut v = *pcrs.get(alg, 11).unwrap_or(&alg.zero());
        let mut list = Vec::new();
        for p in PHASES {
            v = alg.extend(&v, &alg.digest(p.as_bytes()));
            list.push((p, v));
        }
        pcr11_phases.insert(alg, list);
    }
    pcr11_phases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_mangling_like_systemd_stub() {
        assert_eq!(
            mangle_stub_cmdline("  console=ttyS0 quiet\n"),
            "console=ttyS0 quiet"
        );
        assert_eq!(mangle_stub_cmdline("a\tb\n\nc"), "a b  c");
        assert_eq!(mangle_stub_cmdline("\n"), "");
    }

    /// The type and description of each kind, as the manifests' `tpm.events` and `pcr predict --events` print
    /// them.
    #[test]
    fn event_kinds_types_and_descriptions() {
        use PredictedEventKind::*;
        for (kind, t, desc) in [
            (
                SecureBootVariable("dbx"),
                EV_EFI_VARIABLE_DRIVER_CONFIG,
                "variable dbx",
            ),
            (Separator, EV_SEPARATOR, "separator"),
            (
                Action("Calling EFI Application from Boot Option"),
                EV_EFI_ACTION,
                "Calling EFI Application from Boot Option",
            ),
            (
                DbAuthority,
                EV_EFI_VARIABLE_AUTHORITY,
                "db entry that verified the UKI",
            ),
            (
                UkiAuthenticode,
                EV_EFI_BOOT_SERVICES_APPLICATION,
                "Authenticode of the UKI",
            ),
            (
                KernelAuthenticode,
                EV_EFI_BOOT_SERVICES_APPLICATION,
                "Authenticode of .linux",
            ),
            (
                UkiSectionName(Section::Cmdline),
                EV_IPL,
                "section name .cmdline",
            ),
            (UkiSection(Section::Linux), EV_IPL, "section .linux"),
            (LoadOptions, EV_EVENT_TAG, "LOADED_IMAGE::LoadOptions"),
            (LinuxInitrd, EV_EVENT_TAG, "Linux initrd"),
            (
                LinuxInitrdWithStubCpios({
                    let mut s = yardstick_pe::uki::StubCpioSet::default();
                    s.insert(yardstick_pe::uki::StubCpio::PcrPublicKey);
                    s.insert(yardstick_pe::uki::StubCpio::PcrSignature);
                    s
                }),
                EV_EVENT_TAG,
                "Linux initrd (.initrd + cpios of .pcrsig .pcrpkey)",
            ),
        ] {
            let e = data_event(4, kind, b"", &[Algorithm::Sha256]);
            assert_eq!((e.event_type(), e.description().as_str()), (t, desc));
        }
    }

    /// UTF-16LE("console=ttyS0\0") hashes to the digest seen in a real boot's PCR 9 LoadOptions event.
    #[test]
    fn load_options_encoding() {
        let d = Algorithm::Sha256.digest(&utf16le_nul("console=ttyS0"));
        assert_eq!(
            d.to_hex(),
            "884260a63f4a899f7d02781f726818e187e6e9554e4c418f08e38cc37fea763e"
        );
    }

    /// PCR 7 with Debian's empty VARS (Secure Boot off, no keys): the value read from a
    /// real boot, 65caf8dd...eb3068.
    #[test]
    fn pcr7_default_matches_noted_boot_value() {
        let banks = [Algorithm::Sha256];
        let sb = SecureBootVars::debian_default();
        let mut p = PcrBanks::new();
        let sb_byte = [0u8];
        for (name, vendor, data) in [
            ("SecureBoot", &guids::EFI_GLOBAL_VARIABLE, &sb_byte[..]),
            ("PK", &guids::EFI_GLOBAL_VARIABLE, &sb.pk[..]),
            ("KEK", &guids::EFI_GLOBAL_VARIABLE, &sb.kek[..]),
            ("db", &guids::EFI_IMAGE_SECURITY_DATABASE, &sb.db[..]),
            ("dbx", &guids::EFI_IMAGE_SECURITY_DATABASE, &sb.dbx[..]),
        ] {
            let e = data_event(
                7,
                PredictedEventKind::SecureBootVariable(name),
                &ovmf_vars::uefi_variable_data(vendor, name, data),
                &banks,
            );
            p.extend(7, &e.digests[0]);
        }
        p.extend(7, &Algorithm::Sha256.digest(&[0; 4]));
        let v = p.get(Algorithm::Sha256, 7).unwrap().to_hex();
        assert!(v.starts_with("65caf8dd") && v.ends_with("eb3068"), "{v}");
    }
}
