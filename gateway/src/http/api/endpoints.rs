//! Endpoints: create (secret shown once), list, show, change, disable, rotate the secret,
//! enable a destination disabled after failures, release a quarantined plugin, and the dry
//! run.

use super::ApiRoute;
use crate::http::HttpState;
use crate::http::api::openapi::ErrorAnswer;
use crate::ops::deliveries::DeliveryView;
use crate::ops::endpoints::{self, EndpointInput, EndpointView};
use crate::ops::{OpsError, dry_run};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_create>(|route| route.to(create)),
    ApiRoute::documented::<__path_list>(|route| route.to(list)),
    ApiRoute::documented::<__path_show>(|route| route.to(show)),
    ApiRoute::documented::<__path_change>(|route| route.to(change)),
    ApiRoute::documented::<__path_disable>(|route| route.to(disable)),
    ApiRoute::documented::<__path_rotate_secret>(|route| route.to(rotate_secret)),
    ApiRoute::documented::<__path_enable_destination>(|route| route.to(enable_destination)),
    ApiRoute::documented::<__path_release_plugin>(|route| route.to(release_plugin)),
    ApiRoute::documented::<__path_send_test>(|route| route.to(send_test)),
    ApiRoute::documented::<__path_test>(|route| route.to(test)),
];

/// Answers that carry a secret are kept out of every cache.
pub const NO_STORE: (actix_web::http::header::HeaderName, &str) =
    (actix_web::http::header::CACHE_CONTROL, "no-store");

super::list_page! {
    /// A page of endpoints (they all fit one).
    EndpointPage of EndpointView
}

/// What a destination's Send test answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendTestAnswer {
    /// The test's deliveries with their attempt.
    pub deliveries: Vec<DeliveryView>,
}

/// Creates an endpoint; the answer carries its `secret`, shown this once.
#[utoipa::path(
    post,
    path = "/endpoints",
    operation_id = "createEndpoint",
    request_body = EndpointInput,
    responses(
        (status = 201, description = "the endpoint with `url` and `secret`", body = EndpointView),
        (status = 422, description = "invalid (an unknown event adds `valid_events`)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn create(
    state: web::Data<HttpState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let input: EndpointInput = serde_json::from_value(body.into_inner())
        .map_err(|error| OpsError::Invalid(format!("invalid endpoint: {error}")))?;
    let services = &state.services;
    let (endpoint, secret) = endpoints::create(services, input)?;
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(EndpointView::of(services, &endpoint).with_secret(secret)))
}

