//! One loaded plugin: its compiled component pre-linked into an `InstancePre`, its info, and
//! typed calls that each run in a fresh `Store` with the call limits.

use super::bindings::{alert_mapper, formatter, notifier, provider, wit};
use super::engine::PluginEngine;
use super::host::HostState;
use super::types::{
    AlertAction, Credential, Message, Notification, NotificationContext, NotifierOutput,
    OutboundRequest, PluginDestination, PluginEvent, PluginInfo, PluginKind, ProviderDescription,
};
use super::{RuntimeError, SUPPORTED_API_VERSIONS};
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
}

impl PluginSource {
    /// `builtin` or `dropin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::Dropin(_) => "dropin",
        }
    }
}

/// The pre-linked instance of one plugin, typed by its world.
enum KindPre {
    Provider(provider::ProviderPre<HostState>),
    AlertMapper(alert_mapper::AlertMapperPre<HostState>),
    Formatter(formatter::FormatterPre<HostState>),
    Notifier(notifier::NotifierPre<HostState>),
}

/// A plugin ready to call. Cheap to share: callers hold an `Arc` for the length of a call, so
/// a reload never pulls a plugin out from under a call in flight.
pub struct LoadedPlugin {
    info: PluginInfo,
    source: PluginSource,
    sha256: String,
    engine: PluginEngine,
    name: Arc<str>,
    pre: KindPre,
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
        let kind = exported_kind(engine, &component)?;
        let instance_pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(|error| RuntimeError::Link(format!("{error:#}")))?;
        let wrong_world = |error: wasmtime::Error| RuntimeError::WrongWorld(format!("{error:#}"));
        let pre = match kind {
            PluginKind::Provider => {
                KindPre::Provider(provider::ProviderPre::new(instance_pre).map_err(wrong_world)?)
            }
            PluginKind::AlertMapper => KindPre::AlertMapper(
                alert_mapper::AlertMapperPre::new(instance_pre).map_err(wrong_world)?,
            ),
            PluginKind::Formatter => {
                KindPre::Formatter(formatter::FormatterPre::new(instance_pre).map_err(wrong_world)?)
            }
            PluginKind::Notifier => {
                KindPre::Notifier(notifier::NotifierPre::new(instance_pre).map_err(wrong_world)?)
            }
        };

