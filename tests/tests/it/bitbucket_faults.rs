//! `bitbucket connect` and `disconnect` while Bitbucket's API fails: a 5xx, a 429 with
//! `Retry-After`, or a request taken and never answered (the client's `[bitbucket]
//! timeout_secs` runs out). The operator gets an error naming Bitbucket's answer, nothing
//! half-made is left (no source without a webhook; a connect that got no answer says where to
//! look for a webhook Bitbucket may have made), and the same call works once the fault clears.

use hookgate_tests::bitbucket::{
    ACCESS_TOKEN, FakeBitbucket, Fault, NOT_ANSWERED, REPO, WORKSPACE,
};
use hookgate_tests::harness::TestGateway;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The client's time limit in these tests (`[bitbucket] timeout_secs`).
const TIMEOUT_SECS: u64 = 2;

fn gateway_with(fake: &FakeBitbucket) -> TestGateway {
    let api_url = fake.url.clone();
    TestGateway::start(move |config| {
        config.bitbucket.api_url = api_url;
        config.bitbucket.timeout_secs = TIMEOUT_SECS;
    })
}

fn connect(gateway: &TestGateway) -> (u16, Value) {
    gateway.api(
        "POST",
        "/bitbucket/connect",
        Some(json!({"workspace": WORKSPACE, "repo": REPO, "token": ACCESS_TOKEN})),
    )
}

/// Each fault, the status the operator gets, and what the error must say.
fn faults() -> Vec<(Fault, u16, Vec<&'static str>)> {
    vec![
        (
            Fault::ServerError(503),
            502,
            vec!["Bitbucket answered 503: Something went wrong"],
        ),
        (
            Fault::ServerError(500),
            502,
            vec!["Bitbucket answered 500: Something went wrong"],
        ),
        (
            Fault::RateLimited(30),
            502,
            vec![
                "Bitbucket is rate limiting (429), try again in 30 s",
                "Rate limit for this resource has been exceeded",
            ],
        ),
        (
            Fault::NoAnswer,
            504,
            vec!["Bitbucket did not answer within 2 s ([bitbucket] timeout_secs)"],
        ),
    ]
}

#[test]
fn a_connect_during_a_bitbucket_fault_is_refused_clearly_leaves_nothing_and_a_retry_works() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    for (fault, expected_status, expected_texts) in faults() {
        fake.fail_next("POST", fault.clone(), 1);
        let started = Instant::now();
        let (status, answer) = connect(&gateway);
        assert_eq!(status, expected_status, "{fault:?}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        for text in &expected_texts {
            assert!(error.contains(text), "{fault:?}: {error}");
        }
        if fault == Fault::NoAnswer {
            // The client gave up at its limit, not at Bitbucket's pleasure, and says a webhook
            // may exist that no source stands behind.
            assert!(
                started.elapsed() >= Duration::from_secs(TIMEOUT_SECS),
                "answered before the time limit"
            );
            assert!(
                error.contains("no source was saved")
                    && error.contains("Bitbucket may still have created the webhook"),
                "{error}"
            );
            assert_eq!(fake.calls().last().unwrap().status, NOT_ANSWERED);
        }
        assert!(fake.faults_played(), "{fault:?} reached Bitbucket");
        let (_, endpoints) = gateway.api("GET", "/endpoints", None);
        assert_eq!(
            endpoints["items"],
            json!([]),
            "{fault:?} left a source behind"
        );
        assert!(fake.hooks().is_empty(), "{fault:?} left a webhook behind");
    }

    // Once Bitbucket answers again, the same connect works: one source, one webhook.
    let (status, endpoint) = connect(&gateway);
    assert_eq!(status, 201, "{endpoint}");
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(endpoint["bitbucket"]["hook_uuid"], hooks[0]["uuid"]);
    assert_eq!(gateway.all("/endpoints").len(), 1);
}

#[test]
fn a_disconnect_during_a_bitbucket_fault_changes_nothing_and_a_retry_works() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    let (status, endpoint) = connect(&gateway);
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_str().unwrap();
    let disconnect = format!("/endpoints/{id}/bitbucket/disconnect");
    let token = json!({"token": ACCESS_TOKEN});

    for (fault, expected_status, expected_texts) in faults() {
        fake.fail_next("DELETE", fault.clone(), 1);
        let (status, answer) = gateway.api("POST", &disconnect, Some(token.clone()));
        assert_eq!(status, expected_status, "{fault:?}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        for text in &expected_texts {
            assert!(error.contains(text), "{fault:?}: {error}");
        }
        assert!(fake.faults_played(), "{fault:?} reached Bitbucket");
        // Still connected and enabled, its webhook still in Bitbucket: nothing half-done.
        let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
        assert_eq!(shown["enabled"], true, "{fault:?}: {shown}");
        assert_eq!(shown["bitbucket"], endpoint["bitbucket"], "{fault:?}");
        assert_eq!(fake.hooks().len(), 1, "{fault:?}");
    }

    let (status, answer) = gateway.api("POST", &disconnect, Some(token));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["enabled"], false);
    assert_eq!(answer["bitbucket"], Value::Null);
    assert!(fake.hooks().is_empty());
}
