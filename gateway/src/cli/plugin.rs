//! `hookgate plugin check|run`: for plugin authors, no server needed.

use super::CliError;
use crate::config::PluginLimits;
use crate::runtime::{
    LoadedPlugin, Notification, NotificationContext, NotifierOutput, PluginDestination,
    PluginEngine, PluginEvent, PluginKind, PluginSource,
};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the plugins a running gateway has loaded, with load errors.
    List,
    /// Validate a plugin file and print its info.
    Check {
        /// The component (.wasm).
        file: PathBuf,
    },
    /// Run one call of a plugin on a payload and print what it returns, as JSON.
    Run(RunArgs),
    /// Write a new plugin crate (with a copy of the SDK and the WIT) that builds into a
    /// drop-in with `cargo build --release --target wasm32-wasip2`.
    New {
        /// The plugin's name (also the crate's): lower-case letters, digits and '-'.
        name: String,
        /// provider, alert-mapper, formatter or notifier.
        #[arg(long, value_parser = parse_kind)]
        kind: PluginKind,
        /// Where to write it (default: ./NAME); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn parse_kind(text: &str) -> Result<PluginKind, String> {
    PluginKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| {
            format!("{text:?} is not a kind: provider, alert-mapper, formatter or notifier")
        })
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The component (.wasm).
    file: PathBuf,
    /// The event key, e.g. `repo:push` (mappers and formatters; for a provider, prints that
    /// event's sample payload).
    #[arg(long)]
    event: Option<String>,
    /// The payload file: the webhook JSON for mappers and formatters; for notifiers, a
    /// notification (`{"message": ...}`, as `plugin run` prints for a formatter, or
    /// `{"alert_opened": ...}`, `{"alert_closed": ...}`, `{"alert_acknowledged": ...}`,
    /// `{"alert_escalated": ...}` with an alert notice), or with `--notification` the message
    /// or notice itself.
    #[arg(long)]
    body: Option<PathBuf>,
    /// For notifiers: the notification kind the body is sent as, `message`, `alert.opened`,
    /// `alert.closed`, `alert.acknowledged` or `alert.escalated` (a body keyed by another kind
    /// is re-sent as this one, so one notice tries them all).
    #[arg(long, value_name = "KIND")]
    notification: Option<String>,
    /// A config value, `key=value`; the value is read as JSON when it parses (`open=["FAILED"]`),
    /// else as text. For notifiers, `kind`, `url` and `secret` form the destination, and the
    /// rest is its config (`to=ops@example.com` for `email`).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
}

pub fn run(command: PluginCommand, json: bool) -> Result<(), CliError> {
    match command {
        PluginCommand::Check { file } => check(&file, json),
        PluginCommand::Run(args) => run_once(args),
        PluginCommand::New { name, kind, dir } => {
            let dir = super::scaffold::create(&name, kind, dir)?;
            println!("created the {kind} plugin {name} in {}", dir.display());
            println!(
                "next: cd {} && cargo test && cargo build --release --target wasm32-wasip2",
                dir.display()
            );
            println!("      then see its README.md to check, run and drop it in");
            Ok(())
        }
        PluginCommand::List => Err(CliError::input("plugin list talks to a gateway")),
    }
}

fn load(file: &Path) -> Result<LoadedPlugin, CliError> {
    let bytes = std::fs::read(file)
        .map_err(|error| CliError::input(format!("cannot read {}: {error}", file.display())))?;
    let engine = PluginEngine::new(PluginLimits::default(), None)
        .map_err(|error| CliError::input(error.to_string()))?;
    LoadedPlugin::load(&engine, &bytes, PluginSource::Dropin(file.to_path_buf()))
        .map_err(|error| CliError::input(format!("{}: {error}", file.display())))
}

