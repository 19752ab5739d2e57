//! The test receivers check what Discord and Slack check (`harness::chat_services`), so a
//! notifier that sends a body those services refuse fails a test: here, every notification kind
//! the built-ins send, and text past Discord's limits, reach strict Discord and Slack receivers
//! and are taken; and the receivers themselves refuse what the services refuse.

use crate::gateway::uuid;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use hookgate_tests::{commit_status_payload, fixture};
use serde_json::{Value, json};
use std::time::Duration;

/// A pull request whose title and description are far past every Discord limit.
fn oversized_pull_request() -> String {
    let mut payload: Value = serde_json::from_str(&fixture("pullrequest_created.json")).unwrap();
    payload["pullrequest"]["title"] = json!("Long title ".repeat(300));
    payload["pullrequest"]["description"] = json!("A description line.\n".repeat(1000));
    payload.to_string()
}

/// Posts to an endpoint (`url`, `secret`), waits for the record, asserts it processed.
fn post_processed(gateway: &TestGateway, endpoint: &Value, event: &str, body: &str, n: usize) {
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        event,
        body,
        Some(endpoint["secret"].as_str().unwrap()),
        &uuid(n),
    );
    assert_eq!(status, 202, "{answer}");
    let record = gateway.processed(answer["id"].as_str().unwrap());
    assert_eq!(record["status"], "processed", "{record}");
}

/// Every delivery so far, once all have ended: each must be delivered.
fn all_delivered(gateway: &TestGateway, expected: usize) {
    wait_for("the deliveries to end", Duration::from_secs(30), || {
        gateway.settled()
    });
    let deliveries = gateway.all("/deliveries");
    assert_eq!(deliveries.len(), expected, "{deliveries:?}");
    for delivery in &deliveries {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
    }
}

#[test]
fn discord_and_slack_take_every_notification_the_built_ins_send() {
    let gateway = TestGateway::start(|_| {});
    let discord = CaptureReceiver::start();
    let slack = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "widgets",
        "provider": "bitbucket",
        "events": "all",
        "alerts": {"plugin": "bitbucket-pipelines"},
        "format": {"plugin": "bitbucket-embeds"},
        "destinations": [
            {"kind": "discord", "url": format!("{}/discord", discord.url)},
            {"kind": "slack", "url": format!("{}/slack", slack.url)},
        ],
    }));
    // An alert opened, a push and an oversized pull request (messages), the alert closed.
    let posts = [
        (
            "repo:commit_status_updated",
            commit_status_payload("FAILED"),
        ),
        ("repo:push", fixture("repo_push.json")),
        ("pullrequest:created", oversized_pull_request()),
        (
            "repo:commit_status_updated",
            commit_status_payload("SUCCESSFUL"),
        ),
    ];
    for (n, (event, body)) in posts.iter().enumerate() {
        post_processed(&gateway, &endpoint, event, body, n);
    }
    all_delivered(&gateway, 8);
    // Both panic if the service would have refused any request.
    let to_discord = discord.captured();
    let to_slack = slack.captured();
    assert_eq!((to_discord.len(), to_slack.len()), (4, 4));
    let pull_request = to_discord[2].json();
    assert!(
        pull_request["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .contains("Long title"),
        "{pull_request}"
    );
}

#[test]
fn a_template_past_discords_limits_is_cut_to_them() {
    let gateway = TestGateway::start(|_| {});
    let discord = CaptureReceiver::start();
    let slack = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "templated",
        "events": ["pullrequest:created"],
        "format": {"template": "{{pullrequest.title}} {{pullrequest.description}}"},
        "destinations": [
            {"kind": "discord", "url": format!("{}/discord", discord.url)},
            {"kind": "slack", "url": format!("{}/slack", slack.url)},
        ],
    }));
    post_processed(
        &gateway,
        &endpoint,
        "pullrequest:created",
        &oversized_pull_request(),
        1,
    );
    all_delivered(&gateway, 2);
    let content = discord.captured()[0].json()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(content.chars().count(), 2000, "cut to Discord's limit");
    assert!(content.starts_with("Long title "), "{content}");
    assert!(
        slack.captured()[0].json()["text"]
            .as_str()
            .unwrap()
            .starts_with("Long title "),
    );
}

