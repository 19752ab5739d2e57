//! Deliveries with their attempts; retry by hand.

use super::{Paging, not_found, parse_filter, refused, store_failed};
use crate::ids::format_delivery_id;
use crate::ids::format_inbound_id;
use crate::ids::parse_id;
use crate::server::AppState;
use crate::store::{DeliveryRecord, DeliveryStatus};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/deliveries", web::get().to(list))
        .route("/deliveries/{id}", web::get().to(show))
        .route("/deliveries/{id}/retry", web::post().to(retry));
}

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
async fn retry(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match crate::admin::retry_delivery(&state, &id) {
        Ok(record) => HttpResponse::Accepted().json(view(&record)),
        Err(error) => refused(error),
    }
}
