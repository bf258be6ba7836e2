//! `.sbat` merging as ukify 254 does it (`merge_sbat()`): the component lines of the stub's and the kernel's
//! `.sbat` sections and of the given texts, under one `sbat,1,...` header line, NUL-terminated.

use crate::pe::PeHeaders;
use crate::uki::{Section, UkiError};

/// The header line every merged SBAT starts with.
pub const SBAT_HEADER: &str =
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n";

/// Python's `str.splitlines()`: splits on every line boundary it knows, drops the terminators, no trailing
/// empty element.
pub fn py_splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r'
                && let Some(&(j, '\n')) = it.peek()
            {
                it.next();
                next = j + 1;
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The component lines (all but the `sbat,` header) of a PE file's `.sbat` section, if it has a valid one.
/// Like pefile, reads the whole stored section (`SizeOfRawData`) and strips trailing NULs.
pub fn pe_sbat_lines(pe: &[u8]) -> Result<Option<Vec<String>>, UkiError> {
    let Ok(h) = PeHeaders::parse(pe) else {
        // ukify: "is not a valid PE file, not extracting SBAT section".
        return Ok(None);
    };
    let Some(s) = h.section(Section::Sbat.name()) else {
        return Ok(None);
    };
    let raw = pe.get(s.raw_range()).unwrap_or_default();
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let text = std::str::from_utf8(raw.get(..end).unwrap_or_default())
        .map_err(|_| UkiError::Sbat(".sbat section is not UTF-8".into()))?;
    let lines = py_splitlines(text);
    match lines.first() {
        Some(first) if first.starts_with("sbat,") => {
            Ok(Some(lines.iter().skip(1).map(|l| l.to_string()).collect()))
        }
        _ => Ok(None),
    }
}

/// Merges PE `.sbat` component lines and SBAT texts into the final `.sbat` contents.
pub fn merge(pe_lines: &[Vec<String>], texts: &[String]) -> Result<String, UkiError> {
    let mut lines: Vec<String> = pe_lines.iter().flatten().cloned().collect();
    for t in texts {
        let split = py_splitlines(t);
        match split.first() {
            Some(first) if first.starts_with("sbat,") => {
                lines.extend(split.iter().skip(1).map(|l| l.to_string()))
            }
            _ => {
                return Err(UkiError::Sbat(format!(
                    "SBAT text does not start with an 'sbat,' line: {:?}",
                    t.chars().take(40).collect::<String>()
                )));
            }
        }
    }
    Ok(format!("{SBAT_HEADER}{}\n\0", lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitlines_like_python() {
        assert_eq!(py_splitlines("a\nb\r\nc\rd\n"), ["a", "b", "c", "d"]);
        assert_eq!(py_splitlines("a\n\nb"), ["a", "", "b"]);
        assert!(py_splitlines("").is_empty());
    }

    #[test]
    fn merge_texts() {
        let m = merge(
            &[vec!["systemd,1,x".into()]],
            &["sbat,1,whatever\nuki,1,UKI\n".into()],
        )
        .unwrap();
        assert_eq!(m, format!("{SBAT_HEADER}systemd,1,x\nuki,1,UKI\n\0"));
        assert!(merge(&[], &["nope".into()]).is_err());
    }
}