fn check(file: &Path, as_json: bool) -> Result<(), CliError> {
    let plugin = load(file)?;
    let info = plugin.info();
    let events = plugin.description().ok().map(|description| {
        description
            .events
            .iter()
            .map(|event| (event.key.clone(), event.push, event.description.clone()))
            .collect::<Vec<_>>()
    });
    if as_json {
        let mut value = json!({
            "name": info.name,
            "version": info.version,
            "kind": info.kind,
            "api_version": plugin.api_version(),
            "sha256": plugin.sha256(),
            "description": info.description,
            "config_keys": info.config_keys,
        });
        if let Some(events) = &events {
            value["events"] = events
                .iter()
                .map(|(key, push, description)| json!({"key": key, "push": push, "description": description}))
                .collect();
        }
        print_json(&value);
        return Ok(());
    }
    println!(
        "{} {} ({}, WIT API {})",
        info.name,
        info.version,
        info.kind,
        plugin.api_version()
    );
    println!("sha256       {}", plugin.sha256());
    if !info.description.is_empty() {
        println!("description  {}", info.description);
    }
    if !info.config_keys.is_empty() {
        println!("config keys");
        let width = info
            .config_keys
            .iter()
            .map(|key| key.name.len())
            .max()
            .unwrap_or(0);
        for key in &info.config_keys {
            println!("  {:width$}  {}", key.name, key.description);
        }
    }
    if let Some(events) = events {
        println!("events");
        let width = events.iter().map(|(key, ..)| key.len()).max().unwrap_or(0);
        for (key, push, description) in events {
            let marker = if push { " (push)" } else { "" };
            println!("  {key:width$}  {description}{marker}");
        }
    }
    println!("ok: valid {} plugin", info.kind);
    Ok(())
}

