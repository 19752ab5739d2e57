//! The ids the API and notifiers show: `in_<n>`, `al_<n>`, `dl_<n>` over the store's sequences.

/// `in_<sequence>`: an inbound record.
pub fn format_inbound_id(id: u64) -> String {
    format!("in_{id}")
}

/// `al_<sequence>`: an alert.
pub fn format_alert_id(id: u64) -> String {
    format!("al_{id}")
}

/// `dl_<sequence>`: a delivery (also its `Idempotency-Key`).
pub fn format_delivery_id(id: u64) -> String {
    format!("dl_{id}")
}

/// Parses `prefix_<n>` ids (`in_12`, `al_3`, `dl_7`); a bare number is accepted too.
pub fn parse_id(prefix: &str, text: &str) -> Option<u64> {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .unwrap_or(text)
        .parse()
        .ok()
}
