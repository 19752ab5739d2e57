//! The PostgreSQL backend (15 or newer): `[storage] url = "postgres://..."`. Each record is
//! kept whole as JSONB (the same serde form as redb's values), next to the columns its queries
//! select and order by; the schema comes from the versioned migrations in
//! `gateway/migrations/postgres/`, applied at open (`migrations.rs`).
//!
//! The [`Store`](crate::store::Store) trait is synchronous and is called from blocking threads
//! and from inside tokio contexts alike, so the store owns a small tokio runtime: each call
//! spawns its work there and waits on a channel, which works from any thread.
//!
//! Any number of gateways may share the database (`cluster.rs`): a gateway processes an
//! endpoint's queued records under a lease on the endpoint, so one alert key's records are
//! applied in arrival order and exactly once whichever gateway received them; a delivery is
//! claimed by the gateway attempting it; conditional writes lock the rows they check
//! (`SELECT ... FOR UPDATE`, an advisory lock per alert key), which makes each escalation step
//! and quiet-period close happen once. LISTEN/NOTIFY wakes the other gateways. Both
//! [`Durability`](crate::store::Durability) levels commit synchronously. TLS follows libpq's
//! `sslmode` and `sslrootcert` (`tls.rs`).

mod alerts;
mod bitbucket;
mod cluster;
mod copy;
mod deliveries;
mod destinations;
mod directory;
mod endpoints;
mod inbound;
mod migrations;
mod processing;
mod shared;
mod tls;
mod trait_impl;

#[cfg(any(test, feature = "test-cluster"))]
pub mod test_cluster;
#[cfg(test)]
mod tests;

pub use cluster::Leases;
pub use migrations::SCHEMA_VERSION;

use super::{EndpointRecord, Page, StoreError, StoreEvents};
use crate::config::redact_database_url;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

/// What a gateway's connections are called in `pg_stat_activity`.
const APPLICATION_NAME: &str = "hookgate";
/// Connections the store keeps open at most.
const POOL_SIZE: usize = 8;
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call waits for a free connection.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// How long one store call may take in all before it fails (the database is unreachable or
/// stuck).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an endpoint read stays in the cache ingest reads on every request.
const ENDPOINT_CACHE_TTL: Duration = Duration::from_secs(1);

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    /// The store's own runtime, where every query runs; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    /// Who this store is when it claims work: random per open.
    instance: i64,
    /// How long its claims last.
    leases: Leases,
    /// The last call failed with a database error and no probe has succeeded since.
    failing: AtomicBool,
    /// What the notification listener reaches.
    shared: Arc<Shared>,
}

/// What the store and its notification listener share.
#[derive(Default)]
pub(super) struct Shared {
    /// Endpoints as last read or saved, with when: ingest reads one per request.
    endpoint_cache: RwLock<HashMap<String, (Instant, Arc<EndpointRecord>)>>,
    /// Who hears about the other gateways' writes.
    events: RwLock<Option<Arc<dyn StoreEvents>>>,
}

impl Shared {
    fn events(&self) -> Option<Arc<dyn StoreEvents>> {
        self.events.read().ok().and_then(|events| events.clone())
    }

    fn inbound_queued(&self) {
        if let Some(events) = self.events() {
            events.inbound_queued();
        }
    }

    fn plugins_changed(&self) {
        if let Some(events) = self.events() {
            events.plugins_changed();
        }
    }

