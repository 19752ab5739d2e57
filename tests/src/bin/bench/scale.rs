//! P6, scale: costs that must not grow with the size of the store. The store is filled in this
//! process through the store API (fast, not through HTTP) while no gateway holds the file; then
//! a gateway started on it is measured: a filtered inbound page, an alert append against an
//! alert with a long history, and retention pruning while P1's ingest runs.

use crate::load;
use crate::report::{Report, millis, verdict};
use crate::{Options, endpoint, signed_requests_named};
use hookgate::runtime::Alert;
use hookgate::store::redb::RedbStore;
use hookgate::store::{
    AlertRecord, AlertState, AlertWrite, Durability, IdKind, InboundRecord, InboundStatus,
    ProcessedBatch, Store,
};
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{ChildGateway, ChildGatewayConfig, GatewayProgram};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Records per fill transaction.
const FILL_BATCH: usize = 5_000;
/// Of the inbound records, this share (the oldest) belongs to the endpoint whose filtered page
/// is measured, so a scan would read every newer record before reaching its own.
const TARGET_SHARE: u64 = 10;

pub fn p6_scale(options: &Options, work: &Path, report: &mut Report) {
    let records = options.p6_records;
    let alerts = options.p6_alerts;
    println!("P6: scale ({records} inbound records, {alerts} alerts stored)");
    let dir = work.join("p6");
    let config = |toml: &str| ChildGatewayConfig {
        config_toml: Some(format!(
            "[ingest]\nmax_backlog = 10000000\n[delivery]\nallow_private_destinations = true\n{toml}"
        )),
        rust_log: "warn,hookgate::server=info".into(),
        ..ChildGatewayConfig::new(GatewayProgram::this_binary(), &dir)
    };
    std::fs::create_dir_all(&dir).expect("p6 dir");

    // Until the prune phase, retention keeps everything (its start-up pass would prune past
    // the default million records).
    let keep_all = "[retention]\nmax_records = 1000000000\n";
    // The endpoints are made by the gateway (their ids and secrets are its own).
    let mut gateway = ChildGateway::start(config(keep_all));
    let target = gateway.create_endpoint(json!({"name": "p6-old", "events": ["repo:push"]}));
    let target = target["id"].as_str().expect("endpoint id").to_string();
    let other = gateway.create_endpoint(json!({"name": "p6-new", "events": ["repo:push"]}));
    let other = other["id"].as_str().expect("endpoint id").to_string();
    let (ingest_path, ingest_secret) = endpoint(
        &gateway,
        json!({"name": "p6-ingest", "events": ["repo:commit_status_updated"]}),
    );
    gateway.terminate();

    let database = dir.join("data").join(hookgate::datadir::DATABASE_FILE);
    let started = Instant::now();
    {
        let store = RedbStore::open(&database).expect("the gateway's database opens");
        fill_inbound(&store, records, &target, &other);
        let filled_inbound = started.elapsed();
        let (long, fresh) = fill_alerts(&store, alerts, &other);
        println!(
            "  filled {records} inbound records in {:.1} s, {alerts} alerts in {:.1} s",
            filled_inbound.as_secs_f64(),
            (started.elapsed() - filled_inbound).as_secs_f64()
        );
        let (long_append, fresh_append) = append_costs(&store, &other, long, fresh);
        report.row(
            &format!("P6 append to an alert with {alerts} appends"),
            String::new(),
            millis(long_append.0),
            millis(long_append.1),
            String::new(),
            String::new(),
            String::new(),
            "",
        );
        let ratio = long_append.0.as_secs_f64() / fresh_append.0.as_secs_f64();
        report.row(
            "P6 append to a new alert (and ratio long ÷ new, medians)",
            format!("{ratio:.2}"),
            millis(fresh_append.0),
            millis(fresh_append.1),
            String::new(),
            String::new(),
            verdict(ratio <= 1.5).into(),
            "the same cost (ratio ≤ 1.5)",
        );
    }

    // The filtered page, through the API of a gateway on the filled store.
    let mut gateway = ChildGateway::start(config(keep_all));
    let path = format!("/inbound?endpoint={target}&status=failed&limit=50");
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let asked = Instant::now();
        let (status, answer) = gateway.api_text("GET", &path, None);
        latencies.push(asked.elapsed());
        assert_eq!(status, 200, "{answer}");
    }
    let listed = gateway.count(&path);
    latencies.sort();
    let p99 = latencies[(latencies.len() - 1) * 99 / 100];
    report.row(
        "P6 filtered inbound page (?endpoint=&status=failed, 50 of the oldest endpoint's)",
        String::new(),
        millis(latencies[latencies.len() / 2]),
        millis(p99),
        String::new(),
        String::new(),
        format!(
            "{} ({listed} listed)",
            verdict(p99 <= Duration::from_millis(20))
        ),
        "p99 ≤ 20 ms",
    );
    gateway.terminate();

    // Pruning while P1's ingest runs: the gateway's start-up retention pass removes the
    // oldest `prune` records; the load starts with it. Then the same load once the prune is
    // done, as the baseline.
    let prune = options.p6_prune.min(records);
    let keep = (records - prune).max(1);
    let mut gateway = ChildGateway::start(config(&format!(
        "[retention]\nmax_records = {keep}\ndays = 36500\n"
    )));
    // Each load with its own request UUIDs: a repeat would be a cheap duplicate, not an ingest.
    let requests = |prefix: &str| {
        signed_requests_named(
            gateway.process().address,
            ingest_path.clone(),
            &ingest_secret,
            vec![(
                "repo:commit_status_updated",
                commit_status_payload("FAILED"),
            )],
            prefix,
        )
    };
    let prune_started = Instant::now();
    let during = load::drive(
        gateway.process().address,
        options.connections,
        options.load_time(),
        202,
        requests("p6-during"),
    );
    let pruned_in =
        wait_for_prune(&gateway, Duration::from_secs(1_200)).map(|_| prune_started.elapsed());
    let baseline = load::drive(
        gateway.process().address,
        options.connections,
        options.load_time(),
        202,
        requests("p6-baseline"),
    );
    report.load(
        "P6 P1 ingest without pruning (baseline)",
        &baseline,
        202,
        (0.0, 0.0),
        0,
    );
    report.load(
        &format!("P6 P1 ingest while pruning {prune} records"),
        &during,
        202,
        (0.0, 0.0),
        0,
    );
    let rate = during.rate() / baseline.rate();
    let p99 = during.percentile(0.99).as_secs_f64() / baseline.percentile(0.99).as_secs_f64();
    report.row(
        "P6 ratio ingest while pruning ÷ without (rate; p99)",
        format!("{rate:.2}"),
        String::new(),
        format!("{p99:.2}×"),
        String::new(),
        String::new(),
        format!(
            "rate {}, p99 {}; the prune took {}",
            verdict(rate >= 0.8),
            verdict(p99 <= 2.0),
            pruned_in.map_or("longer than the wait".into(), |took| format!(
                "{:.1} s (the load {} s)",
                took.as_secs_f64(),
                options.seconds
            ))
        ),
        "rate ≥ 0.8, p99 ≤ 2×",
    );
    gateway.terminate();
}

