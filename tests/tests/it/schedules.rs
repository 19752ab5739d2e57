//! Schedules over real HTTP (SPEC §12): created, changed and deleted; every refusal names its
//! field; `oncall` and `shifts` for a two-layer schedule with an override in
//! America/New_York, across the spring-forward of 2024-03-10, against times worked out by
//! hand; and the CLI's `users create` and `schedules oncall` against a running gateway.

use hookgate_tests::harness::{ADMIN_TOKEN, GatewayClient, TestGateway};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn user(name: &str) -> Value {
    json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()), "role": "responder"})
}

fn create(gateway: &GatewayClient, path: &str, body: Value) -> String {
    let (status, answer) = gateway.api("POST", path, Some(body));
    assert_eq!(status, 201, "POST {path}: {answer}");
    answer["id"].as_str().unwrap().to_string()
}

/// Users A, B, C and D, and the schedule the module documentation's times are worked out for:
/// - layer 0 `primary`: daily 09:00 New York handoffs from Friday 2024-03-08, A then B;
/// - layer 1 `lunch`: C, weekdays 12:00–14:00 New York;
/// - an override: D from 2024-03-09 20:00Z to 2024-03-10 02:00Z.
fn new_york_schedule(gateway: &GatewayClient) -> (String, [String; 4]) {
    let people =
        ["Alice", "Bob", "Carol", "Dave"].map(|name| create(gateway, "/users", user(name)));
    let [a, b, c, d] = people.clone();
    let schedule = create(
        gateway,
        "/schedules",
        json!({
            "name": "primary",
            "time_zone": "America/New_York",
            "layers": [
                {"name": "primary", "start": "2024-03-08T09:00:00-05:00", "rotation": "1d",
                 "users": [a, b]},
                {"name": "lunch", "start": "2024-03-04T00:00:00-05:00", "rotation": "1w",
                 "users": [c],
                 "restrictions": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                   "from": "12:00", "to": "14:00"}]},
            ],
            "overrides": [{"user": d, "start": "2024-03-09T20:00:00Z", "end": "2024-03-10T02:00:00Z"}],
        }),
    );
    (schedule, people)
}

#[test]
fn shifts_and_who_is_on_call_match_the_hand_worked_times_across_dst() {
    let gateway = TestGateway::start(|_| {});
    let (schedule, [a, b, c, d]) = new_york_schedule(&gateway);

    // By hand: the primary layer's days are A Fri 09:00 EST (14:00Z), B Sat 09:00 EST
    // (14:00Z), A Sun 09:00 EDT (13:00Z: the clocks went forward at 02:00, so B's day is 23
    // hours), B Mon 09:00 EDT (13:00Z). Lunch is 17:00Z–19:00Z on Friday (EST) and
    // 16:00Z–18:00Z on Monday (EDT). The override covers B's Saturday evening.
    let shifts = gateway.api_ok(
        "GET",
        &format!("/schedules/{schedule}/shifts?from=2024-03-08T14:00:00Z&to=2024-03-11T18:00:00Z"),
        None,
    );
    let got: Vec<(String, String, String, Value)> = shifts["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shift| {
            let source = if shift["override"] == true {
                json!("override")
            } else {
                shift["layer"].clone()
            };
            let text = |key: &str| shift[key].as_str().unwrap().to_string();
            (text("user"), text("start"), text("end"), source)
        })
        .collect();
    let expected: Vec<(String, String, String, Value)> = [
        (&a, "2024-03-08T14:00:00Z", "2024-03-08T17:00:00Z", json!(0)),
        (&c, "2024-03-08T17:00:00Z", "2024-03-08T19:00:00Z", json!(1)),
        (&a, "2024-03-08T19:00:00Z", "2024-03-09T14:00:00Z", json!(0)),
        (&b, "2024-03-09T14:00:00Z", "2024-03-09T20:00:00Z", json!(0)),
        (
            &d,
            "2024-03-09T20:00:00Z",
            "2024-03-10T02:00:00Z",
            json!("override"),
        ),
        (&b, "2024-03-10T02:00:00Z", "2024-03-10T13:00:00Z", json!(0)),
        (&a, "2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z", json!(0)),
        (&b, "2024-03-11T13:00:00Z", "2024-03-11T16:00:00Z", json!(0)),
        (&c, "2024-03-11T16:00:00Z", "2024-03-11T18:00:00Z", json!(1)),
    ]
    .into_iter()
    .map(|(user, start, end, source)| (user.clone(), start.into(), end.into(), source))
    .collect();
    assert_eq!(got, expected, "{shifts}");
    assert_eq!(shifts["shifts"][1]["layer_name"], "lunch");
    assert_eq!(shifts["shifts"][1]["user_name"], "Carol");
    assert_eq!(shifts["from"], "2024-03-08T14:00:00Z");

    let on_call = |at: &str| {
        gateway.api_ok(
            "GET",
            &format!("/schedules/{schedule}/oncall?at={at}"),
            None,
        )
    };
    let answer = |at: &str| {
        let answer = on_call(at);
        let users: Vec<String> = answer["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["id"].as_str().unwrap().to_string())
            .collect();
        (users, answer["until"].as_str().unwrap().to_string())
    };
    assert_eq!(
        answer("2024-03-08T15:00:00Z"),
        (vec![a.clone()], "2024-03-08T17:00:00Z".into())
    );
    // The same instant written in two offsets (a `+` in a query is encoded).
    assert_eq!(
        answer("2024-03-08T12:30:00-05:00"),
        (vec![c.clone()], "2024-03-08T19:00:00Z".into())
    );
    assert_eq!(
        answer("2024-03-08T18:30:00%2B01:00"),
        (vec![c.clone()], "2024-03-08T19:00:00Z".into())
    );
    assert_eq!(
        answer("2024-03-09T21:00:00Z"),
        (vec![d.clone()], "2024-03-10T02:00:00Z".into())
    );
    // Across the spring-forward: B hands over at 09:00 EDT, 13:00Z, not 14:00Z.
    assert_eq!(
        answer("2024-03-10T03:00:00Z"),
        (vec![b.clone()], "2024-03-10T13:00:00Z".into())
    );
    assert_eq!(
        answer("2024-03-10T13:00:00Z"),
        (vec![a.clone()], "2024-03-11T13:00:00Z".into())
    );
    // Before anyone's first turn: nobody, until lunch on Monday 2024-03-04 (12:00 EST).
    assert_eq!(
        answer("2024-03-01T00:00:00Z"),
        (vec![], "2024-03-04T17:00:00Z".into())
    );
    // Users are answered as users, without their passwords.
    let full = on_call("2024-03-08T15:00:00Z");
    assert_eq!(full["users"][0]["name"], "Alice");
    assert_eq!(full["users"][0]["password_set"], false);
    assert_eq!(full["at"], "2024-03-08T15:00:00Z");
}

