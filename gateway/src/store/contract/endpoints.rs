//! Endpoints (`save_endpoint`, `endpoint`, `endpoints`) and `is_healthy`.

use super::{Subject, endpoint};
use crate::store::Store;

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
