//! The admin surface as a whole: the OpenAPI document describes exactly the `/api/v1` routes
//! the server mounts; every mounted `/api/v1` and `/ui` route refuses requests without
//! credentials (and console forms without the session's CSRF token), but for the few listed
//! here as public on purpose; no secret, token or session cookie ever reaches the log, a later
//! API answer or a console page; and the data folder and the generated admin token file are
//! private.

use hookgate::http::ui::session::COOKIE;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{
    ADMIN_TOKEN, CaptureReceiver, ChildGateway, ChildGatewayConfig, TestGateway, wait_for,
};
use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The `/api/v1` and `/ui` routes that answer without credentials, on purpose.
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    // What the API is; no data.
    ("GET", "/api/v1/openapi.json"),
    // The sign-in page, and its stylesheet and script.
    ("GET", "/ui/login"),
    ("GET", "/ui/static/console.css"),
    ("GET", "/ui/static/console.js"),
];

/// The sign-ins: they need no token, but refuse a request without credentials (the console's
/// sign-in form is `/ui/login`, checked below).
const SIGN_IN_ROUTES: &[(&str, &str)] = &[("POST", "/api/v1/sessions")];

/// The routes outside `/api/v1` and `/ui`, all without the admin token: webhooks carry their
/// own signatures, acknowledge links their signed token, and health and metrics are for probes
/// and scrapers.
const ROOT_ROUTES: &[(&str, &str)] = &[
    ("POST", "/hooks/{endpoint_id}"),
    ("GET", "/a/{token}"),
    ("POST", "/a/{token}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

/// Every route the server mounts (`hookgate::http::mounted_routes`), methods as reqwest's.
fn mounted_routes() -> Vec<(reqwest::Method, String)> {
    hookgate::http::mounted_routes()
        .into_iter()
        .map(|(method, path)| {
            let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
            (method, path)
        })
        .collect()
}

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A path with every `{parameter}` replaced by `value`.
fn fill(path: &str, value: &str) -> String {
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

/// `(METHOD, path)` of every operation in the document, with the server's `/api/v1` prefix.
fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let server = document["servers"][0]["url"]
        .as_str()
        .expect("a server URL");
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().unwrap() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                routes.insert((method.to_uppercase(), format!("{server}{path}")));
            }
        }
    }
    routes
}

