//! Processing: `reserve_ids` and `apply_processing`, applied whole or refused whole, alone or
//! in a group commit (`commit_group`).

use super::{
    Subject, append_pending, apply, inbound, new_alert, new_delivery, open_alert, processed,
    write_deliveries,
};
use crate::store::{
    AlertRecord, AlertState, AlertWrite, Appended, DeliveryFilter, Durability, IdKind,
    InboundStatus, ProcessedBatch, ProcessedRecord, Store, StoreError,
};

/// Results land on their records, which leave the queue (a record whose endpoint is gone only
/// leaves it); nothing is claimed twice.
pub(crate) fn apply_takes_records_off_the_queue_with_their_results(store: &dyn Store) {
    let ids = append_pending(store, "a", &[1, 2, 3, 4]);
    assert_eq!(store.claim_queued(10).unwrap().len(), 4);
    let gone = ProcessedRecord {
        id: ids[2],
        status: None,
        outcomes: Vec::new(),
        processed_at: 5_000,
    };
    let batch = ProcessedBatch {
        records: vec![
            processed(ids[0], InboundStatus::Processed),
            processed(ids[1], InboundStatus::Failed),
            gone,
        ],
        ..ProcessedBatch::default()
    };
    store
        .apply_processing(&batch, Durability::WithNextCommit)
        .unwrap();

    let done = store.inbound(ids[0]).unwrap().unwrap();
    assert_eq!(done.status, InboundStatus::Processed);
    assert_eq!(done.outcomes, batch.records[0].outcomes);
    assert_eq!(done.processed_at, Some(5_000));
    assert_eq!(done.body, "{\"received_at\":1}", "the body is kept");
    let failed = store.inbound(ids[1]).unwrap().unwrap();
    assert_eq!(failed.status, InboundStatus::Failed);
    let untouched = store.inbound(ids[2]).unwrap().unwrap();
    assert_eq!(untouched.status, InboundStatus::Pending);
    assert_eq!(untouched.outcomes, []);

    assert_eq!(store.queue_depth().unwrap(), 1);
    let left = claimed_ids(store);
    assert_eq!(left, [ids[3]]);
}

/// Ranges of ids never overlap, per kind.
pub(crate) fn reserved_ids_are_never_handed_out_twice(store: &dyn Store) {
    for kind in [IdKind::Alert, IdKind::Delivery] {
        let mut taken = Vec::new();
        for count in [1, 3, 1, 5, 1] {
            let first = store.reserve_ids(kind, count).unwrap();
            taken.extend(first..first + count);
        }
        let mut unique = taken.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), taken.len(), "{kind:?}: {taken:?}");
        assert!(!taken.contains(&0), "ids start at 1: {taken:?}");
    }
}

/// Ids of alerts and deliveries that were written are not handed out again after a restart.
pub(crate) fn written_ids_are_not_handed_out_after_a_restart(subject: &mut Subject) {
    let store = subject.store();
    let alert = open_alert(store, "a", "k");
    let delivery = write_deliveries(store, vec![new_delivery(store, "a", None, 1)]).remove(0);
    subject.restart();
    let store = subject.store();
    assert!(store.reserve_ids(IdKind::Alert, 1).unwrap() > alert.id);
    assert!(store.reserve_ids(IdKind::Delivery, 1).unwrap() > delivery.id);
    assert_eq!(store.alert(alert.id).unwrap(), Some(alert));
    assert_eq!(store.delivery(delivery.id).unwrap(), Some(delivery));
}

/// A batch planned on `expected`: a queued record processed, one alert write, one delivery.
struct Planned {
    record: u64,
    batch: ProcessedBatch,
}

fn planned(store: &dyn Store, expected: Option<(u64, u64)>, alert: AlertWrite) -> Planned {
    let [record] = append_pending(store, "a", &[1])[..] else {
        unreachable!()
    };
    let delivery = new_delivery(store, "a", Some(record), 10);
    Planned {
        record,
        batch: ProcessedBatch {
            records: vec![processed(record, InboundStatus::Processed)],
            expected_open: vec![(("a".into(), "k".into()), expected)],
            alerts: vec![alert],
            deliveries: vec![delivery],
        },
    }
}

/// Applies a batch that must be refused with a conflict, and checks that none of it landed.
fn assert_refused_whole(store: &dyn Store, planned: &Planned, alerts_before: &[AlertRecord]) {
    for durability in [Durability::BeforeAnswer, Durability::WithNextCommit] {
        match store.apply_processing(&planned.batch, durability) {
            Err(StoreError::Conflict(_)) => {}
            other => panic!("a conflict is expected, got {other:?}"),
        }
    }
    let record = store.inbound(planned.record).unwrap().unwrap();
    assert_eq!(
        record.status,
        InboundStatus::Pending,
        "the record is untouched"
    );
    assert_eq!(record.outcomes, []);
    assert_eq!(record.processed_at, None);
    let queued = claimed_ids(store);
    assert_eq!(queued, [planned.record], "the record is still queued");

    let delivery = planned.batch.deliveries[0].id;
    assert_eq!(store.delivery(delivery).unwrap(), None, "no delivery");
    let deliveries = store.list_deliveries(&DeliveryFilter {
        limit: 10,
        ..DeliveryFilter::default()
    });
    assert_eq!(deliveries.unwrap().items, []);
    assert_eq!(store.due_deliveries(u64::MAX / 2, 10).unwrap(), []);
    assert_eq!(store.next_due_at().unwrap(), None);

    for alert in alerts_before {
        assert_eq!(store.alert(alert.id).unwrap().as_ref(), Some(alert));
    }
    let written = planned.batch.alerts[0].record();
    if !alerts_before.iter().any(|alert| alert.id == written.id) {
        assert_eq!(store.alert(written.id).unwrap(), None, "no new alert");
    }
    let open = store.open_alert("a", "k").unwrap();
    let was_open = alerts_before
        .iter()
        .find(|alert| alert.state != AlertState::Closed);
    assert_eq!(open.as_ref(), was_open, "the open-alert index is untouched");
}

