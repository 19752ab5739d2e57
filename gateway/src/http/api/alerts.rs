//! Alerts: list, show, acknowledge and close by hand.

use super::openapi::ErrorAnswer;
use super::{ApiRoute, Paging, parse_filter};
use crate::http::HttpState;
use crate::http::roles::Principal;
use crate::ops::OpsError;
use crate::ops::alerts::{self, AlertView};
use crate::store::{AlertFilter, AlertState};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_history>(|route| route.to(history)),
    ApiRoute::documented::<__path_acknowledge>(|route| route.to(acknowledge)),
    ApiRoute::documented::<__path_close>(|route| route.to(close)),
];

super::list_page! {
    /// A page of alerts.
    AlertPage of AlertView
}

#[derive(Debug, Deserialize)]
struct AlertQuery {
    state: Option<String>,
    endpoint: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// Alerts, newest first.
#[utoipa::path(
    get,
    path = "/alerts",
    operation_id = "listAlerts",
    params(
        ("state" = Option<AlertState>, Query, description = "alert state"),
        ("endpoint" = Option<String>, Query, description = "endpoint id"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = AlertPage),
        (status = 400, description = "an unknown state", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(
    state: web::Data<HttpState>,
    query: web::Query<AlertQuery>,
) -> Result<HttpResponse, OpsError> {
    let filter = AlertFilter {
        state: parse_filter::<AlertState>(
            query.state.as_deref(),
            "state must be open, acknowledged or closed",
        )?,
        endpoint: query.endpoint.clone(),
        before: query.paging.before(),
        limit: query.paging.limit(),
    };
    let page = alerts::list(&state.services, &filter)?;
    Ok(HttpResponse::Ok().json(AlertPage {
        items: page.items.iter().map(AlertView::of).collect(),
        next: page.next,
    }))
}

/// One alert with its history.
#[utoipa::path(
    get,
    path = "/alerts/{id}",
    operation_id = "getAlert",
    params(("id" = String, Path, description = "alert id, `al_<n>`")),
    responses(
        (status = 200, description = "the alert", body = AlertView),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(AlertView::of(&alerts::get(&state.services, &id)?)))
}

super::list_page! {
    /// A page of an alert's history: inbound record ids (`in_<n>`).
    AlertHistoryPage of String
}

/// An alert's history, newest first, a page at a time: what `GET /alerts/{id}` has in
/// `history` (whole, oldest first), for an alert with a long one.
#[utoipa::path(
    get,
    path = "/alerts/{id}/history",
    operation_id = "getAlertHistory",
    params(
        ("id" = String, Path, description = "alert id, `al_<n>`"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = AlertHistoryPage),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn history(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, OpsError> {
    let page = alerts::history(&state.services, &id, paging.before(), paging.limit())?;
    Ok(HttpResponse::Ok().json(AlertHistoryPage {
        items: page.items,
        next: page.next,
    }))
}

/// Acknowledges an open alert.
#[utoipa::path(
    post,
    path = "/alerts/{id}/ack",
    operation_id = "acknowledgeAlert",
    params(("id" = String, Path, description = "alert id, `al_<n>`")),
    responses(
        (status = 200, description = "the acknowledged alert", body = AlertView),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 409, description = "the alert is closed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn acknowledge(
    state: web::Data<HttpState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(AlertView::of(&alerts::acknowledge(
        &state.services,
        &id,
        principal.acts_as(),
    )?)))
}

/// Closes an alert by hand.
#[utoipa::path(
    post,
    path = "/alerts/{id}/close",
    operation_id = "closeAlert",
    params(("id" = String, Path, description = "alert id, `al_<n>`")),
    responses(
        (status = 200, description = "the closed alert", body = AlertView),
        (status = 404, description = "no such alert", body = ErrorAnswer),
        (status = 409, description = "the alert is already closed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn close(
    state: web::Data<HttpState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(AlertView::of(&alerts::close(
        &state.services,
        &id,
        principal.acts_as(),
    )?)))
}
