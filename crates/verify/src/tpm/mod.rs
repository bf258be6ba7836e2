//! TPM 2.0 quotes: the signature by the attestation key, freshness (the nonce in `extraData`), the PCR values
//! the quote commits to, and those values against reference PCRs and an event log.
//!
//! Fail-closed defaults, each relaxed only by the relying party's [`TpmPolicy`]:
//!
//! * SHA-1 signatures are refused (the check fails with [`crate::keys::SHA1_REFUSED`]);
//!   [`TpmPolicy::allow_sha1`] accepts them, as tpm2_checkquote, go-attestation and Windows do, and marks the
//!   signature and PCR digest checks weak ([`crate::appraisal::Check::weak`]).
//! * PCR values the quote does not select fail a check, as `tpm2_checkquote` rejects a PCR file that lists
//!   more than the quote (its digest then differs); [`TpmPolicy::allow_extra_pcrs`] ignores them instead (they
//!   are never trusted: only quoted PCRs are compared with anything).
//! * A given nonce is always compared; [`TpmPolicy::require_nonce`] fails the appraisal when there is none to
//!   compare (or it is empty), so that a relying party can demand freshness.

mod ak;
mod reference;
mod request;

pub use ak::Ak;
pub use reference::{EventLogEvidence, ExpectedEvent, LoggedEvent, PcrReference, first_divergence};
pub use request::{TpmRequest, verify_files};

use yardstick_common::hash::{Algorithm, Digest};
use yardstick_tpm::PcrBanks;
use yardstick_tpm::tpm2::{Attest, PcrSelection, QuotePcrs, Signature, alg, public::attr};

use crate::appraisal::Appraisal;
use crate::keys::{Key, SHA1_REFUSED, Scheme, Sig};
use crate::{Error, hex};

/// A quote signature: a `TPMT_SIGNATURE` (`tpm2_quote -s`, default `-f tss`) or the bare signature bytes
/// (`-f plain`; Azure evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteSignature {
    /// A parsed `TPMT_SIGNATURE`.
    Tpmt(Signature),
    /// Raw bytes: an RSA signature, or ECDSA as DER or `r || s`.
    Raw(Vec<u8>),
}

impl QuoteSignature {
    /// Detects the encoding: bytes that start like a `TPMT_SIGNATURE` must parse as one completely.
    pub fn parse(bytes: &[u8]) -> Result<QuoteSignature, Error> {
        if Signature::looks_like(bytes) {
            return Signature::parse(bytes)
                .map(QuoteSignature::Tpmt)
                .map_err(|e| Error::tpm2("TPMT_SIGNATURE", e));
        }
        if bytes.is_empty() {
            return Err(Error::Malformed("empty signature".into()));
        }
        Ok(QuoteSignature::Raw(bytes.to_vec()))
    }
}

/// Reads PCR values: `tpm2_pcrread` output (tpm2-tools 3-5, several banks), the JSON shape of `pcr predict`
/// (`{"sha256": {"0": "<hex>"}}`) or the other PCR lists [`yardstick_tpm::pcrlist`] reads, or a
/// `tpm2_quote -o` file (`serialized`, `marshaled`, or `values` in the order of `quote_selection`).
///
/// Text is told from the binary `tpm2_quote -o` formats by its first non-blank character: `{`, `[` or a
/// letter (`sha256:`, `pcrs:`) start a PCR list; the binary formats start with a count or a digest, which
/// would also have to be valid UTF-8 throughout to be taken for text.
pub fn parse_pcr_values(
    bytes: &[u8],
    quote_selection: Option<&PcrSelection>,
) -> Result<PcrBanks, Error> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .map(|t| t.trim_start_matches('\u{feff}').trim_start());
    match text {
        Some(t)
            if t.starts_with(['{', '[']) || t.starts_with(|c: char| c.is_ascii_alphabetic()) =>
        {
            yardstick_tpm::pcrlist::parse(t)
                .map(|l| l.pcrs)
                .map_err(|e| Error::Malformed(format!("PCR list: {e}")))
        }
        _ => QuotePcrs::parse(bytes, quote_selection)
            .map(|p| p.values)
            .map_err(|e| Error::tpm2("PCR file", e)),
    }
}

