//! The schedule's JSON and its validation: each refusal names its field and the bad value.

use super::*;
use serde_json::{Value, json};

fn sample() -> Value {
    json!({
        "name": "primary",
        "time_zone": "America/New_York",
        "layers": [{
            "name": "weekdays",
            "start": "2024-03-04T09:00:00-05:00",
            "rotation": "1w",
            "users": ["us_1", "us_2"],
            "restrictions": [{"days": ["mon", "tue"], "from": "09:00", "to": "17:00"}],
        }],
        "overrides": [{"user": "us_3", "start": "2024-03-05T00:00:00Z", "end": "2024-03-06T00:00:00Z"}],
    })
}

fn parse(value: Value) -> Schedule {
    serde_json::from_value(value).unwrap()
}

/// The error for `sample()` changed at JSON pointer `pointer` to `value`.
fn refusal(pointer: &str, value: Value) -> FieldError {
    let mut schedule = sample();
    *schedule.pointer_mut(pointer).unwrap() = value;
    parse(schedule)
        .validate(|user| user.starts_with("us_"))
        .unwrap_err()
}

#[test]
fn the_specs_json_round_trips_and_defaults_apply() {
    let schedule = parse(sample());
    assert_eq!(serde_json::to_value(&schedule).unwrap(), sample());
    assert!(schedule.validate(|_| true).is_ok());

    let bare = parse(json!({
        "name": "s",
        "layers": [{"name": "l", "start": "2024-01-01T00:00:00Z", "rotation": "12h", "users": ["us_1"]}],
    }));
    assert_eq!(bare.time_zone, "UTC");
    assert!(bare.overrides.is_empty());
    assert_eq!(bare.layers[0].restrictions, None);
    let written = serde_json::to_value(&bare).unwrap();
    assert!(written["layers"][0].get("restrictions").is_none());
}

#[test]
fn unknown_fields_are_refused() {
    let mut extra = sample();
    extra["layers"][0]["end"] = json!("2025-01-01T00:00:00Z");
    assert!(serde_json::from_value::<Schedule>(extra).is_err());
    let mut extra = sample();
    extra["overrides"][0]["note"] = json!("swap");
    assert!(serde_json::from_value::<Schedule>(extra).is_err());
}

#[test]
fn refusals_name_the_field_and_the_value() {
    let cases = [
        (
            "/time_zone",
            json!("Mars/Olympus"),
            "time_zone",
            "Mars/Olympus",
        ),
        ("/name", json!(" "), "name", "empty"),
        ("/layers", json!([]), "layers", "at least one layer"),
        (
            "/layers/0/users",
            json!([]),
            "layers[0].users",
            "at least one user",
        ),
        (
            "/layers/0/users/1",
            json!("bob"),
            "layers[0].users[1]",
            "bob",
        ),
        (
            "/layers/0/start",
            json!("2024-03-04 9am"),
            "layers[0].start",
            "9am",
        ),
        (
            "/layers/0/start",
            json!("2024-03-04T09:00:00"),
            "layers[0].start",
            "RFC 3339",
        ),
        (
            "/layers/0/rotation",
            json!("0d"),
            "layers[0].rotation",
            "\"0d\" is no time",
        ),
        (
            "/layers/0/rotation",
            json!("0h"),
            "layers[0].rotation",
            "\"0h\" is shorter",
        ),
        (
            "/layers/0/rotation",
            json!("30m"),
            "layers[0].rotation",
            "\"30m\" is shorter",
        ),
        (
            "/layers/0/rotation",
            json!("1 fortnight"),
            "layers[0].rotation",
            "fortnight",
        ),
        (
            "/layers/0/rotation",
            json!("1y"),
            "layers[0].rotation",
            "\"1y\"",
        ),
        (
            "/layers/0/rotation",
            json!("99999999999w"),
            "layers[0].rotation",
            "too long",
        ),
        (
            "/layers/0/restrictions",
            json!([]),
            "layers[0].restrictions",
            "leave it out",
        ),
        (
            "/layers/0/restrictions/0/days",
            json!([]),
            "layers[0].restrictions[0].days",
            "at least one",
        ),
        (
            "/layers/0/restrictions/0/days/1",
            json!("Tuesday"),
            "layers[0].restrictions[0].days[1]",
            "Tuesday",
        ),
        (
            "/layers/0/restrictions/0/from",
            json!("9:00"),
            "layers[0].restrictions[0].from",
            "\"9:00\"",
        ),
        (
            "/layers/0/restrictions/0/from",
            json!("24:00"),
            "layers[0].restrictions[0].from",
            "24:00",
        ),
        (
            "/layers/0/restrictions/0/to",
            json!("17:60"),
            "layers[0].restrictions[0].to",
            "17:60",
        ),
        (
            "/layers/0/restrictions/0/to",
            json!("17:00:00"),
            "layers[0].restrictions[0].to",
            "17:00:00",
        ),
        (
            "/layers/0/restrictions/0/to",
            json!("09:00"),
            "layers[0].restrictions[0].to",
            "same as from",
        ),
        (
            "/overrides/0/user",
            json!("carol"),
            "overrides[0].user",
            "carol",
        ),
        (
            "/overrides/0/end",
            json!("2024-03-05T00:00:00Z"),
            "overrides[0].end",
            "not after start",
        ),
        (
            "/overrides/0/end",
            json!("2024-03-04T00:00:00Z"),
            "overrides[0].end",
            "2024-03-04T00:00:00Z",
        ),
        (
            "/overrides/0/start",
            json!("soon"),
            "overrides[0].start",
            "soon",
        ),
    ];
    for (pointer, value, field, says) in cases {
        let error = refusal(pointer, value.clone());
        assert_eq!(error.field, field, "{pointer} = {value}: {error}");
        assert!(error.reason.contains(says), "{pointer} = {value}: {error}");
    }
}

#[test]
fn rotations_and_wrapping_windows_that_are_accepted() {
    for rotation in ["1h", "90m", "12h", "1d", "3d", "1w", "2w", "3600s"] {
        let mut schedule = sample();
        schedule["layers"][0]["rotation"] = json!(rotation);
        assert!(parse(schedule).validate(|_| true).is_ok(), "{rotation}");
    }
    // from > to wraps past midnight; 00:00 as `to` means midnight at the end of the day.
    for (from, to) in [("22:00", "06:00"), ("17:00", "00:00"), ("00:00", "23:59")] {
        let mut schedule = sample();
        schedule["layers"][0]["restrictions"][0]["from"] = json!(from);
        schedule["layers"][0]["restrictions"][0]["to"] = json!(to);
        assert!(parse(schedule).validate(|_| true).is_ok(), "{from}-{to}");
    }
}

#[test]
fn the_error_reads_as_field_then_reason() {
    let error = refusal("/layers/0/rotation", json!("soon"));
    assert_eq!(
        error.to_string(),
        "layers[0].rotation: \"soon\" is not a rotation like 12h, 1d, 1w or 2w"
    );
}

#[test]
fn an_unparsed_schedule_answers_too() {
    let schedule = parse(sample());
    let at = "2024-03-05T12:00:00Z".parse().unwrap();
    let answer = schedule.on_call_at(at).unwrap();
    assert_eq!(answer.users, ["us_3"]);
    assert_eq!(answer.until.to_string(), "2024-03-06T00:00:00Z");
    let shifts = schedule.shifts(at, answer.until).unwrap();
    assert_eq!((shifts.len(), shifts[0].layer), (1, None));
    let mut broken = sample();
    broken["time_zone"] = json!("Nowhere");
    assert_eq!(parse(broken).on_call_at(at).unwrap_err().field, "time_zone");
}