/// Every `$ref` anywhere in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[test]
fn the_openapi_document_describes_exactly_the_mounted_api_routes() {
    let gateway = TestGateway::start(|_| {});
    // Public: no token.
    let response = client()
        .get(format!("{}/api/v1/openapi.json", gateway.url))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );
    assert_eq!(document["servers"][0]["url"], "/api/v1");

    let mounted: BTreeSet<(String, String)> = mounted_routes()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/v1/"))
        .map(|(method, path)| (method.to_string(), path))
        .collect();
    let documented = documented_routes(&document);
    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        undocumented.is_empty(),
        "mounted, not documented: {undocumented:?}"
    );
    assert!(
        unmounted.is_empty(),
        "documented, not mounted: {unmounted:?}"
    );
    // The admin API as SPEC section 8 lists it, at least.
    for route in [
        ("POST", "/api/v1/endpoints"),
        ("PATCH", "/api/v1/endpoints/{id}"),
        ("POST", "/api/v1/endpoints/{id}/test"),
        ("GET", "/api/v1/inbound/{id}"),
        ("POST", "/api/v1/alerts/{id}/ack"),
        ("POST", "/api/v1/deliveries/{id}/retry"),
        ("POST", "/api/v1/plugins/reload"),
    ] {
        assert!(
            mounted.contains(&(route.0.to_string(), route.1.to_string())),
            "{route:?}"
        );
    }

    // The token is required everywhere but on the document itself; every operation says what
    // a refusal looks like, and names each of its path parameters.
    assert_eq!(
        document["components"]["securitySchemes"]["admin_token"]["scheme"],
        "bearer"
    );
    assert_eq!(document["security"], json!([{"admin_token": []}]));
    // Client generators name a method after each operation id: each must be there, unique,
    // and say what it does (a verb and a resource, not `list` five times).
    let mut operation_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or("");
            assert!(
                id.len() > "list".len() && id.chars().any(|c| c.is_ascii_uppercase()),
                "{method} {path}: operation id {id:?}"
            );
            assert!(operation_ids.insert(id.to_string()), "{id} is not unique");
            assert!(
                operation["tags"]
                    .as_array()
                    .is_some_and(|tags| !tags.is_empty()),
                "{method} {path}: no tag"
            );
        }
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let public = operation["security"] == json!([{}]);
            assert_eq!(
                public,
                [("get", "/openapi.json"), ("post", "/sessions")]
                    .contains(&(method.as_str(), path.as_str())),
                "{method} {path}"
            );
            if !public {
                assert!(
                    operation["responses"]["401"].is_object(),
                    "{method} {path}: no 401"
                );
            }
            let parameters: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "path")
                        .map(|parameter| parameter["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(parameters, in_path, "{method} {path}");
        }
    }
    // Each operation a viewer may not use says which role it needs; reads do not refuse.
    for (method, path, needed) in [
        ("post", "/alerts/{id}/ack", Some("responder")),
        ("post", "/alerts/{id}/close", Some("responder")),
        ("post", "/plugins/reload", Some("admin")),
        ("delete", "/users/{id}", Some("admin")),
        ("get", "/alerts", None),
        ("delete", "/sessions/current", None),
        ("post", "/sessions", None),
    ] {
        let forbidden = &document["paths"][path][method]["responses"]["403"];
        match needed {
            Some(role) => assert_eq!(
                forbidden["description"],
                format!("this needs the {role} role"),
                "{method} {path}"
            ),
            None => assert!(forbidden.is_null(), "{method} {path}: {forbidden}"),
        }
    }
    assert_eq!(
        document["paths"]["/alerts"]["get"]["responses"]["401"]["description"],
        "no valid admin token or session token"
    );
    assert_eq!(
        document["paths"]["/sessions"]["post"]["tags"],
        json!(["sessions"])
    );
    // Every schema the operations refer to is in the document.
    let mut targets = Vec::new();
    references(&document, &mut targets);
    assert!(
        targets
            .iter()
            .any(|target| target.ends_with("/EndpointInput")),
        "{targets:?}"
    );
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{target} is not defined"
        );
    }
}

