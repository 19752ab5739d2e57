//! The processing queue as ingest and replay see it: records appended by group commit (with
//! processing's results, on a store that commits them together), a count of those waiting
//! (the backlog bound), and the worker's wake-up.

use crate::store::group_commit::InboundCommitter;
use crate::store::{Appended, InboundRecord, ProcessedBatch, SharedStore, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

/// Records waiting for processing, and how they get there.
pub struct ProcessingQueue {
    committer: InboundCommitter,
    backlog: AtomicU64,
    wake: Notify,
}

impl ProcessingQueue {
    /// Starts the group committer over `store`; `backlog` is what is queued already.
    pub fn start(store: SharedStore, backlog: u64) -> Self {
        Self {
            committer: InboundCommitter::start(store),
            backlog: AtomicU64::new(backlog),
            wake: Notify::new(),
        }
    }

    /// Records waiting now.
    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Appends a record durably (a group commit); an accepted one wakes the worker.
    pub async fn append(&self, record: InboundRecord) -> Result<Appended, StoreError> {
        let queued = record.status == crate::store::InboundStatus::Pending;
        // Counted before the commit: once committed, the worker may process the record (and
        // uncount it) before this call returns.
        if queued {
            self.backlog.fetch_add(1, Ordering::Relaxed);
        }
        let appended = self.committer.append(record).await;
        if queued {
            match appended {
                Ok(Appended::Accepted(_)) => self.wake.notify_one(),
                _ => self.taken(1),
            }
        }
        appended
    }

    /// Applies a processed batch in ingest's next group commit (on a store that
    /// [commits processing with ingest](crate::store::Store::commits_processing_with_ingest)):
    /// one durable write per cycle carries both. Blocks until it is on disk or refused.
    pub fn apply_with_ingest(&self, batch: ProcessedBatch) -> Result<(), StoreError> {
        self.committer.apply_blocking(batch)
    }

    /// Queues a stored record again through `requeue` (the store's), counted like an append.
    pub fn requeue(
        &self,
        requeue: impl FnOnce() -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        self.backlog.fetch_add(1, Ordering::Relaxed);
        let requeued = requeue();
        if matches!(requeued, Ok(true)) {
            self.wake.notify_one();
        } else {
            self.taken(1);
        }
        requeued
    }

    /// `count` records left the queue.
    pub fn taken(&self, count: u64) {
        // Never below zero: a miscount must not wrap to "backlog full".
        let _ = self
            .backlog
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |backlog| {
                Some(backlog.saturating_sub(count))
            });
    }

    /// Something was queued elsewhere (another gateway on a shared store): look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sets the backlog to `depth`, read from a store other gateways share (whose appends this
    /// one never counted), so the bound holds for the whole cluster.
    pub fn resync(&self, depth: u64) {
        self.backlog.store(depth, Ordering::Relaxed);
    }

    /// Waits until something is queued (or the caller's timeout passes).
    pub async fn queued(&self) {
        self.wake.notified().await;
    }
}
