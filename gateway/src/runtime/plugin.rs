//! One loaded plugin: its compiled component pre-linked into an `InstancePre` through the
//! bindings of the WIT version it was built for, its info, and typed calls that each run in a
//! fresh `Store` with the call limits.

use super::RuntimeError;
use super::bindings::{ApiVersion, PluginExports, plugin_exports};
use super::engine::PluginEngine;
use super::host::HostState;
use super::output_size::OutputSize;
use super::types::{
    AlertAction, Message, Notification, NotificationContext, NotifierOutput, PluginDestination,
    PluginEvent, PluginInfo, PluginKind, ProviderDescription,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::component::Component;

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "source", content = "path")]
pub enum PluginSource {
    /// Compiled into the binary.
    Builtin,
    /// A file in the drop-in folder.
    Dropin(PathBuf),
    /// Uploaded through `POST /api/v1/plugins` and kept in the store (its name as uploaded).
    Stored(String),
}

impl PluginSource {
    /// `builtin` or `dropin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::Dropin(_) => "dropin",
            Self::Stored(_) => "stored",
        }
    }
}

/// A plugin ready to call. Cheap to share: callers hold an `Arc` for the length of a call, so
/// a reload never pulls a plugin out from under a call in flight.
pub struct LoadedPlugin {
    info: PluginInfo,
    source: PluginSource,
    sha256: String,
    engine: PluginEngine,
    name: Arc<str>,
    /// The WIT version its exports name, whose bindings every call goes through.
    api_version: ApiVersion,
    exports: Box<dyn PluginExports>,
    /// A provider's description, asked once at load: it is static and the host needs it on
    /// every inbound request.
    description: Option<ProviderDescription>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("info", &self.info)
            .field("source", &self.source)
            .field("sha256", &self.sha256)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Compiles (or fetches from the cache), links and checks a component: it must export one
    /// `hookgate:plugin/*-api` interface of a supported version, and its `info` must agree.
    pub fn load(
        engine: &PluginEngine,
        bytes: &[u8],
        source: PluginSource,
    ) -> Result<Self, RuntimeError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        if !is_component_binary(bytes) {
            return Err(RuntimeError::NotAComponent(
                if bytes.starts_with(b"\0asm") {
                    "a core WebAssembly module, not a component (build for wasm32-wasip2)"
                } else {
                    "not a WebAssembly file"
                }
                .into(),
            ));
        }
        let component = Component::new(engine.engine(), bytes)
            .map_err(|error| RuntimeError::NotAComponent(format!("{error:#}")))?;
        let (kind, api_version) = exported_kind(engine, &component)?;
        let instance_pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(|error| RuntimeError::Link(format!("{error:#}")))?;
        let exports = plugin_exports(api_version, kind, instance_pre)
            .map_err(|error| RuntimeError::WrongWorld(format!("{error:#}")))?;

        let mut plugin = Self {
            info: placeholder_info(kind),
            source,
            sha256,
            engine: engine.clone(),
            name: Arc::from("(loading)"),
            api_version,
            exports,
            description: None,
        };
        let info = plugin.call(|store| plugin.exports.info(store))?;
        check_info(&info, kind, api_version)?;
        plugin.name = Arc::from(info.name.as_str());
        plugin.info = info;
        if kind == PluginKind::Provider {
            plugin.description = Some(plugin.call(|store| plugin.exports.describe(store))?);
        }
        Ok(plugin)
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        self.info.kind
    }

    /// The WIT version it was built for, whose bindings serve its calls.
    pub fn api_version(&self) -> ApiVersion {
        self.api_version
    }

    /// Where it came from.
    pub fn source(&self) -> &PluginSource {
        &self.source
    }

    /// The sha256 of its bytes, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// A provider's description (asked once, at load).
    pub fn description(&self) -> Result<&ProviderDescription, RuntimeError> {
        self.description
            .as_ref()
            .ok_or_else(|| self.wrong_kind(PluginKind::Provider))
    }

    /// Runs an alert mapper on one event with the endpoint's config (JSON object text). Alerts
    /// of a 0.1 mapper are of severity `error`.
    pub fn map_event(
        &self,
        event: &PluginEvent,
        config: &str,
    ) -> Result<Vec<AlertAction>, RuntimeError> {
        self.expect_kind(PluginKind::AlertMapper)?;
        self.call(|store| self.exports.map_event(store, event, config))
    }

    /// Runs a formatter on one event with the endpoint's config (JSON object text).
    pub fn format(
        &self,
        event: &PluginEvent,
        config: &str,
    ) -> Result<Option<Message>, RuntimeError> {
        self.expect_kind(PluginKind::Formatter)?;
        self.call(|store| self.exports.format(store, event, config))
    }

    /// Runs a notifier: what delivers `notification` to `destination`. A 0.2 notifier is asked
    /// through `shape` and names the credential of each request itself; a 0.1 notifier only
    /// shapes HTTP requests, is not told of the kinds 0.1 lacks (an empty answer), and gets the
    /// credential its destination kind always had (`sms`/`voice`: Twilio, `ntfy`: the token).
    pub fn notify(
        &self,
        notification: &Notification,
        context: &NotificationContext,
        destination: &PluginDestination,
    ) -> Result<Vec<NotifierOutput>, RuntimeError> {
        self.expect_kind(PluginKind::Notifier)?;
        self.call(|store| {
            self.exports
                .notify(store, notification, context, destination)
        })
    }

    /// One call in a fresh store: memory limiter, epoch deadline, output captured; the result
    /// checked against the output limit and the plugin's own error turned into
    /// [`RuntimeError::Plugin`].
    fn call<R: OutputSize>(
        &self,
        run: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R::Ok, RuntimeError> {
        let limits = self.engine.limits();
        let mut store = Store::new(
            self.engine.engine(),
            HostState::new(self.name.clone(), limits.memory_bytes),
        );
        store.limiter(|state| state.limiter());
        store.set_epoch_deadline(self.engine.deadline_ticks());
        let outcome = run(&mut store);
        store.data().flush_output();
        let output = outcome.map_err(|error| self.classify_failure(error, store.data()))?;
        let size = output.output_size();
        if size > limits.output_bytes {
            return Err(RuntimeError::OutputTooLarge {
                size,
                limit: limits.output_bytes,
            });
        }
        output.into_result().map_err(RuntimeError::plugin)
    }

    fn classify_failure(&self, error: wasmtime::Error, state: &HostState) -> RuntimeError {
        let limits = self.engine.limits();
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
            if *trap == wasmtime::Trap::Interrupt {
                return RuntimeError::Timeout {
                    limit_ms: limits.timeout.as_millis() as u64,
                };
            }
            if state.memory_limit_hit() {
                return RuntimeError::MemoryLimit {
                    limit_mib: limits.memory_bytes / (1024 * 1024),
                };
            }
            return RuntimeError::Trap(trap.to_string());
        }
        if state.memory_limit_hit() {
            return RuntimeError::MemoryLimit {
                limit_mib: limits.memory_bytes / (1024 * 1024),
            };
        }
        RuntimeError::Trap(format!("{error:#}"))
    }

    fn expect_kind(&self, expected: PluginKind) -> Result<(), RuntimeError> {
        if self.info.kind == expected {
            Ok(())
        } else {
            Err(self.wrong_kind(expected))
        }
    }

    fn wrong_kind(&self, expected: PluginKind) -> RuntimeError {
        RuntimeError::WrongKind {
            plugin: self.info.name.clone(),
            expected,
            actual: self.info.kind,
        }
    }
}