fn run_once(args: RunArgs) -> Result<(), CliError> {
    let plugin = load(&args.file)?;
    let config = parse_config(&args.config)?;
    let header = json!({
        "name": plugin.name(),
        "version": plugin.info().version,
        "kind": plugin.kind(),
        "api_version": plugin.api_version(),
    });
    let failed = |error: crate::runtime::RuntimeError| {
        CliError::plugin(format!("plugin {} failed: {error}", plugin.name()))
    };
    let output = match plugin.kind() {
        PluginKind::Provider => {
            let description = plugin.description().map_err(failed)?;
            match &args.event {
                Some(key) => {
                    let event = description.event(key).ok_or_else(|| {
                        CliError::input(format!(
                            "{} does not know event {key:?}; it knows: {}",
                            plugin.name(),
                            description
                                .events
                                .iter()
                                .map(|e| e.key.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                    json!({"plugin": header, "event": event})
                }
                None => {
                    let mut description = description.clone();
                    for event in &mut description.events {
                        event.sample.clear();
                    }
                    json!({"plugin": header, "description": description})
                }
            }
        }
        PluginKind::AlertMapper | PluginKind::Formatter => {
            let event = read_event(&args, plugin.kind())?;
            let config = Value::Object(config).to_string();
            if plugin.kind() == PluginKind::AlertMapper {
                let actions = plugin.map_event(&event, &config).map_err(failed)?;
                json!({"plugin": header, "actions": actions})
            } else {
                let message = plugin.format(&event, &config).map_err(failed)?;
                json!({"plugin": header, "message": message})
            }
        }
        PluginKind::Notifier => {
            let notification = read_notification(&args)?;
            let (destination, secret) = destination_from(config)?;
            let context = NotificationContext {
                endpoint_id: "cli".into(),
                endpoint_name: "hookgate plugin run".into(),
                event_key: args.event.clone().unwrap_or_default(),
                inbound_id: "cli".into(),
                delivery_id: format!("cli_{}", now_secs()),
            };
            let mut requests = plugin
                .notify(&notification, &context, &destination)
                .map_err(failed)?;
            for (index, output) in requests.iter().enumerate() {
                if let NotifierOutput::Email(email) = output {
                    eprint!("{}", readable_email(index + 1, requests.len(), email));
                }
            }
            if let Some(secret) = secret {
                for request in requests.iter_mut().filter_map(NotifierOutput::http_mut) {
                    crate::verify::add_standard_webhooks_headers(
                        &mut request.headers,
                        &secret,
                        &context.delivery_id,
                        now_secs(),
                        &request.body,
                    );
                }
            }
            json!({"plugin": header, "requests": requests})
        }
    };
    print_json(&output);
    Ok(())
}

fn read_body(args: &RunArgs) -> Result<String, CliError> {
    let path = args
        .body
        .as_ref()
        .ok_or_else(|| CliError::input("--body FILE is required for this plugin kind"))?;
    let text = std::fs::read(path)
        .map_err(|error| CliError::input(format!("cannot read {}: {error}", path.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| CliError::input(format!("{} is not UTF-8", path.display())))?;
    serde_json::from_str::<Value>(&text).map_err(|error| {
        CliError::input(format!("{} is not valid JSON: {error}", path.display()))
    })?;
    Ok(text)
}

fn read_event(args: &RunArgs, kind: PluginKind) -> Result<PluginEvent, CliError> {
    let event_key = args
        .event
        .clone()
        .ok_or_else(|| CliError::input(format!("--event KEY is required for a {kind}")))?;
    Ok(PluginEvent {
        inbound_id: "cli".into(),
        endpoint_id: "cli".into(),
        provider: String::new(),
        event_key,
        headers: Vec::new(),
        body: read_body(args)?,
        received_at: now_secs() as u64 * 1000,
        attempt: 1,
    })
}

/// The notification kinds as `--notification` names them, with the key a body is tagged by.
const NOTIFICATION_KINDS: [(&str, &str); 5] = [
    ("message", "message"),
    ("alert.opened", "alert_opened"),
    ("alert.closed", "alert_closed"),
    ("alert.acknowledged", "alert_acknowledged"),
    ("alert.escalated", "alert_escalated"),
];

fn read_notification(args: &RunArgs) -> Result<Notification, CliError> {
    let body: Value = serde_json::from_str(&read_body(args)?).unwrap_or(Value::Null);
    let Value::Object(mut fields) = body else {
        return Err(CliError::input("the notification must be a JSON object"));
    };
    let keys = NOTIFICATION_KINDS.map(|(_, key)| key);
    let keyed = fields
        .keys()
        .find(|name| keys.contains(&name.as_str()))
        .cloned();
    let (key, value) = match (&args.notification, keyed) {
        (None, Some(key)) => {
            let value = fields.remove(&key).unwrap_or_default();
            (key, value)
        }
        (None, None) => {
            return Err(CliError::input(format!(
                "the notification needs one of the keys {} (or give --notification KIND)",
                keys.join(", ")
            )));
        }
        (Some(kind), keyed) => {
            let key = NOTIFICATION_KINDS
                .iter()
                .find(|(name, _)| name == kind)
                .map(|(_, key)| key.to_string())
                .ok_or_else(|| {
                    CliError::input(format!(
                        "--notification {kind:?} is not a kind: {}",
                        NOTIFICATION_KINDS.map(|(name, _)| name).join(", ")
                    ))
                })?;
            let value = match keyed {
                Some(keyed) => fields.remove(&keyed).unwrap_or_default(),
                None => Value::Object(fields),
            };
            (key, value)
        }
    };
    serde_json::from_value(json!({ key.clone(): value }))
        .map_err(|error| CliError::input(format!("invalid {key}: {error}")))
}

/// A mail as a person reads it: recipients, subject, the text part and the HTML part.
fn readable_email(number: usize, of: usize, email: &crate::runtime::OutboundEmail) -> String {
    let mut text = format!(
        "--- mail {number} of {of} ---\nTo: {}\nSubject: {}\n\n{}\n",
        email.to.join(", "),
        email.subject,
        email.text.trim_end()
    );
    if let Some(html) = &email.html {
        text.push_str(&format!("--- HTML part ---\n{}\n", html.trim_end()));
    }
    text
}

fn destination_from(
    mut config: Map<String, Value>,
) -> Result<(PluginDestination, Option<String>), CliError> {
    let mut take = |key: &str| match config.remove(key) {
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(CliError::input(format!(
            "--config {key} must be text, not {other}"
        ))),
        None => Ok(None),
    };
    let kind = take("kind")?.ok_or_else(|| {
        CliError::input("a notifier needs --config kind=discord|slack|webhook|email|sms|voice|ntfy")
    })?;
    // The kinds that need one say so; email, sms and voice have none.
    let url = take("url")?.unwrap_or_default();
    let secret = take("secret")?;
    Ok((
        PluginDestination {
            kind,
            url,
            config: Value::Object(config).to_string(),
        },
        secret,
    ))
}

fn parse_config(pairs: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut config = Map::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--config {pair:?}: expected KEY=VALUE")))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        config.insert(key.trim().to_string(), value);
    }
    Ok(config)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}
