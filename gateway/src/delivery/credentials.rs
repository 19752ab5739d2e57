//! The credentials the host adds to a delivery, decided by the stored delivery's kind and its
//! destination, never by what the notifier asked for: `[twilio]`'s HTTP Basic `sid:token` on
//! `sms` and `voice` requests, and only towards the configured API's origin; an `ntfy`
//! destination's `token` as `Authorization: Bearer`. Also Twilio's error body read into words
//! for the attempt log.

use crate::config::{TWILIO_KINDS, TwilioSettings};
use crate::store::{DeliveryRecord, Destination};
use base64::Engine as _;

/// The `Authorization` value a delivery is sent with, if any; `Err` says why it is not sent.
pub(super) fn authorization(
    delivery: &DeliveryRecord,
    destination: Option<&Destination>,
    twilio: Option<&TwilioSettings>,
) -> Result<Option<String>, String> {
    if TWILIO_KINDS.contains(&delivery.kind.as_str()) {
        let twilio = twilio.ok_or_else(|| {
            format!(
                "{} is not configured: [twilio] account_sid, from and the auth token",
                delivery.kind
            )
        })?;
        if !same_origin(&delivery.request.url, &twilio.api_url) {
            // The notifier shaped a request elsewhere: the credentials must not follow it.
            return Err(format!(
                "a {} request must go to [twilio] api_url; not sent",
                delivery.kind
            ));
        }
        let pair = format!("{}:{}", twilio.account_sid, twilio.auth_token.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        return Ok(Some(format!("Basic {encoded}")));
    }
    if delivery.kind == "ntfy"
        && let Some(token) = destination.and_then(|destination| destination.token.as_deref())
    {
        return Ok(Some(format!("Bearer {token}")));
    }
    Ok(None)
}

/// Whether `url` has the scheme, host and port of `base`.
fn same_origin(url: &str, base: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(base)) {
        (Ok(url), Ok(base)) => url.origin() == base.origin(),
        _ => false,
    }
}

/// Twilio's error body (`{"code": 21211, "message": "...", "more_info": ..., "status": 400}`)
/// as `Twilio 21211: <message>`; `None` for other bodies.
pub(super) fn twilio_error_text(body: &str) -> Option<String> {
    let error: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = error.get("code")?.as_u64()?;
    let message = error.get("message").and_then(|message| message.as_str());
    Some(match message {
        Some(message) => format!("Twilio {code}: {message}"),
        None => format!("Twilio {code}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretText;
    use crate::runtime::OutboundRequest;
    use crate::store::DeliveryStatus;

    fn twilio() -> TwilioSettings {
        TwilioSettings {
            api_url: "https://api.twilio.example".into(),
            account_sid: "AC1".into(),
            from: "+15557654321".into(),
            auth_token: SecretText::new("secret-token"),
        }
    }

    fn delivery(kind: &str, url: &str) -> DeliveryRecord {
        DeliveryRecord {
            id: 1,
            endpoint: "ep".into(),
            inbound_id: None,
            destination: 0,
            kind: kind.into(),
            notification: "alert.opened".into(),
            status: DeliveryStatus::Pending,
            request: OutboundRequest {
                method: "POST".into(),
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
            },
            attempts: Vec::new(),
            next_attempt_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn twilio_kinds_get_basic_auth_only_towards_the_api() {
        let sms = delivery(
            "sms",
            "https://api.twilio.example/2010-04-01/Accounts/AC1/Messages.json",
        );
        assert_eq!(
            authorization(&sms, None, Some(&twilio())).unwrap(),
            Some("Basic QUMxOnNlY3JldC10b2tlbg==".into())
        );
        let elsewhere = delivery(
            "voice",
            "https://evil.example/2010-04-01/Accounts/AC1/Calls.json",
        );
        assert!(authorization(&elsewhere, None, Some(&twilio())).is_err());
        assert!(authorization(&sms, None, None).is_err());
        // A chat delivery to the same host is not given Twilio's credentials.
        let webhook = delivery("webhook", "https://api.twilio.example/hook");
        assert_eq!(
            authorization(&webhook, None, Some(&twilio())).unwrap(),
            None
        );
    }

    #[test]
    fn an_ntfy_token_is_a_bearer() {
        let destination: Destination = serde_json::from_value(serde_json::json!({
            "kind": "ntfy", "url": "https://ntfy.example/t", "token": "tk_1",
        }))
        .unwrap();
        let push = delivery("ntfy", "https://ntfy.example/t");
        assert_eq!(
            authorization(&push, Some(&destination), None).unwrap(),
            Some("Bearer tk_1".into())
        );
    }

    #[test]
    fn twilio_errors_read_as_code_and_message() {
        assert_eq!(
            twilio_error_text(
                r#"{"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.", "status": 400}"#
            )
            .as_deref(),
            Some("Twilio 21211: The 'To' number +1555 is not a valid phone number.")
        );
        assert_eq!(twilio_error_text("<html>"), None);
    }
}
