//! `pullrequest:*`: one embed per event, titled by what happened and who did it.

use crate::payload::{Person, Repository, base_embed, link, text_at};
use crate::{COMMENT_CHARS, DESCRIPTION_CHARS, Settings};
use hookgate_plugin_sdk::prelude::*;

pub(crate) fn pull_request_embed(
    payload: &Value,
    action: &str,
    settings: &Settings,
) -> Result<Embed, PluginError> {
    let pull_request = payload
        .get("pullrequest")
        .filter(|value| value.is_object())
        .ok_or_else(|| {
            PluginError::new(format!("pullrequest:{action} payload has no pullrequest"))
        })?;
    let repository = Repository::from(payload);
    let number = pull_request
        .get("id")
        .map(display_value)
        .filter(|id| !id.is_empty())
        .map_or_else(String::new, |id| format!("#{id} "));
    let title = text_at(pull_request, "title").unwrap_or("(untitled)");
    let actor = payload
        .get("actor")
        .and_then(Person::from)
        .map(|actor| actor.name);
    let comment = payload.get("comment").filter(|value| value.is_object());
    // An approval and a request for changes both name their reviewer and date.
    let review = if action.starts_with("changes_request_") {
        "changes_request"
    } else {
        "approval"
    };
    let approver = payload
        .lookup(&format!("{review}.user"))
        .and_then(Person::from)
        .map(|user| user.name)
        .or_else(|| actor.clone())
        .unwrap_or_else(|| "someone".to_string());
    let actor_name = actor.clone().unwrap_or_else(|| "someone".to_string());
    let commenter = comment
        .and_then(|comment| comment.get("user"))
        .and_then(Person::from)
        .map(|user| user.name)
        .or_else(|| actor.clone())
        .unwrap_or_else(|| "someone".to_string());

    let heading = match action {
        "created" => format!("Pull request opened: {number}{title}"),
        "updated" => format!("Pull request updated: {number}{title}"),
        "approved" => format!("Pull request {number}approved by {approver}: {title}"),
        "unapproved" => format!("Pull request {number}approval withdrawn by {approver}: {title}"),
        "fulfilled" => format!("Pull request merged: {number}{title}"),
        "rejected" => format!("Pull request declined: {number}{title}"),
        "changes_request_created" => {
            format!("Changes requested by {approver} on pull request {number}{title}")
        }
        "changes_request_removed" => {
            format!("Request for changes withdrawn by {approver} on pull request {number}{title}")
        }
        "comment_created" => format!("New comment by {commenter} on pull request {number}{title}"),
        "comment_updated" => {
            format!("Comment edited by {commenter} on pull request {number}{title}")
        }
        "comment_deleted" => {
            format!("Comment deleted by {actor_name} on pull request {number}{title}")
        }
        "comment_resolved" => {
            format!("Comment resolved by {actor_name} on pull request {number}{title}")
        }
        "comment_reopened" => {
            format!("Comment reopened by {actor_name} on pull request {number}{title}")
        }
        other => format!("Pull request {number}{}: {title}", other.replace('_', " ")),
    };
    let colour = match action {
        "created" => colour::GREEN,
        "changes_request_created" => colour::ORANGE,
        "fulfilled" => colour::PURPLE,
        "rejected" => colour::RED,
        _ => colour::NEUTRAL,
    };

    let mut embed = base_embed(payload, &repository)
        .title(format!("[{}] {heading}", repository.full_name))
        .colour(colour);
    // A deleted comment has no text or page left to show.
    let shows_comment = matches!(
        action,
        "comment_created" | "comment_updated" | "comment_resolved" | "comment_reopened"
    );
    let url = comment
        .filter(|_| shows_comment)
        .and_then(|comment| link(comment, "html"))
        .or_else(|| link(pull_request, "html"));
    if let Some(url) = url {
        embed = embed.url(url);
    }

    let description = if shows_comment {
        comment
            .and_then(|comment| text_at(comment, "content^raw"))
            .map(|text| truncate(text.trim(), COMMENT_CHARS))
    } else if settings.include_description {
        text_at(pull_request, "description").map(|text| truncate(text.trim(), DESCRIPTION_CHARS))
    } else {
        None
    };
    if let Some(description) = description {
        embed = embed.description(description);
    }

    embed = embed
        .field("State", pull_request_state(pull_request), true)
        .field("Branches", branches(pull_request), true);
    if let Some(author) = pull_request.get("author").and_then(Person::from) {
        embed = embed.field("Author", author.name, true);
    }
    let (reviewers, participants) = people(pull_request);
    if !reviewers.is_empty() {
        embed = embed.field("Reviewers", reviewers.join(", "), false);
    }
    if !participants.is_empty() {
        embed = embed.field("Participants", participants.join(", "), false);
    }
    if shows_comment && let Some(path) = comment.and_then(|comment| text_at(comment, "inline^path"))
    {
        let line = comment
            .and_then(|comment| {
                comment
                    .lookup("inline.to")
                    .or(comment.lookup("inline.from"))
            })
            .filter(|line| line.is_number())
            .map(display_value);
        let place = match line {
            Some(line) => format!("`{path}` line {line}"),
            None => format!("`{path}`"),
        };
        embed = embed.field("On", place, false);
    }
    if action == "fulfilled"
        && let Some(merge_commit) = pull_request.get("merge_commit").filter(|c| c.is_object())
        && let Some(commit) = repository.commit_link(merge_commit)
    {
        embed = embed.field("Merge commit", commit, true);
    }
    if action == "rejected"
        && let Some(reason) = text_at(pull_request, "reason")
    {
        embed = embed.field("Reason", truncate(reason.trim(), DESCRIPTION_CHARS), false);
    }

    let timestamp = match action {
        "approved" | "unapproved" => text_at(payload, "approval^date"),
        "changes_request_created" | "changes_request_removed" => {
            text_at(payload, "changes_request^date")
        }
        "comment_created" => comment.and_then(|comment| {
            text_at(comment, "created_on").or_else(|| text_at(comment, "updated_on"))
        }),
        "comment_updated" => comment.and_then(|comment| text_at(comment, "updated_on")),
        "comment_resolved" => comment.and_then(|comment| text_at(comment, "resolution^created_on")),
        "created" => text_at(pull_request, "created_on"),
        _ => None,
    }
    .or_else(|| text_at(pull_request, "updated_on"));
    if let Some(timestamp) = timestamp {
        embed = embed.timestamp(timestamp);
    }
    Ok(embed)
}

