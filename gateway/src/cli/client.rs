//! The subcommands that talk to a running gateway through the admin API: `endpoint`,
//! `inbound`, `alerts`, `plugin list`. `--url` and `--token` default to the local gateway and
//! `<data-dir>/admin-token`. Tables for people, `--json` for scripts.

use super::CliError;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Where the gateway is and how to sign in.
#[derive(Debug, Args)]
pub struct Connection {
    /// The gateway's address.
    #[arg(
        long,
        env = "HOOKGATE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// The admin token [default: the HOOKGATE_ADMIN_TOKEN variable, else <data-dir>/admin-token].
    #[arg(
        long,
        env = "HOOKGATE_ADMIN_TOKEN",
        global = true,
        hide_env_values = true
    )]
    token: Option<String>,
    /// Where to find the admin-token file.
    #[arg(
        long,
        env = "HOOKGATE_DATA_DIR",
        default_value = "./hookgate-data",
        global = true
    )]
    data_dir: PathBuf,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Create an endpoint; prints its URL and secret (shown this once).
    Create {
        /// Name for people.
        #[arg(long)]
        name: Option<String>,
        /// Provider plugin.
        #[arg(long, default_value = "bitbucket")]
        provider: String,
        /// `push`, `all`, or event keys separated by commas.
        #[arg(long, default_value = "all")]
        events: String,
        #[command(flatten)]
        pipeline: PipelineArgs,
        #[command(flatten)]
        on_call: super::oncall::EndpointOnCallArgs,
        /// The whole endpoint as a JSON file (SPEC §3 shape) instead of the flags.
        #[arg(long, conflicts_with_all = ["name", "alerts", "format", "template", "destinations"])]
        from: Option<PathBuf>,
    },
    /// Change the given keys of an endpoint (from --file, a JSON object of any of its keys,
    /// and the flags); the rest is kept.
    Update {
        id: String,
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        on_call: super::oncall::EndpointOnCallArgs,
    },
    /// List endpoints.
    List,
    /// Show one endpoint.
    Show { id: String },
    /// Disable an endpoint (its URL then answers 410; history is kept).
    Disable { id: String },
    /// Generate a new secret (shown this once).
    RotateSecret { id: String },
    /// Enable a destination disabled after consecutive failed deliveries (by its index in the
    /// endpoint's destinations, from 0); retry its failed deliveries afterwards.
    EnableDestination { id: String, index: usize },
    /// Release a plugin quarantined for the endpoint after hitting its limits on record after
    /// record; replay the records it failed meanwhile afterwards.
    ReleasePlugin { id: String, plugin: String },
    /// Send one real test notification to a destination (by its index, from 0) and print its
    /// attempt; exits non-zero when it was not delivered.
    SendTest { id: String, index: usize },
    /// Dry-run an event through the endpoint's plugins; nothing stored or sent.
    Test {
        id: String,
        /// Event key.
        #[arg(long)]
        event: String,
        /// Payload file; the provider's sample when absent.
        #[arg(long)]
        body: Option<PathBuf>,
    },
}

/// What an endpoint does with its events: alert mapping, format, destinations.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Alert mapper plugin, e.g. bitbucket-pipelines.
    #[arg(long)]
    alerts: Option<String>,
    /// Formatter plugin, e.g. bitbucket-embeds.
    #[arg(long)]
    format: Option<String>,
    /// A Handlebars template instead of a formatter.
    #[arg(long, conflicts_with = "format")]
    template: Option<String>,
    /// A destination, `KIND=URL` (discord, slack, webhook); repeatable.
    #[arg(long = "destination", value_name = "KIND=URL")]
    destinations: Vec<String>,
}

