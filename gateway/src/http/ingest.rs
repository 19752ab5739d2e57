//! `POST /hooks/{endpoint-id}`: the checks of SPEC §4, in order. Every request to a known
//! endpoint leaves one inbound-log record; the 202 goes out only after the record is on disk.

use super::{HttpState, error_response};
use crate::config::{REJECTED_BODY_BYTES, REJECTED_HEADER_BYTES};
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

/// Headers a rejected record keeps first (with the provider's event, delivery, attempt and
/// signature headers), before the rest fill what is left of [`REJECTED_HEADER_BYTES`].
const KEPT_FIRST: &[&str] = &["content-type", "content-length", "user-agent"];
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
            services.metrics.count_request(UNKNOWN_ENDPOINT, 404);
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
    // What a rejected record keeps first of its capped headers.
    let kept_first: Vec<String> = description
        .as_ref()
        .map(|d| {
            [
                Some(&d.event_header),
                d.delivery_id_header.as_ref(),
                d.attempt_header.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(|name| name.to_ascii_lowercase())
            .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(redacted.iter().cloned())
        .chain(KEPT_FIRST.iter().map(|name| name.to_string()))
        .collect();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    // A present but blank event header names no event: it counts as missing; one that is not
    // visible ASCII text (what HTTP header values are) is refused as such.
    let event_header_unreadable = description.as_ref().is_some_and(|d| {
        request
            .headers()
            .get(&d.event_header)
            .is_some_and(|value| value.to_str().is_err())
    });
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
    let rejection = Rejection {
        peer,
        endpoint_name: &endpoint.name,
        kept_first: &kept_first,
    };
    let reject = async |record, status, reason: &str, body: &[u8]| {
        store_rejection(state, &rejection, record, status, reason, body).await
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
        let reason = if event_header_unreadable {
            format!(
                "{} header is not visible ASCII text",
                description.event_header
            )
        } else {
            format!("{} header missing", description.event_header)
        };
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
    if !endpoint.selects(&event_key) || description.event(&event_key).is_none() {
        record.status = InboundStatus::Filtered;
        record.reason = Some(if description.event(&event_key).is_none() {
            format!("event {event_key} is not known to {}", endpoint.provider)
        } else {
            format!("event {event_key} is not selected by the endpoint")
        });
        return match ops::inbound::record(services, record).await {
            Ok(appended) => {
                note_inbound(appended);
                services.metrics.count_request(&endpoint.name, 202);
                HttpResponse::Accepted()
                    .json(json!({"status": "filtered", "id": inbound_id(appended)}))
            }
            Err(error) => stored_failure(services, &endpoint, error),
        };
    }

    if ops::inbound::backlog_full(services) {
        services.metrics.count_request(&endpoint.name, 503);
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
            services.metrics.count_request(&endpoint.name, 202);
            HttpResponse::Accepted()
                .json(json!({"status": "accepted", "id": format_inbound_id(id)}))
        }
        Ok(Appended::Duplicate(original)) => {
            services.metrics.count_request(&endpoint.name, 200);
            HttpResponse::Ok()
                .json(json!({"status": "duplicate", "id": format_inbound_id(original)}))
        }
        Ok(Appended::Logged(id)) => {
            services.metrics.count_request(&endpoint.name, 202);
            HttpResponse::Accepted()
                .json(json!({"status": "accepted", "id": format_inbound_id(id)}))
        }
        Err(error) => stored_failure(services, &endpoint, error),
    }
}

/// Names the stored record in the request's span.
fn note_inbound(appended: Appended) {
    let span = tracing::Span::current();
    // Ingest's hot path: format the id only when someone reads the span.
    if !span.is_disabled() {
        span.record("inbound", inbound_id(appended).as_str());
    }
}

fn inbound_id(appended: Appended) -> String {
    match appended {
        Appended::Accepted(id) | Appended::Duplicate(id) | Appended::Logged(id) => {
            format_inbound_id(id)
        }
    }
}

/// The label of requests to ids that name no endpoint in `hookgate_ingest_requests_total`.
const UNKNOWN_ENDPOINT: &str = "unknown";

/// What storing a rejection needs to know besides the record.
struct Rejection<'a> {
    /// The client, for the per-client cap.
    peer: Option<IpAddr>,
    /// The endpoint's name, the metrics label (its id is the secret part of its URL).
    endpoint_name: &'a str,
    /// Header names kept before the others when the headers are capped.
    kept_first: &'a [String],
}

/// Stores a rejected record (at most 4 KiB of headers and the first 4 KiB of the body) and
/// answers; past the client's per-minute cap, answers without storing (the cap counts it).
async fn store_rejection(
    state: &HttpState,
    rejection: &Rejection<'_>,
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
    record.headers = capped_headers(
        std::mem::take(&mut record.headers),
        rejection.kept_first,
        REJECTED_HEADER_BYTES,
    );
    state
        .services
        .metrics
        .count_request(rejection.endpoint_name, status.as_u16());
    if !state.abuse.rejected_records.admit(rejection.peer) {
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
    services.metrics.count_request(&endpoint.name, 503);
    unavailable("storage unavailable")
}

fn unavailable(message: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("Retry-After", "10"))
        .json(json!({ "error": message }))
}

/// At most `budget` bytes of headers (names and values): those named in `kept_first` first,
/// then the others in the order they came, each whole or not at all; when some are left out,
/// an `x-hookgate-headers-dropped` entry says how many and how many bytes.
fn capped_headers(
    headers: Vec<(String, String)>,
    kept_first: &[String],
    budget: usize,
) -> Vec<(String, String)> {
    let (mut first, rest): (Vec<_>, Vec<_>) = headers
        .into_iter()
        .partition(|(name, _)| kept_first.contains(name));
    first.sort_by_key(|(name, _)| kept_first.iter().position(|kept| kept == name));
    let mut used = 0;
    let (mut dropped, mut dropped_bytes) = (0usize, 0usize);
    let mut kept = Vec::new();
    for (name, value) in first.into_iter().chain(rest) {
        let size = name.len() + value.len();
        if used + size <= budget {
            used += size;
            kept.push((name, value));
        } else {
            dropped += 1;
            dropped_bytes += size;
        }
    }
    if dropped > 0 {
        kept.push((
            "x-hookgate-headers-dropped".to_string(),
            format!(
                "{dropped} headers ({dropped_bytes} bytes) not kept: a rejected record keeps \
                 {budget} bytes of headers"
            ),
        ));
    }
    kept
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize) -> (String, String) {
        (name.to_string(), "v".repeat(size))
    }

    #[test]
    fn rejected_headers_keep_the_providers_first_within_the_budget() {
        let mut headers: Vec<_> = (0..20)
            .map(|n| header(&format!("x-pad-{n:02}"), 1000))
            .collect();
        headers.push(header("x-event-key", 20));
        headers.push(header("user-agent", 30));
        let kept_first = ["x-event-key".to_string(), "user-agent".to_string()];
        let kept = capped_headers(headers, &kept_first, 4096);
        let names: Vec<&str> = kept.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-event-key",
                "user-agent",
                "x-pad-00",
                "x-pad-01",
                "x-pad-02",
                "x-hookgate-headers-dropped"
            ]
        );
        let stored: usize = kept[..kept.len() - 1]
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        assert!(stored <= 4096, "{stored}");
        assert!(
            kept.last().unwrap().1.starts_with("17 headers ("),
            "{kept:?}"
        );
        // Under the budget nothing changes.
        let few = vec![header("a", 10), header("b", 10)];
        assert_eq!(capped_headers(few.clone(), &[], 4096), few);
    }
}
