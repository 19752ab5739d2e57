//! Sessions and the plugins uploaded through the API, seen by every gateway on the database
//! (a stored plugin's change is announced on the plugin channel).

use super::cluster::{PLUGIN_CHANNEL, notify};
use super::{PostgresStore, decode, encode, int, uint};
use crate::store::{SessionRecord, StoreError, StoredPlugin};

impl PostgresStore {
    pub(super) fn save_session(
        &self,
        digest: &[u8; 32],
        session: &SessionRecord,
    ) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let (digest, session) = (digest.to_vec(), session.clone());
        let now = int(crate::store::now_ms());
        self.run(async move {
            let client = pool.get().await?;
            client
                .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
                .await?;
            client
                .execute(
                    "INSERT INTO sessions (digest, expires_at, record) VALUES ($1, $2, $3)
                     ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at,
                     record = EXCLUDED.record",
                    &[&digest, &int(session.expires_at), &encode(&session)],
                )
                .await?;
            Ok(())
        })
    }

    pub(super) fn session(
        &self,
        digest: &[u8; 32],
        now_ms: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let pool = self.pool.clone();
        let digest = digest.to_vec();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    "SELECT record FROM sessions WHERE digest = $1 AND expires_at > $2",
                    &[&digest, &int(now_ms)],
                )
                .await?;
            row.map(|row| decode("session", &row, 0)).transpose()
        })
    }

    pub(super) fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let digest = digest.to_vec();
        self.run(async move {
            pool.get()
                .await?
                .execute("DELETE FROM sessions WHERE digest = $1", &[&digest])
                .await?;
            Ok(())
        })
    }

    pub(super) fn save_plugin(&self, plugin: &StoredPlugin) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let plugin = plugin.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            txn.execute(
                "INSERT INTO plugins (name, digest, stored_at, wasm) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET digest = EXCLUDED.digest,
                 stored_at = EXCLUDED.stored_at, wasm = EXCLUDED.wasm",
                &[
                    &plugin.name,
                    &plugin.digest,
                    &int(plugin.stored_at),
                    &plugin.wasm,
                ],
            )
            .await?;
            notify(&*txn, PLUGIN_CHANNEL, &plugin.name).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    pub(super) fn stored_plugins(&self) -> Result<Vec<StoredPlugin>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = pool
                .get()
                .await?
                .query(
                    "SELECT name, digest, stored_at FROM plugins ORDER BY name",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(StoredPlugin {
                        name: row.try_get(0)?,
                        digest: row.try_get(1)?,
                        stored_at: uint(row.try_get(2)?),
                        wasm: Vec::new(),
                    })
                })
                .collect()
        })
    }

    pub(super) fn stored_plugin(&self, name: &str) -> Result<Option<StoredPlugin>, StoreError> {
        let pool = self.pool.clone();
        let name = name.to_string();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_opt(
                    "SELECT name, digest, stored_at, wasm FROM plugins WHERE name = $1",
                    &[&name],
                )
                .await?;
            row.map(|row| {
                Ok(StoredPlugin {
                    name: row.try_get(0)?,
                    digest: row.try_get(1)?,
                    stored_at: uint(row.try_get(2)?),
                    wasm: row.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    pub(super) fn delete_plugin(&self, name: &str) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let name = name.to_string();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            let removed = txn
                .execute("DELETE FROM plugins WHERE name = $1", &[&name])
                .await?;
            notify(&*txn, PLUGIN_CHANNEL, &name).await?;
            txn.commit().await?;
            Ok(removed > 0)
        })
    }
}
