//! The TD quote (Intel "TDX DCAP Quote Generation Library and Quote Verification Library" spec, quote
//! versions 4 and 5: TD 1.0 and TD 1.5 bodies) and the checks that need no Intel collateral: the quote
//! signature by the attestation key, the QE report binding that key, the QE report signature by the PCK
//! certificate, and the PCK chain to the Intel SGX Root CA, whose fingerprint is pinned here.
//!
//! Not checkable without collateral: the TCB level of the platform and QE (TCB Info and QE Identity for the
//! FMSPC) and revocation (PCK and Root CA CRLs), all of which come signed from Intel's PCS
//! ([`super::collateral`]).

use crate::appraisal::Appraisal;
use crate::keys::{Key, Scheme, Sig};
use crate::x509::Cert;
use crate::{Error, hex};
use yardstick_common::bytes;
use yardstick_common::hash::Algorithm;

/// SHA-256 fingerprint of the Intel SGX Root CA certificate (CN "Intel SGX Root CA", valid 2018-2049), the
/// root of every PCK chain; the same certificate as google/go-tdx-guest `verify/trusted_root.pem`.
pub const INTEL_SGX_ROOT_CA_SHA256: &str =
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
/// QE_VENDOR_ID of Intel's quoting enclave.
pub const INTEL_QE_VENDOR_ID: &str = "939a7233f79c4ca9940a0db3957f0607";

const HEADER_LEN: usize = 48;
/// TD 1.0 quote body (TDX module 1.0 REPORT fields).
pub const TD10_BODY: usize = 584;
/// TD 1.5 quote body (adds TEE_TCB_SVN2 and MRSERVICETD).
pub const TD15_BODY: usize = 648;
/// The QE's SGX report body.
pub const QE_REPORT_LEN: usize = 384;

/// A parsed TD quote.
#[derive(Debug, Clone)]
pub struct TdQuote {
    bytes: Vec<u8>,
    /// Quote version (4 or 5).
    pub version: u16,
    signed: std::ops::Range<usize>,
    body: std::ops::Range<usize>,
    /// ECDSA signature `r || s` over header and body.
    pub signature: Vec<u8>,
    /// The attestation key, `x || y`.
    pub attest_key: Vec<u8>,
    /// The QE's SGX report (384 bytes).
    pub qe_report: Vec<u8>,
    /// Its signature by the PCK key, `r || s`.
    pub qe_report_sig: Vec<u8>,
    /// QE authentication data.
    pub qe_auth: Vec<u8>,
    /// The PCK certificate chain, PEM.
    pub pck_chain: Vec<u8>,
    /// How many bytes follow the signature data that are not zero padding (unsigned; only
    /// [`TdQuote::parse_allowing_trailing`] accepts them).
    pub trailing: usize,
}

struct R<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|e| self.b.get(self.pos..e))
            .ok_or_else(|| {
                Error::Malformed(format!(
                    "TD quote: truncated {what}: needs {n} bytes at offset {}, {} left",
                    self.pos,
                    self.b.len().saturating_sub(self.pos)
                ))
            })?;
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, what: &str) -> Result<u16, Error> {
        let s = self.take(2, what)?;
        Ok(bytes::le16(s, 0).unwrap_or_default())
    }
    fn u32(&mut self, what: &str) -> Result<u32, Error> {
        let s = self.take(4, what)?;
        Ok(bytes::le32(s, 0).unwrap_or_default())
    }
}

impl TdQuote {
    /// Parses a TD quote (v4 or v5, ECDSA P-256 attestation key, QE report certification data); after the
    /// signature data only zero padding (Azure's) is accepted.
    pub fn parse(bytes: &[u8]) -> Result<TdQuote, Error> {
        let q = TdQuote::parse_allowing_trailing(bytes)?;
        if q.trailing > 0 {
            return Err(Error::Malformed(
                "TD quote: non-zero bytes after the signature data".into(),
            ));
        }
        Ok(q)
    }

