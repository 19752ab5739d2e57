//! The timeline: rotations in a zone across daylight-saving changes, and restrictions; the
//! helpers here serve `layering` too.

use super::*;
use crate::oncall::Schedule;
use serde_json::{Value, json};

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn rota(schedule: Value) -> Rota {
    let schedule: Schedule = serde_json::from_value(schedule).unwrap();
    schedule.rota().unwrap()
}

/// One layer of `users` from `start`, every `rotation`, in `zone`.
fn one_layer(zone: &str, start: &str, rotation: &str, users: &[&str]) -> Rota {
    rota(json!({
        "name": "s", "time_zone": zone,
        "layers": [{"name": "l", "start": start, "rotation": rotation, "users": users}],
    }))
}

/// Shifts as `(user, start, end, layer)` with UTC RFC 3339 times, for readable expectations.
fn shifts(rota: &Rota, from: &str, to: &str) -> Vec<(String, String, String, Option<usize>)> {
    (rota.shifts(t(from), t(to)).into_iter())
        .map(|shift| {
            let (start, end) = (shift.start.to_string(), shift.end.to_string());
            (shift.user, start, end, shift.layer)
        })
        .collect()
}

fn shift(
    user: &str,
    start: &str,
    end: &str,
    layer: Option<usize>,
) -> (String, String, String, Option<usize>) {
    (user.into(), start.into(), end.into(), layer)
}

fn on_call(rota: &Rota, at: &str) -> (Vec<String>, String) {
    let answer = rota.on_call_at(t(at));
    (answer.users, answer.until.to_string())
}

#[test]
fn a_daily_handoff_stays_at_local_nine_across_spring_forward_in_new_york() {
    // 2024-03-10 02:00 EST becomes 03:00 EDT: 09:00 local is 14:00Z before, 13:00Z after.
    let rota = one_layer(
        "America/New_York",
        "2024-03-07T09:00:00-05:00",
        "1d",
        &["a", "b", "c"],
    );
    assert_eq!(
        shifts(&rota, "2024-03-07T00:00:00Z", "2024-03-12T00:00:00Z"),
        [
            shift("a", "2024-03-07T14:00:00Z", "2024-03-08T14:00:00Z", Some(0)),
            shift("b", "2024-03-08T14:00:00Z", "2024-03-09T14:00:00Z", Some(0)),
            // The short day: 23 hours.
            shift("c", "2024-03-09T14:00:00Z", "2024-03-10T13:00:00Z", Some(0)),
            shift("a", "2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z", Some(0)),
            shift("b", "2024-03-11T13:00:00Z", "2024-03-12T00:00:00Z", Some(0)),
        ]
    );
}

#[test]
fn an_hourly_rotation_is_exact_so_its_local_handoff_moves() {
    // 12h from 09:00 EST: 24 hours later it is 10:00 EDT.
    let rota = one_layer(
        "America/New_York",
        "2024-03-09T09:00:00-05:00",
        "12h",
        &["a", "b"],
    );
    assert_eq!(
        shifts(&rota, "2024-03-09T14:00:00Z", "2024-03-10T14:00:00Z"),
        [
            shift("a", "2024-03-09T14:00:00Z", "2024-03-10T02:00:00Z", Some(0)),
            shift("b", "2024-03-10T02:00:00Z", "2024-03-10T14:00:00Z", Some(0)),
        ]
    );
    let handoff = t("2024-03-10T14:00:00Z").in_tz("America/New_York").unwrap();
    assert_eq!(handoff.time(), Time::constant(10, 0, 0, 0));
}

#[test]
fn a_weekly_rotation_over_fall_back_in_new_york_lasts_169_hours() {
    // 2024-11-03 02:00 EDT becomes 01:00 EST.
    let rota = one_layer(
        "America/New_York",
        "2024-10-28T09:00:00-04:00",
        "1w",
        &["a", "b"],
    );
    assert_eq!(
        shifts(&rota, "2024-10-28T13:00:00Z", "2024-11-11T14:00:00Z"),
        [
            shift("a", "2024-10-28T13:00:00Z", "2024-11-04T14:00:00Z", Some(0)),
            shift("b", "2024-11-04T14:00:00Z", "2024-11-11T14:00:00Z", Some(0)),
        ]
    );
    let week = t("2024-10-28T13:00:00Z").duration_until(t("2024-11-04T14:00:00Z"));
    assert_eq!(week, SignedDuration::from_hours(169));
}

