//! A destination's Send test (`POST /endpoints/{id}/destinations/{index}/test`): one real
//! notification through the outbox to that destination only, answered with its attempt, and
//! never retried.

use crate::deliveries::webhook_endpoint;
use hookgate_tests::harness::{CaptureReceiver, TestGateway};
use serde_json::json;
use std::time::Duration;

#[test]
fn a_send_test_reaches_only_its_destination_and_answers_the_attempt() {
    let gateway = TestGateway::start(|_| {});
    let first = CaptureReceiver::start();
    let second = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:push"],
        "destinations": [
            {"kind": "webhook", "url": format!("{}/first", first.url)},
            {"kind": "discord", "url": format!("{}/discord/second", second.url)},
        ],
    }));
    let id = endpoint["id"].as_str().unwrap();

    let (status, answer) = gateway.api(
        "POST",
        &format!("/endpoints/{id}/destinations/1/test"),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    let deliveries = answer["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{answer}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["status"], "delivered", "{answer}");
    assert_eq!(delivery["notification"], "test");
    assert_eq!(delivery["destination"], 1);
    assert_eq!(delivery["attempts"][0]["status_code"], 200, "{answer}");

    let received = second.wait_for_requests(1);
    let body = received[0].json();
    let title = body["embeds"][0]["title"].as_str().unwrap_or_default();
    assert!(title.contains("hookgate test"), "{body}");
    assert!(
        first.captured().is_empty(),
        "the other destination heard nothing"
    );
    // It is a delivery like any other: listed with its attempt.
    let (_, shown) = gateway.api(
        "GET",
        &format!("/deliveries/{}", delivery["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(shown["attempts"].as_array().unwrap().len(), 1, "{shown}");
}

#[test]
fn a_failed_send_test_is_answered_failed_and_never_retried() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    // A 500 would be retried for an ordinary delivery (the harness schedule is 200 ms, 400 ms).
    receiver.answer_with(&[(500, None), (500, None), (500, None)]);
    let (url, _) = webhook_endpoint(&gateway, &format!("{}/hook", receiver.url));
    let id = url.rsplit('/').next().unwrap();

    let (status, answer) = gateway.api(
        "POST",
        &format!("/endpoints/{id}/destinations/0/test"),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    let delivery = &answer["deliveries"][0];
    assert_eq!(delivery["status"], "failed", "{answer}");
    assert_eq!(delivery["attempts"][0]["status_code"], 500, "{answer}");
    // Past the whole retry schedule: still one request, one attempt.
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(receiver.captured().len(), 1);
    let (_, shown) = gateway.api(
        "GET",
        &format!("/deliveries/{}", delivery["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(shown["attempts"].as_array().unwrap().len(), 1, "{shown}");
    assert_eq!(shown["status"], "failed");
}

#[test]
fn a_send_test_of_a_missing_destination_is_404() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (url, _) = webhook_endpoint(&gateway, &format!("{}/hook", receiver.url));
    let id = url.rsplit('/').next().unwrap();
    for path in [
        format!("/endpoints/{id}/destinations/1/test"),
        format!("/endpoints/{id}/destinations/x/test"),
        "/endpoints/nope/destinations/0/test".to_string(),
    ] {
        let (status, answer) = gateway.api("POST", &path, None);
        assert_eq!(status, 404, "{path}: {answer}");
    }
    assert!(receiver.captured().is_empty());
}
