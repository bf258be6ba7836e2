//! OVMF firmware images: the GUIDed footer table and the SEV metadata it points to.
//!
//! edk2's reset vector (`OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm`, `X64/OvmfSevMetadata.asm`) ends the
//! firmware image with a table that QEMU reads to find what an SEV guest needs beyond the image itself:
//!
//! ```text
//!   ... | data | u16 size | GUID | ... | data | u16 size | GUID | u16 table size | FOOTER GUID | 32 bytes | end
//! ```
//!
//! The footer entry sits 32 bytes before the end of the file (the reset vector follows it); its size covers the
//! whole table including itself. Entries are walked backwards from the footer, each ending with its own size and
//! GUID. The entries used for launch measurement are:
//!
//! * SEV metadata: a `u32` offset from the end of the file to an `"ASEV"` header (version 1) followed by
//!   `{gpa, size, type}` `u32` triples, the pages QEMU adds to the guest before launch;
//! * the SEV hashes table: the guest-physical address where QEMU puts the kernel/initrd/cmdline hashes;
//! * the SEV-ES reset block: the real-mode entry point of the application processors;
//! * the SVSM info block (Coconut SVSM images): the SVSM entry point as an offset into the image.
//!
//! Everything here is untrusted input: [`Ovmf`] parses and validates it once, and the rest of the crate works on
//! the validated [`OvmfMetadata`].

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use yardstick_common::fs::{InputError, InputFile, InputKind};

/// Guest-physical address just past the firmware: QEMU maps the flash image so that it ends at 4 GiB.
pub const FOUR_GIB: u64 = 1 << 32;

/// The SEV page size.
pub const PAGE_SIZE: u64 = 4096;

/// Bytes between the footer entry and the end of the image (the reset vector and its padding).
const FOOTER_OFFSET_FROM_END: u64 = 32;

/// An entry header: `u16 size` then the GUID.
const ENTRY_HEADER_LEN: usize = 18;

/// Size of the `"ASEV"` SEV metadata header: signature, size, version, number of sections.
const METADATA_HEADER_LEN: u64 = 16;

/// Size of one SEV metadata section descriptor: gpa, size, type.
const SECTION_DESC_LEN: u64 = 12;

/// Real firmware declares fewer than ten sections; anything beyond this is a corrupt header, not a firmware.
const MAX_SECTIONS: u32 = 1024;

/// The GUID type of the footer table; entries store it in EFI byte order ([`Guid::from_efi_bytes`]).
pub use yardstick_common::guid::Guid;

/// The GUIDs of the footer table entries this crate reads (edk2 `OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm`,
/// Coconut SVSM `stage1`).
pub mod guids {
    use super::Guid;
    use yardstick_common::guid;

    /// `96b582de-1fb2-45f7-baea-a366c55a082d`: the footer entry that closes the table.
    pub const FOOTER_TABLE: Guid = guid!("96b582de-1fb2-45f7-baea-a366c55a082d");
    /// `7255371f-3a3b-4b04-927b-1da6efa8d454`: where QEMU writes the kernel/initrd/cmdline hashes (gpa, size).
    pub const SEV_HASH_TABLE_RV: Guid = guid!("7255371f-3a3b-4b04-927b-1da6efa8d454");
    /// `00f771de-1a7e-4fcb-890e-68c77e2fb44e`: the SEV-ES AP reset block (reset EIP).
    pub const SEV_ES_RESET_BLOCK: Guid = guid!("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
    /// `dc886566-984a-4798-a75e-5585a7bf67cc`: offset from the end of the image to the SEV metadata.
    pub const SEV_METADATA: Guid = guid!("dc886566-984a-4798-a75e-5585a7bf67cc");
    /// `a789a612-0597-4c4b-a49f-cbb1fe9d1ddd`: Coconut SVSM entry point, as an offset into the SVSM image.
    pub const SVSM_INFO: Guid = guid!("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd");
}

/// What QEMU does with a region listed in the SEV metadata (`OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionType {
    /// 1, `OVMF_SECTION_TYPE_SNP_SEC_MEM`: memory the SEC phase uses, pre-validated (zero pages).
    SnpSecMem,
    /// 2, `OVMF_SECTION_TYPE_SNP_SECRETS`: the SNP secrets page.
    SnpSecrets,
    /// 3, `OVMF_SECTION_TYPE_CPUID`: the SNP CPUID page.
    Cpuid,
    /// 4, `OVMF_SECTION_TYPE_SVSM_CAA`: the SVSM calling area (zero pages).
    SvsmCaa,
    /// 0x10, `OVMF_SECTION_TYPE_KERNEL_HASHES`: the page holding the SEV hashes table.
    SnpKernelHashes,
    /// A type this crate does not know; the SNP launch digest refuses it, as QEMU would.
    Unknown(u32),
}