/// What the relying party requires of a quote.
#[derive(Debug, Clone, Default)]
pub struct TpmPolicy {
    /// The nonce the quote's `extraData` must equal.
    pub nonce: Option<Vec<u8>>,
    /// Freshness is required: without a (non-empty) [`TpmPolicy::nonce`] the nonce check fails instead of
    /// being noted as not done.
    pub require_nonce: bool,
    /// Accept PCR values the quote does not select (ignored, with a note) instead of failing.
    pub allow_extra_pcrs: bool,
    /// Accept signatures over SHA-1 (marked weak) instead of refusing them.
    pub allow_sha1: bool,
    /// Reference PCR values.
    pub reference: Option<PcrReference>,
    /// A replayed event log that came with the quote.
    pub eventlog: Option<EventLogEvidence>,
}

/// A quote and what comes with it.
#[derive(Debug, Clone, Copy)]
pub struct QuoteInput<'a> {
    /// The marshalled `TPMS_ATTEST` (`tpm2_quote -m`).
    pub message: &'a [u8],
    /// Its signature.
    pub signature: &'a QuoteSignature,
    /// The attestation key.
    pub ak: &'a Ak,
    /// PCR values claimed for the quoted PCRs.
    pub pcrs: &'a PcrBanks,
}

fn hash_alg(id: u16) -> Result<Algorithm, Error> {
    Algorithm::from_tpm_alg_id(id)
        .ok_or_else(|| Error::Malformed(format!("unsupported signature hash {}", alg::name(id))))
}

fn scheme_name(s: Scheme) -> &'static str {
    match s {
        Scheme::RsaPkcs1v15 => "rsassa",
        Scheme::RsaPss { .. } => "rsapss",
        Scheme::Ecdsa => "ecdsa",
    }
}

/// The (scheme, hash) pairs to try for a raw signature: the AK's own scheme if its `TPMT_PUBLIC` names one,
/// else the usual ones for its key type, SHA-256 first (what tpm2-tools, go-tpm and Azure use) and SHA-1 last
/// (tried so that a SHA-1 signature is reported as such, accepted only with [`TpmPolicy::allow_sha1`]).
fn raw_candidates(ak: &Ak) -> Result<Vec<(Scheme, Algorithm)>, Error> {
    if let Some((s, h)) = ak.public.as_ref().and_then(|p| p.scheme) {
        let scheme = match s {
            alg::RSASSA => Scheme::RsaPkcs1v15,
            alg::RSAPSS => Scheme::RsaPss { salt_len: None },
            alg::ECDSA => Scheme::Ecdsa,
            other => {
                return Err(Error::Malformed(format!(
                    "unsupported AK signing scheme {}",
                    alg::name(other)
                )));
            }
        };
        return Ok(vec![(scheme, hash_alg(h)?)]);
    }
    let hashes = [
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
        Algorithm::Sha1,
    ];
    Ok(match ak.key {
        Key::Rsa(_) => hashes
            .iter()
            .flat_map(|h| {
                [
                    (Scheme::RsaPkcs1v15, *h),
                    (Scheme::RsaPss { salt_len: None }, *h),
                ]
            })
            .collect(),
        Key::P256(_) => hashes.iter().map(|h| (Scheme::Ecdsa, *h)).collect(),
        Key::P384(_) => [
            Algorithm::Sha384,
            Algorithm::Sha256,
            Algorithm::Sha512,
            Algorithm::Sha1,
        ]
        .iter()
        .map(|h| (Scheme::Ecdsa, *h))
        .collect(),
    })
}

