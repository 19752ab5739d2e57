//! Times for people: milliseconds since the Unix epoch as UTC text, for CLI tables and the
//! console (which also gives the ISO form so the browser can show its own zone).

/// `YYYY-MM-DD hh:mm:ss`, UTC.
pub fn utc_text(ms: u64) -> String {
    let (date, time) = civil(ms);
    format!("{date} {time}")
}

/// `YYYY-MM-DDThh:mm:ssZ` (RFC 3339), for `<time datetime>`.
pub fn utc_iso(ms: u64) -> String {
    let (date, time) = civil(ms);
    format!("{date}T{time}Z")
}

/// The UTC date and time of day, as text.
fn civil(ms: u64) -> (String, String) {
    let seconds = ms / 1000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
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
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        ),
    )
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
}
