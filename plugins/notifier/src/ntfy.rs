//! A push notification through ntfy (<https://ntfy.sh>, or a self-hosted server): `POST` the
//! topic URL with the text as body and the headers `Title`, `Priority`, `Tags`, `Click` and, on a
//! page, an `Actions` button that opens the acknowledge link. Every request names the
//! `destination-token` credential: the topic's access token, when the destination has one, is
//! added by the gateway as `Authorization: Bearer`; the plugin never sees it.

use crate::notice::{About, Change};
use crate::plain::PlainNotice;
use base64::Engine as _;
use hookgate_plugin_sdk::prelude::*;

/// ntfy's priority 3, its default: resolved and acknowledged alerts and messages, which need no
/// one to get up.
const PRIORITY_DEFAULT: &str = "3";
/// The body ntfy shows; longer ones it turns into an attachment, so stay below its 4 KiB.
const BODY_MAX_CHARS: usize = 2000;
/// A title on one lock-screen line or two.
const TITLE_MAX_CHARS: usize = 120;

pub(crate) fn push(
    notification: &Notification,
    context: &NotificationContext,
    destination: &Destination,
) -> HttpRequest {
    let plain = PlainNotice::new(notification, context);
    // Tags that are emoji short codes show as the emoji before the title.
    let (priority, tags) = match About::of(notification) {
        About::Alert(Change::Opened, notice) => (
            severity_priority(notice.alert.severity),
            "rotating_light,hookgate",
        ),
        About::Alert(Change::Escalated, notice) => (
            severity_priority(notice.alert.severity),
            "arrow_double_up,hookgate",
        ),
        About::Alert(Change::Acknowledged, _) => (PRIORITY_DEFAULT, "eyes,hookgate"),
        About::Alert(Change::Closed, _) => (PRIORITY_DEFAULT, "white_check_mark,hookgate"),
        About::Message(_) => (PRIORITY_DEFAULT, "speech_balloon,hookgate"),
    };
    let mut headers = vec![
        ("content-type".into(), "text/plain; charset=utf-8".into()),
        (
            "Title".into(),
            header_text(&truncate(&plain.headline, TITLE_MAX_CHARS)),
        ),
        ("Priority".into(), priority.into()),
        ("Tags".into(), tags.into()),
    ];
    if let Some(link) = plain.link.as_deref().filter(|link| is_header_safe(link)) {
        headers.push(("Click".into(), link.to_string()));
    }
    let mut lines = plain.lines.clone();
    if let Some(ack_link) = plain.ack_link.as_deref() {
        // ntfy's action syntax separates with commas and semicolons; a link holding one goes
        // into the text rather than breaking the button.
        if is_header_safe(ack_link) && !ack_link.contains([',', ';']) {
            headers.push((
                "Actions".into(),
                format!("view, Acknowledge, {ack_link}, clear=true"),
            ));
        } else {
            lines.push(format!("Acknowledge: {ack_link}"));
        }
    }
    let body = truncate(&lines.join("\n"), BODY_MAX_CHARS);
    // ntfy refuses an empty message; the title alone is then the text.
    let text = if body.is_empty() {
        plain.headline.clone()
    } else {
        body
    };
    HttpRequest {
        method: "POST".into(),
        url: destination.url.clone(),
        headers,
        body: text.into_bytes(),
        credential: Some(Credential::DestinationToken),
    }
}

/// ntfy's priority for a page of this severity: 5 "max" (a long vibration, through Do Not
/// Disturb on Android when allowed) for critical, down to 2 "low" for info.
fn severity_priority(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "5",
        Severity::Error => "4",
        Severity::Warning => "3",
        Severity::Info => "2",
    }
}

/// A header value as ntfy reads it: printable ASCII as it is, anything else as an RFC 2047
/// encoded word (`=?UTF-8?B?...?=`), which ntfy decodes; HTTP header values cannot carry UTF-8.
pub(crate) fn header_text(text: &str) -> String {
    let one_line = text.replace(['\r', '\n'], " ");
    if is_header_safe(&one_line) {
        one_line
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(one_line.as_bytes());
        format!("=?UTF-8?B?{encoded}?=")
    }
}

