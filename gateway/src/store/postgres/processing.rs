//! Applying processed batches: one transaction for the records' results, their alert changes
//! and the deliveries they created, refused whole when the alerts it was planned on changed.
//! The expectations are checked under locks held to the commit: an advisory lock per alert key
//! (taken in one order, so two batches never deadlock) and the row lock of each alert read.

use super::alerts::{lock_scope, write_alert};
use super::deliveries::write_delivery;
use super::{PostgresStore, encode, int, take_ids, text, uint};
use crate::store::{AlertWrite, Durability, IdKind, ProcessedBatch, StoreError};
use std::collections::BTreeSet;

impl PostgresStore {
    /// Ids from the kind's counter, taken in a transaction of their own: durable, so never
    /// handed out again, even by another store on the database.
    pub(super) fn reserve_ids(&self, kind: IdKind, count: u64) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        let counter = match kind {
            IdKind::Alert => "alert",
            IdKind::Delivery => "delivery",
        };
        self.run(async move { take_ids(&**pool.get().await?, counter, count).await })
    }

    /// Both durabilities commit synchronously (phase 1): a delivery is never handed out
    /// before the write that created it is durable.
    pub(super) fn apply_processing(
        &self,
        batch: &ProcessedBatch,
        _durability: Durability,
    ) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let batch = batch.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let scopes: BTreeSet<(&str, &str)> = batch
                .expected_open
                .iter()
                .map(|((endpoint, key), _)| (endpoint.as_str(), key.as_str()))
                .chain(batch.alerts.iter().map(|write| {
                    let alert = write.record();
                    (alert.endpoint.as_str(), alert.key.as_str())
                }))
                .collect();
            for (endpoint, key) in &scopes {
                lock_scope(&txn, endpoint, key).await?;
            }
            for ((endpoint, key), expected) in &batch.expected_open {
                let found = txn
                    .query_opt(
                        "SELECT a.id, a.revision FROM open_alerts o
                         JOIN alerts a ON a.id = o.alert_id
                         WHERE o.endpoint = $1 AND o.key = $2 FOR UPDATE",
                        &[&text(endpoint), &text(key)],
                    )
                    .await?
                    .map(|row| -> Result<(u64, u64), tokio_postgres::Error> {
                        Ok((uint(row.try_get(0)?), uint(row.try_get(1)?)))
                    })
                    .transpose()?;
                if found != *expected {
                    // Dropping the transaction uncommitted rolls back nothing written yet.
                    return Err(StoreError::Conflict(format!(
                        "the open alert of {key:?} changed while the batch was processed"
                    ))
                    .into());
                }
            }
            for write in &batch.alerts {
                write_alert(&txn, write.record(), matches!(write, AlertWrite::Insert(_))).await?;
            }
            for delivery in &batch.deliveries {
                write_delivery(&txn, delivery).await?;
            }
            let mut done = Vec::with_capacity(batch.records.len());
            for result in &batch.records {
                done.push(int(result.id));
                let Some(status) = result.status else {
                    continue;
                };
                let changes = serde_json::json!({
                    "status": status,
                    "outcomes": encode(&result.outcomes),
                    "processed_at": result.processed_at,
                });
                txn.execute(
                    "UPDATE inbound SET status = $2, record = record || $3 WHERE id = $1",
                    &[&int(result.id), &status.as_str(), &changes],
                )
                .await?;
            }
            txn.execute(
                "DELETE FROM processing_queue WHERE inbound_id = ANY($1)",
                &[&done],
            )
            .await?;
            txn.commit().await?;
            Ok(())
        })
    }
}
