//! Deliveries: each notification × destination, stored before it is attempted, with every
//! attempt, and the index of those due for an attempt.

use super::{Page, Store, StoreError, StoreTxn, decode, encode, newest_first, tables};
use crate::runtime::OutboundRequest;
use redb::{ReadableTable, Table};
use serde::{Deserialize, Serialize};

/// Delivery status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Failed for good (a 4xx, or the last attempt).
    Failed,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// When, ms.
    pub at: u64,
    /// The answer's status, when there was one.
    pub status_code: Option<u16>,
    /// How long it took.
    pub duration_ms: u64,
    /// Connection error, timeout, refusal.
    pub error: Option<String>,
    /// The first 1 KiB of the answer.
    pub response: Option<String>,
}

/// One notification to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Sequence.
    pub id: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Inbound record that caused it (none for operator actions).
    pub inbound_id: Option<u64>,
    /// Index of the destination in the endpoint.
    pub destination: usize,
    /// Destination kind.
    pub kind: String,
    /// `message`, `alert.opened`, `alert.closed`.
    pub notification: String,
    /// Status.
    pub status: DeliveryStatus,
    /// The request the notifier shaped (before signing).
    pub request: OutboundRequest,
    /// Attempts so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due, ms.
    pub next_attempt_at: Option<u64>,
    /// Created, ms.
    pub created_at: u64,
}

impl Store {
    /// One delivery.
    pub fn delivery(&self, id: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DELIVERIES)?;
        let Some(bytes) = table.get(id)? else {
            return Ok(None);
        };
        decode("delivery", bytes.value()).map(Some)
    }

    /// Deliveries due at `now_ms`, soonest first; returns once they are durable (see
    /// [`Store::transaction_deferred`]), so nothing is sent that a crash could take back.
    pub fn due_deliveries(
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
    pub fn next_due_at(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let due = txn.open_table(tables::DUE_DELIVERIES)?;
        Ok(due.first()?.map(|(key, _)| key.value().0))
    }

    /// Deliveries, newest first.
    pub fn list_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        endpoint: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DELIVERIES)?;
        newest_first(
            &table,
            "delivery",
            before,
            limit,
            |record: &DeliveryRecord| {
                status.is_none_or(|s| s == record.status)
                    && endpoint.is_none_or(|e| e == record.endpoint)
            },
        )
    }

    /// The deliveries an inbound record caused (replays included), oldest first. They are all
    /// created after the record arrived, so the newest-first scan stops at the first older one.
    pub fn deliveries_for_inbound(
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

    /// Records an attempt's result (the delivery carries its new status, attempts and next
    /// time) and moves it in the due index.
    pub fn save_delivery(
        &self,
        delivery: &DeliveryRecord,
        was_due_at: Option<u64>,
    ) -> Result<(), StoreError> {
        self.transaction(|txn| txn.save_delivery(delivery, was_due_at))
    }
}

impl StoreTxn<'_> {
    /// Reserves a delivery id before the delivery exists (the notifier is told it).
    pub fn reserve_delivery_id(&mut self) -> Result<u64, StoreError> {
        self.next_sequence("delivery")
    }

    /// Stores a new delivery due at its `next_attempt_at`, giving it an id unless it has a
    /// reserved one.
    pub fn insert_delivery(&mut self, delivery: &mut DeliveryRecord) -> Result<(), StoreError> {
        if delivery.id == 0 {
            delivery.id = self.next_sequence("delivery")?;
        }
        self.save_delivery(delivery, None)
    }

    /// Writes a delivery back, moving its due-index entry from `was_due_at`.
    pub fn save_delivery(
        &mut self,
        delivery: &DeliveryRecord,
        was_due_at: Option<u64>,
    ) -> Result<(), StoreError> {
        write_delivery(&mut self.deliveries, &mut self.due, delivery, was_due_at)
    }

    /// One delivery, inside the transaction.
    pub fn delivery(&self, id: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        let Some(bytes) = self.deliveries.get(id)? else {
            return Ok(None);
        };
        decode("delivery", bytes.value()).map(Some)
    }
}

/// Writes a delivery and moves its due-index entry from `was_due_at` to its next attempt.
pub(super) fn write_delivery(
    deliveries: &mut Table<'_, u64, &'static [u8]>,
    due: &mut Table<'_, (u64, u64), ()>,
    delivery: &DeliveryRecord,
    was_due_at: Option<u64>,
) -> Result<(), StoreError> {
    if let Some(at) = was_due_at {
        due.remove((at, delivery.id))?;
    }
    if let Some(at) = delivery.next_attempt_at {
        due.insert((at, delivery.id), ())?;
    }
    deliveries.insert(delivery.id, encode(delivery).as_slice())?;
    Ok(())
}
