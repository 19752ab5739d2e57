//! Plain text for the phone kinds (`sms`, `voice`, `ntfy`): what a person woken at 3 a.m. reads
//! on a lock screen. Markdown the formatters write (`**bold**`, `` `code` ``, `[label](url)`)
//! is reduced to its words; the links a reader would open (the alert's, and the acknowledge
//! link of a page) are kept apart, so a cut never loses them.

use crate::notice::{About, Change, ack_url};
use crate::slack::markdown_link;
use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::time;

/// A commit subject in a phone notice: shorter than in a chat card.
const COMMIT_SUBJECT_CHARS: usize = 72;

/// A notification as plain text: a headline, the body lines and the link to open.
pub(crate) struct PlainNotice {
    /// One line: `ALERT: <title>` when it opened, else the title as the change shows it
    /// (`Resolved: `, ...), or the message's title.
    pub headline: String,
    /// What follows the headline, one fact per line.
    pub lines: Vec<String>,
    /// The alert's or the message's link.
    pub link: Option<String>,
    /// The page's acknowledge link.
    pub ack_link: Option<String>,
}

impl PlainNotice {
    pub(crate) fn new(notification: &Notification, context: &NotificationContext) -> Self {
        match About::of(notification) {
            About::Message(message) => message_notice(message, context),
            About::Alert(change, notice) => alert_notice(notice, change, context),
        }
    }

    /// The links, one a line: the alert's, then `Acknowledge: <link>`.
    fn links(&self) -> Option<String> {
        let links: Vec<String> = self
            .link
            .iter()
            .cloned()
            .chain(
                self.ack_link
                    .iter()
                    .map(|link| format!("Acknowledge: {link}")),
            )
            .collect();
        (!links.is_empty()).then(|| links.join("\n"))
    }

    /// Headline and lines, without the link.
    pub(crate) fn text(&self) -> String {
        let mut text = self.headline.clone();
        for line in &self.lines {
            text.push('\n');
            text.push_str(line);
        }
        text
    }

    /// The whole text in at most `max_chars` characters: cut with `…` where it is too long, the
    /// links always kept whole on the last lines.
    pub(crate) fn text_within(&self, max_chars: usize) -> String {
        let text = self.text();
        match self.links() {
            None => truncate(&text, max_chars),
            Some(links) => {
                let room = max_chars.saturating_sub(links.chars().count() + 1);
                format!("{}\n{links}", truncate(&text, room))
            }
        }
    }
}

fn alert_notice(
    notice: &AlertNotice,
    change: Change,
    context: &NotificationContext,
) -> PlainNotice {
    let alert = &notice.alert;
    let headline = match change {
        Change::Opened => format!("ALERT: {}", alert.title),
        _ => change.title(alert),
    };
    let mut lines: Vec<String> = change.line(notice).into_iter().collect();
    let mut status = Vec::new();
    if !alert.source_status.is_empty() {
        status.push(format!("Status {}", alert.source_status));
    }
    if notice.count > 1 {
        status.push(format!("seen {} times", notice.count));
    }
    if change == Change::Closed
        && let Some(closed_at) = notice.closed_at
    {
        let open_for = time::duration_text(closed_at.saturating_sub(notice.opened_at));
        status.push(format!("open for {open_for}"));
    }
    if !status.is_empty() {
        lines.push(status.join(", "));
    }
    if let Some(hash) = alert.commit_hash.as_deref().filter(|hash| !hash.is_empty()) {
        let subject = alert
            .commit_message
            .as_deref()
            .map(first_line)
            .filter(|subject| !subject.is_empty())
            .map(|subject| truncate(subject, COMMIT_SUBJECT_CHARS));
        lines.push(match subject {
            Some(subject) => format!("Commit {} {subject}", short_hash(hash)),
            None => format!("Commit {}", short_hash(hash)),
        });
    }
    if let Some(actor) = alert.actor.as_deref().filter(|actor| !actor.is_empty()) {
        lines.push(format!("By {actor}"));
    }
    if let Some(source) = source_name(context) {
        lines.push(format!("[{source}]"));
    }
    PlainNotice {
        headline,
        lines,
        link: alert.url.clone().filter(|url| !url.is_empty()),
        ack_link: ack_url(notice).map(str::to_string),
    }
}

fn message_notice(message: &Message, context: &NotificationContext) -> PlainNotice {
    let text = plain(&message.text);
    let first_title = message
        .embeds
        .iter()
        .find_map(|embed| embed.title.as_deref().map(plain))
        .filter(|title| !title.is_empty());
    let mut lines: Vec<String> = Vec::new();
    let headline = match (first_title, text.is_empty()) {
        (Some(title), _) => {
            if !text.is_empty() {
                lines.push(text);
            }
            title
        }
        (None, false) => text,
        (None, true) => source_name(context).map_or_else(
            || "hookgate notification".to_string(),
            |source| format!("hookgate: {source}"),
        ),
    };
    for embed in &message.embeds {
        if let Some(description) = embed.description.as_deref().map(plain) {
            lines.extend(
                description
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(str::to_string),
            );
        }
    }
    let link = message
        .embeds
        .iter()
        .find_map(|embed| embed.url.clone())
        .filter(|url| !url.is_empty());
    PlainNotice {
        headline,
        lines,
        link,
        ack_link: None,
    }
}

