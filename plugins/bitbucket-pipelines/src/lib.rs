//! `bitbucket-pipelines`: the alert mapper for Bitbucket commit statuses (Pipelines and any CI
//! that reports build statuses), with AlertOps' defaults.
//!
//! | config key | default | meaning |
//! |---|---|---|
//! | `status_field` | `commit_status^state` | JSON path of the status (`^` or `.` separates segments) |
//! | `open` | `["FAILED"]` | statuses that open an alert (or append to the open one) |
//! | `close` | `["SUCCESSFUL", "INPROGRESS"]` | statuses that close it |
//! | `key` | `{repository.full_name}:{commit_status.refname}` | dedup key template |
//! | `title` | `{commit_status.name} <status> — {repository.full_name}` | alert title template |
//! | `filters` | none | `[{"field": PATH, "regex": RE}]`, all must match or the event is ignored |
//! | `severity` | `error` | severity of every alert it opens: `critical`, `error`, `warning` or `info` |
//!
//! Any other status is ignored, with the status named in the reason. An unknown `severity`
//! fails every event, naming the key, rather than paging at a guessed priority.

use hookgate_plugin_sdk::prelude::*;
use regex_lite::Regex;

const DEFAULT_STATUS_FIELD: &str = "commit_status^state";
const DEFAULT_OPEN: &[&str] = &["FAILED"];
const DEFAULT_CLOSE: &[&str] = &["SUCCESSFUL", "INPROGRESS"];
const DEFAULT_KEY: &str = "{repository.full_name}:{commit_status.refname}";
const DEFAULT_SEVERITY: Severity = Severity::Error;
/// What `default_title` and `alert_from` read.
const ALERT_FIELDS: [&str; 9] = [
    "commit_status.name",
    "commit_status.url",
    "commit_status.description",
    "commit_status.commit.hash",
    "commit_status.commit.message",
    "commit_status.commit.author.user.display_name",
    "commit_status.refname",
    "actor.display_name",
    "repository.full_name",
];

/// One `filters` entry: the value at `field` must match `regex`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    field: String,
    regex: String,
}

/// The mapper.
pub struct Pipelines;

impl AlertMapper for Pipelines {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .config_key(
                "status_field",
                "JSON path of the status (default commit_status^state)",
            )
            .config_key("open", "statuses that open an alert (default [\"FAILED\"])")
            .config_key(
                "close",
                "statuses that close it (default [\"SUCCESSFUL\", \"INPROGRESS\"])",
            )
            .config_key(
                "key",
                "dedup key template (default {repository.full_name}:{commit_status.refname})",
            )
            .config_key(
                "title",
                "alert title template (default: \"<status name> failed — <repository>\")",
            )
            .config_key(
                "filters",
                "list of {field, regex}; all must match, else the event is ignored",
            )
            .config_key(
                "severity",
                "severity of the alerts it opens: critical, error, warning or info (default error)",
            )
    }

    fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError> {
        let status_field = config.str_or("status_field", DEFAULT_STATUS_FIELD)?;
        let open = config.list_or("open", DEFAULT_OPEN)?;
        let close = config.list_or("close", DEFAULT_CLOSE)?;
        let filters: Vec<Filter> = config.get("filters")?.unwrap_or_default();
        let severity = severity(config)?;
        let key_template = config.str_or("key", DEFAULT_KEY)?;
        let title_template = config.get_str("title")?;

        // Only the fields read below are parsed out of the body; the rest is skipped.
        let mut paths: Vec<&str> = vec![status_field];
        paths.extend(filters.iter().map(|filter| filter.field.as_str()));
        paths.extend(template_paths(key_template));
        paths.extend(title_template.map(template_paths).unwrap_or_default());
        paths.extend(ALERT_FIELDS);
        let payload = &event.select(&paths)?;

        for filter in &filters {
            let pattern = Regex::new(&filter.regex).map_err(|error| {
                PluginError::new(format!("filter regex `{}`: {error}", filter.regex))
            })?;
            let value = payload.lookup(&filter.field).map(display_value);
            match value {
                Some(value) if pattern.is_match(&value) => {}
                Some(value) => {
                    return Ok(vec![Action::ignore(format!(
                        "filter: {} = {value:?} does not match /{}/",
                        filter.field, filter.regex
                    ))]);
                }
                None => {
                    return Ok(vec![Action::ignore(format!(
                        "filter: no value at {}",
                        filter.field
                    ))]);
                }
            }
        }

        let Some(status) = payload.lookup(status_field).map(display_value) else {
            return Ok(vec![Action::ignore(format!(
                "no {status_field} in {}",
                event.event_key
            ))]);
        };
        let key = event.render_in(payload, key_template)?;

        if open.contains(&status) {
            let title = match title_template {
                Some(template) => event.render_in(payload, template)?,
                None => default_title(payload, &status),
            };
            Ok(vec![Action::open(
                alert_from(payload, key, title, status).severity(severity),
            )])
        } else if close.contains(&status) {
            Ok(vec![Action::close(key)])
        } else {
            Ok(vec![Action::ignore(format!(
                "status {status} is neither an open nor a close status"
            ))])
        }
    }
}