impl SectionType {
    /// The type from its numeric value.
    pub const fn from_u32(v: u32) -> SectionType {
        match v {
            1 => SectionType::SnpSecMem,
            2 => SectionType::SnpSecrets,
            3 => SectionType::Cpuid,
            4 => SectionType::SvsmCaa,
            0x10 => SectionType::SnpKernelHashes,
            other => SectionType::Unknown(other),
        }
    }

    /// The numeric value in the firmware.
    pub const fn to_u32(self) -> u32 {
        match self {
            SectionType::SnpSecMem => 1,
            SectionType::SnpSecrets => 2,
            SectionType::Cpuid => 3,
            SectionType::SvsmCaa => 4,
            SectionType::SnpKernelHashes => 0x10,
            SectionType::Unknown(v) => v,
        }
    }

    /// edk2's name for the type.
    pub const fn name(self) -> &'static str {
        match self {
            SectionType::SnpSecMem => "SNP_SEC_MEM",
            SectionType::SnpSecrets => "SNP_SECRETS",
            SectionType::Cpuid => "CPUID",
            SectionType::SvsmCaa => "SVSM_CAA",
            SectionType::SnpKernelHashes => "SNP_KERNEL_HASHES",
            SectionType::Unknown(_) => "unknown",
        }
    }
}

/// One region from the SEV metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataSection {
    /// Guest-physical start address.
    pub gpa: u32,
    /// Length in bytes.
    pub size: u32,
    /// What the region is.
    pub section_type: SectionType,
}

impl MetadataSection {
    /// One past the last byte, as a 64-bit address.
    pub fn end(&self) -> u64 {
        u64::from(self.gpa) + u64::from(self.size)
    }
}

/// Why firmware bytes (or an `ovmf-metadata` JSON document) were rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OvmfError {
    /// The file could not be read.
    #[error("cannot read")]
    Io(#[from] io::Error),
    /// Too short to hold a footer table.
    #[error("{0} bytes is too small for an OVMF image (a footer table alone needs 50 bytes)")]
    TooSmall(u64),
    /// Larger than the 4 GiB the firmware must fit below.
    #[error("{0} bytes is too large for firmware mapped below 4 GiB")]
    TooLarge(u64),
    /// The footer entry's size is smaller than an entry header.
    #[error("footer table: footer entry size {0} is smaller than an entry header (18 bytes)")]
    FooterTooShort(u16),
    /// The footer entry claims a table that starts before the file.
    #[error(
        "footer table: the footer claims a {table_len}-byte table but only {available} bytes precede it"
    )]
    FooterOutOfBounds {
        /// Claimed table length (without the footer entry).
        table_len: u64,
        /// Bytes available before the footer entry.
        available: u64,
    },
    /// An entry's size is smaller than its header or larger than what is left of the table.
    #[error(
        "footer table: entry {guid} has size {size}, outside the table ({remaining} bytes left, header 18)"
    )]
    EntryOutOfBounds {
        /// The entry's GUID.
        guid: Guid,
        /// Its claimed size.
        size: u16,
        /// Bytes of the table not yet walked, including this entry.
        remaining: usize,
    },
    /// Two entries with the same GUID.
    #[error("footer table: entry {0} appears twice")]
    DuplicateEntry(Guid),
    /// An entry is too short for the value it must hold.
    #[error("footer table: entry {guid} ({name}) has {len} data bytes, needs at least {need}")]
    EntryTooShort {
        /// The entry's GUID.
        guid: Guid,
        /// What the entry is.
        name: &'static str,
        /// Its data length.
        len: usize,
        /// The minimum length.
        need: usize,
    },
    /// The SEV metadata offset points outside the file.
    #[error(
        "SEV metadata: offset {offset:#x} from the end points outside the {file_len}-byte image"
    )]
    MetadataOutOfBounds {
        /// Offset from the end of the file.
        offset: u32,
        /// File length.
        file_len: u64,
    },
    /// The SEV metadata header does not start with `"ASEV"`.
    #[error("SEV metadata: signature is {0:02x?}, expected \"ASEV\"")]
    MetadataSignature([u8; 4]),
    /// An SEV metadata version other than 1.
    #[error("SEV metadata: version {0} is not supported (only version 1 exists)")]
    MetadataVersion(u32),
    /// The SEV metadata size does not hold its sections, or runs past the file.
    #[error("SEV metadata: header declares {size} bytes for {count} sections, which {problem}")]
    MetadataSize {
        /// Declared size.
        size: u32,
        /// Declared number of sections.
        count: u32,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A section that is empty, not page-aligned, or beyond 4 GiB.
    #[error("SEV metadata: section {index} ({name}, gpa {gpa:#x}, size {size:#x}) {problem}")]
    BadSection {
        /// Position in the table (0-based).
        index: usize,
        /// Type name.
        name: &'static str,
        /// Its gpa.
        gpa: u32,
        /// Its size.
        size: u32,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two sections overlap.
    #[error(
        "SEV metadata: sections {a} ({a_gpa:#x}+{a_size:#x}) and {b} ({b_gpa:#x}+{b_size:#x}) overlap"
    )]
    SectionsOverlap {
        /// Index of one section.
        a: usize,
        /// Its gpa.
        a_gpa: u32,
        /// Its size.
        a_size: u32,
        /// Index of the other.
        b: usize,
        /// Its gpa.
        b_gpa: u32,
        /// Its size.
        b_size: u32,
    },
}

