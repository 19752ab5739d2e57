//! Destinations are checked after name resolution, with the address actually connected to, and
//! redirects are never followed. Names are pinned to chosen addresses with `[delivery] hosts`
//! (no DNS server needed); the check under test is the gateway's own resolver. The receiver
//! listens on 127.0.0.1, so a refusal is proven by its request count staying zero.

use crate::deliveries::{only_delivery, push_to};
use hookgate_tests::harness::{CaptureReceiver, TestGateway};
use serde_json::{Value, json};

/// Posts one push to an endpoint delivering to `destination` and returns the finished delivery.
fn deliver_push(gateway: &TestGateway, destination: &str, final_status: &str) -> Value {
    push_to(gateway, destination);
    only_delivery(gateway, final_status)
}

fn port_of(receiver: &CaptureReceiver) -> &str {
    receiver.url.rsplit(':').next().unwrap()
}

/// `evil.test` resolves to `addresses`; private destinations are not allowed. The delivery must
/// fail at once (no retry) naming the refusal, and nothing may reach the receiver.
fn assert_refused_after_resolution(addresses: &[&str]) {
    let receiver = CaptureReceiver::start();
    let gateway = TestGateway::start(|config| {
        config.delivery.allow_private_destinations = false;
        config.delivery.hosts.insert(
            "evil.test".into(),
            addresses
                .iter()
                .map(|address| address.to_string())
                .collect(),
        );
    });
    let destination = format!("http://evil.test:{}/hook", port_of(&receiver));
    let delivery = deliver_push(&gateway, &destination, "failed");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "refusals are not retried: {delivery}");
    assert!(attempts[0]["status_code"].is_null(), "{delivery}");
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(
        error.contains("destination refused: evil.test resolves to a private address"),
        "{addresses:?}: {error}"
    );
    assert!(
        receiver.captured().is_empty(),
        "{addresses:?} reached the receiver"
    );
}

#[test]
fn a_name_resolving_to_ipv4_loopback_is_refused() {
    assert_refused_after_resolution(&["127.0.0.1"]);
}

#[test]
fn a_name_resolving_to_ipv6_loopback_is_refused() {
    assert_refused_after_resolution(&["::1"]);
}

#[test]
fn a_name_resolving_to_the_cloud_metadata_address_is_refused() {
    assert_refused_after_resolution(&["169.254.169.254"]);
}

#[test]
fn a_name_resolving_to_a_ten_slash_eight_address_is_refused() {
    assert_refused_after_resolution(&["10.0.0.1"]);
}

#[test]
fn a_name_resolving_to_a_unique_local_ipv6_address_is_refused() {
    assert_refused_after_resolution(&["fc00::1"]);
}

#[test]
fn a_name_resolving_to_an_ipv4_mapped_loopback_is_refused() {
    assert_refused_after_resolution(&["::ffff:127.0.0.1"]);
}

#[test]
fn a_name_with_one_public_and_one_private_address_is_refused() {
    // The connector may try either address: one private address is enough to refuse.
    assert_refused_after_resolution(&["93.184.215.14", "127.0.0.1"]);
}

#[test]
fn the_same_pinned_name_is_delivered_when_private_destinations_are_allowed() {
    // The control for the tests above: the pinning routes to the receiver, so their refusal
    // comes from the address check and nothing else.
    let receiver = CaptureReceiver::start();
    let gateway = TestGateway::start(|config| {
        config.delivery.allow_private_destinations = true;
        config
            .delivery
            .hosts
            .insert("evil.test".into(), vec!["127.0.0.1".into()]);
    });
    let destination = format!("http://evil.test:{}/hook", port_of(&receiver));
    deliver_push(&gateway, &destination, "delivered");
    let requests = receiver.wait_for_requests(1);
    assert_eq!(
        requests[0].header("host"),
        Some(format!("evil.test:{}", port_of(&receiver)).as_str())
    );
}

#[test]
fn literal_private_addresses_in_any_spelling_are_refused_by_the_api() {
    let gateway = TestGateway::start(|config| config.delivery.allow_private_destinations = false);
    for url in [
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://0177.0.0.1/hook",
        "http://127.1/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fc00::1]/hook",
        "http:///127.0.0.1/hook",
        "http:\\\\127.0.0.1/hook",
    ] {
        let (status, answer) = gateway.api(
            "POST",
            "/endpoints",
            Some(json!({
                "name": "ssrf",
                "destinations": [{"kind": "webhook", "url": url}],
            })),
        );
        assert_eq!(status, 422, "{url}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("points to a private address"),
            "{url}: {answer}"
        );
    }
}

#[test]
fn a_redirect_is_a_failed_delivery_and_is_not_followed() {
    let target = CaptureReceiver::start();
    let redirector = CaptureReceiver::start();
    redirector.redirect_to(&format!("{}/internal", target.url));
    let gateway = TestGateway::start(|_| {});
    let delivery = deliver_push(&gateway, &format!("{}/hook", redirector.url), "failed");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{delivery}");
    assert_eq!(attempts[0]["status_code"], 302);
    assert_eq!(
        attempts[0]["error"],
        format!("redirect not followed (to {}/internal)", target.url)
    );
    assert_eq!(redirector.captured().len(), 1);
    assert!(target.captured().is_empty(), "the redirect was followed");
}
