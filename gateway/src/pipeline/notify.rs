//! Shaping one notification for an endpoint's destinations into deliveries, with ids reserved
//! first: what processing does for each alert change and message, and what operator actions
//! (an acknowledgement, a destination's Send test) do outside processing.

use super::evaluate::shape;
use crate::config::TwilioSettings;
use crate::ids::{format_delivery_id, parse_id};
use crate::runtime::{Notification, NotifierOutput, PluginKind, PluginSet, RuntimeError};
use crate::store::{
    DeliveryRecord, DeliveryRequest, DeliveryStatus, EmailRequest, EndpointRecord, IdKind,
    InboundRecord, Store, StoreError, now_ms,
};

/// A destination whose notifier could not shape the notification.
#[derive(Debug)]
pub struct ShapeFailure {
    /// The notifier plugin.
    pub notifier: String,
    /// Its destination's index.
    pub destination: usize,
    /// What went wrong.
    pub error: RuntimeError,
}

/// The deliveries of `notification` to the destinations of `endpoint` that `include` selects,
/// due now, not stored yet. `source` is the inbound record that caused it (none for operator
/// actions). A notifier failure stops at that destination (`Err`), as it fails the record.
pub fn plan_notification(
    store: &dyn Store,
    plugins: &PluginSet,
    twilio: Option<&TwilioSettings>,
    endpoint: &EndpointRecord,
    source: Option<&InboundRecord>,
    notification: &Notification,
    include: &dyn Fn(usize) -> bool,
) -> Result<Result<Vec<DeliveryRecord>, ShapeFailure>, StoreError> {
    let now = now_ms();
    let mut deliveries = Vec::new();
    for (index, destination) in endpoint.destinations.iter().enumerate() {
        if !include(index) {
            continue;
        }
        let failure = |error| ShapeFailure {
            notifier: destination.notifier.clone(),
            destination: index,
            error,
        };
        let notifier = match plugins.get_kind(&destination.notifier, PluginKind::Notifier) {
            Ok(notifier) => notifier,
            Err(error) => return Ok(Err(failure(error))),
        };
        // The notifier is told the id of the first delivery (a webhook's `webhook-id`).
        let first_id = store.reserve_ids(IdKind::Delivery, 1)?;
        let outputs = match shape(
            notifier,
            notification,
            endpoint,
            source,
            destination,
            twilio,
            first_id,
        ) {
            Ok(outputs) => outputs,
            Err(error) => return Ok(Err(failure(error))),
        };
        tracing::debug!(destination = index, requests = outputs.len(), "shaped");
        let more = outputs.len().saturating_sub(1) as u64;
        let next_id = if more > 0 {
            store.reserve_ids(IdKind::Delivery, more)?
        } else {
            0
        };
        for (position, output) in outputs.into_iter().enumerate() {
            let id = if position == 0 {
                first_id
            } else {
                next_id + position as u64 - 1
            };
            deliveries.push(DeliveryRecord {
                id,
                endpoint: endpoint.id.clone(),
                inbound_id: source.map(|record| record.id),
                destination: index,
                kind: destination.kind.clone(),
                notification: notification.kind().to_string(),
                status: DeliveryStatus::Pending,
                request: delivery_request(output, notification, endpoint, index, id),
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
                alert: notification
                    .alert_notice()
                    .and_then(|notice| parse_id("al", &notice.id)),
                page: None,
            });
        }
    }
    Ok(Ok(deliveries))
}

/// What a delivery stores for one notifier output. A mail gets its `Message-ID` here, so every
/// attempt sends the same one: the mail that opens an alert has one derived from the alert and
/// the destination, which every later notice of that alert to that destination names in
/// `In-Reply-To`, so mail clients thread them without the store being asked.
pub(super) fn delivery_request(
    output: NotifierOutput,
    notification: &Notification,
    endpoint: &EndpointRecord,
    destination: usize,
    delivery_id: u64,
) -> DeliveryRequest {
    let email = match output {
        NotifierOutput::Http(request) => return DeliveryRequest::Http(request),
        NotifierOutput::Email(email) => email,
    };
    let thread = notification
        .alert_notice()
        .map(|notice| format!("hookgate.{}.{}.d{destination}", notice.id, endpoint.id));
    let opens = matches!(notification, Notification::AlertOpened(_));
    let (message_key, in_reply_to_key) = match thread {
        Some(thread) if opens => (thread, None),
        thread => (
            format!("hookgate.{}", format_delivery_id(delivery_id)),
            thread,
        ),
    };
    DeliveryRequest::Email(EmailRequest {
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        message_key,
        in_reply_to_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Alert, AlertNotice, AlertState, Message, OutboundEmail};

    fn endpoint() -> EndpointRecord {
        serde_json::from_value(serde_json::json!({
            "id": "ep1", "name": "CI", "provider": "bitbucket", "selection": "all",
            "events": [], "secret": null, "enabled": true, "alerts": null, "format": null,
            "destinations": [], "created_at": 0,
        }))
        .expect("an endpoint")
    }

    fn notice(state: AlertState) -> AlertNotice {
        AlertNotice {
            id: "al_7".into(),
            alert: Alert {
                key: "k".into(),
                title: "t".into(),
                source_status: "FAILED".into(),
                url: None,
                description: None,
                commit_hash: None,
                commit_message: None,
                actor: None,
                labels: Vec::new(),
                severity: Default::default(),
            },
            state,
            count: 1,
            opened_at: 0,
            closed_at: None,
            acknowledged_by: None,
            escalation_step: None,
            ack_url: None,
        }
    }

    fn mail() -> NotifierOutput {
        NotifierOutput::Email(OutboundEmail {
            to: vec!["ops@example.com".into()],
            subject: "s".into(),
            text: "t".into(),
            html: None,
        })
    }

    fn keys(request: DeliveryRequest) -> (String, Option<String>) {
        let email = request.email().expect("a mail").clone();
        (email.message_key, email.in_reply_to_key)
    }

    #[test]
    fn every_notice_of_an_alert_replies_to_the_mail_that_opened_it() {
        let endpoint = endpoint();
        let opened = Notification::AlertOpened(notice(AlertState::Open));
        let closed = Notification::AlertClosed(notice(AlertState::Closed));
        let (opening, none) = keys(delivery_request(mail(), &opened, &endpoint, 2, 10));
        assert_eq!(opening, "hookgate.al_7.ep1.d2");
        assert_eq!(none, None);
        let (closing, reply_to) = keys(delivery_request(mail(), &closed, &endpoint, 2, 11));
        assert_eq!(closing, "hookgate.dl_11");
        assert_eq!(reply_to.as_deref(), Some(opening.as_str()));
        // Another destination is another thread.
        let (_, other) = keys(delivery_request(mail(), &closed, &endpoint, 3, 12));
        assert_eq!(other.as_deref(), Some("hookgate.al_7.ep1.d3"));
    }

    #[test]
    fn a_message_mail_is_its_own_thread() {
        let message = Notification::Message(Message {
            text: "pushed".into(),
            embeds: Vec::new(),
        });
        let (key, reply_to) = keys(delivery_request(mail(), &message, &endpoint(), 0, 5));
        assert_eq!(key, "hookgate.dl_5");
        assert_eq!(reply_to, None);
    }
}
