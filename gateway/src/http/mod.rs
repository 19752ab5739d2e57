//! The HTTP surface: `/hooks/{id}` (ingest), `/api/v1` (admin, bearer token), `/ui/` (the web
//! console, signed-in sessions), health and metrics. Errors are JSON `{"error": ...}`; a 500 never carries internals.
//!
//! Routes are data: each area lists its rows, the server mounts exactly those rows, and
//! [`mounted_routes`] lists them, so tests can walk every route the server really serves.

pub mod abuse;
mod ack;
pub mod api;
pub mod bitbucket_request;
pub mod connections;
pub mod ingest;
pub mod roles;
pub mod ui;

use crate::bitbucket::RepositoryWebhooks;
use crate::metrics::ScrapedGauges;
use crate::ops::Services;
use abuse::AbuseGuards;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::sync::Arc;

/// What the HTTP handlers share: the gateway's services, and what only the HTTP surface
/// needs (the admin token, the ingest path's limits, console sessions, the Bitbucket client).
pub struct HttpState {
    /// The backend-neutral services every operator action goes through.
    pub services: Arc<Services>,
    /// The admin API's bearer token.
    pub admin_token: String,
    /// Rate limits and the rejected-record cap of the ingest path.
    pub abuse: AbuseGuards,
    /// The web console's templates and sessions.
    pub console: ui::Console,
    /// The admin API's session tokens (`POST /api/v1/sessions`).
    pub api_sessions: api::sessions::ApiSessions,
    /// The code host's webhook API, for connect and disconnect.
    pub bitbucket: Arc<dyn RepositoryWebhooks>,
    /// Connect Bitbucket with OAuth, when `[bitbucket] oauth_client_id` is set.
    pub bitbucket_oauth: Option<Arc<crate::ops::bitbucket_oauth::BitbucketOAuthConnect>>,
}

/// One route outside the admin API (whose rows also carry their OpenAPI description, see
/// [`api::ApiRoute`]).
pub struct RouteRow {
    /// The method it answers.
    pub method: Method,
    /// Its path within its scope, `{name}` for a parameter.
    pub path: &'static str,
    /// Attaches the handler: `|route| route.to(handler)`.
    pub handler: fn(actix_web::Route) -> actix_web::Route,
}

impl RouteRow {
    /// Mounts the row on `config`.
    pub fn mount(&self, config: &mut web::ServiceConfig) {
        config.route(self.path, (self.handler)(web::method(self.method.clone())));
    }
}

/// The routes at the root: ingest, health and metrics (all without the admin token).
const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::POST,
        path: "/hooks/{endpoint_id}",
        handler: |route| route.to(ingest::ingest),
    },
    RouteRow {
        method: Method::GET,
        path: "/healthz",
        handler: |route| route.to(healthz),
    },
    RouteRow {
        method: Method::GET,
        path: "/readyz",
        handler: |route| route.to(readyz),
    },
    RouteRow {
        method: Method::GET,
        path: "/metrics",
        handler: |route| route.to(metrics),
    },
    // A page's acknowledge link: no sign-in, the signed token is the credential.
    RouteRow {
        method: Method::GET,
        path: "/a/{token}",
        handler: |route| route.to(ack::show),
    },
    RouteRow {
        method: Method::POST,
        path: "/a/{token}",
        handler: |route| route.to(ack::act),
    },
];

/// Every route the server mounts, as (method, full path with `{name}` parameters): the rows
/// [`routes`] mounts.
pub fn mounted_routes() -> Vec<(Method, String)> {
    let mut mounted: Vec<(Method, String)> = ROUTES
        .iter()
        .map(|row| (row.method.clone(), row.path.to_string()))
        .collect();
    for route in api::routes() {
        let path = format!("{}{}", api::SCOPE, route.path());
        mounted.extend(
            route
                .methods()
                .into_iter()
                .map(|method| (method, path.clone())),
        );
    }
    mounted
        .extend(ui::routes().map(|row| (row.method.clone(), format!("{}{}", ui::SCOPE, row.path))));
    mounted
}

