//! Endpoints: create (validated against the loaded plugins; the secret is returned once),
//! list, show, change, disable, rotate the secret, enable a destination disabled after
//! failures.

use super::{OpsError, Services};
use crate::config::{MIN_ENDPOINT_SECRET_BYTES, RateLimit, ValidatedConfig, parse_duration};
use crate::ids::{random_hex, random_id};
use crate::runtime::{PluginKind, PluginSet};
use crate::store::{
    BitbucketLink, Destination, DirectoryKind, EndpointRecord, EventSelection, FormatSpec,
    PluginQuarantine, PluginRef, QuarantineChange, now_ms,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

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
    /// The escalation policy (`ep_<n>`, which must exist) paged when an alert opens.
    #[serde(default)]
    pub escalation_policy: Option<String>,
    /// Close an alert that has seen no open for this long (`30m`, `2h`; at least `1m`).
    #[serde(default)]
    pub auto_close_after: Option<String>,
}

/// The shortest `auto_close_after`: a quieter alert than that is not yet over.
pub const AUTO_CLOSE_MIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the on-call settings: the policy exists, the quiet period is a duration of at
/// least [`AUTO_CLOSE_MIN`].
fn check_on_call(services: &Services, input: &EndpointInput) -> Result<(), OpsError> {
    if let Some(policy) = &input.escalation_policy {
        let found = services.store.directory_entry(policy)?;
        if !found.is_some_and(|entry| entry.kind == DirectoryKind::EscalationPolicy) {
            return Err(OpsError::Invalid(format!(
                "escalation_policy: no escalation policy {policy:?}"
            )));
        }
    }
    if let Some(quiet) = &input.auto_close_after {
        auto_close_after(quiet)?;
    }
    Ok(())
}

/// An `auto_close_after` text as a duration; 422 naming the field when it is not one of at
/// least [`AUTO_CLOSE_MIN`].
pub fn auto_close_after(text: &str) -> Result<std::time::Duration, OpsError> {
    match parse_duration(text) {
        Some(quiet) if quiet >= AUTO_CLOSE_MIN => Ok(quiet),
        Some(_) => Err(OpsError::Invalid(format!(
            "auto_close_after: {text:?} is shorter than 1m"
        ))),
        None => Err(OpsError::Invalid(format!(
            "auto_close_after: {text:?} is not a duration like 30m or 2h"
        ))),
    }
}

/// The directory's write lock when the input names a policy, so that the policy cannot be
/// deleted between the check and the save.
fn lock_if_naming_a_policy<'a>(
    services: &'a Services,
    input: &EndpointInput,
) -> Option<std::sync::MutexGuard<'a, ()>> {
    (input.escalation_policy.is_some()).then(|| super::directory::write_lock(services))
}

pub(super) fn default_provider() -> String {
    "bitbucket".into()
}

pub(super) fn default_events() -> EventSelection {
    EventSelection::Keyword("all".into())
}

/// Checks an input against the loaded plugins; returns the resolved event list.
pub fn validate_endpoint(
    input: &EndpointInput,
    plugins: &PluginSet,
    config: &ValidatedConfig,
) -> Result<Vec<String>, OpsError> {
    let invalid = |message: String| OpsError::Invalid(message);
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
                return Err(OpsError::UnknownEvent {
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
        super::destinations::validate(destination, index, config)?;
    }
    Ok(events)
}

/// The endpoint with this id.
pub fn get(services: &Services, id: &str) -> Result<EndpointRecord, OpsError> {
    services
        .store
        .endpoint(id)?
        .map(|endpoint| (*endpoint).clone())
        .ok_or(OpsError::NotFound("endpoint"))
}

/// Every endpoint, newest first.
pub fn list(services: &Services) -> Result<Vec<EndpointRecord>, OpsError> {
    Ok(services.store.endpoints()?)
}

/// Creates an endpoint; returns it and its secret (shown this once).
pub fn create(
    services: &Services,
    input: EndpointInput,
) -> Result<(EndpointRecord, String), OpsError> {
    let _writing = lock_if_naming_a_policy(services, &input);
    let (endpoint, secret) = new_endpoint(services, input)?;
    services.store.save_endpoint(&endpoint)?;
    Ok((endpoint, secret))
}

/// A validated endpoint with a fresh id, not yet saved; returns it and its secret.
pub fn new_endpoint(
    services: &Services,
    input: EndpointInput,
) -> Result<(EndpointRecord, String), OpsError> {
    let plugins = services.registry.snapshot();
    let events = validate_endpoint(&input, &plugins, &services.config)?;
    check_on_call(services, &input)?;
    if let Some(secret) = &input.secret {
        check_secret(secret)?;
    }
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
        escalation_policy: input.escalation_policy,
        auto_close_after: input.auto_close_after,
        quarantined: Vec::new(),
    };
    Ok((endpoint, secret))
}

