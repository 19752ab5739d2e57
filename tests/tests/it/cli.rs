//! `hookgate plugin check|run`, run as a real process on real plugin files and fixtures.

use hookgate_tests::{commit_status_payload, fixtures_dir, plugin_file};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hookgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args(args)
        .output()
        .expect("running hookgate")
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Writes `text` to a file in `dir` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

fn run_mapper(body: &Path, extra: &[&str]) -> Value {
    let mapper = plugin_file("bitbucket_pipelines");
    let mut args = vec![
        "plugin",
        "run",
        path(&mapper),
        "--event",
        "repo:commit_status_updated",
        "--body",
        path(body),
    ];
    args.extend_from_slice(extra);
    stdout_json(&hookgate(&args))
}

#[test]
fn plugin_check_prints_the_plugin_info() {
    let mapper = plugin_file("bitbucket_pipelines");
    let output = hookgate(&["plugin", "check", path(&mapper)]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("bitbucket-pipelines 0.1.0 (alert-mapper, WIT API 0.2.0)"),
        "{text}"
    );
    // A plugin built for 0.1 says so.
    let frozen = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plugins-0.1/bitbucket_pipelines.wasm");
    let output = hookgate(&["plugin", "check", path(&frozen)]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("bitbucket-pipelines 0.1.0 (alert-mapper, WIT API 0.1.0)"),
        "{text}"
    );
    let frozen_info = stdout_json(&hookgate(&["plugin", "check", path(&frozen), "--json"]));
    assert_eq!(frozen_info["api_version"], "0.1.0");
    assert!(text.contains("status_field"), "{text}");

    let info = stdout_json(&hookgate(&["plugin", "check", path(&mapper), "--json"]));
    assert_eq!(info["name"], "bitbucket-pipelines");
    assert_eq!(info["kind"], "alert-mapper");
    assert_eq!(info["api_version"], "0.2.0");
    assert_eq!(info["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn plugin_run_maps_commit_statuses_as_alertops_does() {
    let dir = tempfile::tempdir().unwrap();
    let key = "automationtestharness/testrepo:main";
    let actions = |state: &str| {
        let body = write(
            dir.path(),
            &format!("{state}.json"),
            &commit_status_payload(state),
        );
        run_mapper(&body, &[])["actions"].clone()
    };

    let failed = actions("FAILED");
    assert_eq!(failed[0]["action"], "open");
    assert_eq!(failed[0]["alert"]["key"], key);
    assert_eq!(
        failed[0]["alert"]["title"],
        "Pipeline #4 for main failed — automationtestharness/testrepo"
    );
    for state in ["SUCCESSFUL", "INPROGRESS"] {
        let closed = actions(state);
        assert_eq!(closed[0]["action"], "close", "{state}");
        assert_eq!(closed[0]["key"], key, "{state}");
    }
    let stopped = actions("STOPPED");
    assert_eq!(stopped[0]["action"], "ignore");
}

#[test]
fn plugin_run_passes_config_values() {
    let dir = tempfile::tempdir().unwrap();
    let body = write(
        dir.path(),
        "stopped.json",
        &commit_status_payload("STOPPED"),
    );
    let result = run_mapper(
        &body,
        &[
            "--config",
            r#"open=["FAILED","STOPPED"]"#,
            "--config",
            "key={repository.name}",
        ],
    );
    assert_eq!(result["actions"][0]["action"], "open");
    assert_eq!(result["actions"][0]["alert"]["key"], "testRepo");
}

#[test]
fn plugin_run_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "garbage.wasm", "not wasm");
    let not_json = write(dir.path(), "body.json", "{ not json");
    let mapper = plugin_file("bitbucket_pipelines");
    let hostile = plugin_file("hostile");
    let push = fixtures_dir().join("repo_push.json");

    let bad_file = hookgate(&[
        "plugin",
        "run",
        path(&garbage),
        "--event",
        "repo:push",
        "--body",
        path(&push),
    ]);
    assert_eq!(bad_file.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_file.stderr).contains("not a WebAssembly file"));

    let bad_payload = hookgate(&[
        "plugin",
        "run",
        path(&mapper),
        "--event",
        "repo:push",
        "--body",
        path(&not_json),
    ]);
    assert_eq!(bad_payload.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_payload.stderr).contains("not valid JSON"));

    let missing_event = hookgate(&["plugin", "run", path(&mapper), "--body", path(&push)]);
    assert_eq!(missing_event.status.code(), Some(2));

    let trapped = hookgate(&[
        "plugin",
        "run",
        path(&hostile),
        "--event",
        "repo:push",
        "--body",
        path(&push),
        "--config",
        "behaviour=loop",
    ]);
    assert_eq!(trapped.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&trapped.stderr);
    assert!(
        stderr.contains("plugin hostile failed: timeout"),
        "{stderr}"
    );
    assert!(
        trapped.stdout.is_empty(),
        "a failed run prints no result: {}",
        String::from_utf8_lossy(&trapped.stdout)
    );
}

