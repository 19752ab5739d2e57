//! Deliveries end to end: retried on 408, 429 (after `Retry-After`), 5xx and unreachable
//! receivers, failed at once on other 4xx, signed with Standard Webhooks.

use crate::gateway::uuid;
use hookgate_tests::fixture;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) fn webhook_endpoint(gateway: &TestGateway, receiver_url: &str) -> (String, String) {
    let answer = gateway.create_endpoint(json!({
        "name": "deliveries",
        "events": ["repo:push"],
        "format": {"template": "pushed"},
        "destinations": [{"kind": "webhook", "url": receiver_url, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
    }));
    (
        answer["url"].as_str().unwrap().to_string(),
        answer["secret"].as_str().unwrap().to_string(),
    )
}

/// Creates an endpoint delivering to `destination` and posts it one signed push (answered
/// 202); returns the endpoint's URL.
pub(crate) fn push_to(gateway: &TestGateway, destination: &str) -> String {
    let (url, secret) = webhook_endpoint(gateway, destination);
    let (status, answer) = gateway.post_hook(
        &url,
        "repo:push",
        &fixture("repo_push.json"),
        Some(&secret),
        &uuid(1),
    );
    assert_eq!(status, 202, "{answer}");
    url
}

pub(crate) fn only_delivery(gateway: &TestGateway, final_status: &str) -> Value {
    let mut delivery = Value::Null;
    wait_for(
        &format!("a {final_status} delivery"),
        Duration::from_secs(30),
        || {
            let (_, list) = gateway.api("GET", "/deliveries", None);
            delivery = list["items"][0].clone();
            delivery["status"] == final_status
        },
    );
    delivery
}

#[test]
fn a_500_is_retried_until_delivered_and_requests_are_signed() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    receiver.answer_with(&[(500, None)]);
    push_to(&gateway, &format!("{}/hook", receiver.url));
    let delivery = only_delivery(&gateway, "delivered");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{delivery}");
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[1]["status_code"], 200);
    let requests = receiver.wait_for_requests(2);
    assert_eq!(
        requests[0].header("idempotency-key"),
        requests[1].header("idempotency-key")
    );
    let request = &requests[1];
    let verified = hookgate::verify::verify_standard_webhooks(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        request.header("webhook-id").unwrap(),
        request.header("webhook-timestamp").unwrap(),
        request.body.as_bytes(),
        request.header("webhook-signature").unwrap(),
        request
            .header("webhook-timestamp")
            .unwrap()
            .parse()
            .unwrap(),
    );
    assert_eq!(verified, Ok(()));
}

#[test]
fn retry_after_is_honoured() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    receiver.answer_with(&[(429, Some(2))]);
    push_to(&gateway, &format!("{}/hook", receiver.url));
    only_delivery(&gateway, "delivered");
    let requests = receiver.wait_for_requests(2);
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(
        waited >= Duration::from_millis(1900),
        "waited only {waited:?} after Retry-After: 2"
    );
}

#[test]
fn a_400_fails_at_once_and_can_be_retried_by_hand() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    receiver.answer_with(&[(400, None)]);
    push_to(&gateway, &format!("{}/hook", receiver.url));
    let delivery = only_delivery(&gateway, "failed");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(delivery["attempts"][0]["response"], "answered 400");
    let (status, _) = gateway.api(
        "POST",
        &format!("/deliveries/{}/retry", delivery["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(status, 202);
    let delivery = only_delivery(&gateway, "delivered");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 2);
}

#[test]
fn an_unreachable_receiver_is_retried_then_failed() {
    let gateway = TestGateway::start(|_| {});
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    push_to(&gateway, &format!("http://127.0.0.1:{closed_port}/hook"));
    let delivery = only_delivery(&gateway, "failed");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        3,
        "first attempt + the 2 of the test schedule: {delivery}"
    );
    assert!(attempts.iter().all(|attempt| attempt["error"].is_string()));
}

#[test]
fn a_408_is_retried_until_delivered() {
    // 408 Request Timeout is the one 4xx that asks to be sent again (RFC 9110 15.5.9).
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    receiver.answer_with(&[(408, None)]);
    push_to(&gateway, &format!("{}/hook", receiver.url));
    let delivery = only_delivery(&gateway, "delivered");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{delivery}");
    assert_eq!(attempts[0]["status_code"], 408);
    assert_eq!(attempts[1]["status_code"], 200);
}
