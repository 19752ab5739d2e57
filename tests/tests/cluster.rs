//! Several gateways on one PostgreSQL database (SPEC §13): three child processes of the real
//! binary share a database of the throwaway test cluster; signed traffic is spread over them,
//! one is killed with `kill -9` mid-load and started again. Then every 202 is processed exactly
//! once, each alert key's records were applied in arrival order (its alerts and their counts
//! are what replaying its records in id order gives), every delivery reached the receiver (once
//! by `Idempotency-Key`), and each escalation step fired once. A test binary of its own, like
//! `crash`: its posting threads and kills never run beside the `it` tests' timing-bound ones.

use hookgate::store::postgres::test_cluster::{TestCluster, TestDatabase};
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{
    CaptureReceiver, ChildGateway, ChildGatewayConfig, GatewayProgram, wait_for,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GATEWAYS: usize = 3;
const POSTS: usize = 1500;
const THREADS: usize = 6;
const KEYS: usize = 8;
/// One post in this many is a green build, which closes its key's alert.
const GREEN_EVERY: usize = 7;

/// What one acknowledged post was.
#[derive(Debug, Clone)]
struct Sent {
    key: usize,
    failed: bool,
}

/// The real binary in `work_dir` on `database`, with claims that expire after 2 s (so the
/// killed gateway's work moves on quickly).
fn start_gateway(work_dir: &std::path::Path, database: &str) -> ChildGateway {
    std::fs::create_dir_all(work_dir).unwrap();
    let mut config = ChildGatewayConfig::new(
        GatewayProgram::binary(env!("CARGO_BIN_EXE_hookgate-e2e")),
        work_dir,
    );
    config.config_toml = Some(format!(
        "{}[storage]\nurl = \"{database}\"\nlease = \"2s\"\n",
        ChildGatewayConfig::TEST_SETTINGS
    ));
    config.rust_log = "warn,hookgate::server=info".into();
    ChildGateway::start(config)
}

/// A commit status of `key`'s branch.
fn status_body(key: usize, state: &str) -> String {
    let mut payload: Value = serde_json::from_str(&commit_status_payload(state)).unwrap();
    payload["commit_status"]["refname"] = json!(format!("branch-{key}"));
    payload.to_string()
}

/// The alerts replaying `sent` in id order gives, per key: the counts of its alerts, oldest
/// first (a red build opens one or appends to the open one; a green one closes it).
fn expected_alerts(sent: &BTreeMap<u64, Sent>) -> BTreeMap<usize, Vec<u64>> {
    let mut alerts: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    let mut open: BTreeSet<usize> = BTreeSet::new();
    for record in sent.values() {
        let counts = alerts.entry(record.key).or_default();
        match (record.failed, open.contains(&record.key)) {
            (true, true) => *counts.last_mut().unwrap() += 1,
            (true, false) => {
                counts.push(1);
                open.insert(record.key);
            }
            (false, true) => {
                open.remove(&record.key);
            }
            (false, false) => {}
        }
    }
    alerts.retain(|_, counts| !counts.is_empty());
    alerts
}

fn inbound_number(id: &str) -> u64 {
    id.trim_start_matches("in_").parse().expect("an inbound id")
}

#[test]
fn three_gateways_share_one_database_through_a_kill() {
    let database = TestDatabase::create();
    let work = tempfile::tempdir().unwrap();
    let receiver = CaptureReceiver::start();
    let mut gateways: Vec<ChildGateway> = (0..GATEWAYS)
        .map(|n| start_gateway(&work.path().join(format!("g{n}")), &database.url))
        .collect();
    let endpoint = gateways[0].create_endpoint(json!({
        "name": "cluster",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "destinations": [{"kind": "webhook", "url": format!("{}/alerts", receiver.url)}],
    }));
    let path = format!("/hooks/{}", endpoint["id"].as_str().unwrap());
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    // Every gateway knows the endpoint (saved on one, read from the database by all).
    for gateway in &gateways {
        wait_for(
            "the endpoint on every gateway",
            Duration::from_secs(5),
            || {
                gateway
                    .api(
                        "GET",
                        &format!("/endpoints/{}", endpoint["id"].as_str().unwrap()),
                        None,
                    )
                    .0
                    == 200
            },
        );
    }

    let clients: Vec<_> = gateways
        .iter()
        .map(|gateway| gateway.with_timeout(Duration::from_secs(10)))
        .collect();
    let urls: Vec<String> = gateways
        .iter()
        .map(|gateway| format!("http://{}{path}", gateway.config().listen))
        .collect();
    let acknowledged: Arc<Mutex<BTreeMap<u64, Sent>>> = Arc::default();
    let answered = Arc::new(AtomicUsize::new(0));
    let posters: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (clients, urls, secret) = (clients.clone(), urls.clone(), secret.clone());
            let (acknowledged, answered) = (acknowledged.clone(), answered.clone());
            std::thread::spawn(move || {
                for n in (thread..POSTS).step_by(THREADS) {
                    let key = n % KEYS;
                    let failed = (n / KEYS) % GREEN_EVERY != GREEN_EVERY - 1;
                    let body = status_body(key, if failed { "FAILED" } else { "SUCCESSFUL" });
                    // Spread over the gateways, as a load balancer would.
                    let target = (n / THREADS) % GATEWAYS;
                    let response = clients[target].try_post_hook(
                        &urls[target],
                        "repo:commit_status_updated",
                        &body,
                        Some(&secret),
                        &format!("cluster-{n}"),
                    );
                    if let Ok(response) = response
                        && response.status().as_u16() == 202
                    {
                        let answer: Value = response.json().unwrap_or(Value::Null);
                        if let Some(id) = answer["id"].as_str() {
                            acknowledged
                                .lock()
                                .unwrap()
                                .insert(inbound_number(id), Sent { key, failed });
                        }
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    wait_for("a third of the posts", Duration::from_secs(300), || {
        answered.load(Ordering::Relaxed) >= POSTS / 3
    });
    gateways[1].kill_9();
    wait_for("two thirds of the posts", Duration::from_secs(300), || {
        answered.load(Ordering::Relaxed) >= 2 * POSTS / 3
    });
    gateways[1].restart();
    for poster in posters {
        poster.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= POSTS / 2,
        "only {} of {POSTS} posts acknowledged",
        acknowledged.len()
    );

    wait_for(
        "the cluster's backlog to drain",
        Duration::from_secs(300),
        || {
            gateways
                .iter()
                .all(|gateway| gateway.queue_depth() == Some(0))
        },
    );
    // Every acknowledged record is processed, whichever gateway took it, and each gateway
    // answers the same.
    let records: BTreeMap<u64, Value> = gateways[2]
        .all("/inbound")
        .into_iter()
        .filter(|record| record["endpoint"] == endpoint["id"])
        .map(|record| (inbound_number(record["id"].as_str().unwrap()), record))
        .collect();
    for id in acknowledged.keys() {
        let record = records
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged in_{id} is missing"));
        assert_eq!(record["status"], "processed", "{record}");
    }
    // Records the gateways stored but whose 202 the kill cut off count too: a receiver that
    // never heard the answer sends again, and the records are in the log either way.
    let sent: BTreeMap<u64, Sent> = records
        .iter()
        .map(|(id, record)| {
            let uuid = record["request_uuid"].as_str().unwrap_or_default();
            let n: usize = uuid.trim_start_matches("cluster-").parse().unwrap();
            let key = n % KEYS;
            let failed = (n / KEYS) % GREEN_EVERY != GREEN_EVERY - 1;
            assert!(
                acknowledged.get(id).is_none_or(|known| known.key == key),
                "in_{id}"
            );
            (*id, Sent { key, failed })
        })
        .collect();

    // In arrival order and exactly once: each key's alerts are what its records give when
    // applied one by one in id order.
    let expected = expected_alerts(&sent);
    let alerts = gateways[0].all("/alerts");
    let mut found: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    for alert in &alerts {
        let key: usize = alert["key"]
            .as_str()
            .unwrap()
            .rsplit("branch-")
            .next()
            .and_then(|key| key.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|key| key.parse().ok())
            .unwrap_or_else(|| panic!("alert key {}", alert["key"]));
        let id = alert["id"]
            .as_str()
            .unwrap()
            .trim_start_matches("al_")
            .parse()
            .unwrap();
        found
            .entry(key)
            .or_default()
            .push((id, alert["count"].as_u64().unwrap()));
    }
    let found: BTreeMap<usize, Vec<u64>> = found
        .into_iter()
        .map(|(key, mut alerts)| {
            alerts.sort();
            (key, alerts.into_iter().map(|(_, count)| count).collect())
        })
        .collect();
    assert_eq!(found, expected, "alert counts per key, oldest first");

    // Every delivery reached the receiver; repeats (a send the kill cut before its record)
    // carry the same key.
    wait_for(
        "every delivery to be delivered",
        Duration::from_secs(120),
        || !gateways[0].deliveries_unsettled(),
    );
    let deliveries = gateways[0].all("/deliveries");
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery["status"] == "delivered"),
        "undelivered: {:?}",
        deliveries
            .iter()
            .filter(|delivery| delivery["status"] != "delivered")
            .collect::<Vec<_>>()
    );
    // One notification when an alert opens, one when it closes; appends notify no one.
    let closed = alerts
        .iter()
        .filter(|alert| alert["state"] == "closed")
        .count();
    assert_eq!(deliveries.len(), alerts.len() + closed, "notifications");
    let received: BTreeSet<String> = receiver
        .captured()
        .iter()
        .filter_map(|request| request.header("idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(
        received.len(),
        deliveries.len(),
        "each delivery received, once by key"
    );

    let logs: Vec<String> = gateways.iter().map(|gateway| gateway.log()).collect();
    drop(gateways);
    for log in &logs {
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// PostgreSQL stopped and started under load: while it is down, ingest answers 503 with
/// `Retry-After` (never a 202 without a commit); once it is back, the gateway recovers by
/// itself, and every acknowledged record is processed.
#[test]
fn a_database_outage_answers_503_and_recovers_by_itself() {
    let cluster = TestCluster::start();
    let url = cluster.create_database("hookgate_outage");
    let work = tempfile::tempdir().unwrap();
    let gateway = start_gateway(work.path(), &url);
    let endpoint = gateway.create_endpoint(json!({
        "name": "outage",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
    }));
    let hook = endpoint["url"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // (status, Retry-After, inbound id) of every answer, in order.
    type Answer = (u16, Option<String>, Option<u64>);
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let poster = {
        let (stop, answers) = (stop.clone(), answers.clone());
        let client = gateway.with_timeout(Duration::from_secs(45));
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let response = client.try_post_hook(
                    &hook,
                    "repo:commit_status_updated",
                    &status_body(n % KEYS, "FAILED"),
                    Some(&secret),
                    &format!("outage-{n}"),
                );
                let Ok(response) = response else {
                    answers.lock().unwrap().push((0, None, None));
                    continue;
                };
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string);
                let answer: Value = response.json().unwrap_or(Value::Null);
                let id = answer["id"].as_str().map(inbound_number);
                answers.lock().unwrap().push((status, retry_after, id));
            }
        })
    };
    let count = |status: u16| {
        answers
            .lock()
            .unwrap()
            .iter()
            .filter(|(found, _, _)| *found == status)
            .count()
    };
    wait_for("traffic before the outage", Duration::from_secs(60), || {
        count(202) >= 50
    });
    cluster.stop();
    let accepted_before = count(202);
    wait_for(
        "503s while the database is down",
        Duration::from_secs(60),
        || count(503) >= 3,
    );
    assert_eq!(
        gateway.ready_status(),
        Some(503),
        "readiness while the database is down"
    );
    cluster.resume();
    wait_for(
        "202s after the database is back",
        Duration::from_secs(60),
        || count(202) >= accepted_before + 50,
    );
    stop.store(true, Ordering::Relaxed);
    poster.join().unwrap();

    let answers = answers.lock().unwrap().clone();
    for (status, retry_after, _) in &answers {
        match status {
            202 => {}
            503 => assert!(
                retry_after
                    .as_deref()
                    .is_some_and(|value| value.parse::<u64>().is_ok()),
                "a 503 without Retry-After"
            ),
            other => panic!("ingest answered {other} during the outage; answers: {answers:?}"),
        }
    }
    wait_for("the backlog to drain", Duration::from_secs(60), || {
        gateway.queue_depth() == Some(0)
    });
    assert_eq!(gateway.ready_status(), Some(200));
    // Every 202 was committed: its record is in the log and processed.
    for id in answers
        .iter()
        .filter_map(|(status, _, id)| (*status == 202).then_some(*id))
    {
        let id = id.expect("a 202 names its record");
        let record = gateway.api_ok("GET", &format!("/inbound/in_{id}"), None);
        assert_eq!(record["status"], "processed", "{record}");
    }
    drop(gateway);
    drop(cluster);
}