/// The parts of a firmware image a launch measurement needs besides its bytes: the SEV metadata sections in
/// table order, the SEV-ES AP reset EIP and the SEV hashes table address.
///
/// Validated on construction: every section is non-empty, page-aligned and below 4 GiB, secrets and CPUID
/// sections are exactly one page, and no two sections overlap.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawMetadata", into = "RawMetadata")]
pub struct OvmfMetadata {
    sections: Vec<MetadataSection>,
    sev_es_reset_eip: Option<u32>,
    sev_hashes_table_gpa: Option<u32>,
}

impl OvmfMetadata {
    /// Validates sections and footer values. An empty section list means "no SEV metadata".
    pub fn new(
        sections: Vec<MetadataSection>,
        sev_es_reset_eip: Option<u32>,
        sev_hashes_table_gpa: Option<u32>,
    ) -> Result<OvmfMetadata, OvmfError> {
        for (index, s) in sections.iter().enumerate() {
            let bad = |problem| OvmfError::BadSection {
                index,
                name: s.section_type.name(),
                gpa: s.gpa,
                size: s.size,
                problem,
            };
            if s.size == 0 {
                return Err(bad("is empty"));
            }
            if u64::from(s.gpa) % PAGE_SIZE != 0 || u64::from(s.size) % PAGE_SIZE != 0 {
                return Err(bad("is not 4 KiB page-aligned"));
            }
            if s.end() > FOUR_GIB {
                return Err(bad("extends past 4 GiB"));
            }
            // QEMU and the PSP treat these as single pages; sev-snp-measure measures exactly one page.
            if matches!(s.section_type, SectionType::SnpSecrets | SectionType::Cpuid)
                && u64::from(s.size) != PAGE_SIZE
            {
                return Err(bad("must be exactly one 4 KiB page"));
            }
        }
        let mut order: Vec<usize> = (0..sections.len()).collect();
        order.sort_by_key(|&i| sections.get(i).map(|s| s.gpa));
        for w in order.windows(2) {
            if let (Some(&ia), Some(&ib)) = (w.first(), w.get(1))
                && let (Some(a), Some(b)) = (sections.get(ia), sections.get(ib))
                && a.end() > u64::from(b.gpa)
            {
                return Err(OvmfError::SectionsOverlap {
                    a: ia,
                    a_gpa: a.gpa,
                    a_size: a.size,
                    b: ib,
                    b_gpa: b.gpa,
                    b_size: b.size,
                });
            }
        }
        Ok(OvmfMetadata {
            sections,
            sev_es_reset_eip,
            sev_hashes_table_gpa,
        })
    }

