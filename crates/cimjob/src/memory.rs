//! Giving memory back once the engine has let go of many settled jobs.
//!
//! glibc keeps the heap pages a program frees for its own later use, so a node that has held
//! 100,000 jobs and let go of them as they finished would stay at its peak RSS for good. This
//! task asks glibc to return free pages to the system (`malloc_trim`) once the engine holds
//! markedly fewer jobs than it did; memory then follows the work in play.

use std::time::Duration;

use cimjob_engine::EngineHandle;

/// How often the engine's held count is looked at.
const EVERY: Duration = Duration::from_secs(2);

/// How many jobs fewer than at the last peak before freed memory is given back.
const FEWER_BY: usize = 1000;

/// Runs until the engine stops.
pub async fn give_back_freed_memory(engine: EngineHandle) {
    let Ok(mut peak) = engine.held().await else {
        return;
    };
    let mut ticker = tokio::time::interval(EVERY);
    // bounded: ends with the engine (held() fails once it has stopped)
    loop {
        ticker.tick().await;
        let Ok(held) = engine.held().await else {
            return;
        };
        if held + FEWER_BY <= peak {
            trim();
            peak = held;
        }
        peak = peak.max(held);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it has no
    // preconditions and is safe to call from any thread at any time.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(released, "gave freed heap memory back to the system");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
