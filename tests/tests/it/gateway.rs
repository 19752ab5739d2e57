//! The gateway end to end: a real server on 127.0.0.1, real redb, real plugins, real deliveries
//! to a capture receiver.

use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use hookgate_tests::{commit_status_payload, fixture};
use serde_json::{Value, json};
use std::time::Duration;

/// An endpoint like the seeds': pipeline alerts and embeds, to a Discord-shaped receiver.
pub(crate) fn seeds_endpoint(
    gateway: &TestGateway,
    receiver: &CaptureReceiver,
) -> (String, String) {
    let answer = gateway.create_endpoint(json!({
        "name": "widgets CI",
        "provider": "bitbucket",
        "events": "all",
        "alerts": {"plugin": "bitbucket-pipelines"},
        "format": {"plugin": "bitbucket-embeds"},
        "destinations": [{"notifier": "notifier", "kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    (
        answer["url"].as_str().unwrap().to_string(),
        answer["secret"].as_str().unwrap().to_string(),
    )
}

pub(crate) fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

#[test]
fn failed_pipelines_open_append_and_close_one_alert() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (url, secret) = seeds_endpoint(&gateway, &receiver);
    let post = |state: &str, n: usize| {
        let (status, answer) = gateway.post_hook(
            &url,
            "repo:commit_status_updated",
            &commit_status_payload(state),
            Some(&secret),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["status"], "accepted");
        gateway.processed(answer["id"].as_str().unwrap())
    };
    let outcome = |record: &Value| {
        record["outcomes"][0]["outcome"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };

    let first = post("FAILED", 1);
    assert_eq!(first["status"], "processed", "{first}");
    assert_eq!(outcome(&first), "Mapped Opened");
    let opened = receiver.wait_for_requests(1);
    let embed = &opened[0].json()["embeds"][0];
    assert_eq!(embed["color"], 0xE74C3C, "{embed}");
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .contains("Pipeline #4 for main failed"),
        "{embed}"
    );
    assert!(
        opened[0]
            .header("idempotency-key")
            .is_some_and(|key| key.starts_with("dl_"))
    );

    let second = post("FAILED", 2);
    assert_eq!(outcome(&second), "Mapped Appended");
    let (_, alerts) = gateway.api("GET", "/alerts?state=open", None);
    assert_eq!(alerts["items"].as_array().unwrap().len(), 1);
    let alert = &alerts["items"][0];
    assert_eq!(alert["count"], 2);
    assert_eq!(alert["key"], "automationtestharness/testrepo:main");
    assert_eq!(alert["history"].as_array().unwrap().len(), 2);

    let closed = post("SUCCESSFUL", 3);
    assert_eq!(outcome(&closed), "Mapped Closed");
    receiver.wait_for_requests(2);
    // Exactly two: wait until every delivery has ended before counting, so a third (for the
    // appended failure) would have arrived by now.
    wait_for("the deliveries to end", Duration::from_secs(30), || {
        gateway.settled()
    });
    let notified = receiver.captured();
    assert_eq!(
        notified.len(),
        2,
        "no notification for the appended failure"
    );
    assert!(
        notified[1].json()["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Resolved")
    );
    let (_, alert) = gateway.api(
        "GET",
        &format!("/alerts/{}", alert["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(alert["state"], "closed");

    assert_eq!(outcome(&post("SUCCESSFUL", 4)), "Close Unmatched");
    assert_eq!(outcome(&post("FAILED", 5)), "Mapped Opened");
    assert_eq!(outcome(&post("INPROGRESS", 6)), "Mapped Closed");
    assert!(outcome(&post("STOPPED", 7)).starts_with("Ignored: "));
    receiver.wait_for_requests(4);
    let (_, all) = gateway.api("GET", "/alerts", None);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        2,
        "a closed key opens a new alert"
    );
}

#[test]
fn pushes_and_pull_requests_become_coloured_embeds() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (url, secret) = seeds_endpoint(&gateway, &receiver);
    let cases = [
        ("repo:push", "repo_push.json", None),
        (
            "pullrequest:created",
            "pullrequest_created.json",
            Some(0x2ECC71),
        ),
        (
            "pullrequest:fulfilled",
            "pullrequest_fulfilled.json",
            Some(0x9B59B6),
        ),
        (
            "pullrequest:rejected",
            "pullrequest_rejected.json",
            Some(0xE74C3C),
        ),
        (
            "pullrequest:comment_created",
            "pullrequest_comment_created.json",
            None,
        ),
        ("pullrequest:approved", "pullrequest_approved.json", None),
    ];
    for (n, (event, file, _)) in cases.iter().enumerate() {
        let (status, answer) =
            gateway.post_hook(&url, event, &fixture(file), Some(&secret), &uuid(100 + n));
        assert_eq!(status, 202, "{event}: {answer}");
        let record = gateway.processed(answer["id"].as_str().unwrap());
        let formatted = record["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|outcome| outcome["plugin"] == "bitbucket-embeds")
            .expect("the formatter's outcome");
        assert_eq!(formatted["outcome"], "Formatted", "{event}");
        // The outbox sends concurrently: wait for this message before the next is made, so
        // the receiver's order is the cases' order.
        receiver.wait_for_requests(n + 1);
    }
    let requests = receiver.wait_for_requests(cases.len());
    for (request, (event, _, colour)) in requests.iter().zip(cases) {
        let body = request.json();
        if let Some(colour) = colour {
            assert_eq!(body["embeds"][0]["color"], colour, "{event}");
        }
    }
    assert!(
        requests[0].body.contains("c14c1bb"),
        "the push lists its commit"
    );
    assert!(requests[4].body.contains("a comment"), "the comment's text");
}

#[test]
fn a_template_endpoint_renders_text() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let answer = gateway.create_endpoint(json!({
        "name": "template",
        "events": ["repo:push"],
        "format": {"template": "{{actor.display_name}} pushed to {{repository.full_name}} ({{event_key}})"},
        "destinations": [{"kind": "webhook", "url": format!("{}/generic", receiver.url)}],
    }));
    let (status, posted) = gateway.post_hook(
        answer["url"].as_str().unwrap(),
        "repo:push",
        &fixture("repo_push.json"),
        answer["secret"].as_str(),
        &uuid(1),
    );
    assert_eq!(status, 202);
    gateway.processed(posted["id"].as_str().unwrap());
    let request = &receiver.wait_for_requests(1)[0];
    let envelope = request.json();
    assert_eq!(envelope["type"], "message");
    assert_eq!(
        envelope["message"]["text"],
        "Martin Herren pushed to martinherren1984/publictestrepo (repo:push)"
    );

    let (status, refused) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "bad", "format": {"template": "{{#if x}} unclosed"}})),
    );
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("template"),
        "{refused}"
    );
}

