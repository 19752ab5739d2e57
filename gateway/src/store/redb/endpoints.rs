//! Endpoints, and the cache of them that ingest reads on every request.

use super::{RedbStore, decode, encode, tables};
use crate::store::{EndpointRecord, QuarantineChange, StoreError};
use redb::ReadableTable;
use std::sync::Arc;

impl RedbStore {
    pub(super) fn save_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        // The cache entry goes first and comes back after the commit, so no reader can keep
        // the old record once the new one is on disk.
        self.forget_endpoint(&endpoint.id);
        let txn = self.write()?;
        txn.open_table(tables::ENDPOINTS)?
            .insert(endpoint.id.as_str(), encode(endpoint).as_slice())?;
        self.commit(txn)?;
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.insert(endpoint.id.clone(), Arc::new(endpoint.clone()));
        }
        Ok(())
    }

    /// Quarantines or releases a plugin inside one write transaction (redb has one writer at a
    /// time, so no `save_endpoint` can come between the read and the write).
    pub(super) fn change_quarantine(
        &self,
        id: &str,
        change: &QuarantineChange,
    ) -> Result<bool, StoreError> {
        self.forget_endpoint(id);
        let txn = self.write()?;
        let changed = {
            let mut table = txn.open_table(tables::ENDPOINTS)?;
            let current = match table.get(id)? {
                Some(bytes) => Some(decode::<EndpointRecord>("endpoint", bytes.value())?),
                None => None,
            };
            match current {
                Some(mut endpoint) => {
                    if change.apply(&mut endpoint) {
                        table.insert(id, encode(&endpoint).as_slice())?;
                        Some(endpoint)
                    } else {
                        None
                    }
                }
                None => None,
            }
        };
        let Some(endpoint) = changed else {
            return Ok(false);
        };
        self.commit(txn)?;
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.insert(endpoint.id.clone(), Arc::new(endpoint));
        }
        Ok(true)
    }

    /// The endpoint with this id, shared with the cache (no copy).
    pub(super) fn endpoint(&self, id: &str) -> Result<Option<Arc<EndpointRecord>>, StoreError> {
        if let Some(endpoint) = self
            .endpoint_cache
            .read()
            .ok()
            .and_then(|cache| cache.get(id).cloned())
        {
            return Ok(Some(endpoint));
        }
        let txn = self.read()?;
        let table = txn.open_table(tables::ENDPOINTS)?;
        let Some(bytes) = table.get(id)? else {
            return Ok(None);
        };
        let endpoint: Arc<EndpointRecord> = Arc::new(decode("endpoint", bytes.value())?);
        // Never over a newer record that `save_endpoint` put in meanwhile: this read may have
        // started before its commit.
        Ok(Some(match self.endpoint_cache.write() {
            Ok(mut cache) => cache.entry(id.to_string()).or_insert(endpoint).clone(),
            Err(_) => endpoint,
        }))
    }

    fn forget_endpoint(&self, id: &str) {
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.remove(id);
        }
    }

    pub(super) fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::ENDPOINTS)?;
        let mut endpoints = Vec::new();
        for entry in table.iter()? {
            let (_, bytes) = entry?;
            endpoints.push(decode::<EndpointRecord>("endpoint", bytes.value())?);
        }
        endpoints.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(endpoints)
    }
}
