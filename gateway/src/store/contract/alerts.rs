//! Alerts: written by processing (`AlertWrite`) and by operators (`update_alert`), the index
//! of open ones (`open_alert`), `firing_alert_counts`, `list_alerts`.

use super::{apply, new_alert, open_alert};
use crate::store::{
    AlertFilter, AlertRecord, AlertState, AlertWrite, ProcessedBatch, Store, StoreError,
};

/// Applies an update planned on `read` (the open alert of its key) as processing does; the
/// stored alert.
fn update(
    store: &dyn Store,
    read: &AlertRecord,
    change: impl FnOnce(&mut AlertRecord),
) -> AlertRecord {
    let mut written = read.clone();
    change(&mut written);
    apply(
        store,
        ProcessedBatch {
            expected_open: vec![(
                (read.endpoint.clone(), read.key.clone()),
                Some((read.id, read.revision)),
            )],
            alerts: vec![AlertWrite::Update(written)],
            ..ProcessedBatch::default()
        },
    );
    store.alert(read.id).unwrap().expect("the alert is stored")
}

fn close(alert: &mut AlertRecord) {
    alert.state = AlertState::Closed;
    alert.closed_at = Some(9_000);
    alert.closed_by = Some("source".into());
}

fn ids(alerts: &[AlertRecord]) -> Vec<u64> {
    alerts.iter().map(|alert| alert.id).collect()
}

/// An insert is stored as written, its revision bumped, and is the open alert of its key.
pub(crate) fn an_inserted_alert_is_the_open_one(store: &dyn Store) {
    assert_eq!(store.open_alert("a", "k").unwrap(), None);
    let written = new_alert(store, "a", "k");
    apply(
        store,
        ProcessedBatch {
            expected_open: vec![(("a".into(), "k".into()), None)],
            alerts: vec![AlertWrite::Insert(written.clone())],
            ..ProcessedBatch::default()
        },
    );
    let stored = store.alert(written.id).unwrap().expect("stored");
    assert_eq!(stored.revision, written.revision + 1);
    assert_eq!(
        AlertRecord {
            revision: 0,
            ..stored.clone()
        },
        written
    );
    assert_eq!(store.open_alert("a", "k").unwrap(), Some(stored));
    assert_eq!(store.open_alert("a", "other").unwrap(), None);
    assert_eq!(store.alert(written.id + 1_000).unwrap(), None);
}

/// Appends and closes bump the revision; a closed alert leaves the index, and the key opens a
/// new alert next time.
pub(crate) fn updates_append_and_close_and_the_index_follows(store: &dyn Store) {
    let opened = open_alert(store, "a", "k");
    let appended = update(store, &opened, |alert| {
        alert.count += 1;
        alert.history.push(7);
    });
    assert_eq!(appended.revision, opened.revision + 1);
    assert_eq!((appended.count, &appended.history[..]), (2, &[7][..]));
    assert_eq!(
        store.open_alert("a", "k").unwrap().as_ref(),
        Some(&appended)
    );

    let closed = update(store, &appended, close);
    assert_eq!(closed.revision, appended.revision + 1);
    assert_eq!(closed.state, AlertState::Closed);
    assert_eq!(store.open_alert("a", "k").unwrap(), None);

    let reopened = open_alert(store, "a", "k");
    assert_ne!(reopened.id, opened.id, "a new alert");
    assert_eq!(store.open_alert("a", "k").unwrap(), Some(reopened));
    assert_eq!(
        store.alert(opened.id).unwrap(),
        Some(closed),
        "the old one stays"
    );
}

/// Keys are scoped per endpoint.
pub(crate) fn the_same_key_on_two_endpoints_is_two_alerts(store: &dyn Store) {
    let on_a = open_alert(store, "a", "k");
    let on_b = open_alert(store, "b", "k");
    assert_ne!(on_a.id, on_b.id);
    assert_eq!(store.open_alert("a", "k").unwrap().as_ref(), Some(&on_a));
    assert_eq!(store.open_alert("b", "k").unwrap().as_ref(), Some(&on_b));
    update(store, &on_a, close);
    assert_eq!(store.open_alert("a", "k").unwrap(), None);
    assert_eq!(store.open_alert("b", "k").unwrap(), Some(on_b));
}

