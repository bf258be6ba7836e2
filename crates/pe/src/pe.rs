//! PE/COFF headers and section table, parsed once into validated structs.
//!
//! Layout references: Microsoft "PE Format" (COFF file header, optional header, section table). Only what UEFI
//! images need is decoded: the fields that Authenticode skips (checksum, certificate-table entry), the section
//! table, and the header fields `ukify` rewrites when it appends sections.
//!
//! Hand-written for bit-exactness: what the firmware and systemd-stub measure is the image as loaded
//! (sections at their RVAs, `VirtualSize` bytes, zero-filled past `SizeOfRawData`) and the exact header ranges
//! Authenticode skips, decoded strictly from untrusted input with errors that name the field. google's
//! `authenticode` crate, reading the same files through `object`'s PE parser, is the differential oracle of
//! `tests/authenticode_peer.rs`.

use std::ops::Range;

/// Why a file is not a usable PE/COFF image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeError {
    /// No `MZ` signature: not a PE file at all.
    #[error("not a PE file (no MZ signature)")]
    NotPe,
    /// The file ends before a structure the headers announce.
    #[error("truncated PE file: {what} needs bytes up to offset {needed}, file has {len}")]
    Truncated {
        /// The structure that does not fit.
        what: String,
        /// End offset it needs.
        needed: u64,
        /// Actual file length.
        len: u64,
    },
    /// A header field has a value no loader accepts.
    #[error("malformed PE header: {0}")]
    Malformed(String),
    /// Two sections claim the same bytes of the file.
    #[error("overlapping sections: {a} (file bytes {a_range:?}) and {b} (file bytes {b_range:?})")]
    Overlap {
        /// First section name.
        a: String,
        /// Its raw-data range.
        a_range: Range<u64>,
        /// Second section name.
        b: String,
        /// Its raw-data range.
        b_range: Range<u64>,
    },
}

/// `IMAGE_NT_OPTIONAL_HDR32_MAGIC`.
pub const MAGIC_PE32: u16 = 0x10b;
/// `IMAGE_NT_OPTIONAL_HDR64_MAGIC`.
pub const MAGIC_PE32_PLUS: u16 = 0x20b;
/// Index of the certificate table (`IMAGE_DIRECTORY_ENTRY_SECURITY`) among the data directories.
pub const DIR_SECURITY: usize = 4;
/// Size of one section header.
pub const SECTION_HEADER_LEN: usize = 40;
/// COFF characteristics: `IMAGE_FILE_LOCAL_SYMS_STRIPPED`.
pub const FILE_LOCAL_SYMS_STRIPPED: u16 = 0x0008;
/// Section characteristics: code.
pub const SCN_CNT_CODE: u32 = 0x0000_0020;
/// Section characteristics: initialized data.
pub const SCN_CNT_INITIALIZED_DATA: u32 = 0x0000_0040;
/// Section characteristics: readable.
pub const SCN_MEM_READ: u32 = 0x4000_0000;

/// One entry of the section table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name as stored (up to 8 bytes, NUL padding removed; non-UTF-8 bytes replaced).
    pub name: String,
    /// `VirtualSize`: bytes the loader maps (zero-filled past `SizeOfRawData`).
    pub virtual_size: u32,
    /// `VirtualAddress` (RVA).
    pub virtual_address: u32,
    /// `SizeOfRawData`: bytes stored in the file.
    pub size_of_raw_data: u32,
    /// `PointerToRawData`: file offset of the stored bytes.
    pub pointer_to_raw_data: u32,
    /// `Characteristics` flags.
    pub characteristics: u32,
    /// File offset of this section's header.
    pub header_offset: usize,
}

impl Section {
    /// The file byte range holding the section's stored data.
    pub fn raw_range(&self) -> Range<usize> {
        let start = self.pointer_to_raw_data as usize;
        start..start + self.size_of_raw_data as usize
    }

