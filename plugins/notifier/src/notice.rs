//! What every kind says about an alert notice alike: which change it reports, the title it
//! gets, and the line naming who acknowledged it or which escalation step paged.

use hookgate_plugin_sdk::prelude::*;

/// A notification as what it is about: a message, or a change of an alert.
pub(crate) enum About<'a> {
    Message(&'a Message),
    Alert(Change, &'a AlertNotice),
}

impl<'a> About<'a> {
    pub(crate) fn of(notification: &'a Notification) -> Self {
        match notification {
            Notification::Message(message) => About::Message(message),
            Notification::AlertOpened(notice) => About::Alert(Change::Opened, notice),
            Notification::AlertClosed(notice) => About::Alert(Change::Closed, notice),
            Notification::AlertAcknowledged(notice) => About::Alert(Change::Acknowledged, notice),
            Notification::AlertEscalated(notice) => About::Alert(Change::Escalated, notice),
        }
    }
}

/// The change of an alert a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Opened,
    Closed,
    Acknowledged,
    Escalated,
}

impl Change {
    /// The alert's title as this notice shows it: as it is when it opened, else prefixed
    /// `Resolved: `, `Acknowledged: ` or `Escalated: `.
    pub(crate) fn title(self, alert: &Alert) -> String {
        match self {
            Change::Opened => alert.title.clone(),
            Change::Closed => format!("Resolved: {}", alert.title),
            Change::Acknowledged => format!("Acknowledged: {}", alert.title),
            Change::Escalated => format!("Escalated: {}", alert.title),
        }
    }

    /// What happened, for the notices that say more than the title: `Acknowledged by Ada`,
    /// `Escalated: step 2`.
    pub(crate) fn line(self, notice: &AlertNotice) -> Option<String> {
        match self {
            Change::Opened | Change::Closed => None,
            Change::Acknowledged => Some(match notice.acknowledged_by.as_deref() {
                Some(who) if !who.is_empty() => format!("Acknowledged by {who}"),
                _ => "Acknowledged".to_string(),
            }),
            Change::Escalated => Some(match notice.escalation_step {
                Some(step) => format!("Escalated: step {step}"),
                None => "Escalated".to_string(),
            }),
        }
    }

    /// When it happened, as far as the notice says: an acknowledgement or an escalation
    /// carries no time of its own, and is shown without one rather than with the opening's.
    pub(crate) fn at(self, notice: &AlertNotice) -> Option<u64> {
        match self {
            Change::Opened => Some(notice.opened_at),
            Change::Closed => Some(notice.closed_at.unwrap_or(notice.opened_at)),
            Change::Acknowledged | Change::Escalated => None,
        }
    }
}

/// The notice's acknowledge link, when it has one worth showing.
pub(crate) fn ack_url(notice: &AlertNotice) -> Option<&str> {
    notice.ack_url.as_deref().filter(|url| !url.is_empty())
}