/// A given signing secret must carry at least [`MIN_ENDPOINT_SECRET_BYTES`] key bytes (a
/// `whsec_` secret's decoded key): a short one is guessed offline from a single signed
/// request. Checked on create only, so endpoints saved before keep working (the gateway warns
/// about them at start).
fn check_secret(secret: &str) -> Result<(), OpsError> {
    let bytes = crate::verify::secret_key_bytes(secret);
    if bytes < MIN_ENDPOINT_SECRET_BYTES {
        return Err(OpsError::Invalid(format!(
            "secret must be at least {MIN_ENDPOINT_SECRET_BYTES} bytes (this one has {bytes}); \
             leave it out to have a random one generated"
        )));
    }
    Ok(())
}

/// Applies the given keys over the current endpoint and validates the whole again.
/// Destinations keep their secrets unless the change gives new ones.
pub fn change(
    services: &Services,
    id: &str,
    patch: Map<String, Value>,
) -> Result<EndpointRecord, OpsError> {
    if patch.contains_key("secret") {
        return Err(OpsError::Invalid(
            "the secret is changed with POST /endpoints/{id}/rotate-secret".into(),
        ));
    }
    let current = get(services, id)?;
    let mut merged: Map<String, Value> = Map::new();
    merged.insert("name".into(), json!(current.name));
    merged.insert("provider".into(), json!(current.provider));
    merged.insert("events".into(), json!(current.selection));
    merged.insert("alerts".into(), json!(current.alerts));
    merged.insert("format".into(), json!(current.format));
    merged.insert("destinations".into(), json!(current.destinations));
    merged.insert("enabled".into(), json!(current.enabled));
    merged.insert("rate_limit".into(), json!(current.rate_limit));
    merged.insert("escalation_policy".into(), json!(current.escalation_policy));
    merged.insert("auto_close_after".into(), json!(current.auto_close_after));
    merged.extend(patch);
    let input: EndpointInput = serde_json::from_value(Value::Object(merged))
        .map_err(|error| OpsError::Invalid(format!("invalid endpoint: {error}")))?;
    let events = validate_endpoint(&input, &services.registry.snapshot(), &services.config)?;
    let _writing = lock_if_naming_a_policy(services, &input);
    check_on_call(services, &input)?;
    let mut destinations = input.destinations;
    for (index, destination) in destinations.iter_mut().enumerate() {
        let before = current.destinations.get(index);
        if destination.secret.is_none() {
            destination.secret = before.and_then(|d| d.secret.clone());
        }
        // A token is kept only for the same topic: a new URL must not inherit it.
        if destination.token.is_none() {
            destination.token = before
                .filter(|d| d.kind == destination.kind && d.url == destination.url)
                .and_then(|d| d.token.clone());
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
        escalation_policy: input.escalation_policy,
        auto_close_after: input.auto_close_after,
        ..current
    };
    services.store.save_endpoint(&endpoint)?;
    // A destination given a new address starts with a clean record.
    for (index, before) in current.destinations.iter().enumerate() {
        let replaced = endpoint.destinations.get(index).is_none_or(|after| {
            after.url != before.url
                || after.kind != before.kind
                || after.config.get("to") != before.config.get("to")
        });
        if replaced && services.store.reset_destination_health(id, index)? {
            services.metrics.destination_enabled();
        }
    }
    Ok(endpoint)
}

/// Enables a destination that consecutive failures disabled, and forgets its failures. Its
/// deliveries failed meanwhile stay failed; retry them by hand.
pub fn enable_destination(
    services: &Services,
    id: &str,
    index: usize,
) -> Result<EndpointRecord, OpsError> {
    let endpoint = get(services, id)?;
    if index >= endpoint.destinations.len() {
        return Err(OpsError::NotFound("destination"));
    }
    if services.store.reset_destination_health(id, index)? {
        services.metrics.destination_enabled();
        tracing::info!(endpoint = %id, destination = index, "destination enabled again");
    }
    Ok(endpoint)
}

/// Releases a plugin quarantined for an endpoint: its next records run it again (those failed
/// meanwhile stay failed; replay them). Releasing a plugin that is not quarantined changes
/// nothing.
pub fn release_plugin(
    services: &Services,
    id: &str,
    plugin: &str,
) -> Result<EndpointRecord, OpsError> {
    get(services, id)?;
    let release = QuarantineChange::Release(plugin.to_string());
    if services.store.change_quarantine(id, &release)? {
        services.metrics.plugin_released();
        tracing::info!(endpoint = %id, plugin, "quarantined plugin released");
    }
    get(services, id)
}

/// Disables an endpoint: history is kept; its URL answers 410.
pub fn disable(services: &Services, id: &str) -> Result<EndpointRecord, OpsError> {
    let mut endpoint = get(services, id)?;
    endpoint.enabled = false;
    services.store.save_endpoint(&endpoint)?;
    Ok(endpoint)
}

/// A new signing secret; returns the endpoint and the secret (shown this once).
pub fn rotate_secret(services: &Services, id: &str) -> Result<(EndpointRecord, String), OpsError> {
    let mut endpoint = get(services, id)?;
    let secret = random_hex(32);
    endpoint.secret = Some(secret.clone());
    services.store.save_endpoint(&endpoint)?;
    Ok((endpoint, secret))
}

/// An endpoint as the API shows it, with each destination's failure count and whether it is
/// disabled: never the secrets. The API, the console and the OpenAPI document all use this
/// type, so a field added here shows up in each.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointView {
    /// Unguessable id (the URL is `/hooks/{id}`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Provider plugin.
    pub provider: String,
    /// The selection resolved against the provider's events.
    pub events: Vec<String>,
    /// The selection as given.
    pub selection: EventSelection,
    /// Where the provider posts.
    pub url: String,
    /// Whether a signing secret is set (it is never shown after creation).
    pub secret_set: bool,
    /// Disabled endpoints answer 410.
    pub enabled: bool,
    /// Alert mapping.
    #[schema(required = true)]
    pub alerts: Option<PluginRef>,
    /// Message formatting.
    #[schema(required = true)]
    pub format: Option<FormatSpec>,
    /// Destinations, in order (their index is the one `destinations/{index}` routes take).
    pub destinations: Vec<DestinationView>,
    /// Creation time, ms.
    pub created_at: u64,
    /// This endpoint's rate limit; `[ingest]`'s when null.
    #[schema(required = true)]
    pub rate_limit: Option<RateLimit>,
    /// The Bitbucket webhook that posts here, when `bitbucket connect` made it.
    #[schema(required = true)]
    pub bitbucket: Option<BitbucketLink>,
    /// How it was connected to Bitbucket, when it was (an OAuth connection's tokens stay in
    /// the store, never answered).
    #[schema(required = true)]
    pub bitbucket_connection: Option<BitbucketConnectionView>,
    /// The escalation policy (`ep_<n>`) paged when an alert opens here.
    #[schema(required = true)]
    pub escalation_policy: Option<String>,
    /// Alerts without an open for this long are closed by timeout (`30m`, `2h`).
    #[schema(required = true)]
    pub auto_close_after: Option<String>,
    /// Plugins quarantined here after hitting their time or memory limit on
    /// `[plugins] quarantine_after` records in a row: its records fail with "plugin
    /// quarantined" without running them until released
    /// (`POST /endpoints/{id}/plugins/{name}/release`).
    pub quarantined: Vec<PluginQuarantine>,
    /// The signing secret: only in the answers of a create and a secret rotation, shown that
    /// once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// How an endpoint was connected to Bitbucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BitbucketConnectionView {
    /// `oauth` (Connect Bitbucket: its tokens are kept, sealed, for Disconnect) or `token` (a
    /// pasted token, asked for again to disconnect).
    pub kind: &'static str,
}

