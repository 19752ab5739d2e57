//! P1 and P2 on PostgreSQL (`--database-url URL`): the same loads as on redb, against one
//! gateway and then two gateway processes on one database (the load split between them), with
//! the CPU PostgreSQL itself used. Each measurement gets a fresh database made next to the one
//! the URL names (`CREATE DATABASE`, so the URL's user needs `CREATEDB`), dropped after.

use crate::load::{self, Measured};
use crate::process::{CpuMeter, peak_rss, tree_cpu_seconds};
use crate::report::{Report, mebibytes, millis};
use crate::{Options, commit_statuses, endpoint, signed_requests_named, wait_drained};
use hookgate::store::postgres::test_cluster::TestDatabase;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ChildGateway, ChildGatewayConfig, GatewayProgram};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

pub fn pg_phases(options: &Options, work: &Path, report: &mut Report) {
    let Some(url) = &options.database_url else {
        report.row(
            "P1/P2 on PostgreSQL",
            "not run".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "give --database-url postgres://user@host/db (a user with CREATEDB)".into(),
            "",
        );
        return;
    };
    for gateways in [1, 2] {
        println!("P1 on PostgreSQL: durable ingest, {gateways} gateway(s) on one database");
        ingest(options, url, gateways, work, report);
        println!("P2 on PostgreSQL: alert intake, {gateways} gateway(s) on one database");
        alert_intake(options, url, gateways, work, report);
    }
}

/// `count` gateways on a fresh database; the database is dropped when it goes.
fn cluster(
    url: &str,
    purpose: &str,
    count: usize,
    work: &Path,
) -> (TestDatabase, Vec<ChildGateway>, Option<u32>) {
    let database = TestDatabase::create_on(url, purpose)
        .unwrap_or_else(|error| panic!("making the bench database on {url}: {error}"));
    let server = database.server_process();
    let gateways = (0..count)
        .map(|index| {
            let dir = work.join(format!("{purpose}-{index}"));
            std::fs::create_dir_all(&dir).expect("gateway dir");
            ChildGateway::start(ChildGatewayConfig {
                config_toml: Some(
                    "[ingest]\nmax_backlog = 10000000\n[delivery]\nallow_private_destinations = true\n"
                        .into(),
                ),
                env: vec![("HOOKGATE_DATABASE_URL".into(), database.url.clone())],
                ..ChildGatewayConfig::new(GatewayProgram::this_binary(), &dir)
            })
        })
        .collect();
    (database, gateways, server)
}

