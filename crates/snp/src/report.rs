//! The SEV-SNP `ATTESTATION_REPORT` (AMD SEV-SNP Firmware ABI Specification #56860, "ATTESTATION_REPORT
//! Structure"): 0x4A0 bytes, signed over bytes 0..0x2A0 with ECDSA P-384/SHA-384 by the VCEK (or VLEK).
//!
//! Versions: 2 (ABI 1.55), 3 (1.56: CPUID family/model/stepping at 0x188), 4 (seen from firmware 1.55.31 on
//! Milan; AMD has not published it and its layout is that of 3), 5 (1.58: LAUNCH_MIT_VECTOR and
//! CURRENT_MIT_VECTOR at 0x1F8/0x200). TCB_VERSION fields are laid out per product: Milan/Genoa
//! `[bl, tee, 0, 0, 0, 0, snp, ucode]`, Turin and later `[fmc, bl, tee, snp, 0, 0, 0, ucode]`.
//!
//! This module is the format only: parsing, the fields, the policy bits, the TCB and signature layouts. Checking
//! a report (AMD's certificate chain, the signature, the policy a relying party requires) is
//! `yardstick-verify`'s.

/// An AMD EPYC generation with SEV-SNP: it decides the TCB_VERSION layout (and, for a verifier, the root key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Product {
    /// 3rd generation EPYC (family 19h, models 00h-0Fh).
    Milan,
    /// 4th generation EPYC (family 19h, models 10h-1Fh, A0h-AFh).
    Genoa,
    /// 5th generation EPYC (family 1Ah, models 00h-11h).
    Turin,
}

impl Product {
    /// Every product, oldest first.
    pub const ALL: [Product; 3] = [Product::Milan, Product::Genoa, Product::Turin];

    /// The name AMD's KDS uses (`Milan`).
    pub fn name(self) -> &'static str {
        match self {
            Product::Milan => "Milan",
            Product::Genoa => "Genoa",
            Product::Turin => "Turin",
        }
    }

    /// The product for the report's CPUID family and model (combined extended + base, as the report holds
    /// them); family/model ranges as in AMD's KDS documentation and virtee/sev.
    pub fn from_cpuid(family: u8, model: u8) -> Option<Product> {
        match (family, model) {
            (0x19, 0x00..=0x0f) => Some(Product::Milan),
            (0x19, 0x10..=0x1f | 0xa0..=0xaf) => Some(Product::Genoa),
            (0x1a, 0x00..=0x11) => Some(Product::Turin),
            _ => None,
        }
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Size of the report.
pub const REPORT_LEN: usize = 0x4a0;
/// Bytes covered by the signature.
pub const SIGNED_LEN: usize = 0x2a0;
/// Lowest and highest report version understood.
pub const VERSIONS: std::ops::RangeInclusive<u32> = 2..=5;

/// Why a report was rejected before any check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Wrong size.
    #[error("attestation report is {0} bytes, expected {REPORT_LEN} (0x4a0)")]
    Size(usize),
    /// A version this parser does not know.
    #[error("unknown attestation report version {0} (supported: 2, 3, 4, 5)")]
    Version(u32),
    /// Hex text that does not decode.
    #[error("attestation report hex: {0}")]
    Hex(yardstick_common::hex::HexError),
}

/// Length of each of SIGNATURE.R and SIGNATURE.S in the report.
pub const SIGNATURE_SCALAR_LEN: usize = 72;

/// The report's SIGNATURE (ABI spec, "ECDSA P-384 with SHA-384 Signature"): R and S as 72-byte little-endian
/// integers at [`SIGNED_LEN`], then reserved bytes to the end of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature<'a> {
    /// SIGNATURE.R, little-endian.
    pub r_le: &'a [u8],
    /// SIGNATURE.S, little-endian.
    pub s_le: &'a [u8],
    /// The reserved bytes after S (zero in a genuine report).
    pub reserved: &'a [u8],
}

/// A signature scalar that is not a P-384 scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature {0} is larger than 384 bits")]
pub struct ScalarTooLarge(pub &'static str);

impl Signature<'_> {
    /// R and S as 48-byte big-endian integers, the form ECDSA verifiers take; an error names the one with bits
    /// set above bit 383.
    pub fn scalars_be(&self) -> Result<([u8; 48], [u8; 48]), ScalarTooLarge> {
        let be = |le: &[u8], what: &'static str| -> Result<[u8; 48], ScalarTooLarge> {
            if le.len() != SIGNATURE_SCALAR_LEN
                || le.get(48..).is_some_and(|hi| hi.iter().any(|b| *b != 0))
            {
                return Err(ScalarTooLarge(what));
            }
            let mut out = [0u8; 48];
            for (o, b) in out.iter_mut().zip(le.iter().take(48).rev()) {
                *o = *b;
            }
            Ok(out)
        };
        Ok((be(self.r_le, "R")?, be(self.s_le, "S")?))
    }

    /// The offset in the report of the first non-zero reserved byte, if any.
    pub fn first_nonzero_reserved(&self) -> Option<usize> {
        self.reserved
            .iter()
            .position(|b| *b != 0)
            .map(|i| SIGNED_LEN + 2 * SIGNATURE_SCALAR_LEN + i)
    }
}

