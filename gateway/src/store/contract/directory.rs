//! The on-call directory (`create_directory_entry`, `directory_entry`, `directory`,
//! `update_directory_entry`, `delete_directory_entry`).

use super::Subject;
use crate::store::{DirectoryKind, Store, StoreError};
use serde_json::json;

/// Ids are per kind, in order, and carry the kind; entries read back as written.
pub(crate) fn ids_are_per_kind_and_entries_read_back(store: &dyn Store) {
    assert_eq!(store.directory(DirectoryKind::User).unwrap(), []);
    let ada = store
        .create_directory_entry(DirectoryKind::User, &json!({"name": "Ada"}))
        .unwrap();
    let team = store
        .create_directory_entry(DirectoryKind::Team, &json!({"name": "CI"}))
        .unwrap();
    let grace = store
        .create_directory_entry(DirectoryKind::User, &json!({"name": "Grace"}))
        .unwrap();
    assert_eq!(
        (ada.id.as_str(), team.id.as_str(), grace.id.as_str()),
        ("us_1", "tm_1", "us_2")
    );
    assert_eq!(ada.revision, 1);
    assert_eq!(store.directory_entry("us_1").unwrap(), Some(ada.clone()));
    assert_eq!(store.directory_entry("tm_1").unwrap(), Some(team));
    assert_eq!(store.directory_entry("us_9").unwrap(), None);
    assert_eq!(store.directory_entry("nonsense").unwrap(), None);
    let users: Vec<String> = store
        .directory(DirectoryKind::User)
        .unwrap()
        .into_iter()
        .map(|entry| entry.id)
        .collect();
    assert_eq!(users, ["us_1", "us_2"]);
    assert_eq!(store.directory(DirectoryKind::Schedule).unwrap(), []);
}

/// An update names the revision it read; a stale one is refused and changes nothing.
pub(crate) fn updates_are_conditional_on_the_revision(store: &dyn Store) {
    let entry = store
        .create_directory_entry(DirectoryKind::Schedule, &json!({"name": "primary"}))
        .unwrap();
    let mut changed = entry.clone();
    changed.body = json!({"name": "primary, renamed"});
    let updated = store.update_directory_entry(&changed).unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.created_at, entry.created_at);
    // The first read again: stale.
    let mut stale = entry.clone();
    stale.body = json!({"name": "lost"});
    assert!(matches!(
        store.update_directory_entry(&stale),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.directory_entry(&entry.id).unwrap().unwrap().body,
        json!({"name": "primary, renamed"})
    );
}

/// A deleted entry is gone, an update of it is a conflict, and its id is not handed out again.
pub(crate) fn a_deleted_id_is_never_reused(store: &dyn Store) {
    let first = store
        .create_directory_entry(DirectoryKind::EscalationPolicy, &json!({}))
        .unwrap();
    assert!(store.delete_directory_entry(&first.id).unwrap());
    assert!(!store.delete_directory_entry(&first.id).unwrap());
    assert_eq!(store.directory_entry(&first.id).unwrap(), None);
    assert!(matches!(
        store.update_directory_entry(&first),
        Err(StoreError::Conflict(_))
    ));
    let second = store
        .create_directory_entry(DirectoryKind::EscalationPolicy, &json!({}))
        .unwrap();
    assert_eq!((first.id.as_str(), second.id.as_str()), ("ep_1", "ep_2"));
}

/// Entries and their counters survive a restart.
pub(crate) fn the_directory_survives_a_restart(subject: &mut Subject) {
    let user = subject
        .store()
        .create_directory_entry(DirectoryKind::User, &json!({"name": "Ada"}))
        .unwrap();
    subject.restart();
    assert_eq!(subject.store().directory_entry("us_1").unwrap(), Some(user));
    let next = subject
        .store()
        .create_directory_entry(DirectoryKind::User, &json!({"name": "Grace"}))
        .unwrap();
    assert_eq!(next.id, "us_2");
}

/// A named key is made once and is the same ever after, across a restart; names differ.
pub(crate) fn secret_keys_are_made_once(subject: &mut Subject) {
    let key = subject.store().secret_key("ack").unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(subject.store().secret_key("ack").unwrap(), key);
    assert_ne!(subject.store().secret_key("other").unwrap(), key);
    subject.restart();
    assert_eq!(subject.store().secret_key("ack").unwrap(), key);
}
