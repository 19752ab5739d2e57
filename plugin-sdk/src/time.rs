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

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Unix milliseconds as RFC 3339 in UTC: `2023-11-14T22:13:20Z`, with `.mmm` when the
/// milliseconds are not zero. This is the form [`Embed::timestamp`](crate::Embed::timestamp)
/// takes.
pub fn rfc3339_from_millis(millis: u64) -> String {
    let millis = millis as i64;
    let (days, in_day) = (
        millis.div_euclid(MILLIS_PER_DAY),
        millis.rem_euclid(MILLIS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1000;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let fraction = match in_day % 1000 {
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
/// fractional seconds allowed) into Unix milliseconds. An error names the text.
pub fn millis_from_rfc3339(text: &str) -> Result<u64, PluginError> {
    parse_rfc3339(text.trim())
        .filter(|millis| *millis >= 0)
        .map(|millis| millis as u64)
        .ok_or_else(|| PluginError::new(format!("{text:?} is not an RFC 3339 date-time")))
}

/// A duration the way a chat message shows it: `850ms`, `42s`, `2m 2s`, `1h 5m`, `3d 4h`.
pub fn duration_text(millis: u64) -> String {
    let seconds = millis / 1000;
    match seconds {
        0 => format!("{millis}ms"),
        1..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {}s", seconds / 60, seconds % 60),
        3600..=86_399 => format!("{}h {}m", seconds / 3600, seconds / 60 % 60),
        _ => format!("{}d {}h", seconds / 86_400, seconds / 3600 % 24),
    }
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let bytes = text.as_bytes();
    let separators_ok = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let offset = rest.get(1..)?;
            let (hours, minutes) = offset.split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
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
        assert_eq!(rfc3339_from_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339_from_millis(1_601_915_527_005),
            "2020-10-05T16:32:07.005Z"
        );
        assert_eq!(rfc3339_from_secs(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn parses_what_github_and_gitlab_send_and_round_trips() {
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
        for millis in [0, 1, 951_782_400_000, 1_601_915_527_005, 4_102_444_799_999] {
            assert_eq!(
                millis_from_rfc3339(&rfc3339_from_millis(millis)).unwrap(),
                millis
            );
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
        ] {
            let error = millis_from_rfc3339(text).unwrap_err();
            assert!(error.message().contains("RFC 3339"), "{text}: {error}");
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration_text(850), "850ms");
        assert_eq!(duration_text(42_000), "42s");
        assert_eq!(duration_text(122_000), "2m 2s");
        assert_eq!(duration_text(3_900_000), "1h 5m");
        assert_eq!(duration_text(273_600_000), "3d 4h");
    }
}
