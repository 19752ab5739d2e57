//! `github`: a provider plugin for GitHub repository webhooks, written as a third party would,
//! with nothing but the SDK's public API.
//!
//! GitHub names the event in `X-GitHub-Event` (`push`, `pull_request`, ...), gives each
//! delivery a GUID in `X-GitHub-Delivery` (the same on a redelivery, so the gateway drops
//! repeats), and, when the webhook has a secret, signs the raw body in `X-Hub-Signature-256` as
//! `sha256=<lower-case hex HMAC-SHA256>`. The sample payloads are GitHub's own examples (see
//! `samples/SOURCES.md`).
//!
//! Config keys: none (a provider is described once, at load).

use hookgate_plugin_sdk::prelude::*;

/// Every event this provider knows: key, push?, description, sample.
const EVENTS: &[(&str, bool, &str, &str)] = &[
    (
        "push",
        true,
        "Commits pushed to a branch, or a branch or tag created or deleted",
        include_str!("../samples/push.json"),
    ),
    (
        "pull_request",
        false,
        "A pull request was opened, closed, merged, reopened, edited, ... (see `action`)",
        include_str!("../samples/pull_request_opened.json"),
    ),
    (
        "workflow_run",
        false,
        "A GitHub Actions workflow run was requested, started or completed",
        include_str!("../samples/workflow_run_completed.json"),
    ),
    (
        "check_suite",
        false,
        "A check suite (all checks of one app on one commit) was requested or completed",
        include_str!("../samples/check_suite_completed.json"),
    ),
    (
        "ping",
        false,
        "Sent once when the webhook is created",
        include_str!("../samples/ping.json"),
    ),
];

/// The GitHub provider.
pub struct GitHub;

impl Provider for GitHub {
    fn describe() -> ProviderDescription {
        EVENTS.iter().fold(
            ProviderDescription::new("X-GitHub-Event")
                .delivery_id_header("X-GitHub-Delivery")
                .signature(SignatureScheme::hmac_sha256_hex(
                    "X-Hub-Signature-256",
                    "sha256=",
                )),
            |description, &(key, push, about, sample)| {
                let event = EventType::new(key, about, sample);
                description.event(if push { event.push() } else { event })
            },
        )
    }
}

export_provider!(GitHub);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_githubs_headers_and_signature() {
        let description = GitHub::describe();
        assert_eq!(description.event_header, "X-GitHub-Event");
        assert_eq!(
            description.delivery_id_header.as_deref(),
            Some("X-GitHub-Delivery")
        );
        assert_eq!(
            description.signature,
            Some(SignatureScheme::hmac_sha256_hex(
                "X-Hub-Signature-256",
                "sha256="
            ))
        );
    }

    #[test]
    fn push_is_the_only_push_event_and_every_sample_is_json() {
        let description = GitHub::describe();
        let pushes: Vec<_> = description
            .events
            .iter()
            .filter(|e| e.push)
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(pushes, ["push"]);
        for event in &description.events {
            let sample: Value = serde_json::from_str(&event.sample).unwrap();
            assert!(
                sample["repository"]["full_name"].is_string(),
                "{}",
                event.key
            );
        }
    }
}
