//! Shared helpers for hookgate's end-to-end tests, soak and bench: plugin files, fixtures,
//! events, and the [`harness`] (gateways in process and as a child process, a client for
//! them, a capture receiver).

pub mod bitbucket;
pub mod bitbucket_oauth;
pub mod harness;
pub mod signing;
pub mod smtp;
pub mod soak;
pub mod twilio;

use hookgate::config::PluginLimits;
use hookgate::runtime::{LoadedPlugin, PluginEngine, PluginEvent, PluginSource};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A plugin component built for the tests (test-only plugins and the built-ins), by file stem:
/// `hostile`, `impostor`, `other_world`, `future_api`, `bitbucket_pipelines`, ...
pub fn plugin_file(stem: &str) -> PathBuf {
    PathBuf::from(env!("HOOKGATE_TEST_PLUGIN_DIR")).join(format!("{stem}.wasm"))
}

/// The bytes of [`plugin_file`].
pub fn plugin_bytes(stem: &str) -> Vec<u8> {
    let path = plugin_file(stem);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// An engine with the default limits and no compile cache.
pub fn engine() -> PluginEngine {
    PluginEngine::new(PluginLimits::default(), None).expect("engine")
}

/// An engine whose calls may run 10 s: for tests about something other than time (memory,
/// reloads), since a busy machine can deschedule a call past the 50 ms default and turn the
/// fault under test into a timeout.
pub fn patient_engine() -> PluginEngine {
    engine_with_timeout(std::time::Duration::from_secs(10))
}

/// An engine whose calls may run `timeout`, the other limits at their defaults.
pub fn engine_with_timeout(timeout: std::time::Duration) -> PluginEngine {
    let limits = PluginLimits {
        timeout,
        ..PluginLimits::default()
    };
    PluginEngine::new(limits, None).expect("engine")
}

/// Loads a test plugin on `engine`.
pub fn load(engine: &PluginEngine, stem: &str) -> LoadedPlugin {
    LoadedPlugin::load(
        engine,
        &plugin_bytes(stem),
        PluginSource::Dropin(plugin_file(stem)),
    )
    .unwrap_or_else(|error| panic!("loading {stem}: {error}"))
}

/// Whether this runs in CI: `CI` set to anything but empty or `false` (CI services set
/// `CI=true`). Tests that need a tool from outside the repository skip with a message when it
/// cannot be had on a developer machine, and fail in CI.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false")
}

/// The folder of real Bitbucket Cloud payloads (see its SOURCES.md for attribution).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/bitbucket/samples")
}

/// A real Bitbucket payload by file name, e.g. `repo_push.json`.
pub fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The real commit-status payload with `commit_status.state` set to `state` (no real FAILED or
/// STOPPED capture exists; SOURCES.md says to derive them this way).
pub fn commit_status_payload(state: &str) -> String {
    let mut payload: Value =
        serde_json::from_str(&fixture("repo_commit_status_updated.json")).expect("fixture JSON");
    payload["commit_status"]["state"] = Value::String(state.to_string());
    payload.to_string()
}

/// A verified event as the gateway would hand it to plugins.
pub fn event(event_key: &str, body: &str) -> PluginEvent {
    PluginEvent {
        inbound_id: "in_test".into(),
        endpoint_id: "ep_test".into(),
        provider: "bitbucket".into(),
        event_key: event_key.into(),
        headers: vec![("x-event-key".into(), event_key.into())],
        body: body.into(),
        received_at: 1_700_000_000_000,
        attempt: 1,
    }
}

/// Writes a drop-in the way operators should: to a temporary name, then renamed into place.
pub fn drop_in(dir: &Path, file: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    let staging = dir.join(format!(".{file}.partial"));
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, dir.join(file)).unwrap();
}

/// A file of the third-party examples, by path under `examples/`, e.g.
/// `github-provider/samples/push.json` (see each `samples/SOURCES.md` for attribution).
pub fn example_file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
