//! Alerts: list, show, acknowledge and close by hand.

use super::{OpsError, Services};
use crate::alerts::{self, AlertActionError};
use crate::ids::{format_alert_id, format_inbound_id, parse_id};
use crate::store::{AlertFilter, AlertRecord, Page, StoreError, now_ms};
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

/// Acknowledges an alert by hand.
pub fn acknowledge(services: &Services, id: &str) -> Result<AlertRecord, OpsError> {
    operator_action(services, id, alerts::acknowledge)
}

/// Closes an alert by hand.
pub fn close(services: &Services, id: &str) -> Result<AlertRecord, OpsError> {
    operator_action(services, id, alerts::close_by_operator)
}

fn operator_action(
    services: &Services,
    id: &str,
    action: fn(AlertRecord, u64) -> Result<AlertRecord, AlertActionError>,
) -> Result<AlertRecord, OpsError> {
    let id = parse_id("al", id).ok_or(OpsError::NotFound("alert"))?;
    // A conditional write: when the alert changed since it was read (processing appended to
    // it, say), read and act again.
    loop {
        let record = services
            .store
            .alert(id)?
            .ok_or(OpsError::NotFound("alert"))?;
        let updated =
            action(record, now_ms()).map_err(|error| OpsError::Conflict(error.to_string()))?;
        match services.store.update_alert(&updated) {
            Err(StoreError::Conflict(_)) => continue,
            result => return Ok(result?),
        }
    }
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
        "history": record.history.iter().map(|id| format_inbound_id(*id)).collect::<Vec<_>>(),
    })
}
