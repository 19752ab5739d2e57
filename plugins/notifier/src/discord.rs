//! The body of a Discord webhook execution, as <https://discord.com/developers/docs/resources/webhook#execute-webhook>
//! takes it: `content`, `embeds`, and optionally `username`, `avatar_url`, `allowed_mentions`.

use crate::check_url;
use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::serde_json::Map;

pub(crate) fn body(message: &Message, config: &Config) -> Result<Value, PluginError> {
    // Formatter output is already cut to Discord's limits, but a host-rendered template or an
    // alert description may not be.
    let message = message.clone().within_limits();
    let has_text = !message.text.trim().is_empty();
    if !has_text && message.embeds.is_empty() {
        return Err(PluginError::new(
            "the message has neither text nor embeds, and Discord refuses an empty message",
        ));
    }

    let mut body = Map::new();
    if has_text {
        body.insert("content".into(), json!(message.text));
    }
    if !message.embeds.is_empty() {
        body.insert(
            "embeds".into(),
            message.embeds.iter().map(embed_json).collect(),
        );
    }
    if let Some(username) = config
        .get_str("username")?
        .filter(|name| !name.trim().is_empty())
    {
        body.insert("username".into(), json!(username));
    }
    if let Some(avatar_url) = config.get_str("avatar_url")? {
        check_url(avatar_url).map_err(|_| {
            PluginError::new("config `avatar_url` must be an absolute http:// or https:// URL")
        })?;
        body.insert("avatar_url".into(), json!(avatar_url));
    }
    if !config.bool_or("allow_mentions", false)? {
        // Text from payloads (commit messages, PR titles) must not ping a whole server.
        body.insert("allowed_mentions".into(), json!({ "parse": [] }));
    }
    Ok(Value::Object(body))
}

