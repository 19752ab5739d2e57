//! Destination health: consecutive failed delivery attempts per endpoint destination, and
//! whether that count disabled it. Updated in the same transaction as the attempts it counts.

use super::deliveries::write_delivery;
use super::{Failure, PostgresStore, decode, encode, uint};
use crate::store::{AttemptOutcome, DestinationHealth, Durability, RecordedAttempt, StoreError};
use std::collections::BTreeMap;
use tokio_postgres::Transaction;

/// A destination index as the `INTEGER` column.
fn index(destination: usize) -> i32 {
    i32::try_from(destination).unwrap_or(i32::MAX)
}

impl PostgresStore {
    pub(super) fn destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<DestinationHealth, StoreError> {
        let pool = self.pool.clone();
        let endpoint = endpoint.to_string();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    "SELECT record FROM destination_health
                     WHERE endpoint = $1 AND destination = $2",
                    &[&endpoint, &index(destination)],
                )
                .await?;
            match row {
                Some(row) => decode("destination health", &row, 0),
                None => Ok(DestinationHealth::default()),
            }
        })
    }

    pub(super) fn endpoint_destination_health(
        &self,
        endpoint: &str,
    ) -> Result<BTreeMap<usize, DestinationHealth>, StoreError> {
        let pool = self.pool.clone();
        let endpoint = endpoint.to_string();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT destination, record FROM destination_health WHERE endpoint = $1",
                    &[&endpoint],
                )
                .await?;
            let mut health = BTreeMap::new();
            for row in &rows {
                let destination: i32 = row.try_get(0)?;
                health.insert(
                    uint(i64::from(destination)) as usize,
                    decode("destination health", row, 1)?,
                );
            }
            Ok(health)
        })
    }

    pub(super) fn disabled_destination_count(&self) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one(
                    "SELECT count(*) FROM destination_health WHERE disabled",
                    &[],
                )
                .await?;
            Ok(uint(row.try_get(0)?))
        })
    }

    pub(super) fn reset_destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let endpoint = endpoint.to_string();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    "DELETE FROM destination_health WHERE endpoint = $1 AND destination = $2
                     RETURNING disabled",
                    &[&endpoint, &index(destination)],
                )
                .await?;
            Ok(match row {
                Some(row) => row.try_get(0)?,
                None => false,
            })
        })
    }

    pub(super) fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        disable_after_failures: u32,
        _durability: Durability,
    ) -> Result<Vec<Option<DestinationHealth>>, StoreError> {
        let pool = self.pool.clone();
        let attempts = attempts.to_vec();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let mut disabled = Vec::with_capacity(attempts.len());
            for attempt in &attempts {
                write_delivery(&txn, &attempt.delivery).await?;
                disabled.push(count_attempt(&txn, attempt, disable_after_failures).await?);
            }
            txn.commit().await?;
            Ok(disabled)
        })
    }
}

/// Counts one attempt against its destination (row locked); the health when this attempt
/// disabled it.
async fn count_attempt(
    txn: &Transaction<'_>,
    attempt: &RecordedAttempt,
    disable_after_failures: u32,
) -> Result<Option<DestinationHealth>, Failure> {
    let delivery = &attempt.delivery;
    let (endpoint, destination) = (&delivery.endpoint, index(delivery.destination));
    match attempt.outcome {
        AttemptOutcome::NotSent => Ok(None),
        AttemptOutcome::Succeeded => {
            txn.execute(
                "DELETE FROM destination_health WHERE endpoint = $1 AND destination = $2",
                &[endpoint, &destination],
            )
            .await?;
            Ok(None)
        }
        AttemptOutcome::Failed => {
            let row = txn
                .query_opt(
                    "SELECT record FROM destination_health
                     WHERE endpoint = $1 AND destination = $2 FOR UPDATE",
                    &[endpoint, &destination],
                )
                .await?;
            let mut health: DestinationHealth = match row {
                Some(row) => decode("destination health", &row, 0)?,
                None => DestinationHealth::default(),
            };
            health.consecutive_failures = health.consecutive_failures.saturating_add(1);
            let disables = disable_after_failures > 0
                && !health.is_disabled()
                && health.consecutive_failures >= disable_after_failures;
            if disables {
                let last = delivery.attempts.last();
                let last_error = match last.and_then(|attempt| attempt.status_code) {
                    Some(code) => format!("HTTP {code}"),
                    None => last
                        .and_then(|attempt| attempt.error.clone())
                        .unwrap_or_else(|| "unknown error".into()),
                };
                health.disabled_at = Some(crate::store::now_ms());
                health.disabled_reason = Some(format!(
                    "{} consecutive failed delivery attempts (the last: {last_error})",
                    health.consecutive_failures
                ));
            }
            txn.execute(
                "INSERT INTO destination_health (endpoint, destination, disabled, record)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (endpoint, destination)
                 DO UPDATE SET disabled = EXCLUDED.disabled, record = EXCLUDED.record",
                &[
                    endpoint,
                    &destination,
                    &health.is_disabled(),
                    &encode(&health),
                ],
            )
            .await?;
            Ok(disables.then_some(health))
        }
    }
}
