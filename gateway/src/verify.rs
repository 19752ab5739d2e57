//! Signature schemes, all compared in constant time: HMAC over the raw body (Bitbucket, GitHub),
//! a plain shared token (GitLab), and Standard Webhooks (verifying inbound, signing outbound).

use crate::runtime::{DigestEncoding, HmacAlgorithm, SignatureScheme};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// Standard Webhooks: how far a timestamp may be from now, in seconds.
pub const STANDARD_WEBHOOKS_TOLERANCE_SECS: i64 = 5 * 60;

/// Why a delivery's signature was refused. The wording is what the inbound log records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature header is absent.
    #[error("signature missing")]
    Missing,
    /// The header is malformed or does not match.
    #[error("signature mismatch")]
    Mismatch,
    /// A Standard Webhooks timestamp too far from now.
    #[error("signature timestamp outside the tolerance")]
    Stale,
}

/// The headers a scheme reads, for lookup by the caller.
pub fn signature_headers(scheme: &SignatureScheme) -> Vec<&str> {
    match scheme {
        SignatureScheme::Hmac { header, .. } | SignatureScheme::Token { header } => {
            vec![header.as_str()]
        }
        SignatureScheme::StandardWebhooks => {
            vec!["webhook-id", "webhook-timestamp", "webhook-signature"]
        }
    }
}

/// Verifies one delivery against `secret`. `header` looks a request header up by
/// case-insensitive name; `now_secs` is the current Unix time (for Standard Webhooks).
pub fn verify<'a>(
    scheme: &SignatureScheme,
    secret: &str,
    body: &[u8],
    header: impl Fn(&str) -> Option<&'a str>,
    now_secs: i64,
) -> Result<(), SignatureError> {
    match scheme {
        SignatureScheme::Hmac {
            header: name,
            prefix,
            algorithm,
            encoding,
        } => {
            let value = header(name).ok_or(SignatureError::Missing)?;
            verify_hmac(
                *algorithm,
                *encoding,
                prefix,
                secret.as_bytes(),
                body,
                value,
            )
        }
        SignatureScheme::Token { header: name } => {
            let value = header(name).ok_or(SignatureError::Missing)?;
            // As digests: a plain `ct_eq` on the texts returns at once when the lengths differ.
            if secrets_equal(secret, value) {
                Ok(())
            } else {
                Err(SignatureError::Mismatch)
            }
        }
        SignatureScheme::StandardWebhooks => {
            let id = header("webhook-id").ok_or(SignatureError::Missing)?;
            let timestamp = header("webhook-timestamp").ok_or(SignatureError::Missing)?;
            let signatures = header("webhook-signature").ok_or(SignatureError::Missing)?;
            verify_standard_webhooks(secret, id, timestamp, body, signatures, now_secs)
        }
    }
}

/// `value` must be `prefix` followed by the digest in `encoding` — exactly: hex must be
/// lower-case and complete, as senders write it — and equal to HMAC(secret, body).
pub fn verify_hmac(
    algorithm: HmacAlgorithm,
    encoding: DigestEncoding,
    prefix: &str,
    secret: &[u8],
    body: &[u8],
    value: &str,
) -> Result<(), SignatureError> {
    let encoded = value
        .trim()
        .strip_prefix(prefix)
        .ok_or(SignatureError::Mismatch)?;
    let provided = match encoding {
        DigestEncoding::Hex => {
            let lower_hex = encoded
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
            if !lower_hex {
                return Err(SignatureError::Mismatch);
            }
            hex::decode(encoded).map_err(|_| SignatureError::Mismatch)?
        }
        DigestEncoding::Base64 => BASE64
            .decode(encoded)
            .map_err(|_| SignatureError::Mismatch)?,
    };
    let expected = hmac_digest(algorithm, secret, &[body]);
    if provided.len() == expected.len() && bool::from(provided.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// HMAC of the concatenated `parts`.
pub fn hmac_digest(algorithm: HmacAlgorithm, secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac =
            <M as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        HmacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(secret, parts),
        HmacAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(secret, parts),
        HmacAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(secret, parts),
    }
}

/// `sha256=<lower hex>` of the body, as Bitbucket and GitHub send it.
pub fn sign_hub_sha256(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_digest(
            HmacAlgorithm::Sha256,
            secret.as_bytes(),
            &[body]
        ))
    )
}