/// The systemd-pcrphase path (`enter-initrd:leave-initrd`) that takes PCR 11 from `from` to `to`: each
/// phase extends H(word) (systemd `src/pcrextend/pcrextend.c`), in the order of
/// [`yardstick_tpm::predict::PHASES`].
pub fn phase_path(alg: Algorithm, from: &Digest, to: &Digest) -> Option<String> {
    let mut v = *from;
    for (i, word) in yardstick_tpm::predict::PHASES.iter().enumerate() {
        v = alg.extend(&v, &alg.digest(word.as_bytes()));
        if &v == to {
            return Some(yardstick_tpm::predict::PHASES.get(..=i)?.join(":"));
        }
    }
    None
}

/// `sha1:4,7+sha256:4,7` for a set of PCR values.
fn banks_and_pcrs(p: &PcrBanks) -> String {
    let keys: Vec<(Algorithm, u32)> = p.iter().map(|(alg, pcr, _)| (alg, pcr)).collect();
    banks_and_pcrs_of(keys.iter())
}

fn banks_and_pcrs_of<'a>(keys: impl Iterator<Item = &'a (Algorithm, u32)>) -> String {
    let mut by_bank: std::collections::BTreeMap<Algorithm, Vec<String>> = Default::default();
    for (alg, pcr) in keys {
        by_bank.entry(*alg).or_default().push(pcr.to_string());
    }
    by_bank
        .iter()
        .map(|(alg, pcrs)| format!("{alg}:{}", pcrs.join(",")))
        .collect::<Vec<_>>()
        .join("+")
}

/// Verifies a quote. Returns the checks and the parsed `TPMS_ATTEST`.
///
/// The checks, in order: the AK's attributes, the signature, the nonce, the PCR digest, that no PCR values
/// beyond the quoted ones were supplied, the event log's replay ([`TpmPolicy::eventlog`]), the reference PCRs
/// ([`TpmPolicy::reference`]).
///
/// `Err` means the input could not be checked (malformed `TPMS_ATTEST`, unsupported scheme); a signature that
/// does not verify, a wrong nonce or PCR values that do not match are failed checks.
pub fn verify_quote(
    input: QuoteInput<'_>,
    policy: &TpmPolicy,
) -> Result<(Appraisal, Attest), Error> {
    let attest = Attest::parse_quote(input.message).map_err(|e| Error::tpm2("TPMS_ATTEST", e))?;
    let mut a = Appraisal::new();
    check_ak_attributes(&mut a, input.ak);
    let sig_hash = check_signature(&mut a, &input, policy.allow_sha1)?;
    check_nonce(&mut a, policy, &attest);
    // TPM2_Quote hashes the selected PCRs with the signing scheme's hash; fall back to the digest's length
    // when the signature did not tell.
    let digest_alg = sig_hash.unwrap_or_else(|| {
        Algorithm::ALL
            .into_iter()
            .find(|x| x.digest_len() == attest.pcr_digest.len())
            .unwrap_or(Algorithm::Sha256)
    });
    check_pcr_digest(&mut a, &attest, digest_alg, input.pcrs, policy.allow_sha1)?;
    let quoted = Quoted {
        selected: attest
            .pcr_select
            .selected()
            .map_err(|e| Error::tpm2("TPMS_ATTEST", e))?,
        values: input.pcrs,
    };
    check_unquoted_values(&mut a, &quoted, &attest.pcr_select, policy.allow_extra_pcrs);
    if let Some(log) = &policy.eventlog {
        check_eventlog(&mut a, log, &quoted, &attest.pcr_select);
    }
    if let Some(r) = &policy.reference {
        check_reference(
            &mut a,
            r,
            &quoted,
            &attest.pcr_select,
            policy.eventlog.as_ref(),
        );
    }
    let mut quoted_values = PcrBanks::new();
    for (alg, pcr) in &quoted.selected {
        if let Some(v) = quoted.value(*alg, *pcr) {
            quoted_values.set(*pcr, *v);
        }
    }
    a.set_claims(crate::claims::tpm(
        &quoted_values,
        &attest.extra_data,
        input.ak.key.spki_der().as_deref(),
    ));
    a.note(format!(
        "quote: {} PCRs selected ({}), resetCount {}, restartCount {}, clock {} ms",
        quoted.selected.len(),
        attest.pcr_select,
        attest.clock_info.reset_count,
        attest.clock_info.restart_count,
        attest.clock_info.clock
    ));
    Ok((a, attest))
}

