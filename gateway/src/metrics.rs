//! The counters behind `GET /metrics`, rendered in the Prometheus text exposition format
//! (version 0.0.4): ingest answers by endpoint name and status, plugin call durations (a histogram)
//! and failures by reason, delivery attempt outcomes, and — read at scrape time — the queue
//! depth and the open and acknowledged alerts.
//!
//! Every series is documented in the README ("Metrics"); a new one belongs there too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the plugin call duration buckets: a built-in plugin answers in tens
/// of microseconds, and the call time limit is at most a second or so.
const PLUGIN_CALL_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Calls of one plugin: a count per bucket (not cumulative; summed when rendered), the total and
/// the time spent.
#[derive(Default)]
struct CallHistogram {
    buckets: [u64; PLUGIN_CALL_BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl CallHistogram {
    fn observe(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        if let Some(bucket) = PLUGIN_CALL_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
        {
            self.buckets[bucket] += 1;
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

/// One plugin call as the pipeline saw it.
#[derive(Debug, Clone)]
pub struct PluginCall {
    /// The plugin's name.
    pub plugin: String,
    /// Wall time of the call.
    pub duration: Duration,
    /// Why it failed (`RuntimeError::failure_kind`), if it did.
    pub failure: Option<&'static str>,
}

/// What a delivery attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryOutcome {
    /// The receiver took it.
    Delivered,
    /// It failed and another attempt is scheduled.
    Retrying,
    /// It failed for good.
    Failed,
    /// Not attempted: its destination is disabled after consecutive failures (kept as failed).
    DestinationDisabled,
}

impl DeliveryOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::DestinationDisabled => "destination_disabled",
        }
    }
}

/// Gauges read from elsewhere when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrapedGauges {
    /// Inbound records waiting for processing.
    pub queue_depth: u64,
    /// Alerts firing: (open, acknowledged); `None` when the store could not be read, and then
    /// the series is left out of this scrape rather than reported as zero.
    pub firing_alerts: Option<(u64, u64)>,
}

/// The gateway's counters, shared by every worker.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    deliveries: Mutex<BTreeMap<DeliveryOutcome, u64>>,
    /// The mail deliveries among `deliveries`.
    email_deliveries: Mutex<BTreeMap<DeliveryOutcome, u64>>,
    plugin_calls: Mutex<BTreeMap<String, CallHistogram>>,
    plugin_failures: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Destinations disabled after consecutive failures: ever, and now.
    destinations_disabled_total: AtomicU64,
    destinations_disabled: AtomicU64,
    plugins_quarantined_total: AtomicU64,
    plugins_quarantined: AtomicU64,
    quarantined_records_total: AtomicU64,
}

impl Metrics {
    /// Counts an ingest answer by the endpoint's *name* (`unknown` for ids that name no
    /// endpoint): never its id, the secret part of its URL, since `/metrics` may be public.
    pub fn count_request(&self, endpoint: &str, status: u16) {
        let mut counts = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((endpoint.to_string(), status)).or_default() += 1;
    }

    /// Counts a delivery attempt by what it led to.
    pub fn count_delivery(&self, outcome: DeliveryOutcome) {
        let mut counts = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(outcome).or_default() += 1;
    }

    /// Counts a mail delivery attempt by what it led to (also counted by
    /// [`Self::count_delivery`]).
    pub fn count_email_delivery(&self, outcome: DeliveryOutcome) {
        let mut counts = self
            .email_deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *counts.entry(outcome).or_default() += 1;
    }

    /// Records a plugin call's duration and, if it failed, why.
    pub fn observe_plugin_call(&self, call: &PluginCall) {
        self.plugin_calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(call.plugin.clone())
            .or_default()
            .observe(call.duration);
        if let Some(reason) = call.failure {
            let mut failures = self
                .plugin_failures
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *failures.entry((call.plugin.clone(), reason)).or_default() += 1;
        }
    }

