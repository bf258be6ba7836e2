//! PCI option ROMs as OVMF loads them: the EFI driver images in a PCI expansion ROM (e.g. iPXE's
//! `efi-virtio.rom`, which QEMU maps as a virtio-net NIC's ROM BAR), and the Authenticode digests the firmware
//! extends into PCR 2 when it loads them.
//!
//! Hand-written (the layout is a few fixed headers; no crate reads it) from the PCI Firmware Specification's
//! expansion ROM format and the UEFI specification's EFI image header, following what edk2's PCI bus driver
//! (`MdeModulePkg/Bus/Pci/PciBusDxe`, `ProcessOpRomImage` and `LocalLoadFile2`) does with a ROM:
//!
//! - images are walked from the ROM's start: each begins with `0xAA55` and points to its PCI data structure
//!   (`PCIR`), whose `ImageLength` (in 512-byte units) leads to the next image, until the one whose indicator
//!   has bit 7 set;
//! - only images of code type 3 (EFI) whose EFI subsystem is a boot-services or runtime driver are loaded
//!   (applications are skipped, anything else is refused here); the EFI image is the
//!   `InitializationSize × 512 − EfiImageHeaderOffset` bytes at `EfiImageHeaderOffset`, uncompressed
//!   (compression type 0) or EFI-compressed (type 1);
//! - `LoadImage` measures each one (`DxeTpm2MeasureBootLib`): its Authenticode digest, edk2's way
//!   ([`yardstick_pe::authenticode`]), as `EV_EFI_BOOT_SERVICES_DRIVER` (or `EV_EFI_RUNTIME_SERVICES_DRIVER`
//!   for a runtime driver) into PCR 2, in ROM order, before PCR 2's separator.
//!
//! Checked by `crates/cli/tests/boot_firmware_pcrs.rs` (a virtio-net NIC with Debian's iPXE ROM under QEMU 10 and
//! Debian 12's QEMU 7.2 + OVMF 2022.11: the log's PCR 2 driver event equals this digest in four banks). What is not modelled is refused
//! rather than guessed: compressed images (the EFI decompressor is not implemented), images for another machine
//! than x64 (edk2 2022.11 measures them before `LoadImage` checks the machine, then fails to load them; not
//! checked by a boot), an EFI image first in the ROM (QEMU patches the first image's PCI IDs and checksum byte
//! when a default romfile's IDs differ from the device's), a ROM that does not start with an image.

use yardstick_common::bytes::{le16, le32};
use yardstick_common::hash::{Algorithm, Digest};
use yardstick_pe::PeHeaders;
use yardstick_pe::authenticode::authenticode_digests;

/// The expansion ROM header signature.
const ROM_SIGNATURE: u16 = 0xaa55;
/// The EFI image header's `EfiSignature`.
const EFI_SIGNATURE: u32 = 0x0ef1;
/// PCIR code type of an EFI image.
const CODE_TYPE_EFI: u8 = 3;
/// `EFI_IMAGE_SUBSYSTEM_EFI_APPLICATION`.
const SUBSYSTEM_APPLICATION: u16 = 10;
/// `EFI_IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER`.
const SUBSYSTEM_BOOT_DRIVER: u16 = 11;
/// `EFI_IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER`.
const SUBSYSTEM_RUNTIME_DRIVER: u16 = 12;
/// `IMAGE_FILE_MACHINE_AMD64`.
const MACHINE_X64: u16 = 0x8664;
/// At most this many images are walked (a ROM BAR is at most 16 MiB; real ROMs hold two or three).
const MAX_IMAGES: usize = 64;

/// What kind of driver an option ROM image is; it decides the event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RomDriverKind {
    /// `EV_EFI_BOOT_SERVICES_DRIVER`.
    BootServices,
    /// `EV_EFI_RUNTIME_SERVICES_DRIVER`.
    RuntimeServices,
}

