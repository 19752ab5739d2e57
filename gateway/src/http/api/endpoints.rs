//! Endpoints: create (secret shown once), list, show, change, disable, rotate the secret,
//! enable a destination disabled after failures, and the dry run.

use super::{ApiRoute, refused, store_failed};
use crate::admin::{self, EndpointInput};
use crate::http::api::openapi::ErrorAnswer;
use crate::http::error_response;
use crate::server::AppState;
use crate::store::EndpointRecord;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create>(|route| route.to(create)),
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_change>(|route| route.to(change)),
    ApiRoute::documented::<__path_disable>(|route| route.to(disable)),
    ApiRoute::documented::<__path_rotate_secret>(|route| route.to(rotate_secret)),
    ApiRoute::documented::<__path_enable_destination>(|route| route.to(enable_destination)),
    ApiRoute::documented::<__path_test>(|route| route.to(test)),
];

/// A 422 with the reason.
fn invalid(message: impl Into<String>) -> HttpResponse {
    error_response(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The endpoint as the API shows it, with each destination's failure count and whether it is
/// disabled: never the secrets.
pub fn view(state: &AppState, endpoint: &EndpointRecord) -> Value {
    let health = state
        .store
        .endpoint_destination_health(&endpoint.id)
        .unwrap_or_else(|error| {
            tracing::error!(%error, "reading destination health");
            Default::default()
        });
    let destinations: Vec<Value> = endpoint
        .destinations
        .iter()
        .enumerate()
        .map(|(index, destination)| {
            let mut value = serde_json::to_value(destination).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.remove("secret");
                map.insert("secret_set".into(), json!(destination.secret.is_some()));
                let health = health.get(&index).cloned().unwrap_or_default();
                map.insert(
                    "consecutive_failures".into(),
                    json!(health.consecutive_failures),
                );
                map.insert("disabled_at".into(), json!(health.disabled_at));
                map.insert("disabled_reason".into(), json!(health.disabled_reason));
            }
            value
        })
        .collect();
    json!({
        "id": endpoint.id,
        "name": endpoint.name,
        "provider": endpoint.provider,
        "events": endpoint.events,
        "selection": endpoint.selection,
        "url": format!("{}/hooks/{}", state.config.public_url, endpoint.id),
        "secret_set": endpoint.secret.is_some(),
        "enabled": endpoint.enabled,
        "alerts": endpoint.alerts,
        "format": endpoint.format,
        "destinations": destinations,
        "created_at": endpoint.created_at,
        "rate_limit": endpoint.rate_limit,
        "bitbucket": endpoint.bitbucket,
    })
}

/// Creates an endpoint; the answer carries its `secret`, shown this once.
#[utoipa::path(
    post,
    path = "/endpoints",
    tag = "endpoints",
    request_body = EndpointInput,
    responses(
        (status = 201, description = "the endpoint with `url` and `secret`", body = Object),
        (status = 422, description = "invalid (an unknown event adds `valid_events`)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> HttpResponse {
    let input: EndpointInput = match serde_json::from_value(body.into_inner()) {
        Ok(input) => input,
        Err(error) => return invalid(format!("invalid endpoint: {error}")),
    };
    match admin::create_endpoint(&state, input) {
        Ok((endpoint, secret)) => {
            let mut answer = view(&state, &endpoint);
            answer["secret"] = json!(secret);
            HttpResponse::Created().json(answer)
        }
        Err(error) => refused(error),
    }
}

/// Every endpoint (never their secrets).
#[utoipa::path(
    get,
    path = "/endpoints",
    tag = "endpoints",
    responses(
        (status = 200, description = "`{items, next}`", body = Object),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(state: web::Data<AppState>) -> HttpResponse {
    match state.store.endpoints() {
        Ok(endpoints) => {
            let items: Vec<Value> = endpoints
                .iter()
                .map(|endpoint| view(&state, endpoint))
                .collect();
            HttpResponse::Ok().json(json!({"items": items, "next": Value::Null}))
        }
        Err(error) => store_failed(error),
    }
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/endpoints/{id}",
    tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    responses(
        (status = 200, description = "the endpoint", body = Object),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match admin::endpoint(&state, &id) {
        Ok(endpoint) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => refused(error),
    }
}

/// Applies the given keys over the current endpoint and validates the whole again.
#[utoipa::path(
    patch,
    path = "/endpoints/{id}",
    tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    request_body(content = Object, description = "any keys of `EndpointInput`"),
    responses(
        (status = 200, description = "the changed endpoint", body = Object),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 422, description = "the result is invalid", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn change(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let Value::Object(patch) = body.into_inner() else {
        return invalid("the change must be a JSON object");
    };
    match admin::change_endpoint(&state, &id, patch) {
        Ok(endpoint) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => refused(error),
    }
}

/// Disables (history is kept; the URL answers 410).
#[utoipa::path(
    delete,
    path = "/endpoints/{id}",
    tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    responses(
        (status = 200, description = "the disabled endpoint", body = Object),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn disable(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match admin::disable_endpoint(&state, &id) {
        Ok(endpoint) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => refused(error),
    }
}

/// A new signing secret, shown this once; the old one stops working.
#[utoipa::path(
    post,
    path = "/endpoints/{id}/rotate-secret",
    tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    responses(
        (status = 200, description = "the endpoint with its new `secret`", body = Object),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn rotate_secret(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match admin::rotate_secret(&state, &id) {
        Ok((endpoint, secret)) => {
            let mut answer = view(&state, &endpoint);
            answer["secret"] = json!(secret);
            HttpResponse::Ok().json(answer)
        }
        Err(error) => refused(error),
    }
}

/// Enables a destination disabled after consecutive failures (its failed deliveries are then
/// retried by hand).
#[utoipa::path(
    post,
    path = "/endpoints/{id}/destinations/{index}/enable",
    tag = "endpoints",
    params(
        ("id" = String, Path, description = "endpoint id"),
        ("index" = String, Path, description = "the destination's position in `destinations`, from 0"),
    ),
    responses(
        (status = 200, description = "the endpoint, the destination enabled and its failure count reset", body = Object),
        (status = 404, description = "no such endpoint or destination", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn enable_destination(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, index) = path.into_inner();
    let Ok(index) = index.parse::<usize>() else {
        return super::not_found("destination");
    };
    match admin::enable_destination(&state, &id, index) {
        Ok(endpoint) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => refused(error),
    }
}

/// A dry run's input.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    /// The event key, e.g. `repo:commit_status_updated`.
    event: String,
    /// The payload (JSON, or text); the provider's sample for the event when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    body: Option<Value>,
}

/// The dry run: on the given body or the provider's sample; nothing stored or sent.
#[utoipa::path(
    post,
    path = "/endpoints/{id}/test",
    tag = "endpoints",
    params(("id" = String, Path, description = "endpoint id")),
    request_body = TestInput,
    responses(
        (status = 200, description = "outcomes, alert actions, the message and the requests that would be sent", body = Object),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 422, description = "an unknown event (with `valid_events`)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn test(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<TestInput>,
) -> HttpResponse {
    let input = body.into_inner();
    let body = input.body.map(|body| match body {
        Value::String(text) => text,
        value => value.to_string(),
    });
    let result = web::block(move || admin::dry_run(&state, &id, input.event, body)).await;
    match result {
        Ok(Ok(value)) => HttpResponse::Ok().json(value),
        Ok(Err(error)) => refused(error),
        Err(error) => crate::http::internal_error("dry run", error),
    }
}
