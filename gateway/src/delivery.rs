//! The outbox: sends due deliveries with reqwest, logs every attempt, retries on the schedule
//! (with jitter, honouring `Retry-After`), and refuses destinations that resolve to private
//! addresses unless allowed. Deliveries pending at a stop are simply still due at the next start
//! (at-least-once); every request carries `Idempotency-Key: <delivery id>` so receivers can drop
//! repeats. After `[delivery] disable_after_failures` failed attempts in a row, a destination is
//! disabled: its deliveries are then failed without being sent (kept, retryable by hand) until
//! an operator enables it again.

use crate::committer::AttemptRecorder;
use crate::config::ValidatedConfig;
use crate::ids::format_delivery_id;
use crate::metrics::DeliveryOutcome;
use crate::server::AppState;
use crate::store::{
    AttemptOutcome, DeliveryAttempt, DeliveryRecord, DeliveryStatus, RecordedAttempt, now_ms,
};
use rand::Rng;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Deliveries sent at once.
const CONCURRENT_SENDS: usize = 32;
/// Bytes of the receiver's answer kept with an attempt.
const RESPONSE_BYTES: usize = 1024;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Builds the HTTP client: timeout from the config, no redirects (each hop would need the
/// address check again), and a resolver that refuses private addresses unless allowed.
pub fn client(config: &ValidatedConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(config.delivery_timeout)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from HTTP(S)_PROXY would resolve the name itself, past the address check.
        .no_proxy()
        .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(CheckedResolver {
            allow_private: config.allow_private_destinations,
            pinned: config.pinned_hosts.clone(),
        }))
        .build()
        .expect("building the HTTP client")
}

pub use crate::netguard::is_private;

/// The private address a URL names literally, if it does. The URL parser has already turned
/// the odd spellings (`2130706433`, `0x7f.1`, `[::ffff:7f00:1]`) into addresses, so
/// comparing its parsed host catches them all.
pub fn literal_private_address(url: &reqwest::Url) -> Option<IpAddr> {
    let address = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    is_private(address).then_some(address)
}

/// Resolves names (from `[delivery] hosts` first, else DNS) and refuses any that lead to a
/// private address, so the address checked is the address connected to.
struct CheckedResolver {
    allow_private: bool,
    pinned: BTreeMap<String, Vec<IpAddr>>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_ascii_lowercase();
        let pinned = self.pinned.get(&host).cloned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = match pinned {
                Some(pinned) => pinned
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0))
                    .collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            if !allow_private && addresses.iter().any(|address| is_private(address.ip())) {
                return Err(
                    format!("destination refused: {host} resolves to a private address").into(),
                );
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Runs until the process stops: sends what is due, sleeps until the next is due or it is
/// woken.
pub async fn run(state: Arc<AppState>, client: reqwest::Client) {
    let recorder = AttemptRecorder::start(state.store.clone(), state.config.disable_after_failures);
    // Deliveries being attempted, and those whose result is recorded but which may still be
    // in a due list read before that record: they leave `in_flight` only before the next read,
    // so a stale list cannot send one again.
    let in_flight: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let recorded: Arc<Mutex<Vec<u64>>> = Arc::default();
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SENDS));
    loop {
        if let (Ok(mut in_flight), Ok(mut recorded)) = (in_flight.lock(), recorded.lock()) {
            for id in recorded.drain(..) {
                in_flight.remove(&id);
            }
        }
        let store = state.store.clone();
        let due = tokio::task::spawn_blocking(move || store.due_deliveries(now_ms(), 256)).await;
        let due = match due {
            Ok(Ok(due)) => due,
            Ok(Err(error)) => {
                tracing::error!(%error, "reading due deliveries");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        };
        for delivery in due {
            if !in_flight
                .lock()
                .map(|mut set| set.insert(delivery.id))
                .unwrap_or(false)
            {
                continue;
            }
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (state, client, recorder, recorded) = (
                state.clone(),
                client.clone(),
                recorder.clone(),
                recorded.clone(),
            );
            tokio::spawn(async move {
                let id = delivery.id;
                attempt(&state, &client, &recorder, delivery).await;
                if let Ok(mut recorded) = recorded.lock() {
                    recorded.push(id);
                }
                drop(permit);
            });
        }
        let store = state.store.clone();
        let next_due = tokio::task::spawn_blocking(move || store.next_due_at())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let wait = next_due
            .map(|at| Duration::from_millis(at.saturating_sub(now_ms())))
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(5), Duration::from_secs(1));
        let _ = tokio::time::timeout(wait, state.delivery_wake.notified()).await;
    }
}

