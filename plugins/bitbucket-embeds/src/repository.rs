//! Repository events other than pushes and build statuses: a fork, a change of the repository's
//! details, a transfer, a comment on a commit, an import and a deletion. One embed each.

use crate::COMMENT_CHARS;
use crate::payload::{Repository, base_embed, link, text_at};
use hookgate_plugin_sdk::prelude::*;

/// The embed of `repo:<action>`, or `None` for an action this formatter does not post.
pub(crate) fn repository_embed(payload: &Value, action: &str) -> Option<Embed> {
    let repository = Repository::from(payload);
    let name = &repository.full_name;
    let embed = base_embed(payload, &repository).url(repository.web_url.clone());
    let embed = match action {
        "fork" => {
            let fork = payload.get("fork").filter(|fork| fork.is_object());
            let fork_name = fork
                .and_then(|fork| text_at(fork, "full_name"))
                .unwrap_or("a new repository");
            let mut embed = embed
                .title(format!("[{name}] Forked to {fork_name}"))
                .colour(colour::BLUE);
            if let Some(url) = fork.and_then(|fork| link(fork, "html")) {
                embed = embed.url(url.to_string());
            }
            embed
        }
        "updated" => {
            let mut embed = embed
                .title(format!("[{name}] Repository settings changed"))
                .colour(colour::NEUTRAL);
            let changes = payload.get("changes").and_then(Value::as_object);
            for (field, change) in changes.into_iter().flatten() {
                // Links change with the name; the name's own line says it.
                if field == "links" {
                    continue;
                }
                let shown = |side: &str| {
                    change
                        .get(side)
                        .map(display_value)
                        .filter(|text| !text.is_empty())
                        .unwrap_or_else(|| "(none)".to_string())
                };
                embed = embed.field(
                    field.replace('_', " "),
                    truncate(&format!("{} → {}", shown("old"), shown("new")), 1000),
                    false,
                );
            }
            embed
        }
        "transfer" => {
            let from = text_at(payload, "previous_workspace^name")
                .or_else(|| text_at(payload, "previous_workspace^slug"))
                .or_else(|| text_at(payload, "previous_owner^display_name"))
                .unwrap_or("another workspace");
            embed
                .title(format!("[{name}] Transferred from {from}"))
                .colour(colour::NEUTRAL)
        }
        "commit_comment_created" => {
            let commit = payload
                .get("commit")
                .or_else(|| payload.lookup("comment.commit"));
            let on = commit
                .and_then(|commit| repository.commit_link(commit))
                .unwrap_or_else(|| "a commit".to_string());
            let mut embed = embed
                .title(format!("[{name}] New comment on a commit"))
                .colour(colour::NEUTRAL)
                .field("Commit", on, true);
            let comment = payload.get("comment");
            if let Some(text) = comment.and_then(|comment| text_at(comment, "content^raw")) {
                embed = embed.description(truncate(text.trim(), COMMENT_CHARS));
            }
            if let Some(url) = comment.and_then(|comment| link(comment, "html")) {
                embed = embed.url(url.to_string());
            }
            embed
        }
        "imported" => embed
            .title(format!("[{name}] Repository imported"))
            .colour(colour::GREEN),
        "deleted" => embed
            .title(format!("[{name}] Repository deleted"))
            .colour(colour::RED),
        _ => return None,
    };
    Some(embed)
}

#[cfg(test)]
mod tests {
    use crate::test_support::{REPO, field, format_with, only_embed};
    use hookgate_plugin_sdk::prelude::*;

    const FORK: &str = include_str!("../../bitbucket/samples/repo_fork.json");
    const UPDATED: &str = include_str!("../../bitbucket/samples/repo_updated.json");
    const TRANSFER: &str = include_str!("../../bitbucket/samples/repo_transfer.json");
    const COMMIT_COMMENT: &str =
        include_str!("../../bitbucket/samples/repo_commit_comment_created.json");
    const DELETED: &str = include_str!("../../bitbucket/samples/repo_deleted.json");

    #[test]
    fn a_fork_names_the_new_repository_and_links_to_it() {
        let embed = only_embed("repo:fork", FORK);
        assert_eq!(
            embed.title.as_deref(),
            Some(format!("[{REPO}] Forked to ada-lovelace/publictestrepo").as_str())
        );
        assert_eq!(
            embed.url.as_deref(),
            Some("https://bitbucket.org/ada-lovelace/publictestrepo")
        );
        assert_eq!(
            embed.author.map(|author| author.name).as_deref(),
            Some("Martin Herren")
        );
    }

    #[test]
    fn a_settings_change_lists_old_and_new_values() {
        let embed = only_embed("repo:updated", UPDATED);
        assert_eq!(
            field(&embed, "description"),
            Some("Webhook test repository → Webhook test repository (public)")
        );
        assert_eq!(
            field(&embed, "website"),
            Some("(none) → https://example.com/publictestrepo")
        );
    }

    #[test]
    fn a_transfer_says_where_from_a_commit_comment_shows_its_text_and_commit() {
        let transfer = only_embed("repo:transfer", TRANSFER);
        assert_eq!(
            transfer.title.as_deref(),
            Some(format!("[{REPO}] Transferred from Old workspace").as_str())
        );
        let comment = only_embed("repo:commit_comment_created", COMMIT_COMMENT);
        assert_eq!(comment.description.as_deref(), Some("a comment"));
        assert!(
            field(&comment, "Commit").is_some_and(|commit| commit.starts_with("[`c14c1bb`](")),
            "{comment:?}"
        );
        let deleted = only_embed("repo:deleted", DELETED);
        assert_eq!(deleted.colour, Some(colour::RED));
    }

    #[test]
    fn an_unknown_repository_event_posts_nothing() {
        assert!(format_with("repo:something_new", FORK, json!({})).is_none());
    }
}
