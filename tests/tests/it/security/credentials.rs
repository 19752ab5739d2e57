//! Issue 16, items 7 and 12: weak credentials are refused (short endpoint secrets, a short
//! admin token), wrong admin tokens are throttled per client, answers carrying a secret stay
//! out of caches, the console cookie is `Secure` behind https, and a non-ASCII event header is
//! named as such.

use crate::gateway::uuid;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ADMIN_TOKEN, ChildGatewayConfig, GatewayProgram, TestGateway};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;

/// A client whose connections come from `local` (any 127.0.0.0/8 address reaches the
/// gateway's 127.0.0.1): another client address, as the per-client limits see it.
pub(crate) fn client_from(local: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[test]
fn short_and_empty_endpoint_secrets_are_refused() {
    let gateway = TestGateway::start(|_| {});
    // 23 bytes, and a `whsec_` secret whose key decodes to 18 bytes (its text is 30).
    for secret in [
        "",
        "a",
        "twenty-three-bytes-long",
        "whsec_c2hvcnQta2V5LXNob3J0LWtleQ==",
    ] {
        let (status, answer) = gateway.api(
            "POST",
            "/endpoints",
            Some(json!({"name": "weak", "secret": secret})),
        );
        assert_eq!(status, 422, "{secret:?}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.starts_with("secret must be at least 24 bytes"),
            "{error}"
        );
    }
    let (_, endpoints) = gateway.api("GET", "/endpoints", None);
    assert_eq!(endpoints["items"], json!([]), "nothing saved");

    // 24 bytes is enough, and a post signed with the empty key is refused by it.
    let endpoint =
        gateway.create_endpoint(json!({"name": "ok", "secret": "twenty-four-bytes-long!!"}));
    let (status, answer) = gateway.post_hook(
        endpoint["url"].as_str().unwrap(),
        "repo:commit_status_updated",
        &commit_status_payload("SUCCESSFUL"),
        Some(""),
        &uuid(1),
    );
    assert_eq!(status, 401, "{answer}");
}

#[test]
fn a_short_admin_token_stops_the_start_naming_the_variable() {
    let folder = tempfile::tempdir().unwrap();
    let mut settings = ChildGatewayConfig::new(
        GatewayProgram::binary(env!("CARGO_BIN_EXE_hookgate-e2e")),
        folder.path(),
    );
    settings.admin_token = Some("a".into());
    settings.rust_log = "info".into();
    let (status, stderr) = settings.run_to_exit(Duration::from_secs(60));
    assert!(!status.success(), "{status}");
    assert!(
        stderr.contains(
            "the admin token from HOOKGATE_ADMIN_TOKEN has 1 characters; it needs at least 16"
        ),
        "{stderr}"
    );
}

/// A bearer request with `token` from `client`; its status and `Retry-After`.
fn api_with(
    client: &reqwest::blocking::Client,
    gateway: &TestGateway,
    token: &str,
) -> (u16, Option<String>) {
    let response = client
        .get(format!("{}/api/v1/endpoints", gateway.url))
        .bearer_auth(token)
        .send()
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    (response.status().as_u16(), retry_after)
}

/// A console sign-in with `token` from `client`; its status.
fn sign_in(client: &reqwest::blocking::Client, gateway: &TestGateway, token: &str) -> u16 {
    client
        .post(format!("{}/ui/login", gateway.url))
        .form(&[("token", token)])
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn wrong_admin_tokens_are_throttled_per_client() {
    let gateway = TestGateway::start(|config| {
        config.http.auth_failure_burst = 3;
        config.http.auth_failures_per_minute = 1;
    });
    let guesser = client_from("127.0.0.2");
    for n in 0..3 {
        assert_eq!(api_with(&guesser, &gateway, &format!("guess-{n}")).0, 401);
    }
    // Past the burst: 429 with Retry-After, and the right token is not even checked.
    let (status, retry_after) = api_with(&guesser, &gateway, "guess-3");
    assert_eq!(status, 429);
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(api_with(&guesser, &gateway, ADMIN_TOKEN).0, 429);
    assert_eq!(
        sign_in(&guesser, &gateway, ADMIN_TOKEN),
        429,
        "the console shares the count"
    );
    // Another client is not affected.
    let operator = client_from("127.0.0.3");
    assert_eq!(api_with(&operator, &gateway, ADMIN_TOKEN).0, 200);
    assert_eq!(sign_in(&operator, &gateway, ADMIN_TOKEN), 303);

    // Console sign-ins are throttled too.
    let console_guesser = client_from("127.0.0.4");
    for n in 0..3 {
        assert_eq!(
            sign_in(&console_guesser, &gateway, &format!("guess-{n}")),
            401
        );
    }
    let refused = console_guesser
        .post(format!("{}/ui/login", gateway.url))
        .form(&[("token", "guess-3")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(
        refused
            .text()
            .unwrap()
            .contains("Too many wrong admin tokens from this address")
    );
}

#[test]
fn answers_that_carry_a_secret_are_not_cached() {
    let gateway = TestGateway::start(|_| {});
    let client = reqwest::blocking::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = client
            .request(method, format!("{}/api/v1{path}", gateway.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let cache = response
            .headers()
            .get("cache-control")
            .map(|value| value.to_str().unwrap().to_string());
        (response.json::<Value>().unwrap(), cache)
    };
    let (created, cache) = call(
        reqwest::Method::POST,
        "/endpoints",
        Some(json!({"name": "cached"})),
    );
    assert!(created["secret"].is_string());
    assert_eq!(cache.as_deref(), Some("no-store"), "create");
    let id = created["id"].as_str().unwrap();
    let (rotated, cache) = call(
        reqwest::Method::POST,
        &format!("/endpoints/{id}/rotate-secret"),
        None,
    );
    assert!(rotated["secret"].is_string());
    assert_eq!(cache.as_deref(), Some("no-store"), "rotate-secret");
}

#[test]
fn the_console_cookie_is_secure_when_the_public_url_is_https() {
    let https = TestGateway::start(|config| {
        config.public_url = Some("https://hooks.example.com".into());
    });
    let plain = TestGateway::start(|_| {});
    let cookie = |gateway: &TestGateway| {
        let response = client_from("127.0.0.1")
            .post(format!("{}/ui/login", gateway.url))
            .form(&[("token", ADMIN_TOKEN)])
            .send()
            .unwrap();
        assert_eq!(response.status(), 303);
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let secure = cookie(&https);
    assert!(secure.split("; ").any(|part| part == "Secure"), "{secure}");
    let local = cookie(&plain);
    assert!(!local.split("; ").any(|part| part == "Secure"), "{local}");
}

#[test]
fn a_non_ascii_event_key_is_answered_as_such_not_as_missing() {
    let gateway = TestGateway::start(|_| {});
    let endpoint = gateway.create_endpoint(json!({"name": "events"}));
    let body = commit_status_payload("SUCCESSFUL");
    let signature =
        hookgate::verify::sign_hub_sha256(endpoint["secret"].as_str().unwrap(), body.as_bytes());
    let (status, answer) = gateway.post_raw(
        endpoint["url"].as_str().unwrap(),
        &[
            ("X-Event-Key", "repo:commit_status_updatéd"),
            ("X-Request-UUID", &uuid(1)),
            ("X-Hub-Signature", &signature),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"],
        "X-Event-Key header is not visible ASCII text"
    );
}
