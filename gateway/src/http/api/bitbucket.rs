//! Bitbucket Cloud in one step: `POST /bitbucket/connect` creates an endpoint and registers
//! its webhook in the repository; `POST /endpoints/{id}/bitbucket/disconnect` deletes the
//! webhook and disables the endpoint. The Bitbucket token is used for that call only.

use super::ApiRoute;
use crate::bitbucket::BitbucketToken;
use crate::http::HttpState;
use crate::http::api::openapi::ErrorAnswer;
use crate::http::bitbucket_request::connect_request;
use crate::ops::endpoints::EndpointView;
use crate::ops::{OpsError, bitbucket};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_connect>(|route| route.to(connect)),
    ApiRoute::documented::<__path_disconnect>(|route| route.to(disconnect)),
];

/// Creates the endpoint and its webhook; answers the endpoint (201) with `bitbucket:
/// {workspace, repo, hook_uuid}`. The secret went to Bitbucket and is not shown.
#[utoipa::path(
    post,
    path = "/bitbucket/connect",
    operation_id = "connectBitbucket",
    request_body(
        content = Object,
        description = "`{workspace, repo, token, events?, name?}` plus any endpoint field but \
            `secret` (alerts, format, destinations, …). `token` is a repository or workspace \
            access token (Bearer), or `user:app_password` (Basic); it is used for this call \
            only. `events`: `push`, `all` (the default), a list or comma-separated keys."
    ),
    responses(
        (status = 201, description = "the new endpoint, with `bitbucket: {workspace, repo, hook_uuid}`", body = EndpointView),
        (status = 404, description = "Bitbucket knows no such repository", body = ErrorAnswer),
        (status = 422, description = "an invalid request, or Bitbucket refused the token", body = ErrorAnswer),
        (status = 502, description = "Bitbucket failed or could not be reached", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn connect(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let request = connect_request(body.into_inner())?;
    let endpoint = bitbucket::connect(&state.services, state.bitbucket.as_ref(), request).await?;
    Ok(HttpResponse::Created().json(EndpointView::of(&state.services, &endpoint)))
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
    operation_id = "disconnectBitbucket",
    params(("id" = String, Path, description = "endpoint id")),
    request_body(content = Object, description = "`{token}`: a Bitbucket token as for connect"),
    responses(
        (status = 200, description = "the endpoint, disabled and no longer linked", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 409, description = "the endpoint is not connected to Bitbucket", body = ErrorAnswer),
        (status = 422, description = "no token, or Bitbucket refused it", body = ErrorAnswer),
        (status = 502, description = "Bitbucket failed or could not be reached", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn disconnect(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let input = match serde_json::from_value::<DisconnectInput>(body.into_inner()) {
        Ok(input) if !input.token.trim().is_empty() => input,
        _ => {
            return Err(OpsError::Invalid(
                "the body must be {\"token\": \"<Bitbucket access token or user:app_password>\"}"
                    .into(),
            ));
        }
    };
    let token = BitbucketToken::new(input.token.trim());
    let endpoint =
        bitbucket::disconnect(&state.services, state.bitbucket.as_ref(), &id, &token).await?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}
