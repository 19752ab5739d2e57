//! Webhook signers as the senders compute them, written here independently of the gateway's
//! verifier (`hookgate::verify`), so a test signs with one implementation and the gateway checks
//! with another. `tests/tests/it/third_party.rs` checks both against the published vectors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `sha256=<lower-case hex HMAC-SHA256 of the body>`, as GitHub (`X-Hub-Signature-256`) and
/// Bitbucket (`X-Hub-Signature`) sign.
pub fn hub_sha256(secret: &str, body: &[u8]) -> String {
    let digest = hmac_sha256(secret.as_bytes(), &[body]);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

/// A Standard Webhooks `webhook-signature` entry: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
/// keyed by the base64 part of a `whsec_` secret.
pub fn standard_webhooks(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let encoded = secret.strip_prefix("whsec_").expect("a whsec_ secret");
    let key = BASE64.decode(encoded).expect("base64 secret");
    let timestamp = timestamp.to_string();
    let digest = hmac_sha256(
        &key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", BASE64.encode(digest))
}