/// A TCB_VERSION decoded for one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcbVersion {
    /// The raw little-endian u64 bytes.
    pub raw: [u8; 8],
    /// FMC SVN (Turin and later).
    pub fmc: Option<u8>,
    /// PSP bootloader SVN.
    pub bootloader: u8,
    /// PSP OS (TEE) SVN.
    pub tee: u8,
    /// SNP firmware SVN.
    pub snp: u8,
    /// Lowest microcode patch level of all cores.
    pub microcode: u8,
}

impl TcbVersion {
    /// Decodes `raw` with `product`'s layout.
    pub fn decode(raw: [u8; 8], product: Product) -> TcbVersion {
        match product {
            Product::Milan | Product::Genoa => TcbVersion {
                raw,
                fmc: None,
                bootloader: raw[0],
                tee: raw[1],
                snp: raw[6],
                microcode: raw[7],
            },
            Product::Turin => TcbVersion {
                raw,
                fmc: Some(raw[0]),
                bootloader: raw[1],
                tee: raw[2],
                snp: raw[3],
                microcode: raw[7],
            },
        }
    }
}

impl std::fmt::Display for TcbVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(fmc) = self.fmc {
            write!(f, "fmc={fmc} ")?;
        }
        write!(
            f,
            "bl={} tee={} snp={} ucode={}",
            self.bootloader, self.tee, self.snp, self.microcode
        )
    }
}

/// GUEST_POLICY bits (ABI spec, "Guest Policy Structure").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPolicy(pub u64);

impl GuestPolicy {
    /// Minimum ABI minor version.
    pub fn abi_minor(self) -> u8 {
        self.0 as u8
    }
    /// Minimum ABI major version.
    pub fn abi_major(self) -> u8 {
        (self.0 >> 8) as u8
    }
    /// Bit 16: SMT allowed.
    pub fn smt_allowed(self) -> bool {
        self.0 & (1 << 16) != 0
    }
    /// Bit 17: reserved, must be one.
    pub fn reserved_one(self) -> bool {
        self.0 & (1 << 17) != 0
    }
    /// Bit 18: association with a migration agent allowed.
    pub fn migrate_ma(self) -> bool {
        self.0 & (1 << 18) != 0
    }
    /// Bit 19: debugging allowed (the hypervisor can read and write guest memory).
    pub fn debug(self) -> bool {
        self.0 & (1 << 19) != 0
    }
    /// Bit 20: single socket required.
    pub fn single_socket(self) -> bool {
        self.0 & (1 << 20) != 0
    }
}

/// A parsed attestation report. Field names follow the ABI specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationReport {
    raw: Vec<u8>,
    /// VERSION.
    pub version: u32,
    /// GUEST_SVN.
    pub guest_svn: u32,
    /// POLICY.
    pub policy: GuestPolicy,
    /// FAMILY_ID.
    pub family_id: [u8; 16],
    /// IMAGE_ID.
    pub image_id: [u8; 16],
    /// VMPL of the request.
    pub vmpl: u32,
    /// SIGNATURE_ALGO (1 = ECDSA P-384 with SHA-384).
    pub signature_algo: u32,
    /// CURRENT_TCB, raw.
    pub current_tcb: [u8; 8],
    /// PLATFORM_INFO.
    pub platform_info: u64,
    /// Bits at 0x48: AUTHOR_KEY_EN (0), MASK_CHIP_KEY (1), SIGNING_KEY (4:2; 0 VCEK, 1 VLEK, 7 none).
    pub key_info: u32,
    /// REPORT_DATA (guest-chosen).
    pub report_data: [u8; 64],
    /// MEASUREMENT (the launch digest).
    pub measurement: [u8; 48],
    /// HOST_DATA (hypervisor-chosen at launch).
    pub host_data: [u8; 32],
    /// ID_KEY_DIGEST.
    pub id_key_digest: [u8; 48],
    /// AUTHOR_KEY_DIGEST.
    pub author_key_digest: [u8; 48],
    /// REPORT_ID.
    pub report_id: [u8; 32],
    /// REPORT_ID_MA.
    pub report_id_ma: [u8; 32],
    /// REPORTED_TCB, raw: the TCB the VCEK that signs the report was derived for.
    pub reported_tcb: [u8; 8],
    /// CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (version 3 and later).
    pub cpuid: Option<(u8, u8, u8)>,
    /// CHIP_ID (zero if MASK_CHIP_ID was set).
    pub chip_id: [u8; 64],
    /// COMMITTED_TCB, raw.
    pub committed_tcb: [u8; 8],
    /// CURRENT_MAJOR, CURRENT_MINOR, CURRENT_BUILD.
    pub current_version: (u8, u8, u8),
    /// COMMITTED_MAJOR, COMMITTED_MINOR, COMMITTED_BUILD.
    pub committed_version: (u8, u8, u8),
    /// LAUNCH_TCB, raw.
    pub launch_tcb: [u8; 8],
    /// LAUNCH_MIT_VECTOR (version 5).
    pub launch_mit_vector: Option<u64>,
    /// CURRENT_MIT_VECTOR (version 5).
    pub current_mit_vector: Option<u64>,
}

