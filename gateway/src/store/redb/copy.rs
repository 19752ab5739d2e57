//! Copying an installation out of and into a redb file (`crate::store::copy`): every table a
//! record kind lives in, paged in key order; indexes that follow from the records (rejected
//! records, open alerts, due timers) are written by the same helpers processing uses.

use super::alerts::{AlertIndexes, whole_history, write_alert};
use super::bodies::{decode_body, encode_body};
use super::deliveries::write_delivery;
use super::inbound::InboundIndexes;
use super::{ALERT_COUNTER, DELIVERY_COUNTER, RedbStore, decode, encode, scoped_key, tables};
use crate::store::{
    CopiedRecord, CopyKey, DirectoryKind, InboundRecord, InboundStatus, RecordCounts, RecordKind,
    StoreError, StoredPlugin,
};
use redb::{ReadableTable, ReadableTableMetadata};
use std::ops::Bound;
use std::sync::atomic::Ordering;

/// Up to `$limit` entries of `$table` (keyed `$key_type`) after the key `$after` (an
/// `Option`), each made into a record by `$make` from its key and value (`?` in it returns
/// from the calling function).
macro_rules! page {
    ($table:expr, $key_type:ty, $after:expr, $limit:expr, |$key:ident, $value:ident| $make:expr) => {{
        let table = $table;
        let range = match $after {
            Some(after) => table.range::<$key_type>((Bound::Excluded(after), Bound::Unbounded))?,
            None => table.iter()?,
        };
        let mut records = Vec::new();
        for entry in range.take($limit) {
            let (key, value) = entry?;
            let ($key, $value) = (key.value(), value.value());
            records.push($make);
        }
        records
    }};
}

fn wrong_cursor(kind: RecordKind) -> StoreError {
    StoreError::Database(format!("a copy cursor that is not one of {}", kind.label()))
}

fn text(kind: RecordKind, after: Option<&CopyKey>) -> Result<Option<String>, StoreError> {
    match after {
        None => Ok(None),
        Some(CopyKey::Text(text)) => Ok(Some(text.clone())),
        Some(CopyKey::Pair(first, second)) => Ok(Some(scoped_key(first, second))),
        Some(_) => Err(wrong_cursor(kind)),
    }
}

fn number(kind: RecordKind, after: Option<&CopyKey>) -> Result<Option<u64>, StoreError> {
    match after {
        None => Ok(None),
        Some(CopyKey::Number(number)) => Ok(Some(*number)),
        Some(_) => Err(wrong_cursor(kind)),
    }
}

/// `endpoint \n rest` as its two parts.
fn scoped_parts(key: &str) -> Result<(String, String), StoreError> {
    key.split_once('\n')
        .map(|(endpoint, rest)| (endpoint.to_string(), rest.to_string()))
        .ok_or_else(|| StoreError::Corrupt(format!("index key {key:?}")))
}

/// The directory table's key (`us/us_3`) of an entry id.
fn directory_key(id: &str) -> Result<String, StoreError> {
    let kind = DirectoryKind::of_id(id)
        .ok_or_else(|| StoreError::Corrupt(format!("{id} is not a directory id")))?;
    Ok(format!("{}/{id}", kind.prefix()))
}