/// One attempt of one delivery, recorded.
async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    recorder: &AttemptRecorder,
    mut delivery: DeliveryRecord,
) {
    let was_due_at = delivery.next_attempt_at;
    match state
        .store
        .destination_health(&delivery.endpoint, delivery.destination)
    {
        Ok(health) if health.is_disabled() => {
            // Kept as failed, not sent: retryable by hand once the destination is enabled.
            delivery.attempts.push(DeliveryAttempt {
                at: now_ms(),
                status_code: None,
                duration_ms: 0,
                error: Some(format!(
                    "destination disabled after {} consecutive failures",
                    health.consecutive_failures
                )),
                response: None,
            });
            delivery.status = DeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            state
                .metrics
                .count_delivery(DeliveryOutcome::DestinationDisabled);
            record(
                state,
                recorder,
                delivery,
                was_due_at,
                AttemptOutcome::NotSent,
            )
            .await;
            return;
        }
        Ok(_) => {}
        // Sending is still right: the health is only a brake on a receiver that is gone.
        Err(error) => tracing::error!(%error, "reading a destination's health"),
    }
    let started_at = now_ms();
    let started = Instant::now();
    let sent = send(state, client, &delivery).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let attempt_number = delivery.attempts.len() + 1;
    let schedule = &state.config.retry_schedule;
    let (status_code, error, response, verdict) = match sent {
        Ok(Answer {
            status,
            retry_after,
            location,
            body,
        }) => {
            let verdict = if (200..300).contains(&status) {
                Verdict::Delivered
            } else if status == 408 || status == 429 || status >= 500 {
                Verdict::Retry(retry_after)
            } else {
                Verdict::Fail
            };
            // Redirects are never followed (each hop would need the address check again).
            let error = (300..400).contains(&status).then(|| {
                format!(
                    "redirect not followed (to {})",
                    location.as_deref().unwrap_or("no location")
                )
            });
            (Some(status), error, Some(body), verdict)
        }
        Err(SendError::Refused(reason)) => (None, Some(reason), None, Verdict::Fail),
        Err(SendError::Transport(reason)) => (None, Some(reason), None, Verdict::Retry(None)),
    };
    delivery.attempts.push(DeliveryAttempt {
        at: started_at,
        status_code,
        duration_ms,
        error,
        response,
    });
    let outcome = match verdict {
        Verdict::Delivered => AttemptOutcome::Succeeded,
        Verdict::Retry(_) | Verdict::Fail => AttemptOutcome::Failed,
    };
    match verdict {
        Verdict::Delivered => {
            delivery.status = DeliveryStatus::Delivered;
            delivery.next_attempt_at = None;
            state.metrics.count_delivery(DeliveryOutcome::Delivered);
        }
        Verdict::Retry(retry_after) if attempt_number <= schedule.len() => {
            let delay = schedule[attempt_number - 1];
            // Up to 10% jitter so retries of many deliveries do not arrive together.
            let jitter = rand::rng().random_range(0..=delay.as_millis() as u64 / 10);
            let mut wait = delay + Duration::from_millis(jitter);
            if let Some(asked) = retry_after {
                wait = wait.max(asked.min(MAX_RETRY_AFTER));
            }
            delivery.status = DeliveryStatus::Retrying;
            delivery.next_attempt_at = Some(now_ms() + wait.as_millis() as u64);
            state.metrics.count_delivery(DeliveryOutcome::Retrying);
        }
        Verdict::Retry(_) | Verdict::Fail => {
            delivery.status = DeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            state.metrics.count_delivery(DeliveryOutcome::Failed);
        }
    }
    record(state, recorder, delivery, was_due_at, outcome).await;
}

/// Records an attempt; says so when it disabled its destination.
async fn record(
    state: &AppState,
    recorder: &AttemptRecorder,
    delivery: DeliveryRecord,
    was_due_at: Option<u64>,
    outcome: AttemptOutcome,
) {
    let (endpoint, destination, kind) = (
        delivery.endpoint.clone(),
        delivery.destination,
        delivery.kind.clone(),
    );
    let recorded = RecordedAttempt {
        delivery,
        was_due_at,
        outcome,
    };
    match recorder.submit(recorded).await {
        Ok(Some(health)) => {
            // The URL is not logged: webhook URLs often carry their own token.
            tracing::warn!(
                %endpoint,
                destination,
                %kind,
                reason = health.disabled_reason.as_deref().unwrap_or(""),
                "destination disabled: its deliveries are kept as failed and not sent until \
                 it is enabled again (API, CLI `hookgate endpoint enable-destination`, console)"
            );
            state.metrics.destination_disabled();
        }
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "recording a delivery attempt"),
    }
}

enum Verdict {
    Delivered,
    Retry(Option<Duration>),
    Fail,
}

enum SendError {
    /// Not sent, and never will be (address refused, bad URL).
    Refused(String),
    /// Connection error or timeout.
    Transport(String),
}

