//! The sections of `hookgate.toml` (`[ingest]`, `[delivery]`, `[retention]`, `[http]`,
//! `[bitbucket]`, `[plugins]`), each with the spec's defaults, and the limits built from them.

use super::{ConfigError, SecretText};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// `[ingest]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest accepted body, bytes.
    pub max_body_bytes: usize,
    /// Pending records before ingest answers 503.
    pub max_backlog: u64,
    /// Requests per second per endpoint (token bucket); 0 = no limit.
    pub rate_limit_per_second: u32,
    /// Requests an endpoint may take at once above the rate.
    pub rate_limit_burst: u32,
    /// Rejected-request records one client address may create per minute.
    pub rejected_records_per_minute: u32,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_backlog: 100_000,
            rate_limit_per_second: 0,
            rate_limit_burst: 20,
            rejected_records_per_minute: 60,
        }
    }
}

/// Consecutive failed attempts that disable a destination by default (Outpost's figure): a
/// receiver that is gone for good stops costing a retry schedule per notification.
pub const DISABLE_AFTER_FAILURES: u32 = 20;

/// `[delivery]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Request timeout, seconds.
    pub timeout_secs: u64,
    /// Delays before the 2nd, 3rd, ... attempts.
    pub retry_schedule: Vec<String>,
    /// Allow loopback, private, link-local and unspecified destinations (tests).
    pub allow_private_destinations: bool,
    /// Host name → addresses, used instead of DNS for these names (like curl's `--resolve`);
    /// the private-address check applies to them as to any resolved address.
    pub hosts: BTreeMap<String, Vec<String>>,
    /// Consecutive failed attempts to one destination after which it is disabled; 0 = never.
    pub disable_after_failures: u32,
}

impl DeliveryConfig {
    pub(super) fn pinned_hosts(&self) -> Result<BTreeMap<String, Vec<IpAddr>>, ConfigError> {
        self.hosts
            .iter()
            .map(|(name, addresses)| {
                let parsed = addresses
                    .iter()
                    .map(|address| address.parse::<IpAddr>())
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
                    .filter(|parsed| !parsed.is_empty())
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            "delivery.hosts",
                            format!("{name:?} needs a list of IP addresses"),
                        )
                    })?;
                Ok((name.to_ascii_lowercase(), parsed))
            })
            .collect()
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 10,
            retry_schedule: ["10s", "30s", "2m", "10m", "30m", "1h"]
                .map(String::from)
                .to_vec(),
            allow_private_destinations: false,
            hosts: BTreeMap::new(),
            disable_after_failures: DISABLE_AFTER_FAILURES,
        }
    }
}

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days of inbound log kept.
    pub days: u64,
    /// Inbound records kept, rejected ones not counted (they have their own bound).
    pub max_records: u64,
    /// Rejected-request records kept, apart from `max_records`: a flood of bad requests
    /// prunes its own records, never the accepted history.
    pub max_rejected_records: u64,
    /// How often the bounds are applied (a duration like `1h`, `10m`, `500ms`); the first
    /// pass runs at start-up.
    pub interval: String,
    /// Days a closed alert is kept after it closed, with its history; 0 keeps them for good.
    pub closed_alert_days: u64,
    /// Days a finished delivery (delivered, or failed for good) is kept after it was made, with
    /// its attempts; 0 keeps them for good.
    pub finished_delivery_days: u64,
}

impl RetentionConfig {
    /// Days of closed alerts or finished deliveries (`key`) as a duration; 0: kept for good.
    /// More than a century is refused as a slip (the milliseconds would not fit a timestamp).
    pub(super) fn history_days(key: &str, days: u64) -> Result<Option<Duration>, ConfigError> {
        if days > MAX_HISTORY_DAYS {
            return Err(ConfigError::invalid(
                key,
                format!("{days} is more than {MAX_HISTORY_DAYS} days; 0 keeps them for good"),
            ));
        }
        Ok((days > 0).then(|| Duration::from_secs(days * 86_400)))
    }
}

/// The longest `closed_alert_days` and `finished_delivery_days` taken: a century.
const MAX_HISTORY_DAYS: u64 = 36_500;

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            days: 30,
            max_records: 1_000_000,
            max_rejected_records: 100_000,
            interval: "1h".into(),
            closed_alert_days: 0,
            finished_delivery_days: 0,
        }
    }
}