    /// The SEV metadata sections, in table order (the order QEMU measures them in: never sorted).
    pub fn sections(&self) -> &[MetadataSection] {
        &self.sections
    }

    /// Whether the firmware has SEV metadata at all.
    pub fn has_sev_metadata(&self) -> bool {
        !self.sections.is_empty()
    }

    /// Whether a section of this type is present.
    pub fn has_section(&self, t: SectionType) -> bool {
        self.sections.iter().any(|s| s.section_type == t)
    }

    /// The SEV-ES reset EIP of the application processors, if the reset block is present.
    pub fn sev_es_reset_eip(&self) -> Option<u32> {
        self.sev_es_reset_eip
    }

    /// The SEV hashes table address, if the entry is present (it may be 0: not supported by this build).
    pub fn sev_hashes_table_gpa(&self) -> Option<u32> {
        self.sev_hashes_table_gpa
    }

    /// Whether QEMU can place kernel/initrd/cmdline hashes (SEV and SEV-ES direct boot): the table entry is
    /// present and its address is not 0.
    pub fn supports_sev_hashes_table(&self) -> bool {
        matches!(self.sev_hashes_table_gpa, Some(gpa) if gpa != 0)
    }
}

/// The JSON shape of [`OvmfMetadata`] (`yardstick snp ovmf-metadata`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    sections: Vec<RawSection>,
    sev_es_reset_eip: Option<u32>,
    sev_hashes_table_gpa: Option<u32>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    gpa: u32,
    size: u32,
    section_type: u32,
}

impl TryFrom<RawMetadata> for OvmfMetadata {
    type Error = OvmfError;
    fn try_from(raw: RawMetadata) -> Result<Self, OvmfError> {
        let sections = raw
            .sections
            .into_iter()
            .map(|s| MetadataSection {
                gpa: s.gpa,
                size: s.size,
                section_type: SectionType::from_u32(s.section_type),
            })
            .collect();
        OvmfMetadata::new(sections, raw.sev_es_reset_eip, raw.sev_hashes_table_gpa)
    }
}

impl From<OvmfMetadata> for RawMetadata {
    fn from(m: OvmfMetadata) -> RawMetadata {
        RawMetadata {
            sections: m
                .sections
                .into_iter()
                .map(|s| RawSection {
                    gpa: s.gpa,
                    size: s.size,
                    section_type: s.section_type.to_u32(),
                })
                .collect(),
            sev_es_reset_eip: m.sev_es_reset_eip,
            sev_hashes_table_gpa: m.sev_hashes_table_gpa,
        }
    }
}

/// The entries of a GUIDed footer table, as `(GUID, data)` pairs in the order they were walked (from the end).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FooterTable {
    entries: Vec<(Guid, Vec<u8>)>,
}

impl FooterTable {
    /// The data of the entry with this GUID.
    pub fn get(&self, guid: &Guid) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(g, _)| g == guid)
            .map(|(_, d)| d.as_slice())
    }

    /// Every entry, walked from the end of the image.
    pub fn entries(&self) -> impl Iterator<Item = (&Guid, &[u8])> {
        self.entries.iter().map(|(g, d)| (g, d.as_slice()))
    }

    /// Whether the image has a footer table at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses the footer table of a whole firmware image held in memory, with the same validation as
    /// [`Ovmf::open`] but without reading the SEV metadata (for the entries other trust paths use, such as
    /// the TDX metadata offset). An image without a table gives an empty table.
    pub fn from_image(image: &[u8]) -> Result<FooterTable, OvmfError> {
        // The table is at most a u16 size long and ends 32 bytes before the end: only that tail is copied.
        let tail_len = (usize::from(u16::MAX) + FOOTER_OFFSET_FROM_END as usize).min(image.len());
        let tail = image
            .get(image.len() - tail_len..)
            .unwrap_or_default()
            .to_vec();
        match parse_footer_table(&Source::Memory(tail), tail_len as u64) {
            // Offsets in the errors are relative to the end of the image; the length is the whole image's.
            Err(OvmfError::TooSmall(_)) => Err(OvmfError::TooSmall(image.len() as u64)),
            other => other,
        }
    }

    fn u32_entry(&self, guid: &Guid, name: &'static str) -> Result<Option<u32>, OvmfError> {
        match self.get(guid) {
            None => Ok(None),
            Some(d) => match d.get(..4) {
                Some(&[a, b, c, e]) => Ok(Some(u32::from_le_bytes([a, b, c, e]))),
                _ => Err(OvmfError::EntryTooShort {
                    guid: *guid,
                    name,
                    len: d.len(),
                    need: 4,
                }),
            },
        }
    }
}

