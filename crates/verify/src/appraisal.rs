//! The result of a verification: a list of named checks, each with the expected and the actual value, and
//! notes on what was deliberately not checked.

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

/// An ordered list of checks plus notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appraisal {
    checks: Vec<Check>,
    notes: Vec<String>,
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
        });
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

    /// Appends another appraisal's checks and notes.
    pub fn extend(&mut self, other: Appraisal) {
        self.checks.extend(other.checks);
        self.notes.extend(other.notes);
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
    /// `FAIL  <name>: expected <expected>, actual <actual>`), then a line per note (`note  ...`) and the
    /// verdict (`affirming: all 19 checks passed` or `contraindicated: 2 of 19 checks failed`).
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        // Writing to a String cannot fail.
        for c in &self.checks {
            let _ = if c.ok {
                writeln!(out, "ok    {}: {}", c.name, c.actual)
            } else {
                writeln!(
                    out,
                    "FAIL  {}: expected {}, actual {}",
                    c.name, c.expected, c.actual
                )
            };
        }
        for n in &self.notes {
            let _ = writeln!(out, "note  {n}");
        }
        let total = self.checks.len();
        let _ = if self.passed() {
            writeln!(out, "affirming: all {total} checks passed")
        } else {
            writeln!(
                out,
                "contraindicated: {} of {total} checks failed",
                self.failures().count()
            )
        };
        out
    }
}

impl serde::Serialize for Appraisal {
    /// `{"status": "affirming"|"contraindicated", "checks": [...], "notes": [...]}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Appraisal", 3)?;
        st.serialize_field("status", &self.status())?;
        st.serialize_field("checks", &self.checks)?;
        st.serialize_field("notes", &self.notes)?;
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
    }
}