impl PipelineArgs {
    /// Sets `alerts`, `format` and `destinations` of an endpoint body.
    pub fn apply(self, body: &mut Value) -> Result<(), CliError> {
        let destinations = self
            .destinations
            .iter()
            .map(|spec| {
                spec.split_once('=')
                    .map(|(kind, url)| json!({"kind": kind, "url": url}))
                    .ok_or_else(|| {
                        CliError::input(format!("--destination {spec:?}: expected KIND=URL"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        body["destinations"] = json!(destinations);
        if let Some(plugin) = self.alerts {
            body["alerts"] = json!({"plugin": plugin});
        }
        if let Some(plugin) = self.format {
            body["format"] = json!({"plugin": plugin});
        }
        if let Some(template) = self.template {
            body["format"] = json!({"template": template});
        }
        Ok(())
    }
}

/// `--events` as the API takes it: `push`, `all`, or a list of keys.
pub fn events_value(events: &str) -> Value {
    match events {
        "push" | "all" => json!(events),
        list => json!(list.split(',').map(str::trim).collect::<Vec<_>>()),
    }
}

#[derive(Debug, Subcommand)]
pub enum InboundCommand {
    /// The inbound log, newest first.
    List {
        #[arg(long)]
        endpoint: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        event: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One record with headers, body and outcomes.
    Show { id: String },
    /// Run a stored record through today's plugins again.
    Replay { id: String },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Acknowledge an alert.
    Ack { id: String },
    /// Close an alert by hand.
    Close { id: String },
}

impl Connection {
    /// Whether `--json` was given.
    pub fn json_output(&self) -> bool {
        self.json
    }
}

/// A signed-in admin API client.
pub struct Api {
    url: String,
    token: String,
    json: bool,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Api {
    pub fn connect(connection: Connection) -> Result<Self, CliError> {
        let token = match connection.token {
            Some(token) => token,
            None => {
                let path = connection.data_dir.join("admin-token");
                std::fs::read_to_string(&path)
                    .map(|token| token.trim().to_string())
                    .map_err(|error| CliError::input(format!(
                        "no admin token: set --token or HOOKGATE_ADMIN_TOKEN, or run where {} exists ({error})",
                        path.display()
                    )))?
            }
        };
        crate::install_tls_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| CliError::input(error.to_string()))?;
        Ok(Self {
            url: connection.url.trim_end_matches('/').to_string(),
            token,
            json: connection.json,
            runtime,
            client: reqwest::Client::new(),
        })
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, CliError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.runtime.block_on(async {
            let response = request
                .send()
                .await
                .map_err(|error| CliError::input(format!("cannot reach {}: {error}", self.url)))?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                Ok(answer)
            } else {
                let reason = answer["error"].as_str().unwrap_or("request failed");
                Err(CliError::plugin(format!("{status}: {reason}")))
            }
        })
    }

    /// Makes a backup (`POST /backup`) and writes it to `to`, which must not exist; returns
    /// the bytes written and the rows the gateway counted.
    pub fn backup(&self, to: &std::path::Path) -> Result<(u64, u64), CliError> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(to)
            .map_err(|error| CliError::input(format!("{}: {error}", to.display())))?;
        let request = self
            .client
            .post(format!("{}/api/v1/backup", self.url))
            .bearer_auth(&self.token);
        let written = self.runtime.block_on(async {
            let mut response = request
                .send()
                .await
                .map_err(|error| CliError::input(format!("cannot reach {}: {error}", self.url)))?;
            let status = response.status();
            if !status.is_success() {
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                let reason = answer["error"].as_str().unwrap_or("request failed");
                return Err(CliError::plugin(format!("{status}: {reason}")));
            }
            let rows = response
                .headers()
                .get("x-hookgate-backup-rows")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .unwrap_or(0);
            let expected = response.content_length();
            let mut bytes = 0u64;
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|error| CliError::input(format!("the backup broke off: {error}")))?
            {
                file.write_all(&chunk)
                    .map_err(|error| CliError::input(format!("{}: {error}", to.display())))?;
                bytes += chunk.len() as u64;
            }
            if expected.is_some_and(|expected| expected != bytes) {
                return Err(CliError::input(format!(
                    "the backup broke off after {bytes} bytes"
                )));
            }
            file.sync_all()
                .map_err(|error| CliError::input(format!("{}: {error}", to.display())))?;
            Ok((bytes, rows))
        });
        if written.is_err() {
            // Never leave half a backup that looks like one.
            let _ = std::fs::remove_file(to);
        }
        written
    }

    pub fn print(&self, value: &Value, table: impl FnOnce(&Value)) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            table(value);
        }
    }
}

pub(super) fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD hh:mm:ss` UTC, for tables.
fn time(value: &Value) -> String {
    value
        .as_u64()
        .map_or_else(|| "-".into(), crate::utc::utc_text)
}

/// Prints rows under a header, columns padded to their widest cell.
pub(super) fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        println!("{}", line(row));
    }
}

/// An endpoint as lines of `key value`.
pub fn print_endpoint(endpoint: &Value) {
    for key in [
        "id",
        "name",
        "provider",
        "url",
        "enabled",
        "secret_set",
        "escalation_policy",
        "auto_close_after",
    ] {
        println!("{key:12} {}", text(&endpoint[key]));
    }
    println!(
        "{:12} {}",
        "events",
        endpoint["events"]
            .as_array()
            .map(|events| events.iter().map(text).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    );
    for (index, destination) in endpoint["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let health = if destination["disabled_at"].is_null() {
            format!(
                "enabled, {} consecutive failures",
                text(&destination["consecutive_failures"])
            )
        } else {
            format!(
                "DISABLED: {} (hookgate endpoint enable-destination {} {index})",
                text(&destination["disabled_reason"]),
                text(&endpoint["id"])
            )
        };
        println!(
            "{:12} {index}: {} {}",
            "destination",
            text(&destination["kind"]),
            health
        );
    }
    for entry in endpoint["quarantined"].as_array().into_iter().flatten() {
        println!(
            "{:12} {}: {} (hookgate endpoint release-plugin {} {})",
            "QUARANTINED",
            text(&entry["plugin"]),
            text(&entry["reason"]),
            text(&endpoint["id"]),
            text(&entry["plugin"])
        );
    }
    if let Some(link) = endpoint["bitbucket"].as_object() {
        println!(
            "{:12} {}/{} (webhook {})",
            "bitbucket",
            text(&link["workspace"]),
            text(&link["repo"]),
            text(&link["hook_uuid"])
        );
    }
    if let Some(secret) = endpoint["secret"].as_str() {
        println!(
            "{:12} {secret}   (shown once: configure it in Bitbucket now)",
            "secret"
        );
    }
}

pub fn endpoint(command: EndpointCommand, connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    match command {
        EndpointCommand::Create {
            name,
            provider,
            events,
            pipeline,
            on_call,
            from,
        } => {
            let mut body: Value = match from {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|error| CliError::input(format!("{}: {error}", path.display())))?;
                    serde_json::from_str(&text)
                        .map_err(|error| CliError::input(format!("{}: {error}", path.display())))?
                }
                None => {
                    let mut body = json!({
                        "name": name.ok_or_else(|| CliError::input("--name is required"))?,
                        "provider": provider,
                        "events": events_value(&events),
                    });
                    pipeline.apply(&mut body)?;
                    body
                }
            };
            on_call.apply(&mut body);
            let answer = api.call("POST", "/endpoints", Some(body))?;
            api.print(&answer, print_endpoint);
        }
        EndpointCommand::Update { id, file, on_call } => {
            let mut patch = Value::Object(super::oncall::file_object(file)?);
            on_call.apply(&mut patch);
            let answer = api.call("PATCH", &format!("/endpoints/{id}"), Some(patch))?;
            api.print(&answer, print_endpoint);
        }
        EndpointCommand::List => {
            let answer = api.call("GET", "/endpoints", None)?;
            api.print(&answer, |answer| {
                let rows = answer["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        vec![
                            text(&e["id"]),
                            text(&e["name"]),
                            text(&e["provider"]),
                            text(&e["enabled"]),
                            text(&e["url"]),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "PROVIDER", "ENABLED", "URL"], rows);
            });
        }
        EndpointCommand::Show { id } => {
            let answer = api.call("GET", &format!("/endpoints/{id}"), None)?;
            api.print(&answer, print_endpoint);
        }
        EndpointCommand::Disable { id } => {
            let answer = api.call("DELETE", &format!("/endpoints/{id}"), None)?;
            api.print(&answer, |_| println!("disabled {id}"));
        }
        EndpointCommand::RotateSecret { id } => {
            let answer = api.call("POST", &format!("/endpoints/{id}/rotate-secret"), None)?;
            api.print(&answer, print_endpoint);
        }
        EndpointCommand::EnableDestination { id, index } => {
            let answer = api.call(
                "POST",
                &format!("/endpoints/{id}/destinations/{index}/enable"),
                None,
            )?;
            api.print(&answer, |_| {
                println!("enabled destination {index} of {id}; retry its failed deliveries with POST /api/v1/deliveries/{{id}}/retry")
            });
        }
        EndpointCommand::ReleasePlugin { id, plugin } => {
            // Plugin names are a-z, 0-9, '-' and '_': anything else names no plugin and must
            // not reach the path.
            if plugin.is_empty()
                || !plugin
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(CliError::input(format!(
                    "{plugin:?} is not a plugin name (a-z, 0-9, '-' or '_')"
                )));
            }
            let answer = api.call(
                "POST",
                &format!("/endpoints/{id}/plugins/{plugin}/release"),
                None,
            )?;
            api.print(&answer, |_| {
                println!("released {plugin} for {id}; replay the records it failed meanwhile with POST /api/v1/inbound/{{id}}/replay")
            });
        }
        EndpointCommand::SendTest { id, index } => {
            let answer = api.call(
                "POST",
                &format!("/endpoints/{id}/destinations/{index}/test"),
                None,
            )?;
            api.print(&answer, |answer| {
                for delivery in answer["deliveries"].as_array().into_iter().flatten() {
                    let attempt = delivery["attempts"]
                        .as_array()
                        .and_then(|attempts| attempts.last());
                    println!(
                        "{} {} {} {}",
                        text(&delivery["id"]),
                        text(&delivery["kind"]),
                        text(&delivery["status"]),
                        attempt.map_or_else(
                            || "no attempt yet".to_string(),
                            |attempt| match (&attempt["status_code"], &attempt["error"]) {
                                (code, Value::Null) => format!("answered {}", text(code)),
                                (Value::Null, error) => text(error).to_string(),
                                (code, error) =>
                                    format!("answered {}: {}", text(code), text(error)),
                            }
                        ),
                    );
                }
            });
            let delivered = answer["deliveries"]
                .as_array()
                .is_some_and(|deliveries| deliveries.iter().all(|d| d["status"] == "delivered"));
            if !delivered {
                return Err(CliError::failed("the test notification was not delivered"));
            }
        }
        EndpointCommand::Test { id, event, body } => {
            let mut request = json!({"event": event});
            if let Some(path) = body {
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| CliError::input(format!("{}: {error}", path.display())))?;
                request["body"] = json!(text);
            }
            let answer = api.call("POST", &format!("/endpoints/{id}/test"), Some(request))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
        }
    }
    Ok(())
}

pub fn inbound(command: InboundCommand, connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    match command {
        InboundCommand::List {
            endpoint,
            status,
            event,
            limit,
        } => {
            let mut query = format!("/inbound?limit={limit}");
            for (key, value) in [("endpoint", endpoint), ("status", status), ("event", event)] {
                if let Some(value) = value {
                    query.push_str(&format!("&{key}={value}"));
                }
            }
            let answer = api.call("GET", &query, None)?;
            api.print(&answer, |answer| {
                let rows = answer["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let outcome = r["outcomes"]
                            .as_array()
                            .and_then(|o| o.first())
                            .map(|o| text(&o["outcome"]))
                            .unwrap_or_else(|| text(&r["reason"]));
                        vec![
                            text(&r["id"]),
                            time(&r["received_at"]),
                            text(&r["endpoint"]),
                            text(&r["event"]),
                            text(&r["status"]),
                            outcome,
                        ]
                    })
                    .collect();
                table(
                    &[
                        "ID",
                        "RECEIVED (UTC)",
                        "ENDPOINT",
                        "EVENT",
                        "STATUS",
                        "OUTCOME",
                    ],
                    rows,
                );
            });
        }
        InboundCommand::Show { id } => {
            let answer = api.call("GET", &format!("/inbound/{id}"), None)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
        }
        InboundCommand::Replay { id } => {
            let answer = api.call("POST", &format!("/inbound/{id}/replay"), None)?;
            api.print(&answer, |_| println!("queued {id} for processing"));
        }
    }
    Ok(())
}

pub fn alerts(command: AlertsCommand, connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    let print_alerts = |answer: &Value| {
        let items = answer["items"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![answer.clone()]);
        let rows = items
            .iter()
            .map(|a| {
                vec![
                    text(&a["id"]),
                    text(&a["state"]),
                    text(&a["count"]),
                    time(&a["last_seen_at"]),
                    text(&a["key"]),
                    text(&a["title"]),
                ]
            })
            .collect();
        table(
            &["ID", "STATE", "COUNT", "LAST SEEN (UTC)", "KEY", "TITLE"],
            rows,
        );
    };
    match command {
        AlertsCommand::List { state, endpoint } => {
            let mut query = "/alerts?limit=500".to_string();
            for (key, value) in [("state", state), ("endpoint", endpoint)] {
                if let Some(value) = value {
                    query.push_str(&format!("&{key}={value}"));
                }
            }
            let answer = api.call("GET", &query, None)?;
            api.print(&answer, print_alerts);
        }
        AlertsCommand::Ack { id } => {
            let answer = api.call("POST", &format!("/alerts/{id}/ack"), None)?;
            api.print(&answer, print_alerts);
        }
        AlertsCommand::Close { id } => {
            let answer = api.call("POST", &format!("/alerts/{id}/close"), None)?;
            api.print(&answer, print_alerts);
        }
    }
    Ok(())
}

/// `hookgate backup --to FILE`.
pub fn backup(to: &std::path::Path, connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    let (bytes, rows) = api.backup(to)?;
    println!(
        "backup written to {} ({bytes} bytes, {rows} rows); to restore, start a gateway with it \
         as <data-dir>/hookgate.redb",
        to.display()
    );
    Ok(())
}

pub fn plugin_list(connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    let answer = api.call("GET", "/plugins", None)?;
    api.print(&answer, |answer| {
        let rows = answer["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                vec![
                    text(&p["name"]),
                    text(&p["version"]),
                    text(&p["kind"]),
                    text(&p["source"]),
                    text(&p["error"]),
                ]
            })
            .collect();
        table(&["NAME", "VERSION", "KIND", "SOURCE", "ERROR"], rows);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_in_utc() {
        assert_eq!(time(&json!(0)), "1970-01-01 00:00:00");
        assert_eq!(time(&json!(1_709_210_096_000u64)), "2024-02-29 12:34:56");
        assert_eq!(time(&Value::Null), "-");
    }
}
