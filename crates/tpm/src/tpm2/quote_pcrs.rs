//! The PCR file `tpm2_quote -o FILE` writes, in its three `-F` formats (tpm2-tools `lib/pcr.c`):
//!
//! * `serialized` (the default): the in-memory C structs of the TSS headers, little-endian — a
//!   `TPML_PCR_SELECTION` (`u32` count + 16 × 8-byte `TPMS_PCR_SELECTION`: `u16` hash, `u8` size, 4 bitmap
//!   bytes, 1 pad byte = 132 bytes), a `u32` count, then that many `TPML_DIGEST` (`u32` count + 8 × 66-byte
//!   `TPM2B_DIGEST`: `u16` size + 64 bytes = 532 bytes);
//! * `marshaled` (tpm2-tools ≥ 5.6): the same three parts TPM-marshalled (big-endian, no padding);
//! * `values`: the bare digests back to back; the selection must come from the quote.
//!
//! Digests are listed bank by bank in selection order, PCRs ascending, as TPM2_PCR_Read returns them.

use yardstick_common::hash::Digest;

use super::Tpm2Error;
use super::reader::Reader;
use super::selection::{MAX_BANKS, MAX_SELECT_BYTES, PcrSelection};
use crate::PcrBanks;

const SER_SELECTION: usize = 4 + MAX_BANKS * 8;
const SER_DIGEST_LIST: usize = 4 + 8 * 66;
/// `TPML_DIGEST` holds at most 8 digests.
const MAX_DIGESTS_PER_LIST: usize = 8;

/// Which `-F` format a PCR file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `-F serialized` (default).
    Serialized,
    /// `-F marshaled`.
    Marshaled,
    /// `-F values`.
    Values,
}

/// PCR values from a `tpm2_quote -o` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotePcrs {
    /// The selection recorded in the file (for `values`, the quote's).
    pub selection: PcrSelection,
    /// The values.
    pub values: PcrBanks,
    /// The detected format.
    pub format: Format,
}

impl QuotePcrs {
    /// Parses a PCR file. `quote_selection` (from the quote) is needed only for the `values` format.
    pub fn parse(
        bytes: &[u8],
        quote_selection: Option<&PcrSelection>,
    ) -> Result<QuotePcrs, Tpm2Error> {
        if let Some(p) = parse_serialized(bytes)? {
            return Ok(p);
        }
        if let Ok(p) = parse_marshaled(bytes) {
            return Ok(p);
        }
        if let Some(sel) = quote_selection {
            let wanted = sel
                .selected()?
                .iter()
                .map(|(a, _)| a.digest_len())
                .sum::<usize>();
            if wanted == bytes.len() {
                let digests = split_values(sel, bytes)?;
                return assign(sel.clone(), digests, Format::Values);
            }
        }
        Err(Tpm2Error::Invalid(format!(
            "{} bytes is not a tpm2_quote -o PCR file (serialized, marshaled, or values for the quoted selection)",
            bytes.len()
        )))
    }
}

use yardstick_common::bytes::{le16, le32};

/// `Ok(None)` when the size does not fit the serialized layout at all (so another format may apply).
fn parse_serialized(b: &[u8]) -> Result<Option<QuotePcrs>, Tpm2Error> {
    if b.len() < SER_SELECTION + 4 || !(b.len() - SER_SELECTION - 4).is_multiple_of(SER_DIGEST_LIST)
    {
        return Ok(None);
    }
    let count = le32(b, 0).unwrap_or(u32::MAX) as usize;
    if count > MAX_BANKS {
        return Ok(None);
    }
    let mut banks = Vec::with_capacity(count);
    for i in 0..count {
        let at = 4 + i * 8;
        let hash = le16(b, at).unwrap_or(0);
        let size = usize::from(b.get(at + 2).copied().unwrap_or(0));
        if size > MAX_SELECT_BYTES {
            return Err(Tpm2Error::TooLarge {
                what: "TPMS_PCR_SELECTION.sizeofSelect",
                size,
                max: MAX_SELECT_BYTES,
            });
        }
        let select = b.get(at + 3..at + 3 + size).unwrap_or_default().to_vec();
        banks.push((hash, select));
    }
    let selection = selection_from(banks);
    let lists = le32(b, SER_SELECTION).unwrap_or(0) as usize;
    let present = (b.len() - SER_SELECTION - 4) / SER_DIGEST_LIST;
    if lists != present {
        return Err(Tpm2Error::Invalid(format!(
            "PCR file says {lists} digest lists but holds {present}"
        )));
    }
    let mut digests = Vec::new();
    for l in 0..lists {
        let at = SER_SELECTION + 4 + l * SER_DIGEST_LIST;
        let n = le32(b, at).unwrap_or(0) as usize;
        if n > MAX_DIGESTS_PER_LIST {
            return Err(Tpm2Error::TooLarge {
                what: "TPML_DIGEST.count",
                size: n,
                max: MAX_DIGESTS_PER_LIST,
            });
        }
        for d in 0..n {
            let dat = at + 4 + d * 66;
            let size = usize::from(le16(b, dat).unwrap_or(0));
            if size > 64 {
                return Err(Tpm2Error::TooLarge {
                    what: "TPM2B_DIGEST.size",
                    size,
                    max: 64,
                });
            }
            digests.push(b.get(dat + 2..dat + 2 + size).unwrap_or_default().to_vec());
        }
    }
    assign(selection, digests, Format::Serialized).map(Some)
}

