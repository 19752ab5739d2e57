//! Maintenance windows: create, list, show, change, delete. While one matches, alerts open
//! and append but nobody is paged and no destination is notified.

use super::ApiRoute;
use super::DeletedAnswer;
use super::openapi::ErrorAnswer;
use super::{created, deleted, listed, shown};
use crate::http::HttpState;
use crate::ops::maintenance::MaintenanceWindow;
use crate::ops::maintenance::MaintenanceWindowView;
use crate::ops::{OpsError, blocking, maintenance};
use actix_web::{HttpResponse, web};
use serde_json::Value;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create_maintenance_window>(|route| {
        route.to(create_maintenance_window)
    }),
    ApiRoute::documented::<__path_list_maintenance_windows>(|route| {
        route.to(list_maintenance_windows)
    }),
    ApiRoute::documented::<__path_get_maintenance_window>(|route| route.to(get_maintenance_window)),
    ApiRoute::documented::<__path_update_maintenance_window>(|route| {
        route.to(update_maintenance_window)
    }),
    ApiRoute::documented::<__path_delete_maintenance_window>(|route| {
        route.to(delete_maintenance_window)
    }),
];

super::list_page! {
    /// A page of maintenance windows (they all fit one).
    MaintenanceWindowPage of crate::ops::maintenance::MaintenanceWindowView
}

/// Creates a maintenance window.
#[utoipa::path(
    post,
    path = "/maintenance-windows",
    operation_id = "createMaintenanceWindow",
    request_body = MaintenanceWindow,
    responses(
        (status = 201, description = "the maintenance window, with `id`", body = MaintenanceWindowView),
        (status = 422, description = "a field is invalid (end not after start, an unknown endpoint, a bad `key_pattern`: the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create_maintenance_window(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    created(blocking(move || maintenance::create_window(&services, body.into_inner())).await?)
}

/// Every maintenance window, newest first.
#[utoipa::path(
    get,
    path = "/maintenance-windows",
    operation_id = "listMaintenanceWindows",
    responses(
        (status = 200, description = "`{items, next}`", body = MaintenanceWindowPage),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list_maintenance_windows(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    listed(blocking(move || maintenance::windows(&services)).await?)
}

/// One maintenance window.
#[utoipa::path(
    get,
    path = "/maintenance-windows/{id}",
    operation_id = "getMaintenanceWindow",
    params(("id" = String, Path, description = "maintenance window id, `mw_<n>`")),
    responses(
        (status = 200, description = "the maintenance window", body = MaintenanceWindowView),
        (status = 404, description = "no such maintenance window", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn get_maintenance_window(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || maintenance::window(&services, &id)).await?)
}

/// Applies the given keys over the window (`null` removes `endpoint` or `key_pattern`) and
/// validates the whole again.
#[utoipa::path(
    patch,
    path = "/maintenance-windows/{id}",
    operation_id = "updateMaintenanceWindow",
    params(("id" = String, Path, description = "maintenance window id, `mw_<n>`")),
    request_body(content = Object, description = "any keys of `MaintenanceWindow`"),
    responses(
        (status = 200, description = "the changed maintenance window", body = MaintenanceWindowView),
        (status = 404, description = "no such maintenance window", body = ErrorAnswer),
        (status = 409, description = "the maintenance window kept changing meanwhile", body = ErrorAnswer),
        (status = 422, description = "the result is invalid (the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn update_maintenance_window(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || maintenance::update_window(&services, &id, body.into_inner())).await?)
}

/// Deletes a maintenance window.
#[utoipa::path(
    delete,
    path = "/maintenance-windows/{id}",
    operation_id = "deleteMaintenanceWindow",
    params(("id" = String, Path, description = "maintenance window id, `mw_<n>`")),
    responses(
        (status = 200, description = "`{deleted: id}`", body = DeletedAnswer),
        (status = 404, description = "no such maintenance window", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn delete_maintenance_window(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let id = id.into_inner();
    let gone = id.clone();
    blocking(move || maintenance::delete_window(&services, &id)).await?;
    deleted(&gone)
}
