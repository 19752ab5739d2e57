//! The outbox: sends due deliveries (HTTP with reqwest, mail over `[smtp]` with lettre), logs
//! every attempt, retries on the schedule (with jitter, honouring `Retry-After`), and refuses
//! destinations that resolve to private addresses unless allowed. Deliveries pending at a stop are simply still due at the next start
//! (at-least-once); every request carries `Idempotency-Key: <delivery id>` so receivers can drop
//! repeats. After `[delivery] disable_after_failures` failed attempts in a row, a destination is
//! disabled: its deliveries are then failed without being sent (kept, retryable by hand) until
//! an operator enables it again.

mod credentials;
mod http;
mod pages;
mod smtp;

pub use http::{client, is_private, literal_private_address, outgoing_headers};
pub use smtp::{DELIVERY_HEADER, Mailer, destination_recipients};

use crate::config::ValidatedConfig;
use crate::ids::{format_delivery_id, format_inbound_id};
use crate::metrics::{DeliveryOutcome, Metrics};
use crate::runtime::OutboundRequest;
use crate::store::group_commit::AttemptRecorder;
use crate::store::{
    AttemptOutcome, DeliveryAttempt, DeliveryRecord, DeliveryRequest, DeliveryStatus, Destination,
    EmailRequest, RecordedAttempt, SharedStore, TEST_NOTIFICATION, now_ms,
};
use http::{Answer, SendError, send};
use rand::Rng;
use smtp::MailReply;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::Instrument;

/// Deliveries sent at once.
const CONCURRENT_SENDS: usize = 32;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Wakes the outbox when deliveries were created or scheduled.
#[derive(Default)]
pub struct Outbox {
    wake: Notify,
}

impl Outbox {
    /// Something is due (or may be): look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// What deliveries take from `[delivery]`.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Delays between attempts.
    pub retry_schedule: Vec<Duration>,
    /// Failed attempts in a row that disable a destination (0 = never).
    pub disable_after_failures: u32,
    /// Whether private addresses may be delivered to.
    pub allow_private: bool,
    /// The request timeout.
    pub timeout: Duration,
    /// `[twilio]`, whose credentials `sms` and `voice` deliveries are sent with.
    pub twilio: Option<crate::config::TwilioSettings>,
}

impl DeliverySettings {
    /// From the validated configuration.
    pub fn from_config(config: &ValidatedConfig) -> Self {
        Self {
            retry_schedule: config.retry_schedule.clone(),
            disable_after_failures: config.disable_after_failures,
            allow_private: config.allow_private_destinations,
            timeout: config.delivery_timeout,
            twilio: config.twilio.clone(),
        }
    }
}

/// The outbox worker and what it uses.
pub struct Delivering {
    /// Deliveries and destination health.
    pub store: SharedStore,
    /// Delivery outcomes and disabled destinations.
    pub metrics: Arc<Metrics>,
    /// Its wake-up.
    pub outbox: Arc<Outbox>,
    /// Retries, limits.
    pub settings: DeliverySettings,
    /// The HTTP client ([`client`]).
    pub client: reqwest::Client,
    /// The mail transport, when `[smtp]` is configured ([`Mailer::new`]).
    pub mailer: Option<Mailer>,
}

