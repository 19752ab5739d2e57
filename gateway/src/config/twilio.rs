//! `[twilio]`: the Twilio-compatible REST API that carries `sms` and `voice` destinations. The
//! account sid and the sending number are passed to the notifier; the auth token never is: the
//! delivery transport adds HTTP Basic `sid:token` itself, only towards `api_url`'s origin.

use super::ConfigError;
use serde::{Deserialize, Serialize};

/// The destination kinds sent through the `[twilio]` API rather than to a URL of their own.
pub const TWILIO_KINDS: [&str; 2] = ["sms", "voice"];

/// The variable the auth token is read from (preferred over `[twilio] auth_token`).
pub const TWILIO_AUTH_TOKEN_VARIABLE: &str = "HOOKGATE_TWILIO_AUTH_TOKEN";

/// `[twilio]` as written. Every key but `api_url` is needed for sms and voice; with none of
/// them set, those kinds are simply refused when an endpoint is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioConfig {
    /// Base URL of the API (requests go to `{api_url}/2010-04-01/Accounts/{sid}/...`).
    pub api_url: String,
    /// The account sid, `AC...`.
    pub account_sid: Option<String>,
    /// The number messages and calls come from, in E.164.
    pub from: Option<String>,
    /// Discouraged (a file is easier to leak than the environment): set
    /// `HOOKGATE_TWILIO_AUTH_TOKEN` instead, which wins over this key.
    pub auth_token: Option<SecretText>,
}

impl TwilioConfig {
    /// Twilio's own API.
    pub const DEFAULT_API_URL: &str = "https://api.twilio.com";

    /// The settings the gateway uses, `None` when sms and voice are not configured at all; a
    /// half-configured section is an error naming the missing key.
    pub fn settings(&self) -> Result<Option<TwilioSettings>, ConfigError> {
        let given = |value: &Option<String>| value.clone().filter(|value| !value.is_empty());
        let account_sid = given(&self.account_sid);
        let from = given(&self.from);
        let auth_token = self
            .auth_token
            .clone()
            .filter(|token| !token.expose().is_empty());
        if account_sid.is_none() && from.is_none() && auth_token.is_none() {
            return Ok(None);
        }
        let account_sid = account_sid.ok_or_else(|| {
            ConfigError::invalid("twilio.account_sid", "needed with the other [twilio] keys")
        })?;
        if !account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::invalid(
                "twilio.account_sid",
                "must be letters and digits, like AC0123456789abcdef0123456789abcdef",
            ));
        }
        let from = from.ok_or_else(|| {
            ConfigError::invalid(
                "twilio.from",
                "needed with the other [twilio] keys: the sending number",
            )
        })?;
        if !is_e164(&from) {
            return Err(ConfigError::invalid(
                "twilio.from",
                "must be a number in E.164, like +15551234567",
            ));
        }
        let auth_token = auth_token.ok_or_else(|| {
            ConfigError::invalid(
                "twilio.auth_token",
                format!("needed with the other [twilio] keys: set {TWILIO_AUTH_TOKEN_VARIABLE}"),
            )
        })?;
        let api_url = reqwest::Url::parse(&self.api_url).map_err(|error| {
            ConfigError::invalid("twilio.api_url", format!("{:?}: {error}", self.api_url))
        })?;
        if !matches!(api_url.scheme(), "http" | "https")
            || api_url.query().is_some()
            || api_url.host_str().is_none()
        {
            return Err(ConfigError::invalid(
                "twilio.api_url",
                "must be an http or https URL without a query, like https://api.twilio.com",
            ));
        }
        Ok(Some(TwilioSettings {
            api_url: self.api_url.trim_end_matches('/').to_string(),
            account_sid,
            from,
            auth_token,
        }))
    }
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            api_url: Self::DEFAULT_API_URL.into(),
            account_sid: None,
            from: None,
            auth_token: None,
        }
    }
}

/// `[twilio]` checked: everything sms and voice need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioSettings {
    /// Base URL, without a trailing slash.
    pub api_url: String,
    /// Account sid (letters and digits).
    pub account_sid: String,
    /// Sending number, E.164.
    pub from: String,
    /// The auth token: only the delivery transport reads it.
    pub auth_token: SecretText,
}

/// A credential kept out of `Debug` output, so a logged configuration never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// Wraps a credential.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("\"[redacted]\"")
    }
}

/// A phone number in E.164: `+` and 8 to 15 digits (the first not 0).
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|byte| byte.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> TwilioConfig {
        TwilioConfig {
            account_sid: Some("AC0123".into()),
            from: Some("+15557654321".into()),
            auth_token: Some(SecretText::new("token-0123")),
            ..TwilioConfig::default()
        }
    }

    #[test]
    fn an_empty_section_means_no_sms_and_a_full_one_is_checked() {
        assert_eq!(TwilioConfig::default().settings().unwrap(), None);
        let settings = configured().settings().unwrap().unwrap();
        assert_eq!(settings.api_url, "https://api.twilio.com");
        assert_eq!(settings.auth_token.expose(), "token-0123");
        assert!(!format!("{settings:?}").contains("token-0123"));
    }

    #[test]
    fn a_half_configured_section_names_the_missing_key() {
        let mut config = configured();
        config.auth_token = None;
        let error = config.settings().unwrap_err();
        assert_eq!(error.key, "twilio.auth_token");
        assert!(error.reason.contains(TWILIO_AUTH_TOKEN_VARIABLE));
        let mut config = configured();
        config.from = Some("5551234".into());
        assert_eq!(config.settings().unwrap_err().key, "twilio.from");
        let mut config = configured();
        config.account_sid = Some("AC/../x".into());
        assert_eq!(config.settings().unwrap_err().key, "twilio.account_sid");
        let mut config = configured();
        config.api_url = "ftp://api.twilio.com".into();
        assert_eq!(config.settings().unwrap_err().key, "twilio.api_url");
    }

    #[test]
    fn e164_numbers() {
        for good in ["+15551234567", "+4930123456", "+12345678"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in [
            "15551234567",
            "+1555",
            "+1234567890123456",
            "+1 555 123 4567",
            "+05551234567",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