#[test]
fn ranges_and_instants_are_checked_and_default_to_now() {
    let gateway = TestGateway::start(|_| {});
    let (schedule, _) = new_york_schedule(&gateway);
    let refused = |query: &str| {
        let (status, answer) = gateway.api("GET", &format!("/schedules/{schedule}/{query}"), None);
        assert_eq!(status, 400, "{query}: {answer}");
        answer["error"].as_str().unwrap().to_string()
    };
    assert!(refused("oncall?at=yesterday").starts_with("at: "));
    assert!(
        refused("oncall?at=2024-03-08T15:00:00").starts_with("at: "),
        "an offset is required"
    );
    assert!(
        refused("shifts?from=2024-03-08T15:00:00Z&to=2024-03-08T15:00:00Z")
            .contains("must be after")
    );
    let long = refused("shifts?from=2024-01-01T00:00:00Z&to=2024-03-31T00:00:01Z");
    assert!(long.contains("longer than 90 days"), "{long}");
    // Exactly 90 days is answered.
    gateway.api_ok(
        "GET",
        &format!("/schedules/{schedule}/shifts?from=2024-01-01T00:00:00Z&to=2024-03-31T00:00:00Z"),
        None,
    );
    let (status, _) = gateway.api("GET", "/schedules/sc_404/oncall", None);
    assert_eq!(status, 404);

    // Without a range: from now (to the second), two weeks.
    let shifts = gateway.api_ok("GET", &format!("/schedules/{schedule}/shifts"), None);
    let instant = |key: &str| {
        shifts[key]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let (from, to) = (instant("from"), instant("to"));
    assert_eq!(
        from.duration_until(to),
        jiff::SignedDuration::from_hours(14 * 24)
    );
    assert_eq!(from.subsec_nanosecond(), 0);
    assert!(
        from.duration_until(jiff::Timestamp::now()).abs() < jiff::SignedDuration::from_secs(60)
    );
    // A daily rotation of two, starting long ago: someone's shift covers every instant.
    assert!(!shifts["shifts"].as_array().unwrap().is_empty(), "{shifts}");
    let now = gateway.api_ok("GET", &format!("/schedules/{schedule}/oncall"), None);
    assert_eq!(now["users"].as_array().unwrap().len(), 1, "{now}");
}

#[test]
fn schedules_are_checked_changed_and_deleted() {
    let gateway = TestGateway::start(|_| {});
    let (schedule, [a, b, ..]) = new_york_schedule(&gateway);
    let base = gateway.api_ok("GET", &format!("/schedules/{schedule}"), None);
    assert_eq!(base["time_zone"], "America/New_York");
    assert_eq!(base["layers"][1]["restrictions"][0]["from"], "12:00");

    let layer = |users: Value, rotation: &str| json!({"name": "l", "start": "2024-03-08T09:00:00-05:00", "rotation": rotation, "users": users});
    let schedule_with = |changes: Value| {
        let mut body = json!({"name": "s", "layers": [layer(json!([a]), "1d")]});
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    for (changes, expected) in [
        (
            json!({"layers": [layer(json!([a, "us_404"]), "1d")]}),
            "layers[0].users[1]: no user \"us_404\"",
        ),
        (
            json!({"time_zone": "America/Gotham"}),
            "time_zone: \"America/Gotham\" is not an IANA time zone",
        ),
        (
            json!({"layers": [layer(json!([]), "1d")]}),
            "layers[0].users: a layer needs at least one user",
        ),
        (
            json!({"layers": []}),
            "layers: a schedule needs at least one layer",
        ),
        (
            json!({"layers": [layer(json!([a]), "0d")]}),
            "layers[0].rotation: \"0d\" is no time at all",
        ),
        (
            json!({"layers": [layer(json!([a]), "0h")]}),
            "layers[0].rotation: \"0h\" is shorter",
        ),
        (
            json!({"layers": [layer(json!([a]), "fortnightly")]}),
            "layers[0].rotation: ",
        ),
        (
            json!({"overrides": [{"user": "us_404", "start": "2024-03-09T00:00:00Z", "end": "2024-03-10T00:00:00Z"}]}),
            "overrides[0].user: no user",
        ),
        (
            json!({"overrides": [{"user": b, "start": "2024-03-10T00:00:00Z", "end": "2024-03-09T00:00:00Z"}]}),
            "overrides[0].end: ",
        ),
    ] {
        let (status, answer) = gateway.api("POST", "/schedules", Some(schedule_with(changes)));
        assert_eq!(status, 422, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with(expected), "{error}");
    }
    assert_eq!(gateway.count("/schedules"), 1);

    // A change replaces the keys it names (a layer list whole) and keeps the rest.
    let changed = gateway.api_ok(
        "PATCH",
        &format!("/schedules/{schedule}"),
        Some(json!({"name": "renamed", "overrides": []})),
    );
    assert_eq!(changed["name"], "renamed");
    assert_eq!(changed["layers"], base["layers"]);
    assert_eq!(changed["overrides"], json!([]));
    let (status, answer) = gateway.api(
        "PATCH",
        &format!("/schedules/{schedule}"),
        Some(json!({"layers": [layer(json!([a]), "30m")]})),
    );
    assert_eq!(status, 422, "{answer}");

    // A policy names the schedule: its delete is refused, naming the policy.
    let policy = create(
        &gateway,
        "/escalation-policies",
        json!({"name": "p", "steps": [{"delay": "5m", "targets": [{"type": "schedule", "id": schedule}]}]}),
    );
    let (status, answer) = gateway.api("DELETE", &format!("/schedules/{schedule}"), None);
    assert_eq!(status, 409);
    assert_eq!(
        answer["error"],
        format!(
            "{schedule} is named by escalation policy {policy} (steps[0].targets[0]); change those first"
        )
    );
    // A user it names cannot go either.
    let (status, answer) = gateway.api("DELETE", &format!("/users/{b}"), None);
    assert_eq!(status, 409);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains(&format!("schedule {schedule} (layers[0].users[1])")),
        "{answer}"
    );
    gateway.api_ok("DELETE", &format!("/escalation-policies/{policy}"), None);
    gateway.api_ok("DELETE", &format!("/schedules/{schedule}"), None);
    gateway.api_ok("DELETE", &format!("/users/{b}"), None);
    let (status, _) = gateway.api("GET", &format!("/schedules/{schedule}"), None);
    assert_eq!(status, 404);
}

fn hookgate(gateway: &TestGateway, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"));
    command
        .args(args)
        .args(["--url", gateway.url.as_str(), "--token", ADMIN_TOKEN])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("running hookgate");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "hookgate {args:?}: exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn the_cli_creates_users_and_answers_who_is_on_call() {
    let gateway = TestGateway::start(|_| {});
    let password = "a password typed once";
    let created = hookgate(
        &gateway,
        &[
            "users",
            "create",
            "--name",
            "Ada Lovelace",
            "--email",
            "ada@example.com",
            "--time-zone",
            "Europe/London",
            "--role",
            "responder",
            "--contact",
            "email:ops@example.com",
            "--contact",
            "sms:+15551234567",
            "--password-stdin",
            "--json",
        ],
        Some(&format!("{password}\n")),
    );
    let created_text = String::from_utf8_lossy(&created.stdout).to_string();
    assert!(!created_text.contains(password), "{created_text}");
    let created = json_of(&created);
    let ada = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["password_set"], true);
    assert_eq!(
        created["contact_methods"],
        json!([{"kind": "email", "address": "ops@example.com"},
               {"kind": "sms", "address": "+15551234567"}])
    );

    // The table for people.
    let listed = hookgate(&gateway, &["users", "list"], None);
    let table = String::from_utf8_lossy(&listed.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("EMAIL"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(&ada) && lines[1].contains("Ada Lovelace"),
        "{table}"
    );
    assert!(
        lines[1].contains("email:ops@example.com, sms:+15551234567") && lines[1].ends_with("set"),
        "{table}"
    );

    // An update from flags keeps the rest.
    let updated = json_of(&hookgate(
        &gateway,
        &["users", "update", &ada, "--role", "admin", "--json"],
        None,
    ));
    assert_eq!(updated["role"], "admin");
    assert_eq!(updated["time_zone"], "Europe/London");

    // A schedule from a file, then who is on call.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("schedule.json");
    let schedule = json!({
        "name": "weekly", "time_zone": "America/New_York",
        "layers": [{"name": "all", "start": "2024-03-04T09:00:00-05:00", "rotation": "1w", "users": [ada]}],
    });
    std::fs::write(&file, schedule.to_string()).unwrap();
    let created = json_of(&hookgate(
        &gateway,
        &[
            "schedules",
            "create",
            "--file",
            file.to_str().unwrap(),
            "--json",
        ],
        None,
    ));
    let schedule = created["id"].as_str().unwrap().to_string();
    let on_call = json_of(&hookgate(
        &gateway,
        &[
            "schedules",
            "oncall",
            &schedule,
            "--at",
            "2024-03-10T12:00:00+01:00",
            "--json",
        ],
        None,
    ));
    assert_eq!(on_call["users"][0]["id"], ada.as_str(), "{on_call}");
    assert_eq!(on_call["users"][0]["name"], "Ada Lovelace");
    // One user, always on call: the answer holds as far as it looks, 90 days.
    assert_eq!(on_call["until"], "2024-06-08T11:00:00Z");
    let table = hookgate(
        &gateway,
        &[
            "schedules",
            "oncall",
            &schedule,
            "--at",
            "2024-03-10T12:00:00Z",
        ],
        None,
    );
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.starts_with("ON CALL") && table.contains("Ada Lovelace"),
        "{table}"
    );
    let shifts = json_of(&hookgate(
        &gateway,
        &[
            "schedules",
            "shifts",
            &schedule,
            "--from",
            "2024-03-04T14:00:00Z",
            "--to",
            "2024-03-18T13:00:00Z",
            "--json",
        ],
        None,
    ));
    // The two weekly turns of one user, from one layer, are one shift.
    assert_eq!(
        shifts["shifts"],
        json!([{"user": ada, "user_name": "Ada Lovelace", "start": "2024-03-04T14:00:00Z",
                "end": "2024-03-18T13:00:00Z", "layer": 0, "layer_name": "all"}])
    );

    // The endpoint's on-call flags, on create and update.
    let policy_file = folder.path().join("policy.json");
    std::fs::write(
        &policy_file,
        json!({"name": "p", "steps": [{"delay": "5m", "targets": [{"type": "schedule", "id": schedule}]}]})
            .to_string(),
    )
    .unwrap();
    let policy = json_of(&hookgate(
        &gateway,
        &[
            "policies",
            "create",
            "--file",
            policy_file.to_str().unwrap(),
            "--repeat",
            "1",
            "--json",
        ],
        None,
    ));
    assert_eq!(policy["repeat"], 1);
    let policy = policy["id"].as_str().unwrap();
    let endpoint = json_of(&hookgate(
        &gateway,
        &[
            "endpoint",
            "create",
            "--name",
            "paged",
            "--escalation-policy",
            policy,
            "--auto-close-after",
            "2h",
            "--json",
        ],
        None,
    ));
    assert_eq!(endpoint["escalation_policy"], policy);
    assert_eq!(endpoint["auto_close_after"], "2h");
    let endpoint = endpoint["id"].as_str().unwrap();
    let updated = json_of(&hookgate(
        &gateway,
        &[
            "endpoint",
            "update",
            endpoint,
            "--auto-close-after",
            "",
            "--json",
        ],
        None,
    ));
    assert_eq!(updated["auto_close_after"], Value::Null);
    assert_eq!(updated["escalation_policy"], policy);

    // A refusal is the API's, with its exit code.
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"));
    let refused = command
        .args([
            "users",
            "delete",
            &ada,
            "--url",
            gateway.url.as_str(),
            "--token",
            ADMIN_TOKEN,
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(
        error.contains("409") && error.contains(&format!("schedule {schedule}")),
        "{error}"
    );
}
