//! Endpoints (`save_endpoint`, `endpoint`, `endpoints`, `change_quarantine`) and `is_healthy`.

use super::{Subject, endpoint};
use crate::store::{PluginQuarantine, QuarantineChange, Store};

fn quarantine(plugin: &str, at: u64) -> QuarantineChange {
    QuarantineChange::Quarantine(PluginQuarantine {
        plugin: plugin.into(),
        at,
        reason: "Plugin Failed: plugin timed out after 50 ms".into(),
    })
}

fn quarantined(store: &dyn Store, id: &str) -> Vec<(String, u64)> {
    store
        .endpoint(id)
        .unwrap()
        .expect("the endpoint")
        .quarantined
        .iter()
        .map(|entry| (entry.plugin.clone(), entry.at))
        .collect()
}

/// A new store takes writes.
pub(crate) fn a_fresh_store_is_healthy(store: &dyn Store) {
    assert!(store.is_healthy(4_096));
}

/// Saved endpoints read back as saved; the list is newest first.
pub(crate) fn endpoints_are_listed_newest_first(store: &dyn Store) {
    assert_eq!(store.endpoints().unwrap(), []);
    assert_eq!(store.endpoint("ep_a").unwrap(), None);
    for (id, created_at) in [("ep_a", 1), ("ep_c", 3), ("ep_b", 2)] {
        store.save_endpoint(&endpoint(id, created_at)).unwrap();
    }
    let listed: Vec<String> = store
        .endpoints()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, ["ep_c", "ep_b", "ep_a"]);
    assert_eq!(
        store.endpoint("ep_b").unwrap().as_deref(),
        Some(&endpoint("ep_b", 2))
    );
    assert_eq!(store.endpoint("ep_d").unwrap(), None);
}

/// A change is seen by the next read, even of an endpoint read (and perhaps cached) before.
pub(crate) fn a_saved_change_is_seen_at_once(store: &dyn Store) {
    store.save_endpoint(&endpoint("ep_a", 1)).unwrap();
    assert!(store.endpoint("ep_a").unwrap().unwrap().enabled);
    let mut disabled = endpoint("ep_a", 1);
    disabled.enabled = false;
    disabled.secret = Some("rotated".into());
    store.save_endpoint(&disabled).unwrap();
    assert_eq!(store.endpoint("ep_a").unwrap().as_deref(), Some(&disabled));
    assert_eq!(store.endpoints().unwrap(), [disabled]);
}

/// Endpoints are kept across a restart.
pub(crate) fn endpoints_survive_a_restart(subject: &mut Subject) {
    subject.store().save_endpoint(&endpoint("ep_a", 1)).unwrap();
    subject.restart();
    assert_eq!(
        subject.store().endpoint("ep_a").unwrap().as_deref(),
        Some(&endpoint("ep_a", 1))
    );
}

/// A quarantine is seen by the next read of the endpoint (cached or not) and by the list,
/// once per plugin, and keeps the rest of the endpoint; a release ends it; an endpoint that
/// does not exist changes nothing.
pub(crate) fn a_quarantine_is_read_back_until_released(store: &dyn Store) {
    store.save_endpoint(&endpoint("ep_a", 1)).unwrap();
    store.save_endpoint(&endpoint("ep_b", 2)).unwrap();
    assert!(
        store
            .endpoint("ep_a")
            .unwrap()
            .unwrap()
            .quarantined
            .is_empty()
    );

    assert!(
        store
            .change_quarantine("ep_a", &quarantine("hostile", 10))
            .unwrap()
    );
    assert_eq!(quarantined(store, "ep_a"), [("hostile".to_string(), 10)]);
    // Already quarantined: the first entry stays.
    assert!(
        !store
            .change_quarantine("ep_a", &quarantine("hostile", 11))
            .unwrap()
    );
    assert!(
        store
            .change_quarantine("ep_a", &quarantine("slow", 12))
            .unwrap()
    );
    assert_eq!(
        quarantined(store, "ep_a"),
        [("hostile".to_string(), 10), ("slow".to_string(), 12)]
    );
    // Only that endpoint, and nothing else of it changed.
    assert!(quarantined(store, "ep_b").is_empty());
    let mut expected = endpoint("ep_a", 1);
    expected.quarantined = store.endpoint("ep_a").unwrap().unwrap().quarantined.clone();
    assert_eq!(store.endpoint("ep_a").unwrap().as_deref(), Some(&expected));
    let listed = store.endpoints().unwrap();
    assert_eq!(listed.iter().find(|e| e.id == "ep_a"), Some(&expected));

    let release = QuarantineChange::Release("hostile".into());
    assert!(store.change_quarantine("ep_a", &release).unwrap());
    assert_eq!(quarantined(store, "ep_a"), [("slow".to_string(), 12)]);
    assert!(!store.change_quarantine("ep_a", &release).unwrap());
    assert!(
        !store
            .change_quarantine("ep_none", &quarantine("hostile", 13))
            .unwrap()
    );
    assert_eq!(store.endpoint("ep_none").unwrap(), None);
}

/// Quarantines are kept across a restart.
pub(crate) fn quarantines_survive_a_restart(subject: &mut Subject) {
    subject.store().save_endpoint(&endpoint("ep_a", 1)).unwrap();
    assert!(
        subject
            .store()
            .change_quarantine("ep_a", &quarantine("hostile", 10))
            .unwrap()
    );
    subject.restart();
    assert_eq!(
        quarantined(subject.store(), "ep_a"),
        [("hostile".to_string(), 10)]
    );
}
