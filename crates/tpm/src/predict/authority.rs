//! Which `db` entry EDK2 logs as `EV_EFI_VARIABLE_AUTHORITY` when it verifies a signed image.
//!
//! EDK2 `DxeImageVerificationLib` (`IsAllowedByDb`) tries each X.509 certificate of `db` in order as the trust
//! anchor for the image's PKCS#7 signature (OpenSSL with partial chains allowed), and measures the
//! `EFI_SIGNATURE_DATA` of the first one that verifies; failing that, it looks the image's Authenticode
//! SHA-256 up among `db`'s hash entries. We decide "verifies" by the certificate chain embedded in the
//! signature: a db certificate is the anchor if it *is* a certificate of the signer's chain or *issued* one
//! (its subject is that certificate's issuer). Signatures are not checked cryptographically: an image whose
//! signature does not verify is refused by the firmware, so there is no PCR 7 to predict for it.

use super::PredictError;
use super::ovmf_vars::SignatureEntry;
use crate::guids::{EFI_CERT_SHA256, EFI_CERT_X509};

/// A DER TLV: tag, full encoding, contents.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    body: &'a [u8],
}

fn bad(msg: &str) -> PredictError {
    PredictError::Signature(msg.to_string())
}

/// Reads one TLV from the start of `b`; returns it and the rest.
fn tlv(b: &[u8]) -> Result<(Tlv<'_>, &[u8]), PredictError> {
    let tag = *b.first().ok_or_else(|| bad("truncated DER"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("multi-byte DER tags are not used in Authenticode"));
    }
    let l0 = *b.get(1).ok_or_else(|| bad("truncated DER length"))?;
    let (len, hdr) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(bad("unsupported DER length form"));
        }
        let bytes = b.get(2..2 + n).ok_or_else(|| bad("truncated DER length"))?;
        (
            bytes.iter().fold(0usize, |a, &x| (a << 8) | x as usize),
            2 + n,
        )
    };
    let end = hdr
        .checked_add(len)
        .ok_or_else(|| bad("DER length overflows"))?;
    let (whole, rest) = b
        .split_at_checked(end)
        .ok_or_else(|| bad("DER value runs past its container"))?;
    let body = whole
        .get(hdr..)
        .ok_or_else(|| bad("DER value runs past its container"))?;
    Ok((Tlv { tag, whole, body }, rest))
}

fn children(body: &[u8]) -> Result<Vec<Tlv<'_>>, PredictError> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (t, r) = tlv(rest)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

/// Issuer, serial and subject of a certificate, as raw DER.
struct CertNames<'a> {
    der: &'a [u8],
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
}

fn cert_names(der: &[u8]) -> Result<CertNames<'_>, PredictError> {
    let (cert, _) = tlv(der)?;
    let parts = children(cert.body)?;
    let tbs = parts.first().ok_or_else(|| bad("empty certificate"))?;
    let mut f = children(tbs.body)?.into_iter();
    let mut first = f.next().ok_or_else(|| bad("empty TBSCertificate"))?;
    if first.tag == 0xa0 {
        first = f.next().ok_or_else(|| bad("truncated TBSCertificate"))?;
    }
    let serial = first;
    let _sigalg = f.next().ok_or_else(|| bad("truncated TBSCertificate"))?;
    let issuer = f.next().ok_or_else(|| bad("truncated TBSCertificate"))?;
    let _validity = f.next().ok_or_else(|| bad("truncated TBSCertificate"))?;
    let subject = f.next().ok_or_else(|| bad("truncated TBSCertificate"))?;
    Ok(CertNames {
        der: cert.whole,
        serial: serial.whole,
        issuer: issuer.whole,
        subject: subject.whole,
    })
}

/// The certificates of a PKCS#7 SignedData and its first signer's issuer and serial (raw DER).
struct SignedDataView<'a> {
    certs: Vec<&'a [u8]>,
    signer_issuer: &'a [u8],
    signer_serial: &'a [u8],
}

