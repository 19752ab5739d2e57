//! Deliveries and destination health: the due index (`due_deliveries`, `next_due_at`),
//! `record_attempts`, `schedule_retry`, `deliveries_for_inbound`, `list_deliveries`, and the
//! failure counts that disable a destination.

use super::{new_delivery, write_deliveries};
use crate::store::{
    AttemptOutcome, DeliveryAttempt, DeliveryFilter, DeliveryRecord, DeliveryStatus,
    DestinationHealth, Durability, RecordedAttempt, RetryScheduled, Store,
};

/// Far enough ahead that everything scheduled is due.
const LATER: u64 = 1 << 50;

fn ids(deliveries: &[DeliveryRecord]) -> Vec<u64> {
    deliveries.iter().map(|delivery| delivery.id).collect()
}

/// The delivery after one more attempt.
fn attempted(
    delivery: &DeliveryRecord,
    status: DeliveryStatus,
    next_attempt_at: Option<u64>,
    outcome: AttemptOutcome,
) -> RecordedAttempt {
    let mut delivery = delivery.clone();
    delivery.status = status;
    delivery.next_attempt_at = next_attempt_at;
    delivery.attempts.push(DeliveryAttempt {
        at: 500,
        status_code: Some(if outcome == AttemptOutcome::Succeeded {
            204
        } else {
            503
        }),
        duration_ms: 12,
        error: None,
        response: Some("busy".into()),
    });
    RecordedAttempt { delivery, outcome }
}

fn record(
    store: &dyn Store,
    attempts: &[RecordedAttempt],
    limit: u32,
) -> Vec<Option<DestinationHealth>> {
    store
        .record_attempts(attempts, limit, Durability::WithNextCommit)
        .expect("record_attempts")
}

/// Due deliveries come soonest first, at most `limit`; later ones wait.
pub(crate) fn due_deliveries_come_soonest_first_and_never_early(store: &dyn Store) {
    assert_eq!(store.next_due_at().unwrap(), None);
    assert_eq!(store.due_deliveries(LATER, 10).unwrap(), []);
    let written = write_deliveries(
        store,
        [300, 100, 200, 10_000]
            .into_iter()
            .map(|at| new_delivery(store, "a", None, at))
            .collect(),
    );
    let soonest = [written[1].id, written[2].id, written[0].id];
    assert_eq!(ids(&store.due_deliveries(500, 10).unwrap()), soonest);
    assert_eq!(ids(&store.due_deliveries(500, 2).unwrap()), soonest[..2]);
    assert_eq!(
        ids(&store.due_deliveries(200, 10).unwrap()),
        soonest[..2],
        "due at 200"
    );
    assert_eq!(store.due_deliveries(99, 10).unwrap(), []);
    assert_eq!(store.next_due_at().unwrap(), Some(100));
    assert_eq!(
        store.due_deliveries(500, 10).unwrap()[0],
        written[1],
        "whole"
    );
}

/// An attempt moves the delivery in the due index: a retry is due at its new time, a
/// delivered or failed one never again.
pub(crate) fn recorded_attempts_move_the_due_index(store: &dyn Store) {
    let written = write_deliveries(
        store,
        vec![
            new_delivery(store, "a", None, 100),
            new_delivery(store, "a", None, 100),
        ],
    );
    let retry = attempted(
        &written[0],
        DeliveryStatus::Retrying,
        Some(1_000),
        AttemptOutcome::Failed,
    );
    let done = attempted(
        &written[1],
        DeliveryStatus::Delivered,
        None,
        AttemptOutcome::Succeeded,
    );
    assert_eq!(
        record(store, &[retry.clone(), done.clone()], 0),
        [None, None]
    );

    assert_eq!(store.due_deliveries(999, 10).unwrap(), []);
    assert_eq!(store.next_due_at().unwrap(), Some(1_000));
    assert_eq!(
        store.due_deliveries(1_000, 10).unwrap(),
        std::slice::from_ref(&retry.delivery)
    );
    assert_eq!(store.delivery(written[1].id).unwrap(), Some(done.delivery));

    let failed = attempted(
        &retry.delivery,
        DeliveryStatus::Failed,
        None,
        AttemptOutcome::Failed,
    );
    record(store, std::slice::from_ref(&failed), 0);
    assert_eq!(store.due_deliveries(LATER, 10).unwrap(), []);
    assert_eq!(store.next_due_at().unwrap(), None);
    let stored = store.delivery(written[0].id).unwrap().unwrap();
    assert_eq!(stored.attempts.len(), 2);
    assert_eq!(stored, failed.delivery);
}

