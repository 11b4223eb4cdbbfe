//! [`Consumer`]: one reader of the durable change record with a position of its own (an
//! indication destination, Notify): it resumes where it stopped, falls behind rather than
//! skipping, and saves its position at most [`SAVE_EVERY`] after dealing with a change (and
//! when it stops), so a restart resumes there: at worst a change dealt with in the last
//! [`SAVE_EVERY`] before a crash is dealt with again, never one skipped.

use std::time::{Duration, Instant};

use cimjob_engine::{Changes, EngineHandle};
use cimjob_rules::events::Event;

/// How long a position dealt with may go unsaved: the most a crash can make a consumer
/// repeat. A save is one small commit, so this also bounds their rate.
pub const SAVE_EVERY: Duration = Duration::from_millis(200);

/// A consumer's place in the change record; see the [module](self) docs.
pub struct Consumer {
    engine: EngineHandle,
    name: String,
    changes: Changes,
    /// The last change dealt with.
    at: u64,
    saved: u64,
    last_save: Instant,
}

impl Consumer {
    /// Resumes consumer `name` where it stopped, or — new — from now, saving that at once so
    /// a restart resumes there.
    pub async fn resume(engine: &EngineHandle, name: &str) -> Consumer {
        let saved = match engine.position(name).await {
            Ok(saved) => saved,
            Err(e) => {
                tracing::warn!(consumer = name, error = %e, "cannot read a saved position; starting from now");
                None
            }
        };
        let (changes, at) = match saved {
            Some(at) => (engine.changes_after(at), at),
            None => {
                let changes = engine.changes_from_now();
                let at = changes.position();
                if let Err(e) = engine.save_position(name, Some(at)).await {
                    tracing::warn!(consumer = name, error = %e, "cannot save a position");
                }
                (changes, at)
            }
        };
        Consumer {
            engine: engine.clone(),
            name: name.to_string(),
            changes,
            at,
            saved: at,
            last_save: Instant::now(),
        }
    }

    /// The next change to deal with (`None` once the engine has stopped and every durable
    /// change was handed out). While none comes, a position not yet saved is saved once
    /// [`SAVE_EVERY`] has passed, so a crash after a quiet spell repeats nothing. Safe to
    /// cancel (in a `select!`): no change is lost.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if self.at == self.saved {
                return self.changes.next().await;
            }
            let due = tokio::time::Instant::from_std(self.last_save + SAVE_EVERY);
            tokio::select! {
                event = self.changes.next() => return event,
                _ = tokio::time::sleep_until(due) => self.save().await,
            }
        }
    }

    /// Every change up to `seq` has been dealt with; the position is saved if it was not for
    /// a while.
    pub async fn reached(&mut self, seq: u64) {
        self.at = self.at.max(seq);
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save().await;
        }
    }

    /// Saves the position now (when the consumer stops).
    pub async fn save(&mut self) {
        if self.at == self.saved {
            return;
        }
        match self.engine.save_position(&self.name, Some(self.at)).await {
            Ok(()) => self.saved = self.at,
            Err(e) => tracing::warn!(consumer = %self.name, error = %e, "cannot save a position"),
        }
        self.last_save = Instant::now();
    }

    /// The consumer is gone for good: its position is forgotten, so the change record keeps
    /// nothing for it.
    pub async fn forget(self) {
        if let Err(e) = self.engine.save_position(&self.name, None).await {
            tracing::warn!(consumer = %self.name, error = %e, "cannot forget a position");
        }
    }
}