/// `Open`, `Open (draft)`, `Merged`, `Declined`, `Superseded`.
fn pull_request_state(pull_request: &Value) -> String {
    let state = match text_at(pull_request, "state") {
        Some("OPEN") => "Open".to_string(),
        Some("MERGED") => "Merged".to_string(),
        Some("DECLINED") => "Declined".to_string(),
        Some("SUPERSEDED") => "Superseded".to_string(),
        Some(other) => other.to_string(),
        None => "Unknown".to_string(),
    };
    if pull_request.get("draft") == Some(&Value::Bool(true)) {
        format!("{state} (draft)")
    } else {
        state
    }
}

/// `` `feature` → `main` ``, with the source repository named when it is a fork.
fn branches(pull_request: &Value) -> String {
    let branch = |side: &str| {
        text_at(pull_request, &format!("{side}^branch^name"))
            .unwrap_or("?")
            .to_string()
    };
    let source_repository = text_at(pull_request, "source^repository^full_name");
    let destination_repository = text_at(pull_request, "destination^repository^full_name");
    let source = match (source_repository, destination_repository) {
        (Some(source), Some(destination)) if source != destination => {
            format!("{source}:{}", branch("source"))
        }
        _ => branch("source"),
    };
    format!("`{source}` → `{}`", branch("destination"))
}