/// Posts `body` (JSON unless `content_type` says otherwise) to the receiver at `path`.
fn post_to(
    receiver: &CaptureReceiver,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}{path}", receiver.url))
        .header("Content-Type", content_type)
        .body(body.to_string())
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.text().unwrap())
}

#[test]
fn the_test_receivers_refuse_what_discord_and_slack_refuse() {
    let receiver = CaptureReceiver::start();
    let embed_with = |key: &str, value: Value| {
        let mut embed = json!({"title": "t"});
        embed[key] = value;
        json!({"embeds": [embed]})
    };
    let field = |name: &str, value: &str| json!({"name": name, "value": value});
    // (path, body, Discord's code or Slack's error, the errors path Discord names)
    let refused: Vec<(&str, Value, Value)> = vec![
        ("/discord", json!({}), json!(50006)),
        ("/discord", json!({"content": "  "}), json!(50006)),
        (
            "/discord",
            json!({"content": "x".repeat(2001)}),
            json!(50035),
        ),
        (
            "/discord",
            json!({"embeds": vec![json!({"title": "t"}); 11]}),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("title", json!("x".repeat(257))),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("description", json!("x".repeat(4097))),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("fields", json!(vec![field("n", "v"); 26])),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("fields", json!([field(&"n".repeat(257), "v")])),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("fields", json!([field("n", &"v".repeat(1025))])),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("fields", json!([field("n", "")])),
            json!(50035),
        ),
        (
            "/discord",
            embed_with("footer", json!({"text": "x".repeat(2049)})),
            json!(50035),
        ),
        (
            "/api/webhooks/1/token",
            json!({"embeds": [
                {"title": "t", "description": "x".repeat(4000)},
                {"title": "t", "description": "x".repeat(2100)},
            ]}),
            json!(50035),
        ),
        ("/slack", json!({}), json!("no_text")),
        ("/slack", json!({"text": ""}), json!("no_text")),
        ("/slack", json!([1, 2]), json!("invalid_payload")),
        (
            "/services/T0/B0/x",
            json!({"attachments": [{"text": "a"}]}),
            json!("no_text"),
        ),
    ];
    for (path, body, expected) in &refused {
        let (status, answer) = post_to(&receiver, path, "application/json", &body.to_string());
        assert_eq!(status, 400, "{path} {body}: {answer}");
        match expected {
            Value::String(code) => assert_eq!(&answer, code, "{path} {body}"),
            code => {
                let answer: Value = serde_json::from_str(&answer).unwrap();
                assert_eq!(&answer["code"], code, "{path} {body}: {answer}");
                assert!(answer["message"].is_string(), "{answer}");
            }
        }
    }
    let (status, answer) = post_to(&receiver, "/discord", "text/plain", "{\"content\": \"hi\"}");
    assert_eq!((status, answer.contains("50109")), (400, true), "{answer}");
    let (status, _) = post_to(&receiver, "/slack", "application/json", "not json");
    assert_eq!(status, 400);
    let nested: Value = serde_json::from_str(
        &post_to(
            &receiver,
            "/discord",
            "application/json",
            &embed_with("title", json!("x".repeat(300))).to_string(),
        )
        .1,
    )
    .unwrap();
    assert!(
        nested["errors"]["embeds"]["0"]["title"]["_errors"].is_array(),
        "Discord names the field: {nested}"
    );

    // Within the limits (exactly at several), and a path of no service: taken.
    let taken = [
        ("/discord", json!({"content": "x".repeat(2000)})),
        (
            "/discord",
            json!({"embeds": vec![json!({"title": "x".repeat(256), "fields": [field("n", &"v".repeat(1024))]}); 4]}),
        ),
        ("/slack", json!({"text": "hello"})),
        ("/slack", json!({"blocks": [{"type": "section"}]})),
        ("/hook", json!({})),
    ];
    for (path, body) in &taken {
        let (status, answer) = post_to(&receiver, path, "application/json", &body.to_string());
        assert_eq!(status, 200, "{path} {body}: {answer}");
    }
    assert_eq!(
        receiver.refusals().len(),
        refused.len() + 3,
        "{:?}",
        receiver.refusals()
    );
    // A test reading what arrived fails on any refusal.
    let reading = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| receiver.captured()));
    assert!(reading.is_err(), "captured() must fail after a refusal");
}
