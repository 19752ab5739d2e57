//! Plugins: the listing with load errors, a reload, and the provider a webhook names.

use super::Services;
use crate::runtime::{LoadedPlugin, PluginSet};
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
            if let crate::runtime::PluginSource::Dropin(path) = plugin.source() {
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
