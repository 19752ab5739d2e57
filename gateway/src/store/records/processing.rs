//! What processing a batch of queued records writes: planned outside the store (plugins and
//! the notifier ran first), applied in one write by [`crate::store::Store::apply_processing`].

use super::{AlertRecord, Appended, DeliveryRecord, InboundStatus, Outcome};
use crate::store::StoreError;

/// The results of processing queued records, applied all together or not at all.
#[derive(Debug, Clone, Default)]
pub struct ProcessedBatch {
    /// The records' results, in arrival order; each leaves the queue.
    pub records: Vec<ProcessedRecord>,
    /// The open alert each touched key had when the batch was planned: `(endpoint, key)` →
    /// `(alert id, revision)` or none. The write is refused with a conflict when any of them
    /// changed since, so the batch is planned again on the new state.
    pub expected_open: Vec<(AlertScope, Option<AlertVersion>)>,
    /// Alerts created or changed, in order (one alert may appear once only).
    pub alerts: Vec<AlertWrite>,
    /// New deliveries, each with an id from [`crate::store::Store::reserve_ids`].
    pub deliveries: Vec<DeliveryRecord>,
}

/// What one group commit ([`crate::store::Store::commit_group`]) did.
#[derive(Debug)]
pub struct GroupCommitted {
    /// Per record appended, in order.
    pub appended: Vec<Appended>,
    /// Per batch, in order: applied, or refused as [`crate::store::Store::apply_processing`]
    /// refuses (nothing of it written).
    pub applied: Vec<Result<(), StoreError>>,
}

/// `(endpoint, key)`: where an alert key is unique.
pub type AlertScope = (String, String);
/// `(alert id, revision)`: one state of one alert.
pub type AlertVersion = (u64, u64);

/// One record's results.
#[derive(Debug, Clone)]
pub struct ProcessedRecord {
    /// The inbound record.
    pub id: u64,
    /// `processed` or `failed`; `None` when the record or its endpoint is gone (it only leaves
    /// the queue).
    pub status: Option<InboundStatus>,
    /// Per plugin.
    pub outcomes: Vec<Outcome>,
    /// When processing finished, ms.
    pub processed_at: u64,
}

/// An alert to write.
#[derive(Debug, Clone)]
pub enum AlertWrite {
    /// A new alert, its id reserved.
    Insert(AlertRecord),
    /// An existing alert, planned from the revision it has now.
    Update(AlertRecord),
}

impl AlertWrite {
    /// The alert written.
    pub fn record(&self) -> &AlertRecord {
        match self {
            Self::Insert(record) | Self::Update(record) => record,
        }
    }
}
