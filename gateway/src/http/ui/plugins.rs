//! Plugins: what is loaded (version, kind, source, sha256, config keys) and the files refused.

use super::{Session, page};
use crate::http::HttpState;
use crate::http::RouteRow;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[RouteRow {
    method: Method::GET,
    path: "/plugins",
    handler: |route| route.to(list),
}];

async fn list(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    let listing = crate::ops::plugins::view(&crate::ops::plugins::snapshot(&state.services));
    let (loaded, refused): (Vec<Value>, Vec<Value>) = listing["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .partition(|item| item["error"].is_null());
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "plugins",
        "Plugins",
        "plugins",
        json!({"plugins": loaded, "refused": refused}),
    )
}