/// Consecutive failures are counted per destination; reaching the limit disables it once,
/// and a reset enables it again.
pub(crate) fn failures_disable_a_destination_at_the_limit(store: &dyn Store) {
    let mut to_b = new_delivery(store, "b", None, 100);
    to_b.destination = 1;
    let written = write_deliveries(store, vec![new_delivery(store, "a", None, 100), to_b]);
    let fail = |delivery: &DeliveryRecord| {
        attempted(
            delivery,
            DeliveryStatus::Retrying,
            Some(200),
            AttemptOutcome::Failed,
        )
    };
    assert_eq!(
        record(store, &[fail(&written[0]), fail(&written[0])], 3),
        [None, None]
    );
    let health = store.destination_health("a", 0).unwrap();
    assert_eq!(health.consecutive_failures, 2);
    assert!(!health.is_disabled());
    assert_eq!(store.disabled_destination_count().unwrap(), 0);

    let answer = record(store, &[fail(&written[0]), fail(&written[1])], 3);
    let disabled = answer[0].clone().expect("the third failure disables it");
    assert!(disabled.is_disabled());
    assert!(disabled.disabled_reason.is_some());
    assert_eq!(disabled.consecutive_failures, 3);
    assert_eq!(answer[1], None);
    assert_eq!(store.destination_health("a", 0).unwrap(), disabled);
    assert_eq!(store.disabled_destination_count().unwrap(), 1);
    assert_eq!(
        record(store, &[fail(&written[0])], 3),
        [None],
        "disabled once"
    );
    assert_eq!(store.disabled_destination_count().unwrap(), 1);

    let on_a = store.endpoint_destination_health("a").unwrap();
    assert_eq!(on_a.keys().copied().collect::<Vec<_>>(), [0]);
    assert!(on_a[&0].is_disabled());
    let on_b = store.endpoint_destination_health("b").unwrap();
    assert_eq!(on_b[&1].consecutive_failures, 1);
    assert_eq!(
        store.destination_health("a", 1).unwrap(),
        DestinationHealth::default()
    );

    assert!(store.reset_destination_health("a", 0).unwrap());
    assert_eq!(
        store.destination_health("a", 0).unwrap(),
        DestinationHealth::default()
    );
    assert_eq!(store.disabled_destination_count().unwrap(), 0);
    assert!(
        !store.reset_destination_health("a", 0).unwrap(),
        "not disabled now"
    );
    assert!(
        !store.reset_destination_health("b", 1).unwrap(),
        "failing, not disabled"
    );
    assert_eq!(
        store.destination_health("b", 1).unwrap(),
        DestinationHealth::default()
    );
}

/// A success starts the count again; an attempt not sent leaves it; a limit of 0 never
/// disables.
pub(crate) fn successes_and_unsent_attempts_and_no_limit(store: &dyn Store) {
    let [delivery] = &write_deliveries(store, vec![new_delivery(store, "a", None, 100)])[..] else {
        unreachable!()
    };
    let failed = attempted(
        delivery,
        DeliveryStatus::Retrying,
        Some(200),
        AttemptOutcome::Failed,
    );
    let not_sent = attempted(
        delivery,
        DeliveryStatus::Retrying,
        Some(300),
        AttemptOutcome::NotSent,
    );
    record(store, &[failed.clone(), failed.clone(), not_sent], 0);
    assert_eq!(
        store
            .destination_health("a", 0)
            .unwrap()
            .consecutive_failures,
        2
    );
    let succeeded = attempted(
        delivery,
        DeliveryStatus::Delivered,
        None,
        AttemptOutcome::Succeeded,
    );
    record(store, &[succeeded], 0);
    assert_eq!(
        store
            .destination_health("a", 0)
            .unwrap()
            .consecutive_failures,
        0
    );
    assert_eq!(record(store, &vec![failed; 20], 0), vec![None; 20]);
    assert!(!store.destination_health("a", 0).unwrap().is_disabled());
    assert_eq!(store.disabled_destination_count().unwrap(), 0);
}

/// A retry by hand makes an undelivered delivery due at once; a delivered one stays done.
pub(crate) fn schedule_retry_makes_a_delivery_due(store: &dyn Store) {
    let written = write_deliveries(
        store,
        vec![
            new_delivery(store, "a", None, 100),
            new_delivery(store, "a", None, 100),
        ],
    );
    let failed = attempted(
        &written[0],
        DeliveryStatus::Failed,
        None,
        AttemptOutcome::Failed,
    );
    let done = attempted(
        &written[1],
        DeliveryStatus::Delivered,
        None,
        AttemptOutcome::Succeeded,
    );
    record(store, &[failed, done], 0);
    assert_eq!(store.next_due_at().unwrap(), None);

    assert_eq!(
        store.schedule_retry(written[1].id, 700).unwrap(),
        RetryScheduled::AlreadyDelivered
    );
    assert_eq!(
        store.schedule_retry(written[1].id + 1_000, 700).unwrap(),
        RetryScheduled::NotFound
    );
    let RetryScheduled::Scheduled(scheduled) = store.schedule_retry(written[0].id, 700).unwrap()
    else {
        panic!("a failed delivery can be retried");
    };
    assert_eq!(scheduled.status, DeliveryStatus::Pending);
    assert_eq!(scheduled.next_attempt_at, Some(700));
    assert_eq!(scheduled.attempts.len(), 1, "its attempts are kept");
    assert_eq!(
        store.delivery(written[0].id).unwrap().as_ref(),
        Some(&*scheduled)
    );
    assert_eq!(store.due_deliveries(699, 10).unwrap(), []);
    assert_eq!(store.due_deliveries(700, 10).unwrap(), [*scheduled]);
    assert_eq!(store.next_due_at().unwrap(), Some(700));
}

