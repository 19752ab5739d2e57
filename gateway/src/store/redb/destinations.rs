//! Destination health: consecutive failed delivery attempts per endpoint destination, and
//! whether that count disabled it. Updated in the same commit as the attempts it counts.

use super::{RedbStore, decode, encode, scoped_key, tables};
use crate::store::{AttemptOutcome, DestinationHealth, Durability, RecordedAttempt, StoreError};
use redb::{ReadableTable, Table};
use std::collections::BTreeMap;

/// `endpoint \n destination index`.
fn health_key(endpoint: &str, destination: usize) -> String {
    scoped_key(endpoint, &destination.to_string())
}

impl RedbStore {
    /// The health of one destination (a healthy default when nothing is recorded).
    pub(super) fn destination_health(
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
    pub(super) fn endpoint_destination_health(
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
    pub(super) fn disabled_destination_count(&self) -> Result<u64, StoreError> {
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
    pub(super) fn reset_destination_health(
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

    pub(super) fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        disable_after_failures: u32,
        durability: Durability,
    ) -> Result<Vec<Option<DestinationHealth>>, StoreError> {
        let (txn, ticket) = self.write_with(durability)?;
        let mut disabled = Vec::with_capacity(attempts.len());
        {
            let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
            let mut deliveries = txn.open_table(tables::DELIVERIES)?;
            let mut health = txn.open_table(tables::DESTINATION_HEALTH)?;
            for attempt in attempts {
                super::deliveries::write_delivery(&mut deliveries, &mut due, &attempt.delivery)?;
                disabled.push(count_attempt(&mut health, attempt, disable_after_failures)?);
            }
        }
        self.commit_with(txn, ticket)?;
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
                health.disabled_at = Some(crate::store::now_ms());
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
