//! Export to a Trustee attestation policy (Rego) that compares the evidence's claims with the reference values
//! registered in the RVPS ([`crate::rvps`]).
//!
//! Trustee's attestation service evaluates a policy in package `policy` over the claims its verifier
//! produced (`input.<tee>.*`, the names and encodings of `deps/verifier/src/<tee>`) and turns the rule
//! `trust_claims` into the AR4SI trust vector of its EAR token. Reference values come from the RVPS through
//! the `query_reference_value(NAME)` function the service provides to policies (trustee since 2025-07; `null`
//! for a name nothing registered). The policy written here:
//!
//! * keeps the EAR layout of Trustee's `ear_default_policy_cpu.rego`: the same package, the eight trust
//!   claims with the same defaults (`executables` 33, `hardware` 97, `configuration` 36, the others 0);
//! * per evidence kind ([`Evidence`]) compares values instead of checking presence: the launch digest, the
//!   MRTD/RTMRs or the vTPM PCRs against the registered names (`executables`), the TCB against a registered
//!   minimum or Intel's TCB status (`hardware`), debug and migration policy (`configuration`);
//! * states why: every failed comparison adds `{"claim", "value", "reason"}` to the set `reasons`, and a
//!   claim is affirming exactly when no reason names it (otherwise the highest value its reasons carry:
//!   96 contraindicated for a value that is not a registered one, 32 for a TCB below the minimum, the
//!   claim's default when a reference value or a claim is missing).
//!
//! The values live in the RVPS, not in the policy, so one policy serves every image version whose values are
//! registered. [`evidence_in`] picks the kinds a manifest has values for.
//!
//! ```
//! use yardstick_refvals::rego::{Evidence, policy};
//! let text = policy(&[Evidence::Snp]);
//! assert!(text.starts_with("package policy\n"));
//! assert!(text.contains("not accepted(input.snp.measurement, \"snp_launch_measurement\")"));
//! ```

use std::fmt::{self, Write as _};
use std::str::FromStr;

use yardstick_common::hash::Algorithm;
use yardstick_snp::sev_mode::SevMode;

use crate::manifest::Manifest;
use crate::rvps::{POLICY_PCRS, names};

/// An evidence kind, named as Trustee names its TEEs (`kbs_types::Tee`, the key of the claims in a policy's
/// input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Evidence {
    /// Bare-metal SEV-SNP (`snp`).
    #[serde(rename = "snp")]
    Snp,
    /// Bare-metal TDX (`tdx`).
    #[serde(rename = "tdx")]
    Tdx,
    /// Azure SEV-SNP confidential VM with a vTPM (`az-snp-vtpm`).
    #[serde(rename = "az-snp-vtpm")]
    AzSnpVtpm,
    /// Azure TDX confidential VM with a vTPM (`az-tdx-vtpm`).
    #[serde(rename = "az-tdx-vtpm")]
    AzTdxVtpm,
    /// A (v)TPM quote (`tpm`).
    #[serde(rename = "tpm")]
    Tpm,
}

/// A name that is no evidence kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown evidence kind {0:?} (known: snp, tdx, az-snp-vtpm, az-tdx-vtpm, tpm)")]
pub struct UnknownEvidence(pub String);

impl Evidence {
    /// Every kind, in the order a policy lists them.
    pub const ALL: [Evidence; 5] = [
        Evidence::Snp,
        Evidence::Tdx,
        Evidence::AzSnpVtpm,
        Evidence::AzTdxVtpm,
        Evidence::Tpm,
    ];

    /// Trustee's name (`snp`, `tdx`, `az-snp-vtpm`, `az-tdx-vtpm`, `tpm`).
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Snp => "snp",
            Evidence::Tdx => "tdx",
            Evidence::AzSnpVtpm => "az-snp-vtpm",
            Evidence::AzTdxVtpm => "az-tdx-vtpm",
            Evidence::Tpm => "tpm",
        }
    }

    /// The prefix of this kind's vTPM PCR reference names (`snp_pcr11`), if it has a TPM.
    fn pcr_prefix(self) -> Option<&'static str> {
        match self {
            Evidence::AzSnpVtpm => Some("snp"),
            Evidence::AzTdxVtpm => Some("tdx"),
            Evidence::Tpm => Some("tpm"),
            Evidence::Snp | Evidence::Tdx => None,
        }
    }

    /// The Rego reference to this kind's claims: `input.snp`, `input["az-snp-vtpm"]`.
    fn input(self) -> String {
        rego_path(&[self.name()])
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Evidence {
    type Err = UnknownEvidence;
    fn from_str(s: &str) -> Result<Evidence, UnknownEvidence> {
        Evidence::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| UnknownEvidence(s.to_string()))
    }
}

