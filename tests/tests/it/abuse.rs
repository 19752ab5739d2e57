//! Abusive clients: a per-endpoint rate limit (429 with `Retry-After`), a per-client cap on the
//! rejected-request records a flood can create, slow headers and bodies cut by read deadlines,
//! and a bound on the connections served at once. Raw `TcpStream`s play the slow and numerous
//! clients.

use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{TestGateway, wait_for};
use serde_json::{Value, json};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Creates an endpoint that only logs; returns its id, URL and secret.
fn logging_endpoint(gateway: &TestGateway, extra: Value) -> (String, String, String) {
    let mut body = json!({"name": "abuse", "provider": "bitbucket", "events": "all"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let answer = gateway.create_endpoint(body);
    let text = |key: &str| answer[key].as_str().unwrap().to_string();
    (text("id"), text("url"), text("secret"))
}

/// Posts a signed commit status (or one with a wrong signature); returns the whole answer.
fn post(url: &str, secret: &str, n: usize, signed: bool) -> reqwest::blocking::Response {
    let body = commit_status_payload("SUCCESSFUL");
    let signature = if signed {
        hookgate::verify::sign_hub_sha256(secret, body.as_bytes())
    } else {
        format!("sha256={}", "0".repeat(64))
    };
    reqwest::blocking::Client::new()
        .post(url)
        .header("X-Event-Key", "repo:commit_status_updated")
        .header("X-Request-UUID", format!("00000000-0000-4000-8000-{n:012}"))
        .header("X-Hub-Signature", signature)
        .body(body)
        .send()
        .expect("posting")
}

/// The endpoint's inbound records with this status.
fn records(gateway: &TestGateway, endpoint: &str, status: &str) -> Vec<Value> {
    let (_, page) = gateway.api(
        "GET",
        &format!("/inbound?endpoint={endpoint}&status={status}&limit=500"),
        None,
    );
    page["items"].as_array().unwrap().clone()
}

#[test]
fn an_endpoint_over_its_rate_gets_429_with_retry_after_and_a_record() {
    const BURST: usize = 3;
    let gateway = TestGateway::start(|config| {
        config.ingest.rate_limit_per_second = 1;
        config.ingest.rate_limit_burst = BURST as u32;
    });
    let (id, url, secret) = logging_endpoint(&gateway, json!({}));

    // At 1 per second after a burst of 3, a 429 comes within a few posts; how many pass
    // before it depends only on how long the posts took.
    let started = Instant::now();
    let mut accepted = 0;
    let refused = loop {
        let response = post(&url, &secret, accepted, true);
        if response.status() == 429 {
            break response;
        }
        assert_eq!(response.status(), 202);
        accepted += 1;
        assert!(accepted < 100, "no 429 after 100 posts");
    };
    let refill = started.elapsed().as_secs() as usize + 1;
    assert!(
        (BURST..=BURST + refill).contains(&accepted),
        "{accepted} accepted before the 429"
    );
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, 1);
    let answer: Value = refused.json().unwrap();
    assert_eq!(
        answer["error"],
        "rate limit of 1 requests per second (burst 3) exceeded"
    );
    let record = gateway
        .api(
            "GET",
            &format!("/inbound/{}", answer["id"].as_str().unwrap()),
            None,
        )
        .1;
    assert_eq!(record["status"], "rejected");
    assert_eq!(record["reason"], answer["error"]);

    // Another endpoint has its own bucket, and an endpoint's own limit overrides [ingest]'s:
    // per_second 0 is none.
    let (other_id, other_url, other_secret) = logging_endpoint(
        &gateway,
        json!({"rate_limit": {"per_second": 0, "burst": 0}}),
    );
    for n in 0..10 {
        assert_eq!(
            post(&other_url, &other_secret, 1000 + n, true).status(),
            202
        );
    }
    let (status, shown) = gateway.api("GET", &format!("/endpoints/{other_id}"), None);
    assert_eq!(status, 200);
    assert_eq!(shown["rate_limit"], json!({"per_second": 0, "burst": 0}));
    let (status, answer) = gateway.api(
        "PATCH",
        &format!("/endpoints/{id}"),
        Some(json!({"rate_limit": {"per_second": 5, "burst": 0}})),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("burst"));
}

#[test]
fn a_flood_of_bad_requests_records_at_most_the_cap_per_client() {
    const CAP: usize = 3;
    const FLOOD: usize = 10;
    let gateway = TestGateway::start(|config| {
        config.ingest.rejected_records_per_minute = CAP as u32;
    });
    let (id, url, secret) = logging_endpoint(&gateway, json!({}));

    // Every rejection is answered with its status and reason; only the first CAP are recorded.
    let mut recorded_ids = Vec::new();
    for n in 0..FLOOD {
        let response = post(&url, &secret, n, false);
        assert_eq!(response.status(), 401);
        let answer: Value = response.json().unwrap();
        assert_eq!(answer["error"], "signature mismatch");
        if let Some(id) = answer["id"].as_str() {
            recorded_ids.push(id.to_string());
        }
    }
    assert_eq!(recorded_ids.len(), CAP, "{recorded_ids:?}");
    assert_eq!(records(&gateway, &id, "rejected").len(), CAP);
    let metrics = reqwest::blocking::get(format!("{}/metrics", gateway.url))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "hookgate_rejected_records_suppressed_total {}\n",
            FLOOD - CAP
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("status=\"401\"}} {FLOOD}\n")),
        "{metrics}"
    );

    // Accepted webhooks are never capped.
    let response = post(&url, &secret, FLOOD, true);
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().unwrap();
    let (status, record) = gateway.api(
        "GET",
        &format!("/inbound/{}", accepted["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(status, 200);
    assert_ne!(record["status"], "rejected");
}

/// Reads what the server sends until it closes the connection or `limit` passes; returns the
/// text and whether the connection was closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buffer) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), false)
}

/// Sends `head` at once, then `dribble` one byte every 200 ms until the server answers or
/// closes (or 30 s pass); meanwhile a signed post on another connection gets its 202.
fn dribble(gateway_url: &str, head: &str, dribble: u8, signed_post: impl Fn()) -> (String, bool) {
    let address = gateway_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut posted = false;
    while started.elapsed() < Duration::from_secs(30) {
        if stream.write_all(&[dribble]).is_err() {
            break;
        }
        if !posted {
            signed_post();
            posted = true;
        }
        match stream.read(&mut buffer) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(n) => {
                received.extend_from_slice(&buffer[..n]);
                break;
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), true),
        }
    }
    let (rest, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    (
        String::from_utf8_lossy(&received).into_owned() + &rest,
        closed,
    )
}

