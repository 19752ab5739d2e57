//! Bitbucket Cloud in one step: `POST /bitbucket/connect` creates an endpoint and registers
//! its webhook in the repository; `POST /endpoints/{id}/bitbucket/disconnect` deletes the
//! webhook and disables the endpoint. The Bitbucket token is used for that call only.

use super::{ApiRoute, refused};
use crate::bitbucket_connect::{
    self, BitbucketError, BitbucketToken, ConnectError, ConnectRequest,
};
use crate::http::api::openapi::ErrorAnswer;
use crate::http::error_response;
use crate::server::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_connect>(|route| route.to(connect)),
    ApiRoute::documented::<__path_disconnect>(|route| route.to(disconnect)),
];

/// The answer for a connect or disconnect that did not happen: the operator's mistakes as
/// `refused` answers them; a refused token 422, an unknown repository 404, another refusal 422,
/// and Bitbucket failing or unreachable 502, each with Bitbucket's message.
pub fn connect_refused(error: ConnectError) -> HttpResponse {
    match error {
        ConnectError::Admin(error) => refused(error),
        ConnectError::Bitbucket(error) => {
            let status = match &error {
                BitbucketError::TokenRefused(_) | BitbucketError::Refused { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                BitbucketError::NotFound(_) => StatusCode::NOT_FOUND,
                BitbucketError::Unavailable(_) => StatusCode::BAD_GATEWAY,
            };
            tracing::warn!(%error, "Bitbucket refused a connect or disconnect");
            error_response(status, error.to_string())
        }
    }
}

/// Creates the endpoint and its webhook; answers the endpoint (201) with `bitbucket:
/// {workspace, repo, hook_uuid}`. The secret went to Bitbucket and is not shown.
#[utoipa::path(
    post,
    path = "/bitbucket/connect",
    tag = "bitbucket",
    request_body(
        content = Object,
        description = "`{workspace, repo, token, events?, name?}` plus any endpoint field but \
            `secret` (alerts, format, destinations, …). `token` is a repository or workspace \
            access token (Bearer), or `user:app_password` (Basic); it is used for this call \
            only. `events`: `push`, `all` (the default), a list or comma-separated keys."
    ),
    responses(
        (status = 201, description = "the new endpoint, with `bitbucket: {workspace, repo, hook_uuid}`", body = Object),
        (status = 404, description = "Bitbucket knows no such repository", body = ErrorAnswer),
        (status = 422, description = "an invalid request, or Bitbucket refused the token", body = ErrorAnswer),
        (status = 502, description = "Bitbucket failed or could not be reached", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn connect(state: web::Data<AppState>, body: web::Json<Value>) -> HttpResponse {
    let request = match ConnectRequest::from_json(body.into_inner()) {
        Ok(request) => request,
        Err(error) => return refused(error),
    };
    match bitbucket_connect::connect(&state, request).await {
        Ok(endpoint) => HttpResponse::Created().json(super::endpoints::view(&state, &endpoint)),
        Err(error) => connect_refused(error),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectInput {
    token: String,
}

/// Deletes the webhook (one already gone counts) and disables the endpoint.
#[utoipa::path(
    post,
    path = "/endpoints/{id}/bitbucket/disconnect",
    tag = "bitbucket",
    params(("id" = String, Path, description = "endpoint id")),
    request_body(content = Object, description = "`{token}`: a Bitbucket token as for connect"),
    responses(
        (status = 200, description = "the endpoint, disabled and no longer linked", body = Object),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 409, description = "the endpoint is not connected to Bitbucket", body = ErrorAnswer),
        (status = 422, description = "no token, or Bitbucket refused it", body = ErrorAnswer),
        (status = 502, description = "Bitbucket failed or could not be reached", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn disconnect(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let input = match serde_json::from_value::<DisconnectInput>(body.into_inner()) {
        Ok(input) if !input.token.trim().is_empty() => input,
        _ => {
            return error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be {\"token\": \"<Bitbucket access token or user:app_password>\"}",
            );
        }
    };
    let token = BitbucketToken::new(input.token.trim());
    match bitbucket_connect::disconnect(&state, &id, &token).await {
        Ok(endpoint) => HttpResponse::Ok().json(super::endpoints::view(&state, &endpoint)),
        Err(error) => connect_refused(error),
    }
}
