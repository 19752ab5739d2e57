//! `hookgate serve`: configuration from flags, `HOOKGATE_*` variables and `hookgate.toml`
//! (flags and variables win over the file, the file over the defaults), checked before anything
//! binds.

use super::CliError;
use crate::config::{
    DatabaseUrl, GatewayConfig, SMTP_PASSWORD_VARIABLE, SecretText, TWILIO_AUTH_TOKEN_VARIABLE,
};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address for webhooks, API and UI [default: 127.0.0.1:8080].
    #[arg(long, env = "HOOKGATE_LISTEN")]
    listen: Option<String>,
    /// Folder for the database, admin token, plugin drop-ins and compile cache
    /// [default: ./hookgate-data].
    #[arg(long, env = "HOOKGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Base used to print endpoint URLs [default: http://<listen>].
    #[arg(long, env = "HOOKGATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Keep the records in PostgreSQL, `postgres://user:password@host:5432/db`, instead of
    /// the redb file in the data dir ([storage] url).
    #[arg(long, env = "HOOKGATE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// A hookgate.toml with the same keys and the [ingest], [plugins], [delivery] and
    /// [retention] sections.
    #[arg(long, env = "HOOKGATE_CONFIG")]
    config: Option<PathBuf>,
}

/// The configuration these arguments describe.
pub fn resolve(args: ServeArgs) -> Result<GatewayConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => {
            GatewayConfig::from_file(path).map_err(|error| CliError::input(error.to_string()))?
        }
        None => GatewayConfig::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(data_dir) = args.data_dir {
        config.data_dir = data_dir;
    }
    if let Some(public_url) = args.public_url {
        config.public_url = Some(public_url);
    }
    if let Some(url) = args.database_url.filter(|url| !url.is_empty()) {
        config.storage.url = Some(DatabaseUrl::new(url));
    }
    // Read here, not as flags: a secret on the command line shows in `ps`.
    if let Some(token) = secret_variable(TWILIO_AUTH_TOKEN_VARIABLE) {
        config.twilio.auth_token = Some(token);
    }
    if let Some(password) = secret_variable(SMTP_PASSWORD_VARIABLE) {
        config.smtp.password = Some(password);
    }
    config.bitbucket.oauth_client_secret =
        secret_variable(crate::config::BITBUCKET_OAUTH_SECRET_VARIABLE);
    Ok(config)
}

/// A credential from the environment; an empty variable counts as unset.
fn secret_variable(name: &str) -> Option<SecretText> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .map(SecretText::new)
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let config = resolve(args)?;
    let config = config
        .validate()
        .map_err(|error| CliError::input(error.to_string()))?;
    let admin_token = std::env::var("HOOKGATE_ADMIN_TOKEN")
        .ok()
        .filter(|token| !token.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::input(format!("starting the async runtime: {error}")))?;
    runtime
        .block_on(crate::server::run(config, None, admin_token))
        .map_err(|error| CliError::input(format!("{error:#}")))
}
