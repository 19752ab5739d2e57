//! The inbound log: what ingest records, the list with filters, one record with its
//! deliveries, and replay.

use super::{OpsError, Services};
use crate::ids::{format_inbound_id, parse_id};
use crate::store::{
    Appended, DeliveryRecord, EndpointRecord, InboundFilter, InboundRecord, InboundStatus, Page,
    StoreError,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// The endpoint a webhook is posted to (shared, not copied: ingest reads one per request).
pub fn endpoint_for_ingest(
    services: &Services,
    id: &str,
) -> Result<Option<Arc<EndpointRecord>>, StoreError> {
    services.store.endpoint(id)
}

/// Whether the processing backlog is at its bound (ingest then answers 503).
pub fn backlog_full(services: &Services) -> bool {
    services.queue.backlog() >= services.config.max_backlog
}

/// Records a request durably (a group commit); an accepted one joins the processing queue.
pub async fn record(services: &Services, record: InboundRecord) -> Result<Appended, StoreError> {
    services.queue.append(record).await
}

/// The log, newest first, filtered.
pub fn list(services: &Services, filter: &InboundFilter) -> Result<Page<InboundRecord>, OpsError> {
    Ok(services.store.list_inbound(filter)?)
}

/// One record by its API id (`in_<n>`), with headers and body.
pub fn get(services: &Services, id: &str) -> Result<InboundRecord, OpsError> {
    let id = parse_id("in", id).ok_or(OpsError::NotFound("inbound record"))?;
    services
        .store
        .inbound(id)?
        .ok_or(OpsError::NotFound("inbound record"))
}

/// The deliveries a record caused (replays included), oldest first.
pub fn deliveries(
    services: &Services,
    record: &InboundRecord,
) -> Result<Vec<DeliveryRecord>, OpsError> {
    Ok(services
        .store
        .deliveries_for_inbound(record.id, record.received_at)?)
}

/// Queues a stored record to run through today's plugins again. Only records that were
/// accepted (processed or failed) can be replayed: rejected and filtered ones never passed the
/// checks. Returns the record's number.
pub fn replay(services: &Services, id: &str) -> Result<u64, OpsError> {
    let id = parse_id("in", id).ok_or(OpsError::NotFound("inbound record"))?;
    let record = services
        .store
        .inbound(id)?
        .ok_or(OpsError::NotFound("inbound record"))?;
    if !matches!(
        record.status,
        InboundStatus::Processed | InboundStatus::Failed
    ) {
        return Err(OpsError::Conflict(format!(
            "a {} record cannot be replayed",
            record.status.as_str()
        )));
    }
    // The queue counts it before the commit, as for ingest: the worker may run it at once.
    if !services
        .queue
        .requeue(|| services.store.requeue_inbound(id))?
    {
        return Err(OpsError::NotFound("inbound record"));
    }
    tracing::info!(inbound = %format_inbound_id(id), "replay queued");
    Ok(id)
}

/// The record as the API shows it; `full` adds headers and body.
pub fn view(record: &InboundRecord, full: bool) -> Value {
    let outcomes: Vec<Value> = record
        .outcomes
        .iter()
        .map(|outcome| {
            json!({
                "plugin": outcome.plugin,
                "outcome": outcome.outcome,
                "detail": outcome.detail,
                "alert": outcome.alert,
            })
        })
        .collect();
    let mut value = json!({
        "id": format_inbound_id(record.id),
        "endpoint": record.endpoint,
        "received_at": record.received_at,
        "event": record.event,
        "request_uuid": record.request_uuid,
        "attempt": record.attempt,
        "status": record.status,
        "reason": record.reason,
        "outcomes": outcomes,
        "processed_at": record.processed_at,
        "duplicate_of": record.duplicate_of.map(format_inbound_id),
    });
    if full {
        value["headers"] = record
            .headers
            .iter()
            .map(|(name, value)| json!([name, value]))
            .collect();
        value["body"] = json!(record.body);
        value["body_truncated"] = json!(record.body_truncated);
    }
    value
}
