//! `[smtp]`: the mail relay that carries `email` destinations. The notifier writes the mail;
//! the host sends it through this relay, from `from`, with the login the operator configured.
//! The password is read from `HOOKGATE_SMTP_PASSWORD` (or, discouraged, `[smtp] password`) and
//! never reaches a plugin, a log line or an answer.
//!
//! The relay is the operator's own, so it is not subject to the private-address rule that
//! guards destinations: a relay on localhost or the LAN is the usual setup.

use super::{ConfigError, SecretText, parse_duration};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The variable the SMTP password is read from (preferred over `[smtp] password`).
pub const SMTP_PASSWORD_VARIABLE: &str = "HOOKGATE_SMTP_PASSWORD";

/// The destination kind sent through `[smtp]`.
pub const EMAIL_KIND: &str = "email";

/// The longest `[smtp] timeout` allowed.
const MAX_SMTP_TIMEOUT: Duration = Duration::from_secs(300);

/// `[smtp]` as written. With none of its keys set, email destinations are simply refused when
/// an endpoint is saved; a section that is set but cannot work stops the start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS), `smtps://host:port`
    /// (implicit TLS).
    pub url: Option<String>,
    /// The sender, a mailbox: `hookgate <alerts@example.com>`; its domain ends every
    /// `Message-ID`.
    pub from: Option<String>,
    /// The relay login's user name; the password comes from `HOOKGATE_SMTP_PASSWORD`.
    pub username: Option<String>,
    /// Discouraged (a file is easier to leak than the environment): set
    /// `HOOKGATE_SMTP_PASSWORD` instead, which wins over this key.
    pub password: Option<SecretText>,
    /// How long one mail may take, connection to final reply, like `30s`; default: the
    /// `[delivery] timeout_secs`.
    pub timeout: Option<String>,
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: no TLS (a relay on this machine, or the tests).
    Plain,
    /// `smtp://...?tls=required`: STARTTLS, and the mail is not sent without it.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
}

/// `[smtp]` checked: everything the mail transport needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The relay's host name or address.
    pub host: String,
    /// Its port (the scheme's default when the URL has none: 25, 587 with STARTTLS, 465).
    pub port: u16,
    /// TLS or not.
    pub security: SmtpSecurity,
    /// The sender as written (a valid mailbox).
    pub from: String,
    /// The sender's domain, the right part of every `Message-ID`.
    pub from_domain: String,
    /// The login, when the relay needs one.
    pub login: Option<SmtpLogin>,
    /// How long one mail may take.
    pub timeout: Duration,
}

/// A relay login: only the mail transport reads the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpLogin {
    /// The user name.
    pub username: String,
    /// The password (redacted in `Debug`).
    pub password: SecretText,
}

