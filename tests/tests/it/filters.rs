//! The pipeline mapper's regex filters through a running gateway: every filter must match for
//! an alert to open; a value that does not match, or a field that is not there, ignores the
//! event with the reason, and opens and sends nothing.

use crate::gateway::uuid;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

/// An endpoint mapping pipelines with these `filters`, notifying the receiver.
fn filtered_endpoint(
    gateway: &TestGateway,
    receiver: &CaptureReceiver,
    filters: Value,
) -> (String, String) {
    let answer = gateway.create_endpoint(json!({
        "name": "filtered",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines", "config": {"filters": filters}},
        "destinations": [{"notifier": "notifier", "kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    (
        answer["url"].as_str().unwrap().to_string(),
        answer["secret"].as_str().unwrap().to_string(),
    )
}

#[test]
fn regex_filters_must_all_match_and_a_miss_is_ignored_with_the_reason() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    // The sample is a FAILED pipeline on `main` of automationtestharness/testrepo.
    let both_match = json!([
        {"field": "commit_status^refname", "regex": "^main$"},
        {"field": "repository^full_name", "regex": "^automationtestharness/"},
    ]);
    let second_misses = json!([
        {"field": "commit_status^refname", "regex": "^main$"},
        {"field": "repository^full_name", "regex": "^other-team/"},
    ]);
    let missing_field = json!([{"field": "commit_status^no_such_field", "regex": "."}]);
    let cases = [
        (both_match, "Mapped Opened"),
        (
            second_misses,
            "Ignored: filter: repository^full_name = \"automationtestharness/testrepo\" does not match /^other-team//",
        ),
        (
            missing_field,
            "Ignored: filter: no value at commit_status^no_such_field",
        ),
    ];
    for (n, (filters, expected)) in cases.into_iter().enumerate() {
        let (url, secret) = filtered_endpoint(&gateway, &receiver, filters);
        let (status, accepted) = gateway.post_hook(
            &url,
            "repo:commit_status_updated",
            &commit_status_payload("FAILED"),
            Some(&secret),
            &uuid(n),
        );
        assert_eq!(status, 202, "{accepted}");
        let record = gateway.processed(accepted["id"].as_str().unwrap());
        assert_eq!(record["status"], "processed", "{record}");
        assert_eq!(record["outcomes"][0]["outcome"], expected, "{record}");
    }
    // Only the endpoint whose filters all matched opened an alert and sent a notification:
    // counted once every delivery has ended.
    wait_for("the deliveries to end", Duration::from_secs(30), || {
        gateway.settled()
    });
    let alerts = gateway.all("/alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(receiver.captured().len(), 1);
}
