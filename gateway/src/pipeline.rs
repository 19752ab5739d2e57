//! The processing worker: takes pending inbound records from the durable queue, runs the
//! endpoint's alert mapper and formatter (or template), applies the alert actions to alert
//! state, asks the notifier for the requests, and stores outcomes, alert changes and
//! deliveries in one transaction — so each record is applied exactly once, even across a crash
//! (plugins are pure: a record interrupted before its commit is durable is simply run again).
//! Those commits ride on the next durable commit instead of paying an fsync each
//! ([`crate::store::Store::transaction_deferred`]).
//!
//! One worker, in arrival order: a FAILED and the SUCCESSFUL after it must reach alert state in
//! that order.

use crate::alerts::{self, AlertChange};
use crate::ids::{format_alert_id, format_delivery_id, format_inbound_id};
use crate::metrics::PluginCall;
use crate::runtime::{
    AlertAction, AlertNotice, LoadedPlugin, Message, Notification, NotificationContext,
    PluginDestination, PluginEvent, PluginKind, PluginSet, RuntimeError,
};
use crate::server::AppState;
use crate::store::{
    AlertRecord, AlertState, DeliveryRecord, DeliveryStatus, EndpointRecord, FormatSpec,
    InboundRecord, InboundStatus, Outcome, StoreError, StoreTxn, now_ms,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Records taken from the queue per pass.
const BATCH: usize = 64;

/// Runs until the process stops: processes what is queued, then waits to be woken (or polls).
pub async fn run(state: Arc<AppState>) {
    loop {
        let queued = {
            let store = state.store.clone();
            tokio::task::spawn_blocking(move || store.queued_inbound(BATCH)).await
        };
        let ids = match queued {
            Ok(Ok(ids)) => ids,
            Ok(Err(error)) => {
                tracing::error!(%error, "reading the processing queue");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        };
        if ids.is_empty() {
            let _ =
                tokio::time::timeout(Duration::from_secs(1), state.pipeline_wake.notified()).await;
            continue;
        }
        let worker_state = state.clone();
        let first = ids[0];
        let processed =
            tokio::task::spawn_blocking(move || process_batch(&worker_state, &ids)).await;
        match processed {
            Ok(Ok(count)) => {
                state.backlog.fetch_sub(count as u64, Ordering::Relaxed);
            }
            Ok(Err(error)) => {
                // Nothing of the batch was committed: it is still queued and runs again.
                tracing::error!(%error, first_inbound = first, "processing failed; will retry");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(_) => return,
        }
        state.delivery_wake.notify_one();
    }
}

/// Records a thread evaluates at least: below this, a second thread costs more than it saves.
const MIN_RECORDS_PER_THREAD: usize = 4;

/// A batch's events with their endpoints (`None` where the record or its endpoint is gone).
type BatchWork = [(u64, Option<(Arc<EndpointRecord>, PluginEvent)>)];

/// Evaluates a batch spread over the machine's cores: plugin calls are most of the work and
/// independent of each other, since their results are applied in order afterwards.
fn evaluate_batch(plugins: &PluginSet, work: &BatchWork) -> Vec<Option<Evaluation>> {
    let evaluate_one = |(_, event): &(u64, Option<(Arc<EndpointRecord>, PluginEvent)>)| {
        event
            .as_ref()
            .map(|(endpoint, event)| evaluate(plugins, endpoint, event))
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

/// Runs the endpoint's mapper and formatter (or template) on an event. Pure: nothing stored.
pub fn evaluate(plugins: &PluginSet, endpoint: &EndpointRecord, event: &PluginEvent) -> Evaluation {
    let mut evaluation = Evaluation {
        outcomes: Vec::new(),
        actions: Vec::new(),
        message: None,
        failed: false,
        calls: Vec::new(),
    };
    if let Some(mapping) = &endpoint.alerts {
        let started = std::time::Instant::now();
        let result = plugins
            .get_kind(&mapping.plugin, PluginKind::AlertMapper)
            .and_then(|plugin| plugin.map_event(event, &mapping.config.to_string()));
        evaluation.calls.push(PluginCall {
            plugin: mapping.plugin.clone(),
            duration: started.elapsed(),
            failure: result.as_ref().err().map(RuntimeError::failure_kind),
        });
        match result {
            Ok(actions) => evaluation.actions = actions,
            Err(error) => evaluation.plugin_failed(&mapping.plugin, &error),
        }
    }
    match &endpoint.format {
        None => {}
        Some(FormatSpec::Plugin(format)) => {
            let started = std::time::Instant::now();
            let result = plugins
                .get_kind(&format.plugin, PluginKind::Formatter)
                .and_then(|plugin| plugin.format(event, &format.config.to_string()));
            evaluation.calls.push(PluginCall {
                plugin: format.plugin.clone(),
                duration: started.elapsed(),
                failure: result.as_ref().err().map(RuntimeError::failure_kind),
            });
            match result {
                Ok(Some(message)) => {
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

/// Processes a batch of queued records: each is evaluated by its plugins outside any
/// transaction (plugins are pure, and run on every core), then all are applied in one
/// transaction, in arrival order — later records see the alert changes of earlier ones. Returns how
/// many records left the queue.
fn process_batch(state: &AppState, ids: &[u64]) -> Result<usize, StoreError> {
    let plugins = state.registry.snapshot();
    let mut work = Vec::with_capacity(ids.len());
    for (&id, record) in ids.iter().zip(state.store.inbound_many(ids)?) {
        let endpoint = match &record {
            Some(record) => state.store.shared_endpoint(&record.endpoint)?,
            None => None,
        };
        let event = record.zip(endpoint).map(|(record, endpoint)| {
            let event = plugin_event(&endpoint, &record);
            (endpoint, event)
        });
        work.push((id, event));
    }
    let evaluations = evaluate_batch(&plugins, &work);
    let mut evaluated = Vec::with_capacity(work.len());
    for ((id, event), evaluation) in work.into_iter().zip(evaluations) {
        let applicable = event.zip(evaluation).map(|((endpoint, _), evaluation)| {
            for call in &evaluation.calls {
                state.metrics.observe_plugin_call(call);
            }
            (endpoint, evaluation)
        });
        evaluated.push((id, applicable));
    }
    let started = now_ms();
    state.store.transaction_deferred(|txn| {
        for (id, work) in &evaluated {
            match work {
                Some((endpoint, evaluation)) => {
                    apply(txn, &plugins, endpoint, evaluation, *id, started)?
                }
                None => txn.dequeue(*id)?,
            }
        }
        Ok(())
    })?;
    Ok(ids.len())
}

/// Applies one evaluated record: alert actions to alert state, deliveries for the notifications,
/// outcomes and status on the record, and takes it off the queue.
fn apply(
    txn: &mut StoreTxn<'_>,
    plugins: &PluginSet,
    endpoint: &EndpointRecord,
    evaluation: &Evaluation,
    id: u64,
    started: u64,
) -> Result<(), StoreError> {
    let Some(mut record) = txn.inbound(id)? else {
        return txn.dequeue(id);
    };
    let mut outcomes = Vec::new();
    let mut notifications = Vec::new();
    let mapper = endpoint
        .alerts
        .as_ref()
        .map_or("", |mapping| mapping.plugin.as_str());
    for action in &evaluation.actions {
        match action {
            AlertAction::Ignore { reason } => outcomes.push(Outcome {
                plugin: mapper.to_string(),
                outcome: format!("Ignored: {reason}"),
                detail: None,
                alert: None,
            }),
            AlertAction::Open { alert } => {
                let existing = txn.open_alert(&endpoint.id, &alert.key)?;
                let change = alerts::apply_open(existing, &endpoint.id, alert.clone(), id, started);
                outcomes.push(apply_change(
                    txn,
                    mapper,
                    &alert.key,
                    change,
                    &mut notifications,
                )?);
            }
            AlertAction::Close { key } => {
                let existing = txn.open_alert(&endpoint.id, key)?;
                let change = alerts::apply_close(existing, id, started);
                outcomes.push(apply_change(txn, mapper, key, change, &mut notifications)?);
            }
        }
    }
    outcomes.extend(evaluation.outcomes.iter().cloned());
    if let Some(message) = &evaluation.message {
        notifications.push(Notification::Message(message.clone()));
    }
    let mut failed = evaluation.failed;
    for notification in &notifications {
        if let Err(outcome) = queue_deliveries(txn, plugins, endpoint, &record, notification) {
            failed = true;
            outcomes.push(outcome);
        }
    }
    record.outcomes = outcomes;
    record.status = if failed {
        InboundStatus::Failed
    } else {
        InboundStatus::Processed
    };
    record.processed_at = Some(now_ms());
    txn.save_inbound(&record)?;
    txn.dequeue(id)
}

/// Stores an alert change and returns its outcome; opened and closed alerts are notified.
fn apply_change(
    txn: &mut StoreTxn<'_>,
    mapper: &str,
    key: &str,
    change: AlertChange,
    notifications: &mut Vec<Notification>,
) -> Result<Outcome, StoreError> {
    let outcome = change.outcome().to_string();
    let alert_id = match change {
        AlertChange::Opened(mut record) => {
            txn.insert_alert(&mut record)?;
            notifications.push(Notification::AlertOpened(notice(&record)));
            Some(record.id)
        }
        AlertChange::Appended(record) => {
            txn.save_alert(&record)?;
            Some(record.id)
        }
        AlertChange::Closed(record) => {
            txn.save_alert(&record)?;
            notifications.push(Notification::AlertClosed(notice(&record)));
            Some(record.id)
        }
        AlertChange::CloseUnmatched => None,
    };
    Ok(Outcome {
        plugin: mapper.to_string(),
        outcome,
        detail: Some(key.to_string()),
        alert: alert_id.map(format_alert_id),
    })
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
    }
}

/// The notifier's view of a destination: everything but the secret.
pub fn plugin_destination(destination: &crate::store::Destination) -> PluginDestination {
    PluginDestination {
        kind: destination.kind.clone(),
        url: destination.url.clone(),
        config: Value::Object(destination.config.clone()).to_string(),
    }
}

/// Asks each destination's notifier for its requests and stores one delivery per request,
/// due now. A notifier failure is the record's outcome.
fn queue_deliveries(
    txn: &mut StoreTxn<'_>,
    plugins: &PluginSet,
    endpoint: &EndpointRecord,
    record: &InboundRecord,
    notification: &Notification,
) -> Result<(), Outcome> {
    let now = now_ms();
    for (index, destination) in endpoint.destinations.iter().enumerate() {
        let notifier = plugins
            .get_kind(&destination.notifier, PluginKind::Notifier)
            .map_err(|error| failed_outcome(&destination.notifier, &error))?;
        let first_id = txn.reserve_delivery_id().map_err(|error| Outcome {
            plugin: destination.notifier.clone(),
            outcome: format!("Plugin Failed: storing the delivery: {error}"),
            detail: None,
            alert: None,
        })?;
        let requests = shape(
            notifier,
            notification,
            endpoint,
            record,
            destination,
            first_id,
        )
        .map_err(|error| failed_outcome(&destination.notifier, &error))?;
        for (position, request) in requests.into_iter().enumerate() {
            let mut delivery = DeliveryRecord {
                id: if position == 0 { first_id } else { 0 },
                endpoint: endpoint.id.clone(),
                inbound_id: Some(record.id),
                destination: index,
                kind: destination.kind.clone(),
                notification: notification_type(notification).to_string(),
                status: DeliveryStatus::Pending,
                request,
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
            };
            txn.insert_delivery(&mut delivery)
                .map_err(|error| Outcome {
                    plugin: destination.notifier.clone(),
                    outcome: format!("Plugin Failed: storing the delivery: {error}"),
                    detail: None,
                    alert: None,
                })?;
        }
    }
    Ok(())
}

fn shape(
    notifier: &Arc<LoadedPlugin>,
    notification: &Notification,
    endpoint: &EndpointRecord,
    record: &InboundRecord,
    destination: &crate::store::Destination,
    delivery_id: u64,
) -> Result<Vec<crate::runtime::OutboundRequest>, RuntimeError> {
    let context = NotificationContext {
        endpoint_id: endpoint.id.clone(),
        endpoint_name: endpoint.name.clone(),
        event_key: record.event.clone().unwrap_or_default(),
        inbound_id: format_inbound_id(record.id),
        delivery_id: format_delivery_id(delivery_id),
    };
    notifier.notify(notification, &context, &plugin_destination(destination))
}

fn notification_type(notification: &Notification) -> &'static str {
    match notification {
        Notification::Message(_) => "message",
        Notification::AlertOpened(_) => "alert.opened",
        Notification::AlertClosed(_) => "alert.closed",
    }
}

fn failed_outcome(plugin: &str, error: &RuntimeError) -> Outcome {
    Outcome {
        plugin: plugin.to_string(),
        outcome: format!("Plugin Failed: {error}"),
        detail: None,
        alert: None,
    }
}

/// A dry run (`POST /endpoints/{id}/test`): the alert actions, the message and the requests
/// that would be sent; nothing stored or sent.
pub fn dry_run(plugins: &PluginSet, endpoint: &EndpointRecord, event: &PluginEvent) -> Value {
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
                    shape(notifier, notification, endpoint, &record, destination, 0)
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
