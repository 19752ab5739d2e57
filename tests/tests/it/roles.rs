//! Users signed in as themselves, and roles on every route and form (SPEC §12): a viewer
//! reads; a responder also acknowledges and closes alerts; an admin (and the admin token)
//! does everything. Every `/api/v1` route is tried with a viewer's and a responder's session
//! token; the console is used with email and password; wrong passwords are throttled like
//! wrong tokens; and no password or session token reaches the log or an answer.

mod console;

use crate::console::{http, signed_in_page};
use console::console_sign_in;
use hookgate::http::roles::{Principal, required_role};
use hookgate::oncall::Role;
use hookgate_tests::harness::{ADMIN_TOKEN, ChildGateway, ChildGatewayConfig, TestGateway};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

pub(super) const PASSWORD: &str = "correct-horse-battery-9";

/// A client that connects from `local` (a loopback address), without redirects.
pub(super) fn client_from(local: &str) -> Client {
    Client::builder()
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A path with every `{parameter}` replaced by `value`.
pub(super) fn fill(path: &str, value: &str) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        filled.push_str(&rest[..start]);
        filled.push_str(value);
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    filled
}

/// Creates a user with `role` and the test password; returns their id.
pub(super) fn user(gateway: &TestGateway, name: &str, email: &str, role: &str) -> String {
    let created = gateway.api_ok(
        "POST",
        "/users",
        Some(json!({"name": name, "email": email, "role": role, "password": PASSWORD})),
    );
    created["id"].as_str().unwrap().to_string()
}

