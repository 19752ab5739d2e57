//! Configuration: every limit and default of SPEC §2 and §10 lives here, with the spec's numbers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod sections;
mod smtp;
mod storage;
mod twilio;

pub use sections::*;
pub use smtp::{
    EMAIL_KIND, SMTP_PASSWORD_VARIABLE, SmtpConfig, SmtpLogin, SmtpSecurity, SmtpSettings,
};
pub use storage::{DatabaseUrl, StorageConfig, redact_database_url};
pub use twilio::{
    SecretText, TWILIO_AUTH_TOKEN_VARIABLE, TWILIO_KINDS, TwilioConfig, TwilioSettings, is_e164,
};

/// Everything `hookgate serve` reads: flags, `HOOKGATE_*` variables and `hookgate.toml`, with
/// the defaults of SPEC §2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address for webhooks, API and UI.
    pub listen: String,
    /// redb file, admin token, plugin drop-in folder, compile cache.
    pub data_dir: PathBuf,
    /// Base of printed endpoint URLs; `http://<listen>` when absent.
    pub public_url: Option<String>,
    /// `[ingest]`.
    pub ingest: IngestConfig,
    /// `[plugins]`.
    pub plugins: PluginsConfig,
    /// `[delivery]`.
    pub delivery: DeliveryConfig,
    /// `[retention]`.
    pub retention: RetentionConfig,
    /// `[http]`.
    pub http: HttpConfig,
    /// `[bitbucket]`.
    pub bitbucket: BitbucketConfig,
    /// `[twilio]`: sms and voice destinations.
    pub twilio: TwilioConfig,
    /// `[smtp]`: email destinations.
    pub smtp: SmtpConfig,
    /// `[storage]`: PostgreSQL instead of the redb file, when it has a `url`.
    pub storage: StorageConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./hookgate-data"),
            public_url: None,
            ingest: IngestConfig::default(),
            plugins: PluginsConfig::default(),
            delivery: DeliveryConfig::default(),
            retention: RetentionConfig::default(),
            http: HttpConfig::default(),
            bitbucket: BitbucketConfig::default(),
            twilio: TwilioConfig::default(),
            smtp: SmtpConfig::default(),
            storage: StorageConfig::default(),
        }
    }
}

