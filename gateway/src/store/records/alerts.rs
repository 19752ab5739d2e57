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
    /// `source` (a mapped close), `operator`, `timeout` (its endpoint's `auto_close_after`)
    /// or the user who closed it through a page's link (`us_<n>`).
    pub closed_by: Option<String>,
    /// `operator` or the user who acknowledged it (`us_<n>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    /// Its endpoint's escalation policy at work on it, when the endpoint has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// Inbound records, oldest first (stored apart from the alert; processing reads only the
    /// newest, see [`crate::store::Store::open_alert`]).
    #[serde(default)]
    pub history: Vec<u64>,
    /// Bumped by the store on every write: a write planned from an older revision is refused
    /// ([`crate::store::StoreError::Conflict`]), so a record applied while an operator acted
    /// on the alert is planned again rather than undoing the operator.
    #[serde(default)]
    pub revision: u64,
}

/// An escalation policy paging people about one alert: a durable timer (`next_due_at`, kept in
/// the alert so an acknowledgement or a close stops it in the same write) and the log of pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// The policy, `ep_<n>`.
    pub policy: String,
    /// The last step paged.
    #[serde(default)]
    pub last: Option<EscalationStepFired>,
    /// When the next step is due, ms; none once acknowledged, closed or past the last round.
    pub next_due_at: Option<u64>,
    /// Why it stopped: `acknowledged`, `closed`, `finished`, `policy gone`, ...
    #[serde(default)]
    pub stopped: Option<String>,
    /// Every page, in order.
    #[serde(default)]
    pub log: Vec<PageLogEntry>,
}

/// A step as it fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStepFired {
    /// Step index, from 0.
    pub step: usize,
    /// Round, from 0 (a policy repeats `repeat` times).
    pub round: u32,
    /// When it fired, ms: the next step's delay counts from here.
    pub at: u64,
}

/// One page of the escalation log: a person on one contact method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageLogEntry {
    /// Step, from 1 (as people count).
    pub step: usize,
    /// Round, from 0.
    pub round: u32,
    /// The user paged, `us_<n>`.
    pub user: String,
    /// Their contact method's index.
    pub contact: usize,
    /// `email`, `sms`, `voice`, `ntfy`.
    pub kind: String,
    /// The delivery that carries it (its status and attempts are the delivery's).
    pub delivery: Option<u64>,
    /// When the step fired, ms (the delivery may be due later, by the user's rules).
    pub at: u64,
    /// Why nobody or nothing was paged, when so (`no one on call`, a notifier failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