/// The `severity` key: one of the four names, [`DEFAULT_SEVERITY`] when absent.
fn severity(config: &Config) -> Result<Severity, PluginError> {
    let Some(name) = config.get_str("severity")? else {
        return Ok(DEFAULT_SEVERITY);
    };
    Severity::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        PluginError::new(format!(
            "config `severity` must be one of {}, not {name:?}",
            names.join(", ")
        ))
    })
}

/// `Pipeline #4 for main failed — acme/widgets`, as AlertOps titles it.
fn default_title(payload: &Value, status: &str) -> String {
    let name = payload
        .str_at("commit_status.name")
        .filter(|name| !name.is_empty())
        .unwrap_or("Build");
    let outcome = match status {
        "FAILED" => "failed".to_string(),
        "STOPPED" => "stopped".to_string(),
        other => other.to_lowercase(),
    };
    match payload.str_at("repository.full_name") {
        Some(repository) => format!("{name} {outcome} — {repository}"),
        None => format!("{name} {outcome}"),
    }
}

fn alert_from(payload: &Value, key: String, title: String, status: String) -> Alert {
    let mut alert = Alert::new(key, title).source_status(status);
    if let Some(url) = payload.str_at("commit_status.url") {
        alert = alert.url(url);
    }
    if let Some(description) = payload
        .str_at("commit_status.description")
        .filter(|text| !text.is_empty())
    {
        alert = alert.description(description);
    }
    if let Some(hash) = payload.str_at("commit_status.commit.hash") {
        let message = payload
            .str_at("commit_status.commit.message")
            .map(|message| message.trim_end().to_string());
        alert = alert.commit(hash, message);
    }
    if let Some(actor) = payload
        .str_at("actor.display_name")
        .or_else(|| payload.str_at("commit_status.commit.author.user.display_name"))
    {
        alert = alert.actor(actor);
    }
    if let Some(branch) = payload.str_at("commit_status.refname") {
        alert = alert.label("branch", branch);
    }
    if let Some(repository) = payload.str_at("repository.full_name") {
        alert = alert.label("repository", repository);
    }
    alert
}

