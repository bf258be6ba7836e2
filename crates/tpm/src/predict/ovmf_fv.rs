//! The firmware volumes OVMF measures into PCR 0, read from its code file (`OVMF_CODE*.fd`).
//!
//! An OVMF code file is a sequence of PI firmware volumes (`_FVH`): `FVMAIN_COMPACT` and the SEC volume. One
//! file in `FVMAIN_COMPACT` holds an LZMA-compressed GUIDed section (edk2's `LzmaCustomDecompress`, GUID
//! `ee4e5898-3914-4259-9d6e-dc7bd79403cf`, the LZMA "alone" format) whose contents are two firmware volume
//! image sections: PEIFV (the PEI core and the PEIMs) and DXEFV (the DXE core and the drivers). SEC
//! decompresses them to guest RAM (0x820000 and 0x900000 on Debian's builds) and Tcg2Pei measures both as
//! `EV_EFI_PLATFORM_FIRMWARE_BLOB` events. DXEFV is measured as it was decompressed; PEIFV is not (see
//! `docs/firmware-pcrs.md`: PlatformPei, which runs in place from it, has written its globals by then).
//!
//! Everything here is bounded and checked: a hostile file gives an [`FvError`], never a panic.

use yardstick_common::guid;
use yardstick_common::guid::Guid;

/// Why the firmware volumes could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FvError {
    /// The file does not start with a PI firmware volume.
    #[error("not an OVMF code file: no firmware volume (_FVH) at offset {0:#x}")]
    NoVolume(usize),
    /// A header or size runs past its container.
    #[error("truncated or malformed firmware volume: {0}")]
    Malformed(&'static str),
    /// The LZMA stream does not decompress.
    #[error("LZMA section does not decompress: {0}")]
    Lzma(String),
    /// The compressed volumes are not the PEIFV + DXEFV pair OVMF has.
    #[error(
        "expected one PEI and one DXE firmware volume in the compressed main volume, found {0}"
    )]
    Volumes(String),
}

/// edk2's `LzmaCustomDecompress` GUIDed section.
pub const LZMA_SECTION: Guid = guid!("ee4e5898-3914-4259-9d6e-dc7bd79403cf");

/// The largest decompressed size accepted (OVMF's is 13 MiB).
const MAX_DECOMPRESSED: u64 = 256 << 20;

/// PEIFV and DXEFV as SEC decompresses them: the bytes Tcg2Pei hashes for DXEFV, and for PEIFV before any PEIM
/// ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainVolumes {
    /// The PEI firmware volume (holds the PEI core, file type 0x04).
    pub pei: Vec<u8>,
    /// The DXE firmware volume (holds the DXE core, file type 0x05).
    pub dxe: Vec<u8>,
}

