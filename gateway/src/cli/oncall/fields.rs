//! The fields of `create` and `update` in the on-call subcommands, as flags and `--file`, and
//! the JSON body they make: a flag overrides the file's key, and an empty value becomes `null`
//! (which removes an optional key in an update).

use crate::cli::CliError;
use clap::Args;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

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
pub fn file_object(file: Option<PathBuf>) -> Result<Map<String, Value>, CliError> {
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
pub(super) trait Body {
    /// The JSON body of a create or update.
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
}
