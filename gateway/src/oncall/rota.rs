//! A parsed schedule and the answers it gives: who is on call at an instant, until when, and
//! the final shifts over a range.
//!
//! Each layer's coverage is computed over the range asked (its rotation's turns, intersected
//! with its restriction windows); then the range is cut at every edge of every layer's and
//! override's coverage, and each piece goes to the last override covering it, else to the last
//! layer covering it. All calendar work (adding days in a zone, local times to instants) is
//! jiff's.

use crate::config::ONCALL_LOOKAHEAD;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, ZonedDateTime};

/// A schedule ready to answer ([`super::Schedule::rota`] builds it).
#[derive(Debug, Clone)]
pub struct Rota {
    layers: Vec<RotaLayer>,
    overrides: Vec<OverrideSpan>,
}

/// Who is on call at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    /// The user on call, or none when no layer or override covers the instant. (A list for the
    /// API's shape; with "later covers earlier" there is at most one.)
    pub users: Vec<String>,
    /// When the answer next changes, at most [`ONCALL_LOOKAHEAD`] ahead.
    pub until: Timestamp,
}

/// A stretch of the final timeline with one user on call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// User id.
    pub user: String,
    /// Inclusive.
    pub start: Timestamp,
    /// Exclusive.
    pub end: Timestamp,
    /// The layer index it comes from; `None` for an override.
    pub layer: Option<usize>,
}

/// A layer, parsed.
#[derive(Debug, Clone)]
pub(super) struct RotaLayer {
    /// The first handoff, in the schedule's zone (which calendar-day rotations count in).
    pub start: ZonedDateTime,
    pub rotation: Rotation,
    pub users: Vec<String>,
    /// Empty: the layer covers all the time.
    pub windows: Vec<Window>,
}

/// How long each user's turn is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rotation {
    /// Calendar days in the schedule's zone: 23, 24 or 25 hours around daylight saving.
    CalendarDays(i64),
    /// An exact length.
    Exact(SignedDuration),
}

/// A restriction, parsed: local `from` to `to` (the next day when `to` < `from`), starting on
/// each of `days`.
#[derive(Debug, Clone)]
pub(super) struct Window {
    pub days: Vec<Weekday>,
    pub from: Time,
    pub to: Time,
}

/// An override, parsed.
#[derive(Debug, Clone)]
pub(super) struct OverrideSpan {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Someone covering `[start, end)`: one piece of a layer's or an override's coverage.
#[derive(Debug, Clone, Copy)]
struct Cover<'a> {
    user: &'a str,
    start: Timestamp,
    end: Timestamp,
}

impl Rota {
    pub(super) fn new(layers: Vec<RotaLayer>, overrides: Vec<OverrideSpan>) -> Self {
        Self { layers, overrides }
    }

    /// Who is on call at `at`, and until when.
    pub fn on_call_at(&self, at: Timestamp) -> OnCall {
        let horizon = later(
            at,
            SignedDuration::try_from(ONCALL_LOOKAHEAD).unwrap_or_default(),
        );
        // Look a week ahead first and further only when nothing changes in it: most
        // schedules change within days, and a long range costs a turn per handoff.
        let mut ahead = SignedDuration::from_hours(7 * 24);
        loop {
            let end = later(at, ahead).min(horizon);
            let shifts = self.shifts(at, end);
            let now = shifts.first().filter(|shift| shift.start == at);
            let until = match now {
                // The same user may go on in another layer or an override: that is no change.
                Some(first) => {
                    let mut until = first.end;
                    for shift in &shifts[1..] {
                        if shift.start != until || shift.user != first.user {
                            break;
                        }
                        until = shift.end;
                    }
                    until
                }
                None => shifts.first().map_or(end, |shift| shift.start),
            };
            if until < end || end >= horizon {
                let users = now.map(|shift| shift.user.clone()).into_iter().collect();
                return OnCall { users, until };
            }
            ahead = ahead.checked_mul(4).unwrap_or(SignedDuration::MAX);
        }
    }

    /// The final timeline over `[from, to)`: who is on call, piece by piece, with adjacent
    /// pieces of the same user from the same layer (or both overrides) merged. Times nobody
    /// covers have no shift.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Vec<Shift> {
        if from >= to {
            return Vec::new();
        }
        let layers: Vec<Vec<Cover>> = (self.layers.iter())
            .map(|layer| layer.coverage(from, to))
            .collect();
        let overrides: Vec<Cover> = (self.overrides.iter())
            .filter(|cover| cover.start < to && cover.end > from)
            .map(|cover| Cover {
                user: &cover.user,
                start: cover.start.max(from),
                end: cover.end.min(to),
            })
            .collect();
        let mut cuts = vec![from, to];
        for cover in layers.iter().flatten().chain(&overrides) {
            cuts.extend([cover.start, cover.end]);
        }
        cuts.sort_unstable();
        cuts.dedup();

        let mut shifts: Vec<Shift> = Vec::new();
        for piece in cuts.windows(2) {
            let (start, end) = (piece[0], piece[1]);
            // No edge falls inside a piece, so whoever covers its start covers all of it.
            let by_override = (overrides.iter().rev())
                .find(|cover| cover.start <= start && start < cover.end)
                .map(|cover| (cover.user, None));
            let owner = by_override.or_else(|| {
                (layers.iter().enumerate().rev()).find_map(|(index, covers)| {
                    cover_at(covers, start).map(|c| (c.user, Some(index)))
                })
            });
            let Some((user, layer)) = owner else { continue };
            match shifts.last_mut() {
                Some(last) if last.end == start && last.user == user && last.layer == layer => {
                    last.end = end;
                }
                _ => shifts.push(Shift {
                    user: user.to_owned(),
                    start,
                    end,
                    layer,
                }),
            }
        }
        shifts
    }
}

