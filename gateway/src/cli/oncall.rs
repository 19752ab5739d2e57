//! The on-call directory's subcommands, over the admin API: `users`, `teams`, `schedules`
//! (with `oncall` and `shifts`), `policies` and `maintenance`, each `list | show | create |
//! update | delete`; and the on-call flags of `endpoint create` and `endpoint update`.
//!
//! `create` and `update` take the resource as JSON (`--file`, the API's shape) and/or flags for
//! its simple fields; a flag overrides the file's key, and an empty value (`--endpoint ""`)
//! removes an optional key in an update. Tables for people, `--json` for scripts.

mod fields;

pub use fields::{
    EndpointOnCallArgs, PolicyFields, ScheduleFields, TeamFields, UserFields, WindowFields,
    file_object,
};

use super::CliError;
use super::client::{Api, Connection, table, text};
use clap::{Args, Subcommand};
use fields::Body;
use serde_json::Value;

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
