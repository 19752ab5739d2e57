//! The inbound log: every request to `/hooks/{id}`, accepted or not.

use serde::{Deserialize, Serialize};

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboundStatus {
    /// Refused (signature, size, headers, body, disabled endpoint).
    Rejected,
    /// Not in the endpoint's selection, or unknown to the provider.
    Filtered,
    /// A repeat of an accepted `X-Request-UUID`.
    Duplicate,
    /// Accepted, waiting for the plugins.
    Pending,
    /// Ran through the plugins.
    Processed,
    /// A plugin failed.
    Failed,
}

impl InboundStatus {
    /// The status as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Filtered => "filtered",
            Self::Duplicate => "duplicate",
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }
}

/// What one plugin made of a record, in AlertOps' words where there are some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcome {
    /// Plugin (or `template`).
    pub plugin: String,
    /// `Mapped Opened`, `Mapped Appended`, `Already Applied` (a replay), `Mapped Closed`,
    /// `Close Unmatched`, `Ignored: ...`, `Formatted`, `Not Formatted`, `Plugin Failed: ...`.
    pub outcome: String,
    /// More detail (the key, the reason).
    #[schema(required = true)]
    pub detail: Option<String>,
    /// The alert concerned.
    #[schema(required = true)]
    pub alert: Option<String>,
}

/// One request to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRecord {
    /// Sequence (arrival order).
    pub id: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Receipt time, ms.
    pub received_at: u64,
    /// Event key, when the header was present.
    pub event: Option<String>,
    /// The provider's delivery id.
    pub request_uuid: Option<String>,
    /// The sender's attempt number.
    pub attempt: u32,
    /// Status.
    pub status: InboundStatus,
    /// Why it was refused or filtered.
    pub reason: Option<String>,
    /// Per plugin.
    pub outcomes: Vec<Outcome>,
    /// Request headers, lower-cased, signatures redacted.
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8; for rejected requests the first 4 KiB, lossily decoded). Stored in
    /// its own table; records of older versions carry it inline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Whether `body` was cut.
    pub body_truncated: bool,
    /// When processing finished, ms.
    pub processed_at: Option<u64>,
    /// For duplicates: the record it repeats.
    pub duplicate_of: Option<u64>,
}

impl InboundRecord {
    /// Stores this record as a repeat of `original` (its request UUID was accepted before).
    pub fn mark_duplicate_of(&mut self, original: u64) -> Appended {
        self.status = InboundStatus::Duplicate;
        self.duplicate_of = Some(original);
        Appended::Duplicate(original)
    }
}

/// What `append_inbound` did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored and queued for processing.
    Accepted(u64),
    /// A repeat: stored as `duplicate`; the id is the original's.
    Duplicate(u64),
    /// Stored as given (rejected, filtered).
    Logged(u64),
}

/// Filters of the inbound list.
#[derive(Debug, Clone, Default)]
pub struct InboundFilter {
    /// Endpoint id.
    pub endpoint: Option<String>,
    /// Status.
    pub status: Option<InboundStatus>,
    /// Event key.
    pub event: Option<String>,
    /// Only ids below this.
    pub before: Option<u64>,
    /// Page size.
    pub limit: usize,
}
