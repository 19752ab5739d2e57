//! The contract every backend passes: one check per promise of [`Store`], written against the
//! trait alone. A backend runs them all with [`store_contract_tests!`], giving it a factory of
//! [`Subject`]s (a fresh, empty store and a way to open the same data again):
//!
//! ```ignore
//! #[cfg(test)]
//! mod tests {
//!     fn subject() -> crate::store::contract::Subject { /* a fresh store */ }
//!     crate::store::contract::store_contract_tests!(subject);
//! }
//! ```
//!
//! Each check is a `#[test]` of its own in the backend's module, named after the check
//! (`inbound::repeats_are_duplicates_per_endpoint`, `restart::...`). A check added here and
//! not listed in the macro is dead code, which clippy refuses.

pub(crate) mod alerts;
pub(crate) mod bitbucket;
pub(crate) mod copy;
pub(crate) mod deliveries;
pub(crate) mod directory;
pub(crate) mod endpoints;
pub(crate) mod inbound;
pub(crate) mod processing;

use crate::runtime::{Alert, OutboundRequest};
use crate::store::{
    AlertRecord, AlertState, AlertWrite, Appended, DeliveryRecord, DeliveryRequest, DeliveryStatus,
    Durability, EndpointRecord, EventSelection, IdKind, InboundRecord, InboundStatus,
    ProcessedBatch, ProcessedRecord, Store,
};
use std::any::Any;
use std::sync::Arc;

/// A store under test: the store, how to open its data again (a restart), and whatever keeps
/// the data alive meanwhile (a temp dir, a scratch database), dropped last.
pub(crate) struct Subject {
    store: Option<Arc<dyn Store>>,
    open: Box<dyn Fn() -> Arc<dyn Store>>,
    _keep: Box<dyn Any>,
}

impl Subject {
    /// Opens the store with `open`, which must give the same data each time it is called
    /// (after the previous store was dropped); `keep` lives as long as the subject.
    pub(crate) fn new(open: impl Fn() -> Arc<dyn Store> + 'static, keep: impl Any) -> Self {
        Self {
            store: Some(open()),
            open: Box::new(open),
            _keep: Box::new(keep),
        }
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_deref().expect("the store is open")
    }

    /// Drops the store (every handle of it) and opens its data again, as a restart does.
    pub(crate) fn restart(&mut self) {
        self.store = None;
        self.store = Some((self.open)());
    }
}

