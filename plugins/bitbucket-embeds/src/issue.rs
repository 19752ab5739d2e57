//! `issue:*`: created, updated (with what changed) and commented issues.

use crate::payload::{Person, Repository, base_embed, link, text_at};
use crate::{COMMENT_CHARS, COMMIT_SUBJECT_CHARS, DESCRIPTION_CHARS, Settings};
use hookgate_plugin_sdk::prelude::*;

pub(crate) fn issue_embed(
    payload: &Value,
    action: &str,
    settings: &Settings,
) -> Result<Embed, PluginError> {
    let issue = payload
        .get("issue")
        .filter(|value| value.is_object())
        .ok_or_else(|| PluginError::new(format!("issue:{action} payload has no issue")))?;
    let repository = Repository::from(payload);
    let number = issue
        .get("id")
        .map(display_value)
        .filter(|id| !id.is_empty())
        .map_or_else(String::new, |id| format!("#{id} "));
    let title = text_at(issue, "title").unwrap_or("(untitled)");
    let comment = payload.get("comment").filter(|value| value.is_object());
    let commenter = comment
        .and_then(|comment| comment.get("user"))
        .or_else(|| payload.get("actor"))
        .and_then(Person::from)
        .map_or_else(|| "someone".to_string(), |person| person.name);

    let heading = match action {
        "created" => format!("Issue opened: {number}{title}"),
        "updated" => format!("Issue {number}updated: {title}"),
        "comment_created" => format!("New comment by {commenter} on issue {number}{title}"),
        other => format!("Issue {number}{}: {title}", other.replace('_', " ")),
    };
    let mut embed = base_embed(payload, &repository)
        .title(format!("[{}] {heading}", repository.full_name))
        .colour(if action == "created" {
            colour::GREEN
        } else {
            colour::NEUTRAL
        });
    let url = comment
        .filter(|_| action == "comment_created")
        .and_then(|comment| link(comment, "html"))
        .or_else(|| link(issue, "html"));
    if let Some(url) = url {
        embed = embed.url(url);
    }

    let comment_text = comment
        .and_then(|comment| text_at(comment, "content^raw"))
        .map(|text| truncate(text.trim(), COMMENT_CHARS));
    let description = match action {
        "comment_created" => comment_text,
        "updated" => {
            let mut parts = issue_changes(payload);
            parts.extend(comment_text);
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        _ if settings.include_description => {
            text_at(issue, "content^raw").map(|text| truncate(text.trim(), DESCRIPTION_CHARS))
        }
        _ => None,
    };
    if let Some(description) = description {
        embed = embed.description(description);
    }

    // The API names the issue's kind `kind` (its `type` is `issue`); Atlassian's payload
    // documentation calls it `type`.
    let kind = text_at(issue, "kind").or_else(|| text_at(issue, "type").filter(|t| *t != "issue"));
    let attributes = [
        ("State", text_at(issue, "state")),
        ("Kind", kind),
        ("Priority", text_at(issue, "priority")),
        ("Assignee", text_at(issue, "assignee^display_name")),
    ];
    for (name, value) in attributes {
        if let Some(value) = value {
            embed = embed.field(name, value, true);
        }
    }

    let timestamp = match action {
        "created" => text_at(issue, "created_on"),
        "comment_created" => comment.and_then(|comment| text_at(comment, "created_on")),
        _ => None,
    }
    .or_else(|| text_at(issue, "updated_on"));
    if let Some(timestamp) = timestamp {
        embed = embed.timestamp(timestamp);
    }
    Ok(embed)
}

/// `status: open → resolved`, one line per changed attribute of an `issue:updated`.
fn issue_changes(payload: &Value) -> Vec<String> {
    let Some(changes) = payload.get("changes").and_then(Value::as_object) else {
        return Vec::new();
    };
    changes
        .iter()
        .map(|(attribute, change)| {
            let side = |key: &str| {
                change
                    .get(key)
                    .map(display_value)
                    .filter(|value| !value.is_empty())
                    .unwrap_or_else(|| "none".to_string())
            };
            // Long values (a rewritten description) would drown the message; the link has them.
            let side = |key: &str| truncate(&side(key), COMMIT_SUBJECT_CHARS);
            format!("{attribute}: {} → {}", side("old"), side("new"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::test_support::*;
    use hookgate_plugin_sdk::prelude::*;

    #[test]
    fn issues_get_an_embed() {
        let created = only_embed("issue:created", ISSUE_CREATED);
        assert_eq!(
            created.title.as_deref(),
            Some("[team_name/repo_name] Issue opened: #1 Issue title")
        );
        assert_eq!(created.colour, Some(colour::GREEN));
        assert_eq!(created.description.as_deref(), Some("Issue description"));

        let updated = only_embed("issue:updated", ISSUE_UPDATED);
        assert_eq!(
            updated.description.as_deref(),
            Some("status: open → on hold\nComment text")
        );

        let comment = only_embed("issue:comment_created", ISSUE_COMMENT);
        assert_eq!(
            comment.title.as_deref(),
            Some("[team_name/repo_name] New comment by Emma on issue #1 Issue title")
        );
        assert_eq!(comment.description.as_deref(), Some("Comment text"));
    }
}
