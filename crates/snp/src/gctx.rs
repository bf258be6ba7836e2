//! The SEV-SNP launch digest context: one method per page type the PSP measures.
//!
//! Every `SNP_LAUNCH_UPDATE` extends the launch digest `LD` with the SHA-384 of a `PAGE_INFO` structure (SEV-SNP
//! ABI specification, "PAGE_INFO structure"): the current `LD`, the page's contents hash, the structure length
//! (0x70), the page type, the IMI flag and VMPL permissions (all zero for launch), and the page's gpa.

use yardstick_common::hash::Algorithm;

/// Length of the launch digest (SHA-384).
pub const LD_LEN: usize = 48;

/// The launch digest.
pub type LaunchDigest = [u8; LD_LEN];

/// The gpa the PSP records for VMSA pages: the RMP entry holds (u64)-1, page-aligned with bits above 51 clear.
pub const VMSA_GPA: u64 = 0xFFFF_FFFF_F000;

const PAGE: usize = 4096;
const PAGE_INFO_LEN: usize = 0x70;

/// The `PAGE_TYPE` field of `PAGE_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PageType {
    /// Measured contents.
    Normal = 1,
    /// A VMSA (initial vCPU register state).
    Vmsa = 2,
    /// A zero page, validated by the PSP; contents hash is zero.
    Zero = 3,
    /// An unmeasured page; contents hash is zero.
    Unmeasured = 4,
    /// The secrets page, filled by the PSP; contents hash is zero.
    Secrets = 5,
    /// The CPUID page, checked by the PSP; contents hash is zero.
    Cpuid = 6,
}

/// A data length that is not a whole number of 4 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} bytes is not a whole number of 4 KiB pages")]
pub struct NotPageMultiple(pub u64);

/// The guest context: the running launch digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gctx {
    ld: LaunchDigest,
}

impl Default for Gctx {
    fn default() -> Self {
        Gctx::new()
    }
}

impl Gctx {
    /// A fresh context: the launch digest starts as 48 zero bytes.
    pub fn new() -> Gctx {
        Gctx { ld: [0; LD_LEN] }
    }

    /// A context resumed from a digest computed earlier, e.g. the SNP OVMF hash (`--snp-ovmf-hash`).
    pub fn with_seed(ld: LaunchDigest) -> Gctx {
        Gctx { ld }
    }

    /// The current launch digest.
    pub fn ld(&self) -> LaunchDigest {
        self.ld
    }

    /// Extends the digest with one `PAGE_INFO`.
    pub fn update(&mut self, page_type: PageType, gpa: u64, contents: &[u8; LD_LEN]) {
        let mut info = [0u8; PAGE_INFO_LEN];
        info[..48].copy_from_slice(&self.ld);
        info[48..96].copy_from_slice(contents);
        info[96..98].copy_from_slice(&(PAGE_INFO_LEN as u16).to_le_bytes());
        info[98] = page_type as u8;
        // 99: IMI_PAGE, 100..103: VMPL3/2/1 permissions, 103: reserved. All zero at launch.
        info[104..112].copy_from_slice(&gpa.to_le_bytes());
        let d = Algorithm::Sha384.digest(&info);
        self.ld.copy_from_slice(&d);
    }

    /// One measured page whose contents hash (SHA-384 of the 4 KiB) is already known.
    pub fn update_normal_page_hash(&mut self, gpa: u64, contents_hash: &[u8; LD_LEN]) {
        self.update(PageType::Normal, gpa, contents_hash);
    }

    /// Measured pages: `data` placed at `gpa`, one `PAGE_INFO` per 4 KiB.
    pub fn update_normal_pages(&mut self, gpa: u64, data: &[u8]) -> Result<(), NotPageMultiple> {
        if !data.len().is_multiple_of(PAGE) {
            return Err(NotPageMultiple(data.len() as u64));
        }
        for (i, page) in data.chunks_exact(PAGE).enumerate() {
            let h = sha384(page);
            self.update(PageType::Normal, gpa.wrapping_add((i * PAGE) as u64), &h);
        }
        Ok(())
    }

    /// One VMSA page; the PSP records it at [`VMSA_GPA`].
    pub fn update_vmsa_page(&mut self, page: &[u8; PAGE]) {
        self.update_vmsa_page_hash(&sha384(page));
    }

    /// One VMSA page whose SHA-384 is already known (the same AP VMSA repeats for every AP).
    pub fn update_vmsa_page_hash(&mut self, contents_hash: &[u8; LD_LEN]) {
        self.update(PageType::Vmsa, VMSA_GPA, contents_hash);
    }

    /// Zero pages covering `len` bytes from `gpa`.
    pub fn update_zero_pages(&mut self, gpa: u64, len: u64) -> Result<(), NotPageMultiple> {
        self.repeat(PageType::Zero, gpa, len)
    }

    /// Unmeasured pages covering `len` bytes from `gpa`.
    pub fn update_unmeasured_pages(&mut self, gpa: u64, len: u64) -> Result<(), NotPageMultiple> {
        self.repeat(PageType::Unmeasured, gpa, len)
    }

    /// The secrets page.
    pub fn update_secrets_page(&mut self, gpa: u64) {
        self.update(PageType::Secrets, gpa, &[0; LD_LEN]);
    }

    /// The CPUID page.
    pub fn update_cpuid_page(&mut self, gpa: u64) {
        self.update(PageType::Cpuid, gpa, &[0; LD_LEN]);
    }

    fn repeat(&mut self, t: PageType, gpa: u64, len: u64) -> Result<(), NotPageMultiple> {
        if !len.is_multiple_of(PAGE as u64) {
            return Err(NotPageMultiple(len));
        }
        for i in 0..len / PAGE as u64 {
            self.update(t, gpa.wrapping_add(i * PAGE as u64), &[0; LD_LEN]);
        }
        Ok(())
    }
}

/// SHA-384 of a buffer as an array.
pub(crate) fn sha384(data: &[u8]) -> [u8; LD_LEN] {
    let mut out = [0u8; LD_LEN];
    out.copy_from_slice(&Algorithm::Sha384.digest(data));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PAGE_INFO assembled field by field, independently of `update`, following the ABI table.
    #[test]
    fn page_info_layout() {
        let mut g = Gctx::with_seed([7; 48]);
        let contents = [9u8; 48];
        g.update(PageType::Secrets, 0x80d000, &contents);
        let mut info = Vec::new();
        info.extend_from_slice(&[7; 48]);
        info.extend_from_slice(&contents);
        info.extend_from_slice(&[0x70, 0x00, 0x05, 0, 0, 0, 0, 0]);
        info.extend_from_slice(&0x80d000u64.to_le_bytes());
        assert_eq!(info.len(), 0x70);
        assert_eq!(g.ld(), sha384(&info));
    }

    #[test]
    fn rejects_partial_pages() {
        let mut g = Gctx::new();
        assert_eq!(
            g.update_normal_pages(0, &[0; 100]),
            Err(NotPageMultiple(100))
        );
        assert_eq!(g.update_zero_pages(0, 4097), Err(NotPageMultiple(4097)));
        assert_eq!(g.ld(), [0; 48]);
    }
}
