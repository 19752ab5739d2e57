//! The inbound log: filters and pages; one record with its headers (signatures redacted at
//! ingest), the payload pretty-printed, outcomes, deliveries, and Replay.

use super::{FormFields, Session, next_page_link, options, page, refused_page, see_other};
use crate::admin::{self, AdminError};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::http::RouteRow;
use crate::http::api::{deliveries, inbound::view};
use crate::ids::{format_inbound_id, parse_id};
use crate::server::AppState;
use crate::store::{InboundFilter, InboundStatus};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use std::collections::HashMap;

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/inbound",
        handler: |route| route.to(list),
    },
    RouteRow {
        method: Method::GET,
        path: "/inbound/{id}",
        handler: |route| route.to(show),
    },
    RouteRow {
        method: Method::POST,
        path: "/inbound/{id}/replay",
        handler: |route| route.to(replay),
    },
];

const STATUSES: [&str; 6] = [
    "rejected",
    "filtered",
    "duplicate",
    "pending",
    "processed",
    "failed",
];

/// Endpoint names by id, for tables.
pub fn endpoint_names(state: &AppState) -> Result<HashMap<String, String>, AdminError> {
    Ok(state
        .store
        .endpoints()?
        .into_iter()
        .map(|endpoint| (endpoint.id, endpoint.name))
        .collect())
}

/// What an inbound record's outcomes say, in one line.
fn outcome_summary(record: &Value) -> String {
    record["outcomes"]
        .as_array()
        .map(|outcomes| {
            outcomes
                .iter()
                .filter_map(|outcome| outcome["outcome"].as_str())
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .unwrap_or_default()
}

async fn list(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<FormFields>,
) -> HttpResponse {
    let names = match endpoint_names(&state) {
        Ok(names) => names,
        Err(error) => return refused_page(&state, &session, error),
    };
    let (endpoint, status, event) = (
        query.get("endpoint"),
        query.get("status"),
        query.get("event"),
    );
    let filter = InboundFilter {
        endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
        status: serde_json::from_value::<InboundStatus>(json!(status)).ok(),
        event: (!event.is_empty()).then(|| event.to_string()),
        before: query.get("before").parse().ok(),
        limit: CONSOLE_PAGE_SIZE,
    };
    let store = state.store.clone();
    let page_of = match web::block(move || store.list_inbound(&filter)).await {
        Ok(Ok(page_of)) => page_of,
        Ok(Err(error)) => return refused_page(&state, &session, error.into()),
        Err(error) => return crate::http::internal_error("inbound list", error),
    };
    let rows: Vec<Value> = page_of
        .items
        .iter()
        .map(|record| {
            let mut row = view(record, false);
            row["endpoint_name"] = json!(names.get(&record.endpoint));
            row["outcome_summary"] = json!(outcome_summary(&row));
            row
        })
        .collect();
    let mut endpoints: Vec<Value> = names
        .iter()
        .map(|(id, name)| json!({"value": id, "name": name, "selected": id == endpoint}))
        .collect();
    endpoints.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let filters = [("endpoint", endpoint), ("status", status), ("event", event)];
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "inbound",
        "Inbound log",
        "inbound",
        json!({
            "records": rows,
            "endpoints": endpoints,
            "statuses": options(STATUSES, status),
            "event": event,
            "filtered": filters.iter().any(|(_, value)| !value.is_empty()),
            "next": next_page_link("/ui/inbound", &filters, page_of.next.as_deref()),
        }),
    )
}

async fn show(state: web::Data<AppState>, session: Session, id: web::Path<String>) -> HttpResponse {
    let record = match parse_id("in", &id).map(|id| state.store.inbound(id)) {
        Some(Ok(Some(record))) => record,
        Some(Err(error)) => return refused_page(&state, &session, error.into()),
        _ => return refused_page(&state, &session, AdminError::NotFound("inbound record")),
    };
    let deliveries = match state
        .store
        .deliveries_for_inbound(record.id, record.received_at)
    {
        Ok(deliveries) => deliveries,
        Err(error) => return refused_page(&state, &session, error.into()),
    };
    let endpoint_name = state
        .store
        .endpoint(&record.endpoint)
        .ok()
        .flatten()
        .map(|endpoint| endpoint.name);
    let body_pretty = serde_json::from_str::<Value>(&record.body)
        .ok()
        .and_then(|body| serde_json::to_string_pretty(&body).ok())
        .unwrap_or_else(|| record.body.clone());
    let mut data = view(&record, true);
    data["headers"] = record
        .headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    data["body_pretty"] = json!(body_pretty);
    data["endpoint_name"] = json!(endpoint_name);
    data["can_replay"] = json!(matches!(
        record.status,
        InboundStatus::Processed | InboundStatus::Failed
    ));
    data["deliveries"] = deliveries.iter().map(deliveries::view).collect();
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "inbound_record",
        &format!("Inbound {}", format_inbound_id(record.id)),
        "inbound",
        json!({"record": data}),
    )
}

async fn replay(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match admin::replay(&state, &id) {
        Ok(id) => see_other(&format!("/ui/inbound/{}", format_inbound_id(id))),
        Err(error) => refused_page(&state, &session, error),
    }
}
