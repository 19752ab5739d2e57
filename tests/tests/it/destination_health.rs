//! A destination that keeps failing is disabled after `[delivery] disable_after_failures`
//! consecutive failed attempts: later deliveries are kept as failed without being sent, the
//! API, `/metrics` and the CLI show it, and once enabled again its deliveries can be retried.

use crate::console;
use crate::deliveries::{push_to, webhook_endpoint};
use crate::gateway::uuid;
use hookgate_tests::fixture;
use hookgate_tests::harness::{ADMIN_TOKEN, CaptureReceiver, TestGateway, wait_for};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn metric(gateway: &TestGateway, name: &str) -> Option<u64> {
    let text = reqwest::blocking::get(format!("{}/metrics", gateway.url))
        .and_then(|response| response.text())
        .unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
}

/// The delivery with this id, once its status is `status`.
fn delivery_when(gateway: &TestGateway, id: &str, status: &str) -> Value {
    let mut delivery = Value::Null;
    wait_for(
        &format!("{id} to be {status}"),
        Duration::from_secs(30),
        || {
            delivery = gateway.api("GET", &format!("/deliveries/{id}"), None).1;
            delivery["status"] == status
        },
    );
    delivery
}

/// The newest delivery's id, once there are `count`.
fn newest_delivery(gateway: &TestGateway, count: usize) -> String {
    let mut items = Vec::new();
    wait_for(
        &format!("{count} deliveries"),
        Duration::from_secs(30),
        || {
            items = gateway.api("GET", "/deliveries", None).1["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            items.len() >= count
        },
    );
    items[0]["id"].as_str().unwrap().to_string()
}

fn endpoint_id(hook_url: &str) -> String {
    hook_url.rsplit('/').next().unwrap().to_string()
}

#[test]
fn a_failing_destination_is_disabled_held_and_enabled_again() {
    let gateway = TestGateway::start(|config| {
        config.delivery.disable_after_failures = 3;
        config.delivery.retry_schedule = vec!["100ms".into(), "100ms".into()];
    });
    let receiver = CaptureReceiver::start();
    // Three 500s, then 200 for everything after.
    receiver.answer_with(&[(500, None); 3]);
    let (url, secret) = webhook_endpoint(&gateway, &format!("{}/hook", receiver.url));
    let id = endpoint_id(&url);
    let push = fixture("repo_push.json");

    gateway.post_hook(&url, "repo:push", &push, Some(&secret), &uuid(1));
    let first = newest_delivery(&gateway, 1);
    let first = delivery_when(&gateway, &first, "failed");
    assert_eq!(first["attempts"].as_array().unwrap().len(), 3, "{first}");
    assert_eq!(receiver.captured().len(), 3);

    let (_, endpoint) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    let destination = &endpoint["destinations"][0];
    assert_eq!(destination["consecutive_failures"], 3, "{endpoint}");
    assert!(destination["disabled_at"].is_u64(), "{endpoint}");
    let reason = destination["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains("3 consecutive failed delivery attempts") && reason.contains("HTTP 500"),
        "{reason}"
    );
    assert_eq!(
        metric(&gateway, "hookgate_destinations_disabled_total"),
        Some(1)
    );
    assert_eq!(metric(&gateway, "hookgate_destinations_disabled"), Some(1));
    let shown = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args([
            "endpoint",
            "show",
            &id,
            "--url",
            &gateway.url,
            "--token",
            ADMIN_TOKEN,
        ])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("DISABLED: 3 consecutive"), "{shown}");

    // The next notification is kept as failed, not sent: the receiver, which would now
    // answer 200, gets nothing.
    gateway.post_hook(&url, "repo:push", &push, Some(&secret), &uuid(2));
    let held = newest_delivery(&gateway, 2);
    let held_record = delivery_when(&gateway, &held, "failed");
    let attempts = held_record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{held_record}");
    assert_eq!(
        attempts[0]["error"],
        "destination disabled after 3 consecutive failures"
    );
    assert!(attempts[0]["status_code"].is_null());
    assert_eq!(receiver.captured().len(), 3, "nothing sent while disabled");
    let (status, answer) = gateway.api("POST", &format!("/deliveries/{held}/retry"), None);
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("enable it first")
    );

    // Enabled again with the CLI; a destination index that does not exist is a 404.
    let (status, answer) = gateway.api(
        "POST",
        &format!("/endpoints/{id}/destinations/5/enable"),
        None,
    );
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "no such destination");
    let enabled = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args([
            "endpoint",
            "enable-destination",
            &id,
            "0",
            "--url",
            &gateway.url,
            "--token",
            ADMIN_TOKEN,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        enabled.status.success(),
        "{}",
        String::from_utf8_lossy(&enabled.stderr)
    );
    let endpoint: Value = serde_json::from_slice(&enabled.stdout).unwrap();
    assert!(
        endpoint["destinations"][0]["disabled_at"].is_null(),
        "{endpoint}"
    );
    assert_eq!(endpoint["destinations"][0]["consecutive_failures"], 0);
    assert_eq!(metric(&gateway, "hookgate_destinations_disabled"), Some(0));
    assert_eq!(
        metric(&gateway, "hookgate_destinations_disabled_total"),
        Some(1)
    );

    // The held delivery, retried by hand, arrives.
    let (status, answer) = gateway.api("POST", &format!("/deliveries/{held}/retry"), None);
    assert_eq!(status, 202, "{answer}");
    let delivered = delivery_when(&gateway, &held, "delivered");
    assert_eq!(delivered["attempts"].as_array().unwrap().len(), 2);
    let requests = receiver.wait_for_requests(4);
    assert_eq!(requests[3].header("idempotency-key"), Some(held.as_str()));
}

