//! Layers covering layers, overrides covering all, and "until".

use super::*;

/// Layer 0: a and b daily around the clock; layer 1: c weekdays 09–17 UTC.
fn two_layers() -> Rota {
    rota(json!({
        "name": "s",
        "layers": [
            {"name": "base", "start": "2024-01-01T00:00:00Z", "rotation": "1d", "users": ["a", "b"]},
            {"name": "office", "start": "2024-01-01T00:00:00Z", "rotation": "1w", "users": ["c"],
             "restrictions": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"}]},
        ],
    }))
}

#[test]
fn a_later_layer_covers_an_earlier_one_only_where_it_has_someone() {
    let rota = two_layers();
    // 2024-01-01 is a Monday; 2024-01-06 a Saturday.
    assert_eq!(
        shifts(&rota, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"),
        [
            shift("a", "2024-01-01T00:00:00Z", "2024-01-01T09:00:00Z", Some(0)),
            shift("c", "2024-01-01T09:00:00Z", "2024-01-01T17:00:00Z", Some(1)),
            shift("a", "2024-01-01T17:00:00Z", "2024-01-02T00:00:00Z", Some(0)),
        ]
    );
    assert_eq!(
        on_call(&rota, "2024-01-06T10:00:00Z"),
        (vec!["b".into()], "2024-01-07T00:00:00Z".into())
    );
}

#[test]
fn overrides_cover_every_layer_across_their_boundaries() {
    let rota = rota(json!({
        "name": "s",
        "layers": [{"name": "base", "start": "2024-01-01T00:00:00Z", "rotation": "1d", "users": ["a", "b"]}],
        "overrides": [
            {"user": "o", "start": "2024-01-01T20:00:00Z", "end": "2024-01-02T04:00:00Z"},
            // A later override covers an earlier one.
            {"user": "p", "start": "2024-01-01T22:00:00Z", "end": "2024-01-01T23:00:00Z"},
        ],
    }));
    assert_eq!(
        shifts(&rota, "2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"),
        [
            shift("a", "2024-01-01T00:00:00Z", "2024-01-01T20:00:00Z", Some(0)),
            shift("o", "2024-01-01T20:00:00Z", "2024-01-01T22:00:00Z", None),
            shift("p", "2024-01-01T22:00:00Z", "2024-01-01T23:00:00Z", None),
            shift("o", "2024-01-01T23:00:00Z", "2024-01-02T04:00:00Z", None),
            shift("b", "2024-01-02T04:00:00Z", "2024-01-03T00:00:00Z", Some(0)),
        ]
    );
    assert_eq!(
        on_call(&rota, "2024-01-01T21:00:00Z"),
        (vec!["o".into()], "2024-01-01T22:00:00Z".into())
    );
}

#[test]
fn an_override_covers_a_restricted_layer_and_the_gap_before_a_layer_starts() {
    let rota = rota(json!({
        "name": "s",
        "layers": [{"name": "office", "start": "2024-01-01T00:00:00Z", "rotation": "1w", "users": ["c"],
                    "restrictions": [{"days": ["mon"], "from": "09:00", "to": "17:00"}]}],
        "overrides": [{"user": "o", "start": "2023-12-31T12:00:00Z", "end": "2024-01-01T10:00:00Z"}],
    }));
    assert_eq!(
        shifts(&rota, "2023-12-31T00:00:00Z", "2024-01-02T00:00:00Z"),
        [
            shift("o", "2023-12-31T12:00:00Z", "2024-01-01T10:00:00Z", None),
            shift("c", "2024-01-01T10:00:00Z", "2024-01-01T17:00:00Z", Some(0)),
        ]
    );
}

#[test]
fn nobody_is_on_call_in_a_layer_before_its_start() {
    let rota = rota(json!({
        "name": "s",
        "layers": [
            {"name": "base", "start": "2024-01-01T00:00:00Z", "rotation": "1d", "users": ["a"]},
            {"name": "new", "start": "2024-01-10T09:00:00Z", "rotation": "1d", "users": ["n", "m"]},
        ],
    }));
    assert_eq!(
        on_call(&rota, "2024-01-05T00:00:00Z"),
        (vec!["a".into()], "2024-01-10T09:00:00Z".into())
    );
    assert_eq!(
        on_call(&rota, "2024-01-10T09:00:00Z"),
        (vec!["n".into()], "2024-01-11T09:00:00Z".into())
    );
    let future = one_layer("UTC", "2030-01-01T00:00:00Z", "1d", &["a"]);
    assert_eq!(
        on_call(&future, "2029-12-01T00:00:00Z"),
        (vec![], "2030-01-01T00:00:00Z".into())
    );
    assert!(shifts(&future, "2029-01-01T00:00:00Z", "2029-12-31T00:00:00Z").is_empty());
}

#[test]
fn until_runs_over_handoffs_to_the_same_person() {
    // One user: the answer never changes, so until is the look-ahead's end.
    let alone = one_layer("UTC", "2024-01-01T00:00:00Z", "1d", &["a"]);
    assert_eq!(
        on_call(&alone, "2024-01-05T12:00:00Z"),
        (vec!["a".into()], "2024-04-04T12:00:00Z".into())
    );
    // Her turns merge into one shift.
    assert_eq!(
        shifts(&alone, "2024-01-01T00:00:00Z", "2024-01-04T00:00:00Z"),
        [shift(
            "a",
            "2024-01-01T00:00:00Z",
            "2024-01-04T00:00:00Z",
            Some(0)
        )]
    );
    // An override to the same person is a different shift but the same answer.
    let rota = rota(json!({
        "name": "s",
        "layers": [{"name": "base", "start": "2024-01-01T00:00:00Z", "rotation": "1d", "users": ["a", "b"]}],
        "overrides": [{"user": "a", "start": "2024-01-02T00:00:00Z", "end": "2024-01-02T06:00:00Z"}],
    }));
    assert_eq!(
        on_call(&rota, "2024-01-01T12:00:00Z"),
        (vec!["a".into()], "2024-01-02T06:00:00Z".into())
    );
    // Nobody, and nothing ahead: until the look-ahead's end.
    let future = one_layer("UTC", "2031-01-01T00:00:00Z", "1d", &["a"]);
    assert_eq!(
        on_call(&future, "2030-01-01T00:00:00Z"),
        (vec![], "2030-04-01T00:00:00Z".into())
    );
}
