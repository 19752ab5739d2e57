//! Alerts, the index of open ones by endpoint and key, and the escalation timers (the
//! `next_due_at` column, written with the alert).

use super::{Failure, PostgresStore, before, decode, encode, int, label, page_limit, text, uint};
use crate::store::{AlertFilter, AlertRecord, AlertState, Page, StoreError};
use tokio_postgres::Transaction;

impl PostgresStore {
    pub(super) fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    &format!("SELECT a.record, {WHOLE_HISTORY} FROM alerts a WHERE a.id = $1"),
                    &[&int(id)],
                )
                .await?;
            row.map(|row| alert_row(&row, 0)).transpose()
        })
    }

    pub(super) fn list_alerts(
        &self,
        filter: &AlertFilter,
    ) -> Result<Page<AlertRecord>, StoreError> {
        let pool = self.pool.clone();
        let filter = filter.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    &format!(
                        "SELECT a.id, a.record, {WHOLE_HISTORY} FROM alerts a
                         WHERE ($1::TEXT IS NULL OR a.state = $1)
                           AND ($2::TEXT IS NULL OR a.endpoint = $2)
                           AND a.id < $3
                         ORDER BY a.id DESC LIMIT $4"
                    ),
                    &[
                        &filter.state.as_ref().map(label),
                        &filter.endpoint,
                        &before(filter.before),
                        &page_limit(filter.limit),
                    ],
                )
                .await?;
            let mut items = Vec::with_capacity(rows.len().min(filter.limit));
            let mut next = None;
            for row in &rows {
                if items.len() == filter.limit {
                    next = Some((uint(row.try_get(0)?) + 1).to_string());
                    break;
                }
                items.push(alert_row(row, 1)?);
            }
            Ok(Page { items, next })
        })
    }

    pub(super) fn alert_history(
        &self,
        alert: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<u64>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT inbound_id FROM alert_history
                     WHERE alert_id = $1 AND inbound_id < $2
                     ORDER BY inbound_id DESC LIMIT $3",
                    &[&int(alert), &super::before(before), &page_limit(limit)],
                )
                .await?;
            let mut items = Vec::with_capacity(rows.len().min(limit));
            let mut next = None;
            for row in &rows {
                let inbound = uint(row.try_get(0)?);
                if items.len() == limit {
                    next = Some((inbound + 1).to_string());
                    break;
                }
                items.push(inbound);
            }
            Ok(Page { items, next })
        })
    }

    /// Deletes closed alerts closed before `closed_before_ms` with their histories, a
    /// thousand per transaction.
    pub(super) fn prune_closed_alerts(&self, closed_before_ms: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            let pool = self.pool.clone();
            let chunk: u64 = self.run(async move {
                let mut client = pool.get().await?;
                let txn = client.transaction().await?;
                let doomed: Vec<i64> = txn
                    .query(
                        "SELECT id FROM alerts
                         WHERE state = 'closed' AND (record ->> 'closed_at')::BIGINT < $1
                         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                        &[&int(closed_before_ms), &PRUNE_CHUNK],
                    )
                    .await?
                    .iter()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?;
                txn.execute(
                    "DELETE FROM alert_history WHERE alert_id = ANY($1)",
                    &[&doomed],
                )
                .await?;
                txn.execute("DELETE FROM alerts WHERE id = ANY($1)", &[&doomed])
                    .await?;
                txn.commit().await?;
                Ok(doomed.len() as u64)
            })?;
            removed += chunk;
            if chunk < PRUNE_CHUNK as u64 {
                return Ok(removed);
            }
        }
    }

    pub(super) fn alert_history_contains(
        &self,
        alert: u64,
        inbound: u64,
    ) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    "SELECT 1 FROM alert_history WHERE alert_id = $1 AND inbound_id = $2",
                    &[&int(alert), &int(inbound)],
                )
                .await?;
            Ok(row.is_some())
        })
    }

    pub(super) fn open_alert(
        &self,
        endpoint: &str,
        key: &str,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let pool = self.pool.clone();
        let (endpoint, key) = (text(endpoint), text(key));
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    &format!(
                        "SELECT a.record, {NEWEST_HISTORY}
                         FROM open_alerts o JOIN alerts a ON a.id = o.alert_id
                         WHERE o.endpoint = $1 AND o.key = $2"
                    ),
                    &[&endpoint, &key],
                )
                .await?;
            row.map(|row| alert_row(&row, 0)).transpose()
        })
    }

    pub(super) fn update_alert(&self, alert: &AlertRecord) -> Result<AlertRecord, StoreError> {
        let pool = self.pool.clone();
        let alert = alert.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let written = write_alert(&txn, &alert, false).await?;
            txn.commit().await?;
            Ok(written)
        })
    }

    pub(super) fn due_escalations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    &format!(
                        "SELECT a.record, {NEWEST_HISTORY} FROM alerts a
                         WHERE a.next_due_at <= $1 ORDER BY a.next_due_at, a.id LIMIT $2"
                    ),
                    &[&int(now_ms), &int(limit as u64)],
                )
                .await?;
            rows.iter().map(|row| alert_row(row, 0)).collect()
        })
    }

    pub(super) fn next_escalation_due_at(&self) -> Result<Option<u64>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one("SELECT min(next_due_at) FROM alerts", &[])
                .await?;
            Ok(row.try_get::<_, Option<i64>>(0)?.map(uint))
        })
    }

    pub(super) fn firing_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    &format!(
                        "SELECT a.record, {NEWEST_HISTORY}
                         FROM open_alerts o JOIN alerts a ON a.id = o.alert_id ORDER BY a.id"
                    ),
                    &[],
                )
                .await?;
            rows.iter().map(|row| alert_row(row, 0)).collect()
        })
    }

    pub(super) fn firing_alert_counts(&self) -> Result<(u64, u64), StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one(
                    "SELECT count(*) FILTER (WHERE a.state = 'open'),
                            count(*) FILTER (WHERE a.state = 'acknowledged')
                     FROM open_alerts o JOIN alerts a ON a.id = o.alert_id",
                    &[],
                )
                .await?;
            Ok((uint(row.try_get(0)?), uint(row.try_get(1)?)))
        })
    }
}

