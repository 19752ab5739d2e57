//! Schedules `sc_<n>` (SPEC §12): create, list, show, change, delete; who is on call at an
//! instant, and the final shifts over a range. The calendar work is `oncall`'s; this file
//! checks the users a schedule names against the directory and renders the answers.

use super::directory::{self, Directory, input_object, invalid, merge, parse, to_body};
use super::people::user_view;
use super::{OpsError, Services};
use crate::oncall::{Layer, Override, Schedule, Shift};
use crate::store::{DirectoryEntry, DirectoryKind, StoreError};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The shifts answered when no range is asked for: from now, two weeks.
pub const SHIFTS_DEFAULT_RANGE: SignedDuration = SignedDuration::from_hours(14 * 24);

/// The longest range of one shifts answer: a quarter, which is as far as "on call until" looks
/// too (`config::ONCALL_LOOKAHEAD`), and keeps an hourly rotation's answer in the thousands.
pub const SHIFTS_MAX_RANGE: SignedDuration = SignedDuration::from_hours(90 * 24);

/// A schedule `sc_<n>` as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleView {
    /// `sc_<n>`.
    pub id: String,
    /// Shown in the console.
    pub name: String,
    /// The IANA zone its layers and restrictions are written in.
    pub time_zone: String,
    /// Rotations, the later over the earlier.
    pub layers: Vec<Layer>,
    /// Someone taking a shift over.
    pub overrides: Vec<Override>,
    /// Created, ms.
    pub created_at: u64,
    /// Last changed, ms.
    pub updated_at: u64,
}

impl ScheduleView {
    /// The view of a schedule entry, as JSON.
    pub fn json(entry: &DirectoryEntry) -> Result<Value, OpsError> {
        // Every field of the type, so one added there cannot be missed here.
        let Schedule {
            name,
            time_zone,
            layers,
            overrides,
        } = directory::body_of(entry)?;
        directory::to_json(Self {
            id: entry.id.clone(),
            name,
            time_zone,
            layers,
            overrides,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        })
    }
}

/// One schedule's view.
pub fn schedule(services: &Services, id: &str) -> Result<Value, OpsError> {
    ScheduleView::json(&directory::get(services, DirectoryKind::Schedule, id)?)
}

/// Every schedule's view, newest first.
pub fn schedules(services: &Services) -> Result<Vec<Value>, OpsError> {
    let entries = directory::list(services, DirectoryKind::Schedule)?;
    entries.iter().map(ScheduleView::json).collect()
}

/// A schedule checked (its layers, rotations, restrictions, overrides and users), as the
/// store keeps it.
fn schedule_body(input: Map<String, Value>, directory: &Directory) -> Result<Value, OpsError> {
    let schedule: Schedule = parse(DirectoryKind::Schedule, input)?;
    schedule
        .validate(|id| directory.has(DirectoryKind::User, id))
        .map_err(invalid)?;
    to_body(&schedule)
}

/// Creates a schedule.
pub fn create_schedule(services: &Services, input: Value) -> Result<Value, OpsError> {
    let input = input_object(DirectoryKind::Schedule, input)?;
    let entry = directory::create(services, DirectoryKind::Schedule, |directory| {
        schedule_body(input, directory)
    })?;
    ScheduleView::json(&entry)
}

/// Applies the given keys over the schedule and validates the whole again.
pub fn update_schedule(services: &Services, id: &str, patch: Value) -> Result<Value, OpsError> {
    let patch = input_object(DirectoryKind::Schedule, patch)?;
    let entry = directory::update(
        services,
        DirectoryKind::Schedule,
        id,
        |current, directory| schedule_body(merge(&current.body, patch.clone()), directory),
    )?;
    ScheduleView::json(&entry)
}

/// Deletes a schedule no escalation policy names.
pub fn delete_schedule(services: &Services, id: &str) -> Result<(), OpsError> {
    directory::delete(services, DirectoryKind::Schedule, id)
}

/// The stored schedule, parsed.
fn read_schedule(entry: &DirectoryEntry) -> Result<Schedule, OpsError> {
    serde_json::from_value(entry.body.clone())
        .map_err(|error| StoreError::Corrupt(format!("schedule {}: {error}", entry.id)).into())
}

/// A stored schedule that was valid when written but no longer parses (a time zone gone from
/// a newer IANA database, say): the operator fixes it with a change.
fn unusable(id: &str, error: crate::oncall::FieldError) -> OpsError {
    OpsError::Conflict(format!(
        "schedule {id} cannot be computed ({error}); change it"
    ))
}

