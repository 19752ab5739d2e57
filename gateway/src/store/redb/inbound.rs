//! The inbound log: records, their bodies (a table apart, never rewritten), the request-UUID
//! index and the processing queue.

use super::bodies::{decode_body, encode_body};
use super::retention::{Chunk, PRUNE_CHUNK, Pace, RETENTION_PACE, Slice};
use super::{
    RedbStore, decode, encode, newest_first, read_record, scoped_key, tables, take_sequence,
};
use crate::store::{
    Appended, InboundFilter, InboundRecord, InboundRetention, InboundStatus, Page, StoreError,
};
use redb::{ReadOnlyTable, ReadableTable, ReadableTableMetadata, Table, WriteTransaction};
use std::collections::BTreeMap;

impl RedbStore {
    /// Appends records in one transaction and one durable commit (group commit): see
    /// [`append_records`].
    pub(super) fn append_inbound(
        &self,
        records: Vec<InboundRecord>,
    ) -> Result<Vec<Appended>, StoreError> {
        Ok(self.commit_group(records, &[])?.appended)
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
                record.body = decode_body(body.value())?;
            }
            records.push(Some(record));
        }
        Ok(records)
    }

    /// The log, newest first, filtered; records without their bodies (see [`Store::inbound`]).
    /// A filtered page walks the narrowest index that covers its filters, merged with the
    /// processing queue when pending records can match (queued records are not indexed), so it
    /// reads only matching records, and the queued ones, however long the log is.
    pub(super) fn list_inbound(
        &self,
        filter: &InboundFilter,
    ) -> Result<Page<InboundRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::INBOUND)?;
        let keep = |record: &InboundRecord| {
            filter
                .endpoint
                .as_ref()
                .is_none_or(|e| *e == record.endpoint)
                && filter.status.is_none_or(|s| s == record.status)
                && filter
                    .event
                    .as_ref()
                    .is_none_or(|e| record.event.as_ref() == Some(e))
        };
        let before = filter.before.unwrap_or(u64::MAX);
        let by_endpoint_status;
        let by_endpoint;
        let by_status;
        let by_event;
        let settled: Box<dyn Iterator<Item = Result<u64, StoreError>>> =
            match (&filter.endpoint, filter.status, &filter.event) {
                (Some(endpoint), Some(status), _) => {
                    by_endpoint_status = txn.open_table(tables::INBOUND_BY_ENDPOINT_STATUS)?;
                    let (endpoint, status) = (endpoint.as_str(), status.as_str());
                    Box::new(
                        by_endpoint_status
                            .range((endpoint, status, 0)..(endpoint, status, before))?
                            .rev()
                            .map(|entry| Ok(entry?.0.value().2)),
                    )
                }
                (Some(endpoint), None, _) => {
                    by_endpoint = txn.open_table(tables::INBOUND_BY_ENDPOINT)?;
                    Box::new(index_range(&by_endpoint, endpoint, before)?)
                }
                (None, Some(status), _) => {
                    by_status = txn.open_table(tables::INBOUND_BY_STATUS)?;
                    Box::new(index_range(&by_status, status.as_str(), before)?)
                }
                (None, None, Some(event)) => {
                    by_event = txn.open_table(tables::INBOUND_BY_EVENT)?;
                    Box::new(index_range(&by_event, event, before)?)
                }
                (None, None, None) => {
                    return newest_first(&table, "inbound", filter.before, filter.limit, keep);
                }
            };
        let queue;
        let ids = if filter.status.is_none_or(|s| s == InboundStatus::Pending) {
            queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            let queued = queue
                .range(..before)?
                .rev()
                .map(|entry| Ok(entry?.0.value()));
            Box::new(NewestFirst::merge(settled, queued))
        } else {
            settled
        };
        let mut items = Vec::new();
        let mut next = None;
        for id in ids {
            let id = id?;
            // An index entry without its record would be a damaged file: skip it.
            let Some(record) = read_inbound(&table, id)? else {
                continue;
            };
            if !keep(&record) {
                continue;
            }
            if items.len() == filter.limit {
                next = Some((id + 1).to_string());
                break;
            }
            items.push(record);
        }
        Ok(Page { items, next })
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
            // A settled record leaves the indexes as it joins the queue.
            if txn
                .open_table(tables::PROCESSING_QUEUE)?
                .insert(id, ())?
                .is_none()
            {
                let mut indexes = InboundIndexes::open(&txn)?;
                indexes.remove(id, &record.endpoint, record.status, record.event.as_deref())?;
            }
            record.status = InboundStatus::Pending;
            record.outcomes.clear();
            record.processed_at = None;
            inbound.insert(id, encode(&record).as_slice())?;
        }
        self.commit_durable(txn, ticket)?;
        Ok(true)
    }

    /// Deletes the oldest records past the retention bounds (age; the count of rejected
    /// records and, apart, of the others), with their index entries; records still queued are
    /// kept. Works at retention's pace ([`RedbStore::prune_paced`]), so ingest waiting for
    /// redb's one write lock waits for a short chunk at most, never for the whole prune.
    pub(super) fn prune_inbound(&self, bounds: &InboundRetention) -> Result<u64, StoreError> {
        self.prune_inbound_at(bounds, RETENTION_PACE)
    }

    /// [`RedbStore::prune_inbound`] at a given pace.
    fn prune_inbound_at(&self, bounds: &InboundRetention, pace: Pace) -> Result<u64, StoreError> {
        self.prune_paced(pace, 0, |txn, slice, from| {
            prune_inbound_chunk(txn, slice, bounds, from)
        })
    }
}