/// Reviewers, then the other participants, each with their review state: `Ada ✅` for an
/// approval, `Ada (changes requested)`.
fn people(pull_request: &Value) -> (Vec<String>, Vec<String>) {
    let participants: &[Value] = pull_request
        .get("participants")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let reviewers: &[Value] = pull_request
        .get("reviewers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let marked = |user: &Value, participant: Option<&Value>| {
        let name = Person::from(user)?.name;
        let approved = participant.and_then(|p| p.get("approved")) == Some(&Value::Bool(true));
        let changes_requested =
            participant.and_then(|p| p.str_at("state")) == Some("changes_requested");
        Some(if approved {
            format!("{name} ✅")
        } else if changes_requested {
            format!("{name} (changes requested)")
        } else {
            name
        })
    };
    let participant_of = |user: &Value| {
        participants.iter().find(|participant| {
            participant
                .get("user")
                .is_some_and(|other| Person::same_account(user, other))
        })
    };
    let reviewer_names = reviewers
        .iter()
        .filter_map(|reviewer| marked(reviewer, participant_of(reviewer)))
        .collect();
    let other_names = participants
        .iter()
        .filter(|participant| {
            let Some(user) = participant.get("user") else {
                return false;
            };
            participant.str_at("role") != Some("REVIEWER")
                && !reviewers
                    .iter()
                    .any(|reviewer| Person::same_account(reviewer, user))
        })
        .filter_map(|participant| marked(participant.get("user")?, Some(participant)))
        .collect();
    (reviewer_names, other_names)
}

#[cfg(test)]
mod tests {
    use crate::DESCRIPTION_CHARS;
    use crate::test_support::*;
    use hookgate_plugin_sdk::prelude::*;

    #[test]
    fn created_pull_request_is_green_with_title_branches_and_link() {
        let embed = only_embed("pullrequest:created", PR_CREATED);
        assert_eq!(
            embed.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request opened: #2 aha")
        );
        assert_eq!(embed.colour, Some(colour::GREEN));
        assert_eq!(embed.url.as_deref(), Some(PR_URL));
        assert_eq!(field(&embed, "Branches"), Some("`wen-emos` → `niam`"));
        assert_eq!(field(&embed, "State"), Some("Open"));
        assert_eq!(field(&embed, "Author"), Some("6543"));
        assert_eq!(embed.author.as_ref().unwrap().name, "6543");
        assert_eq!(
            embed.timestamp.as_deref(),
            Some("2025-08-12T15:46:15.353760+00:00")
        );
        assert_eq!(
            embed.footer.as_deref(),
            Some("Bitbucket • 6543/collect-webhooks")
        );
        // The real capture has an empty description, so none is shown.
        assert_eq!(embed.description, None);
    }

    #[test]
    fn merged_is_purple_and_declined_is_red_with_its_reason() {
        let merged = only_embed("pullrequest:fulfilled", PR_FULFILLED);
        assert_eq!(merged.colour, Some(colour::PURPLE));
        assert_eq!(
            merged.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request merged: #2 aha")
        );
        assert_eq!(field(&merged, "State"), Some("Merged"));
        assert_eq!(
            field(&merged, "Merge commit"),
            Some("[`fc2a2c0`](https://bitbucket.org/6543/collect-webhooks/commits/fc2a2c05765d)")
        );

        let declined = only_embed("pullrequest:rejected", PR_REJECTED);
        assert_eq!(declined.colour, Some(colour::RED));
        assert_eq!(
            declined.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request declined: #1 taerg era senilwen")
        );
        assert_eq!(
            declined.url.as_deref(),
            Some("https://bitbucket.org/6543/collect-webhooks/pull-requests/1")
        );
        assert_eq!(field(&declined, "State"), Some("Declined"));
        assert_eq!(field(&declined, "Reason"), Some("aaa"));
        assert_eq!(field(&declined, "Branches"), Some("`saa-erom` → `niam`"));
    }

    #[test]
    fn approvals_name_the_approver_and_mark_approved_participants() {
        let approved = only_embed("pullrequest:approved", PR_APPROVED);
        assert_eq!(
            approved.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request #2 approved by demoaccount2-commits: aha")
        );
        assert_eq!(approved.colour, Some(colour::NEUTRAL));
        assert_eq!(
            field(&approved, "Participants"),
            Some("6543, demoaccount2-commits ✅")
        );
        assert_eq!(
            approved.timestamp.as_deref(),
            Some("2025-08-12T17:00:46.982257+00:00")
        );

        let withdrawn = only_embed("pullrequest:unapproved", PR_UNAPPROVED);
        assert_eq!(
            withdrawn.title.as_deref(),
            Some(
                "[6543/collect-webhooks] Pull request #2 approval withdrawn by demoaccount2-commits: aha"
            )
        );
        assert_eq!(
            field(&withdrawn, "Participants"),
            Some("6543, demoaccount2-commits")
        );

        let updated = only_embed("pullrequest:updated", PR_UPDATED);
        assert_eq!(
            updated.title.as_deref(),
            Some("[6543/collect-webhooks] Pull request updated: #2 aha")
        );
        assert_eq!(updated.colour, Some(colour::NEUTRAL));
    }

