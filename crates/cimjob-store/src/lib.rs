//! The job store: the source of truth that a restart (or, later, another node) rebuilds from.
//!
//! The engine sends each change here as a [`Batch`] (the plain records of
//! `cimjob_rules::record`, re-exported here); it
//! acknowledges the change to the client and announces it only once the batch's
//! [`CommitTicket`] resolves, that is once the transaction that holds it is durable.
//!
//! # Code map
//! - this module: the backend-neutral contract — [`Store`], [`CommitTicket`], the errors, and
//!   the limits both SQL backends keep ([`MAX_GROUP`], [`RETAINED_CHANGES`],
//!   [`MAX_RETAINED_CHANGES`]).
//! - [`sqlite`]: [`SqliteStore`](sqlite::SqliteStore), one file in WAL mode with a single writer
//!   thread that group-commits.
//! - [`postgres`]: [`PostgresStore`](postgres::PostgresStore), the same contract in a
//!   PostgreSQL database (one writer connection that group-commits, each batch in a savepoint),
//!   and [`PostgresSubscriptions`](postgres::PostgresSubscriptions) beside it.
//! - [`memory`]: [`MemoryStore`](memory::MemoryStore), the same contract in memory, whose
//!   commits a test can hold back and release, to check what a caller does before durability.
//! - `sql` (private): what the SQL backends share — the statements, what a batch means as an
//!   ordered list of row operations, rows back into records, the retention arithmetic.
//! - `writer` (private): what the SQL backends' writers share — a queued batch, the counts
//!   ([`CommitCounts`]), queueing a batch or refusing it once the store is closed.
//! - `migrations` (private): the versioned schema, one list per backend, and the one rule of
//!   which migrations a database still needs.
//!
//! # What must stay true
//! - The store does not know what a job looks like: a job is an opaque JSON document plus the
//!   few columns ([`JobRecord`]) that queries need. Only the engine interprets documents.
//! - Nothing in this module names a database library; a backend's own errors travel boxed
//!   inside [`StoreError::Database`].
//! - Batches take effect, and their tickets resolve, in the order they were submitted.
//! - The LocalID high-water mark never goes down, so a LocalID is never handed out twice.

#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

pub use cimjob_rules::record::{Batch, Census, ChangeRecord, JobRecord, Loaded, RunRecord};

pub mod change_docs;
pub mod lease;
pub mod memory;
mod migrations;
// first, so its statement macros are in scope in the backends
#[macro_use]
mod sql;
pub mod postgres;
pub mod sqlite;
pub mod subscriptions;
mod writer;

/// What a backend's writer has done, for tests and metrics: under load, far fewer
/// transactions than batches is group commit at work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitCounts {
    /// SQL transactions committed.
    pub transactions: u64,
    /// Batches made durable and acknowledged.
    pub batches_committed: u64,
    /// Batches refused or failed (each alone), or whose outcome was left unconfirmed.
    pub batches_failed: u64,
}

/// The most batches one transaction takes, so a long queue still commits (and acknowledges) in
/// bounded steps rather than one unbounded transaction.
pub const MAX_GROUP: usize = 512;

/// How many of the newest changes are kept even when every consumer has dealt with them, so
/// an event stream that reconnects can resume.
pub const RETAINED_CHANGES: i64 = 10_000;

/// The most changes the record keeps: a consumer further behind loses the oldest.
pub const MAX_RETAINED_CHANGES: i64 = 1_000_000;

