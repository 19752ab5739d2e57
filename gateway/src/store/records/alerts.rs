//! Alerts: one per firing key and endpoint, with the inbound records mapped onto it.

use crate::runtime::Alert;
use serde::{Deserialize, Serialize};

/// Alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Firing.
    Open,
    /// Firing; someone is on it.
    Acknowledged,
    /// Resolved.
    Closed,
}

/// One alert, with the inbound records mapped onto it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Sequence.
    pub id: u64,
    /// Endpoint id (the key's scope).
    pub endpoint: String,
    /// Dedup key.
    pub key: String,
    /// State.
    pub state: AlertState,
    /// The alert as last mapped.
    pub alert: Alert,
    /// Events mapped onto it.
    pub count: u32,
    /// Opened, ms.
    pub opened_at: u64,
    /// Last mapped, ms.
    pub last_seen_at: u64,
    /// Acknowledged, ms.
    pub acknowledged_at: Option<u64>,
    /// Closed, ms.
    pub closed_at: Option<u64>,
    /// `source` (a mapped close) or `operator`.
    pub closed_by: Option<String>,
    /// Inbound records, oldest first.
    pub history: Vec<u64>,
    /// Bumped by the store on every write: a write planned from an older revision is refused
    /// ([`crate::store::StoreError::Conflict`]), so a record applied while an operator acted
    /// on the alert is planned again rather than undoing the operator.
    #[serde(default)]
    pub revision: u64,
}

/// Filters of the alert list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// State.
    pub state: Option<AlertState>,
    /// Endpoint id.
    pub endpoint: Option<String>,
    /// Only ids below this.
    pub before: Option<u64>,
    /// Page size.
    pub limit: usize,
}