/// An operator's write bumps the revision; one made from an older revision is refused and
/// changes nothing.
pub(crate) fn update_alert_bumps_the_revision_and_refuses_a_stale_one(store: &dyn Store) {
    let read = open_alert(store, "a", "k");
    let mut acknowledged = read.clone();
    acknowledged.state = AlertState::Acknowledged;
    acknowledged.acknowledged_at = Some(2_000);
    let written = store.update_alert(&acknowledged).unwrap();
    assert_eq!(written.revision, read.revision + 1);
    assert_eq!(
        AlertRecord {
            revision: read.revision,
            ..written.clone()
        },
        acknowledged
    );
    assert_eq!(store.alert(read.id).unwrap().as_ref(), Some(&written));
    assert_eq!(store.open_alert("a", "k").unwrap().as_ref(), Some(&written));

    let mut stale = read.clone();
    close(&mut stale);
    match store.update_alert(&stale) {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a stale revision is a conflict, got {other:?}"),
    }
    assert_eq!(store.alert(read.id).unwrap(), Some(written.clone()));
    assert_eq!(store.open_alert("a", "k").unwrap(), Some(written));
}

/// An operator's close takes the alert out of the index, as processing's does.
pub(crate) fn an_operator_close_leaves_the_index(store: &dyn Store) {
    let mut read = open_alert(store, "a", "k");
    close(&mut read);
    read.closed_by = Some("operator".into());
    let closed = store.update_alert(&read).unwrap();
    assert_eq!(store.open_alert("a", "k").unwrap(), None);
    assert_eq!(store.firing_alert_counts().unwrap(), (0, 0));
    assert_eq!(store.alert(closed.id).unwrap(), Some(closed));
}

/// Open and acknowledged alerts are counted apart; closed ones not at all.
pub(crate) fn firing_alert_counts_count_open_and_acknowledged(store: &dyn Store) {
    assert_eq!(store.firing_alert_counts().unwrap(), (0, 0));
    open_alert(store, "a", "open");
    open_alert(store, "b", "open");
    let mut acknowledged = open_alert(store, "a", "acknowledged");
    acknowledged.state = AlertState::Acknowledged;
    store.update_alert(&acknowledged).unwrap();
    let closed = open_alert(store, "a", "closed");
    update(store, &closed, close);
    assert_eq!(store.firing_alert_counts().unwrap(), (2, 1));
}

/// Newest first, paged by `next` as `before`, filtered by state and endpoint.
pub(crate) fn list_alerts_pages_and_filters(store: &dyn Store) {
    let first = open_alert(store, "a", "k1");
    let second = open_alert(store, "b", "k1");
    let third = open_alert(store, "a", "k2");
    update(store, &third, close);
    let list = |filter: AlertFilter| store.list_alerts(&filter).unwrap();

    let page = list(AlertFilter {
        limit: 2,
        ..AlertFilter::default()
    });
    assert_eq!(ids(&page.items), [third.id, second.id]);
    let before = page
        .next
        .as_deref()
        .map(|next| next.parse().expect("a cursor"));
    let last = list(AlertFilter {
        before,
        limit: 2,
        ..AlertFilter::default()
    });
    assert_eq!(ids(&last.items), [first.id]);
    assert_eq!(last.next, None);

    let open_on_a = list(AlertFilter {
        state: Some(AlertState::Open),
        endpoint: Some("a".into()),
        limit: 10,
        ..AlertFilter::default()
    });
    assert_eq!(ids(&open_on_a.items), [first.id]);
    let closed = list(AlertFilter {
        state: Some(AlertState::Closed),
        limit: 10,
        ..AlertFilter::default()
    });
    assert_eq!(ids(&closed.items), [third.id]);
    let on_b = list(AlertFilter {
        endpoint: Some("b".into()),
        limit: 10,
        ..AlertFilter::default()
    });
    assert_eq!(on_b.items, [second]);
}

