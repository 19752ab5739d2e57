//! hookgate's benchmark suite: starts what it needs, drives it over loopback with signed real
//! Bitbucket payloads, and prints one table (rates, p50/p99, CPU, peak memory and the ratios of
//! the performance targets), all measured in the same run.
//!
//! `cargo run --release -p hookgate-tests --bin bench -- all` (or any of `p1 p2 p3 p4 p5 p6 pg`;
//! `--seconds N` per load phase, default 10; `--p4-seconds N`, default 60; `--connections N`,
//! default 32; P6's store size `--p6-records N` (1,000,000), `--p6-alerts N` (100,000) and
//! `--p6-prune N` (500,000); `--keep` keeps the work dir with the servers' logs;
//! `--database-url URL` runs P1 and P2 on PostgreSQL too, phase `pg`, with one gateway and with
//! two).

mod alertmanager;
mod load;
mod plugin_calls;
mod postgres;
mod process;
mod report;
mod scale;

use actix_web::{App, HttpResponse, HttpServer, web};
use hookgate_tests::harness::{
    Answer, CaptureReceiver, ChildGateway, ChildGatewayConfig, GatewayProgram, ReceiverOptions,
    ServerProcess, free_address,
};
use hookgate_tests::{commit_status_payload, fixture};
use load::RequestMaker;
use process::{CpuMeter, peak_rss};
use report::{Report, mebibytes, micros, millis, verdict};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};
/// Alert keys of the commit-status traffic (`repository:refname`), as Alertmanager's groups.
const ALERT_KEYS: u64 = 500;

