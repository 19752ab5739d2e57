//! The inbound log: records, their bodies, the request-UUID index and the processing queue.

use super::cluster::{QUEUE_CHANNEL, notify};
use super::{
    Failure, PostgresStore, before, decode, encode, int, page, page_limit, take_ids, uint,
};
use crate::store::{
    Appended, InboundFilter, InboundRecord, InboundRetention, InboundStatus, Page, StoreError,
    now_ms,
};
use std::collections::BTreeSet;
use tokio_postgres::Transaction;

/// Serializes retention runs of the gateways sharing a database (an arbitrary constant).
const PRUNE_LOCK: i64 = 0x686f_6f6b_7072_756e;

impl PostgresStore {
    /// Appends records in one transaction: ids from the `inbound` counter, whose row lock
    /// makes them follow commit order; a repeat of an accepted request UUID is a duplicate.
    pub(super) fn append_inbound(
        &self,
        records: Vec<InboundRecord>,
    ) -> Result<Vec<Appended>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let pool = self.pool.clone();
        let instance = self.instance;
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let mut id = take_ids(&*txn, "inbound", records.len() as u64).await?;
            let mut queued = false;
            let mut results = Vec::with_capacity(records.len());
            for mut record in records {
                record.id = id;
                id += 1;
                let mut result = Appended::Logged(record.id);
                if record.status == InboundStatus::Pending {
                    let original = match &record.request_uuid {
                        Some(uuid) => {
                            let claimed = txn
                                .execute(
                                    "INSERT INTO inbound_requests (endpoint, request_uuid,
                                     inbound_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                    &[&record.endpoint, uuid, &int(record.id)],
                                )
                                .await?;
                            if claimed == 1 {
                                None
                            } else {
                                let row = txn
                                    .query_one(
                                        "SELECT inbound_id FROM inbound_requests
                                         WHERE endpoint = $1 AND request_uuid = $2",
                                        &[&record.endpoint, uuid],
                                    )
                                    .await?;
                                Some(uint(row.try_get(0)?))
                            }
                        }
                        None => None,
                    };
                    if let Some(original) = original {
                        result = record.mark_duplicate_of(original);
                    } else {
                        txn.execute(
                            "INSERT INTO processing_queue (inbound_id, endpoint) VALUES ($1, $2)",
                            &[&int(record.id), &record.endpoint],
                        )
                        .await?;
                        queued = true;
                        result = Appended::Accepted(record.id);
                    }
                }
                insert_inbound(&txn, record).await?;
                results.push(result);
            }
            if queued {
                // Delivered at commit: the other gateways look at the queue now, not at their
                // next poll.
                notify(&*txn, QUEUE_CHANNEL, &instance.to_string()).await?;
            }
            txn.commit().await?;
            Ok(results)
        })
    }

    /// One record, with its body.
    pub(super) fn inbound(&self, id: u64) -> Result<Option<InboundRecord>, StoreError> {
        Ok(self.inbound_many(vec![id])?.pop().flatten())
    }

    /// Records with their bodies, in one read: `None` for ids that are gone.
    fn inbound_many(&self, ids: Vec<u64>) -> Result<Vec<Option<InboundRecord>>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let wanted: Vec<i64> = ids.iter().copied().map(int).collect();
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT id, record, body FROM inbound WHERE id = ANY($1)",
                    &[&wanted],
                )
                .await?;
            let mut found = std::collections::HashMap::with_capacity(rows.len());
            for row in &rows {
                let mut record: InboundRecord = decode("inbound", row, 1)?;
                let body: Vec<u8> = row.try_get(2)?;
                record.body = String::from_utf8_lossy(&body).into_owned();
                found.insert(uint(row.try_get(0)?), record);
            }
            Ok(ids.iter().map(|id| found.remove(id)).collect())
        })
    }

    pub(super) fn list_inbound(
        &self,
        filter: &InboundFilter,
    ) -> Result<Page<InboundRecord>, StoreError> {
        let pool = self.pool.clone();
        let filter = filter.clone();
        self.run(async move {
            let (sql, endpoint, status, event) = inbound_page_query(&filter);
            let before = before(filter.before);
            let limit = page_limit(filter.limit);
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
            for value in [&endpoint, &status, &event].into_iter().flatten() {
                params.push(value);
            }
            params.push(&before);
            params.push(&limit);
            let rows = pool.get().await?.query(sql.as_str(), &params).await?;
            page("inbound", &rows, filter.limit)
        })
    }

    /// Queued records with their bodies, oldest first, under a lease on their endpoints: while
    /// this store holds an endpoint's lease, other stores on the database skip its records, so
    /// one alert key's records are applied in arrival order whichever gateway received them.
    /// The worker claims again only after its batch was applied (or failed whole), so leases
    /// left from the last claim are released first; one that expires (a gateway gone) is free.
    pub(super) fn claim_queued(&self, limit: usize) -> Result<Vec<InboundRecord>, StoreError> {
        let pool = self.pool.clone();
        let instance = self.instance;
        let lease = self.leases.processing;
        let ids: Vec<u64> = self.run(async move {
            let now = int(now_ms());
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            txn.execute(
                "DELETE FROM processing_leases WHERE holder = $1",
                &[&instance],
            )
            .await?;
            // The endpoints of the oldest queued records nobody holds: which ones to lease.
            let endpoints: Vec<String> = txn
                .query(
                    "SELECT q.endpoint FROM processing_queue q
                     WHERE NOT EXISTS (SELECT 1 FROM processing_leases l
                                       WHERE l.endpoint = q.endpoint AND l.expires_at >= $1)
                     ORDER BY q.inbound_id LIMIT $2",
                    &[&now, &int(limit as u64)],
                )
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<BTreeSet<String>, _>>()?
                .into_iter()
                .collect();
            // Another store may have leased one of them since the read: its row lock makes this
            // wait for that store's commit, and the lease stays its own.
            let leased: BTreeSet<String> = txn
                .query(
                    "INSERT INTO processing_leases (endpoint, holder, expires_at)
                     SELECT endpoint, $1, $2 FROM unnest($3::TEXT[]) AS endpoint
                     ON CONFLICT (endpoint) DO UPDATE SET holder = EXCLUDED.holder,
                         expires_at = EXCLUDED.expires_at
                     WHERE processing_leases.expires_at < $4
                     RETURNING endpoint",
                    &[
                        &instance,
                        &(now + lease.as_millis() as i64),
                        &endpoints,
                        &now,
                    ],
                )
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            // Read again now that the leases are held: the first read may have seen records
            // that a store holding a lease then applied (its commit released the lease).
            let leased: Vec<String> = leased.into_iter().collect();
            let ids: Vec<i64> = txn
                .query(
                    "SELECT inbound_id FROM processing_queue WHERE endpoint = ANY($1)
                     ORDER BY inbound_id LIMIT $2",
                    &[&leased, &int(limit as u64)],
                )
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            txn.commit().await?;
            Ok(ids.into_iter().map(uint).collect())
        })?;
        let mut records = Vec::with_capacity(ids.len());
        let mut orphans = Vec::new();
        for (id, record) in ids.iter().zip(self.inbound_many(ids.clone())?) {
            match record {
                Some(record) => records.push(record),
                None => orphans.push(int(*id)),
            }
        }
        if !orphans.is_empty() {
            tracing::warn!(
                ?orphans,
                "queued inbound records are missing; dropping them from the queue"
            );
            let pool = self.pool.clone();
            self.run(async move {
                pool.get()
                    .await?
                    .execute(
                        "DELETE FROM processing_queue WHERE inbound_id = ANY($1)",
                        &[&orphans],
                    )
                    .await?;
                Ok(())
            })?;
        }
        Ok(records)
    }

    pub(super) fn queue_depth(&self) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one("SELECT count(*) FROM processing_queue", &[])
                .await?;
            Ok(uint(row.try_get(0)?))
        })
    }

    pub(super) fn requeue_inbound(&self, id: u64) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let instance = self.instance;
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let changed = txn
                .execute(
                    "UPDATE inbound SET status = 'pending', record = record
                     || '{\"status\": \"pending\", \"outcomes\": [], \"processed_at\": null}'::JSONB
                     WHERE id = $1",
                    &[&int(id)],
                )
                .await?;
            if changed == 0 {
                return Ok(false);
            }
            txn.execute(
                "INSERT INTO processing_queue (inbound_id, endpoint)
                 SELECT id, endpoint FROM inbound WHERE id = $1
                 ON CONFLICT (inbound_id) DO NOTHING",
                &[&int(id)],
            )
            .await?;
            notify(&*txn, QUEUE_CHANNEL, &instance.to_string()).await?;
            txn.commit().await?;
            Ok(true)
        })
    }

    /// Deletes the oldest records past the retention bounds; queued records are kept (and
    /// count toward `max_records`).
    pub(super) fn prune_inbound(&self, bounds: &InboundRetention) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        let bounds = *bounds;
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            // One gateway prunes at a time; the others' hourly runs find the work done.
            let pruning: bool = txn
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&PRUNE_LOCK])
                .await?
                .try_get(0)?;
            if !pruning {
                return Ok(0);
            }
            let ids = |rows: Vec<tokio_postgres::Row>| -> Result<Vec<i64>, Failure> {
                Ok(rows
                    .iter()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?)
            };
            // Rejected records past their own bound, oldest first (they are never queued).
            let mut doomed: BTreeSet<i64> = ids(txn
                .query(
                    "SELECT id FROM inbound WHERE status = 'rejected'
                     ORDER BY id DESC OFFSET $1",
                    &[&int(bounds.max_rejected_records)],
                )
                .await?)?
            .into_iter()
            .collect();
            // Anything received before the age bound and not queued.
            let old = txn
                .query(
                    "SELECT id, status = 'rejected' FROM inbound i WHERE received_at < $1
                     AND NOT EXISTS (SELECT 1 FROM processing_queue q WHERE q.inbound_id = i.id)",
                    &[&int(bounds.older_than_ms)],
                )
                .await?;
            let mut old_others = 0;
            for row in &old {
                doomed.insert(row.try_get(0)?);
                old_others += u64::from(!row.try_get::<_, bool>(1)?);
            }
            // Then the oldest other records (not rejected, not queued) past `max_records`.
            let others: i64 = txn
                .query_one(
                    "SELECT count(*) FROM inbound WHERE status <> 'rejected'",
                    &[],
                )
                .await?
                .try_get(0)?;
            let over = uint(others)
                .saturating_sub(old_others)
                .saturating_sub(bounds.max_records);
            if over > 0 {
                doomed.extend(ids(txn
                    .query(
                        "SELECT id FROM inbound i WHERE status <> 'rejected' AND received_at >= $1
                         AND NOT EXISTS (SELECT 1 FROM processing_queue q
                                         WHERE q.inbound_id = i.id)
                         ORDER BY id LIMIT $2",
                        &[&int(bounds.older_than_ms), &int(over)],
                    )
                    .await?)?);
            }
            let doomed: Vec<i64> = doomed.into_iter().collect();
            txn.execute(
                "DELETE FROM inbound_requests WHERE inbound_id = ANY($1)",
                &[&doomed],
            )
            .await?;
            let removed = txn
                .execute("DELETE FROM inbound WHERE id = ANY($1)", &[&doomed])
                .await?;
            txn.commit().await?;
            Ok(removed)
        })
    }
}

