//! Endpoints: one inbound integration each.

use crate::config::RateLimit;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which events an endpoint takes: the provider's push events, all of them, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventSelection {
    /// `"push"` or `"all"`.
    Keyword(String),
    /// Exactly these event keys.
    List(Vec<String>),
}

/// A plugin and its config, as an endpoint's `alerts` or `format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    /// Plugin name.
    pub plugin: String,
    /// Its config object.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    #[schema(value_type = Object)]
    pub config: Value,
}

/// An endpoint's `format`: a formatter plugin or a Handlebars template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FormatSpec {
    /// `{"template": "..."}`, rendered by the host.
    Template {
        /// Handlebars source.
        template: String,
    },
    /// `{"plugin": "bitbucket-embeds", "config": {...}}`.
    Plugin(PluginRef),
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Destination {
    /// The notifier plugin.
    #[serde(default = "default_notifier")]
    pub notifier: String,
    /// `discord`, `slack`, `webhook`, `sms`, `voice`, `ntfy`, ...
    pub kind: String,
    /// Receiver URL; empty for `sms` and `voice`, which go to the `[twilio]` API.
    #[serde(default)]
    pub url: String,
    /// Signs requests with Standard Webhooks when set. Never shown after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// An `ntfy` topic's access token, sent by the host as `Authorization: Bearer`. Never
    /// shown after creation and never given to the notifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Other settings, passed to the notifier.
    #[serde(flatten)]
    pub config: Map<String, Value>,
}

fn default_notifier() -> String {
    "notifier".into()
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

fn is_empty_object(value: &Value) -> bool {
    value.as_object().is_some_and(Map::is_empty)
}

/// An endpoint as stored (with its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Unguessable id (the URL is `/hooks/{id}`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Provider plugin.
    pub provider: String,
    /// The selection as given.
    pub selection: EventSelection,
    /// The selection resolved against the provider's events.
    pub events: Vec<String>,
    /// Signing secret.
    pub secret: Option<String>,
    /// Disabled endpoints answer 410.
    pub enabled: bool,
    /// Alert mapping.
    pub alerts: Option<PluginRef>,
    /// Message formatting.
    pub format: Option<FormatSpec>,
    /// Destinations.
    pub destinations: Vec<Destination>,
    /// Creation time, ms.
    pub created_at: u64,
    /// This endpoint's rate limit; `[ingest]`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The Bitbucket webhook that posts to this endpoint, when `bitbucket connect` made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket: Option<BitbucketLink>,
    /// The escalation policy (`ep_<n>`) paged when an alert opens here; nobody is paged
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<String>,
    /// An alert that has seen no open for this long is closed by timeout: a duration as the
    /// operator wrote it (`30m`, `2h`, like the retry schedule's). Never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_close_after: Option<String>,
    /// Plugins quarantined for this endpoint after hitting their time or memory limit on
    /// `[plugins] quarantine_after` records in a row: its records fail without running them
    /// until an operator releases them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<PluginQuarantine>,
}

/// A plugin quarantined for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginQuarantine {
    /// The plugin's name.
    pub plugin: String,
    /// When it was quarantined, ms.
    pub at: u64,
    /// The last limit it hit, as the inbound record's outcome says it.
    pub reason: String,
}

/// What [`Store::change_quarantine`](crate::store::Store::change_quarantine) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineChange {
    /// Quarantine this plugin (unless it already is).
    Quarantine(PluginQuarantine),
    /// Release the named plugin.
    Release(String),
}

impl QuarantineChange {
    /// Applies the change to an endpoint; whether it changed it.
    pub fn apply(&self, endpoint: &mut EndpointRecord) -> bool {
        match self {
            Self::Quarantine(entry) => {
                if endpoint.is_quarantined(&entry.plugin) {
                    return false;
                }
                endpoint.quarantined.push(entry.clone());
                true
            }
            Self::Release(plugin) => {
                let before = endpoint.quarantined.len();
                endpoint.quarantined.retain(|entry| &entry.plugin != plugin);
                endpoint.quarantined.len() != before
            }
        }
    }
}

impl EndpointRecord {
    /// Whether `plugin` is quarantined for this endpoint.
    pub fn is_quarantined(&self, plugin: &str) -> bool {
        self.quarantined.iter().any(|entry| entry.plugin == plugin)
    }

    /// Whether the endpoint takes `event_key`: `"all"` means every event its provider knows
    /// now, also those a newer provider added after the endpoint was saved; any other
    /// selection is the list resolved when it was saved.
    pub fn selects(&self, event_key: &str) -> bool {
        matches!(&self.selection, EventSelection::Keyword(word) if word == "all")
            || self.events.iter().any(|event| event == event_key)
    }
}

/// Where the webhook of a connected endpoint lives in Bitbucket Cloud. A pasted token that
/// made it is not kept (disconnecting asks for one again); an OAuth connection's tokens are,
/// sealed, apart from the endpoint (`Store::bitbucket_connection`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BitbucketLink {
    /// Workspace slug (or `{uuid}`).
    pub workspace: String,
    /// Repository slug (or `{uuid}`).
    pub repo: String,
    /// The webhook's id as Bitbucket answered it, braces included: `{8f1c...}`.
    pub hook_uuid: String,
    /// Connected with OAuth: the store keeps the connection's sealed tokens, which
    /// disconnecting uses (so it needs no token).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oauth: bool,
}
