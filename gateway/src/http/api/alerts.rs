//! Alerts: list, show, acknowledge and close by hand.

use super::openapi::ErrorAnswer;
use super::{ApiRoute, Paging, not_found, parse_filter, refused, store_failed};
use crate::ids::format_alert_id;
use crate::ids::format_inbound_id;
use crate::ids::parse_id;
use crate::server::AppState;
use crate::store::{AlertRecord, AlertState};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_acknowledge>(|route| route.to(acknowledge)),
    ApiRoute::documented::<__path_close>(|route| route.to(close)),
];

#[derive(Debug, Deserialize)]
struct AlertQuery {
    state: Option<String>,
    endpoint: Option<String>,
    #[serde(flatten)]
    paging: Paging,
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

/// Alerts, newest first.
#[utoipa::path(
    get,
    path = "/alerts",
    tag = "alerts",
    params(
        ("state" = Option<AlertState>, Query, description = "alert state"),
        ("endpoint" = Option<String>, Query, description = "endpoint id"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = Object),
        (status = 400, description = "an unknown state", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(state: web::Data<AppState>, query: web::Query<AlertQuery>) -> HttpResponse {
    let alert_state = match parse_filter::<AlertState>(
        query.state.as_deref(),
        "state must be open, acknowledged or closed",
    ) {
        Ok(value) => value,
        Err(response) => return response,
    };
    match state.store.list_alerts(
        alert_state,
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

/// One alert with its history.
#[utoipa::path(
    get,
    path = "/alerts/{id}",
    tag = "alerts",
    params(("id" = String, Path, description = "alert id, `al_<n>`")),
    responses(
        (status = 200, description = "the alert", body = Object),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(id) = parse_id("al", &id) else {
        return not_found("alert");
    };
    match state.store.alert(id) {
        Ok(Some(record)) => HttpResponse::Ok().json(view(&record)),
        Ok(None) => not_found("alert"),
        Err(error) => store_failed(error),
    }
}

/// Acknowledges an open alert.
#[utoipa::path(
    post,
    path = "/alerts/{id}/ack",
    tag = "alerts",
    params(("id" = String, Path, description = "alert id, `al_<n>`")),
    responses(
        (status = 200, description = "the acknowledged alert", body = Object),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 409, description = "the alert is closed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn acknowledge(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match crate::admin::acknowledge_alert(&state, &id) {
        Ok(record) => HttpResponse::Ok().json(view(&record)),
        Err(error) => refused(error),
    }
}

/// Closes an alert by hand.
#[utoipa::path(
    post,
    path = "/alerts/{id}/close",
    tag = "alerts",
    params(("id" = String, Path, description = "alert id, `al_<n>`")),
    responses(
        (status = 200, description = "the closed alert", body = Object),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 409, description = "the alert is already closed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn close(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match crate::admin::close_alert(&state, &id) {
        Ok(record) => HttpResponse::Ok().json(view(&record)),
        Err(error) => refused(error),
    }
}