    /// The number of bytes of the section the loader copies from the file: `min(VirtualSize, SizeOfRawData)`.
    pub fn loaded_file_len(&self) -> usize {
        self.virtual_size.min(self.size_of_raw_data) as usize
    }
}

/// A data directory entry (`VirtualAddress`, `Size`); for the certificate table the address is a file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataDirectory {
    /// RVA (or file offset for the certificate table).
    pub address: u32,
    /// Size in bytes.
    pub size: u32,
}

/// The validated headers of a PE/COFF image. Holds offsets into the file, not the bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeHeaders {
    /// Offset of the `PE\0\0` signature.
    pub pe_offset: usize,
    /// Offset of the COFF file header.
    pub coff_offset: usize,
    /// `Machine`.
    pub machine: u16,
    /// `TimeDateStamp`.
    pub time_date_stamp: u32,
    /// `PointerToSymbolTable` (non-zero only in unstripped images).
    pub pointer_to_symbol_table: u32,
    /// `NumberOfSymbols`.
    pub number_of_symbols: u32,
    /// `Characteristics` of the COFF header.
    pub characteristics: u16,
    /// Offset of the optional header.
    pub optional_offset: usize,
    /// `SizeOfOptionalHeader`.
    pub size_of_optional_header: u16,
    /// Optional header magic: [`MAGIC_PE32`] or [`MAGIC_PE32_PLUS`].
    pub magic: u16,
    /// `SizeOfInitializedData`.
    pub size_of_initialized_data: u32,
    /// `SectionAlignment`.
    pub section_alignment: u32,
    /// `FileAlignment`.
    pub file_alignment: u32,
    /// `SizeOfImage`.
    pub size_of_image: u32,
    /// `SizeOfHeaders`.
    pub size_of_headers: u32,
    /// `NumberOfRvaAndSizes`.
    pub number_of_rva_and_sizes: u32,
    /// Offset of the first data directory entry.
    pub data_directories_offset: usize,
    /// The data directories present (at most 16).
    pub data_directories: Vec<DataDirectory>,
    /// The section table, in table order.
    pub sections: Vec<Section>,
    /// Length of the file the headers were read from.
    pub file_len: usize,
}

use yardstick_common::bytes::{le16 as u16_at, le32 as u32_at};

/// [`PeError::Truncated`]: `what` needs bytes up to `needed`, the file has `len`.
fn truncated(what: &str, needed: usize, len: usize) -> PeError {
    PeError::Truncated {
        what: what.to_string(),
        needed: needed as u64,
        len: len as u64,
    }
}

/// The little-endian `u16` at `off` of `data`, or [`PeError::Truncated`] naming `what`.
fn r16(data: &[u8], off: usize, what: &str) -> Result<u16, PeError> {
    u16_at(data, off).ok_or_else(|| truncated(what, off + 2, data.len()))
}

/// The little-endian `u32` at `off` of `data`, or [`PeError::Truncated`] naming `what`.
fn r32(data: &[u8], off: usize, what: &str) -> Result<u32, PeError> {
    u32_at(data, off).ok_or_else(|| truncated(what, off + 4, data.len()))
}

/// The COFF file header's fields.
struct CoffHeader {
    machine: u16,
    nsections: usize,
    time_date_stamp: u32,
    pointer_to_symbol_table: u32,
    number_of_symbols: u32,
    size_of_optional_header: u16,
    characteristics: u16,
}

/// The optional header's fields used here, and where it and its data directories lie.
struct OptionalHeader {
    magic: u16,
    size_of_initialized_data: u32,
    section_alignment: u32,
    file_alignment: u32,
    size_of_image: u32,
    size_of_headers: u32,
    number_of_rva_and_sizes: u32,
    data_directories_offset: usize,
    /// File offset of the first byte after the optional header (where the section table starts).
    end: usize,
}

