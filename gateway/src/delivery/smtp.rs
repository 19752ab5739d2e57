//! The SMTP transport of the outbox: one lettre transport built from `[smtp]` at start and
//! reused, and the sending of one `email` delivery. The host writes the envelope and the
//! headers a notifier must not choose — `From`, `Date`, the planned `Message-ID` and its
//! threading, `X-Hookgate-Delivery` — and sends only to recipients the stored destination names,
//! so a notifier cannot mail arbitrary addresses through the operator's relay.
//!
//! Every attempt opens a connection of its own (no pool): alert mail is a trickle, and an idle
//! connection the relay dropped would otherwise show up as a failed attempt.

use super::http::SendError;
use crate::config::{EMAIL_KIND, SmtpSecurity, SmtpSettings};
use crate::ids::format_delivery_id;
use crate::store::{DeliveryRecord, Destination, EmailRequest};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The header that names the delivery, as `Idempotency-Key` does on HTTP deliveries.
pub const DELIVERY_HEADER: &str = "X-Hookgate-Delivery";

/// Characters of the relay's reply kept with an attempt.
const REPLY_CHARS: usize = 1024;

/// The relay's final reply to a mail: its code and text, e.g. `451 4.3.0 try again later`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MailReply {
    /// The reply code: 2xx accepted, 4xx try again later, 5xx refused for good.
    pub code: u16,
    /// The code and the reply's text, as the relay wrote them.
    pub text: String,
}

/// The mail transport built from `[smtp]`. Its `Debug` names the relay, never the login.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    from_domain: String,
    timeout: Duration,
    relay: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Mailer")
            .field("relay", &self.relay)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the transport (TLS settings included), without connecting: a relay that is down
    /// at start is a retried delivery, not a gateway that will not start.
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|error| format!("[smtp] from: {error}"))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_string())
                .map_err(|error| format!("[smtp] url: TLS for {host}: {error}"))
        };
        let security = match settings.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls(&settings.host)?),
            SmtpSecurity::ImplicitTls => Tls::Wrapper(tls(&settings.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(security)
            .timeout(Some(settings.timeout));
        if let Some(login) = &settings.login {
            builder = builder.credentials(Credentials::new(
                login.username.clone(),
                login.password.expose().to_string(),
            ));
        }
        let scheme = match settings.security {
            SmtpSecurity::ImplicitTls => "smtps",
            SmtpSecurity::Plain | SmtpSecurity::StartTls => "smtp",
        };
        Ok(Self {
            transport: builder.build(),
            from,
            from_domain: settings.from_domain.clone(),
            timeout: settings.timeout,
            relay: format!("{scheme}://{}:{}", settings.host, settings.port),
        })
    }

    /// Sends one delivery's mail. `Ok` is the relay's final reply, whatever its code; `Err`
    /// is a mail not sent (`Refused`: never will be) or a transaction that broke off
    /// (`Transport`: a connection failure, a timeout, a connection dropped mid-transaction).
    pub(super) async fn send(
        &self,
        delivery: &DeliveryRecord,
        email: &EmailRequest,
        destination: Option<&Destination>,
    ) -> Result<MailReply, SendError> {
        let destination = destination.ok_or_else(|| {
            SendError::Refused("the destination no longer exists; not sent".into())
        })?;
        if destination.kind != EMAIL_KIND {
            return Err(SendError::Refused(format!(
                "a mail for a {} destination; not sent",
                destination.kind
            )));
        }
        let allowed = destination_recipients(destination)
            .map_err(|reason| SendError::Refused(format!("the destination's to: {reason}")))?;
        let recipients = checked_recipients(&email.to, &allowed).map_err(SendError::Refused)?;
        let message = self
            .message(delivery, email, recipients)
            .map_err(SendError::Refused)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::Transport(format!(
                "timeout after {:?} ({})",
                self.timeout, self.relay
            ))),
            Ok(Ok(response)) => {
                let lines: Vec<&str> = response.message().collect();
                Ok(reply(u16::from(response.code()), &lines.join(" ")))
            }
            // A negative reply (to the greeting, the login, MAIL, RCPT or DATA) is a reply.
            Ok(Err(error)) => match error.status() {
                Some(code) => Ok(reply(u16::from(code), &reply_text(&error))),
                None => Err(error_verdict(&error, &self.relay)),
            },
        }
    }

    /// The mail as sent: the host's headers around what the notifier wrote.
    fn message(
        &self,
        delivery: &DeliveryRecord,
        email: &EmailRequest,
        recipients: Vec<Mailbox>,
    ) -> Result<Message, String> {
        let message_id = |key: &str| format!("<{key}@{}>", self.from_domain);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(one_line(&email.subject))
            .date_now()
            .message_id(Some(message_id(&email.message_key)))
            .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")).to_string())
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(DELIVERY_HEADER),
                format_delivery_id(delivery.id),
            ));
        for recipient in recipients {
            builder = builder.to(recipient);
        }
        if let Some(first) = &email.in_reply_to_key {
            builder = builder
                .in_reply_to(message_id(first))
                .references(message_id(first));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone());
        let built = match &email.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
            None => builder.singlepart(text),
        };
        built.map_err(|error| format!("the mail cannot be built: {error}; not sent"))
    }
}

