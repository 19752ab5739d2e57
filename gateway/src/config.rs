//! Configuration: every limit and default of SPEC §2 and §10 lives here, with the spec's numbers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod twilio;
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
        let bitbucket_api_url = self.bitbucket.checked_api_url()?;
        Ok(ValidatedConfig {
            listen,
            data_dir: self.data_dir.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            max_body_bytes: self.ingest.max_body_bytes,
            max_backlog: self.ingest.max_backlog,
            plugin_limits: self.plugins.limits()?,
            delivery_timeout: Duration::from_secs(self.delivery.timeout_secs),
            retry_schedule,
            allow_private_destinations: self.delivery.allow_private_destinations,
            pinned_hosts: self.delivery.pinned_hosts()?,
            disable_after_failures: self.delivery.disable_after_failures,
            retention: Duration::from_secs(self.retention.days * 86_400),
            retention_max_records: self.retention.max_records,
            abuse: self.abuse_limits()?,
            bitbucket_api_url,
            twilio: self.twilio.settings()?,
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
    /// Inbound log size limit.
    pub retention_max_records: u64,
    /// Rate limits, the rejected-record cap and connection limits.
    pub abuse: AbuseLimits,
    /// Base URL of the Bitbucket Cloud REST API, without a trailing slash.
    pub bitbucket_api_url: String,
    /// `[twilio]`, when sms and voice are configured.
    pub twilio: Option<TwilioSettings>,
}

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
    fn pinned_hosts(&self) -> Result<BTreeMap<String, Vec<IpAddr>>, ConfigError> {
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
    /// Inbound records kept.
    pub max_records: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            days: 30,
            max_records: 1_000_000,
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
    /// Seconds a webhook has to send its whole body (else 408).
    pub body_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open.
    pub keep_alive_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout_secs: 5,
            body_timeout_secs: 30,
            keep_alive_secs: 5,
        }
    }
}

/// `[bitbucket]`: where `bitbucket connect` registers webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BitbucketConfig {
    /// Base URL of the Bitbucket Cloud REST API (requests go to `{api_url}/2.0/...`).
    pub api_url: String,
}

impl BitbucketConfig {
    /// Bitbucket Cloud's API.
    pub const DEFAULT_API_URL: &str = "https://api.bitbucket.org";

    fn checked_api_url(&self) -> Result<String, ConfigError> {
        let url = reqwest::Url::parse(&self.api_url).map_err(|error| {
            ConfigError::invalid("bitbucket.api_url", format!("{:?}: {error}", self.api_url))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(ConfigError::invalid(
                "bitbucket.api_url",
                "must be an http or https URL without a query, like https://api.bitbucket.org",
            ));
        }
        Ok(self.api_url.trim_end_matches('/').to_string())
    }
}

impl Default for BitbucketConfig {
    fn default() -> Self {
        Self {
            api_url: Self::DEFAULT_API_URL.into(),
        }
    }
}

/// How long a Bitbucket API call may take before `connect` or `disconnect` gives up.
pub const BITBUCKET_API_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Deadline for a webhook's body.
    pub body_timeout: Duration,
    /// Idle keep-alive time.
    pub keep_alive: Duration,
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
        Ok(AbuseLimits {
            rate_limit,
            rejected_records_per_minute: self.ingest.rejected_records_per_minute,
            max_connections: self.http.max_connections,
            header_timeout: Duration::from_secs(self.http.header_timeout_secs),
            body_timeout: Duration::from_secs(self.http.body_timeout_secs),
            keep_alive: Duration::from_secs(self.http.keep_alive_secs),
        })
    }
}

/// `500ms`, `10s`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number * 60)),
        "h" => Some(Duration::from_secs(number * 3600)),
        _ => None,
    }
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

