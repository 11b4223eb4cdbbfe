//! [`Changes`]: every durable change from a position on, in order, none skipped — what each
//! consumer (indications, Notify, event streams) reads, from the position it keeps.
//!
//! While a consumer keeps up, changes come straight from the engine as they are announced
//! (no store read); one that falls behind the announcements, or starts from an older
//! position (after a restart), reads the change record in the store until it has caught up.
//! So a slow consumer falls behind but never skips, and a restart loses nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cimjob_rules::core::event_of;
use cimjob_rules::events::Event;
use cimjob_store::Store;
use tokio::sync::{broadcast, watch};

/// How many changes one read of the store takes.
const PAGE: usize = 512;

/// How often a consumer of a shared store, caught up, reads the record again for the other
/// nodes' changes (its own node's commits make it read at once).
const SHARED_POLL: Duration = Duration::from_millis(250);

/// The changes after a position; see the [module](self) docs.
pub struct Changes {
    store: Arc<dyn Store>,
    live: broadcast::Receiver<Event>,
    /// The sequence number of the next change to hand out.
    next: u64,
    backlog: VecDeque<Event>,
    /// Whether the store holds changes not yet read (the consumer is behind).
    behind: bool,
    /// Set once the engine has stopped: no change comes after what the store holds.
    stopped: watch::Receiver<bool>,
    ended: bool,
    /// Several nodes write the record (a shared store): it numbers their changes, so what
    /// this engine announces only says when to read it again.
    shared: bool,
}

impl Changes {
    /// The changes after `after` (a consumer's position; `last_announced` for "from now").
    /// `live` must have been subscribed before `after` was read, so nothing falls between.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        live: broadcast::Receiver<Event>,
        stopped: watch::Receiver<bool>,
        after: u64,
    ) -> Changes {
        let shared = store.shared();
        Changes {
            store,
            live,
            next: after + 1,
            backlog: VecDeque::new(),
            behind: true,
            shared,
            stopped,
            ended: false,
        }
    }

    /// The position this consumer has reached: the last change handed out.
    pub fn position(&self) -> u64 {
        self.next - 1
    }

    /// The next change; `None` once the engine has stopped and every change it made durable
    /// has been handed out.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                self.next = event.sequence + 1;
                return Some(event);
            }
            if self.behind {
                self.read_store().await;
                continue;
            }
            if self.ended {
                return None;
            }
            let received = tokio::select! {
                biased;
                received = self.live.recv() => received,
                () = tokio::time::sleep(SHARED_POLL), if self.shared => {
                    self.behind = true;
                    continue;
                }
                _ = self.stopped.wait_for(|s| *s) => {
                    // what the engine announced last is in the store: read it, then end
                    self.ended = true;
                    self.behind = true;
                    continue;
                }
            };
            match received {
                Ok(_) if self.shared => self.behind = true,
                Ok(event) if event.sequence < self.next => {}
                Ok(event) if event.sequence == self.next => {
                    self.next += 1;
                    return Some(event);
                }
                // a change missed on the way (this consumer lagged): the store has it
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.behind = true,
                Err(broadcast::error::RecvError::Closed) => {
                    self.ended = true;
                    self.behind = true;
                }
            }
        }
    }

    /// Reads the next page of the record into the backlog; once a page is short, the
    /// consumer has caught up and the announcements take over. A change whose number is
    /// missing never became durable (its commit failed): the next one follows it.
    async fn read_store(&mut self) {
        let (store, after) = (self.store.clone(), self.next - 1);
        for attempt in 0u32.. {
            let store = store.clone();
            let read = tokio::task::spawn_blocking(move || store.changes_after(after, PAGE)).await;
            match read {
                Ok(Ok(records)) => {
                    self.behind = records.len() == PAGE;
                    for record in records {
                        match event_of(&record) {
                            Ok(event) => self.backlog.push_back(event),
                            Err(e) => {
                                tracing::error!(seq = record.seq, error = %e, "a recorded change cannot be read; skipped")
                            }
                        }
                    }
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, attempt, "cannot read the change record; trying again")
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "cannot read the change record; trying again")
                }
            }
            tokio::time::sleep(Duration::from_millis(100) * (attempt + 1).min(50)).await;
        }
    }
}

/// The last change announced, shared by the engine task (which raises it) and its handles.
#[derive(Clone, Default)]
pub(crate) struct Announced(Arc<AtomicU64>);

impl Announced {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn raise(&self, seq: u64) {
        self.0.fetch_max(seq, Ordering::SeqCst);
    }
}
