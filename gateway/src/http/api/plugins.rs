//! `GET /plugins`, `POST /plugins/reload`.

use super::ApiRoute;
use super::openapi::ErrorAnswer;
use crate::runtime::PluginSet;
use crate::server::AppState;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_reload>(|route| route.to(reload)),
];

/// The listing as the API shows it: loaded plugins, then refused files.
pub fn view(set: &PluginSet) -> Value {
    let mut items: Vec<Value> = set
        .plugins()
        .map(|plugin| {
            let info = plugin.info();
            let mut item = json!({
                "name": info.name,
                "version": info.version,
                "kind": info.kind,
                "api_version": info.api_version,
                "source": plugin.source().as_str(),
                "sha256": plugin.sha256(),
                "description": info.description,
                "config_keys": info.config_keys,
                "error": Value::Null,
            });
            if let crate::runtime::PluginSource::Dropin(path) = plugin.source() {
                item["file"] = json!(path.display().to_string());
            }
            if let Ok(description) = plugin.description() {
                item["events"] = description
                    .events
                    .iter()
                    .map(|event| json!({"key": event.key, "push": event.push, "description": event.description}))
                    .collect();
            }
            item
        })
        .collect();
    for error in set.errors() {
        items.push(json!({
            "name": Value::Null,
            "source": "dropin",
            "file": error.file.display().to_string(),
            "error": error.error,
            "at": error.at,
        }));
    }
    json!({"items": items, "next": Value::Null})
}

/// Loaded plugins, then the drop-in files refused and why.
#[utoipa::path(
    get,
    path = "/plugins",
    tag = "plugins",
    responses(
        (status = 200, description = "`{items, next}`", body = Object),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(view(&state.registry.snapshot()))
}

/// Loads the drop-in folder again.
#[utoipa::path(
    post,
    path = "/plugins/reload",
    tag = "plugins",
    responses(
        (status = 200, description = "the plugins after the reload, as `GET /plugins`", body = Object),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn reload(state: web::Data<AppState>) -> HttpResponse {
    let registry = state.registry.clone();
    match web::block(move || registry.reload()).await {
        Ok(set) => HttpResponse::Ok().json(view(&set)),
        Err(error) => super::super::internal_error("reloading plugins", error),
    }
}
