//! The SEV hashes table: how QEMU measures a directly booted kernel, initrd and cmdline.
//!
//! With `-kernel`, QEMU (`target/i386/sev.c`, `sev_add_kernel_loader_hashes`) writes a table of SHA-256 hashes
//! into the firmware's hashes-table area and OVMF (`OvmfPkg/AmdSev/BlobVerifierLibSevHashes`) refuses blobs
//! that do not match it. The table is part of the launch measurement:
//!
//! ```text
//!   GUID 9438d606-... | u16 168 | cmdline entry | initrd entry | kernel entry | 8 zero bytes of padding
//!   entry = GUID | u16 50 | SHA-256
//! ```
//!
//! The cmdline hash covers the text and its terminating NUL (no cmdline hashes a lone NUL); a missing initrd
//! hashes as empty input; the kernel is hashed as the raw file.

use std::path::{Path, PathBuf};

use yardstick_common::fs::InputKind;
use yardstick_common::guid;
use yardstick_common::hash::Algorithm;
use yardstick_common::progress::Progress;

use crate::ovmf::Guid;

/// A SHA-256 value.
pub type Sha256 = [u8; 32];

const TABLE_HEADER_GUID: Guid = guid!("9438d606-4f22-4cc9-b479-a793d411fd21");
const KERNEL_ENTRY_GUID: Guid = guid!("4de79437-abd2-427f-b835-d5b172d2045b");
const INITRD_ENTRY_GUID: Guid = guid!("44baf731-3a2f-4bd7-9af1-41e29169781d");
const CMDLINE_ENTRY_GUID: Guid = guid!("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");

const ENTRY_LEN: usize = 16 + 2 + 32;
const TABLE_LEN: usize = 16 + 2 + 3 * ENTRY_LEN;

/// Length of the table as QEMU writes it: 168 bytes padded to a multiple of 16.
pub const PADDED_TABLE_LEN: usize = (TABLE_LEN + 15) & !15;

const PAGE: usize = 4096;

/// The table does not fit in the page at the offset the firmware gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the SEV hashes table ({PADDED_TABLE_LEN} bytes) at offset {0:#x} does not fit in its 4 KiB page"
)]
pub struct TableCrossesPage(pub usize);

/// Where a kernel or initrd hash comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blob {
    /// Hash this file.
    File(PathBuf),
    /// Use this SHA-256, computed elsewhere.
    Sha256(Sha256),
}

/// The three hashes of a direct kernel boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SevHashes {
    /// SHA-256 of the kernel file.
    pub kernel: Sha256,
    /// SHA-256 of the initrd (of empty input when there is none).
    pub initrd: Sha256,
    /// SHA-256 of the cmdline bytes and a terminating NUL.
    pub cmdline: Sha256,
}

/// A file that could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot read {what}", path.display())]
pub struct ReadError {
    /// "kernel" or "initrd".
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

impl SevHashes {
    /// The hash of the cmdline as QEMU measures it: the bytes followed by a NUL (an absent or empty cmdline is
    /// a lone NUL).
    pub fn cmdline_hash(cmdline: Option<&[u8]>) -> Sha256 {
        sha256_parts(&[cmdline.unwrap_or_default(), b"\0"])
    }

    /// The hash QEMU uses when there is no initrd: SHA-256 of empty input.
    pub fn no_initrd_hash() -> Sha256 {
        sha256_parts(&[])
    }

    /// Computes the hashes, reading kernel and initrd files in parallel (they are independent and each is a
    /// single sequential SHA-256 stream).
    pub fn compute(
        kernel: &Blob,
        initrd: Option<&Blob>,
        cmdline: Option<&[u8]>,
        progress: &dyn Progress,
    ) -> Result<SevHashes, ReadError> {
        let cmdline = SevHashes::cmdline_hash(cmdline);
        let (kernel, initrd) = std::thread::scope(|s| {
            let initrd_job = match initrd {
                Some(Blob::File(p)) => Some(s.spawn(move || hash_file("initrd", p, progress))),
                _ => None,
            };
            let kernel = resolve("kernel", kernel, progress);
            let initrd = match (initrd, initrd_job) {
                (_, Some(job)) => job.join().unwrap_or_else(|_| {
                    Err(ReadError {
                        what: "initrd",
                        path: PathBuf::new(),
                        source: std::io::Error::other("hashing thread failed"),
                    })
                }),
                (Some(b), None) => resolve("initrd", b, progress),
                (None, None) => Ok(SevHashes::no_initrd_hash()),
            };
            (kernel, initrd)
        });
        Ok(SevHashes {
            kernel: kernel?,
            initrd: initrd?,
            cmdline,
        })
    }