#[test]
fn every_ingest_check_answers_and_logs_as_the_spec_says() {
    let gateway = TestGateway::start(|config| config.ingest.max_body_bytes = 16 * 1024);
    let receiver = CaptureReceiver::start();
    let answer = gateway.create_endpoint(json!({
        "name": "checks",
        "events": "push",
        "destinations": [{"kind": "webhook", "url": format!("{}/x", receiver.url)}],
    }));
    assert_eq!(answer["events"], json!(["repo:push"]));
    let url = answer["url"].as_str().unwrap().to_string();
    let id = answer["id"].as_str().unwrap().to_string();
    let secret = answer["secret"].as_str().unwrap().to_string();
    let push = fixture("repo_push.json");
    let client = reqwest::blocking::Client::new();
    let send = |headers: &[(&str, String)], body: Vec<u8>| {
        let mut request = client.post(&url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let signed = |body: &[u8]| hookgate::verify::sign_hub_sha256(&secret, body);
    let event = ("X-Event-Key", "repo:push".to_string());

    // Unknown endpoint: 404, not logged.
    let unknown = client
        .post(format!("{}/hooks/nope", gateway.url))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    // (what, headers, body, expected status, expected reason)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing signature",
            vec![event.clone()],
            push.clone().into_bytes(),
            401,
            "signature missing",
        ),
        (
            "wrong secret",
            vec![
                event.clone(),
                (
                    "X-Hub-Signature",
                    hookgate::verify::sign_hub_sha256("wrong", push.as_bytes()),
                ),
            ],
            push.clone().into_bytes(),
            401,
            "signature mismatch",
        ),
        (
            "upper-case hex",
            vec![
                event.clone(),
                (
                    "X-Hub-Signature",
                    signed(push.as_bytes())
                        .to_uppercase()
                        .replace("SHA256=", "sha256="),
                ),
            ],
            push.clone().into_bytes(),
            401,
            "signature mismatch",
        ),
        (
            "truncated hex",
            vec![
                event.clone(),
                ("X-Hub-Signature", signed(push.as_bytes())[..40].to_string()),
            ],
            push.clone().into_bytes(),
            401,
            "signature mismatch",
        ),
        (
            "no prefix",
            vec![
                event.clone(),
                ("X-Hub-Signature", signed(push.as_bytes())[7..].to_string()),
            ],
            push.clone().into_bytes(),
            401,
            "signature mismatch",
        ),
        (
            "missing event header",
            vec![("X-Hub-Signature", signed(b"{}"))],
            b"{}".to_vec(),
            400,
            "X-Event-Key header missing",
        ),
        (
            "empty event header",
            vec![
                ("X-Event-Key", String::new()),
                ("X-Hub-Signature", signed(b"{}")),
            ],
            b"{}".to_vec(),
            400,
            "X-Event-Key header missing",
        ),
        (
            "blank event header",
            vec![
                ("X-Event-Key", "   ".into()),
                ("X-Hub-Signature", signed(b"{}")),
            ],
            b"{}".to_vec(),
            400,
            "X-Event-Key header missing",
        ),
        (
            "invalid JSON",
            vec![event.clone(), ("X-Hub-Signature", signed(b"{nope"))],
            b"{nope".to_vec(),
            400,
            "body is not JSON",
        ),
        (
            "invalid UTF-8",
            vec![event.clone(), ("X-Hub-Signature", signed(b"\xff\xfe"))],
            b"\xff\xfe".to_vec(),
            400,
            "body is not UTF-8",
        ),
    ];
    for (what, headers, body, status, reason) in cases {
        let (answered, json) = send(&headers, body);
        assert_eq!(answered, status, "{what}: {json}");
        assert!(
            json["error"].as_str().unwrap().starts_with(reason),
            "{what}: {json}"
        );
        let record = gateway
            .api(
                "GET",
                &format!("/inbound/{}", json["id"].as_str().unwrap()),
                None,
            )
            .1;
        assert_eq!(record["status"], "rejected", "{what}");
        assert_eq!(record["reason"], json["error"], "{what}");
    }

    // One byte over the limit: 413, logged with headers only.
    let over = vec![b' '; 16 * 1024 + 1];
    let (status, json) = send(&[event.clone(), ("X-Hub-Signature", signed(&over))], over);
    assert_eq!(status, 413, "{json}");
    let record = gateway
        .api(
            "GET",
            &format!("/inbound/{}", json["id"].as_str().unwrap()),
            None,
        )
        .1;
    assert_eq!(
        (record["status"].as_str(), record["body"].as_str()),
        (Some("rejected"), Some(""))
    );
    // Exactly at the limit passes the size check (and fails later as non-JSON).
    let at_limit = vec![b' '; 16 * 1024];
    assert_eq!(
        send(
            &[event.clone(), ("X-Hub-Signature", signed(&at_limit))],
            at_limit
        )
        .0,
        400
    );

    // Unselected event: 202 filtered.
    let pr = fixture("pullrequest_created.json");
    let (status, json) = send(
        &[
            ("X-Event-Key", "pullrequest:created".into()),
            ("X-Hub-Signature", signed(pr.as_bytes())),
        ],
        pr.clone().into_bytes(),
    );
    assert_eq!((status, json["status"].as_str()), (202, Some("filtered")));
    // Unknown to the provider: filtered too.
    let (status, json) = send(
        &[
            ("X-Event-Key", "repo:renamed".into()),
            ("X-Hub-Signature", signed(b"{}")),
        ],
        b"{}".to_vec(),
    );
    assert_eq!((status, json["status"].as_str()), (202, Some("filtered")));

    // Accepted, then the same X-Request-UUID again: 200 duplicate with the original's id.
    let headers = vec![
        event.clone(),
        ("X-Hub-Signature", signed(push.as_bytes())),
        ("X-Request-UUID", uuid(9)),
    ];
    let (status, accepted) = send(&headers, push.clone().into_bytes());
    assert_eq!(
        (status, accepted["status"].as_str()),
        (202, Some("accepted"))
    );
    let (status, duplicate) = send(&headers, push.clone().into_bytes());
    assert_eq!(
        (status, duplicate["status"].as_str()),
        (200, Some("duplicate"))
    );
    assert_eq!(duplicate["id"], accepted["id"]);
    let (_, duplicates) = gateway.api(
        "GET",
        &format!("/inbound?endpoint={id}&status=duplicate"),
        None,
    );
    assert_eq!(duplicates["items"].as_array().unwrap().len(), 1);

    // The stored headers never carry the signature.
    let record = gateway
        .api(
            "GET",
            &format!("/inbound/{}", accepted["id"].as_str().unwrap()),
            None,
        )
        .1;
    assert!(record["headers"].to_string().contains("[redacted]"));
    assert!(!record.to_string().contains(&signed(push.as_bytes())[7..]));

    // Disabled: 410, logged.
    assert_eq!(
        gateway.api("DELETE", &format!("/endpoints/{id}"), None).0,
        200
    );
    let (status, json) = send(&headers, push.clone().into_bytes());
    assert_eq!(
        (status, json["error"].as_str()),
        (410, Some("endpoint disabled"))
    );

    let (_, rejected) = gateway.api(
        "GET",
        &format!("/inbound?endpoint={id}&status=rejected&limit=500"),
        None,
    );
    assert_eq!(rejected["items"].as_array().unwrap().len(), 13);
}