#[test]
fn a_success_resets_the_count() {
    let gateway = TestGateway::start(|config| {
        config.delivery.disable_after_failures = 3;
        config.delivery.retry_schedule = vec!["100ms".into(), "100ms".into()];
    });
    let receiver = CaptureReceiver::start();
    let (url, secret) = webhook_endpoint(&gateway, &format!("{}/hook", receiver.url));
    let id = endpoint_id(&url);
    let push = fixture("repo_push.json");
    // Two failures then a success, twice: four failures in all, never three in a row.
    for n in 1..=2 {
        receiver.answer_with(&[(500, None), (503, None)]);
        gateway.post_hook(&url, "repo:push", &push, Some(&secret), &uuid(n));
        let delivery = newest_delivery(&gateway, n);
        let delivery = delivery_when(&gateway, &delivery, "delivered");
        assert_eq!(
            delivery["attempts"].as_array().unwrap().len(),
            3,
            "{delivery}"
        );
    }
    let (_, endpoint) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    let destination = &endpoint["destinations"][0];
    assert_eq!(destination["consecutive_failures"], 0, "{endpoint}");
    assert!(destination["disabled_at"].is_null(), "{endpoint}");
    assert_eq!(
        metric(&gateway, "hookgate_destinations_disabled_total"),
        Some(0)
    );
}

#[test]
fn the_console_shows_a_disabled_destination_and_re_enables_it() {
    let gateway = TestGateway::start(|config| {
        config.delivery.disable_after_failures = 1;
        config.delivery.retry_schedule = vec!["100ms".into()];
    });
    let receiver = CaptureReceiver::start();
    receiver.answer_with(&[(500, None)]);
    let id = endpoint_id(&push_to(&gateway, &format!("{}/hook", receiver.url)));
    let delivery = newest_delivery(&gateway, 1);
    delivery_when(&gateway, &delivery, "failed");

    let client = console::http();
    let cookie = console::sign_in(&gateway);
    let sources = console::signed_in_page(&client, format!("{}/ui/sources", gateway.url), &cookie);
    assert!(
        sources.contains("destination 0 (webhook) disabled"),
        "{sources}"
    );
    assert!(sources.contains("1 consecutive failed delivery attempts (the last: HTTP 500)"));
    let enable = format!("{}/ui/sources/{id}/destinations/0/enable", gateway.url);
    let forged = client
        .post(&enable)
        .header("Cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    let (_, endpoint) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert!(
        endpoint["destinations"][0]["disabled_at"].is_u64(),
        "{endpoint}"
    );

    let enabled = client
        .post(&enable)
        .header("Cookie", &cookie)
        .form(&[("csrf", console::csrf_of(&sources))])
        .send()
        .unwrap();
    assert_eq!(enabled.status(), 303);
    let (_, endpoint) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert!(
        endpoint["destinations"][0]["disabled_at"].is_null(),
        "{endpoint}"
    );
    let sources = console::signed_in_page(&client, format!("{}/ui/sources", gateway.url), &cookie);
    assert!(!sources.contains("Re-enable"), "{sources}");
}
