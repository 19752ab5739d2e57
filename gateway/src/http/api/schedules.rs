//! Schedules: create, list, show, change, delete; who is on call, and the shifts over a range.

use super::ApiRoute;
use super::DeletedAnswer;
use super::openapi::ErrorAnswer;
use super::{created, deleted, listed, shown};
use crate::http::HttpState;
use crate::oncall::Schedule;
use crate::ops::schedules::{ScheduleView, ShiftsAnswer};
use crate::ops::{OpsError, blocking, schedules};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create_schedule>(|route| route.to(create_schedule)),
    ApiRoute::documented::<__path_list_schedules>(|route| route.to(list_schedules)),
    ApiRoute::documented::<__path_get_schedule>(|route| route.to(get_schedule)),
    ApiRoute::documented::<__path_update_schedule>(|route| route.to(update_schedule)),
    ApiRoute::documented::<__path_delete_schedule>(|route| route.to(delete_schedule)),
    ApiRoute::documented::<__path_get_schedule_on_call>(|route| route.to(get_schedule_on_call)),
    ApiRoute::documented::<__path_list_schedule_shifts>(|route| route.to(list_schedule_shifts)),
];

super::list_page! {
    /// A page of schedules (they all fit one).
    SchedulePage of crate::ops::schedules::ScheduleView
}

/// Creates a schedule of existing users.
#[utoipa::path(
    post,
    path = "/schedules",
    operation_id = "createSchedule",
    request_body = Schedule,
    responses(
        (status = 201, description = "the schedule, with `id`", body = ScheduleView),
        (status = 422, description = "a field is invalid, or a user is unknown (the field is named, e.g. `layers[0].rotation`)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create_schedule(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    created(blocking(move || schedules::create_schedule(&services, body.into_inner())).await?)
}

/// Every schedule, newest first.
#[utoipa::path(
    get,
    path = "/schedules",
    operation_id = "listSchedules",
    responses(
        (status = 200, description = "`{items, next}`", body = SchedulePage),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list_schedules(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    listed(blocking(move || schedules::schedules(&services)).await?)
}

/// One schedule.
#[utoipa::path(
    get,
    path = "/schedules/{id}",
    operation_id = "getSchedule",
    params(("id" = String, Path, description = "schedule id, `sc_<n>`")),
    responses(
        (status = 200, description = "the schedule", body = ScheduleView),
        (status = 404, description = "no such schedule", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn get_schedule(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || schedules::schedule(&services, &id)).await?)
}

/// Applies the given keys over the schedule (`layers` and `overrides` are replaced whole)
/// and validates the whole again.
#[utoipa::path(
    patch,
    path = "/schedules/{id}",
    operation_id = "updateSchedule",
    params(("id" = String, Path, description = "schedule id, `sc_<n>`")),
    request_body(content = Object, description = "any keys of `Schedule`"),
    responses(
        (status = 200, description = "the changed schedule", body = ScheduleView),
        (status = 404, description = "no such schedule", body = ErrorAnswer),
        (status = 409, description = "the schedule kept changing meanwhile", body = ErrorAnswer),
        (status = 422, description = "the result is invalid (the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn update_schedule(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || schedules::update_schedule(&services, &id, body.into_inner())).await?)
}

/// Deletes a schedule, unless an escalation policy names it.
#[utoipa::path(
    delete,
    path = "/schedules/{id}",
    operation_id = "deleteSchedule",
    params(("id" = String, Path, description = "schedule id, `sc_<n>`")),
    responses(
        (status = 200, description = "`{deleted: id}`", body = DeletedAnswer),
        (status = 404, description = "no such schedule", body = ErrorAnswer),
        (status = 409, description = "named by an escalation policy (named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn delete_schedule(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let id = id.into_inner();
    let gone = id.clone();
    blocking(move || schedules::delete_schedule(&services, &id)).await?;
    deleted(&gone)
}

#[derive(Debug, Deserialize)]
struct OnCallQuery {
    at: Option<String>,
}

/// Who is on call at an instant (default now), and until when the answer holds.
#[utoipa::path(
    get,
    path = "/schedules/{id}/oncall",
    operation_id = "getScheduleOnCall",
    params(
        ("id" = String, Path, description = "schedule id, `sc_<n>`"),
        ("at" = Option<String>, Query, description = "RFC 3339 instant with an offset; default now"),
    ),
    responses(
        (status = 200, description = "`{users: [user], until, at}`: `users` is empty when nobody covers the instant; `until` is when the answer next changes (at most 90 days ahead)", body = Object),
        (status = 400, description = "`at` is not an RFC 3339 instant", body = ErrorAnswer),
        (status = 404, description = "no such schedule", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn get_schedule_on_call(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    query: web::Query<OnCallQuery>,
) -> Result<HttpResponse, OpsError> {
    let at = schedules::query_time("at", query.at.as_deref())?.unwrap_or_else(schedules::now);
    let services = state.services.clone();
    shown(blocking(move || schedules::on_call(&services, &id, at)).await?)
}

#[derive(Debug, Deserialize)]
struct ShiftsQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The final shifts over a range (default now for 14 days; at most 90 days).
#[utoipa::path(
    get,
    path = "/schedules/{id}/shifts",
    operation_id = "listScheduleShifts",
    params(
        ("id" = String, Path, description = "schedule id, `sc_<n>`"),
        ("from" = Option<String>, Query, description = "RFC 3339 instant; default now"),
        ("to" = Option<String>, Query, description = "RFC 3339 instant after `from`, at most 90 days later; default `from` + 14 days"),
    ),
    responses(
        (status = 200, description = "`{shifts: [{user, user_name, start, end, layer, layer_name} | {user, user_name, start, end, override: true}], from, to}`", body = ShiftsAnswer),
        (status = 400, description = "a bad instant, `to` not after `from`, or a range over 90 days", body = ErrorAnswer),
        (status = 404, description = "no such schedule", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list_schedule_shifts(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    query: web::Query<ShiftsQuery>,
) -> Result<HttpResponse, OpsError> {
    let (from, to) = schedules::shifts_range(query.from.as_deref(), query.to.as_deref())?;
    let services = state.services.clone();
    shown(blocking(move || schedules::shifts(&services, &id, from, to)).await?)
}
