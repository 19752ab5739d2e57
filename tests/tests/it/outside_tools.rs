//! The admin surface checked by tools nobody here wrote, as real clients would meet it: the
//! OpenAPI document by `openapi-spec-validator` (PyPI, in a virtual environment under the
//! target dir), and `/metrics` after real traffic by Prometheus' `promtool check metrics`
//! (Debian's `prometheus`, which `./test.sh` installs). Outside CI a tool that cannot be had is
//! a skip with a message; in CI it fails the test.

use crate::gateway::uuid;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use hookgate_tests::{commit_status_payload, fixture, in_ci};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Skips (outside CI) or fails (in CI) a test whose tool is missing.
pub(crate) fn tool_missing(test: &str, why: &str) {
    assert!(!in_ci(), "{test}: {why}, and in CI this test must run");
    eprintln!("SKIPPED {test}: {why}");
}

/// What the virtual environment holds, pinned so a new release cannot change a verdict:
/// the validator (which brings `jsonschema`, used to check answers) and the client generator.
const PYTHON_TOOLS: &[&str] = &[
    "openapi-spec-validator==0.9.0",
    "openapi-python-client==0.29.1",
];

/// A virtual environment under the target dir with [`PYTHON_TOOLS`], made (once) with
/// Debian's Python; its folder, or the reason it cannot be had.
pub(crate) fn python_tools() -> Result<PathBuf, String> {
    // Tests run in parallel; one makes the environment while the others wait.
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TOOLS.get_or_init(make_python_tools).clone()
}

fn make_python_tools() -> Result<PathBuf, String> {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let venv = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or(target)
        .join("test-tools/openapi-venv");
    // Written last, so a half-made environment is made again.
    let installed = venv.join("installed.txt");
    let wanted = PYTHON_TOOLS.join("\n");
    if std::fs::read_to_string(&installed).is_ok_and(|text| text == wanted) {
        return Ok(venv);
    }
    let run = |command: &mut Command| -> Result<(), String> {
        let output = command.output().map_err(|error| error.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    };
    // Debian's python3 (python3-venv); a pyenv build on PATH may lack ensurepip.
    run(Command::new("/usr/bin/python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv))
    .map_err(|error| format!("making a virtual environment: {error}"))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PYTHON_TOOLS))
    .map_err(|error| format!("installing {}: {error}", PYTHON_TOOLS.join(", ")))?;
    std::fs::write(&installed, wanted).map_err(|error| error.to_string())?;
    Ok(venv)
}

/// `openapi-spec-validator` from [`python_tools`].
fn openapi_spec_validator() -> Result<PathBuf, String> {
    Ok(python_tools()?.join("bin/openapi-spec-validator"))
}

#[test]
fn openapi_spec_validator_accepts_the_document() {
    let validator = match openapi_spec_validator() {
        Ok(validator) => validator,
        Err(why) => return tool_missing("openapi_spec_validator_accepts_the_document", &why),
    };
    let gateway = TestGateway::start(|_| {});
    let document = reqwest::blocking::get(format!("{}/api/v1/openapi.json", gateway.url))
        .unwrap()
        .text()
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("openapi.json");
    std::fs::write(&file, &document).unwrap();
    let output = Command::new(&validator).arg(&file).output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the validator refused it:\n{said}");
    assert!(said.contains("OK"), "{said}");
}

/// `promtool`, where Debian's `prometheus` put it.
fn promtool() -> Option<&'static Path> {
    let path = Path::new("/usr/bin/promtool");
    path.is_file().then_some(path)
}

#[test]
fn promtool_accepts_the_metrics_after_real_traffic() {
    let Some(promtool) = promtool() else {
        return tool_missing(
            "promtool_accepts_the_metrics_after_real_traffic",
            "/usr/bin/promtool is missing (apt-get install prometheus)",
        );
    };
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let endpoint = gateway.create_endpoint(json!({
        "name": "a \"quoted\" name\\with a backslash",
        "alerts": {"plugin": "bitbucket-pipelines"},
        "format": {"plugin": "bitbucket-embeds"},
        "destinations": [{"kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    let url = endpoint["url"].as_str().unwrap();
    let secret = endpoint["secret"].as_str();
    // Accepted, appended, closed, a push, a duplicate, a bad signature and a missing event.
    let failed = commit_status_payload("FAILED");
    for (n, (event, body)) in [
        ("repo:commit_status_updated", failed.clone()),
        ("repo:commit_status_updated", failed),
        (
            "repo:commit_status_updated",
            commit_status_payload("SUCCESSFUL"),
        ),
        ("repo:push", fixture("repo_push.json")),
    ]
    .iter()
    .enumerate()
    {
        let (status, answer) = gateway.post_hook(url, event, body, secret, &uuid(n));
        assert_eq!(status, 202, "{answer}");
    }
    gateway.post_hook(url, "repo:push", "{}", secret, &uuid(3));
    gateway.post_hook(url, "repo:push", "{}", Some("wrong"), &uuid(10));
    gateway.post_hook(url, "", "{}", secret, &uuid(11));
    wait_for("every delivery delivered", Duration::from_secs(60), || {
        let deliveries = gateway.all("/deliveries");
        !deliveries.is_empty()
            && deliveries
                .iter()
                .all(|delivery| delivery["status"] == "delivered")
    });

    let scrape = gateway.metrics();
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "promtool refused the scrape:\n{said}\n--- scrape ---\n{scrape}"
    );
    // Lint findings (naming, help text) are printed without failing: none are expected.
    assert!(said.trim().is_empty(), "promtool found problems:\n{said}");
}
