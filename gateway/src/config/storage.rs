//! `[storage]`: where the gateway keeps its records. Without a `url`, the redb file in the data
//! dir (the default); with one, PostgreSQL (SPEC §13).

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[storage]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `postgres://user:password@host:5432/db`: keep the records in PostgreSQL (15 or newer)
    /// instead of `<data-dir>/hookgate.redb`.
    pub url: Option<DatabaseUrl>,
    /// With several gateways on one database: how long a gateway's claim on work (an
    /// endpoint's queued records, a delivery it attempts) lasts before another gateway may take
    /// the work over, e.g. `"15s"` (the default): how soon a killed gateway's work resumes.
    pub lease: Option<String>,
}

/// The shortest and longest `[storage] lease`: a lease must outlast a batch's plugin calls.
const LEASE_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));
/// `[storage] lease` when unset.
const DEFAULT_LEASE: Duration = Duration::from_secs(15);

impl StorageConfig {
    /// The database URL, checked: `None` for redb.
    pub(super) fn database_url(&self) -> Result<Option<DatabaseUrl>, ConfigError> {
        let Some(url) = self.url.clone().filter(|url| !url.0.is_empty()) else {
            return Ok(None);
        };
        if !(url.0.starts_with("postgres://") || url.0.starts_with("postgresql://")) {
            return Err(ConfigError::invalid(
                "storage.url",
                format!(
                    "{} is not a PostgreSQL URL like postgres://user:password@host:5432/db",
                    url.redacted()
                ),
            ));
        }
        Ok(Some(url))
    }

    /// `lease`, checked.
    pub(super) fn lease(&self) -> Result<Duration, ConfigError> {
        let Some(text) = &self.lease else {
            return Ok(DEFAULT_LEASE);
        };
        match super::parse_duration(text) {
            Some(lease) if (LEASE_BOUNDS.0..=LEASE_BOUNDS.1).contains(&lease) => Ok(lease),
            _ => Err(ConfigError::invalid(
                "storage.lease",
                format!("{text:?} is not a duration between 1s and 1h, like \"15s\""),
            )),
        }
    }
}

/// A database URL, which may hold a password: `Debug` and [`DatabaseUrl::redacted`] show it
/// with the password replaced, so a logged configuration or an error never has it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, for the one place that connects with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password (in the user part or a `password` parameter) replaced by
    /// `***`.
    pub fn redacted(&self) -> String {
        redact_database_url(&self.0)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:?}", self.redacted())
    }
}

/// `url` with its password (in the user part or a `password` parameter) replaced by `***`;
/// a text that does not parse as a URL is not shown at all.
pub fn redact_database_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "(a database URL that does not parse, not shown)".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if name.eq_ignore_ascii_case("password") {
                    "***".to_string()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        let url = DatabaseUrl::new(
            "postgres://hookgate:s3cret@db:5432/hookgate?password=x2&sslmode=disable",
        );
        let shown = format!("{} {url:?}", url.redacted());
        assert!(
            !shown.contains("s3cret") && !shown.contains("x2"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://hookgate:***@db:5432/hookgate"),
            "{shown}"
        );
        assert!(shown.contains("sslmode=disable"), "{shown}");
        assert_eq!(
            redact_database_url("postgres://hookgate@127.0.0.1:5432/db"),
            "postgres://hookgate@127.0.0.1:5432/db"
        );
    }

    #[test]
    fn only_postgres_urls_are_taken() {
        let config = |url: &str| StorageConfig {
            url: Some(DatabaseUrl::new(url)),
            lease: None,
        };
        assert_eq!(StorageConfig::default().database_url(), Ok(None));
        assert!(
            config("postgresql://u@h/db")
                .database_url()
                .unwrap()
                .is_some()
        );
        let error = config("mysql://u:pw@h/db").database_url().unwrap_err();
        assert_eq!(error.key, "storage.url");
        assert!(!error.reason.contains("pw"), "{error}");
    }

    #[test]
    fn a_lease_must_be_a_sensible_duration() {
        let lease = |text: &str| {
            StorageConfig {
                lease: Some(text.into()),
                ..StorageConfig::default()
            }
            .lease()
        };
        assert_eq!(StorageConfig::default().lease(), Ok(DEFAULT_LEASE));
        assert_eq!(lease("3s"), Ok(Duration::from_secs(3)));
        for wrong in ["0s", "500ms", "2h", "soon"] {
            let error = lease(wrong).unwrap_err();
            assert_eq!(error.key, "storage.lease", "{wrong}");
        }
    }
}
