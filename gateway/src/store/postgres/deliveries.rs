//! Deliveries; those due for an attempt are found by their `next_attempt_at` column.

use super::{Failure, PostgresStore, before, decode, encode, int, label, page, page_limit, uint};
use crate::store::{
    DeliveryFilter, DeliveryRecord, DeliveryStatus, Page, RetryScheduled, StoreError,
};
use tokio_postgres::Transaction;

impl PostgresStore {
    pub(super) fn delivery(&self, id: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt("SELECT record FROM deliveries WHERE id = $1", &[&int(id)])
                .await?;
            row.map(|row| decode("delivery", &row, 0)).transpose()
        })
    }

    /// Deliveries due at `now_ms`, soonest first, claimed for this store: another store on the
    /// database skips a claimed delivery until its attempt is recorded (which clears the
    /// claim) or the claim expires (the gateway attempting it is gone). Every write commits
    /// synchronously, so each one's creating write is durable already.
    pub(super) fn due_deliveries(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let pool = self.pool.clone();
        let instance = self.instance;
        let until = now_ms.saturating_add(self.leases.delivery.as_millis() as u64);
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "UPDATE deliveries SET claimed_by = $3, claimed_until = $4
                     WHERE id IN (SELECT id FROM deliveries WHERE next_attempt_at <= $1
                                    AND (claimed_by IS NULL OR claimed_by = $3
                                         OR claimed_until < $1)
                                  ORDER BY next_attempt_at, id LIMIT $2
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING record",
                    &[&int(now_ms), &int(limit as u64), &instance, &int(until)],
                )
                .await?;
            let mut due: Vec<DeliveryRecord> = rows
                .iter()
                .map(|row| decode("delivery", row, 0))
                .collect::<Result<_, _>>()?;
            // `RETURNING` keeps no order.
            due.sort_by_key(|delivery| (delivery.next_attempt_at, delivery.id));
            Ok(due)
        })
    }

    /// When the soonest delivery is due that no other store is attempting.
    pub(super) fn next_due_at(&self) -> Result<Option<u64>, StoreError> {
        let pool = self.pool.clone();
        let instance = self.instance;
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one(
                    "SELECT min(CASE WHEN claimed_by IS NULL OR claimed_by = $1 THEN next_attempt_at
                                     ELSE GREATEST(next_attempt_at, claimed_until) END)
                     FROM deliveries WHERE next_attempt_at IS NOT NULL",
                    &[&instance],
                )
                .await?;
            Ok(row.try_get::<_, Option<i64>>(0)?.map(uint))
        })
    }

    pub(super) fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let pool = self.pool.clone();
        let filter = filter.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT id, record FROM deliveries
                     WHERE ($1::TEXT IS NULL OR status = $1)
                       AND ($2::TEXT IS NULL OR endpoint = $2)
                       AND id < $3
                     ORDER BY id DESC LIMIT $4",
                    &[
                        &filter.status.as_ref().map(label),
                        &filter.endpoint,
                        &before(filter.before),
                        &page_limit(filter.limit),
                    ],
                )
                .await?;
            page("delivery", &rows, filter.limit)
        })
    }

    /// The deliveries an inbound record caused (replays included), oldest first: all created
    /// after the record arrived.
    pub(super) fn deliveries_for_inbound(
        &self,
        inbound_id: u64,
        received_at: u64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT record FROM deliveries WHERE inbound_id = $1 AND created_at >= $2
                     ORDER BY id",
                    &[&int(inbound_id), &int(received_at)],
                )
                .await?;
            rows.iter().map(|row| decode("delivery", row, 0)).collect()
        })
    }

    /// Deletes finished deliveries made before `created_before_ms`, a thousand per
    /// transaction.
    pub(super) fn prune_finished_deliveries(
        &self,
        created_before_ms: u64,
    ) -> Result<u64, StoreError> {
        let chunk_size = super::alerts::PRUNE_CHUNK;
        let mut removed = 0;
        loop {
            let pool = self.pool.clone();
            let chunk = self.run(async move {
                let deleted = pool
                    .get()
                    .await?
                    .execute(
                        "DELETE FROM deliveries WHERE id IN (
                             SELECT id FROM deliveries
                             WHERE status IN ('delivered', 'failed') AND created_at < $1
                             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
                        &[&int(created_before_ms), &chunk_size],
                    )
                    .await?;
                Ok(deleted)
            })?;
            removed += chunk;
            if chunk < chunk_size as u64 {
                return Ok(removed);
            }
        }
    }

    pub(super) fn schedule_retry(&self, id: u64, at: u64) -> Result<RetryScheduled, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let row = txn
                .query_opt(
                    "SELECT record FROM deliveries WHERE id = $1 FOR UPDATE",
                    &[&int(id)],
                )
                .await?;
            let Some(row) = row else {
                return Ok(RetryScheduled::NotFound);
            };
            let mut record: DeliveryRecord = decode("delivery", &row, 0)?;
            if record.status == DeliveryStatus::Delivered {
                return Ok(RetryScheduled::AlreadyDelivered);
            }
            record.status = DeliveryStatus::Pending;
            record.next_attempt_at = Some(at);
            write_delivery(&txn, &record).await?;
            txn.commit().await?;
            Ok(RetryScheduled::Scheduled(Box::new(record)))
        })
    }
}

/// Inserts or replaces a delivery, with the columns its queries use; a claim on it ends (its
/// attempt is recorded, or it is scheduled anew).
pub(super) async fn write_delivery(
    txn: &Transaction<'_>,
    delivery: &DeliveryRecord,
) -> Result<(), Failure> {
    txn.execute(
        "INSERT INTO deliveries (id, endpoint, inbound_id, status, next_attempt_at, created_at,
         record) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET endpoint = EXCLUDED.endpoint,
         inbound_id = EXCLUDED.inbound_id, status = EXCLUDED.status,
         next_attempt_at = EXCLUDED.next_attempt_at, created_at = EXCLUDED.created_at,
         record = EXCLUDED.record, claimed_by = NULL, claimed_until = NULL",
        &[
            &int(delivery.id),
            &delivery.endpoint,
            &delivery.inbound_id.map(int),
            &label(&delivery.status),
            &delivery.next_attempt_at.map(int),
            &int(delivery.created_at),
            &encode(delivery),
        ],
    )
    .await?;
    Ok(())
}
