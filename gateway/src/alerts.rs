//! The alert state machine (SPEC §6), as pure functions over store records: an `open` for a key
//! with an open or acknowledged alert is appended to it; otherwise it opens a new alert; a
//! `close` closes the open one or is `Close Unmatched`. Operators acknowledge and close by hand.
//!
//! A replay runs a record through the plugins again, so the same inbound record can bring the
//! same `open` twice. One record counts once in an alert's history: an `open` from a record the
//! open alert already holds changes nothing (`Already Applied`, no notification). Once that
//! alert is closed, a replayed `open` opens a new alert, as a new trigger does in PagerDuty or
//! AlertOps: a closed alert is never reopened.

use crate::runtime::Alert;
use crate::store::{AlertRecord, AlertState};

/// What an action did to alert state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    /// A new alert (destinations are notified).
    Opened(AlertRecord),
    /// Appended to the open alert: count + 1, no notification.
    Appended(AlertRecord),
    /// The open alert already holds this inbound record (a replay): nothing changes, no
    /// notification.
    AlreadyApplied(AlertRecord),
    /// The open alert closed (destinations are notified).
    Closed(AlertRecord),
    /// A close with no open alert for the key: nothing changes.
    CloseUnmatched,
}

impl AlertChange {
    /// The inbound-log wording (AlertOps').
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Opened(_) => "Mapped Opened",
            Self::Appended(_) => "Mapped Appended",
            Self::AlreadyApplied(_) => "Already Applied",
            Self::Closed(_) => "Mapped Closed",
            Self::CloseUnmatched => "Close Unmatched",
        }
    }

    /// The alert changed, if any.
    pub fn record(&self) -> Option<&AlertRecord> {
        match self {
            Self::Opened(record)
            | Self::Appended(record)
            | Self::AlreadyApplied(record)
            | Self::Closed(record) => Some(record),
            Self::CloseUnmatched => None,
        }
    }
}

/// Applies `open(alert)` from inbound record `inbound_id` at `now` to the endpoint's current
/// open alert with that key (`existing`). A new alert has id 0 until the store assigns one. A
/// record already in the open alert's history (a replay) changes nothing.
pub fn apply_open(
    existing: Option<AlertRecord>,
    endpoint: &str,
    alert: Alert,
    inbound_id: u64,
    now: u64,
) -> AlertChange {
    match existing {
        Some(record)
            if record.state != AlertState::Closed && record.history.contains(&inbound_id) =>
        {
            AlertChange::AlreadyApplied(record)
        }
        Some(mut record) if record.state != AlertState::Closed => {
            record.count += 1;
            record.last_seen_at = now;
            record.history.push(inbound_id);
            record.alert = alert;
            AlertChange::Appended(record)
        }
        _ => AlertChange::Opened(AlertRecord {
            id: 0,
            endpoint: endpoint.to_string(),
            key: alert.key.clone(),
            state: AlertState::Open,
            alert,
            count: 1,
            opened_at: now,
            last_seen_at: now,
            acknowledged_at: None,
            closed_at: None,
            closed_by: None,
            acknowledged_by: None,
            escalation: None,
            history: vec![inbound_id],
            revision: 0,
        }),
    }
}

/// Applies `close(key)` from inbound record `inbound_id` at `now`.
pub fn apply_close(existing: Option<AlertRecord>, inbound_id: u64, now: u64) -> AlertChange {
    match existing {
        Some(mut record) if record.state != AlertState::Closed => {
            record.state = AlertState::Closed;
            record.closed_at = Some(now);
            record.closed_by = Some("source".into());
            record.last_seen_at = now;
            record.history.push(inbound_id);
            stop_escalation(&mut record, "closed");
            AlertChange::Closed(record)
        }
        _ => AlertChange::CloseUnmatched,
    }
}

/// Why an operator action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertActionError {
    /// Acknowledging or closing a closed alert.
    #[error("the alert is closed")]
    AlreadyClosed,
}

/// Someone acknowledges an open alert: `operator` (the admin token), or a user by id.
/// Acknowledging twice is harmless and keeps the first who did. Its escalation stops in the
/// same write, so no step fires after it.
pub fn acknowledge(
    mut record: AlertRecord,
    now: u64,
    by: &str,
) -> Result<AlertRecord, AlertActionError> {
    match record.state {
        AlertState::Closed => Err(AlertActionError::AlreadyClosed),
        AlertState::Acknowledged => Ok(record),
        AlertState::Open => {
            record.state = AlertState::Acknowledged;
            record.acknowledged_at = Some(now);
            record.acknowledged_by = Some(by.to_string());
            stop_escalation(&mut record, "acknowledged");
            Ok(record)
        }
    }
}

/// Someone closes an alert by hand: `operator`, a user by id, or `timeout` (the endpoint's
/// quiet period passed).
pub fn close_by(
    mut record: AlertRecord,
    now: u64,
    by: &str,
) -> Result<AlertRecord, AlertActionError> {
    if record.state == AlertState::Closed {
        return Err(AlertActionError::AlreadyClosed);
    }
    record.state = AlertState::Closed;
    record.closed_at = Some(now);
    record.closed_by = Some(by.to_string());
    stop_escalation(&mut record, "closed");
    Ok(record)
}

