//! Just enough calendar arithmetic for notifications: the gateway hands alert times over as
//! Unix milliseconds, Discord and the webhook envelope take RFC 3339, and Slack takes Unix
//! seconds. Proleptic Gregorian calendar, UTC (Howard Hinnant's `days_from_civil` algorithms).

const SECONDS_PER_DAY: i64 = 86_400;

/// `2023-11-14T22:13:20Z`, with `.mmm` before the `Z` when the milliseconds are not zero.
pub fn rfc3339_from_millis(millis: u64) -> String {
    let seconds = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
    let fraction = millis % 1000;
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let fraction = if fraction == 0 {
        String::new()
    } else {
        format!(".{fraction:03}")
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// The Unix time in seconds of an RFC 3339 timestamp (`2022-09-07T20:19:25+00:00`,
/// `2025-08-12T15:46:15.353760+00:00`, `...Z`); `None` when it is not one.
pub fn unix_seconds(timestamp: &str) -> Option<i64> {
    let digits = |from: usize, to: usize| -> Option<i64> {
        let part = timestamp.get(from..to)?;
        // `parse` alone would accept a sign.
        if !part.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let separator = |at: usize, allowed: &[u8]| {
        timestamp
            .as_bytes()
            .get(at)
            .is_some_and(|byte| allowed.contains(byte))
    };
    let well_formed = separator(4, b"-")
        && separator(7, b"-")
        && separator(10, b"Tt ")
        && separator(13, b":")
        && separator(16, b":");
    if !well_formed {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }

    let mut rest = timestamp.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits_end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if digits_end == 0 {
            return None;
        }
        rest = &fraction[digits_end..];
    }
    let offset_seconds = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let offset_at = timestamp.len() - rest.len();
            let hours = digits(offset_at + 1, offset_at + 3)?;
            let minutes = digits(offset_at + 4, offset_at + 6)?;
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };

    // `month` and `day` were range-checked above, so the casts cannot truncate.
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_seconds)
}

/// How long something lasted, to the two largest units: `45s`, `12m 5s`, `2h 5m`, `3d 4h`.
pub fn duration_text(millis: u64) -> String {
    let seconds = millis / 1000;
    let units = [
        (seconds / 86_400, "d"),
        (seconds % 86_400 / 3600, "h"),
        (seconds % 3600 / 60, "m"),
        (seconds % 60, "s"),
    ];
    let first = units.iter().position(|(value, _)| *value > 0);
    match first {
        None => "0s".to_string(),
        Some(index) => units[index..]
            .iter()
            .take(2)
            .filter(|(value, _)| *value > 0)
            .map(|(value, unit)| format!("{value}{unit}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Days since 1970-01-01 of a date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small by construction (1..=12, 1..=31).
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_to_rfc3339() {
        assert_eq!(rfc3339_from_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_from_millis(1_700_000_000_000),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            rfc3339_from_millis(1_709_210_096_789),
            "2024-02-29T12:34:56.789Z"
        );
    }

    #[test]
    fn rfc3339_to_seconds() {
        assert_eq!(unix_seconds("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            unix_seconds("2022-09-07T20:19:25+00:00"),
            Some(1_662_581_965)
        );
        assert_eq!(
            unix_seconds("2025-08-12T15:46:15.353760+00:00"),
            Some(1_755_013_575)
        );
        assert_eq!(
            unix_seconds("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(
            unix_seconds("2023-11-14T21:13:20-01:00"),
            Some(1_700_000_000)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-13-14T22:13:20Z",
            "2023-11-14T22:13:20",
            "yesterday",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trip_over_leap_days_and_centuries() {
        for seconds in [951_782_400_i64, 4_107_542_400, 1_582_934_400, 86_399] {
            let text = rfc3339_from_millis(seconds as u64 * 1000);
            assert_eq!(unix_seconds(&text), Some(seconds), "{text}");
        }
    }

    #[test]
    fn durations_keep_two_units() {
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(45_000), "45s");
        assert_eq!(duration_text(725_000), "12m 5s");
        assert_eq!(duration_text(7_500_000), "2h 5m");
        assert_eq!(duration_text(7_200_000), "2h");
        assert_eq!(duration_text(273_600_000), "3d 4h");
    }
}