/// `records` processed or failed records, oldest first: the first tenth on `target` (one in
/// five failed), the rest on `other`. Bodies are short (a filtered page never reads them), so a
/// million records fit the disk.
fn fill_inbound(store: &RedbStore, records: u64, target: &str, other: &str) {
    let now = hookgate::store::now_ms();
    let mut batch = Vec::with_capacity(FILL_BATCH);
    for n in 0..records {
        let endpoint = if n < records / TARGET_SHARE {
            target
        } else {
            other
        };
        batch.push(InboundRecord {
            id: 0,
            endpoint: endpoint.into(),
            // Spread over the last hour, oldest first.
            received_at: now - 3_600_000 + n * 3_600_000 / records.max(1),
            event: Some("repo:push".into()),
            request_uuid: Some(format!("p6-{n}")),
            attempt: 1,
            status: if n % 5 == 0 {
                InboundStatus::Failed
            } else {
                InboundStatus::Processed
            },
            reason: None,
            outcomes: Vec::new(),
            headers: vec![("x-event-key".into(), "repo:push".into())],
            body: format!("{{\"n\":{n}}}"),
            body_truncated: false,
            processed_at: Some(now),
            duplicate_of: None,
        });
        if batch.len() == FILL_BATCH {
            store
                .append_inbound(std::mem::take(&mut batch))
                .expect("filling the inbound log");
        }
    }
    if !batch.is_empty() {
        store
            .append_inbound(batch)
            .expect("filling the inbound log");
    }
}

