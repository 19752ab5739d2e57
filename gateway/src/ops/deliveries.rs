//! Deliveries with their attempts; retry by hand.

use super::{OpsError, Services};
use crate::ids::{format_delivery_id, format_inbound_id, parse_id};
use crate::store::{DeliveryFilter, DeliveryRecord, Page, RetryScheduled, now_ms};
use serde_json::{Value, json};

/// Deliveries, newest first, filtered.
pub fn list(
    services: &Services,
    filter: &DeliveryFilter,
) -> Result<Page<DeliveryRecord>, OpsError> {
    Ok(services.store.list_deliveries(filter)?)
}

/// One delivery by its API id (`dl_<n>`).
pub fn get(services: &Services, id: &str) -> Result<DeliveryRecord, OpsError> {
    let id = parse_id("dl", id).ok_or(OpsError::NotFound("delivery"))?;
    services
        .store
        .delivery(id)?
        .ok_or(OpsError::NotFound("delivery"))
}

/// Schedules a delivery that was not delivered for an attempt now.
pub fn retry(services: &Services, id: &str) -> Result<DeliveryRecord, OpsError> {
    let current = get(services, id)?;
    if services
        .store
        .destination_health(&current.endpoint, current.destination)?
        .is_disabled()
    {
        return Err(OpsError::Conflict(format!(
            "destination {} of endpoint {} is disabled after consecutive failures; \
             enable it first",
            current.destination, current.endpoint
        )));
    }
    let record = match services.store.schedule_retry(current.id, now_ms())? {
        RetryScheduled::Scheduled(record) => *record,
        RetryScheduled::AlreadyDelivered => {
            return Err(OpsError::Conflict("the delivery was delivered".into()));
        }
        RetryScheduled::NotFound => return Err(OpsError::NotFound("delivery")),
    };
    services.outbox.wake();
    Ok(record)
}

/// The delivery as the API shows it.
pub fn view(record: &DeliveryRecord) -> Value {
    let mut view = json!({
        "id": format_delivery_id(record.id),
        "endpoint": record.endpoint,
        "inbound": record.inbound_id.map(format_inbound_id),
        // A page goes to a person, not to one of the endpoint's destinations.
        "destination": record.page.is_none().then_some(record.destination),
        "alert": record.alert.map(crate::ids::format_alert_id),
        "page": record.page.as_ref().map(|page| json!({
            "user": page.user, "contact": page.contact, "step": page.step,
        })),
        "kind": record.kind,
        "notification": record.notification,
        "status": record.status,
        "url": record.request.http().map(|request| &request.url),
        "attempts": record.attempts,
        "next_attempt_at": record.next_attempt_at,
        "created_at": record.created_at,
    });
    // A mail has recipients and a subject where a request has a URL.
    if let Some(email) = record.request.email() {
        view["to"] = json!(email.to);
        view["subject"] = json!(email.subject);
    }
    view
}
