//! Issue 16, items 1, 2 and 8: `/metrics` gives away no webhook URL (and can need the token),
//! every route's body has a deadline, one client address cannot hold every connection slot,
//! and a rejected record keeps at most 4 KiB of headers.

use super::credentials::client_from;
use crate::gateway::uuid;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ADMIN_TOKEN, TestGateway};
use serde_json::{Value, json};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn metrics_can_require_the_admin_token() {
    let gateway = TestGateway::start(|config| config.http.metrics_require_token = true);
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/metrics", gateway.url);
    assert_eq!(client.get(&url).send().unwrap().status(), 401);
    let scraped = client.get(&url).bearer_auth(ADMIN_TOKEN).send().unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().unwrap().contains("hookgate_queue_depth "));
}

/// Sends `head`, then one byte of body every 200 ms; returns what the server answered and
/// whether it closed the connection, within `limit`.
fn slow_body(address: &str, head: &str, limit: Duration) -> (String, bool, Duration) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut closed = false;
    while started.elapsed() < limit {
        if received.is_empty() && stream.write_all(b"a").is_err() {
            closed = true;
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        closed,
        started.elapsed(),
    )
}

#[test]
fn a_slow_body_on_the_console_sign_in_or_the_api_is_cut_by_its_deadline() {
    let gateway = TestGateway::start(|config| config.http.body_timeout_secs = 1);
    let address = gateway.url.trim_start_matches("http://").to_string();
    let heads = [
        // Issue 16's probe: the sign-in form, one byte at a time.
        "POST /ui/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
            .to_string(),
        format!(
            "POST /api/v1/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        ),
    ];
    for head in heads {
        let (answer, closed, took) = slow_body(&address, &head, Duration::from_secs(20));
        assert!(answer.starts_with("HTTP/1.1 408"), "{head}: {answer:?}");
        assert!(
            answer.contains(r#""error":"body not received within 1 s""#),
            "{answer:?}"
        );
        assert!(closed, "{head}: the connection stayed open");
        assert!(took < Duration::from_secs(10), "{head}: {took:?}");
    }
}

#[test]
fn one_client_cannot_hold_every_connection_slot() {
    // Issue 16's setup: four slots, bodies slower than any deadline the test waits for.
    let gateway = TestGateway::start(|config| {
        config.http.max_connections = 4;
        config.http.body_timeout_secs = 120;
        config.http.header_timeout_secs = 120;
        config.http.keep_alive_secs = 1;
    });
    let endpoint = gateway.create_endpoint(json!({"name": "ingest"}));
    // The harness's own client (also 127.0.0.1) lets its idle connection go first.
    std::thread::sleep(Duration::from_secs(3));
    let address = gateway.url.trim_start_matches("http://").to_string();
    let head = "POST /ui/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nt";
    // Four slow sign-ins from 127.0.0.1, enough to fill every slot: one gets the client's slot
    // (4 / 4), the rest are answered 503 and closed at once.
    let mut slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .collect();
    // Another client's webhook is served at once, not after the slow bodies.
    std::thread::sleep(Duration::from_millis(500));
    let body = commit_status_payload("SUCCESSFUL");
    let other = client_from("127.0.0.2");
    let response = other
        .post(endpoint["url"].as_str().unwrap())
        .timeout(Duration::from_secs(10))
        .header("X-Event-Key", "repo:commit_status_updated")
        .header("X-Request-UUID", uuid(1))
        .header(
            "X-Hub-Signature",
            hookgate::verify::sign_hub_sha256(
                endpoint["secret"].as_str().unwrap(),
                body.as_bytes(),
            ),
        )
        .body(body)
        .send()
        .expect("a webhook beside the slow client");
    assert_eq!(response.status(), 202);
    let mut refused = 0;
    for stream in &mut slow {
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut answer = Vec::new();
        match stream.read_to_end(&mut answer) {
            // Closed: with the 503, or reset before it was read.
            Ok(_) => {
                let text = String::from_utf8_lossy(&answer);
                assert!(
                    text.is_empty() || text.starts_with("HTTP/1.1 503"),
                    "{text}"
                );
                refused += 1;
            }
            Err(error) if error.kind() == ErrorKind::ConnectionReset => refused += 1,
            Err(_) => {} // still open: the one slot
        }
    }
    assert_eq!(refused, 3, "connections of one client past its cap");

    let metrics = other
        .get(format!("{}/metrics", gateway.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("hookgate_connections_refused_total 3\n"),
        "{metrics}"
    );
}

#[test]
fn a_rejected_record_keeps_at_most_4_kib_of_headers() {
    let gateway = TestGateway::start(|_| {});
    let endpoint = gateway.create_endpoint(json!({"name": "padded"}));
    let padding = "p".repeat(2000);
    let names: Vec<String> = (0..30).map(|n| format!("X-Pad-{n:02}")).collect();
    let mut headers: Vec<(&str, &str)> = names
        .iter()
        .map(|name| (name.as_str(), padding.as_str()))
        .collect();
    headers.push(("X-Event-Key", "repo:push"));
    headers.push(("X-Hub-Signature", "sha256=00"));
    let (status, answer) = gateway.post_raw(endpoint["url"].as_str().unwrap(), &headers, b"{}");
    assert_eq!(status, 401, "{answer}");
    let (_, record) = gateway.api(
        "GET",
        &format!("/inbound/{}", answer["id"].as_str().unwrap()),
        None,
    );
    let stored: Vec<(String, String)> = record["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("{record}"))
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_string(),
                pair[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let (marker, kept) = stored.split_last().unwrap();
    assert_eq!(marker.0, "x-hookgate-headers-dropped", "{stored:?}");
    let bytes: usize = kept
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    assert!(bytes <= 4096, "{bytes} bytes of headers kept");
    // The provider's own headers are kept first.
    for name in ["x-event-key", "x-hub-signature"] {
        assert!(
            kept.iter().any(|(kept, _)| kept == name),
            "{name} in {kept:?}"
        );
    }
    let _: Value = record;
}
