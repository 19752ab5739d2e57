//! Schedules: the list with who is on call now; one schedule's page with who is on call now
//! and a timeline of the next 14 days (its final shifts, by layer, overrides marked); the
//! form (layers with rotation, users in rotation order and restrictions, and overrides).

use super::directory_pages::{
    DirectoryPage, directory_routes, name_in, object, text_of, text_or_null, user_names,
};
use super::overview::until_ms;
use super::timeline::{TimelineBlock, timeline};
use super::{FormFields, Session, page, refused_page};
use crate::http::{HttpState, RouteRow};
use crate::ops::schedules::{self, SHIFTS_DEFAULT_RANGE};
use crate::ops::{OpsError, Services};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The schedules' list and form pages, under `/ui`.
pub const FORM_ROUTES: &[RouteRow] = &directory_routes!(Schedules, "/schedules");

/// One schedule's page, under `/ui`.
pub const ROUTES: &[RouteRow] = &[RouteRow {
    method: Method::GET,
    path: "/schedules/{id}",
    handler: |route| route.to(show),
}];

/// Schedules.
pub struct Schedules;

impl DirectoryPage for Schedules {
    const PATH: &'static str = "/schedules";
    const NAV: &'static str = "schedules";
    const LIST_TITLE: &'static str = "Schedules";
    const NOUN: &'static str = "schedule";
    const TEMPLATE: &'static str = "schedules";

    fn list(services: &Services) -> Result<Vec<Value>, OpsError> {
        schedules::schedules(services)
    }

    fn get(services: &Services, id: &str) -> Result<Value, OpsError> {
        schedules::schedule(services, id)
    }

    fn create(services: &Services, input: Value) -> Result<Value, OpsError> {
        schedules::create_schedule(services, input)
    }

    fn update(services: &Services, id: &str, input: Value) -> Result<Value, OpsError> {
        schedules::update_schedule(services, id, input)
    }

    fn delete(services: &Services, id: &str) -> Result<(), OpsError> {
        schedules::delete_schedule(services, id)
    }

    fn list_data(services: &Services, views: Vec<Value>) -> Result<Value, OpsError> {
        let now = schedules::now();
        let mut rows = Vec::with_capacity(views.len());
        for view in views {
            let id = text_of(&view, "id");
            let mut row = json!({
                "id": id,
                "name": view["name"],
                "time_zone": view["time_zone"],
                "layers": view["layers"].as_array().map_or(0, Vec::len),
                "overrides": view["overrides"].as_array().map_or(0, Vec::len),
            });
            on_call_into(services, id, now, &mut row)?;
            rows.push(row);
        }
        Ok(json!({"schedules": rows}))
    }

    fn input(fields: &FormFields, editing: bool) -> Result<Value, String> {
        let count: usize = fields.get("layer_count").parse().unwrap_or(0);
        let mut layers = Vec::new();
        for index in 0..count {
            let field = |name: &str| format!("layer{index}_{name}");
            let users: Vec<&str> = (fields.get(&field("users")).split([',', ' ']))
                .map(str::trim)
                .filter(|user| !user.is_empty())
                .collect();
            let name = fields.get(&field("name"));
            let start = fields.get(&field("start"));
            if name.is_empty() && start.is_empty() && users.is_empty() {
                continue; // the empty row
            }
            let restrictions = restrictions(fields.get(&field("restrictions")), layers.len())?;
            layers.push(object(
                vec![
                    ("name", json!(name)),
                    ("start", json!(start)),
                    ("rotation", json!(fields.get(&field("rotation")))),
                    ("users", json!(users)),
                    ("restrictions", restrictions),
                ],
                false,
            ));
        }
        let overrides: Vec<Value> = (fields.all("override_user").iter())
            .zip(fields.all("override_start"))
            .zip(fields.all("override_end"))
            .filter(|((user, start), end)| !(user.trim().is_empty() && start.trim().is_empty() && end.trim().is_empty()))
            .map(|((user, start), end)| {
                json!({"user": user.trim(), "start": start.trim(), "end": end.trim()})
            })
            .collect();
        Ok(object(
            vec![
                ("name", json!(fields.get("name"))),
                ("time_zone", text_or_null(fields, "time_zone")),
                ("layers", json!(layers)),
                ("overrides", json!(overrides)),
            ],
            editing,
        ))
    }

