//! What the on-call resources (users, teams, schedules, escalation policies, maintenance
//! windows) share over the store's directory: reads, creates and changes under one lock with
//! their checks, conditional updates retried on a conflict, deletes refused while something
//! names the entry, and the views the API answers.
//!
//! A change is a shallow merge: each key given replaces the stored one, `null` removes it (so
//! its default applies), and the whole is parsed and validated again. The view-only keys
//! (`id`, `created_at`, `updated_at`) are ignored in input, so a view can be sent back as is.

use super::{OpsError, Services};
use crate::oncall::{EscalationPolicy, FieldError, Schedule, TargetKind, Team};
use crate::store::{DirectoryEntry, DirectoryKind, EndpointRecord, StoreError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::MutexGuard;

/// How many times a change is tried again when its entry changed between its read and its
/// write, before the change is answered 409.
const CHANGE_ATTEMPTS: usize = 3;

/// Keys of a view that are not part of an entry's body: ignored in input.
const VIEW_ONLY_KEYS: [&str; 3] = ["id", "created_at", "updated_at"];

/// Every entry of every kind, read once: what a write's checks consult.
pub struct Directory {
    entries: Vec<DirectoryEntry>,
}

impl Directory {
    /// Reads the whole directory (it holds people and their schedules: hundreds of entries,
    /// not millions).
    pub fn load(services: &Services) -> Result<Self, OpsError> {
        let mut entries = Vec::new();
        for kind in DirectoryKind::ALL {
            entries.extend(services.store.directory(kind)?);
        }
        Ok(Self { entries })
    }

    /// Whether an entry of `kind` has this id.
    pub fn has(&self, kind: DirectoryKind, id: &str) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.kind == kind && entry.id == id)
    }

    /// The entries of `kind`, oldest first.
    pub fn of_kind(&self, kind: DirectoryKind) -> impl Iterator<Item = &DirectoryEntry> {
        self.entries.iter().filter(move |entry| entry.kind == kind)
    }

    /// Whether the target an escalation step names exists.
    pub fn has_target(&self, kind: TargetKind, id: &str) -> bool {
        let kind = match kind {
            TargetKind::User => DirectoryKind::User,
            TargetKind::Team => DirectoryKind::Team,
            TargetKind::Schedule => DirectoryKind::Schedule,
        };
        self.has(kind, id)
    }
}