enum Source {
    File(File),
    Memory(Vec<u8>),
}

impl Source {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        match self {
            Source::File(f) => f.read_exact_at(buf, offset),
            Source::Memory(m) => {
                let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
                let src = start
                    .checked_add(buf.len())
                    .and_then(|end| m.get(start..end))
                    .ok_or(io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }

    fn read_vec_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut v = vec![0; len];
        self.read_exact_at(&mut v, offset)?;
        Ok(v)
    }
}

/// A firmware image (OVMF, or a Coconut SVSM image, which uses the same footer table) with its parsed and
/// validated footer table and SEV metadata. The image bytes stay on disk and are streamed when measured.
pub struct Ovmf {
    source: Source,
    len: u64,
    table: FooterTable,
    metadata: OvmfMetadata,
    svsm_info: Option<u32>,
}

impl fmt::Debug for Ovmf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ovmf")
            .field("len", &self.len)
            .field("table", &self.table)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Ovmf {
    /// Opens and parses a firmware image (at most [`InputKind::FIRMWARE`]'s limit). Only the footer table and
    /// the SEV metadata of a regular file are read now; a stream (a pipe) is read once, whole.
    pub fn open(path: impl AsRef<Path>) -> Result<Ovmf, OvmfError> {
        let input =
            InputFile::open(path.as_ref(), InputKind::FIRMWARE).map_err(InputError::into_io)?;
        match input.into_seekable() {
            Ok((file, len)) => Ovmf::parse(Source::File(file), len),
            Err(stream) => Ovmf::from_bytes(stream.read_all().map_err(InputError::into_io)?),
        }
    }

    /// Parses an image held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Ovmf, OvmfError> {
        let len = bytes.len() as u64;
        Ovmf::parse(Source::Memory(bytes), len)
    }

    fn parse(source: Source, len: u64) -> Result<Ovmf, OvmfError> {
        if len > FOUR_GIB {
            return Err(OvmfError::TooLarge(len));
        }
        let table = parse_footer_table(&source, len)?;
        let sections = match table.get(&guids::SEV_METADATA) {
            None => Vec::new(),
            Some(d) => {
                let offset = match d.get(..4) {
                    Some(&[a, b, c, e]) => u32::from_le_bytes([a, b, c, e]),
                    _ => {
                        return Err(OvmfError::EntryTooShort {
                            guid: guids::SEV_METADATA,
                            name: "SEV metadata offset",
                            len: d.len(),
                            need: 4,
                        });
                    }
                };
                parse_sev_metadata(&source, len, offset)?
            }
        };
        let reset_eip = table.u32_entry(&guids::SEV_ES_RESET_BLOCK, "SEV-ES reset block")?;
        let hashes_gpa = table.u32_entry(&guids::SEV_HASH_TABLE_RV, "SEV hashes table")?;
        let svsm_info = table.u32_entry(&guids::SVSM_INFO, "SVSM info")?;
        let metadata = OvmfMetadata::new(sections, reset_eip, hashes_gpa)?;
        Ok(Ovmf {
            source,
            len,
            table,
            metadata,
            svsm_info,
        })
    }

    /// Length of the image in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the image is empty (never true for a parsed image).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The footer table entries.
    pub fn table(&self) -> &FooterTable {
        &self.table
    }

    /// The SEV metadata, reset EIP and hashes table address.
    pub fn metadata(&self) -> &OvmfMetadata {
        &self.metadata
    }

    /// The Coconut SVSM entry point, as an offset from the start of the image (SVSM images only).
    pub fn svsm_info_offset(&self) -> Option<u32> {
        self.svsm_info
    }

    /// The guest-physical address of the first byte when the image ends at `end` (4 GiB for OVMF).
    pub fn gpa_ending_at(&self, end: u64) -> Option<u64> {
        end.checked_sub(self.len)
    }

    /// The guest-physical address of the first byte of OVMF, mapped to end at 4 GiB.
    pub fn gpa(&self) -> u64 {
        // `parse` rejects images larger than 4 GiB.
        FOUR_GIB.saturating_sub(self.len)
    }

