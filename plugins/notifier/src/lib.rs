//! `notifier`: the built-in notifier. It turns a formatted message, or an alert notice (opened,
//! closed, acknowledged, escalated), into what a destination takes, chosen by the destination's
//! `kind`: one HTTP request, or for `email` one mail. Built for WIT `hookgate:plugin@0.2.0`.
//!
//! - `discord`: a Discord webhook execution, `{"content", "embeds": [...]}` (embeds with
//!   `title`, `description`, `url`, `color`, `author`, `fields`, `footer`, `timestamp`; absent
//!   members left out), cut to Discord's limits. Mentions in the text are not pinged unless
//!   `allow_mentions` is set, so a commit message saying `@everyone` stays text.
//! - `slack`: a Slack incoming-webhook body, `{"text", "attachments": [...]}`: `text` is always
//!   there (the message text, else the first title) for notifications and clients without
//!   attachments; each embed becomes an attachment with its colour, title, link, text, fields,
//!   footer and time. Discord markdown links `[text](url)`, which the formatters write, become
//!   Slack's `<url|text>`.
//! - `webhook`: a JSON envelope for any HTTP receiver: `type` (`message`, `alert.opened`,
//!   `alert.closed`, `alert.acknowledged` or `alert.escalated`), `endpoint` (`id`, `name`),
//!   `event_key`, `inbound_id`, `delivery_id`, and either `message` (`text`, `embeds`) or
//!   `alert` (the alert's fields with `severity`, `labels` as an object, times in RFC 3339, and
//!   `acknowledged_by`, `escalation_step`, `ack_url`). Every member is present, `null` when
//!   unknown. The `type` is also sent in the `x-hookgate-event` header.
//! - `email`: one mail to the destination's `to`, sent by the gateway over `[smtp]` (it adds
//!   `From`, `Date`, `Message-ID` and the threading headers). Subject `[hookgate] <alert
//!   title>`, `[hookgate] Resolved: <title>`, `[hookgate] Acknowledged: <title>` or
//!   `[hookgate] Escalated: <title>`; for a message its first title, else its first line of
//!   text. A plain-text part with the alert's facts (status, severity, count, link, commit,
//!   actor, labels, who acknowledged, the escalation step, the acknowledge link) and an HTML
//!   part with the same facts, every value HTML-escaped.
//! - `sms`: a text message through a Twilio-compatible API, `POST
//!   {api_url}/2010-04-01/Accounts/{sid}/Messages.json` with the form fields `To` (the
//!   destination's `to`), `From` and `Body`: the notice as plain text, at most 1,600 characters,
//!   cut with `…` but always ending with the alert's (or message's) link and the acknowledge
//!   link.
//! - `voice`: a phone call through the same API, `POST .../Calls.json` with `To`, `From` and
//!   `Twiml` = `<Response><Say>…</Say></Response>` saying the title and what happened.
//! - `ntfy`: a push notification, `POST` to the topic URL with the text as body and the headers
//!   `Title`, `Priority` (from the alert's severity: 5 critical, 4 error, 3 warning, 2 info; 3
//!   for a resolved or acknowledged alert and for messages), `Tags` (an emoji short code and
//!   `hookgate`), `Click` (the link) and an `Actions` button opening the acknowledge link.
//!   Non-ASCII titles are sent as RFC 2047 encoded words, which ntfy decodes.
//!
//! An alert notice becomes an embed in the chat kinds, with its status, severity, count, link,
//! commit, actor and labels: an opened alert is red with its title; a closed one green, titled
//! `Resolved: <title>`; an acknowledged one yellow, `Acknowledged: <title>`, saying `Acknowledged
//! by <who>`; an escalated one orange, `Escalated: <title>`, saying `Escalated: step <n>`. The
//! phone kinds get the same facts as short plain-text lines.
//!
//! Chat and webhook requests are a `POST` with `content-type: application/json` to the
//! destination's URL, which must be an absolute `http` or `https` URL (also for `ntfy`). The
//! notifier never signs or authenticates: secrets never enter a plugin. It names the credential
//! a request needs and the gateway adds it: `twilio` on `sms` and `voice` requests (HTTP Basic
//! from `[twilio]` and `HOOKGATE_TWILIO_AUTH_TOKEN`), `destination-token` on `ntfy` ones (the
//! destination's `token` as `Authorization: Bearer`, when it has one). When a destination has a
//! `secret`, the gateway adds the Standard Webhooks headers (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`) itself, and `Idempotency-Key` to every request.
//! For `sms` and `voice` the gateway passes its non-secret `[twilio]` settings in the
//! destination config as `twilio_api_url`, `twilio_account_sid` and `twilio_from`.
//!
//! | destination config key | kind | default | meaning |
//! |---|---|---|---|
//! | `username` | `discord` | the webhook's name | name the message is posted under |
//! | `avatar_url` | `discord` | the webhook's avatar | avatar the message is posted with |
//! | `allow_mentions` | `discord` | `false` | let `@everyone`, `@here`, user and role mentions ping |
//! | `to` | `sms`, `voice` | (required) | the number to text or call, in E.164 (`+15551234567`) |
//! | `to` | `email` | (required) | the recipients' addresses: a list, or one address as a string |

