//! Alerts and the index of open ones by endpoint and key.

use super::{RedbStore, encode, newest_first, read_record, scoped_key, tables};
use crate::store::{AlertFilter, AlertRecord, AlertState, Page, StoreError};
use redb::{ReadableTable, Table};

impl RedbStore {
    pub(super) fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError> {
        let txn = self.read()?;
        read_alert(&txn.open_table(tables::ALERTS)?, id)
    }

    pub(super) fn list_alerts(
        &self,
        filter: &AlertFilter,
    ) -> Result<Page<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::ALERTS)?;
        newest_first(
            &table,
            "alert",
            filter.before,
            filter.limit,
            |record: &AlertRecord| {
                filter.state.is_none_or(|s| s == record.state)
                    && filter
                        .endpoint
                        .as_ref()
                        .is_none_or(|e| *e == record.endpoint)
            },
        )
    }

    pub(super) fn open_alert(
        &self,
        endpoint: &str,
        key: &str,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(tables::OPEN_ALERTS)?;
        let Some(id) = index.get(scoped_key(endpoint, key).as_str())? else {
            return Ok(None);
        };
        read_alert(&txn.open_table(tables::ALERTS)?, id.value())
    }

    pub(super) fn update_alert(&self, alert: &AlertRecord) -> Result<AlertRecord, StoreError> {
        let (txn, ticket) = self.durable_write()?;
        let written = {
            let mut alerts = txn.open_table(tables::ALERTS)?;
            let mut index = txn.open_table(tables::OPEN_ALERTS)?;
            let mut escalations = txn.open_table(tables::DUE_ESCALATIONS)?;
            write_alert(&mut alerts, &mut index, &mut escalations, alert, false)?
        };
        self.commit_durable(txn, ticket)?;
        Ok(written)
    }

    pub(super) fn due_escalations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(tables::DUE_ESCALATIONS)?;
        let alerts = txn.open_table(tables::ALERTS)?;
        let mut due = Vec::new();
        for entry in index.range(..=(now_ms, u64::MAX))?.take(limit) {
            let (key, _) = entry?;
            let (_, id) = key.value();
            if let Some(alert) = read_alert(&alerts, id)? {
                due.push(alert);
            }
        }
        Ok(due)
    }

    pub(super) fn next_escalation_due_at(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(tables::DUE_ESCALATIONS)?;
        Ok(index.first()?.map(|(key, _)| key.value().0))
    }

    pub(super) fn firing_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(tables::OPEN_ALERTS)?;
        let alerts = txn.open_table(tables::ALERTS)?;
        let mut firing = Vec::new();
        for entry in index.iter()? {
            let (_, id) = entry?;
            if let Some(alert) = read_alert(&alerts, id.value())? {
                firing.push(alert);
            }
        }
        firing.sort_by_key(|alert| alert.id);
        Ok(firing)
    }

    pub(super) fn firing_alert_counts(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(tables::OPEN_ALERTS)?;
        let alerts = txn.open_table(tables::ALERTS)?;
        let (mut open, mut acknowledged) = (0, 0);
        for entry in index.iter()? {
            let (_, id) = entry?;
            match read_alert(&alerts, id.value())?.map(|alert| alert.state) {
                Some(AlertState::Open) => open += 1,
                Some(AlertState::Acknowledged) => acknowledged += 1,
                Some(AlertState::Closed) | None => {}
            }
        }
        Ok((open, acknowledged))
    }
}

pub(super) fn read_alert(
    table: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<AlertRecord>, StoreError> {
    read_record(table, "alert", id)
}

/// Writes an alert with its revision bumped, if the stored one still has the revision it was
/// read with (a new alert: none is stored), and keeps the open-alert index in step with its
/// state. Returns the alert as written.
pub(super) fn write_alert(
    alerts: &mut Table<'_, u64, &'static [u8]>,
    index: &mut Table<'_, &'static str, u64>,
    due_escalations: &mut Table<'_, (u64, u64), ()>,
    alert: &AlertRecord,
    new: bool,
) -> Result<AlertRecord, StoreError> {
    let stored = read_alert(alerts, alert.id)?;
    match (&stored, new) {
        (None, true) => {}
        (Some(stored), false) if stored.revision == alert.revision => {}
        (Some(_), true) => {
            return Err(StoreError::Conflict(format!("alert {} exists", alert.id)));
        }
        (None, false) => {
            return Err(StoreError::Conflict(format!("alert {} is gone", alert.id)));
        }
        (Some(stored), false) => {
            return Err(StoreError::Conflict(format!(
                "alert {} changed (revision {} → {})",
                alert.id, alert.revision, stored.revision
            )));
        }
    }
    let mut written = alert.clone();
    written.revision = alert.revision + 1;
    alerts.insert(written.id, encode(&written).as_slice())?;
    // The due index follows the escalation's timer, so an acknowledgement that stops it
    // removes it in the same write.
    let due_of = |record: &AlertRecord| {
        record
            .escalation
            .as_ref()
            .and_then(|escalation| escalation.next_due_at)
    };
    if let Some(due) = stored.as_ref().and_then(due_of) {
        due_escalations.remove((due, written.id))?;
    }
    if let Some(due) = due_of(&written) {
        due_escalations.insert((due, written.id), ())?;
    }
    let index_key = scoped_key(&written.endpoint, &written.key);
    match written.state {
        AlertState::Open | AlertState::Acknowledged => {
            index.insert(index_key.as_str(), written.id)?;
        }
        AlertState::Closed => {
            let indexed = index.get(index_key.as_str())?.map(|id| id.value());
            if indexed == Some(written.id) {
                index.remove(index_key.as_str())?;
            }
        }
    }
    Ok(written)
}
