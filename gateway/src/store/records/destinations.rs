//! Destination health: consecutive failed delivery attempts per endpoint destination, and
//! whether that count disabled it. Updated in the same commit as the attempts it counts.

use super::DeliveryRecord;
use serde::{Deserialize, Serialize};

/// The failure count of one destination, and when and why it was disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationHealth {
    /// Failed attempts since the last success (or since it was enabled).
    pub consecutive_failures: u32,
    /// When the count reached the limit, ms; deliveries to it are not attempted until it is
    /// enabled again.
    pub disabled_at: Option<u64>,
    /// Why, for the operator.
    pub disabled_reason: Option<String>,
}

impl DestinationHealth {
    /// Whether deliveries to it are held back.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// What an attempt tells about its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver took it (2xx): the failure count starts again.
    Succeeded,
    /// Sent and failed (error, timeout, non-2xx) or refused: one more failure.
    Failed,
    /// Not sent because the destination is disabled: the count is left alone.
    NotSent,
}

/// One attempt to record: the delivery with its new state and what it tells about the
/// destination.
#[derive(Debug, Clone)]
pub struct RecordedAttempt {
    /// The delivery after the attempt.
    pub delivery: DeliveryRecord,
    /// Success, failure, or not sent.
    pub outcome: AttemptOutcome,
}
