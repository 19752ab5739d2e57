//! The inbound log: list with filters, one record with headers and body, replay.

use super::openapi::ErrorAnswer;
use super::{ApiRoute, Paging, not_found, parse_filter, refused, store_failed};
use crate::ids::format_inbound_id;
use crate::ids::parse_id;
use crate::server::AppState;
use crate::store::{InboundFilter, InboundRecord, InboundStatus};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_replay>(|route| route.to(replay)),
];

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

/// The inbound log, newest first.
#[utoipa::path(
    get,
    path = "/inbound",
    tag = "inbound",
    params(
        ("endpoint" = Option<String>, Query, description = "endpoint id"),
        ("status" = Option<InboundStatus>, Query, description = "record status"),
        ("event" = Option<String>, Query, description = "event key"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = Object),
        (status = 400, description = "an unknown status", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
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

/// One record with its headers (signatures redacted) and body.
#[utoipa::path(
    get,
    path = "/inbound/{id}",
    tag = "inbound",
    params(("id" = String, Path, description = "inbound record id, `in_<n>`")),
    responses(
        (status = 200, description = "the record with `headers` and `body`", body = Object),
        (status = 404, description = "no such record", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
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

/// Runs a stored record through today's plugins again.
#[utoipa::path(
    post,
    path = "/inbound/{id}/replay",
    tag = "inbound",
    params(("id" = String, Path, description = "inbound record id, `in_<n>`")),
    responses(
        (status = 202, description = "`{status: queued, id}`: the new record", body = Object),
        (status = 404, description = "no such record", body = ErrorAnswer),
        (status = 409, description = "the record cannot be replayed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn replay(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match crate::admin::replay(&state, &id) {
        Ok(id) => {
            HttpResponse::Accepted().json(json!({"status": "queued", "id": format_inbound_id(id)}))
        }
        Err(error) => refused(error),
    }
}