impl GatewayConfig {
    /// Reads a `hookgate.toml`; unknown keys and bad values are errors naming the key.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::invalid("config", format!("cannot read {}: {error}", path.display()))
        })?;
        toml::from_str(&text).map_err(|error| {
            let message = error.message().to_string();
            let key = message
                .split('`')
                .nth(1)
                .map_or_else(|| "config".to_string(), str::to_string);
            ConfigError::invalid(key, format!("{} ({})", message.trim(), path.display()))
        })
    }

    /// Checks every value, so that bad configuration fails at start, never on a request.
    pub fn validate(&self) -> Result<ValidatedConfig, ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            ConfigError::invalid(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
            )
        })?;
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::invalid(
                "public_url",
                "must start with http:// or https://",
            ));
        }
        if self.ingest.max_body_bytes == 0 || self.ingest.max_body_bytes > 64 * 1024 * 1024 {
            return Err(ConfigError::invalid(
                "ingest.max_body_bytes",
                "must be between 1 and 67108864",
            ));
        }
        if self.ingest.max_backlog == 0 {
            return Err(ConfigError::invalid(
                "ingest.max_backlog",
                "must be at least 1",
            ));
        }
        if !(1..=300).contains(&self.delivery.timeout_secs) {
            return Err(ConfigError::invalid(
                "delivery.timeout_secs",
                "must be between 1 and 300",
            ));
        }
        if self.delivery.retry_schedule.is_empty() {
            return Err(ConfigError::invalid(
                "delivery.retry_schedule",
                "must list at least one delay",
            ));
        }
        let retry_schedule = self
            .delivery
            .retry_schedule
            .iter()
            .map(|text| {
                parse_duration(text).ok_or_else(|| {
                    ConfigError::invalid(
                        "delivery.retry_schedule",
                        format!("{text:?} is not a duration like 500ms, 10s, 2m or 1h"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.retention.days == 0 {
            return Err(ConfigError::invalid("retention.days", "must be at least 1"));
        }
        if self.retention.max_records == 0 {
            return Err(ConfigError::invalid(
                "retention.max_records",
                "must be at least 1",
            ));
        }
        if self.retention.max_rejected_records == 0 {
            return Err(ConfigError::invalid(
                "retention.max_rejected_records",
                "must be at least 1",
            ));
        }
        let closed_alert_retention = RetentionConfig::history_days(
            "retention.closed_alert_days",
            self.retention.closed_alert_days,
        )?;
        let finished_delivery_retention = RetentionConfig::history_days(
            "retention.finished_delivery_days",
            self.retention.finished_delivery_days,
        )?;
        let retention_interval = parse_duration(&self.retention.interval)
            .filter(|interval| !interval.is_zero())
            .ok_or_else(|| {
                ConfigError::invalid(
                    "retention.interval",
                    format!(
                        "{:?} is not a duration like 500ms, 10s, 2m or 1h",
                        self.retention.interval
                    ),
                )
            })?;
        let bitbucket_api_url = self.bitbucket.checked_api_url()?;
        let bitbucket_oauth = self.bitbucket.oauth_settings()?;
        if self.bitbucket.timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "bitbucket.timeout_secs",
                "must be at least 1",
            ));
        }
        let delivery_timeout = Duration::from_secs(self.delivery.timeout_secs);
        Ok(ValidatedConfig {
            listen,
            data_dir: self.data_dir.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            max_body_bytes: self.ingest.max_body_bytes,
            max_backlog: self.ingest.max_backlog,
            plugin_limits: self.plugins.limits()?,
            quarantine_after: self.plugins.quarantine_after,
            delivery_timeout,
            retry_schedule,
            allow_private_destinations: self.delivery.allow_private_destinations,
            pinned_hosts: self.delivery.pinned_hosts()?,
            disable_after_failures: self.delivery.disable_after_failures,
            retention: Duration::from_secs(self.retention.days * 86_400),
            retention_max_records: self.retention.max_records,
            retention_max_rejected_records: self.retention.max_rejected_records,
            retention_interval,
            closed_alert_retention,
            finished_delivery_retention,
            abuse: self.abuse_limits()?,
            bitbucket_api_url,
            bitbucket_oauth,
            bitbucket_timeout: Duration::from_secs(self.bitbucket.timeout_secs),
            twilio: self.twilio.settings()?,
            smtp: self.smtp.settings(delivery_timeout)?,
            database_url: self.storage.database_url()?,
            storage_lease: self.storage.lease()?,
        })
    }
}

/// Configuration checked and converted to the types the gateway uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data folder.
    pub data_dir: PathBuf,
    /// Base of endpoint URLs, without a trailing slash.
    pub public_url: String,
    /// Largest accepted body.
    pub max_body_bytes: usize,
    /// Pending records before ingest answers 503.
    pub max_backlog: u64,
    /// Per-call plugin limits.
    pub plugin_limits: PluginLimits,
    /// Limit hits in a row that quarantine a plugin for an endpoint; 0 = never.
    pub quarantine_after: u32,
    /// Delivery request timeout.
    pub delivery_timeout: Duration,
    /// Delays between delivery attempts.
    pub retry_schedule: Vec<Duration>,
    /// Whether destinations may resolve to private addresses.
    pub allow_private_destinations: bool,
    /// Host names answered from the config instead of DNS (lower case).
    pub pinned_hosts: BTreeMap<String, Vec<IpAddr>>,
    /// Consecutive failed attempts that disable a destination; 0 = never.
    pub disable_after_failures: u32,
    /// Inbound log age limit.
    pub retention: Duration,
    /// Inbound log size limit (records that are not rejected).
    pub retention_max_records: u64,
    /// Rejected records kept, apart from `retention_max_records`.
    pub retention_max_rejected_records: u64,
    /// How often retention prunes the inbound log (and the closed alerts and finished
    /// deliveries, when kept for a time).
    pub retention_interval: Duration,
    /// How long a closed alert is kept after it closed; `None`: for good.
    pub closed_alert_retention: Option<Duration>,
    /// How long a finished delivery is kept after it was made; `None`: for good.
    pub finished_delivery_retention: Option<Duration>,
    /// Rate limits, the rejected-record cap and connection limits.
    pub abuse: AbuseLimits,
    /// Base URL of the Bitbucket Cloud REST API, without a trailing slash.
    pub bitbucket_api_url: String,
    /// The Bitbucket OAuth consumer, when `[bitbucket] oauth_client_id` is set.
    pub bitbucket_oauth: Option<BitbucketOAuthSettings>,
    /// How long one Bitbucket API call may take.
    pub bitbucket_timeout: Duration,
    /// `[twilio]`, when sms and voice are configured.
    pub twilio: Option<TwilioSettings>,
    /// `[smtp]`, when email is configured.
    pub smtp: Option<SmtpSettings>,
    /// `[storage] url`: PostgreSQL; the redb file in the data dir when absent.
    pub database_url: Option<DatabaseUrl>,
    /// `[storage] lease`: how long a gateway's claims on shared work last.
    pub storage_lease: Duration,
}

