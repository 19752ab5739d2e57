//! What an operator can do, shared by the admin API (`http::api`, JSON) and the web console
//! (`http::ui`, HTML): save endpoints (validated against the loaded plugins), rotate secrets,
//! dry runs and template previews, replay records, acknowledge and close alerts, retry
//! deliveries, enable destinations disabled after failures. Each step answers a typed [`AdminError`] that the caller shows its own way.

use crate::alerts::{self, AlertActionError};
use crate::config::RateLimit;
use crate::ids::{format_inbound_id, parse_id};
use crate::pipeline;
use crate::runtime::{Message, PluginEvent, PluginKind, PluginSet};
use crate::server::AppState;
use crate::store::{
    AlertRecord, DeliveryRecord, DeliveryStatus, Destination, EndpointRecord, EventSelection,
    FormatSpec, InboundStatus, PluginRef, StoreError, now_ms,
};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;
use subtle::ConstantTimeEq;

/// Why an operator action was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such record (`what` names the kind).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The input is not acceptable (422).
    #[error("{0}")]
    Invalid(String),
    /// An event key the provider does not know (422, with the valid ones).
    #[error("{message}")]
    UnknownEvent {
        /// What is wrong.
        message: String,
        /// The provider's event keys.
        valid_events: Vec<String>,
    },
    /// The record is not in a state that allows the action (409).
    #[error("{0}")]
    Conflict(String),
    /// The database failed (500, detail logged).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The body of an endpoint create and (merged with the current endpoint) of a change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// Name for people.
    pub name: String,
    /// Provider plugin (default `bitbucket`).
    #[serde(default = "default_provider")]
    pub provider: String,
    /// `push`, `all` (the default) or a list of event keys.
    #[serde(default = "default_events")]
    pub events: EventSelection,
    /// Signing secret; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// Alert mapping.
    #[serde(default)]
    pub alerts: Option<PluginRef>,
    /// Formatter plugin or template.
    #[serde(default)]
    pub format: Option<FormatSpec>,
    /// Where notifications go.
    #[serde(default)]
    pub destinations: Vec<Destination>,
    /// Whether the URL takes webhooks (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// This endpoint's rate limit, over `[ingest]`'s.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

fn default_provider() -> String {
    "bitbucket".into()
}

fn default_events() -> EventSelection {
    EventSelection::Keyword("all".into())
}

/// Whether `presented` is the admin token, compared in constant time. The SHA-256 digests are
/// compared, not the texts: they have one length, so the time taken does not reveal the token's
/// length either.
pub fn admin_token_matches(expected: &str, presented: &str) -> bool {
    use sha2::{Digest, Sha256};
    !expected.is_empty()
        && bool::from(
            Sha256::digest(presented.as_bytes())
                .as_slice()
                .ct_eq(Sha256::digest(expected.as_bytes()).as_slice()),
        )
}

/// `n` random bytes, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// An unguessable URL-safe id: 144 random bits.
pub fn random_id() -> String {
    use base64::Engine as _;
    let mut buffer = [0u8; 18];
    rand::rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// Checks an input against the loaded plugins; returns the resolved event list.
pub fn validate_endpoint(
    input: &EndpointInput,
    plugins: &PluginSet,
    allow_private: bool,
) -> Result<Vec<String>, AdminError> {
    let invalid = |message: String| AdminError::Invalid(message);
    if input.name.trim().is_empty() {
        return Err(invalid("name must not be empty".into()));
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
                return Err(AdminError::UnknownEvent {
                    message: format!("unknown event {unknown:?} for provider {}", input.provider),
                    valid_events: known,
                });
            }
            list.clone()
        }
    };
    if let Some(limit) = input.rate_limit {
        limit
            .check("rate_limit")
            .map_err(|error| invalid(format!("rate_limit: {}", error.reason)))?;
    }
    if let Some(alerts) = &input.alerts {
        plugins
            .get_kind(&alerts.plugin, PluginKind::AlertMapper)
            .map_err(|error| invalid(format!("alerts: {error}")))?;
        if !alerts.config.is_object() {
            return Err(invalid("alerts.config must be a JSON object".into()));
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

/// The endpoint with this id.
pub fn endpoint(state: &AppState, id: &str) -> Result<EndpointRecord, AdminError> {
    state
        .store
        .endpoint(id)?
        .ok_or(AdminError::NotFound("endpoint"))
}

/// Creates an endpoint; returns it and its secret (shown this once).
pub fn create_endpoint(
    state: &AppState,
    input: EndpointInput,
) -> Result<(EndpointRecord, String), AdminError> {
    let (endpoint, secret) = new_endpoint(state, input)?;
    state.store.save_endpoint(&endpoint)?;
    Ok((endpoint, secret))
}

/// A validated endpoint with a fresh id, not yet saved; returns it and its secret.
pub fn new_endpoint(
    state: &AppState,
    input: EndpointInput,
) -> Result<(EndpointRecord, String), AdminError> {
    let plugins = state.registry.snapshot();
    let events = validate_endpoint(&input, &plugins, state.config.allow_private_destinations)?;
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
        rate_limit: input.rate_limit,
        bitbucket: None,
    };
    Ok((endpoint, secret))
}

/// Applies the given keys over the current endpoint and validates the whole again.
/// Destinations keep their secrets unless the change gives new ones.
pub fn change_endpoint(
    state: &AppState,
    id: &str,
    patch: Map<String, Value>,
) -> Result<EndpointRecord, AdminError> {
    if patch.contains_key("secret") {
        return Err(AdminError::Invalid(
            "the secret is changed with POST /endpoints/{id}/rotate-secret".into(),
        ));
    }
    let current = endpoint(state, id)?;
    let mut merged: Map<String, Value> = Map::new();
    merged.insert("name".into(), json!(current.name));
    merged.insert("provider".into(), json!(current.provider));
    merged.insert("events".into(), json!(current.selection));
    merged.insert("alerts".into(), json!(current.alerts));
    merged.insert("format".into(), json!(current.format));
    merged.insert("destinations".into(), json!(current.destinations));
    merged.insert("enabled".into(), json!(current.enabled));
    merged.insert("rate_limit".into(), json!(current.rate_limit));
    merged.extend(patch);
    let input: EndpointInput = serde_json::from_value(Value::Object(merged))
        .map_err(|error| AdminError::Invalid(format!("invalid endpoint: {error}")))?;
    let events = validate_endpoint(
        &input,
        &state.registry.snapshot(),
        state.config.allow_private_destinations,
    )?;
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
        rate_limit: input.rate_limit,
        ..current
    };
    state.store.save_endpoint(&endpoint)?;
    // A destination given a new address starts with a clean record.
    for (index, before) in current.destinations.iter().enumerate() {
        let replaced = endpoint
            .destinations
            .get(index)
            .is_none_or(|after| after.url != before.url || after.kind != before.kind);
        if replaced && state.store.reset_destination_health(id, index)? {
            state.metrics.destination_enabled();
        }
    }
    Ok(endpoint)
}

