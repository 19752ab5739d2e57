//! The inbound log and the processing queue: `append_inbound`, `inbound`, `list_inbound`,
//! `claim_queued`, `queue_depth`, `requeue_inbound`, `prune_inbound`.

use super::{Subject, append_pending, apply, inbound, processed};
use crate::store::{
    Appended, InboundFilter, InboundRecord, InboundRetention, InboundStatus, ProcessedBatch, Store,
};

fn ids(records: &[InboundRecord]) -> Vec<u64> {
    records.iter().map(|record| record.id).collect()
}

fn all(store: &dyn Store) -> Vec<u64> {
    let filter = InboundFilter {
        limit: 1_000,
        ..InboundFilter::default()
    };
    ids(&store.list_inbound(&filter).expect("list_inbound").items)
}

/// Takes records off the queue as processing does.
fn process(store: &dyn Store, ids: &[u64]) {
    apply(
        store,
        ProcessedBatch {
            records: ids
                .iter()
                .map(|&id| processed(id, InboundStatus::Processed))
                .collect(),
            ..ProcessedBatch::default()
        },
    );
}

/// Ids follow arrival order, within a call and across calls, and records read back whole.
pub(crate) fn ids_follow_arrival_order(store: &dyn Store) {
    let first = append_pending(store, "a", &[10, 20]);
    let second = append_pending(store, "b", &[30]);
    let ids: Vec<u64> = first.iter().chain(&second).copied().collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");

    let written = inbound("a", None, InboundStatus::Pending, 20);
    let mut read = store
        .inbound(ids[1])
        .unwrap()
        .expect("the record is stored");
    assert_eq!(read.id, ids[1]);
    read.id = 0;
    assert_eq!(
        read, written,
        "the record reads back as written, body included"
    );
    assert_eq!(store.inbound(ids[2] + 100).unwrap(), None);
}

/// A pending record repeating an accepted request UUID of its endpoint is a duplicate; the
/// same UUID on another endpoint, a UUID only rejected before, and records without a UUID are
/// not (the redb unit test this folds in).
pub(crate) fn repeats_are_duplicates_per_endpoint(store: &dyn Store) {
    let results = store
        .append_inbound(vec![
            inbound("a", Some("u1"), InboundStatus::Pending, 1),
            inbound("a", Some("u1"), InboundStatus::Pending, 2),
            inbound("b", Some("u1"), InboundStatus::Pending, 3),
            inbound("a", Some("u2"), InboundStatus::Rejected, 4),
            inbound("a", None, InboundStatus::Pending, 5),
            inbound("a", None, InboundStatus::Pending, 6),
        ])
        .unwrap();
    let Appended::Accepted(first) = results[0] else {
        panic!("the first u1 is accepted: {results:?}");
    };
    assert_eq!(results[1], Appended::Duplicate(first));
    assert!(matches!(results[2], Appended::Accepted(_)), "{results:?}");
    assert!(matches!(results[3], Appended::Logged(_)), "{results:?}");
    assert!(matches!(results[4], Appended::Accepted(_)), "{results:?}");
    assert!(matches!(results[5], Appended::Accepted(_)), "{results:?}");
    assert_eq!(store.queue_depth().unwrap(), 4);

    let duplicate = store.list_inbound(&InboundFilter {
        status: Some(InboundStatus::Duplicate),
        limit: 10,
        ..InboundFilter::default()
    });
    let duplicate = duplicate.unwrap().items;
    assert_eq!(duplicate.len(), 1);
    assert_eq!(duplicate[0].duplicate_of, Some(first));
    assert_eq!(duplicate[0].received_at, 2, "stored as given, status aside");

    let later = store
        .append_inbound(vec![
            inbound("a", Some("u2"), InboundStatus::Pending, 7),
            inbound("b", Some("u1"), InboundStatus::Pending, 8),
        ])
        .unwrap();
    assert!(matches!(later[0], Appended::Accepted(_)), "{later:?}");
    assert!(matches!(later[1], Appended::Duplicate(_)), "{later:?}");
}

