//! Evaluating a Trustee attestation policy (Rego) on the [`Claims`] of verified evidence, with the Rego
//! engine Trustee's attestation service uses (`regorus`), the way it uses it
//! (`attestation-service/src/ear_token/broker.rs`, `deps/policy-engine/src/policy/rego.rs`):
//!
//! * the input is [`Claims::policy_input`];
//! * reference values are answered by the function `query_reference_value(NAME)` (the registered value, or
//!   `null`), and, for policies written for Trustee before that function existed, are also
//!   `data.reference.NAME`;
//! * the result is the rule `data.policy.trust_claims`, an object of AR4SI trust claims with integer values.
//!
//! Beyond Trustee, a policy may define `data.policy.reasons`, a set of `{"claim", "value", "reason"}`
//! objects (the policies of `yardstick refvals export --format rego` do): each non-affirming claim is shown
//! with its reasons. A claim of a policy that gives none is explained by its value's AR4SI meaning.
//!
//! ```
//! use serde_json::json;
//! use yardstick_verify::claims::{Claims, Evidence};
//! use yardstick_verify::policy::{Reference, Tier, evaluate};
//! let policy = r#"package policy
//! import rego.v1
//! default executables := 33
//! executables := 3 if input.snp.measurement in query_reference_value("snp_launch_measurement")
//! trust_claims := {"executables": executables}
//! "#;
//! let claims = Claims { tee: Evidence::Snp, claims: json!({"measurement": "aa"}) };
//! let mut refs = Reference::default();
//! refs.insert("snp_launch_measurement", json!(["aa", "bb"]));
//! let v = evaluate(policy, &claims, &refs).unwrap();
//! assert_eq!(v.claim("executables").unwrap().value, 3);
//! assert_eq!(v.claim("executables").unwrap().tier, Tier::Affirming);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::claims::Claims;
use crate::input::{InputError, InputKind, read};
use crate::refvals::ManifestFile;

/// The rule holding the trust claims (Trustee's `TRUST_CLAIMS_RULE`).
pub const TRUST_CLAIMS_RULE: &str = "data.policy.trust_claims";
/// The rule holding the reasons, when a policy defines it.
pub const REASONS_RULE: &str = "data.policy.reasons";

/// The AR4SI trust claims of an EAR appraisal, in the order of the EAR trust vector.
pub const TRUST_CLAIMS: [&str; 8] = [
    "instance-identity",
    "configuration",
    "executables",
    "file-system",
    "hardware",
    "runtime-opaque",
    "storage-opaque",
    "sourced-data",
];

/// Reference values by name, as the RVPS holds them (each usually a list of accepted values).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reference {
    values: BTreeMap<String, Value>,
    /// Where they came from (file names), for messages.
    #[serde(skip)]
    pub sources: Vec<String>,
}

impl Reference {
    /// Registers `value` under `name`; a second registration of the same name adds its values to the list.
    pub fn insert(&mut self, name: &str, value: Value) {
        match (self.values.get_mut(name), value) {
            (Some(Value::Array(have)), Value::Array(more)) => {
                for v in more {
                    if !have.contains(&v) {
                        have.push(v);
                    }
                }
            }
            (_, value) => {
                self.values.insert(name.to_string(), value);
            }
        }
    }

    /// The value registered under `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// True if nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values of a manifest, under the names `refvals export --format rvps` registers them.
    pub fn add_manifest(&mut self, m: &ManifestFile) {
        for (name, values) in yardstick_refvals::rvps::reference_values(&m.manifest) {
            self.insert(&name, Value::from(values));
        }
        self.sources.push(m.source());
    }

