//! A connection's OAuth tokens at rest: JSON sealed with XChaCha20-Poly1305 under a 32-byte
//! key kept apart from the database (a file under the data dir, 0600), a random 24-byte nonce
//! per seal, and the endpoint id as associated data, so a sealed blob copied onto another
//! endpoint does not open. The blob is `1 | nonce | ciphertext`; the leading byte names the
//! format so a later one can be told apart.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

/// The format byte of a blob sealed here.
const FORMAT: u8 = 1;
/// XChaCha20's nonce length.
const NONCE_BYTES: usize = 24;

/// The key file under the data dir.
pub const KEY_FILE: &str = "bitbucket-tokens.key";

/// A Bitbucket OAuth connection's tokens. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    /// The access token (Bearer), short-lived.
    pub access_token: String,
    /// What gets a new access token (`grant_type=refresh_token`).
    pub refresh_token: String,
    /// When the access token expires (ms since the epoch).
    pub expires_at_ms: u64,
}

impl std::fmt::Debug for OAuthTokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "OAuthTokens([redacted], expires_at_ms: {})",
            self.expires_at_ms
        )
    }
}

/// A sealed blob that does not open: another key, another endpoint, or damage.
#[derive(Debug, thiserror::Error)]
#[error("the stored Bitbucket connection of {0} does not open with this gateway's key")]
pub struct Unsealable(pub String);

/// Seals and opens tokens with one key.
pub struct TokenSealer {
    cipher: XChaCha20Poly1305,
}

impl TokenSealer {
    /// A sealer with this key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key"),
        }
    }

    /// Seals `tokens` for `endpoint_id`.
    pub fn seal(&self, endpoint_id: &str, tokens: &OAuthTokens) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let plaintext = serde_json::to_vec(tokens).expect("tokens serialize");
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: endpoint_id.as_bytes(),
                },
            )
            .expect("sealing never fails for a short message");
        let mut blob = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        blob.push(FORMAT);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    /// Opens what [`TokenSealer::seal`] sealed for `endpoint_id`.
    pub fn open(&self, endpoint_id: &str, blob: &[u8]) -> Result<OAuthTokens, Unsealable> {
        let unsealable = || Unsealable(endpoint_id.to_string());
        let (format, rest) = blob.split_first().ok_or_else(unsealable)?;
        if *format != FORMAT || rest.len() < NONCE_BYTES {
            return Err(unsealable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| unsealable())?;
        let plaintext = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: endpoint_id.as_bytes(),
                },
            )
            .map_err(|_| unsealable())?;
        serde_json::from_slice(&plaintext).map_err(|_| unsealable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> OAuthTokens {
        OAuthTokens {
            access_token: "access-abc".into(),
            refresh_token: "refresh-xyz".into(),
            expires_at_ms: 42,
        }
    }

    #[test]
    fn sealed_tokens_open_for_their_endpoint_only() {
        let sealer = TokenSealer::new(&[7; 32]);
        let blob = sealer.seal("ep_1", &tokens());
        assert_eq!(sealer.open("ep_1", &blob).unwrap(), tokens());
        for secret in ["access-abc", "refresh-xyz"] {
            assert!(
                !blob.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in the clear"
            );
        }
        // Another endpoint's associated data, another key, a flipped byte: none opens.
        assert!(sealer.open("ep_2", &blob).is_err());
        assert!(TokenSealer::new(&[8; 32]).open("ep_1", &blob).is_err());
        let mut damaged = blob.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(sealer.open("ep_1", &damaged).is_err());
        assert!(sealer.open("ep_1", &blob[..10]).is_err());
        assert!(sealer.open("ep_1", &[]).is_err());
        // A fresh nonce each time.
        assert_ne!(sealer.seal("ep_1", &tokens()), blob);
        assert!(!format!("{:?}", tokens()).contains("abc"));
    }
}