/// The PCRs a quote selects, with the values supplied for them.
struct Quoted<'a> {
    /// (bank, PCR) of every selected PCR, in selection order.
    selected: Vec<(Algorithm, u32)>,
    /// The supplied PCR values.
    values: &'a PcrBanks,
}

impl Quoted<'_> {
    /// The supplied value of (`alg`, `pcr`) if the quote selects it.
    fn value(&self, alg: Algorithm, pcr: u32) -> Option<&Digest> {
        self.selected
            .contains(&(alg, pcr))
            .then(|| self.values.get(alg, pcr))
            .flatten()
    }
}

/// The AK's `TPMA_OBJECT`: a restricted signing key that never leaves its TPM (a note when the AK came
/// without its TPM description).
fn check_ak_attributes(a: &mut Appraisal, ak: &Ak) {
    let Some(p) = &ak.public else {
        a.note(format!(
            "AK given as {}: its TPM attributes (restricted signing key) cannot be checked",
            ak.format
        ));
        return;
    };
    let need = attr::RESTRICTED | attr::SIGN | attr::FIXED_TPM;
    let ok = p.attributes & need == need && p.attributes & attr::DECRYPT == 0;
    let have: Vec<&str> = [
        (attr::FIXED_TPM, "fixedTPM"),
        (attr::RESTRICTED, "restricted"),
        (attr::SIGN, "sign"),
        (attr::DECRYPT, "decrypt"),
    ]
    .into_iter()
    .filter(|(bit, _)| p.attributes & bit != 0)
    .map(|(_, name)| name)
    .collect();
    a.check(
        "AK is a restricted signing key (TPMA_OBJECT)",
        ok,
        "fixedTPM restricted sign",
        format!("{} (0x{:08x})", have.join(" "), p.attributes),
    );
}

/// A (scheme, hash) pair to check a signature with, and the signature in the form the scheme takes.
type Candidate<'s> = ((Scheme, Algorithm), Sig<'s>);

/// The (scheme, hash) pairs to check a signature with, each with the signature in the form its scheme
/// takes: the one a `TPMT_SIGNATURE` names, or for raw bytes the AK's candidates ([`raw_candidates`]).
fn signature_candidates<'s>(
    signature: &'s QuoteSignature,
    ak: &Ak,
) -> Result<Vec<Candidate<'s>>, Error> {
    Ok(match signature {
        QuoteSignature::Tpmt(s) => {
            let h = hash_alg(s.hash())?;
            vec![match s {
                Signature::RsaSsa { sig, .. } => ((Scheme::RsaPkcs1v15, h), Sig::Bytes(sig)),
                Signature::RsaPss { sig, .. } => {
                    ((Scheme::RsaPss { salt_len: None }, h), Sig::Bytes(sig))
                }
                Signature::Ecdsa { r, s, .. } => ((Scheme::Ecdsa, h), Sig::Scalars { r, s }),
            }]
        }
        QuoteSignature::Raw(b) => raw_candidates(ak)?
            .into_iter()
            .map(|c| (c, Sig::Bytes(b)))
            .collect(),
    })
}

