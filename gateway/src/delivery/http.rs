//! The HTTP transport of the outbox: one reqwest client that never follows redirects and
//! resolves names through a resolver that refuses private addresses unless allowed, and the
//! sending of one delivery's request.

use crate::config::ValidatedConfig;
use crate::ids::format_delivery_id;
use crate::runtime::OutboundRequest;
use crate::store::{DeliveryRecord, now_ms};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Bytes of the receiver's answer kept with an attempt.
const RESPONSE_BYTES: usize = 1024;

/// Builds the HTTP client: timeout from the config, no redirects (each hop would need the
/// address check again), and a resolver that refuses private addresses unless allowed.
pub fn client(config: &ValidatedConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(config.delivery_timeout)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from HTTP(S)_PROXY would resolve the name itself, past the address check.
        .no_proxy()
        .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(CheckedResolver {
            allow_private: config.allow_private_destinations,
            pinned: config.pinned_hosts.clone(),
        }))
        .build()
        .expect("building the HTTP client")
}

pub use crate::netguard::is_private;

/// The private address a URL names literally, if it does. The URL parser has already turned
/// the odd spellings (`2130706433`, `0x7f.1`, `[::ffff:7f00:1]`) into addresses, so
/// comparing its parsed host catches them all.
pub fn literal_private_address(url: &reqwest::Url) -> Option<IpAddr> {
    let address = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    is_private(address).then_some(address)
}

/// Resolves names (from `[delivery] hosts` first, else DNS) and refuses any that lead to a
/// private address, so the address checked is the address connected to.
struct CheckedResolver {
    allow_private: bool,
    pinned: BTreeMap<String, Vec<IpAddr>>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_ascii_lowercase();
        let pinned = self.pinned.get(&host).cloned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = match pinned {
                Some(pinned) => pinned
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0))
                    .collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            if !allow_private && addresses.iter().any(|address| is_private(address.ip())) {
                return Err(
                    format!("destination refused: {host} resolves to a private address").into(),
                );
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

pub(super) enum SendError {
    /// Not sent, and never will be (address refused, bad URL).
    Refused(String),
    /// Connection error or timeout.
    Transport(String),
}

/// What the receiver answered.
pub(super) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub location: Option<String>,
    /// The first `RESPONSE_BYTES` of the body.
    pub body: String,
}

/// Sends a delivery's request: the URL checked (scheme, literal private addresses unless
/// `allow_private`), `Idempotency-Key` set, signed with Standard Webhooks when the destination
/// has a `secret`, and with the host's `authorization` in place of any the plugin set.
pub(super) async fn send(
    client: &reqwest::Client,
    delivery: &DeliveryRecord,
    request: &OutboundRequest,
    secret: Option<&str>,
    authorization: Option<&str>,
    allow_private: bool,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let url = reqwest::Url::parse(&request.url)
        .map_err(|error| SendError::Refused(format!("invalid URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SendError::Refused(
            "only http and https URLs are delivered".into(),
        ));
    }
    // Literal IP addresses never reach the resolver: check them here.
    if !allow_private && let Some(address) = literal_private_address(&url) {
        return Err(SendError::Refused(format!(
            "destination refused: {address} is a private address"
        )));
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| SendError::Refused(format!("invalid method {:?}", request.method)))?;
    let delivery_id = format_delivery_id(delivery.id);
    let mut headers = outgoing_headers(&request.headers, &delivery_id);
    if let Some(secret) = secret {
        let now_secs = (now_ms() / 1000) as i64;
        crate::verify::add_standard_webhooks_headers(
            &mut headers,
            secret,
            &delivery_id,
            now_secs,
            &request.body,
        );
    }
    let mut builder = client.request(method, url).body(request.body.clone());
    for (name, value) in &headers {
        if authorization.is_some() && name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(authorization) = authorization {
        let mut value = reqwest::header::HeaderValue::from_str(authorization)
            .map_err(|_| SendError::Refused("the credential is not a valid header value".into()))?;
        // Kept out of any debug output of the request.
        value.set_sensitive(true);
        builder = builder.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = builder.send().await.map_err(|error| {
        // reqwest's own message only names the URL; the cause is further down the chain.
        let causes: Vec<String> = std::iter::successors(
            Some(&error as &(dyn std::error::Error + 'static)),
            |cause| cause.source(),
        )
        .map(ToString::to_string)
        .collect();
        if let Some(refusal) = causes
            .iter()
            .find(|cause| cause.starts_with("destination refused"))
        {
            SendError::Refused(refusal.clone())
        } else if error.is_timeout() {
            SendError::Transport(format!("timeout after {timeout:?}"))
        } else {
            SendError::Transport(causes.join(": "))
        }
    })?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after")
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let location = header("location");
    let body = response.bytes().await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body[..body.len().min(RESPONSE_BYTES)]).into_owned();
    Ok(Answer {
        status,
        retry_after,
        location,
        body,
    })
}

/// The plugin's headers as sent: `Idempotency-Key` is the delivery id, and `Host` always comes
/// from the checked URL (a plugin's own `Host` could route the request elsewhere behind a proxy
/// or virtual host, as in Spin's CVE-2024-32980).
pub fn outgoing_headers(
    plugin_headers: &[(String, String)],
    delivery_id: &str,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = plugin_headers
        .iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("idempotency-key") && !name.eq_ignore_ascii_case("host")
        })
        .cloned()
        .collect();
    headers.push(("Idempotency-Key".into(), delivery_id.to_string()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(address.parse().unwrap()), "{address}");
        }
        for address in ["8.8.8.8", "162.159.128.233", "2606:4700::6810:85e5"] {
            assert!(!is_private(address.parse().unwrap()), "{address}");
        }
    }

    #[test]
    fn odd_spellings_of_private_literals_are_caught() {
        for (url, address) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://127.1:8080/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("http://[0:0:0:0:0:ffff:a00:1]/", "::ffff:10.0.0.1"),
            ("http://[::1]:9/", "::1"),
            ("http://[fc00::1]/", "fc00::1"),
            ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
            ("https://user:pass@10.0.0.1/", "10.0.0.1"),
            ("http:///127.0.0.1/", "127.0.0.1"),
            ("http:\\\\127.0.0.1/", "127.0.0.1"),
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert_eq!(
                literal_private_address(&parsed),
                Some(address.parse().unwrap()),
                "{url}"
            );
        }
        for url in [
            "http://hooks.example.com/",
            "http://8.8.8.8/",
            "http://[2606:4700::1]/",
        ] {
            assert_eq!(
                literal_private_address(&reqwest::Url::parse(url).unwrap()),
                None,
                "{url}"
            );
        }
        // A URL without a host cannot be a delivery URL at all.
        for url in ["/hooks", "http:", "//127.0.0.1/x"] {
            assert!(reqwest::Url::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn a_plugins_host_and_idempotency_headers_are_replaced() {
        let plugin_headers = [
            ("Host".to_string(), "127.0.0.1".to_string()),
            ("idempotency-key".to_string(), "forged".to_string()),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        assert_eq!(
            outgoing_headers(&plugin_headers, "dl_7"),
            [
                ("Content-Type".to_string(), "application/json".to_string()),
                ("Idempotency-Key".to_string(), "dl_7".to_string()),
            ]
        );
    }
}
