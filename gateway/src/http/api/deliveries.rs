//! Deliveries with their attempts; retry by hand.

use super::openapi::ErrorAnswer;
use super::{ApiRoute, Paging, not_found, parse_filter, refused, store_failed};
use crate::ids::format_delivery_id;
use crate::ids::format_inbound_id;
use crate::ids::parse_id;
use crate::server::AppState;
use crate::store::{DeliveryRecord, DeliveryStatus};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_retry>(|route| route.to(retry)),
];

#[derive(Debug, Deserialize)]
struct DeliveryQuery {
    status: Option<String>,
    endpoint: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// The delivery as the API shows it.
pub fn view(record: &DeliveryRecord) -> Value {
    json!({
        "id": format_delivery_id(record.id),
        "endpoint": record.endpoint,
        "inbound": record.inbound_id.map(format_inbound_id),
        "destination": record.destination,
        "kind": record.kind,
        "notification": record.notification,
        "status": record.status,
        "url": record.request.url,
        "attempts": record.attempts,
        "next_attempt_at": record.next_attempt_at,
        "created_at": record.created_at,
    })
}

/// Deliveries with their attempts, newest first.
#[utoipa::path(
    get,
    path = "/deliveries",
    tag = "deliveries",
    params(
        ("status" = Option<DeliveryStatus>, Query, description = "delivery status"),
        ("endpoint" = Option<String>, Query, description = "endpoint id"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = Object),
        (status = 400, description = "an unknown status", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(state: web::Data<AppState>, query: web::Query<DeliveryQuery>) -> HttpResponse {
    let status = match parse_filter::<DeliveryStatus>(
        query.status.as_deref(),
        "status must be pending, delivered, retrying or failed",
    ) {
        Ok(value) => value,
        Err(response) => return response,
    };
    match state.store.list_deliveries(
        status,
        query.endpoint.as_deref(),
        query.paging.before(),
        query.paging.limit(),
    ) {
        Ok(page) => HttpResponse::Ok().json(json!({
            "items": page.items.iter().map(view).collect::<Vec<_>>(),
            "next": page.next,
        })),
        Err(error) => store_failed(error),
    }
}

/// One delivery with every attempt.
#[utoipa::path(
    get,
    path = "/deliveries/{id}",
    tag = "deliveries",
    params(("id" = String, Path, description = "delivery id, `dl_<n>`")),
    responses(
        (status = 200, description = "the delivery", body = Object),
        (status = 404, description = "no such delivery", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(id) = parse_id("dl", &id) else {
        return not_found("delivery");
    };
    match state.store.delivery(id) {
        Ok(Some(record)) => HttpResponse::Ok().json(view(&record)),
        Ok(None) => not_found("delivery"),
        Err(error) => store_failed(error),
    }
}

/// Schedules a failed delivery for an attempt now.
#[utoipa::path(
    post,
    path = "/deliveries/{id}/retry",
    tag = "deliveries",
    params(("id" = String, Path, description = "delivery id, `dl_<n>`")),
    responses(
        (status = 202, description = "the delivery, due now", body = Object),
        (status = 404, description = "no such delivery", body = ErrorAnswer),
        (status = 409, description = "the delivery has not failed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn retry(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match crate::admin::retry_delivery(&state, &id) {
        Ok(record) => HttpResponse::Accepted().json(view(&record)),
        Err(error) => refused(error),
    }
}
