//! The mail for an `email` destination: one mail to the destination's `to`, with a plain-text
//! part and an HTML part saying the same. The gateway sends it over `[smtp]` and adds `From`,
//! `Date`, `Message-ID` and the threading headers; the plugin only writes what is read.
//!
//! Everything interpolated into the HTML part is escaped, and only `http(s)` URLs become
//! links: titles, commit messages and labels come from webhook payloads, which anyone who can
//! push a commit writes.

use crate::notice::{About, Change, ack_url};
use crate::plain::plain;
use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::time;

/// The subject line's prefix for alert notices.
const SUBJECT_PREFIX: &str = "[hookgate] ";
/// A subject that fits a mail client's list; the full title is in the body.
const SUBJECT_MAX_CHARS: usize = 200;
/// A commit subject among the facts, like a line of `git log --oneline`.
const COMMIT_SUBJECT_CHARS: usize = 100;

/// The mail for `notification` to the destination's recipients.
pub(crate) fn mail(
    notification: &Notification,
    context: &NotificationContext,
    destination: &Destination,
) -> Result<Email, PluginError> {
    let to: Vec<String> = destination
        .config
        .get_list("to")?
        .unwrap_or_default()
        .into_iter()
        .map(|address| address.trim().to_string())
        .filter(|address| !address.is_empty())
        .collect();
    if to.is_empty() {
        return Err(PluginError::new(
            "an email destination needs `to`: an address, or a list of them",
        ));
    }
    let letter = match About::of(notification) {
        About::Alert(change, notice) => alert_letter(notice, change),
        About::Message(message) => message_letter(message),
    };
    let sender = sender_line(context);
    Ok(Email::new(to, one_line(&letter.subject), letter.text(&sender)).html(letter.html(&sender)))
}

/// What a mail says, before it is written as text or HTML.
struct Letter {
    subject: String,
    /// The first line of the body: the title as the change shows it.
    heading: String,
    /// The change's own line (`Acknowledged by Ada`), shown strong under the heading.
    lead: Option<String>,
    /// Name and value pairs, one a line.
    facts: Vec<(String, Fact)>,
    /// Paragraphs of a message.
    paragraphs: Vec<String>,
    /// The colour of the heading, as the chat cards use it.
    colour: u32,
}

/// A fact's value: text, or a link shown as its label.
enum Fact {
    Text(String),
    Link { label: String, url: String },
}

fn alert_letter(notice: &AlertNotice, change: Change) -> Letter {
    let alert = &notice.alert;
    let mut facts = vec![(
        "State".to_string(),
        Fact::Text(notice.state.as_str().into()),
    )];
    if !alert.source_status.is_empty() {
        facts.push(("Status".into(), Fact::Text(alert.source_status.clone())));
    }
    facts.push((
        "Severity".into(),
        Fact::Text(alert.severity.as_str().into()),
    ));
    facts.push(("Count".into(), Fact::Text(notice.count.to_string())));
    if let Some(url) = alert.url.as_deref().filter(|url| !url.is_empty()) {
        facts.push(("Link".into(), link(url, url)));
    }
    if let Some(hash) = alert.commit_hash.as_deref().filter(|hash| !hash.is_empty()) {
        let subject = alert
            .commit_message
            .as_deref()
            .map(first_line)
            .filter(|subject| !subject.is_empty())
            .map(|subject| format!(" {}", truncate(subject, COMMIT_SUBJECT_CHARS)))
            .unwrap_or_default();
        facts.push((
            "Commit".into(),
            Fact::Text(format!("{}{subject}", short_hash(hash))),
        ));
    }
    if let Some(actor) = alert.actor.as_deref().filter(|actor| !actor.is_empty()) {
        facts.push(("Actor".into(), Fact::Text(actor.into())));
    }
    facts.push((
        "Opened".into(),
        Fact::Text(time::rfc3339_from_millis(notice.opened_at)),
    ));
    if let Some(closed_at) = notice.closed_at {
        facts.push((
            "Closed".into(),
            Fact::Text(time::rfc3339_from_millis(closed_at)),
        ));
    }
    if let Some(description) = alert.description.as_deref().filter(|text| !text.is_empty()) {
        facts.push(("Description".into(), Fact::Text(description.into())));
    }
    for (name, value) in &alert.labels {
        facts.push((name.clone(), Fact::Text(value.clone())));
    }
    if let Some(ack_url) = ack_url(notice) {
        facts.push((
            "Acknowledge".into(),
            link("Acknowledge this alert", ack_url),
        ));
    }
    let heading = change.title(alert);
    Letter {
        subject: format!("{SUBJECT_PREFIX}{heading}"),
        lead: change.line(notice),
        heading,
        facts,
        paragraphs: Vec::new(),
        colour: match change {
            Change::Opened => colour::RED,
            Change::Closed => colour::GREEN,
            Change::Acknowledged => colour::YELLOW,
            Change::Escalated => colour::ORANGE,
        },
    }
}

