//! The admin API as clients built from its OpenAPI document meet it: every answer of a full
//! scenario checked against the schema the served document gives it (`jsonschema`, in the
//! virtual environment `outside_tools` makes), and a Python client generated from the
//! document by `openapi-python-client` running a scenario through its own code only. Outside
//! CI a tool that cannot be had is a skip with a message; in CI it fails the test.

use crate::gateway::uuid;
use crate::outside_tools::{python_tools, tool_missing};
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use hookgate_tests::{commit_status_payload, fixture};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Python scripts these tests run.
fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// Runs `program` with `args`; its exit status and everything it printed.
fn run(program: &Path, args: &[&Path], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|error| panic!("running {}: {error}", program.display()));
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

/// The served document, written to `folder`.
fn served_document(gateway: &TestGateway, folder: &Path) -> (Value, PathBuf) {
    let text = reqwest::blocking::get(format!("{}/api/v1/openapi.json", gateway.url))
        .unwrap()
        .text()
        .unwrap();
    let file = folder.join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    (serde_json::from_str(&text).unwrap(), file)
}

/// Admin API calls that keep every answer, with the document's path template it came from.
struct Recorder<'a> {
    gateway: &'a TestGateway,
    answers: Vec<Value>,
}

impl Recorder<'_> {
    /// A call answered `status`; returns the answer.
    fn call(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (answered, answer) = self.gateway.api(method, path, body);
        assert_eq!(answered, status, "{method} {path}: {answer}");
        self.answers.push(json!({
            "method": method, "path": template, "status": answered, "body": answer,
        }));
        answer
    }
}

