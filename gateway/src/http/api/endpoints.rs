//! Endpoints: create (secret shown once), list, show, change, disable, rotate the secret, and
//! the dry run.

use super::{not_found, random_hex, random_id, store_failed};
use crate::http::error_response;
use crate::pipeline;
use crate::runtime::{PluginEvent, PluginKind, PluginSet};
use crate::server::AppState;
use crate::store::{Destination, EndpointRecord, EventSelection, FormatSpec, PluginRef, now_ms};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

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

/// The body of create and (merged with the current endpoint) of change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointInput {
    name: String,
    #[serde(default = "default_provider")]
    provider: String,
    #[serde(default = "default_events")]
    events: EventSelection,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    alerts: Option<PluginRef>,
    #[serde(default)]
    format: Option<FormatSpec>,
    #[serde(default)]
    destinations: Vec<Destination>,
    #[serde(default)]
    enabled: Option<bool>,
}

fn default_provider() -> String {
    "bitbucket".into()
}

fn default_events() -> EventSelection {
    EventSelection::Keyword("all".into())
}

/// A 422 with the reason.
fn invalid(message: impl Into<String>) -> HttpResponse {
    error_response(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// Checks an input against the loaded plugins; returns the resolved event list, or the 422 to
/// answer (a large error value, on a path taken once per configuration change).
#[allow(clippy::result_large_err)]
fn validate(
    input: &EndpointInput,
    plugins: &PluginSet,
    allow_private: bool,
) -> Result<Vec<String>, HttpResponse> {
    if input.name.trim().is_empty() {
        return Err(invalid("name must not be empty"));
    }
    let provider = plugins
        .get_kind(&input.provider, PluginKind::Provider)
        .map_err(|error| invalid(format!("provider: {error}")))?;
    let description = provider
        .description()
        .map_err(|error| invalid(error.to_string()))?;
    let known: Vec<String> = description
        .events
        .iter()
        .map(|event| event.key.clone())
        .collect();
    let events = match &input.events {
        EventSelection::Keyword(word) if word == "push" => description
            .events
            .iter()
            .filter(|event| event.push)
            .map(|event| event.key.clone())
            .collect(),
        EventSelection::Keyword(word) if word == "all" => known.clone(),
        EventSelection::Keyword(word) => {
            return Err(invalid(format!(
                "events must be \"push\", \"all\" or a list of event keys, not {word:?}"
            )));
        }
        EventSelection::List(list) => {
            if let Some(unknown) = list.iter().find(|key| !known.contains(key)) {
                return Err(HttpResponse::UnprocessableEntity().json(json!({
                    "error": format!("unknown event {unknown:?} for provider {}", input.provider),
                    "valid_events": known,
                })));
            }
            list.clone()
        }
    };
    if let Some(alerts) = &input.alerts {
        plugins
            .get_kind(&alerts.plugin, PluginKind::AlertMapper)
            .map_err(|error| invalid(format!("alerts: {error}")))?;
        if !alerts.config.is_object() {
            return Err(invalid("alerts.config must be a JSON object"));
        }
    }
    match &input.format {
        Some(FormatSpec::Plugin(format)) => {
            plugins
                .get_kind(&format.plugin, PluginKind::Formatter)
                .map_err(|error| invalid(format!("format: {error}")))?;
        }
        Some(FormatSpec::Template { template }) => {
            crate::template::check(template)
                .map_err(|error| invalid(format!("format.template: {error}")))?;
        }
        None => {}
    }
    for (index, destination) in input.destinations.iter().enumerate() {
        plugins
            .get_kind(&destination.notifier, PluginKind::Notifier)
            .map_err(|error| invalid(format!("destinations[{index}].notifier: {error}")))?;
        let url = reqwest::Url::parse(&destination.url)
            .map_err(|error| invalid(format!("destinations[{index}].url: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "destinations[{index}].url must be http or https"
            )));
        }
        if !allow_private {
            let literal_private = crate::delivery::literal_private_address(&url).is_some();
            let localhost = url
                .host_str()
                .is_some_and(|host| host.eq_ignore_ascii_case("localhost"));
            if literal_private || localhost {
                return Err(invalid(format!(
                    "destinations[{index}].url points to a private address; \
                     set [delivery] allow_private_destinations = true to allow it"
                )));
            }
        }
    }
    Ok(events)
}

/// The endpoint as the API shows it: never the secrets.
fn view(state: &AppState, endpoint: &EndpointRecord) -> Value {
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
    })
}