fn arr<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(at..at + N) {
        out.copy_from_slice(s);
    }
    out
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(arr(b, at))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(arr(b, at))
}

impl AttestationReport {
    /// Parses the binary report, or its hex text form (as `snpguest` and virtee/sev's test data store it).
    pub fn parse_any(bytes: &[u8]) -> Result<AttestationReport, ReportError> {
        if bytes.len() != REPORT_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
        {
            let text: String = bytes
                .iter()
                .filter(|b| !b.is_ascii_whitespace())
                .map(|b| char::from(*b))
                .collect();
            let raw = yardstick_common::hex::decode(&text).map_err(ReportError::Hex)?;
            return AttestationReport::parse(&raw);
        }
        AttestationReport::parse(bytes)
    }

    /// Parses the 0x4A0-byte binary report.
    pub fn parse(b: &[u8]) -> Result<AttestationReport, ReportError> {
        let b: &[u8; REPORT_LEN] = b.try_into().map_err(|_| ReportError::Size(b.len()))?;
        let version = le32(b, 0x00);
        if !VERSIONS.contains(&version) {
            return Err(ReportError::Version(version));
        }
        let v3 = version >= 3;
        let v5 = version >= 5;
        let ver = |at: usize| {
            let [build, minor, major] = arr::<3>(b, at);
            (major, minor, build)
        };
        Ok(AttestationReport {
            raw: b.to_vec(),
            version,
            guest_svn: le32(b, 0x04),
            policy: GuestPolicy(le64(b, 0x08)),
            family_id: arr(b, 0x10),
            image_id: arr(b, 0x20),
            vmpl: le32(b, 0x30),
            signature_algo: le32(b, 0x34),
            current_tcb: arr(b, 0x38),
            platform_info: le64(b, 0x40),
            key_info: le32(b, 0x48),
            report_data: arr(b, 0x50),
            measurement: arr(b, 0x90),
            host_data: arr(b, 0xc0),
            id_key_digest: arr(b, 0xe0),
            author_key_digest: arr(b, 0x110),
            report_id: arr(b, 0x140),
            report_id_ma: arr(b, 0x160),
            reported_tcb: arr(b, 0x180),
            cpuid: v3.then(|| (b[0x188], b[0x189], b[0x18a])),
            chip_id: arr(b, 0x1a0),
            committed_tcb: arr(b, 0x1e0),
            current_version: ver(0x1e8),
            committed_version: ver(0x1ec),
            launch_tcb: arr(b, 0x1f0),
            launch_mit_vector: v5.then(|| le64(b, 0x1f8)),
            current_mit_vector: v5.then(|| le64(b, 0x200)),
        })
    }

    /// The whole report.
    pub fn bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The signed bytes (0..0x2A0).
    pub fn signed_bytes(&self) -> &[u8] {
        self.raw.get(..SIGNED_LEN).unwrap_or_default()
    }

