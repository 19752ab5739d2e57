//! `/api/v1`: the admin API. Every route needs `Authorization: Bearer <token>`, compared in
//! constant time; list answers are `{"items": [...], "next": cursor}`, newest first.

mod alerts;
mod deliveries;
mod endpoints;
mod inbound;
mod plugins;

use super::error_response;
use crate::server::AppState;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};
use base64::Engine as _;
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The scope with the token check in front of every route.
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/api/v1")
        .wrap(from_fn(require_token))
        .configure(endpoints::routes)
        .configure(inbound::routes)
        .configure(alerts::routes)
        .configure(deliveries::routes)
        .configure(plugins::routes)
        .default_service(web::to(|| async {
            error_response(StatusCode::NOT_FOUND, "no such route")
        }))
}

async fn require_token(
    request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let expected = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.admin_token.clone())
        .unwrap_or_default();
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    let valid = !expected.is_empty()
        && presented.len() == expected.len()
        && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()));
    if !valid {
        let response = error_response(
            StatusCode::UNAUTHORIZED,
            "a valid admin token is required (Authorization: Bearer <token>)",
        );
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// `limit` and `before` of list routes.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// Page size (default 50, at most 500). Text, because query structs that flatten this
    /// one see every value as a string.
    pub limit: Option<String>,
    /// Cursor from the previous page's `next`.
    pub before: Option<String>,
}

impl Paging {
    fn limit(&self) -> usize {
        self.limit
            .as_deref()
            .and_then(|limit| limit.parse().ok())
            .unwrap_or(50)
            .clamp(1, 500)
    }

    fn before(&self) -> Option<u64> {
        self.before
            .as_deref()
            .and_then(|cursor| cursor.parse().ok())
    }
}

/// `n` random bytes, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// An unguessable URL-safe id: 144 random bits.
pub fn random_id() -> String {
    let mut buffer = [0u8; 18];
    rand::rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// Parses an enum-valued query filter (`?status=`, `?state=`) by its serde name; a 400 with
/// `expected` when it is not one of them.
#[allow(clippy::result_large_err)]
fn parse_filter<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
    expected: &str,
) -> Result<Option<T>, HttpResponse> {
    text.map(|text| {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map_err(|_| error_response(StatusCode::BAD_REQUEST, expected))
    })
    .transpose()
}

fn not_found(what: &str) -> HttpResponse {
    error_response(StatusCode::NOT_FOUND, format!("no such {what}"))
}

fn store_failed(error: impl std::fmt::Display) -> HttpResponse {
    super::internal_error("store", error)
}