/// Duplicates are detected across a restart, and the queue and bodies survive it.
pub(crate) fn repeats_are_detected_after_a_restart(subject: &mut Subject) {
    let results = subject
        .store()
        .append_inbound(vec![
            inbound("a", Some("u1"), InboundStatus::Pending, 1),
            inbound("b", Some("u1"), InboundStatus::Pending, 2),
        ])
        .unwrap();
    let (Appended::Accepted(a), Appended::Accepted(b)) = (results[0], results[1]) else {
        panic!("both are accepted: {results:?}");
    };
    subject.restart();
    let store = subject.store();
    assert_eq!(
        store
            .append_inbound(vec![inbound("a", Some("u1"), InboundStatus::Pending, 3)])
            .unwrap(),
        [Appended::Duplicate(a)]
    );
    assert_eq!(ids(&store.claim_queued(10).unwrap()), [a, b]);
    assert_eq!(
        store.inbound(b).unwrap().unwrap().body,
        "{\"received_at\":2}"
    );
}

/// Rejected and filtered records are kept in the log as given and never queued.
pub(crate) fn rejected_and_filtered_records_are_logged_not_queued(store: &dyn Store) {
    let mut rejected = inbound("a", Some("u1"), InboundStatus::Rejected, 1);
    rejected.reason = Some("bad signature".into());
    let mut filtered = inbound("a", Some("u2"), InboundStatus::Filtered, 2);
    filtered.reason = Some("not selected".into());
    let results = store.append_inbound(vec![rejected, filtered]).unwrap();
    let [Appended::Logged(rejected), Appended::Logged(filtered)] = results[..] else {
        panic!("both are logged: {results:?}");
    };
    assert_eq!(store.queue_depth().unwrap(), 0);
    assert_eq!(store.claim_queued(10).unwrap(), []);
    let rejected = store.inbound(rejected).unwrap().unwrap();
    assert_eq!(rejected.status, InboundStatus::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("bad signature"));
    let filtered = store.inbound(filtered).unwrap().unwrap();
    assert_eq!(filtered.status, InboundStatus::Filtered);
}

/// `claim_queued` gives the oldest records first, with bodies, and leaves them queued.
pub(crate) fn claimed_records_come_oldest_first_and_stay_queued(store: &dyn Store) {
    let queued = append_pending(store, "a", &[1, 2, 3]);
    let claimed = store.claim_queued(2).unwrap();
    assert_eq!(ids(&claimed), queued[..2]);
    assert_eq!(claimed[1].body, "{\"received_at\":2}");
    assert_eq!(ids(&store.claim_queued(2).unwrap()), queued[..2]);
    assert_eq!(store.queue_depth().unwrap(), 3);
    assert_eq!(ids(&store.claim_queued(10).unwrap()), queued);
}

