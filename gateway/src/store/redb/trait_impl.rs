//! [`Store`] for [`RedbStore`]: each operation is written in the file of its records.

use super::RedbStore;
use crate::store::InboundRetention;
use crate::store::{
    AlertFilter, AlertRecord, Appended, CopiedRecord, CopyKey, DeliveryFilter, DeliveryRecord,
    DestinationHealth, DirectoryEntry, DirectoryKind, Durability, EndpointRecord, GroupCommitted,
    IdKind, InboundFilter, InboundRecord, Page, ProcessedBatch, QuarantineChange, RecordCounts,
    RecordKind, RecordedAttempt, RetryScheduled, SessionRecord, Store, StoreError, StoredPlugin,
};
use std::collections::BTreeMap;
use std::sync::Arc;

impl Store for RedbStore {
    fn is_healthy(&self, probe_bytes: usize) -> bool {
        Self::is_healthy(self, probe_bytes)
    }

    fn save_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        Self::save_endpoint(self, endpoint)
    }

    fn endpoint(&self, id: &str) -> Result<Option<Arc<EndpointRecord>>, StoreError> {
        Self::endpoint(self, id)
    }

    fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        Self::endpoints(self)
    }

    fn change_quarantine(
        &self,
        endpoint: &str,
        change: &QuarantineChange,
    ) -> Result<bool, StoreError> {
        Self::change_quarantine(self, endpoint, change)
    }

    fn append_inbound(&self, records: Vec<InboundRecord>) -> Result<Vec<Appended>, StoreError> {
        Self::append_inbound(self, records)
    }

    fn inbound(&self, id: u64) -> Result<Option<InboundRecord>, StoreError> {
        Self::inbound(self, id)
    }

    fn list_inbound(&self, filter: &InboundFilter) -> Result<Page<InboundRecord>, StoreError> {
        Self::list_inbound(self, filter)
    }

    fn claim_queued(&self, limit: usize) -> Result<Vec<InboundRecord>, StoreError> {
        Self::claim_queued(self, limit)
    }

    fn queue_depth(&self) -> Result<u64, StoreError> {
        Self::queue_depth(self)
    }

    fn requeue_inbound(&self, id: u64) -> Result<bool, StoreError> {
        Self::requeue_inbound(self, id)
    }

    fn prune_inbound(&self, bounds: &InboundRetention) -> Result<u64, StoreError> {
        Self::prune_inbound(self, bounds)
    }

    fn reserve_ids(&self, kind: IdKind, count: u64) -> Result<u64, StoreError> {
        Ok(Self::reserve_ids(self, kind, count))
    }

    fn open_alert(&self, endpoint: &str, key: &str) -> Result<Option<AlertRecord>, StoreError> {
        Self::open_alert(self, endpoint, key)
    }

    fn apply_processing(
        &self,
        batch: &ProcessedBatch,
        durability: Durability,
    ) -> Result<(), StoreError> {
        Self::apply_processing(self, batch, durability)
    }

    fn commits_processing_with_ingest(&self) -> bool {
        true
    }

    fn commit_group(
        &self,
        records: Vec<InboundRecord>,
        batches: &[ProcessedBatch],
    ) -> Result<GroupCommitted, StoreError> {
        Self::commit_group(self, records, batches)
    }

    fn secret_key(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        Self::secret_key(self, name)
    }

    fn create_directory_entry(
        &self,
        kind: DirectoryKind,
        body: &serde_json::Value,
    ) -> Result<DirectoryEntry, StoreError> {
        Self::create_directory_entry(self, kind, body)
    }

    fn directory_entry(&self, id: &str) -> Result<Option<DirectoryEntry>, StoreError> {
        Self::directory_entry(self, id)
    }

    fn directory(&self, kind: DirectoryKind) -> Result<Vec<DirectoryEntry>, StoreError> {
        Self::directory(self, kind)
    }

    fn update_directory_entry(&self, entry: &DirectoryEntry) -> Result<DirectoryEntry, StoreError> {
        Self::update_directory_entry(self, entry)
    }

    fn delete_directory_entry(&self, id: &str) -> Result<bool, StoreError> {
        Self::delete_directory_entry(self, id)
    }

    fn alert(&self, id: u64) -> Result<Option<AlertRecord>, StoreError> {
        Self::alert(self, id)
    }

    fn list_alerts(&self, filter: &AlertFilter) -> Result<Page<AlertRecord>, StoreError> {
        Self::list_alerts(self, filter)
    }

    fn alert_history(
        &self,
        alert: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<u64>, StoreError> {
        Self::alert_history(self, alert, before, limit)
    }

    fn alert_history_contains(&self, alert: u64, inbound: u64) -> Result<bool, StoreError> {
        Self::alert_history_contains(self, alert, inbound)
    }

    fn update_alert(&self, alert: &AlertRecord) -> Result<AlertRecord, StoreError> {
        Self::update_alert(self, alert)
    }

    fn due_escalations(&self, now_ms: u64, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        Self::due_escalations(self, now_ms, limit)
    }

    fn next_escalation_due_at(&self) -> Result<Option<u64>, StoreError> {
        Self::next_escalation_due_at(self)
    }

    fn prune_closed_alerts(&self, closed_before_ms: u64) -> Result<u64, StoreError> {
        Self::prune_closed_alerts(self, closed_before_ms)
    }

    fn prune_finished_deliveries(&self, created_before_ms: u64) -> Result<u64, StoreError> {
        Self::prune_finished_deliveries(self, created_before_ms)
    }

    fn firing_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
        Self::firing_alerts(self)
    }

    fn firing_alert_counts(&self) -> Result<(u64, u64), StoreError> {
        Self::firing_alert_counts(self)
    }

    fn delivery(&self, id: u64) -> Result<Option<DeliveryRecord>, StoreError> {
        Self::delivery(self, id)
    }

    fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Page<DeliveryRecord>, StoreError> {
        Self::list_deliveries(self, filter)
    }

    fn deliveries_for_inbound(
        &self,
        inbound_id: u64,
        received_at: u64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        Self::deliveries_for_inbound(self, inbound_id, received_at)
    }

    fn due_deliveries(&self, now_ms: u64, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError> {
        Self::due_deliveries(self, now_ms, limit)
    }

    fn next_due_at(&self) -> Result<Option<u64>, StoreError> {
        Self::next_due_at(self)
    }

    fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        disable_after_failures: u32,
        durability: Durability,
    ) -> Result<Vec<Option<DestinationHealth>>, StoreError> {
        Self::record_attempts(self, attempts, disable_after_failures, durability)
    }

    fn schedule_retry(&self, id: u64, at: u64) -> Result<RetryScheduled, StoreError> {
        Self::schedule_retry(self, id, at)
    }

    fn destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<DestinationHealth, StoreError> {
        Self::destination_health(self, endpoint, destination)
    }

    fn endpoint_destination_health(
        &self,
        endpoint: &str,
    ) -> Result<BTreeMap<usize, DestinationHealth>, StoreError> {
        Self::endpoint_destination_health(self, endpoint)
    }

    fn disabled_destination_count(&self) -> Result<u64, StoreError> {
        Self::disabled_destination_count(self)
    }

    fn reset_destination_health(
        &self,
        endpoint: &str,
        destination: usize,
    ) -> Result<bool, StoreError> {
        Self::reset_destination_health(self, endpoint, destination)
    }

    fn backup_to(&self, to: &std::path::Path) -> Result<u64, StoreError> {
        Self::backup_to(self, to)
    }

    fn save_bitbucket_connection(&self, endpoint: &str, sealed: &[u8]) -> Result<(), StoreError> {
        Self::save_bitbucket_connection(self, endpoint, sealed)
    }

    fn bitbucket_connection(&self, endpoint: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Self::bitbucket_connection(self, endpoint)
    }

    fn delete_bitbucket_connection(&self, endpoint: &str) -> Result<bool, StoreError> {
        Self::delete_bitbucket_connection(self, endpoint)
    }

    fn save_session(&self, digest: &[u8; 32], session: &SessionRecord) -> Result<(), StoreError> {
        Self::save_session(self, digest, session)
    }

    fn session(&self, digest: &[u8; 32], now_ms: u64) -> Result<Option<SessionRecord>, StoreError> {
        Self::session(self, digest, now_ms)
    }

    fn delete_session(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        Self::delete_session(self, digest)
    }

    fn save_plugin(&self, plugin: &StoredPlugin) -> Result<(), StoreError> {
        Self::save_plugin(self, plugin)
    }

    fn stored_plugins(&self) -> Result<Vec<StoredPlugin>, StoreError> {
        Self::stored_plugins(self)
    }

    fn stored_plugin(&self, name: &str) -> Result<Option<StoredPlugin>, StoreError> {
        Self::stored_plugin(self, name)
    }

    fn delete_plugin(&self, name: &str) -> Result<bool, StoreError> {
        Self::delete_plugin(self, name)
    }

    fn copy_page(
        &self,
        kind: RecordKind,
        after: Option<&CopyKey>,
        limit: usize,
    ) -> Result<Vec<CopiedRecord>, StoreError> {
        Self::copy_page(self, kind, after, limit)
    }

    fn copy_in(&self, records: Vec<CopiedRecord>) -> Result<(), StoreError> {
        Self::copy_in(self, records)
    }

    fn record_counts(&self) -> Result<RecordCounts, StoreError> {
        Self::record_counts(self)
    }
}
