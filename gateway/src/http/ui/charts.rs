//! The geometry of the overview's hourly bar charts: inline SVG that the templates draw from
//! numbers computed here (no script, and the page's CSP allows no inline styles, so positions
//! are SVG attributes).

use serde_json::{Value, json};

const HOUR_MS: u64 = 3_600_000;

/// Bars of an hourly chart, in SVG units.
const CHART_WIDTH: u64 = 1200;
const CHART_HEIGHT: u64 = 110;
/// Space under the bars for the hour labels.
const CHART_LABELS: u64 = 18;

/// The start (ms) of each of the last 24 hours, the current (partial) one last.
pub fn last_day_hours(now_ms: u64) -> [u64; 24] {
    let current = now_ms - now_ms % HOUR_MS;
    std::array::from_fn(|index| current - (23 - index as u64) * HOUR_MS)
}

/// Counts `times` (ms) into the hours of [`last_day_hours`]; earlier ones are left out.
pub fn count_per_hour(now_ms: u64, times: impl IntoIterator<Item = u64>) -> [u64; 24] {
    let first = last_day_hours(now_ms)[0];
    let mut counts = [0; 24];
    for at in times {
        if at >= first {
            let index = ((at - first) / HOUR_MS) as usize;
            if let Some(count) = counts.get_mut(index) {
                *count += 1;
            }
        }
    }
    counts
}

/// An hourly bar chart: `{width, height, max, total, bars: [{x, y, width, height, count,
/// hour}], labels: [{x, y, text}]}`, where `what` names the counted thing in each bar's title.
pub fn hourly_bars(now_ms: u64, counts: &[u64; 24], what: &str) -> Value {
    let hours = last_day_hours(now_ms);
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let slot = CHART_WIDTH / 24;
    let bars: Vec<Value> = (hours.iter().zip(counts))
        .enumerate()
        .map(|(index, (hour, count))| {
            let height = count * CHART_HEIGHT / max;
            json!({
                "x": index as u64 * slot + 2,
                "y": CHART_HEIGHT - height,
                "width": slot - 4,
                "height": height,
                "count": count,
                "title": format!("{} UTC: {count} {what}", &crate::utc::utc_text(*hour)[11..16]),
            })
        })
        .collect();
    let labels: Vec<Value> = (hours.iter().enumerate())
        .filter(|(index, _)| index % 6 == 0 || *index == 23)
        .map(|(index, hour)| {
            json!({
                "x": index as u64 * slot + slot / 2,
                "y": CHART_HEIGHT + CHART_LABELS - 4,
                "text": &crate::utc::utc_text(*hour)[11..16],
            })
        })
        .collect();
    json!({
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT + CHART_LABELS,
        "baseline": CHART_HEIGHT,
        "max": max,
        "total": counts.iter().sum::<u64>(),
        "bars": bars,
        "labels": labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_count_into_the_last_day() {
        let now = 1_709_210_096_000; // 2024-02-29 12:34:56 UTC
        let hours = last_day_hours(now);
        assert_eq!(crate::utc::utc_text(hours[23]), "2024-02-29 12:00:00");
        assert_eq!(crate::utc::utc_text(hours[0]), "2024-02-28 13:00:00");
        let counts = count_per_hour(now, [now, now - 10, hours[0], hours[0] - 1, hours[5] + 1]);
        assert_eq!(counts[23], 2);
        assert_eq!(counts[0], 1);
        assert_eq!(counts[5], 1);
        assert_eq!(counts.iter().sum::<u64>(), 4);
        let chart = hourly_bars(now, &counts, "webhooks");
        assert_eq!(chart["max"], 2);
        assert_eq!(chart["bars"][23]["height"], CHART_HEIGHT);
        assert_eq!(chart["bars"][0]["height"], CHART_HEIGHT / 2);
        assert_eq!(chart["bars"][1]["height"], 0);
        assert_eq!(chart["bars"][23]["title"], "12:00 UTC: 2 webhooks");
    }
}
