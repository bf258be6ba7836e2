//! MRTD: the TDX module's measurement of the pages the VMM adds before the TD runs.
//!
//! MRTD is one SHA-384 over a stream of 128-byte records the TDX module appends as the VMM issues its calls:
//!
//! * `TDH.MEM.PAGE.ADD` of a page: the ASCII `"MEM.PAGE.ADD"`, zero-padded, with the page's guest-physical
//!   address as a `u64` at offset 16 (its contents are not measured);
//! * `TDH.MR.EXTEND` of a 256-byte chunk: `"MR.EXTEND"` with the chunk's address at offset 16, followed by
//!   the chunk's 256 bytes (16 chunks per page).
//!
//! Every page of every section is added except those of `PAGE.AUG` sections; the pages of `MR.EXTEND` sections
//! are also extended, with the section's raw bytes from the image followed by zeros up to its memory size.
//! Sections are processed in descriptor order. Within a section, VMMs differ (both occur in the field):
//! [`PageOrder::SinglePass`] extends each page right after adding it (upstream KVM and QEMU ≥ 9, which add
//! and measure page by page), [`PageOrder::TwoPass`] adds all pages of a section and then extends them (the
//! order of older TDX QEMU/KVM trees, e.g. QEMU 8.2 hosts).

use std::fmt;
use std::str::FromStr;

use yardstick_common::hash::{Algorithm, Digest, Hasher};

use crate::tdvf::{PAGE_SIZE, Section, TdvfMetadata};

/// Bytes measured per `TDH.MR.EXTEND`.
pub const EXTEND_CHUNK: usize = 256;
/// Length of one MRTD record header.
const RECORD_LEN: usize = 128;

/// The order in which the VMM issues page adds and extends within a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageOrder {
    /// Add a page, then extend it, page by page (upstream KVM/QEMU ≥ 9). The default.
    #[default]
    SinglePass,
    /// Add every page of a section, then extend them all (older TDX QEMU/KVM trees, e.g. QEMU 8.2 hosts).
    TwoPass,
}

impl PageOrder {
    /// The command-line and manifest spelling.
    pub const fn name(self) -> &'static str {
        match self {
            PageOrder::SinglePass => "single-pass",
            PageOrder::TwoPass => "two-pass",
        }
    }
}

impl fmt::Display for PageOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The page order was not one of the known spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown page order {0:?} (expected single-pass or two-pass)")]
pub struct UnknownPageOrder(pub String);

impl FromStr for PageOrder {
    type Err = UnknownPageOrder;
    fn from_str(s: &str) -> Result<PageOrder, UnknownPageOrder> {
        match s {
            "single-pass" => Ok(PageOrder::SinglePass),
            "two-pass" => Ok(PageOrder::TwoPass),
            other => Err(UnknownPageOrder(other.to_string())),
        }
    }
}

fn record(h: &mut Hasher, op: &[u8], gpa: u64) {
    let mut r = [0u8; RECORD_LEN];
    for (d, s) in r.iter_mut().zip(op) {
        *d = *s;
    }
    for (d, s) in r.iter_mut().skip(16).zip(gpa.to_le_bytes()) {
        *d = s;
    }
    h.update(&r);
}

/// The bytes of page `page` of a section: raw data from the image, zeros beyond it. `image` was checked
/// against the section by [`TdvfMetadata::parse`]; a range outside it reads as zeros.
fn page_bytes(image: &[u8], s: &Section, page: u64) -> [u8; PAGE_SIZE as usize] {
    let mut buf = [0u8; PAGE_SIZE as usize];
    let start = page * PAGE_SIZE;
    let raw = u64::from(s.raw_size);
    if start < raw {
        let n = (raw - start).min(PAGE_SIZE) as usize;
        let from = s.data_offset as usize + start as usize;
        if let (Some(src), Some(dst)) = (image.get(from..from + n), buf.get_mut(..n)) {
            dst.copy_from_slice(src);
        }
    }
    buf
}

fn add(h: &mut Hasher, s: &Section, page: u64) {
    if !s.page_aug() {
        record(h, b"MEM.PAGE.ADD", s.gpa + page * PAGE_SIZE);
    }
}

