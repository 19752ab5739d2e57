//! Alerts: list, show, acknowledge and close by hand.

use super::{OpsError, Services};
use crate::alerts::{self, AlertActionError};
use crate::ids::{format_alert_id, format_inbound_id, parse_id};
use crate::pipeline::plan_notification;
use crate::runtime::Notification;
use crate::store::{
    AlertFilter, AlertRecord, AlertState, AlertWrite, DeliveryRecord, Durability, Escalation, Page,
    ProcessedBatch, StoreError, now_ms,
};
use serde_json::{Value, json};

/// Alerts, newest first, filtered.
pub fn list(services: &Services, filter: &AlertFilter) -> Result<Page<AlertRecord>, OpsError> {
    Ok(services.store.list_alerts(filter)?)
}

/// One alert by its API id (`al_<n>`).
pub fn get(services: &Services, id: &str) -> Result<AlertRecord, OpsError> {
    let id = parse_id("al", id).ok_or(OpsError::NotFound("alert"))?;
    services.store.alert(id)?.ok_or(OpsError::NotFound("alert"))
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

/// The alert as the API shows it.
pub fn view(record: &AlertRecord) -> Value {
    json!({
        "id": format_alert_id(record.id),
        "endpoint": record.endpoint,
        "key": record.key,
        "state": record.state,
        "title": record.alert.title,
        "source_status": record.alert.source_status,
        "url": record.alert.url,
        "description": record.alert.description,
        "commit_hash": record.alert.commit_hash,
        "commit_message": record.alert.commit_message,
        "actor": record.alert.actor,
        "labels": record.alert.labels.iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect::<serde_json::Map<String, Value>>(),
        "count": record.count,
        "opened_at": record.opened_at,
        "last_seen_at": record.last_seen_at,
        "acknowledged_at": record.acknowledged_at,
        "closed_at": record.closed_at,
        "closed_by": record.closed_by,
        "acknowledged_by": record.acknowledged_by,
        "severity": record.alert.severity,
        "escalation": record.escalation.as_ref().map(escalation_view),
        "history": record.history.iter().map(|id| format_inbound_id(*id)).collect::<Vec<_>>(),
    })
}

/// An alert's escalation log as the API shows it.
fn escalation_view(escalation: &Escalation) -> Value {
    json!({
        "policy": escalation.policy,
        "next_due_at": escalation.next_due_at,
        "stopped": escalation.stopped,
        "log": escalation.log.iter().map(|page| json!({
            "step": page.step,
            "round": page.round,
            "user": page.user,
            "contact": page.contact,
            "kind": page.kind,
            "delivery": page.delivery.map(crate::ids::format_delivery_id),
            "at": page.at,
            "note": page.note,
        })).collect::<Vec<_>>(),
    })
}
