//! Sessions and the plugins uploaded through the API (one gateway uses a redb file, but
//! sessions then survive a restart, and an uploaded plugin is kept like any record).

use super::{RedbStore, decode, encode, tables};
use crate::store::{SessionRecord, StoreError, StoredPlugin};
use redb::ReadableTable;

impl RedbStore {
    pub(super) fn save_session(
        &self,
        digest: &[u8; 32],
        session: &SessionRecord,
    ) -> Result<(), StoreError> {
        let now = crate::store::now_ms();
        let txn = self.write()?;
        {
            let mut table = txn.open_table(tables::SESSIONS)?;
            table.retain(|_, value| {
                decode::<SessionRecord>("session", value)
                    .is_ok_and(|session| session.expires_at > now)
            })?;
            table.insert(digest.as_slice(), encode(session).as_slice())?;
        }
        self.commit(txn)
    }

    pub(super) fn session(
        &self,
        digest: &[u8; 32],
        now_ms: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::SESSIONS)?;
        let Some(value) = table.get(digest.as_slice())? else {
            return Ok(None);
        };
        let session: SessionRecord = decode("session", value.value())?;
        Ok((session.expires_at > now_ms).then_some(session))
    }

    pub(super) fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        let txn = self.write()?;
        txn.open_table(tables::SESSIONS)?
            .remove(digest.as_slice())?;
        self.commit(txn)
    }

    pub(super) fn save_plugin(&self, plugin: &StoredPlugin) -> Result<(), StoreError> {
        let txn = self.write()?;
        {
            txn.open_table(tables::PLUGINS)?
                .insert(plugin.name.as_str(), encode(plugin).as_slice())?;
            txn.open_table(tables::PLUGIN_COMPONENTS)?
                .insert(plugin.name.as_str(), plugin.wasm.as_slice())?;
        }
        self.commit(txn)
    }

    pub(super) fn stored_plugins(&self) -> Result<Vec<StoredPlugin>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::PLUGINS)?;
        let mut plugins = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            plugins.push(decode("plugin", value.value())?);
        }
        Ok(plugins)
    }

    pub(super) fn stored_plugin(&self, name: &str) -> Result<Option<StoredPlugin>, StoreError> {
        let txn = self.read()?;
        let Some(value) = txn.open_table(tables::PLUGINS)?.get(name)? else {
            return Ok(None);
        };
        let mut plugin: StoredPlugin = decode("plugin", value.value())?;
        if let Some(wasm) = txn.open_table(tables::PLUGIN_COMPONENTS)?.get(name)? {
            plugin.wasm = wasm.value().to_vec();
        }
        Ok(Some(plugin))
    }

    pub(super) fn delete_plugin(&self, name: &str) -> Result<bool, StoreError> {
        let txn = self.write()?;
        let removed = {
            let removed = txn.open_table(tables::PLUGINS)?.remove(name)?.is_some();
            txn.open_table(tables::PLUGIN_COMPONENTS)?.remove(name)?;
            removed
        };
        self.commit(txn)?;
        Ok(removed)
    }
}
