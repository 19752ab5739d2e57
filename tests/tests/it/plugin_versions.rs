//! Plugins built for an older WIT version keep working. `tests/fixtures/plugins-0.1/` holds the
//! built-in mapper, formatter and notifier as they were built for `hookgate:plugin@0.1.0`,
//! and golden files of what they returned through the gateway of that time (its README says
//! from which commit, and how; the recorder lived in this file at that commit only). Each test
//! here loads those components in today's gateway and demands exactly the recorded answers.

use hookgate::runtime::{
    AlertAction, AlertNotice, ApiVersion, LoadedPlugin, Notification, NotificationContext,
    PluginDestination, PluginEvent, PluginSource, Severity,
};
use hookgate_tests::harness::{CaptureReceiver, TestGateway};
use hookgate_tests::{commit_status_payload, engine};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The folder of frozen 0.1 components and their golden files.
fn frozen_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins-0.1")
}

/// A frozen 0.1 component loaded as a drop-in, by file stem.
fn load_frozen(stem: &str) -> LoadedPlugin {
    let path = frozen_dir().join(format!("{stem}.wasm"));
    let plugin = LoadedPlugin::load(&engine(), &frozen_bytes(stem), PluginSource::Dropin(path))
        .unwrap_or_else(|error| panic!("loading the 0.1 {stem}: {error}"));
    assert_eq!(plugin.api_version(), ApiVersion::V0_1, "{stem}");
    plugin
}

fn frozen_bytes(stem: &str) -> Vec<u8> {
    let path = frozen_dir().join(format!("{stem}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// One recorded call of a mapper or formatter: its input and what it returned (`{"ok": ...}`
/// or `{"error": ...}`).
#[derive(Debug, Deserialize)]
struct EventCase {
    case: String,
    config: String,
    event: PluginEvent,
    returned: Value,
}

/// One recorded notifier call.
#[derive(Debug, Deserialize)]
struct NotifyCase {
    case: String,
    notification: Notification,
    context: NotificationContext,
    destination: PluginDestination,
    returned: Value,
}

fn returned<T: Serialize>(result: Result<T, hookgate::runtime::RuntimeError>) -> Value {
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(error) => json!({ "error": error.to_string() }),
    }
}

fn golden<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let path = frozen_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_0_1_mapper_answers_as_recorded() {
    let mapper = load_frozen("bitbucket_pipelines");
    assert_eq!(mapper.info().api_version, "0.1.0");
    let cases: Vec<EventCase> = golden("bitbucket_pipelines.golden.json");
    assert_eq!(cases.len(), 10);
    for case in cases {
        assert_eq!(
            returned(mapper.map_event(&case.event, &case.config)),
            case.returned,
            "{}",
            case.case
        );
    }
}

#[test]
fn the_0_1_mapper_opens_alerts_of_severity_error() {
    let mapper = load_frozen("bitbucket_pipelines");
    let cases: Vec<EventCase> = golden("bitbucket_pipelines.golden.json");
    let mut opened = 0;
    for case in &cases {
        for action in mapper
            .map_event(&case.event, &case.config)
            .unwrap_or_default()
        {
            if let AlertAction::Open { alert } = action {
                assert_eq!(alert.severity, Severity::Error, "{}", case.case);
                opened += 1;
            }
        }
    }
    assert_eq!(opened, 2, "the FAILED cases open");
}

#[test]
fn the_0_1_formatter_answers_as_recorded() {
    let formatter = load_frozen("bitbucket_embeds");
    assert_eq!(formatter.info().api_version, "0.1.0");
    let cases: Vec<EventCase> = golden("bitbucket_embeds.golden.json");
    assert_eq!(cases.len(), 6);
    for case in cases {
        assert_eq!(
            returned(formatter.format(&case.event, &case.config)),
            case.returned,
            "{}",
            case.case
        );
    }
}

#[test]
fn the_0_1_notifier_answers_as_recorded() {
    let notifier = load_frozen("notifier");
    assert_eq!(notifier.info().api_version, "0.1.0");
    let cases: Vec<NotifyCase> = golden("notifier.golden.json");
    assert_eq!(cases.len(), 25);
    for case in cases {
        assert_eq!(
            returned(notifier.notify(&case.notification, &case.context, &case.destination)),
            case.returned,
            "{}",
            case.case
        );
    }
}

/// 0.1 has no case for them, so a 0.1 notifier is not told: nothing is sent, nothing fails.
#[test]
fn the_0_1_notifier_is_not_told_of_acknowledged_or_escalated_alerts() {
    let notifier = load_frozen("notifier");
    let cases: Vec<NotifyCase> = golden("notifier.golden.json");
    let opened = cases
        .iter()
        .find(|case| case.case == "alert opened to webhook")
        .expect("recorded");
    let Notification::AlertOpened(notice) = &opened.notification else {
        panic!("an opened alert");
    };
    for notification in [
        Notification::AlertAcknowledged(AlertNotice {
            acknowledged_by: Some("Ada".into()),
            ..notice.clone()
        }),
        Notification::AlertEscalated(AlertNotice {
            escalation_step: Some(2),
            ack_url: Some("https://hookgate.example/a/token".into()),
            ..notice.clone()
        }),
    ] {
        let outputs = notifier
            .notify(&notification, &opened.context, &opened.destination)
            .unwrap();
        assert_eq!(outputs, [], "{}", notification.kind());
    }
}

/// Dropped into a running gateway, the 0.1 components replace the 0.2 built-ins of their names,
/// are listed with their version, and serve a failing pipeline end to end.
#[test]
fn the_0_1_plugins_serve_as_drop_ins_beside_the_0_2_built_ins() {
    let gateway = TestGateway::start(|_| {});
    let listed = gateway.install_dropins(&[
        (
            "bitbucket-pipelines",
            "pipelines.wasm",
            frozen_bytes("bitbucket_pipelines"),
        ),
        (
            "bitbucket-embeds",
            "embeds.wasm",
            frozen_bytes("bitbucket_embeds"),
        ),
        ("notifier", "notifier.wasm", frozen_bytes("notifier")),
    ]);
    for item in &listed {
        assert_eq!(item["api_version"], "0.1.0", "{item}");
    }
    let (_, plugins) = gateway.api("GET", "/plugins", None);
    let provider = plugins["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["name"] == "bitbucket")
        .expect("the built-in provider");
    assert_eq!(provider["source"], "builtin");
    assert_eq!(provider["api_version"], "0.2.0");

    let receiver = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "widgets CI",
        "events": ["repo:commit_status_updated"],
        // A 0.1 mapper ignores a key it does not know; the alert is still an error.
        "alerts": {"plugin": "bitbucket-pipelines", "config": {"severity": "critical"}},
        "destinations": [{"notifier": "notifier", "kind": "webhook", "url": format!("{}/hook", receiver.url)}],
    }));
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        endpoint["secret"].as_str(),
        "00000000-0000-4000-8000-000000000001",
    );
    assert_eq!(status, 202, "{answer}");
    let sent = receiver.wait_for_requests(1);
    let envelope = sent[0].json();
    assert_eq!(envelope["type"], "alert.opened");
    // The 0.1 notifier's envelope, which has no severity member, shaped it.
    assert!(envelope["alert"].get("severity").is_none(), "{envelope}");
    let (_, alerts) = gateway.api("GET", "/alerts?state=open", None);
    assert_eq!(alerts["items"][0]["severity"], "error", "{alerts}");
}