/// What retention reads of a record: enough to judge it and to remove its index entries,
/// without decoding its headers and outcomes.
#[derive(serde::Deserialize)]
struct Retained {
    endpoint: String,
    received_at: u64,
    event: Option<String>,
    request_uuid: Option<String>,
    status: InboundStatus,
}

/// One chunk of [`RedbStore::prune_inbound`]: rejected records past their own bound (from
/// their index, oldest first), then records from id `from` on that are too old or past
/// `max_records`; at most [`PRUNE_CHUNK`], and no more once the slice is spent.
fn prune_inbound_chunk(
    txn: &WriteTransaction,
    slice: &Slice,
    bounds: &InboundRetention,
    from: u64,
) -> Result<Chunk<u64>, StoreError> {
    let mut inbound = txn.open_table(tables::INBOUND)?;
    let mut bodies = txn.open_table(tables::INBOUND_BODIES)?;
    let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
    let mut rejected = txn.open_table(tables::INBOUND_REJECTED)?;
    let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
    let mut indexes = InboundIndexes::open(txn)?;
    // Rejected records past their own bound, oldest first, from their index (they are never
    // queued); records the scan below judges are kept decoded.
    let rejected_total = rejected.len()?;
    let over = rejected_total.saturating_sub(bounds.max_rejected_records);
    let mut doomed: BTreeMap<u64, Option<Retained>> = BTreeMap::new();
    for entry in rejected.iter()?.take((over as usize).min(PRUNE_CHUNK)) {
        doomed.insert(entry?.0.value(), None);
    }
    let mut next = (over > doomed.len() as u64).then_some(from);
    // Then, oldest first from the cursor: anything too old, and other records past
    // `max_records`. Records before the cursor were kept by an earlier chunk (queued, or
    // rejected within their bound).
    let mut others_left = inbound.len()? - rejected_total;
    for (judged, entry) in inbound.range(from..)?.enumerate() {
        let (id, bytes) = entry?;
        let id = id.value();
        if doomed.len() >= PRUNE_CHUNK || slice.ends_after(judged) {
            next = Some(id);
            break;
        }
        if doomed.contains_key(&id) {
            continue;
        }
        let is_rejected = rejected.get(id)?.is_some();
        let record: Retained = decode("inbound", bytes.value())?;
        let too_old = record.received_at < bounds.older_than_ms;
        let over_count = !is_rejected && others_left > bounds.max_records;
        if !too_old && !over_count {
            // Oldest first: once a record is young and the others are within their bound,
            // nothing later goes.
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
        doomed.insert(id, Some(record));
    }
    let removed = doomed.len() as u64;
    for (id, judged) in doomed {
        let Some(bytes) = inbound.remove(id)? else {
            continue;
        };
        let record = match judged {
            Some(record) => record,
            None => decode("inbound", bytes.value())?,
        };
        drop(bytes);
        bodies.remove(id)?;
        rejected.remove(id)?;
        indexes.remove(id, &record.endpoint, record.status, record.event.as_deref())?;
        if let Some(uuid) = &record.request_uuid {
            let key = scoped_key(&record.endpoint, uuid);
            if by_request
                .get(key.as_str())?
                .is_some_and(|owner| owner.value() == id)
            {
                by_request.remove(key.as_str())?;
            }
        }
    }
    Ok(Chunk { removed, next })
}

/// The filter indexes of the inbound log (`tables::INBOUND_BY_*`), open in a write
/// transaction. They hold every settled record, none queued: the write that takes a record out
/// of the queue (processing) indexes it, the one that puts it back (requeue) unindexes it, and
/// a prune (which never takes queued records) removes its entries; each in the transaction that
/// writes the record.
pub(super) struct InboundIndexes<'txn> {
    by_endpoint: Table<'txn, (&'static str, u64), ()>,
    by_endpoint_status: Table<'txn, (&'static str, &'static str, u64), ()>,
    by_status: Table<'txn, (&'static str, u64), ()>,
    by_event: Table<'txn, (&'static str, u64), ()>,
}