fn escalating(due_at: Option<u64>) -> crate::store::Escalation {
    crate::store::Escalation {
        policy: "ep_1".into(),
        last: None,
        next_due_at: due_at,
        stopped: None,
        log: Vec::new(),
    }
}

/// The firing alerts are the open and acknowledged ones, oldest first; a closed one leaves.
pub(crate) fn firing_alerts_are_the_open_and_acknowledged(store: &dyn Store) {
    let first = open_alert(store, "a", "one");
    let second = open_alert(store, "a", "two");
    let third = open_alert(store, "b", "one");
    update(store, &second, close);
    let read = store.alert(third.id).unwrap().unwrap();
    let mut acknowledged = read.clone();
    acknowledged.state = AlertState::Acknowledged;
    store.update_alert(&acknowledged).unwrap();
    assert_eq!(ids(&store.firing_alerts().unwrap()), [first.id, third.id]);
}

/// An alert whose escalation has a step due is handed out at that time, soonest first, and
/// never early; a write that stops the escalation (an acknowledgement) or moves its timer
/// takes the old time out in the same write.
pub(crate) fn escalation_steps_come_due_with_the_alert_writes(store: &dyn Store) {
    assert_eq!(store.next_escalation_due_at().unwrap(), None);
    let mut later = new_alert(store, "a", "later");
    later.escalation = Some(escalating(Some(2_000)));
    let mut sooner = new_alert(store, "a", "sooner");
    sooner.escalation = Some(escalating(Some(1_500)));
    let quiet = new_alert(store, "a", "quiet");
    apply(
        store,
        ProcessedBatch {
            expected_open: vec![],
            alerts: vec![
                AlertWrite::Insert(later.clone()),
                AlertWrite::Insert(sooner.clone()),
                AlertWrite::Insert(quiet),
            ],
            ..ProcessedBatch::default()
        },
    );
    assert_eq!(store.next_escalation_due_at().unwrap(), Some(1_500));
    assert!(store.due_escalations(1_499, 10).unwrap().is_empty());
    assert_eq!(ids(&store.due_escalations(1_500, 10).unwrap()), [sooner.id]);
    assert_eq!(
        ids(&store.due_escalations(5_000, 10).unwrap()),
        [sooner.id, later.id]
    );
    assert_eq!(ids(&store.due_escalations(5_000, 1).unwrap()), [sooner.id]);

    // A step fired: the timer moves on.
    let read = store.alert(sooner.id).unwrap().unwrap();
    let mut moved = read.clone();
    moved.escalation = Some(escalating(Some(3_000)));
    store.update_alert(&moved).unwrap();
    assert_eq!(ids(&store.due_escalations(2_500, 10).unwrap()), [later.id]);

    // Acknowledged: stopped, never due again.
    let read = store.alert(later.id).unwrap().unwrap();
    let mut stopped = read.clone();
    stopped.state = AlertState::Acknowledged;
    stopped.escalation = Some(escalating(None));
    store.update_alert(&stopped).unwrap();
    assert_eq!(
        ids(&store.due_escalations(10_000, 10).unwrap()),
        [sooner.id]
    );
    assert_eq!(store.next_escalation_due_at().unwrap(), Some(3_000));
}

