//! Configuration: defaults, validation refusals naming the key, and durations.

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
fn the_bitbucket_oauth_consumer_needs_its_secret_from_the_environment() {
    assert_eq!(
        GatewayConfig::default().validate().unwrap().bitbucket_oauth,
        None
    );
    let mut parsed: GatewayConfig =
        toml::from_str("[bitbucket]\noauth_client_id = \"key123\"\n").unwrap();
    assert_eq!(
        parsed.clone().validate().unwrap_err().key,
        "bitbucket.oauth_client_id",
        "a client id without HOOKGATE_BITBUCKET_OAUTH_SECRET"
    );
    parsed.bitbucket.oauth_client_secret = Some(crate::config::SecretText::new("s3cret"));
    let oauth = parsed.clone().validate().unwrap().bitbucket_oauth.unwrap();
    assert_eq!(oauth.client_id, "key123");
    assert_eq!(oauth.oauth_url, "https://bitbucket.org");
    assert_eq!(oauth.client_secret.expose(), "s3cret");
    assert!(!format!("{oauth:?}").contains("s3cret"));
    // The secret is never taken from the file.
    let refused = toml::from_str::<GatewayConfig>(
        "[bitbucket]\noauth_client_id = \"k\"\noauth_client_secret = \"s\"\n",
    );
    assert!(refused.is_err());
    parsed.bitbucket.oauth_url = "ftp://bitbucket.org".into();
    assert_eq!(parsed.validate().unwrap_err().key, "bitbucket.oauth_url");
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
    for interval in ["hourly", "0s", ""] {
        let mut config = GatewayConfig::default();
        config.retention.interval = interval.into();
        assert_eq!(
            config.validate().unwrap_err().key,
            "retention.interval",
            "{interval:?}"
        );
    }
    let mut config = GatewayConfig::default();
    config.bitbucket.timeout_secs = 0;
    assert_eq!(config.validate().unwrap_err().key, "bitbucket.timeout_secs");
}

#[test]
fn the_retention_interval_and_bitbucket_timeout_default_and_parse() {
    let defaults = GatewayConfig::default().validate().unwrap();
    assert_eq!(defaults.retention_interval, Duration::from_secs(3600));
    assert_eq!(defaults.bitbucket_timeout, Duration::from_secs(30));
    let parsed: GatewayConfig =
        toml::from_str("[retention]\ninterval = \"500ms\"\n[bitbucket]\ntimeout_secs = 5\n")
            .unwrap();
    let parsed = parsed.validate().unwrap();
    assert_eq!(parsed.retention_interval, Duration::from_millis(500));
    assert_eq!(parsed.bitbucket_timeout, Duration::from_secs(5));
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

#[test]
fn durations_parse_and_too_large_ones_are_refused() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration(" 2m "), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("1d"), None);
    assert_eq!(parse_duration("m"), None);
    assert_eq!(parse_duration("5"), None);
    assert_eq!(parse_duration("10000000000000000000h"), None);
    assert_eq!(parse_duration("18446744073709551615m"), None);
    assert_eq!(split_duration("2w"), Some((2, "w")));
}

#[test]
fn a_storage_url_chooses_postgres_and_is_never_shown() {
    assert_eq!(
        GatewayConfig::default().validate().unwrap().database_url,
        None
    );
    let parsed: GatewayConfig =
        toml::from_str("[storage]\nurl = \"postgres://hookgate:pw@db:5432/hookgate\"\n").unwrap();
    let config = parsed.validate().unwrap();
    let url = config.database_url.as_ref().expect("a database URL");
    assert_eq!(url.expose(), "postgres://hookgate:pw@db:5432/hookgate");
    assert!(!format!("{config:?}").contains(":pw@"), "{config:?}");
    let unknown = toml::from_str::<GatewayConfig>("[storage]\npath = \"x\"\n");
    assert!(unknown.is_err(), "unknown [storage] keys are refused");
}

/// Closed alerts and finished deliveries are kept for good unless `[retention]` says for how
/// long; more than a century is refused naming the key.
#[test]
fn closed_alert_and_finished_delivery_retention_default_to_for_good() {
    let defaults = GatewayConfig::default().validate().unwrap();
    assert_eq!(defaults.closed_alert_retention, None);
    assert_eq!(defaults.finished_delivery_retention, None);
    let parsed: GatewayConfig =
        toml::from_str("[retention]\nclosed_alert_days = 90\nfinished_delivery_days = 7\n")
            .unwrap();
    let validated = parsed.validate().unwrap();
    assert_eq!(
        validated.closed_alert_retention,
        Some(Duration::from_secs(90 * 86_400))
    );
    assert_eq!(
        validated.finished_delivery_retention,
        Some(Duration::from_secs(7 * 86_400))
    );
    let mut config = GatewayConfig::default();
    config.retention.closed_alert_days = 36_501;
    assert_eq!(
        config.validate().unwrap_err().key,
        "retention.closed_alert_days"
    );
    let mut config = GatewayConfig::default();
    config.retention.finished_delivery_days = u64::MAX;
    assert_eq!(
        config.validate().unwrap_err().key,
        "retention.finished_delivery_days"
    );
}
