//! A schedule as the operator writes it (SPEC §12): layers of rotating users, optionally
//! restricted to hours of the week, and overrides on top. [`Schedule::rota`] checks it and
//! turns it into the [`Rota`] that answers who is on call.
//!
//! Decisions the SPEC leaves open:
//! - A rotation is `<n>h` / `<n>m` (exact durations; also `s` and `ms` as in every duration
//!   here) or `<n>d` / `<n>w` (calendar days and weeks in the schedule's zone, so a daily 09:00
//!   handoff stays at 09:00 local across a daylight-saving change). At least
//!   [`SCHEDULE_MIN_ROTATION`].
//! - Restriction times are `HH:MM`, local wall-clock time in the schedule's zone. `days` name the
//!   day a window *starts*; `from` > `to` wraps past midnight (`fri 22:00–06:00` is Friday night
//!   until Saturday morning); `from` == `to` is refused (ambiguous between nothing and all day).
//!   A local time a spring-forward skips is read as the time just after the gap (jiff's
//!   "compatible" rule); one a fall-back repeats, as its first occurrence.
//! - The rotation keeps turning outside a layer's restrictions (as PagerDuty's does): whose turn
//!   it is depends only on the layer's start and rotation.
//! - At least one layer; a layer needs at least one user.

use super::rota::{OnCall, OverrideSpan, Rota, RotaLayer, Rotation, Shift, Window};
use super::{FieldError, parse_instant, parse_time_zone, utc};
use crate::config::{SCHEDULE_MIN_ROTATION, parse_duration, split_duration};
use jiff::civil::{Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A schedule `sc_<n>`: who is on call when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Shown in the console.
    pub name: String,
    /// IANA zone of the layers' rotations and restrictions; `UTC` when absent.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Later layers cover earlier ones where they have someone.
    pub layers: Vec<Layer>,
    /// Cover every layer; a later override covers an earlier one.
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// A rotation of users from `start`, each on call for one `rotation` in turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Shown in the console.
    pub name: String,
    /// RFC 3339: the first handoff, to `users[0]`. Before it the layer has nobody.
    pub start: String,
    /// `12h`, `1d`, `1w`, `2w`, ...
    pub rotation: String,
    /// User ids, in turn.
    pub users: Vec<String>,
    /// When present, the layer covers only inside these windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<Vec<Restriction>>,
}

/// A weekly window of local time a restricted layer covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// `mon` ... `sun`: the days the window starts on.
    pub days: Vec<String>,
    /// `HH:MM`, local.
    pub from: String,
    /// `HH:MM`, local; before `from` means the next day.
    pub to: String,
}

/// One user on call over every layer from `start` until `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// User id.
    pub user: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339, after `start`.
    pub end: String,
}

impl Schedule {
    /// Checks every field, `known_user` saying which user ids exist; the error names the first
    /// bad field by its JSON path.
    pub fn validate(&self, known_user: impl Fn(&str) -> bool) -> Result<(), FieldError> {
        self.rota()?;
        let layer_users = self.layers.iter().enumerate().flat_map(|(index, layer)| {
            let users = layer.users.iter().enumerate();
            users.map(move |(slot, user)| (format!("layers[{index}].users[{slot}]"), user))
        });
        let override_users = (self.overrides.iter().enumerate())
            .map(|(index, cover)| (format!("overrides[{index}].user"), &cover.user));
        for (field, user) in layer_users.chain(override_users) {
            if !known_user(user) {
                return Err(FieldError::new(field, format!("no user {user:?}")));
            }
        }
        Ok(())
    }

    /// The schedule parsed, ready to answer who is on call; the error names the first field
    /// that cannot be parsed (users are not looked up: that is [`Schedule::validate`]'s).
    pub fn rota(&self) -> Result<Rota, FieldError> {
        if self.name.trim().is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        let zone = parse_time_zone("time_zone", &self.time_zone)?;
        if self.layers.is_empty() {
            return Err(FieldError::new(
                "layers",
                "a schedule needs at least one layer",
            ));
        }
        let layers = (self.layers.iter().enumerate())
            .map(|(index, layer)| layer.parse(&format!("layers[{index}]"), &zone))
            .collect::<Result<_, _>>()?;
        let mut overrides = Vec::with_capacity(self.overrides.len());
        for (index, cover) in self.overrides.iter().enumerate() {
            let field = |name: &str| format!("overrides[{index}].{name}");
            let start = parse_instant(&field("start"), &cover.start)?;
            let end = parse_instant(&field("end"), &cover.end)?;
            if end <= start {
                return Err(FieldError::new(
                    field("end"),
                    format!("{:?} is not after start {:?}", cover.end, cover.start),
                ));
            }
            overrides.push(OverrideSpan {
                user: cover.user.clone(),
                start,
                end,
            });
        }
        Ok(Rota::new(layers, overrides))
    }

