//! The on-call directory's subcommands, over the admin API: `users`, `teams`, `schedules`
//! (with `oncall` and `shifts`), `policies` and `maintenance`, each `list | show | create |
//! update | delete`; and the on-call flags of `endpoint create` and `endpoint update`.
//!
//! `create` and `update` take the resource as JSON (`--file`, the API's shape) and/or flags for
//! its simple fields; a flag overrides the file's key, and an empty value (`--endpoint ""`)
//! removes an optional key in an update. Tables for people, `--json` for scripts.

use super::CliError;
use super::client::{Api, Connection, table, text};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// `list | show | create | update | delete` of one resource, with its own fields.
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand<Fields: Args> {
    /// List them, newest first.
    List,
    /// Show one.
    Show { id: String },
    /// Create one from `--file` and/or the flags.
    Create(Fields),
    /// Change the given fields of one (the rest is kept).
    Update {
        id: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete one (refused while something names it).
    Delete { id: String },
}

/// A user's fields.
#[derive(Debug, Args)]
pub struct UserFields {
    /// The user as JSON (`{name, email, time_zone, role, contact_methods, notification_rules}`).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// IANA zone, e.g. Europe/Berlin (default UTC).
    #[arg(long)]
    time_zone: Option<String>,
    /// admin, responder or viewer.
    #[arg(long)]
    role: Option<String>,
    /// A contact method, KIND:ADDRESS (email:ops@example.com, sms:+15551234567,
    /// voice:+15551234567, ntfy:https://ntfy.sh/topic); repeatable; replaces the list.
    #[arg(long = "contact", value_name = "KIND:ADDRESS")]
    contacts: Vec<String>,
    /// Read the console password from the first line of standard input (a flag's value
    /// would be visible to the machine's other users).
    #[arg(long)]
    password_stdin: bool,
}

/// A team's fields.
#[derive(Debug, Args)]
pub struct TeamFields {
    /// The team as JSON (`{name, members}`).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    /// A member's user id; repeatable; replaces the list.
    #[arg(long = "member", value_name = "USER_ID")]
    members: Vec<String>,
}

/// A schedule's fields: layers and overrides come from `--file`.
#[derive(Debug, Args)]
pub struct ScheduleFields {
    /// The schedule as JSON (`{name, time_zone, layers, overrides}`).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    /// IANA zone of the rotations (default UTC).
    #[arg(long)]
    time_zone: Option<String>,
}

/// An escalation policy's fields: steps come from `--file`.
#[derive(Debug, Args)]
pub struct PolicyFields {
    /// The policy as JSON (`{name, steps: [{delay, targets: [{type, id}]}], repeat}`).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    /// How many times the policy starts again after its last step (0 to 9).
    #[arg(long)]
    repeat: Option<u8>,
}

/// A maintenance window's fields.
#[derive(Debug, Args)]
pub struct WindowFields {
    /// The window as JSON (`{start, end, endpoint, key_pattern}`).
    #[arg(long)]
    file: Option<PathBuf>,
    /// RFC 3339, e.g. 2024-03-01T22:00:00Z.
    #[arg(long)]
    start: Option<String>,
    /// RFC 3339, after start.
    #[arg(long)]
    end: Option<String>,
    /// Only this endpoint's alerts (empty: every endpoint's).
    #[arg(long)]
    endpoint: Option<String>,
    /// Only alerts whose key this regular expression matches (empty: every key).
    #[arg(long)]
    key_pattern: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    #[command(flatten)]
    Manage(DirectoryCommand<ScheduleFields>),
    /// Who is on call at an instant (default now), and until when.
    Oncall {
        id: String,
        /// RFC 3339 instant with an offset.
        #[arg(long)]
        at: Option<String>,
    },
    /// The final shifts over a range (default now for 14 days, at most 90 days).
    Shifts {
        id: String,
        /// RFC 3339 instant.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339 instant after --from.
        #[arg(long)]
        to: Option<String>,
    },
}

/// The on-call settings of `endpoint create` and `endpoint update`.
#[derive(Debug, Args)]
pub struct EndpointOnCallArgs {
    /// The escalation policy paged when an alert opens, ep_<n> (empty: none).
    #[arg(long)]
    escalation_policy: Option<String>,
    /// Close an alert that has seen no open for this long, e.g. 2h (at least 1m; empty: never).
    #[arg(long)]
    auto_close_after: Option<String>,
}

impl EndpointOnCallArgs {
    /// Sets the given settings on an endpoint body.
    pub fn apply(self, body: &mut Value) {
        let mut fields = Map::new();
        set(&mut fields, "escalation_policy", self.escalation_policy);
        set(&mut fields, "auto_close_after", self.auto_close_after);
        if let Value::Object(body) = body {
            body.extend(fields);
        }
    }
}

/// How one resource is reached and shown.
struct Resource {
    path: &'static str,
    header: &'static [&'static str],
    row: fn(&Value) -> Vec<String>,
}

