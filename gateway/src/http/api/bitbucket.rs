//! Bitbucket Cloud in one step: `POST /bitbucket/connect` creates an endpoint and registers
//! its webhook in the repository; `POST /endpoints/{id}/bitbucket/disconnect` deletes the
//! webhook and disables the endpoint. The Bitbucket token is used for that call only.

use super::refused;
use crate::bitbucket_connect::{
    self, BitbucketError, BitbucketToken, ConnectError, ConnectRequest,
};
use crate::http::error_response;
use crate::server::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/bitbucket/connect", web::post().to(connect))
        .route(
            "/endpoints/{id}/bitbucket/disconnect",
            web::post().to(disconnect),
        );
}

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
