//! What the unit tests of every event family share: the real captures in
//! `plugins/bitbucket/samples/` and ways to run the formatter on them.

use crate::Embeds;
use hookgate_plugin_sdk::prelude::*;

pub(crate) const PUSH: &str = include_str!("../../bitbucket/samples/repo_push.json");
pub(crate) const PR_CREATED: &str =
    include_str!("../../bitbucket/samples/pullrequest_created.json");
pub(crate) const PR_UPDATED: &str =
    include_str!("../../bitbucket/samples/pullrequest_updated.json");
pub(crate) const PR_APPROVED: &str =
    include_str!("../../bitbucket/samples/pullrequest_approved.json");
pub(crate) const PR_UNAPPROVED: &str =
    include_str!("../../bitbucket/samples/pullrequest_unapproved.json");
pub(crate) const PR_FULFILLED: &str =
    include_str!("../../bitbucket/samples/pullrequest_fulfilled.json");
pub(crate) const PR_REJECTED: &str =
    include_str!("../../bitbucket/samples/pullrequest_rejected.json");
pub(crate) const PR_COMMENT: &str =
    include_str!("../../bitbucket/samples/pullrequest_comment_created.json");
pub(crate) const ISSUE_CREATED: &str = include_str!("../../bitbucket/samples/issue_created.json");
pub(crate) const ISSUE_UPDATED: &str = include_str!("../../bitbucket/samples/issue_updated.json");
pub(crate) const ISSUE_COMMENT: &str =
    include_str!("../../bitbucket/samples/issue_comment_created.json");
pub(crate) const STATUS_UPDATED: &str =
    include_str!("../../bitbucket/samples/repo_commit_status_updated.json");

pub(crate) const REPO: &str = "martinherren1984/publictestrepo";
pub(crate) const NEW_HASH: &str = "c14c1bb05dfb1fdcdf06b31485fff61b0ea44277";
pub(crate) const OLD_HASH: &str = "a51241ae1f00cbe728930db48e890b18fd527f99";
pub(crate) const PR_URL: &str = "https://bitbucket.org/6543/collect-webhooks/pull-requests/2";

pub(crate) fn config(value: Value) -> Config {
    match value {
        Value::Object(map) => Config::from_map(map),
        _ => Config::default(),
    }
}

pub(crate) fn format_with(key: &str, body: &str, settings: Value) -> Option<Message> {
    Embeds::format(&Event::new(key, body), &config(settings)).unwrap()
}

/// The single embed of a message, as it leaves the plugin (cut to Discord's limits).
pub(crate) fn only_embed(key: &str, body: &str) -> Embed {
    let message = format_with(key, body, json!({}))
        .expect("a message")
        .within_limits();
    assert_eq!(message.embeds.len(), 1, "{message:?}");
    message.embeds.into_iter().next().unwrap()
}

pub(crate) fn field<'a>(embed: &'a Embed, name: &str) -> Option<&'a str> {
    embed
        .fields
        .iter()
        .find(|field| field.name == name)
        .map(|field| field.value.as_str())
}
