//! Deliveries: each notification × destination, stored before it is attempted, with every
//! attempt.

use crate::runtime::OutboundRequest;
use serde::{Deserialize, Serialize};

/// Delivery status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Failed for good (a 4xx, or the last attempt).
    Failed,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// When, ms.
    pub at: u64,
    /// The answer's status, when there was one.
    pub status_code: Option<u16>,
    /// How long it took.
    pub duration_ms: u64,
    /// Connection error, timeout, refusal.
    pub error: Option<String>,
    /// The first 1 KiB of the answer.
    pub response: Option<String>,
}

/// One notification to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Sequence.
    pub id: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Inbound record that caused it (none for operator actions).
    pub inbound_id: Option<u64>,
    /// Index of the destination in the endpoint.
    pub destination: usize,
    /// Destination kind.
    pub kind: String,
    /// `message`, `alert.opened`, `alert.closed`.
    pub notification: String,
    /// Status.
    pub status: DeliveryStatus,
    /// The request the notifier shaped (before signing).
    pub request: OutboundRequest,
    /// Attempts so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due, ms.
    pub next_attempt_at: Option<u64>,
    /// Created, ms.
    pub created_at: u64,
}

/// Filters of the delivery list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Status.
    pub status: Option<DeliveryStatus>,
    /// Endpoint id.
    pub endpoint: Option<String>,
    /// Only ids below this.
    pub before: Option<u64>,
    /// Page size.
    pub limit: usize,
}