#[test]
fn plugin_run_chains_formatter_and_notifier_and_signs_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let push = fixtures_dir().join("repo_push.json");
    let embeds = plugin_file("bitbucket_embeds");
    let notifier = plugin_file("notifier");

    let formatted = stdout_json(&hookgate(&[
        "plugin",
        "run",
        path(&embeds),
        "--event",
        "repo:push",
        "--body",
        path(&push),
    ]));
    assert!(
        formatted["message"]["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("c14c1bb")
    );
    let message = write(dir.path(), "message.json", &formatted.to_string());

    let discord = stdout_json(&hookgate(&[
        "plugin",
        "run",
        path(&notifier),
        "--body",
        path(&message),
        "--config",
        "kind=discord",
        "--config",
        "url=https://discord.com/api/webhooks/1/x",
    ]));
    let body: Value =
        serde_json::from_str(discord["requests"][0]["body"].as_str().unwrap()).unwrap();
    assert!(
        body["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .contains("new commit"),
        "{body}"
    );

    let slack = stdout_json(&hookgate(&[
        "plugin",
        "run",
        path(&notifier),
        "--body",
        path(&message),
        "--config",
        "kind=slack",
        "--config",
        "url=https://hooks.slack.com/services/x",
    ]));
    let body: Value = serde_json::from_str(slack["requests"][0]["body"].as_str().unwrap()).unwrap();
    assert!(
        body["text"].is_string() && body["attachments"].is_array(),
        "{body}"
    );

    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let webhook = stdout_json(&hookgate(&[
        "plugin",
        "run",
        path(&notifier),
        "--body",
        path(&message),
        "--config",
        "kind=webhook",
        "--config",
        "url=https://example.com/hook",
        "--config",
        &format!("secret={secret}"),
    ]));
    let request = &webhook["requests"][0];
    let header = |name: &str| {
        request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair[0] == name)
            .and_then(|pair| pair[1].as_str())
            .unwrap_or_else(|| panic!("header {name} in {request}"))
            .to_string()
    };
    let body = request["body"].as_str().unwrap();
    let verified = hookgate::verify::verify_standard_webhooks(
        secret,
        &header("webhook-id"),
        &header("webhook-timestamp"),
        body.as_bytes(),
        &header("webhook-signature"),
        header("webhook-timestamp").parse().unwrap(),
    );
    assert_eq!(verified, Ok(()));
    assert!(
        !webhook.to_string().contains("MfKQ9r8G"),
        "the secret is never printed"
    );
}

