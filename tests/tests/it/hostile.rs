//! Hostile plugins beyond the basic limits (see `faults.rs` for those): what a plugin returns
//! or logs cannot hurt the host, and inside a running gateway each misbehaviour fails only its
//! own record, with the reason, while the next record is processed normally.

use crate::gateway::uuid;
use hookgate::runtime::RuntimeError;
use hookgate_tests::harness::TestGateway;
use hookgate_tests::{
    commit_status_payload, engine_with_timeout, event, load, patient_engine, plugin_file,
};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn a_string_that_is_not_utf8_is_a_fault_not_a_host_panic() {
    let engine = patient_engine();
    let plugin = load(&engine, "hostile");
    let error = plugin
        .map_event(
            &event("repo:push", "{}"),
            r#"{"behaviour": "invalid-utf8"}"#,
        )
        .unwrap_err();
    // The component model cannot lift it: the call fails, classified, with the reason.
    assert!(
        matches!(&error, RuntimeError::Trap(reason) if reason.contains("utf-8")),
        "{error:?}"
    );
    let healthy = load(&engine, "bitbucket_pipelines");
    let actions = healthy
        .map_event(
            &event(
                "repo:commit_status_updated",
                &commit_status_payload("FAILED"),
            ),
            "{}",
        )
        .expect("the next call works");
    assert_eq!(actions.len(), 1);
}

