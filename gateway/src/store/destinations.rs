//! Destination health: consecutive failed delivery attempts per endpoint destination, and
//! whether that count disabled it. Updated in the same commit as the attempts it counts.

use super::DeliveryRecord;
use super::{Store, StoreError, decode, encode, scoped_key, tables};
use redb::{ReadableTable, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The failure count of one destination, and when and why it was disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationHealth {
    /// Failed attempts since the last success (or since it was enabled).
    pub consecutive_failures: u32,
    /// When the count reached the limit, ms; deliveries to it are not attempted until it is
    /// enabled again.
    pub disabled_at: Option<u64>,
    /// Why, for the operator.
    pub disabled_reason: Option<String>,
}

impl DestinationHealth {
    /// Whether deliveries to it are held back.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// What an attempt tells about its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver took it (2xx): the failure count starts again.
    Succeeded,
    /// Sent and failed (error, timeout, non-2xx) or refused: one more failure.
    Failed,
    /// Not sent because the destination is disabled: the count is left alone.
    NotSent,
}

/// One attempt to record: the delivery with its new state, when it was due before, and what it
/// tells about the destination.
#[derive(Debug, Clone)]
pub struct RecordedAttempt {
    /// The delivery after the attempt.
    pub delivery: DeliveryRecord,
    /// Its due-index time before the attempt.
    pub was_due_at: Option<u64>,
    /// Success, failure, or not sent.
    pub outcome: AttemptOutcome,
}

/// `endpoint \n destination index`.
fn health_key(endpoint: &str, destination: usize) -> String {
    scoped_key(endpoint, &destination.to_string())
}

impl Store {
    /// The health of one destination (a healthy default when nothing is recorded).
    pub fn destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<DestinationHealth, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DESTINATION_HEALTH)?;
        match table.get(health_key(endpoint, destination).as_str())? {
            Some(bytes) => decode("destination health", bytes.value()),
            None => Ok(DestinationHealth::default()),
        }
    }

    /// The recorded health of an endpoint's destinations, by index (absent = healthy).
    pub fn endpoint_destination_health(
        &self,
        endpoint: &str,
    ) -> Result<BTreeMap<usize, DestinationHealth>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DESTINATION_HEALTH)?;
        let prefix = scoped_key(endpoint, "");
        let mut health = BTreeMap::new();
        for entry in table.range(prefix.as_str()..)? {
            let (key, bytes) = entry?;
            let Some(index) = key.value().strip_prefix(prefix.as_str()) else {
                break;
            };
            if let Ok(index) = index.parse::<usize>() {
                health.insert(index, decode("destination health", bytes.value())?);
            }
        }
        Ok(health)
    }

    /// How many destinations are disabled now.
    pub fn disabled_destination_count(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DESTINATION_HEALTH)?;
        let mut count = 0;
        for entry in table.iter()? {
            let (_, bytes) = entry?;
            let health: DestinationHealth = decode("destination health", bytes.value())?;
            count += u64::from(health.is_disabled());
        }
        Ok(count)
    }

    /// Forgets a destination's failures, enabling it again; returns whether it was disabled.
    pub fn reset_destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<bool, StoreError> {
        let txn = self.write()?;
        let was_disabled = {
            let mut table = txn.open_table(tables::DESTINATION_HEALTH)?;
            let removed = table.remove(health_key(endpoint, destination).as_str())?;
            match removed {
                Some(bytes) => {
                    decode::<DestinationHealth>("destination health", bytes.value())?.is_disabled()
                }
                None => false,
            }
        };
        self.commit(txn)?;
        Ok(was_disabled)
    }

    /// Records the results of many attempts (each delivery with its new state, and when it was
    /// due before) and counts them against their destinations, in one commit that is made
    /// durable by the next durable commit rather than its own fsync: a crash can forget the
    /// last few milliseconds of results, and those deliveries are then sent again with the same
    /// `Idempotency-Key` (at-least-once), while the outbox no longer competes with ingest for
    /// the disk once per delivery. A destination whose count reaches `disable_after_failures`
    /// (0 = never) is disabled; the answer has, per attempt, the health of the destination it
    /// disabled, if it did.
    pub fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        disable_after_failures: u32,
    ) -> Result<Vec<Option<DestinationHealth>>, StoreError> {
        let mut txn = self.write()?;
        txn.set_durability(redb::Durability::None)
            .map_err(|error| StoreError::Database(error.to_string()))?;
        let mut disabled = Vec::with_capacity(attempts.len());
        {
            let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
            let mut deliveries = txn.open_table(tables::DELIVERIES)?;
            let mut health = txn.open_table(tables::DESTINATION_HEALTH)?;
            for attempt in attempts {
                super::deliveries::write_delivery(
                    &mut deliveries,
                    &mut due,
                    &attempt.delivery,
                    attempt.was_due_at,
                )?;
                disabled.push(count_attempt(&mut health, attempt, disable_after_failures)?);
            }
        }
        self.commit(txn)?;
        Ok(disabled)
    }
}

/// Counts one attempt against its destination; the health when this attempt disabled it.
fn count_attempt(
    table: &mut Table<'_, &'static str, &'static [u8]>,
    attempt: &RecordedAttempt,
    disable_after_failures: u32,
) -> Result<Option<DestinationHealth>, StoreError> {
    let delivery = &attempt.delivery;
    let key = health_key(&delivery.endpoint, delivery.destination);
    match attempt.outcome {
        AttemptOutcome::NotSent => Ok(None),
        AttemptOutcome::Succeeded => {
            table.remove(key.as_str())?;
            Ok(None)
        }
        AttemptOutcome::Failed => {
            let mut health: DestinationHealth = match table.get(key.as_str())? {
                Some(bytes) => decode("destination health", bytes.value())?,
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
                health.disabled_at = Some(super::now_ms());
                health.disabled_reason = Some(format!(
                    "{} consecutive failed delivery attempts (the last: {last_error})",
                    health.consecutive_failures
                ));
            }
            table.insert(key.as_str(), encode(&health).as_slice())?;
            Ok(disables.then_some(health))
        }
    }
}
