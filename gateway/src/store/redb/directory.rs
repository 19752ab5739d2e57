//! The on-call directory: one table keyed `kind/id`, ids from a counter per kind; and the
//! gateway's named secret keys.

use super::{RedbStore, decode, encode, tables, take_sequence};
use crate::store::{DirectoryEntry, DirectoryKind, StoreError, now_ms};
use redb::ReadableTable;

/// The table key of an entry.
fn key(kind: DirectoryKind, id: &str) -> String {
    format!("{}/{id}", kind.prefix())
}

/// The counter of a kind's ids.
fn counter(kind: DirectoryKind) -> String {
    format!("directory.{}", kind.prefix())
}

fn kind_of(id: &str) -> Result<DirectoryKind, StoreError> {
    DirectoryKind::of_id(id)
        .ok_or_else(|| StoreError::Conflict(format!("{id} is not a directory id")))
}

impl RedbStore {
    pub(super) fn secret_key(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        {
            let txn = self.read()?;
            if let Some(key) = txn.open_table(tables::SECRET_KEYS)?.get(name)? {
                return Ok(key.value().to_vec());
            }
        }
        let txn = self.write()?;
        let key = {
            let mut table = txn.open_table(tables::SECRET_KEYS)?;
            // Another caller may have made it between the read and this write.
            let existing = table.get(name)?.map(|key| key.value().to_vec());
            match existing {
                Some(key) => key,
                None => {
                    let key: [u8; 32] = rand::random();
                    table.insert(name, key.as_slice())?;
                    key.to_vec()
                }
            }
        };
        self.commit(txn)?;
        Ok(key)
    }

    pub(super) fn create_directory_entry(
        &self,
        kind: DirectoryKind,
        body: &serde_json::Value,
    ) -> Result<DirectoryEntry, StoreError> {
        let txn = self.write()?;
        let entry = {
            let mut counters = txn.open_table(tables::COUNTERS)?;
            let number = take_sequence(&mut counters, &counter(kind))?;
            let now = now_ms();
            let entry = DirectoryEntry {
                kind,
                id: format!("{}_{number}", kind.prefix()),
                body: body.clone(),
                revision: 1,
                created_at: now,
                updated_at: now,
            };
            txn.open_table(tables::DIRECTORY)?
                .insert(key(kind, &entry.id).as_str(), encode(&entry).as_slice())?;
            entry
        };
        self.commit(txn)?;
        Ok(entry)
    }

    pub(super) fn directory_entry(&self, id: &str) -> Result<Option<DirectoryEntry>, StoreError> {
        let Some(kind) = DirectoryKind::of_id(id) else {
            return Ok(None);
        };
        let txn = self.read()?;
        let table = txn.open_table(tables::DIRECTORY)?;
        match table.get(key(kind, id).as_str())? {
            Some(bytes) => decode("directory entry", bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn directory(&self, kind: DirectoryKind) -> Result<Vec<DirectoryEntry>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::DIRECTORY)?;
        // Every key of the kind: `us/` up to (not including) `us0`, as '0' follows '/'.
        let start = format!("{}/", kind.prefix());
        let end = format!("{}0", kind.prefix());
        let mut entries = Vec::new();
        for item in table.range(start.as_str()..end.as_str())? {
            let (_, bytes) = item?;
            entries.push(decode::<DirectoryEntry>("directory entry", bytes.value())?);
        }
        entries.sort_by_key(|entry| (entry.created_at, id_number(&entry.id)));
        Ok(entries)
    }

    pub(super) fn update_directory_entry(
        &self,
        entry: &DirectoryEntry,
    ) -> Result<DirectoryEntry, StoreError> {
        let kind = kind_of(&entry.id)?;
        let txn = self.write()?;
        let updated = {
            let mut table = txn.open_table(tables::DIRECTORY)?;
            let table_key = key(kind, &entry.id);
            let stored: DirectoryEntry = match table.get(table_key.as_str())? {
                Some(bytes) => decode("directory entry", bytes.value())?,
                None => return Err(StoreError::Conflict(format!("{} is gone", entry.id))),
            };
            if stored.revision != entry.revision {
                return Err(StoreError::Conflict(format!(
                    "{} changed since it was read (revision {}, now {})",
                    entry.id, entry.revision, stored.revision
                )));
            }
            let updated = DirectoryEntry {
                kind,
                id: entry.id.clone(),
                body: entry.body.clone(),
                revision: stored.revision + 1,
                created_at: stored.created_at,
                updated_at: now_ms(),
            };
            table.insert(table_key.as_str(), encode(&updated).as_slice())?;
            updated
        };
        self.commit(txn)?;
        Ok(updated)
    }

    pub(super) fn delete_directory_entry(&self, id: &str) -> Result<bool, StoreError> {
        let Some(kind) = DirectoryKind::of_id(id) else {
            return Ok(false);
        };
        let txn = self.write()?;
        let removed = txn
            .open_table(tables::DIRECTORY)?
            .remove(key(kind, id).as_str())?
            .is_some();
        self.commit(txn)?;
        Ok(removed)
    }
}

fn id_number(id: &str) -> u64 {
    id.rsplit('_')
        .next()
        .and_then(|number| number.parse().ok())
        .unwrap_or(0)
}
