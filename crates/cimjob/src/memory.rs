//! Giving freed heap memory back to the system.
//!
//! glibc keeps the heap pages a program frees for its own later use, so a node that has read
//! a million jobs (a burst of submissions, a whole enumeration) and freed them would stay at
//! its peak RSS for good. This task asks glibc to return free pages to the system
//! (`malloc_trim`) whenever the heap it keeps free has grown by [`FREED_BY`] since it was
//! least; memory then follows the work in play.

use std::time::Duration;

use cimjob_engine::EngineHandle;

/// How often the free heap is looked at.
const EVERY: Duration = Duration::from_secs(2);

/// How much more free heap than after the last trim before it is given back: a trim walks
/// every free chunk, so it runs only when there is much to give.
const FREED_BY: usize = 16 << 20;

/// Runs until the engine stops.
pub async fn give_back_freed_memory(engine: EngineHandle) {
    let mut ticker = tokio::time::interval(EVERY);
    let mut after_trim = free_heap();
    // bounded: ends with the engine (held() fails once it has stopped)
    loop {
        ticker.tick().await;
        if engine.held().await.is_err() {
            return;
        }
        let free = free_heap();
        if free >= after_trim + FREED_BY {
            trim();
            after_trim = free_heap();
        } else {
            // what was freed and taken again since does not count twice
            after_trim = after_trim.min(free);
        }
    }
}

/// The bytes glibc's arenas hold free (released pages included: a trim leaves the chunks
/// free, so the next trim waits for that much more).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_heap() -> usize {
    // SAFETY: mallinfo2 only reads glibc's own arena statistics under their locks; it has no
    // preconditions.
    unsafe { libc::mallinfo2() }.fordblks
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_heap() -> usize {
    0
}

/// How many malloc arenas glibc may make (its default: eight per core).
const MAX_ARENAS: i32 = 2;

/// Caps glibc's malloc arenas at [`MAX_ARENAS`], before any thread exists. Each arena keeps
/// its own freed memory, so a service whose threads take turns at a burst (the HTTP workers
/// rendering a pull batch, the blocking threads reading pages of jobs) would keep the peak of
/// each: with two, a pull enumeration of 300,000 jobs peaked at 63 MiB instead of 81 MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn fewer_arenas() {
    // SAFETY: mallopt only sets a glibc tunable; called before any other thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn fewer_arenas() {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it has no
    // preconditions and is safe to call from any thread at any time.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(released, "gave freed heap memory back to the system");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