/// How many key bytes a signing secret gives: a `whsec_` secret's decoded key (the smaller of
/// the two ways schemes read it), else its bytes.
pub fn secret_key_bytes(secret: &str) -> usize {
    match secret.strip_prefix("whsec_") {
        Some(_) => standard_webhooks_key(secret).len(),
        None => secret.len(),
    }
}

/// The key of a Standard Webhooks secret: base64 after `whsec_`; a secret without the prefix
/// is used as raw bytes (as several senders do).
fn standard_webhooks_key(secret: &str) -> Vec<u8> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => BASE64
            .decode(encoded)
            .unwrap_or_else(|_| encoded.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    }
}

/// The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
pub fn sign_standard_webhooks(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let digest = hmac_digest(
        HmacAlgorithm::Sha256,
        &standard_webhooks_key(secret),
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", BASE64.encode(digest))
}

/// Adds Standard Webhooks headers to an outgoing request: `webhook-id` (the delivery id),
/// `webhook-timestamp` and `webhook-signature`, replacing any the notifier set.
pub fn add_standard_webhooks_headers(
    headers: &mut Vec<(String, String)>,
    secret: &str,
    delivery_id: &str,
    now_secs: i64,
    body: &[u8],
) {
    headers.retain(|(name, _)| {
        !["webhook-id", "webhook-timestamp", "webhook-signature"]
            .iter()
            .any(|signed| name.eq_ignore_ascii_case(signed))
    });
    headers.push(("webhook-id".into(), delivery_id.to_string()));
    headers.push(("webhook-timestamp".into(), now_secs.to_string()));
    headers.push((
        "webhook-signature".into(),
        sign_standard_webhooks(secret, delivery_id, now_secs, body),
    ));
}

/// Verifies Standard Webhooks headers: any one of the space-separated `v1,` signatures may
/// match (key rotation), and the timestamp must be within five minutes of `now_secs`.
pub fn verify_standard_webhooks(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now_secs: i64,
) -> Result<(), SignatureError> {
    let sent_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Mismatch)?;
    // abs_diff: a timestamp near i64::MIN must not overflow the subtraction.
    if now_secs.abs_diff(sent_at) > STANDARD_WEBHOOKS_TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = sign_standard_webhooks(secret, id, sent_at, body);
    let expected = expected.as_bytes();
    let matched = signatures
        .split_whitespace()
        .filter(|candidate| candidate.starts_with("v1,"))
        .fold(false, |found, candidate| {
            found
                | (candidate.len() == expected.len()
                    && bool::from(candidate.as_bytes().ct_eq(expected)))
        });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A secret reduced to its SHA-256 digest. Secrets are compared as digests: every digest is 32
/// bytes (the type says so), so comparing them takes the same time whatever the secrets' lengths,
/// and `subtle`'s `ct_eq` does not stop at the first differing byte.
#[derive(Clone, Copy)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether both digests are equal, in constant time.
    pub fn matches(&self, other: &SecretDigest) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

/// Whether two secrets are equal, compared as digests in constant time: neither their contents
/// nor their lengths show in the time taken.
pub fn secrets_equal(expected: &str, presented: &str) -> bool {
    SecretDigest::of(expected).matches(&SecretDigest::of(presented))
}

/// Whether `presented` is the admin token, compared in constant time ([`secrets_equal`]). An
/// empty admin token matches nothing.
pub fn admin_token_matches(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && secrets_equal(expected, presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(value: &str, body: &[u8]) -> Result<(), SignatureError> {
        verify_hmac(
            HmacAlgorithm::Sha256,
            DigestEncoding::Hex,
            "sha256=",
            b"It's a Secret to Everybody",
            body,
            value,
        )
    }

    /// GitHub's published vector (docs: "Validating webhook deliveries").
    const HUB_VECTOR: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn published_hub_signature_vector_verifies() {
        assert_eq!(hub(HUB_VECTOR, b"Hello, World!"), Ok(()));
        assert_eq!(
            sign_hub_sha256("It's a Secret to Everybody", b"Hello, World!"),
            HUB_VECTOR
        );
    }

    #[test]
    fn hub_signature_refusals() {
        let body = b"Hello, World!";
        assert_eq!(
            hub(&HUB_VECTOR.to_uppercase(), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            hub(
                &HUB_VECTOR.replace("sha256=75", "sha256=75".to_uppercase().as_str()),
                body
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            hub(&HUB_VECTOR[..HUB_VECTOR.len() - 2], body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            hub(HUB_VECTOR.trim_start_matches("sha256="), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            hub(HUB_VECTOR, b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(hub("sha256=", body), Err(SignatureError::Mismatch));
    }

    /// The Standard Webhooks specification's test vector.
    #[test]
    fn published_standard_webhooks_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(
            sign_standard_webhooks(secret, id, 1614265330, body),
            expected
        );
        let verify = |signatures: &str, now| {
            verify_standard_webhooks(secret, id, "1614265330", body, signatures, now)
        };
        assert_eq!(verify(expected, 1614265330), Ok(()));
        assert_eq!(
            verify(&format!("v1,bm9wZQ== {expected}"), 1614265330 + 299),
            Ok(())
        );
        assert_eq!(
            verify(expected, 1614265330 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("v1,bm9wZQ==", 1614265330),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn token_scheme_compares_whole_value() {
        let scheme = SignatureScheme::Token {
            header: "X-Gitlab-Token".into(),
        };
        let with =
            |value: &'static str| move |name: &str| (name == "X-Gitlab-Token").then_some(value);
        assert_eq!(verify(&scheme, "s3cret", b"{}", with("s3cret"), 0), Ok(()));
        assert_eq!(
            verify(&scheme, "s3cret", b"{}", with("s3cre"), 0),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&scheme, "s3cret", b"{}", |_| None, 0),
            Err(SignatureError::Missing)
        );
    }
}

#[cfg(test)]
mod admin_token_tests {
    use super::{SecretDigest, admin_token_matches, secrets_equal};

    const TOKEN: &str = "0123456789abcdef";

    #[test]
    fn the_admin_token_matches_only_itself() {
        assert!(admin_token_matches(TOKEN, TOKEN));
        for presented in [
            "",
            "0123456789abcdee",
            "0123456789abcde",
            "0123456789abcdef0",
            " 0123456789abcdef",
        ] {
            assert!(!admin_token_matches(TOKEN, presented), "{presented:?}");
        }
        assert!(
            !admin_token_matches("", ""),
            "an empty token matches nothing"
        );
    }

    #[test]
    fn equal_length_secrets_differing_in_any_one_byte_do_not_match() {
        // A comparison that stopped early or looked at a prefix would let one of these through.
        for position in 0..TOKEN.len() {
            let mut presented = TOKEN.as_bytes().to_vec();
            presented[position] ^= 1;
            let presented = String::from_utf8(presented).unwrap();
            assert_eq!(presented.len(), TOKEN.len());
            assert!(!secrets_equal(TOKEN, &presented), "byte {position}");
        }
    }

    #[test]
    fn secrets_of_different_lengths_compare_as_digests_of_one_length() {
        // Prefixes and extensions of the token: a length check that returned early would time
        // differently; digests are 32 bytes whatever the length, and none of them matches.
        for presented in [
            "",
            "0",
            "0123456789abcde",
            "0123456789abcdef0",
            &TOKEN.repeat(64),
        ] {
            assert_eq!(SecretDigest::of(presented).0.len(), 32);
            assert!(!secrets_equal(TOKEN, presented), "{presented:?}");
            assert!(
                !SecretDigest::of(TOKEN).matches(&SecretDigest::of(presented)),
                "{presented:?}"
            );
        }
        assert!(SecretDigest::of(TOKEN).matches(&SecretDigest::of(TOKEN)));
    }
}
