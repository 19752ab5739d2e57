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

/// An unguessable URL-safe id: 144 random bits, never starting with `-` or `_` (an id that
/// starts with `-` reads as a flag where an operator pastes it into a command line, as
/// `hookgate endpoint show ID`; one such id in 32 did).
pub fn random_id() -> String {
    use base64::Engine as _;
    loop {
        let mut buffer = [0u8; 18];
        rand::rng().fill_bytes(&mut buffer);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer);
        if id.starts_with(|first: char| first.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::random_id;

    #[test]
    fn ids_are_long_url_safe_and_never_read_as_a_flag() {
        for _ in 0..2_000 {
            let id = random_id();
            assert_eq!(id.len(), 24, "{id}");
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{id}"
            );
        }
    }
}
