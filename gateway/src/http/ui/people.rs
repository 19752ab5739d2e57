//! People and Teams: users (name, email, time zone, role, contact methods, notification
//! rules, and a write-only password: the form only says whether one is set) and teams of
//! them.

use super::directory_pages::{
    DirectoryPage, directory_routes, name_in, number_or_text, object, text_of, text_or_null,
    user_names,
};
use super::{FormFields, options};
use crate::http::RouteRow;
use crate::ops::{OpsError, Services, people};
use serde_json::{Value, json};

/// The users' pages, under `/ui`.
pub const USER_ROUTES: &[RouteRow] = &directory_routes!(Users, "/users");

/// The teams' pages, under `/ui`.
pub const TEAM_ROUTES: &[RouteRow] = &directory_routes!(Teams, "/teams");

const ROLES: [&str; 3] = ["responder", "admin", "viewer"];
const CONTACT_KINDS: [&str; 4] = ["email", "sms", "voice", "ntfy"];

/// Users.
pub struct Users;

impl DirectoryPage for Users {
    const PATH: &'static str = "/users";
    const NAV: &'static str = "people";
    const LIST_TITLE: &'static str = "People";
    const NOUN: &'static str = "user";
    const TEMPLATE: &'static str = "users";

    fn list(services: &Services) -> Result<Vec<Value>, OpsError> {
        people::users(services)
    }

    fn get(services: &Services, id: &str) -> Result<Value, OpsError> {
        people::user(services, id)
    }

    fn create(services: &Services, input: Value) -> Result<Value, OpsError> {
        people::create_user(services, input)
    }

    fn update(services: &Services, id: &str, input: Value) -> Result<Value, OpsError> {
        people::update_user(services, id, input)
    }

    fn delete(services: &Services, id: &str) -> Result<(), OpsError> {
        people::delete_user(services, id)
    }

    fn list_data(_: &Services, views: Vec<Value>) -> Result<Value, OpsError> {
        let rows: Vec<Value> = views
            .iter()
            .map(|user| {
                let contacts: Vec<&str> = (user["contact_methods"].as_array().into_iter())
                    .flatten()
                    .filter_map(|contact| contact["kind"].as_str())
                    .collect();
                json!({
                    "id": user["id"],
                    "name": user["name"],
                    "email": user["email"],
                    "role": user["role"],
                    "time_zone": user["time_zone"],
                    "contacts": contacts.join(", "),
                    "password_set": user["password_set"],
                })
            })
            .collect();
        Ok(json!({"users": rows, "tab": {"users": true}}))
    }

    fn input(fields: &FormFields, editing: bool) -> Result<Value, String> {
        let contact_methods: Vec<Value> = (fields.all("contact_kind").iter())
            .zip(fields.all("contact_address"))
            .filter(|(_, address)| !address.trim().is_empty())
            .map(|(kind, address)| json!({"kind": kind.trim(), "address": address.trim()}))
            .collect();
        let notification_rules: Vec<Value> = (fields.all("rule_contact").iter())
            .zip(fields.all("rule_after"))
            .filter(|(_, after)| !after.trim().is_empty())
            .map(|(contact, after)| {
                json!({"contact": number_or_text(contact), "after_minutes": number_or_text(after)})
            })
            .collect();
        let mut pairs = vec![
            ("name", json!(fields.get("name"))),
            ("email", json!(fields.get("email"))),
            ("time_zone", text_or_null(fields, "time_zone")),
            ("role", json!(fields.get("role"))),
            ("contact_methods", json!(contact_methods)),
            ("notification_rules", json!(notification_rules)),
        ];
        // Write-only: a new one when typed; kept when left empty; removed when asked.
        let password = fields.all("password").first().copied().unwrap_or("");
        if !password.is_empty() {
            pairs.push(("password", json!(password)));
        } else if editing && fields.has("remove_password") {
            pairs.push(("password", Value::Null));
        }
        Ok(object(pairs, editing))
    }

    fn form_data(_: &Services, values: &Value) -> Result<Value, OpsError> {
        Ok(user_form(values))
    }
}

/// The user form's data: no field of it is the password, whatever `values` holds.
fn user_form(values: &Value) -> Value {
    {
        let mut contacts: Vec<(String, String)> = (values["contact_methods"].as_array())
            .into_iter()
            .flatten()
            .map(|contact| {
                (
                    text_of(contact, "kind").to_string(),
                    text_of(contact, "address").to_string(),
                )
            })
            .collect();
        // One empty row to add a contact method.
        contacts.push(("email".into(), String::new()));
        let contact_choices: Vec<String> = (contacts.iter().enumerate())
            .map(|(index, (kind, address))| match address.as_str() {
                "" => format!("#{} (the new one)", index + 1),
                address => format!("#{} {kind} {address}", index + 1),
            })
            .collect();
        let contact_options = |selected: &str| -> Vec<Value> {
            (contact_choices.iter().enumerate())
                .map(|(index, label)| {
                    json!({"value": index, "label": label, "selected": index.to_string() == selected})
                })
                .collect()
        };
        let contact_rows: Vec<Value> = contacts
            .iter()
            .map(|(kind, address)| {
                json!({"address": address, "kinds": options(CONTACT_KINDS, kind)})
            })
            .collect();
        let mut rules: Vec<(String, String)> = (values["notification_rules"].as_array())
            .into_iter()
            .flatten()
            .map(|rule| (shown(&rule["contact"]), shown(&rule["after_minutes"])))
            .collect();
        rules.push(("0".into(), String::new()));
        let rule_rows: Vec<Value> = rules
            .iter()
            .map(|(contact, after)| json!({"after": after, "contacts": contact_options(contact)}))
            .collect();
        let role = match text_of(values, "role") {
            "" => "responder",
            role => role,
        };
        json!({
            "form": {
                "name": values["name"],
                "email": values["email"],
                "time_zone": values["time_zone"],
                "password_set": values["password_set"].as_bool().unwrap_or(false),
            },
            "roles": options(ROLES, role),
            "contact_rows": contact_rows,
            "rule_rows": rule_rows,
        })
    }
}