/// An alert's history is kept apart from the alert: a write adds the ids its record carries
/// and removes none, so processing, which reads only the newest entry (`open_alert`), appends
/// by writing that one new id, at a cost that does not grow with the history. `alert` and
/// `list_alerts` have the whole history, oldest first; `alert_history` pages it newest first;
/// `alert_history_contains` answers for any entry; an operator's write keeps it whole.
pub(crate) fn the_history_is_kept_apart_and_appends_add_to_it(store: &dyn Store) {
    let mut first = new_alert(store, "a", "k");
    first.history = vec![10];
    apply(
        store,
        ProcessedBatch {
            expected_open: vec![(("a".into(), "k".into()), None)],
            alerts: vec![AlertWrite::Insert(first.clone())],
            ..ProcessedBatch::default()
        },
    );
    let id = first.id;
    for inbound in 11..=30 {
        let read = store.open_alert("a", "k").unwrap().expect("open");
        assert_eq!(
            read.history,
            [inbound - 1],
            "processing reads the newest entry only"
        );
        update(store, &read, |alert| {
            alert.count += 1;
            alert.history.push(inbound);
        });
    }
    let whole: Vec<u64> = (10..=30).collect();
    let stored = store.alert(id).unwrap().expect("stored");
    assert_eq!(stored.history, whole);
    assert_eq!(stored.count, 21);
    let listed = store
        .list_alerts(&AlertFilter {
            limit: 10,
            ..AlertFilter::default()
        })
        .unwrap();
    assert_eq!(listed.items, std::slice::from_ref(&stored));

    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = store.alert_history(id, before, 6).unwrap();
        assert!(page.items.len() <= 6);
        paged.extend(page.items);
        match page.next {
            Some(next) => before = Some(next.parse().expect("a cursor")),
            None => break,
        }
    }
    assert_eq!(paged, whole.iter().rev().copied().collect::<Vec<_>>());
    assert!(
        store
            .alert_history(id + 1_000, None, 6)
            .unwrap()
            .items
            .is_empty()
    );

    assert!(store.alert_history_contains(id, 10).unwrap());
    assert!(store.alert_history_contains(id, 30).unwrap());
    assert!(!store.alert_history_contains(id, 31).unwrap());
    assert!(!store.alert_history_contains(id + 1_000, 10).unwrap());

    let acknowledged = store
        .update_alert(&AlertRecord {
            state: AlertState::Acknowledged,
            ..stored
        })
        .unwrap();
    assert_eq!(acknowledged.history, whole);
    assert_eq!(store.alert(id).unwrap().expect("stored").history, whole);
    // An escalation's write, from a read with only the newest entry, keeps it whole too.
    let firing = store.firing_alerts().unwrap();
    assert_eq!(firing[0].history, [30]);
    store.update_alert(&firing[0]).unwrap();
    assert_eq!(store.alert(id).unwrap().expect("stored").history, whole);
}

/// Retention takes the alerts that closed before its cutoff, with their histories; open,
/// acknowledged and later-closed alerts stay.
pub(crate) fn retention_takes_closed_alerts_with_their_history(store: &dyn Store) {
    let opened = open_alert(store, "a", "old");
    let old = update(store, &opened, |alert| {
        alert.history.push(4);
        close(alert);
    });
    let opened = open_alert(store, "a", "late");
    let late = update(store, &opened, |alert| {
        close(alert);
        alert.closed_at = Some(20_000);
    });
    let open = open_alert(store, "a", "open");
    let opened = open_alert(store, "a", "acknowledged");
    let acknowledged = store
        .update_alert(&AlertRecord {
            state: AlertState::Acknowledged,
            ..opened
        })
        .unwrap();

    assert_eq!(store.prune_closed_alerts(10_000).unwrap(), 1);
    assert_eq!(store.alert(old.id).unwrap(), None);
    assert!(!store.alert_history_contains(old.id, 4).unwrap());
    for kept in [&late, &open, &acknowledged] {
        assert!(store.alert(kept.id).unwrap().is_some(), "{kept:?}");
    }
    assert_eq!(store.prune_closed_alerts(10_000).unwrap(), 0);
    assert_eq!(store.prune_closed_alerts(30_000).unwrap(), 1);
    assert_eq!(store.alert(late.id).unwrap(), None);
    assert_eq!(store.firing_alert_counts().unwrap(), (1, 1));
}