/// Drives every gateway at once, each with its share of the connections and its own request
/// ids; the answers of all together.
fn drive_all(
    options: &Options,
    gateways: &[ChildGateway],
    path: &str,
    secret: &str,
    bodies: &[(&'static str, String)],
) -> Measured {
    let connections = (options.connections / gateways.len()).max(1);
    let drivers: Vec<_> = gateways
        .iter()
        .enumerate()
        .map(|(index, gateway)| {
            let address = gateway.process().address;
            let requests = signed_requests_named(
                address,
                path.to_string(),
                secret,
                bodies.to_vec(),
                &format!("bench-gw{index}"),
            );
            let duration = options.load_time();
            std::thread::spawn(move || load::drive(address, connections, duration, 202, requests))
        })
        .collect();
    let mut all = drivers
        .into_iter()
        .map(|driver| driver.join().expect("load driver"));
    let mut total = all.next().expect("one gateway at least");
    for measured in all {
        for (status, count) in measured.statuses {
            *total.statuses.entry(status).or_default() += count;
        }
        for (status, body) in measured.samples {
            total.samples.entry(status).or_insert(body);
        }
        total.latencies.extend(measured.latencies);
        total.elapsed = total.elapsed.max(measured.elapsed);
    }
    total.latencies.sort_unstable();
    total
}

/// What the gateways and the server used: (gateways' cores, PostgreSQL's cores, suite's
/// cores), and the highest peak RSS of a gateway.
struct Usage {
    meters: Vec<CpuMeter>,
    server: Option<(u32, f64)>,
    started: Instant,
}

impl Usage {
    fn start(gateways: &[ChildGateway], server: Option<u32>) -> Self {
        Self {
            meters: gateways
                .iter()
                .map(|gateway| CpuMeter::start(gateway.process()))
                .collect(),
            server: server.map(|pid| (pid, tree_cpu_seconds(pid))),
            started: Instant::now(),
        }
    }

    fn read(&self, gateways: &[ChildGateway]) -> (String, String) {
        let mut gateway_cores = 0.0;
        let mut suite_cores = 0.0;
        for (meter, gateway) in self.meters.iter().zip(gateways) {
            let (server, suite) = meter.read(gateway.process());
            gateway_cores += server;
            suite_cores = suite;
        }
        let postgres = match self.server {
            Some((pid, start)) => format!(
                "{:.2}",
                (tree_cpu_seconds(pid) - start) / self.started.elapsed().as_secs_f64()
            ),
            None => "? (server not on this machine)".into(),
        };
        let peak = gateways
            .iter()
            .map(|gateway| peak_rss(gateway.process()))
            .max()
            .unwrap_or(0);
        (
            format!("{gateway_cores:.2} + pg {postgres} + {suite_cores:.2}"),
            mebibytes(peak),
        )
    }
}

fn ingest(options: &Options, url: &str, count: usize, work: &Path, report: &mut Report) {
    let (_database, mut gateways, server) = cluster(url, &format!("bench_p1_{count}"), count, work);
    let (path, secret) = endpoint(
        &gateways[0],
        json!({"name": "p1", "events": ["repo:commit_status_updated"]}),
    );
    let bodies = vec![(
        "repo:commit_status_updated",
        commit_status_payload("FAILED"),
    )];
    let usage = Usage::start(&gateways, server);
    let measured = drive_all(options, &gateways, &path, &secret, &bodies);
    let (cpu, rss) = usage.read(&gateways);
    report.row(
        &format!("P1 PostgreSQL, {count} gateway(s): durable ingest (verify, store, 202)"),
        format!("{:.0}/s", measured.rate()),
        millis(measured.percentile(0.50)),
        millis(measured.percentile(0.99)),
        cpu,
        rss,
        format!("{} ok, others: {}", measured.ok(), measured.others(202)),
        "",
    );
    for gateway in &mut gateways {
        gateway.terminate();
    }
}

fn alert_intake(options: &Options, url: &str, count: usize, work: &Path, report: &mut Report) {
    let (_database, mut gateways, server) = cluster(url, &format!("bench_p2_{count}"), count, work);
    let (path, secret) = endpoint(
        &gateways[0],
        json!({
            "name": "p2", "events": ["repo:commit_status_updated"],
            "alerts": {"plugin": "bitbucket-pipelines"}
        }),
    );
    let usage = Usage::start(&gateways, server);
    let started = Instant::now();
    let measured = drive_all(options, &gateways, &path, &secret, &commit_statuses());
    // The queue is the database's: any gateway sees the whole cluster's.
    let drained = wait_drained(&gateways[0], Duration::from_secs(600));
    let (cpu, rss) = usage.read(&gateways);
    let end_to_end = measured.ok() as f64 / (drained - started).as_secs_f64();
    let failed = gateways[0].count("/inbound?status=failed&limit=10");
    let alerts: Value = gateways[0].api_ok("GET", "/alerts?state=open&limit=1000", None);
    let open = alerts["items"].as_array().map_or(0, Vec::len);
    report.row(
        &format!("P2 PostgreSQL, {count} gateway(s): alert intake, end to end"),
        format!("{end_to_end:.0}/s"),
        millis(measured.percentile(0.50)),
        millis(measured.percentile(0.99)),
        cpu,
        rss,
        format!(
            "{} accepted, drained {:.1} s after the load; {failed} failed records, {open} alerts open; others: {}",
            measured.ok(),
            (drained - started).as_secs_f64() - measured.elapsed.as_secs_f64(),
            measured.others(202)
        ),
        "",
    );
    for gateway in &mut gateways {
        gateway.terminate();
    }
}
