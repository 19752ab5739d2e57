//! Storage faults, with the real binary as a child process: a full filesystem (a small tmpfs
//! mounted for the test, then filled) makes ingest answer 503 and never 202 for a record it
//! could not store, and ingest recovers when space comes back; a corrupt database file, one from
//! a newer redb file format, or one another gateway holds stops start-up with a message naming
//! the file.

use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ChildGateway, ChildGatewayConfig, GatewayClient, wait_for};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// A tmpfs of `size` mounted on a temporary folder for the life of the value.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one, or `None` (with a message saying why) when this process is not root: mounting
    /// a tmpfs needs root (CAP_SYS_ADMIN). In CI (`CI` set) not being root fails the test
    /// instead, so it cannot pass by skipping.
    fn mount(size: &str) -> Option<Self> {
        if !running_as_root() {
            let why = "the full-disk test fills a small tmpfs to make the disk refuse writes; \
                       mounting one needs root (run it as root, e.g. `sudo -E cargo test ...`)";
            assert!(!hookgate_tests::in_ci(), "in CI this test must run: {why}");
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs failed as root: {status}");
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Whether the effective user is root, from `/proc/self/status` (`Uid: real effective ...`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The real binary on `data_dir` with the default settings, its config and log in `work_dir`.
fn child_config(data_dir: &Path, work_dir: &Path) -> ChildGatewayConfig {
    ChildGatewayConfig {
        data_dir: data_dir.to_path_buf(),
        config_toml: None,
        ..ChildGatewayConfig::new(crate::hookgate_binary(), work_dir)
    }
}

/// Runs `hookgate serve` on `data_dir`, expecting it to stop by itself; returns its exit status
/// and what it wrote to stderr.
fn serve_until_exit(data_dir: &Path) -> (ExitStatus, String) {
    let work = tempfile::tempdir().unwrap();
    child_config(data_dir, work.path()).run_to_exit(Duration::from_secs(60))
}

/// Posts a signed commit status padded to about `size` bytes; returns the status, the JSON
/// answer and the `Retry-After` header.
fn post_padded(
    gateway: &GatewayClient,
    url: &str,
    secret: &str,
    n: usize,
    size: usize,
) -> (u16, Value, Option<String>) {
    let mut payload: Value = serde_json::from_str(&commit_status_payload("FAILED")).unwrap();
    payload["padding"] = json!("x".repeat(size));
    let response = gateway
        .try_post_hook(
            url,
            "repo:commit_status_updated",
            &payload.to_string(),
            Some(secret),
            &format!("00000000-0000-4000-8000-{n:012}"),
        )
        .expect("posting");
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    (
        response.status().as_u16(),
        response.json().unwrap_or(Value::Null),
        retry_after,
    )
}

/// Writes a file until the filesystem refuses more; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096] {
        let bytes = vec![0xA5u8; chunk];
        while file.write_all(&bytes).is_ok() {}
    }
    path
}

/// Every acknowledged id is in the inbound log, accepted (pending or processed).
fn assert_all_logged(gateway: &GatewayClient, acknowledged: &[String]) {
    for id in acknowledged {
        let (status, record) = gateway.api("GET", &format!("/inbound/{id}"), None);
        assert_eq!(status, 200, "acknowledged {id} is missing: {record}");
        assert!(
            ["pending", "processed"].contains(&record["status"].as_str().unwrap()),
            "{record}"
        );
    }
}

#[test]
fn a_full_disk_answers_503_and_loses_nothing_acknowledged() {
    let Some(disk) = Tmpfs::mount("64m") else {
        return;
    };
    let data_dir = disk.path().join("data");
    let work = tempfile::tempdir().unwrap();
    let mut gateway = ChildGateway::start(child_config(&data_dir, work.path()));
    let (status, endpoint) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "full disk", "provider": "bitbucket", "events": "all"})),
    );
    assert_eq!(status, 201, "{endpoint}");
    let url = endpoint["url"].as_str().unwrap();
    let secret = endpoint["secret"].as_str().unwrap();
    let client: GatewayClient = (*gateway).clone();

    let mut acknowledged = Vec::new();
    let mut post = |n: usize| {
        let (status, answer, retry_after) = post_padded(&client, url, secret, n, 32 * 1024);
        if status == 202 {
            acknowledged.push(answer["id"].as_str().unwrap().to_string());
        }
        (status, answer, retry_after)
    };
    for n in 0..3 {
        assert_eq!(post(n).0, 202);
    }

    // Fill the disk: posts go on being acknowledged while redb finds space in its file, then
    // the first commit that needs more is refused with a 503, never a 202.
    let filler = fill(disk.path());
    let mut refused = None;
    for n in 3..500 {
        let (status, answer, retry_after) = post(n);
        match status {
            202 => {}
            503 => {
                refused = Some((answer, retry_after));
                break;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    let (answer, retry_after) = refused.expect("no 503 from a full disk");
    assert_eq!(answer["error"], "storage unavailable");
    assert!(retry_after.is_some());
    for n in 500..505 {
        let (status, answer, _) = post(n);
        assert!(status == 503 || status == 202, "{status}: {answer}");
    }
    assert_eq!(
        gateway.ready_status(),
        Some(503),
        "readyz while the disk is full"
    );

    // Space comes back: readiness and ingest recover without a restart, and nothing
    // acknowledged was lost, then or across a kill -9.
    std::fs::remove_file(filler).unwrap();
    wait_for(
        "readyz after freeing space",
        Duration::from_secs(30),
        || gateway.ready_status() == Some(200),
    );
    assert_eq!(post(1000).0, 202);
    assert!(acknowledged.len() >= 4);
    assert_all_logged(&gateway, &acknowledged);
    gateway.restart();
    assert_all_logged(&gateway, &acknowledged);
}

/// A real database file, written by the gateway's store, with `damage` applied.
fn damaged_database(damage: impl FnOnce(&mut Vec<u8>)) -> tempfile::TempDir {
    let data_dir = tempfile::tempdir().unwrap();
    let file = data_dir.path().join("hookgate.redb");
    drop(hookgate::store::redb::RedbStore::open(&file).unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    damage(&mut bytes);
    std::fs::write(&file, bytes).unwrap();
    data_dir
}

#[test]
fn a_corrupt_or_newer_database_stops_start_up_naming_the_file() {
    // redb's commit slots start at bytes 64 and 192 with the file format version (3 today).
    let newer: fn(&mut Vec<u8>) = |bytes| {
        bytes[64] = 4;
        bytes[192] = 4;
    };
    let garbage_header: fn(&mut Vec<u8>) = |bytes| bytes[..512].fill(0x5A);
    let truncated: fn(&mut Vec<u8>) = |bytes| bytes.truncate(1000);
    for (what, damage, detail) in [
        (
            "newer format",
            newer,
            "Expected file format version <= 3, found 4",
        ),
        ("garbage header", garbage_header, "Not a redb database"),
        ("truncated", truncated, "truncated"),
    ] {
        let data_dir = damaged_database(damage);
        let file = std::fs::canonicalize(data_dir.path())
            .unwrap()
            .join("hookgate.redb");
        let before = std::fs::read(&file).unwrap();
        let (status, stderr) = serve_until_exit(data_dir.path());
        assert!(!status.success(), "{what}: exit {status}");
        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("{} cannot be opened", file.display())),
            "{what}: {stderr}"
        );
        assert!(stderr.contains(detail), "{what}: {stderr}");
        assert!(stderr.contains("move it aside"), "{what}: {stderr}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "{what}: the file was changed"
        );
    }
}

#[test]
fn a_second_gateway_on_the_same_data_dir_is_refused() {
    let data_dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let first = ChildGateway::start(child_config(data_dir.path(), work.path()));

    let (status, stderr) = serve_until_exit(data_dir.path());
    assert_eq!(status.code(), Some(2), "{stderr}");
    let file = std::fs::canonicalize(data_dir.path())
        .unwrap()
        .join("hookgate.redb");
    assert!(
        stderr.contains(&format!(
            "{} is in use by another process (another hookgate on the same data dir?)",
            file.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        first.ready_status(),
        Some(200),
        "the first gateway goes on serving"
    );
}
