//! `/metrics` after real traffic: signed posts accepted, a bad signature, an unknown endpoint, a
//! failing pipeline that opens an alert, a plugin that fails, and deliveries to the capture
//! receiver (one answered 500, then retried). The exposition is parsed and every count checked
//! exactly; no endpoint id (the secret part of a webhook URL) appears in it.

use crate::gateway::uuid;
use hookgate_tests::commit_status_payload;
use hookgate_tests::harness::{CaptureReceiver, TestGateway, wait_for};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// One sample: the metric name with its labels in order, e.g.
/// `hookgate_deliveries_total{outcome="delivered"}`, and its value.
fn parse(exposition: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in exposition.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a sample line is `series value`: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in {line:?}"));
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

fn scrape(gateway: &TestGateway) -> (String, BTreeMap<String, f64>) {
    let response = reqwest::blocking::get(format!("{}/metrics", gateway.url)).unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().unwrap();
    let samples = parse(&text);
    (text, samples)
}

/// A commit status on `branch` in `state`.
fn status_on(branch: &str, state: &str) -> String {
    let mut payload: Value = serde_json::from_str(&commit_status_payload(state)).unwrap();
    payload["commit_status"]["refname"] = json!(branch);
    payload.to_string()
}

#[test]
fn metrics_count_real_traffic_exactly() {
    let gateway = TestGateway::start(|_| {});
    let receiver = CaptureReceiver::start();
    // The first notification is answered 500 and retried; the rest 200.
    receiver.answer_with(&[(500, None)]);
    let pipelines = gateway.create_endpoint(json!({
        "name": "pipelines",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
        "format": {"plugin": "bitbucket-embeds"},
        "destinations": [{"kind": "discord", "url": format!("{}/discord", receiver.url)}],
    }));
    // A mapper whose config it refuses at call time: every call fails with the plugin's own error.
    let broken = gateway.create_endpoint(json!({
        "name": "broken",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines", "config": {"filters": [{"field": "x", "regex": "("}]}},
    }));
    let id = |endpoint: &Value| endpoint["id"].as_str().unwrap().to_string();
    let (pipelines_id, broken_id) = (id(&pipelines), id(&broken));
    let post = |endpoint: &Value, body: &str, secret: Option<&str>, n: usize| {
        gateway.post_hook(
            endpoint["url"].as_str().unwrap(),
            "repo:commit_status_updated",
            body,
            secret,
            &uuid(n),
        )
    };
    let secret = |endpoint: &Value| endpoint["secret"].as_str().unwrap().to_string();

    // Accepted: two failures on two branches (two alerts opened), a success (closes nothing
    // open on that branch), and one record for the broken mapper.
    let mut accepted = Vec::new();
    for (n, (branch, state)) in [
        ("main", "FAILED"),
        ("release", "FAILED"),
        ("dev", "SUCCESSFUL"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, answer) = post(
            &pipelines,
            &status_on(branch, state),
            Some(secret(&pipelines).as_str()),
            n,
        );
        assert_eq!(status, 202, "{answer}");
        accepted.push(answer["id"].as_str().unwrap().to_string());
    }
    let (status, answer) = post(
        &broken,
        &status_on("main", "FAILED"),
        Some(secret(&broken).as_str()),
        10,
    );
    assert_eq!(status, 202, "{answer}");
    let broken_record = answer["id"].as_str().unwrap().to_string();
    // Rejected: a bad signature, and an endpoint that does not exist.
    let (status, _) = post(
        &pipelines,
        &status_on("main", "FAILED"),
        Some("not-the-secret"),
        20,
    );
    assert_eq!(status, 401);
    let unknown = json!({"url": format!("{}/hooks/no-such-endpoint", gateway.url)});
    let (status, _) = post(&unknown, "{}", None, 21);
    assert_eq!(status, 404);

    for record in &accepted {
        assert_eq!(gateway.processed(record)["status"], "processed");
    }
    let failed = gateway.processed(&broken_record);
    assert_eq!(failed["status"], "failed", "{failed}");
    // The two opened alerts are notified; the first attempt got the 500 and was retried.
    wait_for(
        "both notifications delivered",
        Duration::from_secs(30),
        || {
            let (_, page) = gateway.api("GET", "/deliveries?status=delivered", None);
            page["items"]
                .as_array()
                .is_some_and(|items| items.len() == 2)
        },
    );
    let (_, open) = gateway.api("GET", "/alerts?state=open", None);
    let release = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["key"].as_str().unwrap().ends_with(":release"))
        .expect("the release alert")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = gateway.api("POST", &format!("/alerts/{release}/ack"), None);
    assert_eq!(status, 200);
    // The acknowledgement is a notice of its own (alert.acknowledged) to the destination.
    wait_for(
        "the acknowledgement delivered",
        Duration::from_secs(30),
        || {
            let (_, page) = gateway.api("GET", "/deliveries?status=delivered", None);
            page["items"]
                .as_array()
                .is_some_and(|items| items.len() == 3)
        },
    );

    let (text, samples) = scrape(&gateway);
    let value = |series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    let requests = |endpoint: &str, status: u16| {
        value(&format!(
            "hookgate_ingest_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}}"
        ))
    };
    // Counted by endpoint name: the ids are the secret part of the webhook URLs, and
    // `/metrics` needs no token.
    assert_eq!(requests("pipelines", 202), 3.0);
    assert_eq!(requests("pipelines", 401), 1.0);
    assert_eq!(requests("broken", 202), 1.0);
    assert_eq!(requests("unknown", 404), 1.0);
    for id in [&pipelines_id, &broken_id] {
        assert!(
            !text.contains(id.as_str()),
            "endpoint id {id} in /metrics:\n{text}"
        );
    }
    let request_series = samples
        .keys()
        .filter(|series| series.starts_with("hookgate_ingest_requests_total{"))
        .count();
    assert_eq!(request_series, 4, "{text}");

    // Each record called its mapper; the pipelines endpoint's records also called the formatter.
    let calls = |plugin: &str| {
        value(&format!(
            "hookgate_plugin_call_duration_seconds_count{{plugin=\"{plugin}\"}}"
        ))
    };
    assert_eq!(calls("bitbucket-pipelines"), 4.0);
    assert_eq!(calls("bitbucket-embeds"), 3.0);
    for plugin in ["bitbucket-pipelines", "bitbucket-embeds"] {
        let infinite = value(&format!(
            "hookgate_plugin_call_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"+Inf\"}}"
        ));
        assert_eq!(infinite, calls(plugin));
        let sum = value(&format!(
            "hookgate_plugin_call_duration_seconds_sum{{plugin=\"{plugin}\"}}"
        ));
        assert!(sum > 0.0, "{plugin}: {sum}");
        // Buckets are cumulative: never fewer calls under a larger bound.
        let mut buckets: Vec<(f64, f64)> = samples
            .iter()
            .filter(|(series, _)| {
                series.starts_with(&format!(
                    "hookgate_plugin_call_duration_seconds_bucket{{plugin=\"{plugin}\",le="
                ))
            })
            .map(|(series, count)| {
                let bound = series
                    .rsplit_once("le=\"")
                    .unwrap()
                    .1
                    .trim_end_matches("\"}");
                (bound.parse::<f64>().unwrap_or(f64::INFINITY), *count)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(buckets.len(), 17, "16 bounds and +Inf: {text}");
        assert!(
            buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
            "{buckets:?}"
        );
    }
    assert_eq!(
        value("hookgate_plugin_failures_total{plugin=\"bitbucket-pipelines\",reason=\"error\"}"),
        1.0
    );
    let failure_series = samples
        .keys()
        .filter(|series| series.starts_with("hookgate_plugin_failures_total{"))
        .count();
    assert_eq!(failure_series, 1, "{text}");

    assert_eq!(
        value("hookgate_deliveries_total{outcome=\"delivered\"}"),
        3.0
    );
    assert_eq!(
        value("hookgate_deliveries_total{outcome=\"retrying\"}"),
        1.0
    );
    assert!(!samples.contains_key("hookgate_deliveries_total{outcome=\"failed\"}"));
    assert_eq!(value("hookgate_queue_depth"), 0.0);
    // Two opened, one of them acknowledged since.
    assert_eq!(value("hookgate_alerts{state=\"open\"}"), 1.0);
    assert_eq!(value("hookgate_alerts{state=\"acknowledged\"}"), 1.0);
    assert_eq!(value("hookgate_rejected_records_suppressed_total"), 0.0);

    // Every family is declared once, before its samples, with a known type.
    let mut declared = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("# TYPE ")) {
        let mut words = line["# TYPE ".len()..].split(' ');
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
        assert!(
            declared.insert(name.to_string(), kind).is_none(),
            "{name} declared twice"
        );
    }
    for series in samples.keys() {
        let name = series.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|family| declared.get(*family) == Some(&"histogram"))
            })
            .unwrap_or(name);
        assert!(declared.contains_key(family), "{series} has no # TYPE");
    }
}
