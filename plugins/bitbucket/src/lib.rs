//! `bitbucket`: the provider plugin for Bitbucket Cloud webhooks. It tells the gateway how to
//! receive them: the event arrives in `X-Event-Key`, each delivery has a unique
//! `X-Request-UUID` (used to drop repeats) and an `X-Attempt-Number`, and a webhook with a secret
//! signs the raw body in `X-Hub-Signature` as `sha256=<lower-case hex HMAC-SHA256>`. It lists
//! every trigger Bitbucket Cloud offers — repository, pull-request, issue and commit-status
//! events — with a one-line description and a sample payload each (real captures, see
//! `samples/SOURCES.md`; the `issue_*` samples are Atlassian's documentation templates, and the
//! samples of events no public capture exists for are derived from a real one there). `repo:push` is the only "push" event.
//!
//! Config keys: none (a provider is described once, at load, and reads no endpoint config).

use hookgate_plugin_sdk::prelude::*;

/// The header naming the event, e.g. `repo:push`.
const EVENT_HEADER: &str = "X-Event-Key";
/// A unique id per delivery; the same id on a retry.
const DELIVERY_ID_HEADER: &str = "X-Request-UUID";
/// Bitbucket's retry counter, 1 for the first attempt.
const ATTEMPT_HEADER: &str = "X-Attempt-Number";
const SIGNATURE_HEADER: &str = "X-Hub-Signature";
const SIGNATURE_PREFIX: &str = "sha256=";

/// The one event an endpoint with `"events": "push"` receives.
const PUSH_EVENT: &str = "repo:push";

/// Every event this provider knows: key, description, sample payload. Each sample file is named
/// after its key with `:` replaced by `_`.
const EVENTS: &[(&str, &str, &str)] = &[
    (
        "repo:push",
        "Commits pushed, or a branch or tag created or deleted",
        include_str!("../samples/repo_push.json"),
    ),
    (
        "pullrequest:created",
        "A pull request was opened",
        include_str!("../samples/pullrequest_created.json"),
    ),
    (
        "pullrequest:updated",
        "A pull request's title, description, reviewers or source commits changed",
        include_str!("../samples/pullrequest_updated.json"),
    ),
    (
        "pullrequest:approved",
        "Someone approved a pull request",
        include_str!("../samples/pullrequest_approved.json"),
    ),
    (
        "pullrequest:unapproved",
        "Someone withdrew their approval of a pull request",
        include_str!("../samples/pullrequest_unapproved.json"),
    ),
    (
        "pullrequest:fulfilled",
        "A pull request was merged",
        include_str!("../samples/pullrequest_fulfilled.json"),
    ),
    (
        "pullrequest:rejected",
        "A pull request was declined",
        include_str!("../samples/pullrequest_rejected.json"),
    ),
    (
        "pullrequest:comment_created",
        "Someone commented on a pull request",
        include_str!("../samples/pullrequest_comment_created.json"),
    ),
    (
        "pullrequest:changes_request_created",
        "Someone requested changes on a pull request",
        include_str!("../samples/pullrequest_changes_request_created.json"),
    ),
    (
        "pullrequest:changes_request_removed",
        "Someone withdrew their request for changes on a pull request",
        include_str!("../samples/pullrequest_changes_request_removed.json"),
    ),
    (
        "pullrequest:comment_updated",
        "Someone edited a comment on a pull request",
        include_str!("../samples/pullrequest_comment_updated.json"),
    ),
    (
        "pullrequest:comment_deleted",
        "Someone deleted a comment on a pull request",
        include_str!("../samples/pullrequest_comment_deleted.json"),
    ),
    (
        "pullrequest:comment_resolved",
        "Someone resolved a comment thread on a pull request",
        include_str!("../samples/pullrequest_comment_resolved.json"),
    ),
    (
        "pullrequest:comment_reopened",
        "Someone reopened a resolved comment thread on a pull request",
        include_str!("../samples/pullrequest_comment_reopened.json"),
    ),
    (
        "issue:created",
        "An issue was opened",
        include_str!("../samples/issue_created.json"),
    ),
    (
        "issue:updated",
        "An issue's state, assignee or other attributes changed",
        include_str!("../samples/issue_updated.json"),
    ),
    (
        "issue:comment_created",
        "Someone commented on an issue",
        include_str!("../samples/issue_comment_created.json"),
    ),
    (
        "repo:commit_status_created",
        "A build status was reported for a commit (e.g. a pipeline started)",
        include_str!("../samples/repo_commit_status_created.json"),
    ),
    (
        "repo:commit_status_updated",
        "A commit's build status changed (e.g. a pipeline passed or failed)",
        include_str!("../samples/repo_commit_status_updated.json"),
    ),
    (
        "repo:fork",
        "Someone forked the repository",
        include_str!("../samples/repo_fork.json"),
    ),
    (
        "repo:updated",
        "The repository's name, description, website, language or main branch changed",
        include_str!("../samples/repo_updated.json"),
    ),
    (
        "repo:transfer",
        "The repository moved to this workspace from another",
        include_str!("../samples/repo_transfer.json"),
    ),
    (
        "repo:commit_comment_created",
        "Someone commented on a commit",
        include_str!("../samples/repo_commit_comment_created.json"),
    ),
    (
        "repo:imported",
        "The repository was imported",
        include_str!("../samples/repo_imported.json"),
    ),
    (
        "repo:deleted",
        "The repository was deleted",
        include_str!("../samples/repo_deleted.json"),
    ),
];

