//! Maintenance windows `mw_<n>` (SPEC §12): while one matches, alerts open and append as
//! usual but nobody is paged and no destination is notified (the outcome is `Silenced`).
//! Create, list, show, change, delete, and [`matching_window`] and [`silencing`], the questions
//! the pipeline, the escalation worker and the alert actions ask.
//!
//! A window matches an alert at an instant when the instant is in `[start, end)`, its
//! `endpoint` (if set) is the alert's, and its `key_pattern` (if set) matches somewhere in the
//! alert's key: a regular expression with the same engine as the filters (`regex-lite`,
//! linear-time), unanchored, so `^deploy:` is needed to match only at the start. With
//! neither, a window silences everything.

use super::directory::{self, input_object, merge, parse, to_body};
use super::{OpsError, Services};
use crate::oncall::{FieldError, parse_instant};
use crate::store::{AlertRecord, DirectoryEntry, DirectoryKind, Store, StoreError};
use jiff::Timestamp;
use regex_lite::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The longest `key_pattern`: a key pattern names keys, it is not a program.
pub const MAX_KEY_PATTERN_CHARS: usize = 1000;

/// A maintenance window as the operator writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// RFC 3339, with an offset: when the window opens.
    pub start: String,
    /// RFC 3339, after `start`: when it closes (exclusive).
    pub end: String,
    /// Only this endpoint's alerts; every endpoint's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Only alerts whose key this regular expression matches (unanchored); every key when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pattern: Option<String>,
}

/// A window parsed, ready to match.
#[derive(Debug, Clone)]
pub struct WindowRule {
    /// `mw_<n>`.
    pub id: String,
    start: Timestamp,
    end: Timestamp,
    endpoint: Option<String>,
    key_pattern: Option<Regex>,
}

impl MaintenanceWindow {
    /// The window parsed; the error names the first bad field.
    pub fn rule(&self, id: &str) -> Result<WindowRule, FieldError> {
        let start = parse_instant("start", &self.start)?;
        let end = parse_instant("end", &self.end)?;
        if end <= start {
            return Err(FieldError::new(
                "end",
                format!("{:?} is not after start {:?}", self.end, self.start),
            ));
        }
        let key_pattern = match &self.key_pattern {
            Some(pattern) if pattern.chars().count() > MAX_KEY_PATTERN_CHARS => {
                return Err(FieldError::new(
                    "key_pattern",
                    format!("is longer than {MAX_KEY_PATTERN_CHARS} characters"),
                ));
            }
            Some(pattern) => Some(Regex::new(pattern).map_err(|error| {
                FieldError::new(
                    "key_pattern",
                    format!("{pattern:?} is not a regular expression: {error}"),
                )
            })?),
            None => None,
        };
        Ok(WindowRule {
            id: id.to_owned(),
            start,
            end,
            endpoint: self.endpoint.clone(),
            key_pattern,
        })
    }

    /// Checks every field, `known_endpoint` saying which endpoint ids exist.
    pub fn validate(&self, known_endpoint: impl Fn(&str) -> bool) -> Result<(), FieldError> {
        self.rule("")?;
        match &self.endpoint {
            Some(endpoint) if !known_endpoint(endpoint) => Err(FieldError::new(
                "endpoint",
                format!("no endpoint {endpoint:?}"),
            )),
            _ => Ok(()),
        }
    }
}

impl WindowRule {
    /// When the window closes, ms since the epoch.
    pub fn end_ms(&self) -> u64 {
        self.end.as_millisecond().max(0) as u64
    }

    /// Whether this window silences an alert with `key` on `endpoint` at `at`.
    pub fn matches(&self, endpoint: &str, key: &str, at: Timestamp) -> bool {
        self.start <= at
            && at < self.end
            && self.endpoint.as_deref().is_none_or(|own| own == endpoint)
            && (self.key_pattern.as_ref()).is_none_or(|pattern| pattern.is_match(key))
    }
}

/// The first of `windows` that silences an alert with `key` on `endpoint` at `at`.
pub fn matching_window<'a>(
    windows: &'a [WindowRule],
    endpoint: &str,
    key: &str,
    at: Timestamp,
) -> Option<&'a str> {
    matching_rule(windows, endpoint, key, at).map(|window| window.id.as_str())
}

/// The first of `windows` that silences an alert with `key` on `endpoint` at `at`, whole.
pub fn matching_rule<'a>(
    windows: &'a [WindowRule],
    endpoint: &str,
    key: &str,
    at: Timestamp,
) -> Option<&'a WindowRule> {
    windows
        .iter()
        .find(|window| window.matches(endpoint, key, at))
}

