//! The TDX metadata of a TDVF (OVMF built with TDX support): where it is and what it says.
//!
//! The firmware's GUIDed footer table (the one definition is [`yardstick_snp::ovmf::FooterTable`]) holds an
//! entry [`TDX_METADATA_OFFSET`] whose last four bytes are a `u32` offset from the end of the image to the
//! TDVF descriptor:
//!
//! ```text
//!   "TDVF" | u32 length | u32 version (1) | u32 number of sections | sections (32 bytes each)
//!   section: u32 data offset | u32 raw data size | u64 memory address | u64 memory size | u32 type | u32 attributes
//! ```
//!
//! Each section tells the VMM which guest pages to add before the TD runs (`TDH.MEM.PAGE.ADD`), which of them
//! to measure into MRTD with their contents (attribute [`ATTR_MR_EXTEND`]) and which to leave for the guest to
//! accept later (attribute [`ATTR_PAGE_AUG`]). Everything here is untrusted input: [`TdvfMetadata::parse`]
//! checks every field the measurement relies on and names the section that is wrong.

use yardstick_common::bytes::{le32, le64};
use yardstick_common::guid::Guid;
use yardstick_snp::ovmf::{FooterTable, OvmfError};

/// The footer-table entry holding the offset (from the end of the image) of the TDVF descriptor.
pub const TDX_METADATA_OFFSET: Guid =
    yardstick_common::guid!("e47a6535-984a-4798-865e-4685a7bf8ec2");

/// Page size of `TDH.MEM.PAGE.ADD`.
pub const PAGE_SIZE: u64 = 0x1000;

/// Section attribute: the pages' contents are measured into MRTD (`TDH.MR.EXTEND`).
pub const ATTR_MR_EXTEND: u32 = 0x1;
/// Section attribute: the pages are added after launch (`TDH.MEM.PAGE.AUG`) and not measured at all.
pub const ATTR_PAGE_AUG: u32 = 0x2;

/// Descriptor header length: signature, length, version, section count.
const DESCRIPTOR_HEADER_LEN: usize = 16;
/// One section entry.
const SECTION_LEN: usize = 32;
/// More sections than any TDVF has (edk2 has 6 to 8); bounds the work a hostile descriptor can ask for.
pub const MAX_SECTIONS: u32 = 64;
/// Most memory the sections may have the VMM add before launch (Debian's TDVFs add under 4 MiB; td-shim
/// payloads a few tens): bounds the MRTD stream a hostile descriptor can ask for. `PAGE.AUG` sections do
/// not count, they are not added before launch.
pub const MAX_ADDED_BYTES: u64 = 1 << 30;

/// What a section holds, as the TDVF specification numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SectionType {
    /// Boot firmware volume (the code), measured.
    Bfv,
    /// Configuration firmware volume (the variable store).
    Cfv,
    /// Where the VMM writes the TD HOB (memory map).
    TdHob,
    /// Temporary memory for the firmware's early phase.
    TempMem,
    /// Permanent memory (added later, `PAGE.AUG`).
    PermMem,
    /// A payload (td-shim builds).
    Payload,
    /// The payload's parameters (td-shim builds).
    PayloadParam,
    /// A type this crate does not know, carried as is.
    Other(u32),
}

impl SectionType {
    /// The type from its number.
    pub const fn from_u32(v: u32) -> SectionType {
        match v {
            0 => SectionType::Bfv,
            1 => SectionType::Cfv,
            2 => SectionType::TdHob,
            3 => SectionType::TempMem,
            4 => SectionType::PermMem,
            5 => SectionType::Payload,
            6 => SectionType::PayloadParam,
            n => SectionType::Other(n),
        }
    }

    /// The name the TDVF specification uses.
    pub fn name(self) -> String {
        match self {
            SectionType::Bfv => "BFV".into(),
            SectionType::Cfv => "CFV".into(),
            SectionType::TdHob => "TD_HOB".into(),
            SectionType::TempMem => "TEMP_MEM".into(),
            SectionType::PermMem => "PERM_MEM".into(),
            SectionType::Payload => "PAYLOAD".into(),
            SectionType::PayloadParam => "PAYLOAD_PARAM".into(),
            SectionType::Other(n) => format!("type {n}"),
        }
    }
}

/// One TDVF section, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    /// Offset of the section's bytes in the firmware image.
    pub data_offset: u32,
    /// Number of bytes the image supplies (the rest of the section's memory is zero).
    pub raw_size: u32,
    /// Guest-physical address, page-aligned.
    pub gpa: u64,
    /// Size in guest memory, page-aligned and at least `raw_size`.
    pub memory_size: u64,
    /// What the section holds.
    pub section_type: SectionType,
    /// Attribute bits ([`ATTR_MR_EXTEND`], [`ATTR_PAGE_AUG`]).
    pub attributes: u32,
}

