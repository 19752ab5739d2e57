//! The records the gateway keeps, as every backend stores them: endpoints, the inbound log,
//! alerts, deliveries, destination health and the on-call directory. Plain data with serde; no backend type here.

mod alerts;
mod copied;
mod deliveries;
mod destinations;
mod directory;
mod endpoints;
mod inbound;
mod processing;
mod shared;

pub use alerts::{
    AlertFilter, AlertRecord, AlertState, Escalation, EscalationStepFired, PageLogEntry,
};
pub use copied::{CopiedRecord, CopyKey, RecordCounts, RecordKind};
pub use deliveries::{
    DeliveryAttempt, DeliveryFilter, DeliveryRecord, DeliveryRequest, DeliveryStatus, EmailRequest,
    PAGE_NOTIFICATION, PageTarget, TEST_NOTIFICATION,
};
pub use destinations::{AttemptOutcome, DestinationHealth, RecordedAttempt};
pub use directory::{DirectoryEntry, DirectoryKind};
pub use endpoints::{
    BitbucketLink, Destination, EndpointRecord, EventSelection, FormatSpec, PluginQuarantine,
    PluginRef, QuarantineChange,
};
pub use inbound::{Appended, InboundFilter, InboundRecord, InboundStatus, Outcome};
pub use processing::{
    AlertScope, AlertVersion, AlertWrite, GroupCommitted, ProcessedBatch, ProcessedRecord,
};
pub use shared::{SessionRecord, StoredPlugin};

use serde::Serialize;

/// A page of records, newest first, and the cursor for the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; `None` at the end.
    pub next: Option<String>,
}