    /// The SIGNATURE field and the reserved bytes after it.
    pub fn signature(&self) -> Signature<'_> {
        let sig = self.raw.get(SIGNED_LEN..).unwrap_or_default();
        Signature {
            r_le: sig.get(..SIGNATURE_SCALAR_LEN).unwrap_or_default(),
            s_le: sig
                .get(SIGNATURE_SCALAR_LEN..2 * SIGNATURE_SCALAR_LEN)
                .unwrap_or_default(),
            reserved: sig.get(2 * SIGNATURE_SCALAR_LEN..).unwrap_or_default(),
        }
    }

    /// The product the CPUID fields name (version 3 and later), if known.
    pub fn product_from_cpuid(&self) -> Option<Result<Product, (u8, u8)>> {
        self.cpuid
            .map(|(fam, model, _)| Product::from_cpuid(fam, model).ok_or((fam, model)))
    }

    /// SIGNING_KEY: 0 = VCEK, 1 = VLEK, 7 = none.
    pub fn signing_key(&self) -> u32 {
        (self.key_info >> 2) & 7
    }

    /// MASK_CHIP_KEY (bit 1) and, for the chip id, whether it is all zero.
    pub fn chip_id_masked(&self) -> bool {
        self.chip_id.iter().all(|b| *b == 0)
    }

    /// REPORTED_TCB decoded for `product`.
    pub fn reported_tcb(&self, product: Product) -> TcbVersion {
        TcbVersion::decode(self.reported_tcb, product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(version: u32) -> Vec<u8> {
        let mut b = vec![0u8; REPORT_LEN];
        b[..4].copy_from_slice(&version.to_le_bytes());
        b
    }

    #[test]
    fn versions_and_sizes() {
        for v in [2, 3, 4, 5] {
            let r = AttestationReport::parse(&report(v)).unwrap();
            assert_eq!(r.cpuid.is_some(), v >= 3);
            assert_eq!(r.launch_mit_vector.is_some(), v >= 5);
        }
        for v in [0, 1, 6, 0xffff_ffff] {
            assert_eq!(
                AttestationReport::parse(&report(v)),
                Err(ReportError::Version(v))
            );
        }
        assert_eq!(
            AttestationReport::parse(&report(2)[..100]),
            Err(ReportError::Size(100))
        );
        assert!(matches!(
            AttestationReport::parse_any(b"02zz"),
            Err(ReportError::Size(4))
        ));
        assert!(matches!(
            AttestationReport::parse_any(b"020"),
            Err(ReportError::Hex(_))
        ));
    }

    /// ABI spec TCB_VERSION layouts: Milan/Genoa `[bl, tee, 0,0,0,0, snp, ucode]`; Turin `[fmc, bl, tee, snp,
    /// 0,0,0, ucode]`.
    #[test]
    fn tcb_layouts() {
        let raw = [1, 2, 3, 4, 5, 6, 7, 8];
        let m = TcbVersion::decode(raw, Product::Milan);
        assert_eq!(
            (m.fmc, m.bootloader, m.tee, m.snp, m.microcode),
            (None, 1, 2, 7, 8)
        );
        let t = TcbVersion::decode(raw, Product::Turin);
        assert_eq!(
            (t.fmc, t.bootloader, t.tee, t.snp, t.microcode),
            (Some(1), 2, 3, 4, 8)
        );
    }

    #[test]
    fn cpuid_products() {
        assert_eq!(Product::from_cpuid(0x19, 0x01), Some(Product::Milan));
        assert_eq!(Product::from_cpuid(0x19, 0x11), Some(Product::Genoa));
        assert_eq!(Product::from_cpuid(0x19, 0xa0), Some(Product::Genoa));
        assert_eq!(Product::from_cpuid(0x1a, 0x02), Some(Product::Turin));
        assert_eq!(Product::from_cpuid(0x17, 0x31), None);
    }

    /// R and S are little-endian in the report; anything above 48 bytes must be zero.
    #[test]
    fn signature_layout() {
        let mut b = report(2);
        b[SIGNED_LEN] = 1;
        b[SIGNED_LEN + 47] = 2;
        b[SIGNED_LEN + 72] = 3;
        let r = AttestationReport::parse(&b).unwrap();
        let (rr, ss) = r.signature().scalars_be().unwrap();
        assert_eq!((rr[47], rr[0], ss[47]), (1, 2, 3));
        assert_eq!(r.signature().first_nonzero_reserved(), None);
        b[SIGNED_LEN + 72 + 48] = 1;
        b[REPORT_LEN - 1] = 1;
        let r = AttestationReport::parse(&b).unwrap();
        assert_eq!(
            r.signature().scalars_be().unwrap_err().to_string(),
            "signature S is larger than 384 bits"
        );
        assert_eq!(r.signature().first_nonzero_reserved(), Some(REPORT_LEN - 1));
    }

    #[test]
    fn v5_fields_and_cpuid() {
        let mut b = report(5);
        b[0x188] = 0x1a;
        b[0x189] = 0x02;
        b[0x1f8] = 9;
        b[0x200] = 10;
        let r = AttestationReport::parse(&b).unwrap();
        assert_eq!(r.product_from_cpuid(), Some(Ok(Product::Turin)));
        assert_eq!(
            (r.launch_mit_vector, r.current_mit_vector),
            (Some(9), Some(10))
        );
    }
}