/// Every endpoint (never their secrets).
#[utoipa::path(
    get,
    path = "/endpoints",
    operation_id = "listEndpoints",
    responses(
        (status = 200, description = "`{items, next}`", body = EndpointPage),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn list(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = &state.services;
    let items = endpoints::list(services)?
        .iter()
        .map(|endpoint| EndpointView::of(services, endpoint))
        .collect();
    Ok(HttpResponse::Ok().json(EndpointPage { items, next: None }))
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/endpoints/{id}",
    operation_id = "getEndpoint",
    params(("id" = String, Path, description = "endpoint id")),
    responses(
        (status = 200, description = "the endpoint", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn show(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let endpoint = endpoints::get(&state.services, &id)?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}

/// Applies the given keys over the current endpoint and validates the whole again.
#[utoipa::path(
    patch,
    path = "/endpoints/{id}",
    operation_id = "updateEndpoint",
    params(("id" = String, Path, description = "endpoint id")),
    request_body(content = Object, description = "any keys of `EndpointInput`"),
    responses(
        (status = 200, description = "the changed endpoint", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 422, description = "the result is invalid", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn change(
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, OpsError> {
    let Value::Object(patch) = body.into_inner() else {
        return Err(OpsError::Invalid("the change must be a JSON object".into()));
    };
    let endpoint = endpoints::change(&state.services, &id, patch)?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}

/// Disables (history is kept; the URL answers 410).
#[utoipa::path(
    delete,
    path = "/endpoints/{id}",
    operation_id = "disableEndpoint",
    params(("id" = String, Path, description = "endpoint id")),
    responses(
        (status = 200, description = "the disabled endpoint", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn disable(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let endpoint = endpoints::disable(&state.services, &id)?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}

/// A new signing secret, shown this once; the old one stops working.
#[utoipa::path(
    post,
    path = "/endpoints/{id}/rotate-secret",
    operation_id = "rotateEndpointSecret",
    params(("id" = String, Path, description = "endpoint id")),
    responses(
        (status = 200, description = "the endpoint with its new `secret`", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn rotate_secret(
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = &state.services;
    let (endpoint, secret) = endpoints::rotate_secret(services, &id)?;
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(EndpointView::of(services, &endpoint).with_secret(secret)))
}

/// Enables a destination disabled after consecutive failures (its failed deliveries are then
/// retried by hand).
#[utoipa::path(
    post,
    path = "/endpoints/{id}/destinations/{index}/enable",
    operation_id = "enableEndpointDestination",
    params(
        ("id" = String, Path, description = "endpoint id"),
        ("index" = String, Path, description = "the destination's position in `destinations`, from 0"),
    ),
    responses(
        (status = 200, description = "the endpoint, the destination enabled and its failure count reset", body = EndpointView),
        (status = 404, description = "no such endpoint or destination", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn enable_destination(
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OpsError> {
    let (id, index) = path.into_inner();
    let index = index
        .parse::<usize>()
        .map_err(|_| OpsError::NotFound("destination"))?;
    let endpoint = endpoints::enable_destination(&state.services, &id, index)?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}

/// Releases a plugin quarantined for the endpoint: its next records run it again. Records
/// failed with "plugin quarantined" meanwhile stay failed; replay them.
#[utoipa::path(
    post,
    path = "/endpoints/{id}/plugins/{name}/release",
    operation_id = "releaseEndpointPlugin",
    params(
        ("id" = String, Path, description = "endpoint id"),
        ("name" = String, Path, description = "the quarantined plugin's name"),
    ),
    responses(
        (status = 200, description = "the endpoint, the plugin no longer in `quarantined` (also when it was not)", body = EndpointView),
        (status = 404, description = "no such endpoint", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn release_plugin(
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OpsError> {
    let (id, name) = path.into_inner();
    let endpoint = endpoints::release_plugin(&state.services, &id, &name)?;
    Ok(HttpResponse::Ok().json(EndpointView::of(&state.services, &endpoint)))
}

/// Sends one real test notification to a destination, through the outbox, and answers once
/// its attempt is recorded (a test is attempted once, never retried).
#[utoipa::path(
    post,
    path = "/endpoints/{id}/destinations/{index}/test",
    operation_id = "sendEndpointDestinationTest",
    params(
        ("id" = String, Path, description = "endpoint id"),
        ("index" = String, Path, description = "the destination's position in `destinations`, from 0"),
    ),
    responses(
        (status = 200, description = "`deliveries`: the test's deliveries with their attempt (`delivered` or `failed`; `pending` if no answer came within the delivery timeout)", body = SendTestAnswer),
        (status = 404, description = "no such endpoint or destination", body = ErrorAnswer),
        (status = 422, description = "the destination's notifier could not shape a test", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn send_test(
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OpsError> {
    let (id, index) = path.into_inner();
    let index = index
        .parse::<usize>()
        .map_err(|_| OpsError::NotFound("destination"))?;
    let deliveries = crate::ops::destinations::send_test(&state.services, &id, index).await?;
    let deliveries = deliveries.iter().map(DeliveryView::of).collect();
    Ok(HttpResponse::Ok().json(SendTestAnswer { deliveries }))
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
    operation_id = "testEndpoint",
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
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<TestInput>,
) -> Result<HttpResponse, OpsError> {
    let input = body.into_inner();
    let body = input.body.map(|body| match body {
        Value::String(text) => text,
        value => value.to_string(),
    });
    let services = state.services.clone();
    let result =
        crate::ops::blocking(move || dry_run::dry_run(&services, &id, input.event, body)).await?;
    Ok(HttpResponse::Ok().json(result))
}