    fn endpoint_changed(&self, id: &str) {
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.remove(id);
        }
    }

    /// After a reconnect: whatever was said meanwhile is lost.
    fn everything_changed(&self) {
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.clear();
        }
        self.inbound_queued();
        self.plugins_changed();
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to [`SCHEMA_VERSION`]. The
    /// error names the URL with its password replaced: it cannot connect, the URL does not
    /// parse, or the schema is newer than this hookgate knows.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_named(url, APPLICATION_NAME)
    }

    /// [`PostgresStore::open`], with the connections named `application_name` (unless the URL
    /// names them): what `pg_stat_activity` shows.
    pub fn open_named(url: &str, application_name: &str) -> Result<Self, StoreError> {
        let shown = redact_database_url(url);
        let tls::Connection { mut config, tls } = tls::connection(url).map_err(|error| {
            StoreError::Database(format!("{shown} is not a usable PostgreSQL URL: {error}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name(application_name);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hookgate-postgres")
            .enable_all()
            .build()
            .map_err(|error| StoreError::Database(format!("starting the runtime: {error}")))?;
        let listener_config = config.clone();
        let manager = Manager::from_config(
            config,
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| StoreError::Database(format!("{shown}: {error}")))?;
        let store = Self {
            pool,
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            instance: rand::random::<i64>(),
            leases: Leases::default(),
            failing: AtomicBool::new(false),
            shared: Arc::default(),
        };
        let pool = store.pool.clone();
        store
            .run(async move { migrations::apply(&pool).await })
            .map_err(|error| match error {
                StoreError::Database(message) => {
                    StoreError::Database(format!("{shown}: {message}"))
                }
                other => other,
            })?;
        store.handle.spawn(cluster::listen(
            listener_config,
            tls,
            store.instance,
            store.shared.clone(),
        ));
        Ok(store)
    }

    /// The same store with claims lasting `leases` (`[storage] lease`).
    pub fn with_leases(mut self, leases: Leases) -> Self {
        self.leases = leases;
        self
    }

    /// Tells `events` about the other gateways' writes from now on.
    pub(super) fn watch(&self, events: Arc<dyn StoreEvents>) {
        if let Ok(mut watching) = self.shared.events.write() {
            *watching = Some(events);
        }
    }

    /// Runs `work` on the store's runtime and waits for it, from any thread (a blocking one or
    /// a runtime's worker), at most [`CALL_TIMEOUT`].
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, Failure>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let result = match tokio::time::timeout(CALL_TIMEOUT, work).await {
                Ok(result) => result,
                Err(_) => Err(Failure(StoreError::Database(format!(
                    "no answer from the database within {}s",
                    CALL_TIMEOUT.as_secs()
                )))),
            };
            let _ = sender.send(result);
        });
        let result = receiver
            .recv()
            .map_err(|_| StoreError::Database("the database task stopped".into()))?;
        result.map_err(|Failure(error)| {
            if matches!(error, StoreError::Database(_)) {
                self.failing.store(true, Ordering::Release);
            }
            error
        })
    }

    /// Whether the database takes writes: after a failed call, a write of `probe_bytes`.
    fn is_healthy(&self, probe_bytes: usize) -> bool {
        if !self.failing.load(Ordering::Acquire) {
            return true;
        }
        let pool = self.pool.clone();
        let probe = self.run(async move {
            let client = pool.get().await?;
            client
                .execute(
                    "INSERT INTO storage_probe (id, bytes) VALUES (0, $1)
                     ON CONFLICT (id) DO UPDATE SET bytes = EXCLUDED.bytes",
                    &[&vec![0u8; probe_bytes]],
                )
                .await?;
            Ok(())
        });
        let healthy = probe.is_ok();
        if healthy {
            self.failing.store(false, Ordering::Release);
        }
        healthy
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Not `Runtime::drop`, which blocks and panics inside an async context (a gateway
        // drops its store at the end of `run_until`): the connections close with their tasks.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A store error inside the store's futures, so `?` takes PostgreSQL and pool errors.
pub(super) struct Failure(StoreError);

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self(error)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        let Some(db) = error.as_db_error() else {
            return Self(StoreError::Database(with_causes(&error)));
        };
        let code = db.code();
        // Another transaction got there first: read and plan again.
        if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::UNIQUE_VIOLATION
        {
            return Self(StoreError::Conflict(db.message().to_string()));
        }
        Self(StoreError::Database(format!(
            "{} ({})",
            db.message(),
            code.code()
        )))
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self(StoreError::Database(with_causes(&error)))
    }
}

/// An error and its causes (`error connecting to server: Connection refused`): the driver's
/// own message leaves the cause out.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !message.ends_with(&text) {
            message = format!("{message}: {text}");
        }
        cause = next.source();
    }
    message
}

/// A count or a time as PostgreSQL's `BIGINT`.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `BIGINT` as a count or a time.
fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A record as JSONB. JSONB cannot hold U+0000, which a plugin's text may carry: each one
/// becomes U+FFFD (rather than a write that fails, and a queue that never drains).
fn encode<T: Serialize>(record: &T) -> serde_json::Value {
    let mut value = serde_json::to_value(record).expect("records serialize");
    replace_nul(&mut value);
    value
}

/// Text for a `TEXT` column, which cannot hold U+0000 either (as in [`encode`]).
fn text(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

fn replace_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            *text = text.replace('\0', "\u{FFFD}");
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(replace_nul),
        serde_json::Value::Object(fields) => {
            if fields.keys().any(|key| key.contains('\0')) {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(key, value)| (key.replace('\0', "\u{FFFD}"), value))
                    .collect();
            }
            fields.values_mut().for_each(replace_nul);
        }
        _ => {}
    }
}

/// The JSONB record in `column` of `row`.
fn decode<T: DeserializeOwned>(what: &str, row: &Row, column: usize) -> Result<T, Failure> {
    let value: serde_json::Value = row.try_get(column)?;
    serde_json::from_value(value)
        .map_err(|error| Failure(StoreError::Corrupt(format!("{what}: {error}"))))
}

/// The records of rows `(id, record)` fetched newest first with one row more than `limit`:
/// a page, with the cursor of the next one (as redb's: the first id left out, plus one).
fn page<T: DeserializeOwned>(what: &str, rows: &[Row], limit: usize) -> Result<Page<T>, Failure> {
    let mut items = Vec::with_capacity(rows.len().min(limit));
    let mut next = None;
    for row in rows {
        if items.len() == limit {
            next = Some((uint(row.try_get(0)?) + 1).to_string());
            break;
        }
        items.push(decode(what, row, 1)?);
    }
    Ok(Page { items, next })
}

/// `LIMIT` for a page of `limit` and the row that tells whether there is another.
fn page_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
}

/// `before` as an exclusive upper bound on ids.
fn before(before: Option<u64>) -> i64 {
    before.map_or(i64::MAX, int)
}

/// The name serde gives a unit variant (`AlertState::Open` → `open`).
fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        other => panic!("not a unit variant: {other:?}"),
    }
}

/// Takes `count` values of a named counter in `client`'s transaction; returns the first.
async fn take_ids(
    client: &impl tokio_postgres::GenericClient,
    counter: &str,
    count: u64,
) -> Result<u64, Failure> {
    let row = client
        .query_one(
            "INSERT INTO counters (name, next) VALUES ($1, 1 + $2::BIGINT) ON CONFLICT (name)
             DO UPDATE SET next = counters.next + $2::BIGINT RETURNING next - $2::BIGINT",
            &[&counter, &int(count)],
        )
        .await?;
    Ok(uint(row.try_get(0)?))
}