impl PeHeaders {
    /// Parses and validates the headers of `data`, the whole file.
    ///
    /// Rejects: no `MZ`/`PE` signature, headers or section data beyond the end of the file, unknown optional
    /// header magic, a section table outside `SizeOfHeaders`, and sections whose stored bytes overlap.
    /// Sections whose *virtual* ranges overlap are accepted: firmware loads them in table order and UKIs built
    /// by ukify from systemd 252's stub have such a layout (`.sbat` grows into `.sdmagic`).
    pub fn parse(data: &[u8]) -> Result<PeHeaders, PeError> {
        let (pe_offset, coff_offset) = pe_signature(data)?;
        let optional_offset = coff_offset + 20;
        let coff = coff_header(data, coff_offset)?;
        let opt = optional_header(data, optional_offset, coff.size_of_optional_header)?;
        let data_directories = data_directories(data, &opt, coff.size_of_optional_header)?;
        let sections = section_table(data, coff.nsections, &opt)?;
        check_stored_overlaps(&sections)?;
        Ok(PeHeaders {
            pe_offset,
            coff_offset,
            machine: coff.machine,
            time_date_stamp: coff.time_date_stamp,
            pointer_to_symbol_table: coff.pointer_to_symbol_table,
            number_of_symbols: coff.number_of_symbols,
            characteristics: coff.characteristics,
            optional_offset,
            size_of_optional_header: coff.size_of_optional_header,
            magic: opt.magic,
            size_of_initialized_data: opt.size_of_initialized_data,
            section_alignment: opt.section_alignment,
            file_alignment: opt.file_alignment,
            size_of_image: opt.size_of_image,
            size_of_headers: opt.size_of_headers,
            number_of_rva_and_sizes: opt.number_of_rva_and_sizes,
            data_directories_offset: opt.data_directories_offset,
            data_directories,
            sections,
            file_len: data.len(),
        })
    }

    /// File offset of the `CheckSum` field (same place in PE32 and PE32+).
    pub fn checksum_offset(&self) -> usize {
        self.optional_offset + 64
    }

    /// File offset of the certificate-table data directory entry, if the image has one.
    pub fn security_dir_offset(&self) -> Option<usize> {
        (self.data_directories.len() > DIR_SECURITY)
            .then(|| self.data_directories_offset + DIR_SECURITY * 8)
    }

    /// The certificate table (Authenticode signatures), if present.
    pub fn security_dir(&self) -> Option<DataDirectory> {
        self.data_directories
            .get(DIR_SECURITY)
            .copied()
            .filter(|d| d.size > 0)
    }

    /// The first section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// File offset of the first byte after the last section header.
    pub fn section_table_end(&self) -> usize {
        self.optional_offset
            + self.size_of_optional_header as usize
            + self.sections.len() * SECTION_HEADER_LEN
    }
}

/// Checks the `MZ` signature and the `PE\0\0` signature `e_lfanew` points to; returns the offsets of the
/// latter and of the COFF file header.
fn pe_signature(data: &[u8]) -> Result<(usize, usize), PeError> {
    if data.get(0..2) != Some(b"MZ") {
        return Err(PeError::NotPe);
    }
    let pe_offset =
        u32_at(data, 0x3c).ok_or_else(|| truncated("DOS header", 0x40, data.len()))? as usize;
    let coff_offset = pe_offset
        .checked_add(4)
        .ok_or_else(|| PeError::Malformed("e_lfanew overflows".into()))?;
    let sig = data
        .get(pe_offset..coff_offset)
        .ok_or_else(|| truncated("PE signature", coff_offset, data.len()))?;
    if sig != b"PE\0\0" {
        return Err(PeError::Malformed(format!(
            "no PE signature at offset {pe_offset:#x} (an MZ file that is not PE/COFF)"
        )));
    }
    Ok((pe_offset, coff_offset))
}