/// Expands to one `#[test]` per contract check, each on a fresh store from `$subject` (a
/// `fn() -> Subject`, or a closure).
macro_rules! store_contract_tests {
    ($subject:expr) => {
        fn contract_subject() -> $crate::store::contract::Subject {
            ($subject)()
        }
        $crate::store::contract::store_contract_tests!(@checks
            inbound {
                ids_follow_arrival_order,
                repeats_are_duplicates_per_endpoint,
                rejected_and_filtered_records_are_logged_not_queued,
                claimed_records_come_oldest_first_and_stay_queued,
                list_inbound_pages_and_filters,
                requeue_puts_a_processed_record_back,
                prune_by_age_keeps_queued_records,
                prune_by_count_keeps_queued_records,
                a_flood_of_rejected_records_never_prunes_accepted_history,
                a_pruned_request_uuid_is_accepted_again,
                filters_follow_every_status_change_and_prune,
            }
            processing {
                apply_takes_records_off_the_queue_with_their_results,
                reserved_ids_are_never_handed_out_twice,
                a_changed_open_alert_refuses_the_whole_batch,
                an_unexpected_open_alert_refuses_the_whole_batch,
                a_stale_alert_revision_refuses_the_whole_batch,
                a_group_commit_appends_and_applies_each_batch_on_its_own,
            }
            alerts {
                an_inserted_alert_is_the_open_one,
                updates_append_and_close_and_the_index_follows,
                the_same_key_on_two_endpoints_is_two_alerts,
                update_alert_bumps_the_revision_and_refuses_a_stale_one,
                an_operator_close_leaves_the_index,
                firing_alert_counts_count_open_and_acknowledged,
                list_alerts_pages_and_filters,
                escalation_steps_come_due_with_the_alert_writes,
                firing_alerts_are_the_open_and_acknowledged,
                the_history_is_kept_apart_and_appends_add_to_it,
                retention_takes_closed_alerts_with_their_history,
            }
            deliveries {
                due_deliveries_come_soonest_first_and_never_early,
                recorded_attempts_move_the_due_index,
                failures_disable_a_destination_at_the_limit,
                successes_and_unsent_attempts_and_no_limit,
                schedule_retry_makes_a_delivery_due,
                deliveries_for_inbound_are_its_own_oldest_first,
                list_deliveries_pages_and_filters,
                retention_takes_finished_deliveries_only,
            }
            directory {
                ids_are_per_kind_and_entries_read_back,
                updates_are_conditional_on_the_revision,
                a_deleted_id_is_never_reused,
            }
            bitbucket {
                connections_are_kept_per_endpoint_and_deleted,
            }
            copy {
                a_copy_holds_every_record_and_goes_on_from_it,
            }
            endpoints {
                a_fresh_store_is_healthy,
                endpoints_are_listed_newest_first,
                a_saved_change_is_seen_at_once,
                a_quarantine_is_read_back_until_released,
            }
        );
        $crate::store::contract::store_contract_tests!(@restarts
            inbound::repeats_are_detected_after_a_restart,
            processing::written_ids_are_not_handed_out_after_a_restart,
            endpoints::endpoints_survive_a_restart,
            endpoints::quarantines_survive_a_restart,
            directory::the_directory_survives_a_restart,
            directory::secret_keys_are_made_once,
            bitbucket::connections_survive_a_restart,
        );
    };
    (@checks $($module:ident { $($check:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[test]
                    fn $check() {
                        let subject = super::contract_subject();
                        $crate::store::contract::$module::$check(subject.store());
                    }
                )*
            }
        )*
    };
    (@restarts $($module:ident :: $check:ident),* $(,)?) => {
        mod restart {
            $(
                #[test]
                fn $check() {
                    let mut subject = super::contract_subject();
                    $crate::store::contract::$module::$check(&mut subject);
                }
            )*
        }
    };
}

pub(crate) use store_contract_tests;

// Fixtures: records as the gateway makes them, with only what a check looks at varying.

/// An inbound record as ingest hands it to the store.
pub(crate) fn inbound(
    endpoint: &str,
    uuid: Option<&str>,
    status: InboundStatus,
    received_at: u64,
) -> InboundRecord {
    InboundRecord {
        id: 0,
        endpoint: endpoint.into(),
        received_at,
        event: Some("repo:push".into()),
        request_uuid: uuid.map(Into::into),
        attempt: 1,
        status,
        reason: None,
        outcomes: Vec::new(),
        headers: vec![("x-event-key".into(), "repo:push".into())],
        body: format!("{{\"received_at\":{received_at}}}"),
        body_truncated: false,
        processed_at: None,
        duplicate_of: None,
    }
}

/// Appends pending records without request UUIDs; their ids.
pub(crate) fn append_pending(store: &dyn Store, endpoint: &str, received_at: &[u64]) -> Vec<u64> {
    let records = received_at
        .iter()
        .map(|&at| inbound(endpoint, None, InboundStatus::Pending, at))
        .collect();
    store
        .append_inbound(records)
        .expect("append_inbound")
        .into_iter()
        .map(|appended| match appended {
            Appended::Accepted(id) => id,
            other => panic!("a new pending record is accepted, got {other:?}"),
        })
        .collect()
}

/// A record's result: `status` with one outcome.
pub(crate) fn processed(id: u64, status: InboundStatus) -> ProcessedRecord {
    ProcessedRecord {
        id,
        status: Some(status),
        outcomes: vec![crate::store::Outcome {
            plugin: "mapper".into(),
            outcome: "Mapped Opened".into(),
            detail: Some("k".into()),
            alert: None,
        }],
        processed_at: 5_000,
    }
}

