//! The on-call directory: one table for every kind, ids from a counter per kind; and the
//! gateway's named secret keys.

use super::{PostgresStore, decode, encode, int, take_ids};
use crate::store::{DirectoryEntry, DirectoryKind, StoreError, now_ms};

/// The counter of a kind's ids (the same names as redb's).
fn counter(kind: DirectoryKind) -> String {
    format!("directory.{}", kind.prefix())
}

impl PostgresStore {
    pub(super) fn secret_key(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let pool = self.pool.clone();
        let name = name.to_string();
        self.run(async move {
            let client = pool.get().await?;
            let fresh: [u8; 32] = rand::random();
            // The first caller's key wins; everyone reads that one.
            client
                .execute(
                    "INSERT INTO secret_keys (name, key) VALUES ($1, $2)
                     ON CONFLICT (name) DO NOTHING",
                    &[&name, &fresh.as_slice()],
                )
                .await?;
            let row = client
                .query_one("SELECT key FROM secret_keys WHERE name = $1", &[&name])
                .await?;
            Ok(row.try_get(0)?)
        })
    }

    pub(super) fn create_directory_entry(
        &self,
        kind: DirectoryKind,
        body: &serde_json::Value,
    ) -> Result<DirectoryEntry, StoreError> {
        let pool = self.pool.clone();
        let body = body.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let number = take_ids(&*txn, &counter(kind), 1).await?;
            let now = now_ms();
            let entry = DirectoryEntry {
                kind,
                id: format!("{}_{number}", kind.prefix()),
                body,
                revision: 1,
                created_at: now,
                updated_at: now,
            };
            txn.execute(
                "INSERT INTO directory (id, kind, number, created_at, record)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &entry.id,
                    &kind.prefix(),
                    &int(number),
                    &int(now),
                    &encode(&entry),
                ],
            )
            .await?;
            txn.commit().await?;
            Ok(entry)
        })
    }

    pub(super) fn directory_entry(&self, id: &str) -> Result<Option<DirectoryEntry>, StoreError> {
        if DirectoryKind::of_id(id).is_none() {
            return Ok(None);
        }
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt("SELECT record FROM directory WHERE id = $1", &[&id])
                .await?;
            row.map(|row| decode("directory entry", &row, 0))
                .transpose()
        })
    }

    pub(super) fn directory(&self, kind: DirectoryKind) -> Result<Vec<DirectoryEntry>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT record FROM directory WHERE kind = $1 ORDER BY created_at, number",
                    &[&kind.prefix()],
                )
                .await?;
            rows.iter()
                .map(|row| decode("directory entry", row, 0))
                .collect()
        })
    }

    pub(super) fn update_directory_entry(
        &self,
        entry: &DirectoryEntry,
    ) -> Result<DirectoryEntry, StoreError> {
        let kind = DirectoryKind::of_id(&entry.id)
            .ok_or_else(|| StoreError::Conflict(format!("{} is not a directory id", entry.id)))?;
        let pool = self.pool.clone();
        let entry = entry.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let row = txn
                .query_opt(
                    "SELECT record FROM directory WHERE id = $1 FOR UPDATE",
                    &[&entry.id],
                )
                .await?;
            let Some(row) = row else {
                return Err(StoreError::Conflict(format!("{} is gone", entry.id)).into());
            };
            let stored: DirectoryEntry = decode("directory entry", &row, 0)?;
            if stored.revision != entry.revision {
                return Err(StoreError::Conflict(format!(
                    "{} changed since it was read (revision {}, now {})",
                    entry.id, entry.revision, stored.revision
                ))
                .into());
            }
            let updated = DirectoryEntry {
                kind,
                id: entry.id.clone(),
                body: entry.body,
                revision: stored.revision + 1,
                created_at: stored.created_at,
                updated_at: now_ms(),
            };
            txn.execute(
                "UPDATE directory SET record = $2 WHERE id = $1",
                &[&updated.id, &encode(&updated)],
            )
            .await?;
            txn.commit().await?;
            Ok(updated)
        })
    }

    pub(super) fn delete_directory_entry(&self, id: &str) -> Result<bool, StoreError> {
        if DirectoryKind::of_id(id).is_none() {
            return Ok(false);
        }
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let removed = pool
                .get()
                .await?
                .execute("DELETE FROM directory WHERE id = $1", &[&id])
                .await?;
            Ok(removed > 0)
        })
    }
}
