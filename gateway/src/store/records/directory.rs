//! The on-call directory: users, teams, schedules, escalation policies and maintenance windows.
//! The store keeps each as a JSON body with an id, a revision and times; what a body means,
//! and whether it is valid, is `crate::oncall`'s and the ops layer's business, so a backend
//! needs one table for all five.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of directory entry, each with its id prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    /// `us_<n>`.
    User,
    /// `tm_<n>`.
    Team,
    /// `sc_<n>`.
    Schedule,
    /// `ep_<n>`.
    EscalationPolicy,
    /// `mw_<n>`.
    MaintenanceWindow,
}

impl DirectoryKind {
    /// Every kind.
    pub const ALL: [DirectoryKind; 5] = [
        DirectoryKind::User,
        DirectoryKind::Team,
        DirectoryKind::Schedule,
        DirectoryKind::EscalationPolicy,
        DirectoryKind::MaintenanceWindow,
    ];

    /// The id prefix, before `_<n>`.
    pub fn prefix(self) -> &'static str {
        match self {
            DirectoryKind::User => "us",
            DirectoryKind::Team => "tm",
            DirectoryKind::Schedule => "sc",
            DirectoryKind::EscalationPolicy => "ep",
            DirectoryKind::MaintenanceWindow => "mw",
        }
    }

    /// The name in messages and counters: `user`, `team`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryKind::User => "user",
            DirectoryKind::Team => "team",
            DirectoryKind::Schedule => "schedule",
            DirectoryKind::EscalationPolicy => "escalation policy",
            DirectoryKind::MaintenanceWindow => "maintenance window",
        }
    }

    /// The kind whose ids look like `id` (`us_3` → user).
    pub fn of_id(id: &str) -> Option<DirectoryKind> {
        let (prefix, number) = id.split_once('_')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        DirectoryKind::ALL
            .into_iter()
            .find(|kind| kind.prefix() == prefix)
    }
}

/// One directory entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// What it is.
    pub kind: DirectoryKind,
    /// `us_<n>`, `tm_<n>`, ...: handed out by the store when the entry is created.
    pub id: String,
    /// The entry itself (a user, a schedule, ...), as `crate::oncall` reads it.
    pub body: Value,
    /// Bumped by every update; an update names the revision it read.
    pub revision: u64,
    /// Created, ms.
    pub created_at: u64,
    /// Last changed, ms.
    pub updated_at: u64,
}