impl RedbStore {
    pub(super) fn copy_page(
        &self,
        kind: RecordKind,
        after: Option<&CopyKey>,
        limit: usize,
    ) -> Result<Vec<CopiedRecord>, StoreError> {
        let txn = self.read()?;
        let records = match kind {
            RecordKind::Counter => {
                let after = text(kind, after)?;
                page!(
                    txn.open_table(tables::COUNTERS)?,
                    &str,
                    after.as_deref(),
                    limit,
                    |name, next| {
                        CopiedRecord::Counter {
                            name: name.to_string(),
                            next,
                        }
                    }
                )
            }
            RecordKind::SecretKey => {
                let after = text(kind, after)?;
                page!(
                    txn.open_table(tables::SECRET_KEYS)?,
                    &str,
                    after.as_deref(),
                    limit,
                    |name, key| {
                        CopiedRecord::SecretKey {
                            name: name.to_string(),
                            key: key.to_vec(),
                        }
                    }
                )
            }
            RecordKind::Endpoint => {
                let after = text(kind, after)?;
                let table = txn.open_table(tables::ENDPOINTS)?;
                page!(table, &str, after.as_deref(), limit, |_id, value| {
                    CopiedRecord::Endpoint(Box::new(decode("endpoint", value)?))
                })
            }
            RecordKind::DirectoryEntry => {
                let after = match after {
                    Some(CopyKey::Text(id)) => Some(directory_key(id)?),
                    None => None,
                    Some(_) => return Err(wrong_cursor(kind)),
                };
                let table = txn.open_table(tables::DIRECTORY)?;
                page!(table, &str, after.as_deref(), limit, |_key, value| {
                    CopiedRecord::DirectoryEntry(decode("directory entry", value)?)
                })
            }
            RecordKind::Inbound => {
                let after = number(kind, after)?;
                let bodies = txn.open_table(tables::INBOUND_BODIES)?;
                let queue = txn.open_table(tables::PROCESSING_QUEUE)?;
                let table = txn.open_table(tables::INBOUND)?;
                page!(table, u64, after, limit, |id, value| {
                    let mut record: InboundRecord = decode("inbound", value)?;
                    if let Some(body) = bodies.get(id)? {
                        record.body = decode_body(body.value())?;
                    }
                    CopiedRecord::Inbound {
                        record: Box::new(record),
                        queued: queue.get(id)?.is_some(),
                    }
                })
            }
            RecordKind::RequestId => {
                let after = text(kind, after)?;
                let table = txn.open_table(tables::INBOUND_BY_REQUEST)?;
                page!(table, &str, after.as_deref(), limit, |key, inbound_id| {
                    let (endpoint, request_uuid) = scoped_parts(key)?;
                    CopiedRecord::RequestId {
                        endpoint,
                        request_uuid,
                        inbound_id,
                    }
                })
            }
            RecordKind::Alert => {
                let after = number(kind, after)?;
                let history = txn.open_table(tables::ALERT_HISTORY)?;
                let table = txn.open_table(tables::ALERTS)?;
                page!(table, u64, after, limit, |id, value| {
                    let mut alert: crate::store::AlertRecord = decode("alert", value)?;
                    alert.history = whole_history(&history, id)?;
                    CopiedRecord::Alert(Box::new(alert))
                })
            }
            RecordKind::Delivery => {
                let after = number(kind, after)?;
                let table = txn.open_table(tables::DELIVERIES)?;
                page!(table, u64, after, limit, |_id, value| {
                    CopiedRecord::Delivery(Box::new(decode("delivery", value)?))
                })
            }
            RecordKind::DestinationHealth => {
                let after = text(kind, after)?;
                let table = txn.open_table(tables::DESTINATION_HEALTH)?;
                page!(table, &str, after.as_deref(), limit, |key, value| {
                    let (endpoint, destination) = scoped_parts(key)?;
                    let destination = destination
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("health key {key:?}")))?;
                    CopiedRecord::DestinationHealth {
                        endpoint,
                        destination,
                        health: decode("destination health", value)?,
                    }
                })
            }
            RecordKind::BitbucketConnection => {
                let after = text(kind, after)?;
                page!(
                    txn.open_table(tables::BITBUCKET_CONNECTIONS)?,
                    &str,
                    after.as_deref(),
                    limit,
                    |endpoint, sealed| {
                        CopiedRecord::BitbucketConnection {
                            endpoint: endpoint.to_string(),
                            sealed: sealed.to_vec(),
                        }
                    }
                )
            }
            RecordKind::Session => {
                let after = match after {
                    Some(CopyKey::Bytes(digest)) => Some(digest.clone()),
                    None => None,
                    Some(_) => return Err(wrong_cursor(kind)),
                };
                let table = txn.open_table(tables::SESSIONS)?;
                page!(table, &[u8], after.as_deref(), limit, |digest, value| {
                    let digest = <[u8; 32]>::try_from(digest)
                        .map_err(|_| StoreError::Corrupt("a session digest".into()))?;
                    CopiedRecord::Session {
                        digest,
                        session: decode("session", value)?,
                    }
                })
            }
            RecordKind::Plugin => {
                let after = text(kind, after)?;
                let components = txn.open_table(tables::PLUGIN_COMPONENTS)?;
                let table = txn.open_table(tables::PLUGINS)?;
                page!(table, &str, after.as_deref(), limit, |name, value| {
                    let mut plugin: StoredPlugin = decode("plugin", value)?;
                    plugin.wasm = components
                        .get(name)?
                        .map(|wasm| wasm.value().to_vec())
                        .unwrap_or_default();
                    CopiedRecord::Plugin(plugin)
                })
            }
        };
        Ok(records)
    }

    pub(super) fn copy_in(&self, records: Vec<CopiedRecord>) -> Result<(), StoreError> {
        let (txn, ticket) = self.durable_write()?;
        {
            let mut counters = txn.open_table(tables::COUNTERS)?;
            let mut secret_keys = txn.open_table(tables::SECRET_KEYS)?;
            let mut endpoints = txn.open_table(tables::ENDPOINTS)?;
            let mut directory = txn.open_table(tables::DIRECTORY)?;
            let mut inbound = txn.open_table(tables::INBOUND)?;
            let mut bodies = txn.open_table(tables::INBOUND_BODIES)?;
            let mut rejected = txn.open_table(tables::INBOUND_REJECTED)?;
            let mut queue = txn.open_table(tables::PROCESSING_QUEUE)?;
            let mut by_request = txn.open_table(tables::INBOUND_BY_REQUEST)?;
            let mut alerts = txn.open_table(tables::ALERTS)?;
            let mut open_alerts = txn.open_table(tables::OPEN_ALERTS)?;
            let mut acknowledged = txn.open_table(tables::ACKNOWLEDGED_ALERTS)?;
            let mut history = txn.open_table(tables::ALERT_HISTORY)?;
            let mut filters = InboundIndexes::open(&txn)?;
            let mut escalations = txn.open_table(tables::DUE_ESCALATIONS)?;
            let mut deliveries = txn.open_table(tables::DELIVERIES)?;
            let mut due = txn.open_table(tables::DUE_DELIVERIES)?;
            let mut health = txn.open_table(tables::DESTINATION_HEALTH)?;
            let mut connections = txn.open_table(tables::BITBUCKET_CONNECTIONS)?;
            let mut sessions = txn.open_table(tables::SESSIONS)?;
            let mut plugins = txn.open_table(tables::PLUGINS)?;
            let mut components = txn.open_table(tables::PLUGIN_COMPONENTS)?;
            let exists = |what: &str, key: &dyn std::fmt::Display| {
                StoreError::Conflict(format!("{what} {key} is already in the target"))
            };
            for record in records {
                match record {
                    CopiedRecord::Counter { name, next } => {
                        counters.insert(name.as_str(), next)?;
                    }
                    CopiedRecord::SecretKey { name, key } => {
                        secret_keys.insert(name.as_str(), key.as_slice())?;
                    }
                    CopiedRecord::Endpoint(endpoint) => {
                        if endpoints
                            .insert(endpoint.id.as_str(), encode(&endpoint).as_slice())?
                            .is_some()
                        {
                            return Err(exists("endpoint", &endpoint.id));
                        }
                    }
                    CopiedRecord::DirectoryEntry(entry) => {
                        let key = directory_key(&entry.id)?;
                        if directory
                            .insert(key.as_str(), encode(&entry).as_slice())?
                            .is_some()
                        {
                            return Err(exists("directory entry", &entry.id));
                        }
                    }
                    CopiedRecord::Inbound { mut record, queued } => {
                        let id = record.id;
                        let body = std::mem::take(&mut record.body);
                        if inbound.insert(id, encode(&record).as_slice())?.is_some() {
                            return Err(exists("inbound record", &id));
                        }
                        bodies.insert(id, encode_body(&body).as_slice())?;
                        if record.status == InboundStatus::Rejected {
                            rejected.insert(id, ())?;
                        }
                        // Indexed once settled, as processing does.
                        if queued {
                            queue.insert(id, ())?;
                        } else {
                            filters.insert(id, &record)?;
                        }
                    }
                    CopiedRecord::RequestId {
                        endpoint,
                        request_uuid,
                        inbound_id,
                    } => {
                        by_request
                            .insert(scoped_key(&endpoint, &request_uuid).as_str(), inbound_id)?;
                    }
                    CopiedRecord::Alert(alert) => {
                        // Written as new by processing's own writer (which bumps the revision
                        // back to the copied one), so every index of alerts follows.
                        let mut unwritten = *alert;
                        unwritten.revision = unwritten.revision.saturating_sub(1);
                        write_alert(
                            &mut alerts,
                            &mut AlertIndexes {
                                open: &mut open_alerts,
                                acknowledged: &mut acknowledged,
                                history: &mut history,
                            },
                            &mut escalations,
                            &unwritten,
                            true,
                        )?;
                    }
                    CopiedRecord::Delivery(delivery) => {
                        if deliveries.get(delivery.id)?.is_some() {
                            return Err(exists("delivery", &delivery.id));
                        }
                        write_delivery(&mut deliveries, &mut due, &delivery)?;
                    }
                    CopiedRecord::DestinationHealth {
                        endpoint,
                        destination,
                        health: record,
                    } => {
                        let key = scoped_key(&endpoint, &destination.to_string());
                        health.insert(key.as_str(), encode(&record).as_slice())?;
                    }
                    CopiedRecord::BitbucketConnection { endpoint, sealed } => {
                        connections.insert(endpoint.as_str(), sealed.as_slice())?;
                    }
                    CopiedRecord::Session { digest, session } => {
                        sessions.insert(digest.as_slice(), encode(&session).as_slice())?;
                    }
                    CopiedRecord::Plugin(plugin) => {
                        plugins.insert(plugin.name.as_str(), encode(&plugin).as_slice())?;
                        components.insert(plugin.name.as_str(), plugin.wasm.as_slice())?;
                    }
                }
            }
        }
        self.commit_durable(txn, ticket)?;
        // Ids handed out before their records are written come from memory: they follow the
        // copied counters from now on.
        let txn = self.read()?;
        let counters = txn.open_table(tables::COUNTERS)?;
        for (name, allocator) in [
            (ALERT_COUNTER, &self.ids.alert),
            (DELIVERY_COUNTER, &self.ids.delivery),
        ] {
            if let Some(next) = counters.get(name)? {
                allocator.fetch_max(next.value(), Ordering::SeqCst);
            }
        }
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.clear();
        }
        Ok(())
    }

    pub(super) fn record_counts(&self) -> Result<RecordCounts, StoreError> {
        let txn = self.read()?;
        let mut counts = RecordCounts::default();
        for kind in RecordKind::ALL {
            let count = match kind {
                RecordKind::Counter => txn.open_table(tables::COUNTERS)?.len()?,
                RecordKind::SecretKey => txn.open_table(tables::SECRET_KEYS)?.len()?,
                RecordKind::Endpoint => txn.open_table(tables::ENDPOINTS)?.len()?,
                RecordKind::DirectoryEntry => txn.open_table(tables::DIRECTORY)?.len()?,
                RecordKind::Inbound => txn.open_table(tables::INBOUND)?.len()?,
                RecordKind::RequestId => txn.open_table(tables::INBOUND_BY_REQUEST)?.len()?,
                RecordKind::Alert => txn.open_table(tables::ALERTS)?.len()?,
                RecordKind::Delivery => txn.open_table(tables::DELIVERIES)?.len()?,
                RecordKind::DestinationHealth => {
                    txn.open_table(tables::DESTINATION_HEALTH)?.len()?
                }
                RecordKind::BitbucketConnection => {
                    txn.open_table(tables::BITBUCKET_CONNECTIONS)?.len()?
                }
                RecordKind::Session => txn.open_table(tables::SESSIONS)?.len()?,
                RecordKind::Plugin => txn.open_table(tables::PLUGINS)?.len()?,
            };
            counts.0.insert(kind, count);
        }
        Ok(counts)
    }
}