/// Rows deleted per transaction of retention.
pub(super) const PRUNE_CHUNK: i64 = 1_000;

/// The column of an alert's whole history (`alerts a`), oldest first.
const WHOLE_HISTORY: &str = "ARRAY(SELECT h.inbound_id FROM alert_history h \
     WHERE h.alert_id = a.id ORDER BY h.inbound_id)";

/// The column of the newest entry of an alert's history (`alerts a`), as an array of at most
/// one: what processing reads ([`crate::store::Store::open_alert`]).
const NEWEST_HISTORY: &str = "ARRAY(SELECT h.inbound_id FROM alert_history h \
     WHERE h.alert_id = a.id ORDER BY h.inbound_id DESC LIMIT 1)";

/// An alert from a row of its record (column `at`) and its history (the next column).
fn alert_row(row: &tokio_postgres::Row, at: usize) -> Result<AlertRecord, Failure> {
    let mut alert: AlertRecord = decode("alert", row, at)?;
    let history: Vec<i64> = row.try_get(at + 1)?;
    alert.history = history.into_iter().map(uint).collect();
    Ok(alert)
}

/// Writes an alert with its revision bumped, if the stored one (locked for the rest of the
/// transaction) still has the revision it was read with (a new alert: none is stored), and
/// keeps the open-alert index in step with its state. Returns the alert as written.
pub(super) async fn write_alert(
    txn: &Transaction<'_>,
    alert: &AlertRecord,
    new: bool,
) -> Result<AlertRecord, Failure> {
    let stored = txn
        .query_opt(
            "SELECT revision FROM alerts WHERE id = $1 FOR UPDATE",
            &[&int(alert.id)],
        )
        .await?
        .map(|row| row.try_get::<_, i64>(0).map(uint))
        .transpose()?;
    let conflict = |message: String| Err(Failure(StoreError::Conflict(message)));
    match (stored, new) {
        (None, true) => {}
        (Some(revision), false) if revision == alert.revision => {}
        (Some(_), true) => return conflict(format!("alert {} exists", alert.id)),
        (None, false) => return conflict(format!("alert {} is gone", alert.id)),
        (Some(revision), false) => {
            return conflict(format!(
                "alert {} changed (revision {} → {revision})",
                alert.id, alert.revision
            ));
        }
    }
    let mut written = alert.clone();
    written.revision = alert.revision + 1;
    // The history has its own table: the ids the caller has are added, the rest stay.
    let history: Vec<i64> = written.history.iter().copied().map(int).collect();
    txn.execute(
        "INSERT INTO alert_history (alert_id, inbound_id) SELECT $1, unnest($2::BIGINT[])
         ON CONFLICT DO NOTHING",
        &[&int(written.id), &history],
    )
    .await?;
    let kept_apart = std::mem::take(&mut written.history);
    let record = encode(&written);
    written.history = kept_apart;
    let (endpoint, key) = (text(&written.endpoint), text(&written.key));
    let due = written
        .escalation
        .as_ref()
        .and_then(|escalation| escalation.next_due_at)
        .map(int);
    txn.execute(
        "INSERT INTO alerts (id, endpoint, key, state, revision, next_due_at, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET endpoint = EXCLUDED.endpoint, key = EXCLUDED.key,
         state = EXCLUDED.state, revision = EXCLUDED.revision,
         next_due_at = EXCLUDED.next_due_at, record = EXCLUDED.record",
        &[
            &int(written.id),
            &endpoint,
            &key,
            &label(&written.state),
            &int(written.revision),
            &due,
            &record,
        ],
    )
    .await?;
    match written.state {
        AlertState::Open | AlertState::Acknowledged => {
            txn.execute(
                "INSERT INTO open_alerts (endpoint, key, alert_id) VALUES ($1, $2, $3)
                 ON CONFLICT (endpoint, key) DO UPDATE SET alert_id = EXCLUDED.alert_id",
                &[&endpoint, &key, &int(written.id)],
            )
            .await?;
        }
        AlertState::Closed => {
            txn.execute(
                "DELETE FROM open_alerts WHERE endpoint = $1 AND key = $2 AND alert_id = $3",
                &[&endpoint, &key, &int(written.id)],
            )
            .await?;
        }
    }
    Ok(written)
}

/// Holds the alert key `(endpoint, key)` for the rest of the transaction, so no other write
/// opens or closes an alert of that key meanwhile (a row lock cannot hold a key with no row).
pub(super) async fn lock_scope(
    txn: &Transaction<'_>,
    endpoint: &str,
    key: &str,
) -> Result<(), Failure> {
    txn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0))",
        &[&text(endpoint), &text(key)],
    )
    .await?;
    Ok(())
}
