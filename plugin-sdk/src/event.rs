use crate::json::render_template;
use crate::{JsonPath, PluginError};
use serde_json::Value;
use std::sync::OnceLock;

/// A verified webhook, as the gateway hands it to alert mappers and formatters.
///
/// The gateway has already checked the signature on the raw bytes and that the body is JSON.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let event = Event::new("repo:push", r#"{"repository": {"full_name": "acme/widgets"}}"#);
/// assert_eq!(event.json().unwrap().path("repository.full_name").unwrap(), "acme/widgets");
/// assert_eq!(event.render("{repository.full_name}").unwrap(), "acme/widgets");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// The gateway's id of the inbound record.
    pub inbound_id: String,
    /// The endpoint the webhook was posted to.
    pub endpoint_id: String,
    /// The provider plugin's name, e.g. `bitbucket`.
    pub provider: String,
    /// The event key, e.g. `repo:push`.
    pub event_key: String,
    /// Request headers, names lower-cased, signatures redacted.
    pub headers: Vec<(String, String)>,
    /// The JSON body as text.
    pub body: String,
    /// Receipt time in milliseconds since the Unix epoch.
    pub received_at: u64,
    /// The sender's attempt number (1 for the first delivery).
    pub attempt: u32,
    pub(crate) parsed: OnceLock<Result<Value, PluginError>>,
}

impl Event {
    /// An event with this key and body and empty metadata; for tests and tools.
    pub fn new(event_key: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            event_key: event_key.into(),
            body: body.into(),
            attempt: 1,
            ..Self::default()
        }
    }

    /// The body parsed as JSON; parsed once, on first use.
    pub fn json(&self) -> Result<&Value, PluginError> {
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.body).map_err(PluginError::from))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The body with only the values at `paths` and what leads to them, read without building
    /// the rest (see [`select_paths`](crate::select_paths)): for a plugin that reads a few
    /// fields of a large event, several times cheaper than [`Event::json`]. Look the paths up
    /// on the result as on the whole body.
    ///
    /// ```
    /// use hookgate_plugin_sdk::prelude::*;
    /// let event = Event::new("repo:push", r#"{"repository": {"full_name": "acme/widgets", "size": 9}}"#);
    /// let body = event.select(&["repository.full_name"]).unwrap();
    /// assert_eq!(body.str_at("repository.full_name"), Some("acme/widgets"));
    /// assert_eq!(event.render_in(&body, "{repository.full_name} {event_key}").unwrap(), "acme/widgets repo:push");
    /// ```
    pub fn select(&self, paths: &[&str]) -> Result<Value, PluginError> {
        crate::select_paths(&self.body, paths)
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Fills a template such as `{repository.full_name}:{commit_status.refname}` from the body
    /// (see [`render_template`](crate::render_template)). `{event_key}` is also available.
    pub fn render(&self, template: &str) -> Result<String, PluginError> {
        self.render_in(self.json()?, template)
    }

    /// [`Event::render`] from `body`, a document such as [`Event::select`] answers (selected
    /// with the template's [`template_paths`](crate::template_paths)).
    pub fn render_in(&self, body: &Value, template: &str) -> Result<String, PluginError> {
        match render_template(template, body) {
            Ok(text) => Ok(text),
            Err(error) if template.contains("{event_key") && body.lookup("event_key").is_none() => {
                let mut with_key = body.clone();
                if let Value::Object(map) = &mut with_key {
                    map.insert("event_key".into(), Value::String(self.event_key.clone()));
                    return render_template(template, &with_key);
                }
                Err(error)
            }
            Err(error) => Err(error),
        }
    }
}