/// A destination as the API shows it: its settings without `secret` or `token`, and its health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationView {
    /// The notifier plugin.
    pub notifier: String,
    /// `discord`, `slack`, `webhook`, `sms`, `voice`, `ntfy`, ...
    pub kind: String,
    /// Receiver URL; empty for `sms` and `voice`.
    pub url: String,
    /// Whether requests are signed (the secret is never shown after creation).
    pub secret_set: bool,
    /// For `ntfy` (or when a token is set): whether an access token is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_set: Option<bool>,
    /// Failed attempts since the last success (or since it was enabled).
    pub consecutive_failures: u32,
    /// When it was disabled after consecutive failures, ms.
    #[schema(required = true)]
    pub disabled_at: Option<u64>,
    /// Why it was disabled.
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    /// Other settings, passed to the notifier.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

impl EndpointView {
    /// The view of `endpoint`, with each destination's health from the store.
    pub fn of(services: &Services, endpoint: &EndpointRecord) -> Self {
        let health = services
            .store
            .endpoint_destination_health(&endpoint.id)
            .unwrap_or_else(|error| {
                tracing::error!(%error, "reading destination health");
                Default::default()
            });
        let destinations = endpoint
            .destinations
            .iter()
            .enumerate()
            .map(|(index, destination)| {
                let health = health.get(&index).cloned().unwrap_or_default();
                DestinationView {
                    notifier: destination.notifier.clone(),
                    kind: destination.kind.clone(),
                    url: destination.url.clone(),
                    secret_set: destination.secret.is_some(),
                    token_set: (destination.kind == "ntfy" || destination.token.is_some())
                        .then_some(destination.token.is_some()),
                    consecutive_failures: health.consecutive_failures,
                    disabled_at: health.disabled_at,
                    disabled_reason: health.disabled_reason,
                    config: destination.config.clone(),
                }
            })
            .collect();
        Self {
            id: endpoint.id.clone(),
            name: endpoint.name.clone(),
            provider: endpoint.provider.clone(),
            events: endpoint.events.clone(),
            selection: endpoint.selection.clone(),
            url: format!("{}/hooks/{}", services.config.public_url, endpoint.id),
            secret_set: endpoint.secret.is_some(),
            enabled: endpoint.enabled,
            alerts: endpoint.alerts.clone(),
            format: endpoint.format.clone(),
            destinations,
            created_at: endpoint.created_at,
            rate_limit: endpoint.rate_limit,
            bitbucket: endpoint.bitbucket.clone(),
            bitbucket_connection: endpoint
                .bitbucket
                .as_ref()
                .map(|link| BitbucketConnectionView {
                    kind: if link.oauth { "oauth" } else { "token" },
                }),
            escalation_policy: endpoint.escalation_policy.clone(),
            auto_close_after: endpoint.auto_close_after.clone(),
            quarantined: endpoint.quarantined.clone(),
            secret: None,
        }
    }

    /// The view with the secret, shown this once (a create, a rotation).
    pub fn with_secret(mut self, secret: String) -> Self {
        self.secret = Some(secret);
        self
    }
}

/// [`EndpointView`] as JSON, for the console's templates.
pub fn view(services: &Services, endpoint: &EndpointRecord) -> Value {
    serde_json::to_value(EndpointView::of(services, endpoint)).unwrap_or(Value::Null)
}

/// Endpoint names by id, for tables.
pub fn names(services: &Services) -> Result<std::collections::HashMap<String, String>, OpsError> {
    Ok(services
        .store
        .endpoints()?
        .into_iter()
        .map(|endpoint| (endpoint.id, endpoint.name))
        .collect())
}

/// The name of the endpoint with this id, if there is one (for pages that show a record).
pub fn name_of(services: &Services, id: &str) -> Option<String> {
    services
        .store
        .endpoint(id)
        .ok()
        .flatten()
        .map(|endpoint| endpoint.name.clone())
}