/// Stops an alert's escalation, if one is running: no step is due any more.
fn stop_escalation(record: &mut AlertRecord, reason: &str) {
    if let Some(escalation) = &mut record.escalation
        && escalation.next_due_at.is_some()
    {
        escalation.next_due_at = None;
        escalation.stopped = Some(reason.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str) -> Alert {
        Alert {
            key: key.into(),
            title: "Pipeline #4 for main failed — acme/widgets".into(),
            source_status: "FAILED".into(),
            url: None,
            description: None,
            commit_hash: None,
            commit_message: None,
            actor: None,
            labels: Vec::new(),
            severity: Default::default(),
        }
    }

    #[test]
    fn open_then_repeat_then_close_then_reopen() {
        let opened = apply_open(None, "ep", alert("k"), 1, 100);
        assert_eq!(opened.outcome(), "Mapped Opened");
        let AlertChange::Opened(record) = opened else {
            unreachable!()
        };
        assert_eq!((record.count, record.state), (1, AlertState::Open));

        let appended = apply_open(Some(record), "ep", alert("k"), 2, 200);
        assert_eq!(appended.outcome(), "Mapped Appended");
        let AlertChange::Appended(record) = appended else {
            unreachable!()
        };
        assert_eq!(
            (record.count, record.last_seen_at, record.opened_at),
            (2, 200, 100)
        );
        assert_eq!(record.history, [1, 2]);

        let closed = apply_close(Some(record), 3, 300);
        assert_eq!(closed.outcome(), "Mapped Closed");
        let AlertChange::Closed(record) = closed else {
            unreachable!()
        };
        assert_eq!(
            (record.state, record.closed_at),
            (AlertState::Closed, Some(300))
        );

        assert_eq!(
            apply_close(Some(record.clone()), 4, 400),
            AlertChange::CloseUnmatched
        );
        assert_eq!(apply_close(None, 4, 400), AlertChange::CloseUnmatched);
        let reopened = apply_open(Some(record), "ep", alert("k"), 5, 500);
        assert!(matches!(reopened, AlertChange::Opened(ref r) if r.count == 1 && r.history == [5]));
    }

    #[test]
    fn a_replayed_open_counts_once_while_its_alert_is_open() {
        let AlertChange::Opened(record) = apply_open(None, "ep", alert("k"), 1, 100) else {
            unreachable!()
        };
        let AlertChange::Appended(record) = apply_open(Some(record), "ep", alert("k"), 2, 200)
        else {
            unreachable!()
        };
        for replayed in [1, 2] {
            let change = apply_open(Some(record.clone()), "ep", alert("k"), replayed, 300);
            assert_eq!(change.outcome(), "Already Applied");
            assert_eq!(
                change,
                AlertChange::AlreadyApplied(record.clone()),
                "a replay changes nothing"
            );
        }
        let acknowledged = acknowledge(record, 350, "operator").unwrap();
        assert_eq!(
            apply_open(Some(acknowledged.clone()), "ep", alert("k"), 1, 400),
            AlertChange::AlreadyApplied(acknowledged),
            "nor while acknowledged"
        );
    }

    #[test]
    fn a_replayed_open_after_its_alert_closed_opens_a_new_one() {
        let AlertChange::Opened(record) = apply_open(None, "ep", alert("k"), 1, 100) else {
            unreachable!()
        };
        let AlertChange::Closed(closed) = apply_close(Some(record), 2, 200) else {
            unreachable!()
        };
        let AlertChange::Opened(reopened) = apply_open(Some(closed), "ep", alert("k"), 1, 300)
        else {
            panic!("a replay after the close opens a new alert");
        };
        assert_eq!(
            (reopened.count, reopened.history, reopened.opened_at),
            (1, vec![1], 300)
        );
    }

    #[test]
    fn acknowledged_alerts_still_append_and_close() {
        let AlertChange::Opened(record) = apply_open(None, "ep", alert("k"), 1, 100) else {
            unreachable!()
        };
        let acknowledged = acknowledge(record, 150, "operator").unwrap();
        assert_eq!(acknowledged.state, AlertState::Acknowledged);
        let AlertChange::Appended(record) =
            apply_open(Some(acknowledged), "ep", alert("k"), 2, 200)
        else {
            panic!("an acknowledged alert is appended to");
        };
        assert_eq!(record.state, AlertState::Acknowledged);
        let closed = close_by(record, 300, "operator").unwrap();
        assert_eq!(closed.closed_by.as_deref(), Some("operator"));
        assert_eq!(
            acknowledge(closed.clone(), 400, "operator"),
            Err(AlertActionError::AlreadyClosed)
        );
        assert_eq!(
            close_by(closed, 400, "operator"),
            Err(AlertActionError::AlreadyClosed)
        );
    }
}