fn pkcs7_certs_and_signer(p7: &[u8]) -> Result<SignedDataView<'_>, PredictError> {
    let (ci, _) = tlv(p7)?;
    let ci = children(ci.body)?;
    let explicit = ci
        .get(1)
        .ok_or_else(|| bad("ContentInfo without content"))?;
    let (sd, _) = tlv(explicit.body)?;
    let sd = children(sd.body)?;
    let certs: Vec<&[u8]> = sd
        .iter()
        .find(|t| t.tag == 0xa0)
        .map(|t| children(t.body))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.whole)
        .collect();
    let signer_infos = sd
        .last()
        .ok_or_else(|| bad("SignedData without signerInfos"))?;
    let si = children(signer_infos.body)?;
    let first = si.first().ok_or_else(|| bad("no SignerInfo"))?;
    let fields = children(first.body)?;
    let ias = fields
        .get(1)
        .ok_or_else(|| bad("SignerInfo without issuerAndSerialNumber"))?;
    let ias = children(ias.body)?;
    let issuer = ias
        .first()
        .ok_or_else(|| bad("bad issuerAndSerialNumber"))?
        .whole;
    let serial = ias
        .get(1)
        .ok_or_else(|| bad("bad issuerAndSerialNumber"))?
        .whole;
    Ok(SignedDataView {
        certs,
        signer_issuer: issuer,
        signer_serial: serial,
    })
}

/// The PKCS#7 blobs of a PE certificate table (`WIN_CERTIFICATE`s of type `WIN_CERT_TYPE_PKCS_SIGNED_DATA`).
pub fn pkcs7_signatures(cert_table: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 8 <= cert_table.len() {
        let (Some(len), Some(ctype)) = (
            yardstick_common::bytes::le32(cert_table, off),
            yardstick_common::bytes::le16(cert_table, off + 6),
        ) else {
            break;
        };
        let len = len as usize;
        let Some(blob) = cert_table.get(off + 8..off + len) else {
            break; // len < 8, or past the table's end
        };
        if ctype == 0x0002 {
            out.push(blob);
        }
        off += len.next_multiple_of(8);
    }
    out
}

/// The db entry EDK2 measures as the authority for an image with these signatures and Authenticode SHA-256.
pub fn find_authority(
    db: &[SignatureEntry],
    signatures: &[&[u8]],
    authenticode_sha256: &[u8],
) -> Result<Option<SignatureEntry>, PredictError> {
    for p7 in signatures {
        let SignedDataView {
            certs,
            signer_issuer,
            signer_serial,
        } = pkcs7_certs_and_signer(p7)?;
        let parsed: Vec<CertNames<'_>> = certs.iter().filter_map(|c| cert_names(c).ok()).collect();
        // Walk the chain from the signer up through the embedded certificates.
        let mut chain: Vec<&CertNames<'_>> = Vec::new();
        let mut cur = parsed
            .iter()
            .find(|c| c.issuer == signer_issuer && c.serial == signer_serial);
        while let Some(c) = cur {
            if chain.iter().any(|x| x.der == c.der) {
                break;
            }
            chain.push(c);
            cur = parsed
                .iter()
                .find(|p| p.subject == c.issuer && p.der != c.der);
        }
        for entry in db.iter().filter(|e| e.sig_type == EFI_CERT_X509) {
            let Ok(anchor) = cert_names(entry.payload()) else {
                continue;
            };
            let trusted = if chain.is_empty() {
                // Signer certificate not embedded: the anchor can only be its issuer.
                anchor.subject == signer_issuer
            } else {
                chain
                    .iter()
                    .any(|c| c.der == anchor.der || c.issuer == anchor.subject)
            };
            if trusted {
                return Ok(Some(entry.clone()));
            }
        }
    }
    Ok(db
        .iter()
        .find(|e| e.sig_type == EFI_CERT_SHA256 && e.payload() == authenticode_sha256)
        .cloned())
}