/// Why the store could not do what was asked. Each message names the database (`location`:
/// a file path, or a PostgreSQL URL without its password) and the step that failed, so an
/// operator can act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system step failed, e.g. creating the database's directory.
    #[error("job store {location}: {step}: {source}")]
    Io {
        /// The database the step was for.
        location: String,
        /// What was being done.
        step: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The database refused or failed a step: a constraint, a full disk, a lock held too long.
    /// For a batch this fails that batch alone; the others in its group still commit.
    #[error("job store {location}: {step}: {source}")]
    Database {
        /// The database the step was for.
        location: String,
        /// The SQL step that failed, naming the job or run it was for.
        step: String,
        /// The database library's error, boxed so this type names no backend.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was written by a newer cimjob; opening it with this build could damage it.
    #[error(
        "job store {location}: the schema is at version {found} but this build of cimjob knows \
         versions up to {known}; run a newer cimjob or restore a backup"
    )]
    SchemaTooNew {
        /// The database that was refused.
        location: String,
        /// The highest schema version recorded in the database.
        found: i64,
        /// The highest schema version this build knows.
        known: i64,
    },
    /// A stored value does not fit its record field: the database was changed outside cimjob
    /// or is damaged.
    #[error("job store {location}: stored {what} is {value}, which is out of range")]
    BadValue {
        /// The database the value was read from.
        location: String,
        /// Which value, e.g. `job_state of job 4`.
        what: String,
        /// The value found.
        value: i64,
    },
    /// A value in a batch is too large for the store's signed 64-bit integers.
    #[error(
        "job store {location}: {what} {value} cannot be stored: the largest storable value is \
         {max}",
        max = i64::MAX
    )]
    OutOfRange {
        /// The database the batch was for.
        location: String,
        /// Which value, e.g. `local_id`.
        what: String,
        /// The value refused.
        value: u64,
    },
    /// The database's address cannot be used: a URL that does not parse, or a parameter with a
    /// value the store refuses. Nothing was opened.
    #[error("job store {location}: {problem}")]
    BadLocation {
        /// The address as given, without any password.
        location: String,
        /// What is wrong with it, naming the offending value.
        problem: String,
    },
    /// This node may write no more: its lease on the shared database lapsed, or another node
    /// took over. Nothing of the batch was written.
    #[error("job store {location}: node {node} is fenced ({why}); nothing was written")]
    Fenced {
        /// The database.
        location: String,
        /// This node.
        node: String,
        /// What became of its lease.
        why: String,
    },
    /// The batch was submitted after [`Store::close`]; nothing was written.
    #[error("job store {location}: the store is closed; the batch was not written")]
    Closed {
        /// The database that is closed.
        location: String,
    },
    /// The store's writer stopped (it panicked or was torn down), or lost its connection to
    /// the database while committing, without learning whether the batch committed; reload
    /// before trusting either outcome.
    #[error(
        "job store: the writer stopped or lost the database before confirming the batch; it may \
         or may not be durable"
    )]
    Unconfirmed,
}

/// Resolves when a committed [`Batch`] is durable, or with why it is not.
///
/// The engine awaits it before acknowledging or announcing a change. Dropping it does not
/// cancel the commit; it only gives up on learning the outcome.
///
/// ```
/// use cimjob_store::CommitTicket;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (done, ticket) = CommitTicket::channel();
/// done.complete(Ok(()));
/// assert!(ticket.await.is_ok());
/// # });
/// ```
#[derive(Debug)]
#[must_use = "a change may be acknowledged only after its commit ticket resolves"]
pub struct CommitTicket {
    outcome: oneshot::Receiver<Result<(), StoreError>>,
}

impl CommitTicket {
    /// A ticket and the handle that resolves it, for a backend (or a test double) that completes
    /// commits from its own thread; the handle needs no async runtime.
    pub fn channel() -> (CommitCompletion, CommitTicket) {
        let (sender, outcome) = oneshot::channel();
        (CommitCompletion { sender }, CommitTicket { outcome })
    }

    /// A ticket that is already resolved, for a commit decided without queueing it (e.g. refused
    /// because the store is closed).
    ///
    /// ```
    /// use cimjob_store::CommitTicket;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(CommitTicket::ready(Ok(())).await.is_ok());
    /// # });
    /// ```
    pub fn ready(outcome: Result<(), StoreError>) -> CommitTicket {
        let (done, ticket) = CommitTicket::channel();
        done.complete(outcome);
        ticket
    }
}

impl Future for CommitTicket {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.outcome)
            .poll(cx)
            .map(|received| received.unwrap_or(Err(StoreError::Unconfirmed)))
    }
}

/// The sending half of a [`CommitTicket`]: the backend resolves it once it knows the outcome.
/// Dropping it unresolved makes the ticket resolve with [`StoreError::Unconfirmed`].
#[derive(Debug)]
pub struct CommitCompletion {
    sender: oneshot::Sender<Result<(), StoreError>>,
}

impl CommitCompletion {
    /// Resolves the ticket. Works from any thread, with or without an async runtime; if the
    /// ticket was dropped, the outcome is discarded.
    pub fn complete(self, outcome: Result<(), StoreError>) {
        // The waiter may have stopped caring; the batch's outcome stands either way.
        let _ = self.sender.send(outcome);
    }
}

/// The source of truth for jobs, shared as `Arc<dyn Store>` by the engine and read-only callers.
///
/// A backend owns its writer: [`Store::commit`] only enqueues, and batches are applied and their
/// tickets resolved strictly in submission order, so the engine may pipeline steps without
/// waiting for each to become durable.
pub trait Store: Send + Sync {
    /// Reads the jobs in play (not settled, not ready, no wake time) and the marks. Blocking;
    /// called once at start-up, before any commit.
    fn load(&self) -> Result<Loaded, StoreError>;

