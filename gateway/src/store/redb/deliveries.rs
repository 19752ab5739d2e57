//! Deliveries, and the index of those due for an attempt.

use super::retention::{Chunk, RETENTION_PACE, Slice, walk_oldest};
use super::{RedbStore, decode, encode, newest_first, read_record, tables};
use crate::store::{
    DeliveryFilter, DeliveryRecord, DeliveryStatus, Page, RetryScheduled, StoreError,
};
use redb::{ReadableTable, Table, WriteTransaction};
use std::ops::ControlFlow;

impl RedbStore {
    /// One delivery.
    pub(super) fn delivery(&self, id: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        let txn = self.read()?;
        read_delivery(&txn.open_table(tables::DELIVERIES)?, id)
    }

    /// Deliveries due at `now_ms`, soonest first; returns once the writes that created them
    /// are durable, so nothing is sent that a crash could take back.
    pub(super) fn due_deliveries(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let txn = self.read()?;
        let mark = self.commit_mark();
        let due = txn.open_table(tables::DUE_DELIVERIES)?;
        let deliveries = txn.open_table(tables::DELIVERIES)?;
        let mut records = Vec::new();
        for entry in due.range(..(now_ms + 1, 0))?.take(limit) {
            let (key, _) = entry?;
            let (_, id) = key.value();
            if let Some(bytes) = deliveries.get(id)? {
                records.push(decode("delivery", bytes.value())?);
            }
        }
        if !records.is_empty() {
            self.wait_durable(mark)?;
        }
        Ok(records)
    }

    /// When the soonest delivery is due, if any is.
    pub(super) fn next_due_at(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let due = txn.open_table(tables::DUE_DELIVERIES)?;
        Ok(due.first()?.map(|(key, _)| key.value().0))
    }

    pub(super) fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DELIVERIES)?;
        newest_first(
            &table,
            "delivery",
            filter.before,
            filter.limit,
            |record: &DeliveryRecord| {
                filter.status.is_none_or(|s| s == record.status)
                    && filter
                        .endpoint
                        .as_ref()
                        .is_none_or(|e| *e == record.endpoint)
            },
        )
    }

    /// The deliveries an inbound record caused (replays included), oldest first. They are all
    /// created after the record arrived, so the newest-first scan stops at the first older one.
    pub(super) fn deliveries_for_inbound(
        &self,
        inbound_id: u64,
        received_at: u64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DELIVERIES)?;
        let mut records = Vec::new();
        for entry in table.iter()?.rev() {
            let (_, bytes) = entry?;
            let record: DeliveryRecord = decode("delivery", bytes.value())?;
            if record.created_at < received_at {
                break;
            }
            if record.inbound_id == Some(inbound_id) {
                records.push(record);
            }
        }
        records.reverse();
        Ok(records)
    }

    pub(super) fn schedule_retry(&self, id: u64, at: u64) -> Result<RetryScheduled, StoreError> {
        let (txn, ticket) = self.durable_write()?;
        let scheduled = {
            let mut deliveries = txn.open_table(tables::DELIVERIES)?;
            let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
            match read_delivery(&deliveries, id)? {
                None => RetryScheduled::NotFound,
                Some(record) if record.status == DeliveryStatus::Delivered => {
                    RetryScheduled::AlreadyDelivered
                }
                Some(mut record) => {
                    record.status = DeliveryStatus::Pending;
                    record.next_attempt_at = Some(at);
                    write_delivery(&mut deliveries, &mut due, &record)?;
                    RetryScheduled::Scheduled(Box::new(record))
                }
            }
        };
        self.commit_durable(txn, ticket)?;
        Ok(scheduled)
    }
}

impl RedbStore {
    /// Deletes finished deliveries made before `created_before_ms`, oldest first, at
    /// retention's pace ([`RedbStore::prune_paced`]). Ids follow creation time, so the scan
    /// stops at the first delivery made after the cutoff.
    pub(super) fn prune_finished_deliveries(
        &self,
        created_before_ms: u64,
    ) -> Result<u64, StoreError> {
        self.prune_paced(RETENTION_PACE, 0, |txn, slice, from| {
            prune_finished_deliveries_chunk(txn, slice, created_before_ms, from)
        })
    }
}

/// One chunk of [`RedbStore::prune_finished_deliveries`], as for alerts.
fn prune_finished_deliveries_chunk(
    txn: &WriteTransaction,
    slice: &Slice,
    created_before_ms: u64,
    from: u64,
) -> Result<Chunk<u64>, StoreError> {
    /// What retention reads of a delivery, without decoding its request.
    #[derive(serde::Deserialize)]
    struct Finishing {
        status: DeliveryStatus,
        created_at: u64,
        next_attempt_at: Option<u64>,
    }
    let mut deliveries = txn.open_table(tables::DELIVERIES)?;
    let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
    let mut doomed = Vec::new();
    let next = walk_oldest(
        &deliveries,
        "delivery",
        slice,
        from,
        |id, delivery: Finishing| {
            if delivery.created_at >= created_before_ms {
                return ControlFlow::Break(());
            }
            if matches!(
                delivery.status,
                DeliveryStatus::Delivered | DeliveryStatus::Failed
            ) {
                doomed.push((id, delivery.next_attempt_at));
            }
            ControlFlow::Continue(())
        },
    )?;
    for &(id, due_at) in &doomed {
        deliveries.remove(id)?;
        if let Some(at) = due_at {
            due.remove((at, id))?;
        }
    }
    Ok(Chunk {
        removed: doomed.len() as u64,
        next,
    })
}

pub(super) fn read_delivery(
    table: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<DeliveryRecord>, StoreError> {
    read_record(table, "delivery", id)
}

/// Writes a delivery and moves its due-index entry from where the stored one was due to its
/// next attempt.
pub(super) fn write_delivery(
    deliveries: &mut Table<'_, u64, &'static [u8]>,
    due: &mut Table<'_, (u64, u64), ()>,
    delivery: &DeliveryRecord,
) -> Result<(), StoreError> {
    if let Some(at) = stored_due_at(deliveries, delivery.id)? {
        due.remove((at, delivery.id))?;
    }
    if let Some(at) = delivery.next_attempt_at {
        due.insert((at, delivery.id), ())?;
    }
    deliveries.insert(delivery.id, encode(delivery).as_slice())?;
    Ok(())
}

/// When the stored delivery is due, read without decoding the rest of it (its request body is
/// most of its bytes): the attempt writer does this once per attempt.
fn stored_due_at(
    deliveries: &Table<'_, u64, &'static [u8]>,
    id: u64,
) -> Result<Option<u64>, StoreError> {
    #[derive(serde::Deserialize)]
    struct DueAt {
        next_attempt_at: Option<u64>,
    }
    match deliveries.get(id)? {
        Some(bytes) => Ok(decode::<DueAt>("delivery", bytes.value())?.next_attempt_at),
        None => Ok(None),
    }
}
