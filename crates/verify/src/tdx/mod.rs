//! Intel TDX: bare TD quotes (DCAP quote v4 and v5, TD 1.0 and TD 1.5 bodies) as a relying party receives
//! them from a TD, and the TD quote inside Azure TDX evidence ([`crate::azure`] uses [`quote`]).
//!
//! Chain of trust: Intel SGX Root CA (pinned, [`INTEL_SGX_ROOT_CA_SHA256`]) → PCK CA → PCK certificate →
//! QE report (signed by the PCK key) → REPORTDATA = SHA-256(attestation key || QE auth data) → the quote
//! signature by the attestation key over header and body → MRTD, RTMRs, REPORTDATA. With Intel's collateral
//! ([`collateral`]): the platform and QE TCB status and revocation. With the TD's CC event log (CCEL): its
//! replay against the quoted RTMRs.
//!
//! [`verify_quote`] runs everything on parsed inputs; [`verify_files`] reads them from files as
//! `yardstick verify tdx` names them.
//!
//! ```
//! use yardstick_verify::tdx::TdQuote;
//! let e = TdQuote::parse(&[4, 0, 2, 0, 0x81, 0, 0, 0]).unwrap_err();
//! assert!(e.to_string().starts_with("TD quote: truncated header"));
//! ```

pub mod collateral;
pub mod pck;
pub mod quote;
mod request;

pub use collateral::Collateral;
pub use quote::{INTEL_SGX_ROOT_CA_SHA256, TdQuote, signature_checks, verify_td_quote};
pub use request::{TdxRequest, verify_files};

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_refvals::TdxLaunch;
use yardstick_tpm::eventlog::EventLog;
use yardstick_tpm::replay::{ValueMatch, replay};

use crate::appraisal::Appraisal;
use crate::{Error, hex};

/// Acceptable TDX measurements: configurations from a manifest's `tdx` section.
#[derive(Debug, Clone)]
pub struct TdxReference {
    /// Where they came from (the manifest's path), named in the checks.
    pub source: String,
    /// The configurations; the quote must match one.
    pub launches: Vec<TdxLaunch>,
}

/// What the relying party requires of a TD quote.
#[derive(Debug, Clone, Default)]
pub struct TdxPolicy {
    /// Verification time for certificates and collateral, Unix seconds (`None` = now).
    pub now: Option<u64>,
    /// The REPORTDATA the quote must carry (64 bytes).
    pub report_data: Option<[u8; 64]>,
    /// Reference MRTD / RTMRs.
    pub reference: Option<TdxReference>,
    /// The TD's CC event log, to replay against the quoted RTMRs.
    pub ccel: Option<EventLog>,
    /// Intel's collateral (TCB Info, QE Identity, CRLs).
    pub collateral: Option<Collateral>,
}

/// Verifies a bare TD quote.
///
/// The checks, in order: [`signature_checks`] (QE vendor, quote signature, QE report binding, PCK chain,
/// QE report signature, debug attribute), then with collateral the TCB Info / QE Identity / CRL checks
/// ([`collateral::check_collateral`]), REPORTDATA, the reference MRTD and RTMRs, and the CCEL replay. XFAM,
/// MRSEAM and the TEE TCB SVN are reported as notes; what was not checked is said in notes.
pub fn verify_quote(q: &TdQuote, policy: &TdxPolicy) -> Result<Appraisal, Error> {
    let now = policy.now.unwrap_or_else(crate::snp::now_secs);
    let mut a = Appraisal::new();
    let chain = signature_checks(&mut a, q, now)?;
    let instance = chain
        .first()
        .and_then(pck::PckExtensions::read)
        .and_then(|e| e.platform_instance_id);
    a.set_claims(crate::claims::tdx(
        q,
        policy.ccel.as_ref(),
        instance.as_deref(),
    ));
    match &policy.collateral {
        Some(c) => collateral::check_collateral(&mut a, q, &chain, c, now)?,
        None => a.note(
            "not checked (no --collateral): the TDX platform TCB status (TCB Info for the PCK's FMSPC), the QE \
             identity and TCB status (QE Identity) and revocation (PCK and Root CA CRLs)",
        ),
    }
    if let Some(rd) = &policy.report_data {
        a.equal("REPORTDATA", hex::encode(rd), hex::encode(q.report_data()));
    }
    match &policy.reference {
        Some(r) => check_reference(&mut a, q, r),
        None => a.note("no reference values (--refvals): MRTD and RTMRs not compared"),
    }
    match &policy.ccel {
        Some(log) => check_ccel(&mut a, q, log),
        None => a.note("no CC event log (--ccel): the RTMRs are not explained by events"),
    }
    a.note(format!(
        "TD quote v{} ({} body): MRTD {}, RTMR0 {}, RTMR1 {}, RTMR2 {}, RTMR3 {}",
        q.version,
        if q.is_td15() { "TD 1.5" } else { "TD 1.0" },
        hex::encode(q.mrtd()),
        hex::encode(q.rtmr(0)),
        hex::encode(q.rtmr(1)),
        hex::encode(q.rtmr(2)),
        hex::encode(q.rtmr(3)),
    ));
    if q.trailing > 0 {
        a.note(format!(
            "{} bytes after the quote's signature data ignored (no signature covers them)",
            q.trailing
        ));
    }
    a.note(format!(
        "TD attributes {:016x}, XFAM {:016x}, MRSEAM {}, TEE_TCB_SVN {}",
        q.td_attributes(),
        q.xfam(),
        hex::encode(q.mrseam()),
        hex::encode(q.tee_tcb_svn())
    ));
    Ok(a)
}

