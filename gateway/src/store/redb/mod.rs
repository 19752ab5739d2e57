//! The redb backend: one file under the data dir, nothing to install. Values are JSON (serde)
//! so records can grow fields without a migration; the tables are in `tables.rs`.
//!
//! Durability: [`Durability::BeforeAnswer`] commits with an fsync; [`Durability::WithNextCommit`]
//! commits without one, and the next durable commit (ingest makes several a millisecond under
//! load) carries it to disk. A commit clock orders the two, so `due_deliveries` hands out only
//! deliveries whose creating commit is durable.

mod alerts;
mod backup;
mod bitbucket;
mod bodies;
mod copy;
mod deliveries;
mod destinations;
mod directory;
mod endpoints;
mod inbound;
mod processing;
mod retention;
mod shared;
mod tables;
mod trait_impl;

use super::{Durability, EndpointRecord, IdKind, Page, StoreError};

use arc_swap::ArcSwapOption;
use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, StorageError, Table,
    TransactionError, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(error: E) -> Self {
        Self::Database(error.into().to_string())
    }
}

/// Opens (or creates) the file with hookgate's cache size.
fn open_database(path: &Path) -> Result<Database, DatabaseError> {
    redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)
}

/// Why the database file cannot be opened, naming it and saying what to do.
fn open_error(path: &Path, error: DatabaseError) -> StoreError {
    let file = path.display();
    StoreError::Database(match error {
        DatabaseError::DatabaseAlreadyOpen => format!(
            "{file} is in use by another process (another hookgate on the same data dir?); \
             stop it, or give this one another --data-dir"
        ),
        DatabaseError::UpgradeRequired(version) => format!(
            "{file} has redb file format version {version}, older than this hookgate reads; \
             upgrade it with the hookgate version that wrote it, or move it aside to start empty"
        ),
        other => format!(
            "{file} cannot be opened ({other}); if it is corrupt or was written by a newer \
             hookgate, restore it from a backup or move it aside to start empty"
        ),
    })
}

/// Memory for redb's page cache. Ingest appends and processing reads the newest records, so a
/// small cache holds the working set (older pages are read from the kernel's page cache);
/// redb's default (1 GiB) would let the process grow with the log. Bench P4's peak RSS was
/// 216–220 MiB with 64 MiB of cache and 132–150 MiB with 24, at the same rates.
const CACHE_BYTES: usize = 24 << 20;

/// The redb store.
#[derive(Clone)]
pub struct RedbStore {
    shared: Arc<SharedDatabase>,
    /// Endpoints by id as last read or saved: ingest looks one up on every request, and a read
    /// transaction plus a JSON decode per request cost more than the rest of its checks.
    /// `save_endpoint` is the one writer of the endpoints table and keeps this in step.
    endpoint_cache: Arc<RwLock<HashMap<String, Arc<EndpointRecord>>>>,
    clock: Arc<CommitClock>,
    ids: Arc<IdAllocators>,
}

/// Orders write transactions so a reader can wait until what it saw is on disk. Processing
/// commits without its own fsync: the next durable commit carries its changes to disk. What
/// leaves the process, a delivery, is sent only once durable (`due_deliveries`).
#[derive(Default)]
struct CommitClock {
    /// Tickets taken so far; a write transaction takes one once it holds the write lock, so
    /// tickets follow the order in which transactions run.
    issued: AtomicU64,
    /// One past the highest ticket of a durable commit.
    durable_below: Mutex<u64>,
    durable: Condvar,
}

/// How long a reader waits for another durable commit before making one itself.
const DURABLE_PATIENCE: Duration = Duration::from_millis(5);

impl CommitClock {
    fn ticket(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::SeqCst)
    }

    fn published(&self, ticket: u64) {
        if let Ok(mut below) = self.durable_below.lock() {
            *below = (*below).max(ticket + 1);
            self.durable.notify_all();
        }
    }

    /// Whether a durable commit with a ticket at or past `mark` happened, waiting up to
    /// `patience` for one.
    fn wait(&self, mark: u64, patience: Duration) -> bool {
        let Ok(below) = self.durable_below.lock() else {
            return false;
        };
        self.durable
            .wait_timeout_while(below, patience, |below| *below <= mark)
            .is_ok_and(|(below, _)| *below > mark)
    }
}

