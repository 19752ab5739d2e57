//! `bitbucket connect` and `disconnect` against a fake Bitbucket Cloud API on 127.0.0.1: the
//! webhook Bitbucket is given, the full loop (a webhook signed with the secret Bitbucket got is
//! accepted), clear refusals that leave nothing behind, disconnecting, the CLI (the real
//! binary) and the console form; the Bitbucket token is never answered or stored.

use crate::console::{csrf_of, http, sign_in, signed_in_page};
use base64::Engine as _;
use hookgate_tests::bitbucket::{
    ACCESS_TOKEN, APP_PASSWORD, BitbucketCall, FakeBitbucket, READ_ONLY_TOKEN, REPO, WORKSPACE,
};
use hookgate_tests::fixture;
use hookgate_tests::harness::{ADMIN_TOKEN, CaptureReceiver, TestGateway};
use serde_json::{Value, json};
use std::process::{Command, Output};

/// A gateway whose `[bitbucket] api_url` is the fake.
fn gateway_with(fake: &FakeBitbucket) -> TestGateway {
    let api_url = fake.url.clone();
    TestGateway::start(move |config| config.bitbucket.api_url = api_url)
}

fn connect(gateway: &TestGateway, extra: Value) -> (u16, Value) {
    let mut body = json!({"workspace": WORKSPACE, "repo": REPO, "token": ACCESS_TOKEN});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    gateway.api("POST", "/bitbucket/connect", Some(body))
}

/// The fake's create calls.
fn creates(fake: &FakeBitbucket) -> Vec<BitbucketCall> {
    fake.calls()
        .into_iter()
        .filter(|call| call.method == "POST")
        .collect()
}

/// Asserts that no answer and no byte of the database holds a Bitbucket credential.
fn assert_no_token_kept(gateway: &TestGateway, answers: &[&Value]) {
    let database = std::fs::read(gateway.data_path().join("hookgate.redb")).expect("database");
    for token in [
        ACCESS_TOKEN,
        APP_PASSWORD,
        READ_ONLY_TOKEN,
        "ATBB-fake-app-password",
    ] {
        for answer in answers {
            assert!(!answer.to_string().contains(token), "token in {answer}");
        }
        assert!(
            !database
                .windows(token.len())
                .any(|bytes| bytes == token.as_bytes()),
            "the database holds a Bitbucket token"
        );
    }
}

