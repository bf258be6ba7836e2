//! Intel's TDX collateral as the Provisioning Certification Service (PCS, API v4) serves it, and the checks it
//! enables: the platform's TCB status (TCB Info for the PCK's FMSPC), the quoting enclave's identity and TCB
//! status (QE Identity), and revocation (the PCK CRL and the Root CA CRL).
//!
//! The files of a collateral directory ([`FILES`]):
//!
//! | file | PCS source |
//! |---|---|
//! | `tcb_info.json` | body of `GET /tdx/certification/v4/tcb?fmspc=<FMSPC>` |
//! | `tcb_info_issuer_chain.pem` | its `TCB-Info-Issuer-Chain` header (PEM, URL-encoded or not) |
//! | `qe_identity.json` | body of `GET /tdx/certification/v4/qe/identity` |
//! | `qe_identity_issuer_chain.pem` | its `SGX-Enclave-Identity-Issuer-Chain` header (optional: the TCB Info chain is used when absent; PCS signs both with the same key) |
//! | `pck_crl.der` (or `.pem`) | body of `GET /sgx/certification/v4/pckcrl?ca=platform\|processor` (DER, PEM or hex) |
//! | `root_ca_crl.der` (or `.pem`) | `IntelSGXRootCA.der` from Intel's certificate site |
//!
//! TCB Info and QE Identity are signed JSON: ECDSA P-256 SHA-256 (`r || s` in hex) over the exact bytes of
//! the `tcbInfo` / `enclaveIdentity` value as served, by the "Intel SGX TCB Signing" certificate, which must
//! chain to the same pinned Intel SGX Root CA as the PCK.
//!
//! TCB level selection (Intel's TDX TCB Info algorithm): the first level whose 16 SGX component SVNs and
//! PCESVN the PCK certificate's SGX extensions reach and whose 16 TDX component SVNs the quote's TEE_TCB_SVN
//! reaches. When TEE_TCB_SVN\[1\] (the TDX module's major version) is non-zero and the TCB Info lists
//! `tdxModuleIdentities`, components 0 and 1 are left to the module identity `TDX_<major>`: its signer and
//! attributes against MRSIGNERSEAM / SEAMATTRIBUTES, its own TCB levels against TEE_TCB_SVN\[0\]. Otherwise
//! the selected level's TDX component 1 must equal TEE_TCB_SVN\[1\].

use serde::Deserialize;
use serde_json::value::RawValue;

use super::pck::PckExtensions;
use super::quote::{INTEL_SGX_ROOT_CA_SHA256, TdQuote, intel_key};
use crate::appraisal::Appraisal;
use crate::keys::{Key, Scheme, Sig};
use crate::snp::{check_validity, iso};
use crate::x509::{Cert, Crl};
use crate::{Error, hex};
use yardstick_common::hash::Algorithm;

/// The file names a collateral directory holds (see the module docs); the QE Identity issuer chain is
/// optional.
pub const FILES: [&str; 6] = [
    "tcb_info.json",
    "tcb_info_issuer_chain.pem",
    "qe_identity.json",
    "qe_identity_issuer_chain.pem",
    "pck_crl.der",
    "root_ca_crl.der",
];

/// Intel's collateral for one platform, parsed.
#[derive(Debug, Clone)]
pub struct Collateral {
    tcb_info: Signed<TcbInfo>,
    tcb_chain: Vec<Cert>,
    qe_identity: Signed<QeIdentity>,
    qe_chain: Vec<Cert>,
    pck_crl: Crl,
    root_crl: Crl,
}

