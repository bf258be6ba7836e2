//! The SEV-SNP relying-party checks, in the order a reader would do them by hand: root pin, chain, report
//! signature, TCB, policy, bindings, reference values.

use super::{AttestationReport, Product, VcekExtensions, vcek_oid};
use crate::appraisal::Appraisal;
use crate::keys::{Key, Scheme, Sig};
use crate::x509::{Cert, CertError};
use crate::{Error, hex};
use yardstick_common::hash::Algorithm;
use yardstick_snp::report::Signature;

/// Reference values for the launch: the report's MEASUREMENT must equal one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnpReference {
    /// Acceptable launch digests.
    pub measurements: Vec<[u8; 48]>,
    /// Where they came from (`--measurement`, a manifest path), for messages.
    pub source: String,
}

impl SnpReference {
    /// Both sets of digests, `self`'s first, as one reference named after both (`--measurement + m.json`).
    pub fn merged(mut self, other: SnpReference) -> SnpReference {
        self.measurements.extend(other.measurements);
        self.source = format!("{} + {}", self.source, other.source);
        self
    }
}

/// What the relying party requires beyond a genuine report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnpPolicy {
    /// Accept guests whose policy allows debugging (the hypervisor can then read guest memory).
    pub allow_debug: bool,
    /// Accept guests whose policy allows a migration agent.
    pub allow_migration_agent: bool,
    /// Accept guests whose policy allows SMT.
    pub allow_smt: bool,
    /// Required VMPL of the report request, if any.
    pub vmpl: Option<u32>,
    /// Required REPORT_DATA (a nonce or a hash binding a key), if any.
    pub report_data: Option<[u8; 64]>,
    /// Required HOST_DATA, if any.
    pub host_data: Option<[u8; 32]>,
    /// Reference launch digests, if any.
    pub reference: Option<SnpReference>,
    /// Time for certificate validity, Unix seconds (`None` = now).
    pub now: Option<u64>,
}

/// The guest-policy requirements a relying party chooses (`--allow-debug`, `--allow-migration-agent`,
/// `--no-smt`), for SEV-SNP reports and for Azure SNP evidence alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestRules {
    /// Accept guests whose policy allows debugging.
    pub allow_debug: bool,
    /// Accept guests whose policy allows a migration agent.
    pub allow_migration_agent: bool,
    /// Accept guests whose policy allows SMT.
    pub allow_smt: bool,
}

impl Default for GuestRules {
    /// As [`SnpPolicy::default`]: debug and migration agent refused, SMT allowed.
    fn default() -> GuestRules {
        GuestRules {
            allow_debug: false,
            allow_migration_agent: false,
            allow_smt: true,
        }
    }
}

impl GuestRules {
    /// The default [`SnpPolicy`] with these rules.
    pub fn policy(self) -> SnpPolicy {
        SnpPolicy {
            allow_debug: self.allow_debug,
            allow_migration_agent: self.allow_migration_agent,
            allow_smt: self.allow_smt,
            ..SnpPolicy::default()
        }
    }
}