impl SmtpConfig {
    /// The settings the gateway uses, `None` when email is not configured at all; a section
    /// that cannot work is an error naming the key. `default_timeout` is `[delivery]`'s.
    pub fn settings(&self, default_timeout: Duration) -> Result<Option<SmtpSettings>, ConfigError> {
        let given = |value: &Option<String>| value.clone().filter(|value| !value.trim().is_empty());
        let url = given(&self.url);
        let from = given(&self.from);
        let username = given(&self.username);
        let password = self
            .password
            .clone()
            .filter(|password| !password.expose().is_empty());
        if url.is_none() && from.is_none() && username.is_none() && password.is_none() {
            return Ok(None);
        }
        let url = url.ok_or_else(|| {
            ConfigError::invalid(
                "smtp.url",
                "needed with the other [smtp] keys: the relay, like smtps://smtp.example.com:465",
            )
        })?;
        let (host, port, security) = relay(&url)?;
        let from = from.ok_or_else(|| {
            ConfigError::invalid(
                "smtp.from",
                "needed with the other [smtp] keys: the sender, like \"hookgate <alerts@example.com>\"",
            )
        })?;
        let mailbox: lettre::message::Mailbox = from.parse().map_err(|error| {
            ConfigError::invalid(
                "smtp.from",
                format!(
                    "{from:?} is not a mailbox like \"hookgate <alerts@example.com>\": {error}"
                ),
            )
        })?;
        let from_domain = mailbox.email.domain().to_string();
        let login = match (username, password) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "smtp.password",
                    format!("[smtp] username is set: set {SMTP_PASSWORD_VARIABLE} too"),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "smtp.username",
                    format!("{SMTP_PASSWORD_VARIABLE} is set: the login needs [smtp] username"),
                ));
            }
            (Some(username), Some(password)) => Some(SmtpLogin { username, password }),
        };
        if login.is_some() && security == SmtpSecurity::Plain && !is_loopback_host(&host) {
            return Err(ConfigError::invalid(
                "smtp.url",
                "a login over plain smtp:// would cross the network readable: use smtps:// or \
                 smtp://...?tls=required (plain is allowed only to a relay on this machine)",
            ));
        }
        let timeout = match &self.timeout {
            None => default_timeout,
            Some(text) => parse_duration(text)
                .filter(|timeout| !timeout.is_zero() && *timeout <= MAX_SMTP_TIMEOUT)
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "smtp.timeout",
                        format!("{text:?} is not a duration between 1ms and 5m, like 30s"),
                    )
                })?,
        };
        Ok(Some(SmtpSettings {
            host,
            port,
            security,
            from,
            from_domain,
            login,
            timeout,
        }))
    }
}

/// The relay's host, port and security from `[smtp] url`.
fn relay(text: &str) -> Result<(String, u16, SmtpSecurity), ConfigError> {
    let invalid = |reason: String| ConfigError::invalid("smtp.url", reason);
    let url = url::Url::parse(text).map_err(|error| invalid(format!("{text:?}: {error}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(format!(
            "has a login in it, which would show wherever the URL does: set [smtp] username \
             and {SMTP_PASSWORD_VARIABLE}"
        )));
    }
    let host = match url.host() {
        Some(url::Host::Domain(name)) if !name.is_empty() => name.to_string(),
        Some(url::Host::Ipv4(address)) => address.to_string(),
        Some(url::Host::Ipv6(address)) => address.to_string(),
        _ => return Err(invalid(format!("{text:?} names no host"))),
    };
    if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
        return Err(invalid(format!(
            "{text:?}: only smtp://host:port or smtps://host:port, with ?tls=required for STARTTLS"
        )));
    }
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let starttls = match query.as_slice() {
        [] => false,
        [(key, value)] if key == "tls" && value == "required" && url.scheme() == "smtp" => true,
        _ => {
            return Err(invalid(format!(
                "{text:?}: the only query is ?tls=required, on smtp:// (smtps:// is TLS already)"
            )));
        }
    };
    let (security, default_port) = match (url.scheme(), starttls) {
        ("smtp", false) => (SmtpSecurity::Plain, 25),
        ("smtp", true) => (SmtpSecurity::StartTls, 587),
        ("smtps", _) => (SmtpSecurity::ImplicitTls, 465),
        (scheme, _) => {
            return Err(invalid(format!(
                "{scheme}:// is not a relay URL: use smtp:// or smtps://"
            )));
        }
    };
    Ok((host, url.port().unwrap_or(default_port), security))
}

