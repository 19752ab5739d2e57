//! Deliveries with their attempts; retry by hand.

use super::{OpsError, Services};
use crate::ids::{format_delivery_id, format_inbound_id, parse_id};
use crate::store::{
    DeliveryAttempt, DeliveryFilter, DeliveryRecord, DeliveryStatus, Page, RetryScheduled, now_ms,
};
use serde::Serialize;
use serde_json::Value;

/// Deliveries, newest first, filtered.
pub fn list(
    services: &Services,
    filter: &DeliveryFilter,
) -> Result<Page<DeliveryRecord>, OpsError> {
    Ok(services.store.list_deliveries(filter)?)
}

/// One delivery by its API id (`dl_<n>`).
pub fn get(services: &Services, id: &str) -> Result<DeliveryRecord, OpsError> {
    let id = parse_id("dl", id).ok_or(OpsError::NotFound("delivery"))?;
    services
        .store
        .delivery(id)?
        .ok_or(OpsError::NotFound("delivery"))
}

/// Schedules a delivery that was not delivered for an attempt now.
pub fn retry(services: &Services, id: &str) -> Result<DeliveryRecord, OpsError> {
    let current = get(services, id)?;
    if services
        .store
        .destination_health(&current.endpoint, current.destination)?
        .is_disabled()
    {
        return Err(OpsError::Conflict(format!(
            "destination {} of endpoint {} is disabled after consecutive failures; \
             enable it first",
            current.destination, current.endpoint
        )));
    }
    let record = match services.store.schedule_retry(current.id, now_ms())? {
        RetryScheduled::Scheduled(record) => *record,
        RetryScheduled::AlreadyDelivered => {
            return Err(OpsError::Conflict("the delivery was delivered".into()));
        }
        RetryScheduled::NotFound => return Err(OpsError::NotFound("delivery")),
    };
    services.outbox.wake();
    Ok(record)
}

/// A delivery as the API shows it: one notification to one destination (or one page to a
/// person), with every attempt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryView {
    /// `dl_<n>`.
    pub id: String,
    /// Endpoint id.
    pub endpoint: String,
    /// The inbound record that caused it, `in_<n>` (null for operator actions).
    #[schema(required = true)]
    pub inbound: Option<String>,
    /// The destination's index in the endpoint (null for a page, which goes to a person).
    #[schema(required = true)]
    pub destination: Option<usize>,
    /// The alert it is about, `al_<n>`, when it is.
    #[schema(required = true)]
    pub alert: Option<String>,
    /// Who a page is for, when it is one.
    #[schema(required = true)]
    pub page: Option<PageView>,
    /// Destination kind.
    pub kind: String,
    /// `message`, `alert.opened`, `alert.closed`, `test`, `page`.
    pub notification: String,
    /// Status.
    pub status: DeliveryStatus,
    /// The request's URL (null for a mail).
    #[schema(required = true)]
    pub url: Option<String>,
    /// Attempts so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due, ms.
    #[schema(required = true)]
    pub next_attempt_at: Option<u64>,
    /// Created, ms.
    pub created_at: u64,
    /// A mail's recipients (only on mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// A mail's subject (only on mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Who a page is for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageView {
    /// `us_<n>`.
    pub user: String,
    /// The index of the contact method in the user's `contact_methods`.
    pub contact: usize,
    /// Escalation step, from 1.
    pub step: usize,
}

impl DeliveryView {
    /// The view of `record`.
    pub fn of(record: &DeliveryRecord) -> Self {
        let email = record.request.email();
        Self {
            id: format_delivery_id(record.id),
            endpoint: record.endpoint.clone(),
            inbound: record.inbound_id.map(format_inbound_id),
            // A page goes to a person, not to one of the endpoint's destinations.
            destination: record.page.is_none().then_some(record.destination),
            alert: record.alert.map(crate::ids::format_alert_id),
            page: record.page.as_ref().map(|page| PageView {
                user: page.user.clone(),
                contact: page.contact,
                step: page.step,
            }),
            kind: record.kind.clone(),
            notification: record.notification.clone(),
            status: record.status,
            url: record.request.http().map(|request| request.url.clone()),
            attempts: record.attempts.clone(),
            next_attempt_at: record.next_attempt_at,
            created_at: record.created_at,
            // A mail has recipients and a subject where a request has a URL.
            to: email.map(|email| email.to.clone()),
            subject: email.map(|email| email.subject.clone()),
        }
    }
}

/// [`DeliveryView`] as JSON, for the console's templates.
pub fn view(record: &DeliveryRecord) -> Value {
    serde_json::to_value(DeliveryView::of(record)).unwrap_or(Value::Null)
}
