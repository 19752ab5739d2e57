//! Limits against abusive clients on the ingest path: a token bucket per endpoint (429 with
//! `Retry-After`) and a cap on the rejected-request records one client address can create per
//! minute, so a flood of bad requests cannot fill the disk. Both keep their state in sharded
//! maps: a request locks one shard for a lookup, never a lock every request shares.

use crate::config::{AbuseLimits, RateLimit};
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shards of each map: enough that two workers rarely wait on each other.
const SHARDS: usize = 16;
/// Client addresses the rejected-record cap tracks per minute; rejections from further new
/// addresses in that minute are answered but not recorded.
const MAX_TRACKED_CLIENTS: usize = 100_000;

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

    /// Whether a rejection from `peer` may be recorded; counts it either way.
    pub fn admit(&self, peer: Option<IpAddr>) -> bool {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
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

/// The ingest path's limits, shared by every worker.
pub struct AbuseGuards {
    /// Per-endpoint token buckets.
    pub rate: EndpointRateLimiter,
    /// The per-client cap on rejected-request records.
    pub rejected_records: RejectedRecordCap,
}

impl AbuseGuards {
    /// Guards with the configured limits.
    pub fn new(limits: &AbuseLimits) -> Self {
        Self {
            rate: EndpointRateLimiter::new(),
            rejected_records: RejectedRecordCap::new(limits.rejected_records_per_minute),
        }
    }

    /// Prometheus lines for `/metrics`.
    pub fn render_metrics(&self) -> String {
        format!(
            "# HELP hookgate_rejected_records_suppressed_total Rejected requests answered but not \
             recorded: their client passed ingest.rejected_records_per_minute.\n\
             # TYPE hookgate_rejected_records_suppressed_total counter\n\
             hookgate_rejected_records_suppressed_total {}\n",
            self.rejected_records.suppressed_total()
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
}