/// One EFI driver of an option ROM, as the firmware measures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RomDriver {
    /// Offset of its image (the `0xAA55` header) in the ROM: the device path's `Offset(start, ...)`.
    pub rom_offset: u32,
    /// Boot-services or runtime driver.
    pub kind: RomDriverKind,
    /// Its Authenticode digest in each requested bank, in the order asked.
    pub digests: Vec<Digest>,
}

/// Why an option ROM could not be read, or is outside what is modelled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionRomError {
    /// The file does not start with a PCI expansion ROM image.
    #[error("not a PCI option ROM (no 0xAA55 image header at offset 0)")]
    NotRom,
    /// A header points outside the file or is inconsistent.
    #[error("option ROM image at {offset:#x}: {why}")]
    Malformed {
        /// The image's offset.
        offset: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// The ROM holds something the model does not cover.
    #[error("option ROM image at {offset:#x}: {why} is not modelled")]
    NotModelled {
        /// The image's offset.
        offset: usize,
        /// What it is.
        why: String,
    },
    /// The EFI image is not a PE file edk2 would measure.
    #[error("option ROM image at {offset:#x}: {source}")]
    Pe {
        /// The image's offset.
        offset: usize,
        /// The PE error.
        source: yardstick_pe::PeError,
    },
}

fn malformed(offset: usize, why: &'static str) -> OptionRomError {
    OptionRomError::Malformed { offset, why }
}