impl GatewayConfig {
    fn abuse_limits(&self) -> Result<AbuseLimits, ConfigError> {
        let rate_limit = RateLimit {
            per_second: self.ingest.rate_limit_per_second,
            burst: self.ingest.rate_limit_burst,
        }
        .check("ingest.rate_limit_burst")?;
        if self.ingest.rejected_records_per_minute == 0 {
            return Err(ConfigError::invalid(
                "ingest.rejected_records_per_minute",
                "must be at least 1",
            ));
        }
        if self.http.max_connections == 0 {
            return Err(ConfigError::invalid(
                "http.max_connections",
                "must be at least 1",
            ));
        }
        for (key, secs) in [
            ("http.header_timeout_secs", self.http.header_timeout_secs),
            ("http.body_timeout_secs", self.http.body_timeout_secs),
            ("http.keep_alive_secs", self.http.keep_alive_secs),
        ] {
            if !(1..=3600).contains(&secs) {
                return Err(ConfigError::invalid(key, "must be between 1 and 3600"));
            }
        }
        let max_connections_per_client = match self.http.max_connections_per_client {
            None => (self.http.max_connections / 4).max(1),
            Some(cap) if cap > self.http.max_connections => {
                return Err(ConfigError::invalid(
                    "http.max_connections_per_client",
                    format!(
                        "must be at most http.max_connections ({}), or 0 for no cap",
                        self.http.max_connections
                    ),
                ));
            }
            Some(cap) => cap,
        };
        if self.http.auth_failures_per_minute > 0 && self.http.auth_failure_burst == 0 {
            return Err(ConfigError::invalid(
                "http.auth_failure_burst",
                "must be at least 1 when http.auth_failures_per_minute is set",
            ));
        }
        Ok(AbuseLimits {
            rate_limit,
            rejected_records_per_minute: self.ingest.rejected_records_per_minute,
            max_connections: self.http.max_connections,
            header_timeout: Duration::from_secs(self.http.header_timeout_secs),
            body_timeout: Duration::from_secs(self.http.body_timeout_secs),
            keep_alive: Duration::from_secs(self.http.keep_alive_secs),
            max_connections_per_client,
            auth_failures: AuthFailureLimit {
                burst: self.http.auth_failure_burst,
                per_minute: self.http.auth_failures_per_minute,
            },
            metrics_require_token: self.http.metrics_require_token,
        })
    }
}

/// `500ms`, `10s`, `2m`, `1h`. `None` for anything else, and for a number too large for its
/// unit (durations come from API input too, so that is a refusal, not an overflow).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = split_duration(text)?;
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => number.checked_mul(60).map(Duration::from_secs),
        "h" => number.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

/// The number and the unit of a duration's text (`"90m"` → `(90, "m")`), for the few places
/// that know units [`parse_duration`] does not (an on-call rotation's calendar `d` and `w`).
pub fn split_duration(text: &str) -> Option<(u64, &str)> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    Some((number.parse().ok()?, unit))
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

/// The shortest signing secret an endpoint may be given (Standard Webhooks' minimum key size);
/// generated secrets are 32 random bytes.
pub const MIN_ENDPOINT_SECRET_BYTES: usize = 24;

/// The shortest admin token the gateway starts with (the generated one has 64 characters).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// Request-header bytes (names and values) kept on a rejected record; the provider's own
/// headers are kept first.
pub const REJECTED_HEADER_BYTES: usize = 4096;

/// Body bytes kept on a rejected record.
pub const REJECTED_BODY_BYTES: usize = 4096;

/// How long a web console sign-in lasts before the operator signs in again.
pub const CONSOLE_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// How long an admin API session token (`POST /api/v1/sessions`) lasts.
pub const API_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Rows per page of the web console's tables.
pub const CONSOLE_PAGE_SIZE: usize = 50;

/// The most records the console's overview reads for one chart of the last day (newest
/// first); past it the chart says it stopped counting, so a busy gateway's page stays quick.
pub const CONSOLE_CHART_MAX_RECORDS: usize = 10_000;

/// The most open alerts the console's overview counts by severity.
pub const CONSOLE_OVERVIEW_MAX_ALERTS: usize = 10_000;

/// The shortest console password a user may be given.
pub const USER_MIN_PASSWORD_CHARS: usize = 8;

/// The most times an escalation policy starts again after its last step (SPEC §12: 0..9).
pub const ESCALATION_MAX_REPEAT: u8 = 9;

/// The shortest delay of an escalation step (SPEC §12: at least `1s`).
pub const ESCALATION_MIN_DELAY: Duration = Duration::from_secs(1);

/// The shortest on-call rotation. Handoffs more often than hourly help nobody, and the bound
/// keeps a schedule's shift list over a month in the hundreds, not the millions.
pub const SCHEDULE_MIN_ROTATION: Duration = Duration::from_secs(3600);

/// How far ahead "on call until" looks for the next change. A schedule that does not change
/// within it (one person, always) answers `until` = this far ahead; asked again then, it answers
/// the same.
pub const ONCALL_LOOKAHEAD: Duration = Duration::from_secs(90 * 24 * 3600);

#[cfg(test)]
mod tests;