/// Every route.
pub fn routes(config: &mut web::ServiceConfig) {
    for row in ROUTES {
        row.mount(config);
    }
    config
        .service(api::scope())
        .service(ui::scope())
        .default_service(web::to(|| async {
            error_response(StatusCode::NOT_FOUND, "no such route")
        }));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(state: web::Data<HttpState>) -> HttpResponse {
    let services = state.services.clone();
    let database = web::block(move || crate::ops::health::database_ready(&services))
        .await
        .unwrap_or(false);
    let plugins = crate::ops::plugins::snapshot(&state.services)
        .plugins()
        .count();
    if database && plugins > 0 {
        HttpResponse::Ok().json(json!({"status": "ready", "plugins": plugins}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({"status": "not ready", "database": database, "plugins": plugins}))
    }
}

async fn metrics(state: web::Data<HttpState>, request: actix_web::HttpRequest) -> HttpResponse {
    if state.services.config.abuse.metrics_require_token {
        let peer = request.peer_addr().map(|address| address.ip());
        if let Some(response) = admin_token_refusal(&state, "metrics", peer, request.headers()) {
            return response;
        }
    }
    let services = state.services.clone();
    let firing_alerts =
        match web::block(move || crate::ops::health::firing_alert_counts(&services)).await {
            Ok(Ok(counts)) => Some(counts),
            Ok(Err(error)) => {
                tracing::warn!(%error, "metrics: counting the firing alerts");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "metrics: counting the firing alerts");
                None
            }
        };
    let gauges = ScrapedGauges {
        queue_depth: crate::ops::health::queue_depth(&state.services),
        firing_alerts,
    };
    let metrics = &state.services.metrics;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(
            metrics.render(gauges) + &metrics.render_destinations() + &state.abuse.render_metrics(),
        )
}

/// What a presented admin token (or email and password) turned out to be.
pub enum TokenCheck<T = ()> {
    /// The admin token (or the user's password: the user).
    Valid(T),
    /// Not it (or none); a token that was presented counted against the client.
    Wrong,
    /// The client presented too many wrong ones: refused unchecked for this long.
    Throttled(std::time::Duration),
}

/// Checks `presented` against the admin token (constant time), for a client that has not used
/// up its wrong tokens; a wrong one that was presented (not absent or empty) counts against
/// `peer`'s client and is logged as refused by `surface` ("console sign-in", "admin API").
pub fn check_admin_token(
    state: &HttpState,
    surface: &str,
    peer: Option<std::net::IpAddr>,
    presented: Option<&str>,
) -> TokenCheck {
    let throttle = &state.abuse.auth_failures;
    if let Err(wait) = throttle.check(peer) {
        return TokenCheck::Throttled(wait);
    }
    let presented = presented.unwrap_or("");
    if crate::verify::admin_token_matches(&state.admin_token, presented) {
        return TokenCheck::Valid(());
    }
    if !presented.is_empty() {
        tracing::warn!(peer = ?peer, "{surface} refused: wrong admin token");
        throttle.failed(peer);
    }
    TokenCheck::Wrong
}

/// The answer to a request without `Authorization: Bearer <admin token>` — 401, or 429 with
/// `Retry-After` for a client past its wrong tokens — or `None` when it has the token.
pub fn admin_token_refusal(
    state: &HttpState,
    surface: &str,
    peer: Option<std::net::IpAddr>,
    headers: &actix_web::http::header::HeaderMap,
) -> Option<HttpResponse> {
    let presented = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match check_admin_token(state, surface, peer, presented) {
        TokenCheck::Valid(()) => None,
        TokenCheck::Wrong => Some(error_response(
            StatusCode::UNAUTHORIZED,
            "a valid admin token is required (Authorization: Bearer <token>)",
        )),
        TokenCheck::Throttled(wait) => Some(throttled_response(wait)),
    }
}

/// 401 for a request without a valid admin or session token.
pub fn unauthorized_response() -> HttpResponse {
    error_response(
        StatusCode::UNAUTHORIZED,
        "a valid admin token or session token is required (Authorization: Bearer <token>)",
    )
}

/// 429 with `Retry-After` for a client past its wrong tokens and passwords.
pub fn throttled_response(wait: std::time::Duration) -> HttpResponse {
    let seconds = abuse::retry_after_secs(wait);
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many wrong admin tokens from this address (or wrong passwords); retry in \
             {seconds} s (http.auth_failures_per_minute)"
        ),
    );
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(seconds),
    );
    response
}

/// A JSON error answer.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(api::openapi::ErrorAnswer {
        error: message.into(),
        valid_events: None,
    })
}

/// An internal failure: logged in full, answered without detail.
pub fn internal_error(context: &str, error: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(%error, "{context}");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