/// The open database, and what it takes to reopen it. redb latches a failed write (a full disk,
/// an I/O error): every later transaction fails with `PreviousIo` until the file is closed and
/// opened again, which also repairs it back to the last durable commit.
struct SharedDatabase {
    path: PathBuf,
    /// `None` between closing after a failure and a successful reopen.
    db: ArcSwapOption<Database>,
    /// The last write failed and no write has succeeded since.
    failing: AtomicBool,
    /// When the last reopen was tried: at most one try per [`REOPEN_INTERVAL`].
    last_reopen: Mutex<Option<Instant>>,
}

/// How often a closed database is tried again; a reopen repairs the file, which reads all of it.
const REOPEN_INTERVAL: Duration = Duration::from_secs(1);

impl RedbStore {
    /// Opens (or creates) the database file and its tables. The error names the file and says
    /// what to do: another process holds it, it is corrupt, or it is from another redb version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = open_database(path).map_err(|error| open_error(path, error))?;
        let txn = db.begin_write()?;
        let rejected_index_missing = !txn.list_tables()?.any(|table| {
            redb::TableHandle::name(&table) == redb::TableHandle::name(&tables::INBOUND_REJECTED)
        });
        let filter_indexes_missing = inbound::filter_indexes_missing(&txn)?;
        let acknowledged_index_missing = alerts::acknowledged_index_missing(&txn)?;
        let history_table_missing = alerts::history_table_missing(&txn)?;
        {
            txn.open_table(tables::ENDPOINTS)?;
            txn.open_table(tables::INBOUND)?;
            txn.open_table(tables::INBOUND_BODIES)?;
            txn.open_table(tables::INBOUND_BY_REQUEST)?;
            txn.open_table(tables::PROCESSING_QUEUE)?;
            txn.open_table(tables::ALERTS)?;
            txn.open_table(tables::OPEN_ALERTS)?;
            txn.open_table(tables::DUE_ESCALATIONS)?;
            txn.open_table(tables::DELIVERIES)?;
            txn.open_table(tables::DUE_DELIVERIES)?;
            txn.open_table(tables::DESTINATION_HEALTH)?;
            txn.open_table(tables::DIRECTORY)?;
            txn.open_table(tables::SECRET_KEYS)?;
            txn.open_table(tables::BITBUCKET_CONNECTIONS)?;
            txn.open_table(tables::COUNTERS)?;
            txn.open_table(tables::STORAGE_PROBE)?;
            txn.open_table(tables::SESSIONS)?;
            txn.open_table(tables::PLUGINS)?;
            txn.open_table(tables::PLUGIN_COMPONENTS)?;
            if rejected_index_missing {
                inbound::index_rejected(&txn)?;
            }
            if history_table_missing {
                // A file whose alerts carry their histories inline: move them out, once.
                let started = Instant::now();
                let moved = alerts::move_histories(&txn)?;
                tracing::info!(
                    alerts = moved,
                    took_ms = started.elapsed().as_millis() as u64,
                    "moved the alerts' histories into their own table"
                );
            }
            if acknowledged_index_missing {
                alerts::index_acknowledged(&txn)?;
            }
            if filter_indexes_missing {
                // A file written before the filter indexes, or before they left queued records
                // out: build them once, from the log.
                let started = Instant::now();
                let dropped = inbound::drop_former_filter_indexes(&txn)?;
                let indexed = inbound::index_filters(&txn)?;
                tracing::info!(
                    records = indexed,
                    former_indexes_dropped = dropped,
                    took_ms = started.elapsed().as_millis() as u64,
                    "built the inbound filter indexes of a database written before them"
                );
            }
        }
        txn.commit()?;
        let ids = IdAllocators::load(&db)?;
        Ok(Self {
            ids: Arc::new(ids),
            shared: Arc::new(SharedDatabase {
                path: path.to_path_buf(),
                db: ArcSwapOption::from_pointee(db),
                failing: AtomicBool::new(false),
                last_reopen: Mutex::new(None),
            }),
            endpoint_cache: Arc::default(),
            clock: Arc::default(),
        })
    }

    /// Whether the database takes writes. While the last write failed, this tries one of
    /// `probe_bytes` (a value that needs new space, kept until the next probe replaces it), so
    /// readiness comes back once the disk does, even with no traffic.
    fn is_healthy(&self, probe_bytes: usize) -> bool {
        if !self.shared.failing.load(Ordering::Acquire) {
            return self.shared.db.load().is_some();
        }
        let probe = vec![0u8; probe_bytes];
        self.write()
            .and_then(|txn| {
                txn.open_table(tables::STORAGE_PROBE)?
                    .insert(0, probe.as_slice())?;
                self.commit(txn)
            })
            .is_ok()
    }

    /// The open database, reopening it after a failure (at most once per second).
    fn database(&self) -> Result<Arc<Database>, StoreError> {
        if let Some(db) = self.shared.db.load_full() {
            return Ok(db);
        }
        let mut last_reopen = self
            .shared
            .last_reopen
            .lock()
            .map_err(|_| StoreError::Database("the database lock is poisoned".into()))?;
        if let Some(db) = self.shared.db.load_full() {
            return Ok(db);
        }
        if last_reopen.is_some_and(|at| at.elapsed() < REOPEN_INTERVAL) {
            return Err(StoreError::Database(
                "the database is closed after a write failure; reopening".into(),
            ));
        }
        *last_reopen = Some(Instant::now());
        // Fails with "already open" while a transaction of the old handle is still alive; the
        // next try succeeds once it has ended.
        let db = Arc::new(open_database(&self.shared.path).map_err(|error| {
            self.shared.failing.store(true, Ordering::Release);
            StoreError::Database(format!("reopening after a write failure: {error}"))
        })?);
        tracing::warn!(file = %self.shared.path.display(), "database reopened after a write failure");
        self.shared.db.store(Some(db.clone()));
        Ok(db)
    }

    /// Drops this handle's database after a failed write, so the next use reopens it.
    fn close_after_failure(&self, error: &dyn std::fmt::Display) {
        self.shared.failing.store(true, Ordering::Release);
        if self.shared.db.swap(None).is_some() {
            tracing::error!(%error, file = %self.shared.path.display(), "database write failed; closing it to reopen");
        }
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.database()?.begin_read()?)
    }

    fn write(&self) -> Result<WriteTransaction, StoreError> {
        match self.database()?.begin_write() {
            Ok(txn) => Ok(txn),
            Err(error @ TransactionError::Storage(StorageError::PreviousIo)) => {
                self.close_after_failure(&error);
                Ok(self.database()?.begin_write()?)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Commits (durably unless the transaction says otherwise); a failure closes the database so the next transaction reopens it.
    fn commit(&self, txn: WriteTransaction) -> Result<(), StoreError> {
        match txn.commit() {
            Ok(()) => {
                self.shared.failing.store(false, Ordering::Release);
                Ok(())
            }
            Err(error) => {
                self.close_after_failure(&error);
                Err(error.into())
            }
        }
    }

    /// A write transaction whose commit ([`RedbStore::commit_durable`]) is durable, with its
    /// ticket.
    fn durable_write(&self) -> Result<(WriteTransaction, u64), StoreError> {
        let txn = self.write()?;
        Ok((txn, self.clock.ticket()))
    }

    fn commit_durable(&self, txn: WriteTransaction, ticket: u64) -> Result<(), StoreError> {
        self.commit(txn)?;
        self.clock.published(ticket);
        Ok(())
    }

    /// The mark of everything committed so far: call it inside a read transaction, then
    /// [`RedbStore::wait_durable`] for what that transaction saw to be on disk.
    fn commit_mark(&self) -> u64 {
        self.clock.issued.load(Ordering::SeqCst)
    }

    /// Returns once every commit before `mark` is durable: at the next durable commit of
    /// ingest, or after [`DURABLE_PATIENCE`] by committing durably itself.
    fn wait_durable(&self, mark: u64) -> Result<(), StoreError> {
        if self.clock.wait(mark, DURABLE_PATIENCE) {
            return Ok(());
        }
        let (txn, ticket) = self.durable_write()?;
        self.commit_durable(txn, ticket)
    }

    /// A write transaction with the given durability, and its ticket when durable.
    fn write_with(
        &self,
        durability: Durability,
    ) -> Result<(WriteTransaction, Option<u64>), StoreError> {
        match durability {
            Durability::BeforeAnswer => {
                let (txn, ticket) = self.durable_write()?;
                Ok((txn, Some(ticket)))
            }
            Durability::WithNextCommit => {
                let mut txn = self.write()?;
                txn.set_durability(redb::Durability::None)
                    .map_err(|error| StoreError::Database(error.to_string()))?;
                Ok((txn, None))
            }
        }
    }

    /// Commits a transaction of [`RedbStore::write_with`].
    fn commit_with(&self, txn: WriteTransaction, ticket: Option<u64>) -> Result<(), StoreError> {
        match ticket {
            Some(ticket) => self.commit_durable(txn, ticket),
            None => self.commit(txn),
        }
    }
}

/// The next id of each kind handed out before its record is written (`reserve_ids`), kept in
/// memory and seeded at open from the counters table; a write of records with such ids moves
/// the stored counter past them, so after a crash the ids of records that were never written
/// are simply handed out again.
struct IdAllocators {
    alert: AtomicU64,
    delivery: AtomicU64,
}

impl IdAllocators {
    fn load(db: &Database) -> Result<Self, StoreError> {
        let txn = db.begin_read()?;
        let counters = txn.open_table(tables::COUNTERS)?;
        let next = |name: &str| -> Result<u64, StoreError> {
            Ok(counters.get(name)?.map_or(1, |value| value.value()))
        };
        Ok(Self {
            alert: AtomicU64::new(next(ALERT_COUNTER)?),
            delivery: AtomicU64::new(next(DELIVERY_COUNTER)?),
        })
    }

    fn reserve(&self, kind: IdKind, count: u64) -> u64 {
        let counter = match kind {
            IdKind::Alert => &self.alert,
            IdKind::Delivery => &self.delivery,
        };
        counter.fetch_add(count, Ordering::SeqCst)
    }
}

/// Counter names of the record kinds with reserved ids.
const ALERT_COUNTER: &str = "alert";
const DELIVERY_COUNTER: &str = "delivery";

/// Moves a named counter past `id`.
fn advance_counter(
    counters: &mut Table<'_, &'static str, u64>,
    counter: &str,
    id: u64,
) -> Result<(), StoreError> {
    let next = counters.get(counter)?.map_or(1, |value| value.value());
    if id >= next {
        counters.insert(counter, id + 1)?;
    }
    Ok(())
}

/// Takes the next value of a named counter.
fn take_sequence(
    counters: &mut Table<'_, &'static str, u64>,
    counter: &str,
) -> Result<u64, StoreError> {
    let next = counters.get(counter)?.map_or(1, |value| value.value());
    counters.insert(counter, next + 1)?;
    Ok(next)
}

fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).expect("records serialize")
}