/// The addresses an `email` destination's `to` names: one mailbox, or a non-empty list.
pub fn destination_recipients(destination: &Destination) -> Result<Vec<Mailbox>, String> {
    let texts: Vec<&str> = match destination.config.get("to") {
        Some(serde_json::Value::String(one)) => vec![one.as_str()],
        Some(serde_json::Value::Array(many)) if !many.is_empty() => many
            .iter()
            .map(|item| item.as_str().ok_or("every address must be a string"))
            .collect::<Result<_, _>>()?,
        Some(serde_json::Value::Array(_)) => return Err("the list of addresses is empty".into()),
        Some(_) => return Err("must be an address or a list of addresses".into()),
        None => return Err("an email destination needs addresses to mail".into()),
    };
    texts
        .into_iter()
        .map(|text| {
            text.parse::<Mailbox>()
                .map_err(|error| format!("{text:?} is not an email address: {error}"))
        })
        .collect()
}

/// The notifier's recipients as the destination's mailboxes; `Err` names the first the
/// destination does not name.
fn checked_recipients(requested: &[String], allowed: &[Mailbox]) -> Result<Vec<Mailbox>, String> {
    if requested.is_empty() {
        return Err("the notifier named no recipient; not sent".into());
    }
    requested
        .iter()
        .map(|text| {
            let mailbox: Mailbox = text.parse().map_err(|error| {
                format!("the notifier's recipient {text:?} is not an address ({error}); not sent")
            })?;
            // The destination's mailbox as the operator wrote it, display name included: the
            // notifier picks who, not what they are called.
            allowed
                .iter()
                .find(|named| same_address(&named.email, &mailbox.email))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "recipient {} is not one the destination names; not sent",
                        mailbox.email
                    )
                })
        })
        .collect()
}

/// The same mailbox: the local part as written (it may be case-sensitive), the domain in any
/// case.
fn same_address(a: &Address, b: &Address) -> bool {
    a.user() == b.user() && a.domain().eq_ignore_ascii_case(b.domain())
}