impl<'txn> InboundIndexes<'txn> {
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            by_endpoint: txn.open_table(tables::INBOUND_BY_ENDPOINT)?,
            by_endpoint_status: txn.open_table(tables::INBOUND_BY_ENDPOINT_STATUS)?,
            by_status: txn.open_table(tables::INBOUND_BY_STATUS)?,
            by_event: txn.open_table(tables::INBOUND_BY_EVENT)?,
        })
    }

    /// Indexes record `id` as it is written.
    pub(super) fn insert(&mut self, id: u64, record: &InboundRecord) -> Result<(), StoreError> {
        let (endpoint, status) = (record.endpoint.as_str(), record.status.as_str());
        self.by_endpoint.insert((endpoint, id), ())?;
        self.by_endpoint_status.insert((endpoint, status, id), ())?;
        self.by_status.insert((status, id), ())?;
        if let Some(event) = &record.event {
            self.by_event.insert((event.as_str(), id), ())?;
        }
        Ok(())
    }

    /// Removes the entries of record `id` as it was stored (before a delete), given the fields
    /// they are keyed by.
    pub(super) fn remove(
        &mut self,
        id: u64,
        endpoint: &str,
        status: InboundStatus,
        event: Option<&str>,
    ) -> Result<(), StoreError> {
        let status = status.as_str();
        self.by_endpoint.remove((endpoint, id))?;
        self.by_endpoint_status.remove((endpoint, status, id))?;
        self.by_status.remove((status, id))?;
        if let Some(event) = event {
            self.by_event.remove((event, id))?;
        }
        Ok(())
    }

    /// Moves settled record `id` from status `from` to the one it is now written with (endpoint
    /// and event never change).
    pub(super) fn change_status(
        &mut self,
        id: u64,
        record: &InboundRecord,
        from: InboundStatus,
    ) -> Result<(), StoreError> {
        if record.status == from {
            return Ok(());
        }
        let endpoint = record.endpoint.as_str();
        let (from, to) = (from.as_str(), record.status.as_str());
        self.by_endpoint_status.remove((endpoint, from, id))?;
        self.by_status.remove((from, id))?;
        self.by_endpoint_status.insert((endpoint, to, id), ())?;
        self.by_status.insert((to, id), ())?;
        Ok(())
    }
}

/// Whether a database lacks the filter indexes (written before they existed, or before they
/// left queued records out).
pub(super) fn filter_indexes_missing(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let name = redb::TableHandle::name(&tables::INBOUND_BY_ENDPOINT);
    Ok(!txn
        .list_tables()?
        .any(|table| redb::TableHandle::name(&table) == name))
}

/// Deletes the filter indexes of a database written before they left queued records out;
/// returns how many it deleted.
pub(super) fn drop_former_filter_indexes(txn: &WriteTransaction) -> Result<usize, StoreError> {
    let former: Vec<_> = txn
        .list_tables()?
        .filter(|table| tables::FORMER_FILTER_INDEXES.contains(&redb::TableHandle::name(table)))
        .collect();
    let dropped = former.len();
    for table in former {
        txn.delete_table(table)?;
    }
    Ok(dropped)
}

