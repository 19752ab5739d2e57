//! Planning a batch's writes, outside any transaction: the alert actions are applied to the
//! alert state read from the store (and to the changes of earlier records of the batch), and
//! the notifier shapes the requests of each notification with delivery ids reserved first. The
//! result is one [`ProcessedBatch`] for the store to apply.
//!
//! An alert a maintenance window matches opens, appends and closes as usual, but nobody is paged
//! and no destination is told: the record's outcome says `Silenced` and names the window.

use super::evaluate::{Evaluation, failed_outcome, notice};
use crate::alerts::{self, AlertChange};
use crate::config::TwilioSettings;
use crate::ids::format_alert_id;
use crate::ops::maintenance::{WindowRule, matching_window};
use crate::runtime::{AlertAction, Notification, PluginSet};
use crate::store::{
    AlertRecord, AlertWrite, EndpointRecord, IdKind, InboundRecord, InboundStatus, Outcome,
    ProcessedBatch, ProcessedRecord, Store, StoreError, now_ms,
};
use std::collections::HashMap;

/// One record of a batch, evaluated: its endpoint and what the plugins made of it (`None`
/// when its endpoint is gone: it only leaves the queue).
pub(super) struct Evaluated<'a> {
    pub record: &'a InboundRecord,
    pub work: Option<(&'a EndpointRecord, &'a Evaluation)>,
}

/// Plans the writes of a batch, in arrival order: later records see the alert changes of
/// earlier ones.
pub(super) fn plan_batch(
    store: &dyn Store,
    plugins: &PluginSet,
    twilio: Option<&TwilioSettings>,
    batch: &[Evaluated<'_>],
) -> Result<ProcessedBatch, StoreError> {
    let mut planner = Planner {
        store,
        plugins,
        twilio,
        now: now_ms(),
        windows: None,
        current: HashMap::new(),
        written: HashMap::new(),
        batch: ProcessedBatch::default(),
    };
    for evaluated in batch {
        let result = match evaluated.work {
            Some((endpoint, evaluation)) => {
                let _record =
                    super::evaluate::record_span(evaluated.record.id, &endpoint.id).entered();
                planner.plan_record(endpoint, evaluated.record, evaluation)?
            }
            None => ProcessedRecord {
                id: evaluated.record.id,
                status: None,
                outcomes: Vec::new(),
                processed_at: planner.now,
            },
        };
        planner.batch.records.push(result);
    }
    Ok(planner.batch)
}

struct Planner<'a> {
    store: &'a dyn Store,
    plugins: &'a PluginSet,
    /// The non-secret `[twilio]` settings the notifier gets for sms and voice.
    twilio: Option<&'a TwilioSettings>,
    now: u64,
    /// The maintenance windows, read when the batch first touches an alert.
    windows: Option<Vec<WindowRule>>,
    /// The open alert of each key touched so far, as planned.
    current: HashMap<(String, String), Option<AlertRecord>>,
    /// Alert id → its position in `batch.alerts`.
    written: HashMap<u64, usize>,
    batch: ProcessedBatch,
}

