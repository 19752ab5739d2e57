//! Escalation policies `ep_<n>` (SPEC §12): create, list, show, change, delete. The timing
//! rules are `oncall::policy`'s; here the targets a policy names are checked against the
//! directory, and a policy an endpoint names is kept.

use super::directory::{self, Directory, input_object, invalid, merge, parse, to_body};
use super::{OpsError, Services};
use crate::oncall::{EscalationPolicy, EscalationStep};
use crate::store::{DirectoryEntry, DirectoryKind};
use serde::Serialize;
use serde_json::{Map, Value};

/// An escalation policy `ep_<n>` as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyView {
    /// `ep_<n>`.
    pub id: String,
    /// Shown in the console.
    pub name: String,
    /// Who is paged, step by step.
    pub steps: Vec<EscalationStep>,
    /// How many times the steps run again after the last.
    pub repeat: u8,
    /// Created, ms.
    pub created_at: u64,
    /// Last changed, ms.
    pub updated_at: u64,
}

impl EscalationPolicyView {
    /// The view of a policy entry, as JSON.
    pub fn json(entry: &DirectoryEntry) -> Result<Value, OpsError> {
        // Every field of the type, so one added there cannot be missed here.
        let EscalationPolicy {
            name,
            steps,
            repeat,
        } = directory::body_of(entry)?;
        directory::to_json(Self {
            id: entry.id.clone(),
            name,
            steps,
            repeat,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        })
    }
}

/// One policy's view.
pub fn policy(services: &Services, id: &str) -> Result<Value, OpsError> {
    EscalationPolicyView::json(&directory::get(
        services,
        DirectoryKind::EscalationPolicy,
        id,
    )?)
}

/// Every policy's view, newest first.
pub fn policies(services: &Services) -> Result<Vec<Value>, OpsError> {
    let entries = directory::list(services, DirectoryKind::EscalationPolicy)?;
    entries.iter().map(EscalationPolicyView::json).collect()
}

/// A policy checked (steps, delays, repeat, and that every target exists), as the store
/// keeps it.
fn policy_body(input: Map<String, Value>, directory: &Directory) -> Result<Value, OpsError> {
    let policy: EscalationPolicy = parse(DirectoryKind::EscalationPolicy, input)?;
    policy
        .validate(|kind, id| directory.has_target(kind, id))
        .map_err(invalid)?;
    to_body(&policy)
}

/// Creates a policy.
pub fn create_policy(services: &Services, input: Value) -> Result<Value, OpsError> {
    let input = input_object(DirectoryKind::EscalationPolicy, input)?;
    let entry = directory::create(services, DirectoryKind::EscalationPolicy, |directory| {
        policy_body(input, directory)
    })?;
    EscalationPolicyView::json(&entry)
}

/// Applies the given keys over the policy and validates the whole again.
pub fn update_policy(services: &Services, id: &str, patch: Value) -> Result<Value, OpsError> {
    let patch = input_object(DirectoryKind::EscalationPolicy, patch)?;
    let entry = directory::update(
        services,
        DirectoryKind::EscalationPolicy,
        id,
        |current, directory| policy_body(merge(&current.body, patch.clone()), directory),
    )?;
    EscalationPolicyView::json(&entry)
}

/// Deletes a policy no endpoint names.
pub fn delete_policy(services: &Services, id: &str) -> Result<(), OpsError> {
    directory::delete(services, DirectoryKind::EscalationPolicy, id)
}
