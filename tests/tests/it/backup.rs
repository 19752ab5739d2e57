//! `hookgate backup --to FILE` while the gateway runs and takes webhooks: the copy is one
//! commit's state, and a gateway started on it (as `<data-dir>/hookgate.redb`) has the same
//! endpoints, inbound records, alerts and deliveries as the original had then, and resumes
//! what was still queued.

use crate::gateway::{seeds_endpoint, uuid};
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ADMIN_TOKEN, CaptureReceiver, TestGateway, wait_for};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn by_id(items: Vec<Value>) -> BTreeMap<String, Value> {
    items
        .into_iter()
        .map(|item| (item["id"].as_str().unwrap().to_string(), item))
        .collect()
}

#[test]
fn a_backup_of_a_running_gateway_restores_on_a_new_data_dir() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (hook, secret) = seeds_endpoint(&gateway, &receiver);
    for n in 0..5 {
        let (status, answer) = gateway.post_hook(
            &hook,
            "repo:commit_status_updated",
            &commit_status_payload("FAILED"),
            Some(&secret),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
    }
    wait_for("the first records", Duration::from_secs(30), || {
        gateway.settled()
    });

    // Webhooks keep coming while the backup is made.
    let posting = Arc::new(AtomicBool::new(true));
    let poster = {
        let (client, hook, secret, posting) = (
            gateway.with_timeout(Duration::from_secs(10)),
            hook.clone(),
            secret.clone(),
            posting.clone(),
        );
        std::thread::spawn(move || {
            let mut n = 100;
            while posting.load(Ordering::Relaxed) {
                let _ = client.try_post_hook(
                    &hook,
                    "repo:commit_status_updated",
                    &commit_status_payload("FAILED"),
                    Some(&secret),
                    &uuid(n),
                );
                n += 1;
            }
        })
    };
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("hookgate-backup.redb");
    let backup = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args(["backup", "--to"])
        .arg(&file)
        .args(["--url", &gateway.url])
        .env("HOOKGATE_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    posting.store(false, Ordering::Relaxed);
    poster.join().unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(
        String::from_utf8_lossy(&backup.stdout).contains("backup written to"),
        "{}",
        String::from_utf8_lossy(&backup.stdout)
    );
    // A second backup never overwrites a file.
    let again = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args(["backup", "--to"])
        .arg(&file)
        .args(["--url", &gateway.url])
        .env("HOOKGATE_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(!again.status.success(), "an existing file was overwritten");
    wait_for("the original to settle", Duration::from_secs(60), || {
        gateway.settled()
    });
    let original_inbound = by_id(gateway.all("/inbound"));
    let original_endpoints = by_id(gateway.all("/endpoints"));

    let restored_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&file, restored_dir.path().join("hookgate.redb")).unwrap();
    let restored_path = restored_dir.path().to_path_buf();
    let restored = TestGateway::start(move |config| config.data_dir = restored_path);
    wait_for(
        "the restored queue to drain",
        Duration::from_secs(60),
        || restored.queue_depth() == Some(0),
    );
    let restored_inbound = by_id(restored.all("/inbound"));
    assert!(
        restored_inbound.len() >= 5 && restored_inbound.len() <= original_inbound.len(),
        "{} records restored of {}",
        restored_inbound.len(),
        original_inbound.len()
    );
    // Every record in the copy is the original's (same endpoint, event, request), and the
    // copy holds a prefix of the log: one commit's state.
    for (id, record) in &restored_inbound {
        let original = &original_inbound[id];
        for field in ["endpoint", "event", "request_uuid", "received_at"] {
            assert_eq!(record[field], original[field], "{id} {field}");
        }
    }
    let highest = |records: &BTreeMap<String, Value>| {
        records
            .keys()
            .map(|id| id.trim_start_matches("in_").parse::<u64>().unwrap())
            .max()
            .unwrap()
    };
    let restored_highest = highest(&restored_inbound);
    assert_eq!(
        restored_inbound.len() as u64,
        original_inbound
            .keys()
            .filter(|id| id.trim_start_matches("in_").parse::<u64>().unwrap() <= restored_highest)
            .count() as u64,
        "the copy has every record up to its newest"
    );
    // The same endpoints; only their `url` differs (each gateway's own public URL).
    let without_url = |endpoints: BTreeMap<String, Value>| {
        endpoints
            .into_iter()
            .map(|(id, mut endpoint)| {
                endpoint.as_object_mut().unwrap().remove("url");
                (id, endpoint)
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        without_url(by_id(restored.all("/endpoints"))),
        without_url(original_endpoints)
    );
    // The alert counts every FAILED record the copy holds, once.
    let alerts = restored.all("/alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let processed = restored_inbound
        .values()
        .filter(|record| record["status"] == "processed")
        .count() as u64;
    assert_eq!(alerts[0]["count"].as_u64(), Some(processed));
    // The restored gateway takes webhooks with the endpoint's secret from the copy.
    let (status, answer) = restored.post_hook(
        &hook.replace(&gateway.url, &restored.url),
        "repo:commit_status_updated",
        &commit_status_payload("SUCCESSFUL"),
        Some(&secret),
        &uuid(9999),
    );
    assert_eq!(status, 202, "{answer}");
}
