//! What plugins take and return, as the rest of the gateway sees it: plain serde types,
//! independent of the WIT version a plugin was built against. `bindings/` converts between
//! these and each WIT version's generated types, so a new WIT version adds a conversion, not a
//! change here.

use serde::{Deserialize, Serialize};

/// The four plugin kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Describes a webhook source.
    Provider,
    /// Events to alert actions.
    AlertMapper,
    /// Events to messages.
    Formatter,
    /// Notifications to HTTP requests.
    Notifier,
}

impl PluginKind {
    /// `provider`, `alert-mapper`, `formatter` or `notifier`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::AlertMapper => "alert-mapper",
            Self::Formatter => "formatter",
            Self::Notifier => "notifier",
        }
    }

    /// The WIT interface a component of this kind exports, without the version.
    pub fn interface(self) -> &'static str {
        match self {
            Self::Provider => "hookgate:plugin/provider-api",
            Self::AlertMapper => "hookgate:plugin/alert-mapper-api",
            Self::Formatter => "hookgate:plugin/formatter-api",
            Self::Notifier => "hookgate:plugin/notifier-api",
        }
    }

    /// Every kind.
    pub const ALL: [PluginKind; 4] = [
        Self::Provider,
        Self::AlertMapper,
        Self::Formatter,
        Self::Notifier,
    ];
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A config key a plugin reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfigKey {
    /// Key name.
    pub name: String,
    /// One line.
    pub description: String,
}

/// Who a plugin says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Unique name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Kind.
    pub kind: PluginKind,
    /// WIT package version it was built against.
    pub api_version: String,
    /// For operators.
    pub description: String,
    /// Config keys it reads.
    pub config_keys: Vec<ConfigKey>,
}

/// A verified event, as mappers and formatters receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginEvent {
    /// Inbound record id.
    pub inbound_id: String,
    /// Endpoint id.
    pub endpoint_id: String,
    /// Provider plugin name.
    pub provider: String,
    /// Event key.
    pub event_key: String,
    /// Headers, lower-cased names, signatures redacted.
    pub headers: Vec<(String, String)>,
    /// JSON body text.
    pub body: String,
    /// Receipt time, ms since the Unix epoch.
    pub received_at: u64,
    /// Sender's attempt number.
    pub attempt: u32,
}

/// Hash behind an HMAC signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// Digest encoding in a signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestEncoding {
    /// Lower-case hex.
    Hex,
    /// Base64.
    Base64,
}

/// How a provider signs deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum SignatureScheme {
    /// HMAC over the raw body.
    Hmac {
        /// Header name.
        header: String,
        /// Text before the digest.
        prefix: String,
        /// Hash function.
        algorithm: HmacAlgorithm,
        /// Encoding.
        encoding: DigestEncoding,
    },
    /// The secret verbatim in a header.
    Token {
        /// Header name.
        header: String,
    },
    /// Standard Webhooks.
    StandardWebhooks,
}

/// An event a provider knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventType {
    /// Event header value.
    pub key: String,
    /// Counts as a push.
    pub push: bool,
    /// One line.
    pub description: String,
    /// Sample payload.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub sample: String,
}

/// How to receive a provider's webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDescription {
    /// Event header.
    pub event_header: String,
    /// Delivery-id header.
    pub delivery_id_header: Option<String>,
    /// Attempt-number header.
    pub attempt_header: Option<String>,
    /// Signature scheme.
    pub signature: Option<SignatureScheme>,
    /// Known events.
    pub events: Vec<EventType>,
}

impl ProviderDescription {
    /// The event with this key.
    pub fn event(&self, key: &str) -> Option<&EventType> {
        self.events.iter().find(|event| event.key == key)
    }
}

/// An alert as a mapper proposes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Dedup key.
    pub key: String,
    /// Title.
    pub title: String,
    /// Source status.
    pub source_status: String,
    /// Link.
    pub url: Option<String>,
    /// Longer text.
    pub description: Option<String>,
    /// Commit hash.
    pub commit_hash: Option<String>,
    /// Commit message.
    pub commit_message: Option<String>,
    /// Actor.
    pub actor: Option<String>,
    /// Extra name/value pairs, shown as a JSON object.
    #[serde(default, with = "pairs_as_object")]
    pub labels: Vec<(String, String)>,
    /// How bad it is; `error` when the mapper does not say (every 0.1 mapper).
    #[serde(default)]
    pub severity: Severity,
}

/// How bad an alert is (WIT 0.2). It orders pages and sets an ntfy push's priority.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wakes people up.
    Critical,
    /// Something failed: the default.
    #[default]
    Error,
    /// May need a look.
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];

    /// The name used in JSON, config and WIT.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Parses a name as [`Severity::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == name)
    }
}

/// What a mapper asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum AlertAction {
    /// Open or append.
    Open {
        /// The alert.
        alert: Alert,
    },
    /// Close the open alert with this key.
    Close {
        /// Dedup key.
        key: String,
    },
    /// Nothing, for this reason.
    Ignore {
        /// Why.
        reason: String,
    },
}

/// Embed author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedAuthor {
    /// Name.
    pub name: String,
    /// Link.
    pub url: Option<String>,
    /// Avatar.
    pub icon_url: Option<String>,
}

/// Embed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedField {
    /// Title.
    pub name: String,
    /// Text.
    pub value: String,
    /// Inline.
    #[serde(default)]
    pub inline: bool,
}