fn placeholder_info(kind: PluginKind) -> PluginInfo {
    PluginInfo {
        name: String::new(),
        version: String::new(),
        kind,
        api_version: String::new(),
        description: String::new(),
        config_keys: Vec::new(),
    }
}

/// A component starts with `\0asm` and a version word whose layer half is 1; a core module's
/// layer is 0. Checked first so that a core module gets a plain-words refusal.
fn is_component_binary(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes.starts_with(b"\0asm") && bytes[6..8] == [1, 0]
}

/// Finds the one `hookgate:plugin/<kind>-api@<version>` interface the component exports, and
/// the served version it names.
fn exported_kind(
    engine: &PluginEngine,
    component: &Component,
) -> Result<(PluginKind, ApiVersion), RuntimeError> {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine.engine())
        .map(|(name, _)| name.to_string())
        .collect();
    let mut found = Vec::new();
    for export in &exports {
        let (interface, version) = export.split_once('@').unwrap_or((export.as_str(), ""));
        if let Some(kind) = PluginKind::ALL
            .into_iter()
            .find(|kind| kind.interface() == interface)
        {
            found.push((kind, version.to_string()));
        }
    }
    match found.as_slice() {
        [(kind, version)] => match ApiVersion::parse(version) {
            Some(api_version) => Ok((*kind, api_version)),
            None => Err(RuntimeError::UnsupportedApiVersion {
                found: version.clone(),
            }),
        },
        [] => Err(RuntimeError::WrongWorld(format!(
            "exports none of the hookgate:plugin worlds' interfaces \
             (provider-api, alert-mapper-api, formatter-api, notifier-api); it exports: {}",
            if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            }
        ))),
        _ => Err(RuntimeError::WrongWorld(format!(
            "exports more than one plugin interface: {}",
            found
                .iter()
                .map(|(kind, _)| kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn check_info(
    info: &PluginInfo,
    exported: PluginKind,
    exported_version: ApiVersion,
) -> Result<(), RuntimeError> {
    if info.kind != exported {
        return Err(RuntimeError::WrongWorld(format!(
            "info says kind {} but the component exports the {} interface",
            info.kind, exported
        )));
    }
    if ApiVersion::parse(&info.api_version).is_none() {
        return Err(RuntimeError::UnsupportedApiVersion {
            found: info.api_version.clone(),
        });
    }
    // A plugin says what it was built for in two places; they must agree, or operators would
    // be shown one version while the gateway calls it as another.
    if info.api_version != exported_version.as_str() {
        return Err(RuntimeError::InvalidInfo(format!(
            "info says api-version {} but the component exports hookgate:plugin {exported_version}",
            info.api_version
        )));
    }
    let valid_name = !info.name.is_empty()
        && info.name.len() <= 64
        && info
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(RuntimeError::InvalidInfo(format!(
            "plugin name {:?} must be 1 to 64 characters of a-z, 0-9, '-' or '_'",
            info.name
        )));
    }
    Ok(())
}
