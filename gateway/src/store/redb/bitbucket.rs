//! Sealed Bitbucket OAuth connections, one row per endpoint.

use super::{RedbStore, tables};
use crate::store::StoreError;

impl RedbStore {
    pub(super) fn save_bitbucket_connection(
        &self,
        endpoint: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        let txn = self.write()?;
        txn.open_table(tables::BITBUCKET_CONNECTIONS)?
            .insert(endpoint, sealed)?;
        self.commit(txn)
    }

    pub(super) fn bitbucket_connection(
        &self,
        endpoint: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::BITBUCKET_CONNECTIONS)?;
        Ok(table.get(endpoint)?.map(|sealed| sealed.value().to_vec()))
    }

    pub(super) fn delete_bitbucket_connection(&self, endpoint: &str) -> Result<bool, StoreError> {
        let txn = self.write()?;
        let removed = txn
            .open_table(tables::BITBUCKET_CONNECTIONS)?
            .remove(endpoint)?
            .is_some();
        self.commit(txn)?;
        Ok(removed)
    }
}
