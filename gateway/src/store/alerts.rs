//! Alerts and the index of open ones by endpoint and key.

use super::{Page, Store, StoreError, StoreTxn, decode, encode, newest_first, scoped_key, tables};
use crate::runtime::Alert;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

/// Alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Firing.
    Open,
    /// Firing; someone is on it.
    Acknowledged,
    /// Resolved.
    Closed,
}

/// One alert, with the inbound records mapped onto it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Sequence.
    pub id: u64,
    /// Endpoint id (the key's scope).
    pub endpoint: String,
    /// Dedup key.
    pub key: String,
    /// State.
    pub state: AlertState,
    /// The alert as last mapped.
    pub alert: Alert,
    /// Events mapped onto it.
    pub count: u32,
    /// Opened, ms.
    pub opened_at: u64,
    /// Last mapped, ms.
    pub last_seen_at: u64,
    /// Acknowledged, ms.
    pub acknowledged_at: Option<u64>,
    /// Closed, ms.
    pub closed_at: Option<u64>,
    /// `source` (a mapped close) or `operator`.
    pub closed_by: Option<String>,
    /// Inbound records, oldest first.
    pub history: Vec<u64>,
}

impl Store {
    /// One alert.
    pub fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::ALERTS)?;
        let Some(bytes) = table.get(id)? else {
            return Ok(None);
        };
        decode("alert", bytes.value()).map(Some)
    }

    /// Alerts, newest first.
    pub fn list_alerts(
        &self,
        state: Option<AlertState>,
        endpoint: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::ALERTS)?;
        newest_first(&table, "alert", before, limit, |record: &AlertRecord| {
            state.is_none_or(|s| s == record.state) && endpoint.is_none_or(|e| e == record.endpoint)
        })
    }

    /// How many alerts are open and how many acknowledged. Read through the index of firing
    /// alerts, so the cost follows the alerts firing now, not the whole history.
    pub fn firing_alert_counts(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(tables::OPEN_ALERTS)?;
        let alerts = txn.open_table(tables::ALERTS)?;
        let (mut open, mut acknowledged) = (0, 0);
        for entry in index.iter()? {
            let (_, id) = entry?;
            let Some(bytes) = alerts.get(id.value())? else {
                continue;
            };
            match decode::<AlertRecord>("alert", bytes.value())?.state {
                AlertState::Open => open += 1,
                AlertState::Acknowledged => acknowledged += 1,
                AlertState::Closed => {}
            }
        }
        Ok((open, acknowledged))
    }
}

impl StoreTxn<'_> {
    /// The open or acknowledged alert with this key on this endpoint.
    pub fn open_alert(&self, endpoint: &str, key: &str) -> Result<Option<AlertRecord>, StoreError> {
        let Some(id) = self.open_alerts.get(scoped_key(endpoint, key).as_str())? else {
            return Ok(None);
        };
        self.alert(id.value())
    }

    /// One alert, inside the transaction.
    pub fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError> {
        let Some(bytes) = self.alerts.get(id)? else {
            return Ok(None);
        };
        decode("alert", bytes.value()).map(Some)
    }

    /// Stores a new alert, giving it its id.
    pub fn insert_alert(&mut self, alert: &mut AlertRecord) -> Result<(), StoreError> {
        alert.id = self.next_sequence("alert")?;
        self.save_alert(alert)
    }

    /// Writes an alert back and keeps the open-alert index in step with its state.
    pub fn save_alert(&mut self, alert: &AlertRecord) -> Result<(), StoreError> {
        self.alerts.insert(alert.id, encode(alert).as_slice())?;
        let index_key = scoped_key(&alert.endpoint, &alert.key);
        match alert.state {
            AlertState::Open | AlertState::Acknowledged => {
                self.open_alerts.insert(index_key.as_str(), alert.id)?;
            }
            AlertState::Closed => {
                let indexed = self
                    .open_alerts
                    .get(index_key.as_str())?
                    .map(|id| id.value());
                if indexed == Some(alert.id) {
                    self.open_alerts.remove(index_key.as_str())?;
                }
            }
        }
        Ok(())
    }
}
