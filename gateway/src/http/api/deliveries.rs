//! Deliveries with their attempts; retry by hand.

use super::openapi::ErrorAnswer;
use super::{ApiRoute, Paging, parse_filter};
use crate::http::HttpState;
use crate::ops::OpsError;
use crate::ops::deliveries::{self, DeliveryView};
use crate::store::{DeliveryFilter, DeliveryStatus};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_retry>(|route| route.to(retry)),
];

super::list_page! {
    /// A page of deliveries.
    DeliveryPage of DeliveryView
}

#[derive(Debug, Deserialize)]
struct DeliveryQuery {
    status: Option<String>,
    endpoint: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// Deliveries with their attempts, newest first.
#[utoipa::path(
    get,
    path = "/deliveries",
    operation_id = "listDeliveries",
    params(
        ("status" = Option<DeliveryStatus>, Query, description = "delivery status"),
        ("endpoint" = Option<String>, Query, description = "endpoint id"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = DeliveryPage),
        (status = 400, description = "an unknown status", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(
    state: web::Data<HttpState>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, OpsError> {
    let filter = DeliveryFilter {
        status: parse_filter::<DeliveryStatus>(
            query.status.as_deref(),
            "status must be pending, delivered, retrying or failed",
        )?,
        endpoint: query.endpoint.clone(),
        before: query.paging.before(),
        limit: query.paging.limit(),
    };
    let page = deliveries::list(&state.services, &filter)?;
    Ok(HttpResponse::Ok().json(DeliveryPage {
        items: page.items.iter().map(DeliveryView::of).collect(),
        next: page.next,
    }))
}

/// One delivery with every attempt.
#[utoipa::path(
    get,
    path = "/deliveries/{id}",
    operation_id = "getDelivery",
    params(("id" = String, Path, description = "delivery id, `dl_<n>`")),
    responses(
        (status = 200, description = "the delivery", body = DeliveryView),
        (status = 404, description = "no such delivery", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(DeliveryView::of(&deliveries::get(&state.services, &id)?)))
}

/// Schedules a failed delivery for an attempt now.
#[utoipa::path(
    post,
    path = "/deliveries/{id}/retry",
    operation_id = "retryDelivery",
    params(("id" = String, Path, description = "delivery id, `dl_<n>`")),
    responses(
        (status = 202, description = "the delivery, due now", body = DeliveryView),
        (status = 404, description = "no such delivery", body = ErrorAnswer),
        (status = 409, description = "the delivery has not failed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn retry(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Accepted().json(DeliveryView::of(&deliveries::retry(&state.services, &id)?)))
}
