//! Alerts, the index of open ones by endpoint and key, and their histories (a table apart:
//! an append adds a row, never rewrites the history).

use super::retention::{Chunk, RETENTION_PACE, Slice, walk_oldest};
use super::{RedbStore, decode, encode, newest_first, read_record, scoped_key, tables};
use crate::store::{AlertFilter, AlertRecord, AlertState, Page, StoreError};
use redb::{ReadableTable, ReadableTableMetadata, Table, WriteTransaction};
use std::ops::ControlFlow;

impl RedbStore {
    /// One alert, with its whole history.
    pub(super) fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        let Some(mut alert) = read_alert(&txn.open_table(tables::ALERTS)?, id)? else {
            return Ok(None);
        };
        alert.history = whole_history(&history, id)?;
        Ok(Some(alert))
    }

    /// A page of an alert's history, newest first: inbound ids below `before`, at most
    /// `limit`, with the cursor of the next page.
    pub(super) fn alert_history(
        &self,
        alert: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<u64>, StoreError> {
        let txn = self.read()?;
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        let mut items = Vec::new();
        let mut next = None;
        for entry in history
            .range((alert, 0)..(alert, before.unwrap_or(u64::MAX)))?
            .rev()
        {
            let (_, inbound) = entry?.0.value();
            if items.len() == limit {
                next = Some((inbound + 1).to_string());
                break;
            }
            items.push(inbound);
        }
        Ok(Page { items, next })
    }

    /// Whether inbound record `inbound` is in the history of alert `alert`.
    pub(super) fn alert_history_contains(
        &self,
        alert: u64,
        inbound: u64,
    ) -> Result<bool, StoreError> {
        let txn = self.read()?;
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        Ok(history.get((alert, inbound))?.is_some())
    }

    pub(super) fn list_alerts(
        &self,
        filter: &AlertFilter,
    ) -> Result<Page<AlertRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::ALERTS)?;
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        let mut page = newest_first(
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
        )?;
        for alert in &mut page.items {
            alert.history = whole_history(&history, alert.id)?;
        }
        Ok(page)
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
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        read_alert(&txn.open_table(tables::ALERTS)?, id.value())?
            .map(|alert| with_newest_history(&history, alert))
            .transpose()
    }

    pub(super) fn update_alert(&self, alert: &AlertRecord) -> Result<AlertRecord, StoreError> {
        let (txn, ticket) = self.durable_write()?;
        let written = {
            let mut alerts = txn.open_table(tables::ALERTS)?;
            let mut index = txn.open_table(tables::OPEN_ALERTS)?;
            let mut escalations = txn.open_table(tables::DUE_ESCALATIONS)?;
            let mut acknowledged = txn.open_table(tables::ACKNOWLEDGED_ALERTS)?;
            let mut history = txn.open_table(tables::ALERT_HISTORY)?;
            let mut indexes = AlertIndexes {
                open: &mut index,
                acknowledged: &mut acknowledged,
                history: &mut history,
            };
            write_alert(&mut alerts, &mut indexes, &mut escalations, alert, false)?
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
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        let mut due = Vec::new();
        for entry in index.range(..=(now_ms, u64::MAX))?.take(limit) {
            let (key, _) = entry?;
            let (_, id) = key.value();
            if let Some(alert) = read_alert(&alerts, id)? {
                due.push(with_newest_history(&history, alert)?);
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
        let history = txn.open_table(tables::ALERT_HISTORY)?;
        let mut firing = Vec::new();
        for entry in index.iter()? {
            let (_, id) = entry?;
            if let Some(alert) = read_alert(&alerts, id.value())? {
                firing.push(with_newest_history(&history, alert)?);
            }
        }
        firing.sort_by_key(|alert| alert.id);
        Ok(firing)
    }

    /// Deletes closed alerts closed before `closed_before_ms`, oldest first, at retention's
    /// pace ([`RedbStore::prune_paced`]). Ids follow opening time, so the scan stops at the
    /// first alert opened after the cutoff.
    pub(super) fn prune_closed_alerts(&self, closed_before_ms: u64) -> Result<u64, StoreError> {
        self.prune_paced(RETENTION_PACE, 0, |txn, slice, from| {
            prune_closed_alerts_chunk(txn, slice, closed_before_ms, from)
        })
    }

    /// From the lengths of two indexes, reading no alert: `/metrics` asks on every scrape.
    pub(super) fn firing_alert_counts(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.read()?;
        let firing = txn.open_table(tables::OPEN_ALERTS)?.len()?;
        let acknowledged = txn.open_table(tables::ACKNOWLEDGED_ALERTS)?.len()?;
        Ok((firing.saturating_sub(acknowledged), acknowledged))
    }
}

/// One chunk of [`RedbStore::prune_closed_alerts`], from alert `from`.
fn prune_closed_alerts_chunk(
    txn: &WriteTransaction,
    slice: &Slice,
    closed_before_ms: u64,
    from: u64,
) -> Result<Chunk<u64>, StoreError> {
    /// What retention reads of an alert, without decoding the rest.
    #[derive(serde::Deserialize)]
    struct Closing {
        state: AlertState,
        opened_at: u64,
        closed_at: Option<u64>,
    }
    let mut doomed = Vec::new();
    let mut alerts = txn.open_table(tables::ALERTS)?;
    let mut history = txn.open_table(tables::ALERT_HISTORY)?;
    let next = walk_oldest(&alerts, "alert", slice, from, |id, alert: Closing| {
        if alert.opened_at >= closed_before_ms {
            return ControlFlow::Break(());
        }
        if alert.state == AlertState::Closed
            && alert.closed_at.is_some_and(|at| at < closed_before_ms)
        {
            doomed.push(id);
        }
        ControlFlow::Continue(())
    })?;
    for &id in &doomed {
        alerts.remove(id)?;
        history.retain_in((id, 0)..=(id, u64::MAX), |_, _| false)?;
    }
    Ok(Chunk {
        removed: doomed.len() as u64,
        next,
    })
}

/// What every alert write keeps in step with the alert: the open (or acknowledged) alert of
/// each key, the set of acknowledged ones, and the histories.
pub(super) struct AlertIndexes<'a, 'txn> {
    pub(super) open: &'a mut Table<'txn, &'static str, u64>,
    pub(super) acknowledged: &'a mut Table<'txn, u64, ()>,
    pub(super) history: &'a mut Table<'txn, (u64, u64), ()>,
}

/// An alert's whole history, oldest first.
pub(super) fn whole_history(
    history: &impl ReadableTable<(u64, u64), ()>,
    alert: u64,
) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::new();
    for entry in history.range((alert, 0)..=(alert, u64::MAX))? {
        ids.push(entry?.0.value().1);
    }
    Ok(ids)
}

/// The alert with only the newest entry of its history: what processing reads (whether a
/// record is older than that entry tells it when to ask [`RedbStore::alert_history_contains`]).
fn with_newest_history(
    history: &impl ReadableTable<(u64, u64), ()>,
    mut alert: AlertRecord,
) -> Result<AlertRecord, StoreError> {
    alert.history = match history
        .range((alert.id, 0)..=(alert.id, u64::MAX))?
        .next_back()
    {
        Some(entry) => vec![entry?.0.value().1],
        None => Vec::new(),
    };
    Ok(alert)
}

/// Whether a database keeps its alerts' histories inside the alert records (written before
/// the history table).
pub(super) fn history_table_missing(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let name = redb::TableHandle::name(&tables::ALERT_HISTORY);
    Ok(!txn
        .list_tables()?
        .any(|table| redb::TableHandle::name(&table) == name))
}

/// Moves the histories of a database written before the history table out of the alert
/// records into it; returns how many alerts had one.
pub(super) fn move_histories(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let mut alerts = txn.open_table(tables::ALERTS)?;
    let mut history = txn.open_table(tables::ALERT_HISTORY)?;
    let mut rewritten = Vec::new();
    for entry in alerts.iter()? {
        let (id, bytes) = entry?;
        let mut alert: AlertRecord = decode("alert", bytes.value())?;
        if alert.history.is_empty() {
            continue;
        }
        for inbound in std::mem::take(&mut alert.history) {
            history.insert((id.value(), inbound), ())?;
        }
        rewritten.push(alert);
    }
    let moved = rewritten.len() as u64;
    for alert in rewritten {
        alerts.insert(alert.id, encode(&alert).as_slice())?;
    }
    Ok(moved)
}

/// Whether a database lacks the acknowledged-alert index (written before it existed).
pub(super) fn acknowledged_index_missing(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let name = redb::TableHandle::name(&tables::ACKNOWLEDGED_ALERTS);
    Ok(!txn
        .list_tables()?
        .any(|table| redb::TableHandle::name(&table) == name))
}

/// Builds the acknowledged-alert index of a database written before it, from the firing ones.
pub(super) fn index_acknowledged(txn: &WriteTransaction) -> Result<(), StoreError> {
    let index = txn.open_table(tables::OPEN_ALERTS)?;
    let alerts = txn.open_table(tables::ALERTS)?;
    let mut acknowledged = txn.open_table(tables::ACKNOWLEDGED_ALERTS)?;
    for entry in index.iter()? {
        let (_, id) = entry?;
        if read_alert(&alerts, id.value())?
            .is_some_and(|alert| alert.state == AlertState::Acknowledged)
        {
            acknowledged.insert(id.value(), ())?;
        }
    }
    Ok(())
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
    indexes: &mut AlertIndexes<'_, '_>,
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
    // The history goes to its own table: the ids the caller has (an append: the new one, and
    // the newest stored one it read) are added, the others stay as they are.
    for &inbound in &written.history {
        indexes.history.insert((written.id, inbound), ())?;
    }
    let history = std::mem::take(&mut written.history);
    alerts.insert(written.id, encode(&written).as_slice())?;
    written.history = history;
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
            indexes.open.insert(index_key.as_str(), written.id)?;
            if written.state == AlertState::Acknowledged {
                indexes.acknowledged.insert(written.id, ())?;
            } else {
                indexes.acknowledged.remove(written.id)?;
            }
        }
        AlertState::Closed => {
            let indexed = indexes.open.get(index_key.as_str())?.map(|id| id.value());
            if indexed == Some(written.id) {
                indexes.open.remove(index_key.as_str())?;
            }
            indexes.acknowledged.remove(written.id)?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::contract::open_alert;

    /// A database whose alerts carry their histories inline (written before the history
    /// table) has them moved out when opened: they read back whole, and an append adds to them.
    /// Its acknowledged alerts are counted as such.
    #[test]
    fn an_older_database_has_its_histories_moved_and_its_acknowledged_alerts_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let id = {
            let store = RedbStore::open(&path).unwrap();
            let opened = open_alert(&store, "a", "k");
            store
                .update_alert(&AlertRecord {
                    state: AlertState::Acknowledged,
                    ..opened
                })
                .unwrap()
                .id
        };
        {
            let db = super::super::open_database(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut alerts = txn.open_table(tables::ALERTS).unwrap();
                let mut alert = read_alert(&alerts, id).unwrap().unwrap();
                alert.history = vec![1, 2, 3];
                alerts.insert(id, encode(&alert).as_slice()).unwrap();
            }
            txn.delete_table(tables::ALERT_HISTORY).unwrap();
            txn.delete_table(tables::ACKNOWLEDGED_ALERTS).unwrap();
            txn.commit().unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.alert(id).unwrap().unwrap().history, [1, 2, 3]);
        assert_eq!(store.firing_alert_counts().unwrap(), (0, 1));
        let mut read = Store::open_alert(&store, "a", "k").unwrap().unwrap();
        assert_eq!(read.history, [3]);
        read.history.push(9);
        store.update_alert(&read).unwrap();
        assert_eq!(store.alert(id).unwrap().unwrap().history, [1, 2, 3, 9]);
    }

    /// A backup carries the histories (kept apart from the alerts) and the acknowledged index.
    #[test]
    fn a_backup_keeps_the_histories() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("db.redb")).unwrap();
        let mut read = open_alert(&store, "a", "k");
        read.history.push(8);
        let read = store.update_alert(&read).unwrap();
        store
            .update_alert(&AlertRecord {
                state: AlertState::Acknowledged,
                ..read
            })
            .unwrap();
        let copy = dir.path().join("copy.redb");
        store.backup_to(&copy).unwrap();
        let restored = RedbStore::open(&copy).unwrap();
        let id = Store::open_alert(&store, "a", "k").unwrap().unwrap().id;
        assert_eq!(restored.alert(id).unwrap().unwrap().history, [8]);
        assert_eq!(restored.firing_alert_counts().unwrap(), (0, 1));
    }
}
