//! The plugin runtime: one wasmtime engine, plugins compiled once and pre-linked, a fresh
//! sandboxed store per call with time, memory and output limits, and the registry that loads
//! built-in and drop-in plugins and swaps them atomically on change.

pub mod bindings;
mod engine;
mod host;
mod output_size;
mod plugin;
mod registry;
pub mod types;

pub use bindings::ApiVersion;
pub use engine::{EPOCH_TICK, PluginEngine};
pub use plugin::{LoadedPlugin, PluginSource};
pub use registry::{
    BuiltinPlugin, CompileCounts, LoadError, PluginRegistry, PluginSet, StoredComponent,
};
pub use types::*;

/// The WIT package versions this gateway serves, oldest first (one bindings module each, see
/// [`ApiVersion`]). A plugin declaring another is refused.
pub const SUPPORTED_API_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// Longest plugin error message kept; a plugin cannot fill the inbound log with one error.
const PLUGIN_ERROR_BYTES: usize = 1024;

/// Why loading or calling a plugin failed. The messages name the limit or the trap, as the
/// inbound log and `hookgate plugin run` show them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The engine could not be built.
    #[error("engine: {0}")]
    Engine(String),
    /// The compile cache could not be set up.
    #[error("compile cache: {0}")]
    Cache(String),
    /// The bytes are not a valid WebAssembly component.
    #[error("not a valid component: {0}")]
    NotAComponent(String),
    /// The component targets another world.
    #[error("wrong world: {0}")]
    WrongWorld(String),
    /// The component was built for a WIT version this gateway does not serve.
    #[error("unsupported WIT API version {found:?}: this gateway serves hookgate:plugin {supported}", supported = SUPPORTED_API_VERSIONS.join(", "))]
    UnsupportedApiVersion {
        /// The version the plugin declares.
        found: String,
    },
    /// The component imports something the sandbox does not provide.
    #[error("cannot link: {0}")]
    Link(String),
    /// The plugin's info is unusable.
    #[error("invalid plugin info: {0}")]
    InvalidInfo(String),
    /// A call went to a plugin of another kind.
    #[error("plugin {plugin} is a {actual}, not a {expected}")]
    WrongKind {
        /// Plugin name.
        plugin: String,
        /// Kind the caller needed.
        expected: PluginKind,
        /// Its kind.
        actual: PluginKind,
    },
    /// The call ran past its time limit.
    #[error("timeout: the call ran past {limit_ms} ms")]
    Timeout {
        /// The limit.
        limit_ms: u64,
    },
    /// The call tried to grow memory past the limit.
    #[error("memory limit: the call tried to use more than {limit_mib} MiB")]
    MemoryLimit {
        /// The limit.
        limit_mib: usize,
    },
    /// The call returned more than the output limit.
    #[error("output too large: {size} bytes, limit {limit}")]
    OutputTooLarge {
        /// What it returned.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The plugin trapped (panic, unreachable, stack overflow, ...).
    #[error("trap: {0}")]
    Trap(String),
    /// The plugin returned an error of its own.
    #[error("{0}")]
    Plugin(String),
    /// No plugin of that name is loaded.
    #[error("no plugin named {0:?} is loaded")]
    NotFound(String),
    /// The plugin is quarantined for the endpoint (after hitting its limits on record after
    /// record) and was not run.
    #[error("plugin quarantined")]
    Quarantined,
    /// Reading a plugin file failed.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl RuntimeError {
    /// What kind of failure a plugin call had, as `/metrics` labels it: `timeout`, `memory`,
    /// `trap`, `output` (too large), `error` (the plugin's own), `not_loaded`, `wrong_kind`, or
    /// `load` for the errors of loading a plugin.
    pub fn failure_kind(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::MemoryLimit { .. } => "memory",
            Self::Trap(_) => "trap",
            Self::OutputTooLarge { .. } => "output",
            Self::Plugin(_) => "error",
            Self::NotFound(_) => "not_loaded",
            Self::Quarantined => "quarantined",
            Self::WrongKind { .. } => "wrong_kind",
            Self::Engine(_)
            | Self::Cache(_)
            | Self::NotAComponent(_)
            | Self::WrongWorld(_)
            | Self::UnsupportedApiVersion { .. }
            | Self::Link(_)
            | Self::InvalidInfo(_)
            | Self::Io { .. } => "load",
        }
    }

    /// A plugin's own error message, cut to a length fit for the inbound log.
    pub(crate) fn plugin(mut message: String) -> Self {
        if message.len() > PLUGIN_ERROR_BYTES {
            let mut cut = PLUGIN_ERROR_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        Self::Plugin(message)
    }
}
