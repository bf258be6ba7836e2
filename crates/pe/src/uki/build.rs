//! Building a UKI: the stub with the payload sections appended, laid out byte for byte as ukify 254 does
//! (`pe_add_sections()` in systemd v254 `src/ukify/ukify.py`), so that the two tools' outputs can be compared
//! directly and the result never depends on the time or the build host. With a systemd-stub 257, as ukify 257
//! does: its file order ([`ukify_file_order`]) and its clearing of the UKI's `NX_COMPAT` flag when the kernel
//! lacks it.

use std::borrow::Cow;

use crate::pe::{
    PeHeaders, SCN_CNT_CODE, SCN_CNT_INITIALIZED_DATA, SCN_MEM_READ, SECTION_HEADER_LEN,
};
use crate::uki::table::ukify_file_order;
use crate::uki::{Section, StubGeneration, UkiError, sbat};

/// `IMAGE_DLLCHARACTERISTICS_NX_COMPAT`.
const DLL_NX_COMPAT: u16 = 0x0100;
/// Offset of `DllCharacteristics` in the optional header (PE32 and PE32+).
const DLL_CHARACTERISTICS_OFFSET: usize = 70;

fn dll_characteristics(data: &[u8], headers: &PeHeaders) -> Option<u16> {
    let o = headers.optional_offset + DLL_CHARACTERISTICS_OFFSET;
    let b = data.get(o..o + 2)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// What goes into a UKI. Every payload is given as bytes; see [`normalize_cmdline_text`] for the `TEXT` form
/// of `--cmdline`.
#[derive(Debug, Clone, Default)]
pub struct UkiInputs {
    /// The systemd-stub EFI binary.
    pub stub: Vec<u8>,
    /// The kernel (an EFI-stub bzImage).
    pub linux: Vec<u8>,
    /// Initrds, concatenated in order (each padded to 4 bytes when there are several, as ukify does).
    pub initrds: Vec<Vec<u8>>,
    /// `.cmdline` contents.
    pub cmdline: Option<Vec<u8>>,
    /// `.osrel` contents. Unlike ukify, never defaults to the build host's `/etc/os-release`.
    pub os_release: Option<Vec<u8>>,
    /// `.uname`. `None`: read the version from the kernel's x86 setup header, like ukify; `Some("")`: no
    /// `.uname` section.
    pub uname: Option<String>,
    /// `.splash` (a BMP image).
    pub splash: Option<Vec<u8>>,
    /// `.dtb` (a flattened device tree).
    pub dtb: Option<Vec<u8>>,
    /// SBAT texts to merge (each starting with the `sbat,` header line). Empty: ukify's default `uki,1,...`.
    pub sbat: Vec<String>,
}

/// The SBAT text ukify 254 uses when none is given.
pub const DEFAULT_UKI_SBAT: &str = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n\
uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n";

/// ukify's handling of a command line given as text (not `@FILE`): whitespace runs become one space and
/// leading/trailing whitespace is dropped (`' '.join(cmdline.split())`).
pub fn normalize_cmdline_text(text: &str) -> Vec<u8> {
    // Python's str.isspace() also counts the separators U+001C..U+001F, which Rust's is_whitespace() does not.
    text.split(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .into_bytes()
}

/// ukify's `join_initrds()`: one initrd as is; several each padded with zeros to a multiple of 4 bytes.
pub fn join_initrds(initrds: &[Vec<u8>]) -> Option<Cow<'_, [u8]>> {
    match initrds {
        [] => None,
        [one] => Some(Cow::Borrowed(one)),
        many => {
            let mut out = Vec::with_capacity(many.iter().map(|i| i.len() + 3).sum());
            for i in many {
                out.extend_from_slice(i);
                out.resize(out.len().next_multiple_of(4), 0);
            }
            Some(Cow::Owned(out))
        }
    }
}

/// The kernel release from an x86 bzImage's setup header (`kernel_version` pointer at 0x20e), parsed like
/// ukify's `Uname.scrape_x86`: the first word of "6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...".
pub fn kernel_release_from_bzimage(kernel: &[u8]) -> Option<String> {
    if kernel.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let ptr = u16::from_le_bytes([*kernel.get(0x20e)?, *kernel.get(0x20f)?]) as usize;
    let start = 0x200 + ptr;
    let text = kernel.get(start..(start + 128).min(kernel.len()))?;
    let text = text.split(|&b| b == 0).next()?;
    let text = std::str::from_utf8(text).ok()?;
    // VERSION_PATTERN = r'(?P<version>[a-z0-9._-]+) \([^ )]+\) (?:#.*)', anchored at the start (re.match).
    let ver_len = text
        .bytes()
        .take_while(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        .count();
    if ver_len == 0 {
        return None;
    }
    let rest = text.get(ver_len..)?.strip_prefix(" (")?;
    let inner = rest.bytes().take_while(|&b| b != b' ' && b != b')').count();
    if inner == 0 {
        return None;
    }
    let rest = rest.get(inner..)?.strip_prefix(") ")?;
    rest.starts_with('#').then(|| text[..ver_len].to_string())
}

fn put_u16(b: &mut [u8], off: usize, v: u16) -> Result<(), UkiError> {
    b.get_mut(off..off + 2)
        .ok_or(UkiError::Layout("header field out of range".into()))?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn put_u32(b: &mut [u8], off: usize, v: u32) -> Result<(), UkiError> {
    b.get_mut(off..off + 4)
        .ok_or(UkiError::Layout("header field out of range".into()))?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn round_up(x: u64, align: u64) -> u64 {
    x.div_ceil(align) * align
}

fn to_u32(x: u64, what: &str) -> Result<u32, UkiError> {
    u32::try_from(x).map_err(|_| UkiError::Layout(format!("{what} exceeds 4 GiB")))
}

/// A section header being edited.
#[derive(Debug, Clone)]
struct Hdr {
    name: [u8; 8],
    virtual_size: u32,
    virtual_address: u32,
    size_of_raw_data: u32,
    pointer_to_raw_data: u32,
    rest: [u8; 16],
    header_offset: usize,
}

impl Hdr {
    fn name(&self) -> &[u8] {
        self.name.split(|&b| b == 0).next().unwrap_or_default()
    }

    fn write(&self, data: &mut [u8]) -> Result<(), UkiError> {
        let h = self.header_offset;
        let dst: &mut [u8; SECTION_HEADER_LEN] = data
            .get_mut(h..h + SECTION_HEADER_LEN)
            .and_then(|d| d.try_into().ok())
            .ok_or(UkiError::Layout("section header out of range".into()))?;
        dst[..8].copy_from_slice(&self.name);
        dst[8..12].copy_from_slice(&self.virtual_size.to_le_bytes());
        dst[12..16].copy_from_slice(&self.virtual_address.to_le_bytes());
        dst[16..20].copy_from_slice(&self.size_of_raw_data.to_le_bytes());
        dst[20..24].copy_from_slice(&self.pointer_to_raw_data.to_le_bytes());
        dst[24..40].copy_from_slice(&self.rest);
        Ok(())
    }
}

/// Builds a UKI from `inputs`. The result is a pure function of the inputs.
pub fn build_uki(inputs: &UkiInputs) -> Result<Vec<u8>, UkiError> {
    // Validate the kernel early: a non-PE kernel would make a UKI that cannot boot, and one whose
    // Authenticode ranges do not fit the file (a signed kernel cut short) one whose PCR 4 measurement cannot
    // be predicted: the firmware hashes `.linux` as a PE image when systemd-stub loads it.
    let kernel_headers = PeHeaders::parse(&inputs.linux).map_err(|e| UkiError::Input {
        what: "kernel",
        source: e,
    })?;
    crate::authenticode::hashed_ranges(&inputs.linux, &kernel_headers).map_err(|e| {
        UkiError::Input {
            what: "kernel",
            source: e,
        }
    })?;
    let stub_headers = PeHeaders::parse(&inputs.stub).map_err(|e| UkiError::Input {
        what: "stub",
        source: e,
    })?;
    let uname = match &inputs.uname {
        Some(u) => u.clone(),
        None => kernel_release_from_bzimage(&inputs.linux).unwrap_or_default(),
    };
    let sbat_texts: Vec<String> = if inputs.sbat.is_empty() {
        vec![DEFAULT_UKI_SBAT.to_string()]
    } else {
        inputs.sbat.clone()
    };
    let mut pe_sbat = Vec::new();
    for (what, bytes) in [("stub", &inputs.stub), ("kernel", &inputs.linux)] {
        if let Some(t) =
            sbat::pe_sbat_lines(bytes).map_err(|e| UkiError::Sbat(format!("{what}: {e}")))?
        {
            pe_sbat.push(t);
        }
    }
    let merged_sbat = sbat::merge(&pe_sbat, &sbat_texts)?;
    let initrd = join_initrds(&inputs.initrds);

    // The stub's generation decides ukify's file order (an unversioned stub gets ukify 254's).
    let generation = super::stub_version_of(&inputs.stub, &stub_headers)
        .and_then(|v| super::systemd_major_version(&v))
        .and_then(StubGeneration::from_systemd_version)
        .unwrap_or(StubGeneration::Systemd254);
    let mut sections: Vec<(Section, &[u8])> = Vec::new();
    for &section in ukify_file_order(generation) {
        let content: Option<&[u8]> = match section {
            Section::Osrel => inputs.os_release.as_deref(),
            Section::Cmdline => inputs.cmdline.as_deref(),
            Section::Dtb => inputs.dtb.as_deref(),
            Section::Uname => Some(uname.as_bytes()),
            Section::Splash => inputs.splash.as_deref(),
            Section::Initrd => initrd.as_deref(),
            Section::Sbat => Some(merged_sbat.as_bytes()),
            Section::Linux => Some(&inputs.linux),
            // `uki build` takes no input for these.
            Section::Ucode
            | Section::Pcrsig
            | Section::Pcrpkey
            | Section::Profile
            | Section::Dtbauto
            | Section::Hwids
            | Section::Efifw => None,
        };
        // ukify skips empty contents (`if content:`), which is how `--uname ''` drops `.uname`.
        if let Some(c) = content.filter(|c| !c.is_empty()) {
            sections.push((section, c));
        }
    }
    let mut out = add_sections(&inputs.stub, &stub_headers, &sections)?;
    // ukify 257: "the kernel and the UKI need the same NX_COMPAT value", cleared when the kernel lacks it.
    if generation == StubGeneration::Systemd257
        && dll_characteristics(&inputs.linux, &kernel_headers)
            .is_some_and(|c| c & DLL_NX_COMPAT == 0)
    {
        let headers = PeHeaders::parse(&out)?;
        if let Some(c) = dll_characteristics(&out, &headers) {
            put_u16(
                &mut out,
                headers.optional_offset + DLL_CHARACTERISTICS_OFFSET,
                c & !DLL_NX_COMPAT,
            )?;
        }
    }
    Ok(out)
}

/// The stub's alignments and its `SizeOfHeaders` rounded up to `FileAlignment`, which bound where added
/// sections go.
#[derive(Debug, Clone, Copy)]
struct Layout {
    file_alignment: u64,
    section_alignment: u64,
    size_of_headers: u64,
}

/// ukify 254 `pe_add_sections()`.
fn add_sections(
    stub: &[u8],
    headers: &PeHeaders,
    sections: &[(Section, &[u8])],
) -> Result<Vec<u8>, UkiError> {
    let total: usize = sections.iter().map(|(_, c)| c.len() + 4096).sum();
    let mut data = Vec::with_capacity(stub.len() + total);
    data.extend_from_slice(stub);
    let fa = headers.file_alignment as u64;
    if headers.security_dir().is_some_and(|d| d.address != 0) {
        return Err(UkiError::SignedStub);
    }
    let mut hdrs = stub_section_headers(stub, headers)?;
    let symtab = drop_symbol_table(&mut data, headers);
    align_stub_sections(&mut data, &mut hdrs, fa)?;
    let size_of_headers = round_up(headers.size_of_headers as u64, fa);
    if size_of_headers as usize > data.len() {
        return Err(UkiError::Layout(
            "SizeOfHeaders beyond the end of the stub".into(),
        ));
    }
    let layout = Layout {
        file_alignment: fa,
        section_alignment: headers.section_alignment as u64,
        size_of_headers,
    };
    let mut size_of_initialized_data = headers.size_of_initialized_data;
    for &(section, content) in sections {
        let added = add_section(&mut data, &mut hdrs, section, content, layout)?;
        size_of_initialized_data = size_of_initialized_data.wrapping_add(added);
    }
    write_headers(
        &mut data,
        headers,
        &hdrs,
        symtab,
        size_of_initialized_data,
        layout,
    )?;
    // The result must itself be a valid PE image.
    PeHeaders::parse(&data)
        .map_err(|e| UkiError::Layout(format!("built image does not parse: {e}")))?;
    Ok(data)
}

/// The stub's section headers, to edit; at least one.
fn stub_section_headers(stub: &[u8], headers: &PeHeaders) -> Result<Vec<Hdr>, UkiError> {
    let hdrs: Vec<Hdr> = headers
        .sections
        .iter()
        .map(|s| {
            let h = s.header_offset;
            let raw: [u8; SECTION_HEADER_LEN] =
                yardstick_common::bytes::array(stub, h).unwrap_or([0; SECTION_HEADER_LEN]);
            let mut name = [0u8; 8];
            name.copy_from_slice(&raw[..8]);
            let mut rest = [0u8; 16];
            rest.copy_from_slice(&raw[24..40]);
            Hdr {
                name,
                virtual_size: s.virtual_size,
                virtual_address: s.virtual_address,
                size_of_raw_data: s.size_of_raw_data,
                pointer_to_raw_data: s.pointer_to_raw_data,
                rest,
                header_offset: h,
            }
        })
        .collect();
    if hdrs.is_empty() {
        return Err(UkiError::Layout("stub has no sections".into()));
    }
    Ok(hdrs)
}

/// Old stubs (Debian's 252) still carry their COFF symbol and string tables at the end of the file; ukify
/// drops them when they are the file's tail. Returns the `PointerToSymbolTable` and `NumberOfSymbols` to write.
fn drop_symbol_table(data: &mut Vec<u8>, headers: &PeHeaders) -> (u32, u32) {
    let symtab_ptr = headers.pointer_to_symbol_table;
    let nsyms = headers.number_of_symbols;
    if symtab_ptr != 0 {
        let symtab = symtab_ptr as u64;
        let mut size = 18 * nsyms as u64;
        let str_off = symtab + size;
        if let Some(len) = yardstick_common::bytes::le32(data, str_off as usize) {
            size += len as u64;
        }
        if symtab + size == data.len() as u64 {
            data.truncate(symtab as usize);
            // ukify also sets pefile's IMAGE_FILE_LOCAL_SYMS_STRIPPED attribute, but pefile derives that
            // attribute from Characteristics and never writes it back, so the header keeps its old flags.
            return (0, 0);
        }
    }
    (symtab_ptr, nsyms)
}

/// Stripped stubs may have unaligned raw data; ukify pads each section to `FileAlignment` (`fa`), moving the
/// later ones.
fn align_stub_sections(data: &mut Vec<u8>, hdrs: &mut [Hdr], fa: u64) -> Result<(), UkiError> {
    let mut rest = hdrs;
    while let Some((cur, later_hdrs)) = rest.split_first_mut() {
        rest = later_hdrs;
        let oldp = cur.pointer_to_raw_data as u64;
        let oldsz = cur.size_of_raw_data as u64;
        let newp = round_up(oldp, fa);
        let newsz = round_up(oldsz, fa);
        let padp = newp - oldp;
        let padsz = newsz - oldsz;
        if padp == 0 && padsz == 0 {
            continue;
        }
        cur.pointer_to_raw_data = to_u32(newp, "section offset")?;
        cur.size_of_raw_data = to_u32(newsz, "section size")?;
        for later in rest.iter_mut() {
            later.pointer_to_raw_data = to_u32(
                later.pointer_to_raw_data as u64 + padp + padsz,
                "section offset",
            )?;
        }
        let (oldp, oldsz) = (oldp as usize, oldsz as usize);
        let tail = data.split_off((oldp + oldsz).min(data.len()));
        let body = data.split_off(oldp.min(data.len()));
        data.resize(data.len() + padp as usize, 0);
        data.extend_from_slice(&body);
        data.resize(data.len() + padsz as usize, 0);
        data.extend_from_slice(&tail);
    }
    Ok(())
}

/// Adds `section` with `content`: in place of the stub's section of that name, else appended with a new
/// header after the last one. Returns what it adds to `SizeOfInitializedData`.
fn add_section(
    data: &mut Vec<u8>,
    hdrs: &mut Vec<Hdr>,
    section: Section,
    content: &[u8],
    layout: Layout,
) -> Result<u32, UkiError> {
    let name = section.name();
    let last = hdrs
        .last()
        .ok_or(UkiError::Layout("no sections".into()))?
        .clone();
    let offset = last.header_offset + SECTION_HEADER_LEN;
    if (offset + SECTION_HEADER_LEN) as u64 > layout.size_of_headers {
        return Err(UkiError::Layout(format!(
            "not enough header space to add section {name}"
        )));
    }
    let vsize = to_u32(content.len() as u64, name)?;
    if let Some(i) = hdrs.iter().position(|h| h.name() == name.as_bytes()) {
        replace_section_data(data, hdrs, i, name, content, vsize, layout.file_alignment)?;
        return Ok(0);
    }
    let hdr = append_section(data, &last, offset, section, content, vsize, layout)?;
    hdrs.push(hdr);
    Ok(vsize)
}

/// ukify swaps the data of an existing section (the stub's `.sbat`, header `hdrs[i]`) in place; `vsize` is
/// `content`'s length.
fn replace_section_data(
    data: &mut [u8],
    hdrs: &mut [Hdr],
    i: usize,
    name: &str,
    content: &[u8],
    vsize: u32,
    fa: u64,
) -> Result<(), UkiError> {
    let raw_size = round_up(content.len() as u64, fa);
    let (cur, later) = hdrs
        .get_mut(i..)
        .and_then(|h| h.split_first_mut())
        .ok_or(UkiError::Layout(format!("no {name} section header")))?;
    if vsize > cur.size_of_raw_data {
        return Err(UkiError::Layout(format!(
            "not enough space in the stub's {name} section ({} bytes) for {vsize} bytes",
            cur.size_of_raw_data
        )));
    }
    let start = cur.pointer_to_raw_data as usize;
    let region_end = later
        .first()
        .map(|n| n.pointer_to_raw_data as usize)
        .unwrap_or(start + cur.size_of_raw_data as usize);
    let region = data
        .get_mut(start..region_end)
        .ok_or(UkiError::Layout(format!("{name} section out of range")))?;
    // Same bytes as ukify when the padded size fills the region (always, for real stubs); otherwise keep
    // the file layout intact instead of shifting later sections under their headers.
    region.fill(0);
    region
        .get_mut(..content.len())
        .ok_or(UkiError::Layout(format!("{name} does not fit")))?
        .copy_from_slice(content);
    cur.size_of_raw_data = to_u32(raw_size, name)?;
    cur.virtual_size = vsize;
    Ok(())
}

/// Appends `content` at the end of the file (aligned to `FileAlignment`) and returns its new section header,
/// at file offset `offset`, mapped after `last` (aligned to `SectionAlignment`); `vsize` is `content`'s length.
fn append_section(
    data: &mut Vec<u8>,
    last: &Hdr,
    offset: usize,
    section: Section,
    content: &[u8],
    vsize: u32,
    layout: Layout,
) -> Result<Hdr, UkiError> {
    let name = section.name();
    let (fa, sa) = (layout.file_alignment, layout.section_alignment);
    let raw_size = round_up(content.len() as u64, fa);
    let ptr = round_up(data.len() as u64, fa);
    let va = round_up(last.virtual_address as u64 + last.virtual_size as u64, sa);
    data.resize(ptr as usize, 0);
    data.extend_from_slice(content);
    data.resize((ptr + raw_size) as usize, 0);
    let mut name8 = [0u8; 8];
    let nb = name.as_bytes();
    if nb.len() > 8 {
        return Err(UkiError::Layout(format!(
            "section name {name} longer than 8 bytes"
        )));
    }
    for (d, s) in name8.iter_mut().zip(nb) {
        *d = *s;
    }
    let flags = SCN_MEM_READ
        | if section == Section::Linux {
            // Old kernels that use the EFI handover protocol are executed in place.
            SCN_CNT_CODE
        } else {
            SCN_CNT_INITIALIZED_DATA
        };
    let mut rest = [0u8; 16];
    rest[12..16].copy_from_slice(&flags.to_le_bytes());
    Ok(Hdr {
        name: name8,
        virtual_size: vsize,
        virtual_address: to_u32(va, "virtual address")?,
        size_of_raw_data: to_u32(raw_size, name)?,
        pointer_to_raw_data: to_u32(ptr, "file offset")?,
        rest,
        header_offset: offset,
    })
}

/// Writes the section table `hdrs` and the COFF and optional header fields that change: section count,
/// symbol table (`symtab`: pointer and count), `SizeOfInitializedData`, `SizeOfImage`, `SizeOfHeaders` and a
/// zero `CheckSum`.
fn write_headers(
    data: &mut [u8],
    headers: &PeHeaders,
    hdrs: &[Hdr],
    symtab: (u32, u32),
    size_of_initialized_data: u32,
    layout: Layout,
) -> Result<(), UkiError> {
    let (coff, oh) = (headers.coff_offset, headers.optional_offset);
    let last = hdrs.last().ok_or(UkiError::Layout("no sections".into()))?;
    let size_of_image = to_u32(
        round_up(
            last.virtual_address as u64 + last.virtual_size as u64,
            layout.section_alignment,
        ),
        "SizeOfImage",
    )?;
    let nsections =
        u16::try_from(hdrs.len()).map_err(|_| UkiError::Layout("too many sections".into()))?;
    for h in hdrs {
        h.write(data)?;
    }
    put_u16(data, coff + 2, nsections)?;
    put_u32(data, coff + 8, symtab.0)?;
    put_u32(data, coff + 12, symtab.1)?;
    put_u16(data, coff + 18, headers.characteristics)?;
    put_u32(data, oh + 8, size_of_initialized_data)?;
    put_u32(data, oh + 56, size_of_image)?;
    put_u32(data, oh + 60, layout.size_of_headers as u32)?;
    put_u32(data, oh + 64, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_text_and_initrd_joining() {
        assert_eq!(normalize_cmdline_text("  a   b\tc \n"), b"a b c");
        assert_eq!(normalize_cmdline_text("a\u{1f}b\u{a0}c"), b"a b c");
        assert_eq!(&*join_initrds(&[b"abcde".to_vec()]).unwrap(), b"abcde");
        assert_eq!(
            &*join_initrds(&[b"abcde".to_vec(), b"xy".to_vec()]).unwrap(),
            b"abcde\0\0\0xy\0\0"
        );
        assert!(join_initrds(&[]).is_none());
    }

    #[test]
    fn kernel_release_parsing() {
        let mut k = vec![0u8; 0x400];
        k[0x202..0x206].copy_from_slice(b"HdrS");
        k[0x20e..0x210].copy_from_slice(&0x100u16.to_le_bytes());
        let v = b"6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC\0";
        k[0x300..0x300 + v.len()].copy_from_slice(v);
        assert_eq!(
            kernel_release_from_bzimage(&k).as_deref(),
            Some("6.1.0-56-amd64")
        );
        k[0x300] = b'X';
        assert_eq!(kernel_release_from_bzimage(&k), None);
    }
}