    /// [`Rota::on_call_at`], for a schedule not parsed yet (a caller asking often keeps the
    /// [`Rota`] instead).
    pub fn on_call_at(&self, at: Timestamp) -> Result<OnCall, FieldError> {
        Ok(self.rota()?.on_call_at(at))
    }

    /// [`Rota::shifts`], for a schedule not parsed yet.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, FieldError> {
        Ok(self.rota()?.shifts(from, to))
    }
}

impl Layer {
    fn parse(&self, at: &str, zone: &jiff::tz::TimeZone) -> Result<RotaLayer, FieldError> {
        let field = |name: &str| format!("{at}.{name}");
        if self.users.is_empty() {
            return Err(FieldError::new(
                field("users"),
                "a layer needs at least one user",
            ));
        }
        let start = parse_instant(&field("start"), &self.start)?;
        let rotation = parse_rotation(&field("rotation"), &self.rotation)?;
        if self.restrictions.as_ref().is_some_and(Vec::is_empty) {
            return Err(FieldError::new(
                field("restrictions"),
                "must list at least one window; leave it out to cover all the time",
            ));
        }
        let mut windows = Vec::new();
        for (index, restriction) in self.restrictions.iter().flatten().enumerate() {
            windows.push(restriction.parse(&field(&format!("restrictions[{index}]")))?);
        }
        Ok(RotaLayer {
            start: start.to_zoned_datetime(zone.clone()),
            rotation,
            users: self.users.clone(),
            windows,
        })
    }
}

impl Restriction {
    fn parse(&self, at: &str) -> Result<Window, FieldError> {
        let field = |name: &str| format!("{at}.{name}");
        if self.days.is_empty() {
            return Err(FieldError::new(field("days"), "must name at least one day"));
        }
        let mut days = Vec::with_capacity(self.days.len());
        for (index, day) in self.days.iter().enumerate() {
            days.push(parse_weekday(day).ok_or_else(|| {
                FieldError::new(
                    field(&format!("days[{index}]")),
                    format!("{day:?} is not one of mon, tue, wed, thu, fri, sat, sun"),
                )
            })?);
        }
        let from = parse_clock(&field("from"), &self.from)?;
        let to = parse_clock(&field("to"), &self.to)?;
        if from == to {
            return Err(FieldError::new(
                field("to"),
                format!("{:?} is the same as from; a window needs a length", self.to),
            ));
        }
        Ok(Window { days, from, to })
    }
}

/// `12h` and `90m` are exact; `1d` and `2w` are calendar days in the schedule's zone.
fn parse_rotation(field: &str, text: &str) -> Result<Rotation, FieldError> {
    let refuse = |why: &str| FieldError::new(field, format!("{text:?} {why}"));
    let calendar_days = match split_duration(text) {
        Some((days, "d")) => Some(days),
        Some((weeks, "w")) => Some(weeks.checked_mul(7).ok_or_else(|| refuse("is too long"))?),
        _ => None,
    };
    if let Some(days) = calendar_days {
        // jiff's calendar reaches 9999 AD; a longer rotation could never hand off anyway.
        return match i64::try_from(days) {
            Ok(0) => Err(refuse("is no time at all")),
            Ok(days @ 1..=3_000_000) => Ok(Rotation::CalendarDays(days)),
            _ => Err(refuse("is too long")),
        };
    }
    let exact =
        parse_duration(text).ok_or_else(|| refuse("is not a rotation like 12h, 1d, 1w or 2w"))?;
    if exact < SCHEDULE_MIN_ROTATION {
        return Err(refuse("is shorter than the shortest rotation, 1h"));
    }
    SignedDuration::try_from(exact)
        .map(Rotation::Exact)
        .map_err(|_| refuse("is too long"))
}

fn parse_weekday(day: &str) -> Option<Weekday> {
    Some(match day {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// Exactly `HH:MM`, 00:00 to 23:59: the form the console's time inputs send.
fn parse_clock(field: &str, text: &str) -> Result<Time, FieldError> {
    let refuse = || FieldError::new(field, format!("{text:?} is not a time like 09:00"));
    let (hour, minute) = text.split_once(':').ok_or_else(refuse)?;
    let two_digits = |part: &str| {
        (part.len() == 2 && part.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| part.parse::<i8>().ok())
            .flatten()
    };
    let (hour, minute) = two_digits(hour)
        .zip(two_digits(minute))
        .ok_or_else(refuse)?;
    Time::new(hour, minute, 0, 0).map_err(|_| refuse())
}

#[cfg(test)]
mod tests;
