/// How a digest is written in a signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEncoding {
    /// Lower-case hexadecimal.
    Hex,
    /// Standard base64.
    Base64,
}

/// The hash behind an HMAC signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How a provider signs its deliveries; the gateway verifies them with the endpoint's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureScheme {
    /// `header: prefix + encode(HMAC(secret, raw body))`.
    Hmac {
        /// Header name, e.g. `X-Hub-Signature`.
        header: String,
        /// Text before the digest, e.g. `sha256=`.
        prefix: String,
        /// Hash function.
        algorithm: HmacAlgorithm,
        /// Digest encoding.
        encoding: DigestEncoding,
    },
    /// The secret itself in this header (GitLab).
    Token(String),
    /// Standard Webhooks headers.
    StandardWebhooks,
}

impl SignatureScheme {
    /// HMAC-SHA256 in lower-case hex after `prefix`, as Bitbucket and GitHub sign.
    pub fn hmac_sha256_hex(header: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self::Hmac {
            header: header.into(),
            prefix: prefix.into(),
            algorithm: HmacAlgorithm::Sha256,
            encoding: DigestEncoding::Hex,
        }
    }
}

/// One event a provider knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    /// The event header's value, e.g. `repo:push`.
    pub key: String,
    /// Whether it is a "push" event.
    pub push: bool,
    /// One line for operators.
    pub description: String,
    /// A sample payload (JSON text).
    pub sample: String,
}

impl EventType {
    /// An event that is not a push.
    pub fn new(
        key: impl Into<String>,
        description: impl Into<String>,
        sample: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            push: false,
            description: description.into(),
            sample: sample.into(),
        }
    }

    /// Marks it as a push event.
    pub fn push(mut self) -> Self {
        self.push = true;
        self
    }
}

/// How to receive a provider's webhooks.
///
/// ```
/// use hookgate_plugin_sdk::prelude::*;
/// let description = ProviderDescription::new("X-Event-Key")
///     .delivery_id_header("X-Request-UUID")
///     .signature(SignatureScheme::hmac_sha256_hex("X-Hub-Signature", "sha256="))
///     .event(EventType::new("repo:push", "A push", "{}").push());
/// assert_eq!(description.events.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderDescription {
    /// The header naming the event.
    pub event_header: String,
    /// The header with a unique id per delivery.
    pub delivery_id_header: Option<String>,
    /// The header with the sender's attempt number.
    pub attempt_header: Option<String>,
    /// How deliveries are signed.
    pub signature: Option<SignatureScheme>,
    /// The events it knows.
    pub events: Vec<EventType>,
}

impl ProviderDescription {
    /// A description with this event header and nothing else.
    pub fn new(event_header: impl Into<String>) -> Self {
        Self {
            event_header: event_header.into(),
            delivery_id_header: None,
            attempt_header: None,
            signature: None,
            events: Vec::new(),
        }
    }

    /// Sets the delivery-id header.
    pub fn delivery_id_header(mut self, header: impl Into<String>) -> Self {
        self.delivery_id_header = Some(header.into());
        self
    }

    /// Sets the attempt-number header.
    pub fn attempt_header(mut self, header: impl Into<String>) -> Self {
        self.attempt_header = Some(header.into());
        self
    }

    /// Sets the signature scheme.
    pub fn signature(mut self, scheme: SignatureScheme) -> Self {
        self.signature = Some(scheme);
        self
    }

    /// Adds an event.
    pub fn event(mut self, event: EventType) -> Self {
        self.events.push(event);
        self
    }
}