/// A rich card.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Embed {
    /// Title.
    pub title: Option<String>,
    /// Body.
    pub description: Option<String>,
    /// Link.
    pub url: Option<String>,
    /// Colour `0xRRGGBB`.
    pub colour: Option<u32>,
    /// Author.
    pub author: Option<EmbedAuthor>,
    /// Fields.
    #[serde(default)]
    pub fields: Vec<EmbedField>,
    /// Footer.
    pub footer: Option<String>,
    /// RFC 3339.
    pub timestamp: Option<String>,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Message {
    /// Text.
    #[serde(default)]
    pub text: String,
    /// Embeds.
    #[serde(default)]
    pub embeds: Vec<Embed>,
}

/// Alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Firing.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Resolved.
    Closed,
}

/// An alert the gateway opened or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNotice {
    /// Alert id.
    pub id: String,
    /// The alert.
    pub alert: Alert,
    /// State after the change.
    pub state: AlertState,
    /// Events mapped onto it.
    pub count: u32,
    /// Opened at, ms.
    pub opened_at: u64,
    /// Closed at, ms.
    pub closed_at: Option<u64>,
    /// Who acknowledged it, for `alert.acknowledged` (WIT 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    /// The escalation step just paged (1-based), for `alert.escalated` (WIT 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_step: Option<u32>,
    /// The signed acknowledge link of a page (WIT 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_url: Option<String>,
}

/// What a notifier delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notification {
    /// A message.
    Message(Message),
    /// An alert opened.
    AlertOpened(AlertNotice),
    /// An alert closed.
    AlertClosed(AlertNotice),
    /// A person acknowledged an alert (WIT 0.2; 0.1 notifiers are not told).
    AlertAcknowledged(AlertNotice),
    /// An escalation policy paged its next step (WIT 0.2; 0.1 notifiers are not told).
    AlertEscalated(AlertNotice),
}

impl Notification {
    /// The notification kind deliveries are stored and sent with: `message`, `alert.opened`,
    /// `alert.closed`, `alert.acknowledged`, `alert.escalated`.
    pub fn kind(&self) -> &'static str {
        match self {
            Notification::Message(_) => "message",
            Notification::AlertOpened(_) => "alert.opened",
            Notification::AlertClosed(_) => "alert.closed",
            Notification::AlertAcknowledged(_) => "alert.acknowledged",
            Notification::AlertEscalated(_) => "alert.escalated",
        }
    }

    /// The alert it is about, if any.
    pub fn alert_notice(&self) -> Option<&AlertNotice> {
        match self {
            Notification::Message(_) => None,
            Notification::AlertOpened(notice)
            | Notification::AlertClosed(notice)
            | Notification::AlertAcknowledged(notice)
            | Notification::AlertEscalated(notice) => Some(notice),
        }
    }
}

/// Where a notification comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotificationContext {
    /// Endpoint id.
    pub endpoint_id: String,
    /// Endpoint name.
    pub endpoint_name: String,
    /// Event key.
    pub event_key: String,
    /// Inbound id.
    pub inbound_id: String,
    /// Delivery id.
    pub delivery_id: String,
}

/// A destination as the notifier sees it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginDestination {
    /// Kind.
    pub kind: String,
    /// URL.
    pub url: String,
    /// Other settings, JSON object text.
    pub config: String,
}

/// A request a notifier asks the gateway to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundRequest {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    /// The configured credential the host adds (WIT 0.2 names it; for 0.1 notifiers the host
    /// infers it from the destination's kind). The host still checks it fits the delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
}

/// A credential the host holds and adds to a request; its value never enters a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    /// `[twilio]`'s HTTP Basic `account_sid:auth token`, only towards `[twilio] api_url`.
    Twilio,
    /// The destination's own `token`, as `Authorization: Bearer` (ntfy).
    DestinationToken,
}

/// A mail a notifier asks the gateway to send over `[smtp]` (WIT 0.2). The host adds `From`,
/// `Date`, `Message-ID` and the threading headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundEmail {
    /// Recipients; each must be one the destination names.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part, when there is one.
    pub html: Option<String>,
}

/// One thing a notifier asks the gateway to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "transport", rename_all = "lowercase")]
pub enum NotifierOutput {
    /// An HTTP request.
    Http(OutboundRequest),
    /// A mail.
    Email(OutboundEmail),
}

impl NotifierOutput {
    /// The HTTP request, if it is one.
    pub fn http(&self) -> Option<&OutboundRequest> {
        match self {
            NotifierOutput::Http(request) => Some(request),
            NotifierOutput::Email(_) => None,
        }
    }

    /// The HTTP request, if it is one, to add headers to.
    pub fn http_mut(&mut self) -> Option<&mut OutboundRequest> {
        match self {
            NotifierOutput::Http(request) => Some(request),
            NotifierOutput::Email(_) => None,
        }
    }
}

/// Name/value pairs as a JSON object (order kept), which reads better than a list of pairs.
mod pairs_as_object {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        pairs: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(pairs.iter().map(|(name, value)| (name, value)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Bodies are nearly always JSON: store and show them as text when they are UTF-8, else as
/// base64 under `{"base64": ...}`.
mod body_text {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(body) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(
                    "base64",
                    &base64::engine::general_purpose::STANDARD.encode(body),
                )?;
                map.end()
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Base64 { base64: String },
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        match Body::deserialize(deserializer)? {
            Body::Text(text) => Ok(text.into_bytes()),
            Body::Base64 { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map_err(serde::de::Error::custom),
        }
    }
}