/// A new open alert with a reserved id, not written yet.
pub(crate) fn new_alert(store: &dyn Store, endpoint: &str, key: &str) -> AlertRecord {
    AlertRecord {
        id: store.reserve_ids(IdKind::Alert, 1).expect("reserve_ids"),
        endpoint: endpoint.into(),
        key: key.into(),
        state: AlertState::Open,
        alert: Alert {
            key: key.into(),
            title: format!("{key} failed"),
            source_status: "FAILED".into(),
            url: None,
            description: None,
            commit_hash: None,
            commit_message: None,
            actor: None,
            labels: vec![("branch".into(), "main".into())],
            severity: Default::default(),
        },
        count: 1,
        opened_at: 1_000,
        last_seen_at: 1_000,
        acknowledged_at: None,
        closed_at: None,
        closed_by: None,
        acknowledged_by: None,
        escalation: None,
        history: Vec::new(),
        revision: 0,
    }
}

/// Opens an alert as processing does (expecting no open alert for its key); the stored alert.
pub(crate) fn open_alert(store: &dyn Store, endpoint: &str, key: &str) -> AlertRecord {
    let alert = new_alert(store, endpoint, key);
    apply(
        store,
        ProcessedBatch {
            expected_open: vec![((endpoint.into(), key.into()), None)],
            alerts: vec![AlertWrite::Insert(alert.clone())],
            ..ProcessedBatch::default()
        },
    );
    store
        .alert(alert.id)
        .expect("alert")
        .expect("the inserted alert is stored")
}

/// A new pending delivery with a reserved id, due at `due_at`, not written yet.
pub(crate) fn new_delivery(
    store: &dyn Store,
    endpoint: &str,
    inbound_id: Option<u64>,
    due_at: u64,
) -> DeliveryRecord {
    DeliveryRecord {
        id: store.reserve_ids(IdKind::Delivery, 1).expect("reserve_ids"),
        endpoint: endpoint.into(),
        inbound_id,
        destination: 0,
        kind: "webhook".into(),
        notification: "message".into(),
        status: DeliveryStatus::Pending,
        request: DeliveryRequest::Http(OutboundRequest {
            method: "POST".into(),
            url: "https://receiver.example/hook".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{\"text\":\"hello\"}".to_vec(),
            credential: None,
        }),
        attempts: Vec::new(),
        next_attempt_at: Some(due_at),
        created_at: due_at,
        alert: None,
        page: None,
    }
}

/// Writes deliveries as processing does; they are returned as written.
pub(crate) fn write_deliveries(
    store: &dyn Store,
    deliveries: Vec<DeliveryRecord>,
) -> Vec<DeliveryRecord> {
    apply(
        store,
        ProcessedBatch {
            deliveries: deliveries.clone(),
            ..ProcessedBatch::default()
        },
    );
    deliveries
}

/// Applies a batch durably, which must succeed.
pub(crate) fn apply(store: &dyn Store, batch: ProcessedBatch) {
    store
        .apply_processing(&batch, Durability::BeforeAnswer)
        .expect("apply_processing");
}

/// An endpoint as `endpoint create` stores it.
pub(crate) fn endpoint(id: &str, created_at: u64) -> EndpointRecord {
    EndpointRecord {
        id: id.into(),
        name: format!("endpoint {id}"),
        provider: "bitbucket".into(),
        selection: EventSelection::Keyword("push".into()),
        events: vec!["repo:push".into()],
        secret: Some("s3cret".into()),
        enabled: true,
        alerts: None,
        format: None,
        destinations: Vec::new(),
        created_at,
        rate_limit: None,
        bitbucket: None,
        escalation_policy: None,
        auto_close_after: None,
        quarantined: Vec::new(),
    }
}
