//! A push notification through ntfy (<https://ntfy.sh>, or a self-hosted server): `POST` the
//! topic URL with the text as body and the headers `Title`, `Priority`, `Tags` and `Click`. The
//! topic's access token, when the destination has one, is added by the gateway as
//! `Authorization: Bearer`; the plugin never sees it.

use crate::plain::PlainNotice;
use base64::Engine as _;
use hookgate_plugin_sdk::prelude::*;

/// ntfy's priorities: 5 is "max" (a long vibration, through Do Not Disturb on Android when
/// allowed), 3 the default.
const PRIORITY_OPENED: &str = "5";
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
    let (priority, tags) = match notification {
        Notification::AlertOpened(_) => (PRIORITY_OPENED, "rotating_light,hookgate"),
        Notification::AlertClosed(_) => (PRIORITY_DEFAULT, "white_check_mark,hookgate"),
        Notification::Message(_) => (PRIORITY_DEFAULT, "speech_balloon,hookgate"),
    };
    let body = truncate(&plain.lines.join("\n"), BODY_MAX_CHARS);
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
    HttpRequest {
        method: "POST".into(),
        url: destination.url.clone(),
        headers,
        // ntfy refuses an empty message; the title alone is then the text.
        body: if body.is_empty() {
            plain.headline.clone().into_bytes()
        } else {
            body.into_bytes()
        },
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
    use crate::tests::{context, destination, message, notice};
    use hookgate_plugin_sdk::AlertState;

    fn shaped(notification: &Notification) -> HttpRequest {
        let mut destination = destination("ntfy", json!({}));
        destination.url = "https://ntfy.example/team-alerts".into();
        let mut requests =
            crate::HttpNotifier::notify(notification, &context(), &destination).unwrap();
        assert_eq!(requests.len(), 1);
        requests.remove(0)
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
    fn non_ascii_titles_are_encoded_words() {
        assert_eq!(header_text("plain title"), "plain title");
        assert_eq!(header_text("a\r\nb"), "a  b");
        assert_eq!(header_text("é"), "=?UTF-8?B?w6k=?=");
    }
}
