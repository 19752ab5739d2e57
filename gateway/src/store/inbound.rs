//! The inbound log: every request to `/hooks/{id}`, accepted or not, and the processing queue.

use super::{
    Page, Store, StoreError, StoreTxn, decode, encode, newest_first, scoped_key, tables,
    take_sequence,
};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboundStatus {
    /// Refused (signature, size, headers, body, disabled endpoint).
    Rejected,
    /// Not in the endpoint's selection, or unknown to the provider.
    Filtered,
    /// A repeat of an accepted `X-Request-UUID`.
    Duplicate,
    /// Accepted, waiting for the plugins.
    Pending,
    /// Ran through the plugins.
    Processed,
    /// A plugin failed.
    Failed,
}

impl InboundStatus {
    /// The status as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Filtered => "filtered",
            Self::Duplicate => "duplicate",
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }
}

/// What one plugin made of a record, in AlertOps' words where there are some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Plugin (or `template`).
    pub plugin: String,
    /// `Mapped Opened`, `Mapped Appended`, `Mapped Closed`, `Close Unmatched`, `Ignored: ...`,
    /// `Formatted`, `Not Formatted`, `Plugin Failed: ...`.
    pub outcome: String,
    /// More detail (the key, the reason).
    pub detail: Option<String>,
    /// The alert concerned.
    pub alert: Option<String>,
}

/// One request to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRecord {
    /// Sequence (arrival order).
    pub id: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Receipt time, ms.
    pub received_at: u64,
    /// Event key, when the header was present.
    pub event: Option<String>,
    /// The provider's delivery id.
    pub request_uuid: Option<String>,
    /// The sender's attempt number.
    pub attempt: u32,
    /// Status.
    pub status: InboundStatus,
    /// Why it was refused or filtered.
    pub reason: Option<String>,
    /// Per plugin.
    pub outcomes: Vec<Outcome>,
    /// Request headers, lower-cased, signatures redacted.
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8; for rejected requests the first 4 KiB, lossily decoded). Stored in
    /// its own table; records of older versions carry it inline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Whether `body` was cut.
    pub body_truncated: bool,
    /// When processing finished, ms.
    pub processed_at: Option<u64>,
    /// For duplicates: the record it repeats.
    pub duplicate_of: Option<u64>,
}

/// What `append_inbound` did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored and queued for processing.
    Accepted(u64),
    /// A repeat: stored as `duplicate`; the id is the original's.
    Duplicate(u64),
    /// Stored as given (rejected, filtered).
    Logged(u64),
}

/// Filters of the inbound list.
#[derive(Debug, Clone, Default)]
pub struct InboundFilter {
    /// Endpoint id.
    pub endpoint: Option<String>,
    /// Status.
    pub status: Option<InboundStatus>,
    /// Event key.
    pub event: Option<String>,
    /// Only ids below this.
    pub before: Option<u64>,
    /// Page size.
    pub limit: usize,
}