/// The log is newest first without bodies; `next` pages on as `before`; filters combine.
pub(crate) fn list_inbound_pages_and_filters(store: &dyn Store) {
    let mut other_event = inbound("b", None, InboundStatus::Pending, 3);
    other_event.event = Some("pullrequest:created".into());
    let results = store
        .append_inbound(vec![
            inbound("a", None, InboundStatus::Pending, 1),
            inbound("a", None, InboundStatus::Filtered, 2),
            other_event,
            inbound("a", None, InboundStatus::Pending, 4),
            inbound("b", None, InboundStatus::Rejected, 5),
        ])
        .unwrap();
    let id: Vec<u64> = results
        .iter()
        .map(|appended| match appended {
            Appended::Accepted(id) | Appended::Logged(id) | Appended::Duplicate(id) => *id,
        })
        .collect();
    let list = |filter: InboundFilter| store.list_inbound(&filter).unwrap();

    let first = list(InboundFilter {
        limit: 2,
        ..InboundFilter::default()
    });
    assert_eq!(ids(&first.items), [id[4], id[3]]);
    assert!(first.items.iter().all(|record| record.body.is_empty()));
    let before = first
        .next
        .as_deref()
        .map(|next| next.parse().expect("a cursor"));
    let second = list(InboundFilter {
        before,
        limit: 2,
        ..InboundFilter::default()
    });
    assert_eq!(ids(&second.items), [id[2], id[1]]);
    let before = second
        .next
        .as_deref()
        .map(|next| next.parse().expect("a cursor"));
    let last = list(InboundFilter {
        before,
        limit: 2,
        ..InboundFilter::default()
    });
    assert_eq!(ids(&last.items), [id[0]]);
    assert_eq!(last.next, None);

    let endpoint_a = list(InboundFilter {
        endpoint: Some("a".into()),
        limit: 10,
        ..InboundFilter::default()
    });
    assert_eq!(ids(&endpoint_a.items), [id[3], id[1], id[0]]);
    let pending_a = list(InboundFilter {
        endpoint: Some("a".into()),
        status: Some(InboundStatus::Pending),
        limit: 1,
        ..InboundFilter::default()
    });
    assert_eq!(ids(&pending_a.items), [id[3]]);
    assert!(pending_a.next.is_some(), "one more pending record of a");
    let pull_requests = list(InboundFilter {
        event: Some("pullrequest:created".into()),
        limit: 10,
        ..InboundFilter::default()
    });
    assert_eq!(ids(&pull_requests.items), [id[2]]);
    assert_eq!(pull_requests.next, None);
}

/// A replay queues a processed record again, pending with its outcomes cleared.
pub(crate) fn requeue_puts_a_processed_record_back(store: &dyn Store) {
    let [id] = append_pending(store, "a", &[1])[..] else {
        unreachable!()
    };
    process(store, &[id]);
    assert_eq!(store.queue_depth().unwrap(), 0);
    assert!(store.requeue_inbound(id).unwrap());
    let record = store.inbound(id).unwrap().unwrap();
    assert_eq!(record.status, InboundStatus::Pending);
    assert_eq!(record.outcomes, []);
    assert_eq!(record.processed_at, None);
    assert_eq!(record.body, "{\"received_at\":1}", "the body is kept");
    assert_eq!(ids(&store.claim_queued(10).unwrap()), [id]);
    assert!(
        !store.requeue_inbound(id + 1_000).unwrap(),
        "no such record"
    );
}

/// Records received before the bound go, except queued ones (the redb unit test this folds
/// in).
pub(crate) fn prune_by_age_keeps_queued_records(store: &dyn Store) {
    let mut batch = vec![inbound("a", Some("queued"), InboundStatus::Pending, 10)];
    for n in 0..10 {
        let uuid = format!("u{n}");
        batch.push(inbound("a", Some(&uuid), InboundStatus::Filtered, 100 + n));
    }
    let appended = store.append_inbound(batch).unwrap();
    let Appended::Accepted(queued) = appended[0] else {
        panic!("{appended:?}")
    };
    let before = all(store);
    // Older than 105: the queued record (10) stays, 100..=104 go.
    assert_eq!(store.prune_inbound(&retention(105, 1_000)).unwrap(), 5);
    assert!(store.inbound(queued).unwrap().is_some(), "queued is kept");
    assert_eq!(all(store), [&before[..5], &[queued]].concat());
    assert_eq!(store.queue_depth().unwrap(), 1);
    assert_eq!(
        store.prune_inbound(&retention(105, 1_000)).unwrap(),
        0,
        "nothing more"
    );
}