impl RotaLayer {
    /// Who this layer has on call over `[from, to)`, in time order, without overlaps.
    fn coverage(&self, from: Timestamp, to: Timestamp) -> Vec<Cover<'_>> {
        let turns = self.turns(from, to);
        if self.windows.is_empty() {
            return turns;
        }
        let windows = self.open_windows(from, to);
        let mut covers = Vec::new();
        let mut first_window = 0;
        for turn in turns {
            while windows
                .get(first_window)
                .is_some_and(|&(_, end)| end <= turn.start)
            {
                first_window += 1;
            }
            for &(start, end) in windows[first_window..].iter() {
                if start >= turn.end {
                    break;
                }
                let (start, end) = (start.max(turn.start), end.min(turn.end));
                if start < end {
                    covers.push(Cover { start, end, ..turn });
                }
            }
        }
        covers
    }

    /// The rotation's turns meeting `[from, to)`, clipped to it.
    fn turns(&self, from: Timestamp, to: Timestamp) -> Vec<Cover<'_>> {
        let mut turns = Vec::new();
        if self.users.is_empty() {
            return turns;
        }
        let Some(mut turn) = self.turn_at(from.max(self.start.timestamp())) else {
            return turns;
        };
        let Some(mut begin) = self.handoff(turn) else {
            return turns;
        };
        while begin < to {
            // Past jiff's calendar (9999 AD) the last turn lasts for ever.
            let end = self.handoff(turn + 1).unwrap_or(Timestamp::MAX);
            if begin < end {
                let slot = turn.rem_euclid(self.users.len() as i64) as usize;
                turns.push(Cover {
                    user: &self.users[slot],
                    start: begin.max(from),
                    end: end.min(to),
                });
            }
            if end == Timestamp::MAX {
                break;
            }
            (begin, turn) = (end, turn + 1);
        }
        turns
    }

    /// The instant of the `turn`-th handoff (0 is the layer's start); `None` past the calendar.
    fn handoff(&self, turn: i64) -> Option<Timestamp> {
        match self.rotation {
            Rotation::CalendarDays(days) => {
                // From the start each time, not from the previous handoff: a handoff moved by
                // a gap (02:30 on a spring-forward day) does not move the ones after it.
                let span = Span::new().try_days(turn.checked_mul(days)?).ok()?;
                Some(self.start.checked_add(span).ok()?.timestamp())
            }
            Rotation::Exact(length) => {
                let offset = length.as_nanos().checked_mul(i128::from(turn))?;
                let nanos = self.start.timestamp().as_nanosecond().checked_add(offset)?;
                Timestamp::from_nanosecond(nanos).ok()
            }
        }
    }

    /// The turn under way at `at` (at or after the start).
    fn turn_at(&self, at: Timestamp) -> Option<i64> {
        let nominal = match self.rotation {
            Rotation::CalendarDays(days) => SignedDuration::from_secs(days * 86_400),
            Rotation::Exact(length) => length,
        };
        let elapsed = self.start.timestamp().duration_until(at);
        let mut turn = i64::try_from(elapsed.as_nanos() / nominal.as_nanos()).ok()?;
        // Calendar days are not all 24 hours long, so the guess can be a turn or two off.
        while turn > 0 && self.handoff(turn).is_none_or(|handoff| handoff > at) {
            turn -= 1;
        }
        while self.handoff(turn + 1).is_some_and(|handoff| handoff <= at) {
            turn += 1;
        }
        Some(turn)
    }

    /// The restriction windows meeting `[from, to)`, clipped to it, merged and in order.
    fn open_windows(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let zone = self.start.time_zone();
        let local_date = |at: Timestamp| at.to_zoned_datetime(zone.clone()).date();
        // A window that wraps past midnight may have started the day before `from`.
        let first = local_date(from);
        let mut day = first.yesterday().unwrap_or(first);
        let last = local_date(to);
        let mut windows = Vec::new();
        loop {
            for window in self
                .windows
                .iter()
                .filter(|w| w.days.contains(&day.weekday()))
            {
                let end_day = if window.to > window.from {
                    Ok(day)
                } else {
                    day.tomorrow()
                };
                let start = local_instant(zone, day, window.from);
                let end = end_day
                    .ok()
                    .and_then(|end_day| local_instant(zone, end_day, window.to));
                if let (Some(start), Some(end)) = (start, end)
                    && start < to
                    && end > from
                {
                    windows.push((start.max(from), end.min(to)));
                }
            }
            match day.tomorrow() {
                Ok(next) if day < last => day = next,
                _ => break,
            }
        }
        windows.sort_unstable();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(windows.len());
        for (start, end) in windows {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// The instant a local wall-clock time names in `zone`: after the gap when a spring-forward
/// skips it, the first of the two when a fall-back repeats it (jiff's "compatible").
fn local_instant(zone: &TimeZone, day: Date, time: Time) -> Option<Timestamp> {
    let zoned = zone.to_zoned_datetime(day.to_datetime(time)).ok()?;
    Some(zoned.timestamp())
}

/// The cover holding `at`, from covers in time order without overlaps.
fn cover_at<'a>(covers: &[Cover<'a>], at: Timestamp) -> Option<Cover<'a>> {
    let after = covers.partition_point(|cover| cover.start <= at);
    let cover = covers.get(after.checked_sub(1)?)?;
    (at < cover.end).then_some(*cover)
}

/// `at + by`, or the last instant jiff knows.
fn later(at: Timestamp, by: SignedDuration) -> Timestamp {
    at.checked_add(by).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests;
