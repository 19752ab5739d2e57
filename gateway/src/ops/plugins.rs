//! Plugins: the listing with load errors, a reload, the provider a webhook names, and the
//! plugins uploaded through the API — kept in the store, so every gateway on a shared
//! database loads them ([`sync_stored`]).

use super::{OpsError, Services};
use crate::runtime::{
    ConfigKey, LoadedPlugin, PluginKind, PluginSet, PluginSource, StoredComponent,
};
use crate::store::{StoreError, StoredPlugin, now_ms};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// The plugins loaded now.
pub fn snapshot(services: &Services) -> Arc<PluginSet> {
    services.registry.snapshot()
}

/// The plugin named `name`, if loaded (ingest's provider: held for the request, never copied).
pub fn get(services: &Services, name: &str) -> Option<Arc<LoadedPlugin>> {
    services.registry.get(name)
}

/// Loads the drop-in folder again; returns the plugins after it. Blocks (reads files,
/// compiles).
pub fn reload(services: &Services) -> Arc<PluginSet> {
    services.registry.reload()
}

/// Stores an uploaded component for every gateway on the store, after checking that it loads
/// here; answers the plugin as listed. Blocks (compiles).
pub fn upload(services: &Services, wasm: Vec<u8>) -> Result<PluginView, OpsError> {
    let engine = services.registry.engine();
    let max_bytes = engine.limits().dropin_file_bytes;
    if wasm.len() as u64 > max_bytes {
        return Err(OpsError::Invalid(format!(
            "the plugin is {} bytes, past [plugins] max_file_mib ({max_bytes} bytes)",
            wasm.len()
        )));
    }
    let loaded = LoadedPlugin::load(engine, &wasm, PluginSource::Stored(String::new()))
        .map_err(|error| OpsError::Invalid(format!("not a loadable plugin: {error}")))?;
    let name = loaded.name().to_string();
    let stored = StoredPlugin {
        name: name.clone(),
        digest: loaded.sha256().to_string(),
        stored_at: now_ms(),
        wasm,
    };
    drop(loaded);
    services.store.save_plugin(&stored)?;
    tracing::info!(plugin = %name, sha256 = %stored.digest, "plugin stored");
    let set = sync_stored(services)?;
    let item = PluginListing::of(&set)
        .items
        .into_iter()
        .find(|item| item.name.as_deref() == Some(name.as_str()) && item.source == "stored");
    item.ok_or_else(|| {
        OpsError::Conflict(format!(
            "plugin {name:?} is stored, but a drop-in file of the same name takes precedence              on this gateway"
        ))
    })
}

/// Removes an uploaded plugin from the store (every gateway drops it); `NotFound` when none of
/// that name is stored.
pub fn remove(services: &Services, name: &str) -> Result<(), OpsError> {
    if !services.store.delete_plugin(name)? {
        return Err(OpsError::NotFound("stored plugin"));
    }
    tracing::info!(plugin = %name, "stored plugin removed");
    sync_stored(services)?;
    Ok(())
}

/// Brings this gateway's uploaded plugins in line with the store: loads the new and changed
/// ones, drops the removed ones (a reload only when something changed). Blocks.
pub fn sync_stored(services: &Services) -> Result<Arc<PluginSet>, StoreError> {
    let listed = services.store.stored_plugins()?;
    let loaded = services.registry.stored();
    let same = listed.len() == loaded.len()
        && listed
            .iter()
            .zip(&loaded)
            .all(|(listed, loaded)| listed.name == loaded.name && listed.digest == loaded.digest);
    if same {
        return Ok(services.registry.snapshot());
    }
    let mut components = Vec::with_capacity(listed.len());
    for plugin in listed {
        let known = loaded
            .iter()
            .find(|loaded| loaded.name == plugin.name && loaded.digest == plugin.digest);
        match known {
            Some(known) => components.push(known.clone()),
            None => {
                let Some(stored) = services.store.stored_plugin(&plugin.name)? else {
                    continue;
                };
                components.push(StoredComponent {
                    name: stored.name,
                    digest: stored.digest,
                    bytes: stored.wasm,
                });
            }
        }
    }
    Ok(services.registry.set_stored(components))
}

/// A plugin as the API lists it: a loaded plugin, or a drop-in file that was refused (then
/// `name` is null and `error` says why).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginView {
    /// Unique name; null for a refused file.
    #[schema(required = true)]
    pub name: Option<String>,
    /// `builtin`, `dropin` or `stored` (uploaded with `POST /plugins`).
    pub source: String,
    /// Why a drop-in file was refused; null for a loaded plugin.
    #[schema(required = true)]
    pub error: Option<String>,
    /// The drop-in file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Plugin version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<PluginKind>,
    /// The `hookgate:plugin` version it was built against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// SHA-256 of the component, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// For operators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Config keys it reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_keys: Option<Vec<ConfigKey>>,
    /// A provider's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<PluginEventView>>,
    /// When a drop-in file was refused, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

/// An event a provider knows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginEventView {
    /// The event header's value.
    pub key: String,
    /// Whether it counts as a push.
    pub push: bool,
    /// One line.
    pub description: String,
}

/// The plugin listing: loaded plugins, then refused files (all of it on one page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginListing {
    /// The plugins.
    pub items: Vec<PluginView>,
    /// Always null: the listing is one page.
    #[schema(required = true)]
    pub next: Option<String>,
}

impl PluginListing {
    /// The listing of `set`.
    pub fn of(set: &PluginSet) -> Self {
        let mut items: Vec<PluginView> = set
            .plugins()
            .map(|plugin| {
                let info = plugin.info();
                let file = match plugin.source() {
                    PluginSource::Dropin(path) => Some(path.display().to_string()),
                    _ => None,
                };
                let events = plugin.description().ok().map(|description| {
                    description
                        .events
                        .iter()
                        .map(|event| PluginEventView {
                            key: event.key.clone(),
                            push: event.push,
                            description: event.description.clone(),
                        })
                        .collect()
                });
                PluginView {
                    name: Some(info.name.clone()),
                    source: plugin.source().as_str().to_string(),
                    error: None,
                    file,
                    version: Some(info.version.clone()),
                    kind: Some(info.kind),
                    api_version: Some(plugin.api_version().as_str().to_string()),
                    sha256: Some(plugin.sha256().to_string()),
                    description: Some(info.description.clone()),
                    config_keys: Some(info.config_keys.clone()),
                    events,
                    at: None,
                }
            })
            .collect();
        for error in set.errors() {
            items.push(PluginView {
                name: None,
                source: "dropin".into(),
                error: Some(error.error.clone()),
                file: Some(error.file.display().to_string()),
                version: None,
                kind: None,
                api_version: None,
                sha256: None,
                description: None,
                config_keys: None,
                events: None,
                at: Some(error.at),
            });
        }
        Self { items, next: None }
    }
}

/// [`PluginListing`] as JSON, for the console's templates.
pub fn view(set: &PluginSet) -> Value {
    serde_json::to_value(PluginListing::of(set)).unwrap_or(Value::Null)
}