    fn form_data(services: &Services, values: &Value) -> Result<Value, OpsError> {
        let mut layers: Vec<Value> = (values["layers"].as_array().into_iter())
            .flatten()
            .map(|layer| {
                let users: Vec<&str> = (layer["users"].as_array().into_iter())
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                json!({
                    "name": layer["name"],
                    "start": layer["start"],
                    "rotation": layer["rotation"],
                    "users": users.join(", "),
                    "restrictions": restrictions_text(&layer["restrictions"]),
                })
            })
            .collect();
        // One empty row to add a layer (and one to add an override).
        layers.push(json!({"start": "", "rotation": "1w"}));
        for (index, layer) in layers.iter_mut().enumerate() {
            layer["index"] = json!(index);
        }
        let mut overrides: Vec<Value> = values["overrides"].as_array().cloned().unwrap_or_default();
        overrides.push(json!({}));
        let people: Vec<Value> = (user_names(services)?.into_iter())
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        Ok(json!({
            "form": {"name": values["name"], "time_zone": values["time_zone"]},
            "layers": layers,
            "layer_count": layers.len(),
            "overrides": overrides,
            "people": people,
        }))
    }

    fn saved_location(view: &Value) -> String {
        format!("/ui/schedules/{}", text_of(view, "id"))
    }
}

/// A layer's restrictions from the form's text, one `mon,tue 09:00-17:00` a line; `null` for
/// none.
fn restrictions(text: &str, layer: usize) -> Result<Value, String> {
    let mut restrictions = Vec::new();
    for (index, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = line.rsplit_once(' ').and_then(|(days, hours)| {
            let (from, to) = hours.split_once('-')?;
            let days: Vec<&str> = (days.split([',', ' ']).map(str::trim))
                .filter(|day| !day.is_empty())
                .collect();
            Some(json!({"days": days, "from": from.trim(), "to": to.trim()}))
        });
        match parsed {
            Some(restriction) => restrictions.push(restriction),
            None => {
                return Err(format!(
                    "layers[{layer}].restrictions[{index}]: {line:?} is not like \
                     \"mon,tue,wed 09:00-17:00\""
                ));
            }
        }
    }
    Ok(if restrictions.is_empty() {
        Value::Null
    } else {
        json!(restrictions)
    })
}

