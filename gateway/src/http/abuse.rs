//! Limits against abusive clients: a token bucket per endpoint on the ingest path (429 with
//! `Retry-After`), a cap on the rejected-request records one client can create per minute (so a
//! flood of bad requests cannot fill the disk), a cap on the connections one client holds open,
//! and a throttle on wrong admin tokens per client. Each keeps its state in sharded maps: a
//! request locks one shard for a lookup, never a lock every request shares.
//!
//! A client is an IPv4 address, or an IPv6 /64 (the block one subscriber gets, which a sender
//! can rotate through freely): see [`client_key`].

use crate::config::{AbuseLimits, AuthFailureLimit, RateLimit};
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shards of each map: enough that two workers rarely wait on each other.
const SHARDS: usize = 16;
/// Client addresses the rejected-record cap tracks per minute; rejections from further new
/// addresses in that minute are answered but not recorded.
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// Past this many entries, a shard of the auth-failure throttle forgets clients whose
/// failures have all been forgiven.
const THROTTLE_SHARD_TIDY: usize = 4096;

/// The client a peer address counts as: an IPv4 address as it is (also when it arrives
/// IPv4-mapped), an IPv6 address by its /64.
pub fn client_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = v6.to_bits() & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from_bits(prefix))
            }
        },
    }
}

/// The client of a request without a peer address (tests, odd transports).
fn client_of(peer: Option<IpAddr>) -> IpAddr {
    peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), client_key)
}

/// A map split into independently locked shards.
struct ShardedMap<K, V> {
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<K, V>>>,
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Runs `work` on the shard holding `key`.
    fn with_shard<Q: Hash + ?Sized, T>(
        &self,
        key: &Q,
        work: impl FnOnce(&mut HashMap<K, V>) -> T,
    ) -> T {
        let index = self.hasher.hash_one(key) as usize % SHARDS;
        let mut shard = self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut shard)
    }
}

/// Per-endpoint token buckets, kept as GCRA state: each endpoint's "theoretical arrival time"
/// (ns since start). A request is allowed when that time is at most `burst - 1` intervals
/// ahead of now, and pushes it one interval further.
pub struct EndpointRateLimiter {
    started: Instant,
    arrival: ShardedMap<String, u64>,
}

impl EndpointRateLimiter {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            arrival: ShardedMap::new(),
        }
    }

    /// Takes a token for `endpoint`, or says how long until one is free.
    pub fn check(&self, endpoint: &str, limit: RateLimit) -> Result<(), Duration> {
        if limit.per_second == 0 {
            return Ok(());
        }
        let now = self.started.elapsed().as_nanos() as u64;
        let interval = 1_000_000_000 / u64::from(limit.per_second);
        let tolerance = interval * u64::from(limit.burst.saturating_sub(1));
        self.arrival.with_shard(endpoint, |arrival| {
            let theoretical = arrival.get(endpoint).copied().unwrap_or(now).max(now);
            let ahead = theoretical - now;
            if ahead > tolerance {
                return Err(Duration::from_nanos(ahead - tolerance));
            }
            arrival.insert(endpoint.to_string(), theoretical + interval);
            Ok(())
        })
    }
}

/// How many rejected-request records each client address created this minute.
pub struct RejectedRecordCap {
    per_minute: u32,
    counts: ShardedMap<IpAddr, u32>,
    tracked: AtomicU64,
    suppressed_this_minute: AtomicU64,
    suppressed_total: AtomicU64,
}

/// What the cap held back in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuppressedSummary {
    /// Rejections answered but not recorded.
    pub records: u64,
    /// Client addresses that passed the cap.
    pub clients: usize,
}

impl RejectedRecordCap {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            counts: ShardedMap::new(),
            tracked: AtomicU64::new(0),
            suppressed_this_minute: AtomicU64::new(0),
            suppressed_total: AtomicU64::new(0),
        }
    }

    /// Whether a rejection from `peer` may be recorded; counts it either way, against the
    /// peer's client (its IPv6 /64).
    pub fn admit(&self, peer: Option<IpAddr>) -> bool {
        let peer = client_of(peer);
        let admitted = self.counts.with_shard(&peer, |counts| {
            if !counts.contains_key(&peer) {
                if self.tracked.load(Ordering::Relaxed) >= MAX_TRACKED_CLIENTS as u64 {
                    return false;
                }
                self.tracked.fetch_add(1, Ordering::Relaxed);
            }
            let count = counts.entry(peer).or_default();
            *count = count.saturating_add(1);
            *count <= self.per_minute
        });
        if !admitted {
            self.suppressed_this_minute.fetch_add(1, Ordering::Relaxed);
            self.suppressed_total.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    /// Starts a new minute; returns what the last one suppressed.
    pub fn roll_minute(&self) -> SuppressedSummary {
        let mut clients = 0;
        for shard in &self.counts.shards {
            let mut counts = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            clients += counts
                .values()
                .filter(|count| **count > self.per_minute)
                .count();
            counts.clear();
        }
        self.tracked.store(0, Ordering::Relaxed);
        SuppressedSummary {
            records: self.suppressed_this_minute.swap(0, Ordering::Relaxed),
            clients,
        }
    }

    /// Rejections answered but not recorded since start.
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed_total.load(Ordering::Relaxed)
    }
}