#[test]
fn an_unknown_event_in_the_selection_is_a_422_naming_the_valid_ones() {
    let gateway = TestGateway::start(|_| {});
    let (status, answer) = gateway.api(
        "POST",
        "/endpoints",
        Some(json!({"name": "x", "events": ["repo:push", "repo:forked"]})),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("repo:forked"));
    assert!(
        answer["valid_events"]
            .as_array()
            .unwrap()
            .contains(&json!("pullrequest:created"))
    );
}

#[test]
fn private_destinations_are_refused_unless_allowed() {
    let gateway = TestGateway::start(|config| config.delivery.allow_private_destinations = false);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://10.0.0.8/x",
    ] {
        let (status, answer) = gateway.api(
            "POST",
            "/endpoints",
            Some(json!({
                "name": "ssrf",
                "destinations": [{"kind": "webhook", "url": url}],
            })),
        );
        assert_eq!(status, 422, "{url}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("private"),
            "{answer}"
        );
    }
}

#[test]
fn every_admin_route_needs_the_token() {
    // A wrong token on every route is past the wrong-token throttle (tested in security::).
    let gateway = TestGateway::start(|config| config.http.auth_failures_per_minute = 0);
    let client = reqwest::blocking::Client::new();
    let routes = [
        ("POST", "/endpoints"),
        ("GET", "/endpoints"),
        ("GET", "/endpoints/x"),
        ("PATCH", "/endpoints/x"),
        ("DELETE", "/endpoints/x"),
        ("POST", "/endpoints/x/rotate-secret"),
        ("POST", "/endpoints/x/test"),
        ("GET", "/inbound"),
        ("GET", "/inbound/in_1"),
        ("POST", "/inbound/in_1/replay"),
        ("GET", "/alerts"),
        ("GET", "/alerts/al_1"),
        ("POST", "/alerts/al_1/ack"),
        ("POST", "/alerts/al_1/close"),
        ("GET", "/deliveries"),
        ("POST", "/deliveries/dl_1/retry"),
        ("GET", "/plugins"),
        ("POST", "/plugins/reload"),
        ("GET", "/no-such-route"),
    ];
    for (method, path) in routes {
        for token in [None, Some("wrong-token"), Some("")] {
            let mut request = client.request(
                method.parse().unwrap(),
                format!("{}/api/v1{path}", gateway.url),
            );
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().unwrap();
            assert_eq!(
                response.status().as_u16(),
                401,
                "{method} {path} with {token:?}"
            );
            let body: Value = response.json().unwrap();
            assert!(body["error"].is_string());
        }
    }
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert!(
            client
                .get(format!("{}{open}", gateway.url))
                .send()
                .unwrap()
                .status()
                .is_success(),
            "{open}"
        );
    }
}