/// Takes the directory's write lock (a panic while it was held left nothing half-written in
/// the store, so a poisoned lock is taken as it is).
pub fn write_lock(services: &Services) -> MutexGuard<'_, ()> {
    services
        .directory_writes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The entry of `kind` with this id (404 for another kind's id).
pub fn get(services: &Services, kind: DirectoryKind, id: &str) -> Result<DirectoryEntry, OpsError> {
    services
        .store
        .directory_entry(id)?
        .filter(|entry| entry.kind == kind)
        .ok_or(OpsError::NotFound(kind.as_str()))
}

/// Every entry of `kind`, newest first (as every list of the API).
pub fn list(services: &Services, kind: DirectoryKind) -> Result<Vec<DirectoryEntry>, OpsError> {
    let mut entries = services.store.directory(kind)?;
    entries.reverse();
    Ok(entries)
}

/// Stores a new entry of `kind` whose body `check` makes, under the write lock, from the
/// directory as it is.
pub fn create(
    services: &Services,
    kind: DirectoryKind,
    check: impl FnOnce(&Directory) -> Result<Value, OpsError>,
) -> Result<DirectoryEntry, OpsError> {
    let _writing = write_lock(services);
    let body = check(&Directory::load(services)?)?;
    let entry = services.store.create_directory_entry(kind, &body)?;
    tracing::info!(id = %entry.id, "{} created", kind.as_str());
    Ok(entry)
}

/// Replaces the body of the entry of `kind` with the one `change` makes from the entry as
/// read and the directory, under the write lock; the write is conditional on the revision
/// read, and tried again from a new read if the entry changed meanwhile.
pub fn update(
    services: &Services,
    kind: DirectoryKind,
    id: &str,
    mut change: impl FnMut(&DirectoryEntry, &Directory) -> Result<Value, OpsError>,
) -> Result<DirectoryEntry, OpsError> {
    let _writing = write_lock(services);
    for _ in 0..CHANGE_ATTEMPTS {
        let current = get(services, kind, id)?;
        let body = change(&current, &Directory::load(services)?)?;
        let changed = DirectoryEntry { body, ..current };
        match services.store.update_directory_entry(&changed) {
            Ok(updated) => {
                tracing::info!(id = %id, revision = updated.revision, "{} changed", kind.as_str());
                return Ok(updated);
            }
            // The store says the same when the entry is gone: the next read answers 404.
            Err(StoreError::Conflict(why)) => tracing::debug!(%why, "directory change retried"),
            Err(error) => return Err(error.into()),
        }
    }
    Err(OpsError::Conflict(format!(
        "{id} kept changing while this change was applied; read it again and retry"
    )))
}

/// Deletes the entry of `kind`, unless another entry or an endpoint names it (409 naming
/// each, and the field that names it).
pub fn delete(services: &Services, kind: DirectoryKind, id: &str) -> Result<(), OpsError> {
    let _writing = write_lock(services);
    get(services, kind, id)?;
    let directory = Directory::load(services)?;
    let endpoints = services.store.endpoints()?;
    let named_by = referrers(&directory, &endpoints, id);
    if !named_by.is_empty() {
        return Err(OpsError::Conflict(format!(
            "{id} is named by {}; change those first",
            list_in_words(&named_by)
        )));
    }
    services.store.delete_directory_entry(id)?;
    tracing::info!(id = %id, "{} deleted", kind.as_str());
    Ok(())
}

/// What names an entry: `schedule sc_1 (layers[0].users[1])`, one item per referrer with
/// every field of it that names the entry.
pub fn referrers(directory: &Directory, endpoints: &[EndpointRecord], id: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut note = |what: &str, referrer: &str, fields: Vec<String>| {
        if !fields.is_empty() {
            found.push(format!("{what} {referrer} ({})", fields.join(", ")));
        }
    };
    for team in directory.of_kind(DirectoryKind::Team) {
        if let Some(parsed) = stored::<Team>(team) {
            let fields = (parsed.members.iter().enumerate())
                .filter(|(_, member)| *member == id)
                .map(|(index, _)| format!("members[{index}]"))
                .collect();
            note("team", &team.id, fields);
        }
    }
    for schedule in directory.of_kind(DirectoryKind::Schedule) {
        if let Some(parsed) = stored::<Schedule>(schedule) {
            let mut fields = Vec::new();
            for (index, layer) in parsed.layers.iter().enumerate() {
                for (slot, user) in layer.users.iter().enumerate() {
                    if user == id {
                        fields.push(format!("layers[{index}].users[{slot}]"));
                    }
                }
            }
            for (index, cover) in parsed.overrides.iter().enumerate() {
                if cover.user == id {
                    fields.push(format!("overrides[{index}].user"));
                }
            }
            note("schedule", &schedule.id, fields);
        }
    }
    for policy in directory.of_kind(DirectoryKind::EscalationPolicy) {
        if let Some(parsed) = stored::<EscalationPolicy>(policy) {
            let mut fields = Vec::new();
            for (index, step) in parsed.steps.iter().enumerate() {
                for (slot, target) in step.targets.iter().enumerate() {
                    if target.id == id {
                        fields.push(format!("steps[{index}].targets[{slot}]"));
                    }
                }
            }
            note("escalation policy", &policy.id, fields);
        }
    }
    for endpoint in endpoints {
        if endpoint.escalation_policy.as_deref() == Some(id) {
            note(
                "endpoint",
                &format!("{:?} ({})", endpoint.name, endpoint.id),
                vec!["escalation_policy".into()],
            );
        }
    }
    found
}

/// A stored body as its type; `None` (logged) for one that no longer parses, which then names
/// nothing rather than blocking every delete.
fn stored<T: DeserializeOwned>(entry: &DirectoryEntry) -> Option<T> {
    serde_json::from_value(entry.body.clone())
        .map_err(|error| tracing::warn!(id = %entry.id, %error, "unreadable directory entry"))
        .ok()
}

/// `a`, `a and b`, `a, b and c`.
fn list_in_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The request body as an object without the view-only keys; 422 for anything else.
pub fn input_object(kind: DirectoryKind, input: Value) -> Result<Map<String, Value>, OpsError> {
    let Value::Object(mut object) = input else {
        return Err(OpsError::Invalid(format!(
            "a {} must be a JSON object",
            kind.as_str()
        )));
    };
    for key in VIEW_ONLY_KEYS {
        object.remove(key);
    }
    Ok(object)
}

/// `patch` over `current` (an object): each key given replaces the stored one; `null`
/// removes it.
pub fn merge(current: &Value, patch: Map<String, Value>) -> Map<String, Value> {
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (key, value) in patch {
        if value.is_null() {
            merged.remove(&key);
        } else {
            merged.insert(key, value);
        }
    }
    merged
}

/// Reads a body as its type: 422 naming what serde found wrong (an unknown or missing field,
/// a wrong type).
pub fn parse<T: DeserializeOwned>(
    kind: DirectoryKind,
    body: Map<String, Value>,
) -> Result<T, OpsError> {
    serde_json::from_value(Value::Object(body))
        .map_err(|error| OpsError::Invalid(format!("invalid {}: {error}", kind.as_str())))
}

/// A field the `oncall` checks refused: 422 `field: reason`.
pub fn invalid(error: FieldError) -> OpsError {
    OpsError::Invalid(error.to_string())
}

/// A typed body as the store keeps it.
pub fn to_body(value: &impl serde::Serialize) -> Result<Value, OpsError> {
    serde_json::to_value(value)
        .map_err(|error| OpsError::Store(StoreError::Corrupt(format!("a directory body: {error}"))))
}

/// An entry's body as its type: bodies are checked when written, so this fails only on a
/// store written by something else.
pub fn body_of<T: DeserializeOwned>(entry: &DirectoryEntry) -> Result<T, OpsError> {
    serde_json::from_value(entry.body.clone()).map_err(|error| {
        OpsError::Store(StoreError::Corrupt(format!(
            "{} {}: {error}",
            entry.kind.as_str(),
            entry.id
        )))
    })
}

/// A typed view as the JSON the API answers and the console's templates read.
pub fn to_json(view: impl serde::Serialize) -> Result<Value, OpsError> {
    serde_json::to_value(view)
        .map_err(|error| OpsError::Store(StoreError::Corrupt(format!("a view: {error}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(kind: DirectoryKind, id: &str, body: Value) -> DirectoryEntry {
        DirectoryEntry {
            kind,
            id: id.into(),
            body,
            revision: 1,
            created_at: 1,
            updated_at: 2,
        }
    }

    fn directory() -> Directory {
        let layer = |users: Value| json!({"name": "l", "start": "2024-01-01T00:00:00Z", "rotation": "1d", "users": users});
        Directory {
            entries: vec![
                entry(DirectoryKind::User, "us_1", json!({})),
                entry(DirectoryKind::User, "us_2", json!({})),
                entry(
                    DirectoryKind::Team,
                    "tm_1",
                    json!({"name": "ops", "members": ["us_1", "us_2"]}),
                ),
                entry(
                    DirectoryKind::Schedule,
                    "sc_1",
                    json!({"name": "s", "layers": [layer(json!(["us_1"])), layer(json!(["us_1", "us_2"]))],
                           "overrides": [{"user": "us_2", "start": "2024-01-01T00:00:00Z",
                                          "end": "2024-01-02T00:00:00Z"}]}),
                ),
                entry(
                    DirectoryKind::EscalationPolicy,
                    "ep_1",
                    json!({"name": "p", "steps": [{"delay": "5m", "targets": [
                        {"type": "schedule", "id": "sc_1"}, {"type": "team", "id": "tm_1"}]}]}),
                ),
                // An entry that no longer parses names nothing.
                entry(DirectoryKind::Team, "tm_2", json!({"members": "us_2"})),
            ],
        }
    }

    #[test]
    fn referrers_name_each_entry_and_field() {
        let directory = directory();
        assert_eq!(
            referrers(&directory, &[], "us_2"),
            [
                "team tm_1 (members[1])",
                "schedule sc_1 (layers[1].users[1], overrides[0].user)"
            ]
        );
        assert_eq!(
            referrers(&directory, &[], "us_1"),
            [
                "team tm_1 (members[0])",
                "schedule sc_1 (layers[0].users[0], layers[1].users[0])"
            ]
        );
        assert_eq!(
            referrers(&directory, &[], "sc_1"),
            ["escalation policy ep_1 (steps[0].targets[0])"]
        );
        assert!(referrers(&directory, &[], "us_3").is_empty());
        assert!(directory.has(DirectoryKind::User, "us_2"));
        assert!(!directory.has(DirectoryKind::Team, "us_2"));
        assert!(directory.has_target(TargetKind::Team, "tm_1"));
        assert!(!directory.has_target(TargetKind::User, "tm_1"));
    }

    #[test]
    fn lists_read_as_words() {
        let items = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(list_in_words(&items(&["a"])), "a");
        assert_eq!(list_in_words(&items(&["a", "b"])), "a and b");
        assert_eq!(list_in_words(&items(&["a", "b", "c"])), "a, b and c");
    }

    #[test]
    fn a_change_replaces_given_keys_and_null_removes() {
        let current = json!({"name": "old", "time_zone": "Europe/Berlin", "role": "viewer"});
        let patch = json!({"name": "new", "time_zone": null});
        let merged = merge(&current, patch.as_object().cloned().unwrap());
        assert_eq!(
            Value::Object(merged),
            json!({"name": "new", "role": "viewer"})
        );
    }

    #[test]
    fn views_add_the_id_and_times_and_input_ignores_them() {
        let entry = entry(
            DirectoryKind::Team,
            "tm_1",
            json!({"name": "ops", "members": []}),
        );
        let view = crate::ops::people::TeamView::json(&entry).unwrap();
        assert_eq!(
            view,
            json!({"name": "ops", "members": [], "id": "tm_1", "created_at": 1, "updated_at": 2})
        );
        let input = input_object(DirectoryKind::Team, view).unwrap();
        assert_eq!(Value::Object(input), json!({"name": "ops", "members": []}));
        let refused = input_object(DirectoryKind::Team, json!(["ops"])).unwrap_err();
        assert_eq!(refused.to_string(), "a team must be a JSON object");
    }
}