        let mut plugin = Self {
            info: placeholder_info(kind),
            source,
            sha256,
            engine: engine.clone(),
            name: Arc::from("(loading)"),
            pre,
            description: None,
        };
        let info = plugin.call_info()?;
        check_info(&info, kind)?;
        plugin.name = Arc::from(info.name.as_str());
        plugin.info = info;
        if kind == PluginKind::Provider {
            plugin.description = Some(plugin.call_describe()?);
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

    /// Runs an alert mapper on one event with the endpoint's config (JSON object text).
    pub fn map_event(
        &self,
        event: &PluginEvent,
        config: &str,
    ) -> Result<Vec<AlertAction>, RuntimeError> {
        let KindPre::AlertMapper(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::AlertMapper));
        };
        let event = wit::Event::from(event);
        let actions = self.call(|store| {
            pre.instantiate(&mut *store)?
                .hookgate_plugin_alert_mapper_api()
                .call_map_event(&mut *store, &event, config)
        })?;
        Ok(actions.into_iter().map(AlertAction::from).collect())
    }

    /// Runs a formatter on one event with the endpoint's config (JSON object text).
    pub fn format(
        &self,
        event: &PluginEvent,
        config: &str,
    ) -> Result<Option<Message>, RuntimeError> {
        let KindPre::Formatter(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Formatter));
        };
        let event = wit::Event::from(event);
        let message = self.call(|store| {
            pre.instantiate(&mut *store)?
                .hookgate_plugin_formatter_api()
                .call_format(&mut *store, &event, config)
        })?;
        Ok(message.map(Message::from))
    }

    /// Runs a notifier: what delivers `notification` to `destination`. A 0.1 notifier only
    /// shapes HTTP requests, is not told of the kinds 0.1 lacks (an empty answer), and gets the
    /// credential its destination kind always had (`sms`/`voice`: Twilio, `ntfy`: the token).
    pub fn notify(
        &self,
        notification: &Notification,
        context: &NotificationContext,
        destination: &PluginDestination,
    ) -> Result<Vec<NotifierOutput>, RuntimeError> {
        let KindPre::Notifier(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Notifier));
        };
        let Some(notification) = super::bindings::notification_0_1(notification) else {
            return Ok(Vec::new());
        };
        let context = wit::NotificationContext::from(context);
        let wit_destination = wit::Destination::from(destination);
        let requests = self.call(|store| {
            pre.instantiate(&mut *store)?
                .hookgate_plugin_notifier_api()
                .call_notify(&mut *store, &notification, &context, &wit_destination)
        })?;
        let credential = implied_credential(&destination.kind);
        Ok(requests
            .into_iter()
            .map(|request| {
                let mut request = OutboundRequest::from(request);
                request.credential = credential;
                NotifierOutput::Http(request)
            })
            .collect())
    }

    fn call_info(&self) -> Result<PluginInfo, RuntimeError> {
        let info = self.call(|store| match &self.pre {
            KindPre::Provider(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin_provider_api()
                .call_info(&mut *store),
            KindPre::AlertMapper(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin_alert_mapper_api()
                .call_info(&mut *store),
            KindPre::Formatter(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin_formatter_api()
                .call_info(&mut *store),
            KindPre::Notifier(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin_notifier_api()
                .call_info(&mut *store),
        })?;
        Ok(info.into())
    }

    fn call_describe(&self) -> Result<ProviderDescription, RuntimeError> {
        let KindPre::Provider(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Provider));
        };
        let description = self.call(|store| {
            pre.instantiate(&mut *store)?
                .hookgate_plugin_provider_api()
                .call_describe(&mut *store)
        })?;
        Ok(description.into())
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

    fn wrong_kind(&self, expected: PluginKind) -> RuntimeError {
        RuntimeError::WrongKind {
            plugin: self.info.name.clone(),
            expected,
            actual: self.info.kind,
        }
    }
}

/// The credential a 0.1 notifier's requests get, which 0.1 cannot name: what the destination
/// kind has always been sent with.
fn implied_credential(kind: &str) -> Option<Credential> {
    match kind {
        "sms" | "voice" => Some(Credential::Twilio),
        "ntfy" => Some(Credential::DestinationToken),
        _ => None,
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

/// Finds the one `hookgate:plugin/<kind>-api@<version>` interface the component exports.
fn exported_kind(engine: &PluginEngine, component: &Component) -> Result<PluginKind, RuntimeError> {
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
        [(kind, version)] if SUPPORTED_API_VERSIONS.contains(&version.as_str()) => Ok(*kind),
        [(_, version)] => Err(RuntimeError::UnsupportedApiVersion {
            found: version.clone(),
        }),
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

fn check_info(info: &PluginInfo, exported: PluginKind) -> Result<(), RuntimeError> {
    if info.kind != exported {
        return Err(RuntimeError::WrongWorld(format!(
            "info says kind {} but the component exports the {} interface",
            info.kind, exported
        )));
    }
    if !SUPPORTED_API_VERSIONS.contains(&info.api_version.as_str()) {
        return Err(RuntimeError::UnsupportedApiVersion {
            found: info.api_version.clone(),
        });
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

/// The size of what a plugin returned, counted as the bytes of its strings and lists, so the
/// output limit is checked without serializing the result.
trait OutputSize {
    type Ok;
    fn output_size(&self) -> usize;
    fn into_result(self) -> Result<Self::Ok, String>;
}

impl<T: ByteSize> OutputSize for Result<T, String> {
    type Ok = T;
    fn output_size(&self) -> usize {
        match self {
            Ok(value) => value.size(),
            Err(error) => error.len(),
        }
    }
    fn into_result(self) -> Result<T, String> {
        self
    }
}

macro_rules! infallible_output {
    ($($t:ty),*) => {$(
        impl OutputSize for $t {
            type Ok = $t;
            fn output_size(&self) -> usize {
                self.size()
            }
            fn into_result(self) -> Result<$t, String> {
                Ok(self)
            }
        }
    )*};
}
infallible_output!(wit::PluginInfo, wit::ProviderDescription);

/// Byte size of a WIT value's strings and lists.
trait ByteSize {
    fn size(&self) -> usize;
}

impl ByteSize for String {
    fn size(&self) -> usize {
        self.len()
    }
}

impl ByteSize for Vec<u8> {
    fn size(&self) -> usize {
        self.len()
    }
}

impl<T: ByteSize> ByteSize for Option<T> {
    fn size(&self) -> usize {
        self.as_ref().map_or(0, ByteSize::size)
    }
}

impl<A: ByteSize, B: ByteSize> ByteSize for (A, B) {
    fn size(&self) -> usize {
        self.0.size() + self.1.size()
    }
}

impl ByteSize for Vec<wit::AlertAction> {
    fn size(&self) -> usize {
        self.iter().map(ByteSize::size).sum()
    }
}

impl ByteSize for Vec<wit::HttpRequest> {
    fn size(&self) -> usize {
        self.iter()
            .map(|request| {
                request.method.len()
                    + request.url.len()
                    + request.body.len()
                    + request
                        .headers
                        .iter()
                        .map(|header| header.name.len() + header.value.len())
                        .sum::<usize>()
            })
            .sum()
    }
}

impl ByteSize for wit::AlertAction {
    fn size(&self) -> usize {
        match self {
            wit::AlertAction::Open(alert) => {
                alert.key.size()
                    + alert.title.size()
                    + alert.source_status.size()
                    + alert.url.size()
                    + alert.description.size()
                    + alert.commit_hash.size()
                    + alert.commit_message.size()
                    + alert.actor.size()
                    + alert.labels.iter().map(ByteSize::size).sum::<usize>()
            }
            wit::AlertAction::Close(text) | wit::AlertAction::Ignore(text) => text.len(),
        }
    }
}

impl ByteSize for wit::Message {
    fn size(&self) -> usize {
        self.text.len()
            + self
                .embeds
                .iter()
                .map(|embed| {
                    embed.title.size()
                        + embed.description.size()
                        + embed.url.size()
                        + embed.footer.size()
                        + embed.timestamp.size()
                        + embed.author.as_ref().map_or(0, |author| {
                            author.name.len() + author.url.size() + author.icon_url.size()
                        })
                        + embed
                            .fields
                            .iter()
                            .map(|field| field.name.len() + field.value.len())
                            .sum::<usize>()
                })
                .sum::<usize>()
    }
}

impl ByteSize for wit::PluginInfo {
    fn size(&self) -> usize {
        self.name.len()
            + self.version.len()
            + self.api_version.len()
            + self.description.len()
            + self
                .config_keys
                .iter()
                .map(|key| key.name.len() + key.description.len())
                .sum::<usize>()
    }
}

impl ByteSize for wit::ProviderDescription {
    fn size(&self) -> usize {
        self.event_header.len()
            + self.delivery_id_header.size()
            + self.attempt_header.size()
            + self
                .events
                .iter()
                .map(|event| event.key.len() + event.description.len() + event.sample.len())
                .sum::<usize>()
    }
}
