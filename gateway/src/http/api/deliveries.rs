//! Deliveries with their attempts; retry by hand.

use super::{Paging, not_found, parse_filter, store_failed};
use crate::http::error_response;
use crate::ids::format_delivery_id;
use crate::ids::format_inbound_id;
use crate::ids::parse_id;
use crate::server::AppState;
use crate::store::{DeliveryRecord, DeliveryStatus, now_ms};
use actix_web::http::StatusCode;
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
    let Some(id) = parse_id("dl", &id) else {
        return not_found("delivery");
    };
    let result = state.store.transaction(|txn| {
        let Some(mut record) = txn.delivery(id)? else {
            return Ok(None);
        };
        if record.status == DeliveryStatus::Delivered {
            return Ok(Some(Err(record)));
        }
        let was_due = record.next_attempt_at;
        record.status = DeliveryStatus::Pending;
        record.next_attempt_at = Some(now_ms());
        txn.save_delivery(&record, was_due)?;
        Ok(Some(Ok(record)))
    });
    match result {
        Ok(Some(Ok(record))) => {
            state.delivery_wake.notify_one();
            HttpResponse::Accepted().json(view(&record))
        }
        Ok(Some(Err(_))) => error_response(StatusCode::CONFLICT, "the delivery was delivered"),
        Ok(None) => not_found("delivery"),
        Err(error) => store_failed(error),
    }
}
