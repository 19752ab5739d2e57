//! Applying processed batches: one transaction for the records' results, their alert changes
//! and the deliveries they created, refused whole when the alerts it was planned on changed.
//! The expectations are checked under locks held to the commit: an advisory lock per alert key
//! (taken in one order, so two batches never deadlock) and the row lock of each alert read.

use super::alerts::{lock_scope, write_alert};
use super::deliveries::write_delivery;
use super::{Failure, PostgresStore, encode, int, take_ids, text, uint};
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
        let instance = self.instance;
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let done: Vec<i64> = batch.records.iter().map(|result| int(result.id)).collect();
            if !done.is_empty() {
                take_claimed(&txn, instance, &done).await?;
            }
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
            for result in &batch.records {
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
            txn.commit().await?;
            Ok(())
        })
    }
}

/// Takes the records `ids` off the queue and releases this store's (`instance`) leases on their
/// endpoints; [`StoreError::ClaimLost`] when another store holds one of those leases (it took
/// the records over after this one's lease expired, and applies them) or a record is no longer
/// queued (applied already). The lease rows are locked first, so no store takes one over
/// before this transaction ends; records nobody holds a lease on may be applied by anyone
/// (taking them off the queue is what makes it once).
async fn take_claimed(
    txn: &tokio_postgres::Transaction<'_>,
    instance: i64,
    ids: &[i64],
) -> Result<(), Failure> {
    let held: Vec<(String, i64)> = txn
        .query(
            "SELECT l.endpoint, l.holder FROM processing_leases l
             WHERE l.endpoint IN (SELECT endpoint FROM processing_queue
                                  WHERE inbound_id = ANY($1))
             ORDER BY l.endpoint FOR UPDATE",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let lost = |why: String| Err(Failure(StoreError::ClaimLost(why)));
    if let Some((endpoint, _)) = held.iter().find(|(_, holder)| *holder != instance) {
        return lost(format!(
            "another gateway holds the records of endpoint {endpoint}"
        ));
    }
    let taken: Vec<String> = txn
        .query(
            "DELETE FROM processing_queue WHERE inbound_id = ANY($1) RETURNING endpoint",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if taken.len() != ids.len() {
        return lost(format!(
            "{} of the batch's {} records were applied already",
            ids.len() - taken.len(),
            ids.len()
        ));
    }
    let endpoints: Vec<&str> = taken
        .iter()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    txn.execute(
        "DELETE FROM processing_leases WHERE holder = $1 AND endpoint = ANY($2)",
        &[&instance, &endpoints],
    )
    .await?;
    Ok(())
}