/// Beyond the newest `max_records`, the oldest records go, except queued ones, which count
/// among those kept (the redb unit test this folds in).
pub(crate) fn prune_by_count_keeps_queued_records(store: &dyn Store) {
    let mut batch = vec![inbound("a", Some("queued"), InboundStatus::Pending, 10)];
    for n in 0..5 {
        let uuid = format!("u{n}");
        batch.push(inbound("a", Some(&uuid), InboundStatus::Filtered, 100 + n));
    }
    store.append_inbound(batch).unwrap();
    let before = all(store);
    assert_eq!(store.prune_inbound(&retention(0, 3)).unwrap(), 3);
    assert_eq!(all(store), [before[0], before[1], before[5]]);
    assert_eq!(
        store.prune_inbound(&retention(0, 3)).unwrap(),
        0,
        "nothing more"
    );
}

/// Pruning frees the request UUIDs of the records it deletes, and only theirs.
pub(crate) fn a_pruned_request_uuid_is_accepted_again(store: &dyn Store) {
    let appended = store
        .append_inbound(vec![
            inbound("a", Some("done"), InboundStatus::Pending, 1),
            inbound("a", Some("waiting"), InboundStatus::Pending, 2),
            inbound("a", Some("recent"), InboundStatus::Pending, 500),
        ])
        .unwrap();
    let [Appended::Accepted(done), _, Appended::Accepted(recent)] = appended[..] else {
        panic!("{appended:?}")
    };
    process(store, &[done, recent]);
    assert_eq!(store.prune_inbound(&retention(100, 1_000)).unwrap(), 1);
    assert_eq!(store.inbound(done).unwrap(), None);
    let again = store
        .append_inbound(vec![
            inbound("a", Some("done"), InboundStatus::Pending, 600),
            inbound("a", Some("waiting"), InboundStatus::Pending, 601),
            inbound("a", Some("recent"), InboundStatus::Pending, 602),
        ])
        .unwrap();
    assert!(matches!(again[0], Appended::Accepted(_)), "{again:?}");
    assert!(matches!(again[1], Appended::Duplicate(_)), "{again:?}");
    assert_eq!(again[2], Appended::Duplicate(recent));
}

/// Retention by age and by count of the records that are not rejected.
fn retention(older_than_ms: u64, max_records: u64) -> InboundRetention {
    InboundRetention {
        older_than_ms,
        max_records,
        max_rejected_records: u64::MAX,
    }
}

/// The statuses of every record, oldest first.
pub(crate) fn statuses(store: &dyn Store) -> Vec<InboundStatus> {
    let page = store
        .list_inbound(&InboundFilter {
            limit: 1000,
            ..InboundFilter::default()
        })
        .unwrap();
    page.items
        .iter()
        .rev()
        .map(|record| record.status)
        .collect()
}

/// Rejected records are counted apart from the others: a flood of them after the real
/// history prunes only itself, and the other bound and age still hold.
pub(crate) fn a_flood_of_rejected_records_never_prunes_accepted_history(store: &dyn Store) {
    let bounds = |max_records, max_rejected_records| InboundRetention {
        older_than_ms: 0,
        max_records,
        max_rejected_records,
    };
    let history: Vec<_> = (0..5)
        .map(|n| inbound("a", None, InboundStatus::Filtered, 100 + n))
        .collect();
    store.append_inbound(history).unwrap();
    let flood: Vec<_> = (0..20)
        .map(|n| inbound("a", None, InboundStatus::Rejected, 200 + n))
        .collect();
    store.append_inbound(flood).unwrap();

    assert_eq!(store.prune_inbound(&bounds(5, 3)).unwrap(), 17);
    assert_eq!(
        statuses(store),
        [
            [InboundStatus::Filtered; 5].as_slice(),
            &[InboundStatus::Rejected; 3]
        ]
        .concat()
    );
    assert_eq!(
        store.prune_inbound(&bounds(5, 3)).unwrap(),
        0,
        "nothing more"
    );
    assert_eq!(store.prune_inbound(&bounds(2, 3)).unwrap(), 3);
    let too_old = InboundRetention {
        older_than_ms: 201,
        ..bounds(100, 100)
    };
    assert_eq!(
        store.prune_inbound(&too_old).unwrap(),
        2,
        "the two filtered (103, 104)"
    );
    assert_eq!(statuses(store), [InboundStatus::Rejected; 3]);
}