    /// Streams the image from the start in chunks of `chunk` bytes (the last may be shorter), calling `f` on
    /// each.
    pub fn for_each_chunk(&self, chunk: usize, mut f: impl FnMut(&[u8])) -> Result<(), OvmfError> {
        match &self.source {
            Source::Memory(m) => {
                for c in m.chunks(chunk.max(1)) {
                    f(c);
                }
            }
            Source::File(file) => {
                crate::stream::advise_sequential(file);
                let mut buf = vec![0u8; chunk.max(1)];
                let mut pos = 0u64;
                while pos < self.len {
                    let n = usize::try_from((self.len - pos).min(buf.len() as u64))
                        .unwrap_or(buf.len());
                    let b = buf
                        .get_mut(..n)
                        .ok_or(io::Error::from(io::ErrorKind::InvalidInput))?;
                    file.read_exact_at(b, pos)?;
                    f(b);
                    pos += n as u64;
                }
            }
        }
        Ok(())
    }
}

fn parse_footer_table(source: &Source, len: u64) -> Result<FooterTable, OvmfError> {
    let header_len = ENTRY_HEADER_LEN as u64;
    let footer_at = len
        .checked_sub(FOOTER_OFFSET_FROM_END + header_len)
        .ok_or(OvmfError::TooSmall(len))?;
    let footer = source.read_vec_at(footer_at, ENTRY_HEADER_LEN)?;
    let (size, guid) = entry_header(&footer).ok_or(OvmfError::TooSmall(len))?;
    if guid != guids::FOOTER_TABLE {
        // No table: a firmware without SEV support. Callers that need an entry say which one is missing.
        return Ok(FooterTable::default());
    }
    let table_len = u64::from(
        size.checked_sub(ENTRY_HEADER_LEN as u16)
            .ok_or(OvmfError::FooterTooShort(size))?,
    );
    let start = footer_at
        .checked_sub(table_len)
        .ok_or(OvmfError::FooterOutOfBounds {
            table_len,
            available: footer_at,
        })?;
    let bytes = source.read_vec_at(start, table_len as usize)?;
    let mut rest: &[u8] = &bytes;
    let mut entries: Vec<(Guid, Vec<u8>)> = Vec::new();
    // Like QEMU (`pc_system_ovmf_table_find`), stop when less than a header is left.
    while rest.len() >= ENTRY_HEADER_LEN {
        let hdr_at = rest.len() - ENTRY_HEADER_LEN;
        let (esize, eguid) = rest
            .get(hdr_at..)
            .and_then(entry_header)
            .ok_or(OvmfError::TooSmall(len))?;
        let esize_usize = usize::from(esize);
        if esize_usize < ENTRY_HEADER_LEN || esize_usize > rest.len() {
            return Err(OvmfError::EntryOutOfBounds {
                guid: eguid,
                size: esize,
                remaining: rest.len(),
            });
        }
        let data_at = rest.len() - esize_usize;
        let data = rest.get(data_at..hdr_at).unwrap_or_default().to_vec();
        if entries.iter().any(|(g, _)| *g == eguid) {
            return Err(OvmfError::DuplicateEntry(eguid));
        }
        entries.push((eguid, data));
        rest = rest.get(..data_at).unwrap_or_default();
    }
    Ok(FooterTable { entries })
}

fn entry_header(b: &[u8]) -> Option<(u16, Guid)> {
    let size = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    let guid: [u8; 16] = b.get(2..ENTRY_HEADER_LEN)?.try_into().ok()?;
    Some((size, Guid::from_efi_bytes(guid)))
}

