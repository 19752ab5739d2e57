//! Policy JSON, validation, and the firing ladder.

use super::*;
use serde_json::{Value, json};

fn sample() -> Value {
    json!({
        "name": "payments",
        "steps": [
            {"delay": "5m", "targets": [{"type": "schedule", "id": "sc_1"}]},
            {"delay": "10m", "targets": [{"type": "user", "id": "us_1"}, {"type": "team", "id": "tm_1"}]},
        ],
        "repeat": 1,
    })
}

fn parse(value: Value) -> EscalationPolicy {
    serde_json::from_value(value).unwrap()
}

fn known(kind: TargetKind, id: &str) -> bool {
    let prefix = match kind {
        TargetKind::User => "us_",
        TargetKind::Team => "tm_",
        TargetKind::Schedule => "sc_",
    };
    id.starts_with(prefix)
}

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// The firings as `(step, round, due_at)` with UTC times.
fn ladder(policy: Value, opened_at: &str) -> Vec<(usize, u8, String)> {
    (parse(policy)
        .ladder()
        .unwrap()
        .firings(t(opened_at))
        .into_iter())
    .map(|firing| (firing.step, firing.round, firing.due_at.to_string()))
    .collect()
}

#[test]
fn the_specs_json_round_trips_and_repeat_defaults_to_zero() {
    let policy = parse(sample());
    assert_eq!(serde_json::to_value(&policy).unwrap(), sample());
    assert!(policy.validate(known).is_ok());
    let bare = parse(
        json!({"name": "p", "steps": [{"delay": "1s", "targets": [{"type": "user", "id": "us_1"}]}]}),
    );
    assert_eq!(bare.repeat, 0);
    let mut extra = sample();
    extra["steps"][0]["escalate"] = json!(true);
    assert!(serde_json::from_value::<EscalationPolicy>(extra).is_err());
}

#[test]
fn refusals_name_the_field_and_the_value() {
    let cases = [
        ("/name", json!(""), "name", "empty"),
        ("/steps", json!([]), "steps", "at least one step"),
        ("/repeat", json!(10), "repeat", "10 is more than 9"),
        (
            "/steps/1/delay",
            json!("500ms"),
            "steps[1].delay",
            "\"500ms\" is shorter than 1s",
        ),
        (
            "/steps/0/delay",
            json!("0s"),
            "steps[0].delay",
            "shorter than 1s",
        ),
        (
            "/steps/0/delay",
            json!("5 minutes"),
            "steps[0].delay",
            "\"5 minutes\"",
        ),
        ("/steps/0/delay", json!("1d"), "steps[0].delay", "\"1d\""),
        (
            "/steps/1/targets",
            json!([]),
            "steps[1].targets",
            "at least one target",
        ),
        (
            "/steps/1/targets/0/id",
            json!("bob"),
            "steps[1].targets[0].id",
            "no user \"bob\"",
        ),
        (
            "/steps/1/targets/1/id",
            json!("us_1"),
            "steps[1].targets[1].id",
            "no team \"us_1\"",
        ),
        (
            "/steps/0/targets/0/id",
            json!("tm_1"),
            "steps[0].targets[0].id",
            "no schedule",
        ),
    ];
    for (pointer, value, field, says) in cases {
        let mut policy = sample();
        *policy.pointer_mut(pointer).unwrap() = value.clone();
        let error = parse(policy).validate(known).unwrap_err();
        assert_eq!(error.field, field, "{pointer} = {value}: {error}");
        assert!(error.reason.contains(says), "{pointer} = {value}: {error}");
    }
    // Out of serde's range is refused before validation.
    let mut policy = sample();
    policy["repeat"] = json!(-1);
    assert!(serde_json::from_value::<EscalationPolicy>(policy).is_err());
}

#[test]
fn each_step_waits_the_previous_steps_delay_and_the_repeat_the_last_ones() {
    assert_eq!(
        ladder(sample(), "2024-01-01T00:00:00Z"),
        [
            (0, 0, "2024-01-01T00:00:00Z".into()),
            (1, 0, "2024-01-01T00:05:00Z".into()),
            // The last step's 10 minutes, then step 1 again.
            (0, 1, "2024-01-01T00:15:00Z".into()),
            (1, 1, "2024-01-01T00:20:00Z".into()),
        ]
    );
}

#[test]
fn a_one_step_policy_pages_repeat_plus_one_times() {
    let policy = json!({"name": "p", "steps": [{"delay": "5m", "targets": [{"type": "user", "id": "us_1"}]}], "repeat": 2});
    assert_eq!(
        ladder(policy, "2024-01-01T00:00:00Z"),
        [
            (0, 0, "2024-01-01T00:00:00Z".into()),
            (0, 1, "2024-01-01T00:05:00Z".into()),
            (0, 2, "2024-01-01T00:10:00Z".into()),
        ]
    );
    let most = json!({"name": "p", "steps": [{"delay": "1s", "targets": [{"type": "user", "id": "us_1"}]},
                                             {"delay": "1s", "targets": [{"type": "user", "id": "us_1"}]}],
                      "repeat": 9});
    assert_eq!(ladder(most, "2024-01-01T00:00:00Z").len(), 20);
}

#[test]
fn the_ladder_resumes_from_the_stored_firing_without_skipping_or_repeating() {
    let ladder = parse(sample()).ladder().unwrap();
    let opened = t("2024-01-01T00:00:00Z");
    let all = ladder.firings(opened);
    // A timer that restarts after any firing picks up exactly the next one.
    for (index, fired) in all.iter().enumerate() {
        assert_eq!(
            ladder.next_firing(opened, Some(fired)),
            all.get(index + 1).copied()
        );
    }
    assert_eq!(ladder.next_firing(opened, None), all.first().copied());
    // Stored with the time it really paged (the gateway was down for an hour), the rest keeps
    // its pace from there.
    let late = Firing {
        due_at: t("2024-01-01T01:05:00Z"),
        ..all[1]
    };
    assert_eq!(
        ladder.next_firing(opened, Some(&late)),
        Some(Firing {
            step: 0,
            round: 1,
            due_at: t("2024-01-01T01:15:00Z")
        })
    );
}

#[test]
fn a_firing_the_policy_no_longer_has_ends_the_ladder() {
    let ladder = parse(sample()).ladder().unwrap();
    let opened = t("2024-01-01T00:00:00Z");
    let gone_step = Firing {
        step: 5,
        round: 0,
        due_at: opened,
    };
    assert_eq!(ladder.next_firing(opened, Some(&gone_step)), None);
    let gone_round = Firing {
        step: 0,
        round: 4,
        due_at: opened,
    };
    assert_eq!(ladder.next_firing(opened, Some(&gone_round)), None);
}

#[test]
fn delays_are_exact_across_daylight_saving() {
    // Durations, not wall-clock: 1h after 01:30 EDT on fall-back night is 01:30 EST.
    let policy = json!({"name": "p", "steps": [{"delay": "1h", "targets": [{"type": "user", "id": "us_1"}]}], "repeat": 1});
    assert_eq!(
        ladder(policy, "2024-11-03T05:30:00Z"),
        [
            (0, 0, "2024-11-03T05:30:00Z".into()),
            (0, 1, "2024-11-03T06:30:00Z".into())
        ]
    );
}
