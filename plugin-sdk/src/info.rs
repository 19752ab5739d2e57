/// The version of the WIT package (`hookgate:plugin`) this SDK builds plugins against.
pub const API_VERSION: &str = "0.2.0";

/// Who a plugin is, as `hookgate plugin list` and `GET /api/v1/plugins` show it.
///
/// The export macros start from the plugin crate's `Cargo.toml` (package name, version and
/// description); a plugin adds its config keys, or renames itself, in its trait's `info`.
///
/// ```
/// use hookgate_plugin_sdk::PluginInfo;
/// let info = PluginInfo::new("bitbucket-pipelines", "0.1.0")
///     .description("Bitbucket commit statuses to alerts")
///     .config_key("status_field", "JSON path of the status (default commit_status^state)");
/// assert_eq!(info.config_keys.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginInfo {
    /// Unique name; endpoints refer to the plugin by it.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// One or two sentences for operators.
    pub description: String,
    /// Config keys with a one-line description each.
    pub config_keys: Vec<(String, String)>,
}

impl PluginInfo {
    /// Info with this name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            ..Self::default()
        }
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the version (the default is the crate's `Cargo.toml` version).
    pub fn version_text(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a config key.
    pub fn config_key(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.config_keys.push((name.into(), description.into()));
        self
    }
}
