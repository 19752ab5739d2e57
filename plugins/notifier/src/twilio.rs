//! Text messages and phone calls through a Twilio-compatible REST API: `POST
//! {api_url}/2010-04-01/Accounts/{sid}/Messages.json` with the form fields `To`, `From`, `Body`,
//! and `.../Calls.json` with `To`, `From`, `Twiml`. The gateway passes the non-secret `[twilio]`
//! settings in the destination config (`twilio_api_url`, `twilio_account_sid`, `twilio_from`);
//! each request names the `twilio` credential and the gateway adds the HTTP Basic credentials
//! itself: the auth token never enters the plugin.

use crate::notice::{About, Change};
use crate::plain::PlainNotice;
use hookgate_plugin_sdk::prelude::*;

/// Twilio's longest message body, in characters (it splits longer texts into segments itself).
pub(crate) const SMS_MAX_CHARS: usize = 1600;
/// What a call says at most, so it stays a short call rather than a reading.
const SPOKEN_MAX_CHARS: usize = 300;

/// A text message with the notice, cut to [`SMS_MAX_CHARS`] keeping the link.
pub(crate) fn sms(
    notification: &Notification,
    context: &NotificationContext,
    destination: &Destination,
) -> Result<HttpRequest, PluginError> {
    let account = Account::from(destination)?;
    let body = PlainNotice::new(notification, context).text_within(SMS_MAX_CHARS);
    Ok(account.post(
        "Messages.json",
        &[
            ("To", &account.to),
            ("From", &account.from),
            ("Body", &body),
        ],
    ))
}

/// A phone call that says the headline and what happened (opened, resolved, acknowledged,
/// escalated, a message).
pub(crate) fn voice(
    notification: &Notification,
    context: &NotificationContext,
    destination: &Destination,
) -> Result<HttpRequest, PluginError> {
    let account = Account::from(destination)?;
    let twiml = twiml_say(&spoken(notification, context));
    Ok(account.post(
        "Calls.json",
        &[
            ("To", &account.to),
            ("From", &account.from),
            ("Twiml", &twiml),
        ],
    ))
}

/// What a call says: who calls, the title and its state; links and details are for the SMS.
fn spoken(notification: &Notification, context: &NotificationContext) -> String {
    let status = |notice: &AlertNotice| {
        Some(notice.alert.source_status.as_str())
            .filter(|status| !status.is_empty())
            .map(|status| format!(" Status {status}."))
            .unwrap_or_default()
    };
    let said = match About::of(notification) {
        About::Alert(Change::Opened, notice) => format!(
            "hookgate alert. {}.{} The alert is open.",
            notice.alert.title,
            status(notice)
        ),
        About::Alert(Change::Escalated, notice) => format!(
            "hookgate alert. {}.{} {}. The alert is open.",
            notice.alert.title,
            status(notice),
            Change::Escalated.line(notice).unwrap_or_default()
        ),
        About::Alert(Change::Acknowledged, notice) => format!(
            "hookgate. {}. {}.",
            notice.alert.title,
            Change::Acknowledged.line(notice).unwrap_or_default()
        ),
        About::Alert(Change::Closed, notice) => format!(
            "hookgate. Resolved: {}. The alert is closed.",
            notice.alert.title
        ),
        About::Message(_) => format!(
            "hookgate message. {}.",
            PlainNotice::new(notification, context).headline
        ),
    };
    truncate(&said, SPOKEN_MAX_CHARS)
}

/// TwiML that says `text` once.
pub(crate) fn twiml_say(text: &str) -> String {
    format!("<Response><Say>{}</Say></Response>", xml_escape(text))
}

fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // XML 1.0 has no way to write most control characters; a spoken text needs none.
            c if c.is_control() && !matches!(c, '\n' | '\t') => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Where and from whom: the gateway's `[twilio]` settings and the destination's number.
