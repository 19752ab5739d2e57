//! `hookgate backup`: a consistent copy of a running gateway's redb database, made from one
//! read transaction while the gateway keeps working, and handed to the caller as a file.

use super::{OpsError, Services};

/// A backup made: the open file (already unlinked, so nothing is left behind whatever the
/// caller does with it), its size and its rows.
pub struct Backup {
    /// The copy, positioned at its start.
    pub file: std::fs::File,
    /// Its size in bytes.
    pub bytes: u64,
    /// The rows it holds.
    pub rows: u64,
}

/// Makes a backup in the data dir. Blocks (copies the whole database).
pub fn make(services: &Services) -> Result<Backup, OpsError> {
    if services.config.database_url.is_some() {
        return Err(OpsError::Conflict(
            "the records are in PostgreSQL: back them up with pg_dump (hookgate backup copies \
             a redb database)"
                .into(),
        ));
    }
    let path = services
        .config
        .data_dir
        .join(format!(".backup-{}.redb", crate::ids::random_hex(8)));
    let made = services.store.backup_to(&path);
    let opened = made.and_then(|rows| {
        let file = std::fs::File::open(&path)
            .map_err(|error| crate::store::StoreError::Database(format!("the backup: {error}")))?;
        Ok((rows, file))
    });
    // Unlinked either way: the open file stays readable until it is dropped.
    let _ = std::fs::remove_file(&path);
    let (rows, file) = opened?;
    let bytes = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    tracing::info!(rows, bytes, "backup made");
    Ok(Backup { file, bytes, rows })
}
