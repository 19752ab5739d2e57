//! The inbound log: what ingest records, the list with filters, one record with its
//! deliveries, and replay.

use super::{OpsError, Services};
use crate::ids::{format_inbound_id, parse_id};
use crate::store::{
    Appended, DeliveryRecord, EndpointRecord, InboundFilter, InboundRecord, InboundStatus, Outcome,
    Page, StoreError,
};
use serde::Serialize;
use serde_json::Value;
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

/// An inbound record as the API lists it (no headers or body).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundView {
    /// `in_<n>`.
    pub id: String,
    /// Endpoint id.
    pub endpoint: String,
    /// Receipt time, ms.
    pub received_at: u64,
    /// Event key, when the header was present.
    #[schema(required = true)]
    pub event: Option<String>,
    /// The provider's delivery id.
    #[schema(required = true)]
    pub request_uuid: Option<String>,
    /// The sender's attempt number.
    pub attempt: u32,
    /// Status.
    pub status: InboundStatus,
    /// Why it was refused or filtered.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// What each plugin made of it.
    pub outcomes: Vec<Outcome>,
    /// When processing finished, ms.
    #[schema(required = true)]
    pub processed_at: Option<u64>,
    /// For duplicates: the record it repeats, `in_<n>`.
    #[schema(required = true)]
    pub duplicate_of: Option<String>,
}

/// One inbound record with its headers and body: [`InboundView`]'s fields and three more
/// (spelled out rather than flattened, so its schema can refuse unknown fields).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundDetailView {
    /// `in_<n>`.
    pub id: String,
    /// Endpoint id.
    pub endpoint: String,
    /// Receipt time, ms.
    pub received_at: u64,
    /// Event key, when the header was present.
    #[schema(required = true)]
    pub event: Option<String>,
    /// The provider's delivery id.
    #[schema(required = true)]
    pub request_uuid: Option<String>,
    /// The sender's attempt number.
    pub attempt: u32,
    /// Status.
    pub status: InboundStatus,
    /// Why it was refused or filtered.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// What each plugin made of it.
    pub outcomes: Vec<Outcome>,
    /// When processing finished, ms.
    #[schema(required = true)]
    pub processed_at: Option<u64>,
    /// For duplicates: the record it repeats, `in_<n>`.
    #[schema(required = true)]
    pub duplicate_of: Option<String>,
    /// Request headers as `[name, value]`, lower-cased, signatures redacted.
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8; for rejected requests the first 4 KiB, lossily decoded).
    pub body: String,
    /// Whether `body` was cut.
    pub body_truncated: bool,
}

impl InboundView {
    /// The listed view of `record`.
    pub fn of(record: &InboundRecord) -> Self {
        Self {
            id: format_inbound_id(record.id),
            endpoint: record.endpoint.clone(),
            received_at: record.received_at,
            event: record.event.clone(),
            request_uuid: record.request_uuid.clone(),
            attempt: record.attempt,
            status: record.status,
            reason: record.reason.clone(),
            outcomes: record.outcomes.clone(),
            processed_at: record.processed_at,
            duplicate_of: record.duplicate_of.map(format_inbound_id),
        }
    }
}

impl InboundDetailView {
    /// The full view of `record`.
    pub fn of(record: &InboundRecord) -> Self {
        let InboundView {
            id,
            endpoint,
            received_at,
            event,
            request_uuid,
            attempt,
            status,
            reason,
            outcomes,
            processed_at,
            duplicate_of,
        } = InboundView::of(record);
        Self {
            id,
            endpoint,
            received_at,
            event,
            request_uuid,
            attempt,
            status,
            reason,
            outcomes,
            processed_at,
            duplicate_of,
            headers: record.headers.clone(),
            body: record.body.clone(),
            body_truncated: record.body_truncated,
        }
    }
}

/// [`InboundView`] (or with `full`, [`InboundDetailView`]) as JSON, for the console's templates.
pub fn view(record: &InboundRecord, full: bool) -> Value {
    let view = if full {
        serde_json::to_value(InboundDetailView::of(record))
    } else {
        serde_json::to_value(InboundView::of(record))
    };
    view.unwrap_or(Value::Null)
}
