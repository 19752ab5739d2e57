//! The escalation worker: pages people about open alerts by their endpoint's escalation
//! policy, step by step, until someone acknowledges or the alert closes.
//!
//! Each alert's next step is a durable timer in the alert record (`escalation.next_due_at`,
//! indexed by the store). Firing a step is one conditional write of the alert (the step, its
//! page log, the next due time) and the step's pages (deliveries, one per person × contact
//! method, due by the person's notification rules): a crash before it fires the step again
//! later, a crash after it never fires it twice, and an acknowledgement that lands between the
//! read and the write makes the write a conflict, so no step fires after one. A step that fell
//! due while the gateway was down fires at start; the next counts its delay from then.

use super::evaluate::{notice, shape};
use super::notify::plan_notification;
use crate::config::TwilioSettings;
use crate::delivery::Outbox;
use crate::ids::format_alert_id;
use crate::oncall::{
    ContactKind, EscalationPolicy, Firing, Rota, Schedule, TargetDirectory, Team, User,
    resolve_targets,
};
use crate::ops::maintenance::{WindowRule, silencing_window, stored_rules};
use crate::runtime::{Notification, PluginKind, PluginRegistry, PluginSet};
use crate::store::{
    AlertRecord, AlertState, AlertWrite, DeliveryRecord, DeliveryStatus, Destination, Durability,
    EscalationStepFired, IdKind, PAGE_NOTIFICATION, PageLogEntry, PageTarget, ProcessedBatch,
    SharedStore, StoreError, now_ms,
};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Alerts whose step is due, taken per pass.
const BATCH: usize = 32;
/// The longest sleep between passes (steps are never later than this).
const IDLE: Duration = Duration::from_secs(1);
/// How often alerts are checked against their endpoint's `auto_close_after`.
const QUIET_CHECK_EVERY: Duration = Duration::from_secs(5);
/// The notifier that shapes pages.
const PAGE_NOTIFIER: &str = "notifier";
/// The destination index pages are stored with: they go to a person, not to one of the
/// endpoint's destinations.
pub const PAGE_DESTINATION: usize = usize::MAX;

/// Makes the acknowledge link of a page: alert id, user id → URL.
pub type AckLinks = Arc<dyn Fn(u64, &str) -> Option<String> + Send + Sync>;

/// What the worker uses.
pub struct Escalating {
    /// Alerts, the directory, deliveries.
    pub store: SharedStore,
    /// The notifier that shapes pages and notices.
    pub registry: Arc<PluginRegistry>,
    /// Woken when pages were created.
    pub outbox: Arc<Outbox>,
    /// `[twilio]`'s non-secret settings, for sms and voice pages.
    pub twilio: Option<TwilioSettings>,
    /// Makes a page's acknowledge link for an alert and a user.
    pub ack_link: AckLinks,
}

