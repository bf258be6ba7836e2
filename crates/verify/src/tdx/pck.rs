//! The Intel SGX extensions of a PCK certificate (Intel "SGX PCK Certificate and Certificate Revocation List
//! Profile Specification", OID 1.2.840.113741.1.13.1): the platform's FMSPC, PCE-ID and the TCB it was
//! certified at (16 SGX TCB component SVNs, PCESVN, CPUSVN), which TCB Info levels are compared with.

use der::asn1::ObjectIdentifier as Oid;

use crate::x509::Cert;

/// The SGX extensions' OID.
pub const SGX_EXTENSIONS: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1");
const TCB: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1.2");
const PCESVN: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1.2.17");
const CPUSVN: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1.2.18");
const PCE_ID: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1.3");
const FMSPC: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1.4");
const PLATFORM_INSTANCE_ID: Oid = Oid::new_unwrap("1.2.840.113741.1.13.1.6");

/// What a PCK certificate says about the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PckExtensions {
    /// FMSPC (6 bytes): the platform family, which selects the TCB Info.
    pub fmspc: Vec<u8>,
    /// PCE-ID (2 bytes).
    pub pce_id: Vec<u8>,
    /// SGX TCB component SVNs 1..=16.
    pub sgx_tcb: [u8; 16],
    /// PCESVN.
    pub pcesvn: u16,
    /// CPUSVN (16 bytes).
    pub cpusvn: Vec<u8>,
    /// PlatformInstanceID (16 bytes, as the certificate stores them), in the PCK certificates of
    /// multi-package (Platform CA) platforms.
    pub platform_instance_id: Option<Vec<u8>>,
}

/// One DER element: tag, contents, and the bytes after it.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let lb = rest.get(..n)?;
        let len = lb
            .iter()
            .fold(0usize, |acc, x| (acc << 8) | usize::from(*x));
        (len, rest.get(n..)?)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// One `SEQUENCE { OID, value }`: the OID's contents, the value's tag and contents.
type Pair<'a> = (&'a [u8], u8, &'a [u8]);

/// The `SEQUENCE { OID, value }` pairs inside a SEQUENCE's contents.
fn pairs(mut b: &[u8]) -> Option<Vec<Pair<'_>>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (tag, inner, rest) = tlv(b)?;
        if tag != 0x30 {
            return None;
        }
        let (otag, oid, after) = tlv(inner)?;
        let (vtag, value, end) = tlv(after)?;
        if otag != 0x06 || !end.is_empty() {
            return None;
        }
        out.push((oid, vtag, value));
        b = rest;
    }
    Some(out)
}

/// A small non-negative DER INTEGER.
fn small_int(tag: u8, v: &[u8]) -> Option<u16> {
    if tag != 0x02 || v.is_empty() || v.len() > 3 || v.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let n = v.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x));
    u16::try_from(n).ok()
}

impl PckExtensions {
    /// Reads the SGX extensions of a PCK certificate; `None` if absent or malformed.
    pub fn read(cert: &Cert) -> Option<PckExtensions> {
        let ext = cert.extension(&SGX_EXTENSIONS)?;
        let (tag, body, rest) = tlv(ext)?;
        if tag != 0x30 || !rest.is_empty() {
            return None;
        }
        let mut fmspc = None;
        let mut pce_id = None;
        let mut tcb = None;
        let mut platform_instance_id = None;
        for (oid, vtag, value) in pairs(body)? {
            if oid == FMSPC.as_bytes() && vtag == 0x04 && value.len() == 6 {
                fmspc = Some(value.to_vec());
            } else if oid == PCE_ID.as_bytes() && vtag == 0x04 && value.len() == 2 {
                pce_id = Some(value.to_vec());
            } else if oid == TCB.as_bytes() && vtag == 0x30 {
                tcb = Some(value);
            } else if oid == PLATFORM_INSTANCE_ID.as_bytes() && vtag == 0x04 && value.len() == 16 {
                platform_instance_id = Some(value.to_vec());
            }
        }
        let mut sgx_tcb = [0u8; 16];
        let mut seen = 0u32;
        let mut pcesvn = None;
        let mut cpusvn = None;
        for (oid, vtag, value) in pairs(tcb?)? {
            let prefix = TCB.as_bytes();
            if oid == PCESVN.as_bytes() {
                pcesvn = Some(small_int(vtag, value)?);
            } else if oid == CPUSVN.as_bytes() && vtag == 0x04 {
                cpusvn = Some(value.to_vec());
            } else if let Some(last) = oid
                .strip_prefix(prefix)
                .and_then(|t| match t {
                    [n] => Some(*n),
                    _ => None,
                })
                .filter(|n| (1..=16).contains(n))
            {
                let svn = u8::try_from(small_int(vtag, value)?).ok()?;
                let slot = sgx_tcb.get_mut(usize::from(last - 1))?;
                *slot = svn;
                seen |= 1 << (last - 1);
            }
        }
        (seen == 0xffff).then_some(())?;
        Some(PckExtensions {
            fmspc: fmspc?,
            pce_id: pce_id?,
            sgx_tcb,
            pcesvn: pcesvn?,
            cpusvn: cpusvn?,
            platform_instance_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_framing() {
        assert_eq!(tlv(&[4, 2, 1, 2, 9]), Some((4, &[1u8, 2][..], &[9u8][..])));
        assert_eq!(tlv(&[4, 3, 1, 2]), None, "truncated");
        assert_eq!(tlv(&[4, 0x85, 1, 1, 1, 1, 1]), None, "length of 5 bytes");
        assert_eq!(small_int(2, &[0x80]), None, "negative");
        assert_eq!(small_int(2, &[0, 0x80]), Some(0x80));
        assert_eq!(small_int(4, &[1]), None, "not an INTEGER");
    }
}
