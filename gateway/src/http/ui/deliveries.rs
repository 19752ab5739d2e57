//! Deliveries: status, attempts with codes and durations, Retry.

use super::inbound::endpoint_names;
use super::{FormFields, Session, next_page_link, options, page, refused_page, see_other};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::ids::format_delivery_id;
use crate::ops::deliveries::{self, view};
use crate::store::{DeliveryFilter, DeliveryRecord, DeliveryStatus};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/deliveries",
        handler: |route| route.to(list),
    },
    RouteRow {
        method: Method::GET,
        path: "/deliveries/{id}",
        handler: |route| route.to(show),
    },
    RouteRow {
        method: Method::POST,
        path: "/deliveries/{id}/retry",
        handler: |route| route.to(retry),
    },
];

const STATUSES: [&str; 4] = ["pending", "delivered", "retrying", "failed"];

/// The delivery as the API shows it, plus its last attempt and whether it can be retried.
fn row(record: &DeliveryRecord, endpoint_name: Option<&String>) -> Value {
    let mut row = view(record);
    row["endpoint_name"] = json!(endpoint_name);
    row["last_attempt"] = json!(record.attempts.last());
    row["attempt_count"] = json!(record.attempts.len());
    row["can_retry"] = json!(record.status != DeliveryStatus::Delivered);
    row
}

async fn list(
    state: web::Data<HttpState>,
    session: Session,
    query: web::Query<FormFields>,
) -> HttpResponse {
    let status = query.get("status");
    let names = match endpoint_names(&state) {
        Ok(names) => names,
        Err(error) => return refused_page(&state, &session, error),
    };
    let filter = DeliveryFilter {
        status: serde_json::from_value::<DeliveryStatus>(json!(status)).ok(),
        endpoint: None,
        before: query.get("before").parse().ok(),
        limit: CONSOLE_PAGE_SIZE,
    };
    let page_of = match deliveries::list(&state.services, &filter) {
        Ok(page_of) => page_of,
        Err(error) => return refused_page(&state, &session, error),
    };
    let rows: Vec<Value> = page_of
        .items
        .iter()
        .map(|record| row(record, names.get(&record.endpoint)))
        .collect();
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "deliveries",
        "Deliveries",
        "deliveries",
        json!({
            "deliveries": rows,
            "statuses": options(STATUSES, status),
            "next": next_page_link("/ui/deliveries", &[("status", status)], page_of.next.as_deref()),
        }),
    )
}

async fn show(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    let record = match deliveries::get(&state.services, &id) {
        Ok(record) => record,
        Err(error) => return refused_page(&state, &session, error),
    };
    let name = crate::ops::endpoints::name_of(&state.services, &record.endpoint);
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "delivery",
        &format!("Delivery {}", format_delivery_id(record.id)),
        "deliveries",
        json!({"delivery": row(&record, name.as_ref())}),
    )
}

async fn retry(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match deliveries::retry(&state.services, &id) {
        Ok(record) => see_other(&format!("/ui/deliveries/{}", format_delivery_id(record.id))),
        Err(error) => refused_page(&state, &session, error),
    }
}
