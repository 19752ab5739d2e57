//! The inbound log: list with filters, one record with headers and body, replay.

use super::openapi::ErrorAnswer;
use super::{ApiRoute, Paging, parse_filter};
use crate::http::HttpState;
use crate::ids::format_inbound_id;
use crate::ops::inbound::{self, InboundDetailView, InboundView};
use crate::ops::{OpsError, blocking};
use crate::store::{InboundFilter, InboundStatus};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_replay>(|route| route.to(replay)),
];

super::list_page! {
    /// A page of the inbound log.
    InboundPage of InboundView
}

/// What a replay answers: the new record, queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayAnswer {
    /// Always `queued`.
    pub status: String,
    /// The new record, `in_<n>`.
    pub id: String,
}

#[derive(Debug, Deserialize)]
struct InboundQuery {
    endpoint: Option<String>,
    status: Option<String>,
    event: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// The inbound log, newest first.
#[utoipa::path(
    get,
    path = "/inbound",
    operation_id = "listInbound",
    params(
        ("endpoint" = Option<String>, Query, description = "endpoint id"),
        ("status" = Option<InboundStatus>, Query, description = "record status"),
        ("event" = Option<String>, Query, description = "event key"),
        ("limit" = Option<u32>, Query, description = "page size: default 50, at most 500"),
        ("before" = Option<String>, Query, description = "the previous page's `next`"),
    ),
    responses(
        (status = 200, description = "`{items, next}`", body = InboundPage),
        (status = 400, description = "an unknown status", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(
    state: web::Data<HttpState>,
    query: web::Query<InboundQuery>,
) -> Result<HttpResponse, OpsError> {
    let status = parse_filter::<InboundStatus>(
        query.status.as_deref(),
        "status must be one of rejected, filtered, duplicate, pending, processed, failed",
    )?;
    let filter = InboundFilter {
        endpoint: query.endpoint.clone(),
        status,
        event: query.event.clone(),
        before: query.paging.before(),
        limit: query.paging.limit(),
    };
    let services = state.services.clone();
    let page = blocking(move || inbound::list(&services, &filter)).await?;
    Ok(HttpResponse::Ok().json(InboundPage {
        items: page.items.iter().map(InboundView::of).collect(),
        next: page.next,
    }))
}

/// One record with its headers (signatures redacted) and body.
#[utoipa::path(
    get,
    path = "/inbound/{id}",
    operation_id = "getInboundRecord",
    params(("id" = String, Path, description = "inbound record id, `in_<n>`")),
    responses(
        (status = 200, description = "the record with `headers` and `body`", body = InboundDetailView),
        (status = 404, description = "no such record", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let record = inbound::get(&state.services, &id)?;
    Ok(HttpResponse::Ok().json(InboundDetailView::of(&record)))
}

/// Runs a stored record through today's plugins again.
#[utoipa::path(
    post,
    path = "/inbound/{id}/replay",
    operation_id = "replayInboundRecord",
    params(("id" = String, Path, description = "inbound record id, `in_<n>`")),
    responses(
        (status = 202, description = "`{status: queued, id}`: the new record", body = ReplayAnswer),
        (status = 404, description = "no such record", body = ErrorAnswer),
        (status = 409, description = "the record cannot be replayed", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn replay(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let id = inbound::replay(&state.services, &id)?;
    Ok(HttpResponse::Accepted().json(ReplayAnswer {
        status: "queued".into(),
        id: format_inbound_id(id),
    }))
}