/// Checks that `rom` is a PCI option ROM this module reads; what it reads but does not model (a compressed
/// image, another machine) is not an error here: [`rom_drivers`] refuses it.
pub fn check_rom(rom: &[u8]) -> Result<(), OptionRomError> {
    match rom_drivers(rom, &[]) {
        Ok(_) | Err(OptionRomError::NotModelled { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The EFI drivers `rom` holds, in ROM order, with their Authenticode digests in `banks`. A ROM with only
/// legacy (BIOS) images gives none.
pub fn rom_drivers(rom: &[u8], banks: &[Algorithm]) -> Result<Vec<RomDriver>, OptionRomError> {
    if le16(rom, 0) != Some(ROM_SIGNATURE) {
        return Err(OptionRomError::NotRom);
    }
    let mut drivers = Vec::new();
    let mut offset = 0usize;
    for _ in 0..MAX_IMAGES {
        let image = rom.get(offset..).unwrap_or_default();
        if le16(image, 0) != Some(ROM_SIGNATURE) {
            return Err(malformed(
                offset,
                "no 0xAA55 header where the previous image ends",
            ));
        }
        let pcir =
            usize::from(le16(image, 0x18).ok_or_else(|| malformed(offset, "truncated header"))?);
        if pcir == 0 || pcir % 4 != 0 || image.get(pcir..pcir + 0x18).is_none() {
            return Err(malformed(
                offset,
                "PCI data structure pointer out of range or unaligned",
            ));
        }
        if image.get(pcir..pcir + 4) != Some(b"PCIR".as_slice()) {
            return Err(malformed(offset, "no PCIR signature"));
        }
        let image_len = usize::from(le16(image, pcir + 0x10).unwrap_or_default()) * 512;
        let code_type = image.get(pcir + 0x14).copied().unwrap_or_default();
        let indicator = image.get(pcir + 0x15).copied().unwrap_or_default();
        let this = image
            .get(..image_len)
            .filter(|_| image_len > 0)
            .ok_or_else(|| malformed(offset, "image length 0 or past the end of the file"))?;
        if code_type == CODE_TYPE_EFI && offset == 0 {
            // QEMU rewrites the first image's PCI IDs (and byte 6 as its checksum) when a default romfile's IDs
            // differ from the device's (`pci_patch_ids`); in an EFI image byte 6 is inside EfiSignature.
            return Err(OptionRomError::NotModelled {
                offset,
                why: "an EFI image first in the ROM (QEMU may patch its header)".into(),
            });
        }
        if code_type == CODE_TYPE_EFI
            && let Some(d) = efi_driver(this, offset, banks)?
        {
            drivers.push(d);
        }
        if indicator & 0x80 != 0 {
            return Ok(drivers);
        }
        offset += image_len;
    }
    Err(malformed(offset, "more than 64 images"))
}

/// The driver of one EFI image (`image` = its `ImageLength` bytes), or `None` for an application, which the
/// PCI bus driver does not load.
fn efi_driver(
    image: &[u8],
    offset: usize,
    banks: &[Algorithm],
) -> Result<Option<RomDriver>, OptionRomError> {
    let field = |at| le16(image, at).ok_or_else(|| malformed(offset, "truncated EFI image header"));
    let init_size = usize::from(field(2)?) * 512;
    if le32(image, 4) != Some(EFI_SIGNATURE) {
        return Err(malformed(
            offset,
            "code type EFI without the EFI image signature 0x0EF1",
        ));
    }
    let subsystem = field(8)?;
    let machine = field(0xa)?;
    let compression = field(0xc)?;
    let pe_offset = usize::from(field(0x16)?);
    if subsystem == SUBSYSTEM_APPLICATION {
        return Ok(None);
    }
    if subsystem != SUBSYSTEM_BOOT_DRIVER && subsystem != SUBSYSTEM_RUNTIME_DRIVER {
        // edk2 2022.11's LocalLoadFile2 does not hand such an image to LoadImage; other versions may differ.
        return Err(OptionRomError::NotModelled {
            offset,
            why: format!("an EFI image header of subsystem {subsystem}"),
        });
    }
    if machine != MACHINE_X64 {
        return Err(OptionRomError::NotModelled {
            offset,
            why: format!("an EFI image for machine {machine:#06x} (only x64, 0x8664)"),
        });
    }
    if compression != 0 {
        return Err(OptionRomError::NotModelled {
            offset,
            why: format!("compression type {compression} (only uncompressed images)"),
        });
    }
    let pe = image
        .get(pe_offset..init_size)
        .filter(|pe| !pe.is_empty())
        .ok_or_else(|| {
            malformed(
                offset,
                "EFI image offset or initialization size out of range",
            )
        })?;
    // The PE's own subsystem decides the event type (DxeTpm2MeasureBootLib reads it from the image).
    let headers = PeHeaders::parse(pe).map_err(|source| OptionRomError::Pe { offset, source })?;
    let kind = match le16(pe, headers.optional_offset + 68) {
        Some(SUBSYSTEM_BOOT_DRIVER) => RomDriverKind::BootServices,
        Some(SUBSYSTEM_RUNTIME_DRIVER) => RomDriverKind::RuntimeServices,
        other => {
            return Err(OptionRomError::NotModelled {
                offset,
                why: format!(
                    "a PE image of subsystem {} in a driver slot",
                    other.map_or_else(|| "?".into(), |s| s.to_string())
                ),
            });
        }
    };
    let digests =
        authenticode_digests(pe, banks).map_err(|source| OptionRomError::Pe { offset, source })?;
    Ok(Some(RomDriver {
        rom_offset: u32::try_from(offset).unwrap_or(u32::MAX),
        kind,
        digests,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE32+ of `subsystem` (headers only plus one section).
    fn pe(subsystem: u16) -> Vec<u8> {
        let mut f = vec![0u8; 0x400];
        f[0..2].copy_from_slice(b"MZ");
        f[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        f[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        f[coff..coff + 2].copy_from_slice(&MACHINE_X64.to_le_bytes());
        f[coff + 2..coff + 4].copy_from_slice(&1u16.to_le_bytes());
        f[coff + 16..coff + 18].copy_from_slice(&240u16.to_le_bytes());
        let oh = coff + 20;
        f[oh..oh + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        f[oh + 32..oh + 36].copy_from_slice(&0x1000u32.to_le_bytes());
        f[oh + 36..oh + 40].copy_from_slice(&0x200u32.to_le_bytes());
        f[oh + 56..oh + 60].copy_from_slice(&0x2000u32.to_le_bytes());
        f[oh + 60..oh + 64].copy_from_slice(&0x400u32.to_le_bytes());
        f[oh + 68..oh + 70].copy_from_slice(&subsystem.to_le_bytes());
        f[oh + 108..oh + 112].copy_from_slice(&16u32.to_le_bytes());
        let s = oh + 240;
        f[s..s + 5].copy_from_slice(b".text");
        f[s + 8..s + 12].copy_from_slice(&0x200u32.to_le_bytes());
        f[s + 12..s + 16].copy_from_slice(&0x1000u32.to_le_bytes());
        f[s + 16..s + 20].copy_from_slice(&0x200u32.to_le_bytes());
        f[s + 20..s + 24].copy_from_slice(&0x400u32.to_le_bytes());
        f.extend((0..0x200u32).map(|i| i as u8));
        f
    }

    /// One ROM image: a legacy one (code type 0) when `efi` is `None`, else an EFI image around the PE.
    fn image(efi: Option<(&[u8], u16, u16)>, last: bool) -> Vec<u8> {
        let pe_offset = 0x40usize;
        let body = efi.map_or(0x100, |(pe, _, _)| pe_offset + pe.len());
        let len = body.div_ceil(512) * 512;
        let mut i = vec![0u8; len];
        i[0..2].copy_from_slice(&ROM_SIGNATURE.to_le_bytes());
        i[0x18..0x1a].copy_from_slice(&0x1cu16.to_le_bytes());
        let p = 0x1c;
        i[p..p + 4].copy_from_slice(b"PCIR");
        i[p + 4..p + 6].copy_from_slice(&0x1af4u16.to_le_bytes());
        i[p + 0x10..p + 0x12].copy_from_slice(&((len / 512) as u16).to_le_bytes());
        i[p + 0x15] = if last { 0x80 } else { 0 };
        if let Some((pe, subsystem, compression)) = efi {
            i[p + 0x14] = CODE_TYPE_EFI;
            i[2..4].copy_from_slice(&((len / 512) as u16).to_le_bytes());
            i[4..8].copy_from_slice(&EFI_SIGNATURE.to_le_bytes());
            i[8..10].copy_from_slice(&subsystem.to_le_bytes());
            i[0xa..0xc].copy_from_slice(&MACHINE_X64.to_le_bytes());
            i[0xc..0xe].copy_from_slice(&compression.to_le_bytes());
            i[0x16..0x18].copy_from_slice(&(pe_offset as u16).to_le_bytes());
            i[pe_offset..pe_offset + pe.len()].copy_from_slice(pe);
        }
        i
    }

    const BANKS: [Algorithm; 2] = [Algorithm::Sha1, Algorithm::Sha256];

    #[test]
    fn legacy_then_efi_driver() {
        let driver = pe(SUBSYSTEM_BOOT_DRIVER);
        let mut rom = image(None, false);
        let at = rom.len();
        let efi = image(Some((&driver, SUBSYSTEM_BOOT_DRIVER, 0)), true);
        rom.extend_from_slice(&efi);
        // QEMU pads the ROM BAR; bytes after the last image are not read.
        rom.resize(rom.len() + 4096, 0xff);
        let d = rom_drivers(&rom, &BANKS).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rom_offset as usize, at);
        assert_eq!(d[0].kind, RomDriverKind::BootServices);
        // The measured bytes run to InitializationSize × 512, padding after the PE included (edk2 hashes the
        // bytes past the last section as "remaining data").
        let measured = &efi[0x40..];
        assert_eq!(
            d[0].digests,
            authenticode_digests(measured, &BANKS).unwrap()
        );
        assert_ne!(
            d[0].digests,
            authenticode_digests(&driver, &BANKS).unwrap(),
            "the ROM's padding is part of the measured image"
        );
    }

    /// A legacy image, then `efi` (the order of Debian's iPXE ROMs).
    fn after_legacy(efi: Vec<u8>) -> Vec<u8> {
        [image(None, false), efi].concat()
    }

    /// The refusal's text, when it is one.
    fn not_modelled(rom: &[u8]) -> String {
        match rom_drivers(rom, &BANKS) {
            Err(OptionRomError::NotModelled { why, .. }) => why,
            other => panic!("not a refusal: {other:?}"),
        }
    }

    #[test]
    fn runtime_driver_and_application() {
        let rt = pe(SUBSYSTEM_RUNTIME_DRIVER);
        let app = pe(SUBSYSTEM_APPLICATION);
        let mut rom = after_legacy(image(Some((&app, SUBSYSTEM_APPLICATION, 0)), false));
        rom.extend(image(Some((&rt, SUBSYSTEM_RUNTIME_DRIVER, 0)), true));
        let d = rom_drivers(&rom, &BANKS).unwrap();
        assert_eq!(d.len(), 1, "the application is not loaded");
        assert_eq!(d[0].kind, RomDriverKind::RuntimeServices);
        // Only legacy images: nothing measured.
        assert_eq!(rom_drivers(&image(None, true), &BANKS).unwrap(), vec![]);
    }

    #[test]
    fn refusals() {
        let driver = pe(SUBSYSTEM_BOOT_DRIVER);
        assert_eq!(rom_drivers(b"MZ..", &BANKS), Err(OptionRomError::NotRom));
        assert_eq!(rom_drivers(&[], &BANKS), Err(OptionRomError::NotRom));
        // An EFI image first: QEMU may patch its header.
        let first = image(Some((&driver, SUBSYSTEM_BOOT_DRIVER, 0)), true);
        assert!(not_modelled(&first).contains("first in the ROM"));
        let compressed = after_legacy(image(Some((&driver, SUBSYSTEM_BOOT_DRIVER, 1)), true));
        assert!(not_modelled(&compressed).contains("compression type 1"));
        let mut ia32 = image(Some((&driver, SUBSYSTEM_BOOT_DRIVER, 0)), true);
        ia32[0xa..0xc].copy_from_slice(&0x014cu16.to_le_bytes());
        assert!(not_modelled(&after_legacy(ia32)).contains("machine 0x014c"));
        // A ROM header subsystem that is neither an application nor a driver.
        let odd = after_legacy(image(Some((&driver, 13, 0)), true));
        assert!(not_modelled(&odd).contains("subsystem 13"));
        // The PE says application in a driver slot.
        let app = pe(SUBSYSTEM_APPLICATION);
        let lying = after_legacy(image(Some((&app, SUBSYSTEM_BOOT_DRIVER, 0)), true));
        assert!(not_modelled(&lying).contains("PE image of subsystem 10"));
        // Not the last image, and nothing after it.
        let open = after_legacy(image(Some((&driver, SUBSYSTEM_BOOT_DRIVER, 0)), false));
        assert!(matches!(
            rom_drivers(&open, &BANKS),
            Err(OptionRomError::Malformed { .. })
        ));
    }

    #[test]
    fn hostile_headers_never_panic() {
        let driver = pe(SUBSYSTEM_BOOT_DRIVER);
        let rom = after_legacy(image(Some((&driver, SUBSYSTEM_BOOT_DRIVER, 0)), true));
        // Every truncation and every single-byte corruption of the headers is an error or a result, never a
        // panic.
        for cut in 0..rom.len() {
            let _ = rom_drivers(&rom[..cut], &BANKS);
        }
        for at in (0..0x60).chain(0x200..0x260) {
            for v in [0u8, 0x7f, 0xff] {
                let mut r = rom.clone();
                r[at] = v;
                let _ = rom_drivers(&r, &BANKS);
            }
        }
        // A zero image length cannot loop.
        let mut z = image(None, false);
        z[0x1c + 0x10..0x1c + 0x12].copy_from_slice(&0u16.to_le_bytes());
        assert!(matches!(
            rom_drivers(&z, &BANKS),
            Err(OptionRomError::Malformed { .. })
        ));
    }
}
