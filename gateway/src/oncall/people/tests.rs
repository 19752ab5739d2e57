//! Users and teams: JSON, the write-only password, address checks and the page plan.

use super::*;
use serde_json::{Value, json};

fn sample() -> Value {
    json!({
        "name": "Ada",
        "email": "ada@example.com",
        "time_zone": "Europe/Berlin",
        "role": "responder",
        "contact_methods": [
            {"kind": "email", "address": "ada@example.com"},
            {"kind": "sms", "address": "+15551234567"},
            {"kind": "voice", "address": "+4915112345678"},
            {"kind": "ntfy", "address": "https://ntfy.sh/ada-pages"},
        ],
        "notification_rules": [{"contact": 1, "after_minutes": 0}, {"contact": 2, "after_minutes": 5}],
    })
}

fn parse(value: Value) -> User {
    serde_json::from_value(value).unwrap()
}

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn the_specs_json_round_trips_and_defaults_apply() {
    let user = parse(sample());
    assert_eq!(serde_json::to_value(&user).unwrap(), sample());
    assert!(user.validate().is_ok());
    let bare = parse(json!({"name": "B", "email": "b@example.org", "role": "viewer"}));
    assert_eq!((bare.time_zone.as_str(), bare.role), ("UTC", Role::Viewer));
    assert!(bare.contact_methods.is_empty() && bare.notification_rules.is_empty());
    for bad in [
        json!({"role": "owner"}),
        json!({"contact_methods": [{"kind": "pager", "address": "x"}]}),
        json!({"phone": "1"}),
    ] {
        let mut user = sample();
        user.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        assert!(serde_json::from_value::<User>(user).is_err(), "{bad}");
    }
}

#[test]
fn the_password_is_read_but_never_written_or_shown() {
    let mut input = sample();
    input["password"] = json!("correct horse");
    let mut user = parse(input);
    assert!(user.validate().is_ok());
    assert!(!format!("{user:?}").contains("correct horse"));
    let written = serde_json::to_value(&user).unwrap();
    assert!(written.get("password").is_none(), "{written}");
    assert_eq!(user.take_password().unwrap().expose(), "correct horse");
    assert_eq!(user.password, None);
    user.password = Some("short".into());
    assert_eq!(user.validate().unwrap_err().field, "password");
}

#[test]
fn refusals_name_the_field_and_the_value() {
    let cases = [
        ("/name", json!(""), "name", "empty"),
        ("/email", json!("ada"), "email", "\"ada\""),
        ("/time_zone", json!("CET+1"), "time_zone", "CET+1"),
        (
            "/contact_methods/0/address",
            json!("ada@localhost"),
            "contact_methods[0].address",
            "ada@localhost",
        ),
        (
            "/contact_methods/1/address",
            json!("5551234567"),
            "contact_methods[1].address",
            "E.164",
        ),
        (
            "/contact_methods/2/address",
            json!("+1555"),
            "contact_methods[2].address",
            "+1555",
        ),
        (
            "/contact_methods/3/address",
            json!("ntfy.sh/ada"),
            "contact_methods[3].address",
            "http(s) URL",
        ),
        (
            "/contact_methods/3/address",
            json!("ftp://ntfy.sh/ada"),
            "contact_methods[3].address",
            "ftp://",
        ),
        (
            "/notification_rules/1/contact",
            json!(4),
            "notification_rules[1].contact",
            "4 is not a contact method (there are 4)",
        ),
    ];
    for (pointer, value, field, says) in cases {
        let mut user = sample();
        *user.pointer_mut(pointer).unwrap() = value.clone();
        let error = parse(user).validate().unwrap_err();
        assert_eq!(error.field, field, "{pointer} = {value}: {error}");
        assert!(error.reason.contains(says), "{pointer} = {value}: {error}");
    }
}

#[test]
fn email_addresses_are_checked_simply_and_strictly() {
    for good in [
        "a@example.com",
        "first.last+tag@mail.example.co.uk",
        "o'neil@ex-ample.org",
        "x_y@a.io",
    ] {
        assert!(is_email_address(good), "{good}");
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    let long_label = format!("a@{}.com", "b".repeat(64));
    for bad in [
        "",
        "@example.com",
        "a@",
        "a@b",
        "a@@example.com",
        "a@b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a..b@example.com",
        "a b@example.com",
        "\"a\"@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@example..com",
        "a@[127.0.0.1]",
        "a@127.0.0.1",
        "ä@example.com",
        "a@exämple.com",
        "a@example.com ",
        long_local.as_str(),
        long_label.as_str(),
    ] {
        assert!(!is_email_address(bad), "{bad}");
    }
}

#[test]
fn without_rules_every_method_is_paged_at_once() {
    let mut user = parse(sample());
    user.notification_rules.clear();
    let at = t("2024-01-01T00:00:00Z");
    assert_eq!(user.pages_for(at), [(0, at), (1, at), (2, at), (3, at)]);
    user.contact_methods.clear();
    assert!(user.pages_for(at).is_empty());
}

#[test]
fn with_rules_each_method_waits_its_minutes_earliest_first() {
    let mut user = parse(sample());
    user.notification_rules = vec![
        NotificationRule {
            contact: 2,
            after_minutes: 15,
        },
        NotificationRule {
            contact: 1,
            after_minutes: 0,
        },
        NotificationRule {
            contact: 1,
            after_minutes: 15,
        },
        // Left by an unvalidated edit: skipped rather than a page to nowhere.
        NotificationRule {
            contact: 9,
            after_minutes: 1,
        },
    ];
    let at = t("2024-01-01T00:00:00Z");
    let later = t("2024-01-01T00:15:00Z");
    assert_eq!(user.pages_for(at), [(1, at), (2, later), (1, later)]);
}

#[test]
fn teams_list_known_users_once() {
    let team: Team =
        serde_json::from_value(json!({"name": "sre", "members": ["us_1", "us_2"]})).unwrap();
    let known = |user: &str| user.starts_with("us_");
    assert!(team.validate(known).is_ok());
    let twice = Team {
        members: vec!["us_1".into(), "us_2".into(), "us_1".into()],
        ..team.clone()
    };
    assert_eq!(
        twice.validate(known).unwrap_err().to_string(),
        "members[2]: \"us_1\" is listed twice"
    );
    let stranger = Team {
        members: vec!["bob".into()],
        ..team.clone()
    };
    assert_eq!(stranger.validate(known).unwrap_err().field, "members[0]");
    let unnamed = Team {
        name: String::new(),
        ..team
    };
    assert_eq!(unnamed.validate(known).unwrap_err().field, "name");
    assert!(serde_json::from_value::<Team>(json!({"name": "x", "lead": "us_1"})).is_err());
}