/// How long after the start of a 1 s deadline a slow client may still be connected.
const CUT_MARGIN: Duration = Duration::from_secs(10);

#[test]
fn slow_headers_and_slow_bodies_are_cut_by_their_deadlines() {
    let gateway = TestGateway::start(|config| {
        config.http.header_timeout_secs = 1;
        config.http.body_timeout_secs = 1;
    });
    let (id, url, secret) = logging_endpoint(&gateway, json!({}));
    let path = url.trim_start_matches(&gateway.url);
    let normal_post = |n: usize| {
        let (url, secret) = (&url, &secret);
        move || {
            let response = post(url, secret, n, true);
            assert_eq!(response.status(), 202, "a normal post beside a slow client");
        }
    };

    // Headers one byte at a time: the connection gets a 408 and is closed, near its 1 s
    // deadline (10 s is the margin a busy machine gets; a deadline not applied lets the
    // dribble run its 30 s).
    let head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    let started = Instant::now();
    let (answer, closed) = dribble(&gateway.url, &head, b'a', normal_post(1));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(closed, "the slow-header connection stayed open");
    let took = started.elapsed();
    assert!(took < CUT_MARGIN, "slow headers cut after {took:?}");

    // A body one byte at a time: 408 with a JSON reason, a rejected record, connection closed.
    let body = commit_status_payload("SUCCESSFUL");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Event-Key: repo:commit_status_updated\r\n\
         X-Hub-Signature: {}\r\nContent-Length: {}\r\n\r\n",
        hookgate::verify::sign_hub_sha256(&secret, body.as_bytes()),
        body.len()
    );
    let started = Instant::now();
    let (answer, closed) = dribble(&gateway.url, &head, b' ', normal_post(2));
    let took = started.elapsed();
    assert!(took < CUT_MARGIN, "a slow body cut after {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        answer.contains(r#""error":"body not received within 1 s""#),
        "{answer:?}"
    );
    assert!(closed, "the slow-body connection stayed open");
    let rejected = records(&gateway, &id, "rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["reason"], "body not received within 1 s");
}

/// Opens a connection, asks for `/healthz` on it (keep-alive) and says whether the answer came
/// within `wait`.
fn ask_health(address: &str, wait: Duration) -> (TcpStream, bool) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let answered = answered(&mut stream, wait);
    (stream, answered)
}

/// Whether an HTTP answer arrives on `stream` within `wait`.
fn answered(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buffer = [0u8; 1024];
    match stream.read(&mut buffer) {
        Ok(n) => String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"),
        Err(_) => false,
    }
}

#[test]
fn connections_past_the_bound_wait_until_one_closes() {
    // actix bounds connections per worker (one worker per CPU); a multiple of that count is
    // exact.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let bound = 2 * workers;
    let gateway = TestGateway::start(|config| {
        config.http.max_connections = bound;
        // Every connection here comes from one address; its own cap is tested in security.rs.
        config.http.max_connections_per_client = Some(bound);
        config.http.keep_alive_secs = 120;
    });
    let address = gateway.url.trim_start_matches("http://").to_string();

    // Fill the bound with idle keep-alive connections. The test client's pooled connection
    // may hold one slot already, so the first unanswered request comes at `bound` or before.
    let mut held = Vec::new();
    let waiting = loop {
        let (stream, was_answered) = ask_health(&address, Duration::from_secs(5));
        if !was_answered {
            break stream;
        }
        held.push(stream);
        assert!(held.len() <= bound, "more than {bound} connections served");
    };
    assert!(
        held.len() + 1 >= bound,
        "only {} connections served",
        held.len()
    );

    // Closing one lets the waiting one in.
    drop(held.pop());
    let mut waiting = waiting;
    let mut served = false;
    wait_for(
        "the waiting connection to be served",
        Duration::from_secs(30),
        || {
            served = served || answered(&mut waiting, Duration::from_millis(200));
            served
        },
    );
}
