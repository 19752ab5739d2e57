//! What readiness and `/metrics` read: whether the database takes writes, and the alerts
//! firing now.

use super::{OpsError, Services};

/// Whether the database takes writes; after a failed write this commits a probe as large as
/// the largest accepted body, so readiness comes back once the disk does.
pub fn database_ready(services: &Services) -> bool {
    services.store.is_healthy(services.config.max_body_bytes)
}

/// How many alerts are open and how many acknowledged.
pub fn firing_alert_counts(services: &Services) -> Result<(u64, u64), OpsError> {
    Ok(services.store.firing_alert_counts()?)
}

/// Records waiting for processing now.
pub fn queue_depth(services: &Services) -> u64 {
    services.queue.backlog()
}