use hookgate_plugin_sdk::prelude::*;

mod card;
mod discord;
mod email;
mod notice;
mod ntfy;
mod plain;
mod slack;
mod twilio;
mod webhook;

/// The kinds of destination this notifier serves, as written in a destination's `kind`.
const KINDS: [&str; 7] = [
    "discord", "slack", "webhook", "email", "sms", "voice", "ntfy",
];

/// The notifier.
pub struct HttpNotifier;

/// The receivers a request can be shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Discord,
    Slack,
    Webhook,
    Email,
    Sms,
    Voice,
    Ntfy,
}

impl Kind {
    fn parse(kind: &str) -> Result<Self, PluginError> {
        match kind {
            "discord" => Ok(Self::Discord),
            "slack" => Ok(Self::Slack),
            "webhook" => Ok(Self::Webhook),
            "email" => Ok(Self::Email),
            "sms" => Ok(Self::Sms),
            "voice" => Ok(Self::Voice),
            "ntfy" => Ok(Self::Ntfy),
            other => Err(PluginError::new(format!(
                "unknown destination kind {other:?}: the notifier knows {}",
                KINDS.join(", ")
            ))),
        }
    }
}

impl Notifier for HttpNotifier {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .config_key(
                "username",
                "discord: name to post under (default: the webhook's own)",
            )
            .config_key(
                "avatar_url",
                "discord: avatar to post with (default: the webhook's own)",
            )
            .config_key(
                "allow_mentions",
                "discord: let @everyone, @here and other mentions ping (default false)",
            )
            .config_key(
                "to",
                "sms, voice: the number to text or call, in E.164 (+15551234567); \
                 email: the recipients, a list of addresses or one",
            )
    }

    fn notify(
        notification: &Notification,
        context: &NotificationContext,
        destination: &Destination,
    ) -> Result<Vec<Outbound>, PluginError> {
        let kind = Kind::parse(&destination.kind)?;
        let output = match kind {
            // Text messages and calls go to the gateway's [twilio] API, not to a destination URL.
            Kind::Sms => twilio::sms(notification, context, destination)?.into(),
            Kind::Voice => twilio::voice(notification, context, destination)?.into(),
            Kind::Email => email::mail(notification, context, destination)?.into(),
            Kind::Ntfy => {
                check_url(&destination.url)?;
                ntfy::push(notification, context, destination).into()
            }
            Kind::Discord | Kind::Slack | Kind::Webhook => {
                check_url(&destination.url)?;
                json_request(kind, notification, context, destination)?.into()
            }
        };
        Ok(vec![output])
    }
}

export_notifier!(HttpNotifier);

/// The JSON `POST` of the chat and webhook kinds.
fn json_request(
    kind: Kind,
    notification: &Notification,
    context: &NotificationContext,
    destination: &Destination,
) -> Result<HttpRequest, PluginError> {
    let body = match kind {
        Kind::Discord => discord::body(&chat_message(notification, context), &destination.config)?,
        Kind::Slack => slack::body(&chat_message(notification, context))?,
        _ => webhook::body(notification, context),
    };
    let request = HttpRequest::post_json(destination.url.clone(), &body)?;
    Ok(match kind {
        // Lets a receiver route by type without parsing the body; the `hookgate-relay`
        // example provider reads the event from it.
        Kind::Webhook => request.header_value(webhook::EVENT_HEADER, notification.type_name()),
        _ => request,
    })
}

/// Refuses anything but an absolute `http(s)://host...` URL. The URL itself is left out of the
/// error: chat webhook URLs carry their credentials.
fn check_url(url: &str) -> Result<(), PluginError> {
    let refused =
        || PluginError::new("destination url must be an absolute http:// or https:// URL");
    let scheme_end = url.find("://").ok_or_else(refused)?;
    let scheme = &url[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(refused());
    }
    let after_scheme = &url[scheme_end + 3..];
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(refused());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused());
    }
    Ok(())
}

