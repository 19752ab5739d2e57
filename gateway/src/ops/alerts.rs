//! Alerts: list, show, acknowledge and close by hand.

use super::{OpsError, Services};
use crate::alerts::{self, AlertActionError};
use crate::ids::{format_alert_id, format_inbound_id, parse_id};
use crate::pipeline::plan_notification;
use crate::runtime::{Notification, Severity};
use crate::store::{
    AlertFilter, AlertRecord, AlertState, AlertWrite, DeliveryRecord, Durability, Escalation, Page,
    ProcessedBatch, StoreError, now_ms,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// Alerts, newest first, filtered.
pub fn list(services: &Services, filter: &AlertFilter) -> Result<Page<AlertRecord>, OpsError> {
    Ok(services.store.list_alerts(filter)?)
}

/// One alert by its API id (`al_<n>`).
pub fn get(services: &Services, id: &str) -> Result<AlertRecord, OpsError> {
    let id = parse_id("al", id).ok_or(OpsError::NotFound("alert"))?;
    services.store.alert(id)?.ok_or(OpsError::NotFound("alert"))
}

/// A page of an alert's history by its API id: inbound ids (`in_<n>`), newest first.
pub fn history(
    services: &Services,
    id: &str,
    before: Option<u64>,
    limit: usize,
) -> Result<Page<String>, OpsError> {
    let id = parse_id("al", id).ok_or(OpsError::NotFound("alert"))?;
    if services.store.alert(id)?.is_none() {
        return Err(OpsError::NotFound("alert"));
    }
    let page = services.store.alert_history(id, before, limit)?;
    Ok(Page {
        items: page.items.into_iter().map(format_inbound_id).collect(),
        next: page.next,
    })
}

/// Acknowledges an alert: `by` is `operator` (the admin token) or a user id. Its escalation
/// stops, and its endpoint's destinations hear `alert.acknowledged` (by whom).
pub fn acknowledge(services: &Services, id: &str, by: &str) -> Result<AlertRecord, OpsError> {
    act_on_alert(services, id, by, alerts::acknowledge)
}

/// Closes an alert by hand (`by` as for [`acknowledge`]); its destinations hear
/// `alert.closed`.
pub fn close(services: &Services, id: &str, by: &str) -> Result<AlertRecord, OpsError> {
    act_on_alert(services, id, by, alerts::close_by)
}

/// An action on an alert and its notices in one conditional write: when the alert changed
/// since it was read (processing appended to it, an escalation step fired), read and act
/// again, so neither undoes the other.
pub fn act_on_alert(
    services: &Services,
    id: &str,
    by: &str,
    action: fn(AlertRecord, u64, &str) -> Result<AlertRecord, AlertActionError>,
) -> Result<AlertRecord, OpsError> {
    let id = parse_id("al", id).ok_or(OpsError::NotFound("alert"))?;
    loop {
        let record = services
            .store
            .alert(id)?
            .ok_or(OpsError::NotFound("alert"))?;
        let updated = action(record.clone(), now_ms(), by)
            .map_err(|error| OpsError::Conflict(error.to_string()))?;
        if updated == record {
            // Acknowledged already: nothing to write, nobody to tell again.
            return Ok(record);
        }
        let deliveries = notices_of(services, &updated)?;
        let batch = ProcessedBatch {
            alerts: vec![AlertWrite::Update(updated.clone())],
            deliveries,
            ..ProcessedBatch::default()
        };
        match services
            .store
            .apply_processing(&batch, Durability::BeforeAnswer)
        {
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
            Ok(()) => {
                services.outbox.wake();
                let mut written = updated;
                written.revision += 1;
                return Ok(written);
            }
        }
    }
}

/// The deliveries that tell an alert's endpoint destinations of its new state (acknowledged or
/// closed). A destination whose notifier fails is logged and left out: the action stands.
fn notices_of(services: &Services, alert: &AlertRecord) -> Result<Vec<DeliveryRecord>, OpsError> {
    let Some(endpoint) = services.store.endpoint(&alert.endpoint)? else {
        return Ok(Vec::new());
    };
    // A maintenance window that matches the alert keeps its destinations quiet.
    if crate::ops::maintenance::silencing(&*services.store, alert, now_ms())?.is_some() {
        return Ok(Vec::new());
    }
    let mut notice = crate::pipeline::notice(alert);
    notice.acknowledged_by = alert
        .acknowledged_by
        .as_deref()
        .map(|by| display_name(services, by));
    let notification = match alert.state {
        AlertState::Acknowledged => Notification::AlertAcknowledged(notice),
        AlertState::Closed => Notification::AlertClosed(notice),
        AlertState::Open => return Ok(Vec::new()),
    };
    let plugins = services.registry.snapshot();
    let mut deliveries = Vec::new();
    for index in 0..endpoint.destinations.len() {
        match plan_notification(
            &*services.store,
            &plugins,
            services.config.twilio.as_ref(),
            &endpoint,
            None,
            &notification,
            &|candidate| candidate == index,
        )? {
            Ok(planned) => deliveries.extend(planned),
            Err(failure) => tracing::warn!(
                alert = %format_alert_id(alert.id),
                destination = failure.destination,
                plugin = %failure.notifier,
                error = %failure.error,
                "a notifier could not shape the alert's notice"
            ),
        }
    }
    Ok(deliveries)
}

/// A user's name for people (`Ada Lovelace`), or the actor as given (`operator`, `timeout`).
pub fn display_name(services: &Services, by: &str) -> String {
    services
        .store
        .directory_entry(by)
        .ok()
        .flatten()
        .and_then(|entry| entry.body["name"].as_str().map(str::to_string))
        .unwrap_or_else(|| by.to_string())
}

/// An alert as the API shows it: the alert as last mapped, its state and history, and the
/// escalation at work on it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertView {
    /// `al_<n>`.
    pub id: String,
    /// Endpoint id (the key's scope).
    pub endpoint: String,
    /// Dedup key.
    pub key: String,
    /// State.
    pub state: AlertState,
    /// Title.
    pub title: String,
    /// The source's status (`FAILED`, ...).
    pub source_status: String,
    /// Link.
    #[schema(required = true)]
    pub url: Option<String>,
    /// Longer text.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Commit hash.
    #[schema(required = true)]
    pub commit_hash: Option<String>,
    /// Commit message.
    #[schema(required = true)]
    pub commit_message: Option<String>,
    /// Actor.
    #[schema(required = true)]
    pub actor: Option<String>,
    /// Extra name/value pairs.
    #[schema(value_type = HashMap<String, String>)]
    pub labels: Map<String, Value>,
    /// Events mapped onto it.
    pub count: u32,
    /// Opened, ms.
    pub opened_at: u64,
    /// Last mapped, ms.
    pub last_seen_at: u64,
    /// Acknowledged, ms.
    #[schema(required = true)]
    pub acknowledged_at: Option<u64>,
    /// Closed, ms.
    #[schema(required = true)]
    pub closed_at: Option<u64>,
    /// `source`, `operator`, `timeout` or the user who closed it (`us_<n>`).
    #[schema(required = true)]
    pub closed_by: Option<String>,
    /// `operator` or the user who acknowledged it (`us_<n>`).
    #[schema(required = true)]
    pub acknowledged_by: Option<String>,
    /// How bad it is.
    pub severity: Severity,
    /// Its endpoint's escalation policy at work on it, when the endpoint has one.
    #[schema(required = true)]
    pub escalation: Option<EscalationView>,
    /// Inbound records mapped onto it (`in_<n>`), oldest first.
    pub history: Vec<String>,
}

