//! A destination checked when its endpoint is saved, by kind, so one that cannot work is a 422
//! naming the field rather than a failed delivery at 3 a.m.: URL kinds need an `http(s)` URL
//! that passes the private-address rule; `sms` and `voice` need an E.164 `to` and a configured
//! `[twilio]`; `email` needs addresses in `to` that parse and a configured `[smtp]`; only `ntfy`
//! takes a `token`. And a destination's Send test.

use super::{OpsError, Services};
use crate::config::{
    EMAIL_KIND, SMTP_PASSWORD_VARIABLE, TWILIO_AUTH_TOKEN_VARIABLE, TWILIO_KINDS, ValidatedConfig,
    is_e164,
};
use crate::pipeline::plan_notification;
use crate::runtime::{Embed, Message, Notification};
use crate::store::{
    DeliveryRecord, Destination, Durability, ProcessedBatch, TEST_NOTIFICATION, now_ms,
};
use std::sync::Arc;

/// Checks destination `index` of an endpoint being saved.
pub fn validate(
    destination: &Destination,
    index: usize,
    config: &ValidatedConfig,
) -> Result<(), OpsError> {
    let field = |name: &str| format!("destinations[{index}].{name}");
    let invalid = |message: String| Err(OpsError::Invalid(message));
    if destination.token.is_some() && destination.kind != "ntfy" {
        return invalid(format!(
            "{}: only ntfy destinations take a token",
            field("token")
        ));
    }
    if TWILIO_KINDS.contains(&destination.kind.as_str()) {
        let to = destination.config.get("to").and_then(|to| to.as_str());
        match to {
            Some(number) if is_e164(number) => {}
            _ => {
                return invalid(format!(
                    "{}: a {} destination needs a number in E.164, like +15551234567",
                    field("to"),
                    destination.kind
                ));
            }
        }
        if !destination.url.is_empty() {
            return invalid(format!(
                "{}: {} destinations have no url; they go to [twilio] api_url",
                field("url"),
                destination.kind
            ));
        }
        if config.twilio.is_none() {
            return invalid(format!(
                "{}: {} needs [twilio] account_sid and from in the gateway's configuration, \
                 and {TWILIO_AUTH_TOKEN_VARIABLE}",
                field("kind"),
                destination.kind
            ));
        }
        return Ok(());
    }
    if destination.kind == EMAIL_KIND {
        if let Err(reason) = crate::delivery::destination_recipients(destination) {
            return invalid(format!(
                "{}: {reason} (an address like ops@example.com, or a list of them)",
                field("to")
            ));
        }
        if !destination.url.is_empty() {
            return invalid(format!(
                "{}: email destinations have no url; they go through [smtp]",
                field("url")
            ));
        }
        if config.smtp.is_none() {
            return invalid(format!(
                "{}: email needs [smtp] url and from in the gateway's configuration (and \
                 [smtp] username with {SMTP_PASSWORD_VARIABLE} when the relay wants a login)",
                field("kind")
            ));
        }
        return Ok(());
    }
    if destination.kind == "ntfy"
        && destination
            .token
            .as_deref()
            .is_some_and(|token| token.is_empty() || token.chars().any(char::is_control))
    {
        return invalid(format!(
            "{}: must be a non-empty token without control characters",
            field("token")
        ));
    }
    let url = reqwest::Url::parse(&destination.url)
        .map_err(|error| OpsError::Invalid(format!("{}: {error}", field("url"))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return invalid(format!("{} must be http or https", field("url")));
    }
    if !config.allow_private_destinations {
        let literal_private = crate::delivery::literal_private_address(&url).is_some();
        let localhost = url
            .host_str()
            .is_some_and(|host| host.eq_ignore_ascii_case("localhost"));
        if literal_private || localhost {
            return invalid(format!(
                "{} points to a private address; \
                 set [delivery] allow_private_destinations = true to allow it",
                field("url")
            ));
        }
    }
    Ok(())
}

/// How long a Send test waits for its attempt beyond the delivery timeout.
const TEST_ANSWER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `POST /endpoints/{id}/destinations/{index}/test`: one real notification to that destination,
/// shaped by its notifier and sent through the outbox (so it is in the attempt log like any
/// other); answers the delivery once its attempt is recorded.
pub async fn send_test(
    services: &Arc<Services>,
    endpoint_id: &str,
    index: usize,
) -> Result<Vec<DeliveryRecord>, OpsError> {
    let planning = services.clone();
    let endpoint_id = endpoint_id.to_string();
    let planned = super::blocking(move || plan_test(&planning, &endpoint_id, index)).await?;
    services.outbox.wake();
    let ids: Vec<u64> = planned.iter().map(|delivery| delivery.id).collect();
    let deadline =
        tokio::time::Instant::now() + services.config.delivery_timeout + TEST_ANSWER_GRACE;
    loop {
        let reading = services.clone();
        let ids = ids.clone();
        let current = super::blocking(move || {
            ids.iter()
                .map(|id| {
                    reading
                        .store
                        .delivery(*id)?
                        .ok_or(OpsError::NotFound("delivery"))
                })
                .collect::<Result<Vec<_>, OpsError>>()
        })
        .await?;
        let attempted = current.iter().all(|delivery| !delivery.attempts.is_empty());
        if attempted || tokio::time::Instant::now() >= deadline {
            return Ok(current);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

fn plan_test(
    services: &Services,
    endpoint_id: &str,
    index: usize,
) -> Result<Vec<DeliveryRecord>, OpsError> {
    let endpoint = services
        .store
        .endpoint(endpoint_id)?
        .ok_or(OpsError::NotFound("endpoint"))?;
    let destination = endpoint
        .destinations
        .get(index)
        .ok_or(OpsError::NotFound("destination"))?;
    let notification = Notification::Message(Message {
        text: format!(
            "hookgate test notification: destination {index} ({}) of {} works.",
            destination.kind, endpoint.name
        ),
        embeds: vec![Embed {
            title: Some(format!("hookgate test: {}", endpoint.name)),
            description: Some(format!(
                "Sent by Send test to destination {index} ({}). Nothing is wrong.",
                destination.kind
            )),
            url: None,
            colour: Some(0x3498DB),
            author: None,
            fields: Vec::new(),
            footer: Some("hookgate".into()),
            timestamp: Some(crate::utc::utc_iso(now_ms())),
        }],
    });
    let plugins = services.registry.snapshot();
    let mut deliveries = plan_notification(
        &*services.store,
        &plugins,
        services.config.twilio.as_ref(),
        &endpoint,
        None,
        &notification,
        &|candidate| candidate == index,
    )?
    .map_err(|failure| {
        OpsError::Invalid(format!(
            "destinations[{index}].notifier: {} could not shape a test: {}",
            failure.notifier, failure.error
        ))
    })?;
    if deliveries.is_empty() {
        return Err(OpsError::Invalid(format!(
            "destinations[{index}].notifier: {} shaped nothing for a test message",
            destination.notifier
        )));
    }
    for delivery in &mut deliveries {
        delivery.notification = TEST_NOTIFICATION.into();
    }
    let batch = ProcessedBatch {
        deliveries: deliveries.clone(),
        ..ProcessedBatch::default()
    };
    services
        .store
        .apply_processing(&batch, Durability::BeforeAnswer)?;
    Ok(deliveries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GatewayConfig;

    fn config(with_smtp: bool) -> ValidatedConfig {
        let mut config = GatewayConfig::default();
        if with_smtp {
            config.smtp.url = Some("smtp://127.0.0.1:2525".into());
            config.smtp.from = Some("hookgate <alerts@example.com>".into());
        }
        config.validate().expect("a valid config")
    }

    fn refusal(destination: serde_json::Value, config: &ValidatedConfig) -> String {
        let destination: Destination = serde_json::from_value(destination).unwrap();
        match validate(&destination, 3, config) {
            Err(OpsError::Invalid(message)) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn an_email_destination_with_addresses_is_accepted() {
        for to in [
            serde_json::json!("ops@example.com"),
            serde_json::json!(["ops@example.com", "On call <oncall@example.com>"]),
        ] {
            let destination: Destination =
                serde_json::from_value(serde_json::json!({"kind": "email", "to": to})).unwrap();
            assert!(validate(&destination, 0, &config(true)).is_ok(), "{to}");
        }
    }

    #[test]
    fn email_without_usable_addresses_names_to() {
        let config = config(true);
        for to in [
            serde_json::Value::Null,
            serde_json::json!([]),
            serde_json::json!(""),
            serde_json::json!("ops"),
            serde_json::json!("ops@"),
            serde_json::json!(["ops@example.com", "not an address"]),
            serde_json::json!(["ops@example.com", 7]),
            serde_json::json!({"address": "ops@example.com"}),
        ] {
            let mut destination = serde_json::json!({"kind": "email"});
            if !to.is_null() {
                destination["to"] = to.clone();
            }
            let error = refusal(destination, &config);
            assert!(error.starts_with("destinations[3].to: "), "{to}: {error}");
        }
    }

    #[test]
    fn email_with_a_url_or_a_token_is_refused() {
        let config = config(true);
        let error = refusal(
            serde_json::json!({"kind": "email", "to": "ops@example.com", "url": "https://example.com/"}),
            &config,
        );
        assert!(error.starts_with("destinations[3].url: "), "{error}");
        let error = refusal(
            serde_json::json!({"kind": "email", "to": "ops@example.com", "token": "t"}),
            &config,
        );
        assert!(error.starts_with("destinations[3].token: "), "{error}");
    }

    #[test]
    fn email_without_smtp_names_the_section_and_the_password_variable() {
        let error = refusal(
            serde_json::json!({"kind": "email", "to": "ops@example.com"}),
            &config(false),
        );
        assert!(error.starts_with("destinations[3].kind: "), "{error}");
        assert!(error.contains("[smtp]"), "{error}");
        assert!(error.contains(SMTP_PASSWORD_VARIABLE), "{error}");
    }
}