struct Account {
    api_url: String,
    account_sid: String,
    from: String,
    to: String,
}

impl Account {
    fn from(destination: &Destination) -> Result<Self, PluginError> {
        let config = &destination.config;
        let required = |key: &str, missing: &str| -> Result<String, PluginError> {
            config
                .get_str(key)?
                .filter(|value| !value.is_empty())
                .map(str::to_string)
                .ok_or_else(|| PluginError::new(missing.to_string()))
        };
        let not_configured =
            "the gateway passed no [twilio] settings: set account_sid and from in [twilio]";
        Ok(Self {
            api_url: required("twilio_api_url", not_configured)?
                .trim_end_matches('/')
                .to_string(),
            account_sid: required("twilio_account_sid", not_configured)?,
            from: required("twilio_from", not_configured)?,
            to: required(
                "to",
                "an sms or voice destination needs `to`, a number like +15551234567",
            )?,
        })
    }

    fn post(&self, resource: &str, fields: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: format!(
                "{}/2010-04-01/Accounts/{}/{resource}",
                self.api_url, self.account_sid
            ),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: form_encode(fields).into_bytes(),
            credential: Some(Credential::Twilio),
        }
    }
}

/// `application/x-www-form-urlencoded`, as HTML forms and Twilio's API take it.
fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", form_component(name), form_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                encoded.push(byte as char);
            }
            b' ' => encoded.push('+'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{acknowledged, context, destination, escalated, message, notice};
    use hookgate_plugin_sdk::AlertState;

    fn phone(kind: &str) -> Destination {
        let mut destination = destination(
            kind,
            json!({
                "to": "+15551234567",
                "twilio_api_url": "https://api.twilio.example/",
                "twilio_account_sid": "AC0123",
                "twilio_from": "+15557654321",
            }),
        );
        destination.url.clear();
        destination
    }

    /// The form fields of a request body, decoded.
    fn form_fields(request: &HttpRequest) -> Vec<(String, String)> {
        let decode = |text: &str| {
            let text = text.replace('+', " ");
            let bytes = text.as_bytes();
            let mut decoded = Vec::new();
            let mut index = 0;
            while index < bytes.len() {
                if bytes[index] == b'%' {
                    let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
                    decoded.push(u8::from_str_radix(hex, 16).unwrap());
                    index += 3;
                } else {
                    decoded.push(bytes[index]);
                    index += 1;
                }
            }
            String::from_utf8(decoded).unwrap()
        };
        std::str::from_utf8(&request.body)
            .unwrap()
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap();
                (decode(name), decode(value))
            })
            .collect()
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        &fields.iter().find(|(key, _)| key == name).unwrap().1
    }

    fn shaped(notification: &Notification, kind: &str) -> HttpRequest {
        crate::tests::request(notification, &phone(kind))
    }

    #[test]
    fn an_sms_posts_a_form_to_messages_json() {
        let request = shaped(&Notification::AlertOpened(notice(AlertState::Open)), "sms");
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url,
            "https://api.twilio.example/2010-04-01/Accounts/AC0123/Messages.json"
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert!(request.header("authorization").is_none());
        assert_eq!(request.credential, Some(Credential::Twilio));
        let fields = form_fields(&request);
        assert_eq!(field(&fields, "To"), "+15551234567");
        assert_eq!(field(&fields, "From"), "+15557654321");
        assert_eq!(
            field(&fields, "Body"),
            "ALERT: Pipeline #4 for main failed — acme/widgets\n\
             Status FAILED, seen 3 times\n\
             Commit bdf6fac Merged in fix\n\
             By Ada\n\
             [widgets CI]\n\
             https://bitbucket.org/acme/widgets/pipelines/results/4"
        );
    }

    #[test]
    fn a_long_sms_is_cut_to_1600_characters_keeping_the_link() {
        let mut long = message();
        long.embeds[0].description = Some("é".repeat(3000));
        let request = shaped(&Notification::Message(long), "sms");
        let body = field(&form_fields(&request), "Body").to_string();
        assert_eq!(body.chars().count(), SMS_MAX_CHARS);
        assert!(
            body.ends_with("…\nhttps://bitbucket.org/acme/widgets/branches/compare/b..a"),
            "{body}"
        );
    }

    #[test]
    fn a_call_says_the_title_and_state_in_escaped_twiml() {
        let request = shaped(
            &Notification::AlertOpened(notice(AlertState::Open)),
            "voice",
        );
        assert_eq!(
            request.url,
            "https://api.twilio.example/2010-04-01/Accounts/AC0123/Calls.json"
        );
        let fields = form_fields(&request);
        assert_eq!(field(&fields, "To"), "+15551234567");
        assert_eq!(
            field(&fields, "Twiml"),
            "<Response><Say>hookgate alert. Pipeline #4 for main failed — acme/widgets. \
             Status FAILED. The alert is open.</Say></Response>"
        );
        let closed = shaped(
            &Notification::AlertClosed(notice(AlertState::Closed)),
            "voice",
        );
        assert!(field(&form_fields(&closed), "Twiml").contains("Resolved: Pipeline #4"));
        assert_eq!(
            twiml_say("a <b> & 'c'"),
            "<Response><Say>a &lt;b&gt; &amp; &apos;c&apos;</Say></Response>"
        );
    }

    #[test]
    fn without_the_gateways_settings_or_a_number_nothing_is_shaped() {
        let mut bare = phone("sms");
        bare.config = Config::from_map(Default::default());
        let error =
            crate::HttpNotifier::notify(&Notification::Message(message()), &context(), &bare)
                .unwrap_err();
        assert!(error.message().contains("[twilio]"), "{error}");
        let mut no_number = phone("voice");
        let Value::Object(mut config) = json!({
            "twilio_api_url": "https://api.twilio.example",
            "twilio_account_sid": "AC0123",
            "twilio_from": "+15557654321",
        }) else {
            unreachable!()
        };
        config.remove("to");
        no_number.config = Config::from_map(config);
        let error =
            crate::HttpNotifier::notify(&Notification::Message(message()), &context(), &no_number)
                .unwrap_err();
        assert!(error.message().contains("`to`"), "{error}");
    }

    #[test]
    fn pages_keep_the_acknowledge_link_and_calls_say_what_happened() {
        let sms = shaped(&Notification::AlertEscalated(escalated()), "sms");
        assert_eq!(
            field(&form_fields(&sms), "Body"),
            "Escalated: Pipeline #4 for main failed — acme/widgets\n\
             Escalated: step 2\n\
             Status FAILED, seen 3 times\n\
             Commit bdf6fac Merged in fix\n\
             By Ada\n\
             [widgets CI]\n\
             https://bitbucket.org/acme/widgets/pipelines/results/4\n\
             Acknowledge: https://hookgate.example/a/tok3n"
        );
        let call = shaped(&Notification::AlertEscalated(escalated()), "voice");
        assert_eq!(call.credential, Some(Credential::Twilio));
        assert_eq!(
            field(&form_fields(&call), "Twiml"),
            "<Response><Say>hookgate alert. Pipeline #4 for main failed — acme/widgets. \
             Status FAILED. Escalated: step 2. The alert is open.</Say></Response>"
        );
        let call = shaped(&Notification::AlertAcknowledged(acknowledged()), "voice");
        assert_eq!(
            field(&form_fields(&call), "Twiml"),
            "<Response><Say>hookgate. Pipeline #4 for main failed — acme/widgets. \
             Acknowledged by Grace.</Say></Response>"
        );
    }

    #[test]
    fn form_fields_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("To", "+1 555"), ("Body", "a&b=c\né")]),
            "To=%2B1+555&Body=a%26b%3Dc%0A%C3%A9"
        );
    }
}
