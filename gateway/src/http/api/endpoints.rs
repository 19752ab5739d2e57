//! Endpoints: create (secret shown once), list, show, change, disable, rotate the secret, and
//! the dry run.

use super::{refused, store_failed};
use crate::admin::{self, EndpointInput};
use crate::http::error_response;
use crate::server::AppState;
use crate::store::EndpointRecord;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/endpoints", web::post().to(create))
        .route("/endpoints", web::get().to(list))
        .route("/endpoints/{id}", web::get().to(show))
        .route("/endpoints/{id}", web::patch().to(change))
        .route("/endpoints/{id}", web::delete().to(disable))
        .route(
            "/endpoints/{id}/rotate-secret",
            web::post().to(rotate_secret),
        )
        .route("/endpoints/{id}/test", web::post().to(test));
}

/// A 422 with the reason.
fn invalid(message: impl Into<String>) -> HttpResponse {
    error_response(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The endpoint as the API shows it: never the secrets.
pub fn view(state: &AppState, endpoint: &EndpointRecord) -> Value {
    let destinations: Vec<Value> = endpoint
        .destinations
        .iter()
        .map(|destination| {
            let mut value = serde_json::to_value(destination).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.remove("secret");
                map.insert("secret_set".into(), json!(destination.secret.is_some()));
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

async fn show(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match admin::endpoint(&state, &id) {
        Ok(endpoint) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => refused(error),
    }
}

/// Applies the given keys over the current endpoint and validates the whole again.
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
async fn disable(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match admin::disable_endpoint(&state, &id) {
        Ok(endpoint) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => refused(error),
    }
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestInput {
    event: String,
    #[serde(default)]
    body: Option<Value>,
}

/// The dry run: on the given body or the provider's sample; nothing stored or sent.
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
