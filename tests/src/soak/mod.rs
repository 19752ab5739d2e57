//! The soak: the real gateway binary as a child process takes mixed signed Bitbucket traffic on
//! several endpoints while its receiver turns faulty (500, 429 with `Retry-After`, slower than
//! the delivery timeout, down) and its SMTP relay answers 451 for a spell (the alerts are mailed
//! too), one endpoint's plugin loops and another's exhausts its memory,
//! and the gateway is killed with `kill -9` and restarted. Then everything is left to settle
//! and the promises are checked against the inbound log, the alerts, the deliveries and what
//! the receiver got. `tests/tests/soak_short.rs` runs a short form; `--bin soak` the long one.

mod check;

use crate::harness::{
    Answer, CaptureReceiver, ChildGateway, ChildGatewayConfig, GatewayClient, GatewayProgram,
    ReceiverOptions,
};
use crate::smtp::{SmtpFault, SmtpServer, Times};
use crate::{commit_status_payload, fixture, plugin_file};
use check::check;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The soak's retry schedule: short, so every delivery reaches its last attempt soon after the
/// traffic stops (6 attempts over about 7 s, plus the timeouts).
const RETRY_SCHEDULE: [&str; 5] = ["200ms", "500ms", "1s", "2s", "3s"];
/// The delivery timeout, seconds; the slow receiver answers after twice that.
const DELIVERY_TIMEOUT_SECS: u64 = 1;
/// Plugin calls get 500 ms: the looping plugin holds a processing batch that long, and a busy
/// machine does not push a healthy call past it.
const PLUGIN_TIMEOUT_MS: u64 = 500;
/// Alert keys the failing-pipeline traffic spreads over.
const ALERT_KEYS: usize = 8;
/// One post in this many goes to each hostile endpoint.
const HOSTILE_EVERY: u64 = 40;

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// How long traffic is sent (settling comes after).
    pub traffic: Duration,
    /// `kill -9` and restarts of the gateway during the traffic.
    pub kills: usize,
    /// Threads posting webhooks, each waiting `pause` between posts.
    pub posters: usize,
    /// The pause between one poster's posts.
    pub pause: Duration,
    /// The gateway program (the tests' `hookgate-e2e`, or the soak binary itself in gateway
    /// mode).
    pub program: GatewayProgram,
    /// Where the gateway's data dir and log go.
    pub work_dir: PathBuf,
    /// The longest the deliveries may take to settle after the traffic.
    pub settle_limit: Duration,
}

/// How the receiver answers for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReceiverMode {
    /// 200.
    Healthy,
    /// 500.
    ServerError,
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// 200, but after twice the delivery timeout.
    Slow,
    /// The listener is closed: connections are refused.
    Down,
}

/// The receiver's modes in turn: each fault between two healthy spells.
const MODE_CYCLE: [ReceiverMode; 8] = [
    ReceiverMode::Healthy,
    ReceiverMode::ServerError,
    ReceiverMode::Healthy,
    ReceiverMode::TooManyRequests,
    ReceiverMode::Healthy,
    ReceiverMode::Slow,
    ReceiverMode::Healthy,
    ReceiverMode::Down,
];

