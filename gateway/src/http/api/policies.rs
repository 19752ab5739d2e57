//! Escalation policies: create, list, show, change, delete.

use super::ApiRoute;
use super::DeletedAnswer;
use super::openapi::ErrorAnswer;
use super::{created, deleted, listed, shown};
use crate::http::HttpState;
use crate::oncall::EscalationPolicy;
use crate::ops::policies::EscalationPolicyView;
use crate::ops::{OpsError, blocking, policies};
use actix_web::{HttpResponse, web};
use serde_json::Value;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create_escalation_policy>(|route| {
        route.to(create_escalation_policy)
    }),
    ApiRoute::documented::<__path_list_escalation_policies>(|route| {
        route.to(list_escalation_policies)
    }),
    ApiRoute::documented::<__path_get_escalation_policy>(|route| route.to(get_escalation_policy)),
    ApiRoute::documented::<__path_update_escalation_policy>(|route| {
        route.to(update_escalation_policy)
    }),
    ApiRoute::documented::<__path_delete_escalation_policy>(|route| {
        route.to(delete_escalation_policy)
    }),
];

super::list_page! {
    /// A page of escalation policies (they all fit one).
    EscalationPolicyPage of crate::ops::policies::EscalationPolicyView
}

/// Creates an escalation policy whose targets exist.
#[utoipa::path(
    post,
    path = "/escalation-policies",
    operation_id = "createEscalationPolicy",
    request_body = EscalationPolicy,
    responses(
        (status = 201, description = "the escalation policy, with `id`", body = EscalationPolicyView),
        (status = 422, description = "a field is invalid (no steps, a delay under 1s, an unknown target: the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create_escalation_policy(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    created(blocking(move || policies::create_policy(&services, body.into_inner())).await?)
}

/// Every escalation policy, newest first.
#[utoipa::path(
    get,
    path = "/escalation-policies",
    operation_id = "listEscalationPolicies",
    responses(
        (status = 200, description = "`{items, next}`", body = EscalationPolicyPage),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list_escalation_policies(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    listed(blocking(move || policies::policies(&services)).await?)
}

/// One escalation policy.
#[utoipa::path(
    get,
    path = "/escalation-policies/{id}",
    operation_id = "getEscalationPolicy",
    params(("id" = String, Path, description = "escalation policy id, `ep_<n>`")),
    responses(
        (status = 200, description = "the escalation policy", body = EscalationPolicyView),
        (status = 404, description = "no such escalation policy", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn get_escalation_policy(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || policies::policy(&services, &id)).await?)
}

/// Applies the given keys over the policy (`steps` is replaced whole) and validates the whole again.
#[utoipa::path(
    patch,
    path = "/escalation-policies/{id}",
    operation_id = "updateEscalationPolicy",
    params(("id" = String, Path, description = "escalation policy id, `ep_<n>`")),
    request_body(content = Object, description = "any keys of `EscalationPolicy`"),
    responses(
        (status = 200, description = "the changed escalation policy", body = EscalationPolicyView),
        (status = 404, description = "no such escalation policy", body = ErrorAnswer),
        (status = 409, description = "the escalation policy kept changing meanwhile", body = ErrorAnswer),
        (status = 422, description = "the result is invalid (the field is named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn update_escalation_policy(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    shown(blocking(move || policies::update_policy(&services, &id, body.into_inner())).await?)
}

/// Deletes an escalation policy, unless an endpoint names it.
#[utoipa::path(
    delete,
    path = "/escalation-policies/{id}",
    operation_id = "deleteEscalationPolicy",
    params(("id" = String, Path, description = "escalation policy id, `ep_<n>`")),
    responses(
        (status = 200, description = "`{deleted: id}`", body = DeletedAnswer),
        (status = 404, description = "no such escalation policy", body = ErrorAnswer),
        (status = 409, description = "named by an endpoint (named)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn delete_escalation_policy(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let id = id.into_inner();
    let gone = id.clone();
    blocking(move || policies::delete_policy(&services, &id)).await?;
    deleted(&gone)
}