/// The query of one filtered page of the log, with only the filters given (so the planner
/// picks the index that matches them: `inbound_by_endpoint_status`, `inbound_by_endpoint`,
/// `inbound_by_status`, `inbound_by_event`), and the filters' values in parameter order,
/// followed by `before` and the limit.
pub(super) fn inbound_page_query(
    filter: &InboundFilter,
) -> (String, Option<String>, Option<String>, Option<String>) {
    let mut conditions = Vec::new();
    let mut next = 1;
    let mut condition = |column: &str, value: Option<String>| {
        if value.is_some() {
            conditions.push(format!("{column} = ${next}"));
            next += 1;
        }
        value
    };
    let endpoint = condition("endpoint", filter.endpoint.clone());
    let status = condition("status", filter.status.map(|s| s.as_str().to_string()));
    let event = condition("event", filter.event.clone());
    conditions.push(format!("id < ${next}"));
    let sql = format!(
        "SELECT id, record FROM inbound WHERE {} ORDER BY id DESC LIMIT ${}",
        conditions.join(" AND "),
        next + 1
    );
    (sql, endpoint, status, event)
}

/// Inserts a record, its body in a column of its own and the columns its queries filter on.
pub(super) async fn insert_inbound(
    txn: &Transaction<'_>,
    mut record: InboundRecord,
) -> Result<(), Failure> {
    let body = std::mem::take(&mut record.body).into_bytes();
    txn.execute(
        "INSERT INTO inbound (id, endpoint, received_at, status, event, record, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &int(record.id),
            &record.endpoint,
            &int(record.received_at),
            &record.status.as_str(),
            &record.event,
            &encode(&record),
            &body,
        ],
    )
    .await?;
    Ok(())
}