impl Planner<'_> {
    fn plan_record(
        &mut self,
        endpoint: &EndpointRecord,
        record: &InboundRecord,
        evaluation: &Evaluation,
    ) -> Result<ProcessedRecord, StoreError> {
        let mut outcomes = Vec::new();
        let mut notifications = Vec::new();
        let mapper = endpoint
            .alerts
            .as_ref()
            .map_or("", |mapping| mapping.plugin.as_str());
        for action in &evaluation.actions {
            let (key, change, silenced) = match action {
                AlertAction::Ignore { reason } => {
                    outcomes.push(outcome(mapper, format!("Ignored: {reason}"), None, None));
                    continue;
                }
                AlertAction::Open { alert } => {
                    let silenced = self.silencing_window(&endpoint.id, &alert.key)?;
                    let existing = self.open_alert(&endpoint.id, &alert.key)?;
                    let existing = self.with_replay_known(existing, record.id)?;
                    let mut change = alerts::apply_open(
                        existing,
                        &endpoint.id,
                        alert.clone(),
                        record.id,
                        self.now,
                    );
                    // A new alert on an endpoint with a policy starts paging people, unless
                    // a maintenance window silences it.
                    if let (AlertChange::Opened(opened), Some(policy), None) =
                        (&mut change, &endpoint.escalation_policy, &silenced)
                    {
                        super::escalation::start_escalation(opened, policy, self.now);
                    }
                    (&alert.key, change, silenced)
                }
                AlertAction::Close { key } => {
                    let silenced = self.silencing_window(&endpoint.id, key)?;
                    let existing = self.open_alert(&endpoint.id, key)?;
                    (
                        key,
                        alerts::apply_close(existing, record.id, self.now),
                        silenced,
                    )
                }
            };
            let wording = change.outcome().to_string();
            let mut told = Vec::new();
            let alert_id = self.apply_change(&endpoint.id, key, change, &mut told)?;
            let alert_label = alert_id.map(format_alert_id);
            outcomes.push(outcome(
                mapper,
                wording,
                Some(key.clone()),
                alert_label.clone(),
            ));
            match silenced {
                Some(window) if !told.is_empty() => {
                    tracing::info!(alert = ?alert_label, window = %window, "silenced");
                    outcomes.push(outcome(
                        mapper,
                        "Silenced".into(),
                        Some(window),
                        alert_label,
                    ));
                }
                _ => notifications.extend(told),
            }
        }
        outcomes.extend(evaluation.outcomes.iter().cloned());
        if let Some(message) = &evaluation.message {
            notifications.push(Notification::Message(message.clone()));
        }
        let mut failed = evaluation.failed;
        for notification in &notifications {
            if let Err(outcome) = self.plan_deliveries(endpoint, record, notification)? {
                failed = true;
                outcomes.push(outcome);
            }
        }
        let status = if failed {
            InboundStatus::Failed
        } else {
            InboundStatus::Processed
        };
        tracing::debug!(
            status = status.as_str(),
            outcomes = ?outcomes.iter().map(|outcome| outcome.outcome.as_str()).collect::<Vec<_>>(),
            "planned"
        );
        Ok(ProcessedRecord {
            id: record.id,
            status: Some(status),
            outcomes,
            processed_at: now_ms(),
        })
    }

    /// The maintenance window that silences an alert of `key` on `endpoint` now, if one does.
    fn silencing_window(
        &mut self,
        endpoint: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let windows = match &self.windows {
            Some(windows) => windows,
            None => self
                .windows
                .insert(crate::ops::maintenance::stored_rules(self.store)?),
        };
        let at = jiff::Timestamp::from_millisecond(self.now as i64).unwrap_or(jiff::Timestamp::MAX);
        Ok(matching_window(windows, endpoint, key, at).map(str::to_owned))
    }

    /// The open alert of a key as planned so far; the first look reads the store and becomes
    /// one of the batch's expectations.
    fn open_alert(&mut self, endpoint: &str, key: &str) -> Result<Option<AlertRecord>, StoreError> {
        let scope = (endpoint.to_string(), key.to_string());
        if let Some(current) = self.current.get(&scope) {
            return Ok(current.clone());
        }
        let stored = self.store.open_alert(endpoint, key)?;
        self.batch.expected_open.push((
            scope.clone(),
            stored.as_ref().map(|alert| (alert.id, alert.revision)),
        ));
        self.current.insert(scope, stored.clone());
        Ok(stored)
    }

    /// The alert with `inbound` in its history when the store has it there. An alert read for
    /// processing holds only the newest entry of its history, and only a record older than
    /// that one (a replay) can be among the others: only then is the store asked, so a replay
    /// of an old record is still seen as applied.
    fn with_replay_known(
        &self,
        existing: Option<AlertRecord>,
        inbound: u64,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let Some(mut alert) = existing else {
            return Ok(None);
        };
        let older_than_newest = alert.history.iter().any(|&id| inbound < id);
        if older_than_newest
            && !alert.history.contains(&inbound)
            && self.store.alert_history_contains(alert.id, inbound)?
        {
            alert.history.push(inbound);
        }
        Ok(Some(alert))
    }

    /// Records an alert change in the batch; opened and closed alerts are notified.
    fn apply_change(
        &mut self,
        endpoint: &str,
        key: &str,
        change: AlertChange,
        notifications: &mut Vec<Notification>,
    ) -> Result<Option<u64>, StoreError> {
        let (record, is_new) = match change {
            AlertChange::CloseUnmatched => return Ok(None),
            // A replay of a record the alert holds: nothing to write.
            AlertChange::AlreadyApplied(record) => return Ok(Some(record.id)),
            AlertChange::Opened(mut record) => {
                record.id = self.store.reserve_ids(IdKind::Alert, 1)?;
                notifications.push(Notification::AlertOpened(notice(&record)));
                (record, true)
            }
            AlertChange::Appended(record) => (record, false),
            AlertChange::Closed(record) => {
                notifications.push(Notification::AlertClosed(notice(&record)));
                (record, false)
            }
        };
        let id = record.id;
        let still_open = record.state != crate::store::AlertState::Closed;
        self.current.insert(
            (endpoint.to_string(), key.to_string()),
            still_open.then(|| record.clone()),
        );
        match self.written.get(&id) {
            // Written earlier in the batch: the later state replaces it, as an insert still
            // when it was new.
            Some(&position) => {
                let slot = &mut self.batch.alerts[position];
                *slot = match slot {
                    AlertWrite::Insert(_) => AlertWrite::Insert(record),
                    AlertWrite::Update(_) => AlertWrite::Update(record),
                };
            }
            None => {
                self.written.insert(id, self.batch.alerts.len());
                self.batch.alerts.push(if is_new {
                    AlertWrite::Insert(record)
                } else {
                    AlertWrite::Update(record)
                });
            }
        }
        Ok(Some(id))
    }

    /// Asks each destination's notifier for its requests and plans one delivery per request,
    /// due now. A notifier failure is the record's outcome (`Err`), not the batch's.
    fn plan_deliveries(
        &mut self,
        endpoint: &EndpointRecord,
        record: &InboundRecord,
        notification: &Notification,
    ) -> Result<Result<(), Outcome>, StoreError> {
        let planned = super::notify::plan_notification(
            self.store,
            self.plugins,
            self.twilio,
            endpoint,
            Some(record),
            notification,
            &|_| true,
        )?;
        match planned {
            Ok(deliveries) => {
                self.batch.deliveries.extend(deliveries);
                Ok(Ok(()))
            }
            Err(failure) => Ok(Err(failed_outcome(&failure.notifier, &failure.error))),
        }
    }
}

fn outcome(
    plugin: &str,
    outcome: String,
    detail: Option<String>,
    alert: Option<String>,
) -> Outcome {
    Outcome {
        plugin: plugin.to_string(),
        outcome,
        detail,
        alert,
    }
}
