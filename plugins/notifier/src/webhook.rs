//! The JSON envelope for a generic HTTP receiver. Every member is always present (`null` when
//! unknown), so receivers can rely on the shape; the `type` says which of `message` or `alert`
//! follows.

use crate::notice::About;
use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::serde_json::Map;
use hookgate_plugin_sdk::time;

/// The header carrying the envelope's `type`.
pub(crate) const EVENT_HEADER: &str = "x-hookgate-event";

pub(crate) fn body(notification: &Notification, context: &NotificationContext) -> Value {
    let mut envelope = json!({
        "type": notification.type_name(),
        "endpoint": { "id": context.endpoint_id, "name": context.endpoint_name },
        "event_key": context.event_key,
        "inbound_id": context.inbound_id,
        "delivery_id": context.delivery_id,
    });
    let (key, content) = match About::of(notification) {
        About::Message(message) => ("message", message_json(message)),
        About::Alert(_, notice) => ("alert", alert_json(notice)),
    };
    if let Value::Object(members) = &mut envelope {
        members.insert(key.into(), content);
    }
    envelope
}

/// A message with the SDK's (and the gateway API's) member names.
fn message_json(message: &Message) -> Value {
    let embeds: Vec<Value> = message
        .embeds
        .iter()
        .map(|embed| {
            json!({
                "title": embed.title,
                "description": embed.description,
                "url": embed.url,
                "colour": embed.colour,
                "author": embed.author.as_ref().map(|author| json!({
                    "name": author.name,
                    "url": author.url,
                    "icon_url": author.icon_url,
                })),
                "fields": embed.fields.iter().map(|field| json!({
                    "name": field.name,
                    "value": field.value,
                    "inline": field.inline,
                })).collect::<Vec<_>>(),
                "footer": embed.footer,
                "timestamp": embed.timestamp,
            })
        })
        .collect();
    json!({ "text": message.text, "embeds": embeds })
}

fn alert_json(notice: &AlertNotice) -> Value {
    let alert = &notice.alert;
    // An object reads better than a list of pairs, as in the gateway's API.
    let labels: Map<String, Value> = alert
        .labels
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "id": notice.id,
        "key": alert.key,
        "state": notice.state.as_str(),
        "title": alert.title,
        "source_status": alert.source_status,
        "url": alert.url,
        "description": alert.description,
        "commit_hash": alert.commit_hash,
        "commit_message": alert.commit_message,
        "actor": alert.actor,
        "labels": labels,
        "severity": alert.severity.as_str(),
        "count": notice.count,
        "opened_at": time::rfc3339_from_millis(notice.opened_at),
        "closed_at": notice.closed_at.map(time::rfc3339_from_millis),
        "acknowledged_by": notice.acknowledged_by,
        "escalation_step": notice.escalation_step,
        "ack_url": notice.ack_url,
    })
}

#[cfg(test)]
mod tests {
    use crate::tests::{acknowledged, destination, escalated, message, notice, sent};
    use hookgate_plugin_sdk::AlertState;
    use hookgate_plugin_sdk::prelude::*;

    #[test]
    fn a_message_envelope() {
        let body = sent(
            &Notification::Message(message()),
            &destination("webhook", json!({})),
        );
        assert_eq!(
            body,
            json!({
                "type": "message",
                "endpoint": { "id": "ep_1", "name": "widgets CI" },
                "event_key": "repo:commit_status_updated",
                "inbound_id": "in_1",
                "delivery_id": "dl_1",
                "message": {
                    "text": "Deployed **v1.2** by [Ada](https://bitbucket.org/ada)",
                    "embeds": [{
                        "title": "[acme/widgets] 1 new commit on main",
                        "description": "[`c14c1bb`](https://bitbucket.org/acme/widgets/commits/c14c1bb) Fix <tag> & more — Ada",
                        "url": "https://bitbucket.org/acme/widgets/branches/compare/b..a",
                        "colour": 0x3498DB,
                        "author": { "name": "Ada", "url": "https://bitbucket.org/ada", "icon_url": null },
                        "fields": [{ "name": "Branch", "value": "`main`", "inline": true }],
                        "footer": "Bitbucket • acme/widgets",
                        "timestamp": "2022-09-07T20:19:25+00:00",
                    }],
                },
            })
        );
    }

    #[test]
    fn an_opened_alert_envelope() {
        let body = sent(
            &Notification::AlertOpened(notice(AlertState::Open)),
            &destination("webhook", json!({})),
        );
        assert_eq!(
            body,
            json!({
                "type": "alert.opened",
                "endpoint": { "id": "ep_1", "name": "widgets CI" },
                "event_key": "repo:commit_status_updated",
                "inbound_id": "in_1",
                "delivery_id": "dl_1",
                "alert": {
                    "id": "al_1",
                    "key": "acme/widgets:main",
                    "state": "open",
                    "title": "Pipeline #4 for main failed — acme/widgets",
                    "source_status": "FAILED",
                    "url": "https://bitbucket.org/acme/widgets/pipelines/results/4",
                    "description": null,
                    "commit_hash": "bdf6fac0519ffd1562461eb82e018ff62efffbc9",
                    "commit_message": "Merged in fix\n\nbody",
                    "actor": "Ada",
                    "labels": { "branch": "main" },
                    "severity": "critical",
                    "count": 3,
                    "opened_at": "2023-11-14T22:13:20Z",
                    "closed_at": null,
                    "acknowledged_by": null,
                    "escalation_step": null,
                    "ack_url": null,
                },
            })
        );
    }

    #[test]
    fn a_closed_alert_envelope() {
        let body = sent(
            &Notification::AlertClosed(notice(AlertState::Closed)),
            &destination("webhook", json!({})),
        );
        assert_eq!(body["type"], "alert.closed");
        assert_eq!(body["alert"]["state"], "closed");
        assert_eq!(
            body["alert"]["title"],
            "Pipeline #4 for main failed — acme/widgets"
        );
        assert_eq!(body["alert"]["opened_at"], "2023-11-14T22:13:20Z");
        assert_eq!(body["alert"]["closed_at"], "2023-11-14T22:25:25Z");
        assert!(body.get("message").is_none());
    }

    #[test]
    fn acknowledged_and_escalated_envelopes_say_who_and_which_step() {
        let body = sent(
            &Notification::AlertAcknowledged(acknowledged()),
            &destination("webhook", json!({})),
        );
        assert_eq!(body["type"], "alert.acknowledged");
        assert_eq!(body["alert"]["state"], "acknowledged");
        assert_eq!(body["alert"]["acknowledged_by"], "Grace");
        assert_eq!(body["alert"]["escalation_step"], Value::Null);
        assert_eq!(body["alert"]["ack_url"], "https://hookgate.example/a/tok3n");
        let body = sent(
            &Notification::AlertEscalated(escalated()),
            &destination("webhook", json!({})),
        );
        assert_eq!(body["type"], "alert.escalated");
        assert_eq!(body["alert"]["escalation_step"], 2);
        assert_eq!(body["alert"]["acknowledged_by"], Value::Null);
    }

    #[test]
    fn no_signature_headers_are_added_by_the_plugin() {
        let request = crate::tests::request(
            &Notification::Message(message()),
            &destination("webhook", json!({})),
        );
        assert!(
            request
                .headers
                .iter()
                .all(|(name, _)| !name.starts_with("webhook-"))
        );
    }
}
