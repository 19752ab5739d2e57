//! `hookgate-relay`: a provider plugin for webhooks signed the Standard Webhooks way
//! (<https://www.standardwebhooks.com>), as another hookgate's `webhook` destinations send them:
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`, keyed by the `whsec_` secret; several space-separated signatures
//! allowed during a key rotation; timestamps more than 5 minutes from now refused). The event
//! type, which Standard Webhooks puts in the body, also travels in `X-Hookgate-Event`, the
//! header the gateway reads the event from. `webhook-id` is the delivery id, so a retried
//! delivery is dropped as a repeat.
//!
//! Give the endpoint the sender's `whsec_...` secret when creating it.
//!
//! Config keys: none.

use hookgate_plugin_sdk::prelude::*;

/// The relay provider.
pub struct HookgateRelay;

impl Provider for HookgateRelay {
    fn describe() -> ProviderDescription {
        ProviderDescription::new("X-Hookgate-Event")
            .delivery_id_header("webhook-id")
            .signature(SignatureScheme::StandardWebhooks)
            .event(EventType::new(
                "message",
                "A formatted message (text and embeds)",
                include_str!("../samples/message.json"),
            ))
            .event(EventType::new(
                "alert.opened",
                "An alert opened",
                include_str!("../samples/alert_opened.json"),
            ))
            .event(EventType::new(
                "alert.closed",
                "An alert closed",
                include_str!("../samples/alert_closed.json"),
            ))
    }
}

export_provider!(HookgateRelay);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_with_standard_webhooks_and_samples_match_their_type() {
        let description = HookgateRelay::describe();
        assert_eq!(
            description.signature,
            Some(SignatureScheme::StandardWebhooks)
        );
        assert_eq!(
            description.delivery_id_header.as_deref(),
            Some("webhook-id")
        );
        for event in &description.events {
            let sample: Value = serde_json::from_str(&event.sample).unwrap();
            assert_eq!(sample["type"], event.key.as_str());
        }
    }
}
