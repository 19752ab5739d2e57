//! The geometry of a schedule's timeline: one row per layer (the shifts where that layer is
//! the final word), overrides marked, a colour per person. The template draws it as inline
//! SVG from these numbers (the page's CSP allows no inline styles, so positions are SVG
//! attributes).

use serde_json::{Value, json};

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The timeline's size, in SVG units: a label column, then the days.
const TIMELINE_LABEL: u64 = 150;
const TIMELINE_WIDTH: u64 = 1200;
const TIMELINE_ROW: u64 = 30;
const TIMELINE_HEAD: u64 = 22;

/// Colours of the people on a timeline, told apart (a user keeps one colour on the page).
const PALETTE: [&str; 10] = [
    "#4c6ef5", "#12b886", "#f76707", "#ae3ec9", "#1098ad", "#e8590c", "#74b816", "#d6336c",
    "#5f3dc4", "#0ca678",
];

/// One block of a timeline row.
pub struct TimelineBlock<'a> {
    /// The user, `us_<n>`.
    pub user: &'a str,
    /// Their name.
    pub name: &'a str,
    /// ms.
    pub start: u64,
    /// ms, exclusive.
    pub end: u64,
    /// Whether an override puts them there.
    pub is_override: bool,
}

/// The timeline of rows `(label, blocks)` over `[from, from + days)`: `{width, height, label,
/// rows: [{y, label, blocks: [{x, y, width, height, colour, user, name, override, title}]}],
/// days: [{x, text}], people: [{user, name, colour}]}`.
pub fn timeline(from_ms: u64, days: u64, rows: &[(String, Vec<TimelineBlock<'_>>)]) -> Value {
    let span = (days * DAY_MS).max(1);
    let to_ms = from_ms + span;
    let scale =
        |at: u64| TIMELINE_LABEL + (at.clamp(from_ms, to_ms) - from_ms) * TIMELINE_WIDTH / span;
    let mut people: Vec<(String, String)> = Vec::new();
    let mut colour_of = |user: &str, name: &str| {
        let index = match people.iter().position(|(known, _)| known == user) {
            Some(index) => index,
            None => {
                people.push((user.to_string(), name.to_string()));
                people.len() - 1
            }
        };
        PALETTE[index % PALETTE.len()]
    };
    let rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(index, (label, blocks))| {
            let y = TIMELINE_HEAD + index as u64 * TIMELINE_ROW;
            let blocks: Vec<Value> = blocks
                .iter()
                .filter(|block| block.end > from_ms && block.start < to_ms)
                .map(|block| {
                    let x = scale(block.start);
                    json!({
                        "x": x,
                        "y": y + 3,
                        "width": (scale(block.end) - x).max(1),
                        "height": TIMELINE_ROW - 6,
                        "colour": colour_of(block.user, block.name),
                        "user": block.user,
                        "name": block.name,
                        "override": block.is_override,
                        "title": format!(
                            "{}{}: {} – {} UTC",
                            block.name,
                            if block.is_override { " (override)" } else { "" },
                            crate::utc::utc_text(block.start),
                            crate::utc::utc_text(block.end),
                        ),
                    })
                })
                .collect();
            json!({"y": y, "text_y": y + TIMELINE_ROW / 2 + 4, "label": label, "blocks": blocks})
        })
        .collect();
    let day_marks: Vec<Value> = (0..days)
        .map(|day| {
            let at = from_ms - from_ms % DAY_MS + (day + 1) * DAY_MS;
            json!({"x": scale(at), "text": &crate::utc::utc_text(at)[5..10]})
        })
        .filter(|mark| {
            mark["x"]
                .as_u64()
                .is_some_and(|x| x < TIMELINE_LABEL + TIMELINE_WIDTH)
        })
        .collect();
    let people: Vec<Value> = (people.iter().enumerate())
        .map(|(index, (user, name))| {
            json!({"user": user, "name": name, "colour": PALETTE[index % PALETTE.len()]})
        })
        .collect();
    json!({
        "width": TIMELINE_LABEL + TIMELINE_WIDTH,
        "height": TIMELINE_HEAD + rows.len() as u64 * TIMELINE_ROW,
        "label_width": TIMELINE_LABEL,
        "rows": rows,
        "days": day_marks,
        "people": people,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_blocks_are_placed_in_the_range_with_one_colour_per_person() {
        let from = 1_709_164_800_000; // 2024-02-29 00:00 UTC
        let block =
            |user: &'static str, start_h: u64, end_h: u64, is_override: bool| TimelineBlock {
                user,
                name: user,
                start: from + start_h * HOUR_MS,
                end: from + end_h * HOUR_MS,
                is_override,
            };
        let rows = vec![
            (
                "layer".to_string(),
                vec![block("us_1", 0, 24, false), block("us_2", 24, 400, false)],
            ),
            ("overrides".to_string(), vec![block("us_2", 12, 18, true)]),
        ];
        let picture = timeline(from, 14, &rows);
        let first = &picture["rows"][0]["blocks"][0];
        assert_eq!(first["x"], TIMELINE_LABEL);
        assert_eq!(first["width"], TIMELINE_WIDTH / 14);
        // Clipped at the end of the range.
        let second = &picture["rows"][0]["blocks"][1];
        assert_eq!(
            second["x"].as_u64().unwrap() + second["width"].as_u64().unwrap(),
            TIMELINE_LABEL + TIMELINE_WIDTH
        );
        let cover = &picture["rows"][1]["blocks"][0];
        assert_eq!(cover["override"], true);
        assert_eq!(cover["colour"], second["colour"]);
        assert_ne!(first["colour"], second["colour"]);
        assert_eq!(picture["people"].as_array().unwrap().len(), 2);
        assert_eq!(picture["days"][0]["text"], "03-01");
    }
}
