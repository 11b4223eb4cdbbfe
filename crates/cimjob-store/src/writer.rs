//! What the writers of the SQL backends share: a batch waiting in the queue, the counts of
//! what was committed, and queueing a batch or refusing it once the store is closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};

use crate::{lock, Batch, CommitCompletion, CommitCounts, CommitTicket, StoreError};

/// A batch waiting for the writer, with the handle that resolves its ticket.
pub(crate) struct Pending {
    pub(crate) batch: Batch,
    pub(crate) done: CommitCompletion,
}

/// What the writer has done so far, updated as it goes.
#[derive(Default)]
pub(crate) struct Counters {
    transactions: AtomicU64,
    batches_committed: AtomicU64,
    batches_failed: AtomicU64,
}

impl Counters {
    /// One more transaction committed.
    pub(crate) fn transaction(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    /// `batches` more made durable.
    pub(crate) fn committed(&self, batches: u64) {
        self.batches_committed.fetch_add(batches, Ordering::Relaxed);
    }

    /// One more batch failed.
    pub(crate) fn failed(&self) {
        self.batches_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts as they stand.
    pub(crate) fn counts(&self) -> CommitCounts {
        CommitCounts {
            transactions: self.transactions.load(Ordering::Relaxed),
            batches_committed: self.batches_committed.load(Ordering::Relaxed),
            batches_failed: self.batches_failed.load(Ordering::Relaxed),
        }
    }
}

/// The sending side of a writer's queue, whichever channel the writer reads.
pub(crate) trait Queue {
    /// Queues the batch, or hands back its completion if the writer is gone.
    fn push(&self, pending: Pending) -> Result<(), CommitCompletion>;
}

impl Queue for mpsc::Sender<Pending> {
    fn push(&self, pending: Pending) -> Result<(), CommitCompletion> {
        self.send(pending).map_err(|refused| refused.0.done)
    }
}

impl Queue for tokio::sync::mpsc::UnboundedSender<Pending> {
    fn push(&self, pending: Pending) -> Result<(), CommitCompletion> {
        self.send(pending).map_err(|refused| refused.0.done)
    }
}

/// Queues `batch` for the writer and returns its ticket at once; once the store is closed
/// (`queue` is `None`), or if its writer is gone, the ticket resolves with
/// [`StoreError::Closed`]: nothing was written.
pub(crate) fn enqueue<Q: Queue>(
    queue: &Mutex<Option<Q>>,
    batch: Batch,
    location: &str,
) -> CommitTicket {
    let (done, ticket) = CommitTicket::channel();
    let closed = || StoreError::Closed {
        location: location.to_owned(),
    };
    match lock(queue).as_ref() {
        Some(queue) => {
            if let Err(done) = queue.push(Pending { batch, done }) {
                // The writer is gone (it panicked); the batch never reached it.
                done.complete(Err(closed()));
            }
        }
        None => done.complete(Err(closed())),
    }
    ticket
}
