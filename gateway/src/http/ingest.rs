//! `POST /hooks/{endpoint-id}`: the checks of SPEC §4, in order. Every request to a known
//! endpoint leaves one inbound-log record; the 202 goes out only after the record is on disk.

use super::{HttpState, error_response};
use crate::ids::format_inbound_id;
use crate::ops;
use crate::store::{Appended, EndpointRecord, InboundRecord, InboundStatus, now_ms};
use crate::verify::{self, SignatureError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;
use std::net::IpAddr;
use tracing::Instrument;

/// Body bytes kept on rejected records.
const REJECTED_BODY_BYTES: usize = 4096;
/// Headers whose values are never stored.
const ALWAYS_REDACTED: &[&str] = &["authorization", "cookie", "x-gitlab-token"];

/// The ingest handler, in a span with the endpoint id and (once stored) the inbound id, so
/// `RUST_LOG=hookgate=debug` follows a webhook from here through processing and delivery.
pub async fn ingest(
    state: web::Data<HttpState>,
    path: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let endpoint_id = path.into_inner();
    let span = tracing::debug_span!(
        "webhook",
        endpoint = %endpoint_id,
        inbound = tracing::field::Empty,
    );
    let response = receive(&state, endpoint_id, request, payload)
        .instrument(span.clone())
        .await;
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "answered"));
    response
}

async fn receive(
    state: &HttpState,
    endpoint_id: String,
    request: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    let services = &state.services;
    let endpoint = match ops::inbound::endpoint_for_ingest(services, &endpoint_id) {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => {
            services.metrics.count_request("unknown", 404);
            return error_response(StatusCode::NOT_FOUND, "unknown endpoint");
        }
        Err(error) => {
            tracing::error!(%error, "reading the endpoint");
            return unavailable("storage unavailable");
        }
    };
    let received_at = now_ms();
    // Borrowed from the loaded provider (held for this request), never copied: the
    // description carries every sample payload.
    let provider = ops::plugins::get(services, &endpoint.provider);
    let description = provider
        .as_ref()
        .and_then(|plugin| plugin.description().ok());
    let redacted: Vec<String> = description
        .as_ref()
        .and_then(|d| d.signature.as_ref())
        .map(|scheme| {
            verify::signature_headers(scheme)
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let headers = stored_headers(&request, &redacted);
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    // A present but blank event header names no event: it counts as missing.
    let event_key = description
        .as_ref()
        .and_then(|d| header(&d.event_header))
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_string);
    let request_uuid = description
        .as_ref()
        .and_then(|d| d.delivery_id_header.as_deref())
        .and_then(header)
        .map(str::to_string);
    let attempt = description
        .as_ref()
        .and_then(|d| d.attempt_header.as_deref())
        .and_then(header)
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(1);
    let record = InboundRecord {
        id: 0,
        endpoint: endpoint.id.clone(),
        received_at,
        event: event_key.clone(),
        request_uuid,
        attempt,
        status: InboundStatus::Rejected,
        reason: None,
        outcomes: Vec::new(),
        headers,
        body: String::new(),
        body_truncated: false,
        processed_at: None,
        duplicate_of: None,
    };

    // Rejections are recorded per client address, up to the per-minute cap.
    let peer = request.peer_addr().map(|address| address.ip());
    let reject = async |record, status, reason: &str, body: &[u8]| {
        store_rejection(state, peer, record, status, reason, body).await
    };
    if !endpoint.enabled {
        return reject(record, StatusCode::GONE, "endpoint disabled", &[]).await;
    }
    let rate_limit = endpoint
        .rate_limit
        .unwrap_or(services.config.abuse.rate_limit);
    if let Err(wait) = state.abuse.rate.check(&endpoint.id, rate_limit) {
        let reason = format!(
            "rate limit of {} requests per second (burst {}) exceeded",
            rate_limit.per_second, rate_limit.burst
        );
        let mut response = reject(record, StatusCode::TOO_MANY_REQUESTS, &reason, &[]).await;
        let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, retry_after.into());
        return response;
    }

    // Read the body before its deadline, refusing it as soon as it passes the limit.
    let limit = services.config.max_body_bytes;
    let body_timeout = services.config.abuse.body_timeout;
    let deadline = tokio::time::Instant::now() + body_timeout;
    let mut body = web::BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => {
                let reason = format!("body not received within {} s", body_timeout.as_secs());
                return reject(record, StatusCode::REQUEST_TIMEOUT, &reason, &body).await;
            }
        };
        let Ok(chunk) = chunk else {
            return reject(
                record,
                StatusCode::BAD_REQUEST,
                "body could not be read",
                &body,
            )
            .await;
        };
        if body.len() + chunk.len() > limit {
            return reject(
                record,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("body over {limit} bytes"),
                &[],
            )
            .await;
        }
        body.extend_from_slice(&chunk);
    }

    let Some(description) = description else {
        return reject(
            record,
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("provider plugin {:?} is not loaded", endpoint.provider),
            &body,
        )
        .await;
    };

    // The signature, on the raw bytes, before any parsing.
    if let (Some(secret), Some(scheme)) = (&endpoint.secret, &description.signature) {
        let now_secs = (received_at / 1000) as i64;
        if let Err(error) = verify::verify(scheme, secret, &body, header, now_secs) {
            let reason = match error {
                SignatureError::Missing => "signature missing",
                SignatureError::Mismatch => "signature mismatch",
                SignatureError::Stale => "signature timestamp outside the tolerance",
            };
            return reject(record, StatusCode::UNAUTHORIZED, reason, &body).await;
        }
    }

    let Some(event_key) = event_key else {
        let reason = format!("{} header missing", description.event_header);
        return reject(record, StatusCode::BAD_REQUEST, &reason, &body).await;
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return reject(record, StatusCode::BAD_REQUEST, "body is not UTF-8", &body).await;
    };
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let reason = format!("body is not JSON: {error}");
        return reject(record, StatusCode::BAD_REQUEST, &reason, &body).await;
    }

    let mut record = record;
    record.body = text.to_string();
    if !endpoint.events.contains(&event_key) || description.event(&event_key).is_none() {
        record.status = InboundStatus::Filtered;
        record.reason = Some(if description.event(&event_key).is_none() {
            format!("event {event_key} is not known to {}", endpoint.provider)
        } else {
            format!("event {event_key} is not selected by the endpoint")
        });
        return match ops::inbound::record(services, record).await {
            Ok(appended) => {
                note_inbound(appended);
                services.metrics.count_request(&endpoint.id, 202);
                HttpResponse::Accepted()
                    .json(json!({"status": "filtered", "id": inbound_id(appended)}))
            }
            Err(error) => stored_failure(services, &endpoint, error),
        };
    }

    if ops::inbound::backlog_full(services) {
        services.metrics.count_request(&endpoint.id, 503);
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "30"))
            .json(json!({"error": "processing backlog is full; retry later"}));
    }

    record.status = InboundStatus::Pending;
    let appended = ops::inbound::record(services, record).await;
    if let Ok(appended) = appended {
        note_inbound(appended);
    }
    match appended {
        Ok(Appended::Accepted(id)) => {
            services.metrics.count_request(&endpoint.id, 202);
            HttpResponse::Accepted()
                .json(json!({"status": "accepted", "id": format_inbound_id(id)}))
        }
        Ok(Appended::Duplicate(original)) => {
            services.metrics.count_request(&endpoint.id, 200);
            HttpResponse::Ok()
                .json(json!({"status": "duplicate", "id": format_inbound_id(original)}))
        }
        Ok(Appended::Logged(id)) => {
            services.metrics.count_request(&endpoint.id, 202);
            HttpResponse::Accepted()
                .json(json!({"status": "accepted", "id": format_inbound_id(id)}))
        }
        Err(error) => stored_failure(services, &endpoint, error),
    }
}

