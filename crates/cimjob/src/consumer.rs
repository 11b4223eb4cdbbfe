//! [`Consumer`]: one reader of the durable change record with a position of its own (an
//! indication destination, Notify): it resumes where it stopped, falls behind rather than
//! skipping, and saves its position now and then (and when it stops), so a restart resumes
//! there — at worst a change dealt with just before a crash is dealt with again, never one
//! skipped.

use std::time::{Duration, Instant};

use cimjob_engine::{Changes, EngineHandle};

/// How often a position is saved while changes keep coming.
const SAVE_EVERY: Duration = Duration::from_millis(200);

/// A consumer's place in the change record; see the [module](self) docs.
pub struct Consumer {
    engine: EngineHandle,
    name: String,
    /// The last change dealt with.
    at: u64,
    saved: u64,
    last_save: Instant,
}

impl Consumer {
    /// Resumes consumer `name` where it stopped, or — new — from now, saving that at once so
    /// a restart resumes there; with the changes it is to deal with next.
    pub async fn resume(engine: &EngineHandle, name: &str) -> (Consumer, Changes) {
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
        let consumer = Consumer {
            engine: engine.clone(),
            name: name.to_string(),
            at,
            saved: at,
            last_save: Instant::now(),
        };
        (consumer, changes)
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
