//! The overview: open alerts by severity, who is on call now on each schedule, and webhooks
//! received and alerts opened per hour over the last day.

use super::charts::{count_per_hour, hourly_bars, last_day_hours};
use super::{Session, page, refused_page};
use crate::config::{CONSOLE_CHART_MAX_RECORDS, CONSOLE_OVERVIEW_MAX_ALERTS};
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::ops::{self, OpsError, Services};
use crate::runtime::Severity;
use crate::store::{AlertFilter, AlertState, InboundFilter, now_ms};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[RouteRow {
    method: Method::GET,
    path: "/overview",
    handler: |route| route.to(show),
}];

/// Records read per store call while counting.
const READ_BATCH: usize = 200;

async fn show(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    let services = state.services.clone();
    let data = ops::blocking(move || overview(&services)).await;
    match data {
        Ok(data) => page(
            &state,
            Some(&session),
            StatusCode::OK,
            "overview",
            "Overview",
            "overview",
            data,
        ),
        Err(error) => refused_page(&state, &session, error),
    }
}

fn overview(services: &Services) -> Result<Value, OpsError> {
    let now = now_ms();
    let (by_severity, open_capped) = open_alerts_by_severity(services)?;
    let severities: Vec<Value> = (Severity::ALL.iter().zip(by_severity))
        .map(|(severity, count)| json!({"severity": severity.as_str(), "count": count}))
        .collect();
    let (received, inbound_capped) = inbound_times(services, now)?;
    let (opened, alerts_capped) = alert_open_times(services, now)?;
    Ok(json!({
        "severities": severities,
        "open_total": by_severity.iter().sum::<u64>(),
        "open_capped": open_capped,
        "schedules": on_call_now(services)?,
        "webhooks": hourly_bars(now, &count_per_hour(now, received), "webhooks"),
        "webhooks_capped": inbound_capped,
        "alerts_opened": hourly_bars(now, &count_per_hour(now, opened), "alerts opened"),
        "alerts_capped": alerts_capped,
        "cap": CONSOLE_CHART_MAX_RECORDS,
    }))
}

/// Open alerts counted by severity, in [`Severity::ALL`]'s order, and whether counting stopped
/// at [`CONSOLE_OVERVIEW_MAX_ALERTS`].
fn open_alerts_by_severity(services: &Services) -> Result<([u64; 4], bool), OpsError> {
    let mut counts = [0u64; 4];
    let mut seen = 0;
    let mut filter = AlertFilter {
        state: Some(AlertState::Open),
        limit: READ_BATCH,
        ..AlertFilter::default()
    };
    loop {
        let batch = ops::alerts::list(services, &filter)?;
        for alert in &batch.items {
            let index = Severity::ALL
                .iter()
                .position(|severity| *severity == alert.alert.severity);
            if let Some(index) = index {
                counts[index] += 1;
            }
        }
        seen += batch.items.len();
        if seen >= CONSOLE_OVERVIEW_MAX_ALERTS {
            return Ok((counts, batch.next.is_some()));
        }
        match batch.next.and_then(|next| next.parse().ok()) {
            Some(before) => filter.before = Some(before),
            None => return Ok((counts, false)),
        }
    }
}

/// When each webhook of the last day was received (newest first, at most
/// [`CONSOLE_CHART_MAX_RECORDS`]), and whether reading stopped at that bound.
fn inbound_times(services: &Services, now: u64) -> Result<(Vec<u64>, bool), OpsError> {
    let since = last_day_hours(now)[0];
    let mut times = Vec::new();
    let mut filter = InboundFilter {
        limit: READ_BATCH,
        ..InboundFilter::default()
    };
    loop {
        let batch = ops::inbound::list(services, &filter)?;
        let older = batch.items.iter().any(|record| record.received_at < since);
        times.extend(batch.items.iter().map(|record| record.received_at));
        if older {
            return Ok((times, false));
        }
        if times.len() >= CONSOLE_CHART_MAX_RECORDS {
            return Ok((times, batch.next.is_some()));
        }
        match batch.next.and_then(|next| next.parse().ok()) {
            Some(before) => filter.before = Some(before),
            None => return Ok((times, false)),
        }
    }
}

/// When each alert of the last day opened, bounded as [`inbound_times`].
fn alert_open_times(services: &Services, now: u64) -> Result<(Vec<u64>, bool), OpsError> {
    let since = last_day_hours(now)[0];
    let mut times = Vec::new();
    let mut filter = AlertFilter {
        limit: READ_BATCH,
        ..AlertFilter::default()
    };
    loop {
        let batch = ops::alerts::list(services, &filter)?;
        let older = batch.items.iter().any(|alert| alert.opened_at < since);
        times.extend(batch.items.iter().map(|alert| alert.opened_at));
        if older {
            return Ok((times, false));
        }
        if times.len() >= CONSOLE_CHART_MAX_RECORDS {
            return Ok((times, batch.next.is_some()));
        }
        match batch.next.and_then(|next| next.parse().ok()) {
            Some(before) => filter.before = Some(before),
            None => return Ok((times, false)),
        }
    }
}

/// An answer's RFC 3339 instant in ms, for the `time` helper.
pub(super) fn until_ms(instant: &Value) -> Option<u64> {
    let instant: jiff::Timestamp = instant.as_str()?.parse().ok()?;
    u64::try_from(instant.as_millisecond()).ok()
}

/// Each schedule with who is on call now and until when (or why that cannot be said).
fn on_call_now(services: &Services) -> Result<Vec<Value>, OpsError> {
    let now = ops::schedules::now();
    let mut rows = Vec::new();
    for schedule in ops::schedules::schedules(services)? {
        let id = schedule["id"].as_str().unwrap_or_default();
        let mut row = json!({"id": id, "name": schedule["name"]});
        match ops::schedules::on_call(services, id, now) {
            Ok(on_call) => {
                row["users"] = on_call["users"].clone();
                row["until"] = json!(until_ms(&on_call["until"]));
            }
            Err(error @ OpsError::Store(_)) => return Err(error),
            Err(error) => row["problem"] = json!(error.to_string()),
        }
        rows.push(row);
    }
    Ok(rows)
}
