//! Running an endpoint's plugins on an event: the alert mapper and the formatter (or
//! template). Pure: nothing is stored, so a record interrupted before its results are durable
//! is simply evaluated again. Also the dry run, which adds what the notifier would send.

use super::quarantine::Quarantines;
use crate::alerts::{self, AlertChange};
use crate::config::TwilioSettings;
use crate::ids::{format_alert_id, format_delivery_id, format_inbound_id};
use crate::metrics::PluginCall;
use crate::runtime::{
    AlertAction, AlertNotice, LoadedPlugin, Message, Notification, NotificationContext,
    PluginDestination, PluginEvent, PluginKind, PluginSet, RuntimeError,
};
use crate::store::{
    AlertRecord, AlertState, EndpointRecord, FormatSpec, InboundRecord, InboundStatus, Outcome,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// The span of one record's processing, so its log lines (plugin calls among them) can be
/// followed with `RUST_LOG=hookgate=debug`. The fields are formatted only when the span is on.
pub(super) fn record_span(inbound_id: u64, endpoint_id: &str) -> tracing::Span {
    tracing::debug_span!("record", inbound = %format_inbound_id(inbound_id), endpoint = %endpoint_id)
}

/// Records a thread evaluates at least: below this, a second thread costs more than it saves.
const MIN_RECORDS_PER_THREAD: usize = 4;

/// A batch's events with their endpoints (`None` where the record or its endpoint is gone).
pub(super) type BatchWork = [(u64, Option<(Arc<EndpointRecord>, PluginEvent)>)];

/// Evaluates a batch spread over the machine's cores: plugin calls are most of the work and
/// independent of each other, since their results are applied in order afterwards.
pub(super) fn evaluate_batch(
    plugins: &PluginSet,
    work: &BatchWork,
    quarantines: &Quarantines,
) -> Vec<Option<Evaluation>> {
    let evaluate_one = |(id, event): &(u64, Option<(Arc<EndpointRecord>, PluginEvent)>)| {
        event.as_ref().map(|(endpoint, event)| {
            let _record = record_span(*id, &endpoint.id).entered();
            evaluate_watched(plugins, endpoint, event, Some(quarantines))
        })
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |cores| cores.get())
        .min(work.len() / MIN_RECORDS_PER_THREAD)
        .max(1);
    if threads == 1 {
        return work.iter().map(evaluate_one).collect();
    }
    let evaluate_one = &evaluate_one;
    std::thread::scope(|scope| {
        let parts: Vec<_> = work
            .chunks(work.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(evaluate_one).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("an evaluation thread panicked"))
            .collect()
    })
}

/// What the plugins made of a record, before it is applied.
pub struct Evaluation {
    /// Outcomes of the mapper and formatter.
    pub outcomes: Vec<Outcome>,
    /// Alert actions to apply.
    pub actions: Vec<AlertAction>,
    /// The message, if the endpoint formats one.
    pub message: Option<Message>,
    /// Whether a plugin failed.
    pub failed: bool,
    /// Each plugin call, for `/metrics`.
    pub calls: Vec<PluginCall>,
}

/// Runs the endpoint's mapper and formatter (or template) on an event, quarantined plugins
/// too (a dry run shows what they would do). Pure: nothing stored.
pub fn evaluate(plugins: &PluginSet, endpoint: &EndpointRecord, event: &PluginEvent) -> Evaluation {
    evaluate_watched(plugins, endpoint, event, None)
}

/// [`evaluate`], with quarantined plugins failing the record without running, and each call's
/// limit hits counted towards a quarantine.
fn evaluate_watched(
    plugins: &PluginSet,
    endpoint: &EndpointRecord,
    event: &PluginEvent,
    quarantines: Option<&Quarantines>,
) -> Evaluation {
    let quarantined =
        |plugin: &str| quarantines.is_some_and(|q| q.is_quarantined(endpoint, plugin));
    let observe = |plugin: &str, error: Option<&RuntimeError>| {
        if let Some(quarantines) = quarantines {
            quarantines.observe(&endpoint.id, plugin, error);
        }
    };
    let mut evaluation = Evaluation {
        outcomes: Vec::new(),
        actions: Vec::new(),
        message: None,
        failed: false,
        calls: Vec::new(),
    };
    if let Some(mapping) = &endpoint.alerts
        && quarantined(&mapping.plugin)
    {
        evaluation.quarantined(&mapping.plugin);
    } else if let Some(mapping) = &endpoint.alerts {
        let _call = tracing::debug_span!("plugin", plugin = %mapping.plugin, kind = "alert-mapper")
            .entered();
        let started = std::time::Instant::now();
        let result = plugins
            .get_kind(&mapping.plugin, PluginKind::AlertMapper)
            .and_then(|plugin| plugin.map_event(event, &mapping.config.to_string()));
        evaluation.calls.push(PluginCall {
            plugin: mapping.plugin.clone(),
            duration: started.elapsed(),
            failure: result.as_ref().err().map(RuntimeError::failure_kind),
        });
        observe(&mapping.plugin, result.as_ref().err());
        match result {
            Ok(actions) => {
                tracing::debug!(actions = actions.len(), "mapped");
                evaluation.actions = actions;
            }
            Err(error) => evaluation.plugin_failed(&mapping.plugin, &error),
        }
    }
    match &endpoint.format {
        None => {}
        Some(FormatSpec::Plugin(format)) if quarantined(&format.plugin) => {
            evaluation.quarantined(&format.plugin);
        }
        Some(FormatSpec::Plugin(format)) => {
            let _call = tracing::debug_span!("plugin", plugin = %format.plugin, kind = "formatter")
                .entered();
            let started = std::time::Instant::now();
            let result = plugins
                .get_kind(&format.plugin, PluginKind::Formatter)
                .and_then(|plugin| plugin.format(event, &format.config.to_string()));
            evaluation.calls.push(PluginCall {
                plugin: format.plugin.clone(),
                duration: started.elapsed(),
                failure: result.as_ref().err().map(RuntimeError::failure_kind),
            });
            observe(&format.plugin, result.as_ref().err());
            match result {
                Ok(Some(message)) => {
                    tracing::debug!("formatted");
                    evaluation.outcome(&format.plugin, "Formatted", None);
                    evaluation.message = Some(message);
                }
                Ok(None) => evaluation.outcome(
                    &format.plugin,
                    "Not Formatted",
                    Some("the formatter posts nothing for this event".into()),
                ),
                Err(error) => evaluation.plugin_failed(&format.plugin, &error),
            }
        }
        Some(FormatSpec::Template { template }) => {
            match crate::template::render(template, endpoint, event) {
                Ok(message) => {
                    evaluation.outcome("template", "Formatted", None);
                    evaluation.message = Some(message);
                }
                Err(error) => {
                    evaluation.failed = true;
                    evaluation.outcome("template", &format!("Plugin Failed: {error}"), None);
                }
            }
        }
    }
    evaluation
}

impl Evaluation {
    fn outcome(&mut self, plugin: &str, outcome: &str, detail: Option<String>) {
        self.outcomes.push(Outcome {
            plugin: plugin.to_string(),
            outcome: outcome.to_string(),
            detail,
            alert: None,
        });
    }

    /// Fails the record without running `plugin` (counted in `/metrics`, not logged: the
    /// quarantine was, once).
    fn quarantined(&mut self, plugin: &str) {
        self.failed = true;
        let error = RuntimeError::Quarantined;
        self.outcome(plugin, &format!("Plugin Failed: {error}"), None);
    }

    fn plugin_failed(&mut self, plugin: &str, error: &RuntimeError) {
        self.failed = true;
        tracing::warn!(plugin, %error, "plugin failed");
        self.outcome(plugin, &format!("Plugin Failed: {error}"), None);
    }
}

/// The event plugins see for a stored record.
pub fn plugin_event(endpoint: &EndpointRecord, record: &InboundRecord) -> PluginEvent {
    PluginEvent {
        inbound_id: format_inbound_id(record.id),
        endpoint_id: endpoint.id.clone(),
        provider: endpoint.provider.clone(),
        event_key: record.event.clone().unwrap_or_default(),
        headers: record.headers.clone(),
        body: record.body.clone(),
        received_at: record.received_at,
        attempt: record.attempt,
    }
}

/// The notifier's view of an alert.
pub fn notice(record: &AlertRecord) -> AlertNotice {
    AlertNotice {
        id: format_alert_id(record.id),
        alert: record.alert.clone(),
        state: match record.state {
            AlertState::Open => crate::runtime::AlertState::Open,
            AlertState::Acknowledged => crate::runtime::AlertState::Acknowledged,
            AlertState::Closed => crate::runtime::AlertState::Closed,
        },
        count: record.count,
        opened_at: record.opened_at,
        closed_at: record.closed_at,
        acknowledged_by: None,
        escalation_step: None,
        ack_url: None,
    }
}

/// The notifier's view of a destination: everything but its `secret` and `token`, and for
/// `sms` and `voice` the non-secret `[twilio]` settings (`twilio_api_url`,
/// `twilio_account_sid`, `twilio_from`), which replace any such keys the destination has. The
/// auth token stays with the host.
pub fn plugin_destination(
    destination: &crate::store::Destination,
    twilio: Option<&TwilioSettings>,
) -> PluginDestination {
    let mut config = destination.config.clone();
    if crate::config::TWILIO_KINDS.contains(&destination.kind.as_str())
        && let Some(twilio) = twilio
    {
        config.insert("twilio_api_url".into(), json!(twilio.api_url));
        config.insert("twilio_account_sid".into(), json!(twilio.account_sid));
        config.insert("twilio_from".into(), json!(twilio.from));
    }
    PluginDestination {
        kind: destination.kind.clone(),
        url: destination.url.clone(),
        config: Value::Object(config).to_string(),
    }
}

pub(super) fn shape(
    notifier: &Arc<LoadedPlugin>,
    notification: &Notification,
    endpoint: &EndpointRecord,
    source: Option<&InboundRecord>,
    destination: &crate::store::Destination,
    twilio: Option<&TwilioSettings>,
    delivery_id: u64,
) -> Result<Vec<crate::runtime::NotifierOutput>, RuntimeError> {
    let context = NotificationContext {
        endpoint_id: endpoint.id.clone(),
        endpoint_name: endpoint.name.clone(),
        event_key: source
            .and_then(|record| record.event.clone())
            .unwrap_or_default(),
        inbound_id: source
            .map(|record| format_inbound_id(record.id))
            .unwrap_or_default(),
        delivery_id: format_delivery_id(delivery_id),
    };
    let _call =
        tracing::debug_span!("plugin", plugin = %destination.notifier, kind = "notifier").entered();
    notifier.notify(
        notification,
        &context,
        &plugin_destination(destination, twilio),
    )
}

pub(super) fn failed_outcome(plugin: &str, error: &RuntimeError) -> Outcome {
    Outcome {
        plugin: plugin.to_string(),
        outcome: format!("Plugin Failed: {error}"),
        detail: None,
        alert: None,
    }
}

/// A dry run (`POST /endpoints/{id}/test`): the alert actions, the message and the requests
/// that would be sent; nothing stored or sent.
pub fn dry_run(
    plugins: &PluginSet,
    endpoint: &EndpointRecord,
    event: &PluginEvent,
    twilio: Option<&TwilioSettings>,
) -> Value {
    let evaluation = evaluate(plugins, endpoint, event);
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    let record = InboundRecord {
        id: 0,
        endpoint: endpoint.id.clone(),
        received_at: event.received_at,
        event: Some(event.event_key.clone()),
        request_uuid: None,
        attempt: 1,
        status: InboundStatus::Pending,
        reason: None,
        outcomes: Vec::new(),
        headers: Vec::new(),
        body: String::new(),
        body_truncated: false,
        processed_at: None,
        duplicate_of: None,
    };
    let mut notifications: Vec<Notification> = Vec::new();
    for action in &evaluation.actions {
        if let AlertAction::Open { alert } = action {
            let AlertChange::Opened(preview) =
                alerts::apply_open(None, &endpoint.id, alert.clone(), 0, event.received_at)
            else {
                continue;
            };
            notifications.push(Notification::AlertOpened(notice(&preview)));
        }
    }
    if let Some(message) = &evaluation.message {
        notifications.push(Notification::Message(message.clone()));
    }
    for notification in &notifications {
        for destination in &endpoint.destinations {
            match plugins
                .get_kind(&destination.notifier, PluginKind::Notifier)
                .and_then(|notifier| {
                    shape(
                        notifier,
                        notification,
                        endpoint,
                        Some(&record),
                        destination,
                        twilio,
                        0,
                    )
                }) {
                Ok(shaped) => requests.extend(shaped),
                Err(error) => errors.push(format!("{}: {error}", destination.notifier)),
            }
        }
    }
    json!({
        "event": event.event_key,
        "actions": evaluation.actions,
        "message": evaluation.message,
        "outcomes": evaluation.outcomes,
        "requests": requests,
        "errors": errors,
    })
}