/// Builds the filter indexes of a database written before them, from the log (settled records
/// only); returns how many records it indexed.
pub(super) fn index_filters(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let inbound = txn.open_table(tables::INBOUND)?;
    let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
    let mut indexes = InboundIndexes::open(txn)?;
    let mut indexed = 0;
    for entry in inbound.iter()? {
        let (id, bytes) = entry?;
        let id = id.value();
        if queue.get(id)?.is_some() {
            continue;
        }
        let record: InboundRecord = decode("inbound", bytes.value())?;
        indexes.insert(id, &record)?;
        indexed += 1;
    }
    Ok(indexed)
}

/// Two streams of sequences, each newest first and without repeats, as one newest-first stream
/// (an id in both is given once); an error ends it.
struct NewestFirst<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> NewestFirst<A, B>
where
    A: Iterator<Item = Result<u64, StoreError>>,
    B: Iterator<Item = Result<u64, StoreError>>,
{
    fn merge(a: A, b: B) -> Self {
        Self {
            a: a.peekable(),
            b: b.peekable(),
        }
    }
}

impl<A, B> Iterator for NewestFirst<A, B>
where
    A: Iterator<Item = Result<u64, StoreError>>,
    B: Iterator<Item = Result<u64, StoreError>>,
{
    type Item = Result<u64, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (None, _) => self.b.next(),
            (_, None) | (Some(Err(_)), _) => self.a.next(),
            (_, Some(Err(_))) => self.b.next(),
            (Some(Ok(a)), Some(Ok(b))) => {
                if a == b {
                    self.b.next();
                    self.a.next()
                } else if a > b {
                    self.a.next()
                } else {
                    self.b.next()
                }
            }
        }
    }
}

/// The sequences of one value's entries in a `(value, sequence)` index below `before`, newest
/// first.
fn index_range<'table>(
    index: &'table ReadOnlyTable<(&'static str, u64), ()>,
    value: &str,
    before: u64,
) -> Result<impl Iterator<Item = Result<u64, StoreError>> + 'table, StoreError> {
    Ok(index
        .range((value, 0)..(value, before))?
        .rev()
        .map(|entry| Ok(entry?.0.value().1)))
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

/// Each record's body as stored, compressed before the write lock is taken: every other
/// writer waits for it.
pub(super) fn stored_bodies(records: &[InboundRecord]) -> Vec<Vec<u8>> {
    records
        .iter()
        .map(|record| encode_body(&record.body))
        .collect()
}