impl Default for SnpPolicy {
    /// Debug and migration agent refused, SMT allowed, VMPL 0, no bindings, no reference values.
    fn default() -> SnpPolicy {
        SnpPolicy {
            allow_debug: false,
            allow_migration_agent: false,
            allow_smt: true,
            vmpl: Some(0),
            report_data: None,
            host_data: None,
            reference: None,
            now: None,
        }
    }
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks a certificate's validity period at `now` and records it.
pub(crate) fn check_validity(a: &mut Appraisal, what: &str, cert: &Cert, now: u64) {
    let (nb, na) = cert.validity();
    a.check(
        format!("{what} validity"),
        nb <= now && now <= na,
        format!("valid {} to {}", iso(nb), iso(na)),
        format!("checked at {}", iso(now)),
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub(crate) fn iso(secs: u64) -> String {
    yardstick_common::time::Civil::from_unix(secs).rfc3339()
}

/// Verifies an AMD certificate chain ARK → ASK → VEK (VCEK or VLEK) and returns the pinned product.
///
/// The checks, in order: the ARK's pin, the three signatures, the three validity periods. A certificate not
/// signed or keyed as AMD's are (a fake ARK signed with PKCS#1 v1.5 or ECDSA, an RSA VCEK) is evidence that
/// does not verify: its signature check fails, naming the algorithm. Only a certificate whose key or
/// signature cannot be decoded at all is an error.
pub(crate) fn verify_amd_chain(
    a: &mut Appraisal,
    vek: &Cert,
    ask: &Cert,
    ark: &Cert,
    now: u64,
) -> Result<Option<Product>, Error> {
    let pinned = check_ark_pin(a, ark);
    let ark_key = rsa_key("ARK", ark)?;
    let ask_key = rsa_key("ASK", ask)?;
    check_signed_by(a, "ARK self-signature", (ark, "ARK"), ark, &ark_key)?;
    check_signed_by(a, "ASK signed by ARK", (ask, "ASK"), ark, &ark_key)?;
    check_signed_by(a, "VCEK signed by ASK", (vek, "VCEK"), ask, &ask_key)?;
    check_validity(a, "ARK", ark, now);
    check_validity(a, "ASK", ask, now);
    check_validity(a, "VCEK", vek, now);
    Ok(pinned)
}

/// The ARK is one of AMD's roots ([`super::PINNED_ARKS`]); returns its product.
fn check_ark_pin(a: &mut Appraisal, ark: &Cert) -> Option<Product> {
    let ark_fp = ark.fingerprint_sha256();
    let pinned = super::product_for_ark(&ark_fp);
    let pins: Vec<String> = super::PINNED_ARKS
        .iter()
        .map(|(p, f)| format!("ARK-{p} {f}"))
        .collect();
    a.check(
        "ARK is an AMD root (SHA-256 pin)",
        pinned.is_some(),
        pins.join(" | "),
        format!("{} {}", ark.subject_cn(), ark_fp),
    );
    pinned
}

/// AMD signs all three certificates with RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt. `Ok(Err(why))`:
/// certificate `who` is signed otherwise (a failed check); `Err`: its signature cannot be decoded.
fn amd_signature_algorithm(who: &'static str, c: &Cert) -> Result<Result<(), String>, Error> {
    let alg = match c.signature_algorithm() {
        Ok(alg) => alg,
        Err(CertError::Algorithm(why)) => {
            return Ok(Err(format!("{why}, expected RSA-PSS sha384 salt 48")));
        }
        Err(e) => return Err(Error::cert(who, e)),
    };
    if alg.scheme != (Scheme::RsaPss { salt_len: Some(48) }) || alg.hash != Algorithm::Sha384 {
        return Ok(Err(format!(
            "signed with {alg}, expected RSA-PSS sha384 salt 48"
        )));
    }
    Ok(Ok(()))
}

/// The RSA key of certificate `who` (the ARK's and ASK's are RSA-4096). `Ok(Err(why))`: a key of another
/// algorithm (a failed check where it signs); `Err`: a key that cannot be decoded.
fn rsa_key(who: &'static str, c: &Cert) -> Result<Result<Key, String>, Error> {
    match c.public_key() {
        Ok(k @ Key::Rsa(_)) => Ok(Ok(k)),
        Ok(k) => Ok(Err(format!(
            "{who} has an {} key, expected RSA",
            k.describe()
        ))),
        Err(CertError::Algorithm(why)) => Ok(Err(format!("{who} key: {why}, expected RSA"))),
        Err(e) => Err(Error::cert(who, e)),
    }
}

/// `child` (certificate `who`) is signed, as AMD signs, with `key` (the issuer's RSA key, or why there is
/// none) and names `issuer` as its issuer.
fn check_signed_by(
    a: &mut Appraisal,
    name: &str,
    (child, who): (&Cert, &'static str),
    issuer: &Cert,
    key: &Result<Key, String>,
) -> Result<(), Error> {
    let sig = match (amd_signature_algorithm(who, child)?, key) {
        (Err(why), _) => Err(why),
        (Ok(()), Err(why)) => Err(why.clone()),
        (Ok(()), Ok(key)) => child
            .verify_signature(key)
            .map_err(|e| Error::cert(who, e))?,
    };
    let names = child.issued_by_name(issuer);
    let actual = match (&sig, names) {
        (Ok(()), true) => "signature verifies".to_string(),
        (Err(e), _) => e.clone(),
        (Ok(()), false) => format!(
            "issuer {:?} is not {:?}",
            child.issuer_cn(),
            issuer.subject_cn()
        ),
    };
    a.check(
        name,
        sig.is_ok() && names,
        format!("signed by {} (RSA-PSS SHA-384)", issuer.subject_cn()),
        actual,
    );
    Ok(())
}

/// Verifies `report` against its VCEK (or VLEK), the AMD chain and `policy`.
///
/// The checks, in order: the AMD chain (ARK pin, signatures, validity), the product, the report's signature algorithm
/// and signing key, its signature, the VCEK's hwID and TCB extensions, the guest policy, VMPL, bindings and
/// reference values.
///
/// `Err` means the input could not be checked at all (a certificate whose key or signature cannot be decoded);
/// every verdict on the evidence itself is a check in the returned [`Appraisal`], including certificates
/// signed or keyed otherwise than AMD's are.
pub fn verify_report(
    report: &AttestationReport,
    vek: &Cert,
    ask: &Cert,
    ark: &Cert,
    policy: &SnpPolicy,
) -> Result<Appraisal, Error> {
    let now = policy.now.unwrap_or_else(now_secs);
    let mut a = Appraisal::new();
    let pinned = verify_amd_chain(&mut a, vek, ask, ark, now)?;
    let product = report_product(&mut a, report, pinned);
    let is_vlek = check_signing_key(&mut a, report, vek);
    let vek_key = p384_key(vek)?;
    check_report_signature(&mut a, report, vek, vek_key.as_ref());
    check_vcek_extensions(&mut a, report, vek, product, is_vlek);
    check_policy(&mut a, report, policy);
    a.set_claims(crate::claims::snp(report, product));
    Ok(a)
}

/// The product, which decides the TCB layout: from the report's CPUID fields (v3+, checked against the
/// pinned root), else from the pinned root, else Milan.
fn report_product(
    a: &mut Appraisal,
    report: &AttestationReport,
    pinned: Option<Product>,
) -> Product {
    match (report.product_from_cpuid(), pinned) {
        (Some(Ok(p)), pinned) => {
            if let Some(q) = pinned {
                a.equal("product (report CPUID vs ARK)", q, p);
            }
            p
        }
        (Some(Err((fam, model))), _) => {
            a.check(
                "product (report CPUID)",
                false,
                "Milan, Genoa or Turin",
                format!("family {fam:#x} model {model:#x}"),
            );
            pinned.unwrap_or(Product::Milan)
        }
        (None, Some(p)) => {
            a.note(format!(
                "report version {} has no CPUID fields: product {p} taken from the ARK",
                report.version
            ));
            p
        }
        (None, None) => Product::Milan,
    }
}

/// The report's signature algorithm, and its KEY_INFO naming the kind of key the certificate is (a VLEK's
/// common name says so). Returns true for a VLEK.
fn check_signing_key(a: &mut Appraisal, report: &AttestationReport, vek: &Cert) -> bool {
    a.equal(
        "report signature algorithm",
        "1 (ECDSA P-384 SHA-384)",
        match report.signature_algo {
            1 => "1 (ECDSA P-384 SHA-384)".to_string(),
            n => n.to_string(),
        },
    );
    let is_vlek = vek.subject_cn().contains("VLEK");
    a.equal(
        "signing key (report KEY_INFO vs certificate)",
        if is_vlek { "1 (VLEK)" } else { "0 (VCEK)" },
        match report.signing_key() {
            0 => "0 (VCEK)".to_string(),
            1 => "1 (VLEK)".to_string(),
            n => format!("{n} (none)"),
        },
    );
    is_vlek
}

/// The VCEK's key, which must be ECDSA P-384. `Ok(Err(why))`: a key of another algorithm (the report
/// signature check fails); `Err`: a key that cannot be decoded.
fn p384_key(vek: &Cert) -> Result<Result<Key, String>, Error> {
    match vek.public_key() {
        Ok(k @ Key::P384(_)) => Ok(Ok(k)),
        Ok(k) => Ok(Err(format!(
            "VCEK has an {} key, expected ECDSA P-384",
            k.describe()
        ))),
        Err(CertError::Algorithm(why)) => Ok(Err(format!("VCEK key: {why}, expected ECDSA P-384"))),
        Err(e) => Err(Error::cert("VCEK", e)),
    }
}

/// The report's signature by the VCEK (whose key is `key`, or not ECDSA P-384 for the reason given), and
/// the unsigned bytes after it are zero.
fn check_report_signature(
    a: &mut Appraisal,
    report: &AttestationReport,
    vek: &Cert,
    key: Result<&Key, &String>,
) {
    let signature = report.signature();
    let sig_result = match key {
        Ok(key) => report_signature(key, report.signed_bytes(), &signature),
        Err(why) => Err(why.clone()),
    };
    a.check(
        "report signature (VCEK, ECDSA P-384 SHA-384)",
        sig_result.is_ok(),
        format!(
            "signature by {} {}",
            vek.subject_cn(),
            key.map(|k| k.fingerprint())
                .unwrap_or_else(|_| "(ECDSA P-384 key)".into())
        ),
        sig_result
            .err()
            .unwrap_or_else(|| "signature verifies".into()),
    );
    let nonzero = signature.first_nonzero_reserved();
    a.check(
        "unsigned reserved bytes after the signature are zero",
        nonzero.is_none(),
        "zero",
        match nonzero {
            None => "zero".to_string(),
            Some(at) => format!("non-zero at offset {at:#x}"),
        },
    );
}

/// The VCEK's extensions against the report: its hwID against CHIP_ID (a VCEK only, and only if the chip id
/// is not masked), its SPLs against REPORTED_TCB (in `product`'s layout).
fn check_vcek_extensions(
    a: &mut Appraisal,
    report: &AttestationReport,
    vek: &Cert,
    product: Product,
    is_vlek: bool,
) {
    let len = if product == Product::Turin { 8 } else { 64 };
    let ext = VcekExtensions::read(vek, len);
    if !is_vlek {
        if report.chip_id_masked() {
            a.note("CHIP_ID is masked (MASK_CHIP_ID): VCEK hwID not compared");
        } else {
            let chip = report.chip_id.get(..len).unwrap_or_default();
            a.equal(
                "VCEK hwID = report CHIP_ID",
                ext.hw_id
                    .as_deref()
                    .map(hex::encode)
                    .unwrap_or_else(|| "hwID extension missing or malformed".into()),
                hex::encode(chip),
            );
        }
    }
    let tcb = report.reported_tcb(product);
    let mut spl = |name: &str, id: &der::asn1::ObjectIdentifier, want: Option<u8>, actual: u8| {
        a.equal(
            format!("VCEK {name} SPL = REPORTED_TCB"),
            want.map(|v| v.to_string())
                .unwrap_or_else(|| format!("extension {id} missing or malformed")),
            actual,
        );
    };
    if let Some(fmc) = tcb.fmc {
        spl("fmc", &vcek_oid::FMC, ext.fmc, fmc);
    }
    spl(
        "bootloader",
        &vcek_oid::BOOTLOADER,
        ext.bootloader,
        tcb.bootloader,
    );
    spl("tee", &vcek_oid::TEE, ext.tee, tcb.tee);
    spl("snp", &vcek_oid::SNP, ext.snp, tcb.snp);
    spl(
        "microcode",
        &vcek_oid::MICROCODE,
        ext.microcode,
        tcb.microcode,
    );
    a.note(format!("reported TCB ({product} layout): {tcb}"));
}

/// Guest policy, VMPL and the bindings and reference values of `policy`.
pub(crate) fn check_policy(a: &mut Appraisal, report: &AttestationReport, policy: &SnpPolicy) {
    let p = report.policy;
    let onoff = |b: bool| if b { "allowed" } else { "disallowed" };
    if !policy.allow_debug {
        a.equal("guest policy: debug", onoff(false), onoff(p.debug()));
    }
    if !policy.allow_migration_agent {
        a.equal(
            "guest policy: migration agent",
            onoff(false),
            onoff(p.migrate_ma()),
        );
    }
    if !policy.allow_smt {
        a.equal("guest policy: SMT", onoff(false), onoff(p.smt_allowed()));
    }
    if let Some(v) = policy.vmpl {
        a.equal("VMPL", v, report.vmpl);
    }
    if let Some(rd) = &policy.report_data {
        a.equal(
            "report_data",
            hex::encode(rd),
            hex::encode(&report.report_data),
        );
    }
    if let Some(hd) = &policy.host_data {
        a.equal("host_data", hex::encode(hd), hex::encode(&report.host_data));
    }
    let m = hex::encode(&report.measurement);
    match &policy.reference {
        Some(r) if !r.measurements.is_empty() => {
            let ok = r.measurements.contains(&report.measurement);
            let want: Vec<String> = r.measurements.iter().map(|x| hex::encode(x)).collect();
            a.check(
                format!("launch measurement ({})", r.source),
                ok,
                want.join(" or "),
                m,
            );
        }
        _ => a.note(format!(
            "launch measurement {m} not compared: no reference value given"
        )),
    }
}

/// ECDSA P-384 over SHA-384 of the signed bytes.
fn report_signature(key: &Key, signed: &[u8], signature: &Signature<'_>) -> Result<(), String> {
    let (r, s) = signature.scalars_be().map_err(|e| e.to_string())?;
    key.verify(
        Scheme::Ecdsa,
        Algorithm::Sha384,
        signed,
        Sig::Scalars { r: &r, s: &s },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GUEST_POLICY bits 16 (SMT), 18 (MIGRATE_MA), 19 (DEBUG) against the relying party's flags.
    #[test]
    fn policy_flags() {
        let mut b = vec![0u8; super::super::REPORT_LEN];
        b[0] = 2;
        let bits: u64 = (1 << 19) | (1 << 18) | (1 << 17) | (1 << 16);
        b[8..16].copy_from_slice(&bits.to_le_bytes());
        b[0x30] = 1; // VMPL 1
        let r = AttestationReport::parse(&b).unwrap();
        let failed = |p: &SnpPolicy| {
            let mut a = Appraisal::new();
            check_policy(&mut a, &r, p);
            a.failures().map(|c| c.name.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            failed(&SnpPolicy::default()),
            [
                "guest policy: debug",
                "guest policy: migration agent",
                "VMPL"
            ]
        );
        let relaxed = SnpPolicy {
            allow_debug: true,
            allow_migration_agent: true,
            allow_smt: false,
            vmpl: Some(1),
            ..SnpPolicy::default()
        };
        assert_eq!(failed(&relaxed), ["guest policy: SMT"]);
        let with_ref = SnpPolicy {
            reference: Some(SnpReference {
                measurements: vec![[1; 48], [0; 48]],
                source: "test".into(),
            }),
            ..relaxed
        };
        assert_eq!(
            failed(&with_ref),
            ["guest policy: SMT"],
            "second reference value matches"
        );
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso(1_680_549_823), "2023-04-03T19:23:43Z");
    }
}