#[test]
fn berlin_handoffs_stay_at_local_eight_across_both_changes() {
    // 2024-03-31 02:00 CET becomes 03:00 CEST; 2024-10-27 03:00 CEST becomes 02:00 CET.
    let spring = one_layer(
        "Europe/Berlin",
        "2024-03-29T08:00:00+01:00",
        "1d",
        &["a", "b"],
    );
    assert_eq!(
        shifts(&spring, "2024-03-29T07:00:00Z", "2024-04-01T06:00:00Z"),
        [
            shift("a", "2024-03-29T07:00:00Z", "2024-03-30T07:00:00Z", Some(0)),
            shift("b", "2024-03-30T07:00:00Z", "2024-03-31T06:00:00Z", Some(0)),
            shift("a", "2024-03-31T06:00:00Z", "2024-04-01T06:00:00Z", Some(0)),
        ]
    );
    let fall = one_layer(
        "Europe/Berlin",
        "2024-10-21T08:00:00+02:00",
        "1w",
        &["a", "b"],
    );
    assert_eq!(
        shifts(&fall, "2024-10-21T06:00:00Z", "2024-11-04T07:00:00Z"),
        [
            shift("a", "2024-10-21T06:00:00Z", "2024-10-28T07:00:00Z", Some(0)),
            shift("b", "2024-10-28T07:00:00Z", "2024-11-04T07:00:00Z", Some(0)),
        ]
    );
    // Two-week rotations count calendar weeks too.
    let fortnight = one_layer(
        "Europe/Berlin",
        "2024-03-25T08:00:00+01:00",
        "2w",
        &["a", "b"],
    );
    assert_eq!(
        on_call(&fortnight, "2024-04-08T05:59:59Z"),
        (vec!["a".into()], "2024-04-08T06:00:00Z".into())
    );
}

#[test]
fn a_handoff_in_the_spring_gap_moves_past_it_and_the_next_one_returns() {
    // 02:30 does not exist in New York on 2024-03-10; that handoff is 03:30 EDT.
    let rota = one_layer(
        "America/New_York",
        "2024-03-09T02:30:00-05:00",
        "1d",
        &["a", "b"],
    );
    assert_eq!(
        shifts(&rota, "2024-03-09T07:30:00Z", "2024-03-11T06:30:00Z"),
        [
            shift("a", "2024-03-09T07:30:00Z", "2024-03-10T07:30:00Z", Some(0)),
            shift("b", "2024-03-10T07:30:00Z", "2024-03-11T06:30:00Z", Some(0)),
        ]
    );
}

#[test]
fn restrictions_are_local_hours_and_follow_daylight_saving() {
    let rota = rota(json!({
        "name": "s", "time_zone": "America/New_York",
        "layers": [{"name": "office", "start": "2024-03-04T00:00:00-05:00", "rotation": "1w",
                    "users": ["a"],
                    "restrictions": [{"days": ["fri", "mon"], "from": "09:00", "to": "17:00"}]}],
    }));
    assert_eq!(
        shifts(&rota, "2024-03-08T00:00:00Z", "2024-03-12T00:00:00Z"),
        [
            shift("a", "2024-03-08T14:00:00Z", "2024-03-08T22:00:00Z", Some(0)),
            shift("a", "2024-03-11T13:00:00Z", "2024-03-11T21:00:00Z", Some(0)),
        ]
    );
}

#[test]
fn a_night_restriction_wrapping_past_midnight_spans_both_changes() {
    let rota = rota(json!({
        "name": "s", "time_zone": "America/New_York",
        "layers": [{"name": "nights", "start": "2024-01-01T00:00:00Z", "rotation": "1w",
                    "users": ["n"],
                    "restrictions": [{"days": ["sat"], "from": "22:00", "to": "06:00"}]}],
    }));
    // Saturday 22:00 EST to Sunday 06:00 EDT: 7 hours.
    assert_eq!(
        shifts(&rota, "2024-03-09T00:00:00Z", "2024-03-11T00:00:00Z"),
        [shift(
            "n",
            "2024-03-10T03:00:00Z",
            "2024-03-10T10:00:00Z",
            Some(0)
        )]
    );
    // Saturday 22:00 EDT to Sunday 06:00 EST: 9 hours.
    assert_eq!(
        shifts(&rota, "2024-11-02T00:00:00Z", "2024-11-04T00:00:00Z"),
        [shift(
            "n",
            "2024-11-03T02:00:00Z",
            "2024-11-03T11:00:00Z",
            Some(0)
        )]
    );
    // A range starting inside Saturday night's window still sees it.
    assert_eq!(
        on_call(&rota, "2024-03-10T05:00:00Z"),
        (vec!["n".into()], "2024-03-10T10:00:00Z".into())
    );
}