impl Store {
    /// Appends records in one transaction and one durable commit (group commit): each gets the
    /// next sequence; a `pending` record whose request UUID was already accepted for its
    /// endpoint is stored as `duplicate` instead, and accepted ones join the processing queue.
    pub fn append_inbound(&self, records: Vec<InboundRecord>) -> Result<Vec<Appended>, StoreError> {
        // Ingest's hot path: only the tables it touches, not a whole StoreTxn.
        let (txn, ticket) = self.durable_write()?;
        let mut results = Vec::with_capacity(records.len());
        {
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let mut bodies = txn.open_table(tables::INBOUND_BODIES)?;
            let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
            let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
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
    pub fn inbound(&self, id: u64) -> Result<Option<InboundRecord>, StoreError> {
        Ok(self.inbound_many(&[id])?.pop().flatten())
    }

    /// Records with their bodies, in one read: `None` for ids that are gone.
    pub fn inbound_many(&self, ids: &[u64]) -> Result<Vec<Option<InboundRecord>>, StoreError> {
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
    pub fn list_inbound(&self, filter: &InboundFilter) -> Result<Page<InboundRecord>, StoreError> {
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

    /// Sequences waiting in the processing queue, oldest first.
    pub fn queued_inbound(&self, limit: usize) -> Result<Vec<u64>, StoreError> {
        let txn = self.read()?;
        let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
        let mut ids = Vec::new();
        for entry in queue.iter()?.take(limit) {
            ids.push(entry?.0.value());
        }
        Ok(ids)
    }

    /// How many records wait for processing.
    pub fn queue_depth(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        Ok(txn.open_table(tables::PROCESSING_QUEUE)?.len()?)
    }

    /// Queues a stored record again (replay): it is processed anew with today's plugins.
    pub fn requeue_inbound(&self, id: u64) -> Result<bool, StoreError> {
        self.transaction(|txn| {
            let Some(mut record) = txn.inbound(id)? else {
                return Ok(false);
            };
            record.status = InboundStatus::Pending;
            record.outcomes.clear();
            record.processed_at = None;
            txn.save_inbound(&record)?;
            txn.queue.insert(id, ())?;
            Ok(true)
        })
    }

    /// Deletes the oldest records past the retention bounds (age and count), with their
    /// request-UUID index entries; records still queued are kept.
    pub fn prune_inbound(&self, older_than_ms: u64, max_records: u64) -> Result<u64, StoreError> {
        let txn = self.write()?;
        let mut removed = 0;
        {
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let mut bodies = txn.open_table(tables::INBOUND_BODIES)?;
            let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
            let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            let total = inbound.len()?;
            let mut doomed = Vec::new();
            for entry in inbound.iter()? {
                let (id, bytes) = entry?;
                let record: InboundRecord = decode("inbound", bytes.value())?;
                let over_count = total - doomed.len() as u64 > max_records;
                if record.received_at >= older_than_ms && !over_count {
                    break;
                }
                if queue.get(id.value())?.is_some() {
                    continue;
                }
                doomed.push((id.value(), record));
            }
            for (id, record) in doomed {
                inbound.remove(id)?;
                bodies.remove(id)?;
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

impl StoreTxn<'_> {
    /// One record without its body (which a transaction never changes), inside the
    /// transaction.
    pub fn inbound(&self, id: u64) -> Result<Option<InboundRecord>, StoreError> {
        let Some(bytes) = self.inbound.get(id)? else {
            return Ok(None);
        };
        decode("inbound", bytes.value()).map(Some)
    }

    /// Writes a record back; its body stays as stored.
    pub fn save_inbound(&mut self, record: &InboundRecord) -> Result<(), StoreError> {
        let encoded = if record.body.is_empty() {
            encode(record)
        } else {
            encode(&InboundRecord {
                body: String::new(),
                ..record.clone()
            })
        };
        self.inbound.insert(record.id, encoded.as_slice())?;
        Ok(())
    }

    /// Takes a record off the processing queue.
    pub fn dequeue(&mut self, id: u64) -> Result<(), StoreError> {
        self.queue.remove(id)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        endpoint: &str,
        uuid: &str,
        status: InboundStatus,
        received_at: u64,
    ) -> InboundRecord {
        InboundRecord {
            id: 0,
            endpoint: endpoint.into(),
            received_at,
            event: Some("repo:push".into()),
            request_uuid: Some(uuid.into()),
            attempt: 1,
            status,
            reason: None,
            outcomes: Vec::new(),
            headers: Vec::new(),
            body: "{}".into(),
            body_truncated: false,
            processed_at: None,
            duplicate_of: None,
        }
    }

    #[test]
    fn repeats_are_scoped_per_endpoint_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.redb");
        {
            let store = Store::open(&path).unwrap();
            let results = store
                .append_inbound(vec![
                    record("a", "u1", InboundStatus::Pending, 1),
                    record("a", "u1", InboundStatus::Pending, 2),
                    record("b", "u1", InboundStatus::Pending, 3),
                    record("a", "u2", InboundStatus::Rejected, 4),
                ])
                .unwrap();
            assert_eq!(
                results,
                [
                    Appended::Accepted(1),
                    Appended::Duplicate(1),
                    Appended::Accepted(3),
                    Appended::Logged(4)
                ]
            );
            assert_eq!(store.queue_depth().unwrap(), 2);
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store
                .append_inbound(vec![record("a", "u1", InboundStatus::Pending, 5)])
                .unwrap(),
            [Appended::Duplicate(1)]
        );
        assert_eq!(store.queued_inbound(10).unwrap(), [1, 3]);
        assert_eq!(store.inbound(2).unwrap().unwrap().duplicate_of, Some(1));
        assert_eq!(store.inbound(3).unwrap().unwrap().body, "{}");
    }

    #[test]
    fn retention_prunes_old_and_excess_records_but_not_queued_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("test.redb")).unwrap();
        let mut batch = vec![record("a", "queued", InboundStatus::Pending, 10)];
        for n in 0..10 {
            batch.push(record(
                "a",
                &format!("u{n}"),
                InboundStatus::Filtered,
                100 + n,
            ));
        }
        store.append_inbound(batch).unwrap();
        // Older than 105: the queued record (10) stays, 100..=104 go.
        assert_eq!(store.prune_inbound(105, 1000).unwrap(), 5);
        assert!(
            store.inbound(1).unwrap().is_some(),
            "queued records are kept"
        );
        // At most 3 records: the oldest unqueued ones go.
        assert_eq!(store.prune_inbound(0, 3).unwrap(), 3);
        let page = store
            .list_inbound(&InboundFilter {
                limit: 50,
                ..InboundFilter::default()
            })
            .unwrap();
        let ids: Vec<u64> = page.items.iter().map(|r| r.id).collect();
        assert_eq!(ids, [11, 10, 1]);
    }
}
