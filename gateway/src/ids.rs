//! The ids the API and notifiers show: `in_<n>`, `al_<n>`, `dl_<n>` over the store's sequences,
//! and the random ones (endpoint ids, secrets, tokens).

use rand::RngCore;

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

/// `n` random bytes, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// An unguessable URL-safe id: 144 random bits.
pub fn random_id() -> String {
    use base64::Engine as _;
    let mut buffer = [0u8; 18];
    rand::rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}
