//! The credentials the host adds to a delivery. The notifier names one (WIT 0.2; for 0.1 the
//! host names what the destination kind always had), and the host applies it only where it fits
//! the stored delivery's kind and destination, never because a plugin asked: `[twilio]`'s HTTP
//! Basic `sid:token` on `sms` and `voice` requests, and only towards the configured API's
//! origin; an `ntfy` destination's `token` as `Authorization: Bearer`. Also Twilio's error body
//! read into words for the attempt log.

use crate::config::{TWILIO_KINDS, TwilioSettings};
use crate::runtime::{Credential, OutboundRequest};
use crate::store::{DeliveryRecord, Destination};
use base64::Engine as _;

/// The `Authorization` value a delivery's request is sent with, if any; `Err` says why it is
/// not sent.
pub(super) fn authorization(
    delivery: &DeliveryRecord,
    request: &OutboundRequest,
    destination: Option<&Destination>,
    twilio: Option<&TwilioSettings>,
) -> Result<Option<String>, String> {
    match request.credential {
        None => Ok(None),
        Some(Credential::Twilio) => {
            if !TWILIO_KINDS.contains(&delivery.kind.as_str()) {
                return Err(format!(
                    "the notifier asked for the Twilio credential on a {} delivery; not sent",
                    delivery.kind
                ));
            }
            let twilio = twilio.ok_or_else(|| {
                format!(
                    "{} is not configured: [twilio] account_sid, from and the auth token",
                    delivery.kind
                )
            })?;
            if !same_origin(&request.url, &twilio.api_url) {
                // The notifier shaped a request elsewhere: the credentials must not follow it.
                return Err(format!(
                    "a {} request must go to [twilio] api_url; not sent",
                    delivery.kind
                ));
            }
            let pair = format!("{}:{}", twilio.account_sid, twilio.auth_token.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            Ok(Some(format!("Basic {encoded}")))
        }
        Some(Credential::DestinationToken) => {
            let Some(destination) = destination else {
                return Ok(None);
            };
            if !same_origin(&request.url, &destination.url) {
                return Err(format!(
                    "a request with the destination's token must go to its url ({}); not sent",
                    destination.url
                ));
            }
            Ok(destination
                .token
                .as_deref()
                .map(|token| format!("Bearer {token}")))
        }
    }
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
    use crate::store::{DeliveryRequest, DeliveryStatus};

    fn twilio() -> TwilioSettings {
        TwilioSettings {
            api_url: "https://api.twilio.example".into(),
            account_sid: "AC1".into(),
            from: "+15557654321".into(),
            auth_token: SecretText::new("secret-token"),
        }
    }

    fn request(kind: &str, url: &str) -> OutboundRequest {
        OutboundRequest {
            method: "POST".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            credential: match kind {
                "sms" | "voice" => Some(Credential::Twilio),
                "ntfy" => Some(Credential::DestinationToken),
                _ => None,
            },
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
            request: DeliveryRequest::Http(request(kind, url)),
            attempts: Vec::new(),
            next_attempt_at: None,
            created_at: 0,
            alert: None,
            page: None,
        }
    }

    fn authorize(
        delivery: &DeliveryRecord,
        destination: Option<&Destination>,
        twilio: Option<&TwilioSettings>,
    ) -> Result<Option<String>, String> {
        let request = delivery.request.http().expect("an HTTP delivery");
        authorization(delivery, request, destination, twilio)
    }

    #[test]
    fn twilio_kinds_get_basic_auth_only_towards_the_api() {
        let sms = delivery(
            "sms",
            "https://api.twilio.example/2010-04-01/Accounts/AC1/Messages.json",
        );
        assert_eq!(
            authorize(&sms, None, Some(&twilio())).unwrap(),
            Some("Basic QUMxOnNlY3JldC10b2tlbg==".into())
        );
        let elsewhere = delivery(
            "voice",
            "https://evil.example/2010-04-01/Accounts/AC1/Calls.json",
        );
        assert!(authorize(&elsewhere, None, Some(&twilio())).is_err());
        assert!(authorize(&sms, None, None).is_err());
        // A chat delivery to the same host is not given Twilio's credentials.
        let webhook = delivery("webhook", "https://api.twilio.example/hook");
        assert_eq!(authorize(&webhook, None, Some(&twilio())).unwrap(), None);
        // Nor when its notifier names the Twilio credential: the kind decides, not the plugin.
        let mut asking = delivery("webhook", "https://api.twilio.example/hook");
        if let DeliveryRequest::Http(request) = &mut asking.request {
            request.credential = Some(Credential::Twilio);
        }
        assert!(authorize(&asking, None, Some(&twilio())).is_err());
    }

    #[test]
    fn an_ntfy_token_is_a_bearer() {
        let destination: Destination = serde_json::from_value(serde_json::json!({
            "kind": "ntfy", "url": "https://ntfy.example/t", "token": "tk_1",
        }))
        .unwrap();
        let push = delivery("ntfy", "https://ntfy.example/t");
        assert_eq!(
            authorize(&push, Some(&destination), None).unwrap(),
            Some("Bearer tk_1".into())
        );
        // The token only goes to the topic's own server.
        let elsewhere = delivery("ntfy", "https://evil.example/t");
        assert!(authorize(&elsewhere, Some(&destination), None).is_err());
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