fn main() -> ExitCode {
    // The suite starts its servers as children of its own binary.
    if let Some(exit) = GatewayProgram::gateway_mode() {
        return exit;
    }
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__bare") {
        serve_bare(args[2].parse().expect("bare listen address"));
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(&args[1..]) {
        Ok(options) => options,
        Err(message) => {
            eprintln!(
                "{message}\n\nusage: bench all|p1|p2|p3|p4|p5|p6|pg... [--seconds N] [--p4-seconds N] [--connections N] [--p6-records N] [--p6-alerts N] [--p6-prune N] [--keep] [--database-url URL]"
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
    if options.runs("p6") {
        scale::p6_scale(&options, work.path(), &mut report);
    }
    if options.runs("pg") {
        postgres::pg_phases(&options, work.path(), &mut report);
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
    /// A PostgreSQL server to run `pg` on (databases are made next to the one it names).
    database_url: Option<String>,
    /// P6: inbound records and alerts stored, and records pruned under load.
    p6_records: u64,
    p6_alerts: u64,
    p6_prune: u64,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options {
            phases: Vec::new(),
            seconds: 10,
            p4_seconds: 60,
            connections: 32,
            keep: false,
            database_url: None,
            p6_records: 1_000_000,
            p6_alerts: 100_000,
            p6_prune: 500_000,
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
                "--database-url" => {
                    options.database_url =
                        Some(args.next().ok_or("--database-url needs a URL")?.clone())
                }
                "--p6-records" => options.p6_records = number("--p6-records")?,
                "--p6-alerts" => options.p6_alerts = number("--p6-alerts")?,
                "--p6-prune" => options.p6_prune = number("--p6-prune")?,
                "all" | "p1" | "p2" | "p3" | "p4" | "p5" | "p6" | "pg" => {
                    options.phases.push(arg.clone())
                }
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

// ---------------------------------------------------------------------------------------------
// The gateway as a child process.

/// Starts the gateway in `work` (data in `work/data`) and waits for `/readyz`; deliveries to
/// the local receiver allowed, and a backlog limit no load here reaches.
fn start_gateway(work: &Path) -> ChildGateway {
    std::fs::create_dir_all(work).expect("work dir");
    ChildGateway::start(ChildGatewayConfig {
        config_toml: Some(
            "[ingest]\nmax_backlog = 10000000\n[delivery]\nallow_private_destinations = true\n"
                .into(),
        ),
        ..ChildGatewayConfig::new(GatewayProgram::this_binary(), work)
    })
}

/// Creates an endpoint; returns its path (`/hooks/<id>`) and secret.
fn endpoint(gateway: &ChildGateway, spec: Value) -> (String, String) {
    let created = gateway.create_endpoint(spec);
    let url = created["url"].as_str().expect("endpoint url");
    let path = url[url.find("/hooks/").expect("a /hooks/ url")..].to_string();
    (
        path,
        created["secret"].as_str().expect("secret").to_string(),
    )
}

/// Waits until the processing queue is empty; returns when it was seen empty.
fn wait_drained(gateway: &ChildGateway, limit: Duration) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        if gateway.queue_depth() == Some(0) {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the backlog did not drain in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
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
    signed_requests_named(address, path, secret, bodies, "bench")
}

/// [`signed_requests`] with request UUIDs `<prefix>-<n>`: loads on one endpoint through
/// several gateways at once must not repeat each other's UUIDs.
fn signed_requests_named(
    address: SocketAddr,
    path: String,
    secret: &str,
    bodies: Vec<(&'static str, String)>,
    prefix: &str,
) -> RequestMaker {
    let prefix = prefix.to_string();
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
        let uuid = format!("{prefix}-{sequence}");
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
    let mut bare = ServerProcess::spawn(command, address, &work.join("bare.log"));
    bare.wait_ready("/healthz");
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
        peak_rss(&bare),
    );
    bare.terminate();

    let mut gateway = start_gateway(&work.join("p1"));
    let (path, secret) = endpoint(
        &gateway,
        json!({
            "name": "p1", "events": ["repo:commit_status_updated"]
        }),
    );
    let requests = signed_requests(
        gateway.process().address,
        path,
        &secret,
        vec![("repo:commit_status_updated", body)],
    );
    let meter = CpuMeter::start(gateway.process());
    let durable = load::drive(
        gateway.process().address,
        options.connections,
        options.load_time(),
        202,
        requests,
    );
    let cpu = meter.read(gateway.process());
    report.load(
        "P1 hookgate durable ingest (verify, store, 202)",
        &durable,
        202,
        cpu,
        peak_rss(gateway.process()),
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
            verdict(ratio >= 0.30),
            verdict(p99 <= Duration::from_millis(5))
        ),
        "≥ 0.30, p99 ≤ 5 ms",
    );
    gateway.terminate();
}

// ---------------------------------------------------------------------------------------------
// P2: alert intake end to end ÷ Alertmanager's alert intake.

fn p2_alert_intake(options: &Options, work: &Path, report: &mut Report) {
    println!("P2: alert intake (commit statuses over {ALERT_KEYS} keys → mapper → alert state)");
    let mut gateway = start_gateway(&work.join("p2"));
    let (path, secret) = endpoint(
        &gateway,
        json!({
            "name": "p2", "events": ["repo:commit_status_updated"],
            "alerts": {"plugin": "bitbucket-pipelines"}
        }),
    );
    let requests = signed_requests(gateway.process().address, path, &secret, commit_statuses());
    let meter = CpuMeter::start(gateway.process());
    let started = Instant::now();
    let intake = load::drive(
        gateway.process().address,
        options.connections,
        options.load_time(),
        202,
        requests,
    );
    let drained = wait_drained(&gateway, Duration::from_secs(600));
    let cpu = meter.read(gateway.process());
    let end_to_end = intake.ok() as f64 / (drained - started).as_secs_f64();
    let failed = gateway.count("/inbound?status=failed&limit=10");
    let open = gateway.count("/alerts?state=open&limit=1000");
    report.row(
        "P2 hookgate alert intake, end to end (202 → alert state committed)",
        format!("{end_to_end:.0}/s"),
        millis(intake.percentile(0.50)),
        millis(intake.percentile(0.99)),
        format!("{:.2} + {:.2}", cpu.0, cpu.1),
        mebibytes(peak_rss(gateway.process())),
        format!(
            "{} accepted, drained {:.1} s after the load; {failed} failed records, {open} alerts open",
            intake.ok(),
            (drained - started).as_secs_f64() - intake.elapsed.as_secs_f64()
        ),
        "",
    );
    gateway.terminate();

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
    let (rss, peak) = plugin_calls::own_rss();
    report.row(
        "P3 bench process memory after the calls (RSS now, peak)",
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        format!("{} now, {} peak", mebibytes(rss), mebibytes(peak)),
        String::new(),
        "",
    );
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

fn p4_pipeline(options: &Options, work: &Path, report: &mut Report) {
    println!(
        "P4: full pipeline (mapper + formatter + notifier + delivery), {} s",
        options.p4_seconds
    );
    // Stands in for Discord: answers 204 and counts deliveries, without keeping them.
    let receiver = CaptureReceiver::start_with(ReceiverOptions {
        keep_requests: false,
        workers: 1,
    });
    receiver.answer_always(Answer::Status(204, None));
    let mut gateway = start_gateway(&work.join("p4"));
    let (path, secret) = endpoint(
        &gateway,
        json!({
            "name": "p4", "events": "all",
            "alerts": {"plugin": "bitbucket-pipelines"},
            "format": {"plugin": "bitbucket-embeds"},
            "destinations": [{"kind": "discord", "url": format!("{}/discord", receiver.url)}]
        }),
    );
    // Pushes (a message each) between commit statuses (alerts opened and closed, each
    // announced), as a busy repository sends them.
    let mut bodies = Vec::new();
    let push = fixture("repo_push.json");
    for status in commit_statuses() {
        bodies.push(("repo:push", push.clone()));
        bodies.push(status);
    }
    let requests = signed_requests(gateway.process().address, path, &secret, bodies);
    let meter = CpuMeter::start(gateway.process());
    let started = Instant::now();
    let intake = load::drive(
        gateway.process().address,
        options.connections,
        Duration::from_secs(options.p4_seconds),
        202,
        requests,
    );
    let drained = wait_drained(&gateway, Duration::from_secs(1800));
    // Every delivery ends delivered: wait until none is pending or retrying.
    let deadline = Instant::now() + Duration::from_secs(1800);
    let settled = loop {
        if !gateway.deliveries_unsettled() {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "deliveries did not settle");
        std::thread::sleep(Duration::from_millis(20));
    };
    let cpu = meter.read(gateway.process());
    let peak = peak_rss(gateway.process());
    let failed_deliveries = gateway.count("/deliveries?status=failed&limit=1000");
    let failed_records = gateway.count("/inbound?status=failed&limit=1000");
    let pending_records = gateway.count("/inbound?status=pending&limit=1000");
    let (received, distinct) = (receiver.received(), receiver.taken().len() as u64);
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
    gateway.terminate();
}

// ---------------------------------------------------------------------------------------------
// P5: cold start.

fn p5_cold_start(work: &Path, report: &mut Report) {
    println!("P5: start to /readyz");
    let data_dir: PathBuf = work.join("p5");
    let mut gateway = start_gateway(&data_dir);
    let cold = gateway.ready_after;
    gateway.terminate();
    let mut warm: Vec<Duration> = (0..5)
        .map(|_| {
            let mut gateway = start_gateway(&data_dir);
            gateway.terminate();
            gateway.ready_after
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