impl Section {
    /// Whether the contents are measured into MRTD.
    pub fn mr_extend(&self) -> bool {
        self.attributes & ATTR_MR_EXTEND != 0
    }

    /// Whether the pages are added after launch (unmeasured).
    pub fn page_aug(&self) -> bool {
        self.attributes & ATTR_PAGE_AUG != 0
    }

    /// Number of 4 KiB pages.
    pub fn pages(&self) -> u64 {
        self.memory_size / PAGE_SIZE
    }
}

/// Why the TDX metadata of a firmware image was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TdvfError {
    /// The footer table itself is malformed.
    #[error("firmware footer table")]
    Footer(#[from] OvmfError),
    /// No TDX metadata entry: not a TDX-capable build.
    #[error(
        "the firmware has no TDX metadata (footer table entry {TDX_METADATA_OFFSET} missing): not a TDVF build; \
         use the combined OVMF.fd of a TDX-enabled edk2 (Debian's /usr/share/ovmf/OVMF.fd; the split OVMF_CODE files have none)"
    )]
    NoMetadata,
    /// The metadata entry is shorter than its offset.
    #[error("TDX metadata entry has {0} bytes, needs at least 4 (the descriptor offset)")]
    EntryTooShort(usize),
    /// The descriptor offset does not point inside the image.
    #[error("TDVF descriptor offset {offset:#x} from the end points outside the {len}-byte image")]
    OffsetOutOfBounds {
        /// The offset from the end of the image.
        offset: u32,
        /// The image length.
        len: usize,
    },
    /// The descriptor does not start with "TDVF".
    #[error("TDVF descriptor signature is {0:02x?}, expected \"TDVF\"")]
    Signature([u8; 4]),
    /// Only version 1 exists.
    #[error("TDVF descriptor version {0} is not supported (only version 1 exists)")]
    Version(u32),
    /// The section count is zero, too large, or disagrees with the descriptor length or the image.
    #[error("TDVF descriptor: {count} sections in a {length}-byte descriptor {problem}")]
    SectionCount {
        /// Declared number of sections.
        count: u32,
        /// Declared descriptor length.
        length: u32,
        /// What is wrong.
        problem: &'static str,
    },
    /// The sections add more memory before launch than any TDVF.
    #[error(
        "TDVF sections add {0:#x} bytes before launch, more than the {MAX_ADDED_BYTES:#x} any TDVF adds"
    )]
    TooMuchMemory(u64),
    /// A section's fields are inconsistent.
    #[error(
        "TDVF section {index} ({name}, gpa {gpa:#x}, memory size {memory_size:#x}, raw {raw_size:#x} at {data_offset:#x}): {problem}"
    )]
    BadSection {
        /// Position in the descriptor (0-based).
        index: usize,
        /// Type name.
        name: String,
        /// Guest-physical address.
        gpa: u64,
        /// Memory size.
        memory_size: u64,
        /// Raw data size.
        raw_size: u32,
        /// Raw data offset in the image.
        data_offset: u32,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The validated TDX metadata of a firmware image: its sections in descriptor order (the order the VMM adds
/// them in; never sorted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TdvfMetadata {
    /// Offset of the descriptor in the image.
    pub descriptor_offset: usize,
    /// The sections, in descriptor order.
    pub sections: Vec<Section>,
}

impl TdvfMetadata {
    /// Finds and validates the TDX metadata of a whole firmware image.
    pub fn parse(image: &[u8]) -> Result<TdvfMetadata, TdvfError> {
        let table = FooterTable::from_image(image)?;
        let entry = table
            .get(&TDX_METADATA_OFFSET)
            .ok_or(TdvfError::NoMetadata)?;
        // The offset is the entry's last four bytes (edk2 and QEMU read it there).
        let offset = entry
            .len()
            .checked_sub(4)
            .and_then(|at| le32(entry, at))
            .ok_or(TdvfError::EntryTooShort(entry.len()))?;
        let len = image.len();
        let at = len
            .checked_sub(offset as usize)
            .filter(|&at| {
                at.checked_add(DESCRIPTOR_HEADER_LEN)
                    .is_some_and(|e| e <= len)
            })
            .ok_or(TdvfError::OffsetOutOfBounds { offset, len })?;
        let header = image
            .get(at..at + DESCRIPTOR_HEADER_LEN)
            .ok_or(TdvfError::OffsetOutOfBounds { offset, len })?;
        let signature: [u8; 4] = yardstick_common::bytes::array(header, 0)
            .ok_or(TdvfError::OffsetOutOfBounds { offset, len })?;
        if &signature != b"TDVF" {
            return Err(TdvfError::Signature(signature));
        }
        let length = le32(header, 4).unwrap_or_default();
        let version = le32(header, 8).unwrap_or_default();
        let count = le32(header, 12).unwrap_or_default();
        if version != 1 {
            return Err(TdvfError::Version(version));
        }
        let count_err = |problem| TdvfError::SectionCount {
            count,
            length,
            problem,
        };
        if count == 0 {
            return Err(count_err("has no sections"));
        }
        if count > MAX_SECTIONS {
            return Err(count_err("has more sections than any TDVF (at most 64)"));
        }
        let needed = DESCRIPTOR_HEADER_LEN + SECTION_LEN * count as usize;
        if (length as usize) < needed {
            return Err(count_err("is too short to hold them"));
        }
        let body = image
            .get(at..at + needed)
            .ok_or(count_err("runs past the end of the image"))?;
        let mut sections = Vec::with_capacity(count as usize);
        for index in 0..count as usize {
            let o = DESCRIPTOR_HEADER_LEN + SECTION_LEN * index;
            let s = Section {
                data_offset: le32(body, o).unwrap_or_default(),
                raw_size: le32(body, o + 4).unwrap_or_default(),
                gpa: le64(body, o + 8).unwrap_or_default(),
                memory_size: le64(body, o + 16).unwrap_or_default(),
                section_type: SectionType::from_u32(le32(body, o + 24).unwrap_or_default()),
                attributes: le32(body, o + 28).unwrap_or_default(),
            };
            validate_section(index, &s, len)?;
            sections.push(s);
        }
        check_overlaps(&sections)?;
        let added = sections
            .iter()
            .filter(|s| !s.page_aug())
            .fold(0u64, |sum, s| sum.saturating_add(s.memory_size));
        if added > MAX_ADDED_BYTES {
            return Err(TdvfError::TooMuchMemory(added));
        }
        Ok(TdvfMetadata {
            descriptor_offset: at,
            sections,
        })
    }

    /// The first section of a type.
    pub fn section(&self, t: SectionType) -> Option<&Section> {
        self.sections.iter().find(|s| s.section_type == t)
    }
}

fn bad(index: usize, s: &Section, problem: &'static str) -> TdvfError {
    TdvfError::BadSection {
        index,
        name: s.section_type.name(),
        gpa: s.gpa,
        memory_size: s.memory_size,
        raw_size: s.raw_size,
        data_offset: s.data_offset,
        problem,
    }
}

fn validate_section(index: usize, s: &Section, image_len: usize) -> Result<(), TdvfError> {
    if s.memory_size == 0 {
        return Err(bad(index, s, "empty section"));
    }
    if !s.gpa.is_multiple_of(PAGE_SIZE) || !s.memory_size.is_multiple_of(PAGE_SIZE) {
        return Err(bad(index, s, "address or size is not 4 KiB-aligned"));
    }
    // Guest-physical addresses are at most 52 bits.
    if s.gpa
        .checked_add(s.memory_size)
        .is_none_or(|end| end > 1 << 52)
    {
        return Err(bad(
            index,
            s,
            "ends beyond the 52-bit guest-physical address space",
        ));
    }
    if u64::from(s.raw_size) > s.memory_size {
        return Err(bad(
            index,
            s,
            "raw data is larger than the section's memory",
        ));
    }
    if (s.data_offset as usize)
        .checked_add(s.raw_size as usize)
        .is_none_or(|end| end > image_len)
    {
        return Err(bad(index, s, "raw data runs past the end of the image"));
    }
    if s.mr_extend() && s.page_aug() {
        return Err(bad(
            index,
            s,
            "both MR.EXTEND and PAGE.AUG: an augmented page cannot be measured",
        ));
    }
    if s.attributes & !(ATTR_MR_EXTEND | ATTR_PAGE_AUG) != 0 {
        return Err(bad(index, s, "unknown attribute bits"));
    }
    Ok(())
}

fn check_overlaps(sections: &[Section]) -> Result<(), TdvfError> {
    for (i, a) in sections.iter().enumerate() {
        for b in sections.iter().skip(i + 1) {
            if a.gpa < b.gpa + b.memory_size && b.gpa < a.gpa + a.memory_size {
                return Err(bad(i, a, "overlaps a later section"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic image: `size` bytes of pattern, a TDVF descriptor with `sections`, a footer table with the
    /// metadata entry, the footer, and 32 trailing bytes.
    pub(crate) fn synthetic(size: usize, sections: &[[u64; 6]]) -> Vec<u8> {
        let mut img: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let mut desc = Vec::new();
        desc.extend_from_slice(b"TDVF");
        desc.extend_from_slice(&((16 + 32 * sections.len()) as u32).to_le_bytes());
        desc.extend_from_slice(&1u32.to_le_bytes());
        desc.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        for s in sections {
            desc.extend_from_slice(&(s[0] as u32).to_le_bytes());
            desc.extend_from_slice(&(s[1] as u32).to_le_bytes());
            desc.extend_from_slice(&s[2].to_le_bytes());
            desc.extend_from_slice(&s[3].to_le_bytes());
            desc.extend_from_slice(&(s[4] as u32).to_le_bytes());
            desc.extend_from_slice(&(s[5] as u32).to_le_bytes());
        }
        let desc_at = img.len();
        img.extend_from_slice(&desc);
        // Entry: u32 offset from end, then u16 size, GUID; then the footer entry; then 32 bytes.
        let tail = 4 + 18 + 18 + 32;
        let total = img.len() + tail;
        let offset = (total - desc_at) as u32;
        img.extend_from_slice(&offset.to_le_bytes());
        img.extend_from_slice(&22u16.to_le_bytes());
        img.extend_from_slice(&TDX_METADATA_OFFSET.to_efi_bytes());
        img.extend_from_slice(&(22u16 + 18).to_le_bytes());
        img.extend_from_slice(&yardstick_snp::ovmf::guids::FOOTER_TABLE.to_efi_bytes());
        img.extend_from_slice(&[0; 32]);
        img
    }

    #[test]
    fn parses_synthetic() {
        let img = synthetic(
            0x3000,
            &[
                [0, 0x2000, 0xffff_e000, 0x2000, 0, 1],
                [0, 0, 0x80_0000, 0x1000, 3, 0],
            ],
        );
        let m = TdvfMetadata::parse(&img).unwrap();
        assert_eq!(m.sections.len(), 2);
        assert_eq!(m.sections[0].section_type, SectionType::Bfv);
        assert!(m.sections[0].mr_extend());
        assert_eq!(m.sections[1].section_type, SectionType::TempMem);
        assert_eq!(m.descriptor_offset, 0x3000);
    }

    #[test]
    fn rejects_hostile_fields() {
        let cases: &[([u64; 6], &str)] = &[
            ([0, 0, 0x1001, 0x1000, 3, 0], "aligned"),
            ([0, 0, 0x1000, 0, 3, 0], "empty"),
            ([0, 0x2000, 0x1000, 0x1000, 0, 1], "larger than"),
            ([0x2800, 0x1000, 0x1000, 0x1000, 0, 1], "past the end"),
            ([0, 0, 0x1000, 0x1000, 3, 3], "both"),
            ([0, 0, 0x1000, 0x1000, 3, 8], "unknown attribute"),
            ([0, 0, u64::MAX - 0xfff, 0x2000, 3, 0], "52-bit"),
        ];
        for (s, want) in cases {
            let img = synthetic(0x3000, &[*s]);
            let e = TdvfMetadata::parse(&img).unwrap_err().to_string();
            assert!(e.contains(want), "{e} lacks {want}");
        }
        let img = synthetic(
            0x3000,
            &[[0, 0, 0x1000, 0x2000, 3, 0], [0, 0, 0x2000, 0x1000, 3, 0]],
        );
        assert!(
            TdvfMetadata::parse(&img)
                .unwrap_err()
                .to_string()
                .contains("overlaps")
        );
    }

    #[test]
    fn bounds_the_memory_added_before_launch() {
        let img = synthetic(0x3000, &[[0, 0, 0x1000, 1 << 40, 3, 0]]);
        assert!(matches!(
            TdvfMetadata::parse(&img),
            Err(TdvfError::TooMuchMemory(_))
        ));
        // PAGE.AUG memory is not added before launch: any amount is fine.
        let img = synthetic(0x3000, &[[0, 0, 0x1000, 1 << 40, 4, 2]]);
        assert!(TdvfMetadata::parse(&img).is_ok());
    }

    #[test]
    fn rejects_bad_descriptor_and_truncation() {
        let good = synthetic(0x3000, &[[0, 0, 0x1000, 0x1000, 3, 0]]);
        let mut sig = good.clone();
        sig[0x3000] = b'X';
        assert!(matches!(
            TdvfMetadata::parse(&sig),
            Err(TdvfError::Signature(_))
        ));
        let mut ver = good.clone();
        ver[0x3008] = 2;
        assert!(matches!(
            TdvfMetadata::parse(&ver),
            Err(TdvfError::Version(2))
        ));
        let mut count = good.clone();
        count[0x300c] = 0xff;
        assert!(matches!(
            TdvfMetadata::parse(&count),
            Err(TdvfError::SectionCount { .. })
        ));
        // Every truncation either has no table or is rejected; none panics.
        for n in 0..good.len() {
            let _ = TdvfMetadata::parse(&good[good.len() - n..]);
            let _ = TdvfMetadata::parse(&good[..n]);
        }
        assert!(matches!(
            TdvfMetadata::parse(&[0; 100]),
            Err(TdvfError::NoMetadata)
        ));
    }
}