fn parse_sev_metadata(
    source: &Source,
    len: u64,
    offset: u32,
) -> Result<Vec<MetadataSection>, OvmfError> {
    let out_of_bounds = OvmfError::MetadataOutOfBounds {
        offset,
        file_len: len,
    };
    let start = len
        .checked_sub(u64::from(offset))
        .ok_or(OvmfError::MetadataOutOfBounds {
            offset,
            file_len: len,
        })?;
    if start + METADATA_HEADER_LEN > len {
        return Err(out_of_bounds);
    }
    let hdr = source.read_vec_at(start, METADATA_HEADER_LEN as usize)?;
    let word = |i: usize| -> u32 {
        hdr.get(i..i + 4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0)
    };
    let signature: [u8; 4] = hdr
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .unwrap_or_default();
    if &signature != b"ASEV" {
        return Err(OvmfError::MetadataSignature(signature));
    }
    let (size, version, count) = (word(4), word(8), word(12));
    if version != 1 {
        return Err(OvmfError::MetadataVersion(version));
    }
    let bad_size = |problem| OvmfError::MetadataSize {
        size,
        count,
        problem,
    };
    if count > MAX_SECTIONS {
        return Err(bad_size("is more sections than any firmware declares"));
    }
    let need = METADATA_HEADER_LEN + SECTION_DESC_LEN * u64::from(count);
    if u64::from(size) < need {
        return Err(bad_size("is too small to hold them"));
    }
    if start + u64::from(size) > len {
        return Err(bad_size("runs past the end of the image"));
    }
    let items = source.read_vec_at(
        start + METADATA_HEADER_LEN,
        (SECTION_DESC_LEN * u64::from(count)) as usize,
    )?;
    Ok(items
        .chunks_exact(SECTION_DESC_LEN as usize)
        .map(|c| {
            let w = |i: usize| {
                c.get(i..i + 4)
                    .and_then(|s| s.try_into().ok())
                    .map(u32::from_le_bytes)
                    .unwrap_or(0)
            };
            MetadataSection {
                gpa: w(0),
                size: w(4),
                section_type: SectionType::from_u32(w(8)),
            }
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a synthetic image: `body` bytes of filler, then a footer table with `entries`, then 32 bytes.
    pub(crate) fn image_with_table(body: usize, entries: &[(Guid, Vec<u8>)]) -> Vec<u8> {
        let mut v = vec![0xccu8; body];
        let mut table = Vec::new();
        for (g, d) in entries.iter().rev() {
            table.extend_from_slice(d);
            table.extend_from_slice(&((d.len() + 18) as u16).to_le_bytes());
            table.extend_from_slice(&g.to_efi_bytes());
        }
        v.extend_from_slice(&table);
        v.extend_from_slice(&((table.len() + 18) as u16).to_le_bytes());
        v.extend_from_slice(&guids::FOOTER_TABLE.to_efi_bytes());
        v.extend_from_slice(&[0xf4; 32]);
        v
    }

    /// Puts an SEV metadata block at `at` (from the start) and returns the offset-from-end entry data.
    pub(crate) fn metadata_block(sections: &[(u32, u32, u32)]) -> Vec<u8> {
        let mut m = b"ASEV".to_vec();
        m.extend_from_slice(&((16 + 12 * sections.len()) as u32).to_le_bytes());
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        for (g, s, t) in sections {
            for w in [g, s, t] {
                m.extend_from_slice(&w.to_le_bytes());
            }
        }
        m
    }

    /// An image whose SEV metadata sits at the start of the body.
    pub(crate) fn image(sections: &[(u32, u32, u32)], extra: &[(Guid, Vec<u8>)]) -> Vec<u8> {
        let meta = metadata_block(sections);
        // Body of 4096 bytes minus table: compute the final length first.
        let mut entries = vec![(guids::SEV_METADATA, vec![0u8; 4])];
        entries.extend_from_slice(extra);
        let probe = image_with_table(0, &entries);
        let body = 8192 - probe.len();
        let mut img = image_with_table(body, &entries);
        img[..meta.len()].copy_from_slice(&meta);
        let offset = (img.len() as u32).to_le_bytes();
        // The SEV metadata entry is the first walked, right before the footer entry.
        let data_at = img.len() - 32 - 18 - 18 - 4;
        img[data_at..data_at + 4].copy_from_slice(&offset);
        img
    }

    #[test]
    fn guid_text_form() {
        assert_eq!(
            guids::FOOTER_TABLE.to_string(),
            "96b582de-1fb2-45f7-baea-a366c55a082d"
        );
        assert_eq!(
            guids::SEV_ES_RESET_BLOCK.to_string(),
            "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
        );
    }

    #[test]
    fn parses_synthetic_image() {
        let img = image(
            &[
                (0x800000, 0x9000, 1),
                (0x80d000, 0x1000, 2),
                (0x80e000, 0x1000, 3),
            ],
            &[
                (
                    guids::SEV_ES_RESET_BLOCK,
                    0x80b004u32.to_le_bytes().to_vec(),
                ),
                (guids::SEV_HASH_TABLE_RV, vec![0, 0xc, 0x81, 0, 0, 4, 0, 0]),
            ],
        );
        let fw = Ovmf::from_bytes(img).unwrap();
        assert_eq!(fw.len(), 8192);
        assert_eq!(fw.gpa(), FOUR_GIB - 8192);
        let m = fw.metadata();
        assert_eq!(m.sections().len(), 3);
        assert_eq!(m.sections()[1].section_type, SectionType::SnpSecrets);
        assert_eq!(m.sev_es_reset_eip(), Some(0x80b004));
        assert_eq!(m.sev_hashes_table_gpa(), Some(0x810c00));
        assert!(m.supports_sev_hashes_table());
    }

    #[test]
    fn no_footer_is_no_table() {
        let fw = Ovmf::from_bytes(vec![0; 8192]).unwrap();
        assert!(fw.table().is_empty());
        assert!(!fw.metadata().has_sev_metadata());
    }

    #[test]
    fn rejects_bad_tables() {
        assert!(matches!(
            Ovmf::from_bytes(vec![0; 10]),
            Err(OvmfError::TooSmall(10))
        ));
        // Footer claiming a table longer than the file.
        let mut img = image_with_table(0, &[]);
        let n = img.len();
        img[n - 50..n - 48].copy_from_slice(&0xfff0u16.to_le_bytes());
        assert!(matches!(
            Ovmf::from_bytes(img),
            Err(OvmfError::FooterOutOfBounds { .. })
        ));
        // An entry whose size runs past the table.
        let mut img = image_with_table(100, &[(guids::SVSM_INFO, vec![1, 2, 3, 4])]);
        let n = img.len();
        img[n - 50 - 18..n - 50 - 16].copy_from_slice(&200u16.to_le_bytes());
        assert!(matches!(
            Ovmf::from_bytes(img),
            Err(OvmfError::EntryOutOfBounds { .. })
        ));
        // Duplicate entries.
        let img = image_with_table(
            100,
            &[
                (guids::SVSM_INFO, vec![0; 4]),
                (guids::SVSM_INFO, vec![0; 4]),
            ],
        );
        assert!(matches!(
            Ovmf::from_bytes(img),
            Err(OvmfError::DuplicateEntry(_))
        ));
        // Metadata offset beyond the file.
        let img = image_with_table(
            100,
            &[(guids::SEV_METADATA, 0xffffu32.to_le_bytes().to_vec())],
        );
        assert!(matches!(
            Ovmf::from_bytes(img),
            Err(OvmfError::MetadataOutOfBounds { .. })
        ));
    }

    #[test]
    fn rejects_bad_sections() {
        let cases: &[&[(u32, u32, u32)]] = &[
            &[(0x800000, 0, 1)],
            &[(0x800100, 0x1000, 1)],
            &[(0x800000, 0x1800, 1)],
            &[(0xffff_f000, 0x2000, 1)],
            &[(0x800000, 0x2000, 2)],
            &[(0x800000, 0x3000, 1), (0x802000, 0x1000, 3)],
        ];
        for c in cases {
            let err = Ovmf::from_bytes(image(c, &[])).unwrap_err();
            assert!(
                matches!(
                    err,
                    OvmfError::BadSection { .. } | OvmfError::SectionsOverlap { .. }
                ),
                "{c:?}: {err}"
            );
        }
    }

    #[test]
    fn metadata_json_round_trip() {
        let m = OvmfMetadata::new(
            vec![MetadataSection {
                gpa: 0x800000,
                size: 0x9000,
                section_type: SectionType::SnpSecMem,
            }],
            Some(0x80b004),
            None,
        )
        .unwrap();
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(
            j,
            r#"{"sections":[{"gpa":8388608,"size":36864,"section_type":1}],"sev_es_reset_eip":8433668,"sev_hashes_table_gpa":null}"#
        );
        assert_eq!(serde_json::from_str::<OvmfMetadata>(&j).unwrap(), m);
        let overlapping = r#"{"sections":[{"gpa":0,"size":8192,"section_type":1},{"gpa":4096,"size":4096,"section_type":1}],"sev_es_reset_eip":null,"sev_hashes_table_gpa":null}"#;
        assert!(serde_json::from_str::<OvmfMetadata>(overlapping).is_err());
    }
}
