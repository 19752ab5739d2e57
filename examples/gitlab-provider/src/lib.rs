//! `gitlab`: a provider plugin for GitLab project webhooks.
//!
//! GitLab names the event in `X-Gitlab-Event` (`Push Hook`, ...), gives each delivery an id in
//! `X-Gitlab-Event-UUID`, and proves a delivery by sending the webhook's secret token itself in
//! `X-Gitlab-Token`: the gateway compares it with the endpoint's secret in constant time (so the
//! endpoint's secret is what you paste into GitLab's "Secret token" field). The sample payload is
//! GitLab's documented push event (see `samples/SOURCES.md`).
//!
//! Config keys: none.

use hookgate_plugin_sdk::prelude::*;

/// The GitLab provider.
pub struct GitLab;

impl Provider for GitLab {
    fn describe() -> ProviderDescription {
        ProviderDescription::new("X-Gitlab-Event")
            .delivery_id_header("X-Gitlab-Event-UUID")
            .signature(SignatureScheme::Token("X-Gitlab-Token".into()))
            .event(
                EventType::new(
                    "Push Hook",
                    "Commits pushed to a branch",
                    include_str!("../samples/push.json"),
                )
                .push(),
            )
    }
}

export_provider!(GitLab);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_token_travels_in_x_gitlab_token() {
        let description = GitLab::describe();
        assert_eq!(
            description.signature,
            Some(SignatureScheme::Token("X-Gitlab-Token".into()))
        );
        assert_eq!(description.events[0].key, "Push Hook");
        assert!(description.events[0].push);
        let sample: Value = serde_json::from_str(&description.events[0].sample).unwrap();
        assert_eq!(sample["object_kind"], "push");
    }
}
