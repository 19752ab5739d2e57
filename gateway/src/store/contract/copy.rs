//! Moving an installation: `copy_page` reads every kind of record back as written, `copy_in`
//! writes it as it was, and a store filled by a copy behaves as the original (its queue, its
//! repeat detection, its timers and its counters).

use super::{apply, endpoint, inbound, new_alert, new_delivery, processed};
use crate::store::copy::copy_store;
use crate::store::redb::RedbStore;
use crate::store::{
    AlertWrite, Appended, AttemptOutcome, CopiedRecord, DeliveryAttempt, DeliveryStatus,
    DirectoryKind, Durability, Escalation, IdKind, InboundStatus, ProcessedBatch, RecordKind,
    RecordedAttempt, SessionRecord, Store, StoredPlugin,
};

/// What [`filled`] made, to check a copy against.
pub(crate) struct Filled {
    pub queued: u64,
    pub processed: u64,
    pub alert: u64,
    pub delivery: u64,
}

/// Puts some of every kind of record in `store`, as a gateway writes them.
pub(crate) fn filled(store: &dyn Store) -> Filled {
    store.save_endpoint(&endpoint("ep_a", 1)).unwrap();
    store.save_endpoint(&endpoint("ep_b", 2)).unwrap();
    store
        .create_directory_entry(DirectoryKind::User, &serde_json::json!({"name": "Ada"}))
        .unwrap();
    store
        .create_directory_entry(DirectoryKind::Team, &serde_json::json!({"name": "ops"}))
        .unwrap();
    store.secret_key("ack-links").unwrap();
    let appended = store
        .append_inbound(vec![
            inbound("ep_a", Some("uuid-1"), InboundStatus::Pending, 10),
            inbound("ep_a", Some("uuid-2"), InboundStatus::Pending, 11),
            inbound("ep_b", None, InboundStatus::Rejected, 12),
            inbound("ep_b", None, InboundStatus::Filtered, 13),
        ])
        .unwrap();
    let id = |appended: &Appended| match appended {
        Appended::Accepted(id) | Appended::Logged(id) | Appended::Duplicate(id) => *id,
    };
    let (first, second) = (id(&appended[0]), id(&appended[1]));
    let mut alert = new_alert(store, "ep_a", "pipeline");
    alert.history = vec![first];
    alert.escalation = Some(Escalation {
        policy: "ep_1".into(),
        last: None,
        next_due_at: Some(50_000),
        stopped: None,
        log: Vec::new(),
    });
    let delivery = new_delivery(store, "ep_a", Some(first), 60_000);
    apply(
        store,
        ProcessedBatch {
            records: vec![processed(first, InboundStatus::Processed)],
            expected_open: vec![(("ep_a".into(), "pipeline".into()), None)],
            alerts: vec![AlertWrite::Insert(alert.clone())],
            deliveries: vec![delivery.clone()],
        },
    );
    // A second delivery, failed once: its destination's health is recorded.
    let mut failing = new_delivery(store, "ep_b", None, 1_000);
    failing.destination = 1;
    apply(
        store,
        ProcessedBatch {
            deliveries: vec![failing.clone()],
            ..ProcessedBatch::default()
        },
    );
    failing.status = DeliveryStatus::Failed;
    failing.next_attempt_at = None;
    failing.attempts.push(DeliveryAttempt {
        at: 1_000,
        status_code: Some(503),
        duration_ms: 9,
        error: None,
        response: None,
    });
    store
        .record_attempts(
            &[RecordedAttempt {
                delivery: failing,
                outcome: AttemptOutcome::Failed,
            }],
            0,
            Durability::BeforeAnswer,
        )
        .unwrap();
    store
        .save_bitbucket_connection("ep_a", b"sealed tokens")
        .unwrap();
    store
        .save_session(
            &[7; 32],
            &SessionRecord {
                user: Some("us_1".into()),
                csrf: Some("csrf".into()),
                expires_at: 1 << 50,
            },
        )
        .unwrap();
    store
        .save_plugin(&StoredPlugin {
            name: "custom".into(),
            digest: "ab".into(),
            stored_at: 5,
            wasm: b"\0asm component bytes".to_vec(),
        })
        .unwrap();
    Filled {
        queued: second,
        processed: first,
        alert: alert.id,
        delivery: delivery.id,
    }
}

