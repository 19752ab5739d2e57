//! Deliveries: each notification × destination, stored before it is attempted, with every
//! attempt.

use crate::runtime::OutboundRequest;
use serde::{Deserialize, Serialize};

/// The notification kind of a destination's Send test, which is attempted once, never retried.
pub const TEST_NOTIFICATION: &str = "test";
/// The notification kind of a page to a person.
pub const PAGE_NOTIFICATION: &str = "page";

/// Delivery status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Failed for good (a 4xx, or the last attempt).
    Failed,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryAttempt {
    /// When, ms.
    pub at: u64,
    /// The answer's status, when there was one.
    #[schema(required = true)]
    pub status_code: Option<u16>,
    /// How long it took.
    pub duration_ms: u64,
    /// Connection error, timeout, refusal.
    #[schema(required = true)]
    pub error: Option<String>,
    /// The first 1 KiB of the answer.
    #[schema(required = true)]
    pub response: Option<String>,
}

/// One notification to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Sequence.
    pub id: u64,
    /// Endpoint id.
    pub endpoint: String,
    /// Inbound record that caused it (none for operator actions).
    pub inbound_id: Option<u64>,
    /// Index of the destination in the endpoint.
    pub destination: usize,
    /// Destination kind.
    pub kind: String,
    /// `message`, `alert.opened`, `alert.closed`.
    pub notification: String,
    /// Status.
    pub status: DeliveryStatus,
    /// What the notifier shaped (an HTTP request before signing, or a mail).
    pub request: DeliveryRequest,
    /// Attempts so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due, ms.
    pub next_attempt_at: Option<u64>,
    /// Created, ms.
    pub created_at: u64,
    /// The alert it is about, when it is (its notices and pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<u64>,
    /// The person it pages, when it is a page rather than a notice to an endpoint destination:
    /// it is sent only while the alert is open (never after an acknowledgement or a close) and
    /// counts nothing against the endpoint's destination health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageTarget>,
}

/// Who a page is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageTarget {
    /// `us_<n>`.
    pub user: String,
    /// The index of the contact method in the user's `contact_methods`.
    pub contact: usize,
    /// The contact's address as paged (an email address, a number, an ntfy topic URL): the
    /// host sends to nothing else.
    pub address: String,
    /// Escalation step, from 1.
    pub step: usize,
}

/// What a delivery sends. Stored untagged, so records written before mail existed (every one
/// an HTTP request) read unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeliveryRequest {
    /// An HTTP request.
    Http(OutboundRequest),
    /// A mail over `[smtp]`.
    Email(EmailRequest),
}

impl DeliveryRequest {
    /// The HTTP request, if it is one.
    pub fn http(&self) -> Option<&OutboundRequest> {
        match self {
            DeliveryRequest::Http(request) => Some(request),
            DeliveryRequest::Email(_) => None,
        }
    }

    /// The mail, if it is one.
    pub fn email(&self) -> Option<&EmailRequest> {
        match self {
            DeliveryRequest::Http(_) => None,
            DeliveryRequest::Email(email) => Some(email),
        }
    }
}

/// A mail as stored: what the notifier wrote, and the headers the host fixed when it planned the
/// delivery, so every attempt sends the same message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    #[serde(default)]
    pub html: Option<String>,
    /// The left part of the `Message-ID` (the sender adds `@` and `[smtp] from`'s domain);
    /// stable for the delivery, so a retried mail is the same message.
    pub message_key: String,
    /// The left part of the `Message-ID` of the mail that opened the alert, for `In-Reply-To`
    /// and `References` (none on that first mail and on messages).
    #[serde(default)]
    pub in_reply_to_key: Option<String>,
}

/// Filters of the delivery list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Status.
    pub status: Option<DeliveryStatus>,
    /// Endpoint id.
    pub endpoint: Option<String>,
    /// Only ids below this.
    pub before: Option<u64>,
    /// Page size.
    pub limit: usize,
}
