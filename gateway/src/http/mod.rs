//! The HTTP surface: `/hooks/{id}` (ingest), `/api/v1` (admin, bearer token), `/ui/` (the web
//! console, signed-in sessions), health and metrics. Errors are JSON `{"error": ...}`; a 500 never carries internals.

pub mod abuse;
pub mod api;
pub mod ingest;
pub mod ui;

use crate::server::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// Every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/hooks/{endpoint_id}", web::post().to(ingest::ingest))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .service(api::scope())
        .service(ui::scope())
        .default_service(web::to(|| async {
            error_response(StatusCode::NOT_FOUND, "no such route")
        }));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    // After a failed write this commits a probe as large as the largest accepted body.
    let store = state.store.clone();
    let probe_bytes = state.config.max_body_bytes;
    let database = web::block(move || store.is_healthy(probe_bytes))
        .await
        .unwrap_or(false);
    let plugins = state.registry.snapshot().plugins().count();
    if database && plugins > 0 {
        HttpResponse::Ok().json(json!({"status": "ready", "plugins": plugins}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({"status": "not ready", "database": database, "plugins": plugins}))
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let depth = state.backlog.load(std::sync::atomic::Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state.metrics.render(depth)
                + &state.metrics.render_destinations()
                + &state.abuse.render_metrics(),
        )
}

/// A JSON error answer.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

/// An internal failure: logged in full, answered without detail.
pub fn internal_error(context: &str, error: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(%error, "{context}");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