#[test]
fn connect_registers_the_webhook_and_its_deliveries_are_accepted() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    let receiver = CaptureReceiver::start();

    let (status, endpoint) = connect(
        &gateway,
        json!({
            "name": "widgets CI",
            "events": "all",
            "format": {"plugin": "bitbucket-embeds"},
            "destinations": [{"kind": "discord", "url": format!("{}/discord", receiver.url)}],
        }),
    );
    assert_eq!(status, 201, "{endpoint}");
    assert_eq!(endpoint["provider"], "bitbucket");
    assert_eq!(endpoint["secret_set"], true);
    assert!(
        endpoint.get("secret").is_none(),
        "the secret went to Bitbucket only"
    );

    // Bitbucket got exactly the documented request: the endpoint's URL, a fresh secret, every
    // event the provider plugin declares, with the token as a Bearer credential.
    let calls = creates(&fake);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.raw_path, "/2.0/repositories/acme/widgets/hooks");
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert_eq!(call.status, 201);
    assert_eq!(call.body["url"], endpoint["url"]);
    assert_eq!(call.body["active"], true);
    assert_eq!(call.body["description"], "hookgate: widgets CI");
    let events = endpoint["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        25,
        "every event of the bitbucket plugin: {events:?}"
    );
    // The repository webhook asks for all of them but the two Bitbucket sends to workspace
    // webhooks only (the fake refuses those, as Bitbucket does).
    let hooked: Vec<Value> = events
        .iter()
        .filter(|event| !["repo:imported", "repo:deleted"].contains(&event.as_str().unwrap()))
        .cloned()
        .collect();
    assert_eq!(call.body["events"], json!(hooked));
    for key in [
        "repo:push",
        "pullrequest:created",
        "repo:commit_status_updated",
    ] {
        assert!(events.contains(&json!(key)), "{key}");
    }
    let secret = call.body["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);

    // The endpoint names its webhook as Bitbucket answered it, braces included.
    let hooks = fake.hooks();
    assert_eq!(hooks.len(), 1);
    let hook_uuid = hooks[0]["uuid"].as_str().unwrap();
    assert!(hook_uuid.starts_with('{') && hook_uuid.ends_with('}'));
    let expected = json!({"workspace": WORKSPACE, "repo": REPO, "hook_uuid": hook_uuid});
    assert_eq!(endpoint["bitbucket"], expected);
    let id = endpoint["id"].as_str().unwrap();
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["bitbucket"], expected);

    // The loop: a push signed with the secret Bitbucket was given is accepted, processed and
    // delivered; one signed with another secret is refused.
    let url = endpoint["url"].as_str().unwrap();
    let push = fixture("repo_push.json");
    let (status, answer) = gateway.post_hook(
        url,
        "repo:push",
        &push,
        Some(&secret),
        "6f7d1c1e-0000-4000-8000-000000000001",
    );
    assert_eq!(status, 202, "{answer}");
    let record = gateway.processed(answer["id"].as_str().unwrap());
    assert_eq!(record["status"], "processed", "{record}");
    assert_eq!(receiver.wait_for_requests(1)[0].path, "/discord");
    let (status, _) = gateway.post_hook(
        url,
        "repo:push",
        &push,
        Some(&"0".repeat(64)),
        "6f7d1c1e-0000-4000-8000-000000000002",
    );
    assert_eq!(status, 401);

    // `push` is the provider's push events only; an app password goes as Basic auth.
    let mut body = json!({"workspace": WORKSPACE, "repo": REPO, "token": APP_PASSWORD,
                          "events": "push"});
    body["name"] = json!("pushes");
    let (status, pushes) = gateway.api("POST", "/bitbucket/connect", Some(body));
    assert_eq!(status, 201, "{pushes}");
    assert_eq!(pushes["events"], json!(["repo:push"]));
    let call = creates(&fake).pop().unwrap();
    assert_eq!(call.body["events"], json!(["repo:push"]));
    let basic = base64::engine::general_purpose::STANDARD.encode(APP_PASSWORD);
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );

    // A comma list is checked against the provider's events before Bitbucket is asked.
    let (status, listed) = connect(
        &gateway,
        json!({"events": "repo:push, pullrequest:created"}),
    );
    assert_eq!(status, 201, "{listed}");
    assert_eq!(
        listed["events"],
        json!(["repo:push", "pullrequest:created"])
    );
    assert_eq!(listed["name"], "acme/widgets");
    let asked = fake.calls().len();
    let (status, refused) = connect(&gateway, json!({"events": "repo:push,repo:pushed"}));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("repo:pushed"));
    assert_eq!(refused["valid_events"].as_array().unwrap().len(), 25);
    assert_eq!(
        fake.calls().len(),
        asked,
        "Bitbucket was asked for a refused request"
    );

    let (_, listed_endpoints) = gateway.api("GET", "/endpoints", None);
    assert_no_token_kept(
        &gateway,
        &[
            &endpoint,
            &shown,
            &pushes,
            &listed,
            &refused,
            &listed_endpoints,
        ],
    );
}

#[test]
fn refused_connects_are_clear_and_leave_no_endpoint() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    let mut answers = Vec::new();

    let (status, answer) = connect(&gateway, json!({"token": "not-a-token"}));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"],
        "Bitbucket refused the token: Token is invalid, expired, or not supported for this \
         endpoint."
    );
    answers.push(answer);

    let (status, answer) = connect(&gateway, json!({"token": READ_ONLY_TOKEN}));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"],
        "Bitbucket refused the token: Your credentials lack one or more required privilege \
         scopes. (required scopes: webhook)"
    );
    answers.push(answer);

    let (status, answer) = connect(&gateway, json!({"repo": "gadgets"}));
    assert_eq!(status, 404, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.starts_with("repository not found: Bitbucket has no repository acme/gadgets"),
        "{error}"
    );
    assert!(
        error.contains("You may not have access to this repository"),
        "{error}"
    );
    answers.push(answer);

    // Bitbucket was asked each time, and refused each time.
    let statuses: Vec<u16> = fake.calls().iter().map(|call| call.status).collect();
    assert_eq!(statuses, [401, 403, 404]);
    assert!(fake.hooks().is_empty());

    // Requests that never reach Bitbucket.
    for (body, reason) in [
        (
            json!({"workspace": WORKSPACE, "repo": REPO}),
            "token is required",
        ),
        (
            json!({"workspace": WORKSPACE, "repo": "a/b", "token": ACCESS_TOKEN}),
            "not a Bitbucket slug",
        ),
        (
            json!({"workspace": WORKSPACE, "repo": REPO, "token": ACCESS_TOKEN, "secret": "x"}),
            "generates the endpoint's secret",
        ),
    ] {
        let (status, answer) = gateway.api("POST", "/bitbucket/connect", Some(body));
        assert_eq!(status, 422, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(reason),
            "{answer}"
        );
        answers.push(answer);
    }
    assert_eq!(fake.calls().len(), 3);

    let (_, endpoints) = gateway.api("GET", "/endpoints", None);
    assert_eq!(
        endpoints["items"],
        json!([]),
        "a refused connect left an endpoint"
    );
    let refs: Vec<&Value> = answers.iter().collect();
    assert_no_token_kept(&gateway, &refs);
}