/// Open connections per client, with a cap: [`ConnectionSlots::open`] at accept time hands out
/// a slot that frees itself when the connection (and so the slot) is dropped.
pub struct ConnectionSlots {
    per_client: usize,
    open: Arc<ShardedMap<IpAddr, usize>>,
    refused_total: AtomicU64,
}

/// One open connection of a client; dropping it frees the slot.
pub struct ConnectionSlot {
    client: IpAddr,
    open: Arc<ShardedMap<IpAddr, usize>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.open.with_shard(&self.client, |open| {
            if let Some(count) = open.get_mut(&self.client) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.client);
                }
            }
        });
    }
}

impl ConnectionSlots {
    /// Slots for `per_client` connections per client; 0 = no cap.
    pub fn new(per_client: usize) -> Self {
        Self {
            per_client,
            open: Arc::new(ShardedMap::new()),
            refused_total: AtomicU64::new(0),
        }
    }

    /// A slot for a new connection from `peer`, or `None` when its client holds the cap.
    pub fn open(&self, peer: IpAddr) -> Option<ConnectionSlot> {
        let client = client_key(peer);
        self.open.with_shard(&client, |open| {
            let count = open.entry(client).or_default();
            if self.per_client > 0 && *count >= self.per_client {
                self.refused_total.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            *count += 1;
            Some(ConnectionSlot {
                client,
                open: self.open.clone(),
            })
        })
    }

    /// The cap (0 = none).
    pub fn per_client(&self) -> usize {
        self.per_client
    }
}

/// Wrong admin tokens per client, as GCRA state (like [`EndpointRateLimiter`]): each failure
/// pushes the client's time one interval further; past `burst` intervals ahead of now, the
/// client is answered 429 until the time comes back within it, whatever it presents.
pub struct AuthFailureThrottle {
    limit: AuthFailureLimit,
    started: Instant,
    ahead: ShardedMap<IpAddr, u64>,
    refused_total: AtomicU64,
}

impl AuthFailureThrottle {
    fn new(limit: AuthFailureLimit) -> Self {
        Self {
            limit,
            started: Instant::now(),
            ahead: ShardedMap::new(),
            refused_total: AtomicU64::new(0),
        }
    }

    fn interval(&self) -> u64 {
        60_000_000_000 / u64::from(self.limit.per_minute.max(1))
    }

    /// `Err(wait)` while `peer` has used up its failures: it is refused without a check.
    pub fn check(&self, peer: Option<IpAddr>) -> Result<(), Duration> {
        if self.limit.per_minute == 0 {
            return Ok(());
        }
        let client = client_of(peer);
        let now = self.started.elapsed().as_nanos() as u64;
        let tolerance = self.interval() * u64::from(self.limit.burst.saturating_sub(1));
        self.ahead.with_shard(&client, |ahead| {
            let theoretical = ahead.get(&client).copied().unwrap_or(now).max(now);
            match theoretical - now {
                wait if wait > tolerance => {
                    self.refused_total.fetch_add(1, Ordering::Relaxed);
                    Err(Duration::from_nanos(wait - tolerance))
                }
                _ => Ok(()),
            }
        })
    }

    /// Counts a wrong token presented by `peer`.
    pub fn failed(&self, peer: Option<IpAddr>) {
        if self.limit.per_minute == 0 {
            return;
        }
        let client = client_of(peer);
        let now = self.started.elapsed().as_nanos() as u64;
        let interval = self.interval();
        self.ahead.with_shard(&client, |ahead| {
            if ahead.len() > THROTTLE_SHARD_TIDY {
                ahead.retain(|_, theoretical| *theoretical > now);
            }
            let theoretical = ahead.get(&client).copied().unwrap_or(now).max(now);
            ahead.insert(client, theoretical + interval);
        });
    }
}

/// Whole seconds to put in `Retry-After` for a wait (rounded up, at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The limits of the HTTP surface, shared by every worker.
pub struct AbuseGuards {
    /// Per-endpoint token buckets.
    pub rate: EndpointRateLimiter,
    /// The per-client cap on rejected-request records.
    pub rejected_records: RejectedRecordCap,
    /// The per-client cap on open connections.
    pub connections: ConnectionSlots,
    /// The per-client throttle on wrong admin tokens.
    pub auth_failures: AuthFailureThrottle,
}

impl AbuseGuards {
    /// Guards with the configured limits.
    pub fn new(limits: &AbuseLimits) -> Self {
        Self {
            rate: EndpointRateLimiter::new(),
            rejected_records: RejectedRecordCap::new(limits.rejected_records_per_minute),
            connections: ConnectionSlots::new(limits.max_connections_per_client),
            auth_failures: AuthFailureThrottle::new(limits.auth_failures),
        }
    }