/// A message as a mail: its first title (else its first line of text) as the subject and
/// heading, its text and each embed's title, description, fields and link below.
fn message_letter(message: &Message) -> Letter {
    let text = plain(&message.text);
    let title = message
        .embeds
        .iter()
        .find_map(|embed| embed.title.as_deref().map(plain))
        .filter(|title| !title.is_empty())
        .or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "hookgate notification".to_string());
    let mut paragraphs = Vec::new();
    if !text.is_empty() {
        paragraphs.push(text);
    }
    let mut facts = Vec::new();
    for embed in &message.embeds {
        let embed_title = embed.title.as_deref().map(plain).filter(|t| !t.is_empty());
        if let Some(embed_title) = &embed_title
            && *embed_title != title
        {
            paragraphs.push(embed_title.clone());
        }
        if let Some(description) = embed.description.as_deref().map(plain) {
            paragraphs.extend(
                description
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(str::to_string),
            );
        }
        for field in &embed.fields {
            facts.push((plain(&field.name), Fact::Text(plain(&field.value))));
        }
        if let Some(url) = embed.url.as_deref().filter(|url| !url.is_empty()) {
            facts.push(("Link".into(), link(url, url)));
        }
    }
    Letter {
        subject: title.clone(),
        heading: title,
        lead: None,
        facts,
        paragraphs,
        colour: message
            .embeds
            .iter()
            .find_map(|embed| embed.colour)
            .unwrap_or(colour::NEUTRAL),
    }
}

impl Letter {
    /// The plain-text part: heading, lead, paragraphs, then `Name: value` lines.
    fn text(&self, sender: &str) -> String {
        let mut text = self.heading.clone();
        if let Some(lead) = &self.lead {
            text.push('\n');
            text.push_str(lead);
        }
        for paragraph in &self.paragraphs {
            text.push_str("\n\n");
            text.push_str(paragraph);
        }
        if !self.facts.is_empty() {
            text.push('\n');
            for (name, value) in &self.facts {
                let value = match value {
                    Fact::Text(text) => text.replace('\n', "\n    "),
                    Fact::Link { url, .. } => url.clone(),
                };
                text.push_str(&format!("\n{name}: {value}"));
            }
        }
        text.push_str(&format!("\n\n{sender}\n"));
        text
    }

    /// The HTML part: the same, as a heading, paragraphs and a table, every value escaped.
    fn html(&self, sender: &str) -> String {
        let mut html = String::from(
            "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif; color: #222\">\n",
        );
        html.push_str(&format!(
            "<h2 style=\"border-left: 6px solid #{:06X}; padding-left: 8px\">{}</h2>\n",
            self.colour,
            escape(&self.heading)
        ));
        if let Some(lead) = &self.lead {
            html.push_str(&format!("<p><strong>{}</strong></p>\n", escape(lead)));
        }
        for paragraph in &self.paragraphs {
            html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
        }
        if !self.facts.is_empty() {
            html.push_str("<table cellpadding=\"4\">\n");
            for (name, value) in &self.facts {
                let value = match value {
                    Fact::Text(text) => escape(text).replace('\n', "<br>"),
                    Fact::Link { label, url } => {
                        format!("<a href=\"{}\">{}</a>", escape(url), escape(label))
                    }
                };
                html.push_str(&format!(
                    "<tr><th align=\"left\" valign=\"top\">{}</th><td>{value}</td></tr>\n",
                    escape(name)
                ));
            }
            html.push_str("</table>\n");
        }
        html.push_str(&format!(
            "<p style=\"color: #888; font-size: small\">{}</p>\n</body></html>\n",
            escape(sender)
        ));
        html
    }
}

/// A link when `url` is an `http(s)` URL; anything else (`javascript:`, ...) stays text.
fn link(label: &str, url: &str) -> Fact {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Fact::Link {
            label: label.to_string(),
            url: url.to_string(),
        }
    } else {
        Fact::Text(url.to_string())
    }
}

/// Who sent it and for which endpoint, the last line of both parts.
fn sender_line(context: &NotificationContext) -> String {
    let endpoint = [&context.endpoint_name, &context.endpoint_id]
        .into_iter()
        .find(|name| !name.is_empty());
    match endpoint {
        Some(endpoint) => format!("Sent by hookgate for {endpoint}."),
        None => "Sent by hookgate.".to_string(),
    }
}

/// A subject on one line, cut to [`SUBJECT_MAX_CHARS`].
fn one_line(subject: &str) -> String {
    let joined: Vec<&str> = subject.split_whitespace().collect();
    truncate(&joined.join(" "), SUBJECT_MAX_CHARS)
}

/// Text as HTML: `&`, `<`, `>`, `"` and `'` escaped, so a value can neither open a tag nor
/// leave an attribute.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
#[path = "email_tests.rs"]
mod tests;
