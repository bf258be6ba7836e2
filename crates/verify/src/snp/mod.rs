//! SEV-SNP: AMD's certificate chain (ARK → ASK → VCEK) and the checks a relying party runs on an attestation
//! report. The report format itself ([`AttestationReport`], [`Product`], [`TcbVersion`], [`GuestPolicy`]) is
//! `yardstick_snp::report`'s, re-exported here.
//!
//! Trust comes from [`PINNED_ARKS`]: SHA-256 fingerprints of AMD's root keys, compiled in. Whatever ARK the
//! evidence comes with must be one of them; the ASK must be signed by it and the VCEK by the ASK (RSA-PSS,
//! SHA-384); the report by the VCEK (ECDSA P-384, SHA-384).

pub mod certs;
mod request;
mod verify;

pub use request::{SnpRequest, verify_files};
pub use verify::{GuestRules, SnpPolicy, SnpReference, verify_report};
pub(crate) use verify::{check_validity, iso, now_secs};
pub use yardstick_snp::report::{
    AttestationReport, GuestPolicy, Product, REPORT_LEN, ReportError, SIGNED_LEN, TcbVersion,
};

use crate::x509::Cert;

/// The product whose ARK has this SHA-256 fingerprint (one of [`PINNED_ARKS`]).
pub fn product_for_ark(fp: &str) -> Option<Product> {
    PINNED_ARKS
        .iter()
        .find(|(_, f)| f.eq_ignore_ascii_case(fp))
        .map(|(p, _)| *p)
}

/// The product whose AMD chain signed `vek` (a VCEK or VLEK) for `report`: from the report's CPUID fields
/// (version 3 and later), else from the certificate's issuer (`SEV-Milan`, `SEV-VLEK-Genoa`); `None` when
/// neither tells.
pub fn product_of(report: &AttestationReport, vek: &Cert) -> Option<Product> {
    match report.product_from_cpuid() {
        Some(Ok(p)) => Some(p),
        _ => {
            let issuer = vek.issuer_cn();
            Product::ALL
                .into_iter()
                .find(|p| issuer == format!("SEV-{p}") || issuer == format!("SEV-VLEK-{p}"))
        }
    }
}

/// AMD's ARK and ASK for `product`, as published by the KDS (`/vcek/v1/<product>/cert_chain`), built in so
/// that evidence carrying only a VCEK (Azure) can be verified offline.
pub fn builtin_chain(product: Product) -> (Cert, Cert) {
    let (ark, ask): (&[u8], &[u8]) = match product {
        Product::Milan => (
            include_bytes!("amd/milan_ark.pem"),
            include_bytes!("amd/milan_ask.pem"),
        ),
        Product::Genoa => (
            include_bytes!("amd/genoa_ark.pem"),
            include_bytes!("amd/genoa_ask.pem"),
        ),
        Product::Turin => (
            include_bytes!("amd/turin_ark.pem"),
            include_bytes!("amd/turin_ask.pem"),
        ),
    };
    // Compiled-in constants, checked by the tests below; a failure here is a build defect.
    #[allow(clippy::expect_used)]
    let parse = |b: &[u8]| Cert::load_first(b).expect("built-in AMD certificate parses");
    (parse(ark), parse(ask))
}

