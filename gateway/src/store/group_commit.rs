//! Group commit: concurrent callers hand their writes to one writer thread, which applies
//! everything waiting in one transaction (and one fsync), then answers each. A commit per write
//! would cap ingest at the disk's commit rate.

use super::{
    Appended, DestinationHealth, Durability, InboundRecord, ProcessedBatch, RecordedAttempt,
    SharedStore, StoreError,
};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Writes committed together at most.
const MAX_BATCH: usize = 512;

type Reply<R> = oneshot::Sender<Result<R, String>>;

/// Hands writes of type `T` to a writer thread that commits them in batches, each answered
/// with its `R`.
pub struct GroupCommitter<T, R> {
    queue: mpsc::Sender<(T, Reply<R>)>,
}

impl<T, R> Clone for GroupCommitter<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupCommitter<T, R> {
    /// Starts the writer thread `name`; `commit` applies one batch in one transaction and
    /// returns one result per write, in order. The thread stops when every clone is dropped.
    pub fn spawn(
        name: &str,
        commit: impl Fn(Vec<T>) -> Result<Vec<R>, StoreError> + Send + 'static,
    ) -> Self {
        let (queue, waiting) = mpsc::channel::<(T, Reply<R>)>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Ok(first) = waiting.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match waiting.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    let (writes, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    match commit(writes) {
                        Ok(results) => {
                            for (reply, result) in replies.into_iter().zip(results) {
                                let _ = reply.send(Ok(result));
                            }
                        }
                        Err(error) => {
                            tracing::error!(%error, "a group commit failed");
                            for reply in replies {
                                let _ = reply.send(Err(error.to_string()));
                            }
                        }
                    }
                }
            })
            .expect("spawning a commit thread");
        Self { queue }
    }

    /// Submits one write; returns its result once its batch is committed.
    pub async fn submit(&self, write: T) -> Result<R, StoreError> {
        let answer = self.send(write)?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Database)
    }

    /// [`GroupCommitter::submit`] for a thread that may block (never an async task's).
    pub fn submit_blocking(&self, write: T) -> Result<R, StoreError> {
        let answer = self.send(write)?;
        answer
            .blocking_recv()
            .map_err(|_| stopped())?
            .map_err(StoreError::Database)
    }

    fn send(&self, write: T) -> Result<oneshot::Receiver<Result<R, String>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((write, reply)).map_err(|_| stopped())?;
        Ok(answer)
    }
}

fn stopped() -> StoreError {
    StoreError::Database("the commit thread stopped".into())
}

/// What ingest's committer writes: inbound records and, on a store that commits processing
/// with ingest ([`crate::store::Store::commits_processing_with_ingest`]), processed batches.
pub enum GroupWrite {
    /// A record to append.
    Record(InboundRecord),
    /// A batch to apply.
    Batch(ProcessedBatch),
}

/// A [`GroupWrite`]'s result.
pub enum GroupResult {
    /// The record's, as appended.
    Record(Appended),
    /// The batch's: applied, or refused with nothing of it written.
    Batch(Result<(), StoreError>),
}

/// Ingest's committer: inbound records, durably appended, each group in one write with the
/// processed batches waiting ([`crate::store::Store::commit_group`]).
pub type InboundCommitter = GroupCommitter<GroupWrite, GroupResult>;

impl InboundCommitter {
    /// Starts the inbound log's writer thread.
    pub fn start(store: SharedStore) -> Self {
        Self::spawn("hookgate-commit", move |writes| {
            let mut records = Vec::with_capacity(writes.len());
            let mut batches = Vec::new();
            // Which writes were records, to answer each in the order it came.
            let mut record_at = Vec::with_capacity(writes.len());
            for write in writes {
                record_at.push(matches!(write, GroupWrite::Record(_)));
                match write {
                    GroupWrite::Record(record) => records.push(record),
                    GroupWrite::Batch(batch) => batches.push(batch),
                }
            }
            let committed = store.commit_group(records, &batches)?;
            let mut appended = committed.appended.into_iter();
            let mut applied = committed.applied.into_iter();
            record_at
                .into_iter()
                .map(|is_record| match is_record {
                    true => appended.next().map(GroupResult::Record),
                    false => applied.next().map(GroupResult::Batch),
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| StoreError::Database("a group commit lost a result".into()))
        })
    }

    /// Appends one record durably; returns once it is on disk.
    pub async fn append(&self, record: InboundRecord) -> Result<Appended, StoreError> {
        match self.submit(GroupWrite::Record(record)).await? {
            GroupResult::Record(appended) => Ok(appended),
            GroupResult::Batch(_) => Err(mismatched()),
        }
    }

    /// Applies a processed batch in the next group commit, durably; returns once it is on
    /// disk, or with the reason it was refused.
    pub fn apply_blocking(&self, batch: ProcessedBatch) -> Result<(), StoreError> {
        match self.submit_blocking(GroupWrite::Batch(batch))? {
            GroupResult::Batch(applied) => applied,
            GroupResult::Record(_) => Err(mismatched()),
        }
    }
}

fn mismatched() -> StoreError {
    StoreError::Database("a group commit answered a write with another's result".into())
}

/// The outbox's committer: delivery attempts, recorded in batches and counted against their
/// destinations; each answered with the destination's health when it disabled it. Durable with
/// the next commit: a crash can forget the last few milliseconds of results, and those
/// deliveries are then sent again with the same `Idempotency-Key` (at-least-once), while the
/// outbox no longer competes with ingest for the disk once per delivery.
pub type AttemptRecorder = GroupCommitter<RecordedAttempt, Option<DestinationHealth>>;

impl AttemptRecorder {
    /// Starts the outbox's writer thread; `disable_after_failures` as in `[delivery]`.
    pub fn start(store: SharedStore, disable_after_failures: u32) -> Self {
        Self::spawn("hookgate-attempts", move |attempts| {
            store.record_attempts(
                &attempts,
                disable_after_failures,
                Durability::WithNextCommit,
            )
        })
    }
}