#[test]
fn disconnect_deletes_the_webhook_and_disables_the_endpoint() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    let (status, endpoint) = connect(&gateway, json!({}));
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_str().unwrap();
    let hook_uuid = endpoint["bitbucket"]["hook_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let disconnect = format!("/endpoints/{id}/bitbucket/disconnect");

    // A refused token changes nothing.
    let (status, answer) = gateway.api("POST", &disconnect, Some(json!({"token": "nope"})));
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("Bitbucket refused the token")
    );
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["bitbucket"]["hook_uuid"], hook_uuid.as_str());
    assert_eq!(fake.hooks().len(), 1);

    let (status, answer) = gateway.api("POST", &disconnect, Some(json!({"token": ACCESS_TOKEN})));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["enabled"], false);
    assert_eq!(answer["bitbucket"], Value::Null);
    let delete = fake.calls().pop().unwrap();
    assert_eq!(delete.method, "DELETE");
    assert_eq!(delete.workspace, WORKSPACE);
    assert_eq!(delete.repo, REPO);
    assert_eq!(delete.hook_uuid.as_deref(), Some(hook_uuid.as_str()));
    assert_eq!(delete.status, 204);
    assert_eq!(
        delete.authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert!(fake.hooks().is_empty());
    let (status, _) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:push",
        &fixture("repo_push.json"),
        None,
        "6f7d1c1e-0000-4000-8000-000000000003",
    );
    assert_eq!(status, 410, "a disconnected endpoint is disabled");

    // Not connected any more; unknown endpoints are 404; the body needs a token.
    let (status, answer) = gateway.api("POST", &disconnect, Some(json!({"token": ACCESS_TOKEN})));
    assert_eq!(status, 409, "{answer}");
    let (status, _) = gateway.api(
        "POST",
        "/endpoints/nope/bitbucket/disconnect",
        Some(json!({"token": ACCESS_TOKEN})),
    );
    assert_eq!(status, 404);
    // An empty token is refused; no token at all asks for the stored OAuth connection, which a
    // token-connected endpoint does not have.
    let (status, answer) = gateway.api("POST", &disconnect, Some(json!({"token": " "})));
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().starts_with("token:"),
        "{answer}"
    );
    let (status, _) = gateway.api("POST", &disconnect, Some(json!({})));
    assert_eq!(status, 409);

    // A webhook already deleted in Bitbucket counts as gone.
    let (_, second) = connect(&gateway, json!({}));
    fake.delete_all_hooks();
    let second_id = second["id"].as_str().unwrap();
    let (status, answer) = gateway.api(
        "POST",
        &format!("/endpoints/{second_id}/bitbucket/disconnect"),
        Some(json!({"token": ACCESS_TOKEN})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(fake.calls().pop().unwrap().status, 404);
    assert_eq!(answer["enabled"], false);
    assert_no_token_kept(&gateway, &[&answer]);
}

fn hookgate(args: &[&str], bitbucket_token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"));
    command.args(args).env_remove("BITBUCKET_TOKEN");
    if let Some(token) = bitbucket_token {
        command.env("BITBUCKET_TOKEN", token);
    }
    command.output().expect("running hookgate")
}

#[test]
fn the_cli_connects_and_disconnects() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    let admin = ["--url", gateway.url.as_str(), "--token", ADMIN_TOKEN];
    let connect_args = |repo: &'static str| {
        let mut args = vec![
            "bitbucket",
            "connect",
            "--workspace",
            WORKSPACE,
            "--repo",
            repo,
        ];
        args.extend([
            "--events",
            "push",
            "--destination",
            "discord=https://example.com/d",
        ]);
        args.extend(admin);
        args
    };

    // The token from BITBUCKET_TOKEN; --json prints the API's answer.
    let mut args = connect_args(REPO);
    args.push("--json");
    let output = hookgate(&args, Some(ACCESS_TOKEN));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let endpoint: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(endpoint["events"], json!(["repo:push"]));
    assert_eq!(endpoint["destinations"][0]["kind"], "discord");
    let call = creates(&fake).pop().unwrap();
    assert_eq!(call.body["url"], endpoint["url"]);
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    let id = endpoint["id"].as_str().unwrap();
    let hook_uuid = endpoint["bitbucket"]["hook_uuid"].as_str().unwrap();

    // The table names the repository and webhook.
    let output = hookgate(
        &[
            "endpoint",
            "show",
            id,
            "--url",
            gateway.url.as_str(),
            "--token",
            ADMIN_TOKEN,
        ],
        None,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("acme/widgets (webhook {hook_uuid})")),
        "stdout: {text}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Refusals exit non-zero with Bitbucket's reason.
    let output = hookgate(&connect_args("gadgets"), Some(ACCESS_TOKEN));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("404") && stderr.contains("repository not found"),
        "{stderr}"
    );
    let output = hookgate(&connect_args(REPO), Some(READ_ONLY_TOKEN));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Bitbucket refused the token"), "{stderr}");
    assert!(!stderr.contains(READ_ONLY_TOKEN));
    let output = hookgate(&connect_args(REPO), None);
    assert!(
        !output.status.success(),
        "connect ran without a Bitbucket token"
    );

    // Disconnect, the token as a flag this time.
    let mut args = vec![
        "bitbucket",
        "disconnect",
        id,
        "--bitbucket-token",
        ACCESS_TOKEN,
    ];
    args.extend(admin);
    let output = hookgate(&args, None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("disabled {id}")));
    let delete = fake.calls().pop().unwrap();
    assert_eq!(delete.method, "DELETE");
    assert_eq!(delete.hook_uuid.as_deref(), Some(hook_uuid));
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["enabled"], false);
    assert_no_token_kept(&gateway, &[&shown]);
}

