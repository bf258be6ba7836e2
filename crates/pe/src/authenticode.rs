//! Authenticode image hash, computed the way EDK2 measures images into PCR 4
//! (`SecurityPkg/Library/DxeTpm2MeasureBootLib` → `Tcg2Dxe` `MeasurePeImageAndExtend`, and
//! `DxeImageVerificationLib` `HashPeImage`, which use the same rule).
//!
//! The Authenticode specification hashes: the headers without the `CheckSum` field and the certificate-table
//! directory entry, then every section's stored bytes in file order, then "the remaining data" up to the
//! certificate table. EDK2 takes "remaining data" to start at the number of bytes hashed so far
//! (`SizeOfHeaders + Σ SizeOfRawData`), not at the end of the last section. For files whose sections leave gaps,
//! or that carry trailing bytes after the last section (Debian's systemd 252 stub has a 12,641-byte COFF
//! symbol table there), that quirk changes the digest, and PCR 4 holds EDK2's value, so we reproduce it.
//!
//! Hand-written for bit-exactness and speed: EDK2's end-of-image quirk above is reproduced, and every bank is
//! hashed in the same pass over the file through `yardstick_common::hash` (the `authenticode` crate hashes one
//! digest per pass through RustCrypto's traits); that crate is the differential oracle in this crate's tests.

use yardstick_common::hash::{Algorithm, Digest};

use crate::pe::{PeError, PeHeaders};

/// Authenticode digest of a whole PE file, EDK2 style.
pub fn authenticode_digest(data: &[u8], alg: Algorithm) -> Result<Digest, PeError> {
    let headers = PeHeaders::parse(data)?;
    authenticode_digest_with(data, &headers, alg)
}

/// Authenticode digests of one file in several algorithms (one pass over the headers, parallel hashing).
pub fn authenticode_digests(data: &[u8], algs: &[Algorithm]) -> Result<Vec<Digest>, PeError> {
    let headers = PeHeaders::parse(data)?;
    let ranges = hashed_ranges(data, &headers)?;
    Ok(algs
        .iter()
        .map(|&alg| {
            let mut h = alg.hasher();
            for r in &ranges {
                // Ranges were checked against the file length in `hashed_ranges`.
                if let Some(b) = data.get(r.clone()) {
                    h.update(b);
                }
            }
            h.finish()
        })
        .collect())
}

/// Authenticode digest with already-parsed headers.
pub fn authenticode_digest_with(
    data: &[u8],
    headers: &PeHeaders,
    alg: Algorithm,
) -> Result<Digest, PeError> {
    let mut h = alg.hasher();
    for r in hashed_ranges(data, headers)? {
        if let Some(b) = data.get(r) {
            h.update(b);
        }
    }
    Ok(h.finish())
}

/// The file ranges Authenticode hashes, in hashing order.
pub fn hashed_ranges(
    data: &[u8],
    headers: &PeHeaders,
) -> Result<Vec<std::ops::Range<usize>>, PeError> {
    let len = data.len();
    let soh = headers.size_of_headers as usize;
    let checksum = headers.checksum_offset();
    let mut ranges = Vec::with_capacity(headers.sections.len() + 4);
    ranges.push(0..checksum);
    match headers.security_dir_offset() {
        Some(sec) => {
            ranges.push(checksum + 4..sec);
            ranges.push(sec + 8..soh);
        }
        None => ranges.push(checksum + 4..soh),
    }
    let mut hashed = soh as u64;
    let mut sections: Vec<_> = headers
        .sections
        .iter()
        .filter(|s| s.size_of_raw_data != 0)
        .collect();
    // EDK2 sorts by PointerToRawData (stable insertion sort); ties keep table order.
    sections.sort_by_key(|s| s.pointer_to_raw_data);
    for s in sections {
        ranges.push(s.raw_range());
        hashed += s.size_of_raw_data as u64;
    }
    if (len as u64) > hashed {
        let cert_size = headers.security_dir().map(|d| d.size as u64).unwrap_or(0);
        if len as u64 > hashed + cert_size {
            ranges.push(hashed as usize..len - cert_size as usize);
        } else if (len as u64) < hashed + cert_size {
            return Err(PeError::Malformed(format!(
                "certificate table ({cert_size} bytes) does not fit after the {hashed} hashed bytes of a {len}-byte file"
            )));
        }
    }
    for r in &ranges {
        if r.start > r.end || r.end > len {
            return Err(PeError::Truncated {
                what: "Authenticode hashed range".into(),
                needed: r.end as u64,
                len: len as u64,
            });
        }
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pe::tests::tiny_pe;

    /// Trailing bytes after the last section are hashed from `SizeOfHeaders + Σ SizeOfRawData`; with a gap
    /// between headers and first section, that start lies *before* the end of the last section (EDK2 quirk).
    #[test]
    fn trailing_bytes_start_at_bytes_hashed_so_far() {
        let mut f = tiny_pe(&[(".a", 0x1000, 4, b"aaaa")]);
        // Move the section 0x200 further so that a gap exists, then append trailing bytes.
        let h = PeHeaders::parse(&f).unwrap();
        let off = h.sections[0].header_offset + 20;
        f[off..off + 4].copy_from_slice(&0x600u32.to_le_bytes());
        let sec = f[0x400..0x600].to_vec();
        f.resize(0x600, 0);
        f.extend_from_slice(&sec);
        f.extend_from_slice(b"TRAILER");
        let h = PeHeaders::parse(&f).unwrap();
        let r = hashed_ranges(&f, &h).unwrap();
        // headers (3 ranges), the section, then the tail from 0x400 + 0x200 = 0x600 to the end.
        assert_eq!(r.last().unwrap(), &(0x600..f.len()));
        let d = authenticode_digest(&f, Algorithm::Sha256).unwrap();
        let mut manual = Vec::new();
        for x in &r {
            manual.extend_from_slice(&f[x.clone()]);
        }
        assert_eq!(d, Algorithm::Sha256.digest(&manual));
    }
}