    /// The values of a file: a Trustee RVPS registration message of sample provenance (what `refvals export
    /// --format rvps` writes) or a JSON object `{name: value}`.
    pub fn add_file(&mut self, path: &Path) -> Result<(), InputError> {
        let bad = |reason: String| InputError::ReferenceValues {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = read(path, InputKind::REFERENCE_VALUES)?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Object(mut map) = v else {
            return Err(bad("not a JSON object".into()));
        };
        let is_message = map.get("type").is_some_and(Value::is_string)
            && map.get("payload").is_some_and(Value::is_string)
            && map.contains_key("version");
        if is_message {
            if map.get("type").and_then(Value::as_str) != Some("sample") {
                return Err(bad(format!(
                    "an RVPS message of provenance type {}, only \"sample\" is read",
                    map.get("type").cloned().unwrap_or_default()
                )));
            }
            let payload = map
                .get("payload")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(payload.trim())
                .map_err(|e| bad(format!("RVPS message payload: bad base64: {e}")))?;
            let inner: Value = serde_json::from_slice(&raw)
                .map_err(|e| bad(format!("RVPS message payload: not JSON: {e}")))?;
            let Value::Object(inner) = inner else {
                return Err(bad("RVPS message payload: not a JSON object".into()));
            };
            map = inner;
        }
        for (name, value) in map {
            self.insert(&name, value);
        }
        self.sources.push(path.display().to_string());
        Ok(())
    }
}

/// An AR4SI trustworthiness tier (EAR `TrustTier`), from a claim's value; ordered from none to
/// contraindicated, as an EAR's status is the worst tier of its trust vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// -1..=1: no claim, or the verifier could not decide.
    None,
    /// 2..=31.
    Affirming,
    /// 32..=95.
    Warning,
    /// 96..=127.
    Contraindicated,
}

impl Tier {
    /// The tier of a claim value (negative values, reserved for private use, by their magnitude).
    pub fn of(value: i64) -> Tier {
        match value.unsigned_abs() {
            0..=1 => Tier::None,
            2..=31 => Tier::Affirming,
            32..=95 => Tier::Warning,
            _ => Tier::Contraindicated,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::None => "none",
            Tier::Affirming => "affirming",
            Tier::Warning => "warning",
            Tier::Contraindicated => "contraindicated",
        }
    }
}

/// The AR4SI meaning of a claim's value (draft-ietf-rats-ar4si), for the values policies use.
pub fn meaning(claim: &str, value: i64) -> &'static str {
    match (claim, value) {
        (_, 0) => "no assertion",
        (_, 1) => "the verifier malfunctioned",
        (_, 99) => "cryptographic validation of the evidence failed",
        ("executables", 2) => "only approved executables loaded, at boot and run time",
        ("executables", 3) => "only approved executables loaded at boot",
        ("executables", 32) => "recognized executables, some with known vulnerabilities",
        ("executables", 33) => "executables that are not recognized",
        ("executables", 96) => "contraindicated executables",
        ("hardware", 2) => "genuine hardware and firmware",
        ("hardware", 32) => "genuine hardware with known vulnerabilities",
        ("hardware", 96) => "contraindicated hardware or firmware",
        ("hardware", 97) => "hardware or firmware not recognized",
        ("configuration", 2) => "a known and approved configuration",
        ("configuration", 3) => "a configuration without known vulnerabilities",
        ("configuration", 32) => "a configuration with known vulnerabilities",
        ("configuration", 36) => "the configuration is unavailable to the verifier",
        ("configuration", 96) => "a contraindicated configuration",
        _ => "",
    }
}

/// One trust claim the policy gave.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustClaim {
    /// Its name (`executables`).
    pub name: String,
    /// Its AR4SI value.
    pub value: i64,
    /// The tier of the value.
    pub tier: Tier,
    /// Why it is not affirming: the policy's reasons for it, else the value's AR4SI meaning. Empty for an
    /// affirming claim or one without assertion.
    pub reasons: Vec<String>,
}

/// The outcome of a policy on a piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyVerdict {
    /// The policy, as named (a file path).
    pub policy: String,
    /// Where the reference values came from.
    pub reference: Vec<String>,
    /// The trust claims the policy set, in the order of the EAR trust vector.
    pub trust_claims: Vec<TrustClaim>,
    /// The status Trustee's EAR token would carry: the worst tier among the trust claims (the `ear` crate's
    /// `update_status_from_trust_vector`).
    pub status: Tier,
}

