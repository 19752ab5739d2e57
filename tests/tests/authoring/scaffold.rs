//! `hookgate plugin new` for each kind, as a plugin author runs it: the generated crate passes
//! its own `cargo test`, builds into a component with `cargo build --release --target
//! wasm32-wasip2`, and the four components, dropped into a running gateway, carry a webhook
//! through the whole pipeline (provider → alert mapper + formatter → notifier → receiver).
//!
//! The four crates share one target directory under this test's target folder, so the SDK's
//! dependencies compile once and reruns are incremental.

use hookgate_tests::harness::{CaptureReceiver, TestGateway};
use hookgate_tests::signing::hub_sha256;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const KINDS: [&str; 4] = ["provider", "alert-mapper", "formatter", "notifier"];

/// Runs `command`, panicking with its output when it fails; returns stdout.
fn run(what: &str, command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `cargo` in `dir` with the shared target directory and none of the outer build's settings.
fn cargo(dir: &Path, target_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir);
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(variable);
    }
    command
}

/// Scaffolds, tests and builds the plugin `scaffold-<kind>`; returns its component.
fn scaffold(kind: &str, parent: &Path, target_dir: &Path) -> Vec<u8> {
    let name = format!("scaffold-{kind}");
    let dir = parent.join(&name);
    let said = run(
        "hookgate plugin new",
        Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
            .args(["plugin", "new", &name, "--kind", kind, "--dir"])
            .arg(&dir),
    );
    assert!(
        said.contains(&format!("created the {kind} plugin {name}")),
        "{said}"
    );

    let tested = run(
        &format!("cargo test of {name}"),
        &mut cargo(&dir, target_dir, &["test"]),
    );
    // The notifier's template also tests its email destination.
    let unit_tests = if kind == "notifier" { 2 } else { 1 };
    assert!(
        tested.contains(&format!("test result: ok. {unit_tests} passed")),
        "{tested}"
    );
    run(
        &format!("cargo build of {name}"),
        &mut cargo(
            &dir,
            target_dir,
            &["build", "--release", "--target", "wasm32-wasip2"],
        ),
    );
    let file = target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()))
}

#[test]
fn scaffolded_plugins_of_every_kind_build_pass_their_tests_and_run_as_dropins() {
    let parent = tempfile::tempdir().unwrap();
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scaffolded-plugins");
    let components: Vec<(String, Vec<u8>)> = KINDS
        .iter()
        .map(|kind| {
            (
                format!("scaffold-{kind}"),
                scaffold(kind, parent.path(), &target_dir),
            )
        })
        .collect();

    let receiver = CaptureReceiver::start();
    let gateway = TestGateway::start(|_| {});
    let dropins: Vec<(&str, &str, Vec<u8>)> = components
        .iter()
        .zip([
            "provider.wasm",
            "mapper.wasm",
            "formatter.wasm",
            "notifier.wasm",
        ])
        .map(|((name, bytes), file)| (name.as_str(), file, bytes.clone()))
        .collect();
    let listed = gateway.install_dropins(&dropins);
    for (item, kind) in listed.iter().zip(KINDS) {
        assert_eq!(item["kind"], kind, "{item}");
        assert_eq!(item["version"], "0.1.0");
        assert_eq!(item["api_version"], "0.2.0", "{item}");
        assert_eq!(item["description"], format!("A hookgate {kind} plugin."));
    }

    let secret = "scaffold-plugin-signing-secret-0123";
    let endpoint = gateway.create_endpoint(json!({
        "name": "scaffolded",
        "provider": "scaffold-provider",
        "events": "all",
        "secret": secret,
        "alerts": {"plugin": "scaffold-alert-mapper"},
        "format": {"plugin": "scaffold-formatter"},
        "destinations": [{"notifier": "scaffold-notifier", "kind": "webhook", "url": format!("{}/hook", receiver.url)}],
    }));
    let body = r#"{"repository": {"full_name": "acme/widgets"}, "status": "failed"}"#;
    let signature = hub_sha256(secret, body.as_bytes());
    let (status, accepted) = gateway.post_raw(
        endpoint["url"].as_str().unwrap(),
        &[
            ("X-Example-Event", "build"),
            ("X-Example-Delivery", "b-1"),
            ("X-Example-Signature", &signature),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 202, "{accepted}");
    let record = gateway.processed(accepted["id"].as_str().unwrap());
    let outcomes = record["outcomes"].to_string();
    assert!(
        outcomes.contains("Mapped Opened") && outcomes.contains("Formatted"),
        "{record}"
    );

    let mut texts: Vec<String> = receiver
        .wait_for_requests(2)
        .iter()
        .map(|request| {
            request.json()["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "alert opened: Build failed — acme/widgets",
            "build on acme/widgets"
        ]
    );
}
