//! Bitbucket Cloud in one step: `POST /bitbucket/connect` creates an endpoint and registers
//! its webhook in the repository; `POST /endpoints/{id}/bitbucket/disconnect` deletes the
//! webhook and disables the endpoint. A pasted Bitbucket token is used for that call only; an
//! endpoint connected with OAuth (the console) is disconnected with its stored tokens, so its
//! disconnect needs no body.

use super::ApiRoute;
use crate::bitbucket::BitbucketToken;
use crate::http::HttpState;
use crate::http::api::openapi::ErrorAnswer;
use crate::http::bitbucket_request::connect_request;
use crate::ops::endpoints::EndpointView;
use crate::ops::{OpsError, bitbucket, bitbucket_oauth};
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
        (status = 502, description = "Bitbucket failed (5xx), rate-limited the call (429) or could not be reached", body = ErrorAnswer),
        (status = 504, description = "Bitbucket did not answer within `[bitbucket] timeout_secs`", body = ErrorAnswer),
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
    token: Option<String>,
}

/// Deletes the webhook (one already gone counts) and disables the endpoint; an OAuth
/// connection's tokens are deleted with it.
#[utoipa::path(
    post,
    path = "/endpoints/{id}/bitbucket/disconnect",
    operation_id = "disconnectBitbucket",
    params(("id" = String, Path, description = "endpoint id")),
    request_body(content = Object, description = "`{token}`: a Bitbucket token as for connect; \
        `{}` (or no body) for an endpoint connected with OAuth, whose stored tokens are used \
        (refreshed first when expired)"),
    responses(
        (status = 200, description = "the endpoint, disabled and no longer linked", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 409, description = "the endpoint is not connected to Bitbucket, or has no stored connection and no token was given", body = ErrorAnswer),
        (status = 422, description = "Bitbucket refused the token, or the stored connection's consent was revoked (connect again)", body = ErrorAnswer),
        (status = 502, description = "Bitbucket failed (5xx), rate-limited the call (429) or could not be reached", body = ErrorAnswer),
        (status = 504, description = "Bitbucket did not answer within `[bitbucket] timeout_secs`", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn disconnect(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, OpsError> {
    let refused = || {
        OpsError::Invalid(
            "token: the body must be {\"token\": \"<Bitbucket access token or \
             user:app_password>\"}, or {} for an endpoint connected with OAuth"
                .into(),
        )
    };
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        DisconnectInput { token: None }
    } else {
        serde_json::from_slice::<DisconnectInput>(&body).map_err(|_| refused())?
    };
    let endpoint = match input.token.as_deref().map(str::trim) {
        Some("") => return Err(refused()),
        Some(token) => {
            let token = BitbucketToken::new(token);
            bitbucket::disconnect(&state.services, state.bitbucket.as_ref(), &id, &token).await?
        }
        None => {
            bitbucket_oauth::disconnect_stored(
                &state.services,
                state.bitbucket.as_ref(),
                state.bitbucket_oauth.as_deref(),
                &id,
            )
            .await?
        }
    };
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}