    /// The padded table, as QEMU writes it into guest memory.
    pub fn table(&self) -> [u8; PADDED_TABLE_LEN] {
        let mut t = [0u8; PADDED_TABLE_LEN];
        let mut w = Writer { buf: &mut t, at: 0 };
        w.put(&TABLE_HEADER_GUID.to_efi_bytes());
        w.put(&(TABLE_LEN as u16).to_le_bytes());
        for (guid, hash) in [
            (CMDLINE_ENTRY_GUID, &self.cmdline),
            (INITRD_ENTRY_GUID, &self.initrd),
            (KERNEL_ENTRY_GUID, &self.kernel),
        ] {
            w.put(&guid.to_efi_bytes());
            w.put(&(ENTRY_LEN as u16).to_le_bytes());
            w.put(hash);
        }
        t
    }

    /// The page QEMU measures for SEV-SNP: zeros, with the table at `offset` (the table gpa's offset within its
    /// page).
    pub fn page(&self, offset: usize) -> Result<Box<[u8; PAGE]>, TableCrossesPage> {
        let mut page = Box::new([0u8; PAGE]);
        let dst = offset
            .checked_add(PADDED_TABLE_LEN)
            .and_then(|end| page.get_mut(offset..end))
            .ok_or(TableCrossesPage(offset))?;
        dst.copy_from_slice(&self.table());
        Ok(page)
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.at..self.at + b.len()) {
            dst.copy_from_slice(b);
        }
        self.at += b.len();
    }
}

/// The SHA-256 of a blob: hashes the file, or returns the given value.
pub(crate) fn resolve(
    what: &'static str,
    blob: &Blob,
    progress: &dyn Progress,
) -> Result<Sha256, ReadError> {
    match blob {
        Blob::File(p) => hash_file(what, p, progress),
        Blob::Sha256(h) => Ok(*h),
    }
}

fn hash_file(
    what: &'static str,
    path: &Path,
    progress: &dyn Progress,
) -> Result<Sha256, ReadError> {
    let kind = match what {
        "kernel" => InputKind::KERNEL,
        _ => InputKind::INITRD,
    };
    let d =
        crate::stream::digest_file(Algorithm::Sha256, path, kind, progress).map_err(|source| {
            ReadError {
                what,
                path: path.to_path_buf(),
                source,
            }
        })?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&d);
    Ok(out)
}

fn sha256_parts(parts: &[&[u8]]) -> Sha256 {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Algorithm::Sha256.digest_parts(parts));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_layout() {
        let h = SevHashes {
            kernel: [3; 32],
            initrd: [2; 32],
            cmdline: [1; 32],
        };
        let t = h.table();
        assert_eq!(PADDED_TABLE_LEN, 176);
        // Header GUID 9438d606-4f22-4cc9-b479-a793d411fd21 in EFI byte order, then length 168.
        assert_eq!(&t[..4], &[0x06, 0xd6, 0x38, 0x94]);
        assert_eq!(&t[16..18], &[168, 0]);
        // cmdline entry first: GUID 97d02dd8-..., length 50, hash.
        assert_eq!(&t[18..22], &[0xd8, 0x2d, 0xd0, 0x97]);
        assert_eq!(&t[34..36], &[50, 0]);
        assert_eq!(&t[36..68], &[1; 32]);
        assert_eq!(&t[68 + 18..68 + 50], &[2; 32]);
        assert_eq!(&t[118 + 18..118 + 50], &[3; 32]);
        assert_eq!(&t[168..], &[0; 8]);
        let p = h.page(0xc00).unwrap();
        assert_eq!(&p[0xc00..0xc00 + 176], &t[..]);
        assert!(p[..0xc00].iter().all(|&b| b == 0));
        assert_eq!(h.page(4000).unwrap_err(), TableCrossesPage(4000));
    }

    /// `sha256sum` of a lone NUL byte and of empty input (coreutils).
    #[test]
    fn empty_inputs() {
        assert_eq!(
            yardstick_common::hex::encode(&SevHashes::cmdline_hash(None)),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            SevHashes::cmdline_hash(Some(b"")),
            SevHashes::cmdline_hash(None)
        );
        assert_eq!(
            yardstick_common::hex::encode(&SevHashes::no_initrd_hash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
