//! Plugins: the listing with load errors, a reload, the provider a webhook names, and the
//! plugins uploaded through the API — kept in the store, so every gateway on a shared
//! database loads them ([`sync_stored`]).

use super::{OpsError, Services};
use crate::runtime::{LoadedPlugin, PluginSet, PluginSource, StoredComponent};
use crate::store::{StoreError, StoredPlugin, now_ms};
use serde_json::{Value, json};
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
pub fn upload(services: &Services, wasm: Vec<u8>) -> Result<Value, OpsError> {
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
    let listing = view(&set);
    let item = listing["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|item| item["name"] == name.as_str() && item["source"] == "stored")
        })
        .cloned();
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

/// The listing as the API shows it: loaded plugins, then refused files.
pub fn view(set: &PluginSet) -> Value {
    let mut items: Vec<Value> = set
        .plugins()
        .map(|plugin| {
            let info = plugin.info();
            let mut item = json!({
                "name": info.name,
                "version": info.version,
                "kind": info.kind,
                "api_version": plugin.api_version(),
                "source": plugin.source().as_str(),
                "sha256": plugin.sha256(),
                "description": info.description,
                "config_keys": info.config_keys,
                "error": Value::Null,
            });
            if let PluginSource::Dropin(path) = plugin.source() {
                item["file"] = json!(path.display().to_string());
            }
            if let Ok(description) = plugin.description() {
                item["events"] = description
                    .events
                    .iter()
                    .map(|event| json!({"key": event.key, "push": event.push, "description": event.description}))
                    .collect();
            }
            item
        })
        .collect();
    for error in set.errors() {
        items.push(json!({
            "name": Value::Null,
            "source": "dropin",
            "file": error.file.display().to_string(),
            "error": error.error,
            "at": error.at,
        }));
    }
    json!({"items": items, "next": Value::Null})
}
