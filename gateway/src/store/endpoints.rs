//! Endpoints: one inbound integration each.

use super::{Store, StoreError, decode, encode, tables};
use crate::config::RateLimit;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

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
    /// `discord`, `slack`, `webhook`, ...
    pub kind: String,
    /// Receiver URL.
    pub url: String,
    /// Signs requests with Standard Webhooks when set. Never shown after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
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
}

/// Where the webhook of a connected endpoint lives in Bitbucket Cloud. The access token that
/// made it is not kept: disconnecting asks for one again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitbucketLink {
    /// Workspace slug (or `{uuid}`).
    pub workspace: String,
    /// Repository slug (or `{uuid}`).
    pub repo: String,
    /// The webhook's id as Bitbucket answered it, braces included: `{8f1c...}`.
    pub hook_uuid: String,
}

impl Store {
    /// Inserts or replaces an endpoint.
    pub fn save_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        // The cache entry goes first and comes back after the commit, so no reader can keep
        // the old record once the new one is on disk.
        self.forget_endpoint(&endpoint.id);
        let txn = self.write()?;
        txn.open_table(tables::ENDPOINTS)?
            .insert(endpoint.id.as_str(), encode(endpoint).as_slice())?;
        self.commit(txn)?;
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.insert(endpoint.id.clone(), Arc::new(endpoint.clone()));
        }
        Ok(())
    }

    /// The endpoint with this id.
    pub fn endpoint(&self, id: &str) -> Result<Option<EndpointRecord>, StoreError> {
        Ok(self
            .shared_endpoint(id)?
            .map(|endpoint| (*endpoint).clone()))
    }

    /// The endpoint with this id, shared with the cache (no copy): for the hot paths.
    pub fn shared_endpoint(&self, id: &str) -> Result<Option<Arc<EndpointRecord>>, StoreError> {
        if let Some(endpoint) = self
            .endpoint_cache
            .read()
            .ok()
            .and_then(|cache| cache.get(id).cloned())
        {
            return Ok(Some(endpoint));
        }
        let txn = self.read()?;
        let table = txn.open_table(tables::ENDPOINTS)?;
        let Some(bytes) = table.get(id)? else {
            return Ok(None);
        };
        let endpoint: Arc<EndpointRecord> = Arc::new(decode("endpoint", bytes.value())?);
        // Never over a newer record that `save_endpoint` put in meanwhile: this read may have
        // started before its commit.
        Ok(Some(match self.endpoint_cache.write() {
            Ok(mut cache) => cache.entry(id.to_string()).or_insert(endpoint).clone(),
            Err(_) => endpoint,
        }))
    }

    fn forget_endpoint(&self, id: &str) {
        if let Ok(mut cache) = self.endpoint_cache.write() {
            cache.remove(id);
        }
    }

    /// Every endpoint, newest first.
    pub fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(tables::ENDPOINTS)?;
        let mut endpoints = Vec::new();
        for entry in table.iter()? {
            let (_, bytes) = entry?;
            endpoints.push(decode::<EndpointRecord>("endpoint", bytes.value())?);
        }
        endpoints.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(endpoints)
    }
}
