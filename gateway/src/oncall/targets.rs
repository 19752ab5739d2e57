//! Whom an escalation step's targets name at an instant: a user is itself, a team its members,
//! a schedule whoever is on call. The records come through [`TargetDirectory`], which the
//! store implements; the resolution is pure.

use super::rota::Rota;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What an escalation step pages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// `user`, `team` or `schedule`.
    #[serde(rename = "type")]
    pub kind: TargetKind,
    /// `us_<n>`, `tm_<n>` or `sc_<n>`.
    pub id: String,
}

/// The kinds of [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// One user.
    User,
    /// Every member of a team.
    Team,
    /// Whoever a schedule has on call.
    Schedule,
}

impl TargetKind {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Team => "team",
            Self::Schedule => "schedule",
        }
    }
}

/// The people records resolution reads. `None` / `false` for ids that do not exist (any more).
pub trait TargetDirectory {
    /// Whether the user exists.
    fn has_user(&self, id: &str) -> bool;
    /// A team's members, in their order.
    fn team_members(&self, id: &str) -> Option<Vec<String>>;
    /// A schedule, parsed ([`super::Schedule::rota`]).
    fn schedule(&self, id: &str) -> Option<Rota>;
}

/// The users `targets` name at `at`, each once, in the order first named. Ids that no longer
/// exist (a deleted user still listed in a team, a deleted team or schedule) name nobody: a
/// page to a user that is gone has nowhere to go. An empty answer means the step pages nobody;
/// the caller records that.
pub fn resolve_targets(
    targets: &[Target],
    at: Timestamp,
    directory: &impl TargetDirectory,
) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut users = Vec::new();
    for target in targets {
        let named = match target.kind {
            TargetKind::User => vec![target.id.clone()],
            TargetKind::Team => directory.team_members(&target.id).unwrap_or_default(),
            TargetKind::Schedule => (directory.schedule(&target.id))
                .map(|rota| rota.on_call_at(at).users)
                .unwrap_or_default(),
        };
        for user in named {
            if directory.has_user(&user) && seen.insert(user.clone()) {
                users.push(user);
            }
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oncall::Schedule;
    use std::collections::HashMap;

    struct Directory {
        users: Vec<&'static str>,
        teams: HashMap<&'static str, Vec<String>>,
        schedules: HashMap<&'static str, Schedule>,
    }

    impl TargetDirectory for Directory {
        fn has_user(&self, id: &str) -> bool {
            self.users.contains(&id)
        }
        fn team_members(&self, id: &str) -> Option<Vec<String>> {
            self.teams.get(id).cloned()
        }
        fn schedule(&self, id: &str) -> Option<Rota> {
            self.schedules
                .get(id)
                .map(|schedule| schedule.rota().unwrap())
        }
    }

    fn target(kind: TargetKind, id: &str) -> Target {
        Target {
            kind,
            id: id.into(),
        }
    }

    fn directory() -> Directory {
        let schedule: Schedule = serde_json::from_value(serde_json::json!({
            "name": "primary",
            "layers": [{"name": "l", "start": "2024-01-01T00:00:00Z", "rotation": "1d",
                        "users": ["us_2", "us_3"]}],
        }))
        .unwrap();
        Directory {
            users: vec!["us_1", "us_2", "us_3", "us_4"],
            teams: HashMap::from([("tm_1", vec!["us_4".into(), "us_gone".into(), "us_1".into()])]),
            schedules: HashMap::from([("sc_1", schedule)]),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn each_kind_resolves_and_users_come_once_in_first_named_order() {
        let targets = [
            target(TargetKind::Schedule, "sc_1"),
            target(TargetKind::User, "us_1"),
            target(TargetKind::Team, "tm_1"),
            target(TargetKind::User, "us_2"),
        ];
        // 2024-01-01 is us_2's day, 2024-01-02 us_3's.
        assert_eq!(
            resolve_targets(&targets, at("2024-01-01T12:00:00Z"), &directory()),
            ["us_2", "us_1", "us_4"]
        );
        assert_eq!(
            resolve_targets(&targets, at("2024-01-02T12:00:00Z"), &directory()),
            ["us_3", "us_1", "us_4", "us_2"]
        );
    }

    #[test]
    fn missing_records_name_nobody() {
        let targets = [
            target(TargetKind::User, "us_gone"),
            target(TargetKind::Team, "tm_gone"),
            target(TargetKind::Schedule, "sc_gone"),
        ];
        assert!(resolve_targets(&targets, at("2024-01-01T00:00:00Z"), &directory()).is_empty());
        // Before the layer starts the schedule has nobody on call.
        let early = [target(TargetKind::Schedule, "sc_1")];
        assert!(resolve_targets(&early, at("2023-12-31T23:59:59Z"), &directory()).is_empty());
    }

    #[test]
    fn targets_read_and_write_the_specs_json() {
        let json = serde_json::json!({"type": "schedule", "id": "sc_1"});
        let parsed: Target = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(parsed, target(TargetKind::Schedule, "sc_1"));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
        let unknown = serde_json::json!({"type": "channel", "id": "x"});
        assert!(serde_json::from_value::<Target>(unknown).is_err());
    }
}