/// The record stored under `id` in a sequence-keyed table.
fn read_record<T: DeserializeOwned>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    what: &str,
    id: u64,
) -> Result<Option<T>, StoreError> {
    match table.get(id)? {
        Some(bytes) => decode(what, bytes.value()).map(Some),
        None => Ok(None),
    }
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
}

/// A page of a sequence-keyed table, newest first: records below `before` that `keep` accepts,
/// at most `limit`, with the cursor of the next page.
fn newest_first<T: DeserializeOwned>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    what: &str,
    before: Option<u64>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, StoreError> {
    let mut items = Vec::new();
    let mut next = None;
    for entry in table.range(..before.unwrap_or(u64::MAX))?.rev() {
        let (id, bytes) = entry?;
        let record: T = decode(what, bytes.value())?;
        if !keep(&record) {
            continue;
        }
        if items.len() == limit {
            next = Some((id.value() + 1).to_string());
            break;
        }
        items.push(record);
    }
    Ok(Page { items, next })
}

/// `endpoint \n suffix`: composite keys of the index tables.
fn scoped_key(endpoint: &str, suffix: &str) -> String {
    format!("{endpoint}\n{suffix}")
}

#[cfg(test)]
mod tests {
    use super::RedbStore;
    use crate::store::Store;
    use crate::store::contract::{Subject, store_contract_tests};
    use std::sync::Arc;