fn is_header_safe(text: &str) -> bool {
    text.bytes().all(|byte| (0x20..0x7f).contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{acknowledged, destination, escalated, message, notice};
    use hookgate_plugin_sdk::AlertState;

    fn shaped(notification: &Notification) -> HttpRequest {
        let mut destination = destination("ntfy", json!({}));
        destination.url = "https://ntfy.example/team-alerts".into();
        crate::tests::request(notification, &destination)
    }

    #[test]
    fn an_opened_alert_is_a_priority_5_push_with_its_link() {
        let request = shaped(&Notification::AlertOpened(notice(AlertState::Open)));
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://ntfy.example/team-alerts");
        assert_eq!(
            request.header("title"),
            Some(header_text("ALERT: Pipeline #4 for main failed — acme/widgets").as_str())
        );
        assert_eq!(request.header("priority"), Some("5"));
        assert_eq!(request.header("tags"), Some("rotating_light,hookgate"));
        assert_eq!(
            request.header("click"),
            Some("https://bitbucket.org/acme/widgets/pipelines/results/4")
        );
        assert!(request.header("authorization").is_none());
        assert_eq!(request.credential, Some(Credential::DestinationToken));
        assert!(request.header("actions").is_none());
        assert_eq!(
            String::from_utf8(request.body).unwrap(),
            "Status FAILED, seen 3 times\nCommit bdf6fac Merged in fix\nBy Ada\n[widgets CI]"
        );
    }

    #[test]
    fn closed_alerts_and_messages_are_priority_3() {
        let closed = shaped(&Notification::AlertClosed(notice(AlertState::Closed)));
        assert_eq!(closed.header("priority"), Some("3"));
        assert_eq!(closed.header("tags"), Some("white_check_mark,hookgate"));
        let message = shaped(&Notification::Message(message()));
        assert_eq!(message.header("priority"), Some("3"));
        assert_eq!(
            message.header("title"),
            Some("[acme/widgets] 1 new commit on main")
        );
        assert_eq!(
            message.header("click"),
            Some("https://bitbucket.org/acme/widgets/branches/compare/b..a")
        );
    }

    #[test]
    fn the_priority_of_a_page_follows_the_alerts_severity() {
        for (severity, priority) in [
            (Severity::Critical, "5"),
            (Severity::Error, "4"),
            (Severity::Warning, "3"),
            (Severity::Info, "2"),
        ] {
            let mut opened = notice(AlertState::Open);
            opened.alert.severity = severity;
            let request = shaped(&Notification::AlertOpened(opened));
            assert_eq!(request.header("priority"), Some(priority), "{severity:?}");
            let mut closed = notice(AlertState::Closed);
            closed.alert.severity = severity;
            let request = shaped(&Notification::AlertClosed(closed));
            assert_eq!(request.header("priority"), Some("3"), "closed {severity:?}");
        }
    }

    #[test]
    fn a_page_has_an_acknowledge_button() {
        let request = shaped(&Notification::AlertEscalated(escalated()));
        assert_eq!(request.header("priority"), Some("5"));
        assert_eq!(request.header("tags"), Some("arrow_double_up,hookgate"));
        assert_eq!(
            request.header("actions"),
            Some("view, Acknowledge, https://hookgate.example/a/tok3n, clear=true")
        );
        assert!(
            String::from_utf8(request.body.clone())
                .unwrap()
                .starts_with("Escalated: step 2\n")
        );
        let request = shaped(&Notification::AlertAcknowledged(acknowledged()));
        assert_eq!(request.header("priority"), Some("3"));
        assert_eq!(request.header("tags"), Some("eyes,hookgate"));
        assert_eq!(
            request.header("title"),
            Some(header_text("Acknowledged: Pipeline #4 for main failed — acme/widgets").as_str())
        );
    }

    #[test]
    fn non_ascii_titles_are_encoded_words() {
        assert_eq!(header_text("plain title"), "plain title");
        assert_eq!(header_text("a\r\nb"), "a  b");
        assert_eq!(header_text("é"), "=?UTF-8?B?w6k=?=");
    }
}