/// What the soak did and found.
#[derive(Debug, Default, Clone)]
pub struct SoakReport {
    /// Webhooks posted.
    pub webhooks_sent: u64,
    /// Answers by status (0: no answer, the gateway was down).
    pub answers: BTreeMap<u16, u64>,
    /// Accepted records (202 with an id).
    pub accepted: u64,
    /// `kill -9` and restarts.
    pub kills: usize,
    /// Receiver mode switches by mode.
    pub receiver_spells: BTreeMap<String, u64>,
    /// Spells of the SMTP relay answering every mail `451 4.3.0 try again later`.
    pub smtp_tempfail_spells: u64,
    /// Delivery attempts by what went wrong (`http 500`, `http 429`, `smtp 451`, `timeout`,
    /// `refused`), and `ok`.
    pub attempts: BTreeMap<String, u64>,
    /// Records of the hostile endpoints failed by their plugin, by reason (`timeout`,
    /// `memory limit`).
    pub plugin_faults: BTreeMap<String, u64>,
    /// Records of the healthy endpoints that ended `failed`, by reason: none is an injected
    /// fault, so each is a problem too.
    pub healthy_failed: BTreeMap<String, u64>,
    /// Alerts in the end, and the failing-pipeline records applied to them.
    pub alerts: u64,
    /// Records applied to alerts (opened or appended).
    pub alert_applications: u64,
    /// Deliveries in the end: delivered, failed after the last attempt.
    pub delivered: u64,
    /// Deliveries that failed after their last attempt.
    pub failed_after_last_attempt: u64,
    /// Distinct deliveries the receiver answered 2xx, and how many of those it got again
    /// (at-least-once after a kill).
    pub receiver_distinct: u64,
    /// Distinct mail deliveries the relay accepted (by `X-Hookgate-Delivery`).
    pub mails_distinct: u64,
    /// Repeats the relay accepted of a mail it had already taken (the same `Message-ID`).
    pub mail_repeats: u64,
    /// Repeats the receiver got of a delivery it had already taken.
    pub receiver_repeats: u64,
    /// Accepted records missing from the log, left pending, or not applied.
    pub records_lost: u64,
    /// Alert applications beyond one per record.
    pub duplicate_alert_applications: u64,
    /// Notifications without their delivery, deliveries neither delivered nor failed after
    /// their last attempt, and delivered ones the receiver never took.
    pub deliveries_lost: u64,
    /// Deliveries created more than once for one notification.
    pub duplicate_deliveries: u64,
    /// Ingest latency of the healthy endpoints' accepted posts.
    pub ingest_p50: Duration,
    /// 99th percentile.
    pub ingest_p99: Duration,
    /// Slowest.
    pub ingest_max: Duration,
    /// How long the deliveries took to settle after the traffic.
    pub settled_in: Duration,
    /// What went wrong, one line each.
    pub problems: Vec<String>,
}

impl SoakReport {
    /// The report as a table.
    pub fn print(&self) {
        let line = |name: &str, value: String| println!("  {name:<44} {value}");
        println!("soak report");
        line("webhooks sent", self.webhooks_sent.to_string());
        line(
            "answers by status (0 = gateway down)",
            format!("{:?}", self.answers),
        );
        line("accepted (202 with an id)", self.accepted.to_string());
        line("kill -9 and restarts", self.kills.to_string());
        line("receiver spells", format!("{:?}", self.receiver_spells));
        line(
            "SMTP relay spells answering 451",
            self.smtp_tempfail_spells.to_string(),
        );
        line("delivery attempts", format!("{:?}", self.attempts));
        line(
            "hostile plugin records failed",
            format!("{:?}", self.plugin_faults),
        );
        line(
            "healthy records failed (must be none)",
            format!("{:?}", self.healthy_failed),
        );
        line("alerts", self.alerts.to_string());
        line("alert applications", self.alert_applications.to_string());
        line("deliveries delivered", self.delivered.to_string());
        line(
            "deliveries failed after the last attempt",
            self.failed_after_last_attempt.to_string(),
        );
        line(
            "receiver: distinct deliveries taken",
            self.receiver_distinct.to_string(),
        );
        line(
            "receiver: repeats (same Idempotency-Key)",
            self.receiver_repeats.to_string(),
        );
        line(
            "relay: distinct mails taken",
            self.mails_distinct.to_string(),
        );
        line(
            "relay: repeats (same Message-ID)",
            self.mail_repeats.to_string(),
        );
        line("records lost", self.records_lost.to_string());
        line(
            "duplicate alert applications",
            self.duplicate_alert_applications.to_string(),
        );
        line("deliveries lost", self.deliveries_lost.to_string());
        line(
            "duplicate deliveries",
            self.duplicate_deliveries.to_string(),
        );
        line(
            "ingest latency p50 / p99 / max",
            format!(
                "{:.1} / {:.1} / {:.1} ms",
                self.ingest_p50.as_secs_f64() * 1e3,
                self.ingest_p99.as_secs_f64() * 1e3,
                self.ingest_max.as_secs_f64() * 1e3
            ),
        );
        line(
            "settled after the traffic in",
            format!("{:.1} s", self.settled_in.as_secs_f64()),
        );
        for problem in &self.problems {
            println!("  PROBLEM: {problem}");
        }
    }
}

