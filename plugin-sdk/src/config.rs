use crate::PluginError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The configuration an endpoint or destination gives a plugin: a JSON object.
///
/// Getters come in two forms: `get_*` returns `Ok(None)` for an absent key and an error naming
/// the key when it has the wrong type; `*_or` returns the default for an absent key.
///
/// ```
/// use hookgate_plugin_sdk::Config;
/// let config = Config::from_json(r#"{"open": ["FAILED", "STOPPED"], "key": "{repository.full_name}"}"#).unwrap();
/// assert_eq!(config.str_or("status_field", "commit_status^state").unwrap(), "commit_status^state");
/// assert_eq!(config.list_or("open", &["FAILED"]).unwrap(), vec!["FAILED", "STOPPED"]);
/// assert!(config.get_bool("key").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    values: Map<String, Value>,
}

impl Config {
    /// Parses a config from JSON object text; an empty text is an empty config.
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str(text)? {
            Value::Object(values) => Ok(Self { values }),
            Value::Null => Ok(Self::default()),
            other => Err(PluginError::new(format!(
                "config must be a JSON object, not {other}"
            ))),
        }
    }

    /// A config holding these values.
    pub fn from_map(values: Map<String, Value>) -> Self {
        Self { values }
    }

    /// The raw JSON value of a key.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.values.get(key).filter(|value| !value.is_null())
    }

    /// Every key and value.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Refuses keys the plugin does not read, so a misspelt key (`stauts_field`) is an error
    /// naming it and the valid keys, instead of a default silently used. Call it first, with the
    /// keys the plugin lists in its info.
    ///
    /// ```
    /// use hookgate_plugin_sdk::Config;
    /// let config = Config::from_json(r#"{"stauts_field": "state"}"#).unwrap();
    /// let error = config.deny_unknown_keys(&["status_field", "open"]).unwrap_err();
    /// assert_eq!(error.to_string(), "unknown config key `stauts_field`; this plugin reads: status_field, open");
    /// assert!(Config::default().deny_unknown_keys(&["status_field"]).is_ok());
    /// ```
    pub fn deny_unknown_keys(&self, known: &[&str]) -> Result<(), PluginError> {
        match self
            .values
            .keys()
            .find(|key| !known.contains(&key.as_str()))
        {
            None => Ok(()),
            Some(unknown) if known.is_empty() => Err(PluginError::new(format!(
                "unknown config key `{unknown}`; this plugin reads no config"
            ))),
            Some(unknown) => Err(PluginError::new(format!(
                "unknown config key `{unknown}`; this plugin reads: {}",
                known.join(", ")
            ))),
        }
    }

    /// A string value.
    pub fn get_str(&self, key: &str) -> Result<Option<&str>, PluginError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    /// A string value, or `default` when absent.
    pub fn str_or<'a>(&'a self, key: &str, default: &'a str) -> Result<&'a str, PluginError> {
        Ok(self.get_str(key)?.unwrap_or(default))
    }

    /// A boolean value.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, PluginError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(wrong_type(key, "true or false", other)),
        }
    }

    /// A boolean value, or `default` when absent.
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, PluginError> {
        Ok(self.get_bool(key)?.unwrap_or(default))
    }

    /// A non-negative integer value.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, PluginError> {
        match self.value(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "a non-negative integer", value)),
        }
    }

    /// A list of strings. A single string is taken as a list of one, as operators often write
    /// `"open": "FAILED"`.
    pub fn get_list(&self, key: &str) -> Result<Option<Vec<String>>, PluginError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(vec![text.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| wrong_type(key, "a list of strings", item))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(wrong_type(key, "a list of strings", other)),
        }
    }

    /// A list of strings, or `default` when absent.
    pub fn list_or(&self, key: &str, default: &[&str]) -> Result<Vec<String>, PluginError> {
        Ok(self
            .get_list(key)?
            .unwrap_or_else(|| default.iter().map(|item| item.to_string()).collect()))
    }

    /// Any value that deserializes from JSON, for structured settings.
    ///
    /// ```
    /// use hookgate_plugin_sdk::Config;
    /// #[derive(serde::Deserialize)]
    /// struct Filter { field: String, regex: String }
    /// let config = Config::from_json(r#"{"filters": [{"field": "a", "regex": "^x"}]}"#).unwrap();
    /// let filters: Vec<Filter> = config.get("filters").unwrap().unwrap_or_default();
    /// assert_eq!(filters[0].field, "a");
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PluginError> {
        match self.value(key) {
            None => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|error| PluginError::new(format!("config `{key}`: {error}"))),
        }
    }
}

fn wrong_type(key: &str, expected: &str, found: &Value) -> PluginError {
    PluginError::new(format!("config `{key}` must be {expected}, not {found}"))
}