impl PolicyVerdict {
    /// The claim named `name`, if the policy set it.
    pub fn claim(&self, name: &str) -> Option<&TrustClaim> {
        self.trust_claims.iter().find(|c| c.name == name)
    }

    /// True if `executables` is affirming: the evidence shows the registered image.
    pub fn executables_affirming(&self) -> bool {
        self.claim("executables")
            .is_some_and(|c| c.tier == Tier::Affirming)
    }

    /// The verdict as text: a line per trust claim (`executables      3  affirming`), followed by one
    /// indented line per reason of a claim that is not affirming, then the EAR status and whether
    /// `executables` accepts the evidence.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("policy {}", self.policy);
        if !self.reference.is_empty() {
            let _ = write!(out, ", reference values {}", self.reference.join(" + "));
        }
        out.push_str(":\n");
        for c in &self.trust_claims {
            let _ = writeln!(out, "  {:<18} {:>3}  {}", c.name, c.value, c.tier.name());
            for r in &c.reasons {
                let _ = writeln!(out, "      {r}");
            }
        }
        let _ = writeln!(
            out,
            "EAR status {} (the worst tier); executables {}",
            self.status.name(),
            if self.executables_affirming() {
                "affirming: accepted"
            } else {
                "not affirming: refused"
            }
        );
        out
    }
}

/// Why a policy could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// Evaluates `policy` (Rego text) on `claims` with the reference values `reference`, as Trustee's
/// attestation service does (see the module docs).
pub fn evaluate(
    policy: &str,
    claims: &Claims,
    reference: &Reference,
) -> Result<PolicyVerdict, PolicyError> {
    let err = |what: &str, e: anyhow::Error| PolicyError(format!("{what}: {e:#}"));
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("policy.rego".into(), policy.to_string())
        .map_err(|e| err("policy does not compile", e))?;
    let values: serde_json::Map<String, Value> = reference
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let data = serde_json::json!({ "reference": values });
    engine
        .add_data(to_regorus(&data).map_err(|e| err("reference values", e))?)
        .map_err(|e| err("reference values", e))?;
    engine.set_input(to_regorus(&claims.policy_input()).map_err(|e| err("claims", e))?);
    let lookup = reference.values.clone();
    engine
        .add_extension(
            "query_reference_value".into(),
            1,
            Box::new(move |params: Vec<regorus::Value>| {
                let name = params
                    .first()
                    .and_then(|p| p.as_string().ok())
                    .map(|s| s.to_string())
                    .ok_or_else(|| {
                        anyhow::anyhow!("query_reference_value takes one string, the name")
                    })?;
                match lookup.get(&name) {
                    Some(v) => regorus::Value::from_json_str(&v.to_string()),
                    None => Ok(regorus::Value::Null),
                }
            }),
        )
        .map_err(|e| err("query_reference_value", e))?;
    let trust = engine
        .eval_rule(TRUST_CLAIMS_RULE.into())
        .map_err(|e| err("evaluating trust_claims", e))?;
    let trust = from_regorus(&trust).map_err(|e| err("trust_claims", e))?;
    let Value::Object(trust) = trust else {
        return Err(PolicyError(format!(
            "trust_claims is not an object: {trust}"
        )));
    };
    let reasons = match engine.eval_rule(REASONS_RULE.into()) {
        Ok(v) => from_regorus(&v).map_err(|e| err("reasons", e))?,
        // A policy without reasons (Trustee's own) is fine: its values are explained by their meaning.
        Err(e) if e.to_string().contains("not a valid rule path") => Value::Null,
        Err(e) => return Err(err("evaluating reasons", e)),
    };
    let mut trust_claims = Vec::new();
    for (name, value) in &trust {
        if !TRUST_CLAIMS.contains(&name.as_str()) {
            return Err(PolicyError(format!(
                "trust_claims: {name:?} is no AR4SI trust claim (known: {})",
                TRUST_CLAIMS.join(", ")
            )));
        }
        let value = value
            .as_i64()
            .filter(|v| i8::try_from(*v).is_ok())
            .ok_or_else(|| {
                PolicyError(format!(
                    "trust_claims: {name} is {value}, not an integer from -128 to 127"
                ))
            })?;
        let tier = Tier::of(value);
        let mut why: Vec<String> = Vec::new();
        if tier != Tier::Affirming && value != 0 {
            if let Some(list) = reasons.as_array() {
                for r in list {
                    if r.get("claim").and_then(Value::as_str) == Some(name.as_str()) {
                        why.push(match r.get("reason") {
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => r.to_string(),
                        });
                    }
                }
            }
            if why.is_empty() {
                why.push(format!(
                    "{value}: {}",
                    match meaning(name, value) {
                        "" => "(no AR4SI meaning known to yardstick)",
                        m => m,
                    }
                ));
            }
        }
        trust_claims.push(TrustClaim {
            name: name.clone(),
            value,
            tier,
            reasons: why,
        });
    }
    trust_claims.sort_by_key(|c| TRUST_CLAIMS.iter().position(|n| *n == c.name));
    let status = trust_claims
        .iter()
        .map(|c| c.tier)
        .max()
        .unwrap_or(Tier::None);
    Ok(PolicyVerdict {
        policy: String::new(),
        reference: reference.sources.clone(),
        trust_claims,
        status,
    })
}

