//! `hookgate storage copy --from DIR|URL --to URL|DIR`: an installation moves from a redb data
//! directory to PostgreSQL and back with everything it holds, and the gateway started on the
//! copy goes on where the original stopped (the open alert appends, a repeated request is a
//! duplicate, ids continue). A target that holds an installation, or a store a gateway is
//! running on, is refused.

use crate::gateway::{seeds_endpoint, uuid};
use hookgate::config::DatabaseUrl;
use hookgate::store::postgres::test_cluster::TestDatabase;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, GatewayClient, TestGateway, wait_for};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn storage_copy(from: &str, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args(["storage", "copy", "--from", from, "--to", to])
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What an operator sees of an installation through the API, by id (endpoint URLs left out:
/// each gateway prints its own).
fn snapshot(gateway: &GatewayClient) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut snapshot = BTreeMap::new();
    for path in ["/endpoints", "/inbound", "/alerts", "/deliveries", "/users"] {
        let items = gateway
            .all(path)
            .into_iter()
            .map(|mut item| {
                if let Some(fields) = item.as_object_mut() {
                    fields.remove("url");
                }
                (item["id"].as_str().unwrap().to_string(), item)
            })
            .collect();
        snapshot.insert(path.to_string(), items);
    }
    snapshot
}

fn on_folder(dir: &Path) -> TestGateway {
    let dir = dir.to_path_buf();
    TestGateway::start(move |config| config.data_dir = dir)
}

fn on_database(url: &str) -> TestGateway {
    let url = url.to_string();
    TestGateway::start(move |config| config.storage.url = Some(DatabaseUrl::new(url)))
}

#[test]
fn an_installation_moves_from_redb_to_postgres_and_back() {
    let folder = tempfile::tempdir().unwrap();
    let database = TestDatabase::create();
    let receiver = CaptureReceiver::start();

    // A redb installation: an endpoint with an alert of three failures and their
    // notifications, an on-call user.
    let gateway = on_folder(folder.path());
    let (hook, secret) = seeds_endpoint(&gateway, &receiver);
    for n in 0..3 {
        let (status, answer) = gateway.post_hook(
            &hook,
            "repo:commit_status_updated",
            &commit_status_payload("FAILED"),
            Some(&secret),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
    }
    let (status, user) = gateway.api(
        "POST",
        "/users",
        Some(json!({"name": "Ada Lovelace", "email": "ada@example.com", "role": "responder"})),
    );
    assert_eq!(status, 201, "{user}");
    wait_for("the records to settle", Duration::from_secs(60), || {
        gateway.settled()
    });
    let original = snapshot(&gateway);
    assert_eq!(original["/alerts"].len(), 1);
    assert!(!original["/deliveries"].is_empty());

    // Refused while the gateway holds the file.
    let refused = storage_copy(folder.path().to_str().unwrap(), &database.url);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("stop it first"),
        "{}",
        text(&refused)
    );
    let hook_path = hook.trim_start_matches(&gateway.url).to_string();
    drop(gateway);

    // Into PostgreSQL: every kind reported, the counts verified.
    let copied = storage_copy(folder.path().to_str().unwrap(), &database.url);
    assert!(copied.status.success(), "{}", text(&copied));
    let report = text(&copied);
    assert!(report.contains("verified"), "{report}");
    assert!(report.contains("        3 inbound records"), "{report}");
    assert!(report.contains("        1 alerts"), "{report}");
    // A second copy into the same database is refused, and changes nothing.
    let again = storage_copy(folder.path().to_str().unwrap(), &database.url);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("not empty"), "{}", text(&again));

    let moved = on_database(&database.url);
    assert_eq!(snapshot(&moved), original);
    // A gateway running on the target database keeps a copy out.
    let busy_target = tempfile::tempdir().unwrap();
    let refused = storage_copy(&database.url, busy_target.path().to_str().unwrap());
    assert!(
        text(&refused).contains("gateways are running"),
        "{}",
        text(&refused)
    );
    // It goes on from the copy: the open alert appends, a repeat is a duplicate.
    let hook = format!("{}{hook_path}", moved.url);
    let (status, answer) = moved.post_hook(
        &hook,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        Some(&secret),
        &uuid(3),
    );
    assert_eq!(status, 202, "{answer}");
    let record = moved.processed(answer["id"].as_str().unwrap());
    assert_eq!(
        record["outcomes"][0]["outcome"], "Mapped Appended",
        "{record}"
    );
    let newest = original["/inbound"]
        .keys()
        .map(|id| id.trim_start_matches("in_").parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(answer["id"], format!("in_{}", newest + 1));
    let (status, repeat) = moved.post_hook(
        &hook,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        Some(&secret),
        &uuid(0),
    );
    assert_eq!(status, 200, "{repeat}");
    wait_for("the copy to settle", Duration::from_secs(60), || {
        moved.settled()
    });
    let on_postgres = snapshot(&moved);
    drop(moved);

    // And back into a new data directory.
    let back = tempfile::tempdir().unwrap();
    let target = back.path().join("data");
    // The stopped gateway's connections close a moment after it stops.
    let mut copied = storage_copy(&database.url, target.to_str().unwrap());
    let started = std::time::Instant::now();
    while text(&copied).contains("gateways are running") && started.elapsed().as_secs() < 30 {
        std::thread::sleep(Duration::from_millis(200));
        copied = storage_copy(&database.url, target.to_str().unwrap());
    }
    assert!(copied.status.success(), "{}", text(&copied));
    let returned = on_folder(&target);
    assert_eq!(snapshot(&returned), on_postgres);
    assert_eq!(returned.all("/alerts")[0]["count"], 4);
}
