//! The inbound log: filters and pages; one record with its headers (signatures redacted at
//! ingest), the payload pretty-printed, outcomes, deliveries, and Replay.

use super::{FormFields, Session, next_page_link, options, page, refused_page, see_other};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::ids::format_inbound_id;
use crate::ops::inbound::{self, view};
use crate::ops::{OpsError, deliveries};
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
pub fn endpoint_names(state: &HttpState) -> Result<HashMap<String, String>, OpsError> {
    crate::ops::endpoints::names(&state.services)
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
    state: web::Data<HttpState>,
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
    let services = state.services.clone();
    let page_of = match crate::ops::blocking(move || inbound::list(&services, &filter)).await {
        Ok(page_of) => page_of,
        Err(error) => return refused_page(&state, &session, error),
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

async fn show(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    let services = &state.services;
    let record = match inbound::get(services, &id) {
        Ok(record) => record,
        Err(error) => return refused_page(&state, &session, error),
    };
    let caused = match inbound::deliveries(services, &record) {
        Ok(caused) => caused,
        Err(error) => return refused_page(&state, &session, error),
    };
    let endpoint_name = crate::ops::endpoints::name_of(services, &record.endpoint);
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
    data["deliveries"] = caused.iter().map(deliveries::view).collect();
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
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match inbound::replay(&state.services, &id) {
        Ok(id) => see_other(&format!("/ui/inbound/{}", format_inbound_id(id))),
        Err(error) => refused_page(&state, &session, error),
    }
}