    #[test]
    fn reviewers_are_listed_with_their_review_state() {
        let mut payload: Value = serde_json::from_str(PR_APPROVED).unwrap();
        let approver = payload["approval"]["user"].clone();
        let author = payload["pullrequest"]["author"].clone();
        payload["pullrequest"]["reviewers"] = json!([approver, author]);
        payload["pullrequest"]["participants"][0]["state"] = json!("changes_requested");
        let embed = only_embed("pullrequest:approved", &payload.to_string());
        assert_eq!(
            field(&embed, "Reviewers"),
            Some("demoaccount2-commits ✅, 6543 (changes requested)")
        );
        assert_eq!(field(&embed, "Participants"), None);
    }

    #[test]
    fn comment_shows_the_comment_text_and_links_to_it() {
        let embed = only_embed("pullrequest:comment_created", PR_COMMENT);
        assert_eq!(
            embed.title.as_deref(),
            Some("[6543/collect-webhooks] New comment by 6543 on pull request #2 aha")
        );
        assert_eq!(embed.description.as_deref(), Some("a comment"));
        assert_eq!(
            embed.url.as_deref(),
            Some(
                "https://bitbucket.org/6543/collect-webhooks/pull-requests/2/_/diff#comment-669392967"
            )
        );
        assert_eq!(embed.colour, Some(colour::NEUTRAL));
        assert_eq!(
            embed.timestamp.as_deref(),
            Some("2025-08-12T16:51:27.119515+00:00")
        );
    }

    #[test]
    fn long_descriptions_are_cut_and_can_be_left_out() {
        let mut payload: Value = serde_json::from_str(PR_CREATED).unwrap();
        payload["pullrequest"]["description"] = json!(format!("Why:\n{}", "x".repeat(5000)));
        let body = payload.to_string();
        let embed = only_embed("pullrequest:created", &body);
        let description = embed.description.unwrap();
        assert!(description.starts_with("Why:\nxxx"));
        assert_eq!(description.chars().count(), DESCRIPTION_CHARS);
        assert!(description.ends_with('…'));

        let quiet = format_with(
            "pullrequest:created",
            &body,
            json!({"include_description": false}),
        );
        assert_eq!(quiet.unwrap().embeds[0].description, None);
    }

    const CHANGES_REQUESTED: &str =
        include_str!("../../bitbucket/samples/pullrequest_changes_request_created.json");
    const COMMENT_UPDATED: &str =
        include_str!("../../bitbucket/samples/pullrequest_comment_updated.json");
    const COMMENT_DELETED: &str =
        include_str!("../../bitbucket/samples/pullrequest_comment_deleted.json");

    #[test]
    fn a_request_for_changes_names_the_reviewer_in_orange() {
        let embed = only_embed("pullrequest:changes_request_created", CHANGES_REQUESTED);
        assert_eq!(
            embed.title.as_deref(),
            Some(
                "[6543/collect-webhooks] Changes requested by demoaccount2-commits on pull \
                 request #2 aha"
            )
        );
        assert_eq!(embed.colour, Some(colour::ORANGE));
        assert_eq!(embed.url.as_deref(), Some(PR_URL));
    }

    #[test]
    fn an_edited_comment_shows_its_new_text_and_a_deleted_one_none() {
        let edited = only_embed("pullrequest:comment_updated", COMMENT_UPDATED);
        assert!(
            edited
                .title
                .as_deref()
                .is_some_and(|title| title.contains("Comment edited by")),
            "{edited:?}"
        );
        assert_eq!(edited.description.as_deref(), Some("an edited comment"));
        let deleted = only_embed("pullrequest:comment_deleted", COMMENT_DELETED);
        assert!(
            deleted
                .title
                .as_deref()
                .is_some_and(|title| title.contains("Comment deleted by")),
            "{deleted:?}"
        );
        assert_ne!(deleted.description.as_deref(), Some("a comment"));
    }
}
