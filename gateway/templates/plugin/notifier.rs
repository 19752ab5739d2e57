//! `{{name}}`: a notifier. It turns a message or an alert notice into the HTTP requests that
//! deliver it to a destination; the gateway sends them, retries them and signs them when the
//! destination has a secret (the plugin never sees it).

use hookgate_plugin_sdk::prelude::*;

/// The notifier.
pub struct {{type}};

impl Notifier for {{type}} {
    fn notify(
        notification: &Notification,
        context: &NotificationContext,
        destination: &Destination,
    ) -> Result<Vec<HttpRequest>, PluginError> {
        let text = match notification {
            Notification::Message(message) => message
                .embeds
                .first()
                .and_then(|embed| embed.title.clone())
                .unwrap_or_else(|| message.text.clone()),
            Notification::AlertOpened(notice) => format!("alert opened: {}", notice.alert.title),
            Notification::AlertClosed(notice) => format!("alert closed: {}", notice.alert.title),
        };
        let body = json!({"text": text, "endpoint": context.endpoint_name});
        Ok(vec![HttpRequest::post_json(destination.url.clone(), &body)?])
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
        let requests = {{type}}::notify(&Notification::Message(message), &NotificationContext::default(), &destination).unwrap();
        let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(body["text"], "2 new commits");
        assert_eq!(requests[0].url, "https://example.com/hook");
    }
}
