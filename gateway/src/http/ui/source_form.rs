//! The source form of the console: its fields as shown and as submitted, read from a stored
//! endpoint or a posted form, and turned into the endpoint input the ops layer validates.

use super::FormFields;
use crate::store::{EndpointRecord, EventSelection, FormatSpec};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Destination kinds the built-in notifier shapes.
pub(super) const DESTINATION_KINDS: [&str; 7] = [
    "discord", "slack", "webhook", "email", "sms", "voice", "ntfy",
];

/// The endpoint form's fields, as shown and as submitted.
#[derive(Debug, Default, Serialize)]
pub(super) struct SourceForm {
    pub(super) name: String,
    pub(super) provider: String,
    /// `all`, `push` or `list`.
    pub(super) events_mode: String,
    pub(super) selected_events: Vec<String>,
    /// Empty: no alert mapping.
    pub(super) alerts_plugin: String,
    pub(super) status_field: String,
    pub(super) open: String,
    pub(super) close: String,
    pub(super) key: String,
    /// One `field=regex` per line.
    pub(super) filters: String,
    /// `none`, `plugin` or `template`.
    pub(super) format_mode: String,
    pub(super) format_plugin: String,
    pub(super) template: String,
    pub(super) destinations: Vec<DestinationRow>,
    pub(super) enabled: bool,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct DestinationRow {
    pub(super) notifier: String,
    pub(super) kind: String,
    pub(super) url: String,
    /// The number of an `sms` or `voice` destination, or an `email` destination's addresses
    /// separated by commas.
    pub(super) to: String,
    /// Whether a secret (or an ntfy token) is stored; neither is ever shown.
    pub(super) secret_set: bool,
    /// A new secret (an ntfy token for that kind) typed in the form (never rendered back).
    #[serde(skip)]
    pub(super) secret: String,
}

impl SourceForm {
    /// A new source: every event, AlertOps' pipeline mapping, embeds.
    pub(super) fn new_source() -> Self {
        Self {
            provider: "bitbucket".into(),
            events_mode: "all".into(),
            alerts_plugin: "bitbucket-pipelines".into(),
            format_mode: "plugin".into(),
            format_plugin: "bitbucket-embeds".into(),
            enabled: true,
            ..Self::default()
        }
    }

