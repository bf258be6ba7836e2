//! Where AMD's certificates for a report come from besides files named one by one: a directory as
//! `snpguest certificates` / `snpguest fetch` write it, and the certificate table the host hands the guest
//! with an extended report (`SNP_GET_EXT_REPORT`).
//!
//! The table is what the kernel's `sev-guest` driver returns in its certificate buffer (GHCB specification,
//! "SNP Extended Guest Request"): entries of a 16-byte GUID (RFC 4122 byte order, as its text reads), a
//! little-endian 32-bit offset from the start of the table and a 32-bit length, ended by an all-zero entry;
//! the certificates (DER) follow.
//!
//! ```
//! use yardstick_verify::snp::certs::{CertTable, VCEK_GUID};
//! let mut table = Vec::new();
//! table.extend(VCEK_GUID.as_bytes());
//! table.extend(48u32.to_le_bytes()); // the data after this entry and the terminator
//! table.extend(3u32.to_le_bytes());
//! table.extend([0; 24]);
//! table.extend(b"DER");
//! let t = CertTable::parse(&table).unwrap();
//! assert_eq!(t.vcek.as_deref(), Some(&b"DER"[..]));
//! assert!(t.ask.is_none());
//! ```

use std::path::{Path, PathBuf};

use yardstick_common::guid;
use yardstick_common::guid::Guid;

/// The ARK's entry in a certificate table.
pub const ARK_GUID: Guid = guid!("c0b406a4-a803-4952-9743-3fb6014cd0ae");
/// The ASK's (or, with a VLEK, the ASVK's) entry.
pub const ASK_GUID: Guid = guid!("4ab7b379-bbac-4fe4-a02f-05aef327c782");
/// The VCEK's entry.
pub const VCEK_GUID: Guid = guid!("63da758d-e664-4564-adc5-f4b93be8accd");
/// The VLEK's entry.
pub const VLEK_GUID: Guid = guid!("a8074bc2-a25a-483e-aae6-39c045a0b8a1");

/// Bytes of one table entry: GUID, offset, length.
const ENTRY_LEN: usize = 24;

/// An extended report's certificate table, by role. Entries of other GUIDs (a CRL, vendor data) are
/// listed in [`CertTable::other`] and not used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertTable {
    /// The VCEK, DER.
    pub vcek: Option<Vec<u8>>,
    /// The VLEK, DER.
    pub vlek: Option<Vec<u8>>,
    /// The ASK (the ASVK when the table holds a VLEK), DER.
    pub ask: Option<Vec<u8>>,
    /// The ARK, DER.
    pub ark: Option<Vec<u8>>,
    /// The GUIDs of the entries not used.
    pub other: Vec<Guid>,
}

/// A certificate table that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertTableError {
    /// The entries run to the end of the data without the all-zero entry that ends them.
    #[error(
        "not an SEV-SNP certificate table: no all-zero entry ends the {entries} entries in {len} bytes"
    )]
    Unterminated {
        /// The complete entries read.
        entries: usize,
        /// The table's size.
        len: usize,
    },
    /// An entry's certificate lies (partly) outside the table.
    #[error("entry {index} ({guid}): bytes {offset}..{end} lie outside the table's {len} bytes")]
    OutOfBounds {
        /// The entry's position, from 0.
        index: usize,
        /// Its GUID.
        guid: Guid,
        /// Where its certificate starts.
        offset: u32,
        /// Where it ends.
        end: u64,
        /// The table's size.
        len: usize,
    },
    /// Two entries for the same certificate.
    #[error("entry {index}: a second {what} entry ({guid})")]
    Duplicate {
        /// The second entry's position, from 0.
        index: usize,
        /// Which certificate (`VCEK`).
        what: &'static str,
        /// Its GUID.
        guid: Guid,
    },
}

impl CertTable {
    /// Parses a certificate table (the certificate buffer of `SNP_GET_EXT_REPORT`, from its start).
    pub fn parse(bytes: &[u8]) -> Result<CertTable, CertTableError> {
        let mut t = CertTable::default();
        for index in 0.. {
            let at = index * ENTRY_LEN;
            let Some(entry) = bytes.get(at..at + ENTRY_LEN) else {
                return Err(CertTableError::Unterminated {
                    entries: index,
                    len: bytes.len(),
                });
            };
            let (g, rest) = entry.split_at(16);
            let (off, len) = rest.split_at(4);
            let guid = Guid::from_bytes(g.try_into().unwrap_or_default());
            if guid == Guid::from_bytes([0; 16]) {
                break;
            }
            let offset = u32::from_le_bytes(off.try_into().unwrap_or_default());
            let length = u32::from_le_bytes(len.try_into().unwrap_or_default());
            let end = u64::from(offset) + u64::from(length);
            let data = usize::try_from(end)
                .ok()
                .and_then(|end| bytes.get(offset as usize..end))
                .ok_or(CertTableError::OutOfBounds {
                    index,
                    guid,
                    offset,
                    end,
                    len: bytes.len(),
                })?;
            let (slot, what) = match guid {
                g if g == VCEK_GUID => (&mut t.vcek, "VCEK"),
                g if g == VLEK_GUID => (&mut t.vlek, "VLEK"),
                g if g == ASK_GUID => (&mut t.ask, "ASK"),
                g if g == ARK_GUID => (&mut t.ark, "ARK"),
                g => {
                    t.other.push(g);
                    continue;
                }
            };
            if slot.is_some() {
                return Err(CertTableError::Duplicate { index, what, guid });
            }
            *slot = Some(data.to_vec());
        }
        Ok(t)
    }
}

