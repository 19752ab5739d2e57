//! Alerts by state (open, acknowledged, closed) with their count and last seen; one alert with
//! its history; Acknowledge and Close.

use super::inbound::endpoint_names;
use super::{FormFields, Session, next_page_link, page, refused_page, see_other};
use crate::admin::{self, AdminError};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::http::RouteRow;
use crate::http::api::alerts::view;
use crate::ids::{format_alert_id, parse_id};
use crate::server::AppState;
use crate::store::{AlertRecord, AlertState};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/alerts",
        handler: |route| route.to(list),
    },
    RouteRow {
        method: Method::GET,
        path: "/alerts/{id}",
        handler: |route| route.to(show),
    },
    RouteRow {
        method: Method::POST,
        path: "/alerts/{id}/ack",
        handler: |route| route.to(acknowledge),
    },
    RouteRow {
        method: Method::POST,
        path: "/alerts/{id}/close",
        handler: |route| route.to(close),
    },
];

/// The alert as the API shows it, plus what the buttons need.
fn row(record: &AlertRecord, endpoint_name: Option<&String>) -> Value {
    let mut row = view(record);
    row["endpoint_name"] = json!(endpoint_name);
    row["can_ack"] = json!(record.state == AlertState::Open);
    row["can_close"] = json!(record.state != AlertState::Closed);
    // The link comes from the webhook's payload: only web addresses become links.
    row["link"] = json!(
        record
            .alert
            .url
            .as_deref()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
    );
    row
}

async fn list(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<FormFields>,
) -> HttpResponse {
    let tab = match query.get("state") {
        "" => "open",
        other => other,
    };
    let Ok(alert_state) = serde_json::from_value::<AlertState>(json!(tab)) else {
        return refused_page(
            &state,
            &session,
            AdminError::Invalid("state must be open, acknowledged or closed".into()),
        );
    };
    let names = match endpoint_names(&state) {
        Ok(names) => names,
        Err(error) => return refused_page(&state, &session, error),
    };
    let result = state.store.list_alerts(
        Some(alert_state),
        None,
        query.get("before").parse().ok(),
        CONSOLE_PAGE_SIZE,
    );
    let page_of = match result {
        Ok(page_of) => page_of,
        Err(error) => return refused_page(&state, &session, error.into()),
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
        "alerts",
        "Alerts",
        "alerts",
        json!({
            "alerts": rows,
            "tab": {tab: true},
            "state": tab,
            "next": next_page_link("/ui/alerts", &[("state", tab)], page_of.next.as_deref()),
        }),
    )
}

async fn show(state: web::Data<AppState>, session: Session, id: web::Path<String>) -> HttpResponse {
    let record = match parse_id("al", &id).map(|id| state.store.alert(id)) {
        Some(Ok(Some(record))) => record,
        Some(Err(error)) => return refused_page(&state, &session, error.into()),
        _ => return refused_page(&state, &session, AdminError::NotFound("alert")),
    };
    let name = state
        .store
        .endpoint(&record.endpoint)
        .ok()
        .flatten()
        .map(|endpoint| endpoint.name);
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "alert",
        &format!("Alert {}", format_alert_id(record.id)),
        "alerts",
        json!({"alert": row(&record, name.as_ref())}),
    )
}

fn after_action(
    state: &AppState,
    session: &Session,
    result: Result<AlertRecord, AdminError>,
) -> HttpResponse {
    match result {
        Ok(record) => see_other(&format!("/ui/alerts/{}", format_alert_id(record.id))),
        Err(error) => refused_page(state, session, error),
    }
}

async fn acknowledge(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    after_action(&state, &session, admin::acknowledge_alert(&state, &id))
}

async fn close(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    after_action(&state, &session, admin::close_alert(&state, &id))
}