/// Every record of a kind, read page by page (pages of 2, so paging is exercised), sorted by
/// key (backends page in their own order).
fn everything(store: &dyn Store, kind: RecordKind) -> Vec<CopiedRecord> {
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let page = store.copy_page(kind, after.as_ref(), 2).unwrap();
        assert!(page.iter().all(|record| record.kind() == kind));
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.key());
        let done = page.len() < 2;
        records.extend(page);
        if done {
            break;
        }
    }
    records.sort_by_key(|record| format!("{:?}", record.key()));
    records
}

/// A copy into this store holds every record as the source had it, and the store goes on from
/// there: the queued record is claimed, a repeat is a duplicate, the timers are due, new ids
/// follow the copied ones.
pub(crate) fn a_copy_holds_every_record_and_goes_on_from_it(store: &dyn Store) {
    let dir = tempfile::tempdir().unwrap();
    let source = RedbStore::open(&dir.path().join("source.redb")).unwrap();
    let made = filled(&source);
    let counts = copy_store(&source, store, |_, _| {}).unwrap();
    for kind in RecordKind::ALL {
        let copied = everything(store, kind);
        assert_eq!(copied, everything(&source, kind), "{}", kind.label());
        assert!(!copied.is_empty(), "the fixture has {}", kind.label());
        assert_eq!(counts.of(kind), copied.len() as u64, "{}", kind.label());
    }

    let claimed = store.claim_queued(10).unwrap();
    assert_eq!(
        claimed.iter().map(|record| record.id).collect::<Vec<_>>(),
        [made.queued]
    );
    assert_eq!(
        claimed[0].body,
        inbound("", None, InboundStatus::Pending, 11).body
    );
    let repeat = store
        .append_inbound(vec![inbound(
            "ep_a",
            Some("uuid-1"),
            InboundStatus::Pending,
            20,
        )])
        .unwrap();
    assert_eq!(repeat, [Appended::Duplicate(made.processed)]);
    assert_eq!(
        store
            .open_alert("ep_a", "pipeline")
            .unwrap()
            .map(|alert| alert.id),
        Some(made.alert)
    );
    // Its history too, wherever a backend keeps it.
    assert_eq!(
        store.alert(made.alert).unwrap().unwrap().history,
        [made.processed]
    );
    let due = store.due_escalations(1 << 50, 10).unwrap();
    assert_eq!(
        due.iter().map(|alert| alert.id).collect::<Vec<_>>(),
        [made.alert]
    );
    let due = store.due_deliveries(1 << 50, 10).unwrap();
    assert_eq!(
        due.iter().map(|delivery| delivery.id).collect::<Vec<_>>(),
        [made.delivery]
    );
    assert_eq!(store.disabled_destination_count().unwrap(), 0);
    assert_eq!(
        store
            .destination_health("ep_b", 1)
            .unwrap()
            .consecutive_failures,
        1
    );
    assert!(store.reserve_ids(IdKind::Alert, 1).unwrap() > made.alert);
    assert!(store.reserve_ids(IdKind::Delivery, 1).unwrap() > made.delivery + 1);
    let user = store
        .create_directory_entry(DirectoryKind::User, &serde_json::json!({"name": "Bo"}))
        .unwrap();
    assert_eq!(user.id, "us_2");
    assert_eq!(
        store.secret_key("ack-links").unwrap(),
        source.secret_key("ack-links").unwrap()
    );
    assert_eq!(
        store.stored_plugin("custom").unwrap().unwrap().wasm,
        b"\0asm component bytes"
    );
    assert!(store.session(&[7; 32], 100).unwrap().is_some());
}
