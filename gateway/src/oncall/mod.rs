//! People and on-call (SPEC §12), computed: who is on call at an instant, the shifts of a
//! schedule, when each step of an escalation policy fires, which contact methods a page uses
//! and whom a step's targets name. No store, no clock, no I/O: every function takes the instant
//! it answers for, so the escalation timers, the API and the tests all ask the same questions.
//!
//! The records are kept as the operator wrote them (text times, text durations) so that they
//! round-trip through the API unchanged; `validate` checks them, naming the JSON path of the
//! first bad field, and [`schedule::Schedule::rota`] / [`policy::EscalationPolicy::ladder`]
//! turn them into the parsed forms that answer questions.
//!
//! Calendars and time zones are jiff's, with the IANA database bundled into the binary (see the
//! workspace `Cargo.toml`), so a container without tzdata knows every zone.

pub mod people;
pub mod policy;
pub mod rota;
pub mod schedule;
pub mod targets;

pub use people::{ContactKind, ContactMethod, NotificationRule, Password, Role, Team, User};
pub use policy::{EscalationLadder, EscalationPolicy, EscalationStep, Firing};
pub use rota::{OnCall, Rota, Shift};
pub use schedule::{Layer, Override, Restriction, Schedule};
pub use targets::{Target, TargetDirectory, TargetKind, resolve_targets};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A field of a user, team, schedule or policy that cannot be accepted: the API answers 422
/// with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The JSON path of the field, e.g. `layers[0].rotation`.
    pub field: String,
    /// What is wrong, naming the bad value.
    pub reason: String,
}

impl FieldError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The zone an IANA name such as `Europe/Berlin` names. `field` is where the name was found.
pub(crate) fn parse_time_zone(field: &str, name: &str) -> Result<TimeZone, FieldError> {
    // jiff also reads POSIX TZ strings and fixed offsets only through other constructors;
    // `get` knows the database's names and nothing else, which is what "IANA" promises.
    TimeZone::get(name)
        .map_err(|_| FieldError::new(field, format!("{name:?} is not an IANA time zone")))
}

/// An instant written as RFC 3339 (`2024-03-04T09:00:00-05:00`, `…Z`): an offset is required,
/// so the instant never depends on the server's zone.
pub(crate) fn parse_instant(field: &str, text: &str) -> Result<Timestamp, FieldError> {
    text.parse::<Timestamp>().map_err(|_| {
        FieldError::new(
            field,
            format!("{text:?} is not an RFC 3339 time with an offset, like 2024-03-04T09:00:00Z"),
        )
    })
}

/// The default time zone of users and schedules.
pub(crate) fn utc() -> String {
    "UTC".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_database_is_the_only_one_read() {
        // The workspace's jiff features decide this (see Cargo.toml): if a dependency turns on
        // `tzdb-zoneinfo`, answers start to depend on the machine's tzdata. (A Debug string,
        // so a jiff upgrade may change its wording; the decision is what this guards.)
        assert_eq!(
            format!("{:?}", jiff::tz::db()),
            "TimeZoneDatabase(Bundled(available))"
        );
        for name in ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"] {
            assert!(parse_time_zone("time_zone", name).is_ok(), "{name}");
        }
        let error = parse_time_zone("time_zone", "Mars/Olympus").unwrap_err();
        assert_eq!(
            error.to_string(),
            "time_zone: \"Mars/Olympus\" is not an IANA time zone"
        );
    }

    #[test]
    fn instants_need_an_offset() {
        assert_eq!(
            parse_instant("start", "2024-03-04T09:00:00-05:00").unwrap(),
            "2024-03-04T14:00:00Z".parse::<Timestamp>().unwrap()
        );
        for text in ["2024-03-04T09:00:00", "2024-03-04", "yesterday", ""] {
            let error = parse_instant("layers[0].start", text).unwrap_err();
            assert_eq!(error.field, "layers[0].start");
            assert!(error.reason.contains(&format!("{text:?}")), "{error}");
        }
    }
}
