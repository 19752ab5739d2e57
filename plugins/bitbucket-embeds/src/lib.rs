//! `bitbucket-embeds`: the formatter that turns Bitbucket Cloud webhooks into chat messages of
//! Discord-style embeds (the `notifier` plugin reshapes them for Slack or a JSON webhook).
//!
//! What it posts:
//! - `repo:push`: one embed per pushed ref. A branch update lists its commits (first line of
//!   the message, author, linked short hash; newest first, as Bitbucket sends them; at most
//!   `max_commits`, then "and N more") and links to the compare view. New branches and tags,
//!   deleted branches and tags, and force pushes are each described as such.
//! - `pullrequest:*`: title, description, state, author, reviewers and participants (approvals
//!   marked ✅), source → destination branch and a link; coloured by action (created green,
//!   fulfilled purple, rejected red, changes requested orange, others neutral). Approvals,
//!   requests for changes (and their withdrawal), updates and comments (new, edited, deleted,
//!   resolved, reopened) are titled by what happened and who did it; a comment shows its text.
//! - `repo:fork` (the fork, linked), `repo:updated` (each changed setting, old → new),
//!   `repo:transfer` (from which workspace), `repo:commit_comment_created` (the comment and its
//!   commit), `repo:imported`, `repo:deleted`.
//! - `issue:*`: title, state, kind, priority, the issue text (created), the changes (updated)
//!   or the comment (comment_created), and a link.
//! - `repo:commit_status_*`: nothing by default, because the `bitbucket-pipelines` alert mapper
//!   already reports failures and every build would otherwise post twice; set `commit_statuses`
//!   to post an embed per status, coloured by state.
//! - Any other event: nothing (`None`).
//!
//! The acting user is the embed's author, the payload's own time its timestamp, and the footer
//! reads `Bitbucket • <workspace>/<repository>`. Links are markdown (`[text](url)`).
//!
//! | config key | default | meaning |
//! |---|---|---|
//! | `max_commits` | `10` | commits listed per pushed branch before "and N more" |
//! | `include_description` | `true` | show pull-request and issue descriptions (cut to 1000 characters) |
//! | `commit_statuses` | `false` | also post `repo:commit_status_*` events |

mod commit_status;
mod issue;
mod payload;
mod pull_request;
mod push;
mod repository;
#[cfg(test)]
mod test_support;

use commit_status::commit_status_embed;
use hookgate_plugin_sdk::prelude::*;
use issue::issue_embed;
use pull_request::pull_request_embed;
use push::push_embeds;
use repository::repository_embed;

const DEFAULT_MAX_COMMITS: u64 = 10;
/// Pull-request and issue descriptions are a preview; the link leads to the rest.
const DESCRIPTION_CHARS: usize = 1000;
/// Comments are the point of a comment event, so they get more room.
const COMMENT_CHARS: usize = 2000;
/// The first line of a commit message is a subject; long ones are cut to keep the list legible.
const COMMIT_SUBJECT_CHARS: usize = 100;
const BITBUCKET_WEB: &str = "https://bitbucket.org";
/// What every family reads: the acting user and the repository's name and page.
const COMMON_FIELDS: [&str; 4] = [
    "actor",
    "repository.full_name",
    "repository.name",
    "repository.links.html.href",
];

/// The formatter.
pub struct Embeds;

impl Formatter for Embeds {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .config_key(
                "max_commits",
                "commits listed per pushed branch before \"and N more\" (default 10)",
            )
            .config_key(
                "include_description",
                "show pull-request and issue descriptions (default true)",
            )
            .config_key(
                "commit_statuses",
                "also post repo:commit_status_* events (default false: alerts cover them)",
            )
    }

    fn format(event: &Event, config: &Config) -> Result<Option<Message>, PluginError> {
        let settings = Settings::from_config(config)?;
        // Only what each family reads is parsed out of the body (the repository object is
        // mostly links and ids no embed shows), and nothing for events that post nothing.
        let payload = |family: &[&str]| {
            let mut paths = COMMON_FIELDS.to_vec();
            paths.extend_from_slice(family);
            event.select(&paths)
        };
        let embeds = match event.event_key.split_once(':') {
            Some(("repo", "push")) => push_embeds(&payload(&["push"])?, &settings)?,
            Some(("pullrequest", action)) => vec![pull_request_embed(
                &payload(&["pullrequest", "comment", "approval", "changes_request"])?,
                action,
                &settings,
            )?],
            Some(("issue", action)) => vec![issue_embed(
                &payload(&["issue", "comment", "changes"])?,
                action,
                &settings,
            )?],
            Some(("repo", "commit_status_created" | "commit_status_updated")) => {
                if settings.commit_statuses {
                    vec![commit_status_embed(&payload(&["commit_status"])?)?]
                } else {
                    Vec::new()
                }
            }
            Some(("repo", action)) => repository_embed(
                &payload(&[
                    "fork",
                    "changes",
                    "previous_workspace",
                    "previous_owner",
                    "commit",
                    "comment",
                ])?,
                action,
            )
            .into_iter()
            .collect(),
            _ => Vec::new(),
        };
        if embeds.is_empty() {
            return Ok(None);
        }
        Ok(Some(Message {
            text: String::new(),
            embeds,
        }))
    }
}

export_formatter!(Embeds);

/// The endpoint's `format.config`, read once per event.
struct Settings {
    max_commits: usize,
    include_description: bool,
    commit_statuses: bool,
}

impl Settings {
    fn from_config(config: &Config) -> Result<Self, PluginError> {
        let max_commits = config
            .get_u64("max_commits")?
            .unwrap_or(DEFAULT_MAX_COMMITS);
        Ok(Self {
            max_commits: usize::try_from(max_commits).unwrap_or(usize::MAX),
            include_description: config.bool_or("include_description", true)?,
            commit_statuses: config.bool_or("commit_statuses", false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;

    #[test]
    fn other_events_post_nothing_and_bad_input_fails() {
        assert_eq!(format_with("project:updated", PUSH, json!({})), None);
        let error = Embeds::format(&Event::new("pullrequest:created", "{}"), &Config::default())
            .unwrap_err();
        assert!(error.message().contains("pullrequest"), "{error}");
        let bad_config = config(json!({"max_commits": "ten"}));
        let error = Embeds::format(&Event::new("repo:push", PUSH), &bad_config).unwrap_err();
        assert!(error.message().contains("max_commits"), "{error}");
    }

    #[test]
    fn info_declares_the_config_keys() {
        let info = Embeds::info(PluginInfo::new("bitbucket-embeds", "0.1.0"));
        let keys: Vec<&str> = info
            .config_keys
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            keys,
            ["max_commits", "include_description", "commit_statuses"]
        );
    }
}