#[test]
fn every_mounted_route_refuses_requests_without_credentials() {
    // A wrong token on every route is far past the wrong-token throttle (its own test is in
    // security.rs): here each must be a plain 401.
    let gateway = TestGateway::start(|config| config.http.auth_failures_per_minute = 0);
    let client = client();
    let routes = mounted_routes();
    let public: BTreeSet<(String, String)> = PUBLIC_ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    let mut api_routes = 0;
    let mut console_posts = Vec::new();
    for (method, path) in &routes {
        let key = (method.to_string(), path.clone());
        let url = format!("{}{}", gateway.url, fill(path, "x1"));
        let send = |token: Option<&str>| {
            let mut request = client.request(method.clone(), &url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().unwrap()
        };
        if public.contains(&key) {
            assert_eq!(send(None).status(), 200, "{method} {path} is public");
        } else if SIGN_IN_ROUTES.contains(&(method.as_str(), path.as_str())) {
            for token in [None, Some("wrong-token")] {
                let status = send(token).status().as_u16();
                assert!([400, 401].contains(&status), "{method} {path}: {status}");
            }
        } else if path == "/ui/bitbucket/callback" {
            // Bitbucket's redirect arrives without the session cookie: the state is checked
            // instead, and one that was never handed out is refused.
            let response = send(None);
            assert_eq!(response.status(), 400, "{method} {path}");
        } else if path.starts_with("/api/v1") {
            api_routes += 1;
            for token in [None, Some("wrong-token"), Some("")] {
                let response = send(token);
                assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
                let body: Value = response.json().unwrap();
                assert!(body["error"].is_string(), "{method} {path}: {body}");
            }
        } else if path.starts_with("/ui") {
            let response = if method == reqwest::Method::POST {
                // As a browser posts a form: urlencoded, here with no fields.
                let no_fields: [(&str, &str); 0] = [];
                client.post(&url).form(&no_fields).send().unwrap()
            } else {
                send(None)
            };
            if method == reqwest::Method::GET {
                assert_eq!(response.status(), 303, "{method} {path}");
                assert_eq!(response.headers()["location"], "/ui/login");
            } else if path == "/ui/login" {
                // Signing in without the token is refused.
                assert_eq!(response.status(), 401, "{method} {path}");
            } else {
                assert_eq!(response.status(), 403, "{method} {path}");
                console_posts.push(path.clone());
            }
        } else {
            assert!(
                ROOT_ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is neither API, console nor a known root route"
            );
        }
    }
    assert!(api_routes >= 19, "only {api_routes} API routes mounted");
    assert!(console_posts.len() >= 10, "{console_posts:?}");
    for public in PUBLIC_ROUTES {
        assert!(
            routes
                .iter()
                .any(|(method, path)| (method.as_str(), path.as_str()) == *public),
            "{public:?} is listed public but not mounted"
        );
    }

    // Signed in, every console form is still refused without this session's CSRF token.
    let cookie = sign_in(&client, &gateway.url, ADMIN_TOKEN);
    for path in &console_posts {
        for form in [vec![], vec![("csrf", "not-the-token")]] {
            let response = client
                .post(format!("{}{}", gateway.url, fill(path, "x1")))
                .header("cookie", format!("{COOKIE}={cookie}"))
                .form(&form)
                .send()
                .unwrap();
            assert_eq!(response.status(), 403, "POST {path} with {form:?}");
        }
    }
}

/// Signs in to the console; returns the session cookie's value.
fn sign_in(client: &Client, base: &str, token: &str) -> String {
    let response = client
        .post(format!("{base}/ui/login"))
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(response.status(), 303, "signing in");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|value| {
            value
                .to_str()
                .ok()?
                .strip_prefix(&format!("{COOKIE}="))?
                .split(';')
                .next()
                .map(str::to_string)
        })
        .expect("a session cookie");
    assert!(cookie.len() >= 20, "{cookie}");
    cookie
}

