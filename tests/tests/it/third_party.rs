//! Third-party plugins (`examples/`), built from the SDK alone and loaded as drop-ins into a
//! running gateway: GitHub (HMAC-SHA256 in `X-Hub-Signature-256`), GitLab (a plain token) and
//! Standard Webhooks (`hookgate-relay`), each verified by the host on the real ingest path with
//! the published test vectors, then real GitHub payloads through the GitHub mapper and formatter.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hookgate_tests::harness::{CaptureReceiver, TestGateway};
use hookgate_tests::signing::{
    hub_sha256 as github_signature, standard_webhooks as standard_signature,
};
use hookgate_tests::{example_file, plugin_bytes};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

// GitHub's published X-Hub-Signature-256 vector ("Validating webhook deliveries").
const GITHUB_VECTOR_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_VECTOR_BODY: &str = "Hello, World!";
const GITHUB_VECTOR_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

// The Standard Webhooks specification's vector (also in its libraries' test suites).
const STANDARD_VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STANDARD_VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const STANDARD_VECTOR_TIMESTAMP: i64 = 1_614_265_330;
const STANDARD_VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
const STANDARD_VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// A refused delivery's answer without its inbound id, after checking it has one: every
/// refusal is logged.
fn refusal_logged((status, mut answer): (u16, Value)) -> (u16, Value) {
    if status == 401 {
        let id = answer
            .as_object_mut()
            .and_then(|fields| fields.remove("id"));
        assert!(
            id.is_some_and(|id| id.as_str().is_some_and(|id| id.starts_with("in_"))),
            "{answer}"
        );
    }
    (status, answer)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn github_sample(file: &str) -> String {
    example_file(&format!("github-provider/samples/{file}"))
}

/// The real completed run with its conclusion set (no real failed run is published).
fn workflow_run(conclusion: &str) -> String {
    let mut payload: Value =
        serde_json::from_str(&github_sample("workflow_run_completed.json")).unwrap();
    payload["workflow_run"]["conclusion"] = json!(conclusion);
    payload.to_string()
}

#[test]
fn the_test_signers_reproduce_the_published_vectors() {
    assert_eq!(
        github_signature(GITHUB_VECTOR_SECRET, GITHUB_VECTOR_BODY.as_bytes()),
        GITHUB_VECTOR_SIGNATURE
    );
    assert_eq!(
        standard_signature(
            STANDARD_VECTOR_SECRET,
            STANDARD_VECTOR_ID,
            STANDARD_VECTOR_TIMESTAMP,
            STANDARD_VECTOR_BODY.as_bytes()
        ),
        STANDARD_VECTOR_SIGNATURE
    );
}

#[test]
fn github_dropins_verify_the_published_vector_and_turn_real_payloads_into_alerts_and_embeds() {
    let receiver = CaptureReceiver::start();
    let gateway = TestGateway::start(|_| {});
    let listed = gateway.install_dropins(&[
        ("github", "github.wasm", plugin_bytes("github")),
        (
            "github-embeds",
            "github_embeds.wasm",
            plugin_bytes("github_embeds"),
        ),
        (
            "github-actions",
            "github_actions.wasm",
            plugin_bytes("github_actions"),
        ),
    ]);
    let kinds: Vec<_> = listed
        .iter()
        .map(|item| item["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["provider", "formatter", "alert-mapper"]);
    assert!(listed.iter().all(|item| item["api_version"] == "0.2.0"));
    let events: Vec<_> = listed[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "push",
            "pull_request",
            "workflow_run",
            "check_suite",
            "ping"
        ]
    );

    let endpoint = gateway.create_endpoint(json!({
        "name": "octo-org CI",
        "provider": "github",
        "events": "all",
        "secret": GITHUB_VECTOR_SECRET,
        "alerts": {"plugin": "github-actions"},
        "format": {"plugin": "github-embeds"},
        "destinations": [{"notifier": "notifier", "kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    let url = endpoint["url"].as_str().unwrap();
    let post = |event: &str, delivery: &str, signature: Option<&str>, body: &str| {
        let mut headers = vec![("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery)];
        if let Some(signature) = signature {
            headers.push(("X-Hub-Signature-256", signature));
        }
        refusal_logged(gateway.post_raw(url, &headers, body.as_bytes()))
    };

    // The published vector passes the signature check; its body is not JSON, which is the
    // next check, so the answer is a 400 about the body and not a 401.
    let (status, answer) = post(
        "push",
        "vector-1",
        Some(GITHUB_VECTOR_SIGNATURE),
        GITHUB_VECTOR_BODY,
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("not JSON"),
        "{answer}"
    );
    let tampered = GITHUB_VECTOR_SIGNATURE.replace("e17", "e18");
    assert_eq!(
        post("push", "vector-2", Some(&tampered), GITHUB_VECTOR_BODY),
        (401, json!({"error": "signature mismatch"}))
    );
    assert_eq!(
        post("push", "vector-3", None, GITHUB_VECTOR_BODY),
        (401, json!({"error": "signature missing"}))
    );

    // A real push becomes an embed.
    let push = github_sample("push.json");
    let (status, accepted) = post(
        "push",
        "d1",
        Some(&github_signature(GITHUB_VECTOR_SECRET, push.as_bytes())),
        &push,
    );
    assert_eq!(status, 202, "{accepted}");
    let record = gateway.processed(accepted["id"].as_str().unwrap());
    let outcomes = record["outcomes"].to_string();
    assert!(
        outcomes.contains("Ignored: push is not a workflow_run") && outcomes.contains("Formatted"),
        "{outcomes}"
    );
    assert!(record["headers"].to_string().contains("[redacted]"));
    assert!(
        !record["headers"]
            .to_string()
            .contains(&github_signature(GITHUB_VECTOR_SECRET, push.as_bytes()))
    );
    let discord = receiver.wait_for_requests(1)[0].json();
    assert_eq!(
        discord["embeds"][0]["title"],
        "[Codertocat/Hello-World] 1 new commit on master"
    );

    // A failed workflow run opens an alert; a green run of the same workflow closes it.
    let failed = workflow_run("failure");
    let (status, accepted) = post(
        "workflow_run",
        "d2",
        Some(&github_signature(GITHUB_VECTOR_SECRET, failed.as_bytes())),
        &failed,
    );
    assert_eq!(status, 202);
    let record = gateway.processed(accepted["id"].as_str().unwrap());
    let outcomes = record["outcomes"].to_string();
    assert!(
        outcomes.contains("Mapped Opened") && outcomes.contains("Formatted"),
        "{outcomes}"
    );
    let (_, alerts) = gateway.api(
        "GET",
        &format!("/alerts?endpoint={}", endpoint["id"].as_str().unwrap()),
        None,
    );
    let alert = &alerts["items"][0];
    assert_eq!(
        alert["key"],
        "octo-org/octo-repo:.github/workflows/test.yml:master"
    );
    assert_eq!(alert["state"], "open");
    assert_eq!(
        alert["title"],
        "Workflow test #163 failure on master — octo-org/octo-repo"
    );

    let green = workflow_run("success");
    let (status, accepted) = post(
        "workflow_run",
        "d3",
        Some(&github_signature(GITHUB_VECTOR_SECRET, green.as_bytes())),
        &green,
    );
    assert_eq!(status, 202);
    let record = gateway.processed(accepted["id"].as_str().unwrap());
    assert!(
        record["outcomes"].to_string().contains("Mapped Closed"),
        "{record}"
    );
    let titles: Vec<String> = receiver
        .wait_for_requests(5)
        .iter()
        .map(|request| {
            request.json()["embeds"][0]["title"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for expected in [
        "[octo-org/octo-repo] test #163 failure on master",
        "[octo-org/octo-repo] test #163 success on master",
    ] {
        assert!(
            titles.iter().any(|title| title == expected),
            "{expected} not in {titles:?}"
        );
    }
    assert!(
        titles
            .iter()
            .any(|title| title.contains("Workflow test #163 failure")),
        "{titles:?}"
    );
}

#[test]
fn gitlab_tokens_are_compared_whole_and_never_stored() {
    let gateway = TestGateway::start(|_| {});
    gateway.install_dropins(&[("gitlab", "gitlab.wasm", plugin_bytes("gitlab"))]);
    let token = "glpat-like-secret-token-0123456789";
    let endpoint = gateway.create_endpoint(
        json!({"name": "diaspora", "provider": "gitlab", "events": "push", "secret": token}),
    );
    let url = endpoint["url"].as_str().unwrap();
    let push = example_file("gitlab-provider/samples/push.json").into_bytes();
    let post = |uuid: &str, token: Option<&str>| {
        let mut headers = vec![
            ("X-Gitlab-Event", "Push Hook"),
            ("X-Gitlab-Event-UUID", uuid),
        ];
        if let Some(token) = token {
            headers.push(("X-Gitlab-Token", token));
        }
        refusal_logged(gateway.post_raw(url, &headers, &push))
    };

    let (status, accepted) = post("e1", Some(token));
    assert_eq!(status, 202, "{accepted}");
    let record = gateway.processed(accepted["id"].as_str().unwrap());
    assert_eq!(record["event"], "Push Hook");
    assert!(
        !record.to_string().contains(token),
        "the token was stored: {record}"
    );
    assert_eq!(
        post("e1", Some(token)).0,
        200,
        "the same X-Gitlab-Event-UUID is a duplicate"
    );
    let prefix = &token[..token.len() - 1];
    for (uuid, wrong) in [
        ("e2", prefix.to_string()),
        ("e3", format!("{token}x")),
        ("e4", String::new()),
    ] {
        assert_eq!(
            post(uuid, Some(&wrong)),
            (401, json!({"error": "signature mismatch"})),
            "{wrong:?}"
        );
    }
    assert_eq!(
        post("e5", None),
        (401, json!({"error": "signature missing"}))
    );
}

#[test]
fn standard_webhooks_accept_any_matching_signature_within_five_minutes() {
    let gateway = TestGateway::start(|_| {});
    gateway.install_dropins(&[(
        "hookgate-relay",
        "hookgate_relay.wasm",
        plugin_bytes("hookgate_relay"),
    )]);
    let endpoint = gateway.create_endpoint(json!({
        "name": "relay", "provider": "hookgate-relay", "events": "all", "secret": STANDARD_VECTOR_SECRET,
    }));
    let url = endpoint["url"].as_str().unwrap();
    let post = |id: &str, timestamp: i64, signatures: &str| {
        let timestamp = timestamp.to_string();
        refusal_logged(gateway.post_raw(
            url,
            &[
                ("X-Hookgate-Event", "message"),
                ("webhook-id", id),
                ("webhook-timestamp", &timestamp),
                ("webhook-signature", signatures),
            ],
            STANDARD_VECTOR_BODY.as_bytes(),
        ))
    };
    let sign = |id: &str, timestamp: i64| {
        standard_signature(
            STANDARD_VECTOR_SECRET,
            id,
            timestamp,
            STANDARD_VECTOR_BODY.as_bytes(),
        )
    };

    // The published vector itself is correctly signed but years old: refused as stale.
    assert_eq!(
        post(
            STANDARD_VECTOR_ID,
            STANDARD_VECTOR_TIMESTAMP,
            STANDARD_VECTOR_SIGNATURE
        ),
        (
            401,
            json!({"error": "signature timestamp outside the tolerance"})
        )
    );

    let now = now_secs();
    let (status, accepted) = post(STANDARD_VECTOR_ID, now, &sign(STANDARD_VECTOR_ID, now));
    assert_eq!(status, 202, "{accepted}");
    let record = gateway.processed(accepted["id"].as_str().unwrap());
    assert_eq!(record["request_uuid"], STANDARD_VECTOR_ID);
    assert_eq!(record["body"], STANDARD_VECTOR_BODY);

    // Four minutes either way is inside the tolerance; six is not.
    assert_eq!(post("msg_2", now - 240, &sign("msg_2", now - 240)).0, 202);
    assert_eq!(post("msg_3", now + 240, &sign("msg_3", now + 240)).0, 202);
    for (id, sent_at) in [("msg_4", now - 360), ("msg_5", now + 360)] {
        assert_eq!(
            post(id, sent_at, &sign(id, sent_at)),
            (
                401,
                json!({"error": "signature timestamp outside the tolerance"})
            )
        );
    }

    // During a key rotation the header carries several signatures; one match is enough.
    let rotated = format!("v1,{} {}", BASE64.encode([7u8; 32]), sign("msg_6", now));
    assert_eq!(post("msg_6", now, &rotated).0, 202);
    let none_match = format!("{} v1,{}", sign("msg_other", now), BASE64.encode([7u8; 32]));
    assert_eq!(
        post("msg_7", now, &none_match),
        (401, json!({"error": "signature mismatch"}))
    );
    // A signature for another id (a replayed body under a new id) does not match.
    assert_eq!(
        post("msg_8", now, &sign("msg_6", now)),
        (401, json!({"error": "signature mismatch"}))
    );
}

/// The refusal a plugin built for an interface version the gateway does not serve gets,
/// naming its version and the ones served (see wit/README.md).
const UNSERVED_VERSION: &str =
    "unsupported WIT API version \"0.9.0\": this gateway serves hookgate:plugin 0.1.0, 0.2.0";

#[test]
fn a_plugin_for_an_unserved_wit_version_is_refused_naming_the_served_versions() {
    let checked = std::process::Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
        .args(["plugin", "check"])
        .arg(hookgate_tests::plugin_file("future_api"))
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(2));
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(said.contains(UNSERVED_VERSION), "{said}");

    let gateway = TestGateway::start(|_| {});
    hookgate_tests::drop_in(
        &gateway.data_path().join("plugins"),
        "future.wasm",
        &plugin_bytes("future_api"),
    );
    hookgate_tests::harness::wait_for(
        "the refusal in the plugin list",
        std::time::Duration::from_secs(30),
        || {
            let (_, answer) = gateway.api("GET", "/plugins", None);
            answer["items"].as_array().unwrap().iter().any(|item| {
                item["file"]
                    .as_str()
                    .is_some_and(|file| file.ends_with("future.wasm"))
                    && item["error"]
                        .as_str()
                        .is_some_and(|error| error.contains(UNSERVED_VERSION))
            })
        },
    );
}