#[test]
fn the_cli_manages_a_running_gateway() {
    use hookgate_tests::harness::{ADMIN_TOKEN, TestGateway};
    let gateway = TestGateway::start(|_| {});
    let connect = ["--url", gateway.url.as_str(), "--token", ADMIN_TOKEN];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&connect);
        hookgate(&all)
    };

    let created = run(&[
        "endpoint",
        "create",
        "--name",
        "from the CLI",
        "--events",
        "push",
        "--alerts",
        "bitbucket-pipelines",
        "--format",
        "bitbucket-embeds",
        "--destination",
        "discord=http://127.0.0.1:9/discord",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let text = String::from_utf8_lossy(&created.stdout);
    assert!(
        text.contains("/hooks/") && text.contains("shown once"),
        "{text}"
    );

    let listed = stdout_json(&run(&["endpoint", "list", "--json"]));
    let endpoint = &listed["items"][0];
    assert_eq!(endpoint["name"], "from the CLI");
    assert_eq!(endpoint["events"], serde_json::json!(["repo:push"]));
    let id = endpoint["id"].as_str().unwrap();

    let plugins = run(&["plugin", "list"]);
    let text = String::from_utf8_lossy(&plugins.stdout);
    assert!(
        text.contains("bitbucket-pipelines") && text.contains("builtin"),
        "{text}"
    );

    let dry_run = stdout_json(&run(&["endpoint", "test", id, "--event", "repo:push"]));
    assert_eq!(
        dry_run["requests"].as_array().unwrap().len(),
        1,
        "{dry_run}"
    );

    let inbound = run(&["inbound", "list"]);
    assert!(inbound.status.success());
    assert!(String::from_utf8_lossy(&inbound.stdout).starts_with("ID"));

    let refused = hookgate(&[
        "endpoint",
        "list",
        "--url",
        gateway.url.as_str(),
        "--token",
        "wrong",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));

    let disabled = run(&["endpoint", "disable", id]);
    assert!(disabled.status.success());
    assert_eq!(
        stdout_json(&run(&["endpoint", "show", id, "--json"]))["enabled"],
        false
    );
}

#[test]
fn plugin_run_sends_a_notice_as_any_kind_and_shows_mails() {
    let dir = tempfile::tempdir().unwrap();
    let failed = write(dir.path(), "failed.json", &commit_status_payload("FAILED"));
    let mapped = run_mapper(&failed, &["--config", "severity=critical"]);
    let alert = &mapped["actions"][0]["alert"];
    assert_eq!(alert["severity"], "critical", "{mapped}");
    let notice = serde_json::json!({"alert_opened": {
        "id": "al_1", "alert": alert, "state": "open", "count": 1,
        "opened_at": 1_700_000_000_000u64, "acknowledged_by": "Ada",
        "escalation_step": 2, "ack_url": "https://hookgate.example/a/t0k",
    }});
    let notice = write(dir.path(), "notice.json", &notice.to_string());
    let notifier = plugin_file("notifier");
    let run_as = |kind: &str, config: &[&str]| {
        let mut args = vec![
            "plugin",
            "run",
            path(&notifier),
            "--body",
            path(&notice),
            "--notification",
            kind,
        ];
        for pair in config {
            args.extend(["--config", pair]);
        }
        hookgate(&args)
    };

    let acknowledged = stdout_json(&run_as(
        "alert.acknowledged",
        &["kind=webhook", "url=https://example.com/hook"],
    ));
    assert_eq!(acknowledged["plugin"]["api_version"], "0.2.0");
    let body: Value =
        serde_json::from_str(acknowledged["requests"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "alert.acknowledged");
    assert_eq!(body["alert"]["acknowledged_by"], "Ada");

    let escalated = run_as("alert.escalated", &["kind=email", "to=ops@example.com"]);
    let printed = stdout_json(&escalated);
    let mail = &printed["requests"][0];
    assert_eq!(mail["transport"], "email", "{printed}");
    assert_eq!(mail["to"], serde_json::json!(["ops@example.com"]));
    assert_eq!(
        mail["subject"],
        "[hookgate] Escalated: Pipeline #4 for main failed — automationtestharness/testrepo"
    );
    // Beside the JSON, the mail as a person reads it.
    let shown = String::from_utf8_lossy(&escalated.stderr);
    for expected in [
        "--- mail 1 of 1 ---\nTo: ops@example.com\nSubject: [hookgate] Escalated: Pipeline #4",
        "\nEscalated: step 2\n",
        "\nAcknowledge: https://hookgate.example/a/t0k\n",
        "--- HTML part ---\n<!DOCTYPE html>",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }

    let unknown = run_as(
        "alert.snoozed",
        &["kind=webhook", "url=https://example.com/hook"],
    );
    assert_eq!(unknown.status.code(), Some(2));
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        said.contains("alert.acknowledged, alert.escalated"),
        "{said}"
    );
}