fn extend(h: &mut Hasher, image: &[u8], s: &Section, page: u64) {
    if !s.mr_extend() {
        return;
    }
    let bytes = page_bytes(image, s, page);
    for (i, chunk) in bytes.chunks(EXTEND_CHUNK).enumerate() {
        record(
            h,
            b"MR.EXTEND",
            s.gpa + page * PAGE_SIZE + (i * EXTEND_CHUNK) as u64,
        );
        h.update(chunk);
    }
}

/// MRTD of a firmware image whose TDX metadata is `meta`, for a VMM issuing pages in `order`.
pub fn mrtd(image: &[u8], meta: &TdvfMetadata, order: PageOrder) -> Digest {
    let mut h = Algorithm::Sha384.hasher();
    // PAGE.AUG sections are neither added nor extended before launch.
    for s in meta.sections.iter().filter(|s| !s.page_aug()) {
        match order {
            PageOrder::SinglePass => {
                for page in 0..s.pages() {
                    add(&mut h, s, page);
                    extend(&mut h, image, s, page);
                }
            }
            PageOrder::TwoPass => {
                for page in 0..s.pages() {
                    add(&mut h, s, page);
                }
                for page in 0..s.pages() {
                    extend(&mut h, image, s, page);
                }
            }
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tdvf::tests::synthetic;

    /// The record stream written out by hand for a one-page measured section and a one-page added section.
    #[test]
    fn record_layout_by_hand() {
        let img = synthetic(
            0x1000,
            &[
                [0, 0x1000, 0xffff_f000, 0x1000, 0, 1],
                [0, 0, 0x80_0000, 0x1000, 3, 0],
            ],
        );
        let meta = TdvfMetadata::parse(&img).unwrap();
        let mut stream = Vec::new();
        let rec = |op: &[u8], gpa: u64| {
            let mut r = vec![0u8; 128];
            r[..op.len()].copy_from_slice(op);
            r[16..24].copy_from_slice(&gpa.to_le_bytes());
            r
        };
        stream.extend(rec(b"MEM.PAGE.ADD", 0xffff_f000));
        for i in 0..16u64 {
            stream.extend(rec(b"MR.EXTEND", 0xffff_f000 + i * 256));
            stream.extend_from_slice(&img[(i * 256) as usize..(i * 256 + 256) as usize]);
        }
        stream.extend(rec(b"MEM.PAGE.ADD", 0x80_0000));
        let want = Algorithm::Sha384.digest(&stream);
        assert_eq!(mrtd(&img, &meta, PageOrder::SinglePass), want);
        // One page per section: both orders give the same stream.
        assert_eq!(mrtd(&img, &meta, PageOrder::TwoPass), want);
    }

    #[test]
    fn orders_differ_for_multi_page_sections_and_raw_is_zero_padded() {
        let img = synthetic(0x2000, &[[0, 0x1800, 0xffff_e000, 0x2000, 0, 1]]);
        let meta = TdvfMetadata::parse(&img).unwrap();
        assert_ne!(
            mrtd(&img, &meta, PageOrder::SinglePass),
            mrtd(&img, &meta, PageOrder::TwoPass)
        );
        let p = page_bytes(&img, &meta.sections[0], 1);
        assert_eq!(&p[..0x800], &img[0x1000..0x1800]);
        assert!(p[0x800..].iter().all(|&b| b == 0));
    }

    #[test]
    fn page_aug_sections_are_not_measured() {
        let a = synthetic(0x1000, &[[0, 0, 0x80_0000, 0x1000, 3, 0]]);
        let b = synthetic(
            0x1000,
            &[
                [0, 0, 0x80_0000, 0x1000, 3, 0],
                [0, 0, 0x100_0000, 0x4000, 4, 2],
            ],
        );
        let ma = TdvfMetadata::parse(&a).unwrap();
        let mb = TdvfMetadata::parse(&b).unwrap();
        assert_eq!(
            mrtd(&a, &ma, PageOrder::SinglePass),
            mrtd(&b, &mb, PageOrder::SinglePass)
        );
    }

    #[test]
    fn order_names_round_trip() {
        for o in [PageOrder::SinglePass, PageOrder::TwoPass] {
            assert_eq!(o.name().parse::<PageOrder>().unwrap(), o);
        }
        assert!("both".parse::<PageOrder>().is_err());
    }
}
