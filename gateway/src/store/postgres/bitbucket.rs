//! Sealed Bitbucket OAuth connections, one row per endpoint.

use super::PostgresStore;
use crate::store::StoreError;

impl PostgresStore {
    pub(super) fn save_bitbucket_connection(
        &self,
        endpoint: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let endpoint = endpoint.to_string();
        let sealed = sealed.to_vec();
        self.run(async move {
            let client = pool.get().await?;
            client
                .execute(
                    "INSERT INTO bitbucket_connections (endpoint, sealed) VALUES ($1, $2)
                     ON CONFLICT (endpoint) DO UPDATE SET sealed = EXCLUDED.sealed",
                    &[&endpoint, &sealed],
                )
                .await?;
            Ok(())
        })
    }

    pub(super) fn bitbucket_connection(
        &self,
        endpoint: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let pool = self.pool.clone();
        let endpoint = endpoint.to_string();
        self.run(async move {
            let client = pool.get().await?;
            let row = client
                .query_opt(
                    "SELECT sealed FROM bitbucket_connections WHERE endpoint = $1",
                    &[&endpoint],
                )
                .await?;
            Ok(match row {
                Some(row) => Some(row.try_get(0)?),
                None => None,
            })
        })
    }

    pub(super) fn delete_bitbucket_connection(&self, endpoint: &str) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let endpoint = endpoint.to_string();
        self.run(async move {
            let client = pool.get().await?;
            let removed = client
                .execute(
                    "DELETE FROM bitbucket_connections WHERE endpoint = $1",
                    &[&endpoint],
                )
                .await?;
            Ok(removed > 0)
        })
    }
}