fn parse_marshaled(b: &[u8]) -> Result<QuotePcrs, Tpm2Error> {
    let mut r = Reader::new(b);
    let selection = PcrSelection::read(&mut r)?;
    let lists = r.u32("PCR file digest list count")? as usize;
    // Each list takes at least 4 bytes, which bounds an absurd count before any allocation.
    if lists > r.remaining() / 4 {
        return Err(Tpm2Error::TooLarge {
            what: "PCR file digest list count",
            size: lists,
            max: r.remaining() / 4,
        });
    }
    let mut digests = Vec::new();
    for _ in 0..lists {
        let n = r.u32("TPML_DIGEST.count")? as usize;
        if n > MAX_DIGESTS_PER_LIST {
            return Err(Tpm2Error::TooLarge {
                what: "TPML_DIGEST.count",
                size: n,
                max: MAX_DIGESTS_PER_LIST,
            });
        }
        for _ in 0..n {
            digests.push(r.tpm2b("TPM2B_DIGEST", 64)?.to_vec());
        }
    }
    r.finish()?;
    assign(selection, digests, Format::Marshaled)
}

fn selection_from(banks: Vec<(u16, Vec<u8>)>) -> PcrSelection {
    let mut bytes = (banks.len() as u32).to_be_bytes().to_vec();
    for (hash, select) in banks {
        bytes.extend(hash.to_be_bytes());
        bytes.push(select.len() as u8);
        bytes.extend(select);
    }
    // Built from validated parts, so this parse cannot fail; fall back to empty defensively.
    PcrSelection::parse(&bytes).unwrap_or_default()
}

fn split_values(sel: &PcrSelection, bytes: &[u8]) -> Result<Vec<Vec<u8>>, Tpm2Error> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    for (a, _) in sel.selected()? {
        out.push(r.bytes(a.digest_len(), "PCR value")?.to_vec());
    }
    r.finish()?;
    Ok(out)
}

fn assign(
    selection: PcrSelection,
    digests: Vec<Vec<u8>>,
    format: Format,
) -> Result<QuotePcrs, Tpm2Error> {
    let selected = selection.selected()?;
    if selected.len() != digests.len() {
        return Err(Tpm2Error::Invalid(format!(
            "PCR file selects {} PCRs ({selection}) but holds {} values",
            selected.len(),
            digests.len()
        )));
    }
    let mut values = PcrBanks::new();
    for ((a, pcr), d) in selected.into_iter().zip(digests) {
        let digest = Digest::from_bytes(a, &d).ok_or_else(|| {
            Tpm2Error::Invalid(format!(
                "PCR {pcr} of bank {a} is {} bytes, expected {}",
                d.len(),
                a.digest_len()
            ))
        })?;
        values.set(pcr, digest);
    }
    Ok(QuotePcrs {
        selection,
        values,
        format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yardstick_common::hash::Algorithm;

    /// Builds a serialized file the way tpm2-tools lays out the C structs.
    fn serialized(hash: u16, select: [u8; 3], values: &[[u8; 32]]) -> Vec<u8> {
        let mut b = vec![0u8; SER_SELECTION];
        b[0] = 1;
        b[4..6].copy_from_slice(&hash.to_le_bytes());
        b[6] = 3;
        b[7..10].copy_from_slice(&select);
        let lists: Vec<&[[u8; 32]]> = values.chunks(8).collect();
        b.extend((lists.len() as u32).to_le_bytes());
        for l in lists {
            let mut list = vec![0u8; SER_DIGEST_LIST];
            list[..4].copy_from_slice(&(l.len() as u32).to_le_bytes());
            for (i, v) in l.iter().enumerate() {
                list[4 + i * 66..6 + i * 66].copy_from_slice(&32u16.to_le_bytes());
                list[6 + i * 66..38 + i * 66].copy_from_slice(v);
            }
            b.extend(list);
        }
        b
    }

    #[test]
    fn serialized_with_two_lists() {
        let vals: Vec<[u8; 32]> = (0..10u8).map(|i| [i; 32]).collect();
        // PCRs 0-7 and 16, 17: ten values, two TPML_DIGESTs.
        let b = serialized(0x000b, [0xff, 0, 0x03], &vals);
        assert_eq!(b.len(), 132 + 4 + 2 * 532);
        let p = QuotePcrs::parse(&b, None).unwrap();
        assert_eq!(p.format, Format::Serialized);
        assert_eq!(p.selection.to_string(), "sha256:0,1,2,3,4,5,6,7,16,17");
        assert_eq!(
            p.values.get(Algorithm::Sha256, 17).unwrap().as_ref(),
            &[9u8; 32]
        );
        // Fewer values than selected PCRs is an error.
        let b = serialized(0x000b, [0xff, 0, 0x07], &vals);
        assert!(QuotePcrs::parse(&b, None).is_err());
    }

    #[test]
    fn values_need_the_quote_selection() {
        let sel = PcrSelection::new(&[(Algorithm::Sha256, &[0, 7])]);
        let mut b = vec![1u8; 32];
        b.extend([7u8; 32]);
        assert!(QuotePcrs::parse(&b, None).is_err());
        let p = QuotePcrs::parse(&b, Some(&sel)).unwrap();
        assert_eq!(p.format, Format::Values);
        assert_eq!(
            p.values.get(Algorithm::Sha256, 7).unwrap().as_ref(),
            &[7u8; 32]
        );
    }

    #[test]
    fn marshaled() {
        let mut b = vec![0, 0, 0, 1, 0x00, 0x0b, 3, 0x81, 0, 0];
        b.extend([0, 0, 0, 1, 0, 0, 0, 2]);
        for v in [3u8, 4] {
            b.extend([0, 32]);
            b.extend([v; 32]);
        }
        let p = QuotePcrs::parse(&b, None).unwrap();
        assert_eq!(p.format, Format::Marshaled);
        assert_eq!(
            p.values.get(Algorithm::Sha256, 7).unwrap().as_ref(),
            &[4u8; 32]
        );
        assert!(QuotePcrs::parse(&b[..b.len() - 1], None).is_err());
    }
}