    /// Parses a TD quote like [`TdQuote::parse`], but accepts bytes after the signature data, which no
    /// signature covers: they are counted in [`TdQuote::trailing`] (and so can be reported).
    pub fn parse_allowing_trailing(bytes: &[u8]) -> Result<TdQuote, Error> {
        let bad = |m: String| Error::Malformed(format!("TD quote: {m}"));
        let mut r = R { b: bytes, pos: 0 };
        let (version, body_len) = Self::header_fields(&mut r)?;
        let body_start = r.pos;
        r.take(body_len, "body")?;
        let signed = 0..r.pos;
        let body = body_start..r.pos;
        let sig_len = r.u32("signature data length")? as usize;
        let sig_end = r
            .pos
            .checked_add(sig_len)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| {
                bad(format!(
                    "signature data of {sig_len} bytes overruns the {}-byte quote",
                    bytes.len()
                ))
            })?;
        // Azure pads quotes with zeros after the signature data.
        let after = bytes.get(sig_end..).unwrap_or_default();
        let trailing = if after.iter().all(|b| *b == 0) {
            0
        } else {
            after.len()
        };
        let mut s = R {
            b: bytes.get(..sig_end).unwrap_or_default(),
            pos: r.pos,
        };
        let signature = s.take(64, "quote signature")?.to_vec();
        let attest_key = s.take(64, "attestation key")?.to_vec();
        let cert = CertificationData::parse(&mut s)?;
        Ok(TdQuote {
            bytes: bytes.to_vec(),
            version,
            signed,
            body,
            signature,
            attest_key,
            qe_report: cert.qe_report,
            qe_report_sig: cert.qe_report_sig,
            qe_auth: cert.qe_auth,
            pck_chain: cert.pck_chain,
            trailing,
        })
    }

    /// The header's version, attestation key type and TEE type (which must be a v4/v5 TDX quote with an
    /// ECDSA P-256 key), and the length of the body that follows. Leaves `r` at the body.
    fn header_fields(r: &mut R<'_>) -> Result<(u16, usize), Error> {
        let bad = |m: String| Error::Malformed(format!("TD quote: {m}"));
        let version = r.u16("version")?;
        let key_type = r.u16("attestation key type")?;
        let tee_type = r.u32("TEE type")?;
        if !(4..=5).contains(&version) {
            return Err(bad(format!("version {version}, expected 4 or 5")));
        }
        if key_type != 2 {
            return Err(bad(format!(
                "attestation key type {key_type}, expected 2 (ECDSA P-256)"
            )));
        }
        if tee_type != 0x81 {
            return Err(bad(format!("TEE type 0x{tee_type:x}, expected 0x81 (TDX)")));
        }
        r.take(HEADER_LEN - 8, "header")?;
        let body_len = if version == 4 {
            TD10_BODY
        } else {
            let ty = r.u16("body type")?;
            let size = r.u32("body size")? as usize;
            match (ty, size) {
                (2, TD10_BODY) | (3, TD15_BODY) => size,
                _ => {
                    return Err(bad(format!(
                        "body type {ty} of {size} bytes is not a TD report"
                    )));
                }
            }
        };
        Ok((version, body_len))
    }

    fn header(&self) -> &[u8] {
        self.bytes.get(..HEADER_LEN).unwrap_or_default()
    }

    /// The 48-byte header (version, attestation key type, TEE type, reserved, QE vendor id, user data).
    pub fn header_bytes(&self) -> &[u8] {
        self.header()
    }

    /// A v5 quote's body descriptor: body type (2 bytes) and size (4 bytes), little-endian; `None` for v4.
    pub fn body_descriptor(&self) -> Option<&[u8]> {
        (self.version == 5)
            .then(|| self.bytes.get(HEADER_LEN..HEADER_LEN + 6))
            .flatten()
    }

    /// The TD report fields of the body (TD 1.0 layout; TD 1.5 appends fields).
    pub fn body(&self) -> &[u8] {
        self.bytes.get(self.body.clone()).unwrap_or_default()
    }

    fn body_field(&self, at: usize, len: usize) -> &[u8] {
        self.body()
            .get(at..at.saturating_add(len))
            .unwrap_or_default()
    }

    /// The whole quote as parsed (trailing zero padding included).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signed part: header and body.
    pub fn signed_bytes(&self) -> &[u8] {
        self.bytes.get(self.signed.clone()).unwrap_or_default()
    }

    /// The byte range of the body in [`TdQuote::bytes`].
    pub fn body_range(&self) -> std::ops::Range<usize> {
        self.body.clone()
    }

    /// True for a TD 1.5 body (quote v5, body type 3: TEE_TCB_SVN2 and MRSERVICETD follow REPORTDATA).
    pub fn is_td15(&self) -> bool {
        self.body.len() == TD15_BODY
    }

    /// TEE_TCB_SVN (16 bytes): the TDX module's SVNs, compared with TCB Info's `tdxtcbcomponents`.
    pub fn tee_tcb_svn(&self) -> &[u8] {
        self.body_field(0, 16)
    }

    /// MRSEAM: the measurement of the TDX module.
    pub fn mrseam(&self) -> &[u8] {
        self.body_field(16, 48)
    }

    /// MRSIGNERSEAM: the TDX module's signer (zero for Intel's).
    pub fn mrsigner_seam(&self) -> &[u8] {
        self.body_field(64, 48)
    }

    /// SEAMATTRIBUTES.
    pub fn seam_attributes(&self) -> &[u8] {
        self.body_field(112, 8)
    }

    /// XFAM: the extended features (XSAVE) the TD may use.
    pub fn xfam(&self) -> u64 {
        bytes::le64(self.body(), 128).unwrap_or(0)
    }

    /// MRCONFIGID, MROWNER, MROWNERCONFIG (48 bytes each), set by the VMM at TD creation.
    pub fn config_fields(&self) -> [&[u8]; 3] {
        [
            self.body_field(184, 48),
            self.body_field(232, 48),
            self.body_field(280, 48),
        ]
    }

    /// TEE_TCB_SVN2 (TD 1.5 bodies only).
    pub fn tee_tcb_svn2(&self) -> Option<&[u8]> {
        self.is_td15().then(|| self.body_field(584, 16))
    }

    /// MRSERVICETD (TD 1.5 bodies only).
    pub fn mrservicetd(&self) -> Option<&[u8]> {
        self.is_td15().then(|| self.body_field(600, 48))
    }

    /// The QE report's MISCSELECT.
    pub fn qe_miscselect(&self) -> u32 {
        bytes::le32(&self.qe_report, 16).unwrap_or(0)
    }

    /// The QE report's ATTRIBUTES (16 bytes).
    pub fn qe_attributes(&self) -> &[u8] {
        self.qe_report.get(48..64).unwrap_or_default()
    }

    /// The QE report's MRSIGNER.
    pub fn qe_mrsigner(&self) -> &[u8] {
        self.qe_report.get(128..160).unwrap_or_default()
    }

    /// The QE report's ISVPRODID.
    pub fn qe_isvprodid(&self) -> u16 {
        bytes::le16(&self.qe_report, 256).unwrap_or(0)
    }

    /// The QE report's ISVSVN.
    pub fn qe_isvsvn(&self) -> u16 {
        bytes::le16(&self.qe_report, 258).unwrap_or(0)
    }

    /// QE_VENDOR_ID.
    pub fn qe_vendor_id(&self) -> &[u8] {
        self.header().get(12..28).unwrap_or_default()
    }

    /// TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAMATTRIBUTES (body 0..120).
    pub fn seam_fields(&self) -> &[u8] {
        self.body_field(0, 120)
    }

    /// TDATTRIBUTES .. RTMR3 (body 120..520), the TDINFO fields.
    pub fn td_fields(&self) -> &[u8] {
        self.body_field(120, 400)
    }

    /// TDATTRIBUTES.
    pub fn td_attributes(&self) -> u64 {
        bytes::le64(self.body(), 120).unwrap_or(0)
    }

    /// MRTD.
    pub fn mrtd(&self) -> &[u8] {
        self.body_field(136, 48)
    }

    /// RTMR `i` (0..=3).
    pub fn rtmr(&self, i: usize) -> &[u8] {
        self.body_field(328 + 48 * i, 48)
    }

    /// REPORTDATA.
    pub fn report_data(&self) -> &[u8] {
        self.body_field(520, 64)
    }
}

