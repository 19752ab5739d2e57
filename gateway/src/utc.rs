//! Times for people: milliseconds since the Unix epoch as UTC text, for CLI tables and the
//! console (which also gives the ISO form so the browser can show its own zone). The calendar
//! is `jiff`'s.

use jiff::Timestamp;

/// `YYYY-MM-DD hh:mm:ss`, UTC.
pub fn utc_text(ms: u64) -> String {
    timestamp(ms).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `YYYY-MM-DDThh:mm:ssZ` (RFC 3339), for `<time datetime>`.
pub fn utc_iso(ms: u64) -> String {
    timestamp(ms).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The instant `ms` names. Past jiff's range (which ends at 9999-12-30 22:00 UTC, so that every
/// offset still has a year-9999 date), which no stored time reaches, it is the last instant jiff
/// knows rather than a failed page or table.
fn timestamp(ms: u64) -> Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_in_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(1_709_210_096_000), "2024-02-29 12:34:56");
        assert_eq!(utc_iso(1_709_210_096_000), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn milliseconds_are_dropped_not_rounded() {
        assert_eq!(utc_text(1_709_210_096_999), "2024-02-29 12:34:56");
        assert_eq!(utc_iso(4_102_444_799_999), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn times_past_the_calendar_show_its_last_instant() {
        for ms in [253_402_300_799_000, i64::MAX as u64, u64::MAX] {
            assert_eq!(utc_text(ms), "9999-12-30 22:00:00", "{ms}");
            assert_eq!(utc_iso(ms), "9999-12-30T22:00:00Z", "{ms}");
        }
        assert_eq!(utc_text(253_402_207_199_000), "9999-12-30 21:59:59");
    }
}
