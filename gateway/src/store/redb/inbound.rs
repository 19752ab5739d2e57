//! The inbound log: records, their bodies (a table apart, never rewritten), the request-UUID
//! index and the processing queue.

use super::{
    RedbStore, decode, encode, newest_first, read_record, scoped_key, tables, take_sequence,
};
use crate::store::{
    Appended, InboundFilter, InboundRecord, InboundRetention, InboundStatus, Page, StoreError,
};
use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use std::collections::BTreeSet;

impl RedbStore {
    /// Appends records in one transaction and one durable commit (group commit): each gets the
    /// next sequence; a `pending` record whose request UUID was already accepted for its
    /// endpoint is stored as `duplicate` instead, and accepted ones join the processing queue.
    pub(super) fn append_inbound(
        &self,
        records: Vec<InboundRecord>,
    ) -> Result<Vec<Appended>, StoreError> {
        // Ingest's hot path: only the tables it touches, not a whole StoreTxn.
        let (txn, ticket) = self.durable_write()?;
        let mut results = Vec::with_capacity(records.len());
        {
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let mut bodies = txn.open_table(tables::INBOUND_BODIES)?;
            let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
            let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            let mut rejected = txn.open_table(tables::INBOUND_REJECTED)?;
            let mut counters = txn.open_table(tables::COUNTERS)?;
            for mut record in records {
                let id = take_sequence(&mut counters, "inbound")?;
                record.id = id;
                let mut result = Appended::Logged(id);
                if record.status == InboundStatus::Pending {
                    let request_key = record
                        .request_uuid
                        .as_deref()
                        .map(|uuid| scoped_key(&record.endpoint, uuid));
                    let original = match &request_key {
                        Some(key) => by_request.get(key.as_str())?.map(|id| id.value()),
                        None => None,
                    };
                    if let Some(original) = original {
                        record.status = InboundStatus::Duplicate;
                        record.duplicate_of = Some(original);
                        result = Appended::Duplicate(original);
                    } else {
                        if let Some(key) = &request_key {
                            by_request.insert(key.as_str(), id)?;
                        }
                        queue.insert(id, ())?;
                        result = Appended::Accepted(id);
                    }
                }
                if record.status == InboundStatus::Rejected {
                    rejected.insert(id, ())?;
                }
                let body = std::mem::take(&mut record.body);
                bodies.insert(id, body.as_bytes())?;
                inbound.insert(id, encode(&record).as_slice())?;
                results.push(result);
            }
        }
        self.commit_durable(txn, ticket)?;
        Ok(results)
    }

    /// One record, with its body.
    pub(super) fn inbound(&self, id: u64) -> Result<Option<InboundRecord>, StoreError> {
        Ok(self.inbound_many(&[id])?.pop().flatten())
    }