/// Every stored window, parsed, oldest first; one that no longer parses is logged and left
/// out (it was valid when written, so only a change of rules can do that).
pub fn rules(services: &Services) -> Result<Vec<WindowRule>, OpsError> {
    Ok(stored_rules(&*services.store)?)
}

/// [`rules`] from the store itself, for the pipeline and the escalation worker.
pub fn stored_rules(store: &dyn Store) -> Result<Vec<WindowRule>, StoreError> {
    let entries = store.directory(DirectoryKind::MaintenanceWindow)?;
    Ok(entries.iter().filter_map(stored_rule).collect())
}

/// The window silencing the alert `alert` now (`at_ms`), if one does: its notices are not sent
/// and nobody is paged about it.
pub fn silencing(
    store: &dyn Store,
    alert: &AlertRecord,
    at_ms: u64,
) -> Result<Option<WindowRule>, StoreError> {
    let windows = stored_rules(store)?;
    Ok(silencing_window(&windows, alert, at_ms).cloned())
}

/// [`silencing`] among windows already read, for a caller asking about many alerts.
pub fn silencing_window<'a>(
    windows: &'a [WindowRule],
    alert: &AlertRecord,
    at_ms: u64,
) -> Option<&'a WindowRule> {
    let at = Timestamp::from_millisecond(at_ms as i64).unwrap_or(Timestamp::MAX);
    matching_rule(windows, &alert.endpoint, &alert.key, at)
}

fn stored_rule(entry: &DirectoryEntry) -> Option<WindowRule> {
    let parsed = serde_json::from_value::<MaintenanceWindow>(entry.body.clone())
        .map_err(|error| error.to_string())
        .and_then(|window| window.rule(&entry.id).map_err(|error| error.to_string()));
    parsed
        .map_err(|error| tracing::warn!(id = %entry.id, %error, "unusable maintenance window"))
        .ok()
}

/// A maintenance window `mw_<n>` as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindowView {
    /// `mw_<n>`.
    pub id: String,
    /// RFC 3339: when the window opens.
    pub start: String,
    /// RFC 3339: when it closes (exclusive).
    pub end: String,
    /// Only this endpoint's alerts; every endpoint's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Only alerts whose key this regular expression matches; every key when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pattern: Option<String>,
    /// Created, ms.
    pub created_at: u64,
    /// Last changed, ms.
    pub updated_at: u64,
}

impl MaintenanceWindowView {
    /// The view of a window entry, as JSON.
    pub fn json(entry: &DirectoryEntry) -> Result<Value, OpsError> {
        // Every field of the type, so one added there cannot be missed here.
        let MaintenanceWindow {
            start,
            end,
            endpoint,
            key_pattern,
        } = directory::body_of(entry)?;
        directory::to_json(Self {
            id: entry.id.clone(),
            start,
            end,
            endpoint,
            key_pattern,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        })
    }
}

/// One window's view.
pub fn window(services: &Services, id: &str) -> Result<Value, OpsError> {
    MaintenanceWindowView::json(&directory::get(
        services,
        DirectoryKind::MaintenanceWindow,
        id,
    )?)
}

/// Every window's view, newest first.
pub fn windows(services: &Services) -> Result<Vec<Value>, OpsError> {
    let entries = directory::list(services, DirectoryKind::MaintenanceWindow)?;
    entries.iter().map(MaintenanceWindowView::json).collect()
}

/// A window checked (times, pattern, and that its endpoint exists), as the store keeps it.
fn window_body(services: &Services, input: Map<String, Value>) -> Result<Value, OpsError> {
    let window: MaintenanceWindow = parse(DirectoryKind::MaintenanceWindow, input)?;
    let endpoint_exists = match &window.endpoint {
        Some(endpoint) => services.store.endpoint(endpoint)?.is_some(),
        None => true,
    };
    window
        .validate(|_| endpoint_exists)
        .map_err(directory::invalid)?;
    to_body(&window)
}

/// Creates a window.
pub fn create_window(services: &Services, input: Value) -> Result<Value, OpsError> {
    let input = input_object(DirectoryKind::MaintenanceWindow, input)?;
    let entry = directory::create(services, DirectoryKind::MaintenanceWindow, |_| {
        window_body(services, input)
    })?;
    MaintenanceWindowView::json(&entry)
}

/// Applies the given keys over the window (`null` removes `endpoint` or `key_pattern`) and
/// validates the whole again.
pub fn update_window(services: &Services, id: &str, patch: Value) -> Result<Value, OpsError> {
    let patch = input_object(DirectoryKind::MaintenanceWindow, patch)?;
    let entry = directory::update(
        services,
        DirectoryKind::MaintenanceWindow,
        id,
        |current, _| window_body(services, merge(&current.body, patch.clone())),
    )?;
    MaintenanceWindowView::json(&entry)
}

