//! Maintenance windows: the list (active ones marked) with Delete, and the form (start, end,
//! and optionally one source and a key pattern).

use super::FormFields;
use super::directory_pages::{DirectoryPage, directory_routes, object, text_of, text_or_null};
use crate::http::RouteRow;
use crate::ops::{OpsError, Services, endpoints, maintenance};
use serde_json::{Value, json};

/// The windows' pages, under `/ui`.
pub const ROUTES: &[RouteRow] = &directory_routes!(Windows, "/maintenance-windows");

/// Maintenance windows.
pub struct Windows;

/// Whether `[start, end)` holds now.
fn active(window: &Value) -> bool {
    let instant = |key: &str| window[key].as_str()?.parse::<jiff::Timestamp>().ok();
    let now = jiff::Timestamp::now();
    matches!((instant("start"), instant("end")), (Some(start), Some(end)) if start <= now && now < end)
}

impl DirectoryPage for Windows {
    const PATH: &'static str = "/maintenance-windows";
    const NAV: &'static str = "maintenance";
    const LIST_TITLE: &'static str = "Maintenance windows";
    const NOUN: &'static str = "maintenance window";
    const TEMPLATE: &'static str = "maintenance";

    fn list(services: &Services) -> Result<Vec<Value>, OpsError> {
        maintenance::windows(services)
    }

    fn get(services: &Services, id: &str) -> Result<Value, OpsError> {
        maintenance::window(services, id)
    }

    fn create(services: &Services, input: Value) -> Result<Value, OpsError> {
        maintenance::create_window(services, input)
    }

    fn update(services: &Services, id: &str, input: Value) -> Result<Value, OpsError> {
        maintenance::update_window(services, id, input)
    }

    fn delete(services: &Services, id: &str) -> Result<(), OpsError> {
        maintenance::delete_window(services, id)
    }

    fn list_data(services: &Services, views: Vec<Value>) -> Result<Value, OpsError> {
        let names = endpoints::names(services)?;
        let rows: Vec<Value> = views
            .into_iter()
            .map(|mut window| {
                window["active"] = json!(active(&window));
                let endpoint = text_of(&window, "endpoint").to_string();
                window["endpoint_name"] = json!(names.get(&endpoint).unwrap_or(&endpoint));
                window
            })
            .collect();
        Ok(json!({"windows": rows}))
    }

    fn input(fields: &FormFields, editing: bool) -> Result<Value, String> {
        Ok(object(
            vec![
                ("start", json!(fields.get("start"))),
                ("end", json!(fields.get("end"))),
                ("endpoint", text_or_null(fields, "endpoint")),
                ("key_pattern", text_or_null(fields, "key_pattern")),
            ],
            editing,
        ))
    }

    fn form_data(services: &Services, values: &Value) -> Result<Value, OpsError> {
        let mut sources: Vec<(String, String)> = endpoints::names(services)?.into_iter().collect();
        sources.sort_by(|a, b| a.1.cmp(&b.1));
        let chosen = text_of(values, "endpoint");
        let mut choices =
            vec![json!({"value": "", "label": "every source", "selected": chosen.is_empty()})];
        choices.extend(
            sources
                .iter()
                .map(|(id, name)| json!({"value": id, "label": name, "selected": id == chosen})),
        );
        // A new window: from now, for an hour.
        let now = crate::ops::schedules::now();
        let start = match text_of(values, "start") {
            "" if values.get("start").is_none() => now.to_string(),
            start => start.to_string(),
        };
        let end = match text_of(values, "end") {
            "" if values.get("end").is_none() => now
                .checked_add(jiff::SignedDuration::from_hours(1))
                .map_or(String::new(), |end| end.to_string()),
            end => end.to_string(),
        };

        Ok(json!({
            "form": {"start": start, "end": end, "key_pattern": values["key_pattern"]},
            "sources": choices,
        }))
    }
}
