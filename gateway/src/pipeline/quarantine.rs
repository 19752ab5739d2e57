//! Quarantine: a plugin that hits its time or memory limit on `[plugins] quarantine_after`
//! records in a row for an endpoint is quarantined there, so one looping plugin cannot take
//! the processing cores from every other endpoint. The quarantine is kept in the endpoint's
//! record (it survives a restart and every gateway on a shared database sees it); the count
//! of hits in a row is this gateway's, in memory, and starts again after a restart.

use crate::metrics::Metrics;
use crate::runtime::RuntimeError;
use crate::store::{EndpointRecord, PluginQuarantine, QuarantineChange, SharedStore, now_ms};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Limit hits in a row per endpoint and plugin.
#[derive(Default)]
struct Streak {
    hits: u32,
    /// Quarantined by this batch: the endpoint records the batch holds predate it.
    quarantined: bool,
}

/// The quarantine watch of the processing worker.
pub struct Quarantines {
    after: u32,
    store: SharedStore,
    metrics: Arc<Metrics>,
    /// By (endpoint id, plugin name); empty while every plugin behaves, so a healthy call
    /// costs one uncontended lock.
    streaks: Mutex<HashMap<(String, String), Streak>>,
}

impl Quarantines {
    /// A watch quarantining after `after` limit hits in a row (never when 0).
    pub fn new(after: u32, store: SharedStore, metrics: Arc<Metrics>) -> Self {
        Self {
            after,
            store,
            metrics,
            streaks: Mutex::new(HashMap::new()),
        }
    }

    /// Called before each batch: the quarantines of the last one are in the endpoint records
    /// read from now on.
    pub(super) fn start_batch(&self) {
        self.lock().retain(|_, streak| !streak.quarantined);
    }

    /// Whether `plugin` must not run for `endpoint` (counted in `/metrics` when so).
    pub(super) fn is_quarantined(&self, endpoint: &EndpointRecord, plugin: &str) -> bool {
        let quarantined = endpoint.is_quarantined(plugin) || {
            let streaks = self.lock();
            !streaks.is_empty()
                && streaks
                    .get(&(endpoint.id.clone(), plugin.to_string()))
                    .is_some_and(|streak| streak.quarantined)
        };
        if quarantined {
            self.metrics.quarantined_record();
        }
        quarantined
    }