/// Reads the COFF file header at `coff_offset`.
fn coff_header(data: &[u8], coff_offset: usize) -> Result<CoffHeader, PeError> {
    let optional_offset = coff_offset + 20;
    if data.len() < optional_offset {
        return Err(truncated("COFF file header", optional_offset, data.len()));
    }
    Ok(CoffHeader {
        machine: r16(data, coff_offset, "COFF header")?,
        nsections: r16(data, coff_offset + 2, "COFF header")? as usize,
        time_date_stamp: r32(data, coff_offset + 4, "COFF header")?,
        pointer_to_symbol_table: r32(data, coff_offset + 8, "COFF header")?,
        number_of_symbols: r32(data, coff_offset + 12, "COFF header")?,
        size_of_optional_header: r16(data, coff_offset + 16, "COFF header")?,
        characteristics: r16(data, coff_offset + 18, "COFF header")?,
    })
}

/// Reads and checks the optional header at `optional_offset` (magic, size, alignments).
fn optional_header(
    data: &[u8],
    optional_offset: usize,
    size_of_optional_header: u16,
) -> Result<OptionalHeader, PeError> {
    let magic = r16(data, optional_offset, "optional header")?;
    let dd_rel = match magic {
        MAGIC_PE32 => 96,
        MAGIC_PE32_PLUS => 112,
        m => {
            return Err(PeError::Malformed(format!(
                "unknown optional header magic {m:#x}"
            )));
        }
    };
    if (size_of_optional_header as usize) < dd_rel {
        return Err(PeError::Malformed(format!(
            "SizeOfOptionalHeader {size_of_optional_header} too small for magic {magic:#x}"
        )));
    }
    let end = optional_offset + size_of_optional_header as usize;
    if data.len() < end {
        return Err(truncated("optional header", end, data.len()));
    }
    let field = |off: usize| r32(data, optional_offset + off, "optional header");
    let size_of_initialized_data = field(8)?;
    let section_alignment = field(32)?;
    let file_alignment = field(36)?;
    let size_of_image = field(56)?;
    let size_of_headers = field(60)?;
    let number_of_rva_and_sizes = field(dd_rel - 4)?;
    if file_alignment == 0 || !file_alignment.is_power_of_two() {
        return Err(PeError::Malformed(format!(
            "FileAlignment {file_alignment} is not a power of two"
        )));
    }
    if section_alignment == 0 || !section_alignment.is_power_of_two() {
        return Err(PeError::Malformed(format!(
            "SectionAlignment {section_alignment} is not a power of two"
        )));
    }
    Ok(OptionalHeader {
        magic,
        size_of_initialized_data,
        section_alignment,
        file_alignment,
        size_of_image,
        size_of_headers,
        number_of_rva_and_sizes,
        data_directories_offset: optional_offset + dd_rel,
        end,
    })
}

/// Reads the data directories present (at most 16), which must fit in the optional header.
fn data_directories(
    data: &[u8],
    opt: &OptionalHeader,
    size_of_optional_header: u16,
) -> Result<Vec<DataDirectory>, PeError> {
    let ndirs = (opt.number_of_rva_and_sizes as usize).min(16);
    let dd_end = opt.data_directories_offset + ndirs * 8;
    if dd_end > opt.end {
        return Err(PeError::Malformed(format!(
            "{} data directories do not fit in SizeOfOptionalHeader {size_of_optional_header}",
            opt.number_of_rva_and_sizes
        )));
    }
    let mut data_directories = Vec::with_capacity(ndirs);
    for i in 0..ndirs {
        let off = opt.data_directories_offset + i * 8;
        data_directories.push(DataDirectory {
            address: r32(data, off, "data directory")?,
            size: r32(data, off + 4, "data directory")?,
        });
    }
    Ok(data_directories)
}