    /// A fresh file in a temp dir; a restart opens the same file again.
    fn redb_subject() -> Subject {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("hookgate.redb");
        let open = move || -> Arc<dyn Store> {
            Arc::new(RedbStore::open(&path).expect("the redb file opens"))
        };
        Subject::new(open, dir)
    }

    store_contract_tests!(redb_subject);

    /// A delivery created by a write that is durable only with the next commit is handed out
    /// only once a durable commit covers that write: `due_deliveries` waits for one or makes
    /// it. (Without this, a crash could take back a delivery already sent.)
    #[test]
    fn a_delivery_is_handed_out_only_once_its_write_is_durable() {
        use crate::store::{Durability, ProcessedBatch};
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("hookgate.redb")).unwrap();
        let durable_below = || *store.clock.durable_below.lock().unwrap();
        let delivery = crate::store::contract::new_delivery(&store, "a", None, 10);
        let id = delivery.id;
        let batch = ProcessedBatch {
            deliveries: vec![delivery],
            ..ProcessedBatch::default()
        };
        let before = durable_below();
        store
            .apply_processing(&batch, Durability::WithNextCommit)
            .unwrap();
        assert_eq!(
            durable_below(),
            before,
            "the write itself made nothing durable"
        );
        let issued = store.clock.issued.load(Ordering::SeqCst);

        let due = store.due_deliveries(10, 10).unwrap();
        assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), [id]);
        assert!(
            durable_below() > issued,
            "handed out before a durable commit covered the write that created it"
        );
    }
}
