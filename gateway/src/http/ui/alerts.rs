//! Alerts by state (open, acknowledged, closed) with their count and last seen; one alert with
//! its history; Acknowledge and Close.

use super::inbound::endpoint_names;
use super::{FormFields, Session, next_page_link, page, refused_page, see_other};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::http::roles;
use crate::ids::format_alert_id;
use crate::ops::OpsError;
use crate::ops::alerts::{self, view};
use crate::store::{AlertFilter, AlertRecord, AlertState, Escalation};
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

/// Whether the signed-in role may acknowledge and close alerts (the buttons show only then;
/// the guard refuses the forms either way).
fn may_act(session: &Session) -> bool {
    let needed = roles::required_role(&Method::POST, "/ui/alerts/{id}/ack");
    roles::allows(session.principal.role(), needed)
}

/// The alert as the API shows it, plus what the buttons need.
fn row(record: &AlertRecord, endpoint_name: Option<&String>, may_act: bool) -> Value {
    let mut row = view(record);
    row["endpoint_name"] = json!(endpoint_name);
    row["can_ack"] = json!(may_act && record.state == AlertState::Open);
    row["can_close"] = json!(may_act && record.state != AlertState::Closed);
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
    state: web::Data<HttpState>,
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
            OpsError::Invalid("state must be open, acknowledged or closed".into()),
        );
    };
    let names = match endpoint_names(&state) {
        Ok(names) => names,
        Err(error) => return refused_page(&state, &session, error),
    };
    let filter = AlertFilter {
        state: Some(alert_state),
        endpoint: None,
        before: query.get("before").parse().ok(),
        limit: CONSOLE_PAGE_SIZE,
    };
    let page_of = match alerts::list(&state.services, &filter) {
        Ok(page_of) => page_of,
        Err(error) => return refused_page(&state, &session, error),
    };
    let rows: Vec<Value> = page_of
        .items
        .iter()
        .map(|record| row(record, names.get(&record.endpoint), may_act(&session)))
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

async fn show(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    let record = match alerts::get(&state.services, &id) {
        Ok(record) => record,
        Err(error) => return refused_page(&state, &session, error),
    };
    let name = crate::ops::endpoints::name_of(&state.services, &record.endpoint);
    let mut shown = row(&record, name.as_ref(), may_act(&session));
    // Who acted, by name when it was a user (`us_<n>`).
    for (by, field) in [
        (&record.acknowledged_by, "acknowledged_by_name"),
        (&record.closed_by, "closed_by_name"),
    ] {
        shown[field] = json!(
            by.as_deref()
                .map(|by| alerts::display_name(&state.services, by))
        );
    }
    let escalation = record
        .escalation
        .as_ref()
        .map(|escalation| escalation_rows(&state, escalation));
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "alert",
        &format!("Alert {}", format_alert_id(record.id)),
        "alerts",
        json!({"alert": shown, "escalation": escalation}),
    )
}

/// The escalation log as people read it: each page's person by name, the contact method's
/// address, and the delivery with its status (the log holds ids only).
fn escalation_rows(state: &HttpState, escalation: &Escalation) -> Value {
    let store = &state.services.store;
    let entry_of = |id: &str| store.directory_entry(id).ok().flatten();
    let policy = entry_of(&escalation.policy);
    let policy_name =
        (policy.as_ref()).and_then(|entry| entry.body["name"].as_str().map(str::to_string));
    let steps = (policy.as_ref()).and_then(|entry| entry.body["steps"].as_array().map(Vec::len));
    // After the last step the policy starts again at step 1 (SPEC §12).
    let next_step = match (escalation.last, steps) {
        (Some(last), Some(steps)) if last.step + 1 < steps => last.step + 2,
        (Some(_), Some(_)) | (None, _) => 1,
        (Some(last), None) => last.step + 2,
    };
    let log: Vec<Value> = escalation
        .log
        .iter()
        .map(|paged| {
            let person = entry_of(&paged.user);
            let name = person
                .as_ref()
                .and_then(|entry| entry.body["name"].as_str());
            let address = person
                .as_ref()
                .and_then(|entry| entry.body["contact_methods"][paged.contact]["address"].as_str());
            let delivery = paged.delivery.map(|id| {
                let status = store
                    .delivery(id)
                    .ok()
                    .flatten()
                    .map(|record| record.status);
                json!({"id": crate::ids::format_delivery_id(id), "status": status})
            });
            json!({
                "step": paged.step,
                "round": paged.round + 1,
                "user": paged.user,
                "name": name.unwrap_or(&paged.user),
                "kind": paged.kind,
                "address": address,
                "delivery": delivery,
                "at": paged.at,
                "note": paged.note,
            })
        })
        .collect();
    json!({
        "policy": escalation.policy,
        "policy_name": policy_name,
        "next_due_at": escalation.next_due_at,
        "next_step": next_step,
        "stopped": escalation.stopped,
        "log": log,
    })
}

fn after_action(
    state: &HttpState,
    session: &Session,
    result: Result<AlertRecord, OpsError>,
) -> HttpResponse {
    match result {
        Ok(record) => see_other(&format!("/ui/alerts/{}", format_alert_id(record.id))),
        Err(error) => refused_page(state, session, error),
    }
}

async fn acknowledge(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    after_action(
        &state,
        &session,
        alerts::acknowledge(&state.services, &id, session.principal.acts_as()),
    )
}

async fn close(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    after_action(
        &state,
        &session,
        alerts::close(&state.services, &id, session.principal.acts_as()),
    )
}
