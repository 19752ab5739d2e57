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

/// An alert the gateway opened or closed.
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
}

impl Notification {
    /// The envelope type name: `message`, `alert.opened` or `alert.closed`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::AlertOpened(_) => "alert.opened",
            Self::AlertClosed(_) => "alert.closed",
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

/// An HTTP request for the gateway to send.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let request = HttpRequest::post_json("https://example.com/hook", &json!({"text": "hi"})).unwrap();
/// assert_eq!(request.method, "POST");
/// assert_eq!(request.header("content-type"), Some("application/json"));
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
        })
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
