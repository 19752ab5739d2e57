//! Time as webhooks and chat messages write it: RFC 3339 text (`2024-05-01T12:30:00Z`), Unix
//! milliseconds (what [`Event::received_at`](crate::Event) carries) and short durations.
//!
//! Plugins have no clock worth trusting (the sandbox is deterministic by design), so these
//! helpers convert the times the payload and the event carry; they never read the clock.
//!
//! ```
//! use hookgate_plugin_sdk::time;
//! assert_eq!(time::rfc3339_from_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
//! let started = time::millis_from_rfc3339("2020-10-05T16:32:10Z").unwrap();
//! let ended = time::millis_from_rfc3339("2020-10-05T18:34:12+02:00").unwrap();
//! assert_eq!(time::duration_text(ended - started), "2m 2s");
//! ```

use crate::PluginError;

const SECONDS_PER_DAY: i64 = 86_400;

/// Unix milliseconds as RFC 3339 in UTC: `2023-11-14T22:13:20Z`, with `.mmm` when the
/// milliseconds are not zero. This is the form [`Embed::timestamp`](crate::Embed::timestamp)
/// takes.
pub fn rfc3339_from_millis(millis: u64) -> String {
    // Divided before the cast, so no `u64` wraps into a time before 1970.
    let seconds = (millis / 1000) as i64;
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let in_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (hour, minute, second) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
    let fraction = match millis % 1000 {
        0 => String::new(),
        rest => format!(".{rest:03}"),
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// Unix seconds as RFC 3339 in UTC, as [`rfc3339_from_millis`].
pub fn rfc3339_from_secs(secs: u64) -> String {
    rfc3339_from_millis(secs.saturating_mul(1000))
}

/// Parses an RFC 3339 date-time (`2020-10-05T16:32:07Z`, `2011-12-12T14:27:31+02:00`,
/// fractional seconds allowed, surrounding whitespace ignored) into Unix milliseconds. Dates
/// that do not exist (`2023-02-30`), offsets other than `Z` or `±hh:mm`, and times before 1970
/// are refused with an error that names the text.
pub fn millis_from_rfc3339(text: &str) -> Result<u64, PluginError> {
    parse_rfc3339(text.trim())
        .and_then(|millis| u64::try_from(millis).ok())
        .ok_or_else(|| PluginError::new(format!("{text:?} is not an RFC 3339 date-time")))
}

/// Parses an RFC 3339 date-time into Unix seconds (the fraction dropped), as
/// [`millis_from_rfc3339`]; Slack's `ts` takes this form.
///
/// ```
/// use hookgate_plugin_sdk::time;
/// assert_eq!(time::secs_from_rfc3339("2023-11-14T23:13:20.999+01:00").unwrap(), 1_700_000_000);
/// ```
pub fn secs_from_rfc3339(text: &str) -> Result<u64, PluginError> {
    millis_from_rfc3339(text).map(|millis| millis / 1000)
}

/// A duration the way a chat message shows it, to its two largest units, leaving out a second
/// unit that is zero: `850ms`, `42s`, `2m 2s`, `2h`, `1h 5m`, `3d 4h`.
pub fn duration_text(millis: u64) -> String {
    let seconds = millis / 1000;
    if seconds == 0 {
        return format!("{millis}ms");
    }
    let units = [
        (seconds / 86_400, "d"),
        (seconds / 3600 % 24, "h"),
        (seconds / 60 % 60, "m"),
        (seconds % 60, "s"),
    ];
    let largest = units.iter().position(|(value, _)| *value > 0).unwrap_or(3);
    units[largest..]
        .iter()
        .take(2)
        .filter(|(value, _)| *value > 0)
        .map(|(value, unit)| format!("{value}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Unix milliseconds of an RFC 3339 date-time (negative before 1970); `None` when `text` is not
/// one.
fn parse_rfc3339(text: &str) -> Option<i64> {
    // Digits only: `parse` alone would accept a sign.
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separator =
        |at: usize, allowed: &[u8]| text.as_bytes().get(at).is_some_and(|b| allowed.contains(b));
    let well_formed = separator(4, b"-")
        && separator(7, b"-")
        && separator(10, b"Tt ")
        && separator(13, b":")
        && separator(16, b":");
    if !well_formed {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    // Second 60 is a leap second, which RFC 3339 allows.
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Bytes 17 and 18 are ASCII digits, so 19 is a character boundary.
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Milliseconds are the first three digits; finer ones are dropped.
        millis = format!("{:0<3}", &fraction[..digits.min(3)])
            .parse::<i64>()
            .ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let at = text.len() - rest.len();
            let (hours, minutes) = (number(at + 1..at + 3)?, number(at + 4..at + 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days in `month` (1 to 12) of `year`, in the proleptic Gregorian calendar.
fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_from_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_from_millis(1_700_000_000_000),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            rfc3339_from_millis(1_709_210_096_789),
            "2024-02-29T12:34:56.789Z"
        );
        assert_eq!(rfc3339_from_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339_from_millis(1_601_915_527_005),
            "2020-10-05T16:32:07.005Z"
        );
        assert_eq!(rfc3339_from_secs(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn the_largest_times_do_not_wrap_before_1970() {
        // A plain `as i64` of the milliseconds would turn these negative.
        for millis in [u64::MAX, i64::MAX as u64 + 1] {
            let text = rfc3339_from_millis(millis);
            assert!(!text.starts_with("19"), "{millis}: {text}");
        }
        assert_eq!(rfc3339_from_secs(u64::MAX), rfc3339_from_millis(u64::MAX));
    }

    #[test]
    fn parses_what_github_gitlab_and_bitbucket_send() {
        assert_eq!(
            millis_from_rfc3339("2020-10-05T16:32:07Z").unwrap(),
            1_601_915_527_000
        );
        assert_eq!(
            millis_from_rfc3339("2011-12-12T14:27:31+02:00").unwrap(),
            millis_from_rfc3339("2011-12-12T12:27:31Z").unwrap()
        );
        assert_eq!(
            millis_from_rfc3339("2020-10-05T16:32:07.25Z").unwrap(),
            1_601_915_527_250
        );
        assert_eq!(
            secs_from_rfc3339("2022-09-07T20:19:25+00:00").unwrap(),
            1_662_581_965
        );
        assert_eq!(
            secs_from_rfc3339("2025-08-12T15:46:15.353760+00:00").unwrap(),
            1_755_013_575
        );
        assert_eq!(
            secs_from_rfc3339("2023-11-14T23:13:20+01:00").unwrap(),
            1_700_000_000
        );
        assert_eq!(
            secs_from_rfc3339("2023-11-14T21:13:20-01:00").unwrap(),
            1_700_000_000
        );
        assert_eq!(
            secs_from_rfc3339(" 2023-11-14t22:13:20z\n").unwrap(),
            1_700_000_000
        );
        assert_eq!(
            secs_from_rfc3339("2016-12-31T23:59:60Z").unwrap(),
            1_483_228_800
        );
    }

    #[test]
    fn round_trips_over_leap_days_and_centuries() {
        for millis in [
            0,
            1,
            86_399_000,
            951_782_400_000,
            1_582_934_400_000,
            1_601_915_527_005,
            4_102_444_799_999,
            4_107_542_400_000,
        ] {
            let text = rfc3339_from_millis(millis);
            assert_eq!(millis_from_rfc3339(&text).unwrap(), millis, "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for text in [
            "",
            "2020-10-05",
            "2020-13-05T16:32:07Z",
            "2020-10-05T16:32:07",
            "yesterday",
            "2020-10-05T16:32:07+2",
            // Not a sign and two digits.
            "2020-10-05T16:32:07+-1:00",
            "2020-10-05T16:32:07+01:60",
            "2020-10-05T16:32:07+24:00",
            "2020-10-05T16:32:07.Z",
            // Days that no calendar has.
            "2023-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "1900-02-29T00:00:00Z",
            // Before 1970 has no `u64` milliseconds.
            "1969-12-31T23:59:59Z",
        ] {
            let error = millis_from_rfc3339(text).unwrap_err();
            assert!(error.message().contains("RFC 3339"), "{text}: {error}");
        }
        assert!(millis_from_rfc3339("2024-02-29T00:00:00Z").is_ok());
        assert!(millis_from_rfc3339("2000-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration_text(0), "0ms");
        assert_eq!(duration_text(850), "850ms");
        assert_eq!(duration_text(42_000), "42s");
        assert_eq!(duration_text(122_000), "2m 2s");
        assert_eq!(duration_text(725_000), "12m 5s");
        assert_eq!(duration_text(3_900_000), "1h 5m");
        assert_eq!(duration_text(7_200_000), "2h");
        assert_eq!(duration_text(7_230_000), "2h");
        assert_eq!(duration_text(273_600_000), "3d 4h");
        assert_eq!(duration_text(86_400_000), "1d");
    }
}
