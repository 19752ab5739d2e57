//! Endpoints, and the short-lived cache of them that ingest reads on every request.

use super::cluster::{ENDPOINT_CHANNEL, notify};
use super::{ENDPOINT_CACHE_TTL, PostgresStore, decode, encode, int};
use crate::store::{EndpointRecord, QuarantineChange, StoreError};
use std::sync::Arc;
use std::time::Instant;

impl PostgresStore {
    pub(super) fn save_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        // Forgotten first, cached again after the commit: no reader keeps the old record once
        // the new one is stored.
        self.forget_endpoint(&endpoint.id);
        let pool = self.pool.clone();
        let record = endpoint.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            txn.execute(
                "INSERT INTO endpoints (id, created_at, record) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at,
                 record = EXCLUDED.record",
                &[&record.id, &int(record.created_at), &encode(&record)],
            )
            .await?;
            // The other gateways drop their cached copy at commit.
            notify(&*txn, ENDPOINT_CHANNEL, &record.id).await?;
            txn.commit().await?;
            Ok(())
        })?;
        if let Ok(mut cache) = self.shared.endpoint_cache.write() {
            cache.insert(
                endpoint.id.clone(),
                (Instant::now(), Arc::new(endpoint.clone())),
            );
        }
        Ok(())
    }

    /// Quarantines or releases a plugin: the row is locked from the read to the commit, so a
    /// `save_endpoint` of another gateway waits for it, and every gateway drops its cached
    /// copy at commit.
    pub(super) fn change_quarantine(
        &self,
        id: &str,
        change: &QuarantineChange,
    ) -> Result<bool, StoreError> {
        if id.contains('\0') {
            return Ok(false);
        }
        self.forget_endpoint(id);
        let pool = self.pool.clone();
        let key = id.to_string();
        let change = change.clone();
        let changed: Option<EndpointRecord> = self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let row = txn
                .query_opt(
                    "SELECT record FROM endpoints WHERE id = $1 FOR UPDATE",
                    &[&key],
                )
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let mut endpoint: EndpointRecord = decode("endpoint", &row, 0)?;
            if !change.apply(&mut endpoint) {
                return Ok(None);
            }
            txn.execute(
                "UPDATE endpoints SET record = $2 WHERE id = $1",
                &[&key, &encode(&endpoint)],
            )
            .await?;
            notify(&*txn, ENDPOINT_CHANNEL, &key).await?;
            txn.commit().await?;
            Ok(Some(endpoint))
        })?;
        let Some(endpoint) = changed else {
            return Ok(false);
        };
        if let Ok(mut cache) = self.shared.endpoint_cache.write() {
            cache.insert(endpoint.id.clone(), (Instant::now(), Arc::new(endpoint)));
        }
        Ok(true)
    }

    pub(super) fn endpoint(&self, id: &str) -> Result<Option<Arc<EndpointRecord>>, StoreError> {
        if let Some((_, endpoint)) = self
            .shared
            .endpoint_cache
            .read()
            .ok()
            .and_then(|cache| cache.get(id).cloned())
            .filter(|(at, _)| at.elapsed() < ENDPOINT_CACHE_TTL)
        {
            return Ok(Some(endpoint));
        }
        if id.contains('\0') {
            // No id has one (and a `TEXT` parameter cannot).
            return Ok(None);
        }
        let started = Instant::now();
        let pool = self.pool.clone();
        let key = id.to_string();
        let found: Option<EndpointRecord> = self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt("SELECT record FROM endpoints WHERE id = $1", &[&key])
                .await?;
            row.map(|row| decode("endpoint", &row, 0)).transpose()
        })?;
        let Some(endpoint) = found.map(Arc::new) else {
            self.forget_endpoint(id);
            return Ok(None);
        };
        // Never over a newer record that `save_endpoint` put in meanwhile: this read may have
        // started before its commit.
        Ok(Some(match self.shared.endpoint_cache.write() {
            Ok(mut cache) => {
                let entry = cache
                    .entry(id.to_string())
                    .or_insert((started, endpoint.clone()));
                if entry.0 < started {
                    *entry = (started, endpoint);
                }
                entry.1.clone()
            }
            Err(_) => endpoint,
        }))
    }

    fn forget_endpoint(&self, id: &str) {
        if let Ok(mut cache) = self.shared.endpoint_cache.write() {
            cache.remove(id);
        }
    }

    pub(super) fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT record FROM endpoints ORDER BY created_at DESC, id DESC",
                    &[],
                )
                .await?;
            rows.iter().map(|row| decode("endpoint", row, 0)).collect()
        })
    }
}