/// Every filter (endpoint, status, event, and each pair) answers what a scan of the whole log
/// would, page by page, after each kind of write that changes a record's status or removes
/// it: processing (to processed and to failed), a replay (back to pending), retention. The
/// filters are served from indexes in some backends; this holds the indexes to the records.
pub(crate) fn filters_follow_every_status_change_and_prune(store: &dyn Store) {
    let mut records = Vec::new();
    for at in 1..=24u64 {
        let endpoint = if at % 3 == 0 { "b" } else { "a" };
        let mut record = inbound(endpoint, None, InboundStatus::Pending, at);
        if at % 4 == 0 {
            record.event = Some("pullrequest:created".into());
        }
        if at % 5 == 0 {
            record.event = None;
        }
        if at % 7 == 0 {
            record.status = InboundStatus::Rejected;
        }
        records.push(record);
    }
    let appended: Vec<u64> = store
        .append_inbound(records)
        .unwrap()
        .into_iter()
        .map(|appended| match appended {
            Appended::Accepted(id) | Appended::Logged(id) | Appended::Duplicate(id) => id,
        })
        .collect();
    let check = |when: &str| {
        let everything = {
            let filter = InboundFilter {
                limit: 1_000,
                ..InboundFilter::default()
            };
            store.list_inbound(&filter).unwrap().items
        };
        let endpoints = [None, Some("a"), Some("b"), Some("c")];
        let statuses = [
            None,
            Some(InboundStatus::Pending),
            Some(InboundStatus::Processed),
            Some(InboundStatus::Failed),
            Some(InboundStatus::Rejected),
        ];
        let events = [None, Some("repo:push"), Some("pullrequest:created")];
        for endpoint in endpoints {
            for status in statuses {
                for event in events {
                    let expected: Vec<u64> = everything
                        .iter()
                        .filter(|r| endpoint.is_none_or(|e| r.endpoint == e))
                        .filter(|r| status.is_none_or(|s| r.status == s))
                        .filter(|r| event.is_none_or(|e| r.event.as_deref() == Some(e)))
                        .map(|r| r.id)
                        .collect();
                    // Pages of 2, following the cursor, add up to the scan.
                    let mut listed = Vec::new();
                    let mut before = None;
                    loop {
                        let page = store
                            .list_inbound(&InboundFilter {
                                endpoint: endpoint.map(Into::into),
                                status,
                                event: event.map(Into::into),
                                before,
                                limit: 2,
                            })
                            .unwrap();
                        listed.extend(ids(&page.items));
                        match page.next {
                            Some(next) => before = Some(next.parse().expect("a cursor")),
                            None => break,
                        }
                    }
                    assert_eq!(
                        listed, expected,
                        "{when}: endpoint {endpoint:?}, status {status:?}, event {event:?}"
                    );
                }
            }
        }
    };
    check("as appended");

    let accepted: Vec<u64> = appended
        .iter()
        .copied()
        .filter(|id| store.inbound(*id).unwrap().unwrap().status == InboundStatus::Pending)
        .collect();
    apply(
        store,
        ProcessedBatch {
            records: accepted
                .iter()
                .enumerate()
                .map(|(n, &id)| {
                    let status = if n % 2 == 0 {
                        InboundStatus::Processed
                    } else {
                        InboundStatus::Failed
                    };
                    processed(id, status)
                })
                .collect(),
            ..ProcessedBatch::default()
        },
    );
    check("after processing");

    assert!(store.requeue_inbound(accepted[1]).unwrap());
    assert!(store.requeue_inbound(accepted[2]).unwrap());
    check("after a replay");

    let removed = store
        .prune_inbound(&InboundRetention {
            older_than_ms: 9,
            max_records: 1_000,
            max_rejected_records: 1_000,
        })
        .unwrap();
    assert!(removed > 0);
    check("after retention");
}