const USERS: Resource = Resource {
    path: "/users",
    header: &[
        "ID",
        "NAME",
        "EMAIL",
        "ROLE",
        "TIME ZONE",
        "CONTACTS",
        "PASSWORD",
    ],
    row: |user| {
        let contacts = items(&user["contact_methods"])
            .map(|method| format!("{}:{}", text(&method["kind"]), text(&method["address"])))
            .collect::<Vec<_>>();
        let password = if user["password_set"] == true {
            "set"
        } else {
            "-"
        };
        vec![
            text(&user["id"]),
            text(&user["name"]),
            text(&user["email"]),
            text(&user["role"]),
            text(&user["time_zone"]),
            contacts.join(", "),
            password.into(),
        ]
    },
};

const TEAMS: Resource = Resource {
    path: "/teams",
    header: &["ID", "NAME", "MEMBERS"],
    row: |team| {
        vec![
            text(&team["id"]),
            text(&team["name"]),
            ids(&team["members"]),
        ]
    },
};

const SCHEDULES: Resource = Resource {
    path: "/schedules",
    header: &["ID", "NAME", "TIME ZONE", "LAYERS", "OVERRIDES"],
    row: |schedule| {
        let layers = items(&schedule["layers"])
            .map(|layer| format!("{} ({})", text(&layer["name"]), text(&layer["rotation"])))
            .collect::<Vec<_>>();
        vec![
            text(&schedule["id"]),
            text(&schedule["name"]),
            text(&schedule["time_zone"]),
            layers.join(", "),
            items(&schedule["overrides"]).count().to_string(),
        ]
    },
};

const POLICIES: Resource = Resource {
    path: "/escalation-policies",
    header: &["ID", "NAME", "STEPS", "REPEAT"],
    row: |policy| {
        let steps = items(&policy["steps"])
            .map(|step| {
                let targets = items(&step["targets"]).map(|t| text(&t["id"]));
                format!(
                    "{} after {}",
                    targets.collect::<Vec<_>>().join("+"),
                    text(&step["delay"])
                )
            })
            .collect::<Vec<_>>();
        vec![
            text(&policy["id"]),
            text(&policy["name"]),
            steps.join(", then "),
            text(&policy["repeat"]),
        ]
    },
};

const WINDOWS: Resource = Resource {
    path: "/maintenance-windows",
    header: &["ID", "START", "END", "ENDPOINT", "KEY PATTERN"],
    row: |window| {
        vec![
            text(&window["id"]),
            text(&window["start"]),
            text(&window["end"]),
            text(&window["endpoint"]),
            text(&window["key_pattern"]),
        ]
    },
};

/// The elements of an array (none for anything else).
fn items(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// An array of ids, comma-separated.
fn ids(value: &Value) -> String {
    items(value).map(text).collect::<Vec<_>>().join(", ")
}

/// Sets `key` when a flag gave it: an empty value becomes `null` (removed by an update).
fn set(fields: &mut Map<String, Value>, key: &str, flag: Option<String>) {
    if let Some(value) = flag {
        let value = if value.is_empty() {
            Value::Null
        } else {
            json!(value)
        };
        fields.insert(key.into(), value);
    }
}

/// The object in `--file`, or an empty one.
fn file_object(file: Option<PathBuf>) -> Result<Map<String, Value>, CliError> {
    let Some(path) = file else {
        return Ok(Map::new());
    };
    let read = std::fs::read_to_string(&path)
        .map_err(|error| CliError::input(format!("{}: {error}", path.display())))?;
    match serde_json::from_str(&read) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(CliError::input(format!(
            "{}: expected a JSON object",
            path.display()
        ))),
        Err(error) => Err(CliError::input(format!("{}: {error}", path.display()))),
    }
}

/// What a fields struct says, as a JSON body.
trait Body {
    fn body(self) -> Result<Value, CliError>;
}