/// Whether the relay is on this machine, where plain SMTP crosses no network.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn configured() -> SmtpConfig {
        SmtpConfig {
            url: Some("smtps://smtp.example.com".into()),
            from: Some("hookgate <alerts@example.com>".into()),
            username: Some("alerts".into()),
            password: Some(SecretText::new("smtp-password-0123")),
            timeout: None,
        }
    }

    fn key_of(config: &SmtpConfig) -> String {
        config.settings(TIMEOUT).unwrap_err().key
    }

    #[test]
    fn an_empty_section_means_no_email_and_a_full_one_is_checked() {
        assert_eq!(SmtpConfig::default().settings(TIMEOUT).unwrap(), None);
        let settings = configured().settings(TIMEOUT).unwrap().unwrap();
        assert_eq!(settings.host, "smtp.example.com");
        assert_eq!(settings.port, 465);
        assert_eq!(settings.security, SmtpSecurity::ImplicitTls);
        assert_eq!(settings.from_domain, "example.com");
        assert_eq!(settings.timeout, TIMEOUT);
        let login = settings.login.as_ref().unwrap();
        assert_eq!(login.password.expose(), "smtp-password-0123");
        assert!(!format!("{settings:?}").contains("smtp-password-0123"));
        assert!(!format!("{:?}", configured()).contains("smtp-password-0123"));
    }

    #[test]
    fn the_url_picks_port_and_tls() {
        for (url, port, security) in [
            ("smtp://127.0.0.1:2525", 2525, SmtpSecurity::Plain),
            ("smtp://relay.example.com", 25, SmtpSecurity::Plain),
            (
                "smtp://relay.example.com?tls=required",
                587,
                SmtpSecurity::StartTls,
            ),
            ("smtps://[::1]:4650", 4650, SmtpSecurity::ImplicitTls),
        ] {
            let config = SmtpConfig {
                url: Some(url.into()),
                from: Some("alerts@example.com".into()),
                ..SmtpConfig::default()
            };
            let settings = config.settings(TIMEOUT).unwrap().unwrap();
            assert_eq!(
                (settings.port, settings.security),
                (port, security),
                "{url}"
            );
            assert_eq!(settings.login, None);
        }
    }

    #[test]
    fn a_relay_that_cannot_work_names_its_key() {
        for bad in [
            "smtp.example.com:25",
            "http://smtp.example.com",
            "smtp://",
            "smtps://smtp.example.com?tls=required",
            "smtp://smtp.example.com?tls=opportunistic",
            "smtp://smtp.example.com/helo-name",
            "smtps://alerts:hunter2@smtp.example.com",
        ] {
            let mut config = configured();
            config.url = Some(bad.into());
            assert_eq!(key_of(&config), "smtp.url", "{bad}");
        }
        let mut config = configured();
        config.url = Some("smtps://alerts:hunter2@smtp.example.com".into());
        assert!(
            !config
                .settings(TIMEOUT)
                .unwrap_err()
                .to_string()
                .contains("hunter2")
        );
        let mut config = configured();
        config.url = None;
        assert_eq!(key_of(&config), "smtp.url");
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        for bad in [
            "hookgate",
            "alerts@",
            "<alerts@example.com",
            "a b@example.com",
        ] {
            let mut config = configured();
            config.from = Some(bad.into());
            assert_eq!(key_of(&config), "smtp.from", "{bad}");
        }
        let mut config = configured();
        config.from = None;
        assert_eq!(key_of(&config), "smtp.from");
    }

    #[test]
    fn a_login_needs_both_halves_and_tls_off_this_machine() {
        let mut config = configured();
        config.password = None;
        let error = config.settings(TIMEOUT).unwrap_err();
        assert_eq!(error.key, "smtp.password");
        assert!(error.reason.contains(SMTP_PASSWORD_VARIABLE));
        let mut config = configured();
        config.username = None;
        assert_eq!(key_of(&config), "smtp.username");
        let mut config = configured();
        config.url = Some("smtp://smtp.example.com:25".into());
        assert_eq!(key_of(&config), "smtp.url");
        config.url = Some("smtp://127.0.0.1:2525".into());
        assert!(config.settings(TIMEOUT).unwrap().unwrap().login.is_some());
    }

    #[test]
    fn the_timeout_is_a_bounded_duration() {
        let mut config = configured();
        config.timeout = Some("30s".into());
        assert_eq!(
            config.settings(TIMEOUT).unwrap().unwrap().timeout,
            Duration::from_secs(30)
        );
        for bad in ["soon", "0s", "1h"] {
            config.timeout = Some(bad.into());
            assert_eq!(key_of(&config), "smtp.timeout", "{bad}");
        }
    }
}