/// Reads the `nsections` section headers after the optional header, which must lie within the file and
/// `SizeOfHeaders` (itself within the file).
fn section_table(
    data: &[u8],
    nsections: usize,
    opt: &OptionalHeader,
) -> Result<Vec<Section>, PeError> {
    let len = data.len();
    let size_of_headers = opt.size_of_headers;
    let table_end = opt
        .end
        .checked_add(nsections * SECTION_HEADER_LEN)
        .ok_or_else(|| PeError::Malformed("section table overflows".into()))?;
    if len < table_end {
        return Err(truncated("section table", table_end, len));
    }
    if table_end > size_of_headers as usize {
        return Err(PeError::Malformed(format!(
            "section table ends at {table_end:#x}, beyond SizeOfHeaders {size_of_headers:#x}"
        )));
    }
    if size_of_headers as usize > len {
        return Err(truncated(
            "headers (SizeOfHeaders)",
            size_of_headers as usize,
            len,
        ));
    }
    let mut sections = Vec::with_capacity(nsections);
    for i in 0..nsections {
        sections.push(section_header(data, opt.end + i * SECTION_HEADER_LEN, opt)?);
    }
    Ok(sections)
}

/// Reads the section header at file offset `h` and checks its virtual range against `SizeOfImage` and its
/// stored bytes against the file's end and `SizeOfHeaders`.
fn section_header(data: &[u8], h: usize, opt: &OptionalHeader) -> Result<Section, PeError> {
    let len = data.len();
    let (size_of_image, size_of_headers) = (opt.size_of_image, opt.size_of_headers);
    let raw_name = data
        .get(h..h + 8)
        .ok_or_else(|| truncated("section table", h + 8, len))?;
    let name_end = raw_name.iter().position(|&b| b == 0).unwrap_or(8);
    let name = String::from_utf8_lossy(raw_name.get(..name_end).unwrap_or(raw_name)).into_owned();
    let s = Section {
        name,
        virtual_size: r32(data, h + 8, "section table")?,
        virtual_address: r32(data, h + 12, "section table")?,
        size_of_raw_data: r32(data, h + 16, "section table")?,
        pointer_to_raw_data: r32(data, h + 20, "section table")?,
        characteristics: r32(data, h + 36, "section table")?,
        header_offset: h,
    };
    let vend = s
        .virtual_address
        .checked_add(s.virtual_size)
        .ok_or_else(|| PeError::Malformed(format!("section {} wraps the address space", s.name)))?;
    // EDK2's PE loader refuses sections that end beyond SizeOfImage (PeCoffLoaderImageAddress returns
    // NULL); checking it here also bounds what mapping a section can allocate.
    if vend > size_of_image {
        return Err(PeError::Malformed(format!(
            "section {} ends at RVA {vend:#x}, beyond SizeOfImage {size_of_image:#x}",
            s.name
        )));
    }
    if s.size_of_raw_data > 0 {
        let end = s.pointer_to_raw_data as u64 + s.size_of_raw_data as u64;
        if end > len as u64 {
            return Err(PeError::Truncated {
                what: format!("section {}", s.name),
                needed: end,
                len: len as u64,
            });
        }
        if (s.pointer_to_raw_data as u64) < size_of_headers as u64 {
            return Err(PeError::Malformed(format!(
                "section {} data at {:#x} lies inside the headers (SizeOfHeaders {size_of_headers:#x})",
                s.name, s.pointer_to_raw_data
            )));
        }
    }
    Ok(s)
}

/// Stored bytes of two sections must not overlap: such a file is either corrupt or crafted so that the signed
/// bytes and the loaded bytes differ.
fn check_stored_overlaps(sections: &[Section]) -> Result<(), PeError> {
    let mut by_offset: Vec<&Section> = sections.iter().filter(|s| s.size_of_raw_data > 0).collect();
    by_offset.sort_by_key(|s| s.pointer_to_raw_data);
    for w in by_offset.windows(2) {
        if let [a, b] = w {
            let ar = a.raw_range();
            if ar.end > b.pointer_to_raw_data as usize {
                let br = b.raw_range();
                return Err(PeError::Overlap {
                    a: a.name.clone(),
                    a_range: ar.start as u64..ar.end as u64,
                    b: b.name.clone(),
                    b_range: br.start as u64..br.end as u64,
                });
            }
        }
    }
    Ok(())
}

