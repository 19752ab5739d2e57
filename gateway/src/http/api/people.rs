//! Users and teams: create, list, show, change, delete. A user's `password` is write-only:
//! answers say `password_set`.

use super::ApiRoute;
use super::DeletedAnswer;
use super::openapi::ErrorAnswer;
use super::{created, deleted, listed, shown};
use crate::http::HttpState;
use crate::oncall::{Team, User};
use crate::ops::people::{TeamView, UserView};
use crate::ops::{OpsError, blocking, people};
use actix_web::{HttpResponse, web};
use serde_json::Value;

/// The user routes, each described by its handler's `#[utoipa::path]`.
pub const USER_ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create_user>(|route| route.to(create_user)),
    ApiRoute::documented::<__path_list_users>(|route| route.to(list_users)),
    ApiRoute::documented::<__path_get_user>(|route| route.to(get_user)),
    ApiRoute::documented::<__path_update_user>(|route| route.to(update_user)),
    ApiRoute::documented::<__path_delete_user>(|route| route.to(delete_user)),
];

/// The team routes.
pub const TEAM_ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create_team>(|route| route.to(create_team)),
    ApiRoute::documented::<__path_list_teams>(|route| route.to(list_teams)),
    ApiRoute::documented::<__path_get_team>(|route| route.to(get_team)),
    ApiRoute::documented::<__path_update_team>(|route| route.to(update_team)),
    ApiRoute::documented::<__path_delete_team>(|route| route.to(delete_team)),
];

super::list_page! {
    /// A page of users (they all fit one).
    UserPage of crate::ops::people::UserView
}

super::list_page! {
    /// A page of teams (they all fit one).
    TeamPage of crate::ops::people::TeamView
}

/// Creates a user; a given `password` is hashed (argon2id) and never shown again.
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "createUser",
    request_body = User,
    responses(
        (status = 201, description = "the user, with `id` and `password_set`", body = UserView),
        (status = 422, description = "a field is invalid (named), or the email is taken", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create_user(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    created(blocking(move || people::create_user(&services, body.into_inner())).await?)
}

/// Every user, newest first.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    responses(
        (status = 200, description = "`{items, next}`", body = UserPage),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list_users(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    listed(blocking(move || people::users(&services)).await?)
}

/// One user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    operation_id = "getUser",
    params(("id" = String, Path, description = "user id, `us_<n>`")),
    responses(
        (status = 200, description = "the user", body = UserView),
        (status = 404, description = "no such user", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn get_user(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || people::user(&services, &id)).await?)
}

/// Applies the given keys over the user (`null` removes one; `password: null` removes the
/// password) and validates the whole again.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "updateUser",
    params(("id" = String, Path, description = "user id, `us_<n>`")),
    request_body(content = Object, description = "any keys of `User`"),
    responses(
        (status = 200, description = "the changed user", body = UserView),
        (status = 404, description = "no such user", body = ErrorAnswer),
        (status = 409, description = "the user kept changing meanwhile", body = ErrorAnswer),
        (status = 422, description = "the result is invalid (the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn update_user(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || people::update_user(&services, &id, body.into_inner())).await?)
}

/// Deletes a user, unless a team, schedule or escalation policy names them.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "deleteUser",
    params(("id" = String, Path, description = "user id, `us_<n>`")),
    responses(
        (status = 200, description = "`{deleted: id}`", body = DeletedAnswer),
        (status = 404, description = "no such user", body = ErrorAnswer),
        (status = 409, description = "named by a team, schedule or policy (each is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn delete_user(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let id = id.into_inner();
    let gone = id.clone();
    blocking(move || people::delete_user(&services, &id)).await?;
    deleted(&gone)
}

/// Creates a team of existing users.
#[utoipa::path(
    post,
    path = "/teams",
    operation_id = "createTeam",
    request_body = Team,
    responses(
        (status = 201, description = "the team, with `id`", body = TeamView),
        (status = 422, description = "a field is invalid, or a member is not a user (named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create_team(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    created(blocking(move || people::create_team(&services, body.into_inner())).await?)
}

/// Every team, newest first.
#[utoipa::path(
    get,
    path = "/teams",
    operation_id = "listTeams",
    responses(
        (status = 200, description = "`{items, next}`", body = TeamPage),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list_teams(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    listed(blocking(move || people::teams(&services)).await?)
}

/// One team.
#[utoipa::path(
    get,
    path = "/teams/{id}",
    operation_id = "getTeam",
    params(("id" = String, Path, description = "team id, `tm_<n>`")),
    responses(
        (status = 200, description = "the team", body = TeamView),
        (status = 404, description = "no such team", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn get_team(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || people::team(&services, &id)).await?)
}

/// Applies the given keys over the team and validates the whole again.
#[utoipa::path(
    patch,
    path = "/teams/{id}",
    operation_id = "updateTeam",
    params(("id" = String, Path, description = "team id, `tm_<n>`")),
    request_body(content = Object, description = "any keys of `Team`"),
    responses(
        (status = 200, description = "the changed team", body = TeamView),
        (status = 404, description = "no such team", body = ErrorAnswer),
        (status = 409, description = "the team kept changing meanwhile", body = ErrorAnswer),
        (status = 422, description = "the result is invalid (the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn update_team(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || people::update_team(&services, &id, body.into_inner())).await?)
}

/// Deletes a team, unless an escalation policy names it.
#[utoipa::path(
    delete,
    path = "/teams/{id}",
    operation_id = "deleteTeam",
    params(("id" = String, Path, description = "team id, `tm_<n>`")),
    responses(
        (status = 200, description = "`{deleted: id}`", body = DeletedAnswer),
        (status = 404, description = "no such team", body = ErrorAnswer),
        (status = 409, description = "named by an escalation policy (named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn delete_team(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let id = id.into_inner();
    let gone = id.clone();
    blocking(move || people::delete_team(&services, &id)).await?;
    deleted(&gone)
}
