//! The on-call subcommands as a person runs them, against a running gateway: `users create`
//! (flags, contacts, a password on standard input), `users list`'s table, `schedules create
//! --file`, `schedules oncall` and `shifts`, `policies create`, the endpoint's on-call flags,
//! and a refusal's exit code.

use hookgate_tests::harness::{ADMIN_TOKEN, TestGateway};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Output, Stdio};

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