/// A signed JSON document: the raw signed bytes, the parsed value and the signature.
#[derive(Debug, Clone)]
struct Signed<T> {
    raw: Vec<u8>,
    value: T,
    signature: Vec<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TcbInfo {
    id: String,
    version: u32,
    issue_date: String,
    next_update: String,
    fmspc: String,
    pce_id: String,
    tcb_evaluation_data_number: u32,
    #[serde(default)]
    tdx_module: Option<ModuleIdentity>,
    #[serde(default)]
    tdx_module_identities: Vec<ModuleIdentity>,
    tcb_levels: Vec<TcbLevel>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModuleIdentity {
    #[serde(default)]
    id: String,
    mrsigner: String,
    attributes: String,
    attributes_mask: String,
    #[serde(default)]
    tcb_levels: Vec<IsvLevel>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TcbLevel {
    tcb: Tcb,
    tcb_date: String,
    tcb_status: String,
    #[serde(default, rename = "advisoryIDs")]
    advisory_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Tcb {
    sgxtcbcomponents: Vec<Svn>,
    pcesvn: u16,
    tdxtcbcomponents: Vec<Svn>,
}

#[derive(Debug, Clone, Deserialize)]
struct Svn {
    svn: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IsvLevel {
    tcb: IsvSvn,
    tcb_date: String,
    tcb_status: String,
    #[serde(default, rename = "advisoryIDs")]
    advisory_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct IsvSvn {
    isvsvn: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QeIdentity {
    id: String,
    issue_date: String,
    next_update: String,
    tcb_evaluation_data_number: u32,
    miscselect: String,
    miscselect_mask: String,
    attributes: String,
    attributes_mask: String,
    mrsigner: String,
    isvprodid: u16,
    tcb_levels: Vec<IsvLevel>,
}

/// Splits `{"<key>": {...}, "signature": "<hex>"}` into the signed raw value, the parsed value and the
/// signature bytes.
fn signed_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], key: &str) -> Result<Signed<T>, Error> {
    let bad = |m: String| Error::Malformed(m);
    let map: std::collections::BTreeMap<String, Box<RawValue>> = serde_json::from_slice(bytes)
        .map_err(|e| {
            bad(format!(
                "not PCS JSON ({{\"{key}\": ..., \"signature\": ...}}): {e}"
            ))
        })?;
    let raw = map
        .get(key)
        .ok_or_else(|| bad(format!("no \"{key}\" object")))?;
    let sig = map
        .get("signature")
        .ok_or_else(|| bad("no \"signature\"".into()))?;
    let sig: String = serde_json::from_str(sig.get())
        .map_err(|e| bad(format!("\"signature\" is not a string: {e}")))?;
    let signature = hex::decode(&sig).map_err(|e| bad(format!("\"signature\": {e}")))?;
    if signature.len() != 64 {
        return Err(bad(format!(
            "\"signature\" is {} bytes, expected 64 (ECDSA P-256 r || s)",
            signature.len()
        )));
    }
    let value: T = serde_json::from_str(raw.get()).map_err(|e| bad(format!("\"{key}\": {e}")))?;
    Ok(Signed {
        raw: raw.get().as_bytes().to_vec(),
        value,
        signature,
    })
}

/// Percent-decodes an issuer chain as PCS sends it in a header (`-----BEGIN%20CERTIFICATE-----%0A...`);
/// text without `%` is returned as is.
fn url_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hexval = |c: u8| (c as char).to_digit(16);
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hexval(*c)),
                bytes.get(i + 2).and_then(|c| hexval(*c)),
            )
        {
            out.push(((h << 4) | l) as u8);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

fn load_chain(bytes: &[u8]) -> Result<Vec<Cert>, Error> {
    let certs = Cert::load_all(&url_decode(bytes)).map_err(|e| Error::cert("issuer chain", e))?;
    if certs.len() < 2 {
        return Err(Error::Malformed(
            "issuer chain: expected the signing certificate and the Intel SGX Root CA".into(),
        ));
    }
    Ok(certs)
}

/// Which collateral file an error is about: an index into [`FILES`].
#[derive(Debug)]
pub struct CollateralError {
    /// Index into [`FILES`].
    pub file: usize,
    /// Why.
    pub error: Error,
}

impl Collateral {
    /// Parses the collateral files' contents (in the order of [`FILES`]; the QE Identity issuer chain may be
    /// absent).
    pub fn parse(
        tcb_info: &[u8],
        tcb_chain: &[u8],
        qe_identity: &[u8],
        qe_chain: Option<&[u8]>,
        pck_crl: &[u8],
        root_crl: &[u8],
    ) -> Result<Collateral, CollateralError> {
        let at = |file: usize| move |error: Error| CollateralError { file, error };
        let crl = |b: &[u8]| Crl::load(b).map_err(|e| Error::cert("CRL", e));
        let tcb_chain_c = load_chain(tcb_chain).map_err(at(1))?;
        Ok(Collateral {
            tcb_info: signed_json(tcb_info, "tcbInfo").map_err(at(0))?,
            qe_identity: signed_json(qe_identity, "enclaveIdentity").map_err(at(2))?,
            qe_chain: match qe_chain {
                Some(c) => load_chain(c).map_err(at(3))?,
                None => tcb_chain_c.clone(),
            },
            tcb_chain: tcb_chain_c,
            pck_crl: crl(pck_crl).map_err(at(4))?,
            root_crl: crl(root_crl).map_err(at(5))?,
        })
    }
}

fn unhex_upper(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok()
}

fn rfc3339(s: &str) -> Option<u64> {
    crate::time::parse_rfc3339(s).ok()
}

/// An Intel signing chain (signing certificate, ..., root) of the collateral: the root's pin, each
/// signature, each validity. Returns the signing certificate's key if the chain holds.
fn check_signing_chain(
    a: &mut Appraisal,
    what: &str,
    certs: &[Cert],
    now: u64,
) -> Result<Option<Key>, Error> {
    let Some(root) = certs.last() else {
        return Ok(None);
    };
    let fp = root.fingerprint_sha256();
    let mut ok = a.check(
        format!("{what} issuer chain: Intel SGX Root CA (SHA-256 pin)"),
        fp == INTEL_SGX_ROOT_CA_SHA256,
        format!("Intel SGX Root CA {INTEL_SGX_ROOT_CA_SHA256}"),
        format!("{} {fp}", root.subject_cn()),
    );
    let keys: Vec<Key> = certs
        .iter()
        .map(|c| intel_key(c, "collateral issuer"))
        .collect::<Result<_, _>>()?;
    for (i, c) in certs.iter().enumerate() {
        let j = (i + 1).min(certs.len() - 1);
        let (Some(issuer), Some(key)) = (certs.get(j), keys.get(j)) else {
            return Ok(None);
        };
        let sig = c
            .verify_signature(key)
            .map_err(|e| Error::cert("collateral issuer", e))?;
        let names = c.issued_by_name(issuer);
        ok &= a.check(
            format!(
                "{what} issuer chain: {} signed by {}",
                c.subject_cn(),
                issuer.subject_cn()
            ),
            sig.is_ok() && names,
            format!("signature by {}", issuer.subject_cn()),
            match (sig, names) {
                (Ok(()), true) => "signature verifies".to_string(),
                (Err(e), _) => e,
                (Ok(()), false) => format!("issuer is {:?}", c.issuer_cn()),
            },
        );
        check_validity(
            a,
            &format!("{what} issuer chain: {}", c.subject_cn()),
            c,
            now,
        );
    }
    Ok(ok.then(|| keys.into_iter().next()).flatten())
}

fn check_json_signature<T>(a: &mut Appraisal, what: &str, doc: &Signed<T>, key: Option<&Key>) {
    let name = format!("{what} signature (Intel SGX TCB Signing, ECDSA P-256 SHA-256)");
    let r = match key {
        Some(k) => k.verify(
            Scheme::Ecdsa,
            Algorithm::Sha256,
            &doc.raw,
            Sig::Bytes(&doc.signature),
        ),
        None => Err("no trusted signing key (issuer chain rejected)".into()),
    };
    a.check(
        name,
        r.is_ok(),
        "signature by the TCB signing key",
        r.err().unwrap_or_else(|| "signature verifies".into()),
    );
}

fn check_dates(a: &mut Appraisal, what: &str, issue: &str, next: &str, now: u64) {
    let (i, n) = (rfc3339(issue), rfc3339(next));
    a.check(
        format!("{what} validity"),
        matches!((i, n), (Some(i), Some(n)) if i <= now && now <= n),
        format!("issued {issue}, next update {next}"),
        format!("checked at {}", iso(now)),
    );
}

fn status_text(status: &str, date: &str, advisories: &[String]) -> String {
    let mut s = format!("{status} (TCB date {date}");
    if !advisories.is_empty() {
        s.push_str(&format!(", advisories {}", advisories.join(" ")));
    }
    s.push(')');
    s
}

/// Runs the collateral checks for a quote whose PCK chain (PCK first) has already been checked.
pub fn check_collateral(
    a: &mut Appraisal,
    q: &TdQuote,
    pck_chain: &[Cert],
    c: &Collateral,
    now: u64,
) -> Result<(), Error> {
    let tcb_key = check_signing_chain(a, "TCB Info", &c.tcb_chain, now)?;
    check_json_signature(a, "TCB Info", &c.tcb_info, tcb_key.as_ref());
    let t = &c.tcb_info.value;
    check_dates(a, "TCB Info", &t.issue_date, &t.next_update, now);
    a.equal("TCB Info is for TDX", "TDX", &t.id);
    let pck = pck_chain.first().and_then(PckExtensions::read);
    let Some(pck) = pck else {
        a.check(
            "PCK certificate SGX extensions (FMSPC, PCE-ID, TCB)",
            false,
            "present and well-formed",
            "missing or malformed",
        );
        return Ok(());
    };
    a.equal(
        "TCB Info FMSPC = PCK certificate FMSPC",
        hex::encode(&pck.fmspc),
        t.fmspc.to_ascii_lowercase(),
    );
    a.equal(
        "TCB Info PCE-ID = PCK certificate PCE-ID",
        hex::encode(&pck.pce_id),
        t.pce_id.to_ascii_lowercase(),
    );
    check_tcb_level(a, q, &pck, t);
    a.note(format!(
        "TCB Info version {}, evaluation data number {}",
        t.version, t.tcb_evaluation_data_number
    ));

    let qe_key = check_signing_chain(a, "QE Identity", &c.qe_chain, now)?;
    check_json_signature(a, "QE Identity", &c.qe_identity, qe_key.as_ref());
    check_qe_identity(a, q, &c.qe_identity.value, now);

    check_crls(a, pck_chain, c, now);
    Ok(())
}

/// The platform's TCB level and status, and the TDX module identity.
fn check_tcb_level(a: &mut Appraisal, q: &TdQuote, pck: &PckExtensions, t: &TcbInfo) {
    let tee = q.tee_tcb_svn();
    let tee_at = |i: usize| tee.get(i).copied().unwrap_or(0);
    let major = tee_at(1);
    let by_module_identity = major > 0 && !t.tdx_module_identities.is_empty();
    let start = if by_module_identity { 2 } else { 0 };
    let level = t.tcb_levels.iter().find(|l| {
        l.tcb.sgxtcbcomponents.len() == 16
            && l.tcb.tdxtcbcomponents.len() == 16
            && l.tcb
                .sgxtcbcomponents
                .iter()
                .zip(pck.sgx_tcb)
                .all(|(lv, have)| have >= lv.svn)
            && pck.pcesvn >= l.tcb.pcesvn
            && l.tcb
                .tdxtcbcomponents
                .iter()
                .enumerate()
                .skip(start)
                .all(|(i, lv)| tee_at(i) >= lv.svn)
    });
    let platform = format!(
        "PCK SGX TCB {} PCESVN {}, TEE_TCB_SVN {}",
        hex::encode(&pck.sgx_tcb),
        pck.pcesvn,
        hex::encode(tee)
    );
    let Some(level) = level else {
        a.check(
            "TDX platform TCB status (TCB Info)",
            false,
            "UpToDate",
            format!("no TCB level matches ({platform}): TCB not supported"),
        );
        return;
    };
    if !by_module_identity {
        let want = level.tcb.tdxtcbcomponents.get(1).map_or(0, |s| s.svn);
        a.equal(
            "TCB level's TDX module major version = TEE_TCB_SVN[1]",
            want,
            major,
        );
    }
    a.check(
        "TDX platform TCB status (TCB Info)",
        level.tcb_status == "UpToDate",
        "UpToDate",
        status_text(&level.tcb_status, &level.tcb_date, &level.advisory_ids),
    );
    let module = if by_module_identity {
        let id = format!("TDX_{major:02X}");
        match t
            .tdx_module_identities
            .iter()
            .find(|m| m.id.eq_ignore_ascii_case(&id))
        {
            Some(m) => Some((id, m)),
            None => {
                a.check(
                    "TDX module identity (TCB Info)",
                    false,
                    format!("an identity {id} for TEE_TCB_SVN[1] = {major}"),
                    "none listed",
                );
                return;
            }
        }
    } else {
        t.tdx_module.as_ref().map(|m| ("tdxModule".to_string(), m))
    };
    if let Some((id, m)) = module {
        check_module(a, q, &id, m, by_module_identity.then_some(tee_at(0)));
    }
}

/// MRSIGNERSEAM and SEAMATTRIBUTES against a TDX module identity, and its TCB status by TEE_TCB_SVN[0]
/// (module identities of TDX 1.5 and later).
fn check_module(a: &mut Appraisal, q: &TdQuote, id: &str, m: &ModuleIdentity, isvsvn: Option<u8>) {
    a.equal(
        format!("MRSIGNERSEAM = TDX module signer ({id})"),
        m.mrsigner.to_ascii_lowercase(),
        hex::encode(q.mrsigner_seam()),
    );
    let attrs = q.seam_attributes();
    let mask = unhex_upper(&m.attributes_mask).unwrap_or_default();
    let masked: Vec<u8> = attrs
        .iter()
        .zip(mask.iter().chain(std::iter::repeat(&0)))
        .map(|(x, k)| x & k)
        .collect();
    a.equal(
        format!("SEAMATTRIBUTES & mask = TDX module attributes ({id})"),
        m.attributes.to_ascii_lowercase(),
        hex::encode(&masked),
    );
    if let Some(svn) = isvsvn {
        match m.tcb_levels.iter().find(|l| u16::from(svn) >= l.tcb.isvsvn) {
            Some(l) => {
                a.check(
                    format!("TDX module TCB status ({id})"),
                    l.tcb_status == "UpToDate",
                    "UpToDate",
                    status_text(&l.tcb_status, &l.tcb_date, &l.advisory_ids),
                );
            }
            None => {
                a.check(
                    format!("TDX module TCB status ({id})"),
                    false,
                    "UpToDate",
                    format!("no TCB level for TEE_TCB_SVN[0] = {svn}: TCB not supported"),
                );
            }
        }
    }
}

fn masked_eq(have: &[u8], mask: &str, want: &str) -> (bool, String) {
    let mask = unhex_upper(mask).unwrap_or_default();
    let m: Vec<u8> = have
        .iter()
        .zip(mask.iter().chain(std::iter::repeat(&0)))
        .map(|(x, k)| x & k)
        .collect();
    let got = hex::encode(&m);
    (got == want.to_ascii_lowercase(), got)
}

/// The QE report against the QE Identity: id, validity, MRSIGNER, ISVPRODID, masked MISCSELECT and
/// ATTRIBUTES, and the TCB status of its ISVSVN.
fn check_qe_identity(a: &mut Appraisal, q: &TdQuote, id: &QeIdentity, now: u64) {
    check_dates(a, "QE Identity", &id.issue_date, &id.next_update, now);
    a.equal("QE Identity is the TDX QE", "TD_QE", &id.id);
    a.equal(
        "QE report MRSIGNER (QE Identity)",
        id.mrsigner.to_ascii_lowercase(),
        hex::encode(q.qe_mrsigner()),
    );
    a.equal(
        "QE report ISVPRODID (QE Identity)",
        id.isvprodid,
        q.qe_isvprodid(),
    );
    // MISCSELECT and its mask are read from the hex as little-endian u32s, as go-tdx-guest reads them (real
    // identities have 00000000 / FFFFFFFF, which read the same either way).
    let to_u32 = |s: &str| {
        unhex_upper(s)
            .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map(u32::from_le_bytes)
    };
    let misc_ok = match (to_u32(&id.miscselect), to_u32(&id.miscselect_mask)) {
        (Some(w), Some(m)) => q.qe_miscselect() & m == w,
        _ => false,
    };
    a.check(
        "QE report MISCSELECT & mask (QE Identity)",
        misc_ok,
        id.miscselect.to_ascii_lowercase(),
        hex::encode(&q.qe_miscselect().to_le_bytes()),
    );
    let (ok, got) = masked_eq(q.qe_attributes(), &id.attributes_mask, &id.attributes);
    a.check(
        "QE report ATTRIBUTES & mask (QE Identity)",
        ok,
        id.attributes.to_ascii_lowercase(),
        got,
    );
    let svn = q.qe_isvsvn();
    match id.tcb_levels.iter().find(|l| svn >= l.tcb.isvsvn) {
        Some(l) => {
            a.check(
                "QE TCB status (QE Identity)",
                l.tcb_status == "UpToDate",
                "UpToDate",
                status_text(&l.tcb_status, &l.tcb_date, &l.advisory_ids),
            );
        }
        None => {
            a.check(
                "QE TCB status (QE Identity)",
                false,
                "UpToDate",
                format!("no TCB level for ISVSVN {svn}: TCB not supported"),
            );
        }
    }
    a.note(format!(
        "QE Identity evaluation data number {}",
        id.tcb_evaluation_data_number
    ));
}

/// Revocation: the PCK CRL, signed by the PCK's issuer (the Platform or Processor CA of the quote's
/// checked chain), must not list the PCK; the Root CA CRL, signed by the root, must not list the PCK CA or
/// the TCB signing certificates. Both must be current.
fn check_crls(a: &mut Appraisal, pck_chain: &[Cert], c: &Collateral, now: u64) {
    let crl_check = |a: &mut Appraisal, what: &str, crl: &Crl, issuer: Option<&Cert>| {
        let sig = match issuer {
            Some(i) => match i.public_key() {
                Ok(k) => crl
                    .verify_signature(&k)
                    .unwrap_or_else(|e| Err(e.to_string())),
                Err(e) => Err(e.to_string()),
            },
            None => Err("no issuer certificate".into()),
        };
        let names = issuer.is_some_and(|i| crl.issued_by_name(i));
        let issuer_cn = issuer.map(Cert::subject_cn).unwrap_or_default();
        a.check(
            format!("{what} signed by {issuer_cn}"),
            sig.is_ok() && names,
            format!("signature by {issuer_cn}"),
            match (sig, names) {
                (Ok(()), true) => "signature verifies".to_string(),
                (Err(e), _) => e,
                (Ok(()), false) => format!("issuer is {:?}", crl.issuer_cn()),
            },
        );
        let (this, next) = crl.validity();
        a.check(
            format!("{what} validity"),
            this <= now && next.is_none_or(|n| now <= n),
            format!(
                "this update {}, next update {}",
                iso(this),
                next.map(iso).unwrap_or_else(|| "none".into())
            ),
            format!("checked at {}", iso(now)),
        );
    };
    crl_check(a, "PCK CRL", &c.pck_crl, pck_chain.get(1));
    let root = pck_chain.last();
    crl_check(a, "Root CA CRL", &c.root_crl, root);
    let not_revoked = |a: &mut Appraisal, crl: &Crl, what: &str, cert: Option<&Cert>| {
        if let Some(cert) = cert {
            let revoked = crl.revokes(cert.serial());
            a.check(
                format!("{} not revoked ({what})", cert.subject_cn()),
                !revoked,
                format!("serial {} not listed", hex::encode(cert.serial())),
                if revoked {
                    "revoked".to_string()
                } else {
                    format!("not among {} revoked", crl.revoked_count())
                },
            );
        }
    };
    not_revoked(a, &c.pck_crl, "PCK CRL", pck_chain.first());
    for cert in pck_chain
        .iter()
        .skip(1)
        .take(pck_chain.len().saturating_sub(2))
        .chain(c.tcb_chain.first())
    {
        not_revoked(a, &c.root_crl, "Root CA CRL", Some(cert));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPR_QUOTE: &[u8] =
        include_bytes!("../../../../tests/fixtures/tdx-quotes/go-tdx-guest-v4-spr.dat");
    const TCB_INFO: &[u8] =
        include_bytes!("../../../../tests/fixtures/tdx-quotes/collateral/tcb_info.json");

    fn spr() -> (TdQuote, PckExtensions, TcbInfo) {
        let q = TdQuote::parse_allowing_trailing(SPR_QUOTE).unwrap();
        let chain = Cert::load_all(
            String::from_utf8_lossy(&q.pck_chain)
                .trim_end_matches('\0')
                .as_bytes(),
        )
        .unwrap();
        let pck = PckExtensions::read(&chain[0]).unwrap();
        let t = signed_json::<TcbInfo>(TCB_INFO, "tcbInfo").unwrap().value;
        (q, pck, t)
    }

    fn status(a: &Appraisal) -> (bool, String) {
        let c = a
            .checks()
            .iter()
            .find(|c| c.name == "TDX platform TCB status (TCB Info)")
            .unwrap();
        (c.ok, c.actual.clone())
    }

    /// The SPR PCK certificate's SGX extensions as go-tdx-guest's tests use them (FMSPC 50806f000000).
    #[test]
    fn pck_extensions_of_the_spr_quote() {
        let (_, pck, _) = spr();
        assert_eq!(hex::encode(&pck.fmspc), "50806f000000");
        assert_eq!(hex::encode(&pck.pce_id), "0000");
        assert_eq!(pck.pcesvn, 11);
        assert_eq!(pck.cpusvn.len(), 16);
    }

    /// go-tdx-guest `TestSupportedTcbLevelsFromCollateral`: with the first level's component SVNs set to 0
    /// the SPR quote is UpToDate; `TestNegativeTcbInfoTcbStatusV4`: SVNs of 10 match no level, a level
    /// marked OutOfDate gives OutOfDate, a higher PCESVN matches no level.
    #[test]
    fn tcb_level_selection_as_go_tdx_guest() {
        let (q, pck, t) = spr();
        let mut a = Appraisal::new();
        check_tcb_level(&mut a, &q, &pck, &t);
        assert!(!status(&a).0, "the sample's SVNs are above the quote's");

        let zero = |t: &mut TcbInfo, v: u8| {
            let tcb = &mut t.tcb_levels[0].tcb;
            for c in tcb
                .sgxtcbcomponents
                .iter_mut()
                .chain(tcb.tdxtcbcomponents.iter_mut())
            {
                c.svn = v;
            }
        };
        let mut t0 = t.clone();
        zero(&mut t0, 0);
        let mut a = Appraisal::new();
        check_tcb_level(&mut a, &q, &pck, &t0);
        let (ok, actual) = status(&a);
        assert!(
            ok && actual.starts_with("UpToDate (TCB date 2023-02-15"),
            "{actual}"
        );

        let mut t10 = t.clone();
        zero(&mut t10, 10);
        let mut a = Appraisal::new();
        check_tcb_level(&mut a, &q, &pck, &t10);
        assert!(status(&a).1.starts_with("no TCB level matches"));

        let mut out_of_date = t0.clone();
        out_of_date.tcb_levels[0].tcb_status = "OutOfDate".into();
        let mut a = Appraisal::new();
        check_tcb_level(&mut a, &q, &pck, &out_of_date);
        let (ok, actual) = status(&a);
        assert!(!ok && actual.starts_with("OutOfDate"), "{actual}");

        let mut pcesvn = t0.clone();
        pcesvn.tcb_levels[0].tcb.pcesvn = 12;
        pcesvn.tcb_levels.truncate(1);
        let mut a = Appraisal::new();
        check_tcb_level(&mut a, &q, &pck, &pcesvn);
        assert!(status(&a).1.starts_with("no TCB level matches"));
    }

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode(b"a%20b%0A%zz%4"), b"a b\n%zz%4");
        assert_eq!(url_decode(b"plain"), b"plain");
    }

    #[test]
    fn signed_json_takes_the_raw_value() {
        let doc = format!(
            "{{\"enclaveIdentity\":{{\"a\": 1}},\"signature\":\"{}\"}}",
            "00".repeat(64)
        );
        let s: Signed<serde_json::Value> = signed_json(doc.as_bytes(), "enclaveIdentity").unwrap();
        assert_eq!(s.raw, b"{\"a\": 1}");
        assert!(signed_json::<serde_json::Value>(b"{}", "tcbInfo").is_err());
        assert!(
            signed_json::<serde_json::Value>(b"{\"tcbInfo\":{},\"signature\":\"00\"}", "tcbInfo")
                .is_err()
        );
    }
}
