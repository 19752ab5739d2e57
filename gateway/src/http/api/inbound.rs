//! The inbound log: list with filters, one record with headers and body, replay.

use super::{Paging, not_found, parse_filter, store_failed};
use crate::http::error_response;
use crate::ids::format_inbound_id;
use crate::ids::parse_id;
use crate::server::AppState;
use crate::store::{InboundFilter, InboundRecord, InboundStatus};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/inbound", web::get().to(list))
        .route("/inbound/{id}", web::get().to(show))
        .route("/inbound/{id}/replay", web::post().to(replay));
}

#[derive(Debug, Deserialize)]
struct InboundQuery {
    endpoint: Option<String>,
    status: Option<String>,
    event: Option<String>,
    #[serde(flatten)]
    paging: Paging,
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

async fn list(state: web::Data<AppState>, query: web::Query<InboundQuery>) -> HttpResponse {
    let status = match parse_filter::<InboundStatus>(
        query.status.as_deref(),
        "status must be one of rejected, filtered, duplicate, pending, processed, failed",
    ) {
        Ok(value) => value,
        Err(response) => return response,
    };
    let filter = InboundFilter {
        endpoint: query.endpoint.clone(),
        status,
        event: query.event.clone(),
        before: query.paging.before(),
        limit: query.paging.limit(),
    };
    let store = state.store.clone();
    match web::block(move || store.list_inbound(&filter)).await {
        Ok(Ok(page)) => HttpResponse::Ok().json(json!({
            "items": page.items.iter().map(|record| view(record, false)).collect::<Vec<_>>(),
            "next": page.next,
        })),
        Ok(Err(error)) => store_failed(error),
        Err(error) => store_failed(error),
    }
}

async fn show(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(id) = parse_id("in", &id) else {
        return not_found("inbound record");
    };
    match state.store.inbound(id) {
        Ok(Some(record)) => HttpResponse::Ok().json(view(&record, true)),
        Ok(None) => not_found("inbound record"),
        Err(error) => store_failed(error),
    }
}

/// Runs a stored record through today's plugins again. Only records that were accepted (or
/// failed) can be replayed: rejected and filtered ones never passed the checks.
async fn replay(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(id) = parse_id("in", &id) else {
        return not_found("inbound record");
    };
    match state.store.inbound(id) {
        Ok(Some(record)) => {
            if !matches!(
                record.status,
                InboundStatus::Processed | InboundStatus::Failed
            ) {
                return error_response(
                    StatusCode::CONFLICT,
                    format!("a {} record cannot be replayed", record.status.as_str()),
                );
            }
        }
        Ok(None) => return not_found("inbound record"),
        Err(error) => return store_failed(error),
    }
    // Counted before the commit, as ingest does: the worker may run the record at once.
    state.backlog.fetch_add(1, Ordering::Relaxed);
    let requeued = state.store.requeue_inbound(id);
    if !matches!(requeued, Ok(true)) {
        state.backlog.fetch_sub(1, Ordering::Relaxed);
    }
    match requeued {
        Ok(true) => {
            state.pipeline_wake.notify_one();
            HttpResponse::Accepted().json(json!({"status": "queued", "id": format_inbound_id(id)}))
        }
        Ok(false) => not_found("inbound record"),
        Err(error) => store_failed(error),
    }
}