/// A number or text field as the form shows it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Teams.
pub struct Teams;

impl DirectoryPage for Teams {
    const PATH: &'static str = "/teams";
    const NAV: &'static str = "people";
    const LIST_TITLE: &'static str = "Teams";
    const NOUN: &'static str = "team";
    const TEMPLATE: &'static str = "teams";

    fn list(services: &Services) -> Result<Vec<Value>, OpsError> {
        people::teams(services)
    }

    fn get(services: &Services, id: &str) -> Result<Value, OpsError> {
        people::team(services, id)
    }

    fn create(services: &Services, input: Value) -> Result<Value, OpsError> {
        people::create_team(services, input)
    }

    fn update(services: &Services, id: &str, input: Value) -> Result<Value, OpsError> {
        people::update_team(services, id, input)
    }

    fn delete(services: &Services, id: &str) -> Result<(), OpsError> {
        people::delete_team(services, id)
    }

    fn list_data(services: &Services, views: Vec<Value>) -> Result<Value, OpsError> {
        let names = user_names(services)?;
        let rows: Vec<Value> = views
            .iter()
            .map(|team| {
                let members: Vec<Value> = (team["members"].as_array().into_iter())
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|id| json!({"id": id, "name": name_in(&names, id)}))
                    .collect();
                json!({"id": team["id"], "name": team["name"], "members": members})
            })
            .collect();
        Ok(json!({"teams": rows, "tab": {"teams": true}}))
    }

    fn input(fields: &FormFields, editing: bool) -> Result<Value, String> {
        let members: Vec<&str> = fields.all("member").into_iter().map(str::trim).collect();
        Ok(object(
            vec![
                ("name", json!(fields.get("name"))),
                ("members", json!(members)),
            ],
            editing,
        ))
    }

    fn form_data(services: &Services, values: &Value) -> Result<Value, OpsError> {
        let members: Vec<&str> = (values["members"].as_array().into_iter())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let users: Vec<Value> = user_names(services)?
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name, "checked": members.contains(&id.as_str())}))
            .collect();
        Ok(json!({"form": {"name": values["name"]}, "users": users}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        FormFields(
            (pairs.iter())
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_user_form_reads_rows_and_never_shows_the_password() {
        let posted = fields(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("time_zone", ""),
            ("role", "admin"),
            ("contact_kind", "ntfy"),
            ("contact_address", "https://ntfy.sh/ada"),
            ("contact_kind", "email"),
            ("contact_address", " "),
            ("rule_contact", "0"),
            ("rule_after", "5"),
            ("rule_contact", "0"),
            ("rule_after", ""),
            ("password", "s3cret pass"),
        ]);
        let input = Users::input(&posted, false).unwrap();
        assert_eq!(
            input,
            json!({"name": "Ada", "email": "ada@example.com", "role": "admin",
                   "contact_methods": [{"kind": "ntfy", "address": "https://ntfy.sh/ada"}],
                   "notification_rules": [{"contact": 0, "after_minutes": 5}],
                   "password": "s3cret pass"})
        );
        // Shown again after a refusal: everything typed but the password.
        let shown = user_form(&input).to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("https://ntfy.sh/ada"), "{shown}");

        // A change keeps the password when none is typed, removes it when asked, and an empty
        // time zone goes back to its default.
        let change = Users::input(&fields(&[("name", "Ada"), ("password", "")]), true).unwrap();
        assert!(change.get("password").is_none(), "{change}");
        assert_eq!(change["time_zone"], Value::Null);
        assert!(change.as_object().unwrap().contains_key("time_zone"));
        let removal = Users::input(&fields(&[("remove_password", "on")]), true).unwrap();
        assert_eq!(removal["password"], Value::Null);
        assert!(removal.as_object().unwrap().contains_key("password"));
    }

    #[test]
    fn a_team_form_reads_its_members() {
        let posted = fields(&[("name", "ops"), ("member", "us_1"), ("member", "us_3")]);
        assert_eq!(
            Teams::input(&posted, false).unwrap(),
            json!({"name": "ops", "members": ["us_1", "us_3"]})
        );
    }
}