impl Delivering {
    /// Runs until the process stops: sends what is due, sleeps until the next is due or it is
    /// woken.
    pub async fn run(self) {
        let state = Arc::new(self);
        let recorder =
            AttemptRecorder::start(state.store.clone(), state.settings.disable_after_failures);
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
            let due =
                tokio::task::spawn_blocking(move || store.due_deliveries(now_ms(), 256)).await;
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
                let (state, recorder, recorded) =
                    (state.clone(), recorder.clone(), recorded.clone());
                tokio::spawn(async move {
                    let id = delivery.id;
                    let span = tracing::debug_span!(
                        "delivery",
                        delivery = %format_delivery_id(id),
                        inbound = %delivery.inbound_id.map(format_inbound_id).unwrap_or_default(),
                        endpoint = %delivery.endpoint,
                        destination = delivery.destination,
                        kind = %delivery.kind,
                    );
                    state.attempt(&recorder, delivery).instrument(span).await;
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
            let _ = tokio::time::timeout(wait, state.outbox.woken()).await;
        }
    }

    /// One attempt of one delivery, recorded.
    async fn attempt(&self, recorder: &AttemptRecorder, mut delivery: DeliveryRecord) {
        let state = self;
        if let Some(reason) = pages::held_back(&*state.store, &delivery) {
            // Someone acknowledged or closed the alert: no page after that, ever.
            delivery.attempts.push(DeliveryAttempt {
                at: now_ms(),
                status_code: None,
                duration_ms: 0,
                error: Some(reason),
                response: None,
            });
            delivery.status = DeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            state.count(&delivery, DeliveryOutcome::Failed);
            state
                .record(recorder, delivery, AttemptOutcome::NotSent)
                .await;
            return;
        }
        let health = match &delivery.page {
            // A person's contact is not one of the endpoint's destinations.
            Some(_) => Ok(crate::store::DestinationHealth::default()),
            None => state
                .store
                .destination_health(&delivery.endpoint, delivery.destination),
        };
        match health {
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
                state.count(&delivery, DeliveryOutcome::DestinationDisabled);
                state
                    .record(recorder, delivery, AttemptOutcome::NotSent)
                    .await;
                return;
            }
            Ok(_) => {}
            // Sending is still right: the health is only a brake on a receiver that is gone.
            Err(error) => tracing::error!(%error, "reading a destination's health"),
        }
        let started_at = now_ms();
        let started = Instant::now();
        let destination = match &delivery.page {
            Some(page) => Some(pages::contact_destination(&delivery.kind, page)),
            None => state
                .store
                .endpoint(&delivery.endpoint)
                .ok()
                .flatten()
                .and_then(|endpoint| endpoint.destinations.get(delivery.destination).cloned()),
        };
        let attempted = match &delivery.request {
            DeliveryRequest::Http(request) => {
                state
                    .send_http(&delivery, request, destination.as_ref())
                    .await
            }
            DeliveryRequest::Email(email) => {
                state
                    .send_mail(&delivery, email, destination.as_ref())
                    .await
            }
        };
        let Attempted {
            status_code,
            error,
            response,
            verdict,
        } = attempted;
        let duration_ms = started.elapsed().as_millis() as u64;
        let attempt_number = delivery.attempts.len() + 1;
        let schedule = &state.settings.retry_schedule;
        delivery.attempts.push(DeliveryAttempt {
            at: started_at,
            status_code,
            duration_ms,
            error,
            response,
        });
        let outcome = match verdict {
            _ if delivery.page.is_some() => AttemptOutcome::NotSent,
            Verdict::Delivered => AttemptOutcome::Succeeded,
            Verdict::Retry(_) | Verdict::Fail => AttemptOutcome::Failed,
        };
        match verdict {
            Verdict::Delivered => {
                delivery.status = DeliveryStatus::Delivered;
                delivery.next_attempt_at = None;
                state.count(&delivery, DeliveryOutcome::Delivered);
            }
            // A Send test is attempted once: a test arriving an hour later tells nobody anything.
            Verdict::Retry(retry_after)
                if attempt_number <= schedule.len()
                    && delivery.notification != TEST_NOTIFICATION =>
            {
                let delay = schedule[attempt_number - 1];
                // Up to 10% jitter so retries of many deliveries do not arrive together.
                let jitter = rand::rng().random_range(0..=delay.as_millis() as u64 / 10);
                let mut wait = delay + Duration::from_millis(jitter);
                if let Some(asked) = retry_after {
                    wait = wait.max(asked.min(MAX_RETRY_AFTER));
                }
                delivery.status = DeliveryStatus::Retrying;
                delivery.next_attempt_at = Some(now_ms() + wait.as_millis() as u64);
                state.count(&delivery, DeliveryOutcome::Retrying);
            }
            Verdict::Retry(_) | Verdict::Fail => {
                delivery.status = DeliveryStatus::Failed;
                delivery.next_attempt_at = None;
                state.count(&delivery, DeliveryOutcome::Failed);
            }
        }
        if let Some(last) = delivery.attempts.last() {
            tracing::debug!(
                status_code = ?last.status_code,
                error = last.error.as_deref().unwrap_or(""),
                outcome = ?delivery.status,
                "attempted"
            );
        }
        state.record(recorder, delivery, outcome).await;
    }