    /// Prometheus lines for `/metrics`.
    pub fn render_metrics(&self) -> String {
        format!(
            "# HELP hookgate_rejected_records_suppressed_total Rejected requests answered but not \
             recorded: their client passed ingest.rejected_records_per_minute.\n\
             # TYPE hookgate_rejected_records_suppressed_total counter\n\
             hookgate_rejected_records_suppressed_total {}\n\
             # HELP hookgate_connections_refused_total Connections closed at once: their client \
             held http.max_connections_per_client.\n\
             # TYPE hookgate_connections_refused_total counter\n\
             hookgate_connections_refused_total {}\n\
             # HELP hookgate_auth_throttled_total Requests answered 429 unchecked: their client \
             presented too many wrong admin tokens (http.auth_failures_per_minute).\n\
             # TYPE hookgate_auth_throttled_total counter\n\
             hookgate_auth_throttled_total {}\n",
            self.rejected_records.suppressed_total(),
            self.connections.refused_total.load(Ordering::Relaxed),
            self.auth_failures.refused_total.load(Ordering::Relaxed),
        )
    }
}

/// Every minute: starts a new window of the rejected-record cap and logs what the last one
/// held back, so suppressed records are never invisible.
pub async fn report_suppressed_records(guards: &AbuseGuards, per_minute: u32) {
    let mut minutes = tokio::time::interval(Duration::from_secs(60));
    minutes.tick().await;
    loop {
        minutes.tick().await;
        let summary = guards.rejected_records.roll_minute();
        if summary.records > 0 {
            tracing::warn!(
                suppressed = summary.records,
                clients = summary.clients,
                "{} rejected requests from {} client addresses were answered but not recorded in \
                 the last minute (ingest.rejected_records_per_minute = {per_minute})",
                summary.records,
                summary.clients
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_when_to_retry() {
        let limiter = EndpointRateLimiter::new();
        let limit = RateLimit {
            per_second: 1,
            burst: 3,
        };
        for _ in 0..3 {
            assert_eq!(limiter.check("ep_a", limit), Ok(()));
        }
        let wait = limiter.check("ep_a", limit).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another endpoint has its own bucket; no limit means no bucket at all.
        assert_eq!(limiter.check("ep_b", limit), Ok(()));
        let unlimited = RateLimit {
            per_second: 0,
            burst: 0,
        };
        for _ in 0..100 {
            assert_eq!(limiter.check("ep_a", unlimited), Ok(()));
        }
    }

    #[test]
    fn the_cap_counts_per_client_and_resets_each_minute() {
        let cap = RejectedRecordCap::new(2);
        let noisy = Some("192.0.2.1".parse().unwrap());
        let quiet = Some("192.0.2.2".parse().unwrap());
        assert!(cap.admit(noisy) && cap.admit(noisy));
        assert!(!cap.admit(noisy) && !cap.admit(noisy));
        assert!(cap.admit(quiet));
        assert_eq!(
            cap.roll_minute(),
            SuppressedSummary {
                records: 2,
                clients: 1
            }
        );
        assert!(cap.admit(noisy));
        assert_eq!(cap.suppressed_total(), 2);
    }

    #[test]
    fn an_ipv6_sender_cannot_rotate_within_its_64() {
        let cap = RejectedRecordCap::new(2);
        // One /64, three addresses: the third is over the cap.
        for (n, address) in [
            "2001:db8:1:2::1",
            "2001:db8:1:2:ffff::9",
            "2001:db8:1:2::abcd",
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(
                cap.admit(Some(address.parse().unwrap())),
                n < 2,
                "{address}"
            );
        }
        // The next /64 is another client; an IPv4-mapped address is its IPv4 address.
        assert!(cap.admit(Some("2001:db8:1:3::1".parse().unwrap())));
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_client_holds_at_most_its_connection_slots() {
        let slots = ConnectionSlots::new(2);
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let first = slots.open(peer).unwrap();
        let _second = slots.open(peer).unwrap();
        assert!(slots.open(peer).is_none());
        assert!(slots.open("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        assert!(slots.open(peer).is_some());
        let unlimited = ConnectionSlots::new(0);
        let held: Vec<_> = (0..100).map(|_| unlimited.open(peer).unwrap()).collect();
        assert_eq!(held.len(), 100);
    }

    #[test]
    fn wrong_tokens_past_the_burst_are_throttled_per_client() {
        let throttle = AuthFailureThrottle::new(AuthFailureLimit {
            burst: 3,
            per_minute: 1,
        });
        let guesser = Some("198.51.100.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(throttle.check(guesser), Ok(()));
            throttle.failed(guesser);
        }
        let wait = throttle.check(guesser).unwrap_err();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(
            throttle.check(Some("198.51.100.2".parse().unwrap())),
            Ok(())
        );
        let off = AuthFailureThrottle::new(AuthFailureLimit {
            burst: 1,
            per_minute: 0,
        });
        for _ in 0..100 {
            off.failed(guesser);
        }
        assert_eq!(off.check(guesser), Ok(()));
    }
}