/// The provider.
pub struct Bitbucket;

impl Provider for Bitbucket {
    fn info(package: PluginInfo) -> PluginInfo {
        // The Cargo description says it all, and a provider reads no config keys.
        package
    }

    fn describe() -> ProviderDescription {
        let description = ProviderDescription::new(EVENT_HEADER)
            .delivery_id_header(DELIVERY_ID_HEADER)
            .attempt_header(ATTEMPT_HEADER)
            .signature(SignatureScheme::hmac_sha256_hex(
                SIGNATURE_HEADER,
                SIGNATURE_PREFIX,
            ));
        EVENTS
            .iter()
            .fold(description, |description, &(key, summary, sample)| {
                let event = EventType::new(key, summary, sample);
                description.event(if key == PUSH_EVENT {
                    event.push()
                } else {
                    event
                })
            })
    }
}

export_provider!(Bitbucket);

#[cfg(test)]
mod tests {
    use super::*;
    use hookgate_plugin_sdk::{DigestEncoding, HmacAlgorithm};
    use std::collections::HashSet;

    #[test]
    fn headers_and_signature_are_bitbucket_clouds() {
        let description = Bitbucket::describe();
        assert_eq!(description.event_header, "X-Event-Key");
        assert_eq!(
            description.delivery_id_header.as_deref(),
            Some("X-Request-UUID")
        );
        assert_eq!(
            description.attempt_header.as_deref(),
            Some("X-Attempt-Number")
        );
        assert_eq!(
            description.signature,
            Some(SignatureScheme::Hmac {
                header: "X-Hub-Signature".into(),
                prefix: "sha256=".into(),
                algorithm: HmacAlgorithm::Sha256,
                encoding: DigestEncoding::Hex,
            })
        );
    }

    #[test]
    fn exactly_the_specified_events_with_unique_keys() {
        let keys: Vec<String> = Bitbucket::describe()
            .events
            .into_iter()
            .map(|event| event.key)
            .collect();
        let unique: HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "duplicate keys in {keys:?}");
        let expected = [
            "repo:push",
            "pullrequest:created",
            "pullrequest:updated",
            "pullrequest:approved",
            "pullrequest:unapproved",
            "pullrequest:fulfilled",
            "pullrequest:rejected",
            "pullrequest:comment_created",
            "pullrequest:changes_request_created",
            "pullrequest:changes_request_removed",
            "pullrequest:comment_updated",
            "pullrequest:comment_deleted",
            "pullrequest:comment_resolved",
            "pullrequest:comment_reopened",
            "issue:created",
            "issue:updated",
            "issue:comment_created",
            "repo:commit_status_created",
            "repo:commit_status_updated",
            "repo:fork",
            "repo:updated",
            "repo:transfer",
            "repo:commit_comment_created",
            "repo:imported",
            "repo:deleted",
        ];
        assert_eq!(keys, expected);
    }

    #[test]
    fn exactly_one_push_event_and_it_is_repo_push() {
        let push: Vec<String> = Bitbucket::describe()
            .events
            .into_iter()
            .filter(|event| event.push)
            .map(|event| event.key)
            .collect();
        assert_eq!(push, ["repo:push"]);
    }

    #[test]
    fn every_event_has_a_description_and_a_json_sample_of_its_kind() {
        for event in Bitbucket::describe().events {
            assert!(
                !event.description.is_empty(),
                "{} has no description",
                event.key
            );
            let sample: Value = serde_json::from_str(&event.sample)
                .unwrap_or_else(|error| panic!("{} sample is not JSON: {error}", event.key));
            // The payload's own top-level object shows the sample matches its event.
            let subject = match event.key.as_str() {
                "repo:push" => "push",
                "repo:fork" => "fork",
                "repo:updated" => "changes",
                "repo:transfer" => "previous_workspace",
                "repo:commit_comment_created" => "commit",
                "repo:imported" | "repo:deleted" => "actor",
                key if key.starts_with("pullrequest:changes_request_") => "changes_request",
                key if key.starts_with("pullrequest:") => "pullrequest",
                key if key.starts_with("issue:") => "issue",
                _ => "commit_status",
            };
            assert!(
                sample[subject].is_object(),
                "{} sample has no `{subject}` object",
                event.key
            );
            assert!(
                sample["repository"]["full_name"].is_string(),
                "{}",
                event.key
            );
            if event.key.contains(":comment_") || event.key.ends_with("comment_created") {
                assert!(sample["comment"].is_object(), "{}", event.key);
            }
        }
    }

    #[test]
    fn info_keeps_the_package_description() {
        let package = PluginInfo::new("bitbucket", "0.1.0").description("Bitbucket Cloud");
        assert_eq!(Bitbucket::info(package.clone()), package);
    }
}