/// What a chat destination shows: the message itself, or an alert notice as a one-embed
/// message.
fn chat_message(notification: &Notification, context: &NotificationContext) -> Message {
    match notice::About::of(notification) {
        notice::About::Message(message) => message.clone(),
        notice::About::Alert(change, notice) => {
            Message::with_embed(card::alert_embed(notice, change, context))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookgate_plugin_sdk::{Alert, AlertState};

    /// Shared by the kinds' tests: a context, a formatted message and an alert notice.
    pub(crate) fn context() -> NotificationContext {
        NotificationContext {
            endpoint_id: "ep_1".into(),
            endpoint_name: "widgets CI".into(),
            event_key: "repo:commit_status_updated".into(),
            inbound_id: "in_1".into(),
            delivery_id: "dl_1".into(),
        }
    }

    pub(crate) fn message() -> Message {
        Message::text("Deployed **v1.2** by [Ada](https://bitbucket.org/ada)").embed(
            Embed::new()
                .title("[acme/widgets] 1 new commit on main")
                .url("https://bitbucket.org/acme/widgets/branches/compare/b..a")
                .description("[`c14c1bb`](https://bitbucket.org/acme/widgets/commits/c14c1bb) Fix <tag> & more — Ada")
                .colour(colour::BLUE)
                .author("Ada", Some("https://bitbucket.org/ada".into()), None)
                .field("Branch", "`main`", true)
                .footer("Bitbucket • acme/widgets")
                .timestamp("2022-09-07T20:19:25+00:00"),
        )
    }

    pub(crate) fn notice(state: AlertState) -> AlertNotice {
        AlertNotice {
            id: "al_1".into(),
            alert: Alert::new(
                "acme/widgets:main",
                "Pipeline #4 for main failed — acme/widgets",
            )
            .source_status("FAILED")
            .url("https://bitbucket.org/acme/widgets/pipelines/results/4")
            .commit(
                "bdf6fac0519ffd1562461eb82e018ff62efffbc9",
                Some("Merged in fix\n\nbody".into()),
            )
            .actor("Ada")
            .label("branch", "main")
            .severity(Severity::Critical),
            state,
            count: 3,
            opened_at: 1_700_000_000_000,
            closed_at: (state == AlertState::Closed).then_some(1_700_000_725_000),
            acknowledged_by: None,
            escalation_step: None,
            ack_url: None,
        }
    }

    /// The notice of a person's acknowledgement, with the link a page carries.
    pub(crate) fn acknowledged() -> AlertNotice {
        AlertNotice {
            acknowledged_by: Some("Grace".into()),
            ack_url: Some("https://hookgate.example/a/tok3n".into()),
            ..notice(AlertState::Acknowledged)
        }
    }

    /// The notice of an escalation policy's second step, with the link its page carries.
    pub(crate) fn escalated() -> AlertNotice {
        AlertNotice {
            escalation_step: Some(2),
            ack_url: Some("https://hookgate.example/a/tok3n".into()),
            ..notice(AlertState::Open)
        }
    }

    pub(crate) fn destination(kind: &str, config: Value) -> Destination {
        let Value::Object(config) = config else {
            panic!("config must be an object");
        };
        Destination {
            kind: kind.into(),
            url: "https://hooks.example.com/abc".into(),
            config: Config::from_map(config),
        }
    }

    /// The one output for `notification`, which must be an HTTP request.
    pub(crate) fn request(notification: &Notification, destination: &Destination) -> HttpRequest {
        let outputs = HttpNotifier::notify(notification, &context(), destination).unwrap();
        let [Outbound::Http(request)] = &outputs[..] else {
            panic!("one HTTP request: {outputs:?}");
        };
        request.clone()
    }

    /// The one request for `notification`, checked for method and content type; its JSON body.
    pub(crate) fn sent(notification: &Notification, destination: &Destination) -> Value {
        let request = &request(notification, destination);
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, destination.url);
        assert_eq!(request.header("content-type"), Some("application/json"));
        let event_header = request.header(webhook::EVENT_HEADER);
        if destination.kind == "webhook" {
            assert_eq!(event_header, Some(notification.type_name()));
            assert_eq!(request.headers.len(), 2);
        } else {
            assert_eq!(request.headers.len(), 1, "{:?}", request.headers);
        }
        serde_json::from_slice(&request.body).unwrap()
    }

    #[test]
    fn unknown_kind_names_the_valid_ones() {
        let error = HttpNotifier::notify(
            &Notification::Message(message()),
            &context(),
            &destination("teams", json!({})),
        )
        .unwrap_err();
        assert_eq!(
            error.message(),
            "unknown destination kind \"teams\": the notifier knows discord, slack, webhook, email, sms, voice, ntfy"
        );
    }

    #[test]
    fn only_absolute_http_urls_are_accepted() {
        for good in [
            "https://discord.com/api/webhooks/1/x",
            "http://127.0.0.1:9000/hook",
            "HTTPS://example.com",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "discord.com/api/webhooks/1/x",
            "/relative",
            "ftp://example.com/x",
            "https://",
            "https:///path",
            "https://:443/x",
            "https://exa mple.com/",
            "javascript://alert(1)",
        ] {
            let error = check_url(bad).unwrap_err();
            assert!(error.message().contains("http"), "{bad}: {error}");
        }
        let mut bad_destination = destination("webhook", json!({}));
        bad_destination.url = "mailto:ops@example.com".into();
        assert!(
            HttpNotifier::notify(
                &Notification::Message(message()),
                &context(),
                &bad_destination
            )
            .is_err()
        );
    }

    #[test]
    fn info_declares_the_destination_config_keys() {
        let info = HttpNotifier::info(PluginInfo::new("notifier", "0.1.0"));
        let keys: Vec<&str> = info
            .config_keys
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(keys, ["username", "avatar_url", "allow_mentions", "to"]);
    }

    #[test]
    fn chat_and_webhook_requests_need_no_credential() {
        for kind in ["discord", "slack", "webhook"] {
            let request = request(
                &Notification::AlertOpened(notice(AlertState::Open)),
                &destination(kind, json!({})),
            );
            assert_eq!(request.credential, None, "{kind}");
        }
    }
}