#[test]
fn restriction_times_in_a_gap_or_a_fold_are_read_compatibly() {
    let rota = rota(json!({
        "name": "s", "time_zone": "America/New_York",
        "layers": [{"name": "l", "start": "2024-01-01T00:00:00Z", "rotation": "1w",
                    "users": ["a"],
                    "restrictions": [{"days": ["sun"], "from": "02:30", "to": "05:00"},
                                     {"days": ["sun"], "from": "01:30", "to": "01:45"}]}],
    }));
    let spring = shifts(&rota, "2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z");
    // 01:30–01:45 EST, then 02:30 (skipped) read as 03:30 EDT until 05:00 EDT.
    assert_eq!(
        spring,
        [
            shift("a", "2024-03-10T06:30:00Z", "2024-03-10T06:45:00Z", Some(0)),
            shift("a", "2024-03-10T07:30:00Z", "2024-03-10T09:00:00Z", Some(0)),
        ]
    );
    // 01:30 happens twice on 2024-11-03: the first, in EDT.
    let fall = shifts(&rota, "2024-11-03T00:00:00Z", "2024-11-04T00:00:00Z");
    assert_eq!(
        fall,
        [
            shift("a", "2024-11-03T05:30:00Z", "2024-11-03T05:45:00Z", Some(0)),
            shift("a", "2024-11-03T07:30:00Z", "2024-11-03T10:00:00Z", Some(0)),
        ]
    );
}

#[test]
fn overlapping_restrictions_merge() {
    let rota = rota(json!({
        "name": "s",
        "layers": [{"name": "l", "start": "2024-01-01T00:00:00Z", "rotation": "1w",
                    "users": ["a"],
                    "restrictions": [{"days": ["mon"], "from": "09:00", "to": "13:00"},
                                     {"days": ["mon"], "from": "12:00", "to": "17:00"}]}],
    }));
    assert_eq!(
        shifts(&rota, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"),
        [shift(
            "a",
            "2024-01-01T09:00:00Z",
            "2024-01-01T17:00:00Z",
            Some(0)
        )]
    );
}

#[test]
fn a_handoff_instant_belongs_to_the_new_turn() {
    let rota = one_layer(
        "Europe/Berlin",
        "2024-01-01T08:00:00+01:00",
        "1d",
        &["a", "b"],
    );
    assert_eq!(
        on_call(&rota, "2024-01-02T07:00:00Z"),
        (vec!["b".into()], "2024-01-03T07:00:00Z".into())
    );
    assert_eq!(
        on_call(&rota, "2024-01-02T06:59:59.999Z"),
        (vec!["a".into()], "2024-01-02T07:00:00Z".into())
    );
}

#[test]
fn turns_far_from_the_start_are_found_without_walking() {
    // Twenty years of 23-, 24- and 25-hour days from 2004.
    let rota = one_layer(
        "America/New_York",
        "2004-01-05T09:00:00-05:00",
        "1d",
        &["a", "b", "c"],
    );
    // 2024-07-15 is day 7497 since 2004-01-05, and 7497 % 3 == 0.
    assert_eq!(
        on_call(&rota, "2024-07-15T13:00:00Z"),
        (vec!["a".into()], "2024-07-16T13:00:00Z".into())
    );
    assert_eq!(
        on_call(&rota, "2024-07-15T12:59:59Z"),
        (vec!["c".into()], "2024-07-15T13:00:00Z".into())
    );
}

#[test]
fn an_empty_or_backward_range_has_no_shifts() {
    let rota = one_layer("UTC", "2024-01-01T00:00:00Z", "1d", &["a"]);
    assert!(shifts(&rota, "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z").is_empty());
    assert!(shifts(&rota, "2024-01-03T00:00:00Z", "2024-01-02T00:00:00Z").is_empty());
}

mod layering;
