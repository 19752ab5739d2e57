//! The on-call directory over real HTTP (SPEC §12): users, teams, escalation policies and
//! maintenance windows created, read, changed and deleted; every refusal names its field;
//! a delete is refused while something names the entry; a password is never answered; and an
//! endpoint's escalation policy and quiet period.

use hookgate_tests::harness::{GatewayClient, TestGateway};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

fn ada() -> Value {
    json!({
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "time_zone": "Europe/London",
        "role": "admin",
        "contact_methods": [{"kind": "email", "address": "ada@example.com"},
                            {"kind": "sms", "address": "+15551234567"}],
        "notification_rules": [{"contact": 0, "after_minutes": 0}, {"contact": 1, "after_minutes": 5}],
        "password": PASSWORD,
    })
}

fn grace() -> Value {
    json!({"name": "Grace Hopper", "email": "grace@example.com", "role": "responder"})
}

/// Creates a resource; returns its id.
fn create(gateway: &GatewayClient, path: &str, body: Value) -> String {
    let (status, answer) = gateway.api("POST", path, Some(body));
    assert_eq!(status, 201, "POST {path}: {answer}");
    answer["id"].as_str().unwrap().to_string()
}

/// The error of a refused call, asserting its status.
fn refusal(
    gateway: &GatewayClient,
    method: &str,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> String {
    let (got, answer) = gateway.api(method, path, body);
    assert_eq!(got, status, "{method} {path}: {answer}");
    answer["error"].as_str().unwrap().to_string()
}

/// A user's answer carries `password_set` and never the password or its hash.
fn assert_no_password(text: &str) {
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.contains("argon2"), "{text}");
    assert!(!text.contains("password_hash"), "{text}");
    assert!(!text.contains("\"password\""), "{text}");
}

