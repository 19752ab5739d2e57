//! Retention's pace on redb's one write lock. Ingest's group commit and processing wait for the
//! same lock a prune holds, so a prune works in short chunks: each stops taking records once it
//! has held the lock for a millisecond, commits without an fsync of its own (ingest's next
//! durable commit carries it to disk), and the next chunk waits eight times as long as this one
//! held the lock ([`RETENTION_PACE`]). The waiting writers keep about eight ninths of the lock
//! however large the prune: bench P6 prunes 500,000 records in 54 s with ingest at 0.82 of its
//! rate, where one chunk after another held it to 0.40 for 12 s.

use super::{RedbStore, decode};
use crate::store::StoreError;
use redb::{ReadableTable, WriteTransaction};
use serde::de::DeserializeOwned;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Records judged per chunk at most.
pub(super) const PRUNE_CHUNK: usize = 500;

/// How a prune shares the write lock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    /// How long a chunk takes records while holding the lock; deleting them and committing
    /// take about as long again.
    pub(super) slice: Duration,
    /// The pause after a chunk, as a multiple of the time it held the lock.
    pub(super) yield_factor: u32,
    /// The shortest pause after a chunk: long enough for a waiting writer to take the lock.
    pub(super) min_pause: Duration,
}

/// Retention's pace.
pub(super) const RETENTION_PACE: Pace = Pace {
    slice: Duration::from_millis(1),
    yield_factor: 8,
    min_pause: Duration::from_millis(1),
};

/// The lock time of one chunk, from when it holds the write transaction.
pub(super) struct Slice {
    started: Instant,
    length: Duration,
}

impl Slice {
    /// Whether a chunk that has judged `judged` records stops before the next: at
    /// [`PRUNE_CHUNK`], or once it has held the lock for its share — but never before its
    /// first record, so a prune always moves on.
    pub(super) fn ends_after(&self, judged: usize) -> bool {
        judged >= PRUNE_CHUNK || (judged > 0 && self.started.elapsed() >= self.length)
    }
}

/// One chunk's walk of a table keyed by ids in creation order (alerts, deliveries), from id
/// `from`: decodes each record as `T` for `judge`, which breaks once records are too young to
/// go; returns where the next chunk starts (none: the walk is done).
pub(super) fn walk_oldest<T: DeserializeOwned>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    what: &str,
    slice: &Slice,
    from: u64,
    mut judge: impl FnMut(u64, T) -> ControlFlow<()>,
) -> Result<Option<u64>, StoreError> {
    for (judged, entry) in table.range(from..)?.enumerate() {
        let (id, bytes) = entry?;
        if slice.ends_after(judged) {
            return Ok(Some(id.value()));
        }
        if judge(id.value(), decode(what, bytes.value())?).is_break() {
            break;
        }
    }
    Ok(None)
}

/// What one chunk did: how many records it deleted, and where the next chunk starts (none:
/// nothing is left to prune).
pub(super) struct Chunk<C> {
    pub(super) removed: u64,
    pub(super) next: Option<C>,
}

impl RedbStore {
    /// Runs `chunk` (one write transaction each, from the cursor it returned last, `start`
    /// first) until it says nothing is left, at `pace`; returns the records deleted. Once done,
    /// the prune is durable before this returns.
    pub(super) fn prune_paced<C>(
        &self,
        pace: Pace,
        start: C,
        mut chunk: impl FnMut(&WriteTransaction, &Slice, C) -> Result<Chunk<C>, StoreError>,
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        let mut from = start;
        loop {
            let mut txn = self.write()?;
            txn.set_durability(redb::Durability::None)
                .map_err(|error| StoreError::Database(error.to_string()))?;
            let slice = Slice {
                started: Instant::now(),
                length: pace.slice,
            };
            let done = chunk(&txn, &slice, from)?;
            self.commit(txn)?;
            let held = slice.started.elapsed();
            removed += done.removed;
            match done.next {
                Some(next) => from = next,
                None => break,
            }
            std::thread::sleep((held * pace.yield_factor).max(pace.min_pause));
        }
        self.wait_durable(self.commit_mark())?;
        Ok(removed)
    }
}