/// Who is on call at `at`, and until when: `{"users": [user views], "until", "at"}`.
pub fn on_call(services: &Services, id: &str, at: Timestamp) -> Result<Value, OpsError> {
    let entry = directory::get(services, DirectoryKind::Schedule, id)?;
    let on_call = read_schedule(&entry)?
        .on_call_at(at)
        .map_err(|error| unusable(id, error))?;
    let mut users = Vec::with_capacity(on_call.users.len());
    for user in &on_call.users {
        // Deleting a user a schedule names is refused, so this finds them; an id alone
        // otherwise.
        users.push(match services.store.directory_entry(user)? {
            Some(entry) if entry.kind == DirectoryKind::User => user_view(&entry)?,
            _ => json!({"id": user}),
        });
    }
    Ok(json!({
        "users": users,
        "until": on_call.until.to_string(),
        "at": at.to_string(),
    }))
}

/// The final shifts over `[from, to)`, at most [`SHIFTS_MAX_RANGE`]: `{"shifts": [{user,
/// user_name, start, end, layer | override}], "from", "to"}`, where `layer` is the index of
/// the layer the shift comes from (with its `layer_name`) and `override: true` marks an
/// override.
pub fn shifts(
    services: &Services,
    id: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<Value, OpsError> {
    if to <= from {
        return Err(OpsError::BadRequest(format!(
            "to ({to}) must be after from ({from})"
        )));
    }
    if from.duration_until(to) > SHIFTS_MAX_RANGE {
        return Err(OpsError::BadRequest(format!(
            "from {from} to {to} is longer than {} days; ask for a shorter range",
            SHIFTS_MAX_RANGE.as_hours() / 24
        )));
    }
    let entry = directory::get(services, DirectoryKind::Schedule, id)?;
    let schedule = read_schedule(&entry)?;
    let shifts = schedule
        .shifts(from, to)
        .map_err(|error| unusable(id, error))?;
    let names: HashMap<String, String> = (services.store.directory(DirectoryKind::User)?)
        .into_iter()
        .filter_map(|user| Some((user.id, user.body["name"].as_str()?.to_string())))
        .collect();
    let shifts = shifts
        .iter()
        .map(|shift| ShiftView::of(shift, &schedule, &names))
        .collect();
    directory::to_json(ShiftsAnswer {
        shifts,
        from: from.to_string(),
        to: to.to_string(),
    })
}

/// A schedule's final shifts over a range.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftsAnswer {
    /// The shifts, in order.
    pub shifts: Vec<ShiftView>,
    /// The range's start, RFC 3339 UTC.
    pub from: String,
    /// Its end (exclusive).
    pub to: String,
}

/// One final shift: from a layer (`layer`, `layer_name`) or an override (`override: true`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftView {
    /// Who is on call, `us_<n>`.
    pub user: String,
    /// Their name.
    #[schema(required = true)]
    pub user_name: Option<String>,
    /// RFC 3339 UTC.
    pub start: String,
    /// RFC 3339 UTC (exclusive).
    pub end: String,
    /// The index of the layer the shift comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// That layer's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_name: Option<String>,
    /// `true` on an override's shift.
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub is_override: Option<bool>,
}

impl ShiftView {
    fn of(shift: &Shift, schedule: &Schedule, names: &HashMap<String, String>) -> Self {
        Self {
            user: shift.user.clone(),
            user_name: names.get(&shift.user).cloned(),
            start: shift.start.to_string(),
            end: shift.end.to_string(),
            layer: shift.layer,
            layer_name: shift
                .layer
                .and_then(|layer| schedule.layers.get(layer))
                .map(|layer| layer.name.clone()),
            is_override: shift.layer.is_none().then_some(true),
        }
    }
}

/// A query's instant (`at`, `from`, `to`): RFC 3339 with an offset; 400 naming the parameter.
pub fn query_time(name: &str, text: Option<&str>) -> Result<Option<Timestamp>, OpsError> {
    text.map(|text| {
        crate::oncall::parse_instant(name, text)
            .map_err(|error| OpsError::BadRequest(error.to_string()))
    })
    .transpose()
}

/// Now, to the second: the default of `at` and `from`, shown in answers.
pub fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_else(|_| Timestamp::now())
}

/// The range of a shifts question, with its defaults: from now, for [`SHIFTS_DEFAULT_RANGE`].
pub fn shifts_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Timestamp, Timestamp), OpsError> {
    let from = query_time("from", from)?.unwrap_or_else(now);
    let to = match query_time("to", to)? {
        Some(to) => to,
        None => from
            .checked_add(SHIFTS_DEFAULT_RANGE)
            .unwrap_or(Timestamp::MAX),
    };
    Ok((from, to))
}