/// Like [`loaded_section_bytes`], but borrows from the file when the mapped bytes are exactly stored bytes (no
/// zero fill, no later section overlapping), which is the case for every section ukify writes.
pub fn loaded_section<'a>(
    data: &'a [u8],
    headers: &PeHeaders,
    index: usize,
) -> Option<std::borrow::Cow<'a, [u8]>> {
    let t = headers.sections.get(index)?;
    let (start, end) = (
        t.virtual_address as u64,
        t.virtual_address as u64 + t.virtual_size as u64,
    );
    let overlapped = headers.sections.iter().enumerate().any(|(j, s)| {
        j != index && {
            let (s0, s1) = (
                s.virtual_address as u64,
                s.virtual_address as u64 + s.loaded_file_len() as u64,
            );
            s0 < end && start < s1
        }
    });
    if !overlapped && t.virtual_size <= t.size_of_raw_data {
        let p = t.pointer_to_raw_data as usize;
        return data
            .get(p..p + t.virtual_size as usize)
            .map(std::borrow::Cow::Borrowed);
    }
    loaded_section_bytes(data, headers, index).map(std::borrow::Cow::Owned)
}

/// A section's bytes as the firmware loader maps them: the image is laid out in memory by copying each
/// section's stored bytes (`min(VirtualSize, SizeOfRawData)`) to its RVA in table order, the rest zero-filled.
/// When virtual ranges overlap, a later section overwrites an earlier one, exactly as EDK2's PE loader does.
pub fn loaded_section_bytes(data: &[u8], headers: &PeHeaders, index: usize) -> Option<Vec<u8>> {
    let target = headers.sections.get(index)?;
    let start = target.virtual_address as u64;
    let end = start + target.virtual_size as u64;
    let mut out = vec![0u8; target.virtual_size as usize];
    for s in &headers.sections {
        let s_start = s.virtual_address as u64;
        let n = s.loaded_file_len() as u64;
        let s_end = s_start + n;
        let lo = s_start.max(start);
        let hi = s_end.min(end);
        if lo >= hi {
            continue;
        }
        let src_off = s.pointer_to_raw_data as u64 + (lo - s_start);
        let src = data.get(src_off as usize..(src_off + (hi - lo)) as usize)?;
        out.get_mut((lo - start) as usize..(hi - start) as usize)?
            .copy_from_slice(src);
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal PE32+ image built by hand: headers + one section.
    pub(crate) fn tiny_pe(sections: &[(&str, u32, u32, &[u8])]) -> Vec<u8> {
        let mut f = vec![0u8; 0x400];
        f[0..2].copy_from_slice(b"MZ");
        f[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        f[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        f[coff..coff + 2].copy_from_slice(&0x8664u16.to_le_bytes());
        f[coff + 2..coff + 4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        f[coff + 16..coff + 18].copy_from_slice(&240u16.to_le_bytes());
        let oh = coff + 20;
        f[oh..oh + 2].copy_from_slice(&MAGIC_PE32_PLUS.to_le_bytes());
        f[oh + 32..oh + 36].copy_from_slice(&0x1000u32.to_le_bytes());
        f[oh + 36..oh + 40].copy_from_slice(&0x200u32.to_le_bytes());
        f[oh + 56..oh + 60].copy_from_slice(&0x10_0000u32.to_le_bytes());
        f[oh + 60..oh + 64].copy_from_slice(&0x400u32.to_le_bytes());
        f[oh + 108..oh + 112].copy_from_slice(&16u32.to_le_bytes());
        let mut table = oh + 240;
        for (name, va, vs, bytes) in sections {
            let ptr = f.len() as u32;
            let raw = bytes.len().div_ceil(0x200) * 0x200;
            f.extend_from_slice(bytes);
            f.resize(ptr as usize + raw, 0);
            let h = &mut f[table..table + 40];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[8..12].copy_from_slice(&vs.to_le_bytes());
            h[12..16].copy_from_slice(&va.to_le_bytes());
            h[16..20].copy_from_slice(&(raw as u32).to_le_bytes());
            h[20..24].copy_from_slice(&ptr.to_le_bytes());
            table += 40;
        }
        f
    }

    #[test]
    fn parses_and_maps_sections() {
        let f = tiny_pe(&[(".a", 0x1000, 3, b"abcdef"), (".b", 0x2000, 8, b"xy")]);
        let h = PeHeaders::parse(&f).unwrap();
        assert_eq!(h.sections.len(), 2);
        assert_eq!(loaded_section_bytes(&f, &h, 0).unwrap(), b"abc");
        assert_eq!(loaded_section_bytes(&f, &h, 1).unwrap(), b"xy\0\0\0\0\0\0");
    }

    #[test]
    fn later_section_overwrites_overlapping_virtual_range() {
        let f = tiny_pe(&[(".a", 0x1000, 4, b"aaaa"), (".b", 0x1002, 2, b"bb")]);
        let h = PeHeaders::parse(&f).unwrap();
        assert_eq!(loaded_section_bytes(&f, &h, 0).unwrap(), b"aabb");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(PeHeaders::parse(b"hello"), Err(PeError::NotPe));
        let f = tiny_pe(&[(".a", 0x1000, 4, b"aaaa")]);
        for cut in [0x10, 0x90, 0x100, 0x300, 0x500] {
            assert!(
                matches!(PeHeaders::parse(&f[..cut]), Err(PeError::Truncated { .. })),
                "cut at {cut:#x}"
            );
        }
        let mut g = tiny_pe(&[(".a", 0x1000, 4, b"aaaa"), (".b", 0x2000, 4, b"bbbb")]);
        // Point .b's raw data at .a's.
        let h = PeHeaders::parse(&g).unwrap();
        let off = h.sections[1].header_offset + 20;
        let a_ptr = h.sections[0].pointer_to_raw_data;
        g[off..off + 4].copy_from_slice(&a_ptr.to_le_bytes());
        assert!(matches!(PeHeaders::parse(&g), Err(PeError::Overlap { .. })));
        // A VirtualSize reaching past SizeOfImage (would make the loader map gigabytes).
        let mut v = tiny_pe(&[(".a", 0x1000, 4, b"aaaa")]);
        let off = PeHeaders::parse(&v).unwrap().sections[0].header_offset + 8;
        v[off..off + 4].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        assert!(matches!(PeHeaders::parse(&v), Err(PeError::Malformed(_))));
    }

    /// Mutation fuzzing: random byte flips and truncations of a valid image never panic in any reader.
    #[test]
    fn mutations_never_panic() {
        let base = tiny_pe(&[
            (".linux", 0x1000, 6, b"kernel"),
            (
                ".sdmagic",
                0x2000,
                52,
                b"#### LoaderInfo: systemd-stub 254.1 ####",
            ),
        ]);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let mut f = base.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % f.len();
                f[i] = next() as u8;
            }
            let cut = (next() as usize) % (f.len() + 1);
            for data in [&f[..], &f[..cut]] {
                if let Ok(h) = PeHeaders::parse(data) {
                    for i in 0..h.sections.len() {
                        let _ = loaded_section_bytes(data, &h, i);
                        let _ = loaded_section(data, &h, i);
                    }
                }
                let _ = crate::authenticode::authenticode_digest(
                    data,
                    yardstick_common::hash::Algorithm::Sha256,
                );
                if let Ok(u) = crate::uki::Uki::parse(data) {
                    let _ = u.pcr11_events(yardstick_common::hash::Algorithm::Sha1);
                    let _ = u.cmdline();
                }
            }
        }
    }
}
