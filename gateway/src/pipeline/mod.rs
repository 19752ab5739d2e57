//! The processing worker: takes queued inbound records, runs the endpoint's alert mapper and
//! formatter (or template) on every core, plans the alert changes and the deliveries (the
//! notifier included) outside any transaction, and has the store apply each batch in one write
//! — so each record is applied exactly once, even across a crash (plugins are pure: a record
//! interrupted before its results are durable is simply run again). On a store whose writes
//! take turns on one lock (redb) a batch rides in ingest's next group commit, so each cycle
//! makes one durable write for both; elsewhere its write is durable with the next commit rather
//! than an fsync each ([`Durability::WithNextCommit`]).
//!
//! One worker, in arrival order: a FAILED and the SUCCESSFUL after it must reach alert state in
//! that order. An operator acting on an alert while its batch was planned makes the write a
//! conflict; the batch is then planned again on the new state.

mod escalation;
mod evaluate;
mod notify;
mod plan;
mod quarantine;
pub mod queue;

pub use escalation::{Escalating, PAGE_DESTINATION, start_escalation, user_from_body};
pub use evaluate::{Evaluation, dry_run, evaluate, notice, plugin_destination, plugin_event};
pub use notify::{ShapeFailure, plan_notification};
pub use quarantine::Quarantines;
pub use queue::ProcessingQueue;

use crate::config::TwilioSettings;
use crate::delivery::Outbox;
use crate::metrics::Metrics;
use crate::runtime::PluginRegistry;
use crate::store::{Durability, SharedStore, StoreError};
use evaluate::evaluate_batch;
use plan::{Evaluated, plan_batch};
use std::sync::Arc;
use std::time::Duration;

/// Records taken from the queue per pass.
const BATCH: usize = 64;
/// Plans of one batch tried before it waits for the next pass.
const PLANS_PER_BATCH: usize = 5;

/// What the worker uses.
pub struct Processing {
    /// Where records and their results live.
    pub store: SharedStore,
    /// The plugins (a snapshot per batch).
    pub registry: Arc<PluginRegistry>,
    /// Plugin call times and failures.
    pub metrics: Arc<Metrics>,
    /// The queue's backlog count and wake-up.
    pub queue: Arc<ProcessingQueue>,
    /// Woken when deliveries were created.
    pub outbox: Arc<Outbox>,
    /// `[twilio]`, whose non-secret settings the notifier gets for sms and voice.
    pub twilio: Option<TwilioSettings>,
    /// Plugins' limit hits in a row, and the quarantines they lead to.
    pub quarantines: Quarantines,
}

impl Processing {
    /// Runs until the process stops: processes what is queued, then waits to be woken (or
    /// polls).
    pub async fn run(self) {
        let worker = Arc::new(self);
        loop {
            let store = worker.store.clone();
            let claimed = tokio::task::spawn_blocking(move || store.claim_queued(BATCH)).await;
            let records = match claimed {
                Ok(Ok(records)) => records,
                Ok(Err(error)) => {
                    tracing::error!(%error, "reading the processing queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            };
            if records.is_empty() {
                let _ = tokio::time::timeout(Duration::from_secs(1), worker.queue.queued()).await;
                continue;
            }
            let first = records[0].id;
            let count = records.len() as u64;
            let batch_worker = worker.clone();
            let processed =
                tokio::task::spawn_blocking(move || batch_worker.process_batch(records)).await;
            match processed {
                Ok(Ok(())) => worker.queue.taken(count),
                Ok(Err(StoreError::ClaimLost(reason))) => {
                    // Another gateway on the database took the records over and applies them.
                    tracing::warn!(%reason, first_inbound = first, "batch dropped: its records were taken over");
                }
                Ok(Err(error)) => {
                    // Nothing of the batch was applied: it is still queued and runs again.
                    tracing::error!(%error, first_inbound = first, "processing failed; will retry");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(_) => return,
            }
            worker.outbox.wake();
        }
    }

    /// Evaluates a batch (plugins on every core), then plans and applies its writes, planning
    /// again when an operator changed one of its alerts meanwhile.
    fn process_batch(&self, records: Vec<crate::store::InboundRecord>) -> Result<(), StoreError> {
        let plugins = self.registry.snapshot();
        self.quarantines.start_batch();
        let mut work = Vec::with_capacity(records.len());
        for record in &records {
            let endpoint = self.store.endpoint(&record.endpoint)?;
            let event = endpoint.map(|endpoint| {
                let event = plugin_event(&endpoint, record);
                (endpoint, event)
            });
            work.push((record.id, event));
        }
        let evaluations = evaluate_batch(&plugins, &work, &self.quarantines);
        for evaluation in evaluations.iter().flatten() {
            for call in &evaluation.calls {
                self.metrics.observe_plugin_call(call);
            }
        }
        let evaluated: Vec<Evaluated<'_>> = records
            .iter()
            .zip(&work)
            .zip(&evaluations)
            .map(|((record, (_, event)), evaluation)| Evaluated {
                record,
                work: event
                    .as_ref()
                    .zip(evaluation.as_ref())
                    .map(|((endpoint, _), evaluation)| (endpoint.as_ref(), evaluation)),
            })
            .collect();
        let mut plans = 0;
        loop {
            plans += 1;
            let batch = plan_batch(
                self.store.as_ref(),
                &plugins,
                self.twilio.as_ref(),
                &evaluated,
            )?;
            let records = batch.records.len();
            let applied = if self.store.commits_processing_with_ingest() {
                self.queue.apply_with_ingest(batch)
            } else {
                self.store
                    .apply_processing(&batch, Durability::WithNextCommit)
            };
            match applied {
                Err(StoreError::Conflict(reason)) if plans < PLANS_PER_BATCH => {
                    tracing::debug!(%reason, "an alert changed while its batch was planned; planning again");
                }
                result => {
                    if result.is_ok() {
                        tracing::debug!(records, "batch applied");
                    }
                    return result;
                }
            }
        }
    }
}