/// Names the stored record in the request's span.
fn note_inbound(appended: Appended) {
    tracing::Span::current().record("inbound", inbound_id(appended).as_str());
}

fn inbound_id(appended: Appended) -> String {
    match appended {
        Appended::Accepted(id) | Appended::Duplicate(id) | Appended::Logged(id) => {
            format_inbound_id(id)
        }
    }
}

/// Stores a rejected record (headers and at most the first 4 KiB of the body) and answers;
/// past the client's per-minute cap, answers without storing (the cap counts it).
async fn store_rejection(
    state: &HttpState,
    peer: Option<IpAddr>,
    mut record: InboundRecord,
    status: StatusCode,
    reason: &str,
    body: &[u8],
) -> HttpResponse {
    record.status = InboundStatus::Rejected;
    record.reason = Some(reason.to_string());
    record.body_truncated = body.len() > REJECTED_BODY_BYTES;
    record.body =
        String::from_utf8_lossy(&body[..body.len().min(REJECTED_BODY_BYTES)]).into_owned();
    let endpoint = record.endpoint.clone();
    state
        .services
        .metrics
        .count_request(&endpoint, status.as_u16());
    if !state.abuse.rejected_records.admit(peer) {
        return error_response(status, reason);
    }
    match ops::inbound::record(&state.services, record).await {
        Ok(appended) => {
            note_inbound(appended);
            HttpResponse::build(status).json(json!({"error": reason, "id": inbound_id(appended)}))
        }
        Err(error) => {
            tracing::error!(%error, "storing a rejected request");
            error_response(status, reason)
        }
    }
}

/// The record could not be stored: never acknowledge it.
fn stored_failure(
    services: &ops::Services,
    endpoint: &EndpointRecord,
    error: impl std::fmt::Display,
) -> HttpResponse {
    tracing::error!(%error, endpoint = %endpoint.id, "the inbound record could not be stored");
    services.metrics.count_request(&endpoint.id, 503);
    unavailable("storage unavailable")
}

fn unavailable(message: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("Retry-After", "10"))
        .json(json!({ "error": message }))
}

/// Request headers with lower-cased names and secret-bearing values redacted.
fn stored_headers(request: &HttpRequest, redacted: &[String]) -> Vec<(String, String)> {
    request
        .headers()
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = if redacted.contains(&name) || ALWAYS_REDACTED.contains(&name.as_str()) {
                "[redacted]".to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}