    pub(super) fn from_record(endpoint: &EndpointRecord) -> Self {
        let (events_mode, selected_events) = match &endpoint.selection {
            EventSelection::Keyword(word) => (word.clone(), Vec::new()),
            EventSelection::List(list) => ("list".into(), list.clone()),
        };
        let config = endpoint.alerts.as_ref().map(|alerts| &alerts.config);
        let text = |key: &str| {
            config
                .and_then(|config| config.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let list = |key: &str| {
            config
                .and_then(|config| config.get(key))
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let filters = config
            .and_then(|config| config.get("filters"))
            .and_then(Value::as_array)
            .map(|filters| {
                filters
                    .iter()
                    .map(|filter| {
                        format!(
                            "{}={}",
                            filter["field"].as_str().unwrap_or(""),
                            filter["regex"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        let (format_mode, format_plugin, template) = match &endpoint.format {
            None => ("none", String::new(), String::new()),
            Some(FormatSpec::Plugin(format)) => ("plugin", format.plugin.clone(), String::new()),
            Some(FormatSpec::Template { template }) => {
                ("template", String::new(), template.clone())
            }
        };
        Self {
            name: endpoint.name.clone(),
            provider: endpoint.provider.clone(),
            events_mode,
            selected_events,
            alerts_plugin: endpoint
                .alerts
                .as_ref()
                .map(|alerts| alerts.plugin.clone())
                .unwrap_or_default(),
            status_field: text("status_field"),
            open: list("open"),
            close: list("close"),
            key: text("key"),
            filters,
            format_mode: format_mode.into(),
            format_plugin,
            template,
            destinations: endpoint
                .destinations
                .iter()
                .map(|destination| DestinationRow {
                    notifier: destination.notifier.clone(),
                    kind: destination.kind.clone(),
                    url: destination.url.clone(),
                    to: match destination.config.get("to") {
                        Some(Value::String(to)) => to.clone(),
                        Some(Value::Array(addresses)) => addresses
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", "),
                        _ => String::new(),
                    },
                    secret_set: destination.secret.is_some() || destination.token.is_some(),
                    secret: String::new(),
                })
                .collect(),
            enabled: endpoint.enabled,
        }
    }

    pub(super) fn from_fields(fields: &FormFields) -> Self {
        let notifiers = fields.all("dest_notifier");
        let kinds = fields.all("dest_kind");
        let secrets = fields.all("dest_secret");
        let numbers = fields.all("dest_to");
        let destinations = fields
            .all("dest_url")
            .into_iter()
            .enumerate()
            .map(|(index, url)| (index, url, numbers.get(index).unwrap_or(&"").trim()))
            .filter(|(_, url, to)| !url.trim().is_empty() || !to.is_empty())
            .map(|(index, url, to)| DestinationRow {
                notifier: notifiers.get(index).unwrap_or(&"notifier").to_string(),
                kind: kinds.get(index).unwrap_or(&"discord").to_string(),
                url: url.trim().to_string(),
                to: to.to_string(),
                secret_set: false,
                secret: secrets.get(index).unwrap_or(&"").trim().to_string(),
            })
            .collect();
        Self {
            name: fields.get("name").into(),
            provider: fields.get("provider").into(),
            events_mode: fields.get("events_mode").into(),
            selected_events: fields
                .all("event")
                .into_iter()
                .map(str::to_string)
                .collect(),
            alerts_plugin: fields.get("alerts_plugin").into(),
            status_field: fields.get("status_field").into(),
            open: fields.get("open").into(),
            close: fields.get("close").into(),
            key: fields.get("key").into(),
            filters: fields.get("filters").into(),
            format_mode: fields.get("format_mode").into(),
            format_plugin: fields.get("format_plugin").into(),
            template: fields.all("template").first().unwrap_or(&"").to_string(),
            destinations,
            enabled: fields.has("enabled"),
        }
    }

    /// The endpoint as the admin API takes it. `current_config` keeps the alert-mapper keys
    /// this form does not show (when the mapper stays the same).
    pub(super) fn to_input(
        &self,
        current_config: Option<&Value>,
    ) -> Result<Map<String, Value>, String> {
        let mut input = Map::new();
        input.insert("name".into(), json!(self.name));
        input.insert("provider".into(), json!(self.provider));
        input.insert(
            "events".into(),
            match self.events_mode.as_str() {
                "list" => json!(self.selected_events),
                word => json!(word),
            },
        );
        input.insert(
            "alerts".into(),
            if self.alerts_plugin.is_empty() {
                Value::Null
            } else {
                json!({"plugin": self.alerts_plugin, "config": self.alert_config(current_config)?})
            },
        );
        input.insert(
            "format".into(),
            match self.format_mode.as_str() {
                "plugin" => json!({"plugin": self.format_plugin}),
                "template" => json!({"template": self.template}),
                _ => Value::Null,
            },
        );
        let destinations: Vec<Value> = self
            .destinations
            .iter()
            .map(|row| {
                let mut destination = json!({"notifier": row.notifier, "kind": row.kind});
                if !row.url.is_empty() {
                    destination["url"] = json!(row.url);
                }
                if row.kind == "email" {
                    let addresses: Vec<&str> = row
                        .to
                        .split(',')
                        .map(str::trim)
                        .filter(|address| !address.is_empty())
                        .collect();
                    destination["to"] = json!(addresses);
                } else if !row.to.is_empty() {
                    destination["to"] = json!(row.to);
                }
                if !row.secret.is_empty() {
                    // The one password field is the webhook's secret or the ntfy topic's token.
                    let key = if row.kind == "ntfy" {
                        "token"
                    } else {
                        "secret"
                    };
                    destination[key] = json!(row.secret);
                }
                destination
            })
            .collect();
        input.insert("destinations".into(), json!(destinations));
        input.insert("enabled".into(), json!(self.enabled));
        Ok(input)
    }

    pub(super) fn alert_config(&self, current: Option<&Value>) -> Result<Value, String> {
        let mut config = current
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|word| !word.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut set = |key: &str, value: Option<Value>| match value {
            Some(value) => {
                config.insert(key.into(), value);
            }
            None => {
                config.remove(key);
            }
        };
        let text = |text: &str| (!text.is_empty()).then(|| json!(text));
        let list = |text: &str| (!text.is_empty()).then(|| json!(words(text)));
        set("status_field", text(&self.status_field));
        set("open", list(&self.open));
        set("close", list(&self.close));
        set("key", text(&self.key));
        let mut filters = Vec::new();
        for line in self
            .filters
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let Some((field, regex)) = line.split_once('=') else {
                return Err(format!(
                    "filter {line:?} must be field=regex, e.g. commit_status^refname=^main$"
                ));
            };
            filters.push(json!({"field": field.trim(), "regex": regex.trim()}));
        }
        set("filters", (!filters.is_empty()).then(|| json!(filters)));
        Ok(Value::Object(config))
    }
}