/// The kinds of evidence `m` has reference values for: `snp` for SEV-SNP launch digests, `tdx` for a `tdx`
/// section, the three vTPM kinds for a predicted PCR 11.
pub fn evidence_in(m: &Manifest) -> Vec<Evidence> {
    let mut out = Vec::new();
    if m.snp.iter().any(|s| s.mode == SevMode::SevSnp) {
        out.push(Evidence::Snp);
    }
    if !m.tdx.is_empty() {
        out.push(Evidence::Tdx);
    }
    if m.tpm
        .as_ref()
        .is_some_and(|t| t.pcrs.get(Algorithm::Sha256, 11).is_some())
    {
        out.extend([Evidence::AzSnpVtpm, Evidence::AzTdxVtpm, Evidence::Tpm]);
    }
    out
}

/// A trust claim the policy decides, with its AR4SI values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Executables,
    Hardware,
    Configuration,
}

impl Claim {
    fn name(self) -> &'static str {
        match self {
            Claim::Executables => "executables",
            Claim::Hardware => "hardware",
            Claim::Configuration => "configuration",
        }
    }
    /// The value when nothing is known (Trustee's defaults): 33 "runtime memory includes executables ...
    /// which are not recognized", 97 "hardware not recognized", 36 "configuration unavailable".
    fn unknown(self) -> u8 {
        match self {
            Claim::Executables => 33,
            Claim::Hardware => 97,
            Claim::Configuration => 36,
        }
    }
    /// The affirming value: 3 "only a recognized genuine set of approved executables have been loaded
    /// during the boot process", 2 "genuine hardware", 2 "a known and approved configuration".
    fn affirming(self) -> u8 {
        match self {
            Claim::Executables => 3,
            Claim::Hardware | Claim::Configuration => 2,
        }
    }
}