/// Runs the soak; the report says what was found (`problems` empty when every promise held).
pub fn run(options: &SoakOptions) -> SoakReport {
    hookgate::install_tls_provider();
    let mut report = SoakReport::default();
    let data_dir = options.work_dir.join("data");
    let plugins = data_dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("creating the data dir");
    std::fs::copy(plugin_file("hostile"), plugins.join("hostile.wasm"))
        .expect("dropping in the hostile plugin");
    let relay = SmtpServer::start();
    let mut gateway = ChildGateway::start(ChildGatewayConfig {
        config_toml: Some(soak_config(&relay.url())),
        ..ChildGatewayConfig::new(options.program.clone(), &options.work_dir)
    });
    let receiver = CaptureReceiver::start_with(ReceiverOptions {
        // Only which deliveries it took: a long soak sends too many to keep.
        keep_requests: false,
        workers: 2,
    });

    let endpoints = Endpoints::create(&gateway, &receiver.url);
    let traffic = Traffic::default();
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = (0..options.posters)
        .map(|poster| {
            let (endpoints, traffic, stop) = (endpoints.clone(), traffic.clone(), stop.clone());
            let client = gateway.with_timeout(Duration::from_secs(10));
            let pause = options.pause;
            let posters = options.posters as u64;
            std::thread::spawn(move || {
                post_until(&client, &endpoints, &traffic, &stop, poster, posters, pause)
            })
        })
        .collect();

    // Faults on a timetable: the receiver's spells, and the kills spread over the traffic.
    let started = Instant::now();
    let spell = (options.traffic / 16).clamp(Duration::from_secs(2), Duration::from_secs(20));
    let kill_times: Vec<Duration> = (1..=options.kills)
        .map(|n| options.traffic * n as u32 / (options.kills as u32 + 1))
        .collect();
    let mut spells = 0;
    while started.elapsed() < options.traffic {
        let mode = MODE_CYCLE[spells % MODE_CYCLE.len()];
        set_mode(&receiver, mode);
        // The relay answers 451 while the receiver answers 500: both kinds of retry at once.
        let relay_tempfails = mode == ReceiverMode::ServerError;
        relay.set_fault(
            SmtpFault::TempfailData,
            if relay_tempfails {
                Times::Always
            } else {
                Times::Next(0)
            },
        );
        report.smtp_tempfail_spells += u64::from(relay_tempfails);
        *report
            .receiver_spells
            .entry(format!("{mode:?}"))
            .or_default() += 1;
        spells += 1;
        let spell_end = started.elapsed() + spell;
        while started.elapsed() < spell_end.min(options.traffic) {
            if report.kills < kill_times.len() && started.elapsed() >= kill_times[report.kills] {
                gateway.restart();
                report.kills += 1;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for poster in posters {
        let _ = poster.join();
    }
    set_mode(&receiver, ReceiverMode::Healthy);
    relay.set_fault(SmtpFault::TempfailData, Times::Next(0));

    let traffic_over = Instant::now();
    let settled = settle(&gateway, options.settle_limit);
    report.settled_in = traffic_over.elapsed();
    if !settled {
        report.problems.push(format!(
            "the gateway did not settle within {:?} of the traffic's end",
            options.settle_limit
        ));
    }
    check(
        &gateway,
        &endpoints,
        &traffic,
        &receiver,
        &relay,
        &mut report,
    );
    gateway.kill_9();
    receiver.go_down();
    report
}

/// The gateway's settings: a short retry schedule and delivery timeout, deliveries never
/// disabled (the soak counts every attempt of every delivery), plugin calls of 500 ms, mail
/// through `relay_url`.
fn soak_config(relay_url: &str) -> String {
    let schedule = RETRY_SCHEDULE
        .map(|delay| format!("\"{delay}\""))
        .join(", ");
    format!(
        "[delivery]\nallow_private_destinations = true\ntimeout_secs = {DELIVERY_TIMEOUT_SECS}\n\
         retry_schedule = [{schedule}]\ndisable_after_failures = 0\n\
         [plugins]\ntimeout_ms = {PLUGIN_TIMEOUT_MS}\n\
         [smtp]\nurl = \"{relay_url}\"\nfrom = \"hookgate soak <soak@example.com>\"\n"
    )
}

/// Waits until no record is queued and every delivery is delivered or failed.
fn settle(gateway: &GatewayClient, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if gateway.settled() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// Sets the receiver's answers for a spell.
fn set_mode(receiver: &CaptureReceiver, mode: ReceiverMode) {
    if mode == ReceiverMode::Down {
        receiver.go_down();
        return;
    }
    receiver.answer_always(match mode {
        ReceiverMode::Healthy | ReceiverMode::Down => Answer::Status(204, None),
        ReceiverMode::ServerError => Answer::Status(500, None),
        ReceiverMode::TooManyRequests => Answer::Status(429, Some(1)),
        ReceiverMode::Slow => Answer::Late(Duration::from_secs(2 * DELIVERY_TIMEOUT_SECS)),
    });
    receiver.come_back();
}

/// Which endpoint a post goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    /// bitbucket-pipelines: FAILED opens or appends, SUCCESSFUL closes.
    Alerts,
    /// bitbucket-embeds: pushes and pull requests as Discord embeds.
    Embeds,
    /// The hostile plugin, looping until its time runs out.
    Looping,
    /// The hostile plugin, allocating past its memory.
    Hungry,
}

/// The endpoints' hook URLs and secrets.
#[derive(Clone)]
struct Endpoints {
    hooks: BTreeMap<Target, (String, String)>,
    /// Endpoint id → how many destinations it notifies.
    destinations: BTreeMap<String, u64>,
}

impl Endpoints {
    fn create(gateway: &GatewayClient, receiver: &str) -> Self {
        let specs = [
            (
                Target::Alerts,
                json!({
                    "name": "soak alerts",
                    "events": ["repo:commit_status_updated"],
                    "alerts": {"plugin": "bitbucket-pipelines"},
                    "destinations": [
                        {"kind": "webhook", "url": format!("{receiver}/alerts")},
                        {"kind": "email", "to": "oncall@example.com"},
                    ],
                }),
            ),
            (
                Target::Embeds,
                json!({
                    "name": "soak embeds",
                    "events": ["repo:push", "pullrequest:created"],
                    "format": {"plugin": "bitbucket-embeds"},
                    "destinations": [{"kind": "discord", "url": format!("{receiver}/discord/embeds")}],
                }),
            ),
            (
                Target::Looping,
                json!({
                    "name": "soak looping plugin",
                    "events": ["repo:push"],
                    "alerts": {"plugin": "hostile", "config": {"behaviour": "loop"}},
                }),
            ),
            (
                Target::Hungry,
                json!({
                    "name": "soak memory-hungry plugin",
                    "events": ["repo:push"],
                    "alerts": {"plugin": "hostile", "config": {"behaviour": "allocate"}},
                }),
            ),
        ];
        let mut hooks = BTreeMap::new();
        let mut destinations = BTreeMap::new();
        for (target, spec) in specs {
            let created = gateway.create_endpoint(spec);
            let url = created["url"].as_str().expect("url").to_string();
            let secret = created["secret"].as_str().expect("secret").to_string();
            let id = created["id"].as_str().expect("id").to_string();
            let count = created["destinations"].as_array().map_or(0, Vec::len);
            destinations.insert(id, count as u64);
            hooks.insert(target, (url, secret));
        }
        Self {
            hooks,
            destinations,
        }
    }
}

/// What the posters saw.
#[derive(Clone, Default)]
struct Traffic {
    inner: Arc<Mutex<TrafficLog>>,
}

#[derive(Default)]
struct TrafficLog {
    sent: u64,
    answers: BTreeMap<u16, u64>,
    /// The accepted records.
    accepted: Vec<Accepted>,
    /// Ingest latency of accepted posts to the healthy endpoints.
    healthy_latencies: Vec<Duration>,
}

/// An accepted post: its record id, the endpoint it went to, and whether it was a failing
/// pipeline (which must end in exactly one alert's history).
struct Accepted {
    id: String,
    target: Target,
    failing_pipeline: bool,
}

/// One poster: a post every `pause` until `stop`; the `n`th post overall (interleaved by
/// poster) picks its endpoint and payload.
fn post_until(
    client: &GatewayClient,
    endpoints: &Endpoints,
    traffic: &Traffic,
    stop: &AtomicBool,
    poster: usize,
    posters: u64,
    pause: Duration,
) {
    let statuses: Vec<String> = (0..ALERT_KEYS)
        .flat_map(|key| {
            ["FAILED", "SUCCESSFUL"].map(|state| {
                let mut payload: Value =
                    serde_json::from_str(&commit_status_payload(state)).expect("fixture");
                payload["commit_status"]["refname"] = json!(format!("soak-{key}"));
                payload.to_string()
            })
        })
        .collect();
    let push = fixture("repo_push.json");
    let pull_request = fixture("pullrequest_created.json");
    let mut sequence = poster as u64;
    while !stop.load(Ordering::Relaxed) {
        let n = sequence;
        sequence += posters;
        let mut failing_pipeline = false;
        let (target, event, body) = if n.is_multiple_of(HOSTILE_EVERY) {
            (Target::Looping, "repo:push", "{}")
        } else if n % HOSTILE_EVERY == HOSTILE_EVERY / 2 {
            (Target::Hungry, "repo:push", "{}")
        } else if n.is_multiple_of(3) {
            if n.is_multiple_of(2) {
                (Target::Embeds, "repo:push", push.as_str())
            } else {
                (Target::Embeds, "pullrequest:created", pull_request.as_str())
            }
        } else {
            // Three FAILED to one SUCCESSFUL, over the keys.
            let key = (n / 3) as usize % ALERT_KEYS;
            let state = usize::from(n % 4 == 1);
            failing_pipeline = state == 0;
            (
                Target::Alerts,
                "repo:commit_status_updated",
                statuses[key * 2 + state].as_str(),
            )
        };
        let (url, secret) = &endpoints.hooks[&target];
        let started = Instant::now();
        let answer = client.try_post_hook(url, event, body, Some(secret), &format!("soak-{n}"));
        let took = started.elapsed();
        let (status, id) = match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                let answer: Value = response.json().unwrap_or(Value::Null);
                let id = (status == 202)
                    .then(|| answer["id"].as_str().map(str::to_string))
                    .flatten();
                (status, id)
            }
            Err(_) => (0, None),
        };
        if let Ok(mut log) = traffic.inner.lock() {
            log.sent += 1;
            *log.answers.entry(status).or_default() += 1;
            if let Some(id) = id {
                log.accepted.push(Accepted {
                    id,
                    target,
                    failing_pipeline,
                });
                if matches!(target, Target::Alerts | Target::Embeds) {
                    log.healthy_latencies.push(took);
                }
            }
        }
        std::thread::sleep(pause);
    }
}