    /// Counts a call's failure (`None`: it succeeded); the limit hit that completes the
    /// streak quarantines the plugin.
    pub(super) fn observe(&self, endpoint: &str, plugin: &str, error: Option<&RuntimeError>) {
        if self.after == 0 {
            return;
        }
        let hit = matches!(
            error,
            Some(RuntimeError::Timeout { .. } | RuntimeError::MemoryLimit { .. })
        );
        let mut streaks = self.lock();
        if !hit && streaks.is_empty() {
            return;
        }
        let key = (endpoint.to_string(), plugin.to_string());
        if !hit {
            streaks.remove(&key);
            return;
        }
        let streak = streaks.entry(key).or_default();
        if streak.quarantined {
            return;
        }
        streak.hits += 1;
        if streak.hits < self.after {
            return;
        }
        let reason = error.map_or_else(String::new, |error| format!("Plugin Failed: {error}"));
        let change = QuarantineChange::Quarantine(PluginQuarantine {
            plugin: plugin.to_string(),
            at: now_ms(),
            reason,
        });
        // Rare, so written under the lock: no other call of this pair can slip past it.
        match self.store.change_quarantine(endpoint, &change) {
            Ok(changed) => {
                streak.quarantined = true;
                if changed {
                    self.metrics.plugin_quarantined();
                    tracing::warn!(
                        endpoint,
                        plugin,
                        hits = streak.hits,
                        "plugin quarantined for the endpoint after hitting its limits on record after record"
                    );
                }
            }
            // The next hit tries again.
            Err(error) => tracing::error!(%error, endpoint, plugin, "storing a quarantine"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Streak>> {
        self.streaks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::redb::RedbStore;

    fn endpoint(id: &str) -> EndpointRecord {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "provider": "bitbucket", "selection": "all",
            "events": [], "secret": null, "enabled": true, "alerts": null, "format": null,
            "destinations": [], "created_at": 0,
        }))
        .expect("an endpoint")
    }

    fn watch(after: u32) -> (Quarantines, SharedStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = Arc::new(RedbStore::open(&dir.path().join("q.redb")).unwrap());
        store.save_endpoint(&endpoint("ep_a")).unwrap();
        store.save_endpoint(&endpoint("ep_b")).unwrap();
        let quarantines = Quarantines::new(after, store.clone(), Arc::new(Metrics::default()));
        (quarantines, store, dir)
    }

    fn stored(store: &SharedStore, id: &str) -> Vec<String> {
        let endpoint = store.endpoint(id).unwrap().unwrap();
        endpoint
            .quarantined
            .iter()
            .map(|q| q.plugin.clone())
            .collect()
    }

    const TIMEOUT: RuntimeError = RuntimeError::Timeout { limit_ms: 50 };

    #[test]
    fn limit_hits_in_a_row_quarantine_and_anything_else_starts_the_count_again() {
        let (quarantines, store, _dir) = watch(3);
        let memory = RuntimeError::MemoryLimit { limit_mib: 32 };
        let trap = RuntimeError::Trap("unreachable".into());
        // Two hits, then a success: the count starts again. Two more, then a trap (not a
        // limit): again.
        for error in [
            Some(&TIMEOUT),
            Some(&memory),
            None,
            Some(&TIMEOUT),
            Some(&TIMEOUT),
        ] {
            quarantines.observe("ep_a", "slow", error);
        }
        quarantines.observe("ep_a", "slow", Some(&trap));
        quarantines.observe("ep_a", "slow", Some(&TIMEOUT));
        quarantines.observe("ep_a", "slow", Some(&TIMEOUT));
        assert!(stored(&store, "ep_a").is_empty());
        // Hits of the same plugin on another endpoint, or of another plugin, count apart.
        quarantines.observe("ep_b", "slow", Some(&TIMEOUT));
        quarantines.observe("ep_a", "other", Some(&TIMEOUT));
        assert!(stored(&store, "ep_b").is_empty());

        // The third in a row quarantines, in the store and at once for this batch.
        quarantines.observe("ep_a", "slow", Some(&memory));
        assert_eq!(stored(&store, "ep_a"), ["slow"]);
        let held = endpoint("ep_a");
        assert!(
            quarantines.is_quarantined(&held, "slow"),
            "within the batch"
        );
        assert!(!quarantines.is_quarantined(&held, "other"));
        assert!(!quarantines.is_quarantined(&endpoint("ep_b"), "slow"));
        let entry = &store.endpoint("ep_a").unwrap().unwrap().quarantined[0];
        assert_eq!(
            entry.reason,
            "Plugin Failed: memory limit: the call tried to use more than 32 MiB"
        );

        // From the next batch on, the endpoint record says it; released, the count is fresh.
        quarantines.start_batch();
        assert!(!quarantines.is_quarantined(&held, "slow"));
        assert!(quarantines.is_quarantined(&store.endpoint("ep_a").unwrap().unwrap(), "slow"));
        store
            .change_quarantine("ep_a", &QuarantineChange::Release("slow".into()))
            .unwrap();
        quarantines.observe("ep_a", "slow", Some(&TIMEOUT));
        quarantines.observe("ep_a", "slow", Some(&TIMEOUT));
        assert!(stored(&store, "ep_a").is_empty());
    }

    #[test]
    fn zero_never_quarantines() {
        let (quarantines, store, _dir) = watch(0);
        for _ in 0..100 {
            quarantines.observe("ep_a", "slow", Some(&TIMEOUT));
        }
        assert!(stored(&store, "ep_a").is_empty());
        assert!(!quarantines.is_quarantined(&endpoint("ep_a"), "slow"));
    }
}
