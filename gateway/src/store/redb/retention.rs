//! Retention's pace on redb's one write lock. Ingest's group commit and processing wait for the
//! same lock a prune holds, so a prune works in short chunks: each stops taking records once it
//! has held the lock for [`SLICE`], commits without an fsync of its own (ingest's next durable
//! commit carries it to disk), and the next chunk waits [`YIELD_FACTOR`] times as long as this
//! one held the lock. The writers waiting keep about eight ninths of the lock however large the
//! prune; a prune of 500,000 records takes about a minute (bench P6) instead of stalling ingest
//! for ten seconds.

use super::RedbStore;
use crate::store::StoreError;
use redb::WriteTransaction;
use std::time::{Duration, Instant};

/// Records deleted (or, for alerts and deliveries, looked at) per chunk at most.
pub(super) const PRUNE_CHUNK: usize = 500;

/// How long a chunk takes records while holding the write lock; deleting them and committing
/// take about as long again.
const SLICE: Duration = Duration::from_millis(1);

/// The pause after a chunk, as a multiple of the time it held the lock.
const YIELD_FACTOR: u32 = 8;

/// The shortest pause after a chunk: long enough for a waiting writer to take the lock first.
const MIN_PAUSE: Duration = Duration::from_millis(1);

/// The lock time of one chunk, from when it holds the write transaction.
pub(super) struct Slice {
    started: Instant,
}

impl Slice {
    /// Whether the chunk has taken records for its share of the lock: it stops, deletes what
    /// it took and commits.
    pub(super) fn spent(&self) -> bool {
        self.started.elapsed() >= SLICE
    }
}

/// What one chunk did: how many records it deleted, and where the next chunk starts (none:
/// nothing is left to prune).
pub(super) struct Chunk<C> {
    pub(super) removed: u64,
    pub(super) next: Option<C>,
}

impl RedbStore {
    /// Runs `chunk` (one write transaction each, from the cursor it returned last, `start`
    /// first) until it says nothing is left, at retention's pace; returns the records deleted.
    /// Once done, the prune is durable before this returns.
    pub(super) fn prune_paced<C>(
        &self,
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
            };
            let done = chunk(&txn, &slice, from)?;
            self.commit(txn)?;
            let held = slice.started.elapsed();
            removed += done.removed;
            match done.next {
                Some(next) => from = next,
                None => break,
            }
            std::thread::sleep((held * YIELD_FACTOR).max(MIN_PAUSE));
        }
        self.wait_durable(self.commit_mark())?;
        Ok(removed)
    }
}
