//! The body of a Slack incoming webhook: `text`, which Slack requires as the notification and
//! fallback text, plus one attachment per embed. Attachments rather than blocks, because only
//! attachments have the colour bar that tells a merge from a failure at a glance.

use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::serde_json::Map;
use hookgate_plugin_sdk::time;

/// `text` when a message with embeds has no text or title anywhere.
const PLACEHOLDER_TEXT: &str = "hookgate notification";

pub(crate) fn body(message: &Message) -> Result<Value, PluginError> {
    let text = if !message.text.trim().is_empty() {
        mrkdwn(&message.text)
    } else if message.embeds.is_empty() {
        return Err(PluginError::new(
            "the message has neither text nor embeds, and Slack refuses an empty message",
        ));
    } else {
        message
            .embeds
            .iter()
            .find_map(summary)
            .unwrap_or_else(|| PLACEHOLDER_TEXT.to_string())
    };
    let mut body = Map::new();
    body.insert("text".into(), json!(text));
    if !message.embeds.is_empty() {
        let attachments = message.embeds.iter().map(attachment).collect();
        body.insert("attachments".into(), Value::Array(attachments));
    }
    Ok(Value::Object(body))
}

/// An embed's one-line summary: its title, else its description.
fn summary(embed: &Embed) -> Option<String> {
    let present = |text: &Option<String>| text.clone().filter(|text| !text.trim().is_empty());
    present(&embed.title)
        .map(|title| escape(&title))
        .or_else(|| present(&embed.description).map(|description| mrkdwn(&description)))
}

/// A Slack attachment from an embed; absent members are left out.
fn attachment(embed: &Embed) -> Value {
    let mut object = Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            object.insert(key.into(), json!(value));
        }
    };
    put("fallback", summary(embed));
    put("color", embed.colour.map(|colour| format!("#{colour:06X}")));
    if let Some(author) = &embed.author {
        put("author_name", Some(escape(&author.name)));
        put("author_link", author.url.clone());
        put("author_icon", author.icon_url.clone());
    }
    put("title", embed.title.as_deref().map(escape));
    put("title_link", embed.url.clone());
    put("text", embed.description.as_deref().map(mrkdwn));
    put("footer", embed.footer.as_deref().map(escape));
    if !embed.fields.is_empty() {
        let fields = embed
            .fields
            .iter()
            .map(|field| {
                json!({ "title": escape(&field.name), "value": mrkdwn(&field.value), "short": field.inline })
            })
            .collect();
        object.insert("fields".into(), Value::Array(fields));
    }
    if let Some(seconds) = embed
        .timestamp
        .as_deref()
        .and_then(|timestamp| time::secs_from_rfc3339(timestamp).ok())
    {
        object.insert("ts".into(), json!(seconds));
    }
    // Attachment text and field values are plain unless listed here.
    object.insert("mrkdwn_in".into(), json!(["text", "fields"]));
    Value::Object(object)
}