fn alert(id: u64, endpoint: &str, key: String) -> AlertRecord {
    AlertRecord {
        id,
        endpoint: endpoint.into(),
        key: key.clone(),
        state: AlertState::Open,
        alert: Alert {
            key: key.clone(),
            title: format!("{key} failed"),
            source_status: "FAILED".into(),
            url: None,
            description: None,
            commit_hash: None,
            commit_message: None,
            actor: None,
            labels: vec![("branch".into(), "main".into())],
            severity: Default::default(),
        },
        count: 1,
        opened_at: 1_000,
        last_seen_at: 1_000,
        acknowledged_at: None,
        closed_at: None,
        closed_by: None,
        acknowledged_by: None,
        escalation: None,
        history: vec![1],
        revision: 0,
    }
}

/// `alerts` alerts (all but two closed), then one of them given `alerts` appends in its
/// history; returns the keys of that long one and of a fresh open one.
fn fill_alerts(store: &RedbStore, alerts: u64, endpoint: &str) -> (String, String) {
    let first = store.reserve_ids(IdKind::Alert, alerts + 1).expect("ids");
    let mut batch = ProcessedBatch::default();
    for n in 0..alerts {
        let mut record = alert(first + n, endpoint, format!("p6-{n}"));
        if n >= 2 {
            record.state = AlertState::Closed;
            record.closed_at = Some(2_000);
            record.closed_by = Some("source".into());
        }
        batch.alerts.push(AlertWrite::Insert(record));
        if batch.alerts.len() == FILL_BATCH {
            apply(store, std::mem::take(&mut batch));
        }
    }
    apply(store, batch);
    let long = "p6-0".to_string();
    let mut record = store
        .open_alert(endpoint, &long)
        .expect("open_alert")
        .expect("the long alert is open");
    record.history = (1..=alerts).collect();
    record.count = alerts as u32;
    apply(
        store,
        ProcessedBatch {
            alerts: vec![AlertWrite::Update(record)],
            ..ProcessedBatch::default()
        },
    );
    (long, "p6-1".to_string())
}

fn apply(store: &RedbStore, batch: ProcessedBatch) {
    store
        .apply_processing(&batch, Durability::BeforeAnswer)
        .expect("apply_processing");
}

/// Median and p99 of 200 appends to each alert (read the open alert, add a record, write it
/// back as processing does), taking turns.
fn append_costs(
    store: &RedbStore,
    endpoint: &str,
    long: String,
    fresh: String,
) -> ((Duration, Duration), (Duration, Duration)) {
    let mut times = [Vec::new(), Vec::new()];
    for n in 0..200u64 {
        for (which, key) in [&long, &fresh].into_iter().enumerate() {
            let started = Instant::now();
            let mut record = store
                .open_alert(endpoint, key)
                .expect("open_alert")
                .expect("open");
            record.history.push(10_000_000 + n);
            record.count += 1;
            let expected = Some((record.id, record.revision));
            apply(
                store,
                ProcessedBatch {
                    expected_open: vec![((endpoint.to_string(), key.clone()), expected)],
                    alerts: vec![AlertWrite::Update(record)],
                    ..ProcessedBatch::default()
                },
            );
            times[which].push(started.elapsed());
        }
    }
    let [mut long_times, mut fresh_times] = times;
    let median_p99 = |times: &mut Vec<Duration>| {
        times.sort();
        (times[times.len() / 2], times[(times.len() - 1) * 99 / 100])
    };
    (median_p99(&mut long_times), median_p99(&mut fresh_times))
}

/// Waits for the start-up retention pass's log line.
fn wait_for_prune(gateway: &ChildGateway, limit: Duration) -> Option<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if gateway.log().contains("retention: removed") {
            return Some(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
