//! The soak's promises, checked against the gateway's inbound log, alerts and deliveries and
//! what the receiver took: nothing accepted lost or applied twice, no notification vanished.

use super::{Endpoints, RETRY_SCHEDULE, SoakReport, Target, Traffic};
use crate::harness::{CaptureReceiver, GatewayClient};
use crate::smtp::SmtpServer;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The invariants, from the gateway's records and what the receiver took.
pub(super) fn check(
    gateway: &GatewayClient,
    endpoints: &Endpoints,
    traffic: &Traffic,
    receiver: &CaptureReceiver,
    relay: &SmtpServer,
    report: &mut SoakReport,
) {
    let traffic = traffic.inner.lock().expect("traffic log");
    report.webhooks_sent = traffic.sent;
    report.answers = traffic.answers.clone();
    report.accepted = traffic.accepted.len() as u64;
    let mut latencies = traffic.healthy_latencies.clone();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    report.ingest_p50 = percentile(0.50);
    report.ingest_p99 = percentile(0.99);
    report.ingest_max = latencies.last().copied().unwrap_or_default();

    let endpoint_id = |target: Target| {
        endpoints.hooks[&target]
            .0
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let alerts_endpoint = endpoint_id(Target::Alerts);
    // Each notification goes to every destination of its endpoint (the alerts' webhook and
    // mail, the embeds' Discord channel).
    let destinations_of =
        |endpoint: &str| endpoints.destinations.get(endpoint).copied().unwrap_or(0);

    // Every 202 has its record, processed or failed, never pending.
    let records = gateway.all("/inbound");
    let by_id: HashMap<&str, &Value> = records
        .iter()
        .filter_map(|record| Some((record["id"].as_str()?, record)))
        .collect();
    for accepted in &traffic.accepted {
        let (id, target) = (&accepted.id, accepted.target);
        let Some(record) = by_id.get(id.as_str()) else {
            report.records_lost += 1;
            report
                .problems
                .push(format!("accepted {id} is not in the log"));
            continue;
        };
        let status = record["status"].as_str().unwrap_or("");
        let healthy = matches!(target, Target::Alerts | Target::Embeds);
        match (status, healthy) {
            ("processed", true) => {}
            // No fault is injected into the healthy endpoints' plugins, so a failed record
            // there is a broken promise, whatever the reason.
            ("failed", true) => {
                let reason = failure_reason(record);
                *report.healthy_failed.entry(reason.clone()).or_default() += 1;
                report
                    .problems
                    .push(format!("healthy {id} ({target:?}) failed: {reason}"));
            }
            ("failed", false) => {
                *report
                    .plugin_faults
                    .entry(failure_reason(record))
                    .or_default() += 1;
            }
            _ => {
                report.records_lost += u64::from(status == "pending");
                report
                    .problems
                    .push(format!("accepted {id} ({target:?}) is {status}: {record}"));
            }
        }
    }

    // Exactly once: each failing-pipeline record is in one alert's history, once, and each
    // key's alert counts add up to its records.
    let alerts = gateway.all("/alerts");
    report.alerts = alerts.len() as u64;
    let mut applied_per_key: HashMap<String, u64> = HashMap::new();
    let mut applied_records: Vec<String> = Vec::new();
    for record in &records {
        if record["endpoint"] != alerts_endpoint.as_str() {
            continue;
        }
        for outcome in record["outcomes"].as_array().into_iter().flatten() {
            if matches!(
                outcome["outcome"].as_str(),
                Some("Mapped Opened" | "Mapped Appended")
            ) {
                let key = outcome["detail"].as_str().unwrap_or("").to_string();
                *applied_per_key.entry(key).or_default() += 1;
                applied_records.push(record["id"].as_str().unwrap_or("").to_string());
            }
        }
    }
    report.alert_applications = applied_records.len() as u64;
    let mut counted_per_key: HashMap<String, u64> = HashMap::new();
    let mut in_history: HashMap<String, u64> = HashMap::new();
    for alert in &alerts {
        let key = alert["key"].as_str().unwrap_or("").to_string();
        *counted_per_key.entry(key).or_default() += alert["count"].as_u64().unwrap_or(0);
        for id in alert["history"].as_array().into_iter().flatten() {
            *in_history
                .entry(id.as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
    }
    for (id, times) in &in_history {
        if *times > 1 {
            report.duplicate_alert_applications += times - 1;
            report
                .problems
                .push(format!("{id} is in alert histories {times} times"));
        }
    }
    // Judged from what was sent, not from what the records say: every accepted failing
    // pipeline is in exactly one alert's history.
    for accepted in traffic.accepted.iter().filter(|sent| sent.failing_pipeline) {
        if !in_history.contains_key(&accepted.id) {
            report.records_lost += 1;
            report.problems.push(format!(
                "accepted failing pipeline {} is in no alert's history",
                accepted.id
            ));
        }
    }
    for id in &applied_records {
        if !in_history.contains_key(id) {
            report.records_lost += 1;
            report
                .problems
                .push(format!("{id} was applied but is in no alert's history"));
        }
    }
    let keys: HashSet<&String> = applied_per_key
        .keys()
        .chain(counted_per_key.keys())
        .collect();
    for key in keys {
        let applied = applied_per_key.get(key).copied().unwrap_or(0);
        let counted = counted_per_key.get(key).copied().unwrap_or(0);
        if counted != applied {
            report.duplicate_alert_applications += counted.saturating_sub(applied);
            report.problems.push(format!(
                "alerts of {key} count {counted}, but {applied} records were applied"
            ));
        }
    }

    // Every notification has one delivery, delivered (and taken by the receiver) or failed
    // after its last attempt.
    let deliveries = gateway.all("/deliveries");
    let mut expected: HashMap<&str, u64> = HashMap::new();
    for record in &records {
        let notifications = record["outcomes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|outcome| {
                matches!(
                    outcome["outcome"].as_str(),
                    Some("Mapped Opened" | "Mapped Closed" | "Formatted")
                )
            })
            .count() as u64;
        if notifications > 0
            && let Some(id) = record["id"].as_str()
        {
            let endpoint = record["endpoint"].as_str().unwrap_or("");
            expected.insert(id, notifications * destinations_of(endpoint));
        }
    }
    let mut created: HashMap<&str, u64> = HashMap::new();
    let taken = receiver.taken();
    // The mails the relay took, by delivery: a repeat after a kill is the same message again.
    let mut mailed: HashMap<String, u64> = HashMap::new();
    for mail in relay.messages() {
        if let Some(delivery) = mail.header("X-Hookgate-Delivery") {
            *mailed.entry(delivery).or_default() += 1;
        }
    }
    let last_attempt = RETRY_SCHEDULE.len() + 1;
    for delivery in &deliveries {
        if let Some(inbound) = delivery["inbound"].as_str() {
            *created.entry(inbound).or_default() += 1;
        }
        let id = delivery["id"].as_str().unwrap_or("");
        let attempts = delivery["attempts"].as_array().cloned().unwrap_or_default();
        let is_mail = delivery["kind"] == "email";
        for attempt in &attempts {
            let kind = match (attempt["status_code"].as_u64(), attempt["error"].as_str()) {
                (Some(code), _) if (200..300).contains(&code) => "ok".to_string(),
                (Some(code), _) if is_mail => format!("smtp {code}"),
                (Some(code), _) => format!("http {code}"),
                (None, Some(error)) if error.contains("timeout") => "timeout".to_string(),
                (None, Some(error)) if error.to_lowercase().contains("refused") => {
                    "refused".to_string()
                }
                (None, _) => "other error".to_string(),
            };
            *report.attempts.entry(kind).or_default() += 1;
        }
        match delivery["status"].as_str() {
            Some("delivered") => {
                report.delivered += 1;
                if is_mail {
                    if !mailed.contains_key(id) {
                        report.deliveries_lost += 1;
                        report
                            .problems
                            .push(format!("{id} is delivered but the relay never took it"));
                    }
                } else if !taken.contains_key(id) {
                    report.deliveries_lost += 1;
                    report
                        .problems
                        .push(format!("{id} is delivered but the receiver never took it"));
                }
            }
            Some("failed") if attempts.len() >= last_attempt => {
                report.failed_after_last_attempt += 1;
            }
            status => {
                report.deliveries_lost += 1;
                report.problems.push(format!(
                    "{id} is {status:?} after {} attempts",
                    attempts.len()
                ));
            }
        }
    }
    for (inbound, wanted) in &expected {
        let made = created.get(inbound).copied().unwrap_or(0);
        if made < *wanted {
            report.deliveries_lost += wanted - made;
            report.problems.push(format!(
                "{inbound} has {made} deliveries for {wanted} notifications"
            ));
        } else if made > *wanted {
            report.duplicate_deliveries += made - wanted;
            report.problems.push(format!(
                "{inbound} has {made} deliveries for {wanted} notifications"
            ));
        }
    }
    report.receiver_distinct = taken.len() as u64;
    report.receiver_repeats = taken.values().map(|times| times - 1).sum();
    report.mails_distinct = mailed.len() as u64;
    report.mail_repeats = mailed.values().map(|times| times - 1).sum();
}

/// Why a record failed: the first failed outcome's reason (`timeout`, `memory limit`, ...).
fn failure_reason(record: &Value) -> String {
    let outcomes = record["outcomes"].as_array().cloned().unwrap_or_default();
    let failed = outcomes
        .iter()
        .filter_map(|outcome| outcome["outcome"].as_str())
        .find(|outcome| outcome.starts_with("Plugin Failed: "))
        .or_else(|| {
            outcomes
                .first()
                .and_then(|outcome| outcome["outcome"].as_str())
        })
        .unwrap_or("no outcome");
    failed
        .strip_prefix("Plugin Failed: ")
        .and_then(|reason| reason.split(':').next())
        .unwrap_or(failed)
        .to_string()
}
