//! Configuration: every limit and default of SPEC §2 and §10 lives here, with the spec's numbers.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Plugin call limits: `[plugins]` in `hookgate.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Execution time per call, in milliseconds.
    pub timeout_ms: u64,
    /// Linear memory per call, in MiB.
    pub memory_mib: u64,
    /// Size of a call's result, in KiB.
    pub output_kib: u64,
}

impl PluginsConfig {
    /// Default execution time per call.
    pub const DEFAULT_TIMEOUT_MS: u64 = 50;
    /// Default memory per call.
    pub const DEFAULT_MEMORY_MIB: u64 = 32;
    /// Default result size per call.
    pub const DEFAULT_OUTPUT_KIB: u64 = 1024;

    /// The limits as the runtime applies them, or an error naming the bad key.
    pub fn limits(&self) -> Result<PluginLimits, ConfigError> {
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err(ConfigError::invalid(
                "plugins.timeout_ms",
                "must be between 1 and 60000",
            ));
        }
        if !(1..=4096).contains(&self.memory_mib) {
            return Err(ConfigError::invalid(
                "plugins.memory_mib",
                "must be between 1 and 4096",
            ));
        }
        if !(1..=1024 * 1024).contains(&self.output_kib) {
            return Err(ConfigError::invalid(
                "plugins.output_kib",
                "must be between 1 and 1048576",
            ));
        }
        Ok(PluginLimits {
            timeout: Duration::from_millis(self.timeout_ms),
            memory_bytes: (self.memory_mib * 1024 * 1024) as usize,
            output_bytes: (self.output_kib * 1024) as usize,
        })
    }
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
            memory_mib: Self::DEFAULT_MEMORY_MIB,
            output_kib: Self::DEFAULT_OUTPUT_KIB,
        }
    }
}

/// Validated per-call limits for plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Wall-clock execution time (epoch interruption).
    pub timeout: Duration,
    /// Linear memory.
    pub memory_bytes: usize,
    /// Result size.
    pub output_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginsConfig::default()
            .limits()
            .expect("the defaults are valid")
    }
}

/// A configuration value that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration `{key}`: {reason}")]
pub struct ConfigError {
    /// The key, e.g. `plugins.timeout_ms`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    /// An error for `key`.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