/// Enables a destination that consecutive failures disabled, and forgets its failures. Its
/// deliveries failed meanwhile stay failed; retry them by hand.
pub fn enable_destination(
    state: &AppState,
    id: &str,
    index: usize,
) -> Result<EndpointRecord, AdminError> {
    let endpoint = endpoint(state, id)?;
    if index >= endpoint.destinations.len() {
        return Err(AdminError::NotFound("destination"));
    }
    if state.store.reset_destination_health(id, index)? {
        state.metrics.destination_enabled();
        tracing::info!(endpoint = %id, destination = index, "destination enabled again");
    }
    Ok(endpoint)
}

/// Disables an endpoint: history is kept; its URL answers 410.
pub fn disable_endpoint(state: &AppState, id: &str) -> Result<EndpointRecord, AdminError> {
    let mut endpoint = endpoint(state, id)?;
    endpoint.enabled = false;
    state.store.save_endpoint(&endpoint)?;
    Ok(endpoint)
}

/// A new signing secret; returns the endpoint and the secret (shown this once).
pub fn rotate_secret(state: &AppState, id: &str) -> Result<(EndpointRecord, String), AdminError> {
    let mut endpoint = endpoint(state, id)?;
    let secret = random_hex(32);
    endpoint.secret = Some(secret.clone());
    state.store.save_endpoint(&endpoint)?;
    Ok((endpoint, secret))
}