/// The deliveries of one inbound record, replays included, oldest first; no one else's.
pub(crate) fn deliveries_for_inbound_are_its_own_oldest_first(store: &dyn Store) {
    let first = write_deliveries(
        store,
        vec![
            new_delivery(store, "a", Some(1), 100),
            new_delivery(store, "a", Some(2), 150),
        ],
    );
    let replay = write_deliveries(
        store,
        vec![
            new_delivery(store, "a", Some(1), 200),
            new_delivery(store, "a", None, 210),
        ],
    );
    assert_eq!(
        store.deliveries_for_inbound(1, 100).unwrap(),
        [first[0].clone(), replay[0].clone()]
    );
    assert_eq!(
        store.deliveries_for_inbound(2, 150).unwrap(),
        [first[1].clone()]
    );
    assert_eq!(store.deliveries_for_inbound(3, 150).unwrap(), []);
}

/// Newest first, paged by `next` as `before`, filtered by status and endpoint.
pub(crate) fn list_deliveries_pages_and_filters(store: &dyn Store) {
    let written = write_deliveries(
        store,
        vec![
            new_delivery(store, "a", None, 100),
            new_delivery(store, "b", None, 100),
            new_delivery(store, "a", None, 100),
        ],
    );
    let done = attempted(
        &written[0],
        DeliveryStatus::Delivered,
        None,
        AttemptOutcome::Succeeded,
    );
    record(store, &[done], 0);
    let list = |filter: DeliveryFilter| store.list_deliveries(&filter).unwrap();

    let page = list(DeliveryFilter {
        limit: 2,
        ..DeliveryFilter::default()
    });
    assert_eq!(ids(&page.items), [written[2].id, written[1].id]);
    let before = page
        .next
        .as_deref()
        .map(|next| next.parse().expect("a cursor"));
    let last = list(DeliveryFilter {
        before,
        limit: 2,
        ..DeliveryFilter::default()
    });
    assert_eq!(ids(&last.items), [written[0].id]);
    assert_eq!(last.next, None);

    let pending_on_a = list(DeliveryFilter {
        status: Some(DeliveryStatus::Pending),
        endpoint: Some("a".into()),
        limit: 10,
        ..DeliveryFilter::default()
    });
    assert_eq!(ids(&pending_on_a.items), [written[2].id]);
    let delivered = list(DeliveryFilter {
        status: Some(DeliveryStatus::Delivered),
        limit: 10,
        ..DeliveryFilter::default()
    });
    assert_eq!(ids(&delivered.items), [written[0].id]);
}

/// Retention takes the finished deliveries (delivered, failed for good) made before its
/// cutoff; pending and retrying ones, and later ones, stay.
pub(crate) fn retention_takes_finished_deliveries_only(store: &dyn Store) {
    let made = |status: DeliveryStatus, created_at: u64| {
        let mut delivery = new_delivery(store, "a", None, created_at);
        delivery.status = status;
        if matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Failed) {
            delivery.next_attempt_at = None;
        }
        delivery
    };
    let written = write_deliveries(
        store,
        vec![
            made(DeliveryStatus::Delivered, 1_000),
            made(DeliveryStatus::Failed, 2_000),
            made(DeliveryStatus::Pending, 3_000),
            made(DeliveryStatus::Retrying, 4_000),
            made(DeliveryStatus::Delivered, 50_000),
        ],
    );
    assert_eq!(store.prune_finished_deliveries(10_000).unwrap(), 2);
    let left: Vec<Option<DeliveryStatus>> = written
        .iter()
        .map(|delivery| store.delivery(delivery.id).unwrap().map(|d| d.status))
        .collect();
    assert_eq!(
        left,
        [
            None,
            None,
            Some(DeliveryStatus::Pending),
            Some(DeliveryStatus::Retrying),
            Some(DeliveryStatus::Delivered)
        ]
    );
    assert_eq!(store.prune_finished_deliveries(10_000).unwrap(), 0);
}