/// The QE report certification data (type 6) of a quote's signature data.
struct CertificationData {
    qe_report: Vec<u8>,
    qe_report_sig: Vec<u8>,
    qe_auth: Vec<u8>,
    pck_chain: Vec<u8>,
}

impl CertificationData {
    /// Reads the certification data at `s`: the QE report, its signature, the QE authentication data and
    /// the PEM PCK certificate chain (certification data type 5).
    fn parse(s: &mut R<'_>) -> Result<CertificationData, Error> {
        let bad = |m: String| Error::Malformed(format!("TD quote: {m}"));
        let cert_type = s.u16("certification data type")?;
        let cert_len = s.u32("certification data size")? as usize;
        if cert_type != 6 {
            return Err(bad(format!(
                "certification data type {cert_type}, expected 6 (QE report certification data)"
            )));
        }
        let mut c = R {
            b: s.take(cert_len, "certification data")?,
            pos: 0,
        };
        let qe_report = c.take(QE_REPORT_LEN, "QE report")?.to_vec();
        let qe_report_sig = c.take(64, "QE report signature")?.to_vec();
        let auth_len = usize::from(c.u16("QE authentication data size")?);
        let qe_auth = c.take(auth_len, "QE authentication data")?.to_vec();
        let inner_type = c.u16("PCK certification data type")?;
        let inner_len = c.u32("PCK certification data size")? as usize;
        if inner_type != 5 {
            return Err(bad(format!(
                "PCK certification data type {inner_type}, expected 5 (PEM PCK certificate chain)"
            )));
        }
        let pck_chain = c.take(inner_len, "PCK certificate chain")?.to_vec();
        Ok(CertificationData {
            qe_report,
            qe_report_sig,
            qe_auth,
            pck_chain,
        })
    }
}