/// The payload for a dry run or preview: `body` when given, else the provider's sample.
fn payload_or_sample(
    plugins: &PluginSet,
    provider: &str,
    event: &str,
    body: Option<String>,
) -> Result<String, AdminError> {
    let payload = match body {
        Some(body) => body,
        None => plugins
            .get_kind(provider, PluginKind::Provider)
            .ok()
            .and_then(|provider| provider.description().ok())
            .and_then(|description| description.event(event).map(|event| event.sample.clone()))
            .filter(|sample| !sample.is_empty())
            .ok_or_else(|| {
                AdminError::Invalid(format!(
                    "{provider} has no sample for {event:?}; give a body"
                ))
            })?,
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(&payload).is_err() {
        return Err(AdminError::Invalid("body is not JSON".into()));
    }
    Ok(payload)
}

fn test_event(endpoint: &EndpointRecord, event_key: String, body: String) -> PluginEvent {
    PluginEvent {
        inbound_id: "in_test".into(),
        endpoint_id: endpoint.id.clone(),
        provider: endpoint.provider.clone(),
        event_key,
        headers: Vec::new(),
        body,
        received_at: now_ms(),
        attempt: 1,
    }
}

/// The dry run of an endpoint on `body` or the provider's sample: alert actions, message and
/// the requests that would be sent; nothing is stored or sent. Runs plugins: call it off the
/// async threads.
pub fn dry_run(
    state: &AppState,
    id: &str,
    event: String,
    body: Option<String>,
) -> Result<Value, AdminError> {
    let endpoint = endpoint(state, id)?;
    let plugins = state.registry.snapshot();
    let payload = payload_or_sample(&plugins, &endpoint.provider, &event, body)?;
    let event = test_event(&endpoint, event, payload);
    Ok(pipeline::dry_run(&plugins, &endpoint, &event))
}

/// Renders a format template on the provider's sample for `event`, as an endpoint named
/// `endpoint_name` would (the console's live preview).
pub fn preview_template(
    state: &AppState,
    provider: &str,
    event: &str,
    template: &str,
    endpoint_name: &str,
) -> Result<Message, AdminError> {
    let plugins = state.registry.snapshot();
    let payload = payload_or_sample(&plugins, provider, event, None)?;
    let endpoint = EndpointRecord {
        id: "preview".into(),
        name: endpoint_name.to_string(),
        provider: provider.to_string(),
        selection: default_events(),
        events: Vec::new(),
        secret: None,
        enabled: true,
        alerts: None,
        format: None,
        destinations: Vec::new(),
        created_at: now_ms(),
        rate_limit: None,
        bitbucket: None,
    };
    let event = test_event(&endpoint, event.to_string(), payload);
    crate::template::render(template, &endpoint, &event).map_err(AdminError::Invalid)
}

/// Queues a stored record to run through today's plugins again. Only records that were
/// accepted (processed or failed) can be replayed: rejected and filtered ones never passed the
/// checks. Returns the record's number.
pub fn replay(state: &AppState, id: &str) -> Result<u64, AdminError> {
    let id = parse_id("in", id).ok_or(AdminError::NotFound("inbound record"))?;
    let record = state
        .store
        .inbound(id)?
        .ok_or(AdminError::NotFound("inbound record"))?;
    if !matches!(
        record.status,
        InboundStatus::Processed | InboundStatus::Failed
    ) {
        return Err(AdminError::Conflict(format!(
            "a {} record cannot be replayed",
            record.status.as_str()
        )));
    }
    // Counted before the commit, as ingest does: the worker may run the record at once.
    state.backlog.fetch_add(1, Ordering::Relaxed);
    let requeued = state.store.requeue_inbound(id);
    if !matches!(requeued, Ok(true)) {
        state.backlog.fetch_sub(1, Ordering::Relaxed);
    }
    if !requeued? {
        return Err(AdminError::NotFound("inbound record"));
    }
    state.pipeline_wake.notify_one();
    tracing::info!(inbound = %format_inbound_id(id), "replay queued");
    Ok(id)
}

/// Acknowledges an alert by hand.
pub fn acknowledge_alert(state: &AppState, id: &str) -> Result<AlertRecord, AdminError> {
    operator_action(state, id, alerts::acknowledge)
}

/// Closes an alert by hand.
pub fn close_alert(state: &AppState, id: &str) -> Result<AlertRecord, AdminError> {
    operator_action(state, id, alerts::close_by_operator)
}

fn operator_action(
    state: &AppState,
    id: &str,
    action: fn(AlertRecord, u64) -> Result<AlertRecord, AlertActionError>,
) -> Result<AlertRecord, AdminError> {
    let id = parse_id("al", id).ok_or(AdminError::NotFound("alert"))?;
    state.store.transaction(|txn| {
        let Some(record) = txn.alert(id)? else {
            return Ok(Err(AdminError::NotFound("alert")));
        };
        match action(record, now_ms()) {
            Ok(updated) => {
                txn.save_alert(&updated)?;
                Ok(Ok(updated))
            }
            Err(error) => Ok(Err(AdminError::Conflict(error.to_string()))),
        }
    })?
}

/// Schedules a delivery that was not delivered for an attempt now.
pub fn retry_delivery(state: &AppState, id: &str) -> Result<DeliveryRecord, AdminError> {
    let id = parse_id("dl", id).ok_or(AdminError::NotFound("delivery"))?;
    let record = state.store.transaction(|txn| {
        let Some(mut record) = txn.delivery(id)? else {
            return Ok(Err(AdminError::NotFound("delivery")));
        };
        if record.status == DeliveryStatus::Delivered {
            return Ok(Err(AdminError::Conflict(
                "the delivery was delivered".into(),
            )));
        }
        if state
            .store
            .destination_health(&record.endpoint, record.destination)?
            .is_disabled()
        {
            return Ok(Err(AdminError::Conflict(format!(
                "destination {} of endpoint {} is disabled after consecutive failures; \
                 enable it first",
                record.destination, record.endpoint
            ))));
        }
        let was_due = record.next_attempt_at;
        record.status = DeliveryStatus::Pending;
        record.next_attempt_at = Some(now_ms());
        txn.save_delivery(&record, was_due)?;
        Ok(Ok(record))
    })??;
    state.delivery_wake.notify_one();
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::admin_token_matches;

    #[test]
    fn the_admin_token_matches_only_itself() {
        let token = "0123456789abcdef";
        assert!(admin_token_matches(token, token));
        for presented in [
            "",
            "0123456789abcdee",
            "0123456789abcde",
            "0123456789abcdef0",
            " 0123456789abcdef",
        ] {
            assert!(!admin_token_matches(token, presented), "{presented:?}");
        }
        assert!(
            !admin_token_matches("", ""),
            "an empty token matches nothing"
        );
    }
}
