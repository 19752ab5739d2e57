//! An acknowledged webhook survives `kill -9`: the real binary as a child process, thousands of
//! concurrent signed posts, killed mid-stream, restarted; then every 202 is in the log and
//! processed, alert counts equal the FAILED records per key, and every notification is
//! delivered.

use hookgate_tests::commit_status_payload;
use hookgate_tests::gateway::{ADMIN_TOKEN, CaptureReceiver, wait_for};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POSTS: usize = 2000;
const THREADS: usize = 8;
const KEYS: usize = 10;

fn start(data_dir: &Path, port: u16) -> Child {
    let config = data_dir.join("hookgate.toml");
    std::fs::write(
        &config,
        // Plugin calls get 5 s: on a busy machine a call descheduled past the 50 ms default
        // would fail its record, and this test counts processed records.
        "[delivery]\nallow_private_destinations = true\nretry_schedule = [\"200ms\", \"400ms\"]\n[plugins]\ntimeout_ms = 5000\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(&config)
        .env("HOOKGATE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hookgate")
}

/// Posts a commit-status payload as Bitbucket does, signed with `secret`.
fn post_status(
    client: &reqwest::blocking::Client,
    url: &str,
    secret: &str,
    body: &str,
    request_uuid: &str,
) -> reqwest::Result<reqwest::blocking::Response> {
    client
        .post(url)
        .header("X-Event-Key", "repo:commit_status_updated")
        .header("X-Request-UUID", request_uuid)
        .header(
            "X-Hub-Signature",
            hookgate::verify::sign_hub_sha256(secret, body.as_bytes()),
        )
        .body(body.to_string())
        .send()
}

fn api(
    client: &reqwest::blocking::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = client
        .request(method.parse().unwrap(), format!("{base}/api/v1{path}"))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().unwrap().json().unwrap()
}

fn wait_ready(client: &reqwest::blocking::Client, base: &str) {
    wait_for("hookgate to be ready", Duration::from_secs(120), || {
        client
            .get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|response| response.status().is_success())
    });
}

/// Every record of the inbound log, oldest first.
fn all_inbound(client: &reqwest::blocking::Client, base: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(before) => format!("/inbound?limit=500&before={before}"),
            None => "/inbound?limit=500".to_string(),
        };
        let page = api(client, base, "GET", &path, None);
        records.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    records.reverse();
    records
}

#[test]
fn acknowledged_webhooks_survive_kill_9() {
    hookgate::install_tls_provider();
    let data_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let receiver = CaptureReceiver::start();

    let mut child = start(data_dir.path(), port);
    wait_ready(&client, &base);
    let endpoint = api(
        &client,
        &base,
        "POST",
        "/endpoints",
        Some(json!({
            "name": "crash",
            "events": ["repo:commit_status_updated"],
            "alerts": {"plugin": "bitbucket-pipelines"},
            "destinations": [{"kind": "webhook", "url": format!("{}/alerts", receiver.url)}],
        })),
    );
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
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                for n in (thread..POSTS).step_by(THREADS) {
                    let body = &bodies[n % KEYS];
                    let response =
                        post_status(&client, &hook_url, &secret, body, &format!("crash-{n}"));
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
    child.kill().expect("kill -9");
    child.wait().unwrap();
    for poster in posters {
        poster.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= POSTS / 4,
        "only {} acknowledged before the kill",
        acknowledged.len()
    );

    let mut child = start(data_dir.path(), port);
    wait_ready(&client, &base);
    wait_for("the backlog to drain", Duration::from_secs(300), || {
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        metrics.lines().any(|line| line == "hookgate_queue_depth 0")
    });

    let records = all_inbound(&client, &base);
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
    let alerts = api(&client, &base, "GET", "/alerts?limit=500", None);
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
            let deliveries = api(&client, &base, "GET", "/deliveries?limit=500", None);
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
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigterm_stops_gracefully_and_keeps_what_was_acknowledged() {
    hookgate::install_tls_provider();
    let data_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut child = start(data_dir.path(), port);
    wait_ready(&client, &base);
    let endpoint = api(
        &client,
        &base,
        "POST",
        "/endpoints",
        Some(json!({"name": "stop", "events": ["repo:commit_status_updated"]})),
    );
    let body = commit_status_payload("FAILED");
    let secret = endpoint["secret"].as_str().unwrap();
    let response = post_status(
        &client,
        endpoint["url"].as_str().unwrap(),
        secret,
        &body,
        "stop-1",
    )
    .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let id = response.json::<Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let mut exit = None;
    wait_for("a graceful exit", Duration::from_secs(30), || {
        exit = child.try_wait().unwrap();
        exit.is_some()
    });
    assert!(exit.unwrap().success(), "exit status {exit:?}");

    let mut child = start(data_dir.path(), port);
    wait_ready(&client, &base);
    wait_for(
        "the record to be processed",
        Duration::from_secs(30),
        || api(&client, &base, "GET", &format!("/inbound/{id}"), None)["status"] == "processed",
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