/// `POST /api/v1/sessions`: the status and the answer.
pub(super) fn start_session(
    client: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

pub(super) fn session_token(base: &str, email: &str) -> String {
    let (status, answer) = start_session(&http(), base, email, PASSWORD);
    assert_eq!(status, 201, "{answer}");
    answer["token"].as_str().unwrap().to_string()
}

/// One API request with a bearer token: the status and the answer.
pub(super) fn call(base: &str, token: &str, method: &str, path: &str) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http()
        .request(method.clone(), format!("{base}/api/v1{path}"))
        .bearer_auth(token);
    if method != reqwest::Method::GET && method != reqwest::Method::HEAD {
        request = request.json(&json!({}));
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn every_api_route_is_allowed_or_refused_by_role_as_the_rule_says() {
    let gateway = TestGateway::start(|config| config.http.auth_failures_per_minute = 0);
    let base = gateway.url.clone();
    user(&gateway, "Vera", "vera@example.com", "viewer");
    user(&gateway, "Rob", "rob@example.com", "responder");
    let mut responder_changes = BTreeSet::new();
    let mut api_routes = 0;
    for (email, role) in [
        ("vera@example.com", Role::Viewer),
        ("rob@example.com", Role::Responder),
    ] {
        let token = session_token(&base, email);
        let principal = Principal::User {
            id: String::new(),
            name: String::new(),
            role,
        };
        for (method, path) in hookgate::http::mounted_routes() {
            let Some(api_path) = path.strip_prefix("/api/v1") else {
                continue;
            };
            if ["/openapi.json", "/sessions"].contains(&api_path) {
                continue;
            }
            api_routes += 1;
            // Ending a session ends the one it carries: use one of its own.
            let token = if api_path == "/sessions/current" {
                session_token(&base, email)
            } else {
                token.clone()
            };
            let (status, answer) = call(&base, &token, method.as_str(), &fill(api_path, "x1"));
            match principal.refusal_for(&method, &path) {
                None => {
                    assert!(
                        status != 401 && status != 403,
                        "{role:?}: {method} {path} is allowed, got {status} {answer}"
                    );
                    if role == Role::Responder && method != "GET" {
                        responder_changes.insert(format!("{method} {path}"));
                    }
                }
                Some(refusal) => {
                    assert_eq!(status, 403, "{role:?}: {method} {path}: {answer}");
                    assert_eq!(answer["error"], refusal, "{role:?}: {method} {path}");
                    let needed = required_role(&method, &path);
                    assert!(
                        refusal
                            .starts_with(&format!("this needs the {needed:?} role").to_lowercase()),
                        "{refusal}"
                    );
                }
            }
        }
    }
    assert!(api_routes >= 2 * 40, "{api_routes}");
    // Besides reading, a responder acknowledges and closes alerts and ends their own session:
    // nothing more.
    assert_eq!(
        responder_changes,
        BTreeSet::from(
            [
                "POST /api/v1/alerts/{id}/ack",
                "POST /api/v1/alerts/{id}/close",
                "DELETE /api/v1/sessions/current",
            ]
            .map(String::from)
        )
    );
    // And the refusal reads as the spec words it.
    let viewer = session_token(&base, "vera@example.com");
    let (status, answer) = call(&base, &viewer, "POST", "/alerts/al_1/ack");
    assert_eq!(status, 403);
    assert_eq!(
        answer["error"],
        "this needs the responder role; you are a viewer"
    );
    // The admin token is an admin.
    assert_eq!(call(&base, ADMIN_TOKEN, "POST", "/plugins/reload").0, 200);
}

#[test]
fn session_tokens_follow_the_user_and_end() {
    let gateway = TestGateway::start(|config| config.http.auth_failures_per_minute = 0);
    let base = gateway.url.clone();
    let vera = user(&gateway, "Vera", "vera@example.com", "viewer");
    let (status, answer) = start_session(&http(), &base, "VERA@example.com", PASSWORD);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["user"], vera.as_str());
    assert_eq!(answer["role"], "viewer");
    assert!(
        answer["expires_at"].as_str().unwrap().ends_with('Z'),
        "{answer}"
    );
    let token = answer["token"].as_str().unwrap().to_string();
    assert_ne!(token, ADMIN_TOKEN);
    assert_eq!(call(&base, &token, "GET", "/alerts").0, 200);
    assert_eq!(call(&base, &token, "POST", "/alerts/al_1/ack").0, 403);

    // A role change takes effect at once, on the same token.
    gateway.api_ok(
        "PATCH",
        &format!("/users/{vera}"),
        Some(json!({"role": "responder"})),
    );
    assert_eq!(call(&base, &token, "POST", "/alerts/al_1/ack").0, 404);
    assert_eq!(
        call(&base, &token, "DELETE", &format!("/users/{vera}")).0,
        403
    );

    // Ended, the token no longer works; the admin token is not a session.
    assert_eq!(call(&base, &token, "DELETE", "/sessions/current").0, 204);
    assert_eq!(call(&base, &token, "GET", "/alerts").0, 401);
    assert_eq!(
        call(&base, ADMIN_TOKEN, "DELETE", "/sessions/current").0,
        409
    );

    // A deleted user's token stops at once.
    let token = session_token(&base, "vera@example.com");
    gateway.api_ok("DELETE", &format!("/users/{vera}"), None);
    assert_eq!(call(&base, &token, "GET", "/alerts").0, 401);

    // Wrong passwords, unknown emails and users without a password get the same refusal.
    gateway.api_ok(
        "POST",
        "/users",
        Some(json!({"name": "Nopass", "email": "nopass@example.com", "role": "admin"})),
    );
    user(&gateway, "Rob", "rob@example.com", "responder");
    let refusals: Vec<(u16, Value)> = [
        ("rob@example.com", "not-the-password"),
        ("nobody@example.com", PASSWORD),
        ("nopass@example.com", ""),
        ("nopass@example.com", PASSWORD),
    ]
    .iter()
    .map(|(email, password)| start_session(&http(), &base, email, password))
    .collect();
    for refusal in &refusals {
        assert_eq!(refusal, &refusals[0]);
    }
    assert_eq!(refusals[0].0, 401);
    let (status, _) = call(&base, "", "POST", "/sessions");
    assert_eq!(status, 400, "no email or password");
}

#[test]
fn wrong_passwords_are_throttled_like_wrong_tokens() {
    let gateway = TestGateway::start(|config| {
        config.http.auth_failure_burst = 3;
        config.http.auth_failures_per_minute = 1;
    });
    let base = gateway.url.clone();
    user(&gateway, "Vera", "vera@example.com", "viewer");
    let guesser = client_from("127.0.0.2");
    let console = |password: &str| {
        guesser
            .post(format!("{base}/ui/login"))
            .form(&[("email", "vera@example.com"), ("password", password)])
            .send()
            .unwrap()
    };
    assert_eq!(console("guess-0").status(), 401);
    assert_eq!(
        start_session(&guesser, &base, "vera@example.com", "guess-1").0,
        401
    );
    assert_eq!(console("guess-2").status(), 401);
    // Past the burst: 429, and the right password is not even checked, nor the admin token.
    let refused = console(PASSWORD);
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        start_session(&guesser, &base, "vera@example.com", PASSWORD).0,
        429
    );
    let admin = guesser
        .get(format!("{base}/api/v1/alerts"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(admin.status(), 429);
    // Another client signs in.
    let other = client_from("127.0.0.3");
    assert_eq!(
        start_session(&other, &base, "vera@example.com", PASSWORD).0,
        201
    );
}

#[test]
fn passwords_and_session_tokens_never_reach_the_log_or_an_answer() {
    let folder = tempfile::tempdir().unwrap();
    let mut gateway = ChildGateway::start(ChildGatewayConfig {
        rust_log: "info,hookgate=trace,actix_web=trace,actix_http=trace".into(),
        ..ChildGatewayConfig::new(crate::hookgate_binary(), folder.path())
    });
    let base = gateway.url.clone();
    let wrong = "a-wrong-password-7777";
    let (status, created) = gateway.api(
        "POST",
        "/users",
        Some(
            json!({"name": "Ada", "email": "ada@example.com", "role": "responder",
                    "password": PASSWORD}),
        ),
    );
    assert_eq!(status, 201, "{created}");
    let mut answers = vec![created.to_string()];
    let client = http();
    let (status, session) = start_session(&client, &base, "ada@example.com", PASSWORD);
    assert_eq!(status, 201);
    let token = session["token"].as_str().unwrap().to_string();
    answers.push(
        start_session(&client, &base, "ada@example.com", wrong)
            .1
            .to_string(),
    );
    answers.push(call(&base, &token, "GET", "/users").1.to_string());
    answers.push(call(&base, &token, "POST", "/plugins/reload").1.to_string());
    let cookie = console_sign_in(&client, &base, "ada@example.com", PASSWORD);
    answers.push(signed_in_page(
        &client,
        format!("{base}/ui/alerts"),
        &cookie,
    ));
    let refused = client
        .post(format!("{base}/ui/login"))
        .form(&[("email", "ada@example.com"), ("password", wrong)])
        .send()
        .unwrap();
    answers.push(refused.text().unwrap());
    let (status, _) = call(&base, &token, "DELETE", "/sessions/current");
    assert_eq!(status, 204);

    gateway.kill_9();
    let log = gateway.log();
    assert!(
        log.contains("sign-in refused: wrong email or password"),
        "{log}"
    );
    let session_id = cookie.split('=').nth(1).unwrap();
    for (what, text) in answers
        .iter()
        .map(|a| ("an answer", a.as_str()))
        .chain([("the log", log.as_str())])
    {
        for secret in [PASSWORD, wrong, token.as_str(), session_id, "$argon2"] {
            assert!(
                !text.contains(secret),
                "{secret} appears in {what}:\n{text}"
            );
        }
    }
}

#[test]
fn the_cli_takes_a_session_token_with_its_role() {
    let gateway = TestGateway::start(|_| {});
    user(&gateway, "Vera", "vera@example.com", "viewer");
    let token = session_token(&gateway.url, "vera@example.com");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hookgate-e2e"))
            .args(args)
            .args(["--url", gateway.url.as_str(), "--token", token.as_str()])
            .env_remove("HOOKGATE_ADMIN_TOKEN")
            .output()
            .expect("running hookgate")
    };
    let listed = cli(&["alerts", "list", "--json"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let refused = cli(&["alerts", "ack", "al_1"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("this needs the responder role; you are a viewer"),
        "{stderr}"
    );
    assert!(!stderr.contains(&token), "{stderr}");
}