/// Slack's three control characters, escaped as its formatting rules require.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Discord markdown to Slack mrkdwn: `[label](https://...)` becomes `<https://...|label>`,
/// `**bold**` `*bold*` and `~~struck~~` `~struck~`; `&`, `<` and `>` elsewhere are escaped.
pub(crate) fn mrkdwn(text: &str) -> String {
    let mut converted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(next) = rest.chars().next() {
        if next == '['
            && let Some((label, url, after)) = markdown_link(rest)
        {
            converted.push('<');
            converted.push_str(&link_target(url));
            converted.push('|');
            converted.push_str(&escape(label));
            converted.push('>');
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("**") {
            converted.push('*');
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("~~") {
            converted.push('~');
            rest = after;
            continue;
        }
        match next {
            '&' => converted.push_str("&amp;"),
            '<' => converted.push_str("&lt;"),
            '>' => converted.push_str("&gt;"),
            other => converted.push(other),
        }
        rest = &rest[next.len_utf8()..];
    }
    converted
}

/// `[label](url)` at the start of `text`: the label, the URL and the text after the link. Only
/// one-line labels without brackets and absolute http(s) URLs count, so stray brackets in
/// commit messages stay text.
pub(crate) fn markdown_link(text: &str) -> Option<(&str, &str, &str)> {
    let label_end = text.find("](")?;
    let label = text.get(1..label_end)?;
    if label.is_empty() || label.contains(['[', ']', '\n']) {
        return None;
    }
    let target = &text[label_end + 2..];
    let url_end = target.find(')')?;
    let url = &target[..url_end];
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    if !absolute || url.contains(char::is_whitespace) {
        return None;
    }
    Some((label, url, &target[url_end + 1..]))
}

/// A URL made safe inside `<url|label>`: `|` and `>` would end it early.
fn link_target(url: &str) -> String {
    escape(url).replace('|', "%7C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{destination, message, notice, sent};
    use hookgate_plugin_sdk::AlertState;

    #[test]
    fn a_message_is_text_plus_one_attachment_per_embed() {
        let body = sent(
            &Notification::Message(message()),
            &destination("slack", json!({})),
        );
        assert_eq!(
            body,
            json!({
                "text": "Deployed *v1.2* by <https://bitbucket.org/ada|Ada>",
                "attachments": [{
                    "fallback": "[acme/widgets] 1 new commit on main",
                    "color": "#3498DB",
                    "author_name": "Ada",
                    "author_link": "https://bitbucket.org/ada",
                    "title": "[acme/widgets] 1 new commit on main",
                    "title_link": "https://bitbucket.org/acme/widgets/branches/compare/b..a",
                    "text": "<https://bitbucket.org/acme/widgets/commits/c14c1bb|`c14c1bb`> Fix &lt;tag&gt; &amp; more — Ada",
                    "footer": "Bitbucket • acme/widgets",
                    "fields": [{ "title": "Branch", "value": "`main`", "short": true }],
                    "ts": 1_662_581_965,
                    "mrkdwn_in": ["text", "fields"],
                }],
            })
        );
    }

    #[test]
    fn without_text_the_first_title_is_the_fallback() {
        let mut embeds_only = message();
        embeds_only.text.clear();
        let body = sent(
            &Notification::Message(embeds_only),
            &destination("slack", json!({})),
        );
        assert_eq!(body["text"], "[acme/widgets] 1 new commit on main");

        let error = crate::HttpNotifier::notify(
            &Notification::Message(Message::default()),
            &crate::tests::context(),
            &destination("slack", json!({})),
        )
        .unwrap_err();
        assert!(error.message().contains("empty"), "{error}");
    }

    #[test]
    fn an_opened_alert_is_a_red_attachment() {
        let body = sent(
            &Notification::AlertOpened(notice(AlertState::Open)),
            &destination("slack", json!({})),
        );
        assert_eq!(
            body,
            json!({
                "text": "Pipeline #4 for main failed — acme/widgets",
                "attachments": [{
                    "fallback": "Pipeline #4 for main failed — acme/widgets",
                    "color": "#E74C3C",
                    "title": "Pipeline #4 for main failed — acme/widgets",
                    "title_link": "https://bitbucket.org/acme/widgets/pipelines/results/4",
                    "footer": "hookgate • widgets CI",
                    "fields": [
                        { "title": "Status", "value": "FAILED", "short": true },
                        { "title": "Severity", "value": "critical", "short": true },
                        { "title": "Count", "value": "3", "short": true },
                        { "title": "Actor", "value": "Ada", "short": true },
                        { "title": "Commit", "value": "`bdf6fac` Merged in fix", "short": false },
                        { "title": "branch", "value": "main", "short": true },
                    ],
                    "ts": 1_700_000_000,
                    "mrkdwn_in": ["text", "fields"],
                }],
            })
        );
    }

    #[test]
    fn a_closed_alert_is_a_green_resolved_attachment() {
        let body = sent(
            &Notification::AlertClosed(notice(AlertState::Closed)),
            &destination("slack", json!({})),
        );
        assert_eq!(
            body["text"],
            "Resolved: Pipeline #4 for main failed — acme/widgets"
        );
        let attachment = &body["attachments"][0];
        assert_eq!(attachment["color"], "#2ECC71");
        assert_eq!(
            attachment["title"],
            "Resolved: Pipeline #4 for main failed — acme/widgets"
        );
        assert_eq!(attachment["ts"], 1_700_000_725);
        assert!(
            attachment["fields"]
                .as_array()
                .unwrap()
                .contains(&json!({ "title": "Open for", "value": "12m 5s", "short": true }))
        );
    }

    #[test]
    fn markdown_links_become_slack_links_and_stray_brackets_stay_text() {
        assert_eq!(
            mrkdwn("[and 4 more](https://bitbucket.org/a/b/branches/compare/x..y)"),
            "<https://bitbucket.org/a/b/branches/compare/x..y|and 4 more>"
        );
        assert_eq!(mrkdwn("[WIP] fix (again)"), "[WIP] fix (again)");
        assert_eq!(mrkdwn("[x](not a url)"), "[x](not a url)");
        assert_eq!(
            mrkdwn("a [b] [c](https://e.com/?q=1&r=2|3)"),
            "a [b] <https://e.com/?q=1&amp;r=2%7C3|c>"
        );
        assert_eq!(mrkdwn("~~old~~ **new** <b>"), "~old~ *new* &lt;b&gt;");
        assert_eq!(
            mrkdwn("é [ü](https://ü.example/ß) ✅"),
            "é <https://ü.example/ß|ü> ✅"
        );
    }
}