async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> HttpResponse {
    let input: EndpointInput = match serde_json::from_value(body.into_inner()) {
        Ok(input) => input,
        Err(error) => return invalid(format!("invalid endpoint: {error}")),
    };
    let plugins = state.registry.snapshot();
    let events = match validate(&input, &plugins, state.config.allow_private_destinations) {
        Ok(events) => events,
        Err(response) => return response,
    };
    let secret = input.secret.clone().unwrap_or_else(|| random_hex(32));
    let endpoint = EndpointRecord {
        id: random_id(),
        name: input.name.trim().to_string(),
        provider: input.provider,
        selection: input.events,
        events,
        secret: Some(secret.clone()),
        enabled: input.enabled.unwrap_or(true),
        alerts: input.alerts,
        format: input.format,
        destinations: input.destinations,
        created_at: now_ms(),
    };
    if let Err(error) = state.store.save_endpoint(&endpoint) {
        return store_failed(error);
    }
    let mut answer = view(&state, &endpoint);
    answer["secret"] = json!(secret);
    HttpResponse::Created().json(answer)
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
    match state.store.endpoint(&id) {
        Ok(Some(endpoint)) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Ok(None) => not_found("endpoint"),
        Err(error) => store_failed(error),
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
    if patch.contains_key("secret") {
        return invalid("the secret is changed with POST /endpoints/{id}/rotate-secret");
    }
    let current = match state.store.endpoint(&id) {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => return not_found("endpoint"),
        Err(error) => return store_failed(error),
    };
    let mut merged: Map<String, Value> = Map::new();
    merged.insert("name".into(), json!(current.name));
    merged.insert("provider".into(), json!(current.provider));
    merged.insert("events".into(), json!(current.selection));
    merged.insert("alerts".into(), json!(current.alerts));
    merged.insert("format".into(), json!(current.format));
    merged.insert("destinations".into(), json!(current.destinations));
    merged.insert("enabled".into(), json!(current.enabled));
    merged.extend(patch);
    let input: EndpointInput = match serde_json::from_value(Value::Object(merged)) {
        Ok(input) => input,
        Err(error) => return invalid(format!("invalid endpoint: {error}")),
    };
    let events = match validate(
        &input,
        &state.registry.snapshot(),
        state.config.allow_private_destinations,
    ) {
        Ok(events) => events,
        Err(response) => return response,
    };
    // Destinations keep their secrets unless the change gives new ones.
    let mut destinations = input.destinations;
    for (index, destination) in destinations.iter_mut().enumerate() {
        if destination.secret.is_none() {
            destination.secret = current
                .destinations
                .get(index)
                .and_then(|d| d.secret.clone());
        }
    }
    let endpoint = EndpointRecord {
        name: input.name.trim().to_string(),
        provider: input.provider,
        selection: input.events,
        events,
        enabled: input.enabled.unwrap_or(current.enabled),
        alerts: input.alerts,
        format: input.format,
        destinations,
        ..current
    };
    match state.store.save_endpoint(&endpoint) {
        Ok(()) => HttpResponse::Ok().json(view(&state, &endpoint)),
        Err(error) => store_failed(error),
    }
}

/// Disables (history is kept; the URL answers 410).
async fn disable(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match state.store.endpoint(&id) {
        Ok(Some(mut endpoint)) => {
            endpoint.enabled = false;
            match state.store.save_endpoint(&endpoint) {
                Ok(()) => HttpResponse::Ok().json(view(&state, &endpoint)),
                Err(error) => store_failed(error),
            }
        }
        Ok(None) => not_found("endpoint"),
        Err(error) => store_failed(error),
    }
}

async fn rotate_secret(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match state.store.endpoint(&id) {
        Ok(Some(mut endpoint)) => {
            let secret = random_hex(32);
            endpoint.secret = Some(secret.clone());
            match state.store.save_endpoint(&endpoint) {
                Ok(()) => {
                    let mut answer = view(&state, &endpoint);
                    answer["secret"] = json!(secret);
                    HttpResponse::Ok().json(answer)
                }
                Err(error) => store_failed(error),
            }
        }
        Ok(None) => not_found("endpoint"),
        Err(error) => store_failed(error),
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
    let endpoint = match state.store.endpoint(&id) {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => return not_found("endpoint"),
        Err(error) => return store_failed(error),
    };
    let input = body.into_inner();
    let plugins = state.registry.snapshot();
    let payload = match input.body {
        Some(Value::String(text)) => text,
        Some(value) => value.to_string(),
        None => {
            let sample = plugins
                .get_kind(&endpoint.provider, PluginKind::Provider)
                .ok()
                .and_then(|provider| provider.description().ok())
                .and_then(|description| {
                    description
                        .event(&input.event)
                        .map(|event| event.sample.clone())
                });
            match sample {
                Some(sample) => sample,
                None => {
                    return invalid(format!(
                        "{} has no sample for {:?}; give a body",
                        endpoint.provider, input.event
                    ));
                }
            }
        }
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(&payload).is_err() {
        return invalid("body is not JSON");
    }
    let event = PluginEvent {
        inbound_id: "in_test".into(),
        endpoint_id: endpoint.id.clone(),
        provider: endpoint.provider.clone(),
        event_key: input.event,
        headers: Vec::new(),
        body: payload,
        received_at: now_ms(),
        attempt: 1,
    };
    let result = web::block(move || pipeline::dry_run(&plugins, &endpoint, &event)).await;
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(error) => crate::http::internal_error("dry run", error),
    }
}