/// An escalation policy paging people about one alert.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationView {
    /// The policy, `ep_<n>`.
    pub policy: String,
    /// When the next step is due, ms; null once acknowledged, closed or past the last round.
    #[schema(required = true)]
    pub next_due_at: Option<u64>,
    /// Why it stopped: `acknowledged`, `closed`, `finished`, `policy gone`, ...
    #[schema(required = true)]
    pub stopped: Option<String>,
    /// Every page, in order.
    pub log: Vec<PageLogView>,
}

/// One page of an escalation: a person on one contact method.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageLogView {
    /// Step, from 1.
    pub step: usize,
    /// Round, from 0.
    pub round: u32,
    /// The user paged, `us_<n>`.
    pub user: String,
    /// Their contact method's index.
    pub contact: usize,
    /// `email`, `sms`, `voice`, `ntfy`.
    pub kind: String,
    /// The delivery that carries it, `dl_<n>`.
    #[schema(required = true)]
    pub delivery: Option<String>,
    /// When the step fired, ms.
    pub at: u64,
    /// Why nobody or nothing was paged, when so.
    #[schema(required = true)]
    pub note: Option<String>,
}

impl AlertView {
    /// The view of `record`.
    pub fn of(record: &AlertRecord) -> Self {
        let alert = &record.alert;
        Self {
            id: format_alert_id(record.id),
            endpoint: record.endpoint.clone(),
            key: record.key.clone(),
            state: record.state,
            title: alert.title.clone(),
            source_status: alert.source_status.clone(),
            url: alert.url.clone(),
            description: alert.description.clone(),
            commit_hash: alert.commit_hash.clone(),
            commit_message: alert.commit_message.clone(),
            actor: alert.actor.clone(),
            labels: alert
                .labels
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect(),
            count: record.count,
            opened_at: record.opened_at,
            last_seen_at: record.last_seen_at,
            acknowledged_at: record.acknowledged_at,
            closed_at: record.closed_at,
            closed_by: record.closed_by.clone(),
            acknowledged_by: record.acknowledged_by.clone(),
            severity: alert.severity,
            escalation: record.escalation.as_ref().map(EscalationView::of),
            history: record
                .history
                .iter()
                .map(|id| format_inbound_id(*id))
                .collect(),
        }
    }
}

impl EscalationView {
    fn of(escalation: &Escalation) -> Self {
        Self {
            policy: escalation.policy.clone(),
            next_due_at: escalation.next_due_at,
            stopped: escalation.stopped.clone(),
            log: escalation
                .log
                .iter()
                .map(|page| PageLogView {
                    step: page.step,
                    round: page.round,
                    user: page.user.clone(),
                    contact: page.contact,
                    kind: page.kind.clone(),
                    delivery: page.delivery.map(crate::ids::format_delivery_id),
                    at: page.at,
                    note: page.note.clone(),
                })
                .collect(),
        }
    }
}

/// [`AlertView`] as JSON, for the console's templates.
pub fn view(record: &AlertRecord) -> Value {
    serde_json::to_value(AlertView::of(record)).unwrap_or(Value::Null)
}