/// Planned on an alert's revision that an operator changed since: refused whole.
pub(crate) fn a_changed_open_alert_refuses_the_whole_batch(store: &dyn Store) {
    let read = open_alert(store, "a", "k");
    let mut appended = read.clone();
    appended.count += 1;
    let planned = planned(
        store,
        Some((read.id, read.revision)),
        AlertWrite::Update(appended),
    );
    let mut acknowledged = read.clone();
    acknowledged.state = AlertState::Acknowledged;
    acknowledged.acknowledged_at = Some(2_000);
    let acknowledged = store.update_alert(&acknowledged).unwrap();
    assert_refused_whole(store, &planned, &[acknowledged]);
}

/// Planned when no alert was open for the key, but one is now: refused whole (else there
/// would be two open alerts for one key).
pub(crate) fn an_unexpected_open_alert_refuses_the_whole_batch(store: &dyn Store) {
    let fresh = new_alert(store, "a", "k");
    let planned = planned(store, None, AlertWrite::Insert(fresh));
    let opened_meanwhile = open_alert(store, "a", "k");
    assert_refused_whole(store, &planned, &[opened_meanwhile]);
}

/// An alert update planned from an older revision is refused whole, even when no open-alert
/// expectation names it.
pub(crate) fn a_stale_alert_revision_refuses_the_whole_batch(store: &dyn Store) {
    let read = open_alert(store, "a", "k");
    let mut closed = read.clone();
    closed.state = AlertState::Closed;
    closed.closed_at = Some(3_000);
    closed.closed_by = Some("source".into());
    let mut planned = planned(store, None, AlertWrite::Update(closed));
    planned.batch.expected_open.clear();
    let mut appended = read.clone();
    appended.count += 1;
    let appended = store.update_alert(&appended).unwrap();
    assert_refused_whole(store, &planned, &[appended]);

    // The batch planned again on the current revision goes through.
    let mut closed = store.alert(read.id).unwrap().unwrap();
    closed.state = AlertState::Closed;
    planned.batch.alerts = vec![AlertWrite::Update(closed)];
    apply(store, planned.batch);
    assert_eq!(store.open_alert("a", "k").unwrap(), None);
    assert_eq!(store.queue_depth().unwrap(), 0);
}

/// A group commit appends its records and applies each batch on its own, in order: a batch
/// refused (here: planned on no open alert for a key that the batch before it opened) leaves
/// nothing behind, and takes neither the records nor the other batch with it.
pub(crate) fn a_group_commit_appends_and_applies_each_batch_on_its_own(store: &dyn Store) {
    let first = planned(store, None, AlertWrite::Insert(new_alert(store, "a", "k")));
    let second = planned(store, None, AlertWrite::Insert(new_alert(store, "a", "k")));
    let records = vec![
        inbound("a", Some("u-1"), InboundStatus::Pending, 7),
        inbound("a", None, InboundStatus::Rejected, 8),
    ];
    let committed = store
        .commit_group(records, &[first.batch.clone(), second.batch.clone()])
        .unwrap();

    let [Appended::Accepted(accepted), Appended::Logged(rejected)] = committed.appended[..] else {
        panic!("one accepted, one logged: {:?}", committed.appended);
    };
    assert!(accepted > second.record && rejected == accepted + 1);
    assert!(matches!(
        committed.applied[..],
        [Ok(()), Err(StoreError::Conflict(_))]
    ));

    let opened = store
        .open_alert("a", "k")
        .unwrap()
        .expect("the first batch's alert");
    assert_eq!(opened.id, first.batch.alerts[0].record().id);
    let done = store.inbound(first.record).unwrap().unwrap();
    assert_eq!(done.status, InboundStatus::Processed);
    let delivery = first.batch.deliveries[0].id;
    assert!(store.delivery(delivery).unwrap().is_some());

    let untouched = store.inbound(second.record).unwrap().unwrap();
    assert_eq!(untouched.status, InboundStatus::Pending);
    assert_eq!(untouched.outcomes, []);
    let refused_alert = second.batch.alerts[0].record().id;
    assert_eq!(store.alert(refused_alert).unwrap(), None);
    assert_eq!(store.delivery(second.batch.deliveries[0].id).unwrap(), None);

    let queued = claimed_ids(store);
    assert_eq!(queued, [second.record, accepted]);
    assert_eq!(
        store.inbound(rejected).unwrap().unwrap().status,
        InboundStatus::Rejected
    );
}

/// The ids `claim_queued` hands out now (up to 10), oldest first.
fn claimed_ids(store: &dyn Store) -> Vec<u64> {
    store
        .claim_queued(10)
        .unwrap()
        .iter()
        .map(|record| record.id)
        .collect()
}
