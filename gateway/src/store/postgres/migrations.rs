//! The schema: versioned migrations (`gateway/migrations/postgres/NNNN_name.sql`, embedded in
//! the binary), applied at open in one transaction and recorded in `schema_version`. A
//! database whose schema is newer than this binary knows is refused, naming both versions.

use super::Failure;
use crate::store::StoreError;
use deadpool_postgres::Pool;

/// The migrations, in order: version `n` is `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "initial",
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        "cluster",
        include_str!("../../../migrations/postgres/0002_cluster.sql"),
    ),
    (
        "bitbucket_connections",
        include_str!("../../../migrations/postgres/0003_bitbucket_connections.sql"),
    ),
    (
        "scale",
        include_str!("../../../migrations/postgres/0004_scale.sql"),
    ),
];

/// The schema version this binary writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Serializes gateways migrating the same database at once (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x686f_6f6b_6761_7465;

/// Applies the migrations the database lacks; refuses a schema newer than [`SCHEMA_VERSION`].
pub(super) async fn apply(pool: &Pool) -> Result<(), Failure> {
    let mut client = pool.get().await?;
    let txn = client.transaction().await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let found: i32 = txn
        .query_one("SELECT COALESCE(max(version), 0) FROM schema_version", &[])
        .await?
        .try_get(0)?;
    if found > SCHEMA_VERSION {
        return Err(Failure(StoreError::Database(format!(
            "the database schema is version {found}, newer than this hookgate knows (version \
             {SCHEMA_VERSION}); run a hookgate at least as new as the one that migrated it"
        ))));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i32 + 1;
        if version <= found {
            continue;
        }
        txn.batch_execute(sql).await.map_err(|error| {
            let Failure(error) = Failure::from(error);
            Failure(StoreError::Database(format!(
                "migration {version:04}_{name}: {error}"
            )))
        })?;
        txn.execute(
            "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
            &[&version, name],
        )
        .await?;
        tracing::info!(version, name, "database migration applied");
    }
    txn.commit().await?;
    Ok(())
}
