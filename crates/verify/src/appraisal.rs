//! The result of a verification: a list of named checks, each with the expected and the actual value, and
//! notes on what was deliberately not checked.
//!
//! A check that passed only because the relying party accepted a weak algorithm (a SHA-1 TPM quote with
//! `--allow-sha1`) says so in [`Check::weak`]: `"weak": "<why>"` in JSON (absent otherwise), `(weak: <why>)`
//! after the line in text, and the verdict line counts them (`affirming: all 4 checks passed (2 weak)`). Weak
//! checks still pass: the status stays affirming, since the relying party asked for them.

use std::fmt::Display;

/// One check: what was compared, whether it held, and both sides of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Short, stable name (`"report signature (VCEK, ECDSA P-384)"`, `"PCR 11 sha256"`).
    pub name: String,
    /// True if the evidence satisfied this check.
    pub ok: bool,
    /// What a trustworthy platform shows.
    pub expected: String,
    /// What the evidence shows.
    pub actual: String,
    /// Why the check is weak, when it rests on an algorithm accepted only on request (`"SHA-1"`); `None` for
    /// a full-strength check (and then left out of the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weak: Option<String>,
}

/// Overall verdict, named as in the IETF RATS AR4SI trustworthiness claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every check passed.
    Affirming,
    /// At least one check failed (or nothing was checked).
    Contraindicated,
}

/// An ordered list of checks plus notes, and the evidence's claims (named as Trustee's verifier names them)
/// once it was parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appraisal {
    checks: Vec<Check>,
    notes: Vec<String>,
    claims: Option<crate::claims::Claims>,
    #[cfg(feature = "policy")]
    policy: Option<crate::policy::PolicyVerdict>,
}

impl Appraisal {
    /// An empty appraisal.
    pub fn new() -> Appraisal {
        Appraisal::default()
    }

    /// Records a check.
    pub fn check(
        &mut self,
        name: impl Into<String>,
        ok: bool,
        expected: impl Display,
        actual: impl Display,
    ) -> bool {
        self.checks.push(Check {
            name: name.into(),
            ok,
            expected: expected.to_string(),
            actual: actual.to_string(),
            weak: None,
        });
        ok
    }

    /// Records a check that rests on a weak algorithm the relying party accepted (see the module docs);
    /// `why` names it (`"SHA-1"`).
    pub fn check_weak(
        &mut self,
        name: impl Into<String>,
        ok: bool,
        expected: impl Display,
        actual: impl Display,
        why: impl Into<String>,
    ) -> bool {
        self.check(name, ok, expected, actual);
        if let Some(c) = self.checks.last_mut() {
            c.weak = Some(why.into());
        }
        ok
    }

    /// Records an equality check: passes if both sides print the same.
    pub fn equal(
        &mut self,
        name: impl Into<String>,
        expected: impl Display,
        actual: impl Display,
    ) -> bool {
        let (e, a) = (expected.to_string(), actual.to_string());
        let ok = e == a;
        self.check(name, ok, e, a)
    }

    /// Records something not checked, and why.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Appends another appraisal's checks and notes (its claims are not taken: the caller's evidence
    /// decides the claims).
    pub fn extend(&mut self, other: Appraisal) {
        self.checks.extend(other.checks);
        self.notes.extend(other.notes);
    }

    /// The evidence's claims ([`crate::claims`]), set by the verification that parsed it.
    pub fn claims(&self) -> Option<&crate::claims::Claims> {
        self.claims.as_ref()
    }

    /// Sets the evidence's claims.
    pub fn set_claims(&mut self, claims: crate::claims::Claims) {
        self.claims = Some(claims);
    }

    /// The verdict of an attestation policy on the claims, when one was evaluated.
    #[cfg(feature = "policy")]
    pub fn policy(&self) -> Option<&crate::policy::PolicyVerdict> {
        self.policy.as_ref()
    }

    /// Records a policy's verdict on the claims ([`crate::policy`]).
    #[cfg(feature = "policy")]
    pub fn set_policy(&mut self, verdict: crate::policy::PolicyVerdict) {
        self.policy = Some(verdict);
    }

    /// True if the evidence is accepted: every check passed and, when a policy was evaluated, its
    /// `executables` claim is affirming.
    pub fn accepted(&self) -> bool {
        #[cfg(feature = "policy")]
        if self
            .policy
            .as_ref()
            .is_some_and(|p| !p.executables_affirming())
        {
            return false;
        }
        self.passed()
    }

