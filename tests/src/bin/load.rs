//! Ingest load: signed real Bitbucket payloads at 32 connections against (a) a bare actix-web
//! handler answering 202 (the ceiling of this process layout) and (b) hookgate's durable ingest
//! (verify, parse, group-committed redb record, 202), in one run; prints requests/s, p50/p99
//! and the ratio.
//!
//! `cargo run --release -p hookgate-tests --bin load -- [seconds] [connections]`

use actix_web::{App, HttpResponse, HttpServer, web};
use hookgate::config::GatewayConfig;
use hookgate_tests::commit_status_payload;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Measured {
    requests: usize,
    errors: usize,
    /// Answers other than 202 by status (0: no answer).
    error_statuses: std::collections::BTreeMap<u16, usize>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

async fn drive(
    url: String,
    body: Arc<String>,
    signature: String,
    seconds: u64,
    connections: usize,
) -> Measured {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let (client, url, body, signature) =
                (client.clone(), url.clone(), body.clone(), signature.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors: Vec<u16> = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .header("X-Event-Key", "repo:commit_status_updated")
                        .header("X-Request-UUID", format!("load-{worker}-{n}"))
                        .header("X-Hub-Signature", &signature)
                        .body(body.as_bytes().to_vec())
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status().as_u16() == 202 => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        Ok(response) => errors.push(response.status().as_u16()),
                        Err(_) => errors.push(0),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut error_statuses = std::collections::BTreeMap::new();
    for task in tasks {
        let (mut worker_latencies, worker_errors) = task.await.unwrap();
        latencies.append(&mut worker_latencies);
        for status in worker_errors {
            *error_statuses.entry(status).or_insert(0) += 1;
        }
    }
    let errors = error_statuses.values().sum();
    let elapsed = started.elapsed();
    latencies.sort();
    Measured {
        requests: latencies.len(),
        errors,
        error_statuses,
        elapsed,
        latencies,
    }
}

fn start_bare() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/bare", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            HttpServer::new(|| {
                App::new().route(
                    "/hooks/{id}",
                    web::post().to(|_body: web::Bytes| async {
                        HttpResponse::Accepted().json(json!({"status": "accepted"}))
                    }),
                )
            })
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    url
}

fn print(name: &str, measured: &Measured) {
    println!(
        "{name:32} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} errors {:?}, {:.1} s)",
        measured.rate(),
        measured.percentile(0.50).as_secs_f64() * 1000.0,
        measured.percentile(0.99).as_secs_f64() * 1000.0,
        measured.requests,
        measured.errors,
        measured.error_statuses,
        measured.elapsed.as_secs_f64(),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    hookgate::install_tls_provider();
    let body = Arc::new(commit_status_payload("FAILED"));

    // (b) hookgate: an endpoint that verifies and logs (no plugins), so this measures ingest.
    let gateway = hookgate_tests::gateway::TestGateway::start(|config: &mut GatewayConfig| {
        config.ingest.max_backlog = 10_000_000;
    });
    let endpoint: Value =
        gateway.create_endpoint(json!({"name": "load", "events": ["repo:commit_status_updated"]}));
    let hook_url = endpoint["url"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let signature = hookgate::verify::sign_hub_sha256(&secret, body.as_bytes());
    let bare_url = start_bare();
    std::thread::sleep(Duration::from_millis(300));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "ingest load: {} byte signed commit-status payload, {connections} connections, {seconds} s each",
        body.len()
    );
    let bare = runtime.block_on(drive(
        bare_url,
        body.clone(),
        signature.clone(),
        seconds,
        connections,
    ));
    print("bare actix 202 (ceiling)", &bare);
    let durable = runtime.block_on(drive(
        hook_url,
        body.clone(),
        signature,
        seconds,
        connections,
    ));
    print("hookgate durable ingest", &durable);
    println!("ratio durable / bare: {:.2}", durable.rate() / bare.rate());
}
