//! Applying processed batches: one write for the records' results, their alert changes and
//! the deliveries they created, refused whole when the alerts it was planned on changed.

use super::alerts::{AlertIndexes, read_alert, write_alert};
use super::deliveries::write_delivery;
use super::inbound::{InboundIndexes, read_inbound};
use super::{
    ALERT_COUNTER, DELIVERY_COUNTER, RedbStore, advance_counter, encode, scoped_key, tables,
};
use crate::store::{AlertWrite, Durability, IdKind, ProcessedBatch, StoreError};
use redb::ReadableTable;

impl RedbStore {
    pub(super) fn reserve_ids(&self, kind: IdKind, count: u64) -> u64 {
        self.ids.reserve(kind, count)
    }

    pub(super) fn apply_processing(
        &self,
        batch: &ProcessedBatch,
        durability: Durability,
    ) -> Result<(), StoreError> {
        let (txn, ticket) = self.write_with(durability)?;
        {
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            let mut alerts = txn.open_table(tables::ALERTS)?;
            let mut open_alerts = txn.open_table(tables::OPEN_ALERTS)?;
            let mut escalations = txn.open_table(tables::DUE_ESCALATIONS)?;
            let mut deliveries = txn.open_table(tables::DELIVERIES)?;
            let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
            let mut counters = txn.open_table(tables::COUNTERS)?;
            let mut inbound_indexes = InboundIndexes::open(&txn)?;
            let mut acknowledged = txn.open_table(tables::ACKNOWLEDGED_ALERTS)?;
            let mut history = txn.open_table(tables::ALERT_HISTORY)?;

            for ((endpoint, key), expected) in &batch.expected_open {
                let found = match open_alerts.get(scoped_key(endpoint, key).as_str())? {
                    Some(id) => read_alert(&alerts, id.value())?.map(|a| (a.id, a.revision)),
                    None => None,
                };
                if found != *expected {
                    // Dropping the transaction uncommitted undoes nothing written yet.
                    return Err(StoreError::Conflict(format!(
                        "the open alert of {key:?} changed while the batch was processed"
                    )));
                }
            }
            for write in &batch.alerts {
                let new = matches!(write, AlertWrite::Insert(_));
                let mut indexes = AlertIndexes {
                    open: &mut open_alerts,
                    acknowledged: &mut acknowledged,
                    history: &mut history,
                };
                let alert = write_alert(
                    &mut alerts,
                    &mut indexes,
                    &mut escalations,
                    write.record(),
                    new,
                )?;
                if new {
                    advance_counter(&mut counters, ALERT_COUNTER, alert.id)?;
                }
            }
            for delivery in &batch.deliveries {
                write_delivery(&mut deliveries, &mut due, delivery)?;
                advance_counter(&mut counters, DELIVERY_COUNTER, delivery.id)?;
            }
            for result in &batch.records {
                // A record leaving the queue is settled: indexed here, once, with its final
                // status (queued records are not indexed; see `tables::INBOUND_BY_ENDPOINT`).
                let was_queued = queue.remove(result.id)?.is_some();
                let Some(mut record) = read_inbound(&inbound, result.id)? else {
                    continue;
                };
                let stored_status = record.status;
                // Without a status (its endpoint is gone) it leaves the queue as it was.
                if let Some(status) = result.status {
                    record.status = status;
                    record.outcomes = result.outcomes.clone();
                    record.processed_at = Some(result.processed_at);
                    inbound.insert(result.id, encode(&record).as_slice())?;
                }
                if was_queued {
                    inbound_indexes.insert(result.id, &record)?;
                } else {
                    inbound_indexes.change_status(result.id, &record, stored_status)?;
                }
            }
        }
        self.commit_with(txn, ticket)
    }
}