    /// The checks, in the order they ran.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    /// The checks marked weak ([`Check::weak`]).
    pub fn weak_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.weak.is_some())
    }

    /// Affirming if at least one check ran and all passed.
    pub fn status(&self) -> Status {
        if !self.checks.is_empty() && self.checks.iter().all(|c| c.ok) {
            Status::Affirming
        } else {
            Status::Contraindicated
        }
    }

    /// True if [`Appraisal::status`] is affirming.
    pub fn passed(&self) -> bool {
        self.status() == Status::Affirming
    }

    /// True if a check with this name exists and passed.
    pub fn passed_check(&self, name: &str) -> bool {
        self.checks.iter().any(|c| c.name == name && c.ok)
    }

    /// The appraisal as text, a line per check (`ok    <name>: <actual>` or
    /// `FAIL  <name>: expected <expected>, actual <actual>`, followed by ` (weak: <why>)` for a weak check),
    /// then a line per note (`note  ...`) and the verdict (`affirming: all 19 checks passed` or
    /// `contraindicated: 2 of 19 checks failed`, followed by ` (1 weak)` when checks are weak).
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        // Writing to a String cannot fail.
        for c in &self.checks {
            let weak = c
                .weak
                .as_deref()
                .map(|w| format!(" (weak: {w})"))
                .unwrap_or_default();
            let _ = if c.ok {
                writeln!(out, "ok    {}: {}{weak}", c.name, c.actual)
            } else {
                writeln!(
                    out,
                    "FAIL  {}: expected {}, actual {}{weak}",
                    c.name, c.expected, c.actual
                )
            };
        }
        for n in &self.notes {
            let _ = writeln!(out, "note  {n}");
        }
        let total = self.checks.len();
        let weak = match self.weak_checks().count() {
            0 => String::new(),
            n => format!(" ({n} weak)"),
        };
        let _ = if self.passed() {
            writeln!(out, "affirming: all {total} checks passed{weak}")
        } else {
            writeln!(
                out,
                "contraindicated: {} of {total} checks failed{weak}",
                self.failures().count()
            )
        };
        out
    }
}

impl serde::Serialize for Appraisal {
    /// `{"status": "affirming"|"contraindicated", "checks": [...], "notes": [...]}`, then, once the evidence
    /// was parsed, `"tee"` (Trustee's name of the kind) and `"claims"` (the verifier's claims, as Trustee's
    /// verifier for that kind produces them), and `"policy"` when a policy was evaluated
    /// ([`crate::policy::PolicyVerdict`]).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Appraisal", 6)?;
        st.serialize_field("status", &self.status())?;
        st.serialize_field("checks", &self.checks)?;
        st.serialize_field("notes", &self.notes)?;
        if let Some(c) = &self.claims {
            st.serialize_field("tee", &c.tee)?;
            st.serialize_field("claims", &c.claims)?;
        }
        #[cfg(feature = "policy")]
        if let Some(p) = &self.policy {
            st.serialize_field("policy", p)?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_json() {
        let mut a = Appraisal::new();
        assert_eq!(
            a.status(),
            Status::Contraindicated,
            "nothing checked is not affirming"
        );
        a.equal("x", "01", "01");
        assert!(a.passed());
        a.equal("y", "01", "02");
        assert!(!a.passed());
        let j = serde_json::to_value(&a).unwrap();
        assert_eq!(j["status"], "contraindicated");
        assert_eq!(j["checks"][1]["expected"], "01");
        assert_eq!(j["checks"][1]["ok"], false);
        a.note("n");
        assert_eq!(
            a.to_text(),
            "ok    x: 01\nFAIL  y: expected 01, actual 02\nnote  n\ncontraindicated: 1 of 2 checks failed\n"
        );
        assert_eq!(
            Appraisal::new().to_text(),
            "contraindicated: 0 of 0 checks failed\n"
        );
        assert!(
            !j["checks"][0].as_object().unwrap().contains_key("weak"),
            "full-strength checks carry no weak field: {j}"
        );
    }

    #[test]
    fn weak_checks_pass_and_say_so() {
        let mut a = Appraisal::new();
        a.check_weak("sig", true, "by AK", "signature verifies", "SHA-1");
        a.equal("nonce", "00", "00");
        assert!(a.passed(), "a weak check still passes");
        assert_eq!(a.weak_checks().count(), 1);
        let j = serde_json::to_value(&a).unwrap();
        assert_eq!(j["status"], "affirming");
        assert_eq!(j["checks"][0]["weak"], "SHA-1");
        assert!(j["checks"][1].get("weak").is_none(), "{j}");
        assert_eq!(
            a.to_text(),
            "ok    sig: signature verifies (weak: SHA-1)\nok    nonce: 00\naffirming: all 2 checks passed (1 weak)\n"
        );
    }
}