/// How long a web console sign-in lasts before the operator signs in again.
pub const CONSOLE_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Rows per page of the web console's tables.
pub const CONSOLE_PAGE_SIZE: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_specs() {
        let config = GatewayConfig::default().validate().unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.max_body_bytes, 1_048_576);
        assert_eq!(config.retry_schedule.len(), 6);
        assert_eq!(config.retry_schedule[5], Duration::from_secs(3600));
        assert_eq!(config.plugin_limits, PluginLimits::default());
        assert_eq!(config.bitbucket_api_url, "https://api.bitbucket.org");
    }

    #[test]
    fn the_bitbucket_api_url_is_checked() {
        let parsed: GatewayConfig =
            toml::from_str("[bitbucket]\napi_url = \"http://127.0.0.1:9000/\"\n").unwrap();
        assert_eq!(
            parsed.validate().unwrap().bitbucket_api_url,
            "http://127.0.0.1:9000"
        );
        for bad in [
            "api.bitbucket.org",
            "ftp://api.bitbucket.org",
            "https://x/?a=b",
        ] {
            let mut config = GatewayConfig::default();
            config.bitbucket.api_url = bad.into();
            assert_eq!(
                config.validate().unwrap_err().key,
                "bitbucket.api_url",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_spec_example_file_parses() {
        let text = r#"
listen = "127.0.0.1:8080"
data_dir = "./hookgate-data"
public_url = "http://127.0.0.1:8080"

[ingest]
max_body_bytes = 1048576
max_backlog = 100000

[plugins]
timeout_ms = 50
memory_mib = 32
output_kib = 1024
max_file_mib = 64

[delivery]
timeout_secs = 10
retry_schedule = ["10s", "30s", "2m", "10m", "30m", "1h"]
allow_private_destinations = false

[retention]
days = 30
max_records = 1000000
"#;
        let parsed: GatewayConfig = toml::from_str(text).unwrap();
        assert_eq!(
            parsed.validate().unwrap(),
            GatewayConfig::default().validate().unwrap()
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hookgate.toml");
        std::fs::write(&file, "[plugins]\ntimeout = 5\n").unwrap();
        let error = GatewayConfig::from_file(&file).unwrap_err();
        assert!(error.to_string().contains("timeout"), "{error}");

        let mut config = GatewayConfig::default();
        config.delivery.retry_schedule = vec!["soon".into()];
        assert_eq!(
            config.validate().unwrap_err().key,
            "delivery.retry_schedule"
        );
        let config = GatewayConfig {
            listen: "localhost".into(),
            ..GatewayConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().key, "listen");
        let mut config = GatewayConfig::default();
        config.plugins.timeout_ms = 0;
        assert_eq!(config.validate().unwrap_err().key, "plugins.timeout_ms");
        let mut config = GatewayConfig::default();
        config.plugins.max_file_mib = 0;
        assert_eq!(config.validate().unwrap_err().key, "plugins.max_file_mib");
    }

    #[test]
    fn abuse_limits_name_their_key() {
        let mut config = GatewayConfig::default();
        config.ingest.rate_limit_per_second = 10;
        config.ingest.rate_limit_burst = 0;
        assert_eq!(
            config.validate().unwrap_err().key,
            "ingest.rate_limit_burst"
        );
        let mut config = GatewayConfig::default();
        config.http.max_connections = 0;
        assert_eq!(config.validate().unwrap_err().key, "http.max_connections");
        let mut config = GatewayConfig::default();
        config.http.body_timeout_secs = 0;
        assert_eq!(config.validate().unwrap_err().key, "http.body_timeout_secs");
        let text = "[http]\nmax_connections = 8\n[ingest]\nrate_limit_per_second = 5\n";
        let parsed: GatewayConfig = toml::from_str(text).unwrap();
        let limits = parsed.validate().unwrap().abuse;
        assert_eq!(limits.max_connections, 8);
        assert_eq!(
            limits.rate_limit,
            RateLimit {
                per_second: 5,
                burst: 20
            }
        );
    }
}
