//! Escalation policies (SPEC §12) and when their steps fire.
//!
//! Timing, as PagerDuty's "escalates after N minutes": a step's `delay` is how long its targets
//! have to acknowledge before the next step is paged. Step 1 fires when the alert opens; each
//! next step fires its *previous* step's delay after that step fired; after the last step, the
//! policy starts again at step 1 the last step's delay later, `repeat` times. So every delay is
//! used, and a one-step policy with `delay: 5m, repeat: 2` pages at 0, 5 and 10 minutes.
//!
//! The ladder is a function of the last firing only ([`EscalationLadder::next_firing`]), so a
//! durable timer stores that one firing and resumes after a restart with nothing skipped or
//! repeated.

use super::FieldError;
use super::targets::{Target, TargetKind};
use crate::config::{ESCALATION_MAX_REPEAT, ESCALATION_MIN_DELAY, parse_duration};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// An escalation policy `ep_<n>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Shown in the console.
    pub name: String,
    /// Paged in order until the alert is acknowledged or closed.
    pub steps: Vec<EscalationStep>,
    /// How many times the policy starts again after its last step: 0 to 9, 0 when absent.
    #[serde(default)]
    pub repeat: u8,
}

/// One step: whom to page, and how long they have before the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// A duration like the retry schedule's (`30s`, `5m`, `1h`), at least `1s`.
    pub delay: String,
    /// Users, teams and schedules; at least one.
    pub targets: Vec<Target>,
}

/// One page of a policy: step `step` (0-based) in round `round` (0 is the first pass, 1 the
/// first repeat), due at `due_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firing {
    /// Index into the policy's steps.
    pub step: usize,
    /// 0 to `repeat`.
    pub round: u8,
    /// When it is due.
    pub due_at: Timestamp,
}

/// A policy's timing, parsed: one delay per step and the repeat count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationLadder {
    delays: Vec<SignedDuration>,
    repeat: u8,
}

impl EscalationPolicy {
    /// Checks every field, `known_target` saying which user, team and schedule ids exist; the
    /// error names the first bad field by its JSON path (`steps[1].targets[0].id`).
    pub fn validate(
        &self,
        known_target: impl Fn(TargetKind, &str) -> bool,
    ) -> Result<(), FieldError> {
        self.ladder()?;
        for (index, step) in self.steps.iter().enumerate() {
            for (slot, target) in step.targets.iter().enumerate() {
                if !known_target(target.kind, &target.id) {
                    return Err(FieldError::new(
                        format!("steps[{index}].targets[{slot}].id"),
                        format!("no {} {:?}", target.kind.as_str(), target.id),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The policy's timing; the error names the first field that cannot be used (target ids
    /// are not looked up: that is [`EscalationPolicy::validate`]'s).
    pub fn ladder(&self) -> Result<EscalationLadder, FieldError> {
        if self.name.trim().is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        if self.steps.is_empty() {
            return Err(FieldError::new("steps", "a policy needs at least one step"));
        }
        if self.repeat > ESCALATION_MAX_REPEAT {
            return Err(FieldError::new(
                "repeat",
                format!("{} is more than {ESCALATION_MAX_REPEAT}", self.repeat),
            ));
        }
        let mut delays = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let field = |name: &str| format!("steps[{index}].{name}");
            let delay = parse_duration(&step.delay).ok_or_else(|| {
                FieldError::new(
                    field("delay"),
                    format!("{:?} is not a duration like 30s, 5m or 1h", step.delay),
                )
            })?;
            if delay < ESCALATION_MIN_DELAY {
                return Err(FieldError::new(
                    field("delay"),
                    format!("{:?} is shorter than 1s", step.delay),
                ));
            }
            let delay = SignedDuration::try_from(delay).map_err(|_| {
                FieldError::new(field("delay"), format!("{:?} is too long", step.delay))
            })?;
            if step.targets.is_empty() {
                return Err(FieldError::new(
                    field("targets"),
                    "a step needs at least one target",
                ));
            }
            delays.push(delay);
        }
        Ok(EscalationLadder {
            delays,
            repeat: self.repeat,
        })
    }
}

impl EscalationLadder {
    /// The firing after `after` for an alert opened at `opened_at`: step 1 of round 0 at
    /// `opened_at` when nothing has fired, `None` when the ladder is done (or `after` names a
    /// step or round this policy does not have: it was edited since, so escalation stops).
    ///
    /// The next due time counts from `after.due_at`. A timer that stores the firing with
    /// `due_at` set to when the page actually went out makes each delay count from the real
    /// page, so a gateway that was down pages the overdue step at start and the rest of the
    /// ladder at its usual pace, rather than all of it at once.
    pub fn next_firing(&self, opened_at: Timestamp, after: Option<&Firing>) -> Option<Firing> {
        let Some(after) = after else {
            return Some(Firing {
                step: 0,
                round: 0,
                due_at: opened_at,
            });
        };
        let delay = *self.delays.get(after.step)?;
        if after.round > self.repeat {
            return None;
        }
        let due_at = after.due_at.checked_add(delay).unwrap_or(Timestamp::MAX);
        if after.step + 1 < self.delays.len() {
            Some(Firing {
                step: after.step + 1,
                round: after.round,
                due_at,
            })
        } else if after.round < self.repeat {
            Some(Firing {
                step: 0,
                round: after.round + 1,
                due_at,
            })
        } else {
            None
        }
    }

    /// Every firing, in order, if nobody acknowledges.
    pub fn firings(&self, opened_at: Timestamp) -> Vec<Firing> {
        let mut firings: Vec<Firing> = Vec::new();
        while let Some(next) = self.next_firing(opened_at, firings.last()) {
            firings.push(next);
        }
        firings
    }
}

#[cfg(test)]
mod tests;