    /// Records with their bodies, in one read: `None` for ids that are gone.
    pub(super) fn inbound_many(
        &self,
        ids: &[u64],
    ) -> Result<Vec<Option<InboundRecord>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::INBOUND)?;
        let bodies = txn.open_table(tables::INBOUND_BODIES)?;
        let mut records = Vec::with_capacity(ids.len());
        for &id in ids {
            let Some(bytes) = table.get(id)? else {
                records.push(None);
                continue;
            };
            let mut record: InboundRecord = decode("inbound", bytes.value())?;
            if let Some(body) = bodies.get(id)? {
                record.body = String::from_utf8_lossy(body.value()).into_owned();
            }
            records.push(Some(record));
        }
        Ok(records)
    }

    /// The log, newest first, filtered; records without their bodies (see [`Store::inbound`]).
    pub(super) fn list_inbound(
        &self,
        filter: &InboundFilter,
    ) -> Result<Page<InboundRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::INBOUND)?;
        newest_first(
            &table,
            "inbound",
            filter.before,
            filter.limit,
            |record: &InboundRecord| {
                filter
                    .endpoint
                    .as_ref()
                    .is_none_or(|e| *e == record.endpoint)
                    && filter.status.is_none_or(|s| s == record.status)
                    && filter
                        .event
                        .as_ref()
                        .is_none_or(|e| record.event.as_ref() == Some(e))
            },
        )
    }

    /// Queued records with their bodies, oldest first.
    pub(super) fn claim_queued(&self, limit: usize) -> Result<Vec<InboundRecord>, StoreError> {
        let ids = {
            let txn = self.read()?;
            let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            let mut ids = Vec::new();
            for entry in queue.iter()?.take(limit) {
                ids.push(entry?.0.value());
            }
            ids
        };
        let mut records = Vec::with_capacity(ids.len());
        let mut orphans = Vec::new();
        for (id, record) in ids.iter().zip(self.inbound_many(&ids)?) {
            match record {
                Some(record) => records.push(record),
                None => orphans.push(*id),
            }
        }
        if !orphans.is_empty() {
            // Pruning keeps queued records, so this takes a damaged file; without it the
            // queue would never drain.
            tracing::warn!(
                ?orphans,
                "queued inbound records are missing; dropping them from the queue"
            );
            let txn = self.write()?;
            {
                let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
                for id in orphans {
                    queue.remove(id)?;
                }
            }
            self.commit(txn)?;
        }
        Ok(records)
    }

    /// How many records wait for processing.
    pub(super) fn queue_depth(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        Ok(txn.open_table(tables::PROCESSING_QUEUE)?.len()?)
    }

    pub(super) fn requeue_inbound(&self, id: u64) -> Result<bool, StoreError> {
        let (txn, ticket) = self.durable_write()?;
        {
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let Some(mut record) = read_inbound(&inbound, id)? else {
                return Ok(false);
            };
            record.status = InboundStatus::Pending;
            record.outcomes.clear();
            record.processed_at = None;
            inbound.insert(id, encode(&record).as_slice())?;
            txn.open_table(tables::PROCESSING_QUEUE)?.insert(id, ())?;
        }
        self.commit_durable(txn, ticket)?;
        Ok(true)
    }

    /// Deletes the oldest records past the retention bounds (age; the count of rejected
    /// records and, apart, of the others), with their request-UUID index entries; records
    /// still queued are kept.
    pub(super) fn prune_inbound(&self, bounds: &InboundRetention) -> Result<u64, StoreError> {
        let txn = self.write()?;
        let mut removed = 0;
        {
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let mut bodies = txn.open_table(tables::INBOUND_BODIES)?;
            let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
            let mut rejected = txn.open_table(tables::INBOUND_REJECTED)?;
            let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            // Rejected records past their own bound, oldest first, from their index (they are
            // never queued).
            let rejected_total = rejected.len()?;
            let over = rejected_total.saturating_sub(bounds.max_rejected_records);
            let mut doomed = BTreeSet::new();
            for entry in rejected.iter()?.take(over as usize) {
                doomed.insert(entry?.0.value());
            }
            // Then, oldest first: anything too old, and other records past `max_records`.
            let mut others_left = inbound.len()? - rejected_total;
            for entry in inbound.iter()? {
                let (id, bytes) = entry?;
                let id = id.value();
                if doomed.contains(&id) {
                    continue;
                }
                let is_rejected = rejected.get(id)?.is_some();
                let record: InboundRecord = decode("inbound", bytes.value())?;
                let too_old = record.received_at < bounds.older_than_ms;
                let over_count = !is_rejected && others_left > bounds.max_records;
                if !too_old && !over_count {
                    // Oldest first: once a record is young and the others are within their
                    // bound, nothing later goes.
                    if others_left <= bounds.max_records {
                        break;
                    }
                    continue;
                }
                if queue.get(id)?.is_some() {
                    continue;
                }
                if !is_rejected {
                    others_left -= 1;
                }
                doomed.insert(id);
            }
            for id in doomed {
                let Some(bytes) = inbound.remove(id)? else {
                    continue;
                };
                let record: InboundRecord = decode("inbound", bytes.value())?;
                drop(bytes);
                bodies.remove(id)?;
                rejected.remove(id)?;
                if let Some(uuid) = &record.request_uuid {
                    let key = scoped_key(&record.endpoint, uuid);
                    if by_request
                        .get(key.as_str())?
                        .is_some_and(|owner| owner.value() == id)
                    {
                        by_request.remove(key.as_str())?;
                    }
                }
                removed += 1;
            }
        }
        self.commit(txn)?;
        Ok(removed)
    }
}

/// Builds the rejected-record index of a database written before it existed.
pub(super) fn index_rejected(txn: &WriteTransaction) -> Result<(), StoreError> {
    let inbound = txn.open_table(tables::INBOUND)?;
    let mut rejected = txn.open_table(tables::INBOUND_REJECTED)?;
    for entry in inbound.iter()? {
        let (id, bytes) = entry?;
        let record: InboundRecord = decode("inbound", bytes.value())?;
        if record.status == InboundStatus::Rejected {
            rejected.insert(id.value(), ())?;
        }
    }
    Ok(())
}

pub(super) fn read_inbound(
    table: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<InboundRecord>, StoreError> {
    read_record(table, "inbound", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::contract::inbound;
    use crate::store::contract::inbound::statuses;

    fn record(status: InboundStatus, received_at: u64) -> InboundRecord {
        inbound("ep", None, status, received_at)
    }

    fn bounds(max_records: u64, max_rejected_records: u64) -> InboundRetention {
        InboundRetention {
            older_than_ms: 0,
            max_records,
            max_rejected_records,
        }
    }

    /// A database written before the rejected-record index gets it when opened.
    #[test]
    fn the_rejected_index_is_built_for_an_older_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            store
                .append_inbound(vec![
                    record(InboundStatus::Rejected, 1),
                    record(InboundStatus::Filtered, 2),
                    record(InboundStatus::Rejected, 3),
                ])
                .unwrap();
        }
        {
            let db = super::super::open_database(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.delete_table(tables::INBOUND_REJECTED).unwrap();
            txn.commit().unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.prune_inbound(&bounds(1, 1)).unwrap(), 1);
        assert_eq!(
            statuses(&store as &dyn crate::store::Store),
            [InboundStatus::Filtered, InboundStatus::Rejected]
        );
    }
}
