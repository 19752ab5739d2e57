//! A destination checked when its endpoint is saved, by kind, so one that cannot work is a 422
//! naming the field rather than a failed delivery at 3 a.m.: URL kinds need an `http(s)` URL
//! that passes the private-address rule; `sms` and `voice` need an E.164 `to` and a configured
//! `[twilio]`; only `ntfy` takes a `token`.

use super::OpsError;
use crate::config::{TWILIO_AUTH_TOKEN_VARIABLE, TWILIO_KINDS, ValidatedConfig, is_e164};
use crate::store::Destination;

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