/// What the receiver answered.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    location: Option<String>,
    /// The first `RESPONSE_BYTES` of the body.
    body: String,
}

async fn send(
    state: &AppState,
    client: &reqwest::Client,
    delivery: &DeliveryRecord,
) -> Result<Answer, SendError> {
    let request = &delivery.request;
    let url = reqwest::Url::parse(&request.url)
        .map_err(|error| SendError::Refused(format!("invalid URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SendError::Refused(
            "only http and https URLs are delivered".into(),
        ));
    }
    // Literal IP addresses never reach the resolver: check them here.
    if !state.config.allow_private_destinations
        && let Some(address) = literal_private_address(&url)
    {
        return Err(SendError::Refused(format!(
            "destination refused: {address} is a private address"
        )));
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| SendError::Refused(format!("invalid method {:?}", request.method)))?;
    let delivery_id = format_delivery_id(delivery.id);
    let mut headers = outgoing_headers(&request.headers, &delivery_id);
    let secret = state
        .store
        .shared_endpoint(&delivery.endpoint)
        .ok()
        .flatten()
        .and_then(|endpoint| {
            endpoint
                .destinations
                .get(delivery.destination)?
                .secret
                .clone()
        });
    if let Some(secret) = secret {
        let now_secs = (now_ms() / 1000) as i64;
        crate::verify::add_standard_webhooks_headers(
            &mut headers,
            &secret,
            &delivery_id,
            now_secs,
            &request.body,
        );
    }
    let mut builder = client.request(method, url).body(request.body.clone());
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder.send().await.map_err(|error| {
        // reqwest's own message only names the URL; the cause is further down the chain.
        let causes: Vec<String> = std::iter::successors(
            Some(&error as &(dyn std::error::Error + 'static)),
            |cause| cause.source(),
        )
        .map(ToString::to_string)
        .collect();
        if let Some(refusal) = causes
            .iter()
            .find(|cause| cause.starts_with("destination refused"))
        {
            SendError::Refused(refusal.clone())
        } else if error.is_timeout() {
            SendError::Transport(format!("timeout after {:?}", state.config.delivery_timeout))
        } else {
            SendError::Transport(causes.join(": "))
        }
    })?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after")
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let location = header("location");
    let body = response.bytes().await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body[..body.len().min(RESPONSE_BYTES)]).into_owned();
    Ok(Answer {
        status,
        retry_after,
        location,
        body,
    })
}

/// The plugin's headers as sent: `Idempotency-Key` is the delivery id, and `Host` always comes
/// from the checked URL (a plugin's own `Host` could route the request elsewhere behind a proxy
/// or virtual host, as in Spin's CVE-2024-32980).
pub fn outgoing_headers(
    plugin_headers: &[(String, String)],
    delivery_id: &str,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = plugin_headers
        .iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("idempotency-key") && !name.eq_ignore_ascii_case("host")
        })
        .cloned()
        .collect();
    headers.push(("Idempotency-Key".into(), delivery_id.to_string()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(address.parse().unwrap()), "{address}");
        }
        for address in ["8.8.8.8", "162.159.128.233", "2606:4700::6810:85e5"] {
            assert!(!is_private(address.parse().unwrap()), "{address}");
        }
    }

    #[test]
    fn odd_spellings_of_private_literals_are_caught() {
        for (url, address) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://127.1:8080/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("http://[0:0:0:0:0:ffff:a00:1]/", "::ffff:10.0.0.1"),
            ("http://[::1]:9/", "::1"),
            ("http://[fc00::1]/", "fc00::1"),
            ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
            ("https://user:pass@10.0.0.1/", "10.0.0.1"),
            ("http:///127.0.0.1/", "127.0.0.1"),
            ("http:\\\\127.0.0.1/", "127.0.0.1"),
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert_eq!(
                literal_private_address(&parsed),
                Some(address.parse().unwrap()),
                "{url}"
            );
        }
        for url in [
            "http://hooks.example.com/",
            "http://8.8.8.8/",
            "http://[2606:4700::1]/",
        ] {
            assert_eq!(
                literal_private_address(&reqwest::Url::parse(url).unwrap()),
                None,
                "{url}"
            );
        }
        // A URL without a host cannot be a delivery URL at all.
        for url in ["/hooks", "http:", "//127.0.0.1/x"] {
            assert!(reqwest::Url::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn a_plugins_host_and_idempotency_headers_are_replaced() {
        let plugin_headers = [
            ("Host".to_string(), "127.0.0.1".to_string()),
            ("idempotency-key".to_string(), "forged".to_string()),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        assert_eq!(
            outgoing_headers(&plugin_headers, "dl_7"),
            [
                ("Content-Type".to_string(), "application/json".to_string()),
                ("Idempotency-Key".to_string(), "dl_7".to_string()),
            ]
        );
    }
}