/// What `verify ... --policy` reads: the policy file, and the reference values of `--reference` files and
/// `--refvals` manifests.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// The policy (Rego).
    pub policy: &'a Path,
    /// Reference-value files (RVPS messages or `{name: value}` objects).
    pub reference: &'a [PathBuf],
    /// A manifest whose values count as registered under the RVPS names.
    pub manifest: Option<&'a Path>,
}

/// Reads the policy and the reference values of `r` and evaluates the policy on `claims`.
pub fn evaluate_files(r: &PolicyRequest<'_>, claims: &Claims) -> Result<PolicyVerdict, InputError> {
    let text = read(r.policy, InputKind::POLICY)?;
    let bad = |reason: String| InputError::Policy {
        path: r.policy.to_path_buf(),
        reason,
    };
    let text = String::from_utf8(text).map_err(|_| bad("not UTF-8 text".into()))?;
    let mut reference = Reference::default();
    if let Some(m) = r.manifest {
        reference.add_manifest(&ManifestFile::load(m)?);
    }
    for f in r.reference {
        reference.add_file(f)?;
    }
    let mut v = evaluate(&text, claims, &reference).map_err(|e| bad(e.0))?;
    v.policy = r.policy.display().to_string();
    Ok(v)
}

fn to_regorus(v: &Value) -> anyhow::Result<regorus::Value> {
    regorus::Value::from_json_str(&v.to_string())
}

fn from_regorus(v: &regorus::Value) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&v.to_json_str()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Evidence;
    use serde_json::json;

    #[test]
    fn tiers() {
        assert_eq!(Tier::of(0), Tier::None);
        assert_eq!(Tier::of(3), Tier::Affirming);
        assert_eq!(Tier::of(33), Tier::Warning);
        assert_eq!(Tier::of(97), Tier::Contraindicated);
    }

    #[test]
    fn bad_policies_are_errors() {
        let c = Claims {
            tee: Evidence::Snp,
            claims: json!({}),
        };
        let r = Reference::default();
        assert!(evaluate("package policy\nthis is not rego", &c, &r).is_err());
        let e = evaluate(
            "package policy\nimport rego.v1\ntrust_claims := {\"bogus\": 1}\n",
            &c,
            &r,
        )
        .unwrap_err();
        assert!(e.0.contains("no AR4SI trust claim"), "{e}");
        let e = evaluate(
            "package policy\nimport rego.v1\ntrust_claims := {\"executables\": \"x\"}\n",
            &c,
            &r,
        )
        .unwrap_err();
        assert!(e.0.contains("not an integer"), "{e}");
    }

    #[test]
    fn reference_lists_merge() {
        let mut r = Reference::default();
        r.insert("a", json!(["1"]));
        r.insert("a", json!(["2", "1"]));
        assert_eq!(r.get("a"), Some(&json!(["1", "2"])));
    }
}