/// Every answer of a scenario (create, post signed webhooks, list, show, change, ack, close,
/// replay, retry, rotate, disable, and refusals) is documented, typed and valid against its
/// schema in the served document; and the same check refuses copies of those answers with a
/// required field dropped, a type changed or an unknown field added.
#[test]
fn every_answer_of_a_scenario_matches_its_schema_in_the_document() {
    let venv = match python_tools() {
        Ok(venv) => venv,
        Err(why) => {
            return tool_missing(
                "every_answer_of_a_scenario_matches_its_schema_in_the_document",
                &why,
            );
        }
    };
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    // The first notification is refused for good (a 4xx), so there is a delivery to retry.
    receiver.answer_with(&[(400, None)]);
    let mut api = Recorder {
        gateway: &gateway,
        answers: Vec::new(),
    };

    let endpoint = api.call(
        "POST",
        "/endpoints",
        "/endpoints",
        Some(json!({
            "name": "pipelines",
            "alerts": {"plugin": "bitbucket-pipelines"},
            "format": {"plugin": "bitbucket-embeds"},
            "destinations": [{"kind": "discord", "url": format!("{}/discord", receiver.url)}],
        })),
        201,
    );
    let id = endpoint["id"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let unknown = api.call(
        "POST",
        "/endpoints",
        "/endpoints",
        Some(json!({"name": "x", "events": ["repo:no-such-event"]})),
        422,
    );
    assert!(unknown["valid_events"].is_array(), "{unknown}");
    api.call("GET", "/endpoints", "/endpoints", None, 200);
    api.call(
        "GET",
        "/endpoints/{id}",
        &format!("/endpoints/{id}"),
        None,
        200,
    );
    api.call(
        "PATCH",
        "/endpoints/{id}",
        &format!("/endpoints/{id}"),
        Some(json!({"name": "pipelines, renamed"})),
        200,
    );
    api.call("GET", "/endpoints/{id}", "/endpoints/no-such", None, 404);

    let url = endpoint["url"].as_str().unwrap();
    for (n, (event, body)) in [
        (
            "repo:commit_status_updated",
            commit_status_payload("FAILED"),
        ),
        ("repo:push", fixture("repo_push.json")),
    ]
    .iter()
    .enumerate()
    {
        let (status, answer) = gateway.post_hook(url, event, body, Some(&secret), &uuid(n));
        assert_eq!(status, 202, "{answer}");
    }
    wait_for("every delivery settled", Duration::from_secs(60), || {
        gateway.settled() && !gateway.all("/deliveries").is_empty()
    });

    let inbound = api.call("GET", "/inbound", "/inbound", None, 200);
    api.call(
        "GET",
        "/inbound",
        &format!("/inbound?endpoint={id}&status=processed&limit=1"),
        None,
        200,
    );
    api.call("GET", "/inbound", "/inbound?status=bogus", None, 400);
    let records = inbound["items"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{inbound}");
    for record in records {
        let record_id = record["id"].as_str().unwrap();
        api.call(
            "GET",
            "/inbound/{id}",
            &format!("/inbound/{record_id}"),
            None,
            200,
        );
    }
    let first = records.last().unwrap()["id"].as_str().unwrap();
    let replayed = api.call(
        "POST",
        "/inbound/{id}/replay",
        &format!("/inbound/{first}/replay"),
        None,
        202,
    );
    gateway.processed(replayed["id"].as_str().unwrap());

    let alerts = api.call("GET", "/alerts", "/alerts", None, 200);
    let alert = alerts["items"][0]["id"].as_str().unwrap().to_string();
    api.call(
        "GET",
        "/alerts/{id}",
        &format!("/alerts/{alert}"),
        None,
        200,
    );
    api.call(
        "POST",
        "/alerts/{id}/ack",
        &format!("/alerts/{alert}/ack"),
        None,
        200,
    );
    api.call(
        "POST",
        "/alerts/{id}/close",
        &format!("/alerts/{alert}/close"),
        None,
        200,
    );
    api.call(
        "POST",
        "/alerts/{id}/ack",
        &format!("/alerts/{alert}/ack"),
        None,
        409,
    );
    api.call("GET", "/alerts/{id}", "/alerts/al_999999", None, 404);

    wait_for("every delivery settled", Duration::from_secs(60), || {
        gateway.settled()
    });
    let deliveries = api.call("GET", "/deliveries", "/deliveries", None, 200);
    let items = deliveries["items"].as_array().unwrap();
    let failed = items
        .iter()
        .find(|delivery| delivery["status"] == "failed")
        .unwrap_or_else(|| panic!("a failed delivery: {deliveries}"));
    let delivered = items
        .iter()
        .find(|delivery| delivery["status"] == "delivered")
        .unwrap_or_else(|| panic!("a delivered delivery: {deliveries}"));
    for delivery in [failed, delivered] {
        let delivery_id = delivery["id"].as_str().unwrap();
        api.call(
            "GET",
            "/deliveries/{id}",
            &format!("/deliveries/{delivery_id}"),
            None,
            200,
        );
    }
    api.call(
        "POST",
        "/deliveries/{id}/retry",
        &format!("/deliveries/{}/retry", failed["id"].as_str().unwrap()),
        None,
        202,
    );
    api.call(
        "POST",
        "/deliveries/{id}/retry",
        &format!("/deliveries/{}/retry", delivered["id"].as_str().unwrap()),
        None,
        409,
    );
    api.call("GET", "/plugins", "/plugins", None, 200);
    api.call(
        "POST",
        "/endpoints/{id}/rotate-secret",
        &format!("/endpoints/{id}/rotate-secret"),
        None,
        200,
    );
    api.call(
        "DELETE",
        "/endpoints/{id}",
        &format!("/endpoints/{id}"),
        None,
        200,
    );

    let folder = tempfile::tempdir().unwrap();
    let (document, document_file) = served_document(&gateway, folder.path());
    // The records' views refuse fields they do not list, so a field added to an answer but
    // not to its type is caught.
    for name in [
        "EndpointView",
        "InboundView",
        "InboundDetailView",
        "AlertView",
        "DeliveryView",
        "PluginView",
        "AlertPage",
        "ErrorAnswer",
    ] {
        let schema = &document["components"]["schemas"][name];
        assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
    }
    // Fields that are always present are required, null or not.
    let required = &document["components"]["schemas"]["AlertView"]["required"];
    assert!(
        required
            .as_array()
            .unwrap()
            .contains(&json!("acknowledged_at")),
        "{required}"
    );

    check_answers(&venv, &document_file, &api.answers);
}

/// Checks `answers` against `document_file` with `check_answers.py`: each must be valid, and
/// broken copies of them must all be refused.
fn check_answers(venv: &Path, document_file: &Path, answers: &[Value]) {
    let folder = tempfile::tempdir().unwrap();
    let answers_file = folder.path().join("answers.json");
    std::fs::write(&answers_file, serde_json::to_vec(answers).unwrap()).unwrap();
    let python = venv.join("bin/python");
    let checker = script("check_answers.py");
    let (valid, said) = run(&python, &[&checker, document_file, &answers_file], &[]);
    assert!(valid, "answers that do not match the document:\n{said}");
    assert!(
        said.contains(&format!("{} answers checked, 0 invalid", answers.len())),
        "{said}"
    );
    let self_check = Path::new("--self-check");
    let (refused, said) = run(
        &python,
        &[&checker, self_check, document_file, &answers_file],
        &[],
    );
    assert!(refused, "broken answers the check let through:\n{said}");
}

/// The on-call directory's answers (users, a session, teams, schedules and their shifts,
/// escalation policies, maintenance windows: create, list, show, change, delete, refusals)
/// each match their schema in the served document.
#[test]
fn every_answer_of_the_directory_matches_its_schema_in_the_document() {
    let venv = match python_tools() {
        Ok(venv) => venv,
        Err(why) => {
            return tool_missing(
                "every_answer_of_the_directory_matches_its_schema_in_the_document",
                &why,
            );
        }
    };
    let gateway = TestGateway::start(|_| {});
    let mut api = Recorder {
        gateway: &gateway,
        answers: Vec::new(),
    };
    let user = api.call(
        "POST",
        "/users",
        "/users",
        Some(json!({
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "time_zone": "Europe/London",
            "role": "responder",
            "password": "correct horse battery staple",
            "contact_methods": [{"kind": "email", "address": "ada@example.com"},
                                {"kind": "sms", "address": "+15551234567"}],
            "notification_rules": [{"contact": 0, "after_minutes": 0},
                                   {"contact": 1, "after_minutes": 5}],
        })),
        201,
    );
    let user_id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user["password_set"], true, "{user}");
    api.call(
        "POST",
        "/users",
        "/users",
        Some(json!({"name": "x", "email": "ada@example.com", "role": "viewer"})),
        422,
    );
    api.call("GET", "/users", "/users", None, 200);
    api.call(
        "GET",
        "/users/{id}",
        &format!("/users/{user_id}"),
        None,
        200,
    );
    api.call(
        "PATCH",
        "/users/{id}",
        &format!("/users/{user_id}"),
        Some(json!({"name": "Ada King"})),
        200,
    );
    let session = api.call(
        "POST",
        "/sessions",
        "/sessions",
        Some(json!({"email": "ada@example.com", "password": "correct horse battery staple"})),
        201,
    );
    assert_eq!(session["user"], user_id.as_str(), "{session}");

    let team = api.call(
        "POST",
        "/teams",
        "/teams",
        Some(json!({"name": "ops", "members": [user_id]})),
        201,
    );
    let team_id = team["id"].as_str().unwrap().to_string();
    api.call("GET", "/teams", "/teams", None, 200);
    api.call(
        "GET",
        "/teams/{id}",
        &format!("/teams/{team_id}"),
        None,
        200,
    );

    let schedule = api.call(
        "POST",
        "/schedules",
        "/schedules",
        Some(json!({
            "name": "primary",
            "time_zone": "Europe/London",
            "layers": [{"name": "days", "start": "2024-03-08T09:00:00Z", "rotation": "1d",
                        "users": [user_id]}],
            "overrides": [{"user": user_id, "start": "2024-03-09T00:00:00Z",
                           "end": "2024-03-09T06:00:00Z"}],
        })),
        201,
    );
    let schedule_id = schedule["id"].as_str().unwrap().to_string();
    api.call("GET", "/schedules", "/schedules", None, 200);
    api.call(
        "GET",
        "/schedules/{id}",
        &format!("/schedules/{schedule_id}"),
        None,
        200,
    );
    let shifts = api.call(
        "GET",
        "/schedules/{id}/shifts",
        &format!(
            "/schedules/{schedule_id}/shifts?from=2024-03-08T12:00:00Z&to=2024-03-10T00:00:00Z"
        ),
        None,
        200,
    );
    let shifts = shifts["shifts"].as_array().unwrap();
    assert!(
        shifts.iter().any(|shift| shift["override"] == true)
            && shifts.iter().any(|shift| shift["layer"] == 0),
        "{shifts:?}"
    );

    let policy = api.call(
        "POST",
        "/escalation-policies",
        "/escalation-policies",
        Some(json!({"name": "widgets", "repeat": 1, "steps": [
            {"delay": "5m", "targets": [{"type": "schedule", "id": schedule_id},
                                        {"type": "team", "id": team_id}]},
        ]})),
        201,
    );
    let policy_id = policy["id"].as_str().unwrap().to_string();
    api.call(
        "GET",
        "/escalation-policies",
        "/escalation-policies",
        None,
        200,
    );
    api.call(
        "GET",
        "/escalation-policies/{id}",
        &format!("/escalation-policies/{policy_id}"),
        None,
        200,
    );
    api.call(
        "DELETE",
        "/users/{id}",
        &format!("/users/{user_id}"),
        None,
        409,
    );

    let window = api.call(
        "POST",
        "/maintenance-windows",
        "/maintenance-windows",
        Some(
            json!({"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z",
                    "key_pattern": "^deploy:"}),
        ),
        201,
    );
    let window_id = window["id"].as_str().unwrap().to_string();
    api.call(
        "GET",
        "/maintenance-windows",
        "/maintenance-windows",
        None,
        200,
    );
    api.call(
        "PATCH",
        "/maintenance-windows/{id}",
        &format!("/maintenance-windows/{window_id}"),
        Some(json!({"key_pattern": null})),
        200,
    );
    for (template, id) in [
        ("/maintenance-windows/{id}", &window_id),
        ("/escalation-policies/{id}", &policy_id),
        ("/schedules/{id}", &schedule_id),
        ("/teams/{id}", &team_id),
        ("/users/{id}", &user_id),
    ] {
        let path = template.replace("{id}", id);
        api.call("DELETE", template, &path, None, 200);
        api.call("GET", template, &path, None, 404);
    }

    let folder = tempfile::tempdir().unwrap();
    let (document, document_file) = served_document(&gateway, folder.path());
    for name in [
        "UserView",
        "TeamView",
        "ScheduleView",
        "EscalationPolicyView",
        "MaintenanceWindowView",
        "SessionAnswer",
        "ShiftsAnswer",
    ] {
        let schema = &document["components"]["schemas"][name];
        assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
    }
    check_answers(&venv, &document_file, &api.answers);
}

/// The package the generator is told to write, as the script imports it; a plugin upload's
/// `application/wasm` body is bytes to it, as `application/octet-stream` is (its documented
/// override for content types it does not know).
const CLIENT_CONFIG: &str = "project_name_override: hookgate-client
package_name_override: hookgate_client
content_type_overrides:
  application/wasm: application/octet-stream
";

/// A Python client generated from the served document by `openapi-python-client` (without
/// one warning) creates an endpoint, reads the signed webhook's inbound record and its alert,
/// acknowledges the alert and reads a 404 as the error type, checking each value.
#[test]
fn a_generated_python_client_creates_an_endpoint_and_reads_the_record_and_alert() {
    let test = "a_generated_python_client_creates_an_endpoint_and_reads_the_record_and_alert";
    let venv = match python_tools() {
        Ok(venv) => venv,
        Err(why) => return tool_missing(test, &why),
    };
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let folder = tempfile::tempdir().unwrap();
    let (_, document_file) = served_document(&gateway, folder.path());
    let config = folder.path().join("client-config.yaml");
    std::fs::write(&config, CLIENT_CONFIG).unwrap();
    let generated = folder.path().join("hookgate-client");
    let search_path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (made, said) = run(
        &venv.join("bin/openapi-python-client"),
        &[
            Path::new("generate"),
            Path::new("--path"),
            &document_file,
            Path::new("--config"),
            &config,
            Path::new("--output-path"),
            &generated,
        ],
        // Its post-generation hooks run `ruff`, which it brought into the environment.
        &[("PATH", &search_path)],
    );
    assert!(made, "the generator failed:\n{said}");
    // A part of the document it cannot read is a warning and a missing method or model.
    assert!(
        !said.to_lowercase().contains("warning"),
        "the generator warned:\n{said}"
    );

    let payload = folder.path().join("payload.json");
    std::fs::write(&payload, commit_status_payload("FAILED")).unwrap();
    let (ran, said) = run(
        &venv.join("bin/python"),
        &[
            &script("client_scenario.py"),
            Path::new(&gateway.url),
            Path::new(gateway.token()),
            &payload,
            Path::new(&receiver.url),
        ],
        &[("PYTHONPATH", generated.to_str().unwrap())],
    );
    assert!(ran && said.contains("scenario OK"), "{said}");
}
