//! The retention task through a running gateway (`[retention] interval` shortened from its
//! hourly default): records past the count bound are pruned oldest first while queued records
//! stay, and an alert and a delivery whose inbound record was pruned stay readable and workable,
//! their links to it answering 404 cleanly.

use crate::console::{http, sign_in};
use crate::gateway::uuid;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use hookgate_tests::plugin_bytes;
use serde_json::{Value, json};
use std::time::Duration;

/// Records kept (`[retention] max_records`).
const KEPT: usize = 3;

#[test]
fn retention_prunes_past_the_bound_keeps_queued_records_and_leaves_alerts_and_deliveries_readable()
{
    let gateway = TestGateway::start(|config| {
        config.retention.max_records = KEPT as u64;
        config.retention.interval = "200ms".into();
        // The looping plugin holds the one processing worker for this long: the records behind
        // it stay queued through many retention passes (50 at the interval above).
        config.plugins.timeout_ms = 10_000;
    });
    gateway.install_dropins(&[("hostile", "hostile.wasm", plugin_bytes("hostile"))]);
    let receiver = CaptureReceiver::start();
    let alerts = gateway.create_endpoint(json!({
        "name": "pipelines",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "destinations": [{"notifier": "notifier", "kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    let slow = gateway.create_endpoint(json!({
        "name": "slow",
        "events": ["repo:push"],
        "alerts": {"plugin": "hostile", "config": {"behaviour": "loop"}},
    }));
    let post = |endpoint: &Value, event: &str, body: &str, n: usize| -> String {
        let (status, answer) = gateway.post_hook(
            endpoint["url"].as_str().unwrap(),
            event,
            body,
            Some(endpoint["secret"].as_str().unwrap()),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
        answer["id"].as_str().unwrap().to_string()
    };
    let inbound_status = |id: &str| gateway.api("GET", &format!("/inbound/{id}"), None);

    // The first record opens an alert and sends its notification.
    let opening = post(
        &alerts,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        1,
    );
    assert_eq!(gateway.processed(&opening)["status"], "processed");
    wait_for(
        "the opening notification to end",
        Duration::from_secs(30),
        || gateway.settled(),
    );
    let alert = gateway.all("/alerts").pop().expect("an alert");
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let notification = gateway
        .all("/deliveries")
        .into_iter()
        .find(|delivery| delivery["inbound"] == opening.as_str())
        .expect("a delivery caused by the opening record");
    assert_eq!(notification["status"], "delivered", "{notification}");
    let notification_id = notification["id"].as_str().unwrap().to_string();

    // A looping record holds the worker; five more wait behind it. Seven records in all, the
    // bound is three, but only the opening record is neither queued nor held: it alone goes.
    let held = post(&slow, "repo:push", "{}", 2);
    let queued: Vec<String> = (3..8)
        .map(|n| {
            post(
                &alerts,
                "repo:commit_status_updated",
                &commit_status_payload("FAILED"),
                n,
            )
        })
        .collect();
    wait_for(
        "the opening record to be pruned",
        Duration::from_secs(30),
        || inbound_status(&opening).0 == 404,
    );
    for id in &queued {
        let (status, record) = inbound_status(id);
        assert_eq!(status, 200, "a queued record was pruned: {id}");
        assert_eq!(
            record["status"], "pending",
            "the looping call must still hold the worker (a 10 s limit): {record}"
        );
    }
    assert_eq!(inbound_status(&held).0, 200, "the held record was pruned");

    // Once everything is processed, the oldest records past the bound go; the newest three stay.
    let last = queued.last().unwrap();
    assert_eq!(gateway.processed(last)["status"], "processed");
    wait_for(
        "the log to shrink to the bound",
        Duration::from_secs(30),
        || gateway.all("/inbound").len() == KEPT,
    );
    let kept: Vec<String> = gateway
        .all("/inbound")
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_string())
        .collect();
    let mut newest: Vec<String> = queued[queued.len() - KEPT..].to_vec();
    newest.reverse();
    assert_eq!(kept, newest, "the newest records are kept, newest first");
    for pruned in [&opening, &held, &queued[0], &queued[1]] {
        let (status, answer) = inbound_status(pruned);
        assert_eq!(status, 404, "{pruned}: {answer}");
        assert_eq!(answer["error"], "no such inbound record", "{answer}");
    }

    // The alert and its notification outlive the records they came from: readable, their
    // links to a pruned record kept as ids (answering 404), and the alert still closes.
    let (status, alert) = gateway.api("GET", &format!("/alerts/{alert_id}"), None);
    assert_eq!(status, 200, "{alert}");
    let history: Vec<&str> = alert["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let mut expected_history = vec![opening.as_str()];
    expected_history.extend(queued.iter().map(String::as_str));
    assert_eq!(history, expected_history, "{alert}");
    let (status, delivery) = gateway.api("GET", &format!("/deliveries/{notification_id}"), None);
    assert_eq!(status, 200, "{delivery}");
    assert_eq!(delivery["inbound"], opening.as_str(), "{delivery}");
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    let (status, answer) = gateway.api("POST", &format!("/inbound/{opening}/replay"), None);
    assert_eq!(status, 404, "replaying a pruned record: {answer}");

    let cookie = sign_in(&gateway);
    let page_status = |path: &str| {
        http()
            .get(format!("{}{path}", gateway.url))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(page_status(&format!("/ui/alerts/{alert_id}")), 200);
    assert_eq!(
        page_status(&format!("/ui/deliveries/{notification_id}")),
        200
    );
    assert_eq!(page_status("/ui/deliveries"), 200);
    assert_eq!(page_status(&format!("/ui/inbound/{opening}")), 404);

    let closing = post(
        &alerts,
        "repo:commit_status_updated",
        &commit_status_payload("SUCCESSFUL"),
        8,
    );
    assert_eq!(gateway.processed(&closing)["status"], "processed");
    let (_, alert) = gateway.api("GET", &format!("/alerts/{alert_id}"), None);
    assert_eq!(alert["state"], "closed", "{alert}");
}
