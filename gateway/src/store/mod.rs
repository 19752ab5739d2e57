//! The store: what the gateway keeps, behind one trait so backends can be swapped. The rest
//! of the gateway asks for records by meaning (`append_inbound`, `claim_queued`,
//! `apply_processing`, `due_deliveries`, ...); only a backend's own folder knows its database
//! (`redb/`: one file under the data dir, the default; `postgres/`: a PostgreSQL database,
//! `[storage] url`). Every backend passes the suite in `contract/`.
//!
//! Durability is named by meaning: [`Durability::BeforeAnswer`] writes are on disk when the
//! call returns (the 202 of ingest waits for it); [`Durability::WithNextCommit`] writes become
//! durable with a later durable commit, and a backend never hands out a delivery to send
//! before the write that created it is durable.

#[cfg(test)]
pub(crate) mod contract;
pub mod copy;
pub mod group_commit;
pub mod postgres;
mod records;
pub mod redb;

pub use records::*;

use std::collections::BTreeMap;
use std::sync::Arc;

/// A store failure. Handlers answer 503 (or 500) for the database ones and log the detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation (I/O, full disk, corruption).
    #[error("database: {0}")]
    Database(String),
    /// A stored record does not parse.
    #[error("stored record {0} is unreadable")]
    Corrupt(String),
    /// A conditional write found the record changed since it was read: read and plan again.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Processed records were taken over by another gateway on the same database (this
    /// one's claim expired): nothing of the batch was written, and the other gateway applies
    /// them.
    #[error("claim lost: {0}")]
    ClaimLost(String),
}

/// When a write must be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk when the call returns.
    BeforeAnswer,
    /// On disk with the next durable commit; lost together (all or nothing) in a crash before
    /// it, which callers must tolerate (processing runs the records again; an attempt's result
    /// is forgotten and the delivery sent again with the same `Idempotency-Key`).
    WithNextCommit,
}

/// Record kinds whose ids are handed out before the record is written (the notifier is told
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// `al_<n>`.
    Alert,
    /// `dl_<n>`.
    Delivery,
}

/// The retention bounds of [`Store::prune_inbound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundRetention {
    /// Records received before this (ms since the epoch) go.
    pub older_than_ms: u64,
    /// Records that are not rejected, kept at most.
    pub max_records: u64,
    /// Rejected records, kept at most (apart from `max_records`).
    pub max_rejected_records: u64,
}

/// What a retry by hand found.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryScheduled {
    /// Due now (boxed: a record is much larger than the other answers).
    Scheduled(Box<DeliveryRecord>),
    /// It was delivered: nothing to retry.
    AlreadyDelivered,
    /// No such delivery.
    NotFound,
}