impl Escalating {
    /// Runs until the process stops.
    pub async fn run(self) {
        let worker = Arc::new(self);
        let mut quiet_checked = std::time::Instant::now();
        loop {
            if quiet_checked.elapsed() >= QUIET_CHECK_EVERY {
                quiet_checked = std::time::Instant::now();
                let pass = worker.clone();
                match tokio::task::spawn_blocking(move || pass.close_quiet_alerts()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::error!(%error, "closing quiet alerts"),
                    Err(_) => return,
                }
            }
            let pass = worker.clone();
            let next = tokio::task::spawn_blocking(move || pass.fire_due()).await;
            let wait = match next {
                Ok(Ok(next)) => next
                    .map(|at| Duration::from_millis(at.saturating_sub(now_ms())))
                    .unwrap_or(IDLE)
                    .clamp(Duration::from_millis(5), IDLE),
                Ok(Err(error)) => {
                    tracing::error!(%error, "escalation pass");
                    IDLE
                }
                Err(_) => return,
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Fires every step due now; when the next one is due.
    fn fire_due(&self) -> Result<Option<u64>, StoreError> {
        let plugins = self.registry.snapshot();
        let due = self.store.due_escalations(now_ms(), BATCH)?;
        // Read once a pass, not once an alert.
        let windows = if due.is_empty() {
            Vec::new()
        } else {
            stored_rules(&*self.store)?
        };
        for alert in due {
            let id = alert.id;
            match self.fire(&plugins, &windows, alert) {
                Ok(()) => {}
                // Someone acted on the alert meanwhile: the next pass reads it again.
                Err(StoreError::Conflict(_)) => {}
                Err(error) => {
                    tracing::error!(alert = %format_alert_id(id), %error, "escalation step");
                }
            }
        }
        self.store.next_escalation_due_at()
    }

    /// Fires the alert's due step (or stops its escalation) in one conditional write.
    fn fire(
        &self,
        plugins: &PluginSet,
        windows: &[WindowRule],
        mut alert: AlertRecord,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let Some(mut escalation) = alert.escalation.clone() else {
            return Ok(());
        };
        let mut deliveries = Vec::new();
        if alert.state != AlertState::Open {
            // Written before the stop reached the index (never, with one writer): stop now.
            escalation.next_due_at = None;
        } else {
            match self.policy(&escalation.policy) {
                None => {
                    escalation.next_due_at = None;
                    escalation.stopped = Some(format!("policy {} is gone", escalation.policy));
                }
                Some(policy) => {
                    let ladder = policy.ladder().map_err(|error| {
                        StoreError::Corrupt(format!("policy {}: {error}", escalation.policy))
                    })?;
                    let opened = timestamp(alert.opened_at);
                    let last = escalation.last.map(|fired| Firing {
                        step: fired.step,
                        round: fired.round.min(u32::from(u8::MAX)) as u8,
                        due_at: timestamp(fired.at),
                    });
                    let silenced = silencing_window(windows, &alert, now);
                    match (ladder.next_firing(opened, last.as_ref()), silenced) {
                        // A maintenance window holds the step back until it closes; then the
                        // step fires if nobody has acted on the alert by then.
                        (Some(firing), Some(window)) => {
                            escalation.next_due_at = Some(window.end_ms().max(now + 1));
                            escalation.log.push(PageLogEntry {
                                step: firing.step + 1,
                                round: u32::from(firing.round),
                                user: String::new(),
                                contact: 0,
                                kind: String::new(),
                                delivery: None,
                                at: now,
                                note: Some(format!(
                                    "held back by maintenance window {}",
                                    window.id
                                )),
                            });
                            tracing::info!(
                                alert = %format_alert_id(alert.id),
                                step = firing.step + 1,
                                window = %window.id,
                                "escalation step held back by a maintenance window"
                            );
                        }
                        (None, _) => {
                            escalation.next_due_at = None;
                            escalation.stopped = Some("finished".into());
                        }
                        (Some(firing), None) => {
                            let fired = Firing {
                                due_at: timestamp(now),
                                ..firing
                            };
                            let step = &policy.steps[firing.step];
                            let users = resolve_targets(&step.targets, timestamp(now), self);
                            let (pages, log) = self.pages(plugins, &alert, &users, firing, now)?;
                            deliveries.extend(pages);
                            escalation.log.extend(log);
                            escalation.last = Some(EscalationStepFired {
                                step: firing.step,
                                round: u32::from(firing.round),
                                at: now,
                            });
                            escalation.next_due_at = ladder
                                .next_firing(opened, Some(&fired))
                                .map(|next| next.due_at.as_millisecond().max(0) as u64);
                            if escalation.next_due_at.is_none() {
                                escalation.stopped = Some("finished".into());
                            }
                            if firing.step > 0 || firing.round > 0 {
                                let mut escalated = notice(&alert);
                                escalated.escalation_step = Some(firing.step as u32 + 1);
                                let notification = Notification::AlertEscalated(escalated);
                                deliveries.extend(self.notices(plugins, &alert, &notification)?);
                            }
                            tracing::info!(
                                alert = %format_alert_id(alert.id),
                                step = firing.step + 1,
                                round = firing.round,
                                paged = users.len(),
                                "escalation step fired"
                            );
                        }
                    }
                }
            }
        }
        alert.escalation = Some(escalation);
        let batch = ProcessedBatch {
            alerts: vec![AlertWrite::Update(alert)],
            deliveries,
            ..ProcessedBatch::default()
        };
        self.store
            .apply_processing(&batch, Durability::BeforeAnswer)?;
        self.outbox.wake();
        Ok(())
    }

    /// Closes every firing alert that has seen no open for its endpoint's `auto_close_after`
    /// (`closed_by: timeout`), telling the endpoint's destinations. The quiet period is read
    /// from the stored alert, so a close that fell due while the gateway was down happens at
    /// start.
    fn close_quiet_alerts(&self) -> Result<(), StoreError> {
        let now = now_ms();
        let plugins = self.registry.snapshot();
        // Read when the first quiet alert closes, once a check.
        let mut windows: Option<Vec<WindowRule>> = None;
        for alert in self.store.firing_alerts()? {
            let Some(endpoint) = self.store.endpoint(&alert.endpoint)? else {
                continue;
            };
            let Some(quiet) = endpoint
                .auto_close_after
                .as_deref()
                .and_then(crate::config::parse_duration)
            else {
                continue;
            };
            if alert.last_seen_at.saturating_add(quiet.as_millis() as u64) > now {
                continue;
            }
            let Ok(closed) = crate::alerts::close_by(alert.clone(), now, "timeout") else {
                continue;
            };
            let notification = Notification::AlertClosed(notice(&closed));
            let windows = match &mut windows {
                Some(windows) => windows,
                None => windows.insert(stored_rules(&*self.store)?),
            };
            let deliveries = match silencing_window(windows, &closed, now) {
                Some(_) => Vec::new(),
                None => self.notices(&plugins, &closed, &notification)?,
            };
            let batch = ProcessedBatch {
                alerts: vec![AlertWrite::Update(closed)],
                deliveries,
                ..ProcessedBatch::default()
            };
            match self
                .store
                .apply_processing(&batch, Durability::BeforeAnswer)
            {
                // Appended to meanwhile: no longer quiet; the next check reads it again.
                Err(StoreError::Conflict(_)) => {}
                Err(error) => return Err(error),
                Ok(()) => {
                    tracing::info!(alert = %format_alert_id(alert.id), "closed after its quiet period");
                    self.outbox.wake();
                }
            }
        }
        Ok(())
    }

    fn policy(&self, id: &str) -> Option<EscalationPolicy> {
        let entry = self.store.directory_entry(id).ok()??;
        serde_json::from_value(entry.body).ok()
    }

    fn user(&self, id: &str) -> Option<User> {
        let entry = self.store.directory_entry(id).ok()??;
        user_from_body(&entry.body)
    }

    /// The pages of one step: each user on each contact method their rules name, shaped by the
    /// built-in notifier as the alert's notice with the step and the user's acknowledge link.
    fn pages(
        &self,
        plugins: &PluginSet,
        alert: &AlertRecord,
        users: &[String],
        firing: Firing,
        now: u64,
    ) -> Result<(Vec<DeliveryRecord>, Vec<PageLogEntry>), StoreError> {
        let step = firing.step + 1;
        let round = u32::from(firing.round);
        let entry =
            |user: &str, contact, kind: &str, delivery, note: Option<String>| PageLogEntry {
                step,
                round,
                user: user.to_string(),
                contact,
                kind: kind.to_string(),
                delivery,
                at: now,
                note,
            };
        let mut deliveries = Vec::new();
        let mut log = Vec::new();
        if users.is_empty() {
            log.push(entry("", 0, "", None, Some("no one to page".into())));
        }
        let endpoint = self.store.endpoint(&alert.endpoint)?;
        let notifier = plugins.get_kind(PAGE_NOTIFIER, PluginKind::Notifier);
        for user_id in users {
            let Some(user) = self.user(user_id) else {
                log.push(entry(user_id, 0, "", None, Some("the user is gone".into())));
                continue;
            };
            for (contact, due) in user.pages_for(timestamp(now)) {
                let method = &user.contact_methods[contact];
                let kind = contact_kind(method.kind);
                let (Some(endpoint), Ok(notifier)) = (&endpoint, &notifier) else {
                    log.push(entry(
                        user_id,
                        contact,
                        kind,
                        None,
                        Some("no notifier".into()),
                    ));
                    continue;
                };
                let mut page = notice(alert);
                page.escalation_step = Some(step as u32);
                page.ack_url = (self.ack_link)(alert.id, user_id);
                let notification = Notification::AlertOpened(page);
                let destination = page_destination(kind, &method.address);
                let id = self.store.reserve_ids(IdKind::Delivery, 1)?;
                match shape(
                    notifier,
                    &notification,
                    endpoint,
                    None,
                    &destination,
                    self.twilio.as_ref(),
                    id,
                ) {
                    Ok(outputs) => {
                        let Some(output) = outputs.into_iter().next() else {
                            log.push(entry(
                                user_id,
                                contact,
                                kind,
                                None,
                                Some("the notifier shaped nothing".into()),
                            ));
                            continue;
                        };
                        let request = super::notify::delivery_request(
                            output,
                            &notification,
                            endpoint,
                            PAGE_DESTINATION,
                            id,
                        );
                        deliveries.push(DeliveryRecord {
                            id,
                            endpoint: endpoint.id.clone(),
                            inbound_id: None,
                            destination: PAGE_DESTINATION,
                            kind: kind.to_string(),
                            notification: PAGE_NOTIFICATION.into(),
                            status: DeliveryStatus::Pending,
                            request,
                            attempts: Vec::new(),
                            next_attempt_at: Some(due.as_millisecond().max(0) as u64),
                            created_at: now,
                            alert: Some(alert.id),
                            page: Some(PageTarget {
                                user: user_id.clone(),
                                contact,
                                address: method.address.clone(),
                                step,
                            }),
                        });
                        log.push(entry(user_id, contact, kind, Some(id), None));
                    }
                    Err(error) => {
                        log.push(entry(user_id, contact, kind, None, Some(error.to_string())));
                    }
                }
            }
        }
        Ok((deliveries, log))
    }

    /// A notice of `alert` to its endpoint's destinations (chat hears that the next step was
    /// paged, or that it closed). A notifier that fails is logged and left out.
    fn notices(
        &self,
        plugins: &PluginSet,
        alert: &AlertRecord,
        notification: &Notification,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let Some(endpoint) = self.store.endpoint(&alert.endpoint)? else {
            return Ok(Vec::new());
        };
        let mut deliveries = Vec::new();
        for index in 0..endpoint.destinations.len() {
            match plan_notification(
                &*self.store,
                plugins,
                self.twilio.as_ref(),
                &endpoint,
                None,
                notification,
                &|candidate| candidate == index,
            )? {
                Ok(planned) => deliveries.extend(planned),
                Err(failure) => tracing::warn!(
                    alert = %format_alert_id(alert.id),
                    destination = failure.destination,
                    error = %failure.error,
                    "a notifier could not shape {}", notification.kind()
                ),
            }
        }
        Ok(deliveries)
    }
}

impl TargetDirectory for Escalating {
    fn has_user(&self, id: &str) -> bool {
        self.user(id).is_some()
    }

    fn team_members(&self, id: &str) -> Option<Vec<String>> {
        let entry = self.store.directory_entry(id).ok()??;
        let team: Team = serde_json::from_value(entry.body).ok()?;
        Some(team.members)
    }

    fn schedule(&self, id: &str) -> Option<Rota> {
        let entry = self.store.directory_entry(id).ok()??;
        let schedule: Schedule = serde_json::from_value(entry.body).ok()?;
        schedule.rota().ok()
    }
}

/// A user as `crate::oncall` reads one, from a stored body that also holds what only the
/// store keeps (the password's hash).
pub fn user_from_body(body: &Value) -> Option<User> {
    let known = [
        "name",
        "email",
        "time_zone",
        "role",
        "contact_methods",
        "notification_rules",
    ];
    let fields: Map<String, Value> = body
        .as_object()?
        .iter()
        .filter(|(key, _)| known.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    serde_json::from_value(Value::Object(fields)).ok()
}

/// The destination a page to one contact method is shaped for.
fn page_destination(kind: &str, address: &str) -> Destination {
    let mut config = Map::new();
    let url = match kind {
        "ntfy" => address.to_string(),
        "email" => {
            config.insert("to".into(), json!([address]));
            String::new()
        }
        _ => {
            config.insert("to".into(), json!(address));
            String::new()
        }
    };
    Destination {
        notifier: PAGE_NOTIFIER.into(),
        kind: kind.into(),
        url,
        secret: None,
        token: None,
        config,
    }
}

fn contact_kind(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Email => "email",
        ContactKind::Sms => "sms",
        ContactKind::Voice => "voice",
        ContactKind::Ntfy => "ntfy",
    }
}

fn timestamp(ms: u64) -> Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Starts the escalation of an alert that just opened on an endpoint with a policy: its first
/// step is due at once.
pub fn start_escalation(alert: &mut AlertRecord, policy: &str, now: u64) {
    alert.escalation = Some(crate::store::Escalation {
        policy: policy.to_string(),
        last: None,
        next_due_at: Some(now),
        stopped: None,
        log: Vec::new(),
    });
}
