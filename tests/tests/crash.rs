//! An acknowledged webhook survives `kill -9` and SIGTERM: the real binary as a child process,
//! thousands of concurrent signed posts, killed mid-stream with records provably pending,
//! restarted; then every 202 is in the log and processed, alert counts equal the FAILED records
//! per key, and every notification is delivered. A test binary of its own (like `soak_short`):
//! its eight posting threads and kills never run beside the `it` tests' timing-bound ones.

use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{
    CaptureReceiver, ChildGateway, ChildGatewayConfig, GatewayProgram, wait_for,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POSTS: usize = 2000;
const THREADS: usize = 8;
const KEYS: usize = 10;

/// The real binary in `work_dir`, with the test settings (plugin calls of 5 s), the hostile
/// plugin dropped in, and the start-up log line that counts the records it resumes.
fn start_child(work_dir: &std::path::Path) -> ChildGateway {
    let config = ChildGatewayConfig {
        rust_log: "warn,hookgate::server=info".into(),
        ..ChildGatewayConfig::new(
            GatewayProgram::binary(env!("CARGO_BIN_EXE_hookgate-e2e")),
            work_dir,
        )
    };
    let plugins = config.data_dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(
        hookgate_tests::plugin_file("hostile"),
        plugins.join("hostile.wasm"),
    )
    .unwrap();
    ChildGateway::start(config)
}

/// A looping plugin's endpoint: each of its records holds the processing worker for the whole
/// 5 s call limit, so whatever is queued behind it is still pending a moment later.
fn slow_endpoint(gateway: &ChildGateway) -> (String, String) {
    let endpoint = gateway.create_endpoint(json!({
        "name": "slow",
        "events": ["repo:push"],
        "alerts": {"plugin": "hostile", "config": {"behaviour": "loop"}},
    }));
    (
        endpoint["url"].as_str().unwrap().to_string(),
        endpoint["secret"].as_str().unwrap().to_string(),
    )
}

/// Posts a record that holds the worker for its whole call; returns its id.
fn post_slow_record(gateway: &ChildGateway, (url, secret): &(String, String)) -> String {
    let (status, answer) = gateway.post_hook(url, "repo:push", "{}", Some(secret), "slow-1");
    assert_eq!(status, 202, "{answer}");
    answer["id"].as_str().unwrap().to_string()
}

/// The N of the last "resuming N inbound records" start-up line, 0 when no start had any.
fn last_resumed(log: &str) -> u64 {
    log.lines()
        .filter_map(|line| line.split("resuming ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .next_back()
        .unwrap_or(0)
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
    // A record that holds the worker for 5 s: it, and what the posters add behind it, are
    // pending when the kill comes, so the restart has something to recover.
    let slow = post_slow_record(&gateway, &slow_endpoint(&gateway));
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
    let resumed = last_resumed(&gateway.log());
    assert!(
        resumed >= 1,
        "the restart resumed no pending records; log:\n{}",
        gateway.log()
    );
    wait_for("the backlog to drain", Duration::from_secs(300), || {
        gateway.queue_depth() == Some(0)
    });
    // The record pending at the kill was run after the restart, to its call limit.
    let slow = gateway.processed(&slow);
    assert_eq!(slow["status"], "failed", "{slow}");
    assert!(
        slow["outcomes"][0]["outcome"]
            .as_str()
            .is_some_and(|outcome| outcome.contains("timeout")),
        "{slow}"
    );

    let records: Vec<Value> = gateway
        .all("/inbound")
        .into_iter()
        .filter(|record| record["endpoint"] == endpoint["id"])
        .collect();
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

/// SIGTERM while a slow plugin call runs, a record waits behind it and a request is half
/// sent: the half-sent request is answered or cut, never acknowledged; the gateway exits 0; and
/// the waiting record is processed once, before the exit or resumed after the restart.
#[test]
fn sigterm_stops_gracefully_and_keeps_what_was_acknowledged() {
    let work = tempfile::tempdir().unwrap();
    let mut gateway = start_child(work.path());
    let receiver = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "stop",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "destinations": [{"kind": "webhook", "url": format!("{}/alerts", receiver.url)}],
    }));
    let slow = post_slow_record(&gateway, &slow_endpoint(&gateway));
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        endpoint["secret"].as_str(),
        "stop-1",
    );
    assert_eq!(status, 202, "{answer}");
    let waiting = answer["id"].as_str().unwrap().to_string();
    assert_eq!(
        gateway.api_ok("GET", &format!("/inbound/{waiting}"), None)["status"],
        "pending",
        "the record must still wait behind the slow call when the signal comes"
    );

    // A request whose body is still coming.
    let address = gateway.config().listen;
    let mut half_sent = TcpStream::connect(address).unwrap();
    let path = format!("/hooks/{}", endpoint["id"].as_str().unwrap());
    write!(
        half_sent,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         X-Event-Key: repo:commit_status_updated\r\nContent-Length: 1000\r\n\r\n{{\"half\":"
    )
    .unwrap();
    half_sent.flush().unwrap();

    let exit = gateway.terminate();
    assert!(exit.success(), "exit status {exit:?}");
    half_sent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = String::new();
    let read = half_sent.read_to_string(&mut answer);
    assert!(
        read.is_ok() || answer.is_empty(),
        "the half-sent request hung or broke: {read:?} {answer:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 "),
        "not an HTTP answer: {answer:?}"
    );
    assert!(
        !answer.starts_with("HTTP/1.1 202"),
        "a request cut by the stop was acknowledged: {answer}"
    );

    let stopped_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    gateway.restart();
    let resumed = last_resumed(&gateway.log());
    let record = gateway.processed(&waiting);
    assert_eq!(record["status"], "processed", "{record}");
    assert_eq!(
        record["outcomes"][0]["outcome"], "Mapped Opened",
        "{record}"
    );
    // The stop lets the batch in flight finish (actix waits up to its shutdown timeout for the
    // half-sent request meanwhile), so the waiting record may be done before the exit; if it
    // was not, the restart must have resumed it.
    if record["processed_at"].as_u64().unwrap() > stopped_at_ms {
        assert!(
            resumed >= 1,
            "processed after the restart, but nothing was resumed; log:\n{}",
            gateway.log()
        );
    }
    assert_ne!(gateway.processed(&slow)["status"], "pending");
    let alerts = gateway.api_ok("GET", "/alerts", None);
    assert_eq!(alerts["items"][0]["count"], 1, "{alerts}");
}