/// MRTD must be one configuration's, and that configuration's predicted RTMRs must be the quoted ones.
fn check_reference(a: &mut Appraisal, q: &TdQuote, r: &TdxReference) {
    let mrtd = hex::encode(q.mrtd());
    let matching: Vec<&TdxLaunch> = r
        .launches
        .iter()
        .filter(|l| l.mrtd.to_hex() == mrtd)
        .collect();
    let listed: Vec<String> = r.launches.iter().map(|l| l.mrtd.to_hex()).collect();
    a.check(
        format!("MRTD ({})", r.source),
        !matching.is_empty(),
        format!("one of {}", listed.join(" | ")),
        &mrtd,
    );
    if matching.is_empty() {
        return;
    }
    // Of the configurations with this MRTD, the first whose RTMRs all match; else the first, to report.
    let rtmr_ok = |l: &TdxLaunch| {
        l.rtmrs()
            .iter()
            .enumerate()
            .all(|(i, want)| want.is_none_or(|w| w.to_hex() == hex::encode(q.rtmr(i))))
    };
    let chosen = matching
        .iter()
        .find(|l| rtmr_ok(l))
        .or(matching.first())
        .copied();
    if let Some(l) = chosen {
        for (i, want) in l.rtmrs().iter().enumerate() {
            if let Some(w) = want {
                a.equal(
                    format!(
                        "RTMR{i} ({}, {} MiB, {} vCPUs)",
                        r.source, l.memory_mib, l.vcpus
                    ),
                    w.to_hex(),
                    hex::encode(q.rtmr(i)),
                );
            }
        }
    }
}

/// The CCEL's replay against the quoted RTMRs. The log's events carry the CC measurement register index
/// (1..=4 for RTMR0..3; 0 would be MRTD, which no event extends); each is SHA-384.
fn check_ccel(a: &mut Appraisal, q: &TdQuote, log: &EventLog) {
    let bad_digest = log
        .events()
        .iter()
        .find(|e| e.is_extended() && e.data_digest_matches() == Some(false));
    a.check(
        "CCEL events' digests match their data",
        bad_digest.is_none(),
        "every event whose digest is the hash of its data",
        match bad_digest {
            Some(e) => format!(
                "event #{} ({}, RTMR{}) does not: {}",
                e.number(),
                e.event_type(),
                e.pcr().saturating_sub(1),
                e.describe()
            ),
            None => "all do".to_string(),
        },
    );
    let r = replay(log);
    let name = |n: usize| {
        log.event(n)
            .map(|e| format!("#{n} {}", e.event_type()))
            .unwrap_or_else(|| format!("#{n}"))
    };
    for i in 0..4u32 {
        let Some(quoted) = Digest::from_bytes(Algorithm::Sha384, q.rtmr(i as usize)) else {
            continue;
        };
        let mr = i + 1;
        let replayed = r
            .pcrs()
            .get(Algorithm::Sha384, mr)
            .copied()
            .unwrap_or_else(|| Algorithm::Sha384.zero());
        let steps = r.steps(Algorithm::Sha384, mr);
        let mut actual = quoted.to_hex();
        if quoted != replayed {
            let why = match r.find_value(Algorithm::Sha384, mr, &quoted) {
                Some(ValueMatch::Initial) => format!(
                    "the quoted value is RTMR{i}'s initial value: none of the log's {} events for it is in the quote",
                    steps.len()
                ),
                Some(ValueMatch::AfterEvent { event, step }) => format!(
                    "the quote covers the log up to event {}; its later events for RTMR{i} ({}) are not in the quote",
                    name(event),
                    steps
                        .iter()
                        .skip(step + 1)
                        .map(|s| name(s.event))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!(
                    "no prefix of the log's {} events for RTMR{i} ({}) gives the quoted value: an event was \
                     changed, added or removed (the quote alone cannot tell which)",
                    steps.len(),
                    match (steps.first(), steps.last()) {
                        (Some(a), Some(b)) => format!("{} .. {}", name(a.event), name(b.event)),
                        _ => "none".to_string(),
                    }
                ),
            };
            actual = format!("{actual} quoted; {why}");
        }
        a.check(
            format!("CCEL replay RTMR{i} = quoted"),
            quoted == replayed,
            replayed.to_hex(),
            actual,
        );
    }
    for n in r.notes() {
        a.note(format!("CCEL: {n}"));
    }
}
