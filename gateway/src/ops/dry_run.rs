//! Trying an endpoint without storing or sending anything: the dry run on a payload or the
//! provider's sample, and the live preview of a format template.

use super::endpoints::{default_events, get};
use super::{OpsError, Services};
use crate::pipeline;
use crate::runtime::{Message, PluginEvent, PluginKind, PluginSet};
use crate::store::{EndpointRecord, now_ms};
use serde_json::Value;

/// The payload for a dry run or preview: `body` when given, else the provider's sample.
fn payload_or_sample(
    plugins: &PluginSet,
    provider: &str,
    event: &str,
    body: Option<String>,
) -> Result<String, OpsError> {
    let payload = match body {
        Some(body) => body,
        None => plugins
            .get_kind(provider, PluginKind::Provider)
            .ok()
            .and_then(|provider| provider.description().ok())
            .and_then(|description| description.event(event).map(|event| event.sample.clone()))
            .filter(|sample| !sample.is_empty())
            .ok_or_else(|| {
                OpsError::Invalid(format!(
                    "{provider} has no sample for {event:?}; give a body"
                ))
            })?,
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(&payload).is_err() {
        return Err(OpsError::Invalid("body is not JSON".into()));
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
    services: &Services,
    id: &str,
    event: String,
    body: Option<String>,
) -> Result<Value, OpsError> {
    let endpoint = get(services, id)?;
    let plugins = services.registry.snapshot();
    let payload = payload_or_sample(&plugins, &endpoint.provider, &event, body)?;
    let event = test_event(&endpoint, event, payload);
    Ok(pipeline::dry_run(
        &plugins,
        &endpoint,
        &event,
        services.config.twilio.as_ref(),
    ))
}

/// Renders a format template on the provider's sample for `event`, as an endpoint named
/// `endpoint_name` would (the console's live preview).
pub fn preview_template(
    services: &Services,
    provider: &str,
    event: &str,
    template: &str,
    endpoint_name: &str,
) -> Result<Message, OpsError> {
    let plugins = services.registry.snapshot();
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
        escalation_policy: None,
        auto_close_after: None,
        quarantined: Vec::new(),
    };
    let event = test_event(&endpoint, event.to_string(), payload);
    crate::template::render(template, &endpoint, &event).map_err(OpsError::Invalid)
}
