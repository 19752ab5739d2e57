//! Escalation policies: the list, and the form (steps with a delay and targets: users, teams
//! and schedules; how often the policy starts again).

use super::FormFields;
use super::directory_pages::{DirectoryPage, directory_routes, number_or_text, object, text_of};
use crate::http::RouteRow;
use crate::ops::{OpsError, Services, people, policies, schedules};
use serde_json::{Value, json};

/// The policies' pages, under `/ui`.
pub const ROUTES: &[RouteRow] = &directory_routes!(Policies, "/escalation-policies");

/// Escalation policies.
pub struct Policies;

/// Every target a step can name: `(type, id, name)`.
fn targets(services: &Services) -> Result<Vec<(&'static str, String, String)>, OpsError> {
    let mut found = Vec::new();
    for (kind, views) in [
        ("user", people::users(services)?),
        ("team", people::teams(services)?),
        ("schedule", schedules::schedules(services)?),
    ] {
        for view in views {
            found.push((
                kind,
                text_of(&view, "id").to_string(),
                text_of(&view, "name").to_string(),
            ));
        }
    }
    Ok(found)
}

impl DirectoryPage for Policies {
    const PATH: &'static str = "/escalation-policies";
    const NAV: &'static str = "policies";
    const LIST_TITLE: &'static str = "Escalation policies";
    const NOUN: &'static str = "escalation policy";
    const TEMPLATE: &'static str = "policies";

    fn list(services: &Services) -> Result<Vec<Value>, OpsError> {
        policies::policies(services)
    }

    fn get(services: &Services, id: &str) -> Result<Value, OpsError> {
        policies::policy(services, id)
    }

    fn create(services: &Services, input: Value) -> Result<Value, OpsError> {
        policies::create_policy(services, input)
    }

    fn update(services: &Services, id: &str, input: Value) -> Result<Value, OpsError> {
        policies::update_policy(services, id, input)
    }

    fn delete(services: &Services, id: &str) -> Result<(), OpsError> {
        policies::delete_policy(services, id)
    }

    fn list_data(services: &Services, views: Vec<Value>) -> Result<Value, OpsError> {
        let known = targets(services)?;
        let name_of = |id: &str| {
            (known.iter())
                .find(|(_, known, _)| known == id)
                .map_or(id.to_string(), |(_, _, name)| name.clone())
        };
        let rows: Vec<Value> = views
            .iter()
            .map(|policy| {
                let steps: Vec<Value> = (policy["steps"].as_array().into_iter())
                    .flatten()
                    .enumerate()
                    .map(|(index, step)| {
                        let targets: Vec<Value> = (step["targets"].as_array().into_iter())
                            .flatten()
                            .map(|target| {
                                let id = text_of(target, "id");
                                json!({"type": target["type"], "id": id, "name": name_of(id)})
                            })
                            .collect();
                        json!({"number": index + 1, "delay": step["delay"], "targets": targets})
                    })
                    .collect();
                json!({"id": policy["id"], "name": policy["name"], "repeat": policy["repeat"],
                       "steps": steps})
            })
            .collect();
        Ok(json!({"policies": rows}))
    }

    fn input(fields: &FormFields, editing: bool) -> Result<Value, String> {
        let count: usize = fields.get("step_count").parse().unwrap_or(0);
        let mut steps = Vec::new();
        for index in 0..count {
            let delay = fields.get(&format!("step{index}_delay"));
            let chosen = fields.all(&format!("step{index}_targets"));
            if delay.is_empty() && chosen.is_empty() {
                continue; // the empty row
            }
            let targets: Vec<Value> = chosen
                .iter()
                .filter_map(|target| target.split_once(':'))
                .map(|(kind, id)| json!({"type": kind, "id": id}))
                .collect();
            steps.push(json!({"delay": delay, "targets": targets}));
        }
        let repeat = match fields.get("repeat") {
            "" => Value::Null,
            text => number_or_text(text),
        };
        Ok(object(
            vec![
                ("name", json!(fields.get("name"))),
                ("steps", json!(steps)),
                ("repeat", repeat),
            ],
            editing,
        ))
    }

    fn form_data(services: &Services, values: &Value) -> Result<Value, OpsError> {
        let known = targets(services)?;
        let mut steps: Vec<Value> = values["steps"].as_array().cloned().unwrap_or_default();
        // One empty row to add a step.
        steps.push(json!({"delay": "", "targets": []}));
        let rows: Vec<Value> = steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let chosen: Vec<String> = (step["targets"].as_array().into_iter())
                    .flatten()
                    .map(|target| format!("{}:{}", text_of(target, "type"), text_of(target, "id")))
                    .collect();
                let choices: Vec<Value> = known
                    .iter()
                    .map(|(kind, id, name)| {
                        let value = format!("{kind}:{id}");
                        json!({"value": value, "kind": kind, "id": id, "name": name,
                               "checked": chosen.contains(&value)})
                    })
                    .collect();
                json!({"index": index, "number": index + 1, "delay": step["delay"], "choices": choices})
            })
            .collect();
        Ok(json!({
            "form": {"name": values["name"], "repeat": values["repeat"]},
            "steps": rows,
            "step_count": rows.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_form_reads_its_steps_and_leaves_the_empty_one_out() {
        let posted = FormFields(
            [
                ("name", "widgets"),
                ("repeat", "2"),
                ("step_count", "3"),
                ("step0_delay", "5m"),
                ("step0_targets", "schedule:sc_1"),
                ("step0_targets", "team:tm_1"),
                ("step1_delay", "soon"),
                ("step2_delay", ""),
            ]
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        );
        assert_eq!(
            Policies::input(&posted, false).unwrap(),
            json!({"name": "widgets", "repeat": 2, "steps": [
                {"delay": "5m", "targets": [{"type": "schedule", "id": "sc_1"},
                                            {"type": "team", "id": "tm_1"}]},
                {"delay": "soon", "targets": []},
            ]})
        );
    }
}