impl Body for UserFields {
    fn body(self) -> Result<Value, CliError> {
        let mut fields = file_object(self.file)?;
        set(&mut fields, "name", self.name);
        set(&mut fields, "email", self.email);
        set(&mut fields, "time_zone", self.time_zone);
        set(&mut fields, "role", self.role);
        if !self.contacts.is_empty() {
            let methods = (self.contacts.iter())
                .map(|spec| match spec.split_once(':') {
                    Some((kind, address)) => Ok(json!({"kind": kind, "address": address})),
                    None => Err(CliError::input(format!(
                        "--contact {spec:?}: expected KIND:ADDRESS, e.g. email:ops@example.com"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            fields.insert("contact_methods".into(), json!(methods));
        }
        if self.password_stdin {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|error| CliError::input(format!("reading the password: {error}")))?;
            let password = line.trim_end_matches(['\r', '\n']);
            fields.insert("password".into(), json!(password));
        }
        Ok(Value::Object(fields))
    }
}

impl Body for TeamFields {
    fn body(self) -> Result<Value, CliError> {
        let mut fields = file_object(self.file)?;
        set(&mut fields, "name", self.name);
        if !self.members.is_empty() {
            fields.insert("members".into(), json!(self.members));
        }
        Ok(Value::Object(fields))
    }
}

impl Body for ScheduleFields {
    fn body(self) -> Result<Value, CliError> {
        let mut fields = file_object(self.file)?;
        set(&mut fields, "name", self.name);
        set(&mut fields, "time_zone", self.time_zone);
        Ok(Value::Object(fields))
    }
}

impl Body for PolicyFields {
    fn body(self) -> Result<Value, CliError> {
        let mut fields = file_object(self.file)?;
        set(&mut fields, "name", self.name);
        if let Some(repeat) = self.repeat {
            fields.insert("repeat".into(), json!(repeat));
        }
        Ok(Value::Object(fields))
    }
}

impl Body for WindowFields {
    fn body(self) -> Result<Value, CliError> {
        let mut fields = file_object(self.file)?;
        set(&mut fields, "start", self.start);
        set(&mut fields, "end", self.end);
        set(&mut fields, "endpoint", self.endpoint);
        set(&mut fields, "key_pattern", self.key_pattern);
        Ok(Value::Object(fields))
    }
}

/// A resource's view as `key value` lines: scalars as text, each element of a list on its
/// own line.
fn print_fields(view: &Value) {
    let Some(object) = view.as_object() else {
        println!("{}", text(view));
        return;
    };
    for (key, value) in object {
        match value {
            Value::Array(list) if !list.is_empty() => {
                for (index, item) in list.iter().enumerate() {
                    println!("{:24} {}", format!("{key}[{index}]"), text(item));
                }
            }
            _ => println!("{key:24} {}", text(value)),
        }
    }
}

fn manage<Fields: Args + Body>(
    api: &Api,
    resource: &Resource,
    command: DirectoryCommand<Fields>,
) -> Result<(), CliError> {
    let path = resource.path;
    match command {
        DirectoryCommand::List => {
            let answer = api.call("GET", path, None)?;
            api.print(&answer, |answer| {
                table(
                    resource.header,
                    items(&answer["items"]).map(resource.row).collect(),
                );
            });
        }
        DirectoryCommand::Show { id } => {
            let answer = api.call("GET", &format!("{path}/{id}"), None)?;
            api.print(&answer, print_fields);
        }
        DirectoryCommand::Create(fields) => {
            let answer = api.call("POST", path, Some(fields.body()?))?;
            api.print(&answer, print_fields);
        }
        DirectoryCommand::Update { id, fields } => {
            let answer = api.call("PATCH", &format!("{path}/{id}"), Some(fields.body()?))?;
            api.print(&answer, print_fields);
        }
        DirectoryCommand::Delete { id } => {
            let answer = api.call("DELETE", &format!("{path}/{id}"), None)?;
            api.print(&answer, |_| println!("deleted {id}"));
        }
    }
    Ok(())
}

pub fn users(
    command: DirectoryCommand<UserFields>,
    connection: Connection,
) -> Result<(), CliError> {
    manage(&Api::connect(connection)?, &USERS, command)
}

pub fn teams(
    command: DirectoryCommand<TeamFields>,
    connection: Connection,
) -> Result<(), CliError> {
    manage(&Api::connect(connection)?, &TEAMS, command)
}

pub fn policies(
    command: DirectoryCommand<PolicyFields>,
    connection: Connection,
) -> Result<(), CliError> {
    manage(&Api::connect(connection)?, &POLICIES, command)
}

pub fn maintenance(
    command: DirectoryCommand<WindowFields>,
    connection: Connection,
) -> Result<(), CliError> {
    manage(&Api::connect(connection)?, &WINDOWS, command)
}

/// `?key=value&...` of the given parameters, encoded (an offset's `+` must not become a space).
fn query(parameters: &[(&str, Option<String>)]) -> String {
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in parameters {
        if let Some(value) = value {
            encoded.append_pair(key, value);
        }
    }
    let encoded = encoded.finish();
    if encoded.is_empty() {
        encoded
    } else {
        format!("?{encoded}")
    }
}

pub fn schedules(command: SchedulesCommand, connection: Connection) -> Result<(), CliError> {
    let api = Api::connect(connection)?;
    match command {
        SchedulesCommand::Manage(command) => manage(&api, &SCHEDULES, command)?,
        SchedulesCommand::Oncall { id, at } => {
            let path = format!("/schedules/{id}/oncall{}", query(&[("at", at)]));
            let answer = api.call("GET", &path, None)?;
            api.print(&answer, |answer| {
                let rows: Vec<Vec<String>> = items(&answer["users"])
                    .map(|user| {
                        vec![
                            text(&user["id"]),
                            text(&user["name"]),
                            text(&user["email"]),
                            text(&answer["until"]),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    println!("nobody is on call until {}", text(&answer["until"]));
                } else {
                    table(&["ON CALL", "NAME", "EMAIL", "UNTIL"], rows);
                }
            });
        }
        SchedulesCommand::Shifts { id, from, to } => {
            let path = format!(
                "/schedules/{id}/shifts{}",
                query(&[("from", from), ("to", to)])
            );
            let answer = api.call("GET", &path, None)?;
            api.print(&answer, |answer| {
                let rows = items(&answer["shifts"])
                    .map(|shift| {
                        let source = if shift["override"] == true {
                            "override".to_string()
                        } else {
                            format!("layer {}", text(&shift["layer_name"]))
                        };
                        vec![
                            text(&shift["start"]),
                            text(&shift["end"]),
                            text(&shift["user"]),
                            text(&shift["user_name"]),
                            source,
                        ]
                    })
                    .collect();
                table(&["START", "END", "USER", "NAME", "FROM"], rows);
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_empty_values_remove() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("window.json");
        std::fs::write(
            &file,
            r#"{"start": "2024-03-01T00:00:00Z", "end": "2024-03-02T00:00:00Z", "endpoint": "x"}"#,
        )
        .unwrap();
        let fields = WindowFields {
            file: Some(file),
            start: None,
            end: Some("2024-03-03T00:00:00Z".into()),
            endpoint: Some(String::new()),
            key_pattern: Some("^deploy".into()),
        };
        assert_eq!(
            fields.body().unwrap(),
            json!({"start": "2024-03-01T00:00:00Z", "end": "2024-03-03T00:00:00Z",
                   "endpoint": null, "key_pattern": "^deploy"})
        );
    }

    #[test]
    fn contacts_are_kind_colon_address() {
        let fields = |contacts: &[&str]| UserFields {
            file: None,
            name: Some("Ada".into()),
            email: None,
            time_zone: None,
            role: None,
            contacts: contacts.iter().map(|c| c.to_string()).collect(),
            password_stdin: false,
        };
        let body = fields(&["email:ops@example.com", "ntfy:https://ntfy.sh/pages"])
            .body()
            .unwrap();
        assert_eq!(
            body,
            json!({"name": "Ada", "contact_methods": [
                {"kind": "email", "address": "ops@example.com"},
                {"kind": "ntfy", "address": "https://ntfy.sh/pages"}]})
        );
        let refused = fields(&["ops@example.com"]).body().unwrap_err();
        assert_eq!(refused.exit_code, 2);
        assert!(
            refused.message.contains("KIND:ADDRESS"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn query_times_keep_their_plus() {
        assert_eq!(
            query(&[
                ("at", Some("2024-03-10T01:30:00-05:00".into())),
                ("to", None)
            ]),
            "?at=2024-03-10T01%3A30%3A00-05%3A00"
        );
        assert_eq!(
            query(&[("from", Some("2024-03-10T01:30:00+01:00".into()))]),
            "?from=2024-03-10T01%3A30%3A00%2B01%3A00"
        );
        assert_eq!(query(&[("at", None)]), "");
    }
}