fn le(b: &[u8], off: usize, n: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(n)?)?;
    Some(s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

fn usize_of(v: u64) -> Result<usize, FvError> {
    usize::try_from(v).map_err(|_| FvError::Malformed("size does not fit in memory"))
}

/// One firmware volume found in `data` at `off`: (its bytes, the offset of its first file).
fn volume_at(data: &[u8], off: usize) -> Result<(&[u8], usize), FvError> {
    if data.get(off.saturating_add(0x28)..off.saturating_add(0x2c)) != Some(b"_FVH") {
        return Err(FvError::NoVolume(off));
    }
    let len = usize_of(le(data, off + 0x20, 8).ok_or(FvError::Malformed("volume header"))?)?;
    let fv = data
        .get(
            off..off
                .checked_add(len)
                .ok_or(FvError::Malformed("volume length"))?,
        )
        .ok_or(FvError::Malformed("volume longer than the file"))?;
    let header_len = le(fv, 0x30, 2).ok_or(FvError::Malformed("volume header"))? as usize;
    let ext = le(fv, 0x34, 2).ok_or(FvError::Malformed("volume header"))? as usize;
    let first = if ext != 0 {
        // EFI_FIRMWARE_VOLUME_EXT_HEADER: FvName (16), ExtHeaderSize (u32).
        let size = le(fv, ext + 16, 4).ok_or(FvError::Malformed("extended header"))? as usize;
        ext.checked_add(size)
            .ok_or(FvError::Malformed("extended header"))?
    } else {
        header_len
    };
    if header_len < 0x38 || first > fv.len() {
        return Err(FvError::Malformed("volume header length"));
    }
    Ok((fv, (first + 7) & !7))
}

/// The FFS files of a volume: (type, contents after the file header).
fn files(fv: &[u8], mut off: usize) -> Result<Vec<(u8, &[u8])>, FvError> {
    let mut out = Vec::new();
    while off.saturating_add(24) <= fv.len() {
        let header = fv
            .get(off..off + 24)
            .ok_or(FvError::Malformed("file header"))?;
        if header.iter().all(|&b| b == 0xff) {
            break; // erased space: the end of the files
        }
        let ftype = header.get(18).copied().unwrap_or(0);
        let attrs = header.get(19).copied().unwrap_or(0);
        let (size, hdr) = if attrs & 0x01 != 0 {
            (
                usize_of(le(fv, off + 24, 8).ok_or(FvError::Malformed("large file header"))?)?,
                32,
            )
        } else {
            (le(header, 20, 3).unwrap_or(0) as usize, 24)
        };
        if size < hdr {
            return Err(FvError::Malformed("file size smaller than its header"));
        }
        let end = off
            .checked_add(size)
            .ok_or(FvError::Malformed("file size"))?;
        let body = fv
            .get(off + hdr..end)
            .ok_or(FvError::Malformed("file runs past its volume"))?;
        out.push((ftype, body));
        off = end.checked_add(7).ok_or(FvError::Malformed("file size"))? & !7;
    }
    Ok(out)
}

/// Walks the sections in `data`, decompressing LZMA GUIDed sections, and collects the firmware volume image
/// sections (type 0x17) found under an LZMA section (`compressed`), in order.
fn collect_volumes(
    data: &[u8],
    compressed: bool,
    depth: u32,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), FvError> {
    if depth > 4 {
        return Err(FvError::Malformed("sections nested too deep"));
    }
    let mut off = 0usize;
    while off.saturating_add(4) <= data.len() {
        let size = le(data, off, 3).ok_or(FvError::Malformed("section header"))? as usize;
        let stype = data.get(off + 3).copied().unwrap_or(0);
        let (size, hdr) = if size == 0xff_ffff {
            (
                le(data, off + 4, 4).ok_or(FvError::Malformed("section header"))? as usize,
                8,
            )
        } else {
            (size, 4)
        };
        if size < hdr {
            // Padding at the end of a file.
            break;
        }
        let end = off
            .checked_add(size)
            .ok_or(FvError::Malformed("section size"))?;
        let section = data
            .get(off..end)
            .ok_or(FvError::Malformed("section runs past its file"))?;
        match stype {
            0x02 => {
                let g = Guid::read_efi(section, hdr);
                let data_off = le(section, hdr + 16, 2).unwrap_or(0) as usize;
                let payload = section
                    .get(data_off..)
                    .ok_or(FvError::Malformed("GUIDed section data offset"))?;
                if g == Some(LZMA_SECTION) {
                    let plain = lzma(payload)?;
                    collect_volumes(&plain, true, depth + 1, out)?;
                }
            }
            0x17 if compressed => {
                out.push(section.get(hdr..).unwrap_or_default().to_vec());
            }
            _ => {}
        }
        off = end
            .checked_add(3)
            .ok_or(FvError::Malformed("section size"))?
            & !3;
    }
    Ok(())
}

/// A `Vec` writer that refuses to grow past a limit.
struct Bounded(Vec<u8>, usize);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len().saturating_add(buf.len()) > self.1 {
            return Err(std::io::Error::other("more data than the header's size"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decompresses an LZMA "alone" stream (5 property bytes, the 64-bit unpacked size, the data).
fn lzma(payload: &[u8]) -> Result<Vec<u8>, FvError> {
    let size = le(payload, 5, 8).ok_or_else(|| FvError::Lzma("no LZMA header".into()))?;
    if size > MAX_DECOMPRESSED {
        return Err(FvError::Lzma(format!(
            "unpacked size {size} is over the {MAX_DECOMPRESSED}-byte limit"
        )));
    }
    let limit = usize_of(size)?;
    let mut out = Bounded(Vec::with_capacity(limit), limit);
    lzma_rs::lzma_decompress(&mut std::io::Cursor::new(payload), &mut out)
        .map_err(|e| FvError::Lzma(e.to_string()))?;
    if out.0.len() != limit {
        return Err(FvError::Lzma("shorter than the header's size".into()));
    }
    Ok(out.0)
}

/// Whether a volume holds a file of type `ftype` (0x04 PEI core, 0x05 DXE core).
fn has_file_type(fv: &[u8], ftype: u8) -> bool {
    volume_at(fv, 0)
        .and_then(|(v, first)| files(v, first))
        .is_ok_and(|fs| fs.iter().any(|(t, _)| *t == ftype))
}

/// A volume's name (`FvName` of its extended header), if it has one.
pub fn volume_name(fv: &[u8]) -> Option<Guid> {
    let ext = le(fv, 0x34, 2)? as usize;
    if ext == 0 {
        return None;
    }
    Guid::read_efi(fv, ext)
}

/// The GUIDs of a volume's files, in order.
pub fn file_names(fv: &[u8]) -> Result<Vec<Guid>, FvError> {
    let (v, first) = volume_at(fv, 0)?;
    let mut out = Vec::new();
    let mut at = first;
    while at.saturating_add(24) <= v.len() {
        let header = v
            .get(at..at + 24)
            .ok_or(FvError::Malformed("file header"))?;
        if header.iter().all(|&b| b == 0xff) {
            break;
        }
        if let Some(g) = Guid::read_efi(header, 0) {
            out.push(g);
        }
        let large = header.get(19).is_some_and(|a| a & 0x01 != 0);
        let size = if large {
            usize_of(le(v, at + 24, 8).ok_or(FvError::Malformed("large file header"))?)?
        } else {
            le(header, 20, 3).unwrap_or(0) as usize
        };
        if size < 24 {
            return Err(FvError::Malformed("file size smaller than its header"));
        }
        at = at
            .checked_add(size)
            .and_then(|e| e.checked_add(7))
            .ok_or(FvError::Malformed("file size"))?
            & !7;
    }
    Ok(out)
}

/// PEIFV and DXEFV from an OVMF code file, decompressed.
pub fn main_volumes(code: &[u8]) -> Result<MainVolumes, FvError> {
    let mut found = Vec::new();
    let mut off = 0usize;
    // The code file is volumes back to back (FVMAIN_COMPACT, then SECFV).
    while off < code.len() {
        let (fv, first) = volume_at(code, off)?;
        // FVMAIN_COMPACT's volume-image file (EFI_FV_FILETYPE_FIRMWARE_VOLUME_IMAGE) holds the LZMA section.
        for (_, body) in files(fv, first)?.into_iter().filter(|(t, _)| *t == 0x0b) {
            collect_volumes(body, false, 0, &mut found)?;
        }
        off = off
            .checked_add(fv.len().max(1))
            .ok_or(FvError::Malformed("volume length"))?;
    }
    let mut pei = None;
    let mut dxe = None;
    for fv in found {
        if has_file_type(&fv, 0x04) && pei.is_none() {
            pei = Some(fv);
        } else if has_file_type(&fv, 0x05) && dxe.is_none() {
            dxe = Some(fv);
        } else {
            return Err(FvError::Volumes("an extra or unrecognised volume".into()));
        }
    }
    match (pei, dxe) {
        (Some(pei), Some(dxe)) => Ok(MainVolumes { pei, dxe }),
        (p, d) => Err(FvError::Volumes(format!(
            "{} PEI and {} DXE",
            usize::from(p.is_some()),
            usize::from(d.is_some())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A volume header of `len` bytes (no files) followed by `body`.
    fn volume(body: &[u8]) -> Vec<u8> {
        let len = 0x48 + body.len();
        let mut v = vec![0u8; 0x48];
        v[0x20..0x28].copy_from_slice(&(len as u64).to_le_bytes());
        v[0x28..0x2c].copy_from_slice(b"_FVH");
        v[0x30..0x32].copy_from_slice(&0x48u16.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    fn file(ftype: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 24];
        f[0] = ftype; // some GUID
        f[18] = ftype;
        let size = (24 + body.len()) as u32;
        f[20..23].copy_from_slice(&size.to_le_bytes()[..3]);
        f.extend_from_slice(body);
        while !f.len().is_multiple_of(8) {
            f.push(0xff);
        }
        f
    }

    fn section(stype: u8, body: &[u8]) -> Vec<u8> {
        let size = (4 + body.len()) as u32;
        let mut s = size.to_le_bytes()[..3].to_vec();
        s.push(stype);
        s.extend_from_slice(body);
        while !s.len().is_multiple_of(4) {
            s.push(0);
        }
        s
    }

    fn lzma_section(plain: &[u8]) -> Vec<u8> {
        let mut packed = Vec::new();
        lzma_rs::lzma_compress_with_options(
            &mut std::io::Cursor::new(plain),
            &mut packed,
            &lzma_rs::compress::Options {
                unpacked_size: lzma_rs::compress::UnpackedSize::WriteToHeader(Some(
                    plain.len() as u64
                )),
            },
        )
        .unwrap();
        let mut body = LZMA_SECTION.to_efi_bytes().to_vec();
        body.extend_from_slice(&24u16.to_le_bytes()); // data offset: 4 + 16 + 2 + 2
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&packed);
        section(0x02, &body)
    }

    /// A miniature OVMF: one file with an LZMA section holding a PEI and a DXE volume.
    fn mini_ovmf() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let pei = volume(&file(0x04, &section(0x10, b"pei core")));
        let dxe = volume(&file(0x05, &section(0x10, b"dxe core")));
        let mut inner = section(0x17, &pei);
        inner.extend(section(0x17, &dxe));
        let code = volume(&file(0x0b, &lzma_section(&inner)));
        (code, pei, dxe)
    }

    #[test]
    fn finds_both_volumes_in_a_miniature_ovmf() {
        let (code, pei, dxe) = mini_ovmf();
        assert_eq!(main_volumes(&code).unwrap(), MainVolumes { pei, dxe });
    }

    #[test]
    fn refuses_other_files() {
        assert_eq!(main_volumes(b"hello"), Err(FvError::NoVolume(0)));
        let only_pei = volume(&file(
            0x0b,
            &lzma_section(&section(0x17, &volume(&file(0x04, b"")))),
        ));
        assert!(matches!(main_volumes(&only_pei), Err(FvError::Volumes(_))));
    }

    /// Every truncation and single-byte corruption gives an error or a result, never a panic.
    #[test]
    fn survives_mutations() {
        let (code, ..) = mini_ovmf();
        for n in 0..code.len() {
            let _ = main_volumes(&code[..n]);
        }
        for i in 0..code.len() {
            for v in [0x00, 0xff, 0x7f] {
                let mut c = code.clone();
                c[i] = v;
                let _ = main_volumes(&c);
            }
        }
    }
}
