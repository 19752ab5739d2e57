//! `notifier`: the built-in notifier. It turns a formatted message, or an alert the gateway
//! opened or closed, into the one HTTP request a destination takes, chosen by the
//! destination's `kind`:
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
//! - `webhook`: a JSON envelope for any HTTP receiver: `type` (`message`, `alert.opened` or
//!   `alert.closed`), `endpoint` (`id`, `name`), `event_key`, `inbound_id`, `delivery_id`, and
//!   either `message` (`text`, `embeds`) or `alert` (the alert's fields, `labels` as an object,
//!   times in RFC 3339). Every member is present, `null` when unknown. The `type` is also sent
//!   in the `x-hookgate-event` header.
//!
//! - `sms`: a text message through a Twilio-compatible API, `POST
//!   {api_url}/2010-04-01/Accounts/{sid}/Messages.json` with the form fields `To` (the
//!   destination's `to`), `From` and `Body`: the notice as plain text, at most 1,600 characters,
//!   cut with `…` but always ending with the alert's (or message's) link.
//! - `voice`: a phone call through the same API, `POST .../Calls.json` with `To`, `From` and
//!   `Twiml` = `<Response><Say>…</Say></Response>` saying the title and whether the alert opened
//!   or was resolved.
//! - `ntfy`: a push notification, `POST` to the topic URL with the text as body and the headers
//!   `Title`, `Priority` (5 for an opened alert, 3 for a resolved one and for messages: 0.1
//!   alerts carry no severity), `Tags` (an emoji short code and `hookgate`) and `Click` (the
//!   link). Non-ASCII titles are sent as RFC 2047 encoded words, which ntfy decodes.
//!
//! An alert notice becomes an embed in the chat kinds: an opened alert is red with its title,
//! status, count, link, commit and actor; a closed one is green and titled `Resolved: <title>`.
//! The phone kinds get the same facts as short plain-text lines.
//!
//! Chat and webhook requests are a `POST` with `content-type: application/json` to the
//! destination's URL, which must be an absolute `http` or `https` URL (also for `ntfy`). The
//! notifier never signs or authenticates: secrets never enter a plugin. When a destination has
//! a `secret`, the gateway adds the Standard Webhooks headers (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`) itself; it adds HTTP Basic credentials from
//! `[twilio]` and `HOOKGATE_TWILIO_AUTH_TOKEN` to `sms` and `voice` requests, an ntfy
//! destination's `token` as `Authorization: Bearer`, and `Idempotency-Key` to every request.
//! For `sms` and `voice` the gateway passes its non-secret `[twilio]` settings in the
//! destination config as `twilio_api_url`, `twilio_account_sid` and `twilio_from`.
//!
//! | destination config key | kind | default | meaning |
//! |---|---|---|---|
//! | `username` | `discord` | the webhook's name | name the message is posted under |
//! | `avatar_url` | `discord` | the webhook's avatar | avatar the message is posted with |
//! | `allow_mentions` | `discord` | `false` | let `@everyone`, `@here`, user and role mentions ping |
//! | `to` | `sms`, `voice` | (required) | the number to text or call, in E.164 (`+15551234567`) |

use hookgate_plugin_sdk::prelude::*;
use hookgate_plugin_sdk::time;

mod discord;
mod ntfy;
mod plain;
mod slack;
mod twilio;
mod webhook;

/// The kinds of destination this notifier serves, as written in a destination's `kind`.
const KINDS: [&str; 6] = ["discord", "slack", "webhook", "sms", "voice", "ntfy"];
/// A commit subject in an alert card, like a line of `git log --oneline`.
const COMMIT_SUBJECT_CHARS: usize = 100;

/// The notifier.
pub struct HttpNotifier;

/// The receivers a request can be shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Discord,
    Slack,
    Webhook,
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
                "sms, voice: the number to text or call, in E.164 (+15551234567)",
            )
    }

    fn notify(
        notification: &Notification,
        context: &NotificationContext,
        destination: &Destination,
    ) -> Result<Vec<HttpRequest>, PluginError> {
        let kind = Kind::parse(&destination.kind)?;
        let request = match kind {
            // Text messages and calls go to the gateway's [twilio] API, not to a destination URL.
            Kind::Sms => twilio::sms(notification, context, destination)?,
            Kind::Voice => twilio::voice(notification, context, destination)?,
            Kind::Ntfy => {
                check_url(&destination.url)?;
                ntfy::push(notification, context, destination)
            }
            Kind::Discord | Kind::Slack | Kind::Webhook => {
                check_url(&destination.url)?;
                json_request(kind, notification, context, destination)?
            }
        };
        Ok(vec![request])
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
    match notification {
        Notification::Message(message) => message.clone(),
        Notification::AlertOpened(notice) => {
            Message::with_embed(alert_embed(notice, true, context))
        }
        Notification::AlertClosed(notice) => {
            Message::with_embed(alert_embed(notice, false, context))
        }
    }
}

