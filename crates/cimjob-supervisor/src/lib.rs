//! Running work that outlives the service: a supervisor process (`cimjob supervise`) holds
//! the runs' process groups, their output pipes and progress sockets, and records how they
//! end; the service talks to it over a Unix socket and re-adopts its runs after a restart,
//! whatever ended the service (SIGTERM, a crash, an upgrade to a new binary).
//!
//! One supervisor holds many runs (not one per run, as a containerd shim or a slurmstepd
//! does): a job costs one message to start, not a process of ours beside its own. A new
//! binary starts its own supervisor for new runs and lets the old one finish its runs.
//!
//! - [`protocol`]: the messages, one JSON line each.
//! - [`server`]: the supervisor process.
//! - [`client`]: [`client::Supervisors`], the engine's `Processes` on supervisors.
//! - [`exits`]: what a supervisor leaves when it exits with events nobody acknowledged.
//! - [`outbox`]: writing one connection's messages in order, at once when the socket takes
//!   them.
//!
//! What must stay true: an event is forgotten only once the service says it is durable; a
//! supervisor greets a new service only once the connection it replaces is read to its end,
//! so the runs it reports are all it holds.

#![warn(missing_docs)]

pub mod client;
pub mod exits;
pub mod outbox;
pub mod protocol;
pub mod server;

pub use client::{Supervisors, Trust};

/// Which binary this process runs: the version and the executable's file identity (a
/// rebuild or an upgrade is a different file), so a service can tell a supervisor of its own
/// binary, which may take new runs, from an older one, which should retire.
pub fn binary_identity() -> String {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::metadata("/proc/self/exe")
        .map(|m| {
            format!(
                "{}:{}:{}",
                m.dev(),
                m.ino(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000
            )
        })
        .unwrap_or_default();
    format!("{} {file}", env!("CARGO_PKG_VERSION"))
}
