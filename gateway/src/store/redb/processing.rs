//! Applying processed batches: one write for the records' results, their alert changes and
//! the deliveries they created, refused whole when the alerts it was planned on changed —
//! alone, or in ingest's group commit together with the records it appends.

use super::alerts::{AlertIndexes, read_alert, write_alert};
use super::deliveries::write_delivery;
use super::inbound::{InboundIndexes, append_records, read_inbound, stored_bodies};
use super::{
    ALERT_COUNTER, DELIVERY_COUNTER, RedbStore, advance_counter, encode, scoped_key, tables,
};
use crate::store::{
    AlertWrite, Durability, GroupCommitted, IdKind, InboundRecord, ProcessedBatch, StoreError,
};
use redb::{ReadableTable, WriteTransaction};

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
        // Dropping the transaction uncommitted undoes whatever was written before a failure.
        check_batch(&txn, batch)?;
        write_batch(&txn, batch)?;
        self.commit_with(txn, ticket)
    }

    /// Ingest's group and processing's batches in one durable commit: a cycle of the write
    /// lock makes one commit instead of two, and the B-tree pages both touch (the log's newest
    /// records, the counters, the queue) are copied once. Each batch is checked before any of
    /// it is written, so a refused one leaves the transaction as it was.
    pub(super) fn commit_group(
        &self,
        records: Vec<InboundRecord>,
        batches: &[ProcessedBatch],
    ) -> Result<GroupCommitted, StoreError> {
        let bodies = stored_bodies(&records);
        let (txn, ticket) = self.durable_write()?;
        let mut applied = Vec::with_capacity(batches.len());
        for batch in batches {
            if let Err(refused) = check_batch(&txn, batch) {
                applied.push(Err(refused));
                continue;
            }
            if let Err(error) = write_batch(&txn, batch) {
                // Part of it is in the transaction and cannot be taken out alone: start again
                // with the records only; every batch of the group is refused and runs again.
                tracing::warn!(%error, "a processed batch failed part-way; committing its group's records without it");
                txn.abort()?;
                let (txn, ticket) = self.durable_write()?;
                let appended = append_records(&txn, records, bodies)?;
                self.commit_durable(txn, ticket)?;
                let applied = batches.iter().map(|_| Err(refused_with(&error))).collect();
                return Ok(GroupCommitted { appended, applied });
            }
            applied.push(Ok(()));
        }
        let appended = append_records(&txn, records, bodies)?;
        self.commit_durable(txn, ticket)?;
        Ok(GroupCommitted { appended, applied })
    }
}

/// A batch's failure, as told to every batch of its group.
fn refused_with(error: &StoreError) -> StoreError {
    match error {
        StoreError::Conflict(reason) => StoreError::Conflict(reason.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

/// Refuses a batch with [`StoreError::Conflict`] when an alert it was planned on changed: an
/// open alert it expected (or expected none), or the revision of one it updates.
fn check_batch(txn: &WriteTransaction, batch: &ProcessedBatch) -> Result<(), StoreError> {
    let alerts = txn.open_table(tables::ALERTS)?;
    let open_alerts = txn.open_table(tables::OPEN_ALERTS)?;
    for ((endpoint, key), expected) in &batch.expected_open {
        let found = match open_alerts.get(scoped_key(endpoint, key).as_str())? {
            Some(id) => read_alert(&alerts, id.value())?.map(|a| (a.id, a.revision)),
            None => None,
        };
        if found != *expected {
            return Err(StoreError::Conflict(format!(
                "the open alert of {key:?} changed while the batch was processed"
            )));
        }
    }
    for write in &batch.alerts {
        let planned = write.record();
        let stored = read_alert(&alerts, planned.id)?.map(|alert| alert.revision);
        let holds = match write {
            AlertWrite::Insert(_) => stored.is_none(),
            AlertWrite::Update(_) => stored == Some(planned.revision),
        };
        if !holds {
            return Err(StoreError::Conflict(format!(
                "alert {} changed while the batch was processed",
                planned.id
            )));
        }
    }
    Ok(())
}

/// Writes a checked batch: its alerts, deliveries and records' results.
fn write_batch(txn: &WriteTransaction, batch: &ProcessedBatch) -> Result<(), StoreError> {
    let mut inbound = txn.open_table(tables::INBOUND)?;
    let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
    let mut alerts = txn.open_table(tables::ALERTS)?;
    let mut open_alerts = txn.open_table(tables::OPEN_ALERTS)?;
    let mut escalations = txn.open_table(tables::DUE_ESCALATIONS)?;
    let mut deliveries = txn.open_table(tables::DELIVERIES)?;
    let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
    let mut counters = txn.open_table(tables::COUNTERS)?;
    let mut inbound_indexes = InboundIndexes::open(txn)?;
    let mut acknowledged = txn.open_table(tables::ACKNOWLEDGED_ALERTS)?;
    let mut history = txn.open_table(tables::ALERT_HISTORY)?;

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
        // A record leaving the queue is settled: indexed here, once, with its final status
        // (queued records are not indexed; see `tables::INBOUND_BY_ENDPOINT`).
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::{append_pending, inbound, new_alert, processed};
    use crate::store::{Appended, InboundStatus};

    /// A batch that fails after part of it was written (here a record it settles is
    /// unreadable, found after its alert was written) is refused, and its group's records are
    /// committed without any of it.
    #[test]
    fn a_batch_failing_part_way_leaves_its_group_s_records_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("hookgate.redb")).unwrap();
        let [unreadable] = append_pending(&store, "a", &[1])[..] else {
            unreachable!()
        };
        let txn = store.write().unwrap();
        txn.open_table(tables::INBOUND)
            .unwrap()
            .insert(unreadable, b"not a record".as_slice())
            .unwrap();
        txn.commit().unwrap();
        let alert = new_alert(&store, "a", "k");
        let batch = ProcessedBatch {
            records: vec![processed(unreadable, InboundStatus::Processed)],
            expected_open: vec![(("a".into(), "k".into()), None)],
            alerts: vec![AlertWrite::Insert(alert.clone())],
            deliveries: Vec::new(),
        };

        let committed = store
            .commit_group(
                vec![inbound("a", None, InboundStatus::Pending, 2)],
                &[batch],
            )
            .unwrap();

        assert!(
            matches!(committed.applied[..], [Err(StoreError::Database(_))]),
            "{:?}",
            committed.applied
        );
        let [Appended::Accepted(appended)] = committed.appended[..] else {
            panic!("the record is accepted: {:?}", committed.appended);
        };
        assert!(store.inbound(appended).unwrap().is_some());
        assert_eq!(store.alert(alert.id).unwrap(), None, "nothing of the batch");
        assert_eq!(store.open_alert("a", "k").unwrap(), None);
        assert_eq!(store.queue_depth().unwrap(), 2, "both records stay queued");
    }
}