/// What the gateway's log subscriber was given, as text.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `behaviour` of the hostile plugin on `engine` with a log subscriber of its own; returns
/// the call's result and the log as text.
fn run_logged(
    engine: &hookgate::runtime::PluginEngine,
    behaviour: &str,
) -> (
    Result<Vec<hookgate::runtime::AlertAction>, RuntimeError>,
    String,
) {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let plugin = load(engine, "hostile");
    let config = format!(r#"{{"behaviour": "{behaviour}"}}"#);
    let result = tracing::subscriber::with_default(subscriber, || {
        plugin.map_event(&event("repo:push", "{}"), &config)
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    (result, text)
}

#[test]
fn a_plugin_logging_without_end_writes_a_bounded_log() {
    // Two seconds, not the 50 ms default: the 64 lines must fit in the call even on a busy
    // machine, so that the count measures the cap and not the time the call had.
    let (result, text) = run_logged(&engine_with_timeout(Duration::from_secs(2)), "log-flood");
    // It logs until its time runs out: stopped like any endless loop.
    let error = result.unwrap_err();
    assert!(matches!(error, RuntimeError::Timeout { .. }), "{error:?}");
    let flood_lines = text
        .lines()
        .filter(|line| line.contains("flood flood"))
        .count();
    // Each message is 600 kB; the host keeps 64 lines of at most 4 KiB per call.
    assert_eq!(flood_lines, 64, "{} bytes of log", text.len());
    assert!(
        text.lines().all(|line| line.len() < 4096 + 256),
        "a line past the cap"
    );
    assert!(
        text.len() < 64 * (4096 + 256) + 4096,
        "{} bytes",
        text.len()
    );
    assert!(text.contains("log budget of 64 lines per call spent"));
}

#[test]
fn printing_past_the_cap_logs_exactly_the_first_16_kib() {
    // The plugin prints 1,000 lines of 100 bytes (`stdout line NNNNN xxx…\n`); the host keeps
    // the first 16 KiB of stdout and logs them line by line.
    let (result, text) = run_logged(&patient_engine(), "print-past-cap");
    result.expect("printing past the cap is not a failure");
    let printed: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let start = line.find("stdout line ")?;
            let rest = &line[start..];
            // The printed text ends where the x's end (the log adds fields after it).
            let end = 18 + rest[18..].find(|c| c != 'x').unwrap_or(rest.len() - 18);
            Some(&rest[..end])
        })
        .collect();
    let kept_bytes: usize = printed
        .iter()
        .map(|line| if line.len() == 99 { 100 } else { line.len() })
        .sum();
    assert_eq!(kept_bytes, 16 * 1024, "{} lines logged", printed.len());
    // 163 whole lines, then the first 84 bytes of line 163; nothing after it.
    assert_eq!(printed.len(), 164);
    assert!(
        printed[163].starts_with("stdout line 00163 "),
        "{}",
        printed[163]
    );
    assert_eq!(printed[163].len(), 84);
}

/// One gateway with the hostile plugin dropped in; each behaviour runs on its own endpoint.
struct HostileGateway {
    gateway: TestGateway,
}

impl HostileGateway {
    fn start() -> Self {
        let gateway = TestGateway::start(|config| {
            let plugins = config.data_dir.join("plugins");
            std::fs::create_dir_all(&plugins).unwrap();
            std::fs::copy(plugin_file("hostile"), plugins.join("hostile.wasm")).unwrap();
        });
        Self { gateway }
    }

    /// Posts a push to an endpoint whose mapper is the hostile plugin doing `behaviour`;
    /// returns the processed record.
    fn run(&self, behaviour: &str, n: usize) -> Value {
        self.post(
            json!({
                "name": format!("hostile {behaviour}"),
                "events": ["repo:push"],
                "alerts": {"plugin": "hostile", "config": {"behaviour": behaviour}},
            }),
            "repo:push",
            "{}",
            n,
        )
    }

    /// A healthy endpoint's record, after a hostile one.
    fn run_healthy(&self, n: usize) -> Value {
        self.post(
            json!({
                "name": "healthy",
                "events": ["repo:commit_status_updated"],
                "alerts": {"plugin": "bitbucket-pipelines"},
            }),
            "repo:commit_status_updated",
            &commit_status_payload("FAILED"),
            n,
        )
    }

    fn post(&self, endpoint: Value, event_key: &str, body: &str, n: usize) -> Value {
        let answer = self.gateway.create_endpoint(endpoint);
        let (status, accepted) = self.gateway.post_hook(
            answer["url"].as_str().unwrap(),
            event_key,
            body,
            answer["secret"].as_str(),
            &uuid(n),
        );
        assert_eq!(status, 202, "{accepted}");
        self.gateway.processed(accepted["id"].as_str().unwrap())
    }
}

fn first_outcome(record: &Value) -> &str {
    record["outcomes"][0]["outcome"].as_str().unwrap_or("")
}

#[test]
fn each_misbehaviour_fails_only_its_own_record_with_the_reason() {
    let hostile = HostileGateway::start();
    let cases = [
        ("recurse", "Plugin Failed: trap"),
        ("huge-error", "Plugin Failed: eeee"),
        ("invalid-utf8", "Plugin Failed: trap"),
        ("log-flood", "Plugin Failed: timeout"),
        ("loop", "Plugin Failed: timeout"),
        ("allocate", "Plugin Failed: memory limit"),
        ("big-output", "Plugin Failed: output too large"),
    ];
    for (n, (behaviour, expected)) in cases.into_iter().enumerate() {
        let record = hostile.run(behaviour, 2 * n);
        assert_eq!(record["status"], "failed", "{behaviour}: {record}");
        let outcome = first_outcome(&record);
        assert!(outcome.starts_with(expected), "{behaviour}: {outcome}");
        // The plugin's own error is cut to 1 KiB before it is stored.
        assert!(outcome.len() < 2048, "{behaviour}: {} bytes", outcome.len());

        let healthy = hostile.run_healthy(2 * n + 1);
        assert_eq!(
            healthy["status"], "processed",
            "after {behaviour}: {healthy}"
        );
        assert_eq!(
            first_outcome(&healthy),
            "Mapped Opened",
            "after {behaviour}"
        );
    }
}

#[test]
fn files_environment_and_sockets_fail_inside_the_sandbox_and_the_plugin_sees_it() {
    let hostile = HostileGateway::start();
    for (n, behaviour) in ["read-file", "env", "socket"].into_iter().enumerate() {
        let record = hostile.run(behaviour, 2 * n);
        // The attempt fails inside the plugin, which reports it and carries on.
        assert_eq!(record["status"], "processed", "{behaviour}: {record}");
        let outcome = first_outcome(&record);
        assert!(
            outcome.starts_with(&format!("Ignored: {behaviour} denied")),
            "{behaviour}: {outcome}"
        );
        let healthy = hostile.run_healthy(2 * n + 1);
        assert_eq!(
            first_outcome(&healthy),
            "Mapped Opened",
            "after {behaviour}"
        );
    }
}

/// The value of an unlabelled series in a `/metrics` text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// How many times the hostile plugin was called, from `/metrics`.
fn hostile_calls(text: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("hookgate_plugin_call_duration_seconds_count{plugin=\"hostile\"} ")
        })
        .map_or(0, |count| count.trim().parse().unwrap())
}

