//! The gateway end to end on PostgreSQL (`[storage] url`, a database of the throwaway test
//! cluster): the same webhooks, alerts and deliveries as on redb.

use crate::gateway::{seeds_endpoint, uuid};
use hookgate::config::DatabaseUrl;
use hookgate::store::postgres::test_cluster::TestDatabase;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use std::time::Duration;

#[test]
fn a_gateway_on_postgres_opens_notifies_and_closes_an_alert() {
    let database = TestDatabase::create();
    let url = database.url.clone();
    let gateway = TestGateway::start(|config| config.storage.url = Some(DatabaseUrl::new(url)));
    let receiver = CaptureReceiver::start();
    let (hook, secret) = seeds_endpoint(&gateway, &receiver);
    let post = |state: &str, n: usize| {
        let (status, answer) = gateway.post_hook(
            &hook,
            "repo:commit_status_updated",
            &commit_status_payload(state),
            Some(&secret),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
        let record = gateway.processed(answer["id"].as_str().unwrap());
        record["outcomes"][0]["outcome"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(post("FAILED", 1), "Mapped Opened");
    assert_eq!(post("FAILED", 2), "Mapped Appended");
    // A repeat of an accepted request UUID is a duplicate (200), not a second append.
    let (status, answer) = gateway.post_hook(
        &hook,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        Some(&secret),
        &uuid(2),
    );
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    assert_eq!(post("SUCCESSFUL", 3), "Mapped Closed");
    receiver.wait_for_requests(2);
    wait_for("the deliveries to end", Duration::from_secs(30), || {
        gateway.settled()
    });
    assert_eq!(receiver.captured().len(), 2, "opened and resolved");
    let (_, alerts) = gateway.api("GET", "/alerts", None);
    let items = alerts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{alerts}");
    assert_eq!(items[0]["state"], "closed");
    assert_eq!(items[0]["count"], 2);
    drop(gateway);
}
