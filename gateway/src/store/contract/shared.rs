//! Sessions and stored plugins.

use crate::store::{SessionRecord, Store, StoredPlugin};

pub(crate) fn sessions_read_back_until_they_expire_or_end(store: &dyn Store) {
    let now = crate::store::now_ms();
    let session = SessionRecord {
        user: Some("us_1".into()),
        csrf: Some("csrf".into()),
        expires_at: now + 60_000,
    };
    let (live, other) = ([1u8; 32], [2u8; 32]);
    store.save_session(&live, &session).unwrap();
    assert_eq!(store.session(&live, now).unwrap(), Some(session.clone()));
    assert_eq!(store.session(&other, now).unwrap(), None);
    assert_eq!(store.session(&live, now + 60_000).unwrap(), None, "expired");
    store.delete_session(&live).unwrap();
    assert_eq!(store.session(&live, now).unwrap(), None, "ended");
    // Saving forgets the expired ones.
    let expired = SessionRecord {
        expires_at: now.saturating_sub(1),
        ..session.clone()
    };
    store.save_session(&other, &expired).unwrap();
    store.save_session(&live, &session).unwrap();
    assert_eq!(store.session(&other, 0).unwrap(), None);
}

pub(crate) fn stored_plugins_are_listed_without_their_components(store: &dyn Store) {
    let plugin = |name: &str, wasm: &[u8]| StoredPlugin {
        name: name.into(),
        digest: format!("digest-of-{name}-{}", wasm.len()),
        stored_at: 7,
        wasm: wasm.to_vec(),
    };
    assert!(store.stored_plugins().unwrap().is_empty());
    store.save_plugin(&plugin("zeta", b"zz")).unwrap();
    store.save_plugin(&plugin("alpha", b"a")).unwrap();
    let listed = store.stored_plugins().unwrap();
    let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"], "by name");
    assert!(listed.iter().all(|p| p.wasm.is_empty()));
    assert_eq!(store.stored_plugin("zeta").unwrap(), Some(plugin("zeta", b"zz")));
    // Replaced whole.
    store.save_plugin(&plugin("zeta", b"zzz")).unwrap();
    assert_eq!(store.stored_plugin("zeta").unwrap(), Some(plugin("zeta", b"zzz")));
    assert!(store.delete_plugin("zeta").unwrap());
    assert!(!store.delete_plugin("zeta").unwrap());
    assert_eq!(store.stored_plugin("zeta").unwrap(), None);
    assert_eq!(store.stored_plugins().unwrap().len(), 1);
}
