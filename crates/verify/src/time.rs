//! The verification time: certificates are checked for validity at "now" unless the relying party names
//! another instant (to re-check old evidence, or to keep tests on recorded evidence meaningful after its
//! certificates expire).
//!
//! ```
//! use yardstick_verify::time::parse_rfc3339;
//! assert_eq!(parse_rfc3339("2026-01-01T00:00:00Z"), Ok(1_767_225_600));
//! assert_eq!(parse_rfc3339("2026-01-01T01:00:00+01:00"), Ok(1_767_225_600));
//! assert!(parse_rfc3339("2026-02-30T00:00:00Z").is_err());
//! ```

use yardstick_common::time::days_from_civil;

fn days_in_month(y: i64, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an RFC 3339 date-time (`2026-01-01T00:00:00Z`, `2026-01-01 12:30:00.5+02:00`; `T`/`t`/space
/// between date and time, `Z`/`z` or a numeric offset, fractional seconds ignored) into Unix seconds. A leap
/// second (`:60`) counts as the second after `:59`. Instants before 1970 are refused.
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let bad =
        |why: &str| format!("{s:?} is not an RFC 3339 time ({why}; e.g. 2026-01-01T00:00:00Z)");
    let b = s.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if b.len() < 20
        || !sep(4, b"-")
        || !sep(7, b"-")
        || !sep(10, b"Tt ")
        || !sep(13, b":")
        || !sep(16, b":")
    {
        return Err(bad("expected YYYY-MM-DDTHH:MM:SS and a zone"));
    }
    let field = |r: std::ops::Range<usize>, what: &str| num(r).ok_or_else(|| bad(what));
    let year = i64::from(field(0..4, "year")?);
    let month = field(5..7, "month")?;
    let day = field(8..10, "day")?;
    let (hour, min, sec) = (
        field(11..13, "hour")?,
        field(14..16, "minute")?,
        field(17..19, "second")?,
    );
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    if hour > 23 || min > 59 || sec > 60 {
        return Err(bad("no such time of day"));
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(bad("empty fraction"));
        }
    }
    let offset: i64 = match b.get(i..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), ..]) if b.len() == i + 6 && b.get(i + 3) == Some(&b':') => {
            let h = field(i + 1..i + 3, "offset hours")?;
            let m = field(i + 4..i + 6, "offset minutes")?;
            if h > 23 || m > 59 {
                return Err(bad("offset out of range"));
            }
            let o = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -o } else { o }
        }
        _ => return Err(bad("expected Z or +HH:MM after the seconds")),
    };
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + min * 60 + sec)
        - offset;
    u64::try_from(secs).map_err(|_| bad("before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix times from `date -u -d <time> +%s` (GNU coreutils).
    #[test]
    fn known_instants() {
        for (s, want) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("2023-04-03T19:23:43Z", 1_680_549_823),
            ("2030-04-03T19:23:43z", 1_901_474_623),
            ("2023-04-03t21:23:43.123456+02:00", 1_680_549_823),
            ("2023-04-03 14:23:43-05:00", 1_680_549_823),
            ("2016-12-31T23:59:60Z", 1_483_228_800),
        ] {
            assert_eq!(parse_rfc3339(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00+1:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "2026-0a-01T00:00:00Z",
            "2026-01-01T00:00:00+24:00",
            "２026-01-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(s).is_err(), "{s}");
        }
    }
}