/// Deletes a window (nothing names one).
pub fn delete_window(services: &Services, id: &str) -> Result<(), OpsError> {
    directory::delete(services, DirectoryKind::MaintenanceWindow, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(id: &str, body: Value) -> WindowRule {
        serde_json::from_value::<MaintenanceWindow>(body)
            .unwrap()
            .rule(id)
            .unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn windows() -> Vec<WindowRule> {
        vec![
            rule(
                "mw_1",
                json!({"start": "2024-03-01T10:00:00Z", "end": "2024-03-01T12:00:00Z",
                       "endpoint": "ep-a", "key_pattern": "^deploy:"}),
            ),
            rule(
                "mw_2",
                json!({"start": "2024-03-02T00:00:00+01:00", "end": "2024-03-02T01:00:00+01:00"}),
            ),
        ]
    }

    #[test]
    fn a_window_matches_inside_its_span_endpoint_and_pattern_only() {
        let windows = windows();
        let matching = |endpoint, key, time| matching_window(&windows, endpoint, key, at(time));
        assert_eq!(
            matching("ep-a", "deploy:web", "2024-03-01T10:00:00Z"),
            Some("mw_1")
        );
        assert_eq!(
            matching("ep-a", "deploy:web", "2024-03-01T11:59:59Z"),
            Some("mw_1")
        );
        // The end is exclusive; before the start is outside.
        assert_eq!(matching("ep-a", "deploy:web", "2024-03-01T12:00:00Z"), None);
        assert_eq!(matching("ep-a", "deploy:web", "2024-03-01T09:59:59Z"), None);
        // Another endpoint, or a key the pattern does not match (it is unanchored but starts
        // with ^).
        assert_eq!(matching("ep-b", "deploy:web", "2024-03-01T11:00:00Z"), None);
        assert_eq!(
            matching("ep-a", "ci:deploy:web", "2024-03-01T11:00:00Z"),
            None
        );
        // Without endpoint and pattern a window silences everything, in its offset's time.
        assert_eq!(
            matching("ep-b", "anything", "2024-03-01T23:30:00Z"),
            Some("mw_2")
        );
        assert_eq!(matching("ep-b", "anything", "2024-03-02T00:00:00Z"), None);
        assert_eq!(
            matching_window(&[], "ep-a", "k", at("2024-03-01T11:00:00Z")),
            None
        );
    }

    #[test]
    fn an_unanchored_pattern_matches_anywhere_in_the_key() {
        let windows = [rule(
            "mw_3",
            json!({"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z",
                   "key_pattern": "staging"}),
        )];
        let noon = at("2024-06-01T12:00:00Z");
        assert_eq!(
            matching_window(&windows, "e", "repo/staging:main", noon),
            Some("mw_3")
        );
        assert_eq!(matching_window(&windows, "e", "repo/prod:main", noon), None);
    }

    #[test]
    fn each_bad_field_is_named() {
        let refusal = |body: Value| {
            serde_json::from_value::<MaintenanceWindow>(body)
                .unwrap()
                .validate(|endpoint| endpoint == "ep-a")
                .unwrap_err()
        };
        let base = |change: Value| {
            let mut body = json!({"start": "2024-03-01T10:00:00Z", "end": "2024-03-01T12:00:00Z"});
            for (key, value) in change.as_object().unwrap() {
                body[key] = value.clone();
            }
            body
        };
        assert_eq!(refusal(base(json!({"start": "tomorrow"}))).field, "start");
        assert_eq!(
            refusal(base(json!({"end": "2024-03-01T10:00:00"}))).field,
            "end"
        );
        let backwards = refusal(base(json!({"end": "2024-03-01T09:00:00Z"})));
        assert_eq!(backwards.field, "end");
        assert!(backwards.reason.contains("not after start"), "{backwards}");
        let same = refusal(base(json!({"end": "2024-03-01T10:00:00Z"})));
        assert_eq!(same.field, "end");
        assert_eq!(
            refusal(base(json!({"key_pattern": "deploy:("}))).field,
            "key_pattern"
        );
        let long = "a".repeat(MAX_KEY_PATTERN_CHARS + 1);
        assert_eq!(
            refusal(base(json!({"key_pattern": long}))).field,
            "key_pattern"
        );
        let unknown = refusal(base(json!({"endpoint": "ep-gone"})));
        assert_eq!(unknown.to_string(), "endpoint: no endpoint \"ep-gone\"");
        let fine = serde_json::from_value::<MaintenanceWindow>(base(json!({"endpoint": "ep-a"})));
        assert!(
            fine.unwrap()
                .validate(|endpoint| endpoint == "ep-a")
                .is_ok()
        );
    }
}
