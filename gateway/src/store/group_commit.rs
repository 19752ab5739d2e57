//! Group commit: concurrent callers hand their writes to one writer thread, which applies
//! everything waiting in one transaction (and one fsync), then answers each. A commit per write
//! would cap ingest at the disk's commit rate.

use super::{
    Appended, DestinationHealth, Durability, InboundRecord, RecordedAttempt, SharedStore,
    StoreError,
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
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((write, reply))
            .map_err(|_| StoreError::Database("the commit thread stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the commit thread stopped".into()))?
            .map_err(StoreError::Database)
    }
}

/// Ingest's committer: inbound records, durably appended.
pub type InboundCommitter = GroupCommitter<InboundRecord, Appended>;

impl InboundCommitter {
    /// Starts the inbound log's writer thread.
    pub fn start(store: SharedStore) -> Self {
        Self::spawn("hookgate-commit", move |records| {
            store.append_inbound(records)
        })
    }

    /// Appends one record durably; returns once it is on disk.
    pub async fn append(&self, record: InboundRecord) -> Result<Appended, StoreError> {
        self.submit(record).await
    }
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