/// The form's text of a layer's restrictions.
fn restrictions_text(restrictions: &Value) -> String {
    (restrictions.as_array().into_iter().flatten())
        .map(|restriction| {
            let days: Vec<&str> = (restriction["days"].as_array().into_iter())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "{} {}-{}",
                days.join(","),
                text_of(restriction, "from"),
                text_of(restriction, "to")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Puts who is on call at `now` and until when into `row` (`on_call`, `until`), or why that
/// cannot be said (`problem`).
fn on_call_into(
    services: &Services,
    id: &str,
    now: jiff::Timestamp,
    row: &mut Value,
) -> Result<(), OpsError> {
    match schedules::on_call(services, id, now) {
        Ok(on_call) => {
            row["on_call"] = on_call["users"].clone();
            row["until"] = json!(until_ms(&on_call["until"]));
            Ok(())
        }
        Err(error @ OpsError::Store(_)) => Err(error),
        Err(error) => {
            row["problem"] = json!(error.to_string());
            Ok(())
        }
    }
}

/// A shift's instant in ms.
fn instant_ms(value: &Value) -> u64 {
    until_ms(value).unwrap_or(0)
}

/// The schedule's page: on call now, the timeline of the next 14 days, its layers and
/// overrides.
async fn show(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match schedule_page(&state.services, &id) {
        Ok(data) => {
            let title = format!("Schedule {}", text_of(&data["schedule"], "name"));
            page(
                &state,
                Some(&session),
                StatusCode::OK,
                "schedule",
                &title,
                "schedules",
                data,
            )
        }
        Err(error) => refused_page(&state, &session, error),
    }
}

/// A final shift, read back from the shifts answer; `layer` is `None` for an override.
struct ShiftRow {
    layer: Option<u64>,
    user: String,
    name: String,
    start: u64,
    end: u64,
}

fn schedule_page(services: &Services, id: &str) -> Result<Value, OpsError> {
    let view = schedules::schedule(services, id)?;
    let now = schedules::now();
    let mut data = json!({"schedule": view});
    on_call_into(services, id, now, &mut data)?;
    let names = user_names(services)?;
    let to = now
        .checked_add(SHIFTS_DEFAULT_RANGE)
        .unwrap_or(jiff::Timestamp::MAX);
    let shifts = match schedules::shifts(services, id, now, to) {
        Ok(answer) => answer["shifts"].as_array().cloned().unwrap_or_default(),
        Err(error @ OpsError::Store(_)) => return Err(error),
        Err(_) => Vec::new(), // `problem` says why already
    };
    let all: Vec<ShiftRow> = shifts
        .iter()
        .map(|shift| {
            let user = text_of(shift, "user").to_string();
            ShiftRow {
                layer: shift["layer"].as_u64(),
                name: name_in(&names, &user).to_string(),
                user,
                start: instant_ms(&shift["start"]),
                end: instant_ms(&shift["end"]),
            }
        })
        .collect();
    let as_blocks = |keep: &dyn Fn(Option<u64>) -> bool| -> Vec<TimelineBlock<'_>> {
        (all.iter())
            .filter(|shift| keep(shift.layer))
            .map(|shift| TimelineBlock {
                user: &shift.user,
                name: &shift.name,
                start: shift.start,
                end: shift.end,
                is_override: shift.layer.is_none(),
            })
            .collect()
    };
    let mut rows = vec![("On call".to_string(), as_blocks(&|_| true))];
    let layers = data["schedule"]["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (index, layer) in layers.iter().enumerate() {
        let index = index as u64;
        rows.push((
            format!("Layer: {}", text_of(layer, "name")),
            as_blocks(&move |of| of == Some(index)),
        ));
    }
    rows.push(("Overrides".to_string(), as_blocks(&|of| of.is_none())));
    let from_ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
    let days = (SHIFTS_DEFAULT_RANGE.as_hours() / 24) as u64;
    data["timeline"] = timeline(from_ms, days, &rows);
    let overrides: Vec<Value> = (data["schedule"]["overrides"].as_array().into_iter())
        .flatten()
        .map(|cover| {
            let user = text_of(cover, "user");
            json!({"user": user, "name": name_in(&names, user), "start": cover["start"], "end": cover["end"]})
        })
        .collect();
    data["override_rows"] = json!(overrides);
    for layer in data["schedule"]["layers"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let users: Vec<Value> = (layer["users"].as_array().into_iter())
            .flatten()
            .filter_map(Value::as_str)
            .map(|user| json!({"id": user, "name": name_in(&names, user)}))
            .collect();
        layer["people"] = json!(users);
        layer["restrictions_text"] = json!(restrictions_text(&layer["restrictions"]));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_read_one_a_line_and_name_a_bad_one() {
        assert_eq!(
            restrictions("mon,tue 09:00-17:00\n\n sat 10:00-12:00", 0).unwrap(),
            json!([{"days": ["mon", "tue"], "from": "09:00", "to": "17:00"},
                   {"days": ["sat"], "from": "10:00", "to": "12:00"}])
        );
        assert_eq!(restrictions("  ", 0).unwrap(), Value::Null);
        let refused = restrictions("weekdays", 1).unwrap_err();
        assert!(
            refused.starts_with("layers[1].restrictions[0]:"),
            "{refused}"
        );
        let shown = json!([{"days": ["mon", "tue"], "from": "09:00", "to": "17:00"}]);
        assert_eq!(restrictions_text(&shown), "mon,tue 09:00-17:00");
    }
}
