//! JSON access by path and key templates, the two things every mapper and formatter needs.
//!
//! A path names a value inside a JSON document: `commit_status^state` or `commit_status.state`
//! (`^` is AlertOps' separator; `.` is accepted too). Array elements are addressed by index:
//! `push.changes^0^new^name`. When a path contains `^`, only `^` separates segments, so keys that
//! contain dots stay addressable.

use crate::PluginError;
use serde_json::Value;

/// Splits a path into its segments (see the module docs for the rules).
pub(crate) fn segments(path: &str) -> impl Iterator<Item = &str> {
    let separator = if path.contains('^') { '^' } else { '.' };
    path.split(separator).filter(|segment| !segment.is_empty())
}

/// Path access on JSON values.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let payload = json!({"commit_status": {"state": "FAILED", "tags": ["a", "b"]}});
/// assert_eq!(payload.path("commit_status^state").unwrap(), "FAILED");
/// assert_eq!(payload.lookup("commit_status.tags.1").and_then(|v| v.as_str()), Some("b"));
/// assert!(payload.path("commit_status.missing").is_err());
/// ```
pub trait JsonPath {
    /// The value at `path`, or `None` when any segment is missing.
    fn lookup(&self, path: &str) -> Option<&Value>;

    /// The value at `path`, or an error naming the path.
    fn path(&self, path: &str) -> Result<&Value, PluginError>;

    /// The string at `path`, or `None` when it is missing or not a string.
    fn str_at(&self, path: &str) -> Option<&str> {
        self.lookup(path).and_then(Value::as_str)
    }
}

impl JsonPath for Value {
    fn lookup(&self, path: &str) -> Option<&Value> {
        segments(path).try_fold(self, |value, segment| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    fn path(&self, path: &str) -> Result<&Value, PluginError> {
        self.lookup(path)
            .ok_or_else(|| PluginError::new(format!("no value at `{path}`")))
    }
}

/// Renders a scalar the way a person reads it: strings without quotes, numbers and booleans as
/// text, `null` as empty; arrays and objects as compact JSON.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// Fills a key template such as `{repository.full_name}:{commit_status.refname}` from a JSON
/// document.
///
/// Each `{path}` is replaced by the value at that path (see [`JsonPath`]); `{path|fallback}` uses
/// `fallback` when the value is missing or null; `{{` and `}}` write literal braces. A missing
/// value without a fallback is an error naming the placeholder, so a misconfigured key never
/// silently merges unrelated alerts.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let payload = json!({"repository": {"full_name": "acme/widgets"}, "commit_status": {"refname": "main"}});
/// let key = render_template("{repository.full_name}:{commit_status.refname}", &payload).unwrap();
/// assert_eq!(key, "acme/widgets:main");
/// assert_eq!(render_template("{commit_status.tag|none}", &payload).unwrap(), "none");
/// assert!(render_template("{nope}", &payload).is_err());
/// ```
pub fn render_template(template: &str, document: &Value) -> Result<String, PluginError> {
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(position) = rest.find(['{', '}']) {
        rendered.push_str(&rest[..position]);
        let tail = &rest[position..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rendered.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(PluginError::new(format!(
                "template `{template}`: unmatched `}}` (write `}}}}` for a literal brace)"
            )));
        }
        let Some(end) = tail.find('}') else {
            return Err(PluginError::new(format!(
                "template `{template}`: unclosed `{{`"
            )));
        };
        let placeholder = &tail[1..end];
        let (path, fallback) = match placeholder.split_once('|') {
            Some((path, fallback)) => (path.trim(), Some(fallback)),
            None => (placeholder.trim(), None),
        };
        match (document.lookup(path), fallback) {
            (Some(value), _) if !value.is_null() => rendered.push_str(&display_value(value)),
            (_, Some(fallback)) => rendered.push_str(fallback),
            _ => {
                return Err(PluginError::new(format!(
                    "template `{template}`: no value at `{path}`"
                )));
            }
        }
        rest = &tail[end + 1..];
    }
    rendered.push_str(rest);
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caret_paths_keep_dotted_keys() {
        let document = json!({"a.b": {"c": 1}});
        assert_eq!(document.lookup("a.b^c"), Some(&json!(1)));
        assert_eq!(document.lookup("a.b.c"), None);
    }

    #[test]
    fn array_indices_and_non_containers() {
        let document = json!({"list": [{"x": "first"}], "n": 3});
        assert_eq!(document.str_at("list.0.x"), Some("first"));
        assert_eq!(document.lookup("list.1.x"), None);
        assert_eq!(document.lookup("list.zero"), None);
        assert_eq!(document.lookup("n.deeper"), None);
    }

    #[test]
    fn template_escapes_numbers_and_errors() {
        let document = json!({"n": 4, "ok": true, "nothing": null});
        assert_eq!(
            render_template("{{#{n}}} {ok}", &document).unwrap(),
            "{#4} true"
        );
        assert_eq!(render_template("{nothing|-}", &document).unwrap(), "-");
        assert!(render_template("{nothing}", &document).is_err());
        assert!(render_template("{n", &document).is_err());
        assert!(render_template("n}", &document).is_err());
        assert_eq!(render_template("", &document).unwrap(), "");
    }
}
