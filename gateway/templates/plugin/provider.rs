//! `{{name}}`: a provider plugin. It tells the gateway how to receive the source's webhooks:
//! which header names the event, which carries a delivery id (repeats are dropped), how
//! deliveries are signed (the gateway verifies; plugins never see secrets), and the events it
//! knows, each with a sample payload for dry runs.

use hookgate_plugin_sdk::prelude::*;

/// The provider.
pub struct {{type}};

impl Provider for {{type}} {
    fn describe() -> ProviderDescription {
        ProviderDescription::new("X-Example-Event")
            .delivery_id_header("X-Example-Delivery")
            .signature(SignatureScheme::hmac_sha256_hex("X-Example-Signature", "sha256="))
            .event(
                EventType::new(
                    "push",
                    "Commits pushed",
                    r#"{"repository": {"full_name": "acme/widgets"}, "ref": "main", "commits": 2}"#,
                )
                .push(),
            )
            .event(EventType::new(
                "build",
                "A build finished",
                r#"{"repository": {"full_name": "acme/widgets"}, "status": "failed"}"#,
            ))
    }
}

export_provider!({{type}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_json_sample_and_push_is_the_push_event() {
        let description = {{type}}::describe();
        for event in &description.events {
            serde_json::from_str::<Value>(&event.sample).expect("sample is JSON");
        }
        let pushes: Vec<_> = description.events.iter().filter(|e| e.push).map(|e| e.key.as_str()).collect();
        assert_eq!(pushes, ["push"]);
    }
}
