//! `{{name}}`: a notifier. It turns a message or an alert notice into what delivers it to a
//! destination: HTTP requests (`HttpRequest`, naming a `Credential` for the gateway to add when
//! the receiver needs one) or mails (`Email`). The gateway sends them, retries them and signs
//! requests when the destination has a secret (the plugin never sees a secret).

use hookgate_plugin_sdk::prelude::*;

/// The notifier.
pub struct {{type}};

impl Notifier for {{type}} {
    fn notify(
        notification: &Notification,
        context: &NotificationContext,
        destination: &Destination,
    ) -> Result<Vec<Outbound>, PluginError> {
        let text = match notification {
            Notification::Message(message) => message
                .embeds
                .first()
                .and_then(|embed| embed.title.clone())
                .unwrap_or_else(|| message.text.clone()),
            Notification::AlertOpened(notice) => format!("alert opened: {}", notice.alert.title),
            Notification::AlertClosed(notice) => format!("alert closed: {}", notice.alert.title),
            Notification::AlertAcknowledged(notice) => format!(
                "alert acknowledged by {}: {}",
                notice.acknowledged_by.as_deref().unwrap_or("someone"),
                notice.alert.title
            ),
            Notification::AlertEscalated(notice) => format!(
                "alert escalated to step {}: {}",
                notice.escalation_step.unwrap_or(1),
                notice.alert.title
            ),
        };
        if destination.kind == "email" {
            let to = destination.config.list_or("to", &[])?;
            return Ok(vec![Email::new(to, text.clone(), text).into()]);
        }
        let body = json!({"text": text, "endpoint": context.endpoint_name});
        Ok(vec![HttpRequest::post_json(destination.url.clone(), &body)?.into()])
    }
}

export_notifier!({{type}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_the_first_embed_title_as_text() {
        let message = Message::with_embed(Embed::new().title("2 new commits"));
        let destination = Destination { kind: "webhook".into(), url: "https://example.com/hook".into(), config: Config::default() };
        let outputs = {{type}}::notify(&Notification::Message(message), &NotificationContext::default(), &destination).unwrap();
        let request = outputs[0].http().expect("an HTTP request");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["text"], "2 new commits");
        assert_eq!(request.url, "https://example.com/hook");
    }

    #[test]
    fn an_email_destination_gets_a_mail() {
        let message = Message::text("deployed");
        let config = Config::from_json(r#"{"to": ["ops@example.com"]}"#).unwrap();
        let destination = Destination { kind: "email".into(), url: String::new(), config };
        let outputs = {{type}}::notify(&Notification::Message(message), &NotificationContext::default(), &destination).unwrap();
        let email = outputs[0].email().expect("a mail");
        assert_eq!(email.to, ["ops@example.com"]);
        assert_eq!(email.subject, "deployed");
    }
}
