//! Group commit for the inbound log: concurrent requests hand their records to one writer
//! thread, which appends everything waiting in one transaction and one fsync, then answers
//! each. A commit per request would cap ingest at the disk's fsync rate.

use crate::store::{Appended, InboundRecord, Store, StoreError};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Records committed together at most.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<Appended, String>>;

/// Hands records to the writer thread.
#[derive(Clone)]
pub struct InboundCommitter {
    queue: mpsc::Sender<(InboundRecord, Reply)>,
}

impl InboundCommitter {
    /// Starts the writer thread. It stops when every committer clone is dropped.
    pub fn start(store: Store) -> Self {
        let (queue, waiting) = mpsc::channel::<(InboundRecord, Reply)>();
        std::thread::Builder::new()
            .name("hookgate-commit".into())
            .spawn(move || {
                while let Ok(first) = waiting.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match waiting.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    let (records, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    match store.append_inbound(records) {
                        Ok(results) => {
                            for (reply, result) in replies.into_iter().zip(results) {
                                let _ = reply.send(Ok(result));
                            }
                        }
                        Err(error) => {
                            tracing::error!(%error, "appending to the inbound log failed");
                            for reply in replies {
                                let _ = reply.send(Err(error.to_string()));
                            }
                        }
                    }
                }
            })
            .expect("spawning the commit thread");
        Self { queue }
    }

    /// Appends one record durably; returns once it is on disk.
    pub async fn append(&self, record: InboundRecord) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((record, reply))
            .map_err(|_| StoreError::Database("the commit thread stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the commit thread stopped".into()))?
            .map_err(StoreError::Database)
    }
}
