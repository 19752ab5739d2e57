//! hookgate's benchmark suite: starts what it needs, drives it over loopback with signed real
//! Bitbucket payloads, and prints one table (rates, p50/p99, CPU, peak memory and the ratios of
//! the performance targets), all measured in the same run.
//!
//! `cargo run --release -p hookgate-tests --bin bench -- all` (or any of `p1 p2 p3 p4 p5`;
//! `--seconds N` per load phase, default 10; `--p4-seconds N`, default 60; `--connections N`,
//! default 32; `--keep` keeps the work dir with the servers' logs).

mod alertmanager;
mod load;
mod plugin_calls;
mod process;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hookgate_tests::{commit_status_payload, fixture};
use load::{Measured, RequestMaker};
use process::{CpuMeter, Server, free_address};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "bench-admin-token";
/// Alert keys of the commit-status traffic (`repository:refname`), as Alertmanager's groups.
const ALERT_KEYS: u64 = 500;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // The suite starts its servers as children of its own binary.
    match args.get(1).map(String::as_str) {
        Some("__gateway") => {
            return hookgate::cli::main_from(
                std::iter::once("hookgate".to_string()).chain(args[2..].iter().cloned()),
            );
        }
        Some("__bare") => {
            serve_bare(args[2].parse().expect("bare listen address"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let options = match Options::parse(&args[1..]) {
        Ok(options) => options,
        Err(message) => {
            eprintln!(
                "{message}\n\nusage: bench all|p1|p2|p3|p4|p5... [--seconds N] [--p4-seconds N] [--connections N] [--keep]"
            );
            return ExitCode::from(2);
        }
    };
    hookgate::install_tls_provider();
    let work = tempfile::tempdir().expect("work dir");
    let mut report = Report::default();
    println!(
        "hookgate bench: {} connections, {} s per load phase, {} s for P4; {} cores; work dir {}",
        options.connections,
        options.seconds,
        options.p4_seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        work.path().display()
    );
    if options.runs("p1") {
        p1_ingest(&options, work.path(), &mut report);
    }
    if options.runs("p2") {
        p2_alert_intake(&options, work.path(), &mut report);
    }
    if options.runs("p3") {
        p3_plugin_calls(&mut report);
    }
    if options.runs("p4") {
        p4_pipeline(&options, work.path(), &mut report);
    }
    if options.runs("p5") {
        p5_cold_start(work.path(), &mut report);
    }
    report.print();
    if options.keep {
        println!("\nservers' logs kept in {}", work.keep().display());
    }
    ExitCode::SUCCESS
}

struct Options {
    phases: Vec<String>,
    seconds: u64,
    p4_seconds: u64,
    connections: usize,
    keep: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options {
            phases: Vec::new(),
            seconds: 10,
            p4_seconds: 60,
            connections: 32,
            keep: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                args.next()
                    .and_then(|value| value.parse().ok())
                    .ok_or(format!("{name} needs a number"))
            };
            match arg.as_str() {
                "--seconds" => options.seconds = number("--seconds")?,
                "--p4-seconds" => options.p4_seconds = number("--p4-seconds")?,
                "--connections" => options.connections = number("--connections")? as usize,
                "--keep" => options.keep = true,
                "all" | "p1" | "p2" | "p3" | "p4" | "p5" => options.phases.push(arg.clone()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if options.phases.is_empty() {
            return Err("name the phases to run, or all".into());
        }
        Ok(options)
    }

    fn runs(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase || p == "all")
    }

    fn load_time(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

/// The table printed at the end, in Markdown so it can go into BENCHMARKS.md as it is.
#[derive(Default)]
struct Report {
    rows: Vec<[String; 8]>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        measure: &str,
        rate: String,
        p50: String,
        p99: String,
        cpu: String,
        memory: String,
        result: String,
        target: &str,
    ) {
        let row = [
            measure.to_string(),
            rate,
            p50,
            p99,
            cpu,
            memory,
            result,
            target.to_string(),
        ];
        println!("  {}", row.join(" | "));
        self.rows.push(row);
    }

    fn load(
        &mut self,
        measure: &str,
        measured: &Measured,
        expected: u16,
        cpu: (f64, f64),
        memory: u64,
    ) {
        self.row(
            measure,
            format!("{:.0}/s", measured.rate()),
            millis(measured.percentile(0.50)),
            millis(measured.percentile(0.99)),
            format!("{:.2} + {:.2}", cpu.0, cpu.1),
            mebibytes(memory),
            format!(
                "{} ok, others: {}",
                measured.ok(),
                measured.others(expected)
            ),
            "",
        );
    }

    fn print(&self) {
        println!();
        println!(
            "| measure | rate | p50 | p99 | CPU (server + suite cores) | peak RSS | result | target |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for row in &self.rows {
            println!("| {} |", row.join(" | "));
        }
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn mebibytes(bytes: u64) -> String {
    if bytes == 0 {
        String::new()
    } else {
        format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

// ---------------------------------------------------------------------------------------------
// The gateway as a child process.

struct Gateway {
    server: Server,
    client: reqwest::blocking::Client,
}

impl Gateway {
    /// Starts the gateway on `data_dir` (created if new) and waits for `/readyz`.
    fn start(data_dir: &Path) -> (Self, Duration) {
        std::fs::create_dir_all(data_dir).expect("data dir");
        let address = free_address();
        let config = data_dir.join("bench.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"{address}\"\ndata_dir = \"{}\"\n[ingest]\nmax_backlog = 10000000\n[delivery]\nallow_private_destinations = true\n",
                data_dir.display()
            ),
        )
        .expect("writing the gateway config");
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        command
            .args(["__gateway", "serve", "--config"])
            .arg(&config)
            .env("HOOKGATE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn");
        let started = Instant::now();
        let mut server = Server::start(command, address, &data_dir.join("gateway.log"));
        let ready = server.wait_ready("/readyz", started);
        let client = reqwest::blocking::Client::new();
        (Self { server, client }, ready)
    }

    fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("http://{}/api/v1{path}", self.server.address);
        let mut request = self.client.request(method, &url).bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("admin API request");
        let status = response.status();
        let answer: Value = response.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    }

    /// Creates an endpoint; returns its path and secret.
    fn endpoint(&self, spec: Value) -> (String, String) {
        let created = self.api(reqwest::Method::POST, "/endpoints", Some(spec));
        let url = created["url"].as_str().expect("endpoint url");
        let path = url[url.find("/hooks/").expect("a /hooks/ url")..].to_string();
        (
            path,
            created["secret"].as_str().expect("secret").to_string(),
        )
    }

    fn queue_depth(&self) -> u64 {
        let url = format!("http://{}/metrics", self.server.address);
        let text = self
            .client
            .get(url)
            .send()
            .and_then(|response| response.text())
            .unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix("hookgate_queue_depth "))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(u64::MAX)
    }

    /// Waits until the processing queue is empty; returns when it was seen empty.
    fn wait_drained(&self, limit: Duration) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            if self.queue_depth() == 0 {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "the backlog did not drain in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many records of the inbound log or deliveries match `query` (up to `limit`).
    fn count(&self, path_and_query: &str) -> usize {
        self.api(reqwest::Method::GET, path_and_query, None)["items"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// Signed ingest requests cycling through `bodies` (event key, body), each with its own
/// `X-Request-UUID`.
fn signed_requests(
    address: SocketAddr,
    path: String,
    secret: &str,
    bodies: Vec<(&'static str, String)>,
) -> RequestMaker {
    let host = address.to_string();
    let signed: Vec<(&str, String, String)> = bodies
        .into_iter()
        .map(|(event, body)| {
            let signature = hookgate::verify::sign_hub_sha256(secret, body.as_bytes());
            (event, body, signature)
        })
        .collect();
    Arc::new(move |sequence| {
        let (event, body, signature) = &signed[sequence as usize % signed.len()];
        let uuid = format!("bench-{sequence}");
        load::post(
            &host,
            &path,
            &[
                ("X-Event-Key", event),
                ("X-Hub-Signature", signature),
                ("X-Request-UUID", &uuid),
            ],
            body.as_bytes(),
        )
    })
}

/// Commit statuses over [`ALERT_KEYS`] keys: all FAILED for one round of keys, then all
/// SUCCESSFUL, so alerts open, repeat and close.
fn commit_statuses() -> Vec<(&'static str, String)> {
    let mut bodies = Vec::new();
    for state in ["FAILED", "SUCCESSFUL"] {
        for key in 0..ALERT_KEYS {
            let mut payload: Value =
                serde_json::from_str(&commit_status_payload(state)).expect("fixture JSON");
            payload["commit_status"]["refname"] = json!(format!("branch-{key}"));
            bodies.push(("repo:commit_status_updated", payload.to_string()));
        }
    }
    bodies
}

// ---------------------------------------------------------------------------------------------
// P1: durable ingest ÷ a bare actix-web 202 handler.

fn serve_bare(address: SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        HttpServer::new(|| {
            App::new()
                .route(
                    "/hooks/{id}",
                    web::post().to(|_body: web::Bytes| async {
                        HttpResponse::Accepted().json(json!({"status": "accepted"}))
                    }),
                )
                .route(
                    "/healthz",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
        })
        .bind(address)
        .expect("bare bind")
        .run()
        .await
        .expect("bare server");
    });
}

fn p1_ingest(options: &Options, work: &Path, report: &mut Report) {
    println!("P1: durable ingest vs a bare actix-web 202 handler");
    let body = commit_status_payload("FAILED");
    let address = free_address();
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command.args(["__bare", &address.to_string()]);
    let mut bare = Server::start(command, address, &work.join("bare.log"));
    bare.wait_ready("/healthz", Instant::now());
    let requests = signed_requests(
        address,
        "/hooks/bare".into(),
        "unused",
        vec![("repo:commit_status_updated", body.clone())],
    );
    let meter = CpuMeter::start(&bare);
    let ceiling = load::drive(
        address,
        options.connections,
        options.load_time(),
        202,
        requests,
    );
    let cpu = meter.read(&bare);
    report.load(
        "P1 bare actix-web 202 (ceiling)",
        &ceiling,
        202,
        cpu,
        bare.peak_rss(),
    );
    bare.stop();

    let (gateway, _) = Gateway::start(&work.join("p1"));
    let (path, secret) = gateway.endpoint(json!({
        "name": "p1", "events": ["repo:commit_status_updated"]
    }));
    let requests = signed_requests(
        gateway.server.address,
        path,
        &secret,
        vec![("repo:commit_status_updated", body)],
    );
    let meter = CpuMeter::start(&gateway.server);
    let durable = load::drive(
        gateway.server.address,
        options.connections,
        options.load_time(),
        202,
        requests,
    );
    let cpu = meter.read(&gateway.server);
    report.load(
        "P1 hookgate durable ingest (verify, store, 202)",
        &durable,
        202,
        cpu,
        gateway.server.peak_rss(),
    );
    let ratio = durable.rate() / ceiling.rate();
    let p99 = durable.percentile(0.99);
    report.row(
        "P1 ratio durable ÷ bare",
        format!("{ratio:.2}"),
        String::new(),
        millis(p99),
        String::new(),
        String::new(),
        format!(
            "ratio {}, p99 {}",
            verdict(ratio >= 0.25),
            verdict(p99 <= Duration::from_millis(5))
        ),
        "≥ 0.25, p99 ≤ 5 ms",
    );
    gateway.server.stop();
}

// ---------------------------------------------------------------------------------------------
// P2: alert intake end to end ÷ Alertmanager's alert intake.

fn p2_alert_intake(options: &Options, work: &Path, report: &mut Report) {
    println!("P2: alert intake (commit statuses over {ALERT_KEYS} keys → mapper → alert state)");
    let (gateway, _) = Gateway::start(&work.join("p2"));
    let (path, secret) = gateway.endpoint(json!({
        "name": "p2", "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"}
    }));
    let requests = signed_requests(gateway.server.address, path, &secret, commit_statuses());
    let meter = CpuMeter::start(&gateway.server);
    let started = Instant::now();
    let intake = load::drive(
        gateway.server.address,
        options.connections,
        options.load_time(),
        202,
        requests,
    );
    let drained = gateway.wait_drained(Duration::from_secs(600));
    let cpu = meter.read(&gateway.server);
    let end_to_end = intake.ok() as f64 / (drained - started).as_secs_f64();
    let failed = gateway.count("/inbound?status=failed&limit=10");
    let open = gateway.count("/alerts?state=open&limit=1000");
    report.row(
        "P2 hookgate alert intake, end to end (202 → alert state committed)",
        format!("{end_to_end:.0}/s"),
        millis(intake.percentile(0.50)),
        millis(intake.percentile(0.99)),
        format!("{:.2} + {:.2}", cpu.0, cpu.1),
        mebibytes(gateway.server.peak_rss()),
        format!(
            "{} accepted, drained {:.1} s after the load; {failed} failed records, {open} alerts open",
            intake.ok(),
            (drained - started).as_secs_f64() - intake.elapsed.as_secs_f64()
        ),
        "",
    );
    gateway.server.stop();

    let Some(binary) = alertmanager::binary() else {
        report.row(
            "P2 Alertmanager alert intake",
            "not run".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "Alertmanager is not installed (apt-get install prometheus-alertmanager)".into(),
            "",
        );
        return;
    };
    let work_dir = work.join("alertmanager");
    std::fs::create_dir_all(&work_dir).expect("alertmanager dir");
    let (measured, server_cores, suite_cores, peak) =
        alertmanager::measure(&binary, &work_dir, options.connections, options.load_time());
    report.load(
        &format!(
            "P2 {} alert intake (in memory)",
            alertmanager::version(&binary)
        ),
        &measured,
        200,
        (server_cores, suite_cores),
        peak,
    );
    let ratio = end_to_end / measured.rate();
    report.row(
        "P2 ratio hookgate ÷ Alertmanager",
        format!("{ratio:.2}"),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        verdict(ratio >= 1.0).into(),
        "≥ 1.0",
    );
}

// ---------------------------------------------------------------------------------------------
// P3: plugin calls.

fn p3_plugin_calls(report: &mut Report) {
    println!("P3: plugin calls (instantiate + call), median of 3,000");
    let calls = plugin_calls::measure();
    let mut mapper = None;
    let mut native = None;
    for call in &calls {
        let target = if call.name.starts_with("bitbucket-pipelines") {
            mapper = Some(call.median);
            "≤ 15 µs"
        } else if call.name.starts_with("same mapping") {
            native = Some(call.median);
            ""
        } else {
            ""
        };
        report.row(
            &format!("P3 {}", call.name),
            String::new(),
            micros(call.median),
            micros(call.p99),
            String::new(),
            String::new(),
            if target.is_empty() {
                String::new()
            } else {
                verdict(call.median <= Duration::from_micros(15)).into()
            },
            target,
        );
    }
    if let (Some(mapper), Some(native)) = (mapper, native) {
        let ratio = mapper.as_secs_f64() / native.as_secs_f64();
        report.row(
            "P3 ratio mapper WASM ÷ native",
            format!("{ratio:.2}"),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            verdict(ratio <= 2.5).into(),
            "≤ 2.5",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// P4: the full pipeline, sustained.

/// A receiver standing in for Discord: answers 204 and remembers each Idempotency-Key.
struct Receiver {
    address: SocketAddr,
    keys: Arc<Mutex<(u64, HashSet<String>)>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("receiver bind");
        let address = listener.local_addr().expect("receiver address");
        let keys = Arc::new(Mutex::new((0u64, HashSet::new())));
        let shared = keys.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            runtime.block_on(async move {
                HttpServer::new(move || {
                    let keys = shared.clone();
                    App::new().default_service(web::to(
                        move |request: HttpRequest, _body: web::Bytes| {
                            let keys = keys.clone();
                            async move {
                                let key = request
                                    .headers()
                                    .get("idempotency-key")
                                    .and_then(|value| value.to_str().ok())
                                    .unwrap_or_default()
                                    .to_string();
                                let mut keys = keys.lock().expect("receiver keys");
                                keys.0 += 1;
                                keys.1.insert(key);
                                HttpResponse::NoContent().finish()
                            }
                        },
                    ))
                })
                .workers(1)
                .listen(listener)
                .expect("receiver listen")
                .run()
                .await
                .expect("receiver");
            });
        });
        Self { address, keys }
    }

    /// (requests received, distinct deliveries).
    fn received(&self) -> (u64, u64) {
        let keys = self.keys.lock().expect("receiver keys");
        (keys.0, keys.1.len() as u64)
    }
}

fn p4_pipeline(options: &Options, work: &Path, report: &mut Report) {
    println!(
        "P4: full pipeline (mapper + formatter + notifier + delivery), {} s",
        options.p4_seconds
    );
    let receiver = Receiver::start();
    let (gateway, _) = Gateway::start(&work.join("p4"));
    let (path, secret) = gateway.endpoint(json!({
        "name": "p4", "events": "all",
        "alerts": {"plugin": "bitbucket-pipelines"},
        "format": {"plugin": "bitbucket-embeds"},
        "destinations": [{"kind": "discord", "url": format!("http://{}/discord", receiver.address)}]
    }));
    // Pushes (a message each) between commit statuses (alerts opened and closed, each
    // announced), as a busy repository sends them.
    let mut bodies = Vec::new();
    let push = fixture("repo_push.json");
    for status in commit_statuses() {
        bodies.push(("repo:push", push.clone()));
        bodies.push(status);
    }
    let requests = signed_requests(gateway.server.address, path, &secret, bodies);
    let meter = CpuMeter::start(&gateway.server);
    let started = Instant::now();
    let intake = load::drive(
        gateway.server.address,
        options.connections,
        Duration::from_secs(options.p4_seconds),
        202,
        requests,
    );
    let drained = gateway.wait_drained(Duration::from_secs(1800));
    // Every delivery ends delivered: wait until none is pending or retrying.
    let deadline = Instant::now() + Duration::from_secs(1800);
    let settled = loop {
        let unsettled = gateway.count("/deliveries?status=pending&limit=1")
            + gateway.count("/deliveries?status=retrying&limit=1");
        if unsettled == 0 {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "deliveries did not settle");
        std::thread::sleep(Duration::from_millis(20));
    };
    let cpu = meter.read(&gateway.server);
    let peak = gateway.server.peak_rss();
    let failed_deliveries = gateway.count("/deliveries?status=failed&limit=1000");
    let failed_records = gateway.count("/inbound?status=failed&limit=1000");
    let pending_records = gateway.count("/inbound?status=pending&limit=1000");
    let (received, distinct) = receiver.received();
    let total = (settled - started).as_secs_f64();
    let rate = intake.ok() as f64 / total;
    report.row(
        &format!("P4 full pipeline, {} s of load until all delivered", options.p4_seconds),
        format!("{rate:.0} events/s"),
        millis(intake.percentile(0.50)),
        millis(intake.percentile(0.99)),
        format!("{:.2} + {:.2}", cpu.0, cpu.1),
        mebibytes(peak),
        format!(
            "{} events accepted ({:.0}/s at intake), queue drained {:.1} s and deliveries settled {:.1} s after the load; {distinct} deliveries received ({} repeats), {failed_deliveries} failed, {failed_records} failed and {pending_records} pending records; rate {}",
            intake.ok(),
            intake.rate(),
            (drained - started).as_secs_f64() - intake.elapsed.as_secs_f64(),
            total - intake.elapsed.as_secs_f64(),
            received - distinct,
            verdict(rate >= 5000.0 && failed_deliveries + failed_records + pending_records == 0)
        ),
        "≥ 5,000 events/s, nothing lost",
    );
    report.row(
        "Memory: gateway peak RSS under P4",
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        mebibytes(peak),
        verdict(peak <= 200 * 1024 * 1024).into(),
        "≤ 200 MB",
    );
    gateway.server.stop();
}

// ---------------------------------------------------------------------------------------------
// P5: cold start.

fn p5_cold_start(work: &Path, report: &mut Report) {
    println!("P5: start to /readyz");
    let data_dir: PathBuf = work.join("p5");
    let (gateway, cold) = Gateway::start(&data_dir);
    gateway.server.stop();
    let mut warm: Vec<Duration> = (0..5)
        .map(|_| {
            let (gateway, ready) = Gateway::start(&data_dir);
            gateway.server.stop();
            ready
        })
        .collect();
    warm.sort_unstable();
    let median = warm[warm.len() / 2];
    report.row(
        "P5 start to /readyz, cold compile cache (first start)",
        String::new(),
        millis(cold),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        "",
    );
    report.row(
        "P5 start to /readyz, warm compile cache (median of 5)",
        String::new(),
        millis(median),
        String::new(),
        String::new(),
        String::new(),
        verdict(median <= Duration::from_secs(1)).into(),
        "≤ 1 s",
    );
}