#[test]
fn the_console_form_connects_and_disconnects() {
    let fake = FakeBitbucket::start();
    let gateway = gateway_with(&fake);
    let client = http();
    let ui = |path: &str| format!("{}/ui{path}", gateway.url);
    let cookie = sign_in(&gateway);
    let sources = signed_in_page(&client, ui("/sources"), &cookie);
    assert!(
        sources.contains("href=\"/ui/sources/connect\""),
        "no Connect Bitbucket button"
    );
    let csrf = csrf_of(&sources);
    let form = signed_in_page(&client, ui("/sources/connect"), &cookie);
    assert!(form.contains("type=\"password\" name=\"token\""), "{form}");
    assert!(form.contains("value=\"repo:commit_status_updated\""));

    let fields = |token: &str, csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("workspace", WORKSPACE.to_string()),
            ("repo", REPO.to_string()),
            ("token", token.to_string()),
            ("events_mode", "list".to_string()),
            ("event", "repo:push".to_string()),
            ("event", "repo:commit_status_updated".to_string()),
        ]
    };
    // Without the session's CSRF token: refused, Bitbucket never asked.
    let answer = client
        .post(ui("/sources/connect"))
        .header("Cookie", &cookie)
        .form(&fields(ACCESS_TOKEN, &"0".repeat(48)))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert!(fake.calls().is_empty());

    // A refused token: the form again with the reason, the token not echoed back.
    let answer = client
        .post(ui("/sources/connect"))
        .header("Cookie", &cookie)
        .form(&fields(READ_ONLY_TOKEN, &csrf))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 422);
    let page = answer.text().unwrap();
    assert!(page.contains("Bitbucket refused the token"), "{page}");
    assert!(
        page.contains("value=\"widgets\""),
        "the form keeps what was typed"
    );
    assert!(
        !page.contains(READ_ONLY_TOKEN),
        "the token was rendered back"
    );

    let answer = client
        .post(ui("/sources/connect"))
        .header("Cookie", &cookie)
        .form(&fields(ACCESS_TOKEN, &csrf))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let page = answer.text().unwrap();
    assert!(!page.contains(ACCESS_TOKEN));
    let hook_uuid = fake.hooks()[0]["uuid"].as_str().unwrap().to_string();
    assert!(
        page.contains(&format!("id=\"source-hook\">{hook_uuid}<")),
        "{page}"
    );
    let (_, endpoints) = gateway.api("GET", "/endpoints", None);
    let endpoint = &endpoints["items"][0];
    assert_eq!(endpoint["name"], "acme/widgets");
    assert_eq!(
        endpoint["events"],
        json!(["repo:push", "repo:commit_status_updated"])
    );
    assert_eq!(endpoint["alerts"]["plugin"], "bitbucket-pipelines");
    assert_eq!(creates(&fake).pop().unwrap().body["url"], endpoint["url"]);
    let id = endpoint["id"].as_str().unwrap();

    // The source's Disconnect button leads to a token form; it deletes the webhook.
    let sources = signed_in_page(&client, ui("/sources"), &cookie);
    assert!(sources.contains(&format!("href=\"/ui/sources/{id}/disconnect\"")));
    let edit = signed_in_page(&client, ui(&format!("/sources/{id}/edit")), &cookie);
    assert!(
        edit.contains(&format!(
            "href=\"/ui/sources/{id}/disconnect\" id=\"disconnect-source\""
        )),
        "the source's page has no Disconnect button"
    );
    let form = signed_in_page(&client, ui(&format!("/sources/{id}/disconnect")), &cookie);
    assert!(form.contains(&hook_uuid));
    let answer = client
        .post(ui(&format!("/sources/{id}/disconnect")))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("token", ACCESS_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert!(fake.hooks().is_empty());
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["enabled"], false);
    assert_no_token_kept(&gateway, &[&shown]);
}
