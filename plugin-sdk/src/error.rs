use std::fmt;

/// Why a plugin call failed. The gateway records the message as the event's outcome
/// (`Plugin Failed: <message>`), so write it for an operator: say what was missing or wrong.
///
/// ```
/// use hookgate_plugin_sdk::PluginError;
/// let error = PluginError::new("commit_status.state is missing");
/// assert_eq!(error.to_string(), "commit_status.state is missing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    message: String,
}

impl PluginError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

impl From<serde_json::Error> for PluginError {
    fn from(error: serde_json::Error) -> Self {
        Self::new(format!("invalid JSON: {error}"))
    }
}

impl From<String> for PluginError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}
