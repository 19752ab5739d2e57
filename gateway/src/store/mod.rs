//! The store: one redb file under the data dir. The only module that knows redb; the rest of
//! the gateway asks for records by meaning (`append_inbound`, `apply_processing`,
//! `due_deliveries`, ...), so another backend can be added behind the same calls.

mod alerts;
mod deliveries;
mod endpoints;
mod inbound;
pub mod tables;

pub use alerts::{AlertRecord, AlertState};
pub use deliveries::{DeliveryAttempt, DeliveryRecord, DeliveryStatus};
pub use endpoints::{Destination, EndpointRecord, EventSelection, FormatSpec, PluginRef};
pub use inbound::{Appended, InboundFilter, InboundRecord, InboundStatus, Outcome};

use arc_swap::ArcSwapOption;
use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, StorageError, Table,
    TransactionError, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A store failure. Handlers answer 503 (or 500) for these and log the detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation (I/O, full disk, corruption).
    #[error("database: {0}")]
    Database(String),
    /// A stored record does not parse.
    #[error("stored record {0} is unreadable")]
    Corrupt(String),
}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(error: E) -> Self {
        Self::Database(error.into().to_string())
    }
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

/// A page of records, newest first, and the cursor for the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; `None` at the end.
    pub next: Option<String>,
}

/// The database.
#[derive(Clone)]
pub struct Store {
    shared: Arc<SharedDatabase>,
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

impl Store {
    /// Opens (or creates) the database file and its tables. The error names the file and says
    /// what to do: another process holds it, it is corrupt, or it is from another redb version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(|error| open_error(path, error))?;
        let txn = db.begin_write()?;
        {
            txn.open_table(tables::ENDPOINTS)?;
            txn.open_table(tables::INBOUND)?;
            txn.open_table(tables::INBOUND_BY_REQUEST)?;
            txn.open_table(tables::PROCESSING_QUEUE)?;
            txn.open_table(tables::ALERTS)?;
            txn.open_table(tables::OPEN_ALERTS)?;
            txn.open_table(tables::DELIVERIES)?;
            txn.open_table(tables::DUE_DELIVERIES)?;
            txn.open_table(tables::COUNTERS)?;
            txn.open_table(tables::STORAGE_PROBE)?;
        }
        txn.commit()?;
        Ok(Self {
            shared: Arc::new(SharedDatabase {
                path: path.to_path_buf(),
                db: ArcSwapOption::from_pointee(db),
                failing: AtomicBool::new(false),
                last_reopen: Mutex::new(None),
            }),
        })
    }

    /// Whether the database takes writes. While the last write failed, this tries one of
    /// `probe_bytes` (a value that needs new space, kept until the next probe replaces it), so
    /// readiness comes back once the disk does, even with no traffic.
    pub fn is_healthy(&self, probe_bytes: usize) -> bool {
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
        let db = Arc::new(Database::create(&self.shared.path).map_err(|error| {
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

    /// Commits durably; a failure closes the database so the next transaction reopens it.
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

    /// Runs `work` in one write transaction, committed durably when it returns `Ok`: what it
    /// changes (inbound status, alerts, deliveries, the queue) lands together or not at all.
    pub fn transaction<T>(
        &self,
        work: impl FnOnce(&mut StoreTxn<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.write()?;
        let result = {
            let mut tables = StoreTxn {
                inbound: txn.open_table(tables::INBOUND)?,
                queue: txn.open_table(tables::PROCESSING_QUEUE)?,
                alerts: txn.open_table(tables::ALERTS)?,
                open_alerts: txn.open_table(tables::OPEN_ALERTS)?,
                deliveries: txn.open_table(tables::DELIVERIES)?,
                due: txn.open_table(tables::DUE_DELIVERIES)?,
                counters: txn.open_table(tables::COUNTERS)?,
            };
            work(&mut tables)?
        };
        self.commit(txn)?;
        Ok(result)
    }
}

/// The tables of one write transaction (see [`Store::transaction`]).
pub struct StoreTxn<'t> {
    inbound: Table<'t, u64, &'static [u8]>,
    queue: Table<'t, u64, ()>,
    alerts: Table<'t, u64, &'static [u8]>,
    open_alerts: Table<'t, &'static str, u64>,
    deliveries: Table<'t, u64, &'static [u8]>,
    due: Table<'t, (u64, u64), ()>,
    counters: Table<'t, &'static str, u64>,
}

impl StoreTxn<'_> {
    fn next_sequence(&mut self, counter: &str) -> Result<u64, StoreError> {
        take_sequence(&mut self.counters, counter)
    }
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

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
}

/// A page of a sequence-keyed table, newest first: records below `before` that `keep` accepts,
/// at most `limit`, with the cursor of the next page.
fn newest_first<T: DeserializeOwned>(
    table: &redb::ReadOnlyTable<u64, &'static [u8]>,
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
