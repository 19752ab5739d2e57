//! `GET /plugins`, `POST /plugins/reload`, and plugins uploaded for every gateway on the store:
//! `POST /plugins` (the `.wasm` as the body), `DELETE /plugins/{name}`.

use super::ApiRoute;
use super::openapi::ErrorAnswer;
use crate::http::HttpState;
use crate::ops::OpsError;
use crate::ops::plugins::{self, PluginListing, PluginView};
use actix_web::{HttpResponse, web};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_reload>(|route| route.to(reload)),
    ApiRoute::documented::<__path_upload>(|route| route.to(upload)),
    ApiRoute::documented::<__path_remove>(|route| route.to(remove)),
];

/// Stores a plugin for every gateway on the store (each loads it within 2 s), after checking
/// that it loads: the component as the body (`application/wasm`).
#[utoipa::path(
    post,
    path = "/plugins",
    operation_id = "uploadPlugin",
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "the component"),
    responses(
        (status = 201, description = "the stored plugin, as `GET /plugins` lists it", body = PluginView),
        (status = 409, description = "a drop-in file of the same name takes precedence here", body = ErrorAnswer),
        (status = 413, description = "past `[plugins] max_file_mib`", body = ErrorAnswer),
        (status = 422, description = "not a loadable plugin", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn upload(
    state: web::Data<HttpState>,
    mut payload: web::Payload,
) -> Result<HttpResponse, OpsError> {
    use futures_util::StreamExt;
    let max_bytes = state.services.registry.engine().limits().dropin_file_bytes;
    let mut wasm = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| OpsError::BadRequest(format!("the body: {error}")))?;
        if (wasm.len() + chunk.len()) as u64 > max_bytes {
            return Ok(crate::http::error_response(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("the plugin is past [plugins] max_file_mib ({max_bytes} bytes)"),
            ));
        }
        wasm.extend_from_slice(&chunk);
    }
    let services = state.services.clone();
    let plugin = crate::ops::blocking(move || plugins::upload(&services, wasm)).await?;
    Ok(HttpResponse::Created().json(plugin))
}

/// Removes a plugin uploaded with `POST /plugins` from every gateway.
#[utoipa::path(
    delete,
    path = "/plugins/{name}",
    operation_id = "deletePlugin",
    params(("name" = String, Path, description = "the plugin's name")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no stored plugin of that name", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn remove(
    state: web::Data<HttpState>,
    name: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let name = name.into_inner();
    crate::ops::blocking(move || plugins::remove(&services, &name)).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