/// The signature over H(`TPMS_ATTEST`) by the AK; over SHA-1 only if `allow_sha1` (then marked weak).
/// Returns the signature's hash when it tells one (a `TPMT_SIGNATURE`, or a raw signature that verified with
/// it).
fn check_signature(
    a: &mut Appraisal,
    input: &QuoteInput<'_>,
    allow_sha1: bool,
) -> Result<Option<Algorithm>, Error> {
    let ak = input.ak;
    let candidates = signature_candidates(input.signature, ak)?;
    let mut first_err = None;
    let mut verified = None;
    for ((scheme, hash), sig) in &candidates {
        let r = if allow_sha1 {
            ak.key
                .verify_allowing_sha1(*scheme, *hash, input.message, *sig)
        } else {
            ak.key.verify(*scheme, *hash, input.message, *sig)
        };
        match r {
            Ok(()) => {
                verified = Some((*scheme, *hash));
                break;
            }
            // A signature that verifies but over SHA-1 says so, whichever candidate came first.
            Err(e) if e == SHA1_REFUSED => first_err = Some(e),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let (scheme, sig_hash) = verified
        .or(candidates.first().map(|(c, _)| *c))
        .unwrap_or((Scheme::Ecdsa, Algorithm::Sha256));
    let tpmt = matches!(input.signature, QuoteSignature::Tpmt(_));
    let scheme_desc = match (tpmt, verified) {
        (true, _) => format!("{} {sig_hash}", scheme_name(scheme)),
        (false, Some(_)) => format!("{} {sig_hash}, raw signature", scheme_name(scheme)),
        (false, None) => "raw signature".to_string(),
    };
    let name = format!("quote signature (AK, {scheme_desc})");
    let expected = format!(
        "signature by AK {} {}",
        ak.key.describe(),
        ak.key.fingerprint()
    );
    let actual = match verified {
        Some(_) => "signature verifies".to_string(),
        None => first_err.unwrap_or_else(|| "no signature scheme to try".into()),
    };
    if verified.is_some_and(|(_, h)| h == Algorithm::Sha1) {
        a.check_weak(name, true, expected, actual, SHA1_WEAK);
    } else {
        a.check(name, verified.is_some(), expected, actual);
    }
    Ok((tpmt || verified.is_some()).then_some(sig_hash))
}

/// Why a check over SHA-1 accepted by [`TpmPolicy::allow_sha1`] is weak.
const SHA1_WEAK: &str = "SHA-1, accepted by --allow-sha1";

/// Freshness: the quote's `extraData` against the nonce, always when one is given; without one a note, or
/// with [`TpmPolicy::require_nonce`] a failed check (an empty nonce proves no freshness either).
fn check_nonce(a: &mut Appraisal, policy: &TpmPolicy, attest: &Attest) {
    const NAME: &str = "quote nonce (extraData)";
    let extra = hex::encode(&attest.extra_data);
    match policy.nonce.as_deref() {
        Some(n) if n.is_empty() && policy.require_nonce => {
            a.check(
                NAME,
                false,
                "a nonce of at least one byte (freshness required)",
                format!("empty nonce given; extraData {extra}"),
            );
        }
        Some(n) => {
            a.equal(NAME, hex::encode(n), extra);
        }
        None if policy.require_nonce => {
            a.check(
                NAME,
                false,
                "a nonce to compare (freshness required)",
                format!("no nonce given; extraData {extra}"),
            );
        }
        None => a.note(format!(
            "quote extraData {extra} not compared: no nonce given, so freshness is not checked"
        )),
    }
}

/// The supplied PCR values hash (with `digest_alg`) to the quote's PCR digest, and the quote selects PCRs. A
/// SHA-1 digest accepted with `allow_sha1` is marked weak.
fn check_pcr_digest(
    a: &mut Appraisal,
    attest: &Attest,
    digest_alg: Algorithm,
    pcrs: &PcrBanks,
    allow_sha1: bool,
) -> Result<(), Error> {
    let selection = &attest.pcr_select;
    if selection.is_empty() {
        a.check(
            "quote selects PCRs",
            false,
            "at least one PCR",
            "empty selection",
        );
    }
    let computed = selection
        .digest(digest_alg, pcrs)
        .map_err(|e| Error::tpm2("TPMS_ATTEST", e))?;
    let name = format!("PCR digest of the supplied values = quoted ({selection}, {digest_alg})");
    let ok = computed
        .as_ref()
        .is_ok_and(|d| d.as_ref() == attest.pcr_digest.as_slice());
    let expected = hex::encode(&attest.pcr_digest);
    let actual = match &computed {
        Ok(d) => d.to_hex(),
        Err(m) => m.to_string(),
    };
    // A SHA-1 PCR digest comes with a SHA-1 signature, which only --allow-sha1 accepts.
    if digest_alg == Algorithm::Sha1 && allow_sha1 {
        a.check_weak(name, ok, expected, actual, SHA1_WEAK);
    } else {
        a.check(name, ok, expected, actual);
    }
    Ok(())
}

/// PCR values supplied for PCRs the quote does not select: nothing vouches for them. They fail a check (as
/// `tpm2_checkquote` rejects such a PCR file), or with `allow` are noted and ignored.
fn check_unquoted_values(
    a: &mut Appraisal,
    quoted: &Quoted<'_>,
    selection: &PcrSelection,
    allow: bool,
) {
    let extra: Vec<(Algorithm, u32)> = quoted
        .values
        .iter()
        .map(|(alg, pcr, _)| (alg, pcr))
        .filter(|k| !quoted.selected.contains(k))
        .collect();
    if extra.is_empty() {
        return;
    }
    let extra = banks_and_pcrs_of(extra.iter());
    if allow {
        a.note(format!(
            "PCR values the quote does not select, ignored (not trusted): {extra}"
        ));
    } else {
        a.check(
            "supplied PCR values are the quoted ones",
            false,
            format!("values for {selection} only"),
            format!("also {extra}, which the quote does not cover"),
        );
    }
}

/// The event log's replay against every quoted PCR it covers; it must cover one.
///
/// The log is only evidence if it reproduces every quoted PCR it covers; a PCR it has no event for (IMA's
/// PCR 10, a bootloader's PCR 8/9 without a log) is not described by it, and is noted.
fn check_eventlog(
    a: &mut Appraisal,
    log: &EventLogEvidence,
    quoted: &Quoted<'_>,
    selection: &PcrSelection,
) {
    let mut replayed_any = false;
    for (bank, pcr, replayed) in log.replayed.iter() {
        if let Some(q) = quoted.value(bank, pcr) {
            replayed_any = true;
            check_replayed_pcr(a, log, (bank, pcr), replayed, q);
        }
    }
    if !replayed_any {
        a.check(
            "event log covers a quoted PCR",
            false,
            format!("events for at least one of {selection}"),
            format!(
                "the log replays {}",
                if log.replayed.is_empty() {
                    "no PCR".to_string()
                } else {
                    banks_and_pcrs(&log.replayed)
                }
            ),
        );
    }
    let unlogged: Vec<String> = quoted
        .selected
        .iter()
        .filter(|(alg, pcr)| {
            log.replayed.get(*alg, *pcr).is_none()
                && quoted.value(*alg, *pcr).is_some_and(|v| *v != alg.zero())
        })
        .map(|(alg, pcr)| format!("{alg}:{pcr}"))
        .collect();
    if !unlogged.is_empty() {
        a.note(format!(
            "quoted PCRs with no event in the log (not checked against it): {}",
            unlogged.join(" ")
        ));
    }
    for n in &log.notes {
        a.note(format!("event log: {n}"));
    }
}

/// One quoted PCR against the log's replay of it.
///
/// systemd-pcrphase extends PCR 11 from userspace after the firmware log ends (its events go to systemd's
/// own log): a quoted PCR 11 that is the replay followed by a phase path is consistent with the log. Any
/// other difference is explained as far as the log tells ([`EventLogEvidence::explain_quoted`]).
fn check_replayed_pcr(
    a: &mut Appraisal,
    log: &EventLogEvidence,
    (bank, pcr): (Algorithm, u32),
    replayed: &Digest,
    quoted: &Digest,
) {
    let mut actual = quoted.to_hex();
    let phases = (pcr == 11 && quoted != replayed)
        .then(|| phase_path(bank, replayed, quoted))
        .flatten();
    if let Some(path) = &phases {
        actual = format!("{actual} (the log's events, then systemd-pcrphase {path})");
    } else if quoted != replayed
        && let Some(why) = log.explain_quoted(bank, pcr, quoted)
    {
        actual = format!("{actual} quoted; {why}");
    }
    a.check(
        format!("event log replay PCR {pcr} {bank} = quoted"),
        quoted == replayed || phases.is_some(),
        replayed,
        actual,
    );
}

/// The quoted PCRs against the reference PCRs.
///
/// A bank the quote does not select at all is left out (a quote of the sha256 bank attests the platform; the
/// reference's sha1 values add nothing) and noted; within a quoted bank every reference PCR must be covered.
/// A PCR that differs names the first event of the log that leaves the reference's expected events.
fn check_reference(
    a: &mut Appraisal,
    r: &PcrReference,
    quoted: &Quoted<'_>,
    selection: &PcrSelection,
    eventlog: Option<&EventLogEvidence>,
) {
    let quoted_banks: Vec<Algorithm> = quoted.selected.iter().map(|(alg, _)| *alg).collect();
    let mut skipped: Vec<String> = Vec::new();
    let mut compared = 0usize;
    for ((bank, pcr), want) in &r.values {
        if !quoted_banks.contains(bank) {
            skipped.push(format!("{bank}:{pcr}"));
            continue;
        }
        compared += 1;
        let name = format!("PCR {pcr} {bank} ({})", r.source);
        let expected: Vec<String> = want.iter().map(Digest::to_hex).collect();
        let expected = expected.join(" or ");
        match quoted.value(*bank, *pcr) {
            None => {
                a.check(
                    name,
                    false,
                    expected,
                    format!("not covered by the quote ({selection})"),
                );
            }
            Some(v) if want.contains(v) => {
                a.check(name, true, expected, v);
            }
            Some(v) => {
                let mut actual = v.to_hex();
                if let (Some(log), Some(ev)) = (eventlog, r.events.get(&(*bank, *pcr)))
                    && let Some(d) = first_divergence(*bank, *pcr, ev, &log.events)
                {
                    actual.push_str("; ");
                    actual.push_str(&d);
                }
                a.check(name, false, expected, actual);
            }
        }
    }
    if compared == 0 {
        a.check(
            format!("quote covers the reference PCRs ({})", r.source),
            false,
            banks_and_pcrs_of(r.values.keys()),
            format!("{selection}"),
        );
    } else if !skipped.is_empty() {
        a.note(format!(
            "reference PCRs of banks the quote does not select, not compared: {}",
            skipped.join(" ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PCR 11 after `enter-initrd` then `leave-initrd`, extended by hand as systemd-pcrphase does.
    #[test]
    fn phase_paths() {
        let a = Algorithm::Sha256;
        let stub = a.digest(b"stub");
        let one = a.extend(&stub, &a.digest(b"enter-initrd"));
        let two = a.extend(&one, &a.digest(b"leave-initrd"));
        assert_eq!(phase_path(a, &stub, &one).as_deref(), Some("enter-initrd"));
        assert_eq!(
            phase_path(a, &stub, &two).as_deref(),
            Some("enter-initrd:leave-initrd")
        );
        assert_eq!(phase_path(a, &stub, &stub), None, "no phase is not a path");
        assert_eq!(phase_path(a, &one, &stub), None);
    }
}
