//! Acknowledge links: `{public_url}/a/<token>`, carried by every page, open a small page with
//! Acknowledge and Close that works without signing in. The token names the alert and the
//! person and is signed with the gateway's `ack-links` key (HMAC-SHA256, 128 bits kept), so it
//! cannot be forged or moved to another alert; it stops working when the alert closes.

use super::{OpsError, Services};
use crate::ids::{format_alert_id, parse_id};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The store's name of the signing key.
pub const KEY_NAME: &str = "ack-links";
/// Bytes of the MAC kept in a token.
const MAC_BYTES: usize = 16;

/// The token of a link for `user` (`us_<n>`) on alert `alert`.
pub fn token(key: &[u8], alert: u64, user: &str) -> String {
    let alert = format_alert_id(alert);
    format!("{alert}.{user}.{}", signature(key, &alert, user))
}

/// The link itself, under the gateway's public URL.
pub fn link(public_url: &str, key: &[u8], alert: u64, user: &str) -> String {
    format!(
        "{}/a/{}",
        public_url.trim_end_matches('/'),
        token(key, alert, user)
    )
}

/// The alert and the user a token names, if its signature holds.
pub fn read_token(key: &[u8], token: &str) -> Option<(u64, String)> {
    let mut parts = token.splitn(3, '.');
    let (alert, user, mac) = (parts.next()?, parts.next()?, parts.next()?);
    let id = parse_id("al", alert)?;
    let given = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(mac)
        .ok()?;
    let mut expected = Hmac::<Sha256>::new_from_slice(key).ok()?;
    expected.update(message(alert, user).as_bytes());
    // Constant time, over the bytes kept.
    expected.verify_truncated_left(&given).ok()?;
    (given.len() == MAC_BYTES).then(|| (id, user.to_string()))
}

/// The alert and person of a link, checked: 404 for a token that does not verify or an alert
/// that is gone.
pub fn resolve(services: &Services, token: &str) -> Result<(u64, String), OpsError> {
    let key = services.store.secret_key(KEY_NAME)?;
    read_token(&key, token).ok_or(OpsError::NotFound("acknowledge link"))
}

fn message(alert: &str, user: &str) -> String {
    format!("hookgate ack link\n{alert}\n{user}")
}

fn signature(key: &[u8], alert: &str, user: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message(alert, user).as_bytes());
    let bytes = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..MAC_BYTES])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_alert_and_user_and_cannot_be_moved() {
        let key = [7u8; 32];
        let token = token(&key, 12, "us_3");
        assert_eq!(read_token(&key, &token), Some((12, "us_3".into())));
        // Another alert, another user, another key, a cut signature: refused.
        let moved = token.replacen("al_12", "al_13", 1);
        assert_eq!(read_token(&key, &moved), None);
        let other_user = token.replacen("us_3", "us_4", 1);
        assert_eq!(read_token(&key, &other_user), None);
        assert_eq!(read_token(&[8u8; 32], &token), None);
        assert_eq!(read_token(&key, &token[..token.len() - 2]), None);
        assert_eq!(read_token(&key, "nonsense"), None);
        assert_eq!(
            link("https://gw.example/", &key, 12, "us_3"),
            format!("https://gw.example/a/{token}")
        );
    }
}