    /// Sets how many destinations are disabled (at start, from the store).
    pub fn set_disabled_destinations(&self, count: u64) {
        self.destinations_disabled.store(count, Ordering::Relaxed);
    }

    /// Counts a destination disabled after consecutive failures.
    pub fn destination_disabled(&self) {
        self.destinations_disabled_total
            .fetch_add(1, Ordering::Relaxed);
        self.destinations_disabled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a disabled destination enabled again.
    pub fn destination_enabled(&self) {
        let _ = self.destinations_disabled.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |count| count.checked_sub(1),
        );
    }

    /// Sets how many (endpoint, plugin) pairs are quarantined (at start, from the store).
    pub fn set_quarantined_plugins(&self, count: u64) {
        self.plugins_quarantined.store(count, Ordering::Relaxed);
    }

    /// Counts a plugin quarantined for an endpoint.
    pub fn plugin_quarantined(&self) {
        self.plugins_quarantined_total
            .fetch_add(1, Ordering::Relaxed);
        self.plugins_quarantined.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a quarantined plugin released by an operator.
    pub fn plugin_released(&self) {
        let _ =
            self.plugins_quarantined
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                    count.checked_sub(1)
                });
    }

    /// Counts a record failed because its plugin is quarantined (the plugin did not run).
    pub fn quarantined_record(&self) {
        self.quarantined_records_total
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The destination-health part of the exposition.
    pub fn render_destinations(&self) -> String {
        format!(
            "# HELP hookgate_destinations_disabled_total Destinations disabled after consecutive failed deliveries.\n\
             # TYPE hookgate_destinations_disabled_total counter\n\
             hookgate_destinations_disabled_total {}\n\
             # HELP hookgate_destinations_disabled Destinations disabled now.\n\
             # TYPE hookgate_destinations_disabled gauge\n\
             hookgate_destinations_disabled {}\n\
             # HELP hookgate_plugins_quarantined_total Plugins quarantined for an endpoint after hitting their limits on record after record.\n\
             # TYPE hookgate_plugins_quarantined_total counter\n\
             hookgate_plugins_quarantined_total {}\n\
             # HELP hookgate_plugins_quarantined Endpoint plugins quarantined now.\n\
             # TYPE hookgate_plugins_quarantined gauge\n\
             hookgate_plugins_quarantined {}\n\
             # HELP hookgate_plugin_quarantined_records_total Records failed without running their quarantined plugin.\n\
             # TYPE hookgate_plugin_quarantined_records_total counter\n\
             hookgate_plugin_quarantined_records_total {}\n",
            self.destinations_disabled_total.load(Ordering::Relaxed),
            self.destinations_disabled.load(Ordering::Relaxed),
            self.plugins_quarantined_total.load(Ordering::Relaxed),
            self.plugins_quarantined.load(Ordering::Relaxed),
            self.quarantined_records_total.load(Ordering::Relaxed),
        )
    }

    /// The text exposition of every series.
    pub fn render(&self, gauges: ScrapedGauges) -> String {
        let mut text = String::new();
        family(
            &mut text,
            "hookgate_ingest_requests_total",
            "counter",
            "Webhook requests by endpoint name and answer status.",
        );
        for ((endpoint, status), count) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                text,
                "hookgate_ingest_requests_total{{endpoint=\"{}\",status=\"{status}\"}} {count}",
                escape_label(endpoint)
            );
        }

        family(
            &mut text,
            "hookgate_plugin_call_duration_seconds",
            "histogram",
            "Plugin calls made while processing records, by plugin, and how long they took.",
        );
        for (plugin, calls) in self
            .plugin_calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let plugin = escape_label(plugin);
            let mut cumulative = 0;
            for (bound, count) in PLUGIN_CALL_BUCKETS.iter().zip(calls.buckets) {
                cumulative += count;
                let _ = writeln!(
                    text,
                    "hookgate_plugin_call_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                text,
                "hookgate_plugin_call_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"+Inf\"}} {count}\n\
                 hookgate_plugin_call_duration_seconds_sum{{plugin=\"{plugin}\"}} {sum}\n\
                 hookgate_plugin_call_duration_seconds_count{{plugin=\"{plugin}\"}} {count}",
                count = calls.count,
                sum = calls.sum_seconds,
            );
        }

        family(
            &mut text,
            "hookgate_plugin_failures_total",
            "counter",
            "Plugin calls that failed, by plugin and reason (timeout, memory, trap, output, \
             error, not_loaded, wrong_kind).",
        );
        for ((plugin, reason), count) in self
            .plugin_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                text,
                "hookgate_plugin_failures_total{{plugin=\"{}\",reason=\"{reason}\"}} {count}",
                escape_label(plugin)
            );
        }

        family(
            &mut text,
            "hookgate_deliveries_total",
            "counter",
            "Delivery attempts by what they led to (delivered, retrying, failed).",
        );
        for (outcome, count) in self
            .deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                text,
                "hookgate_deliveries_total{{outcome=\"{}\"}} {count}",
                outcome.label()
            );
        }

        family(
            &mut text,
            "hookgate_email_deliveries_total",
            "counter",
            "Mail delivery attempts over [smtp] by what they led to (also in hookgate_deliveries_total).",
        );
        for (outcome, count) in self
            .email_deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                text,
                "hookgate_email_deliveries_total{{outcome=\"{}\"}} {count}",
                outcome.label()
            );
        }

        family(
            &mut text,
            "hookgate_queue_depth",
            "gauge",
            "Inbound records waiting for processing.",
        );
        let _ = writeln!(text, "hookgate_queue_depth {}", gauges.queue_depth);
        family(
            &mut text,
            "hookgate_alerts",
            "gauge",
            "Alerts firing, by state (open, acknowledged).",
        );
        if let Some((open, acknowledged)) = gauges.firing_alerts {
            let _ = writeln!(
                text,
                "hookgate_alerts{{state=\"open\"}} {open}\n\
                 hookgate_alerts{{state=\"acknowledged\"}} {acknowledged}"
            );
        }
        text
    }
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(text: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the exposition format wants it: backslash, double quote and line feed
/// escaped.
pub fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(plugin: &str, micros: u64, failure: Option<&'static str>) -> PluginCall {
        PluginCall {
            plugin: plugin.into(),
            duration: Duration::from_micros(micros),
            failure,
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let metrics = Metrics::default();
        metrics.observe_plugin_call(&call("a\"b\\c\nd", 5, None));
        metrics.observe_plugin_call(&call("a\"b\\c\nd", 30, Some("timeout")));
        metrics.observe_plugin_call(&call("a\"b\\c\nd", 2_000_000, Some("trap")));
        let text = metrics.render(ScrapedGauges {
            queue_depth: 4,
            firing_alerts: Some((2, 1)),
        });
        let label = r#"plugin="a\"b\\c\nd""#;
        for (bound, count) in [
            ("0.00001", 1),
            ("0.000025", 1),
            ("0.00005", 2),
            ("1", 2),
            ("+Inf", 3),
        ] {
            let line = format!(
                "hookgate_plugin_call_duration_seconds_bucket{{{label},le=\"{bound}\"}} {count}\n"
            );
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert!(text.contains(&format!(
            "hookgate_plugin_call_duration_seconds_count{{{label}}} 3\n"
        )));
        assert!(text.contains(&format!(
            "hookgate_plugin_failures_total{{{label},reason=\"timeout\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "hookgate_plugin_failures_total{{{label},reason=\"trap\"}} 1\n"
        )));
        assert!(text.contains("hookgate_queue_depth 4\n"));
        assert!(text.contains("hookgate_alerts{state=\"open\"} 2\n"));
        assert!(text.contains("hookgate_alerts{state=\"acknowledged\"} 1\n"));
        let unread = metrics.render(ScrapedGauges::default());
        assert!(!unread.contains("hookgate_alerts{"), "{unread}");
    }
}