#[test]
fn secrets_are_shown_once_and_rotation_changes_them() {
    let gateway = TestGateway::start(|_| {});
    let created = gateway.create_endpoint(json!({"name": "secret"}));
    let id = created["id"].as_str().unwrap();
    assert!(id.len() >= 22, "at least 128 random bits: {id}");
    let first = created["secret"].as_str().unwrap().to_string();
    assert_eq!(first.len(), 64);
    let (_, shown) = gateway.api("GET", &format!("/endpoints/{id}"), None);
    assert_eq!(shown["secret_set"], true);
    assert!(shown.get("secret").is_none() && !shown.to_string().contains(&first));
    let (_, rotated) = gateway.api("POST", &format!("/endpoints/{id}/rotate-secret"), None);
    let second = rotated["secret"].as_str().unwrap();
    assert_ne!(second, first);
    let (status, _) = gateway.post_hook(
        created["url"].as_str().unwrap(),
        "repo:push",
        "{}",
        Some(&first),
        &uuid(1),
    );
    assert_eq!(status, 401, "the old secret no longer verifies");
    let (status, _) = gateway.post_hook(
        created["url"].as_str().unwrap(),
        "repo:push",
        "{}",
        Some(second),
        &uuid(2),
    );
    assert_eq!(status, 202);
}