/// `[http]`: connection limits and read deadlines against slow or numerous clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Open connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Seconds a new connection has to send its request headers (else 408).
    pub header_timeout_secs: u64,
    /// Seconds a request has to send its whole body, on every route (else 408).
    pub body_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open.
    pub keep_alive_secs: u64,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold open at once; more are
    /// answered 503 and closed. Absent: a quarter of `max_connections` (at least 1); 0 = no
    /// cap (behind a reverse proxy, where every connection comes from the proxy).
    pub max_connections_per_client: Option<usize>,
    /// Wrong admin tokens (API bearer, console sign-in, `/metrics` when it needs the token) one
    /// client may present at once before it is answered 429.
    pub auth_failure_burst: u32,
    /// Wrong admin tokens a client may present per minute after the burst; 0 = no throttle.
    pub auth_failures_per_minute: u32,
    /// Whether `GET /metrics` needs `Authorization: Bearer <admin token>`.
    pub metrics_require_token: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout_secs: 5,
            body_timeout_secs: 30,
            keep_alive_secs: 5,
            max_connections_per_client: None,
            auth_failure_burst: 10,
            auth_failures_per_minute: 10,
            metrics_require_token: false,
        }
    }
}

/// `[bitbucket]`: where `bitbucket connect` registers webhooks, and the OAuth consumer the
/// console's Connect Bitbucket signs in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BitbucketConfig {
    /// Base URL of the Bitbucket Cloud REST API (requests go to `{api_url}/2.0/...`).
    pub api_url: String,
    /// Seconds a Bitbucket API call may take, connecting included, before `connect` or
    /// `disconnect` gives up.
    pub timeout_secs: u64,
    /// The OAuth consumer's key; with it (and the secret from
    /// `HOOKGATE_BITBUCKET_OAUTH_SECRET`) the console offers Connect Bitbucket with OAuth.
    pub oauth_client_id: Option<String>,
    /// Where Bitbucket's OAuth pages are (`{oauth_url}/site/oauth2/authorize`, `.../access_token`).
    pub oauth_url: String,
    /// The consumer's secret: never read from the file (a file is easier to leak than the
    /// environment), only from `HOOKGATE_BITBUCKET_OAUTH_SECRET`.
    #[serde(skip)]
    pub oauth_client_secret: Option<SecretText>,
}

/// The variable the OAuth consumer's secret is read from.
pub const BITBUCKET_OAUTH_SECRET_VARIABLE: &str = "HOOKGATE_BITBUCKET_OAUTH_SECRET";

/// The OAuth consumer, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitbucketOAuthSettings {
    /// The consumer's key (`client_id`).
    pub client_id: String,
    /// The consumer's secret.
    pub client_secret: SecretText,
    /// Base URL of Bitbucket's OAuth pages, without a trailing slash.
    pub oauth_url: String,
}

impl BitbucketConfig {
    /// Bitbucket Cloud's API.
    pub const DEFAULT_API_URL: &str = "https://api.bitbucket.org";
    /// Bitbucket Cloud's OAuth pages.
    pub const DEFAULT_OAUTH_URL: &str = "https://bitbucket.org";

    pub(super) fn checked_api_url(&self) -> Result<String, ConfigError> {
        checked_url("bitbucket.api_url", &self.api_url, Self::DEFAULT_API_URL)
    }

    /// The OAuth consumer, `None` when no `oauth_client_id` is set; a client id without the
    /// secret is an error naming the variable.
    pub(super) fn oauth_settings(&self) -> Result<Option<BitbucketOAuthSettings>, ConfigError> {
        let Some(client_id) = self
            .oauth_client_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            return Ok(None);
        };
        let client_secret = self
            .oauth_client_secret
            .clone()
            .filter(|secret| !secret.expose().is_empty())
            .ok_or_else(|| {
                ConfigError::invalid(
                    "bitbucket.oauth_client_id",
                    format!("needs the consumer's secret: set {BITBUCKET_OAUTH_SECRET_VARIABLE}"),
                )
            })?;
        let oauth_url = checked_url(
            "bitbucket.oauth_url",
            &self.oauth_url,
            Self::DEFAULT_OAUTH_URL,
        )?;
        Ok(Some(BitbucketOAuthSettings {
            client_id: client_id.to_string(),
            client_secret,
            oauth_url,
        }))
    }
}

/// An http or https base URL without a query, trailing slash removed.
fn checked_url(key: &str, value: &str, example: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(value)
        .map_err(|error| ConfigError::invalid(key, format!("{value:?}: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(ConfigError::invalid(
            key,
            format!("must be an http or https URL without a query, like {example}"),
        ));
    }
    Ok(value.trim_end_matches('/').to_string())
}