/// The storage backend. Calls block (backends do their I/O on the calling thread): async code
/// calls them from `spawn_blocking`.
pub trait Store: Send + Sync + 'static {
    /// Whether other gateways may share this store (then counts such as the queue's backlog
    /// must be read from it, not kept in memory).
    fn is_shared(&self) -> bool {
        false
    }

    /// Tells `events` about the other gateways' writes from now on (nothing, for a store of
    /// one process).
    fn watch(&self, events: Arc<dyn StoreEvents>) {
        let _ = events;
    }

    /// Writes a consistent copy of the whole database to the new file `to` (a store that
    /// makes none refuses); returns how many rows it holds. A gateway started on the copy has
    /// everything as it was at one commit.
    fn backup_to(&self, to: &std::path::Path) -> Result<u64, StoreError> {
        let _ = to;
        Err(StoreError::Database(
            "this storage backend makes no file backups".into(),
        ))
    }

    /// Whether the database takes writes. After a failed write, a backend tries one (a value
    /// of `probe_bytes` that needs new space), so readiness comes back once the disk does, with
    /// no traffic.
    fn is_healthy(&self, probe_bytes: usize) -> bool;

    // Endpoints.

    /// Inserts or replaces an endpoint ([`Durability::BeforeAnswer`]). Later reads see it.
    fn save_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError>;
    /// The endpoint with this id (shared: ingest reads one on every request, so backends may
    /// cache it, and must never serve an older record after `save_endpoint` returned).
    fn endpoint(&self, id: &str) -> Result<Option<Arc<EndpointRecord>>, StoreError>;
    /// Every endpoint, newest first.
    fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError>;
    /// Quarantines a plugin for an endpoint, or releases it, in one read-modify-write of the
    /// endpoint ([`Durability::BeforeAnswer`]), so an operator's change saved meanwhile is
    /// neither lost nor undone. Whether anything changed: `false` when the endpoint is gone,
    /// the plugin already quarantined, or (releasing) not quarantined.
    fn change_quarantine(
        &self,
        endpoint: &str,
        change: &QuarantineChange,
    ) -> Result<bool, StoreError>;

    // The inbound log and the processing queue.

    /// Appends records in one [`Durability::BeforeAnswer`] write (group commit), in the given
    /// order: each gets the next id (ids follow arrival order); a `pending` record whose
    /// request UUID was already accepted for its endpoint is stored as `duplicate` instead,
    /// and accepted ones join the processing queue.
    fn append_inbound(&self, records: Vec<InboundRecord>) -> Result<Vec<Appended>, StoreError>;
    /// One record, with its body.
    fn inbound(&self, id: u64) -> Result<Option<InboundRecord>, StoreError>;
    /// The log, newest first, filtered; records without their bodies.
    fn list_inbound(&self, filter: &InboundFilter) -> Result<Page<InboundRecord>, StoreError>;
    /// Up to `limit` queued records with their bodies, oldest first: the work of one
    /// processing pass. They stay queued until [`Store::apply_processing`] takes them off.
    fn claim_queued(&self, limit: usize) -> Result<Vec<InboundRecord>, StoreError>;
    /// How many records wait for processing.
    fn queue_depth(&self) -> Result<u64, StoreError>;
    /// Queues a processed or failed record again (replay), with its status `pending` and its
    /// outcomes cleared; `false` when there is no such record.
    fn requeue_inbound(&self, id: u64) -> Result<bool, StoreError>;
    /// Deletes the oldest records past the retention bounds, with their request-UUID entries,
    /// and returns how many went. Backends work in bounded writes (at most a thousand records
    /// or so each) so ingest is never held up for the whole prune. Every record received before `older_than_ms` goes. Rejected
    /// records and the others are counted apart: beyond the newest `max_rejected_records`
    /// rejected ones, the oldest rejected go, and beyond the newest `max_records` others, the
    /// oldest others go — so rejected records, however many, never push out accepted history.
    /// Queued records are kept (and count toward `max_records`).
    fn prune_inbound(&self, bounds: &InboundRetention) -> Result<u64, StoreError>;

    // Processing.

    /// Hands out `count` consecutive ids of `kind`, never handed out before; returns the first.
    fn reserve_ids(&self, kind: IdKind, count: u64) -> Result<u64, StoreError>;
    /// The open (or acknowledged) alert with this key on this endpoint, with only the newest
    /// entry of its history (so reading it costs the same however long the history): a record
    /// older than that entry may be in the history ([`Store::alert_history_contains`]).
    fn open_alert(&self, endpoint: &str, key: &str) -> Result<Option<AlertRecord>, StoreError>;
    /// Applies a processed batch in one write: the records' results (each leaves the queue),
    /// the alerts (each written with its revision bumped, keeping the open-alert index in step
    /// with its state; the ids of its `history` are added to its stored history, and none is
    /// removed, so an append costs the same however long the history) and the new deliveries (due at their `next_attempt_at`). Refused as a
    /// whole with [`StoreError::Conflict`] when an expectation of `expected_open`, or the
    /// revision of an updated alert, no longer holds.
    fn apply_processing(
        &self,
        batch: &ProcessedBatch,
        durability: Durability,
    ) -> Result<(), StoreError>;
    /// Whether processing's batches should reach the store through ingest's group commit
    /// ([`Store::commit_group`]): true for a backend whose writes take turns on one lock, where
    /// two commits per cycle (ingest's and processing's) cost more than one; false (the
    /// default) for one whose writers run side by side.
    fn commits_processing_with_ingest(&self) -> bool {
        false
    }
    /// Appends `records` as [`Store::append_inbound`] does and applies `batches` as
    /// [`Store::apply_processing`] does, all in one [`Durability::BeforeAnswer`] write where
    /// the backend can. Each batch has its own result: one refused (a conflict, or a failure
    /// part-way) is left out without taking the records or the other batches with it; an `Err`
    /// of the whole means nothing was written. The default makes one write per part.
    fn commit_group(
        &self,
        records: Vec<InboundRecord>,
        batches: &[ProcessedBatch],
    ) -> Result<GroupCommitted, StoreError> {
        let appended = if records.is_empty() {
            Vec::new()
        } else {
            self.append_inbound(records)?
        };
        let applied = batches
            .iter()
            .map(|batch| self.apply_processing(batch, Durability::BeforeAnswer))
            .collect();
        Ok(GroupCommitted { appended, applied })
    }

    /// The gateway's key named `name` (32 random bytes made on first use, then the same for
    /// good): what signs acknowledge links, so they work across restarts (and, on a shared
    /// database, on every gateway).
    fn secret_key(&self, name: &str) -> Result<Vec<u8>, StoreError>;

    // The on-call directory.

    /// Stores a new entry under the next id of its kind (`us_1`, `us_2`, ...; never handed out
    /// twice, even after a delete) with revision 1; returns it.
    fn create_directory_entry(
        &self,
        kind: DirectoryKind,
        body: &serde_json::Value,
    ) -> Result<DirectoryEntry, StoreError>;
    /// One entry, by id (its kind is in the id).
    fn directory_entry(&self, id: &str) -> Result<Option<DirectoryEntry>, StoreError>;
    /// Every entry of a kind, oldest first.
    fn directory(&self, kind: DirectoryKind) -> Result<Vec<DirectoryEntry>, StoreError>;
    /// Replaces an entry's body if its revision is still `entry.revision` (else
    /// [`StoreError::Conflict`], also when it is gone); returns it with the next revision.
    fn update_directory_entry(&self, entry: &DirectoryEntry) -> Result<DirectoryEntry, StoreError>;
    /// Removes an entry; whether it was there.
    fn delete_directory_entry(&self, id: &str) -> Result<bool, StoreError>;

    // Alerts.

    /// One alert, with its whole history.
    fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError>;
    /// Alerts, newest first, with their whole histories.
    fn list_alerts(&self, filter: &AlertFilter) -> Result<Page<AlertRecord>, StoreError>;
    /// A page of an alert's history (inbound ids), newest first: ids below `before`, at most
    /// `limit`, with the cursor of the next page. Empty for an unknown alert.
    fn alert_history(
        &self,
        alert: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<u64>, StoreError>;
    /// Whether inbound record `inbound` is in the history of alert `alert` (a replay of it
    /// changes nothing).
    fn alert_history_contains(&self, alert: u64, inbound: u64) -> Result<bool, StoreError>;
    /// Writes an alert changed by an operator, if its revision is still the one it was read
    /// with (else [`StoreError::Conflict`]); returns it with the new revision. Its history is
    /// added to as by [`Store::apply_processing`].
    fn update_alert(&self, alert: &AlertRecord) -> Result<AlertRecord, StoreError>;
    /// Alerts whose escalation has a step due at or before `now_ms`, soonest first, at most
    /// `limit`; with only the newest entry of their histories, as [`Store::open_alert`].
    fn due_escalations(&self, now_ms: u64, limit: usize) -> Result<Vec<AlertRecord>, StoreError>;
    /// When the soonest escalation step is due, if any is.
    fn next_escalation_due_at(&self) -> Result<Option<u64>, StoreError>;
    /// Deletes the closed alerts that closed before `closed_before_ms`, with their histories,
    /// in bounded writes (as [`Store::prune_inbound`]); returns how many went. Open and
    /// acknowledged alerts are never deleted.
    fn prune_closed_alerts(&self, closed_before_ms: u64) -> Result<u64, StoreError>;
    /// Every open or acknowledged alert (cost follows the firing alerts, not the history:
    /// with only the newest entry of their histories, as [`Store::open_alert`]).
    fn firing_alerts(&self) -> Result<Vec<AlertRecord>, StoreError>;
    /// How many alerts are open and how many acknowledged (cost follows the firing alerts,
    /// not the history).
    fn firing_alert_counts(&self) -> Result<(u64, u64), StoreError>;

    // Deliveries.

    /// One delivery.
    fn delivery(&self, id: u64) -> Result<Option<DeliveryRecord>, StoreError>;
    /// Deliveries, newest first.
    fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Page<DeliveryRecord>, StoreError>;
    /// The deliveries an inbound record caused (replays included), oldest first.
    fn deliveries_for_inbound(
        &self,
        inbound_id: u64,
        received_at: u64,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Deliveries due at `now_ms`, soonest first, at most `limit`; only deliveries whose
    /// creating write is durable, so nothing is sent that a crash could take back.
    fn due_deliveries(&self, now_ms: u64, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// When the soonest delivery is due, if any is.
    fn next_due_at(&self) -> Result<Option<u64>, StoreError>;
    /// Records attempts' results (each delivery with its new status, attempts and next time)
    /// and counts them against their destinations. A destination whose consecutive failures
    /// reach `disable_after_failures` (0 = never) is disabled; the answer has, per attempt,
    /// the health of the destination it disabled, if it did.
    fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        disable_after_failures: u32,
        durability: Durability,
    ) -> Result<Vec<Option<DestinationHealth>>, StoreError>;
    /// Deletes the finished deliveries (delivered, or failed for good) made before
    /// `created_before_ms`, in bounded writes; returns how many went. Pending and retrying
    /// ones are never deleted.
    fn prune_finished_deliveries(&self, created_before_ms: u64) -> Result<u64, StoreError>;
    /// Makes a delivery that was not delivered due at `at` (a retry by hand).
    fn schedule_retry(&self, id: u64, at: u64) -> Result<RetryScheduled, StoreError>;

    // Destination health.

    /// The health of one destination (a healthy default when nothing is recorded).
    fn destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<DestinationHealth, StoreError>;
    /// The recorded health of an endpoint's destinations, by index (absent = healthy).
    fn endpoint_destination_health(
        &self,
        endpoint: &str,
    ) -> Result<BTreeMap<usize, DestinationHealth>, StoreError>;
    /// How many destinations are disabled now.
    fn disabled_destination_count(&self) -> Result<u64, StoreError>;
    /// Forgets a destination's failures, enabling it again; returns whether it was disabled.
    fn reset_destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<bool, StoreError>;

    // Bitbucket OAuth connections (`crate::bitbucket::sealed`: the store keeps them sealed and
    // never sees a token).

    /// Stores or replaces the sealed connection of an endpoint ([`Durability::BeforeAnswer`]).
    fn save_bitbucket_connection(&self, endpoint: &str, sealed: &[u8]) -> Result<(), StoreError>;
    /// The sealed connection of an endpoint, if it has one.
    fn bitbucket_connection(&self, endpoint: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes an endpoint's connection; whether there was one.
    fn delete_bitbucket_connection(&self, endpoint: &str) -> Result<bool, StoreError>;

    // Sessions, seen by every gateway on the database.

    /// Stores a session under the SHA-256 of its secret ([`Durability::BeforeAnswer`]), and
    /// forgets expired ones.
    fn save_session(&self, digest: &[u8; 32], session: &SessionRecord) -> Result<(), StoreError>;
    /// The session with this digest, if it has not expired at `now_ms`.
    fn session(&self, digest: &[u8; 32], now_ms: u64) -> Result<Option<SessionRecord>, StoreError>;
    /// Ends a session.
    fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError>;

    // Plugins uploaded through the API, loaded by every gateway on the database.

    /// Stores (or replaces) a plugin.
    fn save_plugin(&self, plugin: &StoredPlugin) -> Result<(), StoreError>;
    /// Every stored plugin, by name, without its component (`wasm` empty).
    fn stored_plugins(&self) -> Result<Vec<StoredPlugin>, StoreError>;
    /// One stored plugin with its component.
    fn stored_plugin(&self, name: &str) -> Result<Option<StoredPlugin>, StoreError>;
    /// Removes a stored plugin; whether it was there.
    fn delete_plugin(&self, name: &str) -> Result<bool, StoreError>;

    // Moving an installation to another store (`copy.rs`, `hookgate storage copy`).

    /// Up to `limit` records of `kind`, in the backend's key order, after the record whose
    /// key is `after` (from the first one without it). Inbound records come with their
    /// bodies, stored plugins with their components.
    fn copy_page(
        &self,
        kind: RecordKind,
        after: Option<&CopyKey>,
        limit: usize,
    ) -> Result<Vec<CopiedRecord>, StoreError>;
    /// Writes copied records as they were in their store (ids, revisions, times), in one
    /// [`Durability::BeforeAnswer`] write, with the indexes that follow from them. Counters
    /// and secret keys replace the store's own; any other record already there is a
    /// [`StoreError::Conflict`].
    fn copy_in(&self, records: Vec<CopiedRecord>) -> Result<(), StoreError>;
    /// How many records of each kind the store holds.
    fn record_counts(&self) -> Result<RecordCounts, StoreError>;
}

/// What a store shared by several gateways tells this one about the others' writes (a store
/// only this process uses has nothing to tell).
pub trait StoreEvents: Send + Sync {
    /// Another gateway queued inbound records.
    fn inbound_queued(&self);
    /// The plugins stored in the database changed.
    fn plugins_changed(&self);
}

/// The store as the gateway holds it.
pub type SharedStore = Arc<dyn Store>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
