//! Escalation policies end to end over real sockets: a FAILED pipeline on an endpoint with a
//! policy pages whoever its schedule has on call, then the next step after its delay; an
//! acknowledgement stops it at once, so no page follows; every page is a delivery listed in
//! the alert's escalation log; a quiet alert closes itself after `auto_close_after`.

use crate::gateway::uuid;
use base64::Engine as _;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, GatewayClient, TestGateway, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

/// The id of a directory entry created with `body` at `path` (201 asserted).
pub(crate) fn created(gateway: &GatewayClient, path: &str, body: Value) -> String {
    let (status, answer) = gateway.api("POST", path, Some(body));
    assert_eq!(status, 201, "{path}: {answer}");
    answer["id"].as_str().expect("an id").to_string()
}

/// A user paged on an ntfy topic at `topic`.
fn ntfy_user(gateway: &GatewayClient, name: &str, topic: &str) -> String {
    created(
        gateway,
        "/users",
        json!({
            "name": name,
            "email": format!("{}@example.com", name.to_lowercase()),
            "role": "responder",
            "contact_methods": [{"kind": "ntfy", "address": topic}],
        }),
    )
}

/// Posts the commit-status capture in `state`, signed, as delivery `n` (202 asserted).
pub(crate) fn post_pipeline(gateway: &GatewayClient, endpoint: &Value, state: &str, n: usize) {
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &commit_status_payload(state),
        endpoint["secret"].as_str(),
        &uuid(n),
    );
    assert_eq!(status, 202, "{answer}");
}

/// The first alert, once the gateway has one.
pub(crate) fn only_alert(gateway: &GatewayClient) -> Value {
    let mut alert = Value::Null;
    wait_for("an alert", Duration::from_secs(30), || {
        let (_, list) = gateway.api("GET", "/alerts", None);
        alert = list["items"][0].clone();
        !alert.is_null()
    });
    alert
}

#[test]
fn a_policy_pages_on_call_then_the_next_step_and_an_acknowledgement_stops_it() {
    let gateway = TestGateway::start(|_| {});
    let on_call_phone = CaptureReceiver::start();
    let lead_phone = CaptureReceiver::start();
    let chat = CaptureReceiver::start();
    let ada = ntfy_user(&gateway, "Ada", &format!("{}/ada-pages", on_call_phone.url));
    let lead = ntfy_user(&gateway, "Lead", &format!("{}/lead-pages", lead_phone.url));
    let schedule = created(
        &gateway,
        "/schedules",
        json!({
            "name": "primary",
            "time_zone": "Europe/Berlin",
            "layers": [{"name": "weekly", "start": "2026-01-05T09:00:00+01:00",
                        "rotation": "1w", "users": [ada]}],
        }),
    );
    // Step 1 the schedule, step 2 the lead a second later, the whole ladder twice more: an
    // acknowledgement must stop what would otherwise come.
    let policy = created(
        &gateway,
        "/escalation-policies",
        json!({
            "name": "widgets",
            "steps": [
                {"delay": "1s", "targets": [{"type": "schedule", "id": schedule}]},
                {"delay": "2s", "targets": [{"type": "user", "id": lead}]},
            ],
            "repeat": 2,
        }),
    );
    let endpoint = gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "escalation_policy": policy,
        "destinations": [{"kind": "webhook", "url": format!("{}/chat", chat.url)}],
    }));

    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let first_page = on_call_phone.wait_for_requests(1);
    assert_eq!(first_page[0].path, "/ada-pages");
    // The title has a dash, so it comes as an RFC 2047 encoded word, which ntfy decodes.
    let encoded = first_page[0].header("title").unwrap_or_default();
    let title = encoded
        .strip_prefix("=?UTF-8?B?")
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(|word| base64::engine::general_purpose::STANDARD.decode(word).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|| encoded.to_string());
    assert!(title.contains("Pipeline #4 for main failed"), "{title}");
    assert!(
        first_page[0].body.contains("Status FAILED"),
        "{}",
        first_page[0].body
    );
    let lead_page = lead_phone.wait_for_requests(1);
    assert_eq!(lead_page[0].path, "/lead-pages");

    let alert = only_alert(&gateway);
    let id = alert["id"].as_str().unwrap();
    let (status, acknowledged) = gateway.api("POST", &format!("/alerts/{id}/ack"), None);
    assert_eq!(status, 200, "{acknowledged}");
    assert_eq!(acknowledged["acknowledged_by"], "operator");
    assert_eq!(acknowledged["escalation"]["next_due_at"], Value::Null);
    assert_eq!(acknowledged["escalation"]["stopped"], "acknowledged");

    // The ladder would have paged Ada again 2 s after the lead: nothing comes.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        on_call_phone.captured().len(),
        1,
        "a page after the acknowledgement"
    );
    assert_eq!(
        lead_phone.captured().len(),
        1,
        "a page after the acknowledgement"
    );

    // The escalation log names each step, person and delivery.
    let (_, shown) = gateway.api("GET", &format!("/alerts/{id}"), None);
    let log = shown["escalation"]["log"].as_array().unwrap().clone();
    assert_eq!(log.len(), 2, "{shown}");
    assert_eq!(
        (log[0]["step"].as_u64(), log[0]["user"].as_str()),
        (Some(1), Some(ada.as_str()))
    );
    assert_eq!(
        (log[1]["step"].as_u64(), log[1]["user"].as_str()),
        (Some(2), Some(lead.as_str()))
    );
    // Step 2 fired step 1's delay after step 1 (fire times, not arrival times: a busy
    // machine may deliver the first page late).
    let fired = |page: &Value| page["at"].as_u64().unwrap();
    assert!(fired(&log[1]) - fired(&log[0]) >= 1_000, "{shown}");
    for page in &log {
        assert_eq!(page["kind"], "ntfy");
        let delivery = page["delivery"].as_str().expect("a delivery");
        let (_, delivery) = gateway.api("GET", &format!("/deliveries/{delivery}"), None);
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["notification"], "page");
    }
    // Chat heard the alert open.
    let heard: Vec<String> = chat
        .captured()
        .iter()
        .map(|request| {
            request.json()["type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(heard.contains(&"alert.opened".to_string()), "{heard:?}");
}

#[test]
fn a_quiet_alert_closes_itself_after_auto_close_after() {
    let gateway = TestGateway::start(|_| {});
    let chat = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "auto_close_after": "1m",
        "destinations": [{"kind": "webhook", "url": format!("{}/chat", chat.url)}],
    }));
    post_pipeline(&gateway, &endpoint, "FAILED", 1);
    let alert = only_alert(&gateway);
    assert_eq!(alert["state"], "open");
    // A minute is the shortest quiet period; the check runs every 5 s, so within ~65 s.
    let id = alert["id"].as_str().unwrap().to_string();
    let mut closed = Value::Null;
    wait_for("the quiet alert to close", Duration::from_secs(120), || {
        let (_, shown) = gateway.api("GET", &format!("/alerts/{id}"), None);
        closed = shown;
        closed["state"] == "closed"
    });
    assert_eq!(closed["closed_by"], "timeout");
    let closed_at = closed["closed_at"].as_u64().unwrap();
    let opened_at = closed["opened_at"].as_u64().unwrap();
    assert!(
        closed_at - opened_at >= 60_000,
        "closed before its quiet period"
    );
    let notices = chat.wait_for_requests(2);
    assert_eq!(notices[1].json()["type"], "alert.closed");
}