    /// Reads the jobs these LocalIDs name (those that exist, each once, in LocalID order), in
    /// one read: an open enumeration shows a batch of jobs it kept by LocalID. Blocking; sees
    /// every batch whose ticket has resolved.
    fn jobs(&self, local_ids: &[u64]) -> Result<Vec<JobRecord>, StoreError>;

    /// Reads one job, settled or not (see [`Store::jobs`]).
    fn job(&self, local_id: u64) -> Result<Option<JobRecord>, StoreError> {
        Ok(self.jobs(&[local_id])?.into_iter().next())
    }

    /// Reads the jobs after LocalID `after`, in LocalID order, at most `limit`: one page of a
    /// read of many jobs, for the ones the engine does not hold. Blocking; sees every batch
    /// whose ticket has resolved.
    fn jobs_after(&self, after: u64, limit: usize) -> Result<Vec<JobRecord>, StoreError>;

    /// How many stored jobs are in each JobState, and how many wait ready (see [`Census`]),
    /// for every node's jobs of a shared store. Blocking; one aggregate read.
    fn census(&self) -> Result<Census, StoreError>;

    /// Reads the ready jobs after `after` (a (priority, LocalID) key; `None`: from the
    /// start) in that order, at most `limit`: the next of the queue to start. Cheap however
    /// many jobs are stored (a partial index in that order). Blocking; sees every batch whose
    /// ticket has resolved.
    fn ready_after(
        &self,
        after: Option<(u32, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError>;

    /// Reads the jobs with a wake time after `after` (a (wake, LocalID) key; `None`: from
    /// the earliest) in that order, at most `limit`: the jobs whose time comes next. Cheap
    /// however many jobs are stored. Blocking; sees every batch whose ticket has resolved.
    fn waking(
        &self,
        after: Option<(jiff::Timestamp, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError>;

    /// Whether several nodes share this store: the engine then claims what it reads for its
    /// core ([`Store::claim`]), gives back what it lets go of ([`Batch::released`]), takes
    /// LocalIDs in blocks ([`Store::reserve_local_ids`]) and rescues lapsed nodes' jobs
    /// ([`Store::rescue`]).
    fn shared(&self) -> bool {
        false
    }

    /// Reads what the core asked for and makes this node its holder: no other node claims
    /// it until it is given back. After every batch committed before it. A store one node
    /// serves only reads (everything is that node's). Blocking.
    fn claim(&self, claim: Claim) -> Result<Claimed, StoreError> {
        let jobs = match claim {
            Claim::Ready { after, limit } => self.ready_after(after, limit)?,
            Claim::Waking { after, limit, .. } => self.waking(after, limit)?,
            Claim::Job { local_id } => self.jobs(&[local_id])?,
        };
        Ok(Claimed::Here(jobs))
    }

    /// `count` LocalIDs no node has used or will use, for this node's next jobs; `None` for a
    /// store one node serves (the node counts on from its highest). Blocking.
    fn reserve_local_ids(
        &self,
        count: u64,
    ) -> Result<Option<std::ops::RangeInclusive<u64>>, StoreError> {
        let _ = count;
        Ok(None)
    }

    /// Fences the nodes whose lease lapsed (when no other node is rescuing them) and makes
    /// this node the holder of their jobs in play, which it returns (their runs end as node
    /// lost); their other jobs go back for any node to claim. Nothing for a store one node
    /// serves. Blocking.
    fn rescue(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(Vec::new())
    }

    /// Sends `request` (a call about job `local_id`, in the engine's words) to `node`, which
    /// holds the job: its number, for [`Store::answer_of`]. Only a shared store carries
    /// calls. Blocking.
    fn send_call(&self, node: &str, local_id: u64, request: &str) -> Result<u64, StoreError> {
        let _ = (node, local_id, request);
        Err(not_shared("send a call to another node"))
    }

    /// The answer to call `id`, once it came (then the call is forgotten). Blocking.
    fn answer_of(&self, id: u64) -> Result<Option<String>, StoreError> {
        let _ = id;
        Err(not_shared("read the answer to a call"))
    }

    /// Forgets call `id`, unanswered: its asker gave up. Blocking.
    fn withdraw_call(&self, id: u64) -> Result<(), StoreError> {
        let _ = id;
        Err(not_shared("withdraw a call"))
    }

    /// The calls other nodes sent this node, not yet taken, oldest first, as (number, job,
    /// request); each is taken once. Nothing for a store one node serves. Blocking.
    fn take_calls(&self) -> Result<Vec<(u64, u64, String)>, StoreError> {
        Ok(Vec::new())
    }

    /// Answers call `id`. Blocking.
    fn answer_call(&self, id: u64, answer: &str) -> Result<(), StoreError> {
        let _ = (id, answer);
        Err(not_shared("answer a call"))
    }

    /// Whether this node holds `role` (one node of a shared store does what only one may,
    /// such as delivering the indications), taking it if its holder's lease lapsed or
    /// nobody holds it. One node's store: always. Blocking.
    fn hold_role(&self, role: &str) -> Result<bool, StoreError> {
        let _ = role;
        Ok(true)
    }

    /// What this node hears from the other nodes of a shared store (`None`: one node).
    fn notices(&self) -> Option<Notices> {
        None
    }

    /// Queues a batch to be committed in one transaction and returns at once, never blocking.
    /// The ticket resolves once the batch is durable (or failed, alone); batches take effect
    /// and resolve in submission order. After [`Store::close`] the ticket resolves with
    /// [`StoreError::Closed`].
    fn commit(&self, batch: Batch) -> CommitTicket;

    /// Reads one job's run history, ordered by `run_number`. Blocking; sees every batch whose
    /// ticket has resolved.
    fn runs(&self, local_id: u64) -> Result<Vec<RunRecord>, StoreError>;

    /// The changes after `after` (a consumer's position), in order, at most `limit`; those
    /// pruned are not there (see the backend's retention). Blocking; sees every batch whose
    /// ticket has resolved.
    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError>;

    /// The position `consumer` last recorded (a batch's `positions`), if any. Blocking.
    fn position(&self, consumer: &str) -> Result<Option<u64>, StoreError>;

    /// Every consumer's recorded position. Blocking.
    fn positions(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Writes every batch already queued, resolves their tickets and stops the writer. Blocks
    /// until that is done; calling it again (or from another thread) is harmless.
    fn close(&self);
}

/// What a node of a shared store hears from the others, as counters that rise: a waiter
/// looks again whenever one changes.
#[derive(Clone, Debug)]
pub struct Notices {
    /// Ready jobs were given back, for any node to claim.
    pub pool: tokio::sync::watch::Receiver<u64>,
    /// A call for this node came, or an answer to one of its calls.
    pub calls: tokio::sync::watch::Receiver<u64>,
}

/// What a node claims from a shared store ([`Store::claim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The first `limit` ready jobs no node holds, in (Priority, LocalID) order (after
    /// `after`, for a store one node serves: there every ready job beyond it is at rest).
    Ready {
        /// The last ready job the core holds, if any.
        after: Option<(u32, u64)>,
        /// At most this many.
        limit: usize,
    },
    /// The first `limit` jobs no node holds whose time comes by `until`, in (wake, LocalID)
    /// order (after `after`, for a store one node serves).
    Waking {
        /// How far the previous reads got.
        after: Option<(jiff::Timestamp, u64)>,
        /// Only those due by then.
        until: jiff::Timestamp,
        /// At most this many.
        limit: usize,
    },
    /// One job, for a call about it or a rule that needs it.
    Job {
        /// Its LocalID.
        local_id: u64,
    },
}

/// What a claim found.
#[derive(Clone, Debug, PartialEq)]
pub enum Claimed {
    /// The jobs, now held by this node, in the claim's order (none: nothing to claim, or no
    /// such job).
    Here(Vec<JobRecord>),
    /// The job asked for is held by this other node: a call about it goes there.
    Elsewhere(String),
}

/// The error of a call between nodes on a store one node serves.
fn not_shared(step: &str) -> StoreError {
    database_error(
        "(one node)",
        step,
        "only a store several nodes share carries calls",
    )
}

/// Converts a LocalID, run number or similar to the store's signed 64-bit integers.
fn to_stored_integer(value: u64, what: &str, location: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange {
        location: location.to_owned(),
        what: what.to_owned(),
        value,
    })
}

/// Converts a stored integer back to its record field's type, refusing values that do not fit.
fn from_stored_integer<T: TryFrom<i64>>(
    value: i64,
    what: impl FnOnce() -> String,
    location: &str,
) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::BadValue {
        location: location.to_owned(),
        what: what(),
        value,
    })
}

/// Converts a stored microsecond count back to a timestamp.
fn from_stored_micros(
    micros: i64,
    what: impl FnOnce() -> String,
    location: &str,
) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_microsecond(micros).map_err(|_| StoreError::BadValue {
        location: location.to_owned(),
        what: what(),
        value: micros,
    })
}

/// A [`StoreError::Database`] for `step`, boxing the backend's own error.
fn database_error(
    location: &str,
    step: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Database {
        location: location.to_owned(),
        step: step.into(),
        source: source.into(),
    }
}

/// Locks a mutex, carrying on after a panic elsewhere: the guarded values (a connection, a
/// sender, a join handle) stay valid even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