/// Writes appended records (`bodies` from [`stored_bodies`]): each gets the next sequence; a
/// `pending` record whose request UUID was already accepted for its endpoint is stored as
/// `duplicate` instead, and accepted ones join the processing queue.
pub(super) fn append_records(
    txn: &WriteTransaction,
    records: Vec<InboundRecord>,
    bodies: Vec<Vec<u8>>,
) -> Result<Vec<Appended>, StoreError> {
    // Ingest's hot path: only the tables it touches, not a whole StoreTxn.
    let mut inbound = txn.open_table(tables::INBOUND)?;
    let mut stored_bodies = txn.open_table(tables::INBOUND_BODIES)?;
    let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
    let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
    let mut rejected = txn.open_table(tables::INBOUND_REJECTED)?;
    let mut counters = txn.open_table(tables::COUNTERS)?;
    let mut results = Vec::with_capacity(records.len());
    // Only records settled on arrival (rejected, filtered, duplicates) are indexed here, after
    // the loop; a group of accepted ones leaves the four index trees alone.
    let mut settled = Vec::new();
    for (mut record, body) in records.into_iter().zip(bodies) {
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
                result = record.mark_duplicate_of(original);
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
        record.body.clear();
        stored_bodies.insert(id, body.as_slice())?;
        inbound.insert(id, encode(&record).as_slice())?;
        if !matches!(result, Appended::Accepted(_)) {
            settled.push(record);
        }
        results.push(result);
    }
    if !settled.is_empty() {
        let mut indexes = InboundIndexes::open(txn)?;
        for record in &settled {
            indexes.insert(record.id, record)?;
        }
    }
    Ok(results)
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

    /// However short its chunks (here each judges one record), a prune moves on past the
    /// records it keeps (queued, rejected within their bound) and removes what a prune at the
    /// usual pace removes.
    #[test]
    fn a_prune_in_the_shortest_chunks_removes_what_one_at_the_usual_pace_does() {
        let fill = |store: &RedbStore| {
            let mut records = Vec::new();
            for at in 1..=60 {
                let status = match at % 4 {
                    0 => InboundStatus::Pending,
                    1 => InboundStatus::Rejected,
                    _ => InboundStatus::Filtered,
                };
                records.push(record(status, at));
            }
            store.append_inbound(records).unwrap();
        };
        let shortest = Pace {
            slice: std::time::Duration::ZERO,
            yield_factor: 0,
            min_pause: std::time::Duration::ZERO,
        };
        let dir = tempfile::tempdir().unwrap();
        let (usual, short) = (
            RedbStore::open(&dir.path().join("usual.redb")).unwrap(),
            RedbStore::open(&dir.path().join("short.redb")).unwrap(),
        );
        fill(&usual);
        fill(&short);
        let removed = usual.prune_inbound(&bounds(10, 5)).unwrap();
        assert_eq!(
            short.prune_inbound_at(&bounds(10, 5), shortest).unwrap(),
            removed
        );
        let kept = statuses(&short as &dyn crate::store::Store);
        assert_eq!(kept, statuses(&usual as &dyn crate::store::Store));
        // The 15 queued records stay (past max_records, but never pruned), and the newest 5 of
        // the 15 rejected; the 30 filtered ones go.
        assert_eq!(removed, 40, "{kept:?}");
        assert_eq!(kept.len(), 20);
    }

    /// A prune of more records than one chunk takes them all, over several write
    /// transactions, oldest first, and leaves the newest within the bound.
    #[test]
    fn a_prune_larger_than_a_chunk_takes_every_record_due() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("db.redb")).unwrap();
        let total = PRUNE_CHUNK as u64 * 2 + 137;
        let records = (1..=total)
            .map(|at| record(InboundStatus::Filtered, at))
            .collect();
        store.append_inbound(records).unwrap();
        assert_eq!(store.prune_inbound(&bounds(100, 10)).unwrap(), total - 100);
        let left = store
            .list_inbound(&InboundFilter {
                endpoint: Some("ep".into()),
                limit: 1_000,
                ..InboundFilter::default()
            })
            .unwrap();
        let oldest_left = left.items.iter().map(|r| r.received_at).min();
        assert_eq!(left.items.len(), 100);
        assert_eq!(oldest_left, Some(total - 99));
    }

    /// Opens a store at `path`, appends `records` and closes it again.
    fn append_and_close(path: &std::path::Path, records: Vec<InboundRecord>) -> Vec<Appended> {
        RedbStore::open(path)
            .unwrap()
            .append_inbound(records)
            .unwrap()
    }

    /// Deletes the four filter indexes, as in a file written before them; `then` writes more
    /// in the same transaction.
    fn delete_filter_indexes(path: &std::path::Path, then: impl FnOnce(&WriteTransaction)) {
        let db = super::super::open_database(path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(tables::INBOUND_BY_ENDPOINT).unwrap();
        txn.delete_table(tables::INBOUND_BY_ENDPOINT_STATUS)
            .unwrap();
        txn.delete_table(tables::INBOUND_BY_STATUS).unwrap();
        txn.delete_table(tables::INBOUND_BY_EVENT).unwrap();
        then(&txn);
        txn.commit().unwrap();
    }

    /// How many entries the endpoint filter's index holds.
    fn indexed(store: &RedbStore) -> u64 {
        let txn = store.read().unwrap();
        txn.open_table(tables::INBOUND_BY_ENDPOINT)
            .unwrap()
            .len()
            .unwrap()
    }

    /// Ingest's commit leaves the filter indexes alone for accepted records (queued, found
    /// through the queue); processing indexes each once, with its final status, and a replay
    /// takes it out again.
    #[test]
    fn a_record_is_indexed_once_it_leaves_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("db.redb")).unwrap();
        let appended = store
            .append_inbound(vec![
                record(InboundStatus::Pending, 1),
                record(InboundStatus::Pending, 2),
                record(InboundStatus::Rejected, 3),
            ])
            .unwrap();
        let [
            Appended::Accepted(first),
            Appended::Accepted(second),
            Appended::Logged(_),
        ] = appended[..]
        else {
            panic!("{appended:?}")
        };
        assert_eq!(indexed(&store), 1, "only the rejected record is indexed");
        let list = |status: Option<InboundStatus>| {
            let filter = InboundFilter {
                endpoint: Some("ep".into()),
                status,
                limit: 10,
                ..InboundFilter::default()
            };
            let page = store.list_inbound(&filter).unwrap();
            page.items.iter().map(|r| r.id).collect::<Vec<_>>()
        };
        assert_eq!(list(Some(InboundStatus::Pending)), [second, first]);
        assert_eq!(list(None).len(), 3);

        let settled = |id| crate::store::ProcessedRecord {
            id,
            status: Some(InboundStatus::Failed),
            outcomes: Vec::new(),
            processed_at: 10,
        };
        let batch = crate::store::ProcessedBatch {
            records: vec![settled(first)],
            ..Default::default()
        };
        store
            .apply_processing(&batch, crate::store::Durability::BeforeAnswer)
            .unwrap();
        assert_eq!(indexed(&store), 2);
        assert_eq!(list(Some(InboundStatus::Failed)), [first]);
        assert_eq!(list(Some(InboundStatus::Pending)), [second]);
        assert_eq!(list(None).len(), 3, "a settled record is listed once");

        assert!(store.requeue_inbound(first).unwrap());
        assert_eq!(indexed(&store), 1);
        assert_eq!(list(Some(InboundStatus::Failed)), Vec::<u64>::new());
        assert_eq!(list(Some(InboundStatus::Pending)), [second, first]);
    }

    /// A file whose filter indexes held queued records (written before they left them out)
    /// has those indexes dropped and rebuilt from its settled records when opened.
    #[test]
    fn former_filter_indexes_are_replaced_at_open() {
        const FORMER: redb::TableDefinition<(&str, u64), ()> =
            redb::TableDefinition::new(tables::FORMER_FILTER_INDEXES[0]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let appended = append_and_close(
            &path,
            vec![
                record(InboundStatus::Pending, 1),
                record(InboundStatus::Filtered, 2),
            ],
        );
        let Appended::Accepted(queued) = appended[0] else {
            panic!("{appended:?}")
        };
        delete_filter_indexes(&path, |txn| {
            let mut former = txn.open_table(FORMER).unwrap();
            former.insert(("ep", queued), ()).unwrap();
        });
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(
            indexed(&store),
            1,
            "the filtered record, not the queued one"
        );
        let txn = store.read().unwrap();
        let names: Vec<String> = txn
            .list_tables()
            .unwrap()
            .map(|table| redb::TableHandle::name(&table).to_string())
            .collect();
        assert!(
            !names
                .iter()
                .any(|name| name == tables::FORMER_FILTER_INDEXES[0]),
            "{names:?}"
        );
        drop(txn);
        let page = store
            .list_inbound(&InboundFilter {
                endpoint: Some("ep".into()),
                limit: 10,
                ..InboundFilter::default()
            })
            .unwrap();
        assert_eq!(page.items.len(), 2);
    }

    /// A database written before the filter indexes gets them when opened, and its filtered
    /// pages then answer as before.
    #[test]
    fn the_filter_indexes_are_built_for_an_older_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let mut other = record(InboundStatus::Rejected, 2);
        other.endpoint = "b".into();
        let appended = append_and_close(
            &path,
            vec![
                record(InboundStatus::Pending, 1),
                other,
                record(InboundStatus::Filtered, 3),
            ],
        );
        let Appended::Logged(failed_b) = appended[1] else {
            panic!("{appended:?}")
        };
        delete_filter_indexes(&path, |_| {});
        let store = RedbStore::open(&path).unwrap();
        let page = store
            .list_inbound(&InboundFilter {
                endpoint: Some("b".into()),
                status: Some(InboundStatus::Rejected),
                limit: 10,
                ..InboundFilter::default()
            })
            .unwrap();
        assert_eq!(
            page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            [failed_b]
        );
        let by_endpoint = store
            .list_inbound(&InboundFilter {
                endpoint: Some("ep".into()),
                limit: 10,
                ..InboundFilter::default()
            })
            .unwrap();
        assert_eq!(by_endpoint.items.len(), 2);
    }
}
