//! What the service and a supervisor say to each other over the supervisor's Unix socket:
//! one JSON message per line, each way.
//!
//! The service says hello, then asks for starts, signals and answers, and acknowledges the
//! events it has made durable; the supervisor answers hello with the runs it holds, then
//! sends every event of its runs, numbered, and sends again whatever was not acknowledged
//! when a new service connects. Fields are only ever added, so an older supervisor and a
//! newer service still understand each other across an upgrade.

use std::time::SystemTime;

use cimjob_rules::run::{ProcessIdentity, RunKey, RunnerEvent, WorkSignal, WorkSpec};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The protocol's version; a supervisor refuses a service that speaks a later one.
pub const PROTOCOL: u32 = 1;

/// The longest message either side accepts (a job's command line and environment are
/// bounded far below this).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// From the service to a supervisor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToSupervisor {
    /// The first message of a connection.
    Hello {
        /// [`PROTOCOL`] as the service knows it.
        protocol: u32,
    },
    /// Start a run (its Starting state is durable), not before `not_before`.
    Start {
        /// Which run.
        key: RunKey,
        /// What it runs.
        spec: WorkSpec,
        /// The planned instant of a scheduled run.
        not_before: Option<SystemTime>,
    },
    /// Signal a run's process group.
    Signal {
        /// Which run.
        key: RunKey,
        /// Which signal.
        signal: WorkSignal,
    },
    /// Write an answer line to a run's progress descriptor.
    Answer {
        /// Which run.
        key: RunKey,
        /// The answer, without newline.
        text: String,
    },
    /// Every event up to this number is durable: forget them.
    Ack {
        /// The last durable event's number.
        seq: u64,
    },
    /// Start nothing more (a newer supervisor takes the new runs); exit once the runs held
    /// have ended and their events are durable.
    Retire,
    /// The service's node is trusted for this long from now (its lease on a shared database
    /// was renewed): if no later `Trust` comes in time, the node may have been taken over,
    /// so every run is killed. Sent only by a node of a cluster; without it runs are held
    /// for as long as it takes a service to come back.
    Trust {
        /// How long, in milliseconds.
        for_ms: u64,
    },
}

/// A run a supervisor holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldRun {
    /// Which run.
    pub key: RunKey,
    /// Its process group, once started.
    pub identity: Option<ProcessIdentity>,
}

/// From a supervisor to the service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToService {
    /// The answer to hello: who the supervisor is and what it holds. The events it still
    /// has to tell follow.
    Welcome {
        /// [`PROTOCOL`] as the supervisor knows it.
        protocol: u32,
        /// The binary it runs (see [`crate::binary_identity`]).
        binary: String,
        /// Its process id.
        pid: u32,
        /// The runs it holds — started, or being started — and those that have ended
        /// but whose events no service has acknowledged yet (they follow the welcome).
        runs: Vec<HeldRun>,
        /// Whether it has been told to retire.
        retired: bool,
    },
    /// Something a run did.
    Event {
        /// Increasing by one per event of this supervisor.
        seq: u64,
        /// Which run.
        key: RunKey,
        /// What it did.
        event: RunnerEvent,
    },
    /// The service's hello was refused (a later protocol); the connection closes.
    Refused {
        /// Why.
        reason: String,
    },
}

/// One message as a line of JSON.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).expect("protocol messages always serialize");
    line.push(b'\n');
    line
}

/// Reads the next message: `Ok(None)` at the end of the stream, an error for a line that is
/// too long, not UTF-8 JSON, or not a message.
pub async fn read<R, T>(reader: &mut R, buffer: &mut Vec<u8>) -> std::io::Result<Option<T>>
where
    R: AsyncBufRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    buffer.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        buffer.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if buffer.len() > MAX_MESSAGE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a message is longer than {MAX_MESSAGE} bytes"),
            ));
        }
        if done {
            return serde_json::from_slice(buffer)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        }
    }
}
