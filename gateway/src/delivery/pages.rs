//! Pages (deliveries to a person on an escalation step) are held to rules the notices to an
//! endpoint's destinations are not: one is never sent once its alert is acknowledged or closed
//! (planned before, due later by the person's notification rules, or retrying); it goes to the
//! contact address it was planned for and nowhere else; and its attempts count nothing against
//! the endpoint's destination health (it went to a person, not to a destination).

use crate::store::{AlertState, DeliveryRecord, Destination, PageTarget, Store};
use serde_json::{Map, json};

/// Why a page must not be sent now, if so: its alert was acknowledged (by whom) or closed.
pub(super) fn held_back(store: &dyn Store, delivery: &DeliveryRecord) -> Option<String> {
    delivery.page.as_ref()?;
    let alert = store.alert(delivery.alert?).ok()??;
    match alert.state {
        AlertState::Open => None,
        AlertState::Acknowledged => Some(format!(
            "not sent: the alert was acknowledged{}",
            alert
                .acknowledged_by
                .map(|by| format!(" by {by}"))
                .unwrap_or_default()
        )),
        AlertState::Closed => Some("not sent: the alert was closed".into()),
    }
}

/// The destination a page's checks hold it to: its one contact address (the mail's only
/// allowed recipient, the ntfy topic its request must go to); no secret, no token.
pub(super) fn contact_destination(kind: &str, page: &PageTarget) -> Destination {
    let mut config = Map::new();
    let url = match kind {
        "ntfy" => page.address.clone(),
        "email" => {
            config.insert("to".into(), json!([page.address]));
            String::new()
        }
        _ => {
            config.insert("to".into(), json!(page.address));
            String::new()
        }
    };
    Destination {
        notifier: "notifier".into(),
        kind: kind.into(),
        url,
        secret: None,
        token: None,
        config,
    }
}
