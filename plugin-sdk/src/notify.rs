use crate::{Alert, Config, Message, PluginError};

/// The state of an alert in the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Firing.
    Open,
    /// Firing, and someone is on it.
    Acknowledged,
    /// Resolved.
    Closed,
}

impl AlertState {
    /// `open`, `acknowledged` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }
}

/// An alert the gateway opened or closed, that a person acknowledged, or that an escalation
/// policy paged on.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertNotice {
    /// The gateway's alert id.
    pub id: String,
    /// The alert as last mapped.
    pub alert: Alert,
    /// Its state after the change.
    pub state: AlertState,
    /// Events mapped onto it.
    pub count: u32,
    /// Opened, ms since the Unix epoch.
    pub opened_at: u64,
    /// Closed, ms since the Unix epoch.
    pub closed_at: Option<u64>,
    /// Who acknowledged it, on [`Notification::AlertAcknowledged`].
    pub acknowledged_by: Option<String>,
    /// The escalation step just paged, counted from 1, on [`Notification::AlertEscalated`].
    pub escalation_step: Option<u32>,
    /// The signed link that acknowledges the alert without signing in, on the notices that
    /// page a person: show it where a person can follow it.
    pub ack_url: Option<String>,
}

/// What a notifier is asked to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// A formatted message.
    Message(Message),
    /// An alert that opened.
    AlertOpened(AlertNotice),
    /// An alert that closed.
    AlertClosed(AlertNotice),
    /// A person acknowledged an open alert (`acknowledged_by` says who).
    AlertAcknowledged(AlertNotice),
    /// An escalation policy paged its next step (`escalation_step` says which).
    AlertEscalated(AlertNotice),
}

impl Notification {
    /// The envelope type name: `message`, `alert.opened`, `alert.closed`,
    /// `alert.acknowledged` or `alert.escalated`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::AlertOpened(_) => "alert.opened",
            Self::AlertClosed(_) => "alert.closed",
            Self::AlertAcknowledged(_) => "alert.acknowledged",
            Self::AlertEscalated(_) => "alert.escalated",
        }
    }

    /// The alert notice, for every kind but a message.
    pub fn alert_notice(&self) -> Option<&AlertNotice> {
        match self {
            Self::Message(_) => None,
            Self::AlertOpened(notice)
            | Self::AlertClosed(notice)
            | Self::AlertAcknowledged(notice)
            | Self::AlertEscalated(notice) => Some(notice),
        }
    }
}

/// Where a notification comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationContext {
    /// Endpoint id.
    pub endpoint_id: String,
    /// Endpoint name.
    pub endpoint_name: String,
    /// Event key of the inbound record.
    pub event_key: String,
    /// Inbound record id.
    pub inbound_id: String,
    /// The delivery id (sent as `Idempotency-Key`).
    pub delivery_id: String,
}

/// A configured destination, without its secret (the gateway signs).
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    /// `discord`, `slack`, `webhook`, ...
    pub kind: String,
    /// Receiver URL.
    pub url: String,
    /// The destination's other settings.
    pub config: Config,
}

/// A credential the gateway holds and adds to a request the plugin shaped. The plugin names
/// it; its value never enters the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `[twilio]`'s account as HTTP Basic `account_sid:auth token`, added only to requests
    /// towards `[twilio] api_url`.
    Twilio,
    /// The destination's own `token` as `Authorization: Bearer` (ntfy); nothing is added when
    /// the destination has none.
    DestinationToken,
}

/// An HTTP request for the gateway to send.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let request = HttpRequest::post_json("https://example.com/hook", &json!({"text": "hi"})).unwrap();
/// assert_eq!(request.method, "POST");
/// assert_eq!(request.header("content-type"), Some("application/json"));
/// assert_eq!(request.credential, None);
/// let push = HttpRequest::post_text("https://ntfy.sh/team", "disk full")
///     .credential(Credential::DestinationToken);
/// assert_eq!(push.credential, Some(Credential::DestinationToken));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// The credential the gateway adds (none by default).
    pub credential: Option<Credential>,
}

impl HttpRequest {
    /// A `POST` of `body` as JSON with `Content-Type: application/json`.
    pub fn post_json(
        url: impl Into<String>,
        body: &impl serde::Serialize,
    ) -> Result<Self, PluginError> {
        Ok(Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body)?,
            credential: None,
        })
    }

    /// A `POST` of `text` with `Content-Type: text/plain; charset=utf-8`.
    pub fn post_text(url: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: text.into().into_bytes(),
            credential: None,
        }
    }

    /// Asks the gateway to add `credential` to this request.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// Adds a header.
    pub fn header_value(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A mail for the gateway to send over its `[smtp]` server. The gateway adds `From`, `Date`,
/// `Message-ID` and the threading headers (later notices of an alert reply to the first), and
/// sends the text and HTML parts as `multipart/alternative`.
///
/// ```
/// use hookgate_plugin_sdk::Email;
/// let email = Email::new(["ops@example.com"], "[hookgate] Disk full", "Disk full on db-1")
///     .html("<p>Disk full on <b>db-1</b></p>");
/// assert_eq!(email.to, ["ops@example.com"]);
/// assert_eq!(email.html.as_deref(), Some("<p>Disk full on <b>db-1</b></p>"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Recipients; each must be an address the destination names.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part (none by default). Escape what you interpolate into it.
    pub html: Option<String>,
}

impl Email {
    /// A plain-text mail to these recipients.
    pub fn new(
        to: impl IntoIterator<Item = impl Into<String>>,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            to: to.into_iter().map(Into::into).collect(),
            subject: subject.into(),
            text: text.into(),
            html: None,
        }
    }

    /// Adds an HTML part beside the text.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

/// One thing a notifier asks the gateway to send: an HTTP request or a mail. Both convert into
/// it with `.into()`.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let outputs: Vec<Outbound> = vec![
///     HttpRequest::post_json("https://example.com/hook", &json!({"text": "hi"})).unwrap().into(),
///     Email::new(["ops@example.com"], "hi", "hi").into(),
/// ];
/// assert!(outputs[0].http().is_some());
/// assert!(outputs[1].email().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// An HTTP request.
    Http(HttpRequest),
    /// A mail.
    Email(Email),
}

impl Outbound {
    /// The request, if this is one.
    pub fn http(&self) -> Option<&HttpRequest> {
        match self {
            Self::Http(request) => Some(request),
            Self::Email(_) => None,
        }
    }

    /// The mail, if this is one.
    pub fn email(&self) -> Option<&Email> {
        match self {
            Self::Http(_) => None,
            Self::Email(email) => Some(email),
        }
    }
}

impl From<HttpRequest> for Outbound {
    fn from(request: HttpRequest) -> Self {
        Self::Http(request)
    }
}

impl From<Email> for Outbound {
    fn from(email: Email) -> Self {
        Self::Email(email)
    }
}