pub(crate) fn intel_key(c: &Cert, who: &'static str) -> Result<Key, Error> {
    let alg = c.signature_algorithm().map_err(|e| Error::cert(who, e))?;
    if alg.scheme != Scheme::Ecdsa || alg.hash != Algorithm::Sha256 {
        return Err(Error::cert(
            who,
            crate::x509::CertError::Algorithm(format!("{alg}, expected ECDSA sha256")),
        ));
    }
    match c.public_key().map_err(|e| Error::cert(who, e))? {
        k @ Key::P256(_) => Ok(k),
        k => Err(Error::cert(
            who,
            crate::x509::CertError::Algorithm(format!(
                "{} key, expected ECDSA P-256",
                k.describe()
            )),
        )),
    }
}

/// Runs the offline checks on a TD quote ([`signature_checks`]) and notes MRTD, RTMR0 and what collateral
/// would add (the form `verify azure` prints).
pub fn verify_td_quote(q: &TdQuote, now: u64) -> Result<Appraisal, Error> {
    let mut a = Appraisal::new();
    signature_checks(&mut a, q, now)?;
    a.note(format!(
        "TD quote v{}: MRTD {}, RTMR0 {}",
        q.version,
        hex::encode(q.mrtd()),
        hex::encode(q.rtmr(0))
    ));
    a.note(
        "not checked offline: the TDX platform and QE TCB levels (Intel PCS TCB Info and QE Identity for the \
         PCK's FMSPC) and revocation (PCK and Root CA CRLs) need Intel collateral fetched at verification time",
    );
    Ok(a)
}

/// The checks a TD quote needs no collateral for, in order: the QE vendor, the quote signature by the
/// attestation key, the QE report binding that key, the PCK chain to the pinned Intel SGX Root CA (pin,
/// signatures, validity), the QE report signature by the PCK key, the TD's debug attribute. Returns the PCK
/// chain, PCK first. A PCK chain that cannot be read or is not keyed and signed as Intel's are is an error.
pub fn signature_checks(a: &mut Appraisal, q: &TdQuote, now: u64) -> Result<Vec<Cert>, Error> {
    a.equal(
        "TD quote QE vendor is Intel",
        INTEL_QE_VENDOR_ID,
        hex::encode(q.qe_vendor_id()),
    );
    check_quote_signature(a, q);
    check_qe_binding(a, q);
    let certs = pck_chain(q)?;
    let keys = check_pck_chain(a, &certs, now)?;
    check_qe_report_signature(a, q, &certs, &keys);
    check_td_attributes(a, q);
    Ok(certs)
}

/// The quote's signature over header and body by the attestation key it carries.
fn check_quote_signature(a: &mut Appraisal, q: &TdQuote) {
    const NAME: &str = "TD quote signature (attestation key, ECDSA P-256 SHA-256)";
    let ak = match Key::ec_xy(
        256,
        q.attest_key.get(..32).unwrap_or_default(),
        q.attest_key.get(32..).unwrap_or_default(),
    ) {
        Ok(k) => k,
        Err(e) => {
            a.check(NAME, false, "valid attestation key", e.0);
            return;
        }
    };
    let signed = q.bytes.get(q.signed.clone()).unwrap_or_default();
    let r = ak.verify(
        Scheme::Ecdsa,
        Algorithm::Sha256,
        signed,
        Sig::Bytes(&q.signature),
    );
    a.check(
        NAME,
        r.is_ok(),
        "signature by the attestation key in the quote",
        r.err().unwrap_or_else(|| "signature verifies".into()),
    );
}