/// A subject on one line: a line break a notifier put in would end the header.
fn one_line(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn reply(code: u16, text: &str) -> MailReply {
    let text = format!("{code} {}", text.trim());
    MailReply {
        code,
        text: text.trim().chars().take(REPLY_CHARS).collect(),
    }
}

/// The text of a negative reply (lettre keeps it as the error's source).
fn reply_text(error: &lettre::transport::smtp::Error) -> String {
    std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// What a failure without a reply means: a client-side refusal is never sent (a retry would
/// refuse again); anything else broke off the transaction and is worth another attempt.
fn error_verdict(error: &lettre::transport::smtp::Error, relay: &str) -> SendError {
    let causes: Vec<String> =
        std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |cause| {
            cause.source()
        })
        .map(ToString::to_string)
        .collect();
    let words = format!("{} ({relay})", causes.join(": "));
    if error.is_client() {
        SendError::Refused(format!("{words}; not sent"))
    } else {
        SendError::Transport(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SmtpConfig, SmtpSettings};
    use crate::store::{DeliveryRequest, DeliveryStatus};

    fn settings() -> SmtpSettings {
        SmtpConfig {
            url: Some("smtp://127.0.0.1:2525".into()),
            from: Some("hookgate <alerts@Example.com>".into()),
            ..SmtpConfig::default()
        }
        .settings(Duration::from_secs(5))
        .unwrap()
        .unwrap()
    }

    fn destination(to: serde_json::Value) -> Destination {
        serde_json::from_value(serde_json::json!({"kind": "email", "to": to})).unwrap()
    }

    fn email(to: &[&str], html: Option<&str>, in_reply_to: Option<&str>) -> EmailRequest {
        EmailRequest {
            to: to.iter().map(ToString::to_string).collect(),
            subject: "[hookgate] pipeline\r\nBcc: evil@example.net".into(),
            text: "the text part".into(),
            html: html.map(str::to_string),
            message_key: "hookgate.dl_7".into(),
            in_reply_to_key: in_reply_to.map(str::to_string),
        }
    }

    fn delivery(email: EmailRequest) -> DeliveryRecord {
        DeliveryRecord {
            id: 7,
            endpoint: "ep".into(),
            inbound_id: None,
            destination: 0,
            kind: "email".into(),
            notification: "alert.opened".into(),
            status: DeliveryStatus::Pending,
            request: DeliveryRequest::Email(email),
            attempts: Vec::new(),
            next_attempt_at: None,
            created_at: 0,
            alert: None,
            page: None,
        }
    }

    fn formatted(email: EmailRequest) -> String {
        let mailer = Mailer::new(&settings()).unwrap();
        let recipients = email.to.iter().map(|to| to.parse().unwrap()).collect();
        let record = delivery(email.clone());
        let message = mailer.message(&record, &email, recipients).unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    #[test]
    fn the_host_writes_sender_ids_and_threading() {
        let text = formatted(email(
            &["ops@example.com"],
            Some("<p>html</p>"),
            Some("hookgate.al_1.ep.d0"),
        ));
        assert!(
            text.contains("From: hookgate <alerts@Example.com>\r\n"),
            "{text}"
        );
        assert!(text.contains("To: ops@example.com\r\n"), "{text}");
        assert!(
            text.contains("Message-ID: <hookgate.dl_7@Example.com>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("In-Reply-To: <hookgate.al_1.ep.d0@Example.com>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("References: <hookgate.al_1.ep.d0@Example.com>\r\n"),
            "{text}"
        );
        assert!(text.contains("X-Hookgate-Delivery: dl_7\r\n"), "{text}");
        assert!(text.contains("Date: "), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("text/html"), "{text}");
        // The notifier's line break stays inside the subject: no header of its own.
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn a_mail_without_html_is_plain_text() {
        let text = formatted(email(&["ops@example.com"], None, None));
        assert!(!text.contains("multipart"), "{text}");
        assert!(text.contains("Content-Type: text/plain"), "{text}");
        assert!(!text.contains("In-Reply-To"), "{text}");
    }

    #[test]
    fn only_the_destinations_recipients_are_mailed() {
        let allowed = destination_recipients(&destination(serde_json::json!([
            "ops@example.com",
            "On call <oncall@Example.COM>"
        ])))
        .unwrap();
        let ok = checked_recipients(
            &["Ops <ops@example.com>".into(), "oncall@example.com".into()],
            &allowed,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        let error = checked_recipients(&["attacker@example.net".into()], &allowed).unwrap_err();
        assert!(error.contains("attacker@example.net"), "{error}");
        // The local part is compared as written.
        assert!(checked_recipients(&["OPS@example.com".into()], &allowed).is_err());
        assert!(checked_recipients(&[], &allowed).is_err());
        assert!(checked_recipients(&["not an address".into()], &allowed).is_err());
    }

    #[test]
    fn a_destinations_to_is_one_address_or_a_list() {
        assert_eq!(
            destination_recipients(&destination(serde_json::json!("ops@example.com")))
                .unwrap()
                .len(),
            1
        );
        for bad in [
            serde_json::json!([]),
            serde_json::json!(["ops@example.com", 5]),
            serde_json::json!(5),
            serde_json::json!("ops"),
            serde_json::json!(["ops@example.com", "x@"]),
        ] {
            assert!(
                destination_recipients(&destination(bad.clone())).is_err(),
                "{bad}"
            );
        }
        let none: Destination =
            serde_json::from_value(serde_json::json!({"kind": "email"})).unwrap();
        assert!(destination_recipients(&none).is_err());
    }

    #[tokio::test]
    async fn a_mail_to_another_address_is_refused_before_connecting() {
        // Nothing listens on the relay's port: a refusal proves nothing was attempted.
        let mailer = Mailer::new(&settings()).unwrap();
        let request = email(&["attacker@example.net"], None, None);
        let record = delivery(request.clone());
        let destination = destination(serde_json::json!("ops@example.com"));
        match mailer.send(&record, &request, Some(&destination)).await {
            Err(SendError::Refused(reason)) => {
                assert!(reason.contains("not one the destination names"), "{reason}")
            }
            _ => panic!("not refused"),
        }
        match mailer.send(&record, &request, None).await {
            Err(SendError::Refused(reason)) => assert!(reason.contains("no longer exists")),
            _ => panic!("not refused"),
        }
    }

    #[test]
    fn the_mailers_debug_names_no_login() {
        let mut settings = settings();
        settings.login = Some(crate::config::SmtpLogin {
            username: "alerts".into(),
            password: crate::config::SecretText::new("pw-never-shown-99"),
        });
        let shown = format!("{:?}", Mailer::new(&settings).unwrap());
        assert!(shown.contains("smtp://127.0.0.1:2525"), "{shown}");
        assert!(!shown.contains("pw-never-shown-99"), "{shown}");
    }

    #[test]
    fn replies_keep_code_and_text() {
        assert_eq!(
            reply(451, "4.3.0 try again later"),
            MailReply {
                code: 451,
                text: "451 4.3.0 try again later".into()
            }
        );
    }
}
