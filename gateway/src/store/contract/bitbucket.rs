//! Sealed Bitbucket connections: kept per endpoint, replaced, deleted, kept across a restart.

use super::Subject;
use crate::store::Store;

pub(crate) fn connections_are_kept_per_endpoint_and_deleted(store: &dyn Store) {
    assert_eq!(store.bitbucket_connection("ep_1").unwrap(), None);
    store
        .save_bitbucket_connection("ep_1", b"\x01sealed-one")
        .unwrap();
    store
        .save_bitbucket_connection("ep_2", b"\x01sealed-two")
        .unwrap();
    assert_eq!(
        store.bitbucket_connection("ep_1").unwrap().as_deref(),
        Some(&b"\x01sealed-one"[..])
    );
    // A refresh replaces the blob.
    store
        .save_bitbucket_connection("ep_1", b"\x01sealed-new\x00")
        .unwrap();
    assert_eq!(
        store.bitbucket_connection("ep_1").unwrap().as_deref(),
        Some(&b"\x01sealed-new\x00"[..])
    );
    assert!(store.delete_bitbucket_connection("ep_1").unwrap());
    assert!(!store.delete_bitbucket_connection("ep_1").unwrap());
    assert_eq!(store.bitbucket_connection("ep_1").unwrap(), None);
    assert_eq!(
        store.bitbucket_connection("ep_2").unwrap().as_deref(),
        Some(&b"\x01sealed-two"[..])
    );
}

pub(crate) fn connections_survive_a_restart(subject: &mut Subject) {
    subject
        .store()
        .save_bitbucket_connection("ep_9", b"\x01kept")
        .unwrap();
    subject.restart();
    assert_eq!(
        subject
            .store()
            .bitbucket_connection("ep_9")
            .unwrap()
            .as_deref(),
        Some(&b"\x01kept"[..])
    );
}
