//! An acknowledged webhook survives `kill -9`: the real binary as a child process, thousands of
//! concurrent signed posts, killed mid-stream, restarted; then every 202 is in the log and
//! processed, alert counts equal the FAILED records per key, and every notification is
//! delivered.

use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, ChildGateway, ChildGatewayConfig, wait_for};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POSTS: usize = 2000;
const THREADS: usize = 8;
const KEYS: usize = 10;

/// The real binary in `work_dir`, with the test settings.
fn start_child(work_dir: &std::path::Path) -> ChildGateway {
    ChildGateway::start(ChildGatewayConfig::new(crate::hookgate_binary(), work_dir))
}

#[test]
fn acknowledged_webhooks_survive_kill_9() {
    let work = tempfile::tempdir().unwrap();
    let receiver = CaptureReceiver::start();

    let mut gateway = start_child(work.path());
    let endpoint = gateway.create_endpoint(json!({
        "name": "crash",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "destinations": [{"kind": "webhook", "url": format!("{}/alerts", receiver.url)}],
    }));
    let hook_url = endpoint["url"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let bodies: Vec<String> = (0..KEYS)
        .map(|key| {
            let mut payload: Value =
                serde_json::from_str(&commit_status_payload("FAILED")).unwrap();
            payload["commit_status"]["refname"] = json!(format!("branch-{key}"));
            payload.to_string()
        })
        .collect();

    let acknowledged: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let answered = Arc::new(AtomicUsize::new(0));
    let posters: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (hook_url, secret, bodies) = (hook_url.clone(), secret.clone(), bodies.clone());
            let (acknowledged, answered) = (acknowledged.clone(), answered.clone());
            let client = gateway.with_timeout(Duration::from_secs(10));
            std::thread::spawn(move || {
                for n in (thread..POSTS).step_by(THREADS) {
                    let body = &bodies[n % KEYS];
                    let response = client.try_post_hook(
                        &hook_url,
                        "repo:commit_status_updated",
                        body,
                        Some(&secret),
                        &format!("crash-{n}"),
                    );
                    if let Ok(response) = response
                        && response.status().as_u16() == 202
                    {
                        let answer: Value = response.json().unwrap_or(Value::Null);
                        if let Some(id) = answer["id"].as_str() {
                            acknowledged.lock().unwrap().insert(id.to_string());
                        }
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    wait_for("half the posts", Duration::from_secs(300), || {
        answered.load(Ordering::Relaxed) >= POSTS / 2
    });
    gateway.kill_9();
    for poster in posters {
        poster.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= POSTS / 4,
        "only {} acknowledged before the kill",
        acknowledged.len()
    );

    gateway.restart();
    wait_for("the backlog to drain", Duration::from_secs(300), || {
        gateway.queue_depth() == Some(0)
    });

    let records = gateway.all("/inbound");
    let by_id: BTreeMap<&str, &Value> = records
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    for id in &acknowledged {
        let record = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged {id} is missing"));
        assert_eq!(record["status"], "processed", "{record}");
    }
    // Exactly once: each key's alert count equals its processed FAILED records.
    let mut failed_per_key: BTreeMap<String, u64> = BTreeMap::new();
    for record in records.iter().filter(|r| r["status"] == "processed") {
        let key = record["outcomes"][0]["detail"]
            .as_str()
            .unwrap()
            .to_string();
        *failed_per_key.entry(key).or_default() += 1;
    }
    let alerts = gateway.api_ok("GET", "/alerts?limit=500", None);
    let alerts = alerts["items"].as_array().unwrap();
    assert_eq!(alerts.len(), failed_per_key.len());
    for alert in alerts {
        let key = alert["key"].as_str().unwrap();
        assert_eq!(
            alert["count"].as_u64(),
            failed_per_key.get(key).copied(),
            "alert {key}"
        );
    }
    // Every notification delivered at least once.
    wait_for(
        "every delivery to be delivered",
        Duration::from_secs(60),
        || {
            let deliveries = gateway.api_ok("GET", "/deliveries?limit=500", None);
            let items = deliveries["items"].as_array().unwrap();
            items.len() == alerts.len() && items.iter().all(|d| d["status"] == "delivered")
        },
    );
    let received: BTreeSet<String> = receiver
        .captured()
        .iter()
        .filter_map(|request| request.header("idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(
        received.len(),
        alerts.len(),
        "one opened-alert notification per key"
    );
}

#[test]
fn sigterm_stops_gracefully_and_keeps_what_was_acknowledged() {
    let work = tempfile::tempdir().unwrap();
    let mut gateway = start_child(work.path());
    let endpoint =
        gateway.create_endpoint(json!({"name": "stop", "events": ["repo:commit_status_updated"]}));
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        endpoint["secret"].as_str(),
        "stop-1",
    );
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap().to_string();

    let exit = gateway.terminate();
    assert!(exit.success(), "exit status {exit:?}");

    gateway.restart();
    assert_eq!(gateway.processed(&id)["status"], "processed");
}
