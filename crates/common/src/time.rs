//! Proleptic Gregorian calendar arithmetic on Unix time (UTC), both directions, with Howard Hinnant's
//! `civil_from_days` / `days_from_civil` algorithms: no time-zone database, no allocation, valid for every
//! `u64` second count yardstick meets (FAT timestamps, certificate validity, RFC 3339 arguments).
//!
//! ```
//! use yardstick_common::time::{days_from_civil, Civil};
//! let t = Civil::from_unix(951_782_400 + 3_723);
//! assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2000, 2, 29, 1, 2, 3));
//! assert_eq!(days_from_civil(2000, 2, 29), 11_016);
//! ```

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year (e.g. 2026).
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=59.
    pub second: u32,
}

impl Civil {
    /// The calendar date and time of `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: u64) -> Civil {
        // u64::MAX / 86_400 fits in i64, so the day count never wraps.
        let days = (secs / 86_400) as i64;
        let rem = (secs % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1..=12; negative before 1970).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix times from `date -u -d <time> +%s` (GNU coreutils).
    #[test]
    fn known_instants() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_680_549_823, "2023-04-03T19:23:43Z"),
            (1_901_474_623, "2030-04-03T19:23:43Z"),
            (4_354_819_199, "2107-12-31T23:59:59Z"),
        ] {
            assert_eq!(Civil::from_unix(secs).rfc3339(), text);
        }
    }

    #[test]
    fn round_trip_every_day_for_three_centuries() {
        for days in 0..(300 * 366) {
            let c = Civil::from_unix(days * 86_400);
            assert_eq!(
                days_from_civil(c.year, c.month, c.day),
                days as i64,
                "{c:?}"
            );
        }
    }
}
