//! `GET /plugins`, `POST /plugins/reload`.

use super::ApiRoute;
use super::openapi::ErrorAnswer;
use crate::http::HttpState;
use crate::ops::plugins::{self, PluginListing};
use actix_web::{HttpResponse, web};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_reload>(|route| route.to(reload)),
];

/// Loaded plugins, then the drop-in files refused and why.
#[utoipa::path(
    get,
    path = "/plugins",
    operation_id = "listPlugins",
    responses(
        (status = 200, description = "`{items, next}`", body = PluginListing),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(state: web::Data<HttpState>) -> HttpResponse {
    HttpResponse::Ok().json(PluginListing::of(&plugins::snapshot(&state.services)))
}

/// Loads the drop-in folder again.
#[utoipa::path(
    post,
    path = "/plugins/reload",
    operation_id = "reloadPlugins",
    responses(
        (status = 200, description = "the plugins after the reload, as `GET /plugins`", body = PluginListing),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn reload(state: web::Data<HttpState>) -> HttpResponse {
    let services = state.services.clone();
    match web::block(move || plugins::reload(&services)).await {
        Ok(set) => HttpResponse::Ok().json(PluginListing::of(&set)),
        Err(error) => super::super::internal_error("reloading plugins", error),
    }
}