/// The endpoint's name (else its id), when there is one.
fn source_name(context: &NotificationContext) -> Option<&str> {
    [&context.endpoint_name, &context.endpoint_id]
        .into_iter()
        .map(String::as_str)
        .find(|name| !name.is_empty())
}

/// Markdown reduced to its words: `[label](url)` → `label`, and `**`, `__`, `~~` and `` ` ``
/// dropped.
pub(crate) fn plain(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(next) = rest.chars().next() {
        if next == '['
            && let Some((label, _, after)) = markdown_link(rest)
        {
            text.push_str(&plain(label));
            rest = after;
            continue;
        }
        if let Some(after) = ["**", "__", "~~"]
            .iter()
            .find_map(|marker| rest.strip_prefix(marker))
        {
            rest = after;
            continue;
        }
        if next != '`' {
            text.push(next);
        }
        rest = &rest[next.len_utf8()..];
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{acknowledged, context, escalated, message, notice};
    use hookgate_plugin_sdk::AlertState;

    #[test]
    fn markdown_becomes_words() {
        assert_eq!(
            plain("Deployed **v1.2** by [Ada](https://bitbucket.org/ada) in `main`"),
            "Deployed v1.2 by Ada in main"
        );
        assert_eq!(plain("[WIP] fix ~~old~~"), "[WIP] fix old");
    }

    #[test]
    fn an_opened_alert_reads_on_a_lock_screen() {
        let plain = PlainNotice::new(
            &Notification::AlertOpened(notice(AlertState::Open)),
            &context(),
        );
        assert_eq!(
            plain.text(),
            "ALERT: Pipeline #4 for main failed — acme/widgets\n\
             Status FAILED, seen 3 times\n\
             Commit bdf6fac Merged in fix\n\
             By Ada\n\
             [widgets CI]"
        );
        assert_eq!(
            plain.link.as_deref(),
            Some("https://bitbucket.org/acme/widgets/pipelines/results/4")
        );
    }

    #[test]
    fn a_closed_alert_says_resolved_and_how_long() {
        let plain = PlainNotice::new(
            &Notification::AlertClosed(notice(AlertState::Closed)),
            &context(),
        );
        assert!(plain.headline.starts_with("Resolved: Pipeline #4"));
        assert_eq!(
            plain.lines[0],
            "Status FAILED, seen 3 times, open for 12m 5s"
        );
    }

    #[test]
    fn a_message_leads_with_its_title() {
        let plain = PlainNotice::new(&Notification::Message(message()), &context());
        assert_eq!(plain.headline, "[acme/widgets] 1 new commit on main");
        assert_eq!(
            plain.lines,
            ["Deployed v1.2 by Ada", "c14c1bb Fix <tag> & more — Ada"]
        );
        assert_eq!(
            plain.link.as_deref(),
            Some("https://bitbucket.org/acme/widgets/branches/compare/b..a")
        );
    }

    #[test]
    fn a_cut_keeps_the_link_whole() {
        let long = PlainNotice {
            headline: "x".repeat(2000),
            lines: Vec::new(),
            link: Some("https://example.com/alert/1".into()),
            ack_link: Some("https://hookgate.example/a/t".into()),
        };
        let text = long.text_within(100);
        assert_eq!(text.chars().count(), 100);
        assert!(
            text.ends_with(
                "…\nhttps://example.com/alert/1\nAcknowledge: https://hookgate.example/a/t"
            ),
            "{text}"
        );
        let short = PlainNotice {
            headline: "short".into(),
            lines: Vec::new(),
            link: None,
            ack_link: None,
        };
        assert_eq!(short.text_within(100), "short");
    }

    #[test]
    fn acknowledged_and_escalated_notices_say_who_and_which_step() {
        let plain = PlainNotice::new(&Notification::AlertAcknowledged(acknowledged()), &context());
        assert_eq!(
            plain.headline,
            "Acknowledged: Pipeline #4 for main failed — acme/widgets"
        );
        assert_eq!(plain.lines[0], "Acknowledged by Grace");
        assert_eq!(
            plain.ack_link.as_deref(),
            Some("https://hookgate.example/a/tok3n")
        );
        let plain = PlainNotice::new(&Notification::AlertEscalated(escalated()), &context());
        assert_eq!(
            plain.headline,
            "Escalated: Pipeline #4 for main failed — acme/widgets"
        );
        assert_eq!(plain.lines[0], "Escalated: step 2");
    }
}