/// An alert card: red with the alert's title when it opened, green `Resolved: <title>` when it
/// closed, with its status, count, actor, commit and labels as fields.
fn alert_embed(notice: &AlertNotice, opened: bool, context: &NotificationContext) -> Embed {
    let alert = &notice.alert;
    let mut embed = if opened {
        Embed::new().title(alert.title.clone()).colour(colour::RED)
    } else {
        Embed::new()
            .title(format!("Resolved: {}", alert.title))
            .colour(colour::GREEN)
    };
    if let Some(url) = alert.url.as_deref().filter(|url| !url.is_empty()) {
        embed = embed.url(url);
    }
    if let Some(description) = alert.description.as_deref().filter(|text| !text.is_empty()) {
        embed = embed.description(description);
    }
    if !alert.source_status.is_empty() {
        embed = embed.field("Status", alert.source_status.clone(), true);
    }
    embed = embed.field("Count", notice.count.to_string(), true);
    if let Some(actor) = alert.actor.as_deref().filter(|actor| !actor.is_empty()) {
        embed = embed.field("Actor", actor, true);
    }
    if !opened && let Some(closed_at) = notice.closed_at {
        let open_for = time::duration_text(closed_at.saturating_sub(notice.opened_at));
        embed = embed.field("Open for", open_for, true);
    }
    if let Some(hash) = alert.commit_hash.as_deref().filter(|hash| !hash.is_empty()) {
        let short = short_hash(hash);
        let subject = alert
            .commit_message
            .as_deref()
            .map(first_line)
            .filter(|subject| !subject.is_empty())
            .map(|subject| truncate(subject, COMMIT_SUBJECT_CHARS));
        let commit = match subject {
            Some(subject) => format!("`{short}` {subject}"),
            None => format!("`{short}`"),
        };
        embed = embed.field("Commit", commit, false);
    }
    for (name, value) in &alert.labels {
        embed = embed.field(name.clone(), value.clone(), true);
    }
    let endpoint = if context.endpoint_name.is_empty() {
        &context.endpoint_id
    } else {
        &context.endpoint_name
    };
    embed = embed.footer(if endpoint.is_empty() {
        "hookgate".to_string()
    } else {
        format!("hookgate • {endpoint}")
    });
    let at = if opened {
        notice.opened_at
    } else {
        notice.closed_at.unwrap_or(notice.opened_at)
    };
    embed.timestamp(time::rfc3339_from_millis(at))
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
            .label("branch", "main"),
            state,
            count: 3,
            opened_at: 1_700_000_000_000,
            closed_at: (state == AlertState::Closed).then_some(1_700_000_725_000),
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

    /// The one request for `notification`, checked for method and content type; its JSON body.
    pub(crate) fn sent(notification: &Notification, destination: &Destination) -> Value {
        let requests = HttpNotifier::notify(notification, &context(), destination).unwrap();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
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
            "unknown destination kind \"teams\": the notifier knows discord, slack, webhook, sms, voice, ntfy"
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
    fn alert_cards_carry_what_a_responder_needs() {
        let opened = alert_embed(&notice(AlertState::Open), true, &context());
        assert_eq!(
            opened.title.as_deref(),
            Some("Pipeline #4 for main failed — acme/widgets")
        );
        assert_eq!(opened.colour, Some(colour::RED));
        let fields: Vec<(&str, &str)> = opened
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("Status", "FAILED"),
                ("Count", "3"),
                ("Actor", "Ada"),
                ("Commit", "`bdf6fac` Merged in fix"),
                ("branch", "main"),
            ]
        );
        assert_eq!(opened.timestamp.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(opened.footer.as_deref(), Some("hookgate • widgets CI"));

        let closed = alert_embed(&notice(AlertState::Closed), false, &context());
        assert_eq!(
            closed.title.as_deref(),
            Some("Resolved: Pipeline #4 for main failed — acme/widgets")
        );
        assert_eq!(closed.colour, Some(colour::GREEN));
        assert!(
            closed
                .fields
                .iter()
                .any(|f| f.name == "Open for" && f.value == "12m 5s")
        );
        assert_eq!(closed.timestamp.as_deref(), Some("2023-11-14T22:25:25Z"));
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
}