/// SHA-256 fingerprints (over the DER certificate) of AMD's SEV-SNP root keys, ARK-Milan, ARK-Genoa and
/// ARK-Turin, as served by `https://kdsintf.amd.com/vcek/v1/<product>/cert_chain`. The same certificates are
/// in virtee/sev `src/certs/snp/builtin` and trustee `deps/verifier/src/snp/*_ask_ark_asvk.pem`.
pub const PINNED_ARKS: [(Product, &str); 3] = [
    (
        Product::Milan,
        "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    ),
    (
        Product::Genoa,
        "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    ),
    (
        Product::Turin,
        "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
    ),
];

/// AMD's VCEK/VLEK extensions (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
/// Specification" #57230).
pub mod vcek_oid {
    use der::asn1::ObjectIdentifier as Oid;
    /// Product name (`Milan-B0`).
    pub const PRODUCT_NAME: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.2");
    /// Bootloader SPL.
    pub const BOOTLOADER: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.1");
    /// TEE (PSP OS) SPL.
    pub const TEE: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.2");
    /// SNP firmware SPL.
    pub const SNP: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.3");
    /// Microcode SPL.
    pub const MICROCODE: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.8");
    /// FMC SPL (Turin and later).
    pub const FMC: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.3.9");
    /// Hardware id (the report's CHIP_ID; 8 bytes on Turin).
    pub const HW_ID: Oid = Oid::new_unwrap("1.3.6.1.4.1.3704.1.4");
}

/// The TCB and hardware-id extensions of a VCEK (or VLEK, which has no hwID), as far as present and well-formed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VcekExtensions {
    /// FMC SPL (Turin and later).
    pub fmc: Option<u8>,
    /// Bootloader SPL.
    pub bootloader: Option<u8>,
    /// TEE SPL.
    pub tee: Option<u8>,
    /// SNP firmware SPL.
    pub snp: Option<u8>,
    /// Microcode SPL.
    pub microcode: Option<u8>,
    /// Hardware id (64 bytes; 8 on Turin and later).
    pub hw_id: Option<Vec<u8>>,
}

impl VcekExtensions {
    /// Reads the extensions; the hwID is taken as `hw_id_len` bytes (64, or 8 for Turin).
    pub fn read(cert: &Cert, hw_id_len: usize) -> VcekExtensions {
        let spl = |id| cert.extension(id).and_then(spl_value);
        VcekExtensions {
            fmc: spl(&vcek_oid::FMC),
            bootloader: spl(&vcek_oid::BOOTLOADER),
            tee: spl(&vcek_oid::TEE),
            snp: spl(&vcek_oid::SNP),
            microcode: spl(&vcek_oid::MICROCODE),
            hw_id: cert
                .extension(&vcek_oid::HW_ID)
                .and_then(|e| hw_id_value(e, hw_id_len))
                .map(<[u8]>::to_vec),
        }
    }
}

/// A VCEK SPL extension: a DER INTEGER 0..=255 (`02 01 73`, or `02 02 00 db` above 127).
pub(crate) fn spl_value(ext: &[u8]) -> Option<u8> {
    use der::Decode as _;
    u8::from_der(ext).ok()
}

/// The hwID extension: the raw id (as AMD's KDS has issued it), or the id wrapped in a DER OCTET STRING
/// (both occur; trustee accepts both).
pub(crate) fn hw_id_value(ext: &[u8], len: usize) -> Option<&[u8]> {
    use der::Decode as _;
    if ext.len() == len {
        return Some(ext);
    }
    <&der::asn1::OctetStringRef>::from_der(ext)
        .ok()
        .map(der::asn1::OctetStringRef::as_bytes)
        .filter(|id| id.len() == len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_chains_match_the_pins() {
        for p in Product::ALL {
            let (ark, ask) = builtin_chain(p);
            assert_eq!(product_for_ark(&ark.fingerprint_sha256()), Some(p));
            assert_eq!(ark.subject_cn(), format!("ARK-{p}"));
            assert_eq!(ask.subject_cn(), format!("SEV-{p}"));
            let key = ark.public_key().unwrap();
            assert_eq!(ask.verify_signature(&key).unwrap(), Ok(()));
            assert_eq!(ark.verify_signature(&key).unwrap(), Ok(()));
        }
    }

    #[test]
    fn extension_values() {
        assert_eq!(spl_value(&[2, 1, 0x73]), Some(0x73));
        assert_eq!(spl_value(&[2, 2, 0, 0xdb]), Some(0xdb));
        assert_eq!(spl_value(&[2, 2, 0, 0x10]), None, "non-minimal DER");
        assert_eq!(spl_value(&[2, 1, 0x80]), None, "negative");
        assert_eq!(hw_id_value(&[1; 8], 8), Some(&[1u8; 8][..]));
        let mut wrapped = vec![4, 8];
        wrapped.extend([2; 8]);
        assert_eq!(hw_id_value(&wrapped, 8), Some(&[2u8; 8][..]));
        assert_eq!(hw_id_value(&[1; 7], 8), None);
        // Refused as well: out of range, empty, trailing bytes, a long-form length, another tag.
        assert_eq!(spl_value(&[2, 2, 1, 0]), None, "256");
        assert_eq!(spl_value(&[2, 0]), None, "empty INTEGER");
        assert_eq!(spl_value(&[2, 1, 5, 0]), None, "trailing byte");
        assert_eq!(spl_value(&[2, 0x81, 1, 5]), None, "long-form length");
        assert_eq!(spl_value(&[4, 1, 5]), None, "OCTET STRING");
        assert_eq!(spl_value(&[2, 1, 0]), Some(0));
        assert_eq!(spl_value(&[2, 1, 0x7f]), Some(0x7f));
        assert_eq!(spl_value(&[2, 2, 0, 0xff]), Some(0xff));
        let mut long_form = vec![4, 0x81, 8];
        long_form.extend([2; 8]);
        assert_eq!(hw_id_value(&long_form, 8), None, "non-minimal length");
        let mut trailing = wrapped.clone();
        trailing.push(0);
        assert_eq!(hw_id_value(&trailing, 8), None);
        assert_eq!(
            hw_id_value(&[4, 7, 1, 1, 1, 1, 1, 1, 1], 8),
            None,
            "short id"
        );
        let mut big = vec![4, 64];
        big.extend([3; 64]);
        assert_eq!(hw_id_value(&big, 64), Some(&[3u8; 64][..]));
    }
}