/// The certificates found in a directory written by `snpguest` (`snpguest certificates pem|der DIR`,
/// `snpguest fetch ca|vcek pem|der DIR`): each as `<name>.pem`, else `<name>.der`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertDir {
    /// `vlek.*` if present (snpguest prefers it), else `vcek.*`.
    pub vek: Option<PathBuf>,
    /// `asvk.*` beside a VLEK, else `ask.*`.
    pub ask: Option<PathBuf>,
    /// `ark.*`.
    pub ark: Option<PathBuf>,
    /// `cert_chain.pem` (AMD KDS's ASK + ARK, in that order), when `ask.*` or `ark.*` is missing.
    pub cert_chain: Option<PathBuf>,
}

impl CertDir {
    /// Looks the files up in `dir` (which must be a readable directory).
    pub fn find(dir: &Path) -> std::io::Result<CertDir> {
        std::fs::read_dir(dir)?;
        let named = |name: &str| {
            ["pem", "der"]
                .iter()
                .map(|ext| dir.join(format!("{name}.{ext}")))
                .find(|p| p.is_file())
        };
        let vlek = named("vlek");
        let ask = if vlek.is_some() {
            named("asvk")
        } else {
            named("ask")
        };
        let ark = named("ark");
        let chain = dir.join("cert_chain.pem");
        Ok(CertDir {
            vek: vlek.or_else(|| named("vcek")),
            cert_chain: (chain.is_file() && (ask.is_none() || ark.is_none())).then_some(chain),
            ask,
            ark,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(guid: Guid, offset: u32, len: u32) -> Vec<u8> {
        let mut e = guid.as_bytes().to_vec();
        e.extend(offset.to_le_bytes());
        e.extend(len.to_le_bytes());
        e
    }

    #[test]
    fn table_entries_by_role() {
        let other = guid!("92f81bc3-5811-4d3d-97ff-d19f88dc67ea");
        let mut t = Vec::new();
        t.extend(entry(ARK_GUID, 120, 2));
        t.extend(entry(other, 122, 1));
        t.extend(entry(VLEK_GUID, 123, 3));
        t.extend(entry(ASK_GUID, 126, 1));
        t.extend([0; 24]);
        t.extend(b"ARCVLKA");
        let p = CertTable::parse(&t).unwrap();
        assert_eq!(p.ark.as_deref(), Some(&b"AR"[..]));
        assert_eq!(p.vlek.as_deref(), Some(&b"VLK"[..]));
        assert_eq!(p.ask.as_deref(), Some(&b"A"[..]));
        assert_eq!(p.vcek, None);
        assert_eq!(p.other, [other]);
    }

    #[test]
    fn hostile_tables_are_refused() {
        assert_eq!(
            CertTable::parse(&entry(VCEK_GUID, 0, 1)),
            Err(CertTableError::Unterminated {
                entries: 1,
                len: 24
            })
        );
        assert!(matches!(
            CertTable::parse(&[0; 10]),
            Err(CertTableError::Unterminated { entries: 0, .. })
        ));
        let mut t = entry(VCEK_GUID, u32::MAX, u32::MAX);
        t.extend([0; 24]);
        let e = CertTable::parse(&t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "entry 0 (63da758d-e664-4564-adc5-f4b93be8accd): bytes 4294967295..8589934590 lie outside the table's 48 bytes"
        );
        let mut t = entry(VCEK_GUID, 0, 1);
        t.extend(entry(VCEK_GUID, 0, 1));
        t.extend([0; 24]);
        assert!(matches!(
            CertTable::parse(&t),
            Err(CertTableError::Duplicate {
                index: 1,
                what: "VCEK",
                ..
            })
        ));
        // An empty table (the terminator only) is a table with nothing in it.
        assert_eq!(CertTable::parse(&[0; 24]), Ok(CertTable::default()));
    }

    #[test]
    fn directory_names_as_snpguest_writes_them() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n);
        std::fs::write(p("vcek.der"), b"").unwrap();
        std::fs::write(p("ask.pem"), b"").unwrap();
        std::fs::write(p("ask.der"), b"").unwrap();
        std::fs::write(p("cert_chain.pem"), b"").unwrap();
        let c = CertDir::find(d.path()).unwrap();
        assert_eq!(c.vek, Some(p("vcek.der")));
        assert_eq!(c.ask, Some(p("ask.pem")), "PEM first, as snpguest looks");
        assert_eq!(c.ark, None);
        assert_eq!(c.cert_chain, Some(p("cert_chain.pem")));
        std::fs::write(p("vlek.pem"), b"").unwrap();
        std::fs::write(p("asvk.der"), b"").unwrap();
        std::fs::write(p("ark.der"), b"").unwrap();
        let c = CertDir::find(d.path()).unwrap();
        assert_eq!(c.vek, Some(p("vlek.pem")));
        assert_eq!(c.ask, Some(p("asvk.der")));
        assert_eq!(c.ark, Some(p("ark.der")));
        assert_eq!(c.cert_chain, None, "not needed");
        assert!(CertDir::find(&p("missing")).is_err());
    }
}