/// How a claim is compared.
#[derive(Debug, Clone)]
enum Cmp {
    /// One of the values registered under the name (or equal to a single registered value).
    In(String),
    /// At least the number registered under the name (the smallest, for a list).
    AtLeast(String),
    /// Equal to a Rego literal.
    Is(&'static str),
}

/// One comparison of the policy.
#[derive(Debug, Clone)]
struct Check {
    claim: Claim,
    /// The claim's path below the kind's claims.
    path: Vec<&'static str>,
    cmp: Cmp,
    /// For a comparison with a reference value: whether the claim may go unchecked when nothing is
    /// registered (otherwise the missing value is a reason).
    optional: bool,
    /// The claim's value when the comparison fails.
    fail: u8,
}

impl Check {
    fn new(claim: Claim, path: &[&'static str], cmp: Cmp, fail: u8) -> Check {
        Check {
            claim,
            path: path.to_vec(),
            cmp,
            optional: false,
            fail,
        }
    }
    fn optional(mut self) -> Check {
        self.optional = true;
        self
    }
}

/// AR4SI: "contraindicated" executables / configuration.
const CONTRAINDICATED: u8 = 96;
/// AR4SI hardware 32: genuine, but with known vulnerabilities (a TCB below the minimum).
const VULNERABLE: u8 = 32;

/// The comparisons for one kind of evidence, in the order the policy lists them.
fn checks(kind: Evidence) -> Vec<Check> {
    use Claim::*;
    let reference = |n: &str| Cmp::In(n.to_string());
    let mut c = Vec::new();
    match kind {
        Evidence::Snp | Evidence::AzSnpVtpm => {
            if kind == Evidence::Snp {
                c.push(Check::new(
                    Executables,
                    &["measurement"],
                    reference(names::SNP_LAUNCH_MEASUREMENT),
                    CONTRAINDICATED,
                ));
            }
            for (field, name) in [
                "reported_tcb_bootloader",
                "reported_tcb_tee",
                "reported_tcb_snp",
                "reported_tcb_microcode",
            ]
            .into_iter()
            .zip(names::SNP_MIN_TCB)
            {
                c.push(Check::new(
                    Hardware,
                    &[field],
                    Cmp::AtLeast(name.to_string()),
                    VULNERABLE,
                ));
            }
            // The Azure verifier reports the policy bits as strings.
            let no = if kind == Evidence::Snp {
                "false"
            } else {
                "\"false\""
            };
            for field in ["policy_debug_allowed", "policy_migrate_ma"] {
                c.push(Check::new(
                    Configuration,
                    &[field],
                    Cmp::Is(no),
                    CONTRAINDICATED,
                ));
            }
        }
        Evidence::Tdx | Evidence::AzTdxVtpm => {
            if kind == Evidence::Tdx {
                for (field, name) in [
                    ("mr_td", names::MR_TD),
                    ("rtmr_1", names::RTMR_1),
                    ("rtmr_2", names::RTMR_2),
                ] {
                    c.push(Check::new(
                        Executables,
                        &["quote", "body", field],
                        reference(name),
                        CONTRAINDICATED,
                    ));
                }
                // RTMR0 is predicted only with the TD's ACPI tables: compared when registered.
                c.push(
                    Check::new(
                        Executables,
                        &["quote", "body", "rtmr_0"],
                        reference(names::RTMR_0),
                        CONTRAINDICATED,
                    )
                    .optional(),
                );
            }
            c.push(Check::new(
                Hardware,
                &["quote", "header", "tee_type"],
                Cmp::Is("\"81000000\""),
                CONTRAINDICATED,
            ));
            c.push(Check::new(
                Hardware,
                &["quote", "header", "vendor_id"],
                Cmp::Is("\"939a7233f79c4ca9940a0db3957f0607\""),
                CONTRAINDICATED,
            ));
            c.push(Check::new(
                Hardware,
                &["tcb_status"],
                Cmp::Is("\"UpToDate\""),
                VULNERABLE,
            ));
            c.push(Check::new(
                Configuration,
                &["td_attributes", "debug"],
                Cmp::Is("false"),
                CONTRAINDICATED,
            ));
            c.push(
                Check::new(
                    Configuration,
                    &["quote", "body", "xfam"],
                    reference(names::XFAM),
                    CONTRAINDICATED,
                )
                .optional(),
            );
        }
        Evidence::Tpm => {
            c.push(Check::new(
                Hardware,
                &["ak_public"],
                reference(names::TRUSTED_AKS),
                Hardware.unknown(),
            ));
        }
    }
    if let Some(prefix) = kind.pcr_prefix() {
        let tpm: &[&'static str] = if kind == Evidence::Tpm { &[] } else { &["tpm"] };
        for (pcr, claim) in POLICY_PCRS.into_iter().zip(PCR_CLAIMS) {
            let mut path = tpm.to_vec();
            path.push(claim);
            c.push(Check {
                claim: Executables,
                path,
                cmp: Cmp::In(names::pcr(prefix, pcr)),
                optional: pcr != 11,
                fail: CONTRAINDICATED,
            });
        }
    }
    c
}

/// The claim names of [`POLICY_PCRS`] as Trustee's verifiers write them (`pcr04`).
const PCR_CLAIMS: [&str; 10] = [
    "pcr00", "pcr01", "pcr02", "pcr03", "pcr04", "pcr05", "pcr06", "pcr07", "pcr09", "pcr11",
];

/// `input.a.b` or `input["a-b"].c`: a Rego reference below `input`.
fn rego_path(path: &[&str]) -> String {
    let mut s = String::from("input");
    for seg in path {
        let ident = seg
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ident {
            let _ = write!(s, ".{seg}");
        } else {
            let _ = write!(s, "[{}]", json(seg));
        }
    }
    s
}

/// A Rego (JSON) string literal.
fn json(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A Rego array of strings.
fn json_array(items: &[&str]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

const HEADER: &str = r#"package policy

import rego.v1

# Attestation policy for Trustee's attestation service (EAR tokens), written by
# `yardstick refvals export --format rego`. It has the trust claims of Trustee's
# default policy (attestation-service/src/ear_token/ear_default_policy_cpu.rego)
# but compares every claim with the reference values registered in the RVPS
# (`yardstick refvals export --format rvps`), read with query_reference_value().
# One policy serves every image whose values are registered.
#
# AR4SI values: executables 3 = only approved executables were loaded at boot,
# 33 = not recognized (no reference value, or a claim missing), 96 = not one of
# the registered values (contraindicated). hardware 2 = genuine and at least the
# registered TCB, 32 = genuine but below it, 97 = not recognized. configuration
# 2 = approved, 36 = unavailable, 96 = contraindicated (debug, migration agent).
#
# Every failed comparison adds {"claim", "value", "reason"} to `reasons`; a claim
# is affirming when no reason names it, otherwise the highest value among its
# reasons.

default executables := 33

default hardware := 97

default configuration := 36

default file_system := 0

default instance_identity := 0

default runtime_opaque := 0

default storage_opaque := 0

default sourced_data := 0

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": file_system,
	"instance-identity": instance_identity,
	"runtime-opaque": runtime_opaque,
	"storage-opaque": storage_opaque,
	"sourced-data": sourced_data,
}

##### Reference values

# A name something is registered under.
registered(name) if query_reference_value(name) != null

# value is one of the values registered under name (or the single value).
accepted(value, name) if {
	refs := query_reference_value(name)
	is_array(refs)
	value in refs
}

accepted(value, name) if query_reference_value(name) == value

# The minimum registered under name: a number, a decimal string, or the
# smallest of a list of them.
minimum(name) := n if {
	v := query_reference_value(name)
	is_number(v)
	n := v
} else := n if {
	v := query_reference_value(name)
	is_string(v)
	n := to_number(v)
} else := n if {
	v := query_reference_value(name)
	is_array(v)
	count(v) > 0
	n := min([to_number(x) | some x in v])
}

# A usable minimum is registered under name.
has_minimum(name) if is_number(minimum(name))

# A claim the verifier did not produce.
missing(path) if object.get(input, path, null) == null

has_reason(claim) if {
	some r in reasons
	r.claim == claim
}

worst(claim) := max({r.value | some r in reasons; r.claim == claim})
"#;

/// The policy for `kinds` (all kinds when empty), as Rego text ending in a newline.
pub fn policy(kinds: &[Evidence]) -> String {
    let mut kinds: Vec<Evidence> = if kinds.is_empty() {
        Evidence::ALL.to_vec()
    } else {
        kinds.to_vec()
    };
    kinds.sort();
    kinds.dedup();
    let mut out = String::from(HEADER);
    for kind in &kinds {
        write_kind(&mut out, *kind);
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let _ = write!(
        out,
        "\n##### Evidence of another kind\n\n# The kinds this policy has rules for.\n"
    );
    for kind in &kinds {
        let _ = writeln!(out, "covered if {}", kind.input());
    }
    let _ = write!(
        out,
        "\nreasons contains r if {{\n\tnot covered\n\tr := {{\"claim\": \"executables\", \"value\": 33, \"reason\": {}}}\n}}\n",
        json(&format!(
            "no rule of this policy covers the evidence (it covers {})",
            names.join(", ")
        ))
    );
    out
}

fn write_kind(out: &mut String, kind: Evidence) {
    let input = kind.input();
    let _ = write!(out, "\n##### {}\n", kind.name());
    let checks = checks(kind);
    for claim in [Claim::Executables, Claim::Hardware, Claim::Configuration] {
        let of_claim: Vec<&Check> = checks.iter().filter(|c| c.claim == claim).collect();
        if of_claim.is_empty() {
            // Nothing in this kind's claims speaks to it (a TPM quote says nothing of the configuration):
            // no assertion, as Trustee's default policy says for TPM evidence.
            let _ = write!(out, "\n{} := 0 if {input}\n", claim.name());
            continue;
        }
        let _ = write!(
            out,
            "\n{c} := {a} if {{\n\t{input}\n\tnot has_reason({q})\n}} else := v if {{\n\t{input}\n\tv := worst({q})\n}}\n",
            c = claim.name(),
            a = claim.affirming(),
            q = json(claim.name()),
        );
        for check in of_claim {
            write_check(out, kind, check);
        }
    }
}

/// The `reasons` rules of one comparison: the claim is missing, nothing is registered (unless optional), the
/// value does not compare.
fn write_check(out: &mut String, kind: Evidence, check: &Check) {
    let input = kind.input();
    let mut full = vec![kind.name()];
    full.extend(check.path.iter().copied());
    let value = rego_path(&full);
    let label = full.join(".");
    let claim = json(check.claim.name());
    let unknown = check.claim.unknown();
    let reason = |value: u8, text: String| {
        format!("\n\tr := {{\"claim\": {claim}, \"value\": {value}, \"reason\": {text}}}\n")
    };
    let (name, guard) = match &check.cmp {
        Cmp::In(n) => (Some(n.as_str()), format!("registered({})", json(n))),
        Cmp::AtLeast(n) => (Some(n.as_str()), format!("has_minimum({})", json(n))),
        Cmp::Is(_) => (None, String::new()),
    };
    // The claim is missing.
    let _ = write!(out, "\nreasons contains r if {{\n\t{input}\n");
    if check.optional {
        let _ = writeln!(out, "\t{guard}");
    }
    let _ = writeln!(
        out,
        "\tmissing({}){}}}",
        json_array(&full),
        reason(unknown, json(&format!("{label} is not in the claims")))
    );
    // Nothing registered (or, for a minimum, nothing usable).
    if let (Some(n), false) = (name, check.optional) {
        let quoted = json(n);
        let _ = write!(
            out,
            "\nreasons contains r if {{\n\t{input}\n\tnot registered({quoted}){}}}\n",
            reason(
                unknown,
                json(&format!("no reference value {n} is registered"))
            )
        );
        if matches!(check.cmp, Cmp::AtLeast(_)) {
            let _ = write!(
                out,
                "\nreasons contains r if {{\n\t{input}\n\tregistered({quoted})\n\tnot {guard}{}}}\n",
                reason(
                    unknown,
                    json(&format!(
                        "reference value {n} is no number, decimal string or list of them"
                    ))
                )
            );
        }
    }
    // The comparison fails.
    let (test, text) = match &check.cmp {
        Cmp::In(n) => (
            format!("{guard}\n\tnot accepted({value}, {})", json(n)),
            format!(
                "sprintf(\"{label} %v is not a registered {n} (%v)\", [{value}, query_reference_value({})])",
                json(n)
            ),
        ),
        Cmp::AtLeast(n) => (
            format!("{guard}\n\tto_number({value}) < minimum({})", json(n)),
            format!(
                "sprintf(\"{label} %v is below the minimum %v ({n})\", [{value}, minimum({})])",
                json(n)
            ),
        ),
        Cmp::Is(lit) => (
            format!("not missing({})\n\t{value} != {lit}", json_array(&full)),
            format!("sprintf(\"{label} is %v, expected %v\", [{value}, {lit}])"),
        ),
    };
    let _ = write!(
        out,
        "\nreasons contains r if {{\n\t{input}\n\t{test}{}}}\n",
        reason(check.fail, text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Evidence::ALL {
            assert_eq!(e.name().parse::<Evidence>().unwrap(), e);
        }
        assert!("sev".parse::<Evidence>().is_err());
    }

    /// A manifest's `tdx` section brings the `tdx` evidence kind (and nothing else).
    #[test]
    fn evidence_in_a_tdx_manifest() {
        let mut m = Manifest::new();
        assert!(evidence_in(&m).is_empty());
        m.tdx.push(crate::TdxLaunch {
            mrtd: crate::HexArray([1; 48]),
            rtmr0: None,
            rtmr1: None,
            rtmr2: None,
            memory_mib: 1,
            vcpus: 1,
            mrtd_order: crate::MrtdOrder::SinglePass,
            qemu_version: None,
        });
        assert_eq!(evidence_in(&m), [Evidence::Tdx]);
    }

    #[test]
    fn paths_are_rego_references() {
        assert_eq!(rego_path(&["snp", "measurement"]), "input.snp.measurement");
        assert_eq!(
            rego_path(&["az-snp-vtpm", "tpm", "pcr11"]),
            "input[\"az-snp-vtpm\"].tpm.pcr11"
        );
    }

    #[test]
    fn every_kind_has_its_section() {
        let text = policy(&[]);
        for e in Evidence::ALL {
            assert!(text.contains(&format!("##### {}\n", e.name())), "{e}");
        }
        let snp = policy(&[Evidence::Snp]);
        assert!(!snp.contains("##### tpm"));
        assert!(snp.contains("\"snp_launch_measurement\""));
    }
}