#[test]
fn a_plugin_looping_record_after_record_is_quarantined_for_its_endpoint_until_released() {
    const AFTER: usize = 3;
    let gateway = TestGateway::start(|config| {
        config.plugins.quarantine_after = AFTER as u32;
        let plugins = config.data_dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::copy(plugin_file("hostile"), plugins.join("hostile.wasm")).unwrap();
    });
    let looping = gateway.create_endpoint(json!({
        "name": "looping",
        "events": ["repo:push"],
        "alerts": {"plugin": "hostile", "config": {"behaviour": "loop"}},
    }));
    let healthy = gateway.create_endpoint(json!({
        "name": "healthy",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
    }));
    let looping_id = looping["id"].as_str().unwrap().to_string();
    let post = |endpoint: &Value, event: &str, body: &str, n: usize| -> Value {
        let (status, answer) = gateway.post_hook(
            endpoint["url"].as_str().unwrap(),
            event,
            body,
            endpoint["secret"].as_str(),
            &uuid(n),
        );
        assert_eq!(status, 202, "{answer}");
        gateway.processed(answer["id"].as_str().unwrap())
    };
    let endpoint = || gateway.api_ok("GET", &format!("/endpoints/{looping_id}"), None);

    // N records in a row hit the time limit: each fails with its reason, and the Nth
    // quarantines the plugin for this endpoint.
    for n in 0..AFTER {
        assert!(endpoint()["quarantined"].as_array().unwrap().is_empty());
        let record = post(&looping, "repo:push", "{}", n);
        assert_eq!(record["status"], "failed", "{record}");
        assert!(
            first_outcome(&record).starts_with("Plugin Failed: timeout"),
            "{record}"
        );
    }
    let quarantined = endpoint()["quarantined"].clone();
    assert_eq!(quarantined.as_array().unwrap().len(), 1, "{quarantined}");
    assert_eq!(quarantined[0]["plugin"], "hostile");
    assert!(
        quarantined[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Plugin Failed: timeout"),
        "{quarantined}"
    );
    let metrics = gateway.metrics();
    assert_eq!(metric(&metrics, "hookgate_plugins_quarantined"), 1);
    assert_eq!(metric(&metrics, "hookgate_plugins_quarantined_total"), 1);
    let calls_before = hostile_calls(&metrics);
    assert_eq!(calls_before, AFTER as u64);

    // The next record fails at once, without running the plugin.
    let refused = post(&looping, "repo:push", "{}", 10);
    assert_eq!(refused["status"], "failed", "{refused}");
    assert_eq!(first_outcome(&refused), "Plugin Failed: plugin quarantined");
    let metrics = gateway.metrics();
    assert_eq!(hostile_calls(&metrics), calls_before, "the plugin ran");
    assert_eq!(
        metric(&metrics, "hookgate_plugin_quarantined_records_total"),
        1
    );

    // Other endpoints keep processing.
    let other = post(
        &healthy,
        "repo:commit_status_updated",
        &commit_status_payload("FAILED"),
        11,
    );
    assert_eq!(other["status"], "processed", "{other}");
    assert_eq!(first_outcome(&other), "Mapped Opened");

    // The console shows it with a Release button.
    let session = crate::bitbucket_oauth::ConsoleSession::sign_in(&gateway.url);
    let (_, sources) = session.get("/ui/sources");
    assert!(sources.contains("hostile quarantined"), "{sources}");
    let release_path = format!("/ui/sources/{looping_id}/plugins/hostile/release");
    assert!(sources.contains(&release_path), "no Release form");

    // Fixing the config does not release it: only an operator's release does.
    gateway.api_ok(
        "PATCH",
        &format!("/endpoints/{looping_id}"),
        Some(json!({"alerts": {"plugin": "hostile", "config": {"behaviour": "behave"}}})),
    );
    assert_eq!(endpoint()["quarantined"].as_array().unwrap().len(), 1);
    let still = post(&looping, "repo:push", "{}", 12);
    assert_eq!(first_outcome(&still), "Plugin Failed: plugin quarantined");

    // Released from the console; the record failed meanwhile is replayed and now runs.
    let (status, location, _) = session.post(&release_path, &[]);
    assert_eq!((status, location.as_str()), (303, "/ui/sources"));
    assert!(endpoint()["quarantined"].as_array().unwrap().is_empty());
    assert_eq!(
        metric(&gateway.metrics(), "hookgate_plugins_quarantined"),
        0
    );
    let replayed = gateway.api_ok(
        "POST",
        &format!("/inbound/{}/replay", refused["id"].as_str().unwrap()),
        None,
    );
    let replayed = gateway.processed(replayed["id"].as_str().unwrap());
    assert_eq!(replayed["status"], "processed", "{replayed}");
    assert_eq!(first_outcome(&replayed), "Ignored: behaved");
    assert_eq!(hostile_calls(&gateway.metrics()), calls_before + 1);
}

#[test]
fn releasing_through_the_api_answers_the_endpoint_and_an_unknown_endpoint_is_404() {
    let gateway = TestGateway::start(|_| {});
    let endpoint = gateway.create_endpoint(json!({"name": "plain", "events": ["repo:push"]}));
    let id = endpoint["id"].as_str().unwrap();
    // Nothing quarantined: nothing changes, and the answer is the endpoint.
    let answer = gateway.api_ok(
        "POST",
        &format!("/endpoints/{id}/plugins/hostile/release"),
        None,
    );
    assert_eq!(answer["id"], id);
    assert_eq!(answer["quarantined"], json!([]));
    let (status, refused) = gateway.api("POST", "/endpoints/nope/plugins/hostile/release", None);
    assert_eq!(status, 404, "{refused}");
}