impl Default for BitbucketConfig {
    fn default() -> Self {
        Self {
            api_url: Self::DEFAULT_API_URL.into(),
            oauth_client_id: None,
            oauth_url: Self::DEFAULT_OAUTH_URL.into(),
            oauth_client_secret: None,
            timeout_secs: BITBUCKET_API_TIMEOUT_SECS,
        }
    }
}

/// How long a Bitbucket API call may take before `connect` or `disconnect` gives up, by
/// default (`[bitbucket] timeout_secs`).
pub const BITBUCKET_API_TIMEOUT_SECS: u64 = 30;

/// A token bucket: `per_second` requests a second on average, `burst` at once; `per_second = 0`
/// means no limit. Also an endpoint's optional `rate_limit`, overriding `[ingest]`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Average requests per second.
    pub per_second: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

impl RateLimit {
    /// Checks the values; `key` names them in the error.
    pub fn check(self, key: &str) -> Result<Self, ConfigError> {
        if self.per_second > 0 && self.burst == 0 {
            return Err(ConfigError::invalid(
                key,
                "burst must be at least 1 when a rate is set",
            ));
        }
        Ok(self)
    }
}

/// Validated limits against abusive clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbuseLimits {
    /// The default per-endpoint rate limit.
    pub rate_limit: RateLimit,
    /// Rejected-request records per client address per minute.
    pub rejected_records_per_minute: u32,
    /// Connections served at once, in all.
    pub max_connections: usize,
    /// Deadline for a new connection's request headers.
    pub header_timeout: Duration,
    /// Deadline for a request's body, from its arrival.
    pub body_timeout: Duration,
    /// Idle keep-alive time.
    pub keep_alive: Duration,
    /// Connections one client may hold open at once; 0 = no cap.
    pub max_connections_per_client: usize,
    /// Wrong admin tokens a client may present before it is answered 429.
    pub auth_failures: AuthFailureLimit,
    /// Whether `/metrics` needs the admin token.
    pub metrics_require_token: bool,
}

/// How many wrong admin tokens one client may present: `burst` at once, then `per_minute`;
/// `per_minute = 0` means no throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthFailureLimit {
    /// Failures allowed at once.
    pub burst: u32,
    /// Failures allowed per minute after the burst.
    pub per_minute: u32,
}

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
    /// Size of a drop-in `.wasm` file, in MiB; a larger file is refused before it is read.
    pub max_file_mib: u64,
    /// Records in a row on which a plugin hits its time or memory limit before it is
    /// quarantined for that endpoint; 0 = never.
    pub quarantine_after: u32,
}

impl PluginsConfig {
    /// Default execution time per call.
    pub const DEFAULT_TIMEOUT_MS: u64 = 50;
    /// Default memory per call.
    pub const DEFAULT_MEMORY_MIB: u64 = 32;
    /// Default result size per call.
    pub const DEFAULT_OUTPUT_KIB: u64 = 1024;
    /// Default drop-in file size: room for an interpreter built into a component
    /// (componentize-py's CPython is some 40 MB), far below what would strain memory.
    pub const DEFAULT_MAX_FILE_MIB: u64 = 64;
    /// Default limit hits in a row before a quarantine: a plugin that loops on one odd
    /// payload is not quarantined, one that loops on every record is within seconds.
    pub const DEFAULT_QUARANTINE_AFTER: u32 = 5;

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
        if !(1..=1024).contains(&self.max_file_mib) {
            return Err(ConfigError::invalid(
                "plugins.max_file_mib",
                "must be between 1 and 1024",
            ));
        }
        Ok(PluginLimits {
            timeout: Duration::from_millis(self.timeout_ms),
            memory_bytes: (self.memory_mib * 1024 * 1024) as usize,
            output_bytes: (self.output_kib * 1024) as usize,
            dropin_file_bytes: self.max_file_mib * 1024 * 1024,
        })
    }
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
            memory_mib: Self::DEFAULT_MEMORY_MIB,
            output_kib: Self::DEFAULT_OUTPUT_KIB,
            max_file_mib: Self::DEFAULT_MAX_FILE_MIB,
            quarantine_after: Self::DEFAULT_QUARANTINE_AFTER,
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
    /// Size of a drop-in file.
    pub dropin_file_bytes: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginsConfig::default()
            .limits()
            .expect("the defaults are valid")
    }
}
