//! Operator actions on alerts and replays: acknowledging, closing by hand, and what a replay
//! does to alert state (README, "A replay"): one record counts once in an alert's history.

use crate::gateway::{seeds_endpoint, uuid};
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use serde_json::Value;
use std::time::Duration;

/// Replays a record and waits until it has been processed again; returns it.
fn replay(gateway: &TestGateway, inbound_id: &str) -> Value {
    let (status, answer) = gateway.api("POST", &format!("/inbound/{inbound_id}/replay"), None);
    assert_eq!(status, 202, "{answer}");
    gateway.processed(inbound_id)
}

fn first_outcome(record: &Value) -> &str {
    record["outcomes"][0]["outcome"].as_str().unwrap_or("")
}

fn alert(gateway: &TestGateway, alert_id: &str) -> Value {
    gateway.api_ok("GET", &format!("/alerts/{alert_id}"), None)
}

#[test]
fn a_replay_counts_once_while_the_alert_is_open_and_opens_a_new_one_after_it_closed() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (url, secret) = seeds_endpoint(&gateway, &receiver);
    let post = |state: &str, n: usize| {
        let (status, answer) = gateway.post_hook(
            &url,
            "repo:commit_status_updated",
            &commit_status_payload(state),
            Some(&secret),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
        let id = answer["id"].as_str().unwrap().to_string();
        (id.clone(), gateway.processed(&id))
    };
    let (first, record) = post("FAILED", 1);
    assert_eq!(first_outcome(&record), "Mapped Opened");
    let (second, record) = post("FAILED", 2);
    assert_eq!(first_outcome(&record), "Mapped Appended");
    let alert_id = record["outcomes"][0]["alert"].as_str().unwrap().to_string();
    let before = alert(&gateway, &alert_id);
    assert_eq!(before["count"], 2, "{before}");

    // Replays of records the open alert holds, each more than once: nothing changes.
    for inbound_id in [&first, &second, &first] {
        let record = replay(&gateway, inbound_id);
        assert_eq!(record["status"], "processed", "{record}");
        assert_eq!(first_outcome(&record), "Already Applied", "{record}");
        assert_eq!(record["outcomes"][0]["alert"], alert_id.as_str());
    }
    let after = alert(&gateway, &alert_id);
    assert_eq!(
        (&after["count"], &after["history"], &after["last_seen_at"]),
        (
            &before["count"],
            &before["history"],
            &before["last_seen_at"]
        ),
        "a replay changed the alert: {after}"
    );
    assert_eq!(
        after["history"],
        serde_json::json!([first, second]),
        "{after}"
    );
    // The same history a page at a time, newest first.
    let page = gateway.api_ok("GET", &format!("/alerts/{alert_id}/history?limit=1"), None);
    assert_eq!(page["items"], serde_json::json!([second]), "{page}");
    let next = page["next"].as_str().expect("a second page").to_string();
    let page = gateway.api_ok(
        "GET",
        &format!("/alerts/{alert_id}/history?limit=1&before={next}"),
        None,
    );
    assert_eq!(page["items"], serde_json::json!([first]), "{page}");
    assert_eq!(page["next"], serde_json::Value::Null, "{page}");
    let (status, answer) = gateway.api("GET", "/alerts/al_999999/history", None);
    assert_eq!(status, 404, "{answer}");
    // Deliveries are written with the record's outcomes, so once the replays show as processed
    // any notification they caused exists: only the opening one does.
    assert_eq!(gateway.all("/deliveries").len(), 1, "a replay notified");

    // Acknowledged: still held once.
    gateway.api_ok("POST", &format!("/alerts/{alert_id}/ack"), None);
    assert_eq!(first_outcome(&replay(&gateway, &first)), "Already Applied");
    assert_eq!(alert(&gateway, &alert_id)["count"], 2);

    // Closed by its source; a replay of the first failure now opens a new alert, once.
    let (_, record) = post("SUCCESSFUL", 3);
    assert_eq!(first_outcome(&record), "Mapped Closed");
    let record = replay(&gateway, &first);
    assert_eq!(first_outcome(&record), "Mapped Opened", "{record}");
    let new_alert_id = record["outcomes"][0]["alert"].as_str().unwrap().to_string();
    assert_ne!(new_alert_id, alert_id);
    let record = replay(&gateway, &first);
    assert_eq!(first_outcome(&record), "Already Applied", "{record}");
    let reopened = alert(&gateway, &new_alert_id);
    assert_eq!(
        (&reopened["state"], &reopened["count"], &reopened["history"]),
        (&"open".into(), &1.into(), &serde_json::json!([first])),
        "{reopened}"
    );
    let old = alert(&gateway, &alert_id);
    assert_eq!(
        (&old["state"], &old["count"]),
        (&"closed".into(), &2.into()),
        "the closed alert is never reopened: {old}"
    );
    // Opened, acknowledged (the built-in notifier is told since WIT 0.2), closed, opened again:
    // four notifications, none for the replays in between; once every delivery is settled, the
    // receiver has all it will ever get.
    assert_eq!(gateway.all("/deliveries").len(), 4);
    wait_for("the deliveries to settle", Duration::from_secs(30), || {
        gateway.settled()
    });
    assert_eq!(receiver.captured().len(), 4);
}

#[test]
fn operators_acknowledge_close_and_replay() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (url, secret) = seeds_endpoint(&gateway, &receiver);
    let (_, posted) = gateway.post_hook(
        &url,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        Some(&secret),
        &uuid(1),
    );
    let inbound_id = posted["id"].as_str().unwrap().to_string();
    gateway.processed(&inbound_id);
    let (_, alerts) = gateway.api("GET", "/alerts", None);
    let alert_id = alerts["items"][0]["id"].as_str().unwrap().to_string();

    let (status, acknowledged) = gateway.api("POST", &format!("/alerts/{alert_id}/ack"), None);
    assert_eq!(
        (status, acknowledged["state"].as_str()),
        (200, Some("acknowledged"))
    );
    // A repeat failure is still appended to an acknowledged alert.
    let (_, again) = gateway.post_hook(
        &url,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        Some(&secret),
        &uuid(2),
    );
    assert_eq!(
        gateway.processed(again["id"].as_str().unwrap())["outcomes"][0]["outcome"],
        "Mapped Appended"
    );
    let (status, closed) = gateway.api("POST", &format!("/alerts/{alert_id}/close"), None);
    assert_eq!(
        (
            status,
            closed["state"].as_str(),
            closed["closed_by"].as_str()
        ),
        (200, Some("closed"), Some("operator"))
    );
    let (status, _) = gateway.api("POST", &format!("/alerts/{alert_id}/ack"), None);
    assert_eq!(status, 409, "a closed alert cannot be acknowledged");

    // Replay runs the first record through the plugins again: a closed key opens a new alert.
    let (status, _) = gateway.api("POST", &format!("/inbound/{inbound_id}/replay"), None);
    assert_eq!(status, 202);
    wait_for("the replay", Duration::from_secs(30), || {
        let (_, record) = gateway.api("GET", &format!("/inbound/{inbound_id}"), None);
        record["status"] == "processed" && record["outcomes"][0]["outcome"] == "Mapped Opened"
    });
    let (_, open) = gateway.api("GET", "/alerts?state=open", None);
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    assert_ne!(open["items"][0]["id"].as_str().unwrap(), alert_id);
}