/// The QE report binds the attestation key: its REPORTDATA is SHA-256(attestation key || QE authentication
/// data) || 32 zero bytes.
fn check_qe_binding(a: &mut Appraisal, q: &TdQuote) {
    let mut want = Algorithm::Sha256
        .digest_parts(&[&q.attest_key, &q.qe_auth])
        .to_vec();
    want.extend([0u8; 32]);
    a.equal(
        "QE report binds the attestation key",
        hex::encode(&want),
        hex::encode(q.qe_report.get(320..384).unwrap_or_default()),
    );
}

/// The PCK certificate chain (PEM, NUL-padded), PCK first: at least the PCK and an issuer.
fn pck_chain(q: &TdQuote) -> Result<Vec<Cert>, Error> {
    let text = String::from_utf8_lossy(&q.pck_chain);
    let certs = Cert::load_all(text.trim_end_matches('\0').as_bytes())
        .map_err(|e| Error::cert("PCK", e))?;
    if certs.is_empty() {
        return Err(Error::Malformed(
            "TD quote: empty PCK certificate chain".into(),
        ));
    }
    if certs.len() < 2 {
        return Err(Error::Malformed(
            "TD quote: PCK chain has no issuer certificate".into(),
        ));
    }
    Ok(certs)
}

/// The chain's root against the pinned Intel SGX Root CA, then each certificate's signature by the next (the
/// root's by itself) and validity. Returns the certificates' keys, in chain order.
fn check_pck_chain(a: &mut Appraisal, certs: &[Cert], now: u64) -> Result<Vec<Key>, Error> {
    let Some(root) = certs.last() else {
        return Err(Error::Malformed(
            "TD quote: empty PCK certificate chain".into(),
        ));
    };
    let root_fp = root.fingerprint_sha256();
    a.check(
        "Intel SGX Root CA (SHA-256 pin)",
        root_fp == INTEL_SGX_ROOT_CA_SHA256,
        format!("Intel SGX Root CA {INTEL_SGX_ROOT_CA_SHA256}"),
        format!("{} {root_fp}", root.subject_cn()),
    );
    let keys: Vec<Key> = certs
        .iter()
        .enumerate()
        .map(|(i, c)| intel_key(c, if i == 0 { "PCK" } else { "PCK issuer" }))
        .collect::<Result<_, _>>()?;
    for (i, c) in certs.iter().enumerate() {
        let issuer_i = (i + 1).min(certs.len() - 1);
        // One key per certificate, and issuer_i < certs.len() inside this loop.
        let (Some(issuer), Some(key)) = (certs.get(issuer_i), keys.get(issuer_i)) else {
            return Err(Error::Malformed("TD quote: PCK chain has no issuer".into()));
        };
        let sig = c.verify_signature(key).map_err(|e| Error::cert("PCK", e))?;
        let names = c.issued_by_name(issuer);
        a.check(
            format!("{} signed by {}", c.subject_cn(), issuer.subject_cn()),
            sig.is_ok() && names,
            format!("signature by {} (ECDSA P-256 SHA-256)", issuer.subject_cn()),
            match (sig, names) {
                (Ok(()), true) => "signature verifies".to_string(),
                (Err(e), _) => e,
                (Ok(()), false) => format!("issuer is {:?}", c.issuer_cn()),
            },
        );
        crate::snp::check_validity(a, &c.subject_cn(), c, now);
    }
    Ok(keys)
}

/// The QE report's signature by the PCK certificate's key (the first of `keys`).
fn check_qe_report_signature(a: &mut Appraisal, q: &TdQuote, certs: &[Cert], keys: &[Key]) {
    let r = keys
        .first()
        .map(|k| {
            k.verify(
                Scheme::Ecdsa,
                Algorithm::Sha256,
                &q.qe_report,
                Sig::Bytes(&q.qe_report_sig),
            )
        })
        .unwrap_or_else(|| Err("no PCK key".into()));
    a.check(
        "QE report signature (PCK certificate, ECDSA P-256 SHA-256)",
        r.is_ok(),
        format!(
            "signature by {}",
            certs.first().map(Cert::subject_cn).unwrap_or_default()
        ),
        r.err().unwrap_or_else(|| "signature verifies".into()),
    );
}

/// TDATTRIBUTES bit 0 (DEBUG) is clear: in debug mode the TD's state is visible to the host.
fn check_td_attributes(a: &mut Appraisal, q: &TdQuote) {
    let attrs = q.td_attributes();
    a.equal(
        "TD attributes: debug",
        "disabled",
        if attrs & 1 == 0 {
            "disabled"
        } else {
            "enabled"
        },
    );
}