#[test]
fn the_dry_run_uses_the_providers_sample_and_stores_nothing() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    let (_, _) = seeds_endpoint(&gateway, &receiver);
    let (_, endpoints) = gateway.api("GET", "/endpoints", None);
    let id = endpoints["items"][0]["id"].as_str().unwrap().to_string();
    let (status, result) = gateway.api(
        "POST",
        &format!("/endpoints/{id}/test"),
        Some(json!({"event": "pullrequest:created"})),
    );
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["message"]["embeds"][0]["colour"], 0x2ECC71);
    assert_eq!(result["requests"].as_array().unwrap().len(), 1);
    let (_, result) = gateway.api("POST", &format!("/endpoints/{id}/test"), Some(json!({"event": "repo:commit_status_updated", "body": serde_json::from_str::<Value>(&commit_status_payload("FAILED")).unwrap()})));
    assert_eq!(result["actions"][0]["action"], "open", "{result}");
    // Nothing stored: no record, no alert, no delivery (and so nothing that could be sent
    // later; a sleep would prove nothing).
    for list in ["/inbound", "/alerts", "/deliveries"] {
        assert!(gateway.all(list).is_empty(), "a dry run stored {list}");
    }
    assert!(
        receiver.captured().is_empty(),
        "nothing is sent by a dry run"
    );
}

#[test]
fn a_hostile_plugin_fails_its_records_and_a_full_backlog_answers_503() {
    let gateway = TestGateway::start(|config| {
        config.ingest.max_backlog = 1;
        config.plugins.timeout_ms = 50;
    });
    let plugins = gateway.data_path().join("plugins");
    std::fs::write(
        plugins.join(".hostile.partial"),
        hookgate_tests::plugin_bytes("hostile"),
    )
    .unwrap();
    std::fs::rename(
        plugins.join(".hostile.partial"),
        plugins.join("hostile.wasm"),
    )
    .unwrap();
    wait_for("the drop-in", Duration::from_secs(10), || {
        gateway
            .api("GET", "/plugins", None)
            .1
            .to_string()
            .contains("\"hostile\"")
    });
    let answer = gateway.create_endpoint(json!({
        "name": "hostile",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "hostile", "config": {"behaviour": "loop"}},
    }));
    let url = answer["url"].as_str().unwrap();
    let secret = answer["secret"].as_str().unwrap();
    // (status, Retry-After, answer) of each post.
    let statuses: Vec<(u16, Option<String>, Value)> = (0..6)
        .map(|n| {
            let response = gateway
                .try_post_hook(
                    url,
                    "repo:commit_status_updated",
                    &commit_status_payload("FAILED"),
                    Some(secret),
                    &uuid(n),
                )
                .expect("an answer");
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_string());
            (
                response.status().as_u16(),
                retry_after,
                response.json().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(statuses[0].0, 202);
    let (_, retry_after, refused) = statuses
        .iter()
        .find(|(status, _, _)| *status == 503)
        .expect("a 503 once the backlog is full");
    assert!(refused["error"].as_str().unwrap().contains("backlog"));
    // A sender is told when to come back: a whole number of seconds, as RFC 9110 spells it.
    let seconds: u64 = retry_after
        .as_deref()
        .expect("the 503 carries Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(seconds > 0, "Retry-After: {seconds}");
    let record = gateway.processed(statuses[0].2["id"].as_str().unwrap());
    assert_eq!(record["status"], "failed");
    assert_eq!(
        record["outcomes"][0]["outcome"],
        "Plugin Failed: timeout: the call ran past 50 ms"
    );
    // The gateway carries on.
    assert!(
        reqwest::blocking::get(format!("{}/readyz", gateway.url))
            .unwrap()
            .status()
            .is_success()
    );
    let metrics = reqwest::blocking::get(format!("{}/metrics", gateway.url))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("hookgate_plugin_failures_total{plugin=\"hostile\",reason=\"timeout\"} "),
        "{metrics}"
    );
    assert!(metrics.contains("status=\"503\""), "{metrics}");
}