/// One Discord embed object; absent or empty members are left out, as Discord refuses some
/// empty strings (an empty `url`, for one).
fn embed_json(embed: &Embed) -> Value {
    let mut object = Map::new();
    let mut put_text = |key: &str, text: &Option<String>| {
        if let Some(text) = text.as_deref().filter(|text| !text.is_empty()) {
            object.insert(key.into(), json!(text));
        }
    };
    put_text("title", &embed.title);
    put_text("description", &embed.description);
    put_text("url", &embed.url);
    put_text("timestamp", &embed.timestamp);
    if let Some(colour) = embed.colour {
        object.insert("color".into(), json!(colour));
    }
    if let Some(author) = embed
        .author
        .as_ref()
        .filter(|author| !author.name.is_empty())
    {
        let mut author_json = Map::new();
        author_json.insert("name".into(), json!(author.name));
        if let Some(url) = author.url.as_deref().filter(|url| !url.is_empty()) {
            author_json.insert("url".into(), json!(url));
        }
        if let Some(icon_url) = author.icon_url.as_deref().filter(|url| !url.is_empty()) {
            author_json.insert("icon_url".into(), json!(icon_url));
        }
        object.insert("author".into(), Value::Object(author_json));
    }
    if !embed.fields.is_empty() {
        let fields = embed
            .fields
            .iter()
            .map(
                |field| json!({ "name": field.name, "value": field.value, "inline": field.inline }),
            )
            .collect();
        object.insert("fields".into(), Value::Array(fields));
    }
    if let Some(footer) = embed.footer.as_deref().filter(|footer| !footer.is_empty()) {
        object.insert("footer".into(), json!({ "text": footer }));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use crate::tests::{destination, message, notice, sent};
    use hookgate_plugin_sdk::AlertState;
    use hookgate_plugin_sdk::prelude::*;

    #[test]
    fn a_message_is_content_and_embeds_as_discord_takes_them() {
        let body = sent(
            &Notification::Message(message()),
            &destination("discord", json!({})),
        );
        assert_eq!(
            body,
            json!({
                "content": "Deployed **v1.2** by [Ada](https://bitbucket.org/ada)",
                "embeds": [{
                    "title": "[acme/widgets] 1 new commit on main",
                    "description": "[`c14c1bb`](https://bitbucket.org/acme/widgets/commits/c14c1bb) Fix <tag> & more — Ada",
                    "url": "https://bitbucket.org/acme/widgets/branches/compare/b..a",
                    "color": 0x3498DB,
                    "author": { "name": "Ada", "url": "https://bitbucket.org/ada" },
                    "fields": [{ "name": "Branch", "value": "`main`", "inline": true }],
                    "footer": { "text": "Bitbucket • acme/widgets" },
                    "timestamp": "2022-09-07T20:19:25+00:00",
                }],
                "allowed_mentions": { "parse": [] },
            })
        );
    }

    #[test]
    fn username_avatar_and_mentions_come_from_the_destination() {
        let config = json!({
            "username": "hookgate",
            "avatar_url": "https://example.com/bot.png",
            "allow_mentions": true,
        });
        let body = sent(
            &Notification::Message(Message::text("hi @here")),
            &destination("discord", config),
        );
        assert_eq!(
            body,
            json!({
                "content": "hi @here",
                "username": "hookgate",
                "avatar_url": "https://example.com/bot.png",
            })
        );
        let bad = destination("discord", json!({ "avatar_url": "bot.png" }));
        let error = crate::HttpNotifier::notify(
            &Notification::Message(Message::text("hi")),
            &crate::tests::context(),
            &bad,
        )
        .unwrap_err();
        assert!(error.message().contains("avatar_url"), "{error}");
    }

    #[test]
    fn an_opened_alert_is_a_red_embed() {
        let body = sent(
            &Notification::AlertOpened(notice(AlertState::Open)),
            &destination("discord", json!({})),
        );
        assert_eq!(
            body,
            json!({
                "embeds": [{
                    "title": "Pipeline #4 for main failed — acme/widgets",
                    "url": "https://bitbucket.org/acme/widgets/pipelines/results/4",
                    "color": 0xE74C3C,
                    "fields": [
                        { "name": "Status", "value": "FAILED", "inline": true },
                        { "name": "Severity", "value": "critical", "inline": true },
                        { "name": "Count", "value": "3", "inline": true },
                        { "name": "Actor", "value": "Ada", "inline": true },
                        { "name": "Commit", "value": "`bdf6fac` Merged in fix", "inline": false },
                        { "name": "branch", "value": "main", "inline": true },
                    ],
                    "footer": { "text": "hookgate • widgets CI" },
                    "timestamp": "2023-11-14T22:13:20Z",
                }],
                "allowed_mentions": { "parse": [] },
            })
        );
    }

    #[test]
    fn a_closed_alert_is_a_green_resolved_embed() {
        let body = sent(
            &Notification::AlertClosed(notice(AlertState::Closed)),
            &destination("discord", json!({})),
        );
        let embed = &body["embeds"][0];
        assert_eq!(
            embed["title"],
            "Resolved: Pipeline #4 for main failed — acme/widgets"
        );
        assert_eq!(embed["color"], 0x2ECC71);
        assert_eq!(embed["timestamp"], "2023-11-14T22:25:25Z");
        assert!(
            embed["fields"]
                .as_array()
                .unwrap()
                .contains(&json!({ "name": "Open for", "value": "12m 5s", "inline": true }))
        );
        assert!(body.get("content").is_none());
    }

    #[test]
    fn oversized_and_empty_messages() {
        let long =
            Message::text("x".repeat(5000)).embed(Embed::new().description("y".repeat(9000)));
        let body = sent(
            &Notification::Message(long),
            &destination("discord", json!({})),
        );
        assert_eq!(
            body["content"].as_str().unwrap().chars().count(),
            limits::TEXT
        );
        assert_eq!(
            body["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            limits::DESCRIPTION
        );

        let error = crate::HttpNotifier::notify(
            &Notification::Message(Message::default()),
            &crate::tests::context(),
            &destination("discord", json!({})),
        )
        .unwrap_err();
        assert!(error.message().contains("empty"), "{error}");
    }
}