#[test]
fn secrets_never_leak_and_the_data_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    hookgate::install_tls_provider();
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().join("data");
    let mut gateway = ChildGateway::start(ChildGatewayConfig {
        data_dir: data_dir.clone(),
        config_toml: Some(
            "[delivery]\nallow_private_destinations = true\nretry_schedule = [\"200ms\"]\n\
             [plugins]\ntimeout_ms = 5000\n"
                .into(),
        ),
        // The gateway makes its own token, and that file is checked below.
        admin_token: None,
        // Everything the gateway and its HTTP layers log, at their most verbose.
        rust_log:
            "info,hookgate=trace,actix_web=trace,actix_http=trace,actix_server=debug,reqwest=trace"
                .into(),
        ..ChildGatewayConfig::new(crate::hookgate_binary(), folder.path())
    });
    let base = gateway.url.clone();
    let client = client();

    // (d) The folder is the gateway's alone, and so is the token it generated.
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data_dir), 0o700);
    let token_file = data_dir.join("admin-token");
    assert_eq!(mode(&token_file), 0o600);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 64, "32 random bytes, hex");
    assert_eq!(gateway.token(), token);

    let api = |method: &str, path: &str, body: Option<Value>| gateway.api_text(method, path, body);
    let json_of = |text: &str| -> Value { serde_json::from_str(text).unwrap() };

    // (c) A whole scenario, keeping every secret it creates or presents.
    let receiver = CaptureReceiver::start();
    let destination_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (status, created) = api(
        "POST",
        "/endpoints",
        Some(json!({
            "name": "leak check",
            "events": ["repo:commit_status_updated"],
            "alerts": {"plugin": "bitbucket-pipelines"},
            "format": {"template": "{{commit_status.state}}"},
            "destinations": [{"kind": "webhook", "url": format!("{}/hook", receiver.url),
                              "secret": destination_secret}],
        })),
    );
    assert_eq!(status, 201, "{created}");
    let created = json_of(&created);
    let endpoint = created["id"].as_str().unwrap().to_string();
    let hook_url = created["url"].as_str().unwrap().to_string();
    let first_secret = created["secret"].as_str().unwrap().to_string();
    let post = |body: &str, secret: &str, n: usize| {
        client
            .post(&hook_url)
            .header("X-Event-Key", "repo:commit_status_updated")
            .header(
                "X-Request-UUID",
                format!("{{00000000-0000-4000-8000-{n:012}}}"),
            )
            .header(
                "X-Hub-Signature",
                hookgate::verify::sign_hub_sha256(secret, body.as_bytes()),
            )
            .body(body.to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let failed = commit_status_payload("FAILED");
    assert_eq!(post(&failed, &first_secret, 1), 202);
    assert_eq!(post(&failed, "a-wrong-secret-0123456789", 2), 401);
    let (status, rotated) = api(
        "POST",
        &format!("/endpoints/{endpoint}/rotate-secret"),
        None,
    );
    assert_eq!(status, 200, "{rotated}");
    let second_secret = json_of(&rotated)["secret"].as_str().unwrap().to_string();
    assert_ne!(first_secret, second_secret);
    assert_eq!(
        post(&failed, &first_secret, 3),
        401,
        "the old secret is refused"
    );
    assert_eq!(post(&failed, &second_secret, 4), 202);
    // Refused API calls: a wrong token, and an endpoint whose input carries a secret.
    let refused_token = "wrong-admin-token-fedcba9876543210";
    let response = client
        .get(format!("{base}/api/v1/endpoints"))
        .bearer_auth(refused_token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    let refused_secret = "a-refused-endpoint-secret-5555";
    let (status, answer) = api(
        "POST",
        "/endpoints",
        Some(json!({"name": "bad", "secret": refused_secret, "events": ["no:such-event"]})),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(!answer.contains(refused_secret), "{answer}");
    let (status, _) = api("GET", "/inbound/in_999999", None);
    assert_eq!(status, 404);
    // The console: a refused sign-in, then a real one.
    let response = client
        .post(format!("{base}/ui/login"))
        .form(&[("token", refused_token)])
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    let cookie = sign_in(&client, &base, &token);

    // The alert opened and was notified (signed with the destination's secret, which the
    // receiver must not see either).
    let notified = receiver.wait_for_requests(1);
    assert!(notified[0].header("webhook-signature").is_some());
    assert!(
        notified
            .iter()
            .all(|request| !format!("{request:?}").contains(destination_secret))
    );
    let first_id = |path: &str| -> String {
        let mut id = String::new();
        wait_for(path, Duration::from_secs(30), || {
            let (_, page) = api("GET", path, None);
            id = json_of(&page)["items"][0]["id"]
                .as_str()
                .unwrap_or("")
                .to_string();
            !id.is_empty()
        });
        id
    };
    let alert = first_id("/alerts");
    let delivery = first_id("/deliveries");
    let (_, inbound) = api("GET", "/inbound?limit=500", None);
    let inbound: Vec<String> = json_of(&inbound)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(inbound.len(), 4, "two accepted, two refused: {inbound:?}");

    // The on-call directory, one of each, with a user's password to keep.
    let user_password = "a-user-password-4242";
    let create = |path: &str, body: Value| -> String {
        let (status, answer) = api("POST", path, Some(body));
        assert_eq!(status, 201, "POST {path}: {answer}");
        json_of(&answer)["id"].as_str().unwrap().to_string()
    };
    let user = create(
        "/users",
        json!({"name": "Ada", "email": "ada@example.com", "role": "admin",
               "password": user_password}),
    );
    let team = create("/teams", json!({"name": "ops", "members": [user]}));
    let schedule = create(
        "/schedules",
        json!({"name": "s", "layers": [{"name": "l", "start": "2024-01-01T00:00:00Z",
                                        "rotation": "1d", "users": [user]}]}),
    );
    let policy = create(
        "/escalation-policies",
        json!({"name": "p", "steps": [{"delay": "5m", "targets": [{"type": "team", "id": team}]}]}),
    );
    let window = create(
        "/maintenance-windows",
        json!({"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"}),
    );

    let secrets = [
        ("a user's password", user_password),
        ("a password hash", "$argon2"),
        ("the first endpoint secret", first_secret.as_str()),
        ("the rotated endpoint secret", second_secret.as_str()),
        ("the destination secret", destination_secret),
        ("a refused endpoint's secret", refused_secret),
        ("the admin token", token.as_str()),
        ("a refused admin token", refused_token),
        ("the session cookie", cookie.as_str()),
    ];
    let assert_clean = |what: &str, text: &str| {
        for (name, secret) in secrets {
            assert!(!text.contains(secret), "{name} appears in {what}:\n{text}");
        }
    };

    // Every API read, with real ids in its path.
    let with_ids = |path: &str| -> String {
        let id: &str = if path.contains("/endpoints/") || path.contains("/sources/") {
            &endpoint
        } else if path.contains("/inbound/") {
            &inbound[0]
        } else if path.contains("/alerts/") {
            &alert
        } else if path.contains("/deliveries/") {
            &delivery
        } else if path.contains("/users/") {
            &user
        } else if path.contains("/teams/") {
            &team
        } else if path.contains("/schedules/") {
            &schedule
        } else if path.contains("/escalation-policies/") {
            &policy
        } else if path.contains("/maintenance-windows/") {
            &window
        } else {
            "x"
        };
        fill(path, id)
    };
    let mut pages = 0;
    for (method, path) in mounted_routes() {
        if method != reqwest::Method::GET {
            continue;
        }
        if let Some(api_path) = path.strip_prefix("/api/v1") {
            let (status, answer) = api("GET", &with_ids(api_path), None);
            assert_eq!(status, 200, "GET {path}: {answer}");
            assert_clean(&format!("GET {path}"), &answer);
            pages += 1;
        } else if path.starts_with("/ui") {
            let get = |url: &str| {
                client
                    .get(format!("{base}{url}"))
                    .header("cookie", format!("{COOKIE}={cookie}"))
                    .send()
                    .unwrap()
            };
            let mut response = get(&with_ids(&path));
            if response.status().as_u16() == 303 {
                // A redirect is followed and its target scanned; one to sign-in means the page
                // was never shown, so it would have been scanned for nothing.
                let location = response.headers()["location"].to_str().unwrap().to_string();
                assert!(
                    !location.starts_with("/ui/login"),
                    "GET {path} redirected to sign-in: its page was not scanned"
                );
                response = get(&location);
            }
            let status = response.status().as_u16();
            // The disconnect page of a source not connected to Bitbucket is a refusal page.
            let refusal = path.ends_with("/disconnect") && status == 409
                // Without an OAuth consumer the OAuth pages say so; a callback without a state
                // handed out is refused.
                || (path.starts_with("/ui/bitbucket/") && [400, 404].contains(&status));
            assert!(status == 200 || refusal, "GET {path}: {status}");
            assert_clean(&format!("GET {path}"), &response.text().unwrap());
            pages += 1;
        }
    }
    assert!(pages >= 20, "{pages}");
    // Every record, signature header included, is redacted.
    for id in &inbound {
        let (_, record) = api("GET", &format!("/inbound/{id}"), None);
        assert_clean(&format!("inbound record {id}"), &record);
        let record = json_of(&record);
        let signature = record["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|header| header[0] == "x-hub-signature")
            .unwrap_or_else(|| panic!("{record}"));
        assert_eq!(signature[1], "[redacted]", "{record}");
    }

    gateway.kill_9();
    let log = gateway.log();
    assert!(log.contains("hookgate listening"), "{log}");
    assert!(
        log.contains("sign-in refused"),
        "the log is captured: {log}"
    );
    assert_clean("the gateway's log", &log);
}