#[test]
fn users_are_created_read_changed_and_deleted_and_their_password_never_shows() {
    let gateway = TestGateway::start(|_| {});
    let (status, created) = gateway.api_text("POST", "/users", Some(ada()));
    assert_eq!(status, 201, "{created}");
    assert_no_password(&created);
    let created: Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("us_"), "{id}");
    assert_eq!(created["password_set"], true);
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(created["contact_methods"][1]["address"], "+15551234567");
    assert!(created["created_at"].as_u64().unwrap() > 0);

    for path in [format!("/users/{id}"), "/users".to_string()] {
        let (status, text) = gateway.api_text("GET", &path, None);
        assert_eq!(status, 200, "{text}");
        assert_no_password(&text);
    }
    let listed = gateway.api_ok("GET", "/users", None);
    assert_eq!(listed["items"][0]["id"], id);
    assert_eq!(listed["items"][0]["password_set"], true);

    // A change keeps what it does not name, the password included.
    let (status, changed) = gateway.api_text(
        "PATCH",
        &format!("/users/{id}"),
        Some(json!({"name": "Ada King", "time_zone": null})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_no_password(&changed);
    let changed: Value = serde_json::from_str(&changed).unwrap();
    assert_eq!(changed["name"], "Ada King");
    assert_eq!(
        changed["time_zone"], "UTC",
        "null removes a key: its default"
    );
    assert_eq!(changed["email"], "ada@example.com");
    assert_eq!(changed["password_set"], true);
    assert!(changed["updated_at"].as_u64() >= changed["created_at"].as_u64());
    // A new password is hashed; `null` removes it.
    let (status, text) = gateway.api_text(
        "PATCH",
        &format!("/users/{id}"),
        Some(json!({"password": "another long one"})),
    );
    assert_eq!(status, 200);
    assert!(!text.contains("another long one"), "{text}");
    let removed = gateway.api_ok(
        "PATCH",
        &format!("/users/{id}"),
        Some(json!({"password": null})),
    );
    assert_eq!(removed["password_set"], false);
    // A view sent back as it is changes nothing it shows.
    let again = gateway.api_ok("PATCH", &format!("/users/{id}"), Some(removed.clone()));
    assert_eq!(again["name"], removed["name"]);
    assert_eq!(again["contact_methods"], removed["contact_methods"]);

    // A stored hash cannot be given, neither on create nor in a change.
    let mut with_hash = grace();
    with_hash["password_hash"] = json!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    let error = refusal(&gateway, "POST", "/users", Some(with_hash.clone()), 422);
    assert!(error.contains("password_hash"), "{error}");
    let error = refusal(
        &gateway,
        "PATCH",
        &format!("/users/{id}"),
        Some(with_hash),
        422,
    );
    assert!(error.contains("password_hash"), "{error}");

    let deleted = gateway.api_ok("DELETE", &format!("/users/{id}"), None);
    assert_eq!(deleted["deleted"], id);
    refusal(&gateway, "GET", &format!("/users/{id}"), None, 404);
    refusal(&gateway, "DELETE", &format!("/users/{id}"), None, 404);
    refusal(
        &gateway,
        "PATCH",
        "/users/us_99",
        Some(json!({"name": "x"})),
        404,
    );
    // Another kind's id is no user.
    refusal(&gateway, "GET", "/users/tm_1", None, 404);
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let gateway = TestGateway::start(|_| {});
    let user = create(&gateway, "/users", grace());
    let with = |base: Value, changes: Value| {
        let mut body = base;
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let contact = |kind: &str, address: &str| json!([{"kind": kind, "address": address}]);
    let policy = |steps: Value| json!({"name": "primary", "steps": steps});
    let user_step = json!([{"delay": "5m", "targets": [{"type": "user", "id": user}]}]);
    let cases = [
        (
            "/users",
            with(ada(), json!({"time_zone": "Mars/Olympus"})),
            "time_zone: ",
        ),
        (
            "/users",
            with(ada(), json!({"email": "ada at example"})),
            "email: ",
        ),
        (
            "/users",
            with(ada(), json!({"email": "GRACE@example.com"})),
            "email: \"GRACE@example.com\" is already the email of",
        ),
        (
            "/users",
            with(
                ada(),
                json!({"contact_methods": contact("email", "ops@localhost")}),
            ),
            "contact_methods[0].address: ",
        ),
        (
            "/users",
            with(
                ada(),
                json!({"contact_methods": contact("sms", "555-1234")}),
            ),
            "contact_methods[0].address: ",
        ),
        (
            "/users",
            with(ada(), json!({"contact_methods": contact("voice", "+1")})),
            "contact_methods[0].address: ",
        ),
        (
            "/users",
            with(
                ada(),
                json!({"contact_methods": contact("ntfy", "ftp://ntfy.sh/x")}),
            ),
            "contact_methods[0].address: ",
        ),
        (
            "/users",
            with(
                ada(),
                json!({"notification_rules": [{"contact": 2, "after_minutes": 1}]}),
            ),
            "notification_rules[0].contact: ",
        ),
        (
            "/users",
            with(ada(), json!({"password": "short"})),
            "password: ",
        ),
        (
            "/users",
            with(ada(), json!({"password": 12345678})),
            "password: ",
        ),
        (
            "/users",
            with(ada(), json!({"role": "owner"})),
            "invalid user: unknown variant `owner`",
        ),
        (
            "/teams",
            json!({"name": "ops", "members": [user, "us_404"]}),
            "members[1]: no user \"us_404\"",
        ),
        (
            "/teams",
            json!({"name": "ops", "members": [user, user]}),
            "members[1]: ",
        ),
        ("/escalation-policies", policy(json!([])), "steps: "),
        (
            "/escalation-policies",
            policy(json!([{"delay": "500ms", "targets": [{"type": "user", "id": user}]}])),
            "steps[0].delay: \"500ms\" is shorter than 1s",
        ),
        (
            "/escalation-policies",
            policy(json!([{"delay": "5m", "targets": []}])),
            "steps[0].targets: ",
        ),
        (
            "/escalation-policies",
            policy(
                json!([{"delay": "5m", "targets": [{"type": "user", "id": user}]},
                          {"delay": "5m", "targets": [{"type": "team", "id": "tm_404"}]}]),
            ),
            "steps[1].targets[0].id: no team \"tm_404\"",
        ),
        (
            "/escalation-policies",
            policy(json!([{"delay": "5m", "targets": [{"type": "schedule", "id": user}]}])),
            "steps[0].targets[0].id: no schedule",
        ),
        (
            "/escalation-policies",
            with(policy(user_step.clone()), json!({"repeat": 10})),
            "repeat: ",
        ),
    ];
    for (path, body, expected) in cases {
        let error = refusal(&gateway, "POST", path, Some(body.clone()), 422);
        assert!(error.starts_with(expected), "POST {path} {body}: {error}");
        assert!(!error.contains(PASSWORD), "{error}");
    }
    // Nothing refused was stored.
    assert_eq!(gateway.count("/users"), 1);
    assert_eq!(gateway.count("/teams"), 0);
    assert_eq!(gateway.count("/escalation-policies"), 0);
    // A change is checked as a whole too, and a refused one changes nothing.
    let error = refusal(
        &gateway,
        "PATCH",
        &format!("/users/{user}"),
        Some(json!({"contact_methods": contact("sms", "12")})),
        422,
    );
    assert!(error.starts_with("contact_methods[0].address: "), "{error}");
    let unchanged = gateway.api_ok("GET", &format!("/users/{user}"), None);
    assert_eq!(unchanged["contact_methods"], json!([]));
    // A user keeps their own email in a change.
    gateway.api_ok(
        "PATCH",
        &format!("/users/{user}"),
        Some(json!({"email": "Grace@Example.com"})),
    );
}

#[test]
fn deletes_are_refused_while_something_names_the_entry() {
    let gateway = TestGateway::start(|_| {});
    let ada = create(&gateway, "/users", ada());
    let grace = create(&gateway, "/users", grace());
    let team = create(
        &gateway,
        "/teams",
        json!({"name": "ops", "members": [ada, grace]}),
    );
    let policy = create(
        &gateway,
        "/escalation-policies",
        json!({"name": "primary", "repeat": 2, "steps": [
            {"delay": "5m", "targets": [{"type": "user", "id": grace}]},
            {"delay": "10m", "targets": [{"type": "team", "id": team}]},
        ]}),
    );
    let shown = gateway.api_ok("GET", &format!("/escalation-policies/{policy}"), None);
    assert_eq!(
        shown["steps"][1]["targets"][0],
        json!({"type": "team", "id": team})
    );
    assert_eq!(shown["repeat"], 2);
    let endpoint = gateway.create_endpoint(json!({
        "name": "paged", "events": ["repo:push"], "escalation_policy": policy,
    }));
    let endpoint_id = endpoint["id"].as_str().unwrap();

    let error = refusal(&gateway, "DELETE", &format!("/users/{grace}"), None, 409);
    assert_eq!(
        error,
        format!(
            "{grace} is named by team {team} (members[1]) and escalation policy {policy} \
             (steps[0].targets[0]); change those first"
        )
    );
    let error = refusal(&gateway, "DELETE", &format!("/teams/{team}"), None, 409);
    assert!(
        error.starts_with(&format!(
            "{team} is named by escalation policy {policy} (steps[1].targets[0])"
        )),
        "{error}"
    );
    let error = refusal(
        &gateway,
        "DELETE",
        &format!("/escalation-policies/{policy}"),
        None,
        409,
    );
    assert!(error.contains(endpoint_id), "{error}");
    assert!(error.contains("(escalation_policy)"), "{error}");

    // Each refusal kept everything; unnamed, each goes.
    gateway.api_ok(
        "PATCH",
        &format!("/endpoints/{endpoint_id}"),
        Some(json!({"escalation_policy": null})),
    );
    gateway.api_ok("DELETE", &format!("/escalation-policies/{policy}"), None);
    gateway.api_ok(
        "PATCH",
        &format!("/teams/{team}"),
        Some(json!({"members": [ada]})),
    );
    gateway.api_ok("DELETE", &format!("/users/{grace}"), None);
    refusal(&gateway, "DELETE", &format!("/users/{ada}"), None, 409);
    gateway.api_ok("DELETE", &format!("/teams/{team}"), None);
    gateway.api_ok("DELETE", &format!("/users/{ada}"), None);
    assert_eq!(gateway.count("/users"), 0);
    // Ids are never handed out again.
    let next = create(
        &gateway,
        "/users",
        json!({"name": "N", "email": "n@example.com", "role": "viewer"}),
    );
    assert_eq!(next, "us_3");
}

#[test]
fn endpoints_take_an_escalation_policy_and_a_quiet_period() {
    let gateway = TestGateway::start(|_| {});
    let user = create(&gateway, "/users", grace());
    let policy = create(
        &gateway,
        "/escalation-policies",
        json!({"name": "p", "steps": [{"delay": "1s", "targets": [{"type": "user", "id": user}]}]}),
    );
    let endpoint = |changes: Value| {
        let mut body = json!({"name": "CI", "events": ["repo:push"]});
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    for (changes, expected) in [
        (
            json!({"escalation_policy": "ep_404"}),
            "escalation_policy: no escalation policy \"ep_404\"",
        ),
        (
            json!({"escalation_policy": user}),
            "escalation_policy: no escalation policy",
        ),
        (
            json!({"auto_close_after": "59s"}),
            "auto_close_after: \"59s\" is shorter than 1m",
        ),
        (json!({"auto_close_after": "2 hours"}), "auto_close_after: "),
    ] {
        let error = refusal(&gateway, "POST", "/endpoints", Some(endpoint(changes)), 422);
        assert!(error.starts_with(expected), "{error}");
    }
    let created = gateway.create_endpoint(endpoint(json!({
        "escalation_policy": policy, "auto_close_after": "2h",
    })));
    assert_eq!(created["escalation_policy"], policy);
    assert_eq!(created["auto_close_after"], "2h");
    let id = created["id"].as_str().unwrap();
    // A change of something else keeps them; a bad one is refused; null removes.
    let renamed = gateway.api_ok(
        "PATCH",
        &format!("/endpoints/{id}"),
        Some(json!({"name": "CI 2"})),
    );
    assert_eq!(renamed["escalation_policy"], policy);
    assert_eq!(renamed["auto_close_after"], "2h");
    refusal(
        &gateway,
        "PATCH",
        &format!("/endpoints/{id}"),
        Some(json!({"auto_close_after": "10s"})),
        422,
    );
    let cleared = gateway.api_ok(
        "PATCH",
        &format!("/endpoints/{id}"),
        Some(json!({"auto_close_after": null, "escalation_policy": null})),
    );
    assert_eq!(cleared["auto_close_after"], Value::Null);
    assert_eq!(cleared["escalation_policy"], Value::Null);
    // An endpoint made before these settings existed reads as having neither.
    let plain = gateway.create_endpoint(endpoint(json!({})));
    assert_eq!(plain["escalation_policy"], Value::Null);
}

#[test]
fn maintenance_windows_are_checked_and_changed() {
    let gateway = TestGateway::start(|_| {});
    let endpoint = gateway.create_endpoint(json!({"name": "CI", "events": ["repo:push"]}));
    let endpoint = endpoint["id"].as_str().unwrap();
    let window = json!({
        "start": "2024-03-01T22:00:00Z", "end": "2024-03-02T02:00:00+01:00",
        "endpoint": endpoint, "key_pattern": "^deploy:",
    });
    let id = create(&gateway, "/maintenance-windows", window.clone());
    assert!(id.starts_with("mw_"), "{id}");
    let shown = gateway.api_ok("GET", &format!("/maintenance-windows/{id}"), None);
    assert_eq!(shown["key_pattern"], "^deploy:");
    assert_eq!(shown["end"], "2024-03-02T02:00:00+01:00", "kept as written");

    let with = |changes: Value| {
        let mut body = window.clone();
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    for (changes, expected) in [
        (json!({"end": "2024-03-01T21:00:00Z"}), "end: "),
        (json!({"end": "2024-03-01T22:00:00Z"}), "end: "),
        (json!({"start": "2024-03-01 22:00"}), "start: "),
        (
            json!({"endpoint": "no-such-endpoint"}),
            "endpoint: no endpoint \"no-such-endpoint\"",
        ),
        (json!({"key_pattern": "deploy:("}), "key_pattern: "),
        (
            json!({"reason": "deploy"}),
            "invalid maintenance window: unknown field `reason`",
        ),
    ] {
        let error = refusal(
            &gateway,
            "POST",
            "/maintenance-windows",
            Some(with(changes)),
            422,
        );
        assert!(error.starts_with(expected), "{error}");
    }
    let error = refusal(
        &gateway,
        "PATCH",
        &format!("/maintenance-windows/{id}"),
        Some(json!({"start": "2024-03-05T00:00:00Z"})),
        422,
    );
    assert!(error.starts_with("end: "), "{error}");
    let widened = gateway.api_ok(
        "PATCH",
        &format!("/maintenance-windows/{id}"),
        Some(json!({"endpoint": null, "key_pattern": null})),
    );
    assert!(widened.get("endpoint").is_none(), "{widened}");
    assert!(widened.get("key_pattern").is_none(), "{widened}");
    assert_eq!(gateway.count("/maintenance-windows"), 1);
    gateway.api_ok("DELETE", &format!("/maintenance-windows/{id}"), None);
    assert_eq!(gateway.count("/maintenance-windows"), 0);
}
