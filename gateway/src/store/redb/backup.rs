//! A consistent copy of a running gateway's database (`hookgate backup`): every table copied
//! from one read transaction — the snapshot of one commit, which writers never change — into a
//! new redb file. Starting a gateway on the copy (as `<data-dir>/hookgate.redb`) restores it.

use super::{RedbStore, tables};
use crate::store::StoreError;
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use std::path::Path;

/// Copies one table; returns its rows.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    table: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let source = from.open_table(table)?;
    let mut target = to.open_table(table)?;
    let mut rows = 0;
    for entry in source.iter()? {
        let (key, value) = entry?;
        target.insert(key.value(), value.value())?;
        rows += 1;
    }
    Ok(rows)
}

impl RedbStore {
    /// Writes a consistent copy of the database to `to`, a file that must not exist; returns
    /// how many rows it holds.
    pub fn backup_to(&self, to: &Path) -> Result<u64, StoreError> {
        let snapshot = self.read()?;
        if to.exists() {
            return Err(StoreError::Database(format!(
                "{} exists already",
                to.display()
            )));
        }
        let copy = Database::create(to)
            .map_err(|error| StoreError::Database(format!("creating {}: {error}", to.display())))?;
        let txn = copy.begin_write()?;
        let mut rows = 0;
        rows += copy_table(&snapshot, &txn, tables::ENDPOINTS)?;
        rows += copy_table(&snapshot, &txn, tables::INBOUND)?;
        rows += copy_table(&snapshot, &txn, tables::INBOUND_BODIES)?;
        rows += copy_table(&snapshot, &txn, tables::INBOUND_BY_REQUEST)?;
        rows += copy_table(&snapshot, &txn, tables::INBOUND_REJECTED)?;
        rows += copy_table(&snapshot, &txn, tables::PROCESSING_QUEUE)?;
        // The filter indexes too: a copy without them would rebuild them at its first open.
        copy_table(&snapshot, &txn, tables::INBOUND_BY_ENDPOINT)?;
        copy_table(&snapshot, &txn, tables::INBOUND_BY_ENDPOINT_STATUS)?;
        copy_table(&snapshot, &txn, tables::INBOUND_BY_STATUS)?;
        copy_table(&snapshot, &txn, tables::INBOUND_BY_EVENT)?;
        rows += copy_table(&snapshot, &txn, tables::ALERTS)?;
        rows += copy_table(&snapshot, &txn, tables::ALERT_HISTORY)?;
        rows += copy_table(&snapshot, &txn, tables::OPEN_ALERTS)?;
        copy_table(&snapshot, &txn, tables::ACKNOWLEDGED_ALERTS)?;
        rows += copy_table(&snapshot, &txn, tables::DUE_ESCALATIONS)?;
        rows += copy_table(&snapshot, &txn, tables::DELIVERIES)?;
        rows += copy_table(&snapshot, &txn, tables::DUE_DELIVERIES)?;
        rows += copy_table(&snapshot, &txn, tables::DESTINATION_HEALTH)?;
        rows += copy_table(&snapshot, &txn, tables::DIRECTORY)?;
        rows += copy_table(&snapshot, &txn, tables::SECRET_KEYS)?;
        rows += copy_table(&snapshot, &txn, tables::BITBUCKET_CONNECTIONS)?;
        rows += copy_table(&snapshot, &txn, tables::SESSIONS)?;
        rows += copy_table(&snapshot, &txn, tables::PLUGINS)?;
        rows += copy_table(&snapshot, &txn, tables::PLUGIN_COMPONENTS)?;
        rows += copy_table(&snapshot, &txn, tables::COUNTERS)?;
        rows += copy_table(&snapshot, &txn, tables::STORAGE_PROBE)?;
        txn.commit()?;
        Ok(rows)
    }
}