export_alert_mapper!(Pipelines);

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_UPDATED: &str =
        include_str!("../../bitbucket/samples/repo_commit_status_updated.json");
    const PUSH: &str = include_str!("../../bitbucket/samples/repo_push.json");

    fn status_event(state: &str) -> Event {
        let mut payload: Value = serde_json::from_str(STATUS_UPDATED).unwrap();
        payload["commit_status"]["state"] = json!(state);
        Event::new("repo:commit_status_updated", payload.to_string())
    }

    fn map(event: &Event, config: Value) -> Vec<Action> {
        let config = match config {
            Value::Object(map) => Config::from_map(map),
            _ => Config::default(),
        };
        Pipelines::map(event, &config).unwrap()
    }

    const KEY: &str = "automationtestharness/testrepo:main";

    #[test]
    fn failed_opens_an_alert_keyed_by_repository_and_branch() {
        let actions = map(&status_event("FAILED"), json!({}));
        let [Action::Open(alert)] = actions.as_slice() else {
            panic!("expected one open, got {actions:?}");
        };
        assert_eq!(alert.key, KEY);
        assert_eq!(
            alert.title,
            "Pipeline #4 for main failed — automationtestharness/testrepo"
        );
        assert_eq!(alert.source_status, "FAILED");
        assert!(
            alert
                .url
                .as_deref()
                .unwrap()
                .contains("/addon/pipelines/home")
        );
        assert_eq!(
            alert.commit_hash.as_deref(),
            Some("bdf6fac0519ffd1562461eb82e018ff62efffbc9")
        );
        assert!(
            alert
                .commit_message
                .as_deref()
                .unwrap()
                .starts_with("Merged in")
        );
        assert_eq!(alert.actor.as_deref(), Some("Automationtestharness"));
        assert_eq!(alert.severity, Severity::Error);
    }

    #[test]
    fn severity_is_put_on_every_alert_and_an_unknown_one_names_the_key() {
        for severity in Severity::ALL {
            let actions = map(
                &status_event("FAILED"),
                json!({"severity": severity.as_str()}),
            );
            let [Action::Open(alert)] = actions.as_slice() else {
                panic!("expected open, got {actions:?}");
            };
            assert_eq!(alert.severity, severity);
        }
        for bad in [json!("urgent"), json!("Critical"), json!(5)] {
            let config = Config::from_json(&json!({"severity": bad}).to_string()).unwrap();
            let error = Pipelines::map(&status_event("SUCCESSFUL"), &config).unwrap_err();
            assert!(error.message().contains("`severity`"), "{bad}: {error}");
        }
        let config = Config::from_json(r#"{"severity": "urgent"}"#).unwrap();
        assert_eq!(
            Pipelines::map(&status_event("FAILED"), &config)
                .unwrap_err()
                .message(),
            "config `severity` must be one of critical, error, warning, info, not \"urgent\""
        );
    }

    #[test]
    fn info_declares_every_config_key() {
        let info = Pipelines::info(PluginInfo::new("bitbucket-pipelines", "0.1.0"));
        let keys: Vec<&str> = info
            .config_keys
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "status_field",
                "open",
                "close",
                "key",
                "title",
                "filters",
                "severity"
            ]
        );
    }

    #[test]
    fn successful_and_inprogress_close_and_stopped_is_ignored() {
        for state in ["SUCCESSFUL", "INPROGRESS"] {
            assert_eq!(
                map(&status_event(state), json!({})),
                vec![Action::close(KEY)]
            );
        }
        let ignored = map(&status_event("STOPPED"), json!({}));
        assert!(matches!(&ignored[..], [Action::Ignore(reason)] if reason.contains("STOPPED")));
    }

    #[test]
    fn config_changes_statuses_key_and_title() {
        let config = json!({
            "status_field": "commit_status.state",
            "open": ["FAILED", "STOPPED"],
            "close": "SUCCESSFUL",
            "key": "{repository.name}",
            "title": "{repository.name} is red",
        });
        let actions = map(&status_event("STOPPED"), config.clone());
        let [Action::Open(alert)] = actions.as_slice() else {
            panic!("expected open, got {actions:?}");
        };
        assert_eq!(
            (alert.key.as_str(), alert.title.as_str()),
            ("testRepo", "testRepo is red")
        );
        assert!(matches!(
            &map(&status_event("INPROGRESS"), config)[..],
            [Action::Ignore(_)]
        ));
    }

    #[test]
    fn filters_must_all_match() {
        let on_main = json!({"filters": [{"field": "commit_status^refname", "regex": "^main$"}]});
        assert!(matches!(
            &map(&status_event("FAILED"), on_main)[..],
            [Action::Open(_)]
        ));
        let on_release =
            json!({"filters": [{"field": "commit_status^refname", "regex": "^release/"}]});
        let actions = map(&status_event("FAILED"), on_release);
        assert!(
            matches!(&actions[..], [Action::Ignore(reason)] if reason.contains("does not match"))
        );
    }

    #[test]
    fn events_without_a_status_are_ignored_and_bad_config_fails() {
        let push = Event::new("repo:push", PUSH);
        assert!(
            matches!(&map(&push, json!({}))[..], [Action::Ignore(reason)] if reason.contains("commit_status^state"))
        );
        let bad_regex =
            Config::from_json(r#"{"filters": [{"field": "a", "regex": "("}]}"#).unwrap();
        assert!(Pipelines::map(&status_event("FAILED"), &bad_regex).is_err());
        let bad_key = Config::from_json(r#"{"key": "{nope}"}"#).unwrap();
        let error = Pipelines::map(&status_event("FAILED"), &bad_key).unwrap_err();
        assert!(error.message().contains("nope"), "{error}");
    }
}
