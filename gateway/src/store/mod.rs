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

use redb::{Database, ReadableDatabase, ReadableTable, Table, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;

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
    db: Arc<Database>,
}

impl Store {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
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
        }
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Whether the database answers a read.
    pub fn is_healthy(&self) -> bool {
        self.db
            .begin_read()
            .map(|txn| txn.open_table(tables::COUNTERS).is_ok())
            .unwrap_or(false)
    }

    fn write(&self) -> Result<WriteTransaction, StoreError> {
        Ok(self.db.begin_write()?)
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
        txn.commit()?;
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