    /// Sends an HTTP delivery and judges the answer: 2xx delivered; connection errors,
    /// timeouts, 408, 429 and 5xx retried (honouring `Retry-After`); other answers failed.
    async fn send_http(
        &self,
        delivery: &DeliveryRecord,
        request: &OutboundRequest,
        destination: Option<&Destination>,
    ) -> Attempted {
        let secret = destination.and_then(|destination| destination.secret.as_deref());
        let sent = match credentials::authorization(
            delivery,
            request,
            destination,
            self.settings.twilio.as_ref(),
        ) {
            Ok(authorization) => {
                send(
                    &self.client,
                    delivery,
                    request,
                    secret,
                    authorization.as_deref(),
                    self.settings.allow_private,
                    self.settings.timeout,
                )
                .await
            }
            Err(reason) => Err(SendError::Refused(reason)),
        };
        match sent {
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
                let error = if (300..400).contains(&status) {
                    Some(format!(
                        "redirect not followed (to {})",
                        location.as_deref().unwrap_or("no location")
                    ))
                } else if verdict != Verdict::Delivered
                    && crate::config::TWILIO_KINDS.contains(&delivery.kind.as_str())
                {
                    credentials::twilio_error_text(&body)
                } else {
                    None
                };
                Attempted {
                    status_code: Some(status),
                    error,
                    response: Some(body),
                    verdict,
                }
            }
            Err(error) => Attempted::not_answered(error),
        }
    }

    /// Sends a mail through `[smtp]` and judges the relay's final reply: 2xx (and 3xx)
    /// delivered, 4xx retried, 5xx failed at once; a connection failure, a timeout or a
    /// transaction broken off retried. The reply's code and text go into the attempt.
    async fn send_mail(
        &self,
        delivery: &DeliveryRecord,
        email: &EmailRequest,
        destination: Option<&Destination>,
    ) -> Attempted {
        let Some(mailer) = &self.mailer else {
            return Attempted::not_answered(SendError::Refused(
                "email is not configured: the gateway has no [smtp] url and from".into(),
            ));
        };
        match mailer.send(delivery, email, destination).await {
            Ok(MailReply { code, text }) => {
                let verdict = match code {
                    200..400 => Verdict::Delivered,
                    400..500 => Verdict::Retry(None),
                    _ => Verdict::Fail,
                };
                Attempted {
                    status_code: Some(code),
                    error: (verdict != Verdict::Delivered).then(|| text.clone()),
                    response: Some(text),
                    verdict,
                }
            }
            Err(error) => Attempted::not_answered(error),
        }
    }

    /// Counts an attempt's outcome, and mail's apart as well.
    fn count(&self, delivery: &DeliveryRecord, outcome: DeliveryOutcome) {
        self.metrics.count_delivery(outcome);
        if delivery.request.email().is_some() {
            self.metrics.count_email_delivery(outcome);
        }
    }

    /// Records an attempt; says so when it disabled its destination.
    async fn record(
        &self,
        recorder: &AttemptRecorder,
        delivery: DeliveryRecord,
        outcome: AttemptOutcome,
    ) {
        let state = self;
        let (endpoint, destination, kind) = (
            delivery.endpoint.clone(),
            delivery.destination,
            delivery.kind.clone(),
        );
        let recorded = RecordedAttempt { delivery, outcome };
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
}

/// One attempt as the attempt log keeps it, and what follows from it.
struct Attempted {
    status_code: Option<u16>,
    error: Option<String>,
    response: Option<String>,
    verdict: Verdict,
}

impl Attempted {
    /// No answer: a refusal is failed at once, a transport failure retried.
    fn not_answered(error: SendError) -> Self {
        let (error, verdict) = match error {
            SendError::Refused(reason) => (reason, Verdict::Fail),
            SendError::Transport(reason) => (reason, Verdict::Retry(None)),
        };
        Self {
            status_code: None,
            error: Some(error),
            response: None,
            verdict,
        }
    }
}

#[derive(PartialEq)]
enum Verdict {
    Delivered,
    Retry(Option<Duration>),
    Fail,
}
