//! The alert card the chat kinds (`discord`, `slack`) show: one embed coloured by what happened
//! (opened red, resolved green, acknowledged yellow, escalated orange), with the facts a
//! responder needs as fields.

use crate::notice::{Change, ack_url};
use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::time;

/// A commit subject in an alert card, like a line of `git log --oneline`.
const COMMIT_SUBJECT_CHARS: usize = 100;

/// The card: its title as the change shows it, the change's own line (`Acknowledged by Ada`,
/// `Escalated: step 2`) leading the description, then the status, severity, count, actor,
/// commit, labels and acknowledge link as fields.
pub(crate) fn alert_embed(
    notice: &AlertNotice,
    change: Change,
    context: &NotificationContext,
) -> Embed {
    let alert = &notice.alert;
    let colour = match change {
        Change::Opened => colour::RED,
        Change::Closed => colour::GREEN,
        Change::Acknowledged => colour::YELLOW,
        Change::Escalated => colour::ORANGE,
    };
    let mut embed = Embed::new().title(change.title(alert)).colour(colour);
    if let Some(url) = alert.url.as_deref().filter(|url| !url.is_empty()) {
        embed = embed.url(url);
    }
    let description: Vec<String> = change
        .line(notice)
        .map(|line| format!("**{line}**"))
        .into_iter()
        .chain(alert.description.clone().filter(|text| !text.is_empty()))
        .collect();
    if !description.is_empty() {
        embed = embed.description(description.join("\n"));
    }
    if !alert.source_status.is_empty() {
        embed = embed.field("Status", alert.source_status.clone(), true);
    }
    embed = embed
        .field("Severity", alert.severity.as_str(), true)
        .field("Count", notice.count.to_string(), true);
    if let Some(actor) = alert.actor.as_deref().filter(|actor| !actor.is_empty()) {
        embed = embed.field("Actor", actor, true);
    }
    if change == Change::Closed
        && let Some(closed_at) = notice.closed_at
    {
        let open_for = time::duration_text(closed_at.saturating_sub(notice.opened_at));
        embed = embed.field("Open for", open_for, true);
    }
    if let Some(hash) = alert.commit_hash.as_deref().filter(|hash| !hash.is_empty()) {
        let short = short_hash(hash);
        let subject = alert
            .commit_message
            .as_deref()
            .map(first_line)
            .filter(|subject| !subject.is_empty())
            .map(|subject| truncate(subject, COMMIT_SUBJECT_CHARS));
        let commit = match subject {
            Some(subject) => format!("`{short}` {subject}"),
            None => format!("`{short}`"),
        };
        embed = embed.field("Commit", commit, false);
    }
    for (name, value) in &alert.labels {
        embed = embed.field(name.clone(), value.clone(), true);
    }
    if let Some(ack_url) = ack_url(notice) {
        embed = embed.field("Acknowledge", format!("[Acknowledge]({ack_url})"), false);
    }
    let endpoint = if context.endpoint_name.is_empty() {
        &context.endpoint_id
    } else {
        &context.endpoint_name
    };
    embed = embed.footer(if endpoint.is_empty() {
        "hookgate".to_string()
    } else {
        format!("hookgate • {endpoint}")
    });
    match change.at(notice) {
        Some(at) => embed.timestamp(time::rfc3339_from_millis(at)),
        None => embed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{acknowledged, context, escalated, notice};
    use hookgate_plugin_sdk::AlertState;

    fn fields(embed: &Embed) -> Vec<(&str, &str)> {
        embed
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect()
    }

    #[test]
    fn alert_cards_carry_what_a_responder_needs() {
        let opened = alert_embed(&notice(AlertState::Open), Change::Opened, &context());
        assert_eq!(
            opened.title.as_deref(),
            Some("Pipeline #4 for main failed — acme/widgets")
        );
        assert_eq!(opened.colour, Some(colour::RED));
        assert_eq!(opened.description, None);
        assert_eq!(
            fields(&opened),
            [
                ("Status", "FAILED"),
                ("Severity", "critical"),
                ("Count", "3"),
                ("Actor", "Ada"),
                ("Commit", "`bdf6fac` Merged in fix"),
                ("branch", "main"),
            ]
        );
        assert_eq!(opened.timestamp.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(opened.footer.as_deref(), Some("hookgate • widgets CI"));

        let closed = alert_embed(&notice(AlertState::Closed), Change::Closed, &context());
        assert_eq!(
            closed.title.as_deref(),
            Some("Resolved: Pipeline #4 for main failed — acme/widgets")
        );
        assert_eq!(closed.colour, Some(colour::GREEN));
        assert!(
            closed
                .fields
                .iter()
                .any(|f| f.name == "Open for" && f.value == "12m 5s")
        );
        assert_eq!(closed.timestamp.as_deref(), Some("2023-11-14T22:25:25Z"));
    }

    #[test]
    fn an_acknowledged_card_is_yellow_and_says_who() {
        let card = alert_embed(&acknowledged(), Change::Acknowledged, &context());
        assert_eq!(
            card.title.as_deref(),
            Some("Acknowledged: Pipeline #4 for main failed — acme/widgets")
        );
        assert_eq!(card.colour, Some(colour::YELLOW));
        assert_eq!(
            card.description.as_deref(),
            Some("**Acknowledged by Grace**")
        );
        assert_eq!(
            fields(&card).last(),
            Some(&(
                "Acknowledge",
                "[Acknowledge](https://hookgate.example/a/tok3n)"
            ))
        );
        // An acknowledgement carries no time of its own; the opening's would mislead.
        assert_eq!(card.timestamp, None);
    }

    #[test]
    fn an_escalated_card_is_orange_and_names_the_step() {
        let card = alert_embed(&escalated(), Change::Escalated, &context());
        assert_eq!(
            card.title.as_deref(),
            Some("Escalated: Pipeline #4 for main failed — acme/widgets")
        );
        assert_eq!(card.colour, Some(colour::ORANGE));
        assert_eq!(card.description.as_deref(), Some("**Escalated: step 2**"));
    }
}
